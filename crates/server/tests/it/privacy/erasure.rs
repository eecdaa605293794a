//! DSR-03: erasure. An admin erases a person from a workspace (anonymise or purge), a person
//! deletes their account, and the registry of personal data covers the whole schema.

use std::collections::BTreeSet;

use ideaweave_domain::{Role, TokenScope};
use ideaweave_testkit::log_capture::captured_log;
use ideaweave_testkit::{Session, TestApp, TestWorkspace};
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, call_json, error_code, open_discussion, png};

/// A workspace where Pat (a member with a password, a session and a token) has written,
/// commented, voted, linked and uploaded, around Quinn's contributions.
struct World {
    t: TestApp,
    w: TestWorkspace,
    admin: Auth,
    pat: Session,
    pat_token: String,
    quinn: Auth,
    discussion: String,
    pat_idea: String,
    quinn_idea: String,
    pat_comment: String,
    quinn_reply: String,
    attachment: String,
}

const PAT: &str = "pat@example.org";
const PAT_PASSWORD: &str = "pat's long password";

async fn post(t: &TestApp, auth: &Auth, path: &str, body: Value) -> String {
    let (st, v) = call_json(t, auth, "POST", path, body).await;
    assert_eq!(st, 201, "{path}: {v}");
    v["id"].as_str().unwrap().to_owned()
}

async fn world(slug: &str) -> World {
    let t = TestApp::spawn().await;
    let w = t.workspace(slug).await;
    let admin_session = t
        .session(&format!("admin@{slug}.test"), "the admin's long password")
        .await;
    t.app
        .add_member(slug, &format!("admin@{slug}.test"), Role::Admin)
        .await
        .unwrap();
    let pat = t.session(PAT, PAT_PASSWORD).await;
    t.app.add_member(slug, PAT, Role::Member).await.unwrap();
    let pat_token = t.token(PAT, slug, TokenScope::Write).await;
    let quinn = t.member(&w, "quinn", Role::Member).await;
    let (me, quinn) = (Auth::Session(pat.clone()), Auth::Token(quinn.token));
    let discussion = open_discussion(&t, slug, &w.owner.token).await;
    let ideas = format!("/workspaces/{slug}/discussions/{discussion}/ideas");
    let pat_idea = post(
        &t,
        &me,
        &ideas,
        json!({"title": "Pat's idea", "body": "what Pat wrote", "tags": ["pats-tag"]}),
    )
    .await;
    let quinn_idea = post(
        &t,
        &quinn,
        &ideas,
        json!({"title": "Quinn's idea", "body": "what Quinn wrote"}),
    )
    .await;
    let pat_comment = post(
        &t,
        &me,
        &format!("/workspaces/{slug}/ideas/{quinn_idea}/comments"),
        json!({"body": "Pat comments"}),
    )
    .await;
    let quinn_reply = post(
        &t,
        &quinn,
        &format!("/workspaces/{slug}/ideas/{quinn_idea}/comments"),
        json!({"body": "Quinn replies", "parent_id": pat_comment}),
    )
    .await;
    post(
        &t,
        &quinn,
        &format!("/workspaces/{slug}/ideas/{pat_idea}/comments"),
        json!({"body": "Quinn on Pat's idea"}),
    )
    .await;
    let (st, v) = call_json(
        &t,
        &me,
        "PUT",
        &format!("/workspaces/{slug}/ideas/{quinn_idea}/vote"),
        json!({"direction": "up"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    post(
        &t,
        &me,
        &format!("/workspaces/{slug}/ideas/{pat_idea}/links"),
        json!({"url": "https://example.org/pat", "title": "Pat's link"}),
    )
    .await;
    let (st, a) = call(
        &t,
        "POST",
        &format!("/workspaces/{slug}/ideas/{pat_idea}/attachments"),
        &me,
        Body::Upload {
            filename: "pat.png",
            bytes: png(),
        },
    )
    .await;
    assert_eq!(st, 201, "{a}");
    World {
        admin: Auth::Session(admin_session),
        pat_token,
        quinn,
        discussion,
        pat_idea,
        quinn_idea,
        pat_comment,
        quinn_reply,
        attachment: a["id"].as_str().unwrap().to_owned(),
        pat,
        t,
        w,
    }
}

impl World {
    fn path(&self, rest: &str) -> String {
        format!("/workspaces/{}{rest}", self.w.slug)
    }

    async fn erase(&self, mode: &str) -> Value {
        let (st, v) = call_json(
            &self.t,
            &self.admin,
            "POST",
            &self.path(&format!("/people/{}/erasure", self.pat.user.0)),
            json!({"mode": mode}),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        v
    }

    async fn get(&self, rest: &str) -> (u16, Value) {
        call_json(&self.t, &self.quinn, "GET", &self.path(rest), Value::Null).await
    }

    async fn comments_of(&self, idea: &str) -> Vec<Value> {
        let (st, v) = self.get(&format!("/ideas/{idea}/comments")).await;
        assert_eq!(st, 200, "{v}");
        v["items"].as_array().unwrap().clone()
    }

    /// Pat is signed out everywhere, their token is dead, and they are no longer a member.
    async fn assert_pat_is_out(&self) {
        let (st, _) = call_json(
            &self.t,
            &Auth::Session(self.pat.clone()),
            "GET",
            "/me",
            Value::Null,
        )
        .await;
        assert_eq!(st, 401, "the session ended");
        let (st, _) = call_json(
            &self.t,
            &Auth::Token(self.pat_token.clone()),
            "GET",
            &self.path(""),
            Value::Null,
        )
        .await;
        assert_eq!(st, 401, "the token is gone");
        let (_, members) = self.get("/members").await;
        assert!(
            !members.to_string().contains(&self.pat.user.0.to_string()),
            "{members}"
        );
        let (st, _) = self.get(&format!("/attachments/{}", self.attachment)).await;
        assert_eq!(st, 404, "the person's files go in both modes");
    }

    fn stored_files(&self) -> usize {
        fn walk(p: &std::path::Path, n: &mut usize) {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                let path = e.path();
                if path.is_dir() {
                    walk(&path, n);
                } else if path.parent().is_some_and(|d| {
                    d.file_name()
                        .is_some_and(|f| f.to_string_lossy().len() == 36)
                }) {
                    *n += 1;
                }
            }
        }
        let mut n = 0;
        walk(self.t.dir.path(), &mut n);
        n
    }
}

#[tokio::test]
async fn dsr_03_anonymise_keeps_contributions_as_a_former_member_and_removes_the_rest() {
    let w = world("anon").await;
    assert_eq!(w.stored_files(), 2, "the file and its preview");
    let report = w.erase("anonymise").await;
    assert_eq!(
        (
            &report["mode"],
            &report["ideas"],
            &report["comments"],
            &report["votes"],
            &report["links"],
            &report["files"],
            &report["key_shredded"],
        ),
        (
            &json!("anonymise"),
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(true)
        ),
        "{report}"
    );
    w.assert_pat_is_out().await;
    assert_eq!(w.stored_files(), 0, "the uploaded file's bytes are gone");

    let (st, idea) = w.get(&format!("/ideas/{}", w.pat_idea)).await;
    assert_eq!(st, 200, "{idea}");
    assert_eq!(
        idea["title"], "Pat's idea",
        "the contribution stays readable"
    );
    assert_eq!(idea["body"], "what Pat wrote");
    assert_eq!(idea["tags"], json!(["pats-tag"]));
    assert_eq!(idea["author"]["name"], "Former member");
    let former = idea["author"]["id"].as_str().unwrap().to_owned();
    assert_ne!(former, w.pat.user.0.to_string(), "it leads to nobody");
    assert_eq!(idea["attachments"], json!([]));
    assert_eq!(idea["links"][0]["title"], "Pat's link");

    let (_, quinns) = w.get(&format!("/ideas/{}", w.quinn_idea)).await;
    assert_eq!(quinns["upvotes"], 1, "the vote still counts");
    let thread = w.comments_of(&w.quinn_idea).await;
    let pats = thread
        .iter()
        .find(|c| c["id"] == json!(w.pat_comment))
        .expect("the comment stays");
    assert_eq!(pats["body"], "Pat comments");
    assert_eq!(pats["author"]["name"], "Former member");
    assert_eq!(
        pats["author"]["id"],
        json!(former),
        "one former member per erasure keeps the contributions together"
    );
    let reply = thread
        .iter()
        .find(|c| c["id"] == json!(w.quinn_reply))
        .unwrap();
    assert_eq!(reply["parent_id"], json!(w.pat_comment));

    // The account itself lives on (only the workspace erased them): Pat signs in again and
    // holds nothing there.
    let again =
        w.t.app
            .login(
                &ideaweave_app::LoginInput::password(PAT, PAT_PASSWORD),
                &Default::default(),
            )
            .await
            .expect("the account still exists")
            .done()
            .expect("no second factor");
    let s = Session {
        user: again.user.id,
        cookie: again.session,
        csrf: again.csrf,
    };
    let (st, data) = call_json(
        &w.t,
        &Auth::Session(s),
        "GET",
        "/me/personal-data",
        Value::Null,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(data["workspaces"], json!([]), "{data}");

    let (_, events) = call_json(
        &w.t,
        &w.admin,
        "GET",
        &w.path("/audit/events?action=person.erased"),
        Value::Null,
    )
    .await;
    let items = events["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{events}");
    assert!(
        !items[0].to_string().contains(&w.pat.user.0.to_string()),
        "the event is pseudonymous: {}",
        items[0]
    );
}

#[tokio::test]
async fn dsr_03_purge_removes_contributions_and_keeps_threads_and_counts_right() {
    let w = world("purge").await;
    let report = w.erase("purge").await;
    assert_eq!(report["mode"], "purge");
    assert_eq!(report["ideas"], 1);
    w.assert_pat_is_out().await;
    assert_eq!(w.stored_files(), 0);

    let (st, _) = w.get(&format!("/ideas/{}", w.pat_idea)).await;
    assert_eq!(st, 404, "the idea is gone, with the thread under it");
    let (_, list) = w.get(&format!("/discussions/{}/ideas", w.discussion)).await;
    let ids: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![w.quinn_idea.clone()]);
    let (_, d) = w.get(&format!("/discussions/{}", w.discussion)).await;
    assert_eq!(d["idea_count"], 1, "{d}");

    let (_, quinns) = w.get(&format!("/ideas/{}", w.quinn_idea)).await;
    assert_eq!(quinns["upvotes"], 0, "the vote is withdrawn");
    assert_eq!(quinns["comment_count"], 1, "Pat's comment is gone");
    let thread = w.comments_of(&w.quinn_idea).await;
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0]["id"], json!(w.quinn_reply));
    assert_eq!(
        thread[0]["parent_id"],
        Value::Null,
        "the reply moved up to where the purged comment hung"
    );
}

#[tokio::test]
async fn dsr_03_erasure_is_refused_for_oneself_the_last_owner_tokens_and_strangers() {
    let w = world("refusals").await;
    let erase = |auth: Auth, who: String| {
        let t = &w.t;
        let path = w.path(&format!("/people/{who}/erasure"));
        async move { call_json(t, &auth, "POST", &path, json!({"mode": "purge"})).await }
    };
    let admin_id = match &w.admin {
        Auth::Session(s) => s.user.0.to_string(),
        _ => unreachable!(),
    };
    let (st, v) = erase(w.admin.clone(), admin_id).await;
    assert_eq!(st, 409, "{v}");
    assert!(v.to_string().contains("delete your account"), "{v}");
    let (st, v) = erase(w.admin.clone(), w.w.owner.id.0.to_string()).await;
    assert_eq!(st, 403, "an admin cannot erase an owner: {v}");
    let (st, v) = erase(
        Auth::Token(w.w.owner.token.clone()),
        w.pat.user.0.to_string(),
    )
    .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (403, "forbidden"),
        "not with a token"
    );
    let (st, _) = erase(w.quinn.clone(), w.pat.user.0.to_string()).await;
    assert_eq!(st, 403, "members erase nobody");
    let (st, _) = erase(w.admin.clone(), uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(st, 404);
    let (st, v) = call_json(
        &w.t,
        &w.admin,
        "POST",
        &w.path(&format!("/people/{}/erasure", w.pat.user.0)),
        json!({"mode": "shred"}),
    )
    .await;
    assert_eq!(st, 422, "{v}");
    // Nothing was erased by any of that.
    let (st, _) = w.get(&format!("/ideas/{}", w.pat_idea)).await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn dsr_03_deleting_an_account_erases_it_everywhere_under_each_workspace_policy() {
    let w = world("keeps").await;
    let other = w.t.workspace("purges").await;
    w.t.app
        .add_member("purges", PAT, Role::Member)
        .await
        .unwrap();
    let (st, v) = call_json(
        &w.t,
        &Auth::Token(other.owner.token.clone()),
        "PUT",
        "/workspaces/purges/erasure-policy",
        json!({"mode": "purge"}),
    )
    .await;
    assert_eq!((st, &v["mode"]), (200, &json!("purge")), "{v}");
    let d = open_discussion(&w.t, "purges", &other.owner.token).await;
    let me = Auth::Session(w.pat.clone());
    let purged = post(
        &w.t,
        &me,
        &format!("/workspaces/purges/discussions/{d}/ideas"),
        json!({"title": "goes", "body": "b"}),
    )
    .await;

    let (st, statement) = call_json(&w.t, &me, "GET", "/me/deletion", Value::Null).await;
    assert_eq!(st, 200, "{statement}");
    assert_eq!(statement["possible"], true);
    assert_eq!(statement["confirm_with"], PAT);
    let modes: BTreeSet<(String, String)> = statement["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["slug"].as_str().unwrap().to_owned(),
                e["mode"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        modes,
        BTreeSet::from([
            ("keeps".to_owned(), "anonymise".to_owned()),
            ("purges".to_owned(), "purge".to_owned())
        ])
    );

    let (st, v) = call_json(
        &w.t,
        &Auth::Token(w.pat_token.clone()),
        "DELETE",
        "/me",
        json!({"confirm": PAT}),
    )
    .await;
    assert_eq!(st, 403, "a token cannot delete the account: {v}");
    let (st, v) = call_json(&w.t, &me, "DELETE", "/me", json!({"confirm": "yes"})).await;
    assert_eq!(st, 422, "the address must be typed: {v}");
    let (st, v) = call_json(&w.t, &me, "DELETE", "/me", json!({"confirm": PAT})).await;
    assert_eq!(st, 204, "{v}");

    w.assert_pat_is_out().await;
    assert!(
        w.t.app
            .login(
                &ideaweave_app::LoginInput::password(PAT, PAT_PASSWORD),
                &Default::default()
            )
            .await
            .is_err(),
        "the account is gone"
    );
    let (_, idea) = w.get(&format!("/ideas/{}", w.pat_idea)).await;
    assert_eq!(idea["author"]["name"], "Former member", "{idea}");
    let (st, _) = call_json(
        &w.t,
        &Auth::Token(other.owner.token.clone()),
        "GET",
        &format!("/workspaces/purges/ideas/{purged}"),
        Value::Null,
    )
    .await;
    assert_eq!(st, 404, "the purging workspace removed the idea");
}

#[tokio::test]
async fn dsr_03_the_only_owner_of_a_workspace_cannot_delete_their_account() {
    let t = TestApp::spawn().await;
    let s = t.session("solo@example.org", "solo's long password").await;
    t.app
        .create_workspace("solo", "Solo", "solo@example.org")
        .await
        .unwrap();
    let me = Auth::Session(s);
    let (_, statement) = call_json(&t, &me, "GET", "/me/deletion", Value::Null).await;
    assert_eq!(statement["possible"], false);
    assert!(
        statement["blocked_by"]
            .as_str()
            .unwrap()
            .contains("only owner of \"solo\""),
        "{statement}"
    );
    let (st, v) = call_json(
        &t,
        &me,
        "DELETE",
        "/me",
        json!({"confirm": "solo@example.org"}),
    )
    .await;
    assert_eq!((st, error_code(&v).as_str()), (409, "conflict"), "{v}");
    let (st, _) = call_json(&t, &me, "GET", "/me", Value::Null).await;
    assert_eq!(st, 200, "nothing happened");
}

#[tokio::test]
async fn dsr_03_every_table_and_column_of_the_schema_has_an_erasure_decision() {
    let t = TestApp::spawn().await;
    let mut tx = t.app.store().read().await.unwrap();
    let live: BTreeSet<(String, String)> = tx.schema_columns().await.unwrap().into_iter().collect();
    let listed: BTreeSet<(String, String)> = ideaweave_store::PERSONAL_DATA
        .iter()
        .flat_map(|e| {
            e.personal
                .iter()
                .chain(e.other)
                .map(|c| (e.table.to_owned(), (*c).to_owned()))
        })
        .collect();
    let unlisted: Vec<_> = live.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&live).collect();
    assert!(
        unlisted.is_empty(),
        "columns with no erasure decision in ideaweave_store::PERSONAL_DATA: {unlisted:?}"
    );
    assert!(
        stale.is_empty(),
        "PERSONAL_DATA lists columns the schema does not have: {stale:?}"
    );
    // Every column that points at an account is marked personal.
    for (table, column) in &live {
        let looks_personal = column == "user_id"
            || column == "subject_id"
            || column.ends_with("_by")
            || column == "author_id"
            || column == "uploader_id"
            || column == "email";
        if looks_personal {
            let e = ideaweave_store::PERSONAL_DATA
                .iter()
                .find(|e| e.table == table)
                .unwrap();
            assert!(
                e.personal.contains(&column.as_str()) && e.handler.is_some(),
                "{table}.{column} refers to a person but has no erasure handler"
            );
        }
    }
}

fn count(hay: &[u8], needle: &str) -> usize {
    hay.windows(needle.len())
        .filter(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
        .count()
}

fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p.display().to_string(), b));
        }
    }
    out
}

/// Every entry of an export of `slug`, taken with the command line into `dir`.
fn exported(t: &TestApp, slug: &str, dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let out = dir.join(format!("{}.tar.gz", uuid::Uuid::new_v4()));
    let (ok, stdout, err) = crate::platform::cli::run({
        let mut c = crate::platform::cli::bin_for(t);
        c.args(["export", "workspace", slug, "--out"]).arg(&out);
        c
    });
    assert!(ok, "{stdout}{err}");
    let logs = captured_log();
    logs.append(stdout.as_bytes());
    logs.append(err.as_bytes());
    crate::transfer::export::entries(&out).into_iter().collect()
}

/// DSR-03 acceptance: a member's canary in every personal field, an attachment and activity
/// data; after they delete their account, nothing anywhere holds it.
async fn canary_run(mode: &str) {
    captured_log();
    let canary = format!("cnry{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let marker = format!(
        "contribution{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let t = TestApp::spawn_with(|c| {
        c.mail = Some(ideaweave_testkit::mail_config(
            ideaweave_testkit::closed_port(),
        ))
    })
    .await;
    let slug = format!("canary-{mode}");
    let w = t.workspace(&slug).await;
    t.app
        .set_erasure_policy(
            &w.as_member(&w.owner),
            ideaweave_app::ErasurePolicy {
                mode: mode.parse().unwrap(),
            },
        )
        .await
        .unwrap();
    let email = format!("{canary}@example.org");
    t.app
        .create_user(&email, &format!("Pat {canary}"), Some(PAT_PASSWORD), false)
        .await
        .unwrap();
    t.app.add_member(&slug, &email, Role::Member).await.unwrap();
    let agent = format!("Browser/1.0 ({canary})");
    // Signed in from a browser whose User-Agent carries the canary: activity data.
    let resp = t
        .http
        .post(t.api("/session"))
        .header("user-agent", &agent)
        .json(&json!({"email": email, "password": PAT_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("iw_session="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let body: Value = resp.json().await.unwrap();
    let pat = Session {
        user: ideaweave_domain::UserId(body["user"]["id"].as_str().unwrap().parse().unwrap()),
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    };
    let as_pat = |method: &str, path: String| {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        pat.apply(t.http.request(m, t.api(&path)))
            .header("user-agent", &agent)
    };
    let d = open_discussion(&t, &slug, &w.owner.token).await;
    let resp = as_pat("POST", format!("/workspaces/{slug}/discussions/{d}/ideas"))
        .json(&json!({"title": format!("Idea {marker}"), "body": format!("body {marker}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let idea: Value = resp.json().await.unwrap();
    let idea = idea["id"].as_str().unwrap().to_owned();
    // Pat comments with the canary, then edits it out: the first text stays as an earlier
    // version for moderators until the erasure, which takes it in both modes (COL-03).
    let resp = as_pat("POST", format!("/workspaces/{slug}/ideas/{idea}/comments"))
        .json(&json!({"body": format!("first draft {canary}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let comment: Value = resp.json().await.unwrap();
    let resp = as_pat(
        "PATCH",
        format!(
            "/workspaces/{slug}/comments/{}",
            comment["id"].as_str().unwrap()
        ),
    )
    .json(&json!({"body": format!("comment {marker}")}))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let resp = as_pat(
        "POST",
        format!("/workspaces/{slug}/ideas/{idea}/attachments"),
    )
    .multipart(
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(format!("notes of {canary}\n").into_bytes())
                .file_name(format!("{canary}.txt")),
        ),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let resp = as_pat("POST", format!("/workspaces/{slug}/tokens"))
        .json(&json!({"name": format!("{canary}-token"), "scope": "read"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let resp = as_pat("PUT", format!("/workspaces/{slug}/me/notifications"))
        .json(&json!({"preference": "instant"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // A comment by the owner queues an email to Pat's address.
    let (st, _) = crate::helpers::with_token(
        &t,
        "POST",
        &format!("/workspaces/{slug}/ideas/{idea}/comments"),
        &w.owner.token,
        Some(json!({"body": "nice"})),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(t.app.outbox_counts().await.unwrap().waiting, 1);

    // Before: the decrypting scans see the canary, so they can see it.
    let elsewhere = tempfile::tempdir().unwrap();
    let before = exported(&t, &slug, elsewhere.path());
    assert!(
        before.iter().any(|(_, b)| count(b, &canary) > 0),
        "the export holds Pat's name, address and file before the erasure"
    );
    assert!(
        before
            .iter()
            .any(|(n, b)| n.starts_with("comment_revisions/") && count(b, &canary) > 0),
        "the export holds the first text of Pat's edited comment before the erasure"
    );
    let resp = as_pat("GET", "/me/personal-data".to_owned())
        .send()
        .await
        .unwrap();
    let data = resp.text().await.unwrap();
    assert!(
        data.contains(&agent),
        "the activity data (User-Agent) was recorded"
    );

    let resp = as_pat("DELETE", "/me".to_owned())
        .json(&json!({"confirm": email}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(
        t.app.outbox_counts().await.unwrap().waiting,
        0,
        "the mail to Pat is gone"
    );

    // After: nothing anywhere.
    let after = exported(&t, &slug, elsewhere.path());
    let mut hits = Vec::new();
    for (name, bytes) in after
        .iter()
        .map(|(n, b)| (format!("export {n}"), b.clone()))
        .chain(files_under(t.dir.path()))
        .chain(t.database_bytes())
    {
        if count(&bytes, &canary) > 0 {
            hits.push(name);
        }
    }
    assert!(
        !captured_log().truncated(),
        "the whole log was kept for the scan"
    );
    let logs = captured_log().bytes();
    assert!(
        count(&logs, "ideaweave_") > 0 && count(&logs, "tower_http") > 0,
        "the logs of our crates and of the HTTP layer were captured"
    );
    if count(&logs, &canary) > 0 {
        hits.push("logs".to_owned());
    }
    assert!(hits.is_empty(), "{mode}: the canary survives in {hits:?}");
    let kept = after.iter().any(|(_, b)| count(b, &marker) > 0);
    assert_eq!(
        kept,
        mode == "anonymise",
        "{mode}: contributions are kept only when anonymising"
    );
}

#[tokio::test]
async fn dsr_03_canary_no_trace_remains_after_anonymising_erasure() {
    canary_run("anonymise").await;
}

#[tokio::test]
async fn dsr_03_canary_no_trace_remains_after_purging_erasure() {
    canary_run("purge").await;
}

#[tokio::test]
async fn dsr_03_purging_an_idea_gives_back_what_was_merged_into_it() {
    let w = world("merged").await;
    // Quinn's idea (with Pat's vote and Pat's comment thread on it) is merged into Pat's.
    let (st, v) = crate::helpers::with_token(
        &w.t,
        "POST",
        &w.path(&format!("/ideas/{}/merge", w.quinn_idea)),
        &w.w.owner.token,
        Some(json!({"into": w.pat_idea})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let other = w.t.member(&w.w, "other", Role::Member).await;
    let (st, v) = crate::helpers::with_token(
        &w.t,
        "POST",
        &w.path(&format!("/ideas/{}/comments", w.pat_idea)),
        &other.token,
        Some(json!({"body": "on the merged idea"})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    w.erase("purge").await;
    let (st, quinns) = w.get(&format!("/ideas/{}", w.quinn_idea)).await;
    assert_eq!(st, 200, "the merged idea stands on its own again: {quinns}");
    assert_eq!(quinns["merged_into"], Value::Null);
    let thread = w.comments_of(&w.quinn_idea).await;
    assert!(
        thread.iter().any(|c| c["id"] == json!(w.quinn_reply)),
        "Quinn's reply came back with it: {thread:?}"
    );
}

#[tokio::test]
async fn dsr_03_someone_who_only_voted_and_left_can_still_delete_their_account() {
    let t = TestApp::spawn().await;
    let w = t.workspace("voters").await;
    let voter = t
        .session("voter@example.org", "the voter's long password")
        .await;
    t.app
        .add_member("voters", "voter@example.org", Role::Member)
        .await
        .unwrap();
    let d = open_discussion(&t, "voters", &w.owner.token).await;
    let (_, idea) = crate::helpers::with_token(
        &t,
        "POST",
        &format!("/workspaces/voters/discussions/{d}/ideas"),
        &w.owner.token,
        Some(json!({"title": "Vote on me", "body": ""})),
    )
    .await;
    let me = Auth::Session(voter.clone());
    let (st, _) = call_json(
        &t,
        &me,
        "PUT",
        &format!(
            "/workspaces/voters/ideas/{}/vote",
            idea["id"].as_str().unwrap()
        ),
        json!({"direction": "up"}),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = call_json(
        &t,
        &me,
        "DELETE",
        &format!("/workspaces/voters/members/{}", voter.user.0),
        Value::Null,
    )
    .await;
    assert_eq!(st, 204, "they leave");
    let (_, statement) = call_json(&t, &me, "GET", "/me/deletion", Value::Null).await;
    assert_eq!(
        statement["workspaces"][0]["slug"], "voters",
        "the workspace still holds their vote: {statement}"
    );
    let (st, v) = call_json(
        &t,
        &me,
        "DELETE",
        "/me",
        json!({"confirm": "voter@example.org"}),
    )
    .await;
    assert_eq!(st, 204, "{v}");
    let (_, idea) = crate::helpers::with_token(
        &t,
        "GET",
        &format!("/workspaces/voters/ideas/{}", idea["id"].as_str().unwrap()),
        &w.owner.token,
        None,
    )
    .await;
    assert_eq!(idea["upvotes"], 1, "anonymised, the vote still counts");
}

#[tokio::test]
async fn dsr_03_a_write_that_started_before_an_erasure_cannot_land_after_it() {
    let w = world("inflight").await;
    // Pat's request entered the workspace (membership checked) before the erasure...
    let pat_in_flight = ideaweave_app::Member {
        client: Default::default(),
        reauth_at: None,
        support: None,
        workspace: w.w.id,
        slug: w.w.slug.clone(),
        actor: ideaweave_domain::policy::Actor {
            user: w.pat.user,
            role: Role::Member,
            scope: None,
        },
    };
    w.erase("anonymise").await;
    // ...and writes after it: refused, nothing is attributed to the erased person.
    let d: ideaweave_domain::DiscussionId = w.discussion.parse().unwrap();
    let r =
        w.t.app
            .create_idea(
                &pat_in_flight,
                d,
                ideaweave_app::IdeaInput {
                    title: "Too late".into(),
                    body: String::new(),
                    tags: vec![],
                },
            )
            .await;
    assert!(
        matches!(r, Err(ideaweave_app::AppError::NotFound(_))),
        "{r:?}"
    );
    let (_, list) = w.get(&format!("/discussions/{}/ideas", w.discussion)).await;
    assert!(!list.to_string().contains("Too late"));
}
