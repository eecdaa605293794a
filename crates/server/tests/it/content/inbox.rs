//! COL-04: the notifications centre and following. Everyone concerned is told in the workspace,
//! with or without a mail server; followers hear of what they follow; nothing tells anyone of
//! what they may not see, and erasure and restriction apply.

use ideaweave_app::{ErasureInput, StageInput};
use ideaweave_domain::erasure::ErasureMode;
use ideaweave_domain::{IdeaId, Role, StageId};
use ideaweave_testkit::client::models::{NewComment, NewIdea};
use ideaweave_testkit::{Client, Person, TestApp};
use serde_json::{Value, json};

use super::pages::{get, get_in, person, post, post_idea, scene};
use crate::platform::routes::Fixture;

/// The caller's inbox in `ws`: its items and unread count.
async fn inbox(c: &Client, ws: &str, query: &str) -> (Vec<Value>, i64) {
    let v: Value = c
        .get(&format!("/workspaces/{ws}/me/inbox{query}"))
        .await
        .expect(200);
    (
        v["items"].as_array().cloned().unwrap_or_default(),
        v["unread"].as_i64().unwrap(),
    )
}

fn reasons(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|i| i["reason"].as_str().unwrap())
        .collect()
}

pub(crate) async fn idea_in(
    t: &TestApp,
    who: &Person,
    ws: &str,
    d: ideaweave_domain::DiscussionId,
    title: &str,
) -> IdeaId {
    t.client(who)
        .post_idea(ws, d, &NewIdea::new(title, "Body"))
        .await
        .expect(201)
        .summary
        .id
}

#[tokio::test]
async fn col_04_everyone_concerned_is_told_in_the_workspace_without_a_mail_server() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "bells").await;
    let ws = f.ws.slug.as_str();
    let cat = t.member(&f.ws, "cat", Role::Member).await;
    let space = t.space(&f.ws, "Ideas", "").await;
    let d = t.challenge(&f.ws, space, "Better", "", &[]).await;
    let (author, follower, commenter) = (&f.member, &cat, &f.admin);
    let idea = idea_in(&t, author, ws, d, "Bike racks").await;
    let (items, unread) = inbox(&t.client(author), ws, "").await;
    assert_eq!((items.len(), unread), (0, 0), "nothing yet");

    // Cat follows the idea; a comment tells the author and Cat, never the commenter.
    let r: Value = t
        .client(follower)
        .put(
            &format!("/workspaces/{ws}/ideas/{idea}/follow"),
            json!({"following": true}),
        )
        .await
        .expect(200);
    assert_eq!(r["following"], true);
    let got: Value = t
        .client(follower)
        .get(&format!("/workspaces/{ws}/ideas/{idea}/follow"))
        .await
        .expect(200);
    assert_eq!(got["following"], true);
    let seen = t.client(follower).idea(ws, idea).await.expect(200);
    assert!(seen.following, "the idea says Cat follows it");
    t.client(commenter)
        .comment(ws, idea, &NewComment::new("Two racks **by** the door"))
        .await
        .expect(201);
    let (items, unread) = inbox(&t.client(author), ws, "").await;
    assert_eq!(reasons(&items), ["comment"]);
    assert_eq!(unread, 1);
    assert_eq!(items[0]["idea_title"], "Bike racks");
    assert_eq!(items[0]["excerpt"], "Two racks by the door");
    assert_eq!(items[0]["read"], false);
    let admin_name = items[0]["actor"].as_str().unwrap().to_owned();
    assert!(!admin_name.is_empty());
    let (items, _) = inbox(&t.client(follower), ws, "").await;
    assert_eq!(reasons(&items), ["followed_comment"]);
    let (items, _) = inbox(&t.client(commenter), ws, "").await;
    assert!(items.is_empty(), "nobody is told of their own act");
    // The centre shows a comment as it reads now: edited, then gone with it.
    let typo = t
        .client(commenter)
        .comment(ws, idea, &NewComment::new("Typo hre"))
        .await
        .expect(201);
    t.client(commenter)
        .edit_comment(ws, typo.id, "Typo here")
        .await
        .expect(200);
    let (items, unread) = inbox(&t.client(author), ws, "").await;
    assert_eq!(
        (items[0]["excerpt"].as_str(), unread),
        (Some("Typo here"), 2)
    );
    t.client(commenter)
        .delete_comment(ws, typo.id)
        .await
        .expect(204);
    let (items, unread) = inbox(&t.client(author), ws, "").await;
    assert_eq!((reasons(&items), unread), (vec!["comment"], 1));
    let (items, _) = inbox(&t.client(follower), ws, "").await;
    assert_eq!(reasons(&items), ["followed_comment"]);

    // A stage change tells the author and the follower.
    let stages: Value = t
        .client(&f.admin)
        .get(&format!("/workspaces/{ws}"))
        .await
        .expect(200);
    let next: StageId = serde_json::from_value(stages["stages"][1]["id"].clone()).unwrap();
    t.app
        .set_stage(
            &f.ws.as_member(&f.moderator),
            idea,
            StageInput { stage_id: next },
        )
        .await
        .unwrap();
    let (items, unread) = inbox(&t.client(author), ws, "").await;
    assert_eq!(reasons(&items), ["stage", "comment"], "newest first");
    assert_eq!(unread, 2);
    assert!(items[0]["stage"].is_string());
    let (items, _) = inbox(&t.client(follower), ws, "").await;
    assert_eq!(reasons(&items), ["followed_stage", "followed_comment"]);

    // Following a discussion tells of its new ideas.
    t.client(follower)
        .put::<Value>(
            &format!("/workspaces/{ws}/discussions/{d}/follow"),
            json!({"following": true}),
        )
        .await
        .expect(200);
    let second = idea_in(&t, author, ws, d, "Showers").await;
    let (items, _) = inbox(&t.client(follower), ws, "").await;
    assert_eq!(items[0]["reason"], "new_idea");
    assert_eq!(items[0]["idea_id"], second.to_string());

    // Reading one, then all; someone else's item is nobody else's to read.
    let (items, _) = inbox(&t.client(author), ws, "?unread=true").await;
    let first = items[0]["id"].as_str().unwrap().to_owned();
    let r = t
        .client(follower)
        .post::<Value>(
            &format!("/workspaces/{ws}/me/inbox/{first}/read"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    t.client(author)
        .post::<Value>(
            &format!("/workspaces/{ws}/me/inbox/{first}/read"),
            json!({}),
        )
        .await
        .expect(204);
    let (items, unread) = inbox(&t.client(author), ws, "?unread=true").await;
    assert_eq!((items.len(), unread), (1, 1));
    let marked: Value = t
        .client(author)
        .post(&format!("/workspaces/{ws}/me/inbox/read"), json!({}))
        .await
        .expect(200);
    assert_eq!(marked["marked"], 1);
    let (items, unread) = inbox(&t.client(author), ws, "").await;
    assert_eq!((items.len(), unread), (2, 0), "read items stay listed");
    // Paging: one at a time, newest first, to the end.
    let page: Value = t
        .client(author)
        .get(&format!("/workspaces/{ws}/me/inbox?limit=1"))
        .await
        .expect(200);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let rest: Value = t
        .client(author)
        .get(&format!(
            "/workspaces/{ws}/me/inbox?limit=1&cursor={cursor}"
        ))
        .await
        .expect(200);
    assert_eq!(rest["items"][0]["reason"], "comment");
    assert!(rest["next_cursor"].is_null());
    let bad = t
        .client(author)
        .get::<Value>(&format!("/workspaces/{ws}/me/inbox?limit=0"))
        .await;
    assert_eq!(bad.status, 422);

    // Unfollowing stops it.
    t.client(follower)
        .put::<Value>(
            &format!("/workspaces/{ws}/ideas/{idea}/follow"),
            json!({"following": false}),
        )
        .await
        .expect(200);
    t.client(commenter)
        .comment(ws, idea, &NewComment::new("Another"))
        .await
        .expect(201);
    let (items, _) = inbox(&t.client(follower), ws, "").await;
    assert_eq!(
        items
            .iter()
            .filter(|i| i["reason"] == "followed_comment")
            .count(),
        1
    );
}

#[tokio::test]
async fn col_04_notifications_never_tell_of_what_the_reader_may_not_see() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "hush").await;
    let ws = f.ws.slug.as_str();
    let owner = f.ws.as_member(&f.ws.owner);
    let insider = t.member(&f.ws, "insider", Role::Member).await;
    let private =
        crate::helpers::private_space(&t, &f.ws, "Board room", &[f.member.id, insider.id]).await;
    let d = t.challenge(&f.ws, private, "Secret", "", &[]).await;
    let idea = idea_in(&t, &f.member, ws, d, "Quiet merger").await;
    t.client(&insider)
        .put::<Value>(
            &format!("/workspaces/{ws}/ideas/{idea}/follow"),
            json!({"following": true}),
        )
        .await
        .expect(200);
    // Someone not listed cannot follow it, or learn it exists.
    let outsider = t.member(&f.ws, "outsider", Role::Member).await;
    let r = t
        .client(&outsider)
        .put::<Value>(
            &format!("/workspaces/{ws}/ideas/{idea}/follow"),
            json!({"following": true}),
        )
        .await;
    assert_eq!(r.status, 404);
    t.client(&f.ws.owner)
        .comment(ws, idea, &NewComment::new("first"))
        .await
        .expect(201);
    assert_eq!(inbox(&t.client(&insider), ws, "").await.1, 1);

    // Unlisted, the insider hears nothing more, and what they were told goes from the list
    // and the count.
    t.app
        .remove_space_member(&owner, private, insider.id)
        .await
        .unwrap();
    t.client(&f.ws.owner)
        .comment(ws, idea, &NewComment::new("second"))
        .await
        .expect(201);
    let (items, unread) = inbox(&t.client(&insider), ws, "").await;
    assert!(items.is_empty(), "{items:?}");
    assert_eq!(unread, 0);

    // A deleted idea's notifications go from the author's list and count.
    let (items, unread) = inbox(&t.client(&f.member), ws, "").await;
    assert_eq!((items.len(), unread), (2, 2));
    t.client(&f.ws.owner)
        .delete_idea(ws, idea)
        .await
        .expect(204);
    let (items, unread) = inbox(&t.client(&f.member), ws, "").await;
    assert_eq!((items.len(), unread), (0, 0));

    // Another workspace's member, with the item's id, finds nothing there or in their own.
    let open = t.space(&f.ws, "Open", "").await;
    let d2 = t.challenge(&f.ws, open, "Open", "", &[]).await;
    let visible = idea_in(&t, &f.member, ws, d2, "Lunch").await;
    t.client(&f.admin)
        .comment(ws, visible, &NewComment::new("yes"))
        .await
        .expect(201);
    let (items, _) = inbox(&t.client(&f.member), ws, "").await;
    let id = items[0]["id"].as_str().unwrap().to_owned();
    let g = Fixture::new(&t, "hush-other").await;
    let r = t
        .client(&g.member)
        .post::<Value>(
            &format!("/workspaces/{}/me/inbox/{id}/read", g.ws.slug),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = t
        .client(&g.member)
        .get::<Value>(&format!("/workspaces/{ws}/me/inbox"))
        .await;
    assert_eq!(
        r.status, 404,
        "another workspace's inbox does not exist for them"
    );

    // Erasing the person who acted takes what told of it; erasing the reader takes theirs.
    t.app
        .erase_person(
            &owner,
            f.admin.id,
            ErasureInput {
                mode: ErasureMode::Anonymise,
            },
        )
        .await
        .unwrap();
    let (items, unread) = inbox(&t.client(&f.member), ws, "").await;
    assert_eq!((items.len(), unread), (0, 0), "{items:?}");
}

#[tokio::test]
async fn col_04_the_bell_counts_and_the_centre_lists_opens_and_marks_read_on_the_pages() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "ring").await;
    let slug = sc.w.slug.clone();
    let author = person(&t, &sc.w, "author", Role::Member).await;
    let other = person(&t, &sc.w, "other", Role::Member).await;
    let centre = format!("/w/{slug}/notifications");

    // Empty: the centre says what will arrive here and where to go.
    let (st, page, _) = get(&t, &author, &centre).await;
    assert_eq!(st, 200);
    assert!(page.contains("Nothing here yet.") && page.contains(&format!("href=\"/w/{slug}\"")));
    assert!(!page.contains("class=\"count\""), "no count without unread");
    let (_, page, _) = get_in(&t, &author, &centre, "de").await;
    assert!(page.contains("Noch nichts hier."));

    let (_, idea, _) = post_idea(
        &t,
        &author,
        &slug,
        &sc.discussion,
        &[("title", "Plants <in> the hall"), ("body", "Green")],
        None,
    )
    .await;
    // The other member follows the discussion and the idea from their pages.
    let (_, page, _) = get(&t, &other, &idea).await;
    assert!(page.contains("Follow this idea"));
    let (st, _, h) = post(
        &t,
        &other,
        &format!("{idea}/follow"),
        &[("csrf", &other.csrf), ("following", "true")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert!(h["location"].to_str().unwrap().ends_with("#follow"));
    let (_, page, _) = get(&t, &other, &idea).await;
    assert!(page.contains("You follow this.") && page.contains("Stop following"));
    let (st, ..) = post(
        &t,
        &other,
        &format!("{idea}/follow"),
        &[("csrf", &other.csrf), ("following", "maybe")],
        false,
    )
    .await;
    assert_eq!(st, 422);
    let discussion = format!("/w/{slug}/discussions/{}", sc.discussion);
    let (st, ..) = post(
        &t,
        &other,
        &format!("{discussion}/follow"),
        &[("csrf", &other.csrf), ("following", "true")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (_, page, _) = get(&t, &other, &discussion).await;
    assert!(page.contains("You follow this."));

    // The other member comments: the author's bell counts it on every workspace page.
    post(
        &t,
        &other,
        &format!("{idea}/comments"),
        &[("csrf", &other.csrf), ("body", "Ferns <b>please</b>")],
        false,
    )
    .await;
    for path in [format!("/w/{slug}"), idea.clone(), centre.clone()] {
        let (_, page, _) = get(&t, &author, &path).await;
        assert!(
            page.contains("<span class=\"count\">1<span class=\"sr-only\"> unread</span></span>"),
            "{path}"
        );
    }
    let (_, page, _) = get(&t, &author, &centre).await;
    assert!(
        page.contains("commented on your idea “<strong>Plants &#60;in&#62; the hall</strong>”"),
        "{page}"
    );
    assert!(!page.contains("<b>please</b>"), "the excerpt is plain text");
    let (_, de, _) = get_in(&t, &author, &centre, "de").await;
    assert!(de.contains("hat Ihre Idee „<strong>"), "{de}");
    let open = page
        .split("href=\"")
        .find(|s| s.contains("/open\""))
        .map(|s| s.split('"').next().unwrap().to_owned())
        .expect("an open link");
    let (st, _, h) = get(&t, &author, &open).await;
    assert_eq!(st, 303);
    assert_eq!(h["location"].to_str().unwrap(), idea);
    let (_, page, _) = get(&t, &author, &centre).await;
    assert!(!page.contains("class=\"count\""), "read: the bell is quiet");
    let (_, page, _) = get(&t, &author, &format!("{centre}?unread=1")).await;
    assert!(page.contains("You have read everything."));

    // Mark all read.
    post(
        &t,
        &author,
        &format!("{idea}/comments"),
        &[("csrf", &author.csrf), ("body", "Thanks")],
        false,
    )
    .await;
    let (_, page, _) = get(&t, &other, &centre).await;
    assert!(page.contains("Mark all as read"), "{page}");
    let (st, _, h) = post(
        &t,
        &other,
        &format!("{centre}/read"),
        &[("csrf", &other.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert!(h["location"].to_str().unwrap().contains("marked=1"));
    let (_, page, _) = get(&t, &other, &centre).await;
    assert!(!page.contains("Mark all as read") && !page.contains("class=\"count\""));
}

#[tokio::test]
async fn enc_01_notifications_are_sealed_at_rest() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "sealedbell").await;
    let ws = f.ws.slug.as_str();
    let space = t.space(&f.ws, "Ideas", "").await;
    let d = t.challenge(&f.ws, space, "Better", "", &[]).await;
    let idea = idea_in(&t, &f.member, ws, d, "Bike racks").await;
    let canary = format!("zqinboxcanary{}", uuid::Uuid::new_v4().simple());
    t.client(&f.admin)
        .comment(ws, idea, &NewComment::new(&format!("see {canary}")))
        .await
        .expect(201);
    let (items, _) = inbox(&t.client(&f.member), ws, "").await;
    assert!(
        items[0]["excerpt"].as_str().unwrap().contains(&canary),
        "the notification carries the excerpt"
    );
    let hits: Vec<String> = t
        .database_bytes()
        .into_iter()
        .filter(|(_, b)| b.windows(canary.len()).any(|w| w == canary.as_bytes()))
        .map(|(n, _)| n)
        .collect();
    assert!(hits.is_empty(), "the excerpt is in clear in {hits:?}");
}
