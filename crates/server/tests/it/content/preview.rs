//! COL-01: a text is previewed as it will read, with the page's renderer, mentions and links,
//! in place under the form or as a page without script; nothing is stored.

use ideaweave_domain::Role;
use ideaweave_testkit::TestApp;

use super::mentions::named;
use super::pages::{get, person, post, scene};

#[tokio::test]
async fn col_01_a_text_is_previewed_as_it_will_read_in_place_or_as_a_page() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "preview").await;
    let slug = sc.w.slug.clone();
    let writer = person(&t, &sc.w, "Writer", Role::Member).await;
    named(&t, &sc.w, "Noor Haddad", Role::Member).await;
    let text = "**Bold** idea for @noor haddad, see https://example.org/plan <script>x</script>";
    let (st, fragment, _) = post(
        &t,
        &writer,
        &format!("/w/{slug}/preview"),
        &[("csrf", &writer.csrf), ("body", text)],
        true,
    )
    .await;
    assert_eq!(st, 200, "{fragment}");
    assert!(
        fragment.starts_with("<div class=\"preview-box\">"),
        "{fragment}"
    );
    assert!(fragment.contains("<strong>Bold</strong>"));
    assert!(fragment.contains("<span class=\"mention\">@Noor Haddad</span>"));
    assert!(fragment.contains("<a href=\"https://example.org/plan\" rel="));
    assert!(!fragment.contains("<script>"), "raw HTML stays text");
    let (st, page, _) = post(
        &t,
        &writer,
        &format!("/w/{slug}/preview"),
        &[("csrf", &writer.csrf), ("body", text)],
        false,
    )
    .await;
    assert_eq!(st, 200);
    assert!(page.contains("<h1>Preview</h1>") && page.contains("<strong>Bold</strong>"));
    let (st, ..) = post(
        &t,
        &writer,
        &format!("/w/{slug}/preview"),
        &[("csrf", "stale"), ("body", text)],
        true,
    )
    .await;
    assert_eq!(st, 400);
    let long = "a".repeat(50_001);
    let (st, ..) = post(
        &t,
        &writer,
        &format!("/w/{slug}/preview"),
        &[("csrf", &writer.csrf), ("body", &long)],
        true,
    )
    .await;
    assert_eq!(st, 422);
    // Nothing was stored, and nobody was told.
    let (_, page, _) = get(
        &t,
        &writer,
        &format!("/w/{slug}/discussions/{}", sc.discussion),
    )
    .await;
    assert!(!page.contains("Bold idea"));
    let (_, page, _) = get(
        &t,
        &writer,
        &format!("/w/{slug}/discussions/{}/new", sc.discussion),
    )
    .await;
    assert!(
        page.contains(&format!("formaction=\"/w/{slug}/preview\""))
            && page.contains("Formatting help")
    );
}
