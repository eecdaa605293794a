//! IDN-03: SAML 2.0 single sign-on against a real identity provider (pysaml2 with xmlsec1 on
//! loopback, `tests/sso/saml_idp.py`; `cargo xtask test` installs both). The provider signs
//! real responses for whoever signs in, and makes the hostile ones of the corpus on request
//! (`variant=`): every one must be refused, whatever the provider lists.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call};
use crate::identity::sso::{Browser, Landing, PUBLIC_URL, attr, corp_and_owner, unescape};

/// The pysaml2 identity provider, running until dropped.
struct SamlIdp {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for SamlIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SamlIdp {
    fn start() -> Self {
        let port = ideaweave_testkit::closed_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/sso/saml_idp.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(p) = ideaweave_testkit::pythonpath() {
            cmd.env("PYTHONPATH", p);
        }
        let mut child = cmd
            .spawn()
            .expect("python3 runs (cargo xtask test installs pysaml2 and xmlsec1)");
        let out = child.stdout.take().expect("stdout");
        let line = ideaweave_testkit::first_line(out, Duration::from_secs(120)).unwrap_or_default();
        assert!(
            line.starts_with("listening "),
            "the SAML IdP did not start (pysaml2 in target/pydeps, Debian xmlsec1): {line:?}"
        );
        Self {
            child,
            base: line.trim_start_matches("listening ").trim().to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    async fn metadata(&self) -> String {
        self.get("/metadata").await.text().await.unwrap()
    }

    async fn variants(&self, which: &str) -> Vec<String> {
        self.get(&format!("/{which}-variants"))
            .await
            .json()
            .await
            .unwrap()
    }

    /// Registers a service provider's metadata.
    async fn register(&self, sp_metadata: String) {
        let r = self
            .http
            .post(format!("{}/sp", self.base))
            .body(sp_metadata)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
}

/// `corp` with its owner's session and SAML set up against `idp` (registered there too).
async fn corp(
    idp: &SamlIdp,
    domains: &[&str],
    groups: &[&str],
) -> (ideaweave_testkit::TestApp, ideaweave_testkit::Session) {
    let (t, owner) = corp_and_owner().await;
    let (st, v) = call(
        &t,
        "PUT",
        "/workspaces/corp/sso/saml",
        &Auth::Session(owner.clone()),
        Body::Json(json!({
            "idp_metadata": idp.metadata().await,
            "allowed_domains": domains, "group_attribute": "groups", "allowed_groups": groups,
        })),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["sp_entity_id"],
        format!("{PUBLIC_URL}/sso/corp/saml/metadata")
    );
    assert_eq!(v["acs_url"], format!("{PUBLIC_URL}/sso/corp/saml/acs"));
    let sp = reqwest::get(format!("{}/sso/corp/saml/metadata", t.base))
        .await
        .unwrap();
    assert_eq!(sp.status(), 200);
    idp.register(sp.text().await.unwrap()).await;
    (t, owner)
}

/// Starts a sign-in in `b` and has the provider answer it for `user` as `variant`: the
/// `SAMLResponse` and `RelayState` its page would post.
async fn answer(b: &Browser, idp: &SamlIdp, user: &str, variant: &str) -> (String, String) {
    // The provider stamps its answer with the real time.
    b.clock.catch_up();
    let r = b
        .http
        .get(format!("{}/sso/corp/saml/start", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to_idp = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to_idp.starts_with(&idp.base), "{to_idp}");
    assert!(
        to_idp.contains("&Signature="),
        "the AuthnRequest is signed: {to_idp}"
    );
    let page = b
        .http
        .get(format!("{to_idp}&user={user}&variant={variant}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "{variant}");
    let page = page.text().await.unwrap();
    let field = |name: &str| {
        regex::Regex::new(r#"<input[^>]*>"#)
            .unwrap()
            .find_iter(&page)
            .map(|m| m.as_str())
            .find(|tag| attr(tag, "name").as_deref() == Some(name))
            .and_then(|tag| attr(tag, "value"))
            .unwrap_or_else(|| panic!("{variant}: no {name} on the provider's page: {page}"))
    };
    (field("SAMLResponse"), field("RelayState"))
}

/// Posts a provider's answer to the assertion consumer service from `b`, as the provider's
/// page does, and follows the application's redirects.
async fn post_answer(b: &Browser, response: &str, relay_state: &str) -> Landing {
    let r = b
        .http
        .post(format!("{}/sso/corp/saml/acs", b.base))
        .form(&[("SAMLResponse", response), ("RelayState", relay_state)])
        .send()
        .await
        .unwrap();
    match r.headers().get("location") {
        Some(loc) => {
            let loc = loc.to_str().unwrap().to_owned();
            b.run(&format!("{}{loc}", b.base), "").await
        }
        None => Landing {
            status: r.status().as_u16(),
            url: r.url().to_string(),
            body: r.text().await.unwrap_or_default(),
        },
    }
}

async fn sign_in(b: &Browser, idp: &SamlIdp, user: &str, variant: &str) -> Landing {
    let (response, relay) = answer(b, idp, user, variant).await;
    post_answer(b, &response, &relay).await
}

#[tokio::test]
async fn idn_03_saml_signs_in_creates_members_and_logs_out_at_the_provider() {
    let idp = SamlIdp::start();
    let (t, _) = corp(&idp, &["corp.example"], &[]).await;
    let valid = idp.variants("valid").await;
    assert!(valid.len() >= 3, "{valid:?}");
    let mut ann = Value::Null;
    for variant in &valid {
        let b = Browser::new(&t);
        let end = sign_in(&b, &idp, "ann@corp.example", variant).await;
        assert_eq!(end.status, 200, "{variant}: {} {}", end.url, end.body);
        let (st, me) = b.api("/me").await;
        assert_eq!(st, 200, "{variant}: {me}");
        assert_eq!(me["user"]["email"], "ann@corp.example");
        assert_eq!(me["workspaces"][0]["slug"], "corp");
        assert_eq!(me["workspaces"][0]["role"], "member");
        // The first sign-in made the account; the others are the same account.
        if ann.is_null() {
            ann = me["user"]["id"].clone();
        }
        assert_eq!(me["user"]["id"], ann, "{variant}");
    }

    // Signing out here sends a signed LogoutRequest to the provider, whose signed answer comes
    // back to the single logout service.
    let b = Browser::new(&t);
    sign_in(&b, &idp, "ann@corp.example", "signed-assertion").await;
    let out = b.post_form("/account", "/sign-out").await;
    assert_eq!(out.status, 200);
    let link = regex::Regex::new(r#"data-follow href="([^"]+)""#)
        .unwrap()
        .captures(&out.body)
        .map(|c| unescape(&c[1]))
        .expect("a hand-off to the provider's single logout service");
    assert!(
        link.starts_with(&format!("{}/slo?SAMLRequest=", idp.base)) && link.contains("&Signature="),
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
    let logged_out: Vec<String> = idp.get("/logged-out").await.json().await.unwrap();
    assert!(
        logged_out.contains(&"ann@corp.example".to_owned()),
        "{logged_out:?}"
    );

    // Logging out at the provider ends the session here too (IdP-initiated single logout),
    // and the provider gets a signed answer.
    let b = Browser::new(&t);
    sign_in(&b, &idp, "ann@corp.example", "signed-assertion").await;
    assert_eq!(b.api("/me").await.0, 200);
    let entity = format!("{PUBLIC_URL}/sso/corp/saml/metadata");
    t.clock.catch_up();
    let r = idp
        .get(&format!(
            "/idp-logout?user=ann@corp.example&sp={}",
            url_encode(&entity)
        ))
        .await;
    let to_sp = r
        .headers()
        .get("location")
        .expect("the provider redirects to our single logout service")
        .to_str()
        .unwrap()
        .replacen(PUBLIC_URL, &t.base, 1);
    // Tampered copies are refused before anything happens: a second SAMLRequest, or one under
    // an encoded name, next to the signed one.
    for tampered in [
        format!("{to_sp}&SAMLRequest=eA%3D%3D"),
        to_sp.replacen("SAMLRequest=", "SAML%52equest=eA%3D%3D&SAMLRequest=", 1),
    ] {
        let r = b.http.get(&tampered).send().await.unwrap();
        assert_eq!(r.status(), 400, "{tampered}");
        assert_eq!(b.api("/me").await.0, 200);
    }
    let r = b.http.get(&to_sp).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let back = r.headers()["location"].to_str().unwrap();
    assert!(
        back.starts_with(&format!("{}/slo?SAMLResponse=", idp.base))
            && back.contains("&Signature="),
        "{back}"
    );
    assert_eq!(b.api("/me").await.0, 401);
    // The same logout request again is refused: it was used.
    let b = Browser::new(&t);
    sign_in(&b, &idp, "ann@corp.example", "signed-assertion").await;
    let r = b.http.get(&to_sp).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("used already"));
    assert_eq!(b.api("/me").await.0, 200);
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn idn_03_saml_hostile_responses_are_all_refused() {
    let idp = SamlIdp::start();
    let (t, owner) = corp(&idp, &["corp.example"], &[]).await;
    let hostile = idp.variants("hostile").await;
    for expected in [
        "unsigned",
        "impostor-key",
        "wrong-audience",
        "no-audience",
        "wrong-recipient",
        "wrong-destination",
        "wrong-in-response-to",
        "expired",
        "not-yet-valid",
        "comment-in-nameid",
        "sha1",
        "doctype",
        "external-reference",
        "two-signatures",
    ] {
        assert!(
            hostile.iter().any(|v| v == expected),
            "{expected} in {hostile:?}"
        );
    }
    assert!(
        hostile.iter().filter(|v| v.starts_with("xsw")).count() >= 8,
        "{hostile:?}"
    );
    for variant in &hostile {
        let b = Browser::new(&t);
        let end = sign_in(&b, &idp, "ann@corp.example", variant).await;
        assert_eq!(end.status, 403, "{variant} must be refused: {}", end.body);
        assert!(
            end.body.contains("single sign-on failed"),
            "{variant}: {}",
            end.body
        );
        assert_eq!(b.api("/me").await.0, 401, "{variant}");
        // Refused for the reason the variant is about, not by accident.
        let why = match variant.as_str() {
            "unsigned" | "impostor-key" => "must be signed",
            v if v.starts_with("xsw") => "the response is refused:",
            "wrong-audience" => "AudienceRequirement",
            "no-audience" => "names no audience",
            "wrong-recipient" => "Recipient does not match",
            "wrong-destination" => "destination does not match",
            "wrong-in-response-to" => "InResponseTo",
            "expired" => "expired at",
            "not-yet-valid" => "not valid until",
            "comment-in-nameid" => "XML comments",
            "sha1" => "SHA-1",
            "doctype" => "document type",
            "external-reference" => "references something other than its element",
            "two-signatures" => "more than one signature",
            _ => "single sign-on failed",
        };
        assert!(end.body.contains(why), "{variant}: {why:?} in {}", end.body);
    }
    // Nothing made the application fetch what a signature's reference pointed at.
    let probes: u64 = idp.get("/probes").await.json().await.unwrap();
    assert_eq!(probes, 0, "a Reference URI was followed");
    // Nobody was let in: no account for Ann, let alone for the wrapped-in "admin".
    let members = t.client(&owner).members("corp").await.expect(200);
    let emails: Vec<&str> = members
        .items
        .iter()
        .filter_map(|m| m.email.as_deref())
        .collect();
    assert!(
        !emails
            .iter()
            .any(|e| e.contains("ann@") || e.contains("evil")),
        "{emails:?}"
    );

    // A valid response is accepted once: replayed, it is refused.
    let b = Browser::new(&t);
    let (response, relay) = answer(&b, &idp, "ann@corp.example", "signed-assertion").await;
    assert_eq!(post_answer(&b, &response, &relay).await.status, 200);
    let again = Browser::new(&t);
    let end = post_answer(&again, &response, &relay).await;
    assert_eq!(end.status, 403);
    assert!(end.body.contains("used already"), "{}", end.body);
    assert_eq!(again.api("/me").await.0, 401);
    // A new response that repeats an accepted assertion's ID is a replay too (the assertion-ID
    // cache, which holds whatever the request IDs say).
    let b = Browser::new(&t);
    let end = sign_in(&b, &idp, "ann@corp.example", "repeated-assertion-id").await;
    assert_eq!(end.status, 403, "{}", end.body);
    assert!(
        end.body.contains("this response was used already"),
        "{}",
        end.body
    );
    assert_eq!(b.api("/me").await.0, 401);
    // Nor does it answer another sign-in (InResponseTo).
    let other = Browser::new(&t);
    let (_, other_relay) = answer(&other, &idp, "ann@corp.example", "signed-assertion").await;
    let end = post_answer(&other, &response, &other_relay).await;
    assert_eq!(end.status, 403, "{}", end.body);

    // A response the provider sent unasked (IdP-initiated), or garbage, is refused.
    for (response, relay) in [(&response[..], ""), ("bm90IFhNTA==", "x"), ("%%%", "x")] {
        let b = Browser::new(&t);
        let r = b
            .http
            .post(format!("{}/sso/corp/saml/acs", t.base))
            .form(&[("SAMLResponse", response), ("RelayState", relay)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{response:.20}");
    }

    // An answer finished in another browser signs nobody in (login CSRF).
    let attacker = Browser::new(&t);
    let (response, relay) = answer(&attacker, &idp, "gus@corp.example", "signed-assertion").await;
    let r = attacker
        .http
        .post(format!("{}/sso/corp/saml/acs", t.base))
        .form(&[
            ("SAMLResponse", response.as_str()),
            ("RelayState", relay.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let finish = r.headers()["location"].to_str().unwrap().to_owned();
    let victim = Browser::new(&t);
    let end = victim.run(&format!("{}{finish}", t.base), "").await;
    assert_eq!(end.status, 403, "{}", end.body);
    assert!(end.body.contains("another browser"), "{}", end.body);
    assert_eq!(victim.api("/me").await.0, 401);
}

#[tokio::test]
async fn idn_03_saml_matches_accounts_by_subject_and_admits_by_group() {
    let idp = SamlIdp::start();
    let (t, _) = corp(&idp, &[], &["staff"]).await;
    let b = Browser::new(&t);
    let end = sign_in(&b, &idp, "gus@corp.example", "signed-assertion").await;
    assert_eq!(end.status, 200, "in the staff group: {}", end.body);
    let b = Browser::new(&t);
    let end = sign_in(&b, &idp, "gil@partner.example", "signed-assertion").await;
    assert_eq!(end.status, 403, "not in the group: {}", end.body);
    // Olga has an account with a password: the provider asserting her address is not enough.
    let b = Browser::new(&t);
    let end = sign_in(&b, &idp, "olga@corp.example", "signed-assertion").await;
    assert_eq!(end.status, 403, "{}", end.body);
    assert!(
        end.body.contains("does not let this address join"),
        "{}",
        end.body
    );
    assert_eq!(b.api("/me").await.0, 401);
}

#[tokio::test]
async fn idn_03_saml_settings_are_checked_and_need_admins() {
    let idp = SamlIdp::start();
    let (t, owner) = corp(&idp, &["corp.example"], &[]).await;
    let as_owner = Auth::Session(owner.clone());
    let metadata = idp.metadata().await;
    let put = |body: Value| {
        call(
            &t,
            "PUT",
            "/workspaces/corp/sso/saml",
            &as_owner,
            Body::Json(body),
        )
    };
    let no_cert = regex::Regex::new(r"(?s)<[a-z0-9]*:?KeyDescriptor.*?</[a-z0-9]*:?KeyDescriptor>")
        .unwrap()
        .replace_all(&metadata, "")
        .into_owned();
    assert!(!no_cert.contains("X509Certificate"), "{no_cert}");
    for (bad, words) in [
        ("not XML at all".to_owned(), "not SAML metadata"),
        (no_cert, "no signing certificate"),
        (
            format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{metadata}"),
            "document type",
        ),
        (metadata.replacen("<", "<!-- hi -->\n<", 1), "comments"),
        ("x".repeat(300 * 1024), "256 KiB"),
    ] {
        let (st, v) = put(json!({"idp_metadata": bad})).await;
        assert_eq!(
            (st, v["error"]["field"].clone()),
            (422, json!("idp_metadata")),
            "{v}"
        );
        assert!(
            v["error"]["message"].as_str().unwrap().contains(words),
            "{words}: {v}"
        );
    }
    let (st, v) = put(json!({"idp_metadata": metadata, "default_role": "admin"})).await;
    assert_eq!(
        (st, v["error"]["field"].clone()),
        (422, json!("default_role")),
        "{v}"
    );
    // The workspace keeps its key pair when the provider changes: the provider's copy of the
    // SP metadata stays right.
    let before = reqwest::get(format!("{}/sso/corp/saml/metadata", t.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (st, v) = put(json!({"idp_metadata": metadata, "allowed_domains": ["corp.example"]})).await;
    assert_eq!(st, 200, "{v}");
    let after = reqwest::get(format!("{}/sso/corp/saml/metadata", t.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cert = |x: &str| {
        regex::Regex::new(r"<ds:X509Certificate>([^<]+)<")
            .unwrap()
            .captures(x)
            .map(|c| c[1].to_owned())
            .unwrap()
    };
    assert_eq!(cert(&before), cert(&after));

    // Another provider's metadata (other entity ID, other keys) forgets the links the first
    // one made: switching back, Ann's account is no longer reachable through single sign-on,
    // so a workspace admin cannot paste in their own keys to sign in as linked people.
    let b = Browser::new(&t);
    assert_eq!(
        sign_in(&b, &idp, "ann@corp.example", "signed-assertion")
            .await
            .status,
        200
    );
    let other = SamlIdp::start();
    let (st, v) =
        put(json!({"idp_metadata": other.metadata().await, "allowed_domains": ["corp.example"]}))
            .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = put(json!({"idp_metadata": metadata, "allowed_domains": ["corp.example"]})).await;
    assert_eq!(st, 200, "{v}");
    let b = Browser::new(&t);
    let end = sign_in(&b, &idp, "ann@corp.example", "signed-assertion").await;
    assert_eq!(end.status, 403, "{}", end.body);
    assert!(
        end.body.contains("does not let this address join"),
        "{}",
        end.body
    );
    let (_, audit) = call(
        &t,
        "GET",
        "/workspaces/corp/audit/events?action=workspace.sso_changed",
        &as_owner,
        Body::None,
    )
    .await;
    assert!(audit.to_string().contains(r#""unlinked":1"#), "{audit}");

    // A forged logout request ends nobody's session.
    let b = Browser::new(&t);
    sign_in(&b, &idp, "fay@corp.example", "signed-assertion").await;
    assert_eq!(b.api("/me").await.0, 200);
    let r = b
        .http
        .get(format!(
            "{}/sso/corp/saml/slo?SAMLRequest=bm90IHNpZ25lZA%3D%3D",
            t.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(b.api("/me").await.0, 200);

    // Members cannot read it; tokens cannot change it; admins turn it off.
    let mo = t
        .member_session(
            "corp",
            "mo@corp.example",
            "Mo",
            "mo's own long passphrase",
            ideaweave_domain::Role::Member,
        )
        .await;
    let get = call(
        &t,
        "GET",
        "/workspaces/corp/sso/saml",
        &Auth::Session(mo),
        Body::None,
    )
    .await;
    assert_eq!(get.0, 403);
    let token = t
        .token(
            "olga@corp.example",
            "corp",
            ideaweave_domain::TokenScope::Write,
        )
        .await;
    let del = call(
        &t,
        "DELETE",
        "/workspaces/corp/sso/saml",
        &Auth::Token(token),
        Body::None,
    )
    .await;
    assert_eq!(del.0, 403);
    let del = call(
        &t,
        "DELETE",
        "/workspaces/corp/sso/saml",
        &as_owner,
        Body::None,
    )
    .await;
    assert_eq!(del.0, 204);
    let get = call(
        &t,
        "GET",
        "/workspaces/corp/sso/saml",
        &as_owner,
        Body::None,
    )
    .await;
    assert_eq!(get.1, Value::Null);
    assert_eq!(
        reqwest::get(format!("{}/sso/corp/saml/metadata", t.base))
            .await
            .unwrap()
            .status(),
        404
    );

    // Without `sso.allow_http_issuers`, a provider's single sign-on service must be https.
    let strict = ideaweave_testkit::TestApp::spawn().await;
    strict.workspace("strict").await;
    strict
        .app
        .create_user(
            "sam@strict.example",
            "Sam",
            Some("sam's own long passphrase"),
            false,
        )
        .await
        .unwrap();
    strict
        .app
        .add_member(
            "strict",
            "sam@strict.example",
            ideaweave_domain::Role::Owner,
        )
        .await
        .unwrap();
    let sam = strict
        .session("sam@strict.example", "sam's own long passphrase")
        .await;
    let (st, v) = call(
        &strict,
        "PUT",
        "/workspaces/strict/sso/saml",
        &Auth::Session(sam),
        Body::Json(json!({"idp_metadata": metadata})),
    )
    .await;
    assert_eq!(
        (st, v["error"]["field"].clone()),
        (422, json!("idp_metadata")),
        "{v}"
    );
}

#[tokio::test]
async fn idn_03_admins_set_up_saml_on_the_sign_in_page_after_checking_the_metadata() {
    let idp = SamlIdp::start();
    let (t, owner) = corp_and_owner().await;
    let metadata = idp.metadata().await;
    let post = |form: Vec<(&'static str, String)>| {
        let t = &t;
        let owner = &owner;
        async move {
            let mut fields = vec![("csrf", owner.csrf.clone())];
            fields.extend(form);
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            crate::content::pages::post(t, owner, "/w/corp/settings/sign-in/saml", &pairs, false)
                .await
        }
    };
    // Checking reads the metadata and saves nothing.
    let (st, page, _) = post(vec![
        ("action", "test".into()),
        ("idp_metadata", metadata.clone()),
    ])
    .await;
    assert_eq!(st, 200, "{page}");
    assert!(
        page.contains("The metadata is readable: identity provider"),
        "{page}"
    );
    assert!(page.contains("1 signing certificate") || page.contains("signing certificates"));
    let (_, v) = call(
        &t,
        "GET",
        "/workspaces/corp/sso/saml",
        &Auth::Session(owner.clone()),
        Body::None,
    )
    .await;
    assert_eq!(v, Value::Null, "a check saves nothing");
    // Something that is not metadata is told at the field, in the reader's words.
    let (st, page, _) = post(vec![
        ("action", "test".into()),
        ("idp_metadata", "<html>hello</html>".into()),
    ])
    .await;
    assert_eq!(st, 400);
    assert!(page.contains("id=\"saml-metadata-error\""), "{page}");
    assert!(
        page.contains("&#60;html&#62;hello&#60;/html&#62;</textarea>"),
        "what was pasted stays"
    );

    let (st, _, headers) = post(vec![
        ("action", "save".into()),
        ("idp_metadata", metadata),
        ("allowed_domains", "corp.example".into()),
        ("group_attribute", "groups".into()),
        ("default_role", "member".into()),
    ])
    .await;
    assert_eq!(st, 303);
    assert_eq!(headers["location"], "/w/corp/settings/sign-in?saved=1#saml");
    let (_, page, _) = crate::content::pages::get(&t, &owner, "/w/corp/settings/sign-in").await;
    assert!(
        page.contains(&format!("{PUBLIC_URL}/sso/corp/saml/acs")),
        "the addresses to register are shown"
    );
    // Registered at the provider, what the page saved signs people in.
    let sp = reqwest::get(format!("{}/sso/corp/saml/metadata", t.base))
        .await
        .unwrap();
    idp.register(sp.text().await.unwrap()).await;
    let valid = idp.variants("valid").await;
    let b = Browser::new(&t);
    let end = sign_in(&b, &idp, "ann@corp.example", &valid[0]).await;
    assert_eq!(end.status, 200, "{} {}", end.url, end.body);
    let (st, me) = b.api("/me").await;
    assert_eq!(st, 200);
    assert_eq!(me["workspaces"][0]["slug"], "corp");
    // And it can be turned off again.
    let (st, ..) = crate::content::pages::post(
        &t,
        &owner,
        "/w/corp/settings/sign-in/saml/remove",
        &[("csrf", &owner.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (_, v) = call(
        &t,
        "GET",
        "/workspaces/corp/sso/saml",
        &Auth::Session(owner.clone()),
        Body::None,
    )
    .await;
    assert_eq!(v, Value::Null);
}
