//! DSR-04: a person restricts the processing of their data. Their content is frozen for
//! everyone, they act on nothing, they are told nothing; lifting the restriction undoes all of
//! it. Only the person, in a signed-in session, decides.

use ideaweave_domain::Role;
use ideaweave_testkit::{Session, TestApp, closed_port, mail_config};
use serde_json::{Value, json};

use crate::helpers::{Auth, call_json, open_discussion};

async fn restrict(t: &TestApp, s: &Session, on: bool) -> Value {
    let (st, v) = call_json(
        t,
        &Auth::Session(s.clone()),
        "PUT",
        "/me/restriction",
        json!({"restricted": on}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    v
}

#[tokio::test]
async fn dsr_04_restricted_content_is_frozen_its_owner_acts_on_nothing_and_is_told_nothing() {
    let t = TestApp::spawn_with(|c| c.mail = Some(mail_config(closed_port()))).await;
    let w = t.workspace("frozen").await;
    let pat = t.session("pat@example.org", "pat's long password").await;
    t.app
        .add_member("frozen", "pat@example.org", Role::Member)
        .await
        .unwrap();
    let moderator = t.member(&w, "mod", Role::Moderator).await;
    let (me, owner) = (
        Auth::Session(pat.clone()),
        Auth::Token(w.owner.token.clone()),
    );
    let moder = Auth::Token(moderator.token.clone());
    let d = open_discussion(&t, "frozen", &w.owner.token).await;
    let ideas = format!("/workspaces/frozen/discussions/{d}/ideas");
    let (_, mine) = call_json(
        &t,
        &me,
        "POST",
        &ideas,
        json!({"title": "Pat's", "body": "b"}),
    )
    .await;
    let mine = mine["id"].as_str().unwrap().to_owned();
    let (_, theirs) = call_json(
        &t,
        &owner,
        "POST",
        &ideas,
        json!({"title": "Owner's", "body": "b"}),
    )
    .await;
    let theirs = theirs["id"].as_str().unwrap().to_owned();
    let (st, comment) = call_json(
        &t,
        &me,
        "POST",
        &format!("/workspaces/frozen/ideas/{theirs}/comments"),
        json!({"body": "pat's comment"}),
    )
    .await;
    assert_eq!(st, 201, "{comment}");
    let comment = comment["id"].as_str().unwrap().to_owned();

    let (st, v) = call_json(
        &t,
        &owner,
        "PUT",
        "/me/restriction",
        json!({"restricted": true}),
    )
    .await;
    assert_eq!(st, 403, "a workspace token cannot restrict a person: {v}");
    let (st, v) = call_json(
        &t,
        &me,
        "PUT",
        "/me/restriction",
        json!({"restricted": "yes"}),
    )
    .await;
    assert_eq!(st, 422, "{v}");
    let waiting_before = t.app.outbox_counts().await.unwrap().waiting;
    let on = restrict(&t, &pat, true).await;
    assert_eq!(on["restricted"], true);
    assert!(on["since"].is_i64());
    assert_eq!(
        restrict(&t, &pat, true).await,
        on,
        "asking again changes nothing"
    );
    let (_, state) = call_json(&t, &me, "GET", "/me/restriction", Value::Null).await;
    assert_eq!(state, on);

    // Pat acts on nothing.
    let (st, v) = call_json(
        &t,
        &me,
        "POST",
        &ideas,
        json!({"title": "More", "body": "b"}),
    )
    .await;
    assert_eq!(st, 403, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lift the restriction")
    );
    let (st, _) = call_json(
        &t,
        &me,
        "PUT",
        &format!("/workspaces/frozen/ideas/{theirs}/vote"),
        json!({"direction": "up"}),
    )
    .await;
    assert_eq!(st, 403);
    // Nobody changes or adds to Pat's content.
    for (method, path, body) in [
        (
            "PATCH",
            format!("/workspaces/frozen/ideas/{mine}"),
            json!({"title": "Edited"}),
        ),
        (
            "DELETE",
            format!("/workspaces/frozen/ideas/{mine}"),
            Value::Null,
        ),
        (
            "POST",
            format!("/workspaces/frozen/ideas/{mine}/comments"),
            json!({"body": "reply"}),
        ),
        (
            "PUT",
            format!("/workspaces/frozen/ideas/{mine}/vote"),
            json!({"direction": "down"}),
        ),
        (
            "DELETE",
            format!("/workspaces/frozen/comments/{comment}"),
            Value::Null,
        ),
    ] {
        let (st, v) = call_json(&t, &moder, method, &path, body).await;
        assert_eq!(st, 409, "{method} {path}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("frozen"),
            "{v}"
        );
    }
    // Everything else goes on: the owner's idea takes comments, and a reply to Pat's comment
    // tells Pat nothing.
    let (st, v) = call_json(
        &t,
        &owner,
        "POST",
        &format!("/workspaces/frozen/ideas/{theirs}/comments"),
        json!({"body": "a reply to pat", "parent_id": comment}),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        t.app.outbox_counts().await.unwrap().waiting,
        waiting_before,
        "no mail for Pat"
    );
    let (st, inbox) = call_json(&t, &me, "GET", "/workspaces/frozen/me/inbox", Value::Null).await;
    assert_eq!(st, 200, "{inbox}");
    assert_eq!(
        inbox["items"].as_array().map(Vec::len),
        Some(0),
        "nothing in Pat's notifications centre either: {inbox}"
    );
    let (st, _) = call_json(
        &t,
        &me,
        "GET",
        &format!("/workspaces/frozen/ideas/{mine}"),
        Value::Null,
    )
    .await;
    assert_eq!(st, 200, "Pat still reads");

    // Lifted: all of it works again, and Pat is told again.
    let off = restrict(&t, &pat, false).await;
    assert_eq!(off, json!({"restricted": false}));
    let (st, _) = call_json(
        &t,
        &owner,
        "POST",
        &format!("/workspaces/frozen/ideas/{theirs}/comments"),
        json!({"body": "another reply", "parent_id": comment}),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(
        t.app.outbox_counts().await.unwrap().waiting,
        waiting_before + 1
    );
    let (_, inbox) = call_json(&t, &me, "GET", "/workspaces/frozen/me/inbox", Value::Null).await;
    assert_eq!(inbox["items"][0]["reason"], "reply", "{inbox}");
    assert_eq!(inbox["unread"], 1);
    let (st, v) = call_json(
        &t,
        &moder,
        "DELETE",
        &format!("/workspaces/frozen/ideas/{mine}"),
        Value::Null,
    )
    .await;
    assert_eq!(st, 204, "{v}");
    let (st, _) = call_json(
        &t,
        &me,
        "POST",
        &ideas,
        json!({"title": "More", "body": "b"}),
    )
    .await;
    assert_eq!(st, 201);

    let events = t
        .app
        .instance_audit(None, Default::default())
        .await
        .unwrap()
        .items;
    let kinds: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| k.starts_with("account.restrict"))
            .collect::<Vec<_>>(),
        [&"account.restriction_lifted", &"account.restricted"],
        "one event per change, newest first"
    );
}
