//! COL-03: files and links leave an idea on the idea page, removed by whoever added them, the
//! idea's author or a moderator, after a confirmation; nobody else is offered or allowed it.

use ideaweave_domain::Role;
use ideaweave_testkit::TestApp;

use super::pages::{attach_on_page, get, get_in, person, post, post_idea, scene};

/// Every id that follows `prefix` on a page, in page order.
fn ids_after(page: &str, prefix: &str) -> Vec<String> {
    page.match_indices(prefix)
        .map(|(at, _)| page[at + prefix.len()..at + prefix.len() + 36].to_owned())
        .collect()
}

#[tokio::test]
async fn col_03_files_and_links_are_removed_by_who_added_them_the_ideas_author_or_a_moderator() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "tidy").await;
    let slug = sc.w.slug.clone();
    let author = person(&t, &sc.w, "author", Role::Member).await;
    let other = person(&t, &sc.w, "other", Role::Member).await;
    let moderator = person(&t, &sc.w, "moderator", Role::Moderator).await;
    let (st, idea, body) = post_idea(
        &t,
        &author,
        &slug,
        &sc.discussion,
        &[("title", "Shared drive"), ("body", "Tidy it")],
        Some(("mine.txt", b"the author's notes\n".to_vec())),
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let idea_id: ideaweave_domain::IdeaId = idea.rsplit('/').next().unwrap().parse().unwrap();
    let r = attach_on_page(
        &t,
        &moderator,
        &slug,
        idea_id,
        "theirs.txt",
        b"a moderator's notes\n".to_vec(),
        "en",
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    for (who, url, title) in [
        (&author, "https://example.org/mine", "Mine"),
        (&moderator, "https://example.org/theirs", "Theirs"),
    ] {
        let (st, ..) = post(
            &t,
            who,
            &format!("{idea}/links"),
            &[("csrf", &who.csrf), ("url", url), ("title", title)],
            false,
        )
        .await;
        assert_eq!(st, 303);
    }

    // Another member is offered nothing and allowed nothing.
    let (_, page, _) = get(&t, &other, &idea).await;
    assert!(
        !page.contains("/remove\""),
        "no remove form for another member"
    );
    let (_, page, _) = get(&t, &author, &idea).await;
    let files = ids_after(&page, &format!("/w/{slug}/attachments/"));
    let links = ids_after(&page, &format!("/w/{slug}/links/"));
    assert_eq!(
        (files.len(), links.len()),
        (2, 2),
        "the idea's author may remove every file and link on it: {page}"
    );
    let (st, ..) = post(
        &t,
        &other,
        &format!("/w/{slug}/attachments/{}/remove", files[0]),
        &[("csrf", &other.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 403);
    let (st, ..) = post(
        &t,
        &author,
        &format!("/w/{slug}/attachments/{}/remove", files[0]),
        &[("csrf", "stale")],
        false,
    )
    .await;
    assert_eq!(st, 400, "a stale form removes nothing");
    let (_, page, _) = get(&t, &other, &idea).await;
    assert!(page.contains("mine.txt") && page.contains("theirs.txt"));

    // The author removes the moderator's file from their idea; its bytes go too.
    let theirs = files
        .iter()
        .find(|id| {
            let at = page.find(&format!("attachments/{id}/content")).unwrap();
            page[at..].find("theirs.txt").is_some_and(|d| d < 120)
        })
        .expect("the moderator's file")
        .clone();
    let (st, _, h) = post(
        &t,
        &author,
        &format!("/w/{slug}/attachments/{theirs}/remove"),
        &[("csrf", &author.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert!(h["location"].to_str().unwrap().ends_with("#files"));
    let (_, page, _) = get(&t, &other, &idea).await;
    assert!(!page.contains("theirs.txt") && page.contains("mine.txt"));
    let (st, ..) = get(
        &t,
        &author,
        &format!("/api/v1/workspaces/{slug}/attachments/{theirs}/content"),
    )
    .await;
    assert_eq!(st, 404, "the file is gone");

    // A moderator removes the author's link; the German page offers the same.
    let (_, page, _) = get_in(&t, &moderator, &idea, "de").await;
    assert!(page.contains("Link entfernen") && page.contains("Datei entfernen"));
    let mine = ids_after(&page, &format!("/w/{slug}/links/"))
        .into_iter()
        .find(|id| {
            let at = page.find(&format!("links/{id}/remove")).unwrap();
            page[..at]
                .rfind("example.org/mine")
                .is_some_and(|b| at - b < 600)
        })
        .expect("the author's link");
    let (st, _, h) = post(
        &t,
        &moderator,
        &format!("/w/{slug}/links/{mine}/remove"),
        &[("csrf", &moderator.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert!(h["location"].to_str().unwrap().ends_with("#links"));
    let (_, page, _) = get(&t, &other, &idea).await;
    assert!(!page.contains("example.org/mine") && page.contains("example.org/theirs"));

    // Another workspace's moderator, with the ids, finds nothing.
    let elsewhere = scene(&t, "tidy-other").await;
    let stranger = person(&t, &elsewhere.w, "mod", Role::Moderator).await;
    let (st, ..) = post(
        &t,
        &stranger,
        &format!("/w/{}/attachments/{}/remove", elsewhere.w.slug, files[0]),
        &[("csrf", &stranger.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 404);
}
