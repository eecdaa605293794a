//! DSR-02: a person rectifies their profile: their name directly, their email address through a
//! link sent to the new address, after which the old address is told.

use std::time::Duration;

use ideaweave_server::mail::SmtpMailer;
use ideaweave_testkit::{TestApp, TestSmtp, decode_quoted_printable};
use serde_json::json;

use crate::helpers::{Auth, Body, call};

async fn deliver(t: &TestApp, smtp: &TestSmtp) {
    let mailer = SmtpMailer::new(&smtp.config()).unwrap();
    let round = t.app.send_due_mail(&mailer, 100).await.unwrap();
    assert_eq!((round.retrying, round.given_up), (0, 0), "{round:?}");
}

fn link_in(mail: &str) -> String {
    let text = decode_quoted_printable(mail);
    let at = text.find("/email-change/").expect("a link");
    text[at + "/email-change/".len()..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn dsr_02_people_rectify_their_name_and_their_address_through_a_confirmed_link() {
    let smtp = TestSmtp::start().await;
    let t = TestApp::spawn_with(|c| c.mail = Some(smtp.config())).await;
    let s = t.session("old@example.org", "a long enough password").await;
    let me = Auth::Session(s.clone());
    let (st, v) = call(
        &t,
        "PATCH",
        "/me",
        &me,
        Body::Json(json!({"name": "Rectified Name"})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let (_, data) = call(&t, "GET", "/me/personal-data", &me, Body::None).await;
    assert_eq!(data["account"]["name"], "Rectified Name");

    for (body, want) in [
        (json!({"email": "not an address"}), 422),
        (json!({"email": "old@example.org"}), 422),
        (json!({"email": "x@example.org", "extra": 1}), 422),
    ] {
        let (st, v) = call(&t, "POST", "/me/email", &me, Body::Json(body.clone())).await;
        assert!(st == want || st == 400, "{body}: {st} {v}");
    }
    let w = t.workspace("rectify").await;
    let token = w.owner.token.clone();
    let (st, _) = call(
        &t,
        "POST",
        "/me/email",
        &Auth::Token(token),
        Body::Json(json!({"email": "new@example.org"})),
    )
    .await;
    assert_eq!(st, 403, "not with an API token");

    // A reset link sent to the old address before the change...
    let (st, _) = call(
        &t,
        "POST",
        "/password-reset",
        &Auth::None,
        Body::Json(json!({"email": "old@example.org"})),
    )
    .await;
    assert_eq!(st, 202);
    deliver(&t, &smtp).await;
    let reset = decode_quoted_printable(&smtp.wait_for("old@example.org").await);
    let reset = reset[reset.find("/reset-password/").unwrap() + "/reset-password/".len()..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_owned();

    let (st, v) = call(
        &t,
        "POST",
        "/me/email",
        &me,
        Body::Json(json!({"email": "New@Example.org"})),
    )
    .await;
    assert_eq!(st, 202, "{v}");
    deliver(&t, &smtp).await;
    let mail = smtp.wait_for("new@example.org").await;
    let secret = link_in(&mail);
    // Nothing changed yet: the old address still signs in.
    assert!(
        t.app
            .login(
                &ideaweave_app::LoginInput::password("old@example.org", "a long enough password"),
                &Default::default()
            )
            .await
            .is_ok()
    );
    let (st, info) = call(
        &t,
        "GET",
        &format!("/email-change/{secret}"),
        &Auth::None,
        Body::None,
    )
    .await;
    assert_eq!(st, 200, "{info}");
    assert_eq!(info["email"], "new@example.org");
    let (st, v) = call(
        &t,
        "POST",
        &format!("/email-change/{secret}"),
        &Auth::None,
        Body::None,
    )
    .await;
    assert_eq!(st, 204, "{v}");
    assert!(
        t.app
            .login(
                &ideaweave_app::LoginInput::password("old@example.org", "a long enough password"),
                &Default::default()
            )
            .await
            .is_err()
    );
    assert!(
        t.app
            .login(
                &ideaweave_app::LoginInput::password("new@example.org", "a long enough password"),
                &Default::default()
            )
            .await
            .is_ok()
    );
    let (st, _) = call(
        &t,
        "POST",
        &format!("/email-change/{secret}"),
        &Auth::None,
        Body::None,
    )
    .await;
    assert_eq!(st, 404, "the link works once");
    // ...no longer works for whoever reads the old mailbox.
    let (st, _) = call(
        &t,
        "POST",
        &format!("/password-reset/{reset}"),
        &Auth::None,
        Body::Json(json!({"password": "the next reader's password"})),
    )
    .await;
    assert_eq!(st, 404, "the old address's reset link died with the change");
    t.clock.advance(Duration::from_secs(1));
    deliver(&t, &smtp).await;
    let mut told = Vec::new();
    for _ in 0..100 {
        told = smtp
            .messages()
            .iter()
            .map(|m| decode_quoted_printable(m))
            .filter(|m| m.contains("was changed from old@example.org to new@example.org"))
            .collect();
        if !told.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(told.len(), 1, "the old address is told");
    let (st, data) = call(&t, "GET", "/me/personal-data", &me, Body::None).await;
    assert_eq!(st, 200, "the session survives the change: {data}");
    assert_eq!(data["account"]["email"], "new@example.org");
    assert!(
        data["account"]["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "account.email_changed"),
        "recorded: {data}"
    );
}

#[tokio::test]
async fn dsr_02_an_expired_link_or_a_taken_address_changes_nothing() {
    let smtp = TestSmtp::start().await;
    let t = TestApp::spawn_with(|c| c.mail = Some(smtp.config())).await;
    let s = t
        .session("first@example.org", "a long enough password")
        .await;
    let me = Auth::Session(s);
    let (st, _) = call(
        &t,
        "POST",
        "/me/email",
        &me,
        Body::Json(json!({"email": "taken@example.org"})),
    )
    .await;
    assert_eq!(st, 202);
    deliver(&t, &smtp).await;
    let secret = link_in(&smtp.wait_for("taken@example.org").await);
    t.session("taken@example.org", "another long password")
        .await;
    let (st, v) = call(
        &t,
        "POST",
        &format!("/email-change/{secret}"),
        &Auth::None,
        Body::None,
    )
    .await;
    assert_eq!(st, 409, "another account has it now: {v}");
    t.clock.advance(Duration::from_secs(3 * 24 * 3600));
    let (st, _) = call(
        &t,
        "POST",
        &format!("/email-change/{secret}"),
        &Auth::None,
        Body::None,
    )
    .await;
    assert_eq!(st, 409, "expired");
    assert!(
        t.app
            .login(
                &ideaweave_app::LoginInput::password("first@example.org", "a long enough password"),
                &Default::default()
            )
            .await
            .is_ok()
    );
    let (st, _) = call(
        &t,
        "GET",
        "/email-change/iwe_garbage",
        &Auth::None,
        Body::None,
    )
    .await;
    assert_eq!(st, 404);
}
