//! IDN-01, COL-04, AUD-01: password reset by an emailed, single-use link, over real SMTP
//! (aiosmtpd on loopback). The link arrives with plain-text and HTML parts and sets a new
//! password once; the old password stops working and every session of the account ends; an
//! expired or replaced link is refused; an unknown address gets the same answer and no mail;
//! bad input gets a clear 4xx; the queued message and the link are never stored in clear.

use std::time::{Duration, Instant};

use ideaweave_app::{AuditEventView, AuditQuery};
use ideaweave_server::mail::SmtpMailer;
use ideaweave_testkit::{TestApp, TestSmtp, closed_port, decode_quoted_printable, mail_config};
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, error_code, with_token};
use crate::platform::cli::{bin_for, run};

const RESET_SUBJECT: &str = "Subject: Reset your Ideaweave password";
const CHANGED_SUBJECT: &str = "Subject: Your Ideaweave password was changed";
const OLD_PASSWORD: &str = "the old password of ann";
const NEW_PASSWORD: &str = "a brand new password for ann";

/// An application that mails through `smtp`, with the account ann@example.org.
async fn app_with_mail(smtp: &TestSmtp) -> TestApp {
    let t = TestApp::spawn_with(|c| c.mail = Some(smtp.config())).await;
    t.app
        .create_user("ann@example.org", "Ann", Some(OLD_PASSWORD), false)
        .await
        .unwrap();
    t
}

/// Asks for a reset link through the API; returns the status and body.
async fn request(t: &TestApp, email: &str) -> (u16, Value) {
    call(
        t,
        "POST",
        "/password-reset",
        &Auth::None,
        Body::Json(json!({ "email": email })),
    )
    .await
}

/// Sends what the outbox holds to the test SMTP server; returns how many were sent.
/// On a loaded machine the local SMTP server can answer too late for one round; a message that
/// is to be tried again is tried again (the clock moved past its back-off), a few times.
async fn deliver(t: &TestApp, smtp: &TestSmtp) -> usize {
    let mailer = SmtpMailer::new(&smtp.config()).unwrap();
    let mut sent = 0;
    for attempt in 0..4u32 {
        let round = t.app.send_due_mail(&mailer, 50).await.unwrap();
        sent += round.sent;
        if round.retrying == 0 {
            break;
        }
        // Just past the outbox's back-off (30 s, doubling), far inside a link's hour.
        t.clock
            .advance(std::time::Duration::from_secs(30 * 2u64.pow(attempt) + 1));
    }
    sent
}

/// Every message to `to` with this subject line that arrived, decoded.
fn messages(smtp: &TestSmtp, to: &str, subject: &str) -> Vec<String> {
    smtp.messages()
        .into_iter()
        .filter(|m| {
            m.lines().any(|l| l.starts_with("To:") && l.contains(to))
                && m.lines().any(|l| l == subject)
        })
        .collect()
}

/// Waits until `n` reset messages to `to` arrived; returns their tokens.
async fn reset_tokens(smtp: &TestSmtp, to: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = messages(smtp, to, RESET_SUBJECT);
        if found.len() >= n {
            return found.iter().map(|m| token_in(m)).collect();
        }
        assert!(
            Instant::now() < deadline,
            "{n} reset mail(s) to {to} did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The token of the reset link in a raw message.
fn token_in(message: &str) -> String {
    let body = decode_quoted_printable(message);
    let start = body
        .find("/reset-password/")
        .unwrap_or_else(|| panic!("no reset link in {body}"))
        + "/reset-password/".len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

async fn reset(t: &TestApp, token: &str, password: Value) -> (u16, Value) {
    call(
        t,
        "POST",
        &format!("/password-reset/{token}"),
        &Auth::None,
        Body::Json(json!({ "password": password })),
    )
    .await
}

async fn info(t: &TestApp, token: &str) -> (u16, Value) {
    call(
        t,
        "GET",
        &format!("/password-reset/{token}"),
        &Auth::None,
        Body::None,
    )
    .await
}

async fn sign_in(t: &TestApp, email: &str, password: &str) -> u16 {
    t.client(Auth::None).sign_in(email, password).await.status
}

async fn instance_events(t: &TestApp, action: &str) -> Vec<AuditEventView> {
    t.app
        .instance_audit(
            None,
            AuditQuery {
                action: Some(action.to_owned()),
                limit: Some(500),
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap()
        .items
}

/// Whether any stored byte sequence (SQLite files or a pg_dump) contains `needle`.
fn stored_anywhere(t: &TestApp, needle: &str) -> bool {
    t.database_bytes()
        .iter()
        .any(|(_, b)| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

#[tokio::test]
async fn idn_01_col_04_an_emailed_link_sets_a_new_password_once_and_ends_every_session() {
    let smtp = TestSmtp::start().await;
    let t = app_with_mail(&smtp).await;
    let first = t.session("ann@example.org", OLD_PASSWORD).await;
    let second = t.session("ann@example.org", OLD_PASSWORD).await;
    let bystander = t
        .session("bob@example.org", "bob's own long password")
        .await;

    let (st, body) = request(&t, "  Ann@Example.org ").await;
    assert_eq!((st, body), (202, Value::Null));

    // Queued and sealed: neither the message nor the link is in the database in clear.
    assert_eq!(t.app.outbox_counts().await.unwrap().waiting, 1);
    for canary in ["Reset your Ideaweave password", "reset-password/iwr_"] {
        assert!(
            !stored_anywhere(&t, canary),
            "{canary:?} is stored in clear"
        );
    }

    assert_eq!(deliver(&t, &smtp).await, 1);
    let message = messages(&smtp, "ann@example.org", RESET_SUBJECT)
        .pop()
        .unwrap_or_else(|| panic!("no reset mail in {:?}", smtp.messages()));
    assert!(message.contains("From: Ideaweave <noreply@ideaweave.test>"));
    assert!(message.contains("multipart/alternative"), "{message}");
    assert!(message.contains("text/plain") && message.contains("text/html"));
    let token = token_in(&message);
    let link = format!("{}/reset-password/{token}", t.config.public_url);
    let decoded = decode_quoted_printable(&message);
    assert!(
        decoded.matches(&link).count() >= 2,
        "the link is in both the text and the HTML part: {decoded}"
    );
    assert!(
        token.starts_with("iwr_") && token.len() == 4 + 43,
        "{token}"
    );
    // Only the secret's hash is kept.
    assert!(!stored_anywhere(&t, &token[4..]));

    let (st, about) = info(&t, &token).await;
    assert_eq!(st, 200, "{about}");
    assert_eq!(about["email"], "a…@example.org");
    let expires = about["expires_at"].as_i64().unwrap();
    let now = ideaweave_app::Clock::now_ms(&*t.clock);
    assert!(
        (now + 3_599_000..=now + 3_600_000).contains(&expires),
        "an hour: {expires} vs {now}"
    );

    // A refused password leaves the link usable.
    let (st, err) = reset(&t, &token, json!("too short")).await;
    assert_eq!(
        (st, err["error"]["field"].as_str()),
        (422, Some("password"))
    );
    assert_eq!(info(&t, &token).await.0, 200);

    let (st, body) = reset(&t, &token, json!(NEW_PASSWORD)).await;
    assert_eq!((st, body), (204, Value::Null));

    // Every session of the account ended; other accounts' did not.
    for s in [first, second] {
        let st = t.client(&s).me().await.status;
        assert_eq!(st, 401, "a session of the account survived the reset");
    }
    let st = t.client(&bystander).me().await.status;
    assert_eq!(st, 200);

    assert_eq!(sign_in(&t, "ann@example.org", OLD_PASSWORD).await, 403);
    assert_eq!(sign_in(&t, "ann@example.org", NEW_PASSWORD).await, 200);

    // Single use.
    let (st, err) = reset(&t, &token, json!("yet another long password")).await;
    assert_eq!((st, error_code(&err).as_str()), (409, "conflict"), "{err}");
    assert_eq!(info(&t, &token).await.0, 409);
    assert_eq!(sign_in(&t, "ann@example.org", NEW_PASSWORD).await, 200);

    // The account is told.
    assert_eq!(deliver(&t, &smtp).await, 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while messages(&smtp, "ann@example.org", CHANGED_SUBJECT).is_empty() {
        assert!(Instant::now() < deadline, "no notice of the change arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // AUD-01: the request is recorded with no actor and the account as target, the reset
    // under the account's own pseudonym, and the log verifies.
    let ann = t
        .app
        .login(
            &ideaweave_app::LoginInput::password("ann@example.org", NEW_PASSWORD),
            &ideaweave_app::ClientInfo::default(),
        )
        .await
        .unwrap()
        .done()
        .expect("no second factor")
        .user
        .id;
    let requested = instance_events(&t, "password.reset_requested").await;
    assert_eq!(requested.len(), 1);
    assert!(requested[0].actor.is_none());
    assert_eq!(
        requested[0].target_person.as_ref().and_then(|p| p.user_id),
        Some(ann)
    );
    let done = instance_events(&t, "password.reset").await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].actor.as_ref().and_then(|p| p.user_id), Some(ann));
    assert_eq!(
        done[0].facts.as_ref().unwrap()["sessions_ended"],
        json!(2),
        "{:?}",
        done[0].facts
    );
    let report = t.app.verify_audit(None, None, &|_, _| {}).await.unwrap();
    assert_eq!(report.problem, None);
}

#[tokio::test]
async fn idn_01_an_expired_link_is_refused_and_changes_nothing() {
    let smtp = TestSmtp::start().await;
    let t = app_with_mail(&smtp).await;
    assert_eq!(request(&t, "ann@example.org").await.0, 202);
    assert_eq!(deliver(&t, &smtp).await, 1);
    let token = reset_tokens(&smtp, "ann@example.org", 1).await.remove(0);
    assert_eq!(info(&t, &token).await.0, 200);

    t.clock.advance(Duration::from_secs(3600));
    let (st, err) = info(&t, &token).await;
    assert_eq!((st, error_code(&err).as_str()), (409, "conflict"));
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{err}"
    );
    let (st, _) = reset(&t, &token, json!(NEW_PASSWORD)).await;
    assert_eq!(st, 409);
    assert_eq!(sign_in(&t, "ann@example.org", OLD_PASSWORD).await, 200);
    assert_eq!(sign_in(&t, "ann@example.org", NEW_PASSWORD).await, 403);
    assert!(instance_events(&t, "password.reset").await.is_empty());
}

#[tokio::test]
async fn idn_01_a_second_request_replaces_the_first_link() {
    let smtp = TestSmtp::start().await;
    let t = app_with_mail(&smtp).await;
    assert_eq!(request(&t, "ann@example.org").await.0, 202);
    assert_eq!(deliver(&t, &smtp).await, 1);
    let first = reset_tokens(&smtp, "ann@example.org", 1).await.remove(0);
    assert_eq!(request(&t, "ann@example.org").await.0, 202);
    assert_eq!(deliver(&t, &smtp).await, 1);
    let second = reset_tokens(&smtp, "ann@example.org", 2)
        .await
        .into_iter()
        .find(|tok| *tok != first)
        .expect("a second, different link");

    let (st, err) = info(&t, &first).await;
    assert_eq!((st, error_code(&err).as_str()), (404, "not_found"));
    assert_eq!(reset(&t, &first, json!(NEW_PASSWORD)).await.0, 404);
    assert_eq!(sign_in(&t, "ann@example.org", OLD_PASSWORD).await, 200);

    assert_eq!(reset(&t, &second, json!(NEW_PASSWORD)).await.0, 204);
    assert_eq!(sign_in(&t, "ann@example.org", NEW_PASSWORD).await, 200);
    let requested = instance_events(&t, "password.reset_requested").await;
    assert_eq!(requested.len(), 2);
}

/// The raw answer to a reset request: status, headers other than the date, body, and how long
/// it took.
async fn raw_request(t: &TestApp, email: &str) -> (u16, Vec<(String, String)>, Vec<u8>, Duration) {
    let started = Instant::now();
    let resp = t
        .http
        .post(t.api("/password-reset"))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let mut headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        // The date and the request id differ on every answer.
        .filter(|(k, _)| k.as_str() != "date" && k.as_str() != "x-request-id")
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    headers.sort();
    let body = resp.bytes().await.unwrap().to_vec();
    (status, headers, body, started.elapsed())
}

#[tokio::test]
async fn idn_01_an_unknown_address_gets_the_identical_answer_and_no_mail() {
    let smtp = TestSmtp::start().await;
    let t = app_with_mail(&smtp).await;
    let known = raw_request(&t, "ann@example.org").await;
    let unknown = raw_request(&t, "nobody-here@example.org").await;
    assert_eq!(known.0, 202);
    assert_eq!(
        (known.0, &known.1, &known.2),
        (unknown.0, &unknown.1, &unknown.2),
        "the answer must not tell whether an account exists"
    );
    for (what, took) in [("known", known.3), ("unknown", unknown.3)] {
        assert!(
            took >= Duration::from_millis(250),
            "the {what} address was answered in {took:?}, before the floor"
        );
    }

    assert_eq!(t.app.outbox_counts().await.unwrap().waiting, 1, "one mail");
    assert_eq!(deliver(&t, &smtp).await, 1);
    reset_tokens(&smtp, "ann@example.org", 1).await;
    assert!(
        smtp.messages()
            .iter()
            .all(|m| !m.contains("nobody-here@example.org")),
        "nothing is sent to an address without an account"
    );
    assert_eq!(
        instance_events(&t, "password.reset_requested").await.len(),
        1,
        "only the request for the account is recorded"
    );
}

#[tokio::test]
async fn idn_01_bad_and_oversized_input_gets_a_clear_4xx_and_leaves_the_link_usable() {
    let smtp = TestSmtp::start().await;
    let t = app_with_mail(&smtp).await;
    let raw = |bytes: &[u8], content_type: &'static str| Body::Raw {
        content_type,
        bytes: bytes.to_vec(),
    };
    let huge = format!("{{\"email\":\"{}@example.org\"}}", "a".repeat(2 << 20));
    let long_email = format!("{}@example.org", "a".repeat(300));
    let cases: Vec<(&str, Body, u16, &str)> = vec![
        (
            "malformed JSON",
            raw(b"{\"email\": ", "application/json"),
            400,
            "malformed_request",
        ),
        (
            "not JSON",
            raw(
                b"email=ann@example.org",
                "application/x-www-form-urlencoded",
            ),
            415,
            "unsupported_media_type",
        ),
        ("missing email", Body::Json(json!({})), 422, "invalid_input"),
        (
            "unknown field",
            Body::Json(json!({"email": "ann@example.org", "admin": true})),
            422,
            "invalid_input",
        ),
        (
            "email not a string",
            Body::Json(json!({"email": 5})),
            422,
            "invalid_input",
        ),
        (
            "not an address",
            Body::Json(json!({"email": "ann"})),
            422,
            "invalid_input",
        ),
        (
            "empty address",
            Body::Json(json!({"email": ""})),
            422,
            "invalid_input",
        ),
        (
            "overlong address",
            Body::Json(json!({"email": long_email})),
            422,
            "invalid_input",
        ),
        (
            "oversized body",
            raw(huge.as_bytes(), "application/json"),
            413,
            "payload_too_large",
        ),
    ];
    for (what, body, status, code) in cases {
        let (st, v) = call(&t, "POST", "/password-reset", &Auth::None, body).await;
        assert_eq!((st, error_code(&v).as_str()), (status, code), "{what}: {v}");
    }
    assert_eq!(t.app.outbox_counts().await.unwrap().waiting, 0);

    assert_eq!(request(&t, "ann@example.org").await.0, 202);
    assert_eq!(deliver(&t, &smtp).await, 1);
    let token = reset_tokens(&smtp, "ann@example.org", 1).await.remove(0);

    let forged = format!("iwr_{}", "A".repeat(43));
    let long_token = "x".repeat(4000);
    let near_misses = [
        "nonsense",
        forged.as_str(),
        &token[..token.len() - 1],
        &long_token,
        "iwr_%00",
    ];
    for bad in near_misses {
        let (st, v) = info(&t, bad).await;
        assert_eq!(
            (st, error_code(&v).as_str()),
            (404, "not_found"),
            "GET {bad}: {v}"
        );
        let (st, v) = reset(&t, bad, json!(NEW_PASSWORD)).await;
        assert_eq!(
            (st, error_code(&v).as_str()),
            (404, "not_found"),
            "POST {bad}: {v}"
        );
    }

    let path = format!("/password-reset/{token}");
    let long_password = "p".repeat(257);
    let big_password = "p".repeat(100_000);
    let cases: Vec<(&str, Body, u16, &str)> = vec![
        (
            "malformed JSON",
            raw(b"{\"password\": ", "application/json"),
            400,
            "malformed_request",
        ),
        (
            "not JSON",
            raw(b"password=x", "text/plain"),
            415,
            "unsupported_media_type",
        ),
        (
            "missing password",
            Body::Json(json!({})),
            422,
            "invalid_input",
        ),
        (
            "unknown field",
            Body::Json(json!({"password": NEW_PASSWORD, "email": "x@y.org"})),
            422,
            "invalid_input",
        ),
        (
            "password not a string",
            Body::Json(json!({"password": ["a"]})),
            422,
            "invalid_input",
        ),
        (
            "too short",
            Body::Json(json!({"password": "short"})),
            422,
            "invalid_input",
        ),
        (
            "too long",
            Body::Json(json!({"password": long_password})),
            422,
            "invalid_input",
        ),
        (
            "far too long",
            Body::Json(json!({"password": big_password})),
            422,
            "invalid_input",
        ),
        (
            "oversized body",
            raw(huge.as_bytes(), "application/json"),
            413,
            "payload_too_large",
        ),
    ];
    for (what, body, status, code) in cases {
        let (st, v) = call(&t, "POST", &path, &Auth::None, body).await;
        assert_eq!((st, error_code(&v).as_str()), (status, code), "{what}: {v}");
    }

    // None of that used the link up.
    assert_eq!(info(&t, &token).await.0, 200);
    assert_eq!(reset(&t, &token, json!(NEW_PASSWORD)).await.0, 204);
}

#[tokio::test]
async fn col_04_without_a_mail_server_every_address_is_refused_alike() {
    let t = TestApp::spawn().await;
    t.app
        .create_user("ann@example.org", "Ann", Some(OLD_PASSWORD), false)
        .await
        .unwrap();
    let (st, known) = request(&t, "ann@example.org").await;
    let (_, unknown) = request(&t, "nobody-here@example.org").await;
    assert_eq!((st, error_code(&known).as_str()), (409, "conflict"));
    assert_eq!(known, unknown);
    assert_eq!(t.app.outbox_counts().await.unwrap().waiting, 0);
    assert!(
        instance_events(&t, "password.reset_requested")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn rel_01_rolling_back_past_account_mail_keeps_workspace_mail() {
    let smtp = TestSmtp::start().await;
    let t = app_with_mail(&smtp).await;
    let w = t.workspace("rollback").await;
    let (st, inv) = with_token(
        &t,
        "POST",
        "/workspaces/rollback/invitations",
        &w.owner.token,
        Some(json!({"email": "invitee@example.org", "role": "member"})),
    )
    .await;
    assert_eq!(st, 201, "{inv}");
    assert_eq!(request(&t, "ann@example.org").await.0, 202);
    assert_eq!(t.app.outbox_counts().await.unwrap().waiting, 2);

    for to in ["4", "5"] {
        let mut c = bin_for(&t);
        c.args(["migrate", "--to", to]);
        let (ok, out, err) = run(c);
        assert!(ok, "migrate --to {to}: {out}{err}");
    }
    assert_eq!(
        t.app.outbox_counts().await.unwrap().waiting,
        1,
        "the account mail went with the reset tokens; the invitation stayed"
    );
    assert_eq!(deliver(&t, &smtp).await, 1);
    smtp.wait_for("invitee@example.org").await;
}

#[tokio::test]
async fn col_04_account_mail_is_kept_through_an_outage_like_workspace_mail() {
    let smtp = TestSmtp::start().await;
    let t = app_with_mail(&smtp).await;
    assert_eq!(request(&t, "ann@example.org").await.0, 202);
    let down = SmtpMailer::new(&mail_config(closed_port())).unwrap();
    let r = t.app.send_due_mail(&down, 10).await.unwrap();
    assert_eq!((r.sent, r.retrying), (0, 1));
    t.clock.advance(Duration::from_secs(60));
    assert_eq!(deliver(&t, &smtp).await, 1);
    let token = reset_tokens(&smtp, "ann@example.org", 1).await.remove(0);
    assert_eq!(reset(&t, &token, json!(NEW_PASSWORD)).await.0, 204);
}

/// IDN-04 (issue 19, finding 9): a flood of reset requests for one address sends a few mails,
/// then is slowed down with 429 and Retry-After, exactly alike for an address with an account
/// and one without, so the throttle tells nothing either.
#[tokio::test]
async fn idn_04_reset_requests_are_throttled_alike_for_known_and_unknown_addresses() {
    let smtp = TestSmtp::start().await;
    let t = app_with_mail(&smtp).await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..6 {
        known.push(request(&t, "ann@example.org").await);
    }
    for _ in 0..6 {
        unknown.push(request(&t, "nobody@example.org").await);
    }
    let statuses = |v: &[(u16, Value)]| v.iter().map(|r| r.0).collect::<Vec<_>>();
    assert_eq!(
        statuses(&known),
        vec![202, 202, 202, 429, 429, 429],
        "{known:?}"
    );
    assert_eq!(statuses(&known), statuses(&unknown));
    assert_eq!(known[3].1, unknown[3].1, "the refusals are identical");
    assert_eq!(
        error_code(&known[3].1),
        "too_many_attempts",
        "{:?}",
        known[3]
    );
    deliver(&t, &smtp).await;
    assert_eq!(
        messages(&smtp, "ann@example.org", RESET_SUBJECT).len(),
        3,
        "three mails, not six"
    );
}

/// IDN-04 (issue 19, finding 8): a reset proves that its holder reads the mailbox, so it lifts
/// a block that someone else's wrong guesses put on the address; the owner can sign in at once.
#[tokio::test]
async fn idn_04_a_password_reset_lifts_the_block_others_put_on_the_address() {
    let smtp = TestSmtp::start().await;
    let t = app_with_mail(&smtp).await;
    for _ in 0..5 {
        sign_in(&t, "ann@example.org", "someone else's guess").await;
    }
    assert_eq!(sign_in(&t, "ann@example.org", OLD_PASSWORD).await, 429);
    assert_eq!(request(&t, "ann@example.org").await.0, 202);
    deliver(&t, &smtp).await;
    let token = reset_tokens(&smtp, "ann@example.org", 1).await.remove(0);
    assert_eq!(reset(&t, &token, json!(NEW_PASSWORD)).await.0, 204);
    assert_eq!(sign_in(&t, "ann@example.org", NEW_PASSWORD).await, 200);
}
