//! One error path (issue 20): an internal failure answers with a generic message and the request
//! id, while the log line names the request, its route, the workspace (by id) and the whole cause
//! chain down to the database's own words.

use ideaweave_testkit::TestApp;
use ideaweave_testkit::log_capture::captured_log;
use serde_json::Value;

#[tokio::test]
async fn an_internal_error_logs_its_cause_chain_under_the_request_id() {
    let log = captured_log();
    let t = TestApp::spawn().await;
    let w = t.workspace("broken").await;
    // A deliberate failure below the use case: the table the space list reads is gone.
    t.raw_sql("ALTER TABLE spaces RENAME TO spaces_gone").await;

    let r = reqwest::Client::new()
        .get(t.api(&format!("/workspaces/{}/spaces", w.slug)))
        .bearer_auth(&w.owner.token)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 500);
    let id = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("every response names its request");
    let body: Value = r.json().await.expect("JSON error body");
    assert_eq!(body["error"]["code"], "internal");
    let text = body.to_string();
    assert!(
        !text.contains("spaces") && !text.contains("caused by"),
        "the caller learns nothing of the insides: {text}"
    );

    let lines = log.lines_with(&format!("id={id}"));
    let line = lines
        .iter()
        .find(|l| l.contains("internal error"))
        .unwrap_or_else(|| panic!("no internal error logged under request {id}: {lines:?}"));
    assert!(
        line.contains("route=/api/v1/workspaces/{slug}/spaces"),
        "the route template: {line}"
    );
    assert!(
        line.contains(&format!("workspace={}", w.id)),
        "the workspace it acted in, by id: {line}"
    );
    assert!(
        !line.contains("broken"),
        "neither the slug nor the URI, which can hold a link's secret: {line}"
    );
    assert!(
        line.contains("storage (at crates/app/src/"),
        "where: {line}"
    );
    assert!(line.contains("caused by"), "the cause chain: {line}");
    assert!(
        line.contains("spaces"),
        "the database's own words name the table: {line}"
    );
    assert!(
        !line.contains(&w.owner.email),
        "no personal data in the log line: {line}"
    );
}
