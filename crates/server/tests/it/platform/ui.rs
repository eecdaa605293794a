//! The web UI over HTTP (SEC-01, COL-04): pages carry the strict policy, sign-in is protected
//! against cross-site posting, forms need the session's anti-CSRF token, content is escaped,
//! errors are friendly pages that leak nothing, and the language follows the browser.

use ideaweave_domain::Role;
use ideaweave_testkit::TestApp;
use ideaweave_testkit::browser;

/// The session cookie a sign-in answer sets.
fn cookie_of(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("iw_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

async fn account(t: &TestApp, email: &str, slug: &str) {
    t.app
        .create_user(email, "Page Person", Some("a long enough password"), false)
        .await
        .unwrap();
    t.app.add_member(slug, email, Role::Member).await.unwrap();
}

async fn sign_in(t: &TestApp, email: &str, password: &str) -> reqwest::Response {
    browser()
        .post(format!("{}/sign-in", t.base))
        .header("origin", t.base.clone())
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sec_01_pages_carry_the_policy_and_sign_in_works_end_to_end() {
    let t = TestApp::spawn().await;
    let w = t.workspace("pages").await;
    t.app
        .rename_workspace(
            &w.as_member(&w.owner),
            ideaweave_app::WorkspacePatch {
                name: "<script>alert(1)</script> & Co".into(),
            },
        )
        .await
        .unwrap();
    account(&t, "page@example.org", "pages").await;

    // Signed out, the home page sends people to sign in.
    let r = browser().get(format!("{}/", t.base)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/sign-in");
    let r = browser()
        .get(format!("{}/sign-in", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("style-src 'self'"));
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.text().await.unwrap().contains("<label for=\"email\">"));

    // A wrong password is refused on the page, not with a JSON error.
    let r = sign_in(&t, "page@example.org", "wrong password!").await;
    assert_eq!(r.status(), 401);
    assert!(cookie_of(&r).is_none());
    assert!(r.text().await.unwrap().contains("role=\"alert\""));

    // A form posted from another site is refused (login CSRF).
    let r = browser()
        .post(format!("{}/sign-in", t.base))
        .header("origin", "https://evil.example")
        .form(&[
            ("email", "page@example.org"),
            ("password", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(cookie_of(&r).is_none());

    let r = sign_in(&t, "page@example.org", "a long enough password").await;
    assert_eq!(r.status(), 303);
    let cookie = cookie_of(&r).expect("a session cookie");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let signed = t
        .app
        .instance_audit(
            None,
            ideaweave_app::AuditQuery {
                action: Some("auth.sign_in".into()),
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        signed.items[0]
            .client
            .as_ref()
            .and_then(|c| c.ip.as_deref()),
        Some("127.0.0.1"),
        "the sign-in is recorded with the client's address"
    );

    let home = browser()
        .get(format!("{}/", t.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; Co"),
        "content is escaped: {html}"
    );
    assert!(!html.contains("<script>"));
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the sign-out form carries the token")
        .to_owned();

    // Signing out needs the token.
    for bad in ["", "wrong-token"] {
        let r = browser()
            .post(format!("{}/sign-out", t.base))
            .header("cookie", &cookie)
            .form(&[("csrf", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "token {bad:?}");
    }
    let r = browser()
        .post(format!("{}/sign-out", t.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let after = browser()
        .get(format!("{}/", t.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303, "the session ended");
}

#[tokio::test]
async fn sec_01_errors_are_friendly_pages_and_the_api_keeps_json() {
    let t = TestApp::spawn().await;
    let r = browser()
        .get(format!("{}/no/such/page", t.base))
        .header("accept-language", "de-DE,de;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("<html lang=\"de\">") && html.contains("Seite nicht gefunden"));
    let r = browser()
        .get(format!("{}/api/v1/no/such/route", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let css = browser()
        .get(format!("{}/static/app.css", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        css.text()
            .await
            .unwrap()
            .contains("prefers-color-scheme: dark")
    );
    // Pages link the stylesheet under its content-hashed name, kept a year and sent gzipped to
    // browsers that accept it; the plain name is kept an hour only.
    let hashed = ideaweave_web::ui::asset_url("app.css");
    assert!(hashed.starts_with("/static/app.") && hashed != "/static/app.css");
    let plain = browser()
        .get(format!("{}/static/app.css", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.headers()["cache-control"], "public, max-age=3600");
    let zipped = browser()
        .get(format!("{}{hashed}", t.base))
        .header("accept-encoding", "br, gzip;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.status(), 200);
    assert_eq!(
        zipped.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "accept-encoding");
    let size = zipped.bytes().await.unwrap().len();
    assert!(size > 0 && size < include_str!("../../../../web/static/app.css").len() / 2);
    let refused = browser()
        .get(format!("{}{hashed}", t.base))
        .header("accept-encoding", "gzip;q=0, identity")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none());
    let missing = browser()
        .get(format!("{}/static/app.0000000000.css", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let r = browser()
        .post(format!("{}/sign-in", t.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("%%%")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a malformed form gets a page, not a panic");
}

#[tokio::test]
async fn sec_01_tls_deployments_get_hsts() {
    let t = TestApp::spawn_with(|c| c.secure_cookies = true).await;
    let r = browser()
        .get(format!("{}/sign-in", t.base))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let plain = TestApp::spawn().await;
    let r = browser()
        .get(format!("{}/sign-in", plain.base))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
}

/// IDN-04 (issue 19, finding 8), without JavaScript: once sign-in for an address is slowed
/// down, the page offers a code field, in the reader's language, and the right password with a
/// current authenticator code signs in through the block.
#[tokio::test]
async fn idn_04_the_sign_in_page_lets_the_owner_pass_a_block_with_a_code() {
    let t = TestApp::spawn().await;
    t.workspace("blocked").await;
    account(&t, "blocked@example.org", "blocked").await;
    let s = t
        .session("blocked@example.org", "a long enough password")
        .await;
    let (secret, _, _) = crate::identity::enrol_totp(&t, &s).await;
    t.clock.advance(std::time::Duration::from_secs(31));
    for _ in 0..5 {
        sign_in(&t, "blocked@example.org", "somebody's guess").await;
    }
    let r = browser()
        .post(format!("{}/sign-in", t.base))
        .header("origin", t.base.clone())
        .header("accept-language", "de")
        .form(&[
            ("email", "blocked@example.org"),
            ("password", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"name="code""#), "{page}");
    assert!(page.contains("Authenticator-App"), "in German: {page}");
    assert!(
        page.contains("Zu viele fehlgeschlagene Versuche. Versuchen Sie es in ")
            && !page.contains("too many"),
        "the slowdown itself in German too: {page}"
    );
    let code = crate::identity::totp_code(&t, &secret);
    let r = browser()
        .post(format!("{}/sign-in", t.base))
        .header("origin", t.base.clone())
        .form(&[
            ("email", "blocked@example.org"),
            ("password", "a long enough password"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(cookie_of(&r).is_some());
}
