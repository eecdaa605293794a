//! COL-04: @mentions. Naming a member tells them, when they may see the idea; the text shows
//! the name they have now, and nobody's name once they are erased.

use ideaweave_app::ErasureInput;
use ideaweave_domain::erasure::ErasureMode;
use ideaweave_domain::{DiscussionId, IdeaId, Role};
use ideaweave_testkit::client::models::{NewComment, NewIdea};
use ideaweave_testkit::{Client, Person, TestApp};
use serde_json::Value;

use super::pages::{get, person, scene};
use crate::platform::routes::Fixture;

/// A member whose display name may have spaces.
pub(crate) async fn named(
    t: &TestApp,
    ws: &ideaweave_testkit::TestWorkspace,
    name: &str,
    role: Role,
) -> Person {
    let email = format!("p{}@{}.test", uuid::Uuid::new_v4().simple(), ws.slug);
    let u = t
        .app
        .create_user_without_password(&email, name)
        .await
        .unwrap();
    t.app.add_member(&ws.slug, &email, role).await.unwrap();
    let token = t
        .token(&email, &ws.slug, ideaweave_domain::TokenScope::Write)
        .await;
    Person {
        id: u.id,
        email,
        token,
        role,
    }
}

async fn reasons(c: &Client, ws: &str) -> Vec<String> {
    let v: Value = c
        .get(&format!("/workspaces/{ws}/me/inbox"))
        .await
        .expect(200);
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reason"].as_str().unwrap().to_owned())
        .collect()
}

async fn idea_in(
    t: &TestApp,
    who: &Person,
    ws: &str,
    d: DiscussionId,
    title: &str,
    body: &str,
) -> IdeaId {
    t.client(who)
        .post_idea(ws, d, &NewIdea::new(title, body))
        .await
        .expect(201)
        .summary
        .id
}

#[tokio::test]
async fn col_04_a_mention_tells_the_person_named_and_shows_their_name_now() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "named").await;
    let ws = f.ws.slug.as_str();
    let mia = named(&t, &f.ws, "Mia Müller", Role::Member).await;
    let mim = named(&t, &f.ws, "Mia", Role::Member).await;
    let space = t.space(&f.ws, "Ideas", "").await;
    let d = t.challenge(&f.ws, space, "Better", "", &[]).await;
    let idea = idea_in(
        &t,
        &f.member,
        ws,
        d,
        "Bike racks",
        "Asking @mia müller first.",
    )
    .await;
    assert_eq!(reasons(&t.client(&mia), ws).await, ["mention"]);
    assert!(
        reasons(&t.client(&mim).clone(), ws).await.is_empty(),
        "the longest name wins"
    );
    let shown = t.client(&f.admin).idea(ws, idea).await.expect(200);
    assert_eq!(
        shown.body, "Asking @Mia Müller first.",
        "written back with the name"
    );
    assert!(
        shown
            .body_html
            .contains("<span class=\"mention\">@Mia Müller</span>"),
        "{}",
        shown.body_html
    );
    assert_eq!(
        shown.summary.excerpt, "Asking @… first.",
        "the sealed excerpt keeps no name"
    );

    // A comment naming two people tells each once, as a mention, before any other reason.
    let c = t
        .client(&f.admin)
        .comment(
            ws,
            idea,
            &NewComment::new("@Mia and @Mia Müller, and @member too. Mail mia@example.org"),
        )
        .await
        .expect(201);
    assert_eq!(
        c.body,
        "@Mia and @Mia Müller, and @member too. Mail mia@example.org"
    );
    assert_eq!(reasons(&t.client(&mim), ws).await, ["mention"]);
    assert_eq!(reasons(&t.client(&mia), ws).await, ["mention", "mention"]);
    assert_eq!(
        reasons(&t.client(&f.member), ws).await,
        ["mention"],
        "the idea's author, named, is told once, as named"
    );
    // An edit that names someone new tells only them; saving it again tells nobody.
    t.client(&f.admin)
        .edit_comment(
            ws,
            c.id,
            "@Mia and @Mia Müller, and @member too, cc @moderator",
        )
        .await
        .expect(200);
    assert_eq!(reasons(&t.client(&f.moderator), ws).await, ["mention"]);
    assert_eq!(reasons(&t.client(&mim), ws).await, ["mention"]);
    t.client(&f.admin)
        .edit_comment(
            ws,
            c.id,
            "@Mia and @Mia Müller, and @member too, cc @moderator!",
        )
        .await
        .expect(200);
    assert_eq!(reasons(&t.client(&f.moderator), ws).await, ["mention"]);

    // Erased, Mia Müller is named by nobody's text any more.
    t.app
        .erase_person(
            &f.ws.as_member(&f.ws.owner),
            mia.id,
            ErasureInput {
                mode: ErasureMode::Anonymise,
            },
        )
        .await
        .unwrap();
    let shown = t.client(&f.admin).idea(ws, idea).await.expect(200);
    assert_eq!(shown.body, "Asking @Former member first.");
    assert!(!shown.body_html.contains("Müller"), "{}", shown.body_html);
    let comments = t.client(&f.admin).comments(ws, idea).await.expect(200);
    assert!(!comments.items[0].body.contains("Müller"));
}

#[tokio::test]
async fn col_04_nobody_is_told_of_a_mention_in_what_they_may_not_see() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "hushname").await;
    let ws = f.ws.slug.as_str();
    let outsider = t.member(&f.ws, "Olaf", Role::Member).await;
    let private = crate::helpers::private_space(&t, &f.ws, "Board room", &[f.member.id]).await;
    let d = t.challenge(&f.ws, private, "Secret", "", &[]).await;
    let idea = idea_in(&t, &f.member, ws, d, "Quiet", "Should @Olaf know?").await;
    t.client(&f.member)
        .comment(ws, idea, &NewComment::new("What about @guest?"))
        .await
        .expect(201);
    assert!(
        reasons(&t.client(&outsider), ws).await.is_empty(),
        "not listed: not told"
    );
    assert!(reasons(&t.client(&f.guest), ws).await.is_empty());
    // Another workspace's member of the same name is nobody here.
    let g = Fixture::new(&t, "hushname-other").await;
    let twin = t.member(&g.ws, "Olaf", Role::Member).await;
    assert!(reasons(&t.client(&twin), &g.ws.slug).await.is_empty());
}

#[tokio::test]
async fn col_04_members_are_suggested_while_typing_and_guests_get_none() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "suggest").await;
    let slug = sc.w.slug.clone();
    let writer = person(&t, &sc.w, "Writer", Role::Member).await;
    named(&t, &sc.w, "Noor Haddad", Role::Member).await;
    let guest = person(&t, &sc.w, "Gus", Role::Guest).await;
    let (st, body, h) = get(&t, &writer, &format!("/w/{slug}/people/suggest?q=had")).await;
    assert_eq!(st, 200);
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let found: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(found.len(), 1, "{body}");
    assert_eq!(found[0]["name"], "Noor Haddad");
    let (_, body, _) = get(&t, &writer, &format!("/w/{slug}/people/suggest?q=wri")).await;
    assert_eq!(body, "[]", "one is not suggested to oneself");
    let (_, body, _) = get(&t, &guest, &format!("/w/{slug}/people/suggest?q=noor")).await;
    assert_eq!(body, "[]", "a guest does not see the member list");
    let (st, body, _) = get(
        &t,
        &writer,
        &format!("/w/{slug}/people/suggest?q={}", "x".repeat(200)),
    )
    .await;
    assert_eq!((st, body.as_str()), (200, "[]"));
    let (_, page, _) = get(
        &t,
        &writer,
        &format!("/w/{slug}/discussions/{}/new", sc.discussion),
    )
    .await;
    assert!(page.contains(&format!("data-mention=\"/w/{slug}/people/suggest\"")));
}
