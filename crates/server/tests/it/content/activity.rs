//! COL-04: the activity view, "what happened since my last visit": new ideas and comments of
//! others, never of a space the reader may not see, of another workspace, or of a person
//! erased with "purge"; marking it seen starts it afresh.

use ideaweave_app::{Clock, ErasureInput};
use ideaweave_domain::Role;
use ideaweave_domain::erasure::ErasureMode;
use ideaweave_testkit::client::models::NewComment;
use ideaweave_testkit::{Client, TestApp};
use serde_json::Value;

use super::inbox::idea_in;
use crate::platform::routes::Fixture;

/// The titles of the new ideas and the excerpts of the new comments `c` sees.
async fn activity(c: &Client, ws: &str) -> (Vec<String>, Vec<String>, Value) {
    let v: Value = c
        .get::<Value>(&format!("/workspaces/{ws}/me/activity"))
        .await
        .expect(200);
    let list = |k: &str, f: &str| {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x[f].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    (list("ideas", "title"), list("comments", "excerpt"), v)
}

#[tokio::test]
async fn col_04_activity_shows_only_what_the_reader_may_see_since_their_last_visit() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "news").await;
    let ws = f.ws.slug.as_str();
    let open = t.space(&f.ws, "Open", "").await;
    let d = t.challenge(&f.ws, open, "Better", "", &[]).await;
    let insider = t.member(&f.ws, "insider", Role::Member).await;
    let private = crate::helpers::private_space(&t, &f.ws, "Board room", &[insider.id]).await;
    let secret_d = t.challenge(&f.ws, private, "Secret", "", &[]).await;
    let public = idea_in(&t, &f.admin, ws, d, "Bike racks").await;
    idea_in(&t, &insider, ws, secret_d, "Merger plans").await;
    idea_in(&t, &f.member, ws, d, "My own idea").await;
    t.client(&f.admin)
        .comment(ws, public, &NewComment::new("zqnews: racks by the door"))
        .await
        .expect(201);

    let member = t.client(&f.member);
    let (ideas, comments, v) = activity(&member, ws).await;
    assert_eq!(
        ideas,
        vec!["Bike racks"],
        "not the private space's, not one's own"
    );
    assert_eq!(comments, vec!["zqnews: racks by the door"]);
    assert_eq!(v["since_last_visit"], false);
    let (ideas, ..) = activity(&t.client(&insider), ws).await;
    assert_eq!(
        ideas.len(),
        3 - 1,
        "the insider sees the public idea and the member's: {ideas:?}"
    );
    // A guest listed in no space sees nothing; a member of another workspace gets a 404.
    let (ideas, comments, _) = activity(&t.client(&f.guest), ws).await;
    assert!(
        ideas.is_empty() && comments.is_empty(),
        "{ideas:?} {comments:?}"
    );
    let g = Fixture::new(&t, "news-elsewhere").await;
    let r = t
        .client(&g.member)
        .get::<Value>(&format!("/workspaces/{ws}/me/activity"))
        .await;
    assert_eq!(r.status, 404);
    let (ideas, ..) = activity(&t.client(&g.member), "news-elsewhere").await;
    assert!(ideas.is_empty(), "{ideas:?}");

    // Marked seen: empty; what comes after shows, since the last visit.
    member
        .post::<Value>(&format!("/workspaces/{ws}/me/activity/seen"), &Value::Null)
        .await
        .expect(204);
    let (ideas, comments, _) = activity(&member, ws).await;
    assert!(ideas.is_empty() && comments.is_empty());
    t.clock.advance(std::time::Duration::from_secs(60));
    idea_in(&t, &f.moderator, ws, d, "Night bus").await;
    let (ideas, _, v) = activity(&member, ws).await;
    assert_eq!(ideas, vec!["Night bus"]);
    assert_eq!(v["since_last_visit"], true);
    assert!(v["since"].as_i64().unwrap() < t.clock.now_ms());

    // A person erased with "purge" leaves nothing behind here either.
    let owner = f.ws.as_member(&f.ws.owner);
    t.app
        .erase_person(
            &owner,
            f.moderator.id,
            ErasureInput {
                mode: ErasureMode::Purge,
            },
        )
        .await
        .unwrap();
    let (ideas, ..) = activity(&member, ws).await;
    assert!(ideas.is_empty(), "{ideas:?}");
}

#[tokio::test]
async fn col_04_the_activity_page_lists_news_and_marks_them_seen() {
    let t = TestApp::spawn().await;
    let sc = super::pages::scene(&t, "newspage").await;
    let slug = sc.w.slug.clone();
    let reader = super::pages::person(&t, &sc.w, "reader", Role::Member).await;
    let d: ideaweave_domain::DiscussionId = sc.discussion.parse().unwrap();
    idea_in(&t, &sc.w.owner, &slug, d, "Solar benches").await;
    let path = format!("/w/{slug}/activity");
    let (st, page, _) = super::pages::get(&t, &reader, &path).await;
    assert_eq!(st, 200);
    assert!(
        page.contains("Solar benches") && page.contains("aria-current=\"page\""),
        "{page}"
    );
    assert!(page.contains("New since"), "{page}");
    let (st, _, h) = super::pages::post(
        &t,
        &reader,
        &format!("{path}/seen"),
        &[("csrf", &reader.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert!(h["location"].to_str().unwrap().starts_with(&path));
    let (_, page, _) = super::pages::get_in(&t, &reader, &path, "de").await;
    assert!(!page.contains("Solar benches"));
    assert!(
        page.contains("Seitdem nichts Neues.") && page.contains("Neu seit Ihrem letzten Besuch"),
        "{page}"
    );
}
