//! ACC-03: access ends on the very next request when a token, membership, role or session is
//! removed or expires.

use std::time::Duration;

use ideaweave_domain::Role;
use ideaweave_testkit::TestApp;
use serde_json::json;

use crate::helpers::{Auth, Body, call, error_code, with_token};
use crate::platform::routes::Fixture;

#[tokio::test]
async fn acc_03_revoked_token_fails_on_next_request() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "revoke").await;
    let tok = t
        .token(
            &f.member.email,
            "revoke",
            ideaweave_domain::TokenScope::Read,
        )
        .await;
    assert_eq!(
        with_token(&t, "GET", "/workspaces/revoke", &tok, None)
            .await
            .0,
        200
    );
    let (_, list) = with_token(
        &t,
        "GET",
        "/workspaces/revoke/tokens",
        &f.member.token,
        None,
    )
    .await;
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["scope"] == "read")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, _) = with_token(
        &t,
        "DELETE",
        &format!("/workspaces/revoke/tokens/{id}"),
        &f.member.token,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, v) = with_token(&t, "GET", "/workspaces/revoke", &tok, None).await;
    assert_eq!((st, error_code(&v).as_str()), (401, "unauthenticated"));
    let (st, _) = with_token(
        &t,
        "DELETE",
        &format!("/workspaces/revoke/tokens/{id}"),
        &f.member.token,
        None,
    )
    .await;
    assert_eq!(st, 404, "revoking twice finds nothing to revoke");
}

#[tokio::test]
async fn acc_03_removed_member_loses_access_at_once_by_token_and_session() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "removal").await;
    let s = t.session("leaver@example.org", "leaver password 12").await;
    t.app
        .add_member("removal", "leaver@example.org", Role::Member)
        .await
        .unwrap();
    let leaver_token = t
        .token(
            "leaver@example.org",
            "removal",
            ideaweave_domain::TokenScope::Write,
        )
        .await;
    assert_eq!(
        call(
            &t,
            "GET",
            "/workspaces/removal",
            &Auth::Session(s.clone()),
            Body::None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        with_token(&t, "GET", "/workspaces/removal", &leaver_token, None)
            .await
            .0,
        200
    );
    let (st, _) = with_token(
        &t,
        "DELETE",
        &format!("/workspaces/removal/members/{}", s.user),
        &f.admin.token,
        None,
    )
    .await;
    assert_eq!(st, 204);
    assert_eq!(
        call(
            &t,
            "GET",
            "/workspaces/removal",
            &Auth::Session(s),
            Body::None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        with_token(&t, "GET", "/workspaces/removal", &leaver_token, None)
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn acc_03_demotion_takes_effect_on_next_request() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "demote").await;
    let (st, _) = with_token(
        &t,
        "PATCH",
        "/workspaces/demote",
        &f.admin.token,
        Some(json!({"name":"Still admin"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = with_token(
        &t,
        "PATCH",
        &format!("/workspaces/demote/members/{}", f.admin.id),
        &f.ws.owner.token,
        Some(json!({"role":"member"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = with_token(
        &t,
        "PATCH",
        "/workspaces/demote",
        &f.admin.token,
        Some(json!({"name":"Not any more"})),
    )
    .await;
    assert_eq!(st, 403);
}

#[tokio::test]
async fn acc_03_tokens_and_sessions_expire() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "expiry").await;
    let s = t.session("expiring@example.org", "expiring password").await;
    let short = t
        .app
        .create_token_for(
            &f.member.email,
            "expiry",
            ideaweave_app::TokenInput {
                name: "short".into(),
                scope: ideaweave_domain::TokenScope::Read,
                expires_in_days: Some(1),
            },
        )
        .await
        .unwrap()
        .secret;
    assert_eq!(
        with_token(&t, "GET", "/workspaces/expiry", &short, None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&t, "GET", "/me", &Auth::Session(s.clone()), Body::None)
            .await
            .0,
        200
    );
    t.clock.advance(Duration::from_secs(2 * 86_400));
    assert_eq!(
        with_token(&t, "GET", "/workspaces/expiry", &short, None)
            .await
            .0,
        401
    );
    assert_eq!(
        with_token(&t, "GET", "/workspaces/expiry", &f.member.token, None)
            .await
            .0,
        200,
        "tokens without expiry live on"
    );
    t.clock.advance(Duration::from_secs(14 * 86_400));
    assert_eq!(
        call(&t, "GET", "/me", &Auth::Session(s), Body::None)
            .await
            .0,
        401,
        "sessions end after sessions.ttl_hours"
    );
}

#[tokio::test]
async fn acc_03_signing_out_ends_the_session() {
    let t = TestApp::spawn().await;
    let s = t.session("bye@example.org", "goodbye password").await;
    let browser = t.client(&s);
    let me = browser.me().await.expect(200);
    assert_eq!(me.user.id, s.user);
    assert_eq!(browser.sign_out().await.status, 204);
    assert_eq!(browser.me().await.status, 401);
}
