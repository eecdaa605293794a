//! ENC-01, ENC-03, ENC-04 end to end: what reaches the stores is sealed, tampering is refused,
//! rotation keeps everything readable while requests are served, and shredding survives a
//! restore of an older copy.

use ideaweave_app::{ERASED, TokenInput};
use ideaweave_domain::{Role, TokenScope};
use ideaweave_testkit::{TestApp, TestDb, test_db};
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, error_code, open_discussion, with_token};

/// A distinct canary for each sealed field; none of them is a substring of another.
fn canary(field: &str) -> String {
    format!("zq{}canary", field.replace('_', "x"))
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

/// Every file under `dir`, recursively, with its bytes.
pub(crate) fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p.display().to_string(), b));
            }
        }
    }
    out
}

/// `needle` as it would appear in a store written in clear, hex or base64 (at each of
/// base64's three alignments, without the characters the neighbouring bytes decide).
pub(crate) fn encodings(needle: &str) -> Vec<String> {
    use base64::Engine;
    let mut out = vec![needle.to_owned(), hex::encode(needle)];
    for pad in ["", "x", "xx"] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{pad}{needle}"));
        let inner = b64.trim_end_matches('=');
        if inner.len() > 8 {
            out.push(inner[4..inner.len() - 4].to_owned());
        }
    }
    out
}

pub(crate) fn hits(haystacks: &[(String, Vec<u8>)], needle: &str) -> Vec<String> {
    haystacks
        .iter()
        .filter(|(_, b)| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(n, _)| n.clone())
        .collect()
}

#[tokio::test]
async fn enc_01_canaries_in_every_sealed_field_never_reach_a_store_in_clear() {
    let t = TestApp::spawn().await;
    let w = t.workspace("canaryslug").await;
    let tok = &w.owner.token;
    let s = &w.slug;
    let mut planted: Vec<String> = Vec::new();
    let mut plant = |f: &str| {
        let c = canary(f);
        planted.push(c.clone());
        c
    };
    let (st, _) = with_token(
        &t,
        "PATCH",
        &format!("/workspaces/{s}"),
        tok,
        Some(json!({"name": plant("workspace_name")})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = with_token(
        &t,
        "POST",
        &format!("/workspaces/{s}/stages"),
        tok,
        Some(json!({"name": plant("stage_name")})),
    )
    .await;
    assert_eq!(st, 201);
    let (st, crit) = with_token(
        &t,
        "POST",
        &format!("/workspaces/{s}/criteria"),
        tok,
        Some(json!({"name": plant("criterion_name")})),
    )
    .await;
    assert_eq!(st, 201);
    let (st, space) = with_token(&t, "POST", &format!("/workspaces/{s}/spaces"), tok,
        Some(json!({"name": plant("space_name"), "description": plant("space_description"), "private": false}))).await;
    assert_eq!(st, 201);
    let (st, d) = with_token(&t, "POST", &format!("/workspaces/{s}/spaces/{}/discussions", id(&space)), tok,
        Some(json!({"kind": "challenge", "title": plant("discussion_title"), "description": plant("discussion_description"), "criteria": [id(&crit)]}))).await;
    assert_eq!(st, 201, "{d}");
    let (st, idea) = with_token(&t, "POST", &format!("/workspaces/{s}/discussions/{}/ideas", id(&d)), tok,
        Some(json!({"title": plant("idea_title"), "body": format!("Body with **{}** in it", plant("idea_body")), "tags": [plant("idea_tag")]}))).await;
    assert_eq!(st, 201, "{idea}");
    let idea_id = id(&idea);
    let (st, _) = with_token(
        &t,
        "POST",
        &format!("/workspaces/{s}/ideas/{idea_id}/comments"),
        tok,
        Some(json!({"body": plant("comment_body")})),
    )
    .await;
    assert_eq!(st, 201);
    // An edited comment: its first text is kept as an earlier version, sealed too (COL-03).
    let (st, edited) = with_token(
        &t,
        "POST",
        &format!("/workspaces/{s}/ideas/{idea_id}/comments"),
        tok,
        Some(json!({"body": plant("comment_revision_body")})),
    )
    .await;
    assert_eq!(st, 201);
    let (st, _) = with_token(
        &t,
        "PATCH",
        &format!("/workspaces/{s}/comments/{}", id(&edited)),
        tok,
        Some(json!({"body": "rewritten"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, history) = with_token(
        &t,
        "GET",
        &format!("/workspaces/{s}/comments/{}/history", id(&edited)),
        tok,
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        history["versions"][0]["body"],
        canary("comment_revision_body"),
        "the earlier version comes back to a moderator"
    );
    let (st, _) = with_token(&t, "POST", &format!("/workspaces/{s}/ideas/{idea_id}/links"), tok,
        Some(json!({"url": format!("https://example.org/{}", plant("link_url")), "title": plant("link_title")}))).await;
    assert_eq!(st, 201);
    let file_text = format!("notes: {}", plant("file_content"));
    let file_name = Box::leak(format!("{}.txt", plant("file_name")).into_boxed_str());
    let (st, att) = call(
        &t,
        "POST",
        &format!("/workspaces/{s}/ideas/{idea_id}/attachments"),
        &Auth::Token(tok.clone()),
        Body::Upload {
            filename: file_name,
            bytes: file_text.clone().into_bytes(),
        },
    )
    .await;
    assert_eq!(st, 201, "{att}");
    let invitee = format!("{}@example.org", plant("invitee_email"));
    let (st, inv) = with_token(
        &t,
        "POST",
        &format!("/workspaces/{s}/invitations"),
        tok,
        Some(json!({"email": invitee, "role": "member"})),
    )
    .await;
    assert_eq!(st, 201, "{inv}");
    let (st, acc) = call(
        &t,
        "POST",
        &format!("/invitations/{}/accept", inv["token"].as_str().unwrap()),
        &Auth::None,
        Body::Json(json!({"name": plant("person_name"), "password": "a long enough password"})),
    )
    .await;
    assert_eq!(st, 201, "{acc}");
    t.app
        .create_token_for(
            &invitee,
            s,
            TokenInput {
                name: plant("token_name"),
                scope: TokenScope::Read,
                expires_in_days: None,
            },
        )
        .await
        .unwrap();

    // What the application shows: every canary comes back through the API...
    let (_, page) = with_token(
        &t,
        "GET",
        &format!("/workspaces/{s}/ideas/{idea_id}"),
        tok,
        None,
    )
    .await;
    let shown = page.to_string();
    for f in [
        "idea_title",
        "idea_body",
        "idea_tag",
        "link_url",
        "link_title",
        "file_name",
        "criterion_name",
    ] {
        assert!(shown.contains(&canary(f)), "{f} is shown: {shown}");
    }
    let (_, members) = with_token(&t, "GET", &format!("/workspaces/{s}/members"), tok, None).await;
    assert!(members.to_string().contains(&canary("person_name")));
    assert!(members.to_string().contains(&canary("invitee_email")));
    let (_, filter) = with_token(
        &t,
        "GET",
        &format!(
            "/workspaces/{s}/discussions/{}/ideas?tag={}",
            id(&d),
            canary("idea_tag")
        ),
        tok,
        None,
    )
    .await;
    assert_eq!(
        filter["items"].as_array().map(Vec::len),
        Some(1),
        "the tag filter finds it: {filter}"
    );
    let (st, body) = call(
        &t,
        "GET",
        &format!("/workspaces/{s}/attachments/{}/content", id(&att)),
        &Auth::Token(tok.clone()),
        Body::None,
    )
    .await;
    assert_eq!((st, body), (200, Value::String(file_text.clone())));
    let session = t.session(&invitee, "a long enough password").await;
    assert_eq!(
        session.user.0.to_string().len(),
        36,
        "the invitee signs in by address"
    );

    // Search holds them too (COL-05): indexed and found, and its index stored sealed in the
    // file store, which the scan below reads.
    t.app.run_search_indexing("test-node").await.unwrap();
    for f in [
        "space_name",
        "space_description",
        "discussion_title",
        "discussion_description",
        "idea_title",
        "idea_body",
        "idea_tag",
        "comment_body",
        "link_url",
        "link_title",
        "file_name",
        "person_name",
    ] {
        let (st, v) = with_token(
            &t,
            "GET",
            &format!("/workspaces/{s}/search?q={}", canary(f)),
            tok,
            None,
        )
        .await;
        assert_eq!(st, 200, "{v}");
        assert!(v["total"].as_u64().unwrap_or(0) >= 1, "{f} is found: {v}");
    }
    assert!(
        files_under(t.files_dir())
            .iter()
            .any(|(name, _)| name.contains("search-")),
        "the search index is stored in the file store"
    );

    // ...and none is in the database (file, WAL, shared memory; or a dump) or the file store,
    // in clear, hex or base64.
    let mut stores = t.database_bytes();
    stores.extend(files_under(t.files_dir()));
    assert!(!stores.is_empty());
    assert!(
        !hits(&stores, "canaryslug").is_empty(),
        "the scan reads the right bytes: the slug is stored in clear by design"
    );
    for c in &planted {
        for form in encodings(c) {
            assert_eq!(
                hits(&stores, &form),
                Vec::<String>::new(),
                "{c} was found in clear (as {form})"
            );
        }
    }
    assert!(
        hits(&stores, "notes: ").is_empty(),
        "the file content is sealed"
    );
}

/// Replaces the stored summary of `idea` with `value` and returns what the idea page answers.
async fn page_with_summary(
    t: &TestApp,
    slug: &str,
    tok: &str,
    idea: uuid::Uuid,
    value: &[u8],
) -> (u16, Value) {
    t.set_raw_blob("ideas", "summary", idea, value).await;
    with_token(
        t,
        "GET",
        &format!("/workspaces/{slug}/ideas/{idea}"),
        tok,
        None,
    )
    .await
}

#[tokio::test]
async fn enc_01_tampered_truncated_moved_or_relabelled_ciphertext_is_refused() {
    let t = TestApp::spawn().await;
    let a = t.workspace("tamper-a").await;
    let b = t.workspace("tamper-b").await;
    let mut ideas = Vec::new();
    for (w, title) in [
        (&a, "first secret"),
        (&a, "second secret"),
        (&b, "other workspace secret"),
    ] {
        let d = open_discussion(&t, &w.slug, &w.owner.token).await;
        let (st, i) = with_token(
            &t,
            "POST",
            &format!("/workspaces/{}/discussions/{}/ideas", w.slug, d),
            &w.owner.token,
            Some(json!({"title": title, "body": "b", "tags": []})),
        )
        .await;
        assert_eq!(st, 201);
        ideas.push(id(&i).parse::<uuid::Uuid>().unwrap());
    }
    let (slug, tok) = (&a.slug, &a.owner.token);
    let original = t.raw_blob("ideas", "summary", ideas[0]).await;
    let second = t.raw_blob("ideas", "summary", ideas[1]).await;
    let foreign = t.raw_blob("ideas", "summary", ideas[2]).await;

    let mut flipped_body = original.clone();
    let last = flipped_body.len() - 20;
    flipped_body[last] ^= 0x01;
    let mut flipped_header = original.clone();
    flipped_header[5] ^= 0x80;
    let mut wrong_version = original.clone();
    wrong_version[23] = wrong_version[23].wrapping_add(1);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a flipped ciphertext byte", flipped_body),
        ("a flipped key id", flipped_header),
        ("a wrong key version", wrong_version),
        (
            "a truncated value",
            original[..original.len() - 17].to_vec(),
        ),
        ("a value cut to its header", original[..30].to_vec()),
        ("an empty value", Vec::new()),
        ("another row's value", second.clone()),
        ("another workspace's value", foreign.clone()),
        (
            "plaintext",
            b"{\"t\":\"forged\",\"e\":\"\",\"g\":[]}".to_vec(),
        ),
    ];
    for (what, value) in cases {
        let (st, v) = page_with_summary(&t, slug, tok, ideas[0], &value).await;
        assert_eq!(st, 500, "{what}: {v}");
        assert_eq!(error_code(&v), "integrity_failure", "{what}");
        let text = v.to_string();
        for secret in [
            "first secret",
            "second secret",
            "other workspace secret",
            "forged",
        ] {
            assert!(!text.contains(secret), "{what} leaked {secret}: {text}");
        }
        // The list that contains it is refused too; the server keeps serving.
        let (_, idea) = with_token(
            &t,
            "GET",
            &format!("/workspaces/{slug}/ideas/{}", ideas[1]),
            tok,
            None,
        )
        .await;
        assert_eq!(
            idea["title"], "second secret",
            "{what}: other ideas still read"
        );
    }
    let (st, v) = page_with_summary(&t, slug, tok, ideas[0], &original).await;
    assert_eq!(
        (st, v["title"].as_str()),
        (200, Some("first secret")),
        "the original still opens"
    );
}

#[tokio::test]
async fn enc_03_rotation_while_requests_are_served_keeps_everything_readable() {
    let t = TestApp::spawn().await;
    let w = t.workspace("rotating").await;
    let (slug, tok) = (w.slug.clone(), w.owner.token.clone());
    let d = open_discussion(&t, &slug, &tok).await;
    let mut people = vec![w.owner.clone()];
    for i in 0..4 {
        people.push(t.member(&w, &format!("m{i}"), Role::Member).await);
    }
    let post = |who: usize, n: usize| {
        let (t, slug, d, tok) = (&t, slug.clone(), d.clone(), people[who].token.clone());
        async move {
            let (st, v) = with_token(t, "POST", &format!("/workspaces/{slug}/discussions/{d}/ideas"), &tok,
                Some(json!({"title": format!("idea {n}"), "body": format!("body {n}"), "tags": ["rot"]}))).await;
            assert_eq!(st, 201, "{v}");
        }
    };
    for n in 0..10 {
        post(n % 3, n).await;
    }
    // Load: people 3 and 4 post for the first time during the rotation (new data keys), everyone
    // lists; the rotations run at the same time, the master one from another process.
    let load = async {
        for n in 10..40 {
            post(n % people.len(), n).await;
            let (st, v) = with_token(
                &t,
                "GET",
                &format!("/workspaces/{slug}/discussions/{d}/ideas?limit=100&tag=rot"),
                &tok,
                None,
            )
            .await;
            assert_eq!(st, 200, "{v}");
        }
    };
    let rotate = async {
        let cli = tokio::task::spawn_blocking({
            let mut c = crate::platform::cli::bin_for(&t);
            c.args(["keys", "rotate-master"]);
            move || crate::platform::cli::run(c)
        });
        let report = t.app.rotate_workspace_key(&slug, &|_| {}).await.unwrap();
        let (ok, out, err) = cli.await.unwrap();
        assert!(ok, "{out}{err}");
        assert!(out.contains("added master version 2"), "{out}");
        report
    };
    let ((), report) = tokio::join!(load, rotate);
    assert_eq!(report.kek_version, 2);
    assert!(report.retired >= 1);
    // A second workspace rotation and a second master rotation while nothing runs, then retire.
    t.app.rotate_workspace_key(&slug, &|_| {}).await.unwrap();
    let mut c = crate::platform::cli::bin_for(&t);
    c.args(["keys", "rotate-master"]);
    assert!(crate::platform::cli::run(c).0);
    let mut c = crate::platform::cli::bin_for(&t);
    c.args(["keys", "retire-master", "1"]);
    let (ok, _, err) = crate::platform::cli::run(c);
    assert!(!ok && err.contains("--yes"), "asks for confirmation: {err}");
    for v in ["1", "2"] {
        let mut c = crate::platform::cli::bin_for(&t);
        c.args(["keys", "retire-master", v, "--yes"]);
        let (ok, out, err) = crate::platform::cli::run(c);
        assert!(ok, "{out}{err}");
    }
    let status = t.app.keyring().status(t.app.store()).await.unwrap();
    assert_eq!(status.master_versions, vec![3]);
    assert!(
        status
            .wrapped_by_master_version
            .iter()
            .all(|(_, v, _)| *v == 3),
        "{status:?}"
    );

    // Every idea still opens, through this server and through a fresh one on the same database.
    let (_, list) = with_token(
        &t,
        "GET",
        &format!("/workspaces/{slug}/discussions/{d}/ideas?limit=100"),
        &tok,
        None,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 40);
    let fresh = TestApp::spawn_with(|c| {
        c.database_url = t.config.database_url.clone();
        c.master_key = t.config.master_key.clone();
        c.shred_ledger = t.config.shred_ledger.clone();
    })
    .await;
    let (st, list) = with_token(
        &fresh,
        "GET",
        &format!("/workspaces/{slug}/discussions/{d}/ideas?limit=100"),
        &tok,
        None,
    )
    .await;
    assert_eq!(st, 200, "{list}");
    let mut titles: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort_by_key(|s| s[5..].parse::<u32>().unwrap());
    assert_eq!(
        titles,
        (0..40).map(|n| format!("idea {n}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn enc_04_an_erased_member_stays_erased_when_an_older_copy_is_restored() {
    let t = TestApp::spawn().await;
    let w = t.workspace("shredding").await;
    let slug = w.slug.clone();
    let alice = t.member(&w, "alice", Role::Member).await;
    let bob = t.member(&w, "bob", Role::Member).await;
    let d = open_discussion(&t, &slug, &w.owner.token).await;
    let mut posted = Vec::new();
    for (who, title) in [(&alice, "alice's idea"), (&bob, "bob's idea")] {
        let (st, i) = with_token(
            &t,
            "POST",
            &format!("/workspaces/{slug}/discussions/{}/ideas", d),
            &who.token,
            Some(json!({"title": title, "body": "details", "tags": []})),
        )
        .await;
        assert_eq!(st, 201);
        let (st, _) = with_token(
            &t,
            "POST",
            &format!("/workspaces/{slug}/ideas/{}/comments", id(&i)),
            &who.token,
            Some(json!({"body": format!("{title}, commented")})),
        )
        .await;
        assert_eq!(st, 201);
        posted.push(id(&i));
    }
    let tok = w.owner.token.clone();

    // The backup, taken before the erasure.
    let backup = tempfile::tempdir().unwrap();
    let restore_url = match test_db() {
        TestDb::Sqlite => {
            let file = backup.path().join("backup.db");
            t.app.store().vacuum_into(&file).await.unwrap();
            std::fs::copy(&file, backup.path().join("again.db")).unwrap();
            format!("sqlite://{}", file.display())
        }
        TestDb::Postgres => pg_copy(&t.config.database_url).await,
    };

    assert!(t.app.shred_member_data(w.id, alice.id).await.unwrap());
    assert_eq!(
        idea_and_comment(&t, &slug, &tok, posted[0].clone()).await,
        (ERASED.to_owned(), ERASED.to_owned())
    );
    assert_eq!(
        idea_and_comment(&t, &slug, &tok, posted[1].clone()).await,
        ("bob's idea".to_owned(), "bob's idea, commented".to_owned())
    );

    // Restored with the live ledger, as every start applies it: Alice stays erased, Bob is whole.
    let restored = TestApp::spawn_with(|c| {
        c.database_url = restore_url.clone();
        c.master_key = t.config.master_key.clone();
        c.shred_ledger = t.config.shred_ledger.clone();
    })
    .await;
    assert_eq!(
        idea_and_comment(&restored, &slug, &tok, posted[0].clone()).await,
        (ERASED.to_owned(), ERASED.to_owned())
    );
    assert_eq!(
        idea_and_comment(&restored, &slug, &tok, posted[1].clone()).await,
        ("bob's idea".to_owned(), "bob's idea, commented".to_owned())
    );
    let status = restored
        .app
        .keyring()
        .status(restored.app.store())
        .await
        .unwrap();
    assert_eq!(status.shred_ledger.1, 1);
    drop(restored);

    // The ledger is what protects: a second copy of the same backup started with an empty
    // ledger brings Alice back, which is why the ledger lives outside the database and its
    // backups. (The control runs on SQLite, where a second file copy is cheap.)
    if test_db() == TestDb::Sqlite {
        let copy = backup.path().join("again.db");
        let unprotected = TestApp::spawn_with(|c| {
            c.database_url = format!("sqlite://{}", copy.display());
            c.master_key = t.config.master_key.clone();
        })
        .await;
        assert_eq!(
            idea_and_comment(&unprotected, &slug, &tok, posted[1].clone())
                .await
                .0,
            "bob's idea"
        );
        assert_eq!(
            idea_and_comment(&unprotected, &slug, &tok, posted[0].clone())
                .await
                .0,
            "alice's idea"
        );
    }
}

/// An idea's title and its first comment's text, as the owner sees them.
async fn idea_and_comment(t: &TestApp, slug: &str, tok: &str, idea: String) -> (String, String) {
    let (st, v) = with_token(
        t,
        "GET",
        &format!("/workspaces/{slug}/ideas/{idea}"),
        tok,
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let (_, c) = with_token(
        t,
        "GET",
        &format!("/workspaces/{slug}/ideas/{idea}/comments"),
        tok,
        None,
    )
    .await;
    (
        v["title"].as_str().unwrap().to_owned(),
        c["items"][0]["body"].as_str().unwrap().to_owned(),
    )
}

/// Copies a PostgreSQL database into a new one with pg_dump and psql, as a restore would.
pub(crate) async fn pg_copy(url: &str) -> String {
    let (server, _) = url.rsplit_once('/').unwrap();
    let name = format!("iwt_{}", uuid::Uuid::new_v4().simple());
    let admin = format!("{server}/postgres");
    let status = std::process::Command::new("psql")
        .args([&admin, "-qc", &format!("CREATE DATABASE \"{name}\"")])
        .status()
        .unwrap();
    assert!(status.success());
    let target = format!("{server}/{name}");
    let dump = std::process::Command::new("pg_dump")
        .arg("--dbname")
        .arg(url)
        .output()
        .unwrap();
    assert!(dump.status.success());
    let mut psql = std::process::Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", &target])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    psql.stdin.take().unwrap().write_all(&dump.stdout).unwrap();
    assert!(psql.wait().unwrap().success());
    target
}

/// A new idea in `w`, by its owner; returns its id.
pub(crate) async fn an_idea(t: &TestApp, w: &ideaweave_testkit::TestWorkspace) -> String {
    let d = open_discussion(t, &w.slug, &w.owner.token).await;
    let (st, i) = with_token(
        t,
        "POST",
        &format!("/workspaces/{}/discussions/{}/ideas", w.slug, d),
        &w.owner.token,
        Some(json!({"title": "With a large file", "body": "b", "tags": []})),
    )
    .await;
    assert_eq!(st, 201, "{i}");
    id(&i)
}

/// Temporary files of uploads in progress under `dir`, with their sizes.
fn uploads_in_progress(dir: &std::path::Path) -> Vec<u64> {
    files_under(dir)
        .into_iter()
        .filter(|(p, _)| p.rsplit('/').next().is_some_and(|n| n.starts_with(".tmp-")))
        .map(|(_, b)| b.len() as u64)
        .collect()
}

/// Downloads an attachment: the status (`None` when the connection was closed before a status
/// arrived) and the body (`Err` when it was cut off, with what arrived before).
async fn download(t: &TestApp, path: &str, tok: &str) -> (Option<u16>, Result<Vec<u8>, Vec<u8>>) {
    use futures_util::StreamExt;
    // A fresh connection each time: a cut-off response leaves its connection unusable.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let Ok(r) = client.get(t.api(path)).bearer_auth(tok).send().await else {
        return (None, Err(Vec::new()));
    };
    let status = r.status().as_u16();
    let mut got = Vec::new();
    let mut body = r.bytes_stream();
    while let Some(piece) = body.next().await {
        match piece {
            Ok(p) => got.extend_from_slice(&p),
            Err(_) => return (Some(status), Err(got)),
        }
    }
    (Some(status), Ok(got))
}

#[tokio::test]
async fn enc_01_large_files_are_sealed_and_opened_in_chunks_as_they_stream() {
    use ideaweave_crypto::{STREAM_BLOCK, STREAM_CHUNK, STREAM_HEADER_LEN};
    use sha2::Digest;

    let t = TestApp::spawn().await;
    let w = t.workspace("bigfiles").await;
    let tok = w.owner.token.clone();
    let idea = an_idea(&t, &w).await;
    let mut file = Vec::new();
    let mut n = 0;
    while file.len() < 3 * STREAM_CHUNK + 12_345 {
        file.extend_from_slice(format!("line {n}: zqlargecanary and some text\n").as_bytes());
        n += 1;
    }
    let len = file.len();

    // The body goes out in pieces; the second half is only sent once the server has written
    // sealed bytes of the first, which it could not do if it buffered the whole upload.
    let boundary = "iwboundary7d1f";
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async {
        rx.recv().await.map(|piece| (piece, rx))
    }));
    let request = t
        .http
        .post(t.api(&format!("/workspaces/bigfiles/ideas/{idea}/attachments")))
        .bearer_auth(&tok)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send();
    let response = tokio::spawn(request);
    tx.send(Ok(format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.txt\"\r\nContent-Type: text/plain\r\n\r\n"
    )
    .into_bytes()))
    .await
    .unwrap();
    let half = len / 2;
    for piece in file[..half].chunks(16 * 1024) {
        tx.send(Ok(piece.to_vec())).await.unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let written = uploads_in_progress(t.files_dir());
        if written.iter().any(|&s| s >= STREAM_BLOCK as u64) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "half the upload was sent but nothing was sealed to the file store: {written:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for piece in file[half..].chunks(16 * 1024) {
        tx.send(Ok(piece.to_vec())).await.unwrap();
    }
    tx.send(Ok(format!("\r\n--{boundary}--\r\n").into_bytes()))
        .await
        .unwrap();
    drop(tx);
    let response = response.await.unwrap().unwrap();
    assert_eq!(response.status(), 201);
    let att: Value = response.json().await.unwrap();
    assert_eq!(att["size_bytes"], json!(len));
    assert_eq!(
        att["sha256"],
        json!(hex::encode(sha2::Sha256::digest(&file)))
    );
    assert!(uploads_in_progress(t.files_dir()).is_empty());

    // On disk: the header, then one 16-byte tag per chunk, and not a word in clear.
    let stored_path = t.files_dir().join(w.id.0.to_string()).join(id(&att));
    let stored = std::fs::read(&stored_path).unwrap();
    let chunks = len / STREAM_CHUNK + 1;
    assert_eq!(stored.len(), STREAM_HEADER_LEN + len + 16 * chunks);
    assert!(!stored.windows(14).any(|w| w == b"zqlargecanary "));

    let content = format!("/workspaces/bigfiles/attachments/{}/content", id(&att));
    let r = t
        .http
        .get(t.api(&content))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.content_length(), Some(len as u64));
    assert!(
        r.bytes().await.unwrap() == file,
        "the download is the upload"
    );

    // Damage the stored file in every way a chunked file can be damaged; restore it after each.
    let block =
        |i: usize| STREAM_HEADER_LEN + i * STREAM_BLOCK..STREAM_HEADER_LEN + (i + 1) * STREAM_BLOCK;
    let mut flipped_first = stored.clone();
    flipped_first[STREAM_HEADER_LEN + 10] ^= 0x01;
    let mut flipped_middle = stored.clone();
    flipped_middle[block(2).start + 100] ^= 0x01;
    let mut swapped = stored.clone();
    swapped[block(1)].copy_from_slice(&stored[block(2)]);
    swapped[block(2)].copy_from_slice(&stored[block(1)]);
    let cut_at_boundary = stored[..block(3).start].to_vec();
    let cut_inside = stored[..stored.len() - 5].to_vec();
    let mut relabelled = stored.clone();
    relabelled[10] ^= 0x01;
    for (what, bytes, fails_at_once) in [
        ("a flipped byte in the first chunk", flipped_first, true),
        ("a relabelled key id", relabelled, true),
        ("a header only", stored[..STREAM_HEADER_LEN].to_vec(), true),
        ("a flipped byte in a later chunk", flipped_middle, false),
        ("two chunks swapped", swapped, false),
        ("cut at a chunk boundary", cut_at_boundary, false),
        ("cut inside the last chunk", cut_inside, false),
    ] {
        std::fs::write(&stored_path, &bytes).unwrap();
        let (st, got) = download(&t, &content, &tok).await;
        if fails_at_once {
            assert_eq!(st, Some(500), "{what}");
        } else {
            // The first chunk is sound, so the response starts; the server then cuts it off,
            // before or after the status line reached the client.
            assert!(matches!(st, None | Some(200)), "{what}: {st:?}");
            let got = got.expect_err(what);
            assert!(got.len() < len, "{what}: the body is cut off");
            assert!(
                file.starts_with(&got),
                "{what}: what arrived is authentic plaintext, never altered bytes"
            );
        }
    }

    // A file copied over another attachment's does not open there.
    std::fs::write(&stored_path, &stored).unwrap();
    let (st, small) = call(
        &t,
        "POST",
        &format!("/workspaces/bigfiles/ideas/{idea}/attachments"),
        &Auth::Token(tok.clone()),
        Body::Upload {
            filename: "small.txt",
            bytes: b"a small file".to_vec(),
        },
    )
    .await;
    assert_eq!(st, 201, "{small}");
    let small_path = t.files_dir().join(w.id.0.to_string()).join(id(&small));
    std::fs::copy(&stored_path, &small_path).unwrap();
    let (st, _) = download(
        &t,
        &format!("/workspaces/bigfiles/attachments/{}/content", id(&small)),
        &tok,
    )
    .await;
    assert_eq!(st, Some(500), "moved to another attachment");
    let (st, again) = download(&t, &content, &tok).await;
    assert_eq!(
        (st, again.ok().as_deref() == Some(&file[..])),
        (Some(200), true)
    );
}

/// The events of the owner's workspace that name `person` as the actor, as `node` shows them.
async fn events_by(
    http: &reqwest::Client,
    api: String,
    token: &str,
    person: ideaweave_domain::UserId,
    pseudonym: Option<&str>,
) -> Vec<Value> {
    let v: Value = http
        .get(api)
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no events in {v}"))
        .iter()
        .filter(|e| {
            e["actor"]["user_id"].as_str() == Some(&person.0.to_string())
                || pseudonym.is_some_and(|p| e["actor"]["pseudonym"].as_str() == Some(p))
        })
        .cloned()
        .collect()
}

/// ENC-04 across nodes: when one node erases a person, another node that had their key cached
/// stops opening their data within the cache's time limit (finding 3 of issue 19: the cache
/// was an LRU without expiry, so the second node went on showing sealed details for minutes).
#[tokio::test]
async fn enc_04_another_node_stops_opening_an_erased_persons_data() {
    let t = TestApp::spawn().await;
    let w = t.workspace("twonodes").await;
    let pat = t.member(&w, "pat", Role::Member).await;
    let b = t.second_node().await;
    let events = format!("/workspaces/{}/audit/events?limit=200", w.slug);
    // A refused request is recorded with Pat's client data, sealed with Pat's key.
    let refused = t
        .http
        .get(t.api(&events))
        .bearer_auth(&pat.token)
        .header("user-agent", "pat's browser")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let before = events_by(&t.http, b.api(&events), &w.owner.token, pat.id, None).await;
    let sealed: Vec<&Value> = before
        .iter()
        .filter(|e| !e["facts"].is_null() || !e["client"].is_null())
        .collect();
    assert!(
        !sealed.is_empty(),
        "node B opens Pat's sealed details before the erasure: {before:?}"
    );
    let pseudonym = sealed[0]["actor"]["pseudonym"]
        .as_str()
        .expect("pseudonym")
        .to_owned();

    crate::helpers::anonymise(&t, &w, pat.id).await;
    let on_a = events_by(
        &t.http,
        t.api(&events),
        &w.owner.token,
        pat.id,
        Some(&pseudonym),
    )
    .await;
    assert!(
        on_a.iter()
            .all(|e| e["facts"].is_null() && e["client"].is_null()),
        "node A forgets at once: {on_a:?}"
    );

    tokio::time::sleep(ideaweave_crypto::KEY_CACHE_TTL + std::time::Duration::from_millis(500))
        .await;
    let on_b = events_by(
        &t.http,
        b.api(&events),
        &w.owner.token,
        pat.id,
        Some(&pseudonym),
    )
    .await;
    assert!(!on_b.is_empty(), "the events themselves stay");
    assert!(
        on_b.iter().all(|e| e["facts"].is_null()
            && e["client"].is_null()
            && e["actor"]["user_id"].is_null()),
        "node B no longer opens what the erased person's key sealed: {on_b:?}"
    );
}
