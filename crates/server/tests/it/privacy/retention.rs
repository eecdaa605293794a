//! LIF-03: each workspace's retention periods, applied by the retention job as the clock moves:
//! exactly what outlived its period goes (deleted ideas and comments with their files, stale
//! invitations, the client data of old audit events), and nothing else.

use std::time::Duration;

use ideaweave_testkit::TestApp;
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, open_discussion, png, with_token};
use crate::platform::routes::Fixture;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Whether a file named `name` is anywhere under `dir`.
fn file_named(dir: &std::path::Path, name: &str) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let p = e.path();
            if p.is_dir() {
                file_named(&p, name)
            } else {
                p.file_name().is_some_and(|n| n == name)
            }
        })
    })
}

async fn post(t: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (st, v) = with_token(t, "POST", path, token, Some(body)).await;
    assert_eq!(st, 201, "{path}: {v}");
    v
}

async fn delete(t: &TestApp, token: &str, path: &str) {
    let (st, v) = with_token(t, "DELETE", path, token, None).await;
    assert_eq!(st, 204, "{path}: {v}");
}

/// The workspace's audit events, newest first (as its admin reads them).
async fn events(t: &TestApp, slug: &str, token: &str) -> Vec<Value> {
    let (st, v) = with_token(
        t,
        "GET",
        &format!("/workspaces/{slug}/audit/events?limit=200"),
        token,
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn lif_03_the_clock_moves_and_exactly_the_expired_data_goes() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "keep").await;
    let ws = "/workspaces/keep";
    let d = open_discussion(&t, "keep", &f.admin.token).await;
    let idea = |title: &'static str| {
        let (t, tok, d) = (&t, f.member.token.clone(), d.clone());
        async move {
            post(
                t,
                &tok,
                &format!("/workspaces/keep/discussions/{d}/ideas"),
                json!({"title": title, "body": "body"}),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let gone = idea("Deleted on day 0").await;
    let kept = idea("Lives on").await;
    let (st, file) = call(
        &t,
        "POST",
        &format!("{ws}/ideas/{gone}/attachments"),
        &Auth::Token(f.member.token.clone()),
        Body::Upload {
            filename: "pixel.png",
            bytes: png(),
        },
    )
    .await;
    assert_eq!(st, 201, "{file}");
    let file = file["id"].as_str().unwrap().to_owned();
    assert!(file_named(t.dir.path(), &file), "the upload is stored");
    let root = post(
        &t,
        &f.member.token,
        &format!("{ws}/ideas/{kept}/comments"),
        json!({"body": "deleted on day 0"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = post(
        &t,
        &f.admin.token,
        &format!("{ws}/ideas/{kept}/comments"),
        json!({"body": "a reply that stays", "parent_id": root}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = post(
        &t,
        &f.admin.token,
        &format!("{ws}/invitations"),
        json!({"email": "revoked@example.org", "role": "member"}),
    )
    .await["invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    delete(&t, &f.admin.token, &format!("{ws}/invitations/{revoked}")).await;
    let accepted = post(
        &t,
        &f.admin.token,
        &format!("{ws}/invitations"),
        json!({"email": "joins@example.org", "role": "member"}),
    )
    .await;
    let (st, v) = call(
        &t,
        "POST",
        &format!(
            "/invitations/{}/accept",
            accepted["token"].as_str().unwrap()
        ),
        &Auth::None,
        Body::Json(json!({"name": "Joiner", "password": "a long enough password"})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    delete(&t, &f.member.token, &format!("{ws}/ideas/{gone}")).await;
    delete(&t, &f.member.token, &format!("{ws}/comments/{root}")).await;
    let day0_events = events(&t, "keep", &f.admin.token).await;
    assert!(
        day0_events.iter().all(|e| e["client"].is_object()),
        "every event records where it came from"
    );

    // Day 8: invitations that were revoked (or expired) more than 7 days ago are gone; deleted
    // content is still restorable.
    t.clock.advance(8 * DAY);
    let pending = post(
        &t,
        &f.admin.token,
        &format!("{ws}/invitations"),
        json!({"email": "pending@example.org", "role": "member"}),
    )
    .await;
    let pending_token = pending["token"].as_str().unwrap().to_owned();
    let pending = pending["invitation"]["id"].as_str().unwrap().to_owned();
    let r = t.app.enforce_retention().await.unwrap();
    assert_eq!(
        (r.ideas, r.comments, r.files, r.invitations, r.activity_days),
        (0, 0, 0, 1, 0),
        "{r:?}"
    );
    let (_, invitations) = with_token(
        &t,
        "GET",
        &format!("{ws}/invitations"),
        &f.admin.token,
        None,
    )
    .await;
    let listed: Vec<&str> = invitations
        .as_array()
        .or_else(|| invitations["items"].as_array())
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert!(!listed.contains(&revoked.as_str()), "{invitations}");
    assert!(listed.contains(&pending.as_str()), "{invitations}");
    let (st, _) = with_token(
        &t,
        "GET",
        &format!("{ws}/ideas/{gone}"),
        &f.moderator.token,
        None,
    )
    .await;
    assert_eq!(st, 200, "a moderator still sees the deleted idea");

    // Day 21: the invitation of day 8 expired on day 15 (links last 7 days) and is kept 7 days
    // more: its link still says it expired.
    t.clock.advance(13 * DAY);
    let link = format!("/invitations/{pending_token}/accept");
    let accept = || {
        call(
            &t,
            "POST",
            &link,
            &Auth::None,
            Body::Json(json!({"name": "Late", "password": "a long enough password"})),
        )
    };
    assert_eq!(t.app.enforce_retention().await.unwrap().invitations, 0);
    assert_eq!(accept().await.0, 409, "expired, still kept");

    // Day 29: the expired invitation is gone; deleted content is not due yet.
    t.clock.advance(8 * DAY);
    let r = t.app.enforce_retention().await.unwrap();
    assert_eq!(
        (r.ideas, r.comments, r.files, r.invitations, r.activity_days),
        (0, 0, 0, 1, 0),
        "{r:?}"
    );
    assert_eq!(accept().await.0, 404, "no trace of the invitation is left");

    // Day 31: deleted content older than 30 days goes, with its file; the reply moves up.
    t.clock.advance(2 * DAY);
    let r = t.app.enforce_retention().await.unwrap();
    assert_eq!((r.ideas, r.comments, r.files), (1, 1, 1), "{r:?}");
    let (st, _) = with_token(
        &t,
        "GET",
        &format!("{ws}/ideas/{gone}"),
        &f.moderator.token,
        None,
    )
    .await;
    assert_eq!(st, 404, "purged for good, moderators included");
    let (st, _) = with_token(
        &t,
        "POST",
        &format!("{ws}/ideas/{gone}/restore"),
        &f.moderator.token,
        None,
    )
    .await;
    assert_eq!(st, 404, "nothing left to restore");
    assert!(!file_named(t.dir.path(), &file), "the file is removed");
    let (st, comments) = with_token(
        &t,
        "GET",
        &format!("{ws}/ideas/{kept}/comments"),
        &f.member.token,
        None,
    )
    .await;
    assert_eq!(st, 200);
    let items = comments["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{comments}");
    assert_eq!(items[0]["id"], json!(reply));
    assert_eq!(
        items[0]["parent_id"],
        Value::Null,
        "the reply stands on its own"
    );
    let (st, live) = with_token(
        &t,
        "GET",
        &format!("{ws}/ideas/{kept}"),
        &f.member.token,
        None,
    )
    .await;
    assert_eq!((st, live["comment_count"].as_i64()), (200, Some(1)));

    // Day 91: the activity of day 0 is past 90 days; the events stay, with their facts, but no
    // longer say where they came from. Today's activity still does.
    t.clock.advance(60 * DAY);
    let (st, _) = with_token(
        &t,
        "PUT",
        &format!("{ws}/retention"),
        &f.admin.token,
        Some(json!({"activity_days": 90, "deleted_days": 30, "invitation_days": 6})),
    )
    .await;
    assert_eq!(st, 200);
    let before = events(&t, "keep", &f.admin.token).await.len();
    let r = t.app.enforce_retention().await.unwrap();
    assert!(r.activity_days >= 1, "{r:?}");
    let after = events(&t, "keep", &f.admin.token).await;
    assert_eq!(
        after.len(),
        before + 1,
        "one retention.applied event, nothing removed"
    );
    assert_eq!(after[0]["action"], "retention.applied");
    assert_eq!(after[0]["facts"]["activity_days"], json!(r.activity_days));
    let old: Vec<&Value> = after
        .iter()
        .filter(|e| day0_events.iter().any(|d| d["index"] == e["index"]))
        .collect();
    assert_eq!(old.len(), day0_events.len());
    for e in old {
        assert_eq!(e["client"], Value::Null, "{e}");
        let then = day0_events
            .iter()
            .find(|d| d["index"] == e["index"])
            .unwrap();
        assert_eq!(e["facts"], then["facts"], "the facts stay: {e}");
        assert_eq!(
            e["entry"], then["entry"],
            "the entry itself is unchanged: {e}"
        );
    }
    let deletion = after
        .iter()
        .find(|e| e["action"] == "content.deleted")
        .unwrap();
    assert!(
        deletion["actor"]["user_id"].is_string(),
        "the actor is still known"
    );
    assert!(
        after[1]["client"]["ip"].is_string(),
        "today's change of the periods still says where it came from: {}",
        after[1]
    );
    // The trail still verifies after keys were destroyed.
    let report = t.app.verify_audit(None, None, &|_, _| {}).await.unwrap();
    assert!(report.problem.is_none(), "{:?}", report.problem);
    let (st, log) = call(
        &t,
        "GET",
        "/workspaces/keep/audit/export",
        &Auth::Token(f.admin.token.clone()),
        Body::None,
    )
    .await;
    assert_eq!(st, 200, "{log}");
}

#[tokio::test]
async fn lif_03_admins_set_the_periods_members_read_them_and_bad_values_are_refused() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "periods").await;
    let path = "/workspaces/periods/retention";
    let (st, v) = with_token(&t, "GET", path, &f.guest.token, None).await;
    assert_eq!(st, 200);
    assert_eq!(
        v,
        json!({"activity_days": 90, "deleted_days": 30, "invitation_days": 7}),
        "the defaults"
    );
    let wanted = json!({"activity_days": 30, "deleted_days": 14, "invitation_days": 2});
    let (st, _) = with_token(&t, "PUT", path, &f.moderator.token, Some(wanted.clone())).await;
    assert_eq!(st, 403, "moderators may not");
    for (bad, field) in [
        (
            json!({"activity_days": 0, "deleted_days": 14, "invitation_days": 2}),
            "activity_days",
        ),
        (
            json!({"activity_days": 30, "deleted_days": 3651, "invitation_days": 2}),
            "deleted_days",
        ),
        (
            json!({"activity_days": 30, "deleted_days": 14, "invitation_days": -1}),
            "",
        ),
        (json!({"activity_days": 30, "deleted_days": 14}), ""),
        (
            json!({"activity_days": 30, "deleted_days": 14, "invitation_days": 2, "forever": true}),
            "",
        ),
        (
            json!({"activity_days": "30", "deleted_days": 14, "invitation_days": 2}),
            "",
        ),
    ] {
        let (st, v) = with_token(&t, "PUT", path, &f.admin.token, Some(bad.clone())).await;
        assert!(st == 400 || st == 422, "{bad}: {st} {v}");
        assert!(v["error"]["message"].is_string(), "{v}");
        if !field.is_empty() {
            assert_eq!(v["error"]["field"], json!(field), "{v}");
        }
    }
    let (_, v) = with_token(&t, "GET", path, &f.member.token, None).await;
    assert_eq!(v["deleted_days"], 30, "a refused change changes nothing");
    let (st, v) = with_token(&t, "PUT", path, &f.admin.token, Some(wanted.clone())).await;
    assert_eq!((st, &v), (200, &wanted));
    let (_, v) = with_token(&t, "GET", path, &f.member.token, None).await;
    assert_eq!(v, wanted);
    // Setting the same again records nothing new.
    let (st, _) = with_token(&t, "PUT", path, &f.admin.token, Some(wanted.clone())).await;
    assert_eq!(st, 200);
    let changes: Vec<Value> = events(&t, "periods", &f.admin.token)
        .await
        .into_iter()
        .filter(|e| e["action"] == "retention.changed")
        .collect();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["facts"]["from"]["deleted_days"], 30);
    assert_eq!(changes[0]["facts"]["to"], wanted);
    // Another workspace's admin cannot see or change them.
    let other = Fixture::new(&t, "elsewhere").await;
    let (st, _) = with_token(&t, "GET", path, &other.admin.token, None).await;
    assert_eq!(st, 404);
    let (st, _) = with_token(&t, "PUT", path, &other.admin.token, Some(wanted)).await;
    assert_eq!(st, 404);
}

/// Instance-level activity data (where sign-ins came from) expires after the instance's
/// configured period, day by day, like a workspace's; the events themselves stay and verify.
#[tokio::test]
async fn lif_03_where_sign_ins_came_from_expires_after_the_instance_period() {
    let t = TestApp::spawn_with(|c| c.instance_activity_days = 10).await;
    t.app
        .create_user("sam@example.org", "Sam", Some("sam's long password"), false)
        .await
        .unwrap();
    let sign_in = || {
        call(
            &t,
            "POST",
            "/session",
            &Auth::None,
            Body::Json(json!({"email": "sam@example.org", "password": "sam's long password"})),
        )
    };
    let sign_ins = || async {
        t.app
            .instance_audit(
                None,
                ideaweave_app::AuditQuery {
                    action: Some("auth.sign_in".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .items
    };
    assert_eq!(sign_in().await.0, 200);
    let first = sign_ins().await;
    assert_eq!(first.len(), 1);
    assert!(first[0].client.as_ref().is_some_and(|c| c.ip.is_some()));

    t.clock.advance(9 * DAY);
    assert_eq!(
        t.app
            .enforce_retention()
            .await
            .unwrap()
            .instance_activity_days,
        0
    );
    assert!(sign_ins().await[0].client.is_some(), "kept for ten days");

    t.clock.advance(2 * DAY);
    assert_eq!(sign_in().await.0, 200);
    let r = t.app.enforce_retention().await.unwrap();
    assert_eq!(r.instance_activity_days, 1, "{r:?}");
    let both = sign_ins().await;
    assert_eq!(both.len(), 2, "the events stay");
    assert!(
        both[0].client.is_some(),
        "today's sign-in still says where it came from"
    );
    assert!(both[1].client.is_none(), "day 0's no longer does");
    assert_eq!(
        both[1].entry, first[0].entry,
        "the entry itself is unchanged"
    );
    assert!(both[1].actor.as_ref().is_some_and(|a| a.user_id.is_some()));
    let report = t.app.verify_audit(None, None, &|_, _| {}).await.unwrap();
    assert!(report.problem.is_none(), "{:?}", report.problem);
}
