//! Discussions and spaces run from the pages (COL-01, COL-03): moderators change a discussion's
//! details and deadline and close or reopen it; admins delete a discussion or a space after a
//! page that says what goes with it, and the files of the deleted ideas leave the file store.

use ideaweave_app::DiscussionKind;
use ideaweave_domain::{DiscussionId, Role, SpaceId};
use ideaweave_testkit::TestApp;

use super::pages::{get, get_in, person, post, post_idea, scene};
use crate::helpers::{png, with_token};

/// The workspace's `discussion.changed` events as the API gives them to its owner, as JSON text.
async fn discussion_changes(t: &TestApp, slug: &str, owner_token: &str) -> Vec<String> {
    let path = format!("/workspaces/{slug}/audit/events?action=discussion.changed&limit=100");
    let (st, page) = with_token(t, "GET", &path, owner_token, None).await;
    assert_eq!(st, 200, "{page}");
    page["items"]
        .as_array()
        .expect("a page of events")
        .iter()
        .map(|e| e.to_string())
        .collect()
}

/// How many files the upload store holds (sealed blobs, any depth).
fn stored_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() { stored_files(&p) } else { 1 }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn col_01_moderators_change_close_and_reopen_a_discussion_from_its_manage_page() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "runs").await;
    let d = &sc.discussion;
    let id: DiscussionId = d.parse().unwrap();
    let moderator = person(&t, &sc.w, "mo", Role::Moderator).await;
    let member = person(&t, &sc.w, "mel", Role::Member).await;
    let manage = format!("/w/runs/discussions/{d}/manage");

    // Only those who may run the discussion are offered the page.
    let (_, page, _) = get(&t, &moderator, &format!("/w/runs/discussions/{d}")).await;
    assert!(page.contains(&format!("href=\"{manage}\"")));
    let (_, page, _) = get(&t, &member, &format!("/w/runs/discussions/{d}")).await;
    assert!(!page.contains(&manage), "members get no manage link");
    let (st, page, _) = get(&t, &member, &manage).await;
    assert_eq!(st, 403);
    assert!(page.contains("Only moderators and admins run discussions."));
    let (st, ..) = post(
        &t,
        &member,
        &manage,
        &[("csrf", &member.csrf), ("title", "Mine now")],
        false,
    )
    .await;
    assert_eq!(st, 403);

    // The form holds the discussion as stored, its criterion ticked.
    let (st, page, _) = get(&t, &moderator, &manage).await;
    assert_eq!(st, 200);
    assert!(page.contains("value=\"Save energy\""));
    assert!(page.contains(&format!("value=\"{}\" checked", sc.criterion)));

    let (st, _, headers) = post(
        &t,
        &moderator,
        &manage,
        &[
            ("csrf", &moderator.csrf),
            ("title", "Save water"),
            ("kind", "topic"),
            ("description", "Where do we *waste* it?"),
            ("deadline", "2030-01-31"),
        ],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(headers["location"], format!("{manage}?saved=1#details"));
    let as_mod = sc.w.as_member(&sc.w.owner);
    let view = t.app.discussion(&as_mod, id).await.unwrap();
    assert_eq!(view.title, "Save water");
    assert_eq!(view.kind, DiscussionKind::Topic);
    assert_eq!(
        view.deadline,
        Some(1_896_134_399_999),
        "the end of 2030-01-31, UTC"
    );
    assert!(view.criteria.is_empty(), "the unticked criterion is gone");
    let (_, page, _) = get(&t, &moderator, &format!("{manage}?saved=1")).await;
    assert!(page.contains("role=\"status\">Saved."));
    assert!(
        page.contains("value=\"2030-01-31\""),
        "the deadline shows as a date"
    );

    // Refusals come back at their field, in the reader's language, with what was typed.
    let (st, page, _) = post(
        &t,
        &moderator,
        &manage,
        &[
            ("csrf", &moderator.csrf),
            ("title", " "),
            ("description", "kept"),
        ],
        false,
    )
    .await;
    assert_eq!(st, 400);
    assert!(page.contains("aria-invalid=\"true\" aria-describedby=\"d-title-error\""));
    assert!(page.contains(">kept</textarea>"));
    let (st, page, _) = post(
        &t,
        &moderator,
        &manage,
        &[
            ("csrf", &moderator.csrf),
            ("title", "Fine"),
            ("deadline", "soon"),
        ],
        false,
    )
    .await;
    assert_eq!(st, 400);
    assert!(page.contains("id=\"d-deadline-error\">The deadline must be a date like 2026-12-31."));
    assert_eq!(
        t.app.discussion(&as_mod, id).await.unwrap().title,
        "Save water",
        "nothing refused is saved"
    );

    // Closed: no new ideas, and the page says so; reopened: ideas again.
    let state = format!("/w/runs/discussions/{d}/state");
    let (st, ..) = post(
        &t,
        &moderator,
        &state,
        &[("csrf", &moderator.csrf), ("open", "0")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert!(!t.app.discussion(&as_mod, id).await.unwrap().open);
    let (_, page, _) = get(&t, &moderator, &manage).await;
    assert!(
        page.contains("This discussion is closed") && page.contains("id=\"discussion-reopen\"")
    );
    let (st, ..) = get(&t, &member, &format!("/w/runs/discussions/{d}/new")).await;
    assert_eq!(st, 403, "no new ideas in a closed discussion");
    let (st, ..) = post(
        &t,
        &moderator,
        &state,
        &[("csrf", &moderator.csrf), ("open", "maybe")],
        false,
    )
    .await;
    assert_eq!(st, 400);
    let (st, ..) = post(
        &t,
        &moderator,
        &state,
        &[("csrf", &moderator.csrf), ("open", "1")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert!(t.app.discussion(&as_mod, id).await.unwrap().accepting_ideas);
    let (st, ..) = get(&t, &member, &format!("/w/runs/discussions/{d}/new")).await;
    assert_eq!(st, 200);

    // A deadline in the past stops new ideas although the discussion is open; the page says why.
    let (st, ..) = post(
        &t,
        &moderator,
        &manage,
        &[
            ("csrf", &moderator.csrf),
            ("title", "Save water"),
            ("deadline", "2001-01-01"),
        ],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (_, page, _) = get_in(&t, &moderator, &manage, "de").await;
    assert!(page.contains("Die Frist ist abgelaufen"));

    // Every change is in the trail, with what changed and never the text itself.
    let events = discussion_changes(&t, &sc.w.slug, &sc.w.owner.token).await;
    assert!(events.len() >= 4, "{events:?}");
    assert!(events.iter().all(|e| !e.contains("Save water")));
    assert!(events.iter().any(|e| e.contains("\"open\":false")));
}

#[tokio::test]
async fn col_01_admins_delete_a_discussion_with_its_ideas_and_files_after_confirming() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "prune").await;
    let d = &sc.discussion;
    let id: DiscussionId = d.parse().unwrap();
    let space: SpaceId = sc.space.parse().unwrap();
    let member = person(&t, &sc.w, "mia", Role::Member).await;
    let moderator = person(&t, &sc.w, "mo", Role::Moderator).await;
    let admin = person(&t, &sc.w, "ada", Role::Admin).await;
    let (st, ..) = post_idea(
        &t,
        &member,
        "prune",
        d,
        &[("title", "Solar roof"), ("body", "b")],
        Some(("roof.png", png())),
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(stored_files(t.files_dir()), 2, "the file and its preview");
    let delete = format!("/w/prune/discussions/{d}/delete");

    // Moderators run discussions but do not delete them: no button, no page, no deletion.
    let (_, page, _) = get(&t, &moderator, &format!("/w/prune/discussions/{d}/manage")).await;
    assert!(!page.contains(&delete));
    let (st, ..) = get(&t, &moderator, &delete).await;
    assert_eq!(st, 403);
    let (st, ..) = post(&t, &moderator, &delete, &[("csrf", &moderator.csrf)], false).await;
    assert_eq!(st, 403);
    // A form without the session's token deletes nothing either.
    let (st, ..) = post(&t, &admin, &delete, &[("csrf", "forged")], false).await;
    assert_eq!(st, 400);

    // The admin is told what goes with it before anything happens.
    let (_, page, _) = get(&t, &admin, &format!("/w/prune/discussions/{d}/manage")).await;
    assert!(page.contains(&format!("href=\"{delete}\"")));
    let (st, page, _) = get(&t, &admin, &delete).await;
    assert_eq!(st, 200);
    assert!(
        page.contains("The discussion “Save energy” and its 1 idea will be deleted for good"),
        "{page}"
    );
    let (_, page, _) = get_in(&t, &admin, &delete, "de").await;
    assert!(
        page.contains("Die Diskussion „Save energy“ und ihre 1 Idee werden endgültig gelöscht"),
        "{page}"
    );
    let as_admin = sc.w.as_member(&sc.w.owner);
    assert!(
        t.app.discussion(&as_admin, id).await.is_ok(),
        "asking deleted nothing"
    );

    let (st, _, headers) = post(&t, &admin, &delete, &[("csrf", &admin.csrf)], false).await;
    assert_eq!(st, 303);
    assert_eq!(
        headers["location"],
        format!("/w/prune/spaces/{space}?deleted=1")
    );
    let (_, page, _) = get(&t, &admin, &format!("/w/prune/spaces/{space}?deleted=1")).await;
    assert!(page.contains("The discussion was deleted."));
    assert!(matches!(
        t.app.discussion(&as_admin, id).await,
        Err(ideaweave_app::AppError::NotFound(_))
    ));
    let (st, ..) = get(&t, &member, &format!("/w/prune/discussions/{d}")).await;
    assert_eq!(st, 404);
    assert_eq!(
        stored_files(t.files_dir()),
        0,
        "the idea's file left the store"
    );
    let events = discussion_changes(&t, &sc.w.slug, &sc.w.owner.token).await;
    assert!(
        events
            .iter()
            .any(|e| e.contains("\"deleted\":true") && e.contains("\"files\":1"))
    );
}

#[tokio::test]
async fn col_03_admins_delete_a_space_from_the_settings_page_after_confirming() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "spaced").await;
    let space: SpaceId = sc.space.parse().unwrap();
    let member = person(&t, &sc.w, "mia", Role::Member).await;
    let admin = person(&t, &sc.w, "ada", Role::Admin).await;
    let (st, ..) = post_idea(
        &t,
        &member,
        "spaced",
        &sc.discussion,
        &[("title", "Heat pumps"), ("body", "b")],
        Some(("pump.png", png())),
    )
    .await;
    assert_eq!(st, 303);
    let delete = format!("/w/spaced/settings/spaces/{space}/delete");
    let (_, page, _) = get(&t, &admin, "/w/spaced/settings").await;
    assert!(page.contains(&format!("href=\"{delete}\"")));
    let (st, ..) = get(&t, &member, &delete).await;
    assert_eq!(st, 403);
    let (st, page, _) = get(&t, &admin, &delete).await;
    assert_eq!(st, 200);
    assert!(
        page.contains("The space “Ops” with its 1 discussion and 1 idea will be deleted for good"),
        "{page}"
    );

    let (st, _, headers) = post(&t, &member, &delete, &[("csrf", &member.csrf)], false).await;
    assert_eq!(st, 403);
    assert!(headers.get("location").is_none());
    let (st, _, headers) = post(&t, &admin, &delete, &[("csrf", &admin.csrf)], false).await;
    assert_eq!(st, 303);
    assert_eq!(headers["location"], "/w/spaced/settings#spaces");
    let as_admin = sc.w.as_member(&sc.w.owner);
    assert!(t.app.spaces(&as_admin).await.unwrap().is_empty());
    assert_eq!(
        stored_files(t.files_dir()),
        0,
        "the space's files left the store"
    );
    let (st, ..) = get(&t, &admin, &format!("/w/spaced/spaces/{space}")).await;
    assert_eq!(st, 404);
}

/// The stage names of the workspace, in their order.
async fn stage_order(t: &TestApp, w: &ideaweave_testkit::TestWorkspace) -> Vec<String> {
    let ws = t.app.workspace(&w.as_member(&w.owner)).await.unwrap();
    let positions: Vec<i64> = ws.stages.iter().map(|s| s.position).collect();
    assert_eq!(
        positions,
        (0..ws.stages.len() as i64).collect::<Vec<_>>(),
        "the list stays numbered 0, 1, 2…"
    );
    ws.stages.into_iter().map(|s| s.name).collect()
}

#[tokio::test]
async fn col_03_admins_reorder_stages_with_move_buttons_or_a_position() {
    let t = TestApp::spawn().await;
    let w = t.workspace("order").await;
    let admin = person(&t, &w, "ada", Role::Admin).await;
    let before = stage_order(&t, &w).await;
    assert!(before.len() >= 3, "{before:?}");
    let ws = t.app.workspace(&w.as_member(&w.owner)).await.unwrap();
    let last = ws.stages.last().unwrap();
    let first = ws.stages.first().unwrap();

    // The first entry has no "up" button and the last no "down": nothing offered does nothing.
    let (_, page, _) = get(&t, &admin, "/w/order/settings").await;
    assert!(!page.contains(&format!("id=\"stage-up-{}\"", first.id)));
    assert!(page.contains(&format!("id=\"stage-down-{}\"", first.id)));
    assert!(!page.contains(&format!("id=\"stage-down-{}\"", last.id)));
    assert!(
        page.contains("data-reorder"),
        "the list can be dragged with script"
    );

    // "Move up" on the last stage passes exactly one stage.
    let path = format!("/w/order/settings/stages/{}", last.id);
    // The stage form as sent by its "move" buttons or with a typed position.
    let send = |field: &'static str, value: &'static str| {
        let (t, admin, path, name) = (&t, &admin, &path, last.name.clone());
        async move {
            let form = [
                ("csrf", admin.csrf.as_str()),
                ("name", &name),
                (field, value),
            ];
            post(t, admin, path, &form, false).await.0
        }
    };
    let (st, ..) = post(
        &t,
        &admin,
        &path,
        &[("csrf", &admin.csrf), ("name", &last.name), ("move", "up")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let mut want = before.clone();
    let moved = want.pop().unwrap();
    want.insert(want.len() - 1, moved.clone());
    assert_eq!(stage_order(&t, &w).await, want);

    // A position typed in the field (1 = first) puts it there; the others close up.
    assert_eq!(send("position", "1").await, 303);
    let mut want: Vec<String> = before.iter().filter(|n| **n != moved).cloned().collect();
    want.insert(0, moved.clone());
    assert_eq!(stage_order(&t, &w).await, want);

    // "Move down" and a position past the end both end at the end, never beyond.
    assert_eq!(send("position", "99").await, 303);
    assert_eq!(stage_order(&t, &w).await, before);
    assert_eq!(send("move", "down").await, 303);
    assert_eq!(stage_order(&t, &w).await, before);
}

#[tokio::test]
async fn col_03_deleting_a_stage_closes_up_the_list_so_moves_pass_one_stage() {
    let t = TestApp::spawn().await;
    let w = t.workspace("gaps").await;
    let admin = person(&t, &w, "ada", Role::Admin).await;
    let owner = w.as_member(&w.owner);
    for name in ["Fifth", "Sixth"] {
        t.app
            .create_stage(
                &owner,
                ideaweave_app::NamedItemInput {
                    name: name.into(),
                    position: None,
                },
            )
            .await
            .unwrap();
    }
    let ws = t.app.workspace(&owner).await.unwrap();
    let second = ws.stages[1].id;
    let (st, ..) = post(
        &t,
        &admin,
        &format!("/w/gaps/settings/stages/{second}/delete"),
        &[("csrf", &admin.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let before = stage_order(&t, &w).await;
    // The third of the remaining stages moves up by exactly one place.
    let third = t.app.workspace(&owner).await.unwrap().stages.swap_remove(2);
    let (st, ..) = post(
        &t,
        &admin,
        &format!("/w/gaps/settings/stages/{}", third.id),
        &[("csrf", &admin.csrf), ("name", &third.name), ("move", "up")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let mut want = before.clone();
    want.swap(1, 2);
    assert_eq!(stage_order(&t, &w).await, want);
}
