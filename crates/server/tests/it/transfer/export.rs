//! LIF-01: a workspace exported as one archive of documented JSON plus its files, imported into
//! another instance, and exported again with the same content; damaged archives are refused
//! whole.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use ideaweave_app::*;
use ideaweave_domain::{RequestChannel, RequestKind, RequestState, Role, TokenScope};
use ideaweave_testkit::{TestApp, TestWorkspace};
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, png, with_token};
use crate::platform::cli::{bin_for, run};

const SCHEMA: &str = include_str!("../../../../../docs/export-format.schema.json");

/// Every entry of an archive: path → bytes.
pub fn entries(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let file = std::fs::File::open(path).expect("archive");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = BTreeMap::new();
    for e in archive.entries().expect("a tar.gz") {
        let mut e = e.expect("entry");
        let p = e.path().unwrap().to_str().unwrap().to_owned();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        out.insert(p, buf);
    }
    out
}

/// Exports `slug` of `t` with the command line; returns the archive's path.
pub fn export_with_cli(t: &TestApp, slug: &str) -> PathBuf {
    let out = t
        .dir
        .path()
        .join(format!("{slug}-{}.tar.gz", uuid::Uuid::new_v4()));
    let (ok, stdout, err) = run({
        let mut c = bin_for(t);
        c.args(["export", "workspace", slug, "--out"]).arg(&out);
        c
    });
    assert!(ok, "export failed: {stdout}{err}");
    assert!(stdout.contains(&format!("exported {slug}")), "{stdout}");
    out
}

/// A workspace with something of every kind the export carries.
async fn rich(t: &TestApp, slug: &str) -> TestWorkspace {
    let w = t.workspace(slug).await;
    let owner = w.as_member(&w.owner);
    let amy = t.member(&w, "amy", Role::Member).await;
    let bo = t.member(&w, "bo", Role::Member).await;
    let gone = t.member(&w, "gone", Role::Member).await;
    let crit = t.criterion(&w, "Impact").await;
    let private = t
        .app
        .create_space(
            &owner,
            SpaceInput {
                name: "Inner circle".into(),
                description: "**private**".into(),
                private: true,
            },
        )
        .await
        .unwrap();
    for p in [&amy, &bo, &gone] {
        t.app
            .add_space_member(&owner, private.id, SpaceMemberInput { user_id: p.id })
            .await
            .unwrap();
    }
    let d = t
        .app
        .create_discussion(
            &owner,
            private.id,
            DiscussionInput {
                kind: DiscussionKind::Challenge,
                title: "Make it better — ünïcode ✓".into(),
                description: "desc".into(),
                deadline: Some(1_900_000_000_000),
                criteria: vec![crit],
            },
        )
        .await
        .unwrap();
    let ideas = format!("/workspaces/{slug}/discussions/{}/ideas", d.id);
    let post = |token: String, path: String, body: Value| async move {
        let (st, v) = with_token(t, "POST", &path, &token, Some(body)).await;
        assert!(st == 201 || st == 200, "{path}: {v}");
        v["id"].as_str().unwrap_or_default().to_owned()
    };
    let a = post(
        amy.token.clone(),
        ideas.clone(),
        json!({"title": "Amy's idea", "body": "# Heading\n\nwith *markdown*", "tags": ["green", "fast"]}),
    )
    .await;
    let b = post(
        bo.token.clone(),
        ideas.clone(),
        json!({"title": "Bo's duplicate", "body": "same"}),
    )
    .await;
    let g = post(
        gone.token.clone(),
        ideas.clone(),
        json!({"title": "Gone's idea", "body": "stays, anonymised"}),
    )
    .await;
    let dead = post(
        amy.token.clone(),
        ideas.clone(),
        json!({"title": "Deleted later", "body": "x"}),
    )
    .await;
    let c1 = post(
        bo.token.clone(),
        format!("/workspaces/{slug}/ideas/{a}/comments"),
        json!({"body": "first"}),
    )
    .await;
    post(
        amy.token.clone(),
        format!("/workspaces/{slug}/ideas/{a}/comments"),
        json!({"body": "reply", "parent_id": c1}),
    )
    .await;
    // Bo edits the first comment twice: two earlier versions travel with it (COL-03).
    for text in ["first, edited", "first, edited again"] {
        let (st, v) = with_token(
            t,
            "PATCH",
            &format!("/workspaces/{slug}/comments/{c1}"),
            &bo.token,
            Some(json!({ "body": text })),
        )
        .await;
        assert_eq!(st, 200, "{v}");
    }
    post(
        gone.token.clone(),
        format!("/workspaces/{slug}/ideas/{a}/comments"),
        json!({"body": "gone's comment"}),
    )
    .await;
    for (who, idea, dir) in [(&bo, &a, "up"), (&gone, &a, "up"), (&amy, &b, "down")] {
        let (st, v) = with_token(
            t,
            "PUT",
            &format!("/workspaces/{slug}/ideas/{idea}/vote"),
            &who.token,
            Some(json!({"direction": dir})),
        )
        .await;
        assert_eq!(st, 200, "{v}");
    }
    let (st, v) = with_token(
        t,
        "PUT",
        &format!("/workspaces/{slug}/ideas/{a}/ratings/{crit}"),
        &bo.token,
        Some(json!({"value": 4})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    post(
        amy.token.clone(),
        format!("/workspaces/{slug}/ideas/{a}/links"),
        json!({"url": "https://example.org/spec", "title": "Spec"}),
    )
    .await;
    let (st, v) = call(
        t,
        "POST",
        &format!("/workspaces/{slug}/ideas/{a}/attachments"),
        &Auth::Token(amy.token.clone()),
        Body::Upload {
            filename: "pixel.png",
            bytes: png(),
        },
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = with_token(
        t,
        "POST",
        &format!("/workspaces/{slug}/ideas/{b}/merge"),
        &w.owner.token,
        Some(json!({"into": g})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let (st, _) = with_token(
        t,
        "DELETE",
        &format!("/workspaces/{slug}/ideas/{dead}"),
        &amy.token,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, v) = with_token(
        t,
        "POST",
        &format!("/workspaces/{slug}/invitations"),
        &w.owner.token,
        Some(json!({"email": "later@example.org", "role": "member"})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    t.app
        .set_notification_preference(&w.as_member(&amy), NotificationPreference::Daily)
        .await
        .unwrap();
    // The request desk: one open, one answered with an Art. 19 notice, one about the person
    // erased next (redacted by the erasure).
    for (kind, subject, answer) in [
        (RequestKind::Access, amy.id, None),
        (
            RequestKind::Rectification,
            bo.id,
            Some(vec!["partner@example.org".to_owned()]),
        ),
        (RequestKind::Erasure, gone.id, None),
    ] {
        let r = t
            .app
            .record_request(
                &owner,
                RequestInput {
                    kind,
                    channel: RequestChannel::Letter,
                    requester: format!("{kind:?} requester <asker@example.org>"),
                    subject_id: Some(subject),
                    details: "please — ünïcode".into(),
                    received_at: None,
                },
            )
            .await
            .unwrap();
        if let Some(notify) = answer {
            t.app
                .resolve_request(
                    &owner,
                    r.id,
                    ResolveInput {
                        state: RequestState::Done,
                        resolution: "corrected the name".into(),
                        notify,
                    },
                )
                .await
                .unwrap();
        }
    }
    t.app
        .erase_person(
            &owner,
            gone.id,
            ErasureInput {
                mode: ideaweave_domain::ErasureMode::Anonymise,
            },
        )
        .await
        .unwrap();
    w
}

fn checksums(m: &Value) -> Vec<(String, String)> {
    m["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn lif_01_export_import_export_gives_the_same_content() {
    let a = TestApp::spawn().await;
    rich(&a, "roundtrip").await;
    let first = export_with_cli(&a, "roundtrip");
    let one = entries(&first);
    let manifest: Value = serde_json::from_slice(&one["manifest.json"]).unwrap();
    assert_eq!(manifest["format"], "ideaweave.workspace-export/1");
    assert_eq!(manifest["counts"]["ideas"], 4, "{manifest}");
    assert_eq!(manifest["counts"]["comments"], 3);
    assert_eq!(manifest["counts"]["comment_revisions"], 2);
    let versions = String::from_utf8(one["comment_revisions/000001.jsonl"].clone()).unwrap();
    assert!(
        versions.contains("\"body\":\"first\"") && versions.contains("\"first, edited\""),
        "{versions}"
    );
    assert_eq!(manifest["counts"]["attachments"], 1);
    assert!(one.keys().any(|k| k.starts_with("files/")));

    let b = TestApp::spawn().await;
    let (ok, out, err) = run({
        let mut c = bin_for(&b);
        c.arg("import").arg(&first);
        c
    });
    assert!(ok, "import failed: {out}{err}");
    assert!(out.contains("imported workspace roundtrip"), "{out}");
    let second = export_with_cli(&b, "roundtrip");
    let two = entries(&second);
    let manifest2: Value = serde_json::from_slice(&two["manifest.json"]).unwrap();
    assert_eq!(
        checksums(&manifest),
        checksums(&manifest2),
        "every entry of the second export is byte-identical to the first"
    );
    assert_eq!(manifest["counts"], manifest2["counts"]);
    for (path, bytes) in &one {
        if path != "manifest.json" {
            assert_eq!(Some(bytes), two.get(path), "{path}");
        }
    }

    // The imported workspace works: its people can be given tokens and read what was there.
    let people: Vec<Value> = one["people.jsonl"]
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let amy = people
        .iter()
        .find(|p| p["email"].as_str().is_some_and(|e| e.starts_with("amy.")))
        .unwrap();
    let token = b
        .token(
            amy["email"].as_str().unwrap(),
            "roundtrip",
            TokenScope::Read,
        )
        .await;
    let idea_lines = String::from_utf8(one["ideas/000001.jsonl"].clone()).unwrap();
    let amys_idea: Value = idea_lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|i| i["title"] == "Amy's idea")
        .unwrap();
    let (st, v) = with_token(
        &b,
        "GET",
        &format!(
            "/workspaces/roundtrip/ideas/{}",
            amys_idea["id"].as_str().unwrap()
        ),
        &token,
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["tags"], json!(["green", "fast"]));
    assert_eq!(v["upvotes"], 2, "counts are redone from the votes");
    assert_eq!(v["attachments"][0]["filename"], "pixel.png");
    let former = people.iter().filter(|p| p["former_member"] == true).count();
    assert_eq!(
        former, 1,
        "the anonymised person travels as a former member"
    );

    // The request desk travels whole: the open request, the answer with its Art. 19 notice,
    // and the erased person's request, redacted; the new instance's desk shows them.
    assert_eq!(manifest["counts"]["requests"], 3);
    let requests: Vec<Value> = one["requests.jsonl"]
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let answered = requests.iter().find(|r| r["state"] == "done").unwrap();
    assert_eq!(answered["resolution"], "corrected the name");
    assert_eq!(answered["notices"][0]["recipient"], "partner@example.org");
    let redacted = requests.iter().find(|r| r["kind"] == "erasure").unwrap();
    assert_eq!(redacted["requester"], "[erased]");
    assert_eq!(redacted["subject_id"], Value::Null);
    let open = requests
        .iter()
        .find(|r| r["state"] == "open" && r["kind"] == "access")
        .unwrap();
    assert_eq!(open["details"], "please — ünïcode");
    assert_eq!(open["subject_id"], amy["id"]);
    let owner = people.iter().find(|p| p["role"] == "owner").unwrap();
    let owner = b
        .token(
            owner["email"].as_str().unwrap(),
            "roundtrip",
            TokenScope::Write,
        )
        .await;
    let (st, desk) = with_token(&b, "GET", "/workspaces/roundtrip/requests", &owner, None).await;
    assert_eq!(st, 200, "{desk}");
    assert_eq!(desk.as_array().map(Vec::len), Some(3), "{desk}");
}

#[tokio::test]
async fn lif_01_every_record_of_an_export_follows_the_published_schema() {
    let t = TestApp::spawn().await;
    rich(&t, "schema").await;
    let archive = export_with_cli(&t, "schema");
    let schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    let defs = schema["$defs"].as_object().expect("$defs").clone();
    let validator_of = |name: &str| {
        let mut s = json!({"$ref": format!("#/$defs/{name}")});
        s["$defs"] = Value::Object(defs.clone());
        jsonschema::validator_for(&s).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let mut checked = 0;
    for (path, bytes) in entries(&archive) {
        let def = match path.split('/').next().unwrap() {
            "workspace.json" => "workspace",
            "manifest.json" => "manifest",
            "people.jsonl" => "person",
            "stages.jsonl" | "criteria.jsonl" => "named",
            "spaces.jsonl" => "space",
            "discussions" => "discussion",
            "ideas" => "idea",
            "comments" => "comment",
            "comment_revisions" => "comment_revision",
            "votes" => "vote",
            "ratings" => "rating",
            "attachments" => "attachment",
            "links" => "link",
            "merges.jsonl" => "merge",
            "invitations.jsonl" => "invitation",
            "requests.jsonl" => "request",
            "files" => continue,
            other => panic!("undocumented entry {other}"),
        };
        let v = validator_of(def);
        let docs: Vec<Value> = if path.ends_with(".json") {
            vec![serde_json::from_slice(&bytes).unwrap()]
        } else {
            bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_slice(l).unwrap())
                .collect()
        };
        for doc in docs {
            let problems: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(problems.is_empty(), "{path}: {problems:?} in {doc}");
            let mut extra = doc.clone();
            if let Some(o) = extra.as_object_mut() {
                o.insert("unexpected".into(), json!(1));
                assert!(!v.is_valid(&extra), "{def} must refuse unknown fields");
            }
            checked += 1;
        }
    }
    assert!(checked > 15, "{checked} records checked");
}

#[tokio::test]
async fn lif_01_a_damaged_or_altered_archive_is_refused_whole() {
    let a = TestApp::spawn().await;
    rich(&a, "damaged").await;
    let archive = export_with_cli(&a, "damaged");
    let b = TestApp::spawn().await;
    let import = |file: &Path, extra: &[&str]| {
        let mut c = bin_for(&b);
        c.arg("import").args(extra).arg(file);
        run(c)
    };

    // An entry altered (and the archive rebuilt around it, so only the checksum can tell).
    let mut all = entries(&archive);
    let ideas = all.get_mut("ideas/000001.jsonl").unwrap();
    let text = String::from_utf8(ideas.clone())
        .unwrap()
        .replace("Amy's idea", "Eve's idea");
    *ideas = text.into_bytes();
    let altered = b.dir.path().join("altered.tar.gz");
    {
        let f = std::fs::File::create(&altered).unwrap();
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            f,
            flate2::Compression::default(),
        ));
        let order: Vec<String> = {
            let m: Value = serde_json::from_slice(&all["manifest.json"]).unwrap();
            let mut o: Vec<String> = checksums(&m).into_iter().map(|(p, _)| p).collect();
            o.push("manifest.json".into());
            o
        };
        for p in order {
            let data = &all[&p];
            let mut h = tar::Header::new_ustar();
            h.set_path(&p).unwrap();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            builder.append(&h, data.as_slice()).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
    }
    let (ok, out, err) = import(&altered, &["--check"]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("ideas/000001.jsonl does not match its checksum"),
        "{err}"
    );
    let (ok, _, err) = import(&altered, &[]);
    assert!(!ok);
    assert!(err.contains("does not match its checksum"), "{err}");

    // Cut short.
    let bytes = std::fs::read(&archive).unwrap();
    let cut = b.dir.path().join("cut.tar.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, _, err) = import(&cut, &[]);
    assert!(!ok);
    assert!(err.contains("archive"), "{err}");

    // Not an archive at all.
    let junk = b.dir.path().join("junk.tar.gz");
    std::fs::write(&junk, b"hello").unwrap();
    let (ok, _, err) = import(&junk, &[]);
    assert!(!ok);
    assert!(
        err.contains("not a gzip-compressed tar archive") || err.contains("damaged"),
        "{err}"
    );

    // Nothing was created by any of it; the intact archive then imports.
    let (ok, out, err) = run({
        let mut c = bin_for(&b);
        c.args(["workspace", "list"]);
        c
    });
    assert!(ok && !out.contains("damaged"), "{out}{err}");
    let (ok, out, err) = import(&archive, &["--check"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("every checksum matches"), "{out}");
    let (ok, out, err) = import(&archive, &[]);
    assert!(ok, "{out}{err}");
    let (ok, _, err) = import(&archive, &[]);
    assert!(!ok, "the slug is taken now");
    assert!(err.contains("already exists"), "{err}");
    let (ok, out, err) = import(&archive, &["--slug", "damaged-copy"]);
    assert!(ok, "{out}{err}");
}

/// Writes `all` as an archive whose manifest lists the entries' real checksums: what someone
/// crafting an archive by hand would produce.
fn rebuild(all: &BTreeMap<String, Vec<u8>>, to: &Path) {
    use sha2::Digest;
    let mut m: Value = serde_json::from_slice(&all["manifest.json"]).unwrap();
    let order: Vec<String> = checksums(&m).into_iter().map(|(p, _)| p).collect();
    for (e, p) in m["entries"].as_array_mut().unwrap().iter_mut().zip(&order) {
        e["sha256"] = json!(hex::encode(sha2::Sha256::digest(&all[p])));
        e["bytes"] = json!(all[p].len());
    }
    let f = std::fs::File::create(to).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        f,
        flate2::Compression::default(),
    ));
    let manifest = serde_json::to_vec(&m).unwrap();
    for (p, data) in order
        .iter()
        .map(|p| (p.as_str(), all[p].as_slice()))
        .chain([("manifest.json", manifest.as_slice())])
    {
        let mut h = tar::Header::new_ustar();
        h.set_path(p).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
}

#[tokio::test]
async fn lif_01_a_crafted_archive_cannot_attribute_content_to_someone_it_does_not_list() {
    let a = TestApp::spawn().await;
    rich(&a, "crafted").await;
    let archive = export_with_cli(&a, "crafted");
    let b = TestApp::spawn().await;
    let victim = b.workspace("victim").await;
    let mut all = entries(&archive);
    let ideas = String::from_utf8(all["ideas/000001.jsonl"].clone()).unwrap();
    let mut lines: Vec<Value> = ideas
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines[0]["author_id"] = json!(victim.owner.id.0);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    all.insert("ideas/000001.jsonl".into(), text.into_bytes());
    let crafted = b.dir.path().join("crafted.tar.gz");
    rebuild(&all, &crafted);
    let (ok, out, err) = run({
        let mut c = bin_for(&b);
        c.args(["import", "--check"]).arg(&crafted);
        c
    });
    assert!(ok, "its checksums are right: {out}{err}");
    let (ok, _, err) = run({
        let mut c = bin_for(&b);
        c.arg("import").arg(&crafted);
        c
    });
    assert!(!ok);
    assert!(err.contains("is not in people.jsonl"), "{err}");

    // A request said to be recorded by someone it does not list; a request whose answer does
    // not fit its state.
    for (field, value, expected) in [
        (
            "recorded_by",
            json!(victim.owner.id.0),
            "is not in people.jsonl",
        ),
        ("state", json!("open"), "is not consistent"),
        ("kind", json!("gossip"), "kind"),
    ] {
        let mut all = entries(&archive);
        let text = String::from_utf8(all["requests.jsonl"].clone()).unwrap();
        let mut lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let done = lines.iter().position(|r| r["state"] == "done").unwrap();
        lines[done][field] = value;
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        all.insert("requests.jsonl".into(), text.into_bytes());
        rebuild(&all, &crafted);
        let (ok, _, err) = run({
            let mut c = bin_for(&b);
            c.arg("import").arg(&crafted);
            c
        });
        assert!(!ok, "{field}");
        assert!(err.contains(expected), "{field}: {err}");
    }

    // A comment answering one that is not in the archive.
    let mut all = entries(&archive);
    let comments = String::from_utf8(all["comments/000001.jsonl"].clone()).unwrap();
    let mut lines: Vec<Value> = comments
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines[0]["parent_id"] = json!(uuid::Uuid::new_v4());
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    all.insert("comments/000001.jsonl".into(), text.into_bytes());
    rebuild(&all, &crafted);
    let (ok, _, err) = run({
        let mut c = bin_for(&b);
        c.arg("import").arg(&crafted);
        c
    });
    assert!(!ok);
    assert!(
        err.contains("parent_id refers to something the archive does not hold"),
        "{err}"
    );
    let (_, out, _) = run({
        let mut c = bin_for(&b);
        c.args(["workspace", "list"]);
        c
    });
    assert!(!out.contains("crafted"), "nothing was created: {out}");
}

#[tokio::test]
async fn lif_01_export_refuses_to_overwrite_and_names_unknown_workspaces() {
    let t = TestApp::spawn().await;
    t.workspace("small").await;
    let out = t.dir.path().join("exists.tar.gz");
    std::fs::write(&out, b"keep me").unwrap();
    let (ok, _, err) = run({
        let mut c = bin_for(&t);
        c.args(["export", "workspace", "small", "--out"]).arg(&out);
        c
    });
    assert!(!ok);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    let (ok, _, err) = run({
        let mut c = bin_for(&t);
        c.args(["export", "workspace", "nope", "--out"])
            .arg(t.dir.path().join("nope.tar.gz"));
        c
    });
    assert!(!ok);
    assert!(err.to_lowercase().contains("workspace"), "{err}");
    assert!(!t.dir.path().join("nope.tar.gz").exists());
    assert!(!t.dir.path().join("nope.partial").exists());
}

#[tokio::test]
async fn lif_01_admins_export_on_the_web_watch_it_and_download_it_when_ready() {
    let t = TestApp::spawn().await;
    let w = rich(&t, "webexport").await;
    let admin = t
        .session("exporter@example.org", "the exporter's long password")
        .await;
    t.app
        .add_member("webexport", "exporter@example.org", Role::Admin)
        .await
        .unwrap();
    let member = t
        .session("reader@example.org", "the reader's long password")
        .await;
    t.app
        .add_member("webexport", "reader@example.org", Role::Member)
        .await
        .unwrap();
    let me = Auth::Session(admin.clone());
    let (st, v) = call(
        &t,
        "POST",
        "/workspaces/webexport/exports",
        &Auth::Session(member),
        Body::None,
    )
    .await;
    assert_eq!(st, 403, "members do not export: {v}");
    let (st, _) = call(
        &t,
        "POST",
        "/workspaces/webexport/exports",
        &Auth::Token(w.owner.token.clone()),
        Body::None,
    )
    .await;
    assert_eq!(st, 403, "not with a token");

    let (st, job) = call(&t, "POST", "/workspaces/webexport/exports", &me, Body::None).await;
    assert_eq!(st, 202, "{job}");
    assert_eq!(job["state"], "pending");
    let id = job["id"].as_str().unwrap().to_owned();
    let (st, v) = call(&t, "POST", "/workspaces/webexport/exports", &me, Body::None).await;
    assert_eq!(st, 409, "one at a time: {v}");
    let download = format!("/workspaces/webexport/exports/{id}/download");
    let (st, v) = call(&t, "GET", &download, &me, Body::None).await;
    assert_eq!(st, 409, "not ready yet: {v}");

    assert_eq!(t.app.run_export_jobs().await.unwrap(), 1);
    let (_, job) = call(
        &t,
        "GET",
        &format!("/workspaces/webexport/exports/{id}"),
        &me,
        Body::None,
    )
    .await;
    assert_eq!(job["state"], "ready", "{job}");
    assert!(job["total"].as_i64().unwrap() > 10);
    assert_eq!(job["done"], job["total"]);

    // At rest the archive is sealed: neither gzip nor any of its text is visible.
    let stored = std::fs::read(
        walk_files(t.dir.path())
            .into_iter()
            .find(|p| p.ends_with(&id))
            .expect("the archive is in the file store"),
    )
    .unwrap();
    assert_ne!(&stored[..2], &[0x1f, 0x8b], "not a plain gzip file");

    let resp = Auth::Session(admin.clone())
        .apply_to(t.http.get(t.api(&download)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/gzip");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("webexport-export.tar.gz")
    );
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(bytes.len() as i64, job["bytes"].as_i64().unwrap());
    let path = t.dir.path().join("downloaded.tar.gz");
    std::fs::write(&path, &bytes).unwrap();
    let got = entries(&path);
    let m: Value = serde_json::from_slice(&got["manifest.json"]).unwrap();
    assert_eq!(m["counts"]["ideas"], 4);
    assert!(t.app.verify_export(&path).await.is_ok());
    let (_, events) = call(
        &t,
        "GET",
        "/workspaces/webexport/audit/events?action=workspace.exported",
        &Auth::Token(w.owner.token.clone()),
        Body::None,
    )
    .await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1, "{events}");

    // Kept for seven days, then removed with its archive.
    t.clock
        .advance(std::time::Duration::from_secs(8 * 24 * 3600));
    t.app.enforce_retention().await.unwrap();
    // A week unused, the session itself ended (idle timeout): sign in again.
    let me = Auth::Session(
        t.session("exporter@example.org", "the exporter's long password")
            .await,
    );
    let (_, list) = call(&t, "GET", "/workspaces/webexport/exports", &me, Body::None).await;
    assert_eq!(list, json!([]));
    assert!(!walk_files(t.dir.path()).iter().any(|p| p.ends_with(&id)));
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

trait ApplyAuth {
    fn apply_to(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder;
}

impl ApplyAuth for Auth {
    fn apply_to(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::Session(s) => s.apply(rb),
            Auth::Token(t) => rb.bearer_auth(t),
            Auth::None => rb,
        }
    }
}
