//! COL-01: a newcomer is welcomed with the next steps until they write something, and empty
//! lists lead somewhere.

use ideaweave_domain::Role;
use ideaweave_testkit::TestApp;

use super::pages::{get, get_in, person, post, post_idea, scene};

#[tokio::test]
async fn col_01_a_newcomer_is_welcomed_until_their_first_idea_or_comment() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "hello").await;
    let slug = sc.w.slug.clone();
    let home = format!("/w/{slug}");
    let newcomer = person(&t, &sc.w, "newcomer", Role::Member).await;
    let guest = person(&t, &sc.w, "visitor", Role::Guest).await;

    let (_, page, _) = get(&t, &newcomer, &home).await;
    assert!(page.contains("class=\"card welcome\""), "{page}");
    let post_here = format!("/w/{slug}/discussions/{}/new", sc.discussion);
    assert!(page.contains(&format!("<a href=\"{post_here}\">Post your first idea</a>")));
    assert!(page.contains(&format!("href=\"/w/{slug}/members\"")));
    let (_, de, _) = get_in(&t, &newcomer, &home, "de").await;
    assert!(de.contains("Willkommen! So fangen Sie an"));
    // Nothing posted yet anywhere: the empty lists lead to the form.
    assert!(page.contains(&format!("class=\"button primary\" href=\"{post_here}\"")));
    let (_, list, _) = get(
        &t,
        &newcomer,
        &format!("/w/{slug}/discussions/{}", sc.discussion),
    )
    .await;
    assert!(list.contains(&format!("class=\"button primary\" href=\"{post_here}\"")));

    // A guest is welcomed without a form they may not use or a list they may not see.
    let (_, page, _) = get(&t, &guest, &home).await;
    assert!(page.contains("class=\"card welcome\""));
    assert!(
        !page.contains("Post your first idea")
            && !page.contains(&format!("href=\"/w/{slug}/members\""))
    );

    // The first idea ends the welcome.
    let (st, idea, body) = post_idea(
        &t,
        &newcomer,
        &slug,
        &sc.discussion,
        &[("title", "My first"), ("body", "b")],
        None,
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let (_, page, _) = get(&t, &newcomer, &home).await;
    assert!(!page.contains("class=\"card welcome\""));
    // So does a first comment.
    let commenter = person(&t, &sc.w, "commenter", Role::Member).await;
    post(
        &t,
        &commenter,
        &format!("{idea}/comments"),
        &[("csrf", &commenter.csrf), ("body", "Nice")],
        false,
    )
    .await;
    let (_, page, _) = get(&t, &commenter, &home).await;
    assert!(!page.contains("class=\"card welcome\""));
}
