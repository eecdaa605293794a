//! COL-02: invitations by email with expiring, single-use links; sign-in and sign-out.

use std::time::Duration;

use ideaweave_domain::Role;
use ideaweave_testkit::{Person, TestApp};
use serde_json::json;

use crate::helpers::{Auth, Body, call, error_code, with_token};
use crate::platform::routes::Fixture;

async fn invite(t: &TestApp, by: &Person, email: &str, role: Role) -> String {
    let created = t
        .client(by)
        .invite("invites", email, role)
        .await
        .expect(201);
    let token = created
        .token
        .expect("no mail server: the secret is returned");
    let url = created.accept_url.expect("and the link to pass on");
    assert!(url.ends_with(&token));
    token
}

#[tokio::test]
async fn col_02_invitation_creates_account_once_and_signs_in() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "invites").await;
    let token = invite(&t, &f.admin, "New.Person@Example.org", Role::Moderator).await;
    let anyone = t.client(Auth::None);
    let info = anyone.invitation_info(&token).await.expect(200);
    assert_eq!(
        (info.email.as_str(), info.role),
        ("new.person@example.org", Role::Moderator)
    );
    let accept = format!("/invitations/{token}/accept");
    let weak = anyone
        .accept_invitation(&token, Some(("New Person", "short")))
        .await;
    assert_eq!(
        (weak.status, weak.body["error"]["field"].as_str()),
        (422, Some("password"))
    );
    let resp = t
        .http
        .post(t.api(&accept))
        .json(&json!({"name": "New Person", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let me: serde_json::Value = t
        .http
        .get(t.api("/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["workspaces"][0]["role"], "moderator");
    let (st, v) = call(
        &t,
        "POST",
        &accept,
        &Auth::None,
        Body::Json(json!({"name": "Again", "password": "a long enough password"})),
    )
    .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (409, "conflict"),
        "single use"
    );
    let (st, v) = call(
        &t,
        "POST",
        "/session",
        &Auth::None,
        Body::Json(
            json!({"email": "new.person@example.org", "password": "a long enough password"}),
        ),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert!(v["csrf_token"].is_string());
}

#[tokio::test]
async fn col_02_invitations_expire_can_be_revoked_and_cannot_be_guessed() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "invites").await;
    let revoked = invite(&t, &f.ws.owner, "r@example.org", Role::Member).await;
    let list = t
        .client(&f.ws.owner)
        .invitations("invites")
        .await
        .expect(200);
    assert_eq!(list[0].email, "r@example.org");
    let id = list[0].id;
    assert_eq!(
        with_token(
            &t,
            "DELETE",
            &format!("/workspaces/invites/invitations/{id}"),
            &f.ws.owner.token,
            None
        )
        .await
        .0,
        204
    );
    let body = || Body::Json(json!({"name": "R", "password": "a long enough password"}));
    assert_eq!(
        call(
            &t,
            "POST",
            &format!("/invitations/{revoked}/accept"),
            &Auth::None,
            body()
        )
        .await
        .0,
        409
    );
    let late = invite(&t, &f.ws.owner, "late@example.org", Role::Member).await;
    t.clock.advance(Duration::from_secs(8 * 24 * 3600));
    let (st, v) = call(
        &t,
        "POST",
        &format!("/invitations/{late}/accept"),
        &Auth::None,
        body(),
    )
    .await;
    assert_eq!(st, 409, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("expired"));
    let mut forged = late.clone();
    forged.pop();
    forged.push(if late.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(
        call(
            &t,
            "GET",
            &format!("/invitations/{forged}"),
            &Auth::None,
            Body::None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(&t, "GET", "/invitations/garbage", &Auth::None, Body::None)
            .await
            .0,
        404
    );
    let (st, _) = with_token(
        &t,
        "POST",
        "/workspaces/invites/invitations",
        &f.admin.token,
        Some(json!({"email": "boss@example.org", "role": "owner"})),
    )
    .await;
    assert_eq!(st, 403, "admins cannot invite owners");
    let (st, _) = with_token(
        &t,
        "POST",
        "/workspaces/invites/invitations",
        &f.ws.owner.token,
        Some(json!({"email": f.member.email, "role": "member"})),
    )
    .await;
    assert_eq!(st, 409, "members are not invited twice");
}

#[tokio::test]
async fn col_02_existing_accounts_accept_while_signed_in() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "invites").await;
    let s = t
        .session("has.account@example.org", "an existing password")
        .await;
    let token = invite(&t, &f.ws.owner, "has.account@example.org", Role::Member).await;
    let accept = format!("/invitations/{token}/accept");
    let (st, v) = call(&t, "POST", &accept, &Auth::None, Body::Json(json!({}))).await;
    assert_eq!(st, 403, "{v}");
    let other = t
        .session("someone.else@example.org", "another password!")
        .await;
    assert_eq!(
        call(
            &t,
            "POST",
            &accept,
            &Auth::Session(other),
            Body::Json(json!({}))
        )
        .await
        .0,
        403
    );
    let (st, v) = call(
        &t,
        "POST",
        &accept,
        &Auth::Session(s.clone()),
        Body::Json(json!({})),
    )
    .await;
    assert_eq!((st, v["slug"].as_str()), (200, Some("invites")));
    assert_eq!(
        call(
            &t,
            "GET",
            "/workspaces/invites",
            &Auth::Session(s),
            Body::None
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn sign_in_does_not_reveal_which_accounts_exist() {
    let t = TestApp::spawn().await;
    t.session("known@example.org", "the right password").await;
    let wrong = call(
        &t,
        "POST",
        "/session",
        &Auth::None,
        Body::Json(json!({"email": "known@example.org", "password": "the wrong password"})),
    )
    .await;
    let unknown = call(
        &t,
        "POST",
        "/session",
        &Auth::None,
        Body::Json(json!({"email": "nobody@example.org", "password": "the wrong password"})),
    )
    .await;
    let junk = call(
        &t,
        "POST",
        "/session",
        &Auth::None,
        Body::Json(json!({"email": "not an email", "password": "x"})),
    )
    .await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, junk);
    assert_eq!(wrong.0, 403);
}

#[tokio::test]
async fn session_and_invitation_routes_reject_bad_input() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "invites").await;
    let token = invite(&t, &f.ws.owner, "bad.input@example.org", Role::Member).await;
    let accept = format!("/invitations/{token}/accept");
    for path in ["/session", accept.as_str()] {
        let cases: Vec<(&str, Body, u16)> = vec![
            (
                "malformed",
                Body::Raw {
                    content_type: "application/json",
                    bytes: b"{\"email\":".to_vec(),
                },
                400,
            ),
            (
                "not json",
                Body::Raw {
                    content_type: "text/plain",
                    bytes: b"email=x".to_vec(),
                },
                415,
            ),
            (
                "unknown field",
                Body::Json(json!({"email": "a@b.org", "password": "x", "admin": true})),
                422,
            ),
            (
                "wrong type",
                Body::Json(json!({"email": 1, "password": ["x"]})),
                422,
            ),
            (
                "oversized",
                Body::Raw {
                    content_type: "application/json",
                    bytes: format!("{{\"email\":\"{}\"}}", "x".repeat(2 << 20)).into_bytes(),
                },
                413,
            ),
        ];
        for (what, body, want) in cases {
            let (st, v) = call(&t, "POST", path, &Auth::None, body).await;
            assert_eq!(st, want, "{path} {what}: {v}");
            error_code(&v);
        }
    }
    let (st, v) = call(
        &t,
        "POST",
        "/session",
        &Auth::None,
        Body::Json(json!({"email": "a@b.org"})),
    )
    .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (422, "invalid_input"),
        "missing password"
    );
    let (st, v) = call(
        &t,
        "POST",
        &accept,
        &Auth::None,
        Body::Json(json!({"password": "a long enough password"})),
    )
    .await;
    assert_eq!(
        (st, v["error"]["field"].as_str()),
        (422, Some("name")),
        "missing name for a new account"
    );
    let (st, _) = call(
        &t,
        "GET",
        &format!("/invitations/{}", "x".repeat(5000)),
        &Auth::None,
        Body::None,
    )
    .await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn the_openapi_document_is_served_and_describes_the_api() {
    let t = TestApp::spawn().await;
    let resp = t.http.get(t.api("/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let doc: serde_json::Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert!(
        doc["paths"]["/workspaces/{slug}/discussions/{discussion_id}/ideas"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .len()
            >= 7
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let health = t
        .http
        .get(format!("{}/readyz", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn col_02_api_tokens_cannot_accept_invitations() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "invites").await;
    let other = t.workspace("elsewhere").await;
    let token = invite(&t, &f.ws.owner, &other.owner.email, Role::Member).await;
    let read_only = t
        .token(
            &other.owner.email,
            "elsewhere",
            ideaweave_domain::TokenScope::Read,
        )
        .await;
    let (st, v) = call(
        &t,
        "POST",
        &format!("/invitations/{token}/accept"),
        &Auth::Token(read_only),
        Body::Json(json!({})),
    )
    .await;
    assert_eq!(
        st, 403,
        "a token of another workspace must not join its owner here: {v}"
    );
    assert_eq!(
        call(
            &t,
            "GET",
            "/workspaces/invites",
            &Auth::Token(other.owner.token.clone()),
            Body::None
        )
        .await
        .0,
        404
    );
}

/// Issue 19, finding 7: whoever invites cannot learn from the invitation link whether an
/// address has an account: the anonymous view (API and page) is the same, apart from the
/// address itself and the link's own token, for an address with an account and one without.
#[tokio::test]
async fn col_02_the_invitation_link_does_not_tell_whether_an_account_exists() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "invites").await;
    t.session("has.account@example.org", "a long enough password")
        .await;
    let existing = invite(&t, &f.admin, "has.account@example.org", Role::Member).await;
    let unknown = invite(&t, &f.admin, "no.account@example.org", Role::Member).await;
    let view = |token: String, email: &'static str| {
        let t = &t;
        async move {
            let (st, mut api) = call(
                t,
                "GET",
                &format!("/invitations/{token}"),
                &Auth::None,
                Body::None,
            )
            .await;
            assert_eq!(st, 200, "{api}");
            api["email"] = json!("X");
            api["expires_at"] = json!(0);
            let page = t
                .http
                .get(format!("{}/invitations/{token}", t.base))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .replace(&token, "TOKEN")
                .replace(email, "EMAIL");
            // Per-response values (CSRF token, nonces) are not about the account.
            let page = regex::Regex::new(r#"value="[A-Za-z0-9_-]{20,}""#)
                .unwrap()
                .replace_all(&page, "value=\"R\"")
                .into_owned();
            (api, page)
        }
    };
    let (api_a, page_a) = view(existing, "has.account@example.org").await;
    let (api_b, page_b) = view(unknown, "no.account@example.org").await;
    assert_eq!(api_a, api_b, "the API view differs");
    assert!(api_a.get("account_exists").is_none(), "{api_a}");
    assert_eq!(page_a, page_b, "the page differs");
}

#[tokio::test]
async fn col_02_inviting_an_address_again_replaces_its_pending_link() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "invites").await;
    let first = invite(&t, &f.admin, "again@example.org", Role::Member).await;
    let other = invite(&t, &f.admin, "someone.else@example.org", Role::Member).await;
    let second = invite(&t, &f.admin, "Again@Example.org", Role::Moderator).await;
    let pending = t.client(&f.admin).invitations("invites").await.expect(200);
    let addresses: Vec<&str> = pending.iter().map(|i| i.email.as_str()).collect();
    assert_eq!(
        addresses
            .iter()
            .filter(|a| **a == "again@example.org")
            .count(),
        1,
        "one pending invitation per address: {addresses:?}"
    );
    assert!(addresses.contains(&"someone.else@example.org"));
    let anyone = t.client(Auth::None);
    let stale = anyone
        .accept_invitation(&first, Some(("Again", "a long enough password")))
        .await;
    assert_eq!(stale.refused(409), "conflict", "the replaced link is dead");
    let fresh = anyone
        .accept_invitation(&second, Some(("Again", "a long enough password")))
        .await;
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    assert_eq!(anyone.invitation_info(&other).await.status, 200);
}
