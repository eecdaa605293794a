//! IDN-03: OpenID Connect single sign-on against real identity-provider software
//! (node-oidc-provider, OpenID Certified, on loopback; `cargo xtask test` installs it into
//! `tests/sso`). A browser is played by an HTTP client with a cookie jar that follows the
//! provider's redirects and submits its login and consent forms.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ideaweave_domain::Role;
use ideaweave_testkit::TestApp;
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call};

const CLIENT_ID: &str = "ideaweave-test";
const CLIENT_SECRET: &str = "a client secret of the test provider";
/// The address the application believes it has; the test client maps it to the real one.
pub(crate) const PUBLIC_URL: &str = "http://localhost:18443";

/// node-oidc-provider, running until dropped.
pub(crate) struct OidcProvider {
    child: Child,
    pub issuer: String,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OidcProvider {
    /// Starts the provider with one client registered for `slug`'s callback.
    pub(crate) fn start(slug: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/sso/oidc-idp.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .arg(port.to_string())
            .arg(CLIENT_ID)
            .arg(CLIENT_SECRET)
            .arg(format!("{PUBLIC_URL}/sso/{slug}/oidc/callback"))
            .arg(format!("{PUBLIC_URL}/sign-in"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "node runs (cargo xtask test installs Node.js and oidc-provider into tests/sso)",
            );
        let out = child.stdout.take().expect("stdout");
        let line = ideaweave_testkit::first_line(out, Duration::from_secs(120)).unwrap_or_default();
        assert!(
            line.starts_with("listening "),
            "oidc-provider did not start (run npm ci in tests/sso): {line:?}"
        );
        Self {
            child,
            issuer: line.trim_start_matches("listening ").trim().to_owned(),
        }
    }
}

/// A browser: a cookie jar, no automatic redirects.
pub(crate) struct Browser {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) clock: std::sync::Arc<ideaweave_testkit::TestClock>,
}

/// Where a browser run ended: the last status, URL and body.
pub(crate) struct Landing {
    pub status: u16,
    pub url: String,
    pub body: String,
}

/// An attribute's value as a browser reads it (the entities the pages use decoded).
pub(crate) fn unescape(v: &str) -> String {
    [
        ("&#38;", "&"),
        ("&amp;", "&"),
        ("&#x2f;", "/"),
        ("&#x2F;", "/"),
        ("&#47;", "/"),
        ("&#34;", "\""),
        ("&quot;", "\""),
        ("&#39;", "'"),
    ]
    .iter()
    .fold(v.to_owned(), |v, (e, c)| v.replace(e, c))
}

pub(crate) fn attr(tag: &str, name: &str) -> Option<String> {
    let re = regex::Regex::new(&format!(r#"{name}="([^"]*)""#)).unwrap();
    re.captures(tag).map(|c| unescape(&c[1]))
}

impl Browser {
    pub(crate) fn new(t: &TestApp) -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: t.base.clone(),
            clock: t.clock.clone(),
        }
    }

    /// The application's public URL mapped to where it really listens.
    pub(crate) fn real(&self, url: &str) -> String {
        url.replacen(PUBLIC_URL, &self.base, 1)
    }

    /// Follows redirects and submits forms (filling `login` and `password` with `login`, and
    /// pressing the first named button) until a page without a form, or the application
    /// answers something that is not a redirect to the provider.
    pub(crate) async fn run(&self, start: &str, login: &str) -> Landing {
        self.run_until(start, login, |_| false).await
    }

    /// [`Browser::run`], stopping (without requesting it) at the first URL `stop` accepts.
    async fn run_until(&self, start: &str, login: &str, stop: impl Fn(&str) -> bool) -> Landing {
        let follow_re = regex::Regex::new(r#"<a [^>]*data-follow[^>]*>"#).unwrap();
        let form_re = regex::Regex::new(r#"(?s)<form([^>]*)>(.*?)</form>"#).unwrap();
        let input_re = regex::Regex::new(r#"<input[^>]*>"#).unwrap();
        let buttons = regex::Regex::new(r#"<button[^>]*name="[^"]*"[^>]*>"#).unwrap();
        let mut url = self.real(start);
        let mut form: Option<Vec<(String, String)>> = None;
        for _ in 0..20 {
            if stop(&url) {
                return Landing {
                    status: 0,
                    url,
                    body: String::new(),
                };
            }
            let resp = match form.take() {
                Some(fields) => self.http.post(&url).form(&fields).send().await,
                None => self.http.get(&url).send().await,
            }
            .expect("request sent");
            let status = resp.status().as_u16();
            if let Some(loc) = resp.headers().get("location") {
                let loc = loc.to_str().unwrap().to_owned();
                url = self.real(
                    reqwest::Url::parse(&url)
                        .unwrap()
                        .join(&loc)
                        .unwrap()
                        .as_str(),
                );
                continue;
            }
            let body = resp.text().await.unwrap_or_default();
            // The application's hand-off page: its link is followed by script.
            if let Some(link) = follow_re.find(&body).and_then(|m| attr(m.as_str(), "href")) {
                url = link;
                continue;
            }
            let on_provider = !url.starts_with(&self.base);
            match form_re.captures(&body).filter(|_| on_provider) {
                Some(f) => {
                    let action = attr(&f[1], "action").unwrap_or_else(|| url.clone());
                    let mut fields = Vec::new();
                    for input in input_re.find_iter(&f[2]) {
                        let tag = input.as_str();
                        let Some(name) = attr(tag, "name") else {
                            continue;
                        };
                        let value = match name.as_str() {
                            "login" => login.to_owned(),
                            "password" => "any password".to_owned(),
                            _ => attr(tag, "value").unwrap_or_default(),
                        };
                        fields.push((name, value));
                    }
                    // The first named button of the form, inside it or tied to it by `form=`.
                    if let Some(button) = buttons.find(&f[2]).or_else(|| buttons.find(&body)) {
                        let tag = button.as_str();
                        fields.push((
                            attr(tag, "name").unwrap(),
                            attr(tag, "value").unwrap_or_default(),
                        ));
                    }
                    url = self.real(
                        reqwest::Url::parse(&url)
                            .unwrap()
                            .join(&action)
                            .unwrap()
                            .as_str(),
                    );
                    form = Some(fields);
                }
                None => return Landing { status, url, body },
            }
        }
        panic!("the sign-in went round in circles at {url}");
    }

    /// Goes through the provider like [`Browser::run`] but stops before the application's
    /// callback: its URL (what an attacker would send a victim).
    pub(crate) async fn until_callback(&self, start: &str, login: &str) -> String {
        self.run_until(start, login, |url| url.contains("/oidc/callback"))
            .await
            .url
    }

    /// `GET /api/v1{path}` with the jar's cookies.
    pub(crate) async fn api(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}/api/v1{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// The session's anti-CSRF token, read off the page `page`.
    async fn csrf_on(&self, page: &str) -> String {
        let html = self
            .http
            .get(format!("{}{page}", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        regex::Regex::new(r#"name="csrf" value="([^"]+)""#)
            .unwrap()
            .captures(&html)
            .map(|c| c[1].to_owned())
            .expect("a page with the anti-CSRF token")
    }

    /// `POST /api/v1{path}` with the jar's session and its anti-CSRF token (read off a page).
    pub(crate) async fn api_post(&self, path: &str, body: Value) -> (u16, Value) {
        let csrf = self.csrf_on("/account").await;
        let r = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Posts a page form with the session's anti-CSRF token taken from `page`.
    pub(crate) async fn post_form(&self, page: &str, action: &str) -> Landing {
        self.post_form_with(page, action, &[]).await
    }

    /// [`Browser::post_form`] with more fields.
    pub(crate) async fn post_form_with(
        &self,
        page: &str,
        action: &str,
        extra: &[(&str, &str)],
    ) -> Landing {
        let csrf = self.csrf_on(page).await;
        let r = self
            .http
            .post(format!("{}{action}", self.base))
            .form(
                &std::iter::once(("csrf", csrf.as_str()))
                    .chain(extra.iter().copied())
                    .collect::<Vec<_>>(),
            )
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let url = r.url().to_string();
        Landing {
            status,
            url,
            body: r.text().await.unwrap_or_default(),
        }
    }
}

/// An instance whose public URL is [`PUBLIC_URL`], with the workspace `corp` and its owner
/// Olga's session.
pub(crate) async fn corp_and_owner() -> (TestApp, ideaweave_testkit::Session) {
    let t = TestApp::spawn_with(|c| {
        c.public_url = PUBLIC_URL.into();
        c.sso_allow_http = true;
    })
    .await;
    t.workspace("corp").await;
    let owner = t
        .member_session(
            "corp",
            "olga@corp.example",
            "Olga",
            "olga's own long passphrase",
            Role::Owner,
        )
        .await;
    (t, owner)
}

/// An instance with the workspace `corp`, its owner's session, and OIDC set up against `idp`.
async fn corp(idp: &OidcProvider, domains: &[&str], groups: &[&str]) -> TestApp {
    let (t, owner) = corp_and_owner().await;
    let (st, v) = call(
        &t,
        "PUT",
        "/workspaces/corp/sso/oidc",
        &Auth::Session(owner.clone()),
        Body::Json(json!({
            "issuer": idp.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "allowed_domains": domains, "group_claim": "groups", "allowed_groups": groups,
            "default_role": "member",
        })),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["redirect_uri"],
        format!("{PUBLIC_URL}/sso/corp/oidc/callback")
    );
    assert!(v.get("client_secret").is_none());
    t
}

#[tokio::test]
async fn idn_03_oidc_signs_in_creates_members_and_logs_out_at_the_provider() {
    let idp = OidcProvider::start("corp");
    let t = corp(&idp, &["corp.example"], &[]).await;
    let b = Browser::new(&t);
    let end = b
        .run(
            &format!("{PUBLIC_URL}/sso/corp/oidc/start"),
            "ann@corp.example",
        )
        .await;
    assert_eq!(
        end.status,
        200,
        "{} {}",
        end.url,
        &end.body[..end.body.len().min(400)]
    );
    assert_eq!(reqwest::Url::parse(&end.url).unwrap().path(), "/");
    let (st, me) = b.api("/me").await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["user"]["email"], "ann@corp.example");
    assert_eq!(me["user"]["name"], "ann");
    assert_eq!(me["workspaces"][0]["slug"], "corp");
    assert_eq!(me["workspaces"][0]["role"], "member");
    let ann = me["user"]["id"].clone();
    // Without a password, confirming "it is you" means signing in through the provider again.
    let (st, v) = b
        .api_post("/session/reauth", json!({"password": "anything at all"}))
        .await;
    assert_eq!(st, 409, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("single sign-on")
    );
    let (st, v) = b.api("/session/reauth").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v,
        json!({"password": false, "code": false, "passkey": false})
    );
    let page = b
        .http
        .get(format!("{}/reauth?next=/account", b.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"reauth-sso\"") && !page.contains("id=\"reauth-password\""),
        "the page says to sign in again and asks for no password"
    );

    // The provider ends its session too when Ann signs out here.
    let out = b.post_form("/account", "/sign-out").await;
    assert_eq!(out.status, 200);
    let link = regex::Regex::new(r#"data-follow href="([^"]+)""#)
        .unwrap()
        .captures(&out.body)
        .map(|c| unescape(&c[1]))
        .expect("a hand-off to the provider's end-session endpoint");
    assert!(
        link.starts_with(&idp.issuer) && link.contains("id_token_hint="),
        "{link}"
    );
    let end = b.run(&link, "").await;
    assert_eq!(
        reqwest::Url::parse(&end.url).unwrap().path(),
        "/sign-in",
        "{}",
        end.url
    );
    assert_eq!(b.api("/me").await.0, 401);

    // Signing in again is the same account, not a second one.
    let b2 = Browser::new(&t);
    b2.run(
        &format!("{PUBLIC_URL}/sso/corp/oidc/start"),
        "ann@corp.example",
    )
    .await;
    assert_eq!(b2.api("/me").await.1["user"]["id"], ann);
}

#[tokio::test]
async fn idn_03_oidc_refuses_unverified_addresses_other_domains_and_account_takeover() {
    let idp = OidcProvider::start("corp");
    let t = corp(&idp, &["corp.example"], &[]).await;
    let start = format!("{PUBLIC_URL}/sso/corp/oidc/start");
    for (login, words) in [
        ("unverified-eve@corp.example", "not verified"),
        ("bob@elsewhere.example", "does not let this address"),
    ] {
        let b = Browser::new(&t);
        let end = b.run(&start, login).await;
        assert_eq!(end.status, 403, "{login}: {}", end.url);
        assert!(end.body.contains(words), "{login}: {}", end.body);
        assert_eq!(b.api("/me").await.0, 401);
    }
    // Olga has an account with a password: the provider asserting her address is not enough.
    let b = Browser::new(&t);
    let end = b.run(&start, "olga@corp.example").await;
    assert_eq!(end.status, 403);
    assert!(
        end.body.contains("does not let this address join"),
        "the same answer as for an address nobody has: {}",
        end.body
    );
    assert_eq!(b.api("/me").await.0, 401);
    // Signed in with her password, coming back from the provider is still not a link: that
    // takes her asking for it on her security page.
    let r = b
        .http
        .post(format!("{}/api/v1/session", t.base))
        .json(&json!({"email": "olga@corp.example", "password": "olga's own long passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let end = b.run(&start, "olga@corp.example").await;
    assert_eq!(end.status, 403, "{}", end.body);
    let out = b
        .post_form_with(
            "/account/security",
            "/account/sso/link",
            &[("workspace", "corp")],
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    let link = regex::Regex::new(r#"data-follow href="([^"]+)""#)
        .unwrap()
        .captures(&out.body)
        .map(|c| unescape(&c[1]))
        .expect("a hand-off to the provider");
    let end = b.run(&link, "olga@corp.example").await;
    assert_eq!(end.status, 200, "{}", end.body);
    assert!(end.url.ends_with("/account/security"), "{}", end.url);
    let fresh = Browser::new(&t);
    fresh.run(&start, "olga@corp.example").await;
    assert_eq!(
        fresh.api("/me").await.1["user"]["email"],
        "olga@corp.example"
    );

    // An answer sent to another browser signs nobody in there (login CSRF).
    let attacker = Browser::new(&t);
    let callback = attacker.until_callback(&start, "gus@corp.example").await;
    let victim = Browser::new(&t);
    let end = victim.run(&callback, "").await;
    assert_eq!(end.status, 403, "{}", end.body);
    assert!(end.body.contains("another browser"), "{}", end.body);
    assert_eq!(victim.api("/me").await.0, 401);

    // A forged or replayed answer is refused.
    let fake = format!("{PUBLIC_URL}/sso/corp/oidc/callback?code=made-up&state=made-up");
    let end = Browser::new(&t).run(&fake, "").await;
    assert_eq!(end.status, 403, "{}", end.body);
    assert!(end.body.contains("expired or was used"));
    // An unknown workspace has no single sign-on.
    let end = Browser::new(&t)
        .run(&format!("{PUBLIC_URL}/sso/nowhere/oidc/start"), "")
        .await;
    assert_eq!(end.status, 404);
}

/// How often `idp`'s discovery document has been read.
async fn discoveries(idp: &OidcProvider) -> u64 {
    let v: Value = reqwest::get(format!("{}/test/discoveries", idp.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["discoveries"].as_u64().unwrap()
}

#[tokio::test]
async fn idn_03_oidc_discovery_is_read_once_per_few_minutes_not_per_sign_in() {
    let idp = OidcProvider::start("corp");
    let t = corp(&idp, &["corp.example"], &[]).await;
    assert_eq!(discoveries(&idp).await, 1, "setting the provider reads it");
    let start = format!("{PUBLIC_URL}/sso/corp/oidc/start");
    for who in ["ann@corp.example", "bea@corp.example"] {
        let end = Browser::new(&t).run(&start, who).await;
        assert_eq!(end.status, 200, "{who}: {}", end.body);
    }
    assert_eq!(
        discoveries(&idp).await,
        1,
        "two sign-ins (start and callback each) used what was read"
    );
    t.clock.advance(std::time::Duration::from_millis(
        ideaweave_app::DISCOVERY_TTL_MS as u64 + 1,
    ));
    let end = Browser::new(&t).run(&start, "cy@corp.example").await;
    assert_eq!(end.status, 200, "{}", end.body);
    assert_eq!(discoveries(&idp).await, 2, "read again once it is old");
}

#[tokio::test]
async fn idn_03_oidc_admits_by_group_claim() {
    let idp = OidcProvider::start("corp");
    let t = corp(&idp, &[], &["staff"]).await;
    let start = format!("{PUBLIC_URL}/sso/corp/oidc/start");
    let b = Browser::new(&t);
    let end = b.run(&start, "gus@corp.example").await;
    assert_eq!(end.status, 200, "in the staff group: {}", end.body);
    let b = Browser::new(&t);
    let end = b.run(&start, "gil@partner.example").await;
    assert_eq!(end.status, 403, "not in the group: {}", end.body);
}

#[tokio::test]
async fn idn_03_oidc_settings_are_checked_and_need_admins() {
    let idp = OidcProvider::start("corp");
    let t = corp(&idp, &["corp.example"], &[]).await;
    let olga = t
        .session("olga@corp.example", "olga's own long passphrase")
        .await;
    let as_olga = Auth::Session(olga.clone());
    let put = |body: Value| {
        call(
            &t,
            "PUT",
            "/workspaces/corp/sso/oidc",
            &as_olga,
            Body::Json(body),
        )
    };
    let (st, v) = put(json!({"issuer": "ftp://x", "client_id": "c", "client_secret": "s"})).await;
    assert_eq!(
        (st, v["error"]["field"].clone()),
        (422, json!("issuer")),
        "{v}"
    );
    let (st, v) =
        put(json!({"issuer": "http://127.0.0.1:9", "client_id": "c", "client_secret": "s"})).await;
    assert_eq!(
        st, 409,
        "an unreachable provider is refused with the reason: {v}"
    );
    let (st, v) =
        put(json!({"issuer": idp.issuer, "client_id": "c", "default_role": "admin"})).await;
    assert_eq!(
        (st, v["error"]["field"].clone()),
        (422, json!("default_role")),
        "{v}"
    );
    let (st, v) =
        put(json!({"issuer": idp.issuer, "client_id": "c", "allowed_domains": ["not a domain"]}))
            .await;
    assert_eq!(st, 422, "{v}");
    // Members cannot read or change it; tokens cannot change it.
    let mo = t
        .member_session(
            "corp",
            "mo@corp.example",
            "Mo",
            "mo's own long passphrase",
            Role::Member,
        )
        .await;
    assert_eq!(
        call(
            &t,
            "GET",
            "/workspaces/corp/sso/oidc",
            &Auth::Session(mo),
            Body::None
        )
        .await
        .0,
        403
    );
    let token = t
        .token(
            "olga@corp.example",
            "corp",
            ideaweave_domain::TokenScope::Write,
        )
        .await;
    assert_eq!(
        call(
            &t,
            "DELETE",
            "/workspaces/corp/sso/oidc",
            &Auth::Token(token),
            Body::None
        )
        .await
        .0,
        403
    );
    assert_eq!(
        call(
            &t,
            "DELETE",
            "/workspaces/corp/sso/oidc",
            &Auth::Session(olga.clone()),
            Body::None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            &t,
            "GET",
            "/workspaces/corp/sso/oidc",
            &Auth::Session(olga),
            Body::None
        )
        .await
        .1,
        Value::Null
    );
}

#[tokio::test]
async fn idn_03_providers_on_this_machine_or_a_private_network_are_refused() {
    // Without `sso.allow_http_issuers` (production), a workspace admin cannot make the server
    // fetch from its own neighbourhood.
    let t = TestApp::spawn().await;
    t.workspace("inside").await;
    t.app
        .create_user(
            "ida@inside.example",
            "Ida",
            Some("ida's own long passphrase"),
            false,
        )
        .await
        .unwrap();
    t.app
        .add_member("inside", "ida@inside.example", Role::Owner)
        .await
        .unwrap();
    let ida = Auth::Session(
        t.session("ida@inside.example", "ida's own long passphrase")
            .await,
    );
    for issuer in [
        "https://127.0.0.1:8443",
        "https://10.0.0.5",
        "https://169.254.169.254",
        "https://[::1]:8443",
        "https://localhost:8443",
        "https://idp.local",
    ] {
        let (st, v) = call(
            &t,
            "PUT",
            "/workspaces/inside/sso/oidc",
            &ida,
            Body::Json(json!({"issuer": issuer, "client_id": "c", "client_secret": "s"})),
        )
        .await;
        assert_eq!(st, 409, "{issuer}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("private network"),
            "{issuer}: {v}"
        );
    }
    let (st, v) = call(
        &t,
        "PUT",
        "/workspaces/inside/sso/oidc",
        &ida,
        Body::Json(json!({"issuer": "http://idp.example", "client_id": "c", "client_secret": "s"})),
    )
    .await;
    assert_eq!(
        (st, v["error"]["field"].clone()),
        (422, json!("issuer")),
        "{v}"
    );
}

/// The sign-in set-up page, posted as the owner's browser would.
async fn setup_post(
    t: &TestApp,
    owner: &ideaweave_testkit::Session,
    action: &str,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let mut fields = vec![("csrf", owner.csrf.as_str())];
    fields.extend_from_slice(form);
    let (st, body, headers) = crate::content::pages::post(
        t,
        owner,
        &format!("/w/corp/settings/sign-in{action}"),
        &fields,
        false,
    )
    .await;
    let location = headers
        .get("location")
        .map(|l| l.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    (st, body, location)
}

/// The workspace's OpenID Connect settings as the API gives them to its owner (`null`: none).
async fn saved_oidc(t: &TestApp, owner: &ideaweave_testkit::Session) -> Value {
    let (st, v) = call(
        t,
        "GET",
        "/workspaces/corp/sso/oidc",
        &Auth::Session(owner.clone()),
        Body::None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    v
}

#[tokio::test]
async fn idn_03_admins_set_up_oidc_on_the_sign_in_page_after_testing_the_connection() {
    let idp = OidcProvider::start("corp");
    let (t, owner) = corp_and_owner().await;
    let member = t
        .member_session(
            "corp",
            "mel@corp.example",
            "Mel",
            "mel's long passphrase",
            Role::Member,
        )
        .await;
    let (st, ..) = crate::content::pages::get(&t, &member, "/w/corp/settings/sign-in").await;
    assert_eq!(st, 403, "members get no set-up page");

    let (st, page, _) = crate::content::pages::get(&t, &owner, "/w/corp/settings/sign-in").await;
    assert_eq!(st, 200);
    assert!(
        page.contains(&format!("{PUBLIC_URL}/sso/corp/oidc/callback")),
        "the address to register is shown before set-up"
    );
    assert!(page.contains("Not set up."));

    // Testing reads the provider's discovery document and saves nothing.
    let (st, page, _) = setup_post(
        &t,
        &owner,
        "/oidc",
        &[("action", "test"), ("issuer", &idp.issuer)],
    )
    .await;
    assert_eq!(st, 200, "{page}");
    assert!(
        page.contains(&format!("Connected: the provider at {}", idp.issuer)),
        "{page}"
    );
    assert!(
        page.contains(&format!("value=\"{}\"", idp.issuer)),
        "the typed issuer stays"
    );
    assert_eq!(discoveries(&idp).await, 1);
    assert_eq!(
        saved_oidc(&t, &owner).await,
        Value::Null,
        "a test saves nothing"
    );
    // A wrong address is told at its field; an unreachable provider above the form.
    let (st, page, _) = setup_post(
        &t,
        &owner,
        "/oidc",
        &[("action", "test"), ("issuer", "ftp://idp.example")],
    )
    .await;
    assert_eq!(st, 400);
    assert!(
        page.contains("id=\"oidc-issuer-error\">must be an https:// URL"),
        "{page}"
    );
    let (st, page, _) = setup_post(
        &t,
        &owner,
        "/oidc",
        &[("action", "test"), ("issuer", "http://localhost:9/none")],
    )
    .await;
    assert_eq!(st, 400);
    assert!(page.contains("id=\"oidc-problem\""), "{page}");

    // Saving without a secret the first time is refused at the secret's field, in German too.
    let (_, page, _) = {
        let (st, body, headers) = {
            let fields = [
                ("csrf", owner.csrf.as_str()),
                ("action", "save"),
                ("issuer", idp.issuer.as_str()),
                ("client_id", CLIENT_ID),
            ];
            let r = ideaweave_testkit::browser()
                .post(format!("{}/w/corp/settings/sign-in/oidc", t.base))
                .header("cookie", format!("iw_session={}", owner.cookie))
                .header("accept-language", "de")
                .form(&fields)
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            let h = r.headers().clone();
            (st, r.text().await.unwrap(), h)
        };
        assert_eq!(st, 400);
        (st, body, headers)
    };
    assert!(page.contains("id=\"oidc-secret-error\""), "{page}");
    assert!(page.contains("Client-Geheimnis"));

    let (st, _, location) = setup_post(
        &t,
        &owner,
        "/oidc",
        &[
            ("action", "save"),
            ("issuer", &idp.issuer),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("allowed_domains", "corp.example"),
            ("default_role", "member"),
        ],
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(location, "/w/corp/settings/sign-in?saved=1#oidc");
    let (_, page, _) = crate::content::pages::get(&t, &owner, "/w/corp/settings/sign-in").await;
    assert!(page.contains("Members can sign in through") && !page.contains(CLIENT_SECRET));

    // What the page saved signs people in at the real provider.
    let b = Browser::new(&t);
    let end = b
        .run(
            &format!("{PUBLIC_URL}/sso/corp/oidc/start"),
            "ann@corp.example",
        )
        .await;
    assert_eq!(
        end.status,
        200,
        "{} {}",
        end.url,
        &end.body[..end.body.len().min(300)]
    );
    let (st, me) = b.api("/me").await;
    assert_eq!(st, 200);
    assert_eq!(me["workspaces"][0]["slug"], "corp");

    // Changing it long after signing in asks the admin to prove who they are first.
    t.clock.advance(Duration::from_secs(3600));
    let (st, _, location) = setup_post(&t, &owner, "/oidc/remove", &[]).await;
    assert_eq!(st, 303);
    assert_eq!(location, "/reauth?next=/w/corp/settings/sign-in");
    assert_ne!(saved_oidc(&t, &owner).await, Value::Null, "nothing removed");
}

#[tokio::test]
async fn idn_02_admins_set_the_sign_in_policy_on_the_sign_in_page() {
    let (t, owner) = corp_and_owner().await;
    // Asking admins for a passkey while signed in with a password would lock the owner out.
    let (st, page, _) = setup_post(
        &t,
        &owner,
        "/policy",
        &[("member_minimum", "password"), ("admin_minimum", "passkey")],
    )
    .await;
    assert_eq!(st, 400);
    assert!(
        page.contains("id=\"admin-minimum-error\">is stronger than how you signed in"),
        "{page}"
    );
    // Admins weaker than members makes no sense either.
    let (st, page, _) = setup_post(
        &t,
        &owner,
        "/policy",
        &[("member_minimum", "mfa"), ("admin_minimum", "password")],
    )
    .await;
    assert_eq!(st, 400);
    assert!(page.contains("id=\"admin-minimum-error\""));
    let (st, _, location) = setup_post(
        &t,
        &owner,
        "/policy",
        &[
            ("member_minimum", "password"),
            ("admin_minimum", "password"),
        ],
    )
    .await;
    assert_eq!(st, 303, "{location}");
    // A forged level is refused, not taken as a default.
    let (st, ..) = setup_post(
        &t,
        &owner,
        "/policy",
        &[("member_minimum", "none"), ("admin_minimum", "password")],
    )
    .await;
    assert_eq!(st, 400);
}
