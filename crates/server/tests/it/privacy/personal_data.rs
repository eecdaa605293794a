//! DSR-01: a member downloads everything held about them as one JSON document that validates
//! against its published schema, and nothing about anyone else.

use ideaweave_domain::Role;
use ideaweave_testkit::{Session, TestApp};
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, open_discussion, png};

const SCHEMA: &str = include_str!("../../../../../docs/privacy/personal-data.schema.json");

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

fn problems(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

async fn as_pat(t: &TestApp, pat: &Session, method: &str, path: &str, body: Value) -> Value {
    let (st, v) = call(
        t,
        method,
        path,
        &Auth::Session(pat.clone()),
        Body::Json(body),
    )
    .await;
    assert!(st < 300, "{method} {path}: {st} {v}");
    v
}

async fn download(t: &TestApp, auth: &Auth) -> (u16, Value, Option<String>) {
    let rb = t.http.get(t.api("/me/personal-data"));
    let rb = match auth {
        Auth::Session(s) => s.apply(rb),
        Auth::Token(tok) => rb.bearer_auth(tok),
        Auth::None => rb,
    };
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let disposition = r
        .headers()
        .get("content-disposition")
        .map(|h| h.to_str().unwrap_or_default().to_owned());
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body, disposition)
}

#[tokio::test]
async fn dsr_01_a_member_downloads_all_their_data_and_nothing_of_anyone_else() {
    let t = TestApp::spawn().await;
    let a = t.workspace("first").await;
    let b = t.workspace("second").await;
    let pat = t.session("pat@example.org", "pat's long password").await;
    t.app
        .add_member("first", "pat@example.org", Role::Member)
        .await
        .unwrap();
    t.app
        .add_member("second", "pat@example.org", Role::Member)
        .await
        .unwrap();
    let other = t.member(&a, "other", Role::Member).await;
    let d = open_discussion(&t, "first", &a.owner.token).await;
    let idea = as_pat(
        &t,
        &pat,
        "POST",
        &format!("/workspaces/first/discussions/{d}/ideas"),
        json!({"title": "PAT-TITLE-CANARY", "body": "PAT-BODY-CANARY", "tags": ["pat-tag"]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, file) = call(
        &t,
        "POST",
        &format!("/workspaces/first/ideas/{idea}/attachments"),
        &Auth::Session(pat.clone()),
        Body::Upload {
            filename: "pat-file.png",
            bytes: png(),
        },
    )
    .await;
    assert_eq!(st, 201, "{file}");
    as_pat(
        &t,
        &pat,
        "POST",
        &format!("/workspaces/first/ideas/{idea}/links"),
        json!({"url": "https://pat.example.org/canary", "title": "PAT-LINK"}),
    )
    .await;
    let kept = as_pat(
        &t,
        &pat,
        "POST",
        &format!("/workspaces/first/ideas/{idea}/comments"),
        json!({"body": "PAT-COMMENT-CANARY"}),
    )
    .await;
    let deleted = as_pat(
        &t,
        &pat,
        "POST",
        &format!("/workspaces/first/ideas/{idea}/comments"),
        json!({"body": "PAT-DELETED-CANARY", "parent_id": kept["id"]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, _) = call(
        &t,
        "DELETE",
        &format!("/workspaces/first/comments/{deleted}"),
        &Auth::Session(pat.clone()),
        Body::None,
    )
    .await;
    assert_eq!(st, 204);
    // Pat edits the kept comment (its first text is held for moderators) and follows the idea.
    as_pat(
        &t,
        &pat,
        "PATCH",
        &format!(
            "/workspaces/first/comments/{}",
            kept["id"].as_str().unwrap()
        ),
        json!({"body": "PAT-COMMENT-CANARY, edited"}),
    )
    .await;
    as_pat(
        &t,
        &pat,
        "PUT",
        &format!("/workspaces/first/ideas/{idea}/follow"),
        json!({"following": true}),
    )
    .await;
    let (st, v) = call(
        &t,
        "POST",
        &format!("/workspaces/first/ideas/{idea}/comments"),
        &Auth::Token(other.token.clone()),
        Body::Json(json!({"body": "OTHER-PERSON-SECRET"})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = call(
        &t,
        "PUT",
        &format!("/workspaces/first/ideas/{idea}/vote"),
        &Auth::Token(other.token.clone()),
        Body::Json(json!({"direction": "up"})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    as_pat(
        &t,
        &pat,
        "PUT",
        &format!("/workspaces/first/ideas/{idea}/vote"),
        json!({"direction": "down"}),
    )
    .await;
    as_pat(
        &t,
        &pat,
        "PUT",
        "/workspaces/second/me/notifications",
        json!({"preference": "off"}),
    )
    .await;

    let (st, doc, disposition) = download(&t, &Auth::Session(pat.clone())).await;
    assert_eq!(st, 200, "{doc}");
    assert_eq!(
        disposition.as_deref(),
        Some("attachment; filename=\"ideaweave-personal-data.json\"")
    );
    let v = validator();
    let found = problems(&v, &doc);
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(doc["format"], "ideaweave.personal-data/1");
    assert_eq!(doc["account"]["email"], "pat@example.org");
    assert_eq!(doc["account"]["sessions"].as_array().unwrap().len(), 1);
    let slugs: Vec<&str> = doc["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["first", "second"]);
    let first = &doc["workspaces"][0];
    assert_eq!(first["ideas"][0]["title"], "PAT-TITLE-CANARY");
    assert_eq!(first["ideas"][0]["body"], "PAT-BODY-CANARY");
    assert_eq!(first["ideas"][0]["tags"], json!(["pat-tag"]));
    let bodies: Vec<&str> = first["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["body"].as_str())
        .collect();
    assert_eq!(
        bodies,
        ["PAT-COMMENT-CANARY, edited", "PAT-DELETED-CANARY"],
        "deleted comments are held, so they are given"
    );
    assert!(first["comments"][1]["deleted_at"].is_i64());
    assert_eq!(first["comment_versions"][0]["body"], "PAT-COMMENT-CANARY");
    assert_eq!(first["follows"]["ideas"], json!([idea]));
    // Another member's comment on Pat's idea told Pat; who it was is theirs, not Pat's.
    assert_eq!(first["notifications"][0]["reason"], "comment");
    assert!(!doc.to_string().contains("OTHER-PERSON-SECRET"));
    assert_eq!(
        first["votes"],
        json!([{"idea_id": idea, "direction": "down", "at": first["votes"][0]["at"]}])
    );
    assert_eq!(first["attachments"][0]["filename"], "pat-file.png");
    assert_eq!(first["links"][0]["url"], "https://pat.example.org/canary");
    assert!(
        first["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "content.deleted"),
        "the audit events about pat"
    );
    assert_eq!(doc["workspaces"][1]["notification_preference"], "off");
    let text = doc.to_string();
    assert!(
        !text.contains("OTHER-PERSON-SECRET"),
        "another person's comment"
    );
    assert!(!text.contains(&other.email), "another person's address");
    assert!(!text.contains(&b.owner.email));
    assert!(!text.contains(&pat.cookie), "never the session secret");

    // Pat leaves the second workspace: it still holds the events about pat, so it stays in the
    // document, marked as no longer a membership.
    let (st, removed) = call(
        &t,
        "DELETE",
        &format!("/workspaces/second/members/{}", pat.user.0),
        &Auth::Token(b.owner.token.clone()),
        Body::None,
    )
    .await;
    assert_eq!(st, 204, "{removed}");

    // The download is recorded, and the next one shows it among the events about pat.
    let (_, again, _) = download(&t, &Auth::Session(pat.clone())).await;
    assert!(problems(&v, &again).is_empty());
    let second = &again["workspaces"][1];
    assert_eq!(
        (
            &second["slug"],
            &second["role"],
            &second["notification_preference"]
        ),
        (&json!("second"), &Value::Null, &Value::Null)
    );
    assert!(
        second["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "member.removed"),
        "{second}"
    );
    assert!(
        again["account"]["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "account.data_exported"),
        "{}",
        again["account"]
    );
}

#[tokio::test]
async fn dsr_01_only_the_person_signed_in_may_download_and_the_schema_can_refuse() {
    let t = TestApp::spawn().await;
    let w = t.workspace("tok").await;
    let (st, v, _) = download(&t, &Auth::None).await;
    assert_eq!(st, 401, "{v}");
    let (st, v, _) = download(&t, &Auth::Token(w.owner.token.clone())).await;
    assert_eq!(st, 403, "a workspace token cannot export a person: {v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("sign in"));

    let pat = t.session("solo@example.org", "solo's long password").await;
    let (st, doc, _) = download(&t, &Auth::Session(pat)).await;
    assert_eq!(st, 200);
    let v = validator();
    assert!(problems(&v, &doc).is_empty());
    assert_eq!(doc["workspaces"], json!([]));
    // The schema is strict enough to fail: a missing field, an unknown one, a wrong type.
    let mut missing = doc.clone();
    missing.as_object_mut().unwrap().remove("format");
    let mut unknown = doc.clone();
    unknown["account"]["password_hash"] = json!("x");
    let mut wrong = doc.clone();
    wrong["generated_at"] = json!("yesterday");
    for bad in [missing, unknown, wrong] {
        assert!(!problems(&v, &bad).is_empty(), "{bad}");
    }
}
