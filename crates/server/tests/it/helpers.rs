//! Request helpers shared by the integration tests.

use ideaweave_testkit::{Session, TestApp};
use reqwest::Method;
use serde_json::Value;

/// How a request authenticates.
#[derive(Clone)]
pub enum Auth {
    /// No credential.
    None,
    /// `Authorization: Bearer`.
    Token(String),
    /// Session cookie with its CSRF header.
    Session(Session),
}

/// A request body.
pub enum Body {
    None,
    Json(Value),
    Raw {
        content_type: &'static str,
        bytes: Vec<u8>,
    },
    Upload {
        filename: &'static str,
        bytes: Vec<u8>,
    },
}

/// Sends a request to `/api/v1{path}` and returns the status and the JSON body (Null if none).
pub async fn call(t: &TestApp, method: &str, path: &str, auth: &Auth, body: Body) -> (u16, Value) {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut rb = t.http.request(method, t.api(path));
    rb = match auth {
        Auth::None => rb,
        Auth::Token(tok) => rb.bearer_auth(tok),
        Auth::Session(s) => s.apply(rb),
    };
    rb = match body {
        Body::None => rb,
        Body::Json(v) => rb.json(&v),
        Body::Raw {
            content_type,
            bytes,
        } => rb.header("content-type", content_type).body(bytes),
        Body::Upload { filename, bytes } => {
            let part = reqwest::multipart::Part::bytes(bytes).file_name(filename);
            rb.multipart(reqwest::multipart::Form::new().part("file", part))
        }
    };
    let resp = rb.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, v)
}

/// Shorthand for a bearer-token JSON request.
pub async fn with_token(
    t: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call(
        t,
        method,
        path,
        &Auth::Token(token.to_owned()),
        body.map(Body::Json).unwrap_or(Body::None),
    )
    .await
}

/// A minimal valid PNG.
pub fn png() -> Vec<u8> {
    let mut v = vec![
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R',
    ];
    v.extend_from_slice(&[
        0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
    ]);
    v
}

/// Asserts the error shape `{"error":{"code":…,"message":…}}` and returns the code.
pub fn error_code(v: &Value) -> String {
    let e = v
        .get("error")
        .unwrap_or_else(|| panic!("not an error body: {v}"));
    assert!(
        e.get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.is_empty()),
        "error without message: {v}"
    );
    e.get("code")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("error without code: {v}"))
        .to_owned()
}

/// Opens a space "S" with a topic discussion "D" in workspace `slug` (as `token`'s owner) and
/// returns the discussion's id.
pub async fn open_discussion(t: &TestApp, slug: &str, token: &str) -> String {
    let (st, sp) = with_token(
        t,
        "POST",
        &format!("/workspaces/{slug}/spaces"),
        token,
        Some(serde_json::json!({"name": "S", "description": "", "private": false})),
    )
    .await;
    assert_eq!(st, 201, "{sp}");
    let (st, d) = with_token(
        t,
        "POST",
        &format!(
            "/workspaces/{slug}/spaces/{}/discussions",
            sp["id"].as_str().unwrap_or_default()
        ),
        token,
        Some(serde_json::json!({"kind": "topic", "title": "D", "description": ""})),
    )
    .await;
    assert_eq!(st, 201, "{d}");
    d["id"].as_str().unwrap_or_default().to_owned()
}

/// The workspace's owner erases `person` from it, keeping their contributions anonymised (through
/// the use case: the erasure's own rules are tested over HTTP in `erasure.rs`).
pub async fn anonymise(
    t: &TestApp,
    w: &ideaweave_testkit::TestWorkspace,
    person: ideaweave_domain::UserId,
) -> ideaweave_app::ErasureReport {
    t.app
        .erase_person(
            &w.as_member(&w.owner),
            person,
            ideaweave_app::ErasureInput {
                mode: ideaweave_domain::ErasureMode::Anonymise,
            },
        )
        .await
        .expect("the owner erases the person")
}
