//! COL-01: the board. Moderators move ideas between stages on it, by dragging (script) or by
//! each card's own stage form (keyboard, no script), and come back to the board; members see
//! the board without the forms and cannot move anything. Each column pages on its own.

use ideaweave_domain::{DiscussionId, IdeaId, Role};
use ideaweave_testkit::TestApp;
use ideaweave_testkit::client::models::NewIdea;

use super::pages::{get, person, post, scene};

#[tokio::test]
async fn col_01_moderators_move_ideas_on_the_board_and_members_cannot() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "kanban").await;
    let slug = sc.w.slug.clone();
    let moderator = person(&t, &sc.w, "mona", Role::Moderator).await;
    let member = person(&t, &sc.w, "mel", Role::Member).await;
    let d: DiscussionId = sc.discussion.parse().unwrap();
    let idea = t
        .client(&sc.w.owner)
        .post_idea(&slug, d, &NewIdea::new("Green roofs", "Plant them"))
        .await
        .expect(201);
    let ws = t.app.workspace(&sc.w.as_member(&sc.w.owner)).await.unwrap();
    let (from, to) = (&ws.stages[0], &ws.stages[1]);
    assert_eq!(idea.summary.stage_id, from.id);
    let board = format!("/w/{slug}/discussions/{d}?view=board");

    // The moderator's board: draggable, every card with its own labelled stage form.
    let (_, page, _) = get(&t, &moderator, &board).await;
    assert!(
        page.contains(" data-move aria-describedby=\"board-hint\""),
        "{page}"
    );
    assert!(page.contains(&format!("data-stage=\"{}\"", to.id)));
    let id = idea.summary.id;
    assert!(page.contains(&format!("id=\"card-{id}\" data-idea=\"{id}\"")));
    assert!(page.contains(&format!("<label for=\"move-{id}\" class=\"sr-only\">")));
    assert!(page.contains(&format!("hx-post=\"/w/{slug}/ideas/{id}/stage\"")));

    // A member's board has neither.
    let (_, page, _) = get(&t, &member, &board).await;
    assert!(!page.contains("data-move") && !page.contains("class=\"move\""));
    let (st, ..) = move_to(&t, &member, &slug, id, to.id.to_string()).await;
    assert_eq!(st, 403);
    assert_eq!(
        stage_of(&t, &sc.w.owner, &slug, id).await,
        from.id.to_string()
    );

    // The moderator's move lands back on the board, at the card.
    let (st, _, h) = move_to(&t, &moderator, &slug, id, to.id.to_string()).await;
    assert_eq!(st, 303);
    assert_eq!(
        h["location"].to_str().unwrap(),
        format!("/w/{slug}/discussions/{d}?view=board&sort=top#card-{id}")
    );
    assert_eq!(
        stage_of(&t, &sc.w.owner, &slug, id).await,
        to.id.to_string()
    );
    let (_, page, _) = get(&t, &moderator, &board).await;
    let column = &page[page.find(&format!("data-stage=\"{}\"", to.id)).unwrap()..];
    let column = &column[..column.find("</section>").unwrap()];
    assert!(
        column.contains(&format!("id=\"card-{id}\"")),
        "the card is in its new column"
    );

    // A stage of another workspace is refused, and nothing moves.
    let other = t.workspace("kanban-other").await;
    let foreign = t
        .app
        .workspace(&other.as_member(&other.owner))
        .await
        .unwrap();
    let (st, ..) = move_to(&t, &moderator, &slug, id, foreign.stages[0].id.to_string()).await;
    assert!(st >= 400, "{st}");
    assert_eq!(
        stage_of(&t, &sc.w.owner, &slug, id).await,
        to.id.to_string()
    );
}

/// Sends an idea's stage form from the board, as `who`.
async fn move_to(
    t: &TestApp,
    who: &ideaweave_testkit::Session,
    slug: &str,
    id: IdeaId,
    stage: String,
) -> (u16, String, reqwest::header::HeaderMap) {
    move_with(t, who, slug, id, &stage, &[]).await
}

/// [`move_to`] with the board's view (`sort`, `tag`, `col`, `page`) the card's form carries.
async fn move_with(
    t: &TestApp,
    who: &ideaweave_testkit::Session,
    slug: &str,
    id: IdeaId,
    stage: &str,
    view: &[(&str, &str)],
) -> (u16, String, reqwest::header::HeaderMap) {
    let mut form = vec![
        ("csrf", who.csrf.as_str()),
        ("stage", stage),
        ("back", "board"),
    ];
    form.extend_from_slice(view);
    post(t, who, &format!("/w/{slug}/ideas/{id}/stage"), &form, false).await
}

async fn stage_of(t: &TestApp, who: &ideaweave_testkit::Person, slug: &str, id: IdeaId) -> String {
    t.client(who)
        .idea(slug, id)
        .await
        .expect(200)
        .summary
        .stage_id
        .to_string()
}

#[tokio::test]
async fn col_01_each_board_column_pages_on_its_own_with_counts() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "columns").await;
    let slug = sc.w.slug.clone();
    let reader = person(&t, &sc.w, "rea", Role::Member).await;
    let d: DiscussionId = sc.discussion.parse().unwrap();
    let api = t.client(&sc.w.owner);
    for n in 0..23 {
        api.post_idea(&slug, d, &NewIdea::new(&format!("Idea {n}"), "Body"))
            .await
            .expect(201);
    }
    let ws = t.app.workspace(&sc.w.as_member(&sc.w.owner)).await.unwrap();
    let first = ws.stages[0].id;
    let (_, page, _) = get(
        &t,
        &reader,
        &format!("/w/{slug}/discussions/{d}?view=board"),
    )
    .await;
    assert!(page.contains("1–20 of 23"), "{page}");
    assert_eq!(page.matches("class=\"card mini\"").count(), 20);
    let next = format!(
        "/w/{slug}/discussions/{d}?view=board&#38;sort=top&#38;col={first}&#38;page=2#col-{first}"
    );
    assert!(page.contains(&next), "{page}");
    let (_, page, _) = get(
        &t,
        &reader,
        &format!("/w/{slug}/discussions/{d}?view=board&sort=top&col={first}&page=2"),
    )
    .await;
    assert!(page.contains("21–23 of 23"), "{page}");
    assert_eq!(page.matches("class=\"card mini\"").count(), 3);
    assert!(page.contains("rel=\"prev\""));
    // A page past the column's end goes to its last page; a page of no column shows the first.
    let (st, _, h) = get(
        &t,
        &reader,
        &format!("/w/{slug}/discussions/{d}?view=board&col={first}&page=4000"),
    )
    .await;
    assert_eq!(st, 303);
    assert!(
        h["location"]
            .to_str()
            .unwrap()
            .contains(&format!("col={first}&page=2"))
    );
    let (st, page, _) = get(
        &t,
        &reader,
        &format!("/w/{slug}/discussions/{d}?view=board&col=nonsense&page=3"),
    )
    .await;
    assert_eq!(st, 200);
    assert!(page.contains("1–20 of 23"), "{page}");
}

#[tokio::test]
async fn col_01_a_move_on_the_board_keeps_its_order_filter_and_column_page() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "kept-view").await;
    let slug = sc.w.slug.clone();
    let moderator = person(&t, &sc.w, "mod", Role::Moderator).await;
    let d: DiscussionId = sc.discussion.parse().unwrap();
    let api = t.client(&sc.w.owner);
    for n in 0..21 {
        let mut idea = NewIdea::new(&format!("Idea {n}"), "Body");
        idea.tags = vec!["grün_dach".to_owned()];
        api.post_idea(&slug, d, &idea).await.expect(201);
    }
    let ws = t.app.workspace(&sc.w.as_member(&sc.w.owner)).await.unwrap();
    let (first, second) = (ws.stages[0].id, ws.stages[1].id);

    // The board, newest first, filtered by a tag (not ASCII), its first column at page 2: every
    // card's form carries that view.
    let board = format!(
        "/w/{slug}/discussions/{d}?view=board&sort=newest&tag=gr%C3%BCn_dach&col={first}&page=2"
    );
    let (st, page, _) = get(&t, &moderator, &board).await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page.matches("class=\"card mini\"").count(), 1, "{page}");
    let card = &page[page.find("id=\"card-").unwrap()..];
    let card = &card[..card.find("</li>").unwrap()];
    for field in [
        "name=\"sort\" value=\"newest\"".to_owned(),
        "name=\"tag\" value=\"grün_dach\"".to_owned(),
        format!("name=\"col\" value=\"{first}\""),
        "name=\"page\" value=\"2\"".to_owned(),
    ] {
        assert!(card.contains(&field), "{field} in {card}");
    }
    let id: IdeaId = card["id=\"card-".len()..]
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // The move returns to that same view, at the card.
    let sent = second.to_string();
    let first_text = first.to_string();
    let (st, _, h) = move_with(
        &t,
        &moderator,
        &slug,
        id,
        &sent,
        &[
            ("sort", "newest"),
            ("tag", "grün_dach"),
            ("col", &first_text),
            ("page", "2"),
        ],
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(
        h["location"].to_str().unwrap(),
        format!(
            "/w/{slug}/discussions/{d}?view=board&sort=newest&col={first}&page=2&tag=gr%C3%BCn_dach#card-{id}"
        )
    );
    assert_eq!(stage_of(&t, &sc.w.owner, &slug, id).await, sent);

    // A view that cannot be read (a forged form) falls back to the plain board, and never
    // leads elsewhere.
    let (st, _, h) = move_with(
        &t,
        &moderator,
        &slug,
        id,
        &first_text,
        &[
            ("sort", "//evil.example"),
            ("col", "https://evil.example/"),
            ("page", "x"),
            ("tag", "  "),
        ],
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(
        h["location"].to_str().unwrap(),
        format!("/w/{slug}/discussions/{d}?view=board&sort=top#card-{id}")
    );
    // A tag is always sent on encoded, whatever it holds; one longer than any tag is dropped.
    let (st, _, h) = move_with(
        &t,
        &moderator,
        &slug,
        id,
        &sent,
        &[("tag", "a&sort=x#y\r\nX: 1\"")],
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(
        h["location"].to_str().unwrap(),
        format!(
            "/w/{slug}/discussions/{d}?view=board&sort=top&tag=a%26sort%3Dx%23y%0D%0AX%3A%201%22#card-{id}"
        )
    );
    let long = "t".repeat(65);
    let (_, _, h) = move_with(&t, &moderator, &slug, id, &first_text, &[("tag", &long)]).await;
    assert!(!h["location"].to_str().unwrap().contains("tag="));

    // A column that is not one of this board's (another workspace's stage) is not carried on.
    let other = t.workspace("kept-view-other").await;
    let foreign = t
        .app
        .workspace(&other.as_member(&other.owner))
        .await
        .unwrap()
        .stages[0]
        .id;
    let (st, page, _) = get(
        &t,
        &moderator,
        &format!("/w/{slug}/discussions/{d}?view=board&col={foreign}&page=2"),
    )
    .await;
    assert_eq!(st, 200);
    assert!(page.contains("name=\"sort\" value=\"top\""), "{page}");
    assert!(!page.contains("name=\"col\""), "{page}");
}
