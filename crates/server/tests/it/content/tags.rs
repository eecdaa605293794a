//! COL-01: tags are typed with or without `#`, with commas or spaces, and kept one way
//! (lowercase, words joined by `-`), so the same tag however typed finds the same ideas.

use ideaweave_domain::Role;
use ideaweave_testkit::TestApp;

use super::pages::{get, person, post_idea, scene};

#[tokio::test]
async fn col_01_tags_typed_with_hashes_or_commas_are_one_tag() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "tagged").await;
    let slug = sc.w.slug.clone();
    let writer = person(&t, &sc.w, "writer", Role::Member).await;
    let (st, idea, body) = post_idea(
        &t,
        &writer,
        &slug,
        &sc.discussion,
        &[
            ("title", "Tagged"),
            ("body", "b"),
            ("tags", "#Energy #Quick  Win, energy"),
        ],
        None,
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let (_, page, _) = get(&t, &writer, &idea).await;
    assert!(
        page.contains("#energy") && page.contains("#quick-win"),
        "{page}"
    );
    assert_eq!(page.matches(">#energy<").count(), 1, "one tag, typed twice");
    for typed in ["%23quick+win", "Quick-Win", "quick+win"] {
        let (st, list, _) = get(
            &t,
            &writer,
            &format!("/w/{slug}/discussions/{}?tag={typed}", sc.discussion),
        )
        .await;
        assert_eq!(st, 200);
        assert!(list.contains("Tagged"), "the filter {typed} finds it");
    }
}
