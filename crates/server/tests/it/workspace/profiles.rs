//! COL-02: a member's page shows who they are and what they wrote, as far as the reader may
//! see it; names link to it for those who may see the member list.

use ideaweave_app::ErasureInput;
use ideaweave_domain::Role;
use ideaweave_domain::erasure::ErasureMode;
use ideaweave_testkit::TestApp;
use ideaweave_testkit::client::models::{NewComment, NewIdea};
use serde_json::Value;

use crate::content::pages::{get, get_in, person};
use crate::platform::routes::Fixture;

#[tokio::test]
async fn col_02_a_profile_shows_only_what_the_reader_may_see() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "faces").await;
    let ws = f.ws.slug.as_str();
    let owner = f.ws.as_member(&f.ws.owner);
    let open = t.space(&f.ws, "Open", "").await;
    let d = t.challenge(&f.ws, open, "Open", "", &[]).await;
    let private = crate::helpers::private_space(&t, &f.ws, "Board", &[f.member.id]).await;
    let secret = t.challenge(&f.ws, private, "Secret", "", &[]).await;
    let author = t.client(&f.member);
    let seen = author
        .post_idea(ws, d, &NewIdea::new("Visible idea", "b"))
        .await
        .expect(201)
        .summary
        .id;
    let hidden = author
        .post_idea(ws, secret, &NewIdea::new("Hidden idea", "b"))
        .await
        .expect(201)
        .summary
        .id;
    let gone = author
        .post_idea(ws, d, &NewIdea::new("Deleted idea", "b"))
        .await
        .expect(201)
        .summary
        .id;
    author.delete_idea(ws, gone).await.expect(204);
    author
        .comment(ws, seen, &NewComment::new("Open words"))
        .await
        .expect(201);
    author
        .comment(ws, hidden, &NewComment::new("Secret words"))
        .await
        .expect(201);

    let path = format!("/workspaces/{ws}/members/{}/profile", f.member.id);
    let p: Value = t.client(&f.moderator).get(&path).await.expect(200);
    assert_eq!(p["name"], "member");
    assert_eq!(p["role"], "member");
    let titles: Vec<&str> = p["ideas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Visible idea"],
        "not the private space's, not the deleted"
    );
    assert_eq!(p["comments"].as_array().unwrap().len(), 1);
    assert_eq!(p["comments"][0]["excerpt"], "Open words");
    assert_eq!(p["comments"][0]["idea_title"], "Visible idea");
    assert!(p.get("email").is_none() && p.get("last_active_on").is_none());
    // An admin sees the private space, so its idea and comment too.
    let p: Value = t.client(&f.admin).get(&path).await.expect(200);
    assert_eq!(p["ideas"].as_array().unwrap().len(), 2);
    assert_eq!(p["comments"].as_array().unwrap().len(), 2);
    // Guests do not see the member list; other workspaces and strangers find nobody.
    assert_eq!(t.client(&f.guest).get::<Value>(&path).await.status, 403);
    let g = Fixture::new(&t, "faces-other").await;
    let r = t
        .client(&g.member)
        .get::<Value>(&format!(
            "/workspaces/{}/members/{}/profile",
            g.ws.slug, f.member.id
        ))
        .await;
    assert_eq!(r.status, 404);
    let r = t
        .client(&f.moderator)
        .get::<Value>(&format!("/workspaces/{ws}/members/{}/profile", g.member.id))
        .await;
    assert_eq!(r.status, 404);
    // Erased, nobody has a page any more.
    t.app
        .erase_person(
            &owner,
            f.member.id,
            ErasureInput {
                mode: ErasureMode::Anonymise,
            },
        )
        .await
        .unwrap();
    assert_eq!(t.client(&f.moderator).get::<Value>(&path).await.status, 404);
}

#[tokio::test]
async fn col_02_names_link_to_member_pages_for_those_who_may_see_them() {
    let t = TestApp::spawn().await;
    let sc = crate::content::pages::scene(&t, "linked").await;
    let slug = sc.w.slug.clone();
    let writer = person(&t, &sc.w, "writer", Role::Member).await;
    let reader = person(&t, &sc.w, "reader", Role::Member).await;
    let guest = person(&t, &sc.w, "visitor", Role::Guest).await;
    let (_, idea, _) = crate::content::pages::post_idea(
        &t,
        &writer,
        &slug,
        &sc.discussion,
        &[("title", "Linked names"), ("body", "b")],
        None,
    )
    .await;
    let page_of = format!("/w/{slug}/people/{}", writer.user);
    for path in [
        idea.clone(),
        format!("/w/{slug}/discussions/{}", sc.discussion),
        format!("/w/{slug}/members"),
    ] {
        let (_, page, _) = get(&t, &reader, &path).await;
        assert!(page.contains(&format!("href=\"{page_of}\"")), "{path}");
    }
    let (st, page, _) = get(&t, &reader, &page_of).await;
    assert_eq!(st, 200);
    assert!(page.contains("<h1>writer") && page.contains("Linked names"));
    let (_, de, _) = get_in(&t, &reader, &page_of, "de").await;
    assert!(de.contains("Mitglied seit"));
    let (_, own, _) = get(&t, &writer, &page_of).await;
    assert!(own.contains("(you)"));
    // A guest is shown names without links, and no page.
    let (_, page, _) = get(&t, &guest, &format!("/w/{slug}")).await;
    assert!(!page.contains("/people/"));
    let (st, ..) = get(&t, &guest, &page_of).await;
    assert_eq!(st, 403);
}
