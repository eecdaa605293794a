//! COL-03: people edit and delete their own comments, moderators delete anyone's and read what
//! an edited comment said before, through the API and on the idea page.

use ideaweave_domain::{CommentId, Role};
use ideaweave_testkit::TestApp;
use ideaweave_testkit::client::models::NewComment;

use super::pages::{get, get_in, person, post, post_idea, scene};
use crate::platform::routes::Fixture;

/// The id of the comment whose text contains `text` on an idea page.
fn comment_id(page: &str, text: &str) -> CommentId {
    let at = page
        .find(text)
        .unwrap_or_else(|| panic!("no comment {text:?} in {page}"));
    let start = page[..at]
        .rfind("id=\"comment-")
        .expect("the comment's element")
        + "id=\"comment-".len();
    page[start..start + 36].parse().expect("a comment id")
}

#[tokio::test]
async fn col_03_moderators_read_the_earlier_versions_of_an_edited_comment_through_the_api() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "versions").await;
    let ws = f.ws.slug.as_str();
    let space = t.space(&f.ws, "Ideas", "").await;
    let d = t.challenge(&f.ws, space, "Better", "", &[]).await;
    let idea = t
        .client(&f.member)
        .post_idea(
            ws,
            d,
            &ideaweave_testkit::client::models::NewIdea::new("Talk", "Body"),
        )
        .await
        .expect(201)
        .summary
        .id;
    let author = t.client(&f.member);
    let c = author
        .comment(ws, idea, &NewComment::new("first words"))
        .await
        .expect(201);
    assert_eq!(
        c.created_at, c.updated_at,
        "a new comment is not marked edited"
    );
    author
        .edit_comment(ws, c.id, "second words")
        .await
        .expect(200);
    // Saving the same text again is no new version and no new edit.
    let same = author
        .edit_comment(ws, c.id, "second words")
        .await
        .expect(200);
    let edited = author
        .edit_comment(ws, c.id, "third words")
        .await
        .expect(200);
    assert!(edited.updated_at > edited.created_at, "marked edited");
    assert!(same.updated_at <= edited.updated_at);

    let h = t
        .client(&f.moderator)
        .comment_history(ws, c.id)
        .await
        .expect(200);
    assert_eq!(h.comment.body, "third words");
    let texts: Vec<&str> = h.versions.iter().map(|v| v.body.as_str()).collect();
    assert_eq!(texts, ["first words", "second words"], "oldest first");
    assert_eq!(h.versions[0].written_at, c.created_at);
    assert_eq!(h.versions[1].written_at, h.versions[0].replaced_at);
    assert!(h.versions[1].replaced_at <= edited.updated_at);
    assert!(h.versions[0].body_html.contains("<p>first words</p>"));
    t.client(&f.admin)
        .comment_history(ws, c.id)
        .await
        .expect(200);

    // Only moderators: not the author; a guest, not listed in the space, does not see it.
    let r = t.client(&f.member).comment_history(ws, c.id).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = t.client(&f.guest).comment_history(ws, c.id).await;
    assert_eq!(r.status, 404, "{}", r.body);
    // Nobody else edits it, and an empty text is refused without losing the comment.
    let r = t
        .client(&f.moderator)
        .edit_comment(ws, c.id, "moderator's words")
        .await;
    assert_eq!(r.status, 403);
    let r = author.edit_comment(ws, c.id, "   ").await;
    assert_eq!(r.status, 422, "{}", r.body);
    // Another workspace's moderator, with the id, finds nothing.
    let g = Fixture::new(&t, "versions-other").await;
    let r = t.client(&g.moderator).comment_history(ws, c.id).await;
    assert_ne!(r.status, 200);
    let r = t
        .client(&g.moderator)
        .comment_history(&g.ws.slug, c.id)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);

    // A deleted comment shows no history and takes no edit.
    t.client(&f.moderator)
        .delete_comment(ws, c.id)
        .await
        .expect(204);
    let r = t.client(&f.moderator).comment_history(ws, c.id).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = author.edit_comment(ws, c.id, "back again").await;
    assert_eq!(r.status, 409, "{}", r.body);
}

#[tokio::test]
async fn col_03_authors_edit_and_delete_their_comments_on_the_idea_page() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "talk").await;
    let slug = sc.w.slug.clone();
    let author = person(&t, &sc.w, "author", Role::Member).await;
    let other = person(&t, &sc.w, "other", Role::Member).await;
    let moderator = person(&t, &sc.w, "moderator", Role::Moderator).await;
    let (st, idea, body) = post_idea(
        &t,
        &author,
        &slug,
        &sc.discussion,
        &[("title", "Quiet hours"), ("body", "Less noise")],
        None,
    )
    .await;
    assert_eq!(st, 303, "{body}");

    // Posting without script comes back to the new comment itself.
    let (st, _, h) = post(
        &t,
        &author,
        &format!("{idea}/comments"),
        &[("csrf", &author.csrf), ("body", "Original words")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (_, page, _) = get(&t, &author, &idea).await;
    let id = comment_id(&page, "Original words");
    assert!(
        h["location"]
            .to_str()
            .unwrap()
            .ends_with(&format!("#comment-{id}"))
    );
    let edit = format!("/w/{slug}/comments/{id}/edit");
    let delete = format!("/w/{slug}/comments/{id}/delete");
    let history = format!("/w/{slug}/comments/{id}/history");
    // Each comment links to its edit and delete forms; a form comes (open, focused) when asked
    // for, so the page does not carry one of each for every comment.
    let edit_link = format!("{idea}?edit={id}");
    let delete_link = format!("{idea}?delete={id}");
    assert!(
        page.contains(&format!("href=\"{edit_link}#edit-{id}\"")),
        "the author may edit: {page}"
    );
    assert!(page.contains(&format!("href=\"{delete_link}#delete-{id}\"")));
    assert!(
        !page.contains(&format!("action=\"{edit}\""))
            && !page.contains(&format!("action=\"{delete}\"")),
        "no form until asked for"
    );
    let (st, opened, _) = get(&t, &author, &edit_link).await;
    assert_eq!(st, 200);
    assert!(
        opened.contains(&format!("action=\"{edit}\""))
            && opened.contains("<details class=\"disclosure edit\" open>")
            && opened.contains(" autofocus>Original words</textarea>"),
        "{opened}"
    );
    assert!(!opened.contains(&format!("action=\"{delete}\"")));
    let (_, opened, _) = get(&t, &author, &delete_link).await;
    assert!(
        opened.contains(&format!("action=\"{delete}\""))
            && opened.contains(&format!("id=\"delete-{id}\" tabindex=\"-1\" autofocus>")),
        "{opened}"
    );
    assert!(!page.contains("class=\"edited\""), "not edited yet");
    let (_, seen, _) = get(&t, &other, &idea).await;
    assert!(
        !seen.contains(&edit_link) && !seen.contains(&delete_link),
        "another member neither edits nor deletes it"
    );
    // Asking for the forms of someone else's comment (or of no comment) sends none.
    for asked in [&edit_link, &delete_link, &format!("{idea}?edit=nonsense")] {
        let (st, seen, _) = get(&t, &other, asked).await;
        assert_eq!(st, 200);
        assert!(!seen.contains(&edit) && !seen.contains(&delete), "{asked}");
    }
    let (_, seen, _) = get(&t, &moderator, &idea).await;
    assert!(
        !seen.contains(&edit_link) && seen.contains(&delete_link),
        "a moderator deletes but never rewrites"
    );
    let (_, seen, _) = get(&t, &moderator, &edit_link).await;
    assert!(!seen.contains(&edit), "not even when asking for it");
    let (_, seen, _) = get(&t, &moderator, &delete_link).await;
    assert!(
        seen.contains(&format!("action=\"{delete}\"")) && seen.contains("Delete this comment"),
        "a moderator's confirmation for someone else's comment: {seen}"
    );
    // Each link swaps only its comment's actions, so drafts elsewhere in the thread stay.
    assert!(
        page.contains(&format!("id=\"actions-{id}\""))
            && page.contains(&format!(
                "hx-select=\"#actions-{id}\" hx-target=\"#actions-{id}\""
            )),
        "{page}"
    );
    assert!(!seen.contains(&history), "nothing to show before an edit");

    // Edited in place: the thread comes back with the new text, marked, the comment focused.
    let (st, fragment, _) = post(
        &t,
        &author,
        &edit,
        &[("csrf", &author.csrf), ("body", "Better words")],
        true,
    )
    .await;
    assert_eq!(st, 200, "{fragment}");
    assert!(fragment.starts_with("<section id=\"comments\""));
    assert!(fragment.contains("Better words") && !fragment.contains("Original words"));
    assert!(fragment.contains("class=\"edited\""));
    assert!(
        fragment.contains(&format!("id=\"comment-{id}\" tabindex=\"-1\" autofocus")),
        "the comment takes the focus: {fragment}"
    );
    // A refused edit stays open at its field, in place and without script, keeping the text.
    let (st, fragment, _) = post(
        &t,
        &author,
        &edit,
        &[("csrf", &author.csrf), ("body", "  ")],
        true,
    )
    .await;
    assert_eq!(st, 200);
    assert!(
        fragment.contains(&format!("<p class=\"field-error\" id=\"edit-{id}-error\">"))
            && fragment.contains(&format!("aria-describedby=\"edit-{id}-error\""))
            && fragment.contains("<details class=\"disclosure edit\" open>"),
        "{fragment}"
    );
    let long = "y".repeat(10_001);
    let (st, page, _) = post(
        &t,
        &author,
        &edit,
        &[("csrf", &author.csrf), ("body", &long)],
        false,
    )
    .await;
    assert_eq!(st, 400);
    assert!(page.contains(&long), "the typed text is kept");
    assert!(page.contains(&format!("id=\"edit-{id}-error\"")));
    let (st, de, _) = {
        let r = ideaweave_testkit::browser()
            .post(format!("{}{edit}", t.base))
            .header("cookie", format!("iw_session={}", author.cookie))
            .header("accept-language", "de")
            .form(&[("csrf", author.csrf.as_str()), ("body", " ")])
            .header("hx-request", "true")
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap(), ())
    };
    assert_eq!(st, 200);
    assert!(de.contains("darf nicht leer sein"), "{de}");
    // A stale form changes nothing; someone else's edit is refused.
    let (st, ..) = post(
        &t,
        &author,
        &edit,
        &[("csrf", "stale"), ("body", "never")],
        false,
    )
    .await;
    assert_eq!(st, 400);
    let (st, ..) = post(
        &t,
        &other,
        &edit,
        &[("csrf", &other.csrf), ("body", "hijacked")],
        false,
    )
    .await;
    assert_eq!(st, 403);

    // The moderator reads what it said before; nobody else does.
    let (_, seen, _) = get(&t, &moderator, &idea).await;
    assert!(seen.contains(&history));
    let (st, versions, _) = get(&t, &moderator, &history).await;
    assert_eq!(st, 200, "{versions}");
    assert!(versions.contains("Original words") && versions.contains("Better words"));
    let (st, versions, _) = get_in(&t, &moderator, &history, "de").await;
    assert_eq!(st, 200);
    assert!(versions.contains("Frühere Fassungen eines Kommentars"));
    for who in [&author, &other] {
        let (st, ..) = get(&t, who, &history).await;
        assert_eq!(st, 403);
    }
    let stranger_ws = scene(&t, "talk-other").await;
    let stranger = person(&t, &stranger_ws.w, "mod", Role::Moderator).await;
    let (st, ..) = get(
        &t,
        &stranger,
        &format!("/w/{}/comments/{id}/history", stranger_ws.w.slug),
    )
    .await;
    assert_eq!(st, 404, "another workspace's moderator finds nothing");

    // Deleting: not someone else's as a member; one's own in place; anyone's as a moderator.
    let (st, ..) = post(&t, &other, &delete, &[("csrf", &other.csrf)], false).await;
    assert_eq!(st, 403);
    let (st, fragment, _) = post(&t, &author, &delete, &[("csrf", &author.csrf)], true).await;
    assert_eq!(st, 200);
    assert!(fragment.contains("This comment was deleted."));
    assert!(!fragment.contains("Better words"));
    assert!(fragment.contains(&format!("id=\"comment-{id}\" tabindex=\"-1\" autofocus")));
    let (st, ..) = get(&t, &moderator, &history).await;
    assert_eq!(st, 409, "a deleted comment's history is not shown");
    post(
        &t,
        &other,
        &format!("{idea}/comments"),
        &[("csrf", &other.csrf), ("body", "Off-topic rant")],
        false,
    )
    .await;
    let (_, page, _) = get(&t, &moderator, &idea).await;
    let rant = comment_id(&page, "Off-topic rant");
    let (st, _, h) = post(
        &t,
        &moderator,
        &format!("/w/{slug}/comments/{rant}/delete"),
        &[("csrf", &moderator.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert!(
        h["location"]
            .to_str()
            .unwrap()
            .ends_with(&format!("#comment-{rant}"))
    );
    let (_, page, _) = get(&t, &other, &idea).await;
    assert!(!page.contains("Off-topic rant"));
    assert_eq!(page.matches("This comment was deleted.").count(), 2);
}
