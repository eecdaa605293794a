//! COL-05: similar ideas while posting (API and the new-idea form), and likely duplicates on
//! an idea's page for moderators to merge: only what the reader may see, never the idea itself
//! or ideas already merged, at most five.

use ideaweave_domain::Role;
use ideaweave_testkit::TestApp;
use ideaweave_testkit::client::models::NewIdea;
use serde_json::Value;

use super::pages::{get, person, post};
use super::search::{index_now, urlencode};
use crate::helpers::{Auth, Body, call, private_space};
use crate::platform::routes::Fixture;

/// The ids and plain titles of the ideas like `title`, as `auth` sees them.
async fn similar(
    t: &TestApp,
    auth: &Auth,
    slug: &str,
    title: &str,
    extra: &str,
) -> (u16, Vec<(String, String)>) {
    let path = format!(
        "/workspaces/{slug}/ideas/similar?title={}{extra}",
        urlencode(title)
    );
    let (status, v) = call(t, "GET", &path, auth, Body::None).await;
    let items = v["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    let title: String = i["title"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p["text"].as_str().unwrap())
                        .collect();
                    (i["id"].as_str().unwrap().to_owned(), title)
                })
                .collect()
        })
        .unwrap_or_default();
    (status, items)
}

fn titles(found: &[(String, String)]) -> Vec<&str> {
    found.iter().map(|(_, t)| t.as_str()).collect()
}

#[tokio::test]
async fn col_05_similar_ideas_are_found_while_posting_only_where_the_reader_may_look() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "similar").await;
    let slug = f.ws.slug.as_str();
    let open = t.space(&f.ws, "Town", "").await;
    let d = t.challenge(&f.ws, open, "Energy", "", &[]).await;
    let lab = private_space(&t, &f.ws, "Lab", &[]).await;
    let hidden = t.challenge(&f.ws, lab, "Lab ideas", "", &[]).await;
    let author = t.client(&f.member);
    let owner = t.client(&f.ws.owner);
    let mut posted = Vec::new();
    for title in [
        "Solar panels on the school roof",
        "Bike lanes downtown",
        "Solar energy for the town hall",
    ] {
        let idea = author
            .post_idea(slug, d, &NewIdea::new(title, "Details follow."))
            .await
            .expect(201);
        posted.push(idea.summary.id);
    }
    owner
        .post_idea(
            slug,
            hidden,
            &NewIdea::new("Solar roof prototype", "Secret."),
        )
        .await
        .expect(201);
    index_now(&t).await;
    let member = Auth::Token(f.member.token.clone());

    let (st, found) = similar(&t, &member, slug, "A solar roof for the library", "").await;
    assert_eq!(st, 200);
    assert_eq!(
        titles(&found),
        [
            "Solar panels on the school roof",
            "Solar energy for the town hall"
        ],
        "most alike first; nothing about bikes; nothing of the private space"
    );
    // The owner may look into the private space.
    let (_, for_owner) = similar(
        &t,
        &Auth::Token(f.ws.owner.token.clone()),
        slug,
        "A solar roof for the library",
        "",
    )
    .await;
    assert!(titles(&for_owner).contains(&"Solar roof prototype"));
    // Kept to one discussion on request (where a merge can go).
    let (_, one_discussion) = similar(
        &t,
        &Auth::Token(f.ws.owner.token.clone()),
        slug,
        "A solar roof for the library",
        &format!("&discussion={d}"),
    )
    .await;
    assert!(!titles(&one_discussion).contains(&"Solar roof prototype"));
    assert_eq!(one_discussion.len(), 2, "{one_discussion:?}");
    // While typing, the last word counts as the start of a longer one.
    let (_, typed) = similar(&t, &member, slug, "downt", "").await;
    assert_eq!(titles(&typed), ["Bike lanes downtown"]);
    // An idea is not its own duplicate; an idea merged into another is left out.
    let exclude = format!("&exclude={}", posted[0]);
    let (_, without) = similar(&t, &member, slug, "solar school roof", &exclude).await;
    assert_eq!(titles(&without), ["Solar energy for the town hall"]);
    let moderator = t.client(&f.moderator);
    moderator
        .merge_idea(slug, posted[2], posted[0])
        .await
        .expect(200);
    index_now(&t).await;
    let (_, after_merge) = similar(&t, &member, slug, "solar", "").await;
    assert_eq!(titles(&after_merge), ["Solar panels on the school roof"]);
    // Nothing telling in the title: nothing found, no error.
    let (st, none) = similar(&t, &member, slug, "the and for -\"*", "").await;
    assert_eq!((st, none.len()), (200, 0));
    // At most five.
    for i in 0..7 {
        author
            .post_idea(slug, d, &NewIdea::new(&format!("Solar idea {i}"), "x"))
            .await
            .expect(201);
    }
    index_now(&t).await;
    let (_, many) = similar(&t, &member, slug, "solar idea", "").await;
    assert_eq!(many.len(), 5, "{many:?}");
    // Another workspace's people and signed-out callers get nothing.
    let g = Fixture::new(&t, "similar-other").await;
    let (st, _) = similar(&t, &Auth::Token(g.member.token.clone()), slug, "solar", "").await;
    assert_eq!(st, 404);
    let (st, _) = similar(&t, &Auth::None, slug, "solar", "").await;
    assert_eq!(st, 401);
}

#[tokio::test]
async fn col_05_the_new_idea_form_shows_similar_ideas_and_moderators_see_duplicates_to_merge() {
    let t = TestApp::spawn().await;
    let w = t.workspace("dupes").await;
    let space = t.space(&w, "Town", "").await;
    let d = t.challenge(&w, space, "Energy", "", &[]).await;
    let author = person(&t, &w, "author", Role::Member).await;
    let moderator = person(&t, &w, "moderator", Role::Moderator).await;
    let api = t.client(&w.owner);
    let first = api
        .post_idea(
            &w.slug,
            d,
            &NewIdea::new("Solar panels on the school roof", "x"),
        )
        .await
        .expect(201)
        .summary
        .id;
    let second = api
        .post_idea(&w.slug, d, &NewIdea::new("Solar roof for the school", "y"))
        .await
        .expect(201)
        .summary
        .id;
    // The same title in another discussion: an idea cannot be merged across discussions.
    let d2 = t.challenge(&w, space, "Buildings", "", &[]).await;
    let elsewhere = api
        .post_idea(&w.slug, d2, &NewIdea::new("Solar roof for the school", "z"))
        .await
        .expect(201)
        .summary
        .id;
    index_now(&t).await;

    // The title field asks as it is typed; the answer is the list, linking to each idea.
    let (_, form, _) = get(&t, &author, &format!("/w/dupes/discussions/{d}/new")).await;
    assert!(
        form.contains("hx-get=\"/w/dupes/ideas/similar\""),
        "the title field asks for similar ideas"
    );
    let (st, fragment, _) = get(&t, &author, "/w/dupes/ideas/similar?title=solar%20roof").await;
    assert_eq!(st, 200);
    assert!(
        fragment.contains(&format!("/w/dupes/ideas/{first}")),
        "{fragment}"
    );
    assert!(fragment.contains("<mark>"), "the shared words are marked");
    let (_, nothing, _) = get(&t, &author, "/w/dupes/ideas/similar?title=bicycles").await;
    assert!(!nothing.contains("<li>"), "{nothing}");
    let (_, german, _) =
        super::pages::get_in(&t, &author, "/w/dupes/ideas/similar?title=solar", "de").await;
    assert!(german.contains("Ähnliche Ideen"), "{german}");

    // Members see no duplicates to merge; moderators do, and merge from there.
    let page = format!("/w/dupes/ideas/{second}");
    let (_, as_author, _) = get(&t, &author, &page).await;
    assert!(!as_author.contains("duplicates-title"));
    let (_, as_moderator, _) = get(&t, &moderator, &page).await;
    assert!(as_moderator.contains("duplicates-title"), "{as_moderator}");
    assert!(as_moderator.contains(&format!("name=\"into\" value=\"{first}\"")));
    assert!(
        !as_moderator.contains(&elsewhere.to_string()),
        "only where a merge can go: the same discussion"
    );
    let (st, ..) = post(
        &t,
        &moderator,
        &format!("{page}/merge"),
        &[("csrf", &moderator.csrf), ("into", &first.to_string())],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (_, merged, _) = get(&t, &moderator, &page).await;
    assert!(
        !merged.contains("duplicates-title"),
        "a merged idea looks for no duplicates"
    );
    let (_, target, _) = get(&t, &moderator, &format!("/w/dupes/ideas/{first}")).await;
    assert!(
        !target.contains("duplicates-title"),
        "an idea others were merged into cannot be merged itself"
    );
    let (_, v) = call(
        &t,
        "GET",
        &format!("/workspaces/dupes/ideas/{second}"),
        &Auth::Token(w.owner.token.clone()),
        Body::None,
    )
    .await;
    assert_eq!(v["merged_into"], Value::String(first.to_string()));
}
