//! IDN-01, IDN-02, IDN-04 over HTTP: brute-force back-off and identical answers for known and
//! unknown addresses, the owner's warning mail, sessions listed and revoked, idle and absolute
//! timeouts, re-authentication before sensitive actions, password changes under the policy,
//! authenticator apps with single-use codes and recovery codes, and a workspace's credential
//! policy (operators always need two factors).

pub(crate) mod password_reset;
pub(crate) mod revocation;
pub(crate) mod saml;
pub(crate) mod soft_passkey;
pub(crate) mod sso;
use std::time::Duration;

use ideaweave_domain::Role;
use ideaweave_server::mail::SmtpMailer;
use ideaweave_testkit::{Session, TestApp, TestSmtp};
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, error_code};
use crate::identity::soft_passkey::SoftPasskey;

const ANN: &str = "ann@example.org";
const ANN_PASSWORD: &str = "ann's quiet harbour lamp";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// A response: status, headers, JSON body (Null if none).
pub(crate) type Reply = ideaweave_testkit::Reply;

/// Sends a JSON request to `/api/v1{path}` with an optional session, as Firefox.
pub(crate) async fn send(
    t: &TestApp,
    method: &str,
    path: &str,
    session: Option<&Session>,
    body: Option<Value>,
) -> Reply {
    t.client(session)
        .user_agent(FIREFOX)
        .send(method, path, body)
        .await
}

/// Signs in over HTTP; the reply (200 with a session, 202 with a challenge, 403, 429).
async fn sign_in(t: &TestApp, email: &str, password: &str) -> Reply {
    t.client(Auth::None)
        .user_agent(FIREFOX)
        .sign_in(email, password)
        .await
        .as_type()
}

/// An instance with Ann's account; her user id.
async fn with_ann(t: &TestApp) -> ideaweave_domain::UserId {
    t.app
        .create_user(ANN, "Ann Example", Some(ANN_PASSWORD), false)
        .await
        .unwrap()
        .0
        .id
}

/// Bob, a second person with a password.
async fn with_bob(t: &TestApp) {
    t.app
        .create_user(
            "bob@example.org",
            "Bob",
            Some("bob's own long passphrase"),
            false,
        )
        .await
        .unwrap();
}

/// An app behind a trusted reverse proxy on loopback: each request names its client in
/// `X-Forwarded-For`, so one test can speak for several client addresses.
async fn behind_trusted_proxy() -> TestApp {
    TestApp::spawn_with(|c| {
        c.http_limits.trusted_proxies =
            vec![ideaweave_server::ProxyNet::parse("127.0.0.0/8").unwrap()];
    })
    .await
}

/// A sign-in with `body` from client address `from` (through the trusted proxy): its status,
/// `Retry-After` and body.
async fn sign_in_from(t: &TestApp, from: &str, body: Value) -> (u16, Option<String>, String) {
    let r = t
        .http
        .post(t.api("/session"))
        .header("x-forwarded-for", from)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, r.text().await.unwrap())
}

/// Bob, a second person with a password, and a fresh session of his.
async fn bob_session(t: &TestApp) -> Session {
    with_bob(t).await;
    t.session("bob@example.org", "bob's own long passphrase")
        .await
}

/// A fresh session of Ann's, signed in over HTTP.
async fn ann_session(t: &TestApp, ann: ideaweave_domain::UserId) -> Session {
    let r = sign_in(t, ANN, ANN_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.session(ann)
}

/// The code an authenticator app with this base32 secret shows at the app's current time.
pub(crate) fn totp_code(t: &TestApp, secret: &str) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("base32 secret");
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .expect("totp");
    totp.generate(u64::try_from(t.app.now_ms() / 1000).unwrap())
        .to_string()
}

/// Sets up an authenticator for the session's person: (its secret, the recovery codes, the
/// rotated session).
pub(crate) async fn enrol_totp(t: &TestApp, s: &Session) -> (String, Vec<String>, Session) {
    let r = send(t, "POST", "/me/second-factors/totp", Some(s), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    assert!(
        r.body["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Ideaweave:")
    );
    assert!(r.body["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let r = send(
        t,
        "POST",
        "/me/second-factors/totp/confirm",
        Some(s),
        Some(json!({"code": totp_code(t, &secret)})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let codes: Vec<String> = r.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes, r.session(s.user))
}

/// Signs in with password and authenticator code (waiting for the app's next code, since each
/// is accepted once); the two-factor session.
pub(crate) async fn sign_in_with_code(
    t: &TestApp,
    email: &str,
    password: &str,
    secret: &str,
    user: ideaweave_domain::UserId,
) -> Session {
    let r = sign_in(t, email, password).await;
    assert_eq!(r.status, 202, "{}", r.body);
    t.clock.advance(Duration::from_secs(31));
    let r = send(
        t,
        "POST",
        "/session/second-factor",
        None,
        Some(json!({"challenge": r.body["challenge"], "code": totp_code(t, secret)})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.session(user)
}

#[tokio::test]
async fn idn_04_failed_sign_ins_back_off_exponentially_and_say_when_to_retry() {
    let t = TestApp::spawn().await;
    with_ann(&t).await;
    for _ in 1..5 {
        let r = sign_in(&t, ANN, "not ann's password at all").await;
        assert_eq!(r.status, 403, "{}", r.body);
    }
    // The fifth failure blocks the address for 15 s; the answer says so.
    let r = sign_in(&t, ANN, "not ann's password at all").await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(error_code(&r.body), "too_many_attempts");
    assert_eq!(r.headers["retry-after"], "15");
    assert_eq!(r.body["error"]["retry_after_secs"], 15);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("try again in 15 seconds"),
        "{}",
        r.body
    );
    // While blocked, even the right password is not checked.
    let r = sign_in(&t, ANN, ANN_PASSWORD).await;
    assert_eq!(r.status, 429);
    // Each further failure doubles the wait.
    t.clock.advance(Duration::from_secs(16));
    let r = sign_in(&t, ANN, "not ann's password at all").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.headers["retry-after"], "30");
    t.clock.advance(Duration::from_secs(31));
    let r = sign_in(&t, ANN, "not ann's password at all").await;
    assert_eq!(r.headers["retry-after"], "60");
    t.clock.advance(Duration::from_secs(61));
    // The right password gets in once the wait is over, and clears the address's count.
    let r = sign_in(&t, ANN, ANN_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = sign_in(&t, ANN, "not ann's password at all").await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn idn_04_known_and_unknown_addresses_get_identical_answers() {
    let t = TestApp::spawn().await;
    with_ann(&t).await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..6 {
        let a = sign_in(&t, ANN, "not ann's password at all").await;
        known.push((a.status, a.headers.get("retry-after").cloned(), a.body));
        let b = sign_in(&t, "nobody@example.org", "not ann's password at all").await;
        unknown.push((b.status, b.headers.get("retry-after").cloned(), b.body));
    }
    assert_eq!(known, unknown);
    assert_eq!(known[0].0, 403);
    assert_eq!(known[5].0, 429);
    // A malformed address is an unknown address too.
    let r = sign_in(&t, "not an address", "not ann's password at all").await;
    assert_eq!((r.status, r.body), (known[0].0, known[0].2.clone()));
}

#[tokio::test]
async fn idn_04_one_client_trying_many_addresses_is_slowed_down() {
    let t = TestApp::spawn().await;
    with_ann(&t).await;
    for i in 0..19 {
        let r = sign_in(&t, &format!("guess{i}@example.org"), "some password guess").await;
        assert_eq!(r.status, 403, "attempt {i}: {}", r.body);
    }
    let r = sign_in(&t, "guess19@example.org", "some password guess").await;
    assert_eq!(r.status, 429, "the client's 20th failure blocks it");
    // Even a fresh address from the same client waits.
    let r = sign_in(&t, ANN, ANN_PASSWORD).await;
    assert_eq!(r.status, 429);
    t.clock.advance(Duration::from_secs(16));
    let r = sign_in(&t, ANN, ANN_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn idn_04_the_owner_is_emailed_once_after_repeated_failures() {
    let smtp = TestSmtp::start().await;
    let t = TestApp::spawn_with(|c| c.mail = Some(smtp.config())).await;
    with_ann(&t).await;
    for _ in 0..8 {
        sign_in(&t, ANN, "not ann's password at all").await;
        sign_in(&t, "nobody@example.org", "not ann's password at all").await;
        t.clock.advance(Duration::from_secs(3600));
    }
    let mailer = SmtpMailer::new(&smtp.config()).unwrap();
    let sent = t.app.send_due_mail(&mailer, 50).await.unwrap().sent;
    assert_eq!(sent, 1, "one warning, to the account only, once a day");
    let mail = smtp.wait_for(ANN).await;
    assert!(
        mail.contains("Failed sign-in attempts on your Ideaweave account"),
        "{mail}"
    );
    assert!(
        !smtp
            .messages()
            .iter()
            .any(|m| m.contains("nobody@example.org"))
    );
}

#[tokio::test]
async fn idn_04_sessions_are_listed_and_a_revoked_one_fails_its_next_request() {
    let t = TestApp::spawn().await;
    let ann = with_ann(&t).await;
    let laptop = ann_session(&t, ann).await;
    let phone = ann_session(&t, ann).await;
    let r = send(&t, "GET", "/me/sessions", Some(&laptop), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let me = list.iter().find(|s| s["current"] == true).unwrap();
    let other = list.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(me["device"], "Firefox on Linux");
    assert_eq!(me["ip"], "127.0.0.1");
    assert_eq!(me["level"], "password");
    assert!(me["idle_expires_at"].as_i64().unwrap() <= me["expires_at"].as_i64().unwrap());
    // Nothing secret is listed.
    assert!(!r.body.to_string().contains(&phone.cookie));

    // Someone else cannot end Ann's session, and cannot tell it exists.
    let bob = bob_session(&t).await;
    let id = other["id"].as_str().unwrap();
    let r = send(
        &t,
        "DELETE",
        &format!("/me/sessions/{id}"),
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(t.client(&phone).me().await.status, 200);

    let r = send(
        &t,
        "DELETE",
        &format!("/me/sessions/{id}"),
        Some(&laptop),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(t.client(&phone).me().await.status, 401);
    assert_eq!(t.client(&laptop).me().await.status, 200);
    let r = send(
        &t,
        "DELETE",
        &format!("/me/sessions/{id}"),
        Some(&laptop),
        None,
    )
    .await;
    assert_eq!(r.status, 404, "already ended");
    assert_eq!(
        send(&t, "DELETE", "/me/sessions/not-a-uuid", Some(&laptop), None)
            .await
            .status,
        400
    );

    // "Everywhere else" ends the rest and keeps this one.
    let a = ann_session(&t, ann).await;
    let b = ann_session(&t, ann).await;
    let r = send(&t, "DELETE", "/me/sessions", Some(&laptop), None).await;
    assert_eq!(r.body["sessions_ended"], 2, "{}", r.body);
    for s in [&a, &b] {
        assert_eq!(t.client(s).me().await.status, 401);
    }
    assert_eq!(t.client(&laptop).me().await.status, 200);
}

#[tokio::test]
async fn idn_04_sessions_show_a_place_only_when_a_geoip_database_is_configured() {
    // A small MaxMind DB written by mmdb-writer (cargo xtask test installs it into
    // target/pydeps): loopback is "Testville, Testland".
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("places.mmdb");
    let made = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/geoip/make_mmdb.py"
        ))
        .arg(&path)
        .env(
            "PYTHONPATH",
            ideaweave_testkit::pythonpath().unwrap_or_default(),
        )
        .status()
        .expect("python3 runs");
    assert!(made.success(), "mmdb-writer is installed in target/pydeps");
    let db = ideaweave_app::GeoIpDatabase::from_bytes(std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        db.place("192.0.2.7".parse().unwrap()).as_deref(),
        Some("Examplia")
    );
    assert_eq!(db.place("203.0.113.9".parse().unwrap()), None);
    let db = std::sync::Arc::new(db);
    let t = TestApp::spawn_with(move |c| c.geoip = Some(db)).await;
    let ann = with_ann(&t).await;
    let s = ann_session(&t, ann).await;
    let r = send(&t, "GET", "/me/sessions", Some(&s), None).await;
    assert_eq!(r.body[0]["ip"], "127.0.0.1", "{}", r.body);
    assert_eq!(r.body[0]["location"], "Testville, Testland", "{}", r.body);
    let page = t
        .http
        .get(format!("{}/account/security", t.base))
        .header("cookie", format!("iw_session={}", s.cookie))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("127.0.0.1 (Testville, Testland)"), "{page}");

    // Without a database nothing is looked up.
    let t = TestApp::spawn().await;
    let ann = with_ann(&t).await;
    let s = ann_session(&t, ann).await;
    let r = send(&t, "GET", "/me/sessions", Some(&s), None).await;
    assert_eq!(r.body[0]["location"], Value::Null, "{}", r.body);
}

#[tokio::test]
async fn idn_04_sessions_end_after_the_idle_and_the_absolute_timeout() {
    let t = TestApp::spawn().await;
    let ann = with_ann(&t).await;
    let s = ann_session(&t, ann).await;
    // Used every 11 hours, a session lives on past the 12-hour idle timeout...
    for _ in 0..3 {
        t.clock.advance(Duration::from_secs(11 * 3600));
        assert_eq!(t.client(&s).me().await.status, 200);
    }
    // ...but not 12 hours unused.
    t.clock.advance(Duration::from_secs(12 * 3600 + 60));
    assert_eq!(t.client(&s).me().await.status, 401);

    // And never past the absolute timeout of 14 days, however often it is used.
    let s = ann_session(&t, ann).await;
    for _ in 0..40 {
        t.clock.advance(Duration::from_secs(11 * 3600));
        if t.client(&s).me().await.status == 401 {
            break;
        }
    }
    assert_eq!(t.client(&s).me().await.status, 401);
    let listed = t
        .app
        .authenticate(&ideaweave_app::Credential::Session(s.cookie.clone()))
        .await;
    assert!(listed.is_err());
}

#[tokio::test]
async fn idn_02_sensitive_actions_need_a_recent_reauthentication() {
    let t = TestApp::spawn().await;
    let w = t.workspace("reauth").await;
    let ann = with_ann(&t).await;
    t.app.add_member("reauth", ANN, Role::Owner).await.unwrap();
    let s = ann_session(&t, ann).await;
    // Fresh from signing in: allowed.
    let r = send(
        &t,
        "POST",
        "/workspaces/reauth/tokens",
        Some(&s),
        Some(json!({"name": "ci", "scope": "read"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Eleven minutes later: exports, tokens and security settings ask again.
    t.clock.advance(Duration::from_secs(11 * 60));
    for (method, path, body) in [
        ("POST", "/workspaces/reauth/exports", None),
        (
            "POST",
            "/workspaces/reauth/tokens",
            Some(json!({"name": "ci2", "scope": "read"})),
        ),
        (
            "PUT",
            "/workspaces/reauth/security",
            Some(json!({"member_minimum": "password", "admin_minimum": "password"})),
        ),
        ("POST", "/me/second-factors/totp", None),
    ] {
        let r = send(&t, method, path, Some(&s), body).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert_eq!(error_code(&r.body), "reauthentication_required", "{path}");
    }
    // A wrong password does not count, and counts as a failure.
    let r = send(
        &t,
        "POST",
        "/session/reauth",
        Some(&s),
        Some(json!({"password": "not ann's password at all"})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(
        &t,
        "POST",
        "/session/reauth",
        Some(&s),
        Some(json!({"password": ANN_PASSWORD})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fresh = r.session(ann);
    // The session got a new cookie: the old one is worth nothing now.
    assert_ne!(fresh.cookie, s.cookie);
    assert_eq!(t.client(&s).me().await.status, 401);
    let r = send(&t, "POST", "/workspaces/reauth/exports", Some(&fresh), None).await;
    assert!(r.status == 201 || r.status == 202, "{}", r.body);
    // API tokens cannot re-authenticate, so they cannot do sensitive things.
    let r = call(
        &t,
        "POST",
        "/workspaces/reauth/exports",
        &Auth::Token(w.owner.token.clone()),
        Body::None,
    )
    .await;
    assert_eq!(r.0, 403, "{}", r.1);
}

#[tokio::test]
async fn idn_01_password_changes_need_the_current_one_and_meet_the_policy() {
    let smtp = TestSmtp::start().await;
    let t = TestApp::spawn_with(|c| c.mail = Some(smtp.config())).await;
    let ann = with_ann(&t).await;
    let s = ann_session(&t, ann).await;
    let other = ann_session(&t, ann).await;
    let change = |current: &str, new: &str, end: bool| json!({"current_password": current, "new_password": new, "end_other_sessions": end});
    for (body, field, words) in [
        (
            change(
                "not ann's password at all",
                "a fresh and long passphrase",
                false,
            ),
            "current_password",
            "current password",
        ),
        (
            change(ANN_PASSWORD, "Password12345!", false),
            "new_password",
            "breaches",
        ),
        (
            change(ANN_PASSWORD, "qwertyuiop123", false),
            "new_password",
            "breaches",
        ),
        (
            change(ANN_PASSWORD, "aaaaaaaaaaaaaaaa", false),
            "new_password",
            "guess",
        ),
        (
            change(ANN_PASSWORD, "ann example 2024", false),
            "new_password",
            "guess",
        ),
        (
            change(ANN_PASSWORD, "short", false),
            "new_password",
            "at least 12",
        ),
        (
            change(ANN_PASSWORD, ANN_PASSWORD, false),
            "new_password",
            "have now",
        ),
    ] {
        let r = send(&t, "PUT", "/me/password", Some(&s), Some(body.clone())).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{body}: {}", r.body);
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains(words),
            "{body}: {}",
            r.body
        );
    }
    // Nothing changed so far.
    assert_eq!(sign_in(&t, ANN, ANN_PASSWORD).await.status, 200);
    let r = send(
        &t,
        "PUT",
        "/me/password",
        Some(&s),
        Some(change(ANN_PASSWORD, "tilted maple orbit ninety", true)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body["sessions_ended"].as_u64().unwrap() >= 2,
        "{}",
        r.body
    );
    let s2 = r.session(ann);
    assert_eq!(t.client(&s2).me().await.status, 200);
    assert_eq!(t.client(&s).me().await.status, 401, "rotated");
    assert_eq!(t.client(&other).me().await.status, 401, "ended on request");
    assert_eq!(sign_in(&t, ANN, ANN_PASSWORD).await.status, 403);
    assert_eq!(
        sign_in(&t, ANN, "tilted maple orbit ninety").await.status,
        200
    );
    t.clock.advance(Duration::from_secs(5));
    let mailer = SmtpMailer::new(&smtp.config()).unwrap();
    t.app.send_due_mail(&mailer, 50).await.unwrap();
    let mail = smtp.wait_for(ANN).await;
    assert!(
        mail.contains("Your Ideaweave password was changed"),
        "{mail}"
    );
}

#[tokio::test]
async fn idn_02_an_authenticator_app_signs_in_once_per_code_and_recovery_codes_once_each() {
    let t = TestApp::spawn().await;
    let ann = with_ann(&t).await;
    let s = ann_session(&t, ann).await;
    // A wrong code does not turn it on.
    let r = send(&t, "POST", "/me/second-factors/totp", Some(&s), None).await;
    assert_eq!(r.status, 201);
    let r = send(
        &t,
        "POST",
        "/me/second-factors/totp/confirm",
        Some(&s),
        Some(json!({"code": "000000"})),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let (secret, codes, s) = enrol_totp(&t, &s).await;
    assert_eq!(codes.len(), 10);
    let r = send(&t, "GET", "/me/second-factors", Some(&s), None).await;
    assert_eq!(
        r.body,
        json!({"totp": true, "totp_pending": false, "recovery_codes_left": 10})
    );
    let r = send(&t, "GET", "/me/sessions", Some(&s), None).await;
    assert_eq!(
        r.body[0]["level"], "password",
        "adding a factor does not make this session two-factor: a stolen session cannot raise itself"
    );
    // Setting up a second one while one is on is refused.
    let r = send(&t, "POST", "/me/second-factors/totp", Some(&s), None).await;
    assert_eq!(r.status, 409);

    // The password alone no longer signs in: a challenge comes back, and no cookie.
    let r = sign_in(&t, ANN, ANN_PASSWORD).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.headers.get("set-cookie").is_none());
    assert_eq!(r.body["methods"], json!(["totp", "recovery_code"]));
    let challenge = r.body["challenge"].as_str().unwrap().to_owned();
    let answer = |code: Value| {
        let mut b = json!({"challenge": challenge});
        b.as_object_mut()
            .unwrap()
            .extend(code.as_object().unwrap().clone());
        b
    };
    let r = send(
        &t,
        "POST",
        "/session/second-factor",
        None,
        Some(answer(json!({"code": "123456"}))),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    t.clock.advance(Duration::from_secs(31));
    let code = totp_code(&t, &secret);
    let r = send(
        &t,
        "POST",
        "/session/second-factor",
        None,
        Some(answer(json!({"code": code}))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mfa = r.session(ann);
    assert_eq!(t.client(&mfa).me().await.status, 200);
    // The challenge is used up, and the same code does not work twice.
    let r = send(
        &t,
        "POST",
        "/session/second-factor",
        None,
        Some(answer(json!({"code": code}))),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = sign_in(&t, ANN, ANN_PASSWORD).await;
    let again = r.body["challenge"].as_str().unwrap().to_owned();
    let r = send(
        &t,
        "POST",
        "/session/second-factor",
        None,
        Some(json!({"challenge": again, "code": code})),
    )
    .await;
    assert_eq!(r.status, 403, "a replayed code: {}", r.body);

    // A recovery code signs in once, whatever its case.
    let r = send(
        &t,
        "POST",
        "/session/second-factor",
        None,
        Some(json!({"challenge": again, "recovery_code": codes[0].to_uppercase()})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = sign_in(&t, ANN, ANN_PASSWORD).await;
    let third = r.body["challenge"].as_str().unwrap().to_owned();
    let r = send(
        &t,
        "POST",
        "/session/second-factor",
        None,
        Some(json!({"challenge": third, "recovery_code": codes[0]})),
    )
    .await;
    assert_eq!(r.status, 403, "a used recovery code");
    let r = send(&t, "GET", "/me/second-factors", Some(&mfa), None).await;
    assert_eq!(r.body["recovery_codes_left"], 9);

    // Re-authenticating now needs the code too.
    let s = mfa;
    t.clock.advance(Duration::from_secs(60));
    let r = send(
        &t,
        "POST",
        "/session/reauth",
        Some(&s),
        Some(json!({"password": ANN_PASSWORD})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    t.clock.advance(Duration::from_secs(3600));
    let r = send(
        &t,
        "POST",
        "/session/reauth",
        Some(&s),
        Some(json!({"password": ANN_PASSWORD, "code": totp_code(&t, &secret)})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = r.session(ann);
    let r = send(
        &t,
        "POST",
        "/me/second-factors/recovery-codes",
        Some(&s),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["codes"].as_array().unwrap().len(), 10);
    let r = send(&t, "DELETE", "/me/second-factors/totp", Some(&s), None).await;
    assert_eq!(r.status, 204);
    let r = sign_in(&t, ANN, ANN_PASSWORD).await;
    assert_eq!(
        r.status, 200,
        "the password alone signs in again: {}",
        r.body
    );
}

#[tokio::test]
async fn idn_02_a_workspace_can_require_two_factors_and_operators_always_need_them() {
    let t = TestApp::spawn().await;
    t.workspace("strict").await;
    let ann = with_ann(&t).await;
    t.app.add_member("strict", ANN, Role::Owner).await.unwrap();
    t.app
        .create_user(
            "mo@example.org",
            "Mo",
            Some("mo's own long passphrase"),
            false,
        )
        .await
        .unwrap();
    t.app
        .add_member("strict", "mo@example.org", Role::Member)
        .await
        .unwrap();
    t.app
        .create_user(
            "al@example.org",
            "Al",
            Some("al's own long passphrase"),
            false,
        )
        .await
        .unwrap();
    t.app
        .add_member("strict", "al@example.org", Role::Admin)
        .await
        .unwrap();
    let s = ann_session(&t, ann).await;
    // Not above how one signed in oneself.
    let policy = json!({"member_minimum": "password", "admin_minimum": "mfa"});
    let r = send(
        &t,
        "PUT",
        "/workspaces/strict/security",
        Some(&s),
        Some(policy.clone()),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = send(
        &t,
        "PUT",
        "/workspaces/strict/security",
        Some(&s),
        Some(json!({"member_minimum": "mfa", "admin_minimum": "password"})),
    )
    .await;
    assert_eq!(
        r.status, 422,
        "admins at least as strong as members: {}",
        r.body
    );
    let (secret, _, s) = enrol_totp(&t, &s).await;
    // Still a password session: the policy needs a two-factor one.
    let r = send(
        &t,
        "PUT",
        "/workspaces/strict/security",
        Some(&s),
        Some(policy.clone()),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let s = sign_in_with_code(&t, ANN, ANN_PASSWORD, &secret, ann).await;
    let r = send(
        &t,
        "PUT",
        "/workspaces/strict/security",
        Some(&s),
        Some(policy.clone()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, policy);
    // A member may: read it, not set it.
    let mo = t
        .session("mo@example.org", "mo's own long passphrase")
        .await;
    let r = send(&t, "GET", "/workspaces/strict/security", Some(&mo), None).await;
    assert_eq!((r.status, r.body), (200, policy.clone()));
    let r = send(
        &t,
        "PUT",
        "/workspaces/strict/security",
        Some(&mo),
        Some(json!({"member_minimum": "password", "admin_minimum": "password"})),
    )
    .await;
    assert_eq!(r.status, 403);
    // An admin who signed in with a password alone is stopped at the door, with the way out.
    let al = t
        .session("al@example.org", "al's own long passphrase")
        .await;
    let r = send(&t, "GET", "/workspaces/strict", Some(&al), None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(error_code(&r.body), "stronger_sign_in_required");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Account › Security")
    );
    assert_eq!(
        t.client(&al).me().await.status,
        200,
        "their account stays reachable"
    );
    let (al_secret, _, al) = enrol_totp(&t, &al).await;
    assert_eq!(
        send(&t, "GET", "/workspaces/strict", Some(&al), None)
            .await
            .status,
        403,
        "until they sign in with it"
    );
    let al = sign_in_with_code(
        &t,
        "al@example.org",
        "al's own long passphrase",
        &al_secret,
        al.user,
    )
    .await;
    assert_eq!(
        send(&t, "GET", "/workspaces/strict", Some(&al), None)
            .await
            .status,
        200
    );
    assert_eq!(
        send(&t, "GET", "/workspaces/strict", Some(&s), None)
            .await
            .status,
        200
    );

    // An operator account needs two factors in every workspace, whatever its policy.
    t.workspace("relaxed").await;
    t.app
        .create_user(
            "op@example.org",
            "Op",
            Some("operator's own passphrase"),
            true,
        )
        .await
        .unwrap();
    t.app
        .add_member("relaxed", "op@example.org", Role::Member)
        .await
        .unwrap();
    let op = t
        .session("op@example.org", "operator's own passphrase")
        .await;
    let r = send(&t, "GET", "/workspaces/relaxed", Some(&op), None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("operator")
    );
    let (op_secret, _, op) = enrol_totp(&t, &op).await;
    let op = sign_in_with_code(
        &t,
        "op@example.org",
        "operator's own passphrase",
        &op_secret,
        op.user,
    )
    .await;
    assert_eq!(
        send(&t, "GET", "/workspaces/relaxed", Some(&op), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn idn_02_five_wrong_codes_void_a_challenge() {
    let t = TestApp::spawn().await;
    let ann = with_ann(&t).await;
    let s = ann_session(&t, ann).await;
    let (secret, _, _) = enrol_totp(&t, &s).await;
    let r = sign_in(&t, ANN, ANN_PASSWORD).await;
    let challenge = r.body["challenge"].as_str().unwrap().to_owned();
    let wrong = json!({"challenge": challenge, "code": "000000"});
    // The password step counts against the address until the second factor is given, so the
    // fourth wrong code reaches its limit of five; waiting out the blocks, the fifth is the
    // challenge's last.
    for _ in 0..3 {
        let r = send(
            &t,
            "POST",
            "/session/second-factor",
            None,
            Some(wrong.clone()),
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.body);
    }
    for wait in [16, 31] {
        let r = send(
            &t,
            "POST",
            "/session/second-factor",
            None,
            Some(wrong.clone()),
        )
        .await;
        assert_eq!(r.status, 429, "{}", r.body);
        t.clock.advance(Duration::from_secs(wait));
    }
    let right = json!({"challenge": challenge, "code": totp_code(&t, &secret)});
    let r = send(&t, "POST", "/session/second-factor", None, Some(right)).await;
    assert_eq!(r.status, 403, "the challenge is void: {}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sign in again")
    );
    // Signing in again works.
    let r = sign_in(&t, ANN, ANN_PASSWORD).await;
    let challenge = r.body["challenge"].as_str().unwrap().to_owned();
    let r = send(
        &t,
        "POST",
        "/session/second-factor",
        None,
        Some(json!({"challenge": challenge, "code": totp_code(&t, &secret)})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// An instance people reach at `http://localhost` (WebAuthn needs a domain name).
async fn localhost_app() -> TestApp {
    TestApp::spawn_with(|c| c.public_url = "http://localhost:8080".into()).await
}

#[tokio::test]
async fn idn_02_passkeys_need_a_domain_name_and_say_so() {
    let t = TestApp::spawn_with(|c| c.public_url = "http://127.0.0.1:8080".into()).await;
    let ann = with_ann(&t).await;
    let s = ann_session(&t, ann).await;
    for (path, session) in [
        ("/me/passkeys/registration", Some(&s)),
        ("/session/passkey", None),
    ] {
        let r = send(&t, "POST", path, session, None).await;
        assert_eq!(r.status, 409, "{path}: {}", r.body);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("public_url")
        );
    }
}

#[tokio::test]
async fn idn_02_passkey_registration_is_fresh_single_use_and_verified() {
    let t = localhost_app().await;
    let ann = with_ann(&t).await;
    let s = ann_session(&t, ann).await;
    let r = send(&t, "POST", "/me/passkeys/registration", Some(&s), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let pk = &r.body["options"]["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost");
    assert_eq!(pk["user"]["name"], ANN);
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    let ceremony = r.body["ceremony"].as_str().unwrap().to_owned();
    // Not a credential at all.
    let r = send(
        &t,
        "POST",
        "/me/passkeys",
        Some(&s),
        Some(json!({"ceremony": ceremony, "credential": {"id": 1}})),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "credential");
    // Shaped like one, signed by nobody: refused, and the ceremony is spent.
    let forged = json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {"attestationObject": "o2NmbXRkbm9uZQ", "clientDataJSON": "e30"},
    });
    let r = send(
        &t,
        "POST",
        "/me/passkeys",
        Some(&s),
        Some(json!({"ceremony": ceremony, "credential": forged})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(
        &t,
        "POST",
        "/me/passkeys",
        Some(&s),
        Some(json!({"ceremony": ceremony, "credential": forged})),
    )
    .await;
    assert_eq!(r.status, 404, "a ceremony is used once: {}", r.body);
    // Someone else's ceremony is not found.
    let bob = bob_session(&t).await;
    let r = send(&t, "POST", "/me/passkeys/registration", Some(&s), None).await;
    let theirs = r.body["ceremony"].clone();
    let r = send(
        &t,
        "POST",
        "/me/passkeys",
        Some(&bob),
        Some(json!({"ceremony": theirs, "credential": forged})),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // Names are checked; nothing was added; removal of what is not there is 404.
    let r = send(
        &t,
        "POST",
        "/me/passkeys",
        Some(&s),
        Some(json!({"ceremony": theirs, "name": "x".repeat(101), "credential": forged})),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        send(&t, "GET", "/me/passkeys", Some(&s), None).await.body,
        json!([])
    );
    let r = send(
        &t,
        "DELETE",
        &format!("/me/passkeys/{}", uuid::Uuid::new_v4()),
        Some(&s),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    // Eleven minutes on, adding one needs a re-authentication.
    t.clock.advance(Duration::from_secs(11 * 60));
    let r = send(&t, "POST", "/me/passkeys/registration", Some(&s), None).await;
    assert_eq!(error_code(&r.body), "reauthentication_required");
}

/// Adds a software passkey to `s`'s account (the session must be fresh); the passkey and the
/// session's new cookie.
async fn add_soft_passkey(t: &TestApp, s: &Session) -> (SoftPasskey, Session) {
    let mut soft = SoftPasskey::new("http://localhost:8080");
    let r = send(t, "POST", "/me/passkeys/registration", Some(s), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let credential = soft.register(&r.body["options"]["publicKey"]);
    let r = send(
        t,
        "POST",
        "/me/passkeys",
        Some(s),
        Some(json!({"ceremony": r.body["ceremony"], "name": "soft", "credential": credential})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (soft, r.session(s.user))
}

/// Starts a passkey re-authentication in `s` and answers it with `soft`.
async fn passkey_reauth(t: &TestApp, s: &Session, soft: &mut SoftPasskey) -> Reply {
    let r = send(t, "POST", "/session/reauth/passkey", Some(s), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let credential = soft.assert(&r.body["options"]["publicKey"]);
    send(
        t,
        "POST",
        "/session/reauth/passkey/finish",
        Some(s),
        Some(json!({"ceremony": r.body["ceremony"], "credential": credential})),
    )
    .await
}

#[tokio::test]
async fn idn_02_a_passkey_signs_in_alone_and_re_authenticates_its_own_session() {
    let t = localhost_app().await;
    let ann = with_ann(&t).await;
    let s = ann_session(&t, ann).await;
    let (mut soft, s) = add_soft_passkey(&t, &s).await;
    let listed = send(&t, "GET", "/me/passkeys", Some(&s), None).await;
    assert_eq!(listed.body[0]["name"], "soft", "{}", listed.body);

    // Signing in with the passkey alone.
    let r = send(&t, "POST", "/session/passkey", None, None).await;
    let credential = soft.assert(&r.body["options"]["publicKey"]);
    let r = send(
        &t,
        "POST",
        "/session/passkey/finish",
        None,
        Some(json!({"ceremony": r.body["ceremony"], "credential": credential})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let by_passkey = r.session(ann);
    assert_eq!(t.client(&by_passkey).me().await.status, 200);

    // The password alone no longer stands in for the passkey: the page and the API say how.
    let r = send(&t, "GET", "/session/reauth", Some(&s), None).await;
    assert_eq!(
        r.body,
        json!({"password": false, "code": false, "passkey": true})
    );
    let r = send(
        &t,
        "POST",
        "/session/reauth",
        Some(&s),
        Some(json!({"password": ANN_PASSWORD})),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("passkey")
    );

    // Eleven minutes on, a sensitive action asks again, and the passkey answers.
    t.clock.advance(Duration::from_secs(11 * 60));
    let r = send(&t, "POST", "/me/passkeys/registration", Some(&s), None).await;
    assert_eq!(error_code(&r.body), "reauthentication_required");
    let r = passkey_reauth(&t, &s, &mut soft).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fresh = r.session(ann);
    assert_ne!(fresh.cookie, s.cookie);
    assert_eq!(t.client(&s).me().await.status, 401);
    let r = send(&t, "POST", "/me/passkeys/registration", Some(&fresh), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let events = t
        .app
        .instance_audit(
            None,
            ideaweave_app::AuditQuery {
                action: Some("auth.reauthenticated".into()),
                limit: Some(10),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].facts, Some(json!({"method": "passkey"})));

    // A confirmation started in one session cannot be finished by another (even Ann's own),
    // and it is spent by the attempt.
    t.clock.advance(Duration::from_secs(11 * 60));
    let r = send(&t, "POST", "/session/reauth/passkey", Some(&fresh), None).await;
    let ceremony = r.body["ceremony"].clone();
    let credential = soft.assert(&r.body["options"]["publicKey"]);
    let answer = json!({"ceremony": ceremony, "credential": credential});
    let r = send(
        &t,
        "POST",
        "/session/reauth/passkey/finish",
        Some(&by_passkey),
        Some(answer.clone()),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.headers.get("set-cookie").is_none());
    let r = send(
        &t,
        "POST",
        "/session/reauth/passkey/finish",
        Some(&fresh),
        Some(answer),
    )
    .await;
    assert_eq!(r.status, 403, "spent: {}", r.body);

    // A tampered signature is refused; so is another person's passkey.
    let r = send(&t, "POST", "/session/reauth/passkey", Some(&fresh), None).await;
    let mut credential = soft.assert(&r.body["options"]["publicKey"]);
    let sig = credential["response"]["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    credential["response"]["signature"] = Value::String(format!("{flipped}{}", &sig[1..]));
    let r = send(
        &t,
        "POST",
        "/session/reauth/passkey/finish",
        Some(&fresh),
        Some(json!({"ceremony": r.body["ceremony"], "credential": credential})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let bob = bob_session(&t).await;
    let (mut bobs, _) = add_soft_passkey(&t, &bob).await;
    let r = send(&t, "POST", "/session/reauth/passkey", Some(&fresh), None).await;
    let credential = bobs.assert(&r.body["options"]["publicKey"]);
    let r = send(
        &t,
        "POST",
        "/session/reauth/passkey/finish",
        Some(&fresh),
        Some(json!({"ceremony": r.body["ceremony"], "credential": credential})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(&t, "POST", "/me/passkeys/registration", Some(&fresh), None).await;
    assert_eq!(error_code(&r.body), "reauthentication_required");

    // Failures count like wrong passwords: soon even the right passkey waits.
    let mut last = 0;
    for _ in 0..12 {
        let r = send(&t, "POST", "/session/reauth/passkey", Some(&fresh), None).await;
        last = send(
            &t,
            "POST",
            "/session/reauth/passkey/finish",
            Some(&fresh),
            Some(json!({"ceremony": r.body["ceremony"], "credential": {"id": "AAAA", "rawId": "AAAA", "type": "public-key",
                "response": {"authenticatorData": "AAAA", "clientDataJSON": "e30", "signature": "AAAA"}}})),
        )
        .await
        .status;
        if last == 429 {
            break;
        }
    }
    assert_eq!(last, 429);
    let r = passkey_reauth(&t, &fresh, &mut soft).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn idn_02_idn_04_a_forged_passkey_sign_in_is_refused_and_counted() {
    let t = localhost_app().await;
    with_ann(&t).await;
    let r = send(&t, "POST", "/session/passkey", None, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["options"]["publicKey"]["userVerification"],
        "required"
    );
    let forged = |ceremony: &Value| {
        json!({"ceremony": ceremony, "credential": {
            "id": "AAAA", "rawId": "AAAA", "type": "public-key",
            "response": {"authenticatorData": "AAAA", "clientDataJSON": "e30", "signature": "AAAA", "userHandle": "AAAA"},
        }})
    };
    let r2 = send(
        &t,
        "POST",
        "/session/passkey/finish",
        None,
        Some(forged(&r.body["ceremony"])),
    )
    .await;
    assert_eq!(r2.status, 403, "{}", r2.body);
    assert!(r2.headers.get("set-cookie").is_none());
    let r3 = send(
        &t,
        "POST",
        "/session/passkey/finish",
        None,
        Some(forged(&r.body["ceremony"])),
    )
    .await;
    assert_eq!(r3.status, 404, "used once: {}", r3.body);
    // Every failure counts against the client: the twentieth blocks it.
    let mut last = 0;
    for _ in 0..19 {
        let r = send(&t, "POST", "/session/passkey", None, None).await;
        last = send(
            &t,
            "POST",
            "/session/passkey/finish",
            None,
            Some(forged(&r.body["ceremony"])),
        )
        .await
        .status;
    }
    assert_eq!(last, 429);
    // A passkey answer to a sign-in challenge that does not exist is refused.
    let r = send(
        &t,
        "POST",
        "/session/second-factor/passkey",
        None,
        Some(json!({"challenge": "x".repeat(43)})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
}

#[tokio::test]
async fn idn_04_parallel_guesses_cannot_slip_past_the_limit() {
    let t = TestApp::spawn().await;
    with_ann(&t).await;
    // Thirty guesses at once: each is counted before its password is checked, so no more than
    // the address's four free failures are answered "wrong" and the rest must wait.
    let guesses = (0..30).map(|i| {
        let t = &t;
        async move {
            sign_in(t, ANN, &format!("guess number {i} for ann"))
                .await
                .status
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 403).count();
    let waiting = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + waiting, 30, "{statuses:?}");
    assert!(checked <= 4, "{checked} guesses were checked: {statuses:?}");
    // And the right password waits too.
    assert_eq!(sign_in(&t, ANN, ANN_PASSWORD).await.status, 429);
}

/// IDN-04 (issue 19, finding 8): a block that guesses from elsewhere put on an address does not
/// lock out its owner when they have a second factor: the right password with a current code
/// passes it and lifts it. Anything less (the password alone, a wrong code, the right code with
/// a wrong password, a code for an account without one) gets the block's answer byte for byte,
/// so the block reveals nothing about the password, and a code sent with a wrong password is not
/// used up.
#[tokio::test]
async fn idn_04_the_right_password_and_a_second_factor_pass_a_block_of_the_address() {
    let t = behind_trusted_proxy().await;
    let ann = with_ann(&t).await;
    let s = ann_session(&t, ann).await;
    let (secret, recovery, _) = enrol_totp(&t, &s).await;
    with_bob(&t).await;
    let attempt = |email: &str, mut body: Value, from: &'static str| {
        body["email"] = json!(email);
        sign_in_from(&t, from, body)
    };
    let guesser = "198.51.100.7";
    let owner = "203.0.113.9";
    // The next authenticator code (the enrolment used up the current one).
    t.clock.advance(Duration::from_secs(31));
    for who in [ANN, "bob@example.org"] {
        for _ in 0..5 {
            attempt(who, json!({"password": "somebody's guess"}), guesser).await;
        }
    }
    let blocked = attempt(ANN, json!({"password": ANN_PASSWORD}), owner).await;
    assert_eq!(blocked.0, 429, "{blocked:?}");
    let code = totp_code(&t, &secret);
    let refusals = [
        attempt(
            ANN,
            json!({"password": ANN_PASSWORD, "code": "000000"}),
            owner,
        )
        .await,
        attempt(
            ANN,
            json!({"password": "a wrong password", "code": code}),
            owner,
        )
        .await,
        attempt(
            ANN,
            json!({"password": ANN_PASSWORD, "recovery_code": "AAAAA-BBBBB"}),
            owner,
        )
        .await,
        attempt(ANN, json!({"password": ANN_PASSWORD}), owner).await,
    ];
    for r in &refusals {
        assert_eq!(r, &refusals[3], "every refusal is the block's answer");
    }
    assert_eq!(refusals[3].0, 429);
    let no_factor = attempt(
        "bob@example.org",
        json!({"password": "bob's own long passphrase", "code": code}),
        owner,
    )
    .await;
    assert_eq!(no_factor.0, 429, "{no_factor:?}");
    // The same code, not used up by the attempt with the wrong password, now gets in.
    let r = attempt(ANN, json!({"password": ANN_PASSWORD, "code": code}), owner).await;
    assert_eq!(r.0, 200, "{r:?}");
    let me: Value = serde_json::from_str(&r.2).unwrap();
    assert_eq!(me["user"]["id"], json!(ann));
    // It lifted the block: the next wrong guess is checked (403), not refused unseen (429).
    let r = attempt(ANN, json!({"password": "somebody's guess"}), guesser).await;
    assert_eq!(r.0, 403, "{r:?}");
    // A recovery code passes a block too, once.
    for _ in 0..5 {
        attempt(ANN, json!({"password": "somebody's guess"}), guesser).await;
    }
    let with_recovery = json!({"password": ANN_PASSWORD, "recovery_code": recovery[0]});
    assert_eq!(attempt(ANN, with_recovery.clone(), owner).await.0, 200);
    for _ in 0..5 {
        attempt(ANN, json!({"password": "somebody's guess"}), guesser).await;
    }
    assert_eq!(attempt(ANN, with_recovery, owner).await.0, 429, "used up");
}

/// IDN-02: an account with two-factor sign-in can send its code with the password and get a
/// session at once; a wrong code counts as a failure like a wrong password.
#[tokio::test]
async fn idn_02_the_code_may_come_with_the_password() {
    let t = TestApp::spawn().await;
    let ann = with_ann(&t).await;
    let s = ann_session(&t, ann).await;
    let (secret, _, _) = enrol_totp(&t, &s).await;
    t.clock.advance(Duration::from_secs(31));
    let r = send(
        &t,
        "POST",
        "/session",
        None,
        Some(json!({"email": ANN, "password": ANN_PASSWORD, "code": "000000"})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(
        &t,
        "POST",
        "/session",
        None,
        Some(json!({"email": ANN, "password": ANN_PASSWORD, "code": totp_code(&t, &secret)})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let me = send(&t, "GET", "/me", Some(&r.session(ann)), None).await;
    assert_eq!(me.status, 200, "{}", me.body);
}

/// IDN-04 (issue 19, finding 8): a client's allowance of failures grows with the people who
/// sign in from it (an office behind one address), five more for each account, while a client
/// nobody signs in from keeps twenty; an erased account stops counting.
#[tokio::test]
async fn idn_04_a_clients_allowance_is_proportional_to_the_people_signing_in_from_it() {
    let t = behind_trusted_proxy().await;
    let attempt = |email: String, password: &str, from: &str| {
        let body = json!({"email": email, "password": password});
        let t = &t;
        let from = from.to_owned();
        async move { sign_in_from(t, &from, body).await.0 }
    };
    let office = "198.51.100.50";
    for i in 0..3 {
        let email = format!("colleague{i}@example.org");
        t.app
            .create_user(
                &email,
                "Colleague",
                Some("a colleague's long password"),
                false,
            )
            .await
            .unwrap();
        assert_eq!(
            attempt(email, "a colleague's long password", office).await,
            200
        );
    }
    let mut statuses = Vec::new();
    for i in 0..40 {
        statuses.push(attempt(format!("typo{i}@example.org"), "a typo", office).await);
    }
    assert_eq!(
        statuses.iter().position(|s| *s == 429),
        Some(34),
        "twenty failures and five for each of three colleagues: {statuses:?}"
    );
    let mut statuses = Vec::new();
    for i in 0..25 {
        statuses.push(attempt(format!("typo{i}@example.org"), "a typo", "203.0.113.80").await);
    }
    assert_eq!(
        statuses.iter().position(|s| *s == 429),
        Some(19),
        "{statuses:?}"
    );
}

/// IDN-04 (issue 19, finding 8): behind a trusted reverse proxy each client is counted by the
/// address the proxy forwards, so one client's guesses do not lock everyone else out; from a
/// peer that is not a trusted proxy the header is ignored, so a client cannot dodge its own
/// count by sending a new `X-Forwarded-For` with each guess.
#[tokio::test]
async fn idn_04_forwarded_client_addresses_count_only_behind_a_trusted_proxy() {
    async fn guess(t: &TestApp, i: usize, from: String) -> u16 {
        let body = json!({"email": format!("guess{i}@example.org"), "password": "a guess"});
        sign_in_from(t, &from, body).await.0
    }
    let behind_proxy = behind_trusted_proxy().await;
    for i in 0..25 {
        let st = guess(&behind_proxy, i, format!("198.51.100.{i}")).await;
        assert_eq!(
            st, 403,
            "guess {i} from its own address is one failure of that client"
        );
    }
    let open = TestApp::spawn().await;
    let mut statuses = Vec::new();
    for i in 0..25 {
        statuses.push(guess(&open, i, format!("198.51.100.{i}")).await);
    }
    assert_eq!(
        statuses.iter().position(|s| *s == 429),
        Some(19),
        "a forged header from an untrusted peer changes nothing: {statuses:?}"
    );
}
