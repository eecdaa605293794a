//! COL-01: ideas, their lists, votes, ratings, merges, deletion, comments, files and links,
//! through the HTTP API.

pub(crate) mod activity;
pub(crate) mod board;
pub(crate) mod comments;
pub(crate) mod file_store;
pub(crate) mod files;
pub(crate) mod image_previews;
pub(crate) mod inbox;
pub(crate) mod lists;
pub(crate) mod manage;
pub(crate) mod mentions;
pub(crate) mod notifications;
pub(crate) mod onboarding;
pub(crate) mod pages;
pub(crate) mod preview;
pub(crate) mod search;
pub(crate) mod search_files;
pub(crate) mod similar;
pub(crate) mod tags;
pub(crate) mod times;
use std::collections::HashSet;

use ideaweave_app::*;
use ideaweave_domain::Role;
use ideaweave_domain::VoteDirection::{Down, Up};
use ideaweave_domain::{CriterionId, DiscussionId, IdeaId, VoteDirection};
use ideaweave_testkit::client::models::{IdeaSummary, NewComment, NewIdea, VoteTally};
use ideaweave_testkit::{Client, Person, TestApp};
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, png, with_token};
use crate::platform::routes::Fixture;

struct Board {
    t: TestApp,
    f: Fixture,
    voters: Vec<Person>,
    discussion: DiscussionId,
    criterion: CriterionId,
}

async fn board(slug: &str) -> Board {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, slug).await;
    let mut voters = Vec::new();
    for i in 0..4 {
        voters.push(t.member(&f.ws, &format!("voter{i}"), Role::Member).await);
    }
    let space = t.space(&f.ws, "Ideas", "").await;
    let criterion = t.criterion(&f.ws, "Impact").await;
    let discussion = t
        .challenge(&f.ws, space, "Make it better", "", &[criterion])
        .await;
    Board {
        t,
        f,
        voters,
        discussion,
        criterion,
    }
}

impl Board {
    fn slug(&self) -> &str {
        &self.f.ws.slug
    }
    fn api(&self, who: &Person) -> Client {
        self.t.client(who)
    }
    async fn post_idea(&self, who: &Person, title: &str, tags: &[&str]) -> IdeaId {
        let idea = NewIdea {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..NewIdea::new(title, "Body")
        };
        self.api(who)
            .post_idea(self.slug(), self.discussion, &idea)
            .await
            .expect(201)
            .id()
    }
    async fn vote(&self, who: &Person, idea: IdeaId, dir: VoteDirection) -> VoteTally {
        self.api(who).vote(self.slug(), idea, dir).await.expect(200)
    }
    async fn get(&self, who: &Person, path: &str) -> (u16, Value) {
        let r = self
            .api(who)
            .get::<Value>(&format!("/workspaces/{}{path}", self.slug()))
            .await;
        (r.status, r.body)
    }
    /// The discussion's idea count, checked against what its list shows.
    async fn count(&self) -> i64 {
        let n = self
            .api(&self.f.member)
            .discussion(self.slug(), self.discussion)
            .await
            .ok()
            .idea_count;
        assert_eq!(
            n as usize,
            self.list_all("newest", "").await.len(),
            "idea_count matches the list"
        );
        n
    }

    async fn list_all(&self, sort: &str, extra: &str) -> Vec<IdeaSummary> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let c = cursor
                .as_ref()
                .map(|c| format!("&cursor={c}"))
                .unwrap_or_default();
            let page = self
                .api(&self.f.member)
                .ideas(
                    self.slug(),
                    self.discussion,
                    &format!("?sort={sort}&limit=7{extra}{c}"),
                )
                .await
                .expect(200);
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
            assert!(out.len() <= 100, "pagination does not end");
        }
        out
    }
}

#[tokio::test]
async fn col_01_idea_lists_sort_filter_and_paginate_without_gaps_or_repeats() {
    let b = board("lists").await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let tags: &[&str] = if i % 3 == 0 { &["green"] } else { &[] };
        let id = b.post_idea(&b.f.member, &format!("Idea {i}"), tags).await;
        for v in b.voters.iter().take(i % 5) {
            let dir = if i % 7 == 0 { Down } else { Up };
            b.vote(v, id, dir).await;
        }
        ids.push(id);
    }
    for sort in ["top", "newest", "trending"] {
        let all = b.list_all(sort, "").await;
        let seen: HashSet<IdeaId> = all.iter().map(|i| i.id).collect();
        assert_eq!(
            (all.len(), seen.len()),
            (20, 20),
            "{sort}: every idea exactly once"
        );
        if sort == "top" {
            let scores: Vec<i64> = all.iter().map(|i| i.score).collect();
            assert!(
                scores.windows(2).all(|w| w[0] >= w[1]),
                "top is by score: {scores:?}"
            );
        }
        if sort == "newest" {
            let got: Vec<IdeaId> = all.iter().map(|i| i.id).collect();
            let want: Vec<IdeaId> = ids.iter().rev().copied().collect();
            assert_eq!(got, want, "newest first");
        }
    }
    let green = b.list_all("top", "&tag=green").await;
    assert_eq!(green.len(), 7);
    assert!(green.iter().all(|i| i.tags.contains(&"green".to_owned())));
    let ws = b.api(&b.f.member).workspace(b.slug()).await.ok();
    let second_stage = ws.stages[1].id;
    let (st, _) = with_token(
        &b.t,
        "PUT",
        &format!("/workspaces/lists/ideas/{}/stage", ids[4]),
        &b.f.moderator.token,
        Some(json!({"stage_id": second_stage})),
    )
    .await;
    assert_eq!(st, 200);
    let staged = b
        .list_all("newest", &format!("&stage={second_stage}"))
        .await;
    assert_eq!(staged.len(), 1);
    assert_eq!(staged[0].id, ids[4]);
}

#[tokio::test]
async fn col_01_one_vote_per_member_changeable_and_withdrawable() {
    let b = board("votes").await;
    let idea = b.post_idea(&b.f.member, "Vote on me", &[]).await;
    let v = b.vote(&b.voters[0], idea, Up).await;
    assert_eq!((v.upvotes, v.score, v.my_vote), (1, 1, Some(Up)));
    let v = b.vote(&b.voters[0], idea, Up).await;
    assert_eq!(v.upvotes, 1, "voting twice still counts once");
    let v = b.vote(&b.voters[0], idea, Down).await;
    assert_eq!((v.upvotes, v.downvotes, v.score), (0, 1, -1));
    b.vote(&b.voters[1], idea, Up).await;
    let v = b
        .api(&b.voters[0])
        .withdraw_vote(b.slug(), idea)
        .await
        .expect(200);
    assert_eq!((v.score, v.my_vote), (1, None));
    let page = b.api(&b.voters[1]).idea(b.slug(), idea).await.ok();
    assert_eq!(page.summary.my_vote, Some(Up));
}

#[tokio::test]
async fn col_01_ratings_average_per_criterion() {
    let b = board("ratings").await;
    let idea = b.post_idea(&b.f.member, "Rate me", &[]).await;
    for (who, value) in [(&b.voters[0], 4), (&b.voters[1], 2), (&b.voters[1], 1)] {
        b.api(who)
            .rate(b.slug(), idea, b.criterion, value)
            .await
            .expect(200);
    }
    let page = b.api(&b.voters[0]).idea(b.slug(), idea).await.ok();
    let r = &page.ratings[0];
    assert_eq!(
        (r.criterion_id, r.count, r.average, r.mine),
        (b.criterion, 2, Some(2.5), Some(4)),
        "{page:?}"
    );
    let other = b.t.criterion(&b.f.ws, "Unused").await;
    let unchosen = b.api(&b.voters[0]).rate(b.slug(), idea, other, 3).await;
    assert_eq!(
        unchosen.status, 404,
        "criteria not chosen for the discussion cannot be rated"
    );
}

#[tokio::test]
async fn col_01_merge_moves_votes_and_comments_and_is_reversible() {
    let b = board("merges").await;
    let ws = b.slug();
    let dup = b.post_idea(&b.f.member, "Duplicate", &[]).await;
    let keep = b.post_idea(&b.voters[3], "Original", &[]).await;
    b.vote(&b.voters[0], dup, Up).await;
    b.vote(&b.voters[1], dup, Up).await;
    b.vote(&b.voters[1], keep, Down).await;
    for text in ["first", "second"] {
        b.api(&b.voters[2])
            .comment(ws, dup, &NewComment::new(text))
            .await
            .expect(201);
    }
    let refused = b.api(&b.f.member).merge_idea(ws, dup, keep).await;
    assert_eq!(refused.status, 403, "members cannot merge");
    let merged = b
        .api(&b.f.moderator)
        .merge_idea(ws, dup, keep)
        .await
        .expect(200);
    assert_eq!(
        (merged.summary.upvotes, merged.summary.downvotes),
        (1, 1),
        "voter1 keeps their own vote on the target"
    );
    assert_eq!(merged.summary.comment_count, 2);
    assert_eq!(merged.merges[0].source_id, dup);
    let listed: Vec<IdeaId> = b.list_all("top", "").await.iter().map(|i| i.id).collect();
    assert_eq!(listed, vec![keep], "the duplicate leaves the list");
    assert_eq!(b.count().await, 1);
    let dup_page = b.api(&b.f.member).idea(ws, dup).await.ok();
    assert_eq!(dup_page.merged_into, Some(keep));
    b.vote(&b.voters[2], keep, Up).await;
    let on_merged = b.api(&b.voters[3]).vote(ws, dup, Up).await;
    assert_eq!(on_merged.status, 409, "a merged idea takes no votes");
    let back = b
        .api(&b.f.moderator)
        .unmerge_idea(ws, dup)
        .await
        .expect(200);
    assert_eq!(
        (
            back.summary.upvotes,
            back.summary.comment_count,
            back.merged_into
        ),
        (2, 2, None)
    );
    assert_eq!(b.count().await, 2);
    let kept = b.api(&b.f.member).idea(ws, keep).await.ok();
    assert_eq!(
        (
            kept.summary.upvotes,
            kept.summary.downvotes,
            kept.summary.comment_count
        ),
        (1, 1, 0)
    );
    assert!(kept.merges[0].unmerged_at.is_some());
    let into_itself = b.api(&b.f.moderator).merge_idea(ws, keep, keep).await;
    assert_eq!(
        into_itself.status, 422,
        "an idea cannot be merged into itself"
    );
}

#[tokio::test]
async fn col_01_soft_deletion_hides_from_members_and_moderators_restore() {
    let b = board("deletion").await;
    let ws = b.slug();
    let idea = b.post_idea(&b.f.member, "Regret", &[]).await;
    let (author, moderator) = (b.api(&b.f.member), b.api(&b.f.moderator));
    let st = b.api(&b.voters[0]).delete_idea(ws, idea).await.status;
    assert_eq!(st, 403, "others cannot delete a member's idea");
    assert_eq!(author.delete_idea(ws, idea).await.status, 204);
    assert_eq!(author.idea(ws, idea).await.status, 404);
    let seen = moderator.idea(ws, idea).await.expect(200);
    assert!(seen.deleted_at.is_some(), "{seen:?}");
    assert!(b.list_all("top", "").await.is_empty());
    assert_eq!(b.count().await, 0);
    assert_eq!(
        moderator.delete_idea(ws, idea).await.status,
        204,
        "deleting twice is harmless"
    );
    assert_eq!(b.count().await, 0);
    assert_eq!(moderator.restore_idea(ws, idea).await.status, 200);
    assert_eq!(
        moderator.restore_idea(ws, idea).await.status,
        200,
        "restoring twice is harmless"
    );
    assert_eq!(b.count().await, 1);
    assert_eq!(author.idea(ws, idea).await.status, 200);
}

#[tokio::test]
async fn col_01_threaded_comments_and_safe_markdown() {
    let b = board("threads").await;
    let ws = b.slug();
    let idea = b.post_idea(&b.f.member, "Talk about me", &[]).await;
    let other = b.post_idea(&b.f.member, "Another", &[]).await;
    let root = b
        .api(&b.voters[0])
        .comment(
            ws,
            idea,
            &NewComment::new("root <script>alert(1)</script> **bold**"),
        )
        .await
        .expect(201);
    assert!(!root.body_html.contains("<script"));
    assert!(root.body_html.contains("<strong>bold</strong>"));
    let reply = b
        .api(&b.voters[1])
        .comment(ws, idea, &NewComment::reply(root.id, "reply"))
        .await
        .expect(201);
    assert_eq!(reply.parent_id, Some(root.id));
    let elsewhere = b
        .api(&b.voters[1])
        .comment(ws, other, &NewComment::reply(root.id, "x"))
        .await;
    assert_eq!(elsewhere.status, 422, "a reply must be on the same idea");
    let (st, _) = with_token(
        &b.t,
        "PATCH",
        &format!("/workspaces/threads/comments/{}", root.id),
        &b.f.ws.owner.token,
        Some(json!({"body": "owner rewrites"})),
    )
    .await;
    assert_eq!(st, 403, "nobody edits another's words");
    let removed = b.api(&b.f.moderator).delete_comment(ws, root.id).await;
    assert_eq!(removed.status, 204);
    let items = b.api(&b.voters[2]).comments(ws, idea).await.ok().items;
    assert_eq!(
        items.len(),
        2,
        "the deleted comment keeps its place in the thread"
    );
    assert_eq!(
        (
            items[0].deleted,
            items[0].body.as_str(),
            items[0].author.is_none()
        ),
        (true, "", true)
    );
    let page = b.api(&b.f.member).idea(ws, idea).await.ok();
    assert_eq!(page.summary.comment_count, 1);
    let hostile = NewIdea::new(
        "xss",
        "[x](javascript:alert(1)) <img src=x onerror=alert(1)>",
    );
    let x = b
        .api(&b.f.member)
        .post_idea(ws, b.discussion, &hostile)
        .await
        .expect(201);
    let html = x.body_html.as_str();
    // The link is dropped and the raw HTML is shown as the text it is, never as a tag.
    assert!(
        !html.contains("javascript:") && !html.contains("<img") && !html.contains("href"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
}

#[tokio::test]
async fn col_01_files_are_served_safely_and_links_are_checked() {
    let b = board("files").await;
    let idea = b.post_idea(&b.f.member, "With files", &[]).await;
    let author = b.api(&b.f.member);
    let a = author
        .attach(b.slug(), idea, "pixel.png", png())
        .await
        .expect(201);
    assert_eq!(a.content_type, "image/png");
    let resp =
        b.t.http
            .get(b.t.api(&format!("/workspaces/files/attachments/{}/content", a.id)))
            .bearer_auth(&b.voters[0].token)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(resp.bytes().await.unwrap().to_vec(), png());
    let h = author
        .attach(
            b.slug(),
            idea,
            "page.html",
            b"<html><script>alert(1)</script></html>".to_vec(),
        )
        .await
        .expect(201);
    let resp =
        b.t.http
            .get(b.t.api(&format!("/workspaces/files/attachments/{}/content", h.id)))
            .bearer_auth(&b.voters[0].token)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    let st = b
        .api(&b.voters[0])
        .attach(b.slug(), idea, "x.png", png())
        .await
        .status;
    assert_eq!(st, 403, "only the author or a moderator attaches files");
    let (st, l) = with_token(
        &b.t,
        "POST",
        &format!("/workspaces/files/ideas/{idea}/links"),
        &b.f.member.token,
        Some(json!({"url": "https://example.org/spec", "title": "Spec"})),
    )
    .await;
    assert_eq!(st, 201, "{l}");
    let page = author.idea(b.slug(), idea).await.ok();
    assert_eq!((page.attachments.len(), page.links.len()), (2, 1));
    let aid = a.id;
    assert_eq!(
        with_token(
            &b.t,
            "DELETE",
            &format!("/workspaces/files/attachments/{aid}"),
            &b.f.member.token,
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        b.get(&b.f.member, &format!("/attachments/{aid}/content"))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn col_01_closed_or_expired_discussions_take_no_new_ideas() {
    let b = board("closing").await;
    let d = format!("/workspaces/closing/discussions/{}", b.discussion);
    let (st, v) = with_token(
        &b.t,
        "PATCH",
        &d,
        &b.f.moderator.token,
        Some(json!({"open": false})),
    )
    .await;
    assert_eq!((st, v["accepting_ideas"].as_bool()), (200, Some(false)));
    let (st, _) = with_token(
        &b.t,
        "POST",
        &format!("{d}/ideas"),
        &b.f.member.token,
        Some(json!({"title": "late"})),
    )
    .await;
    assert_eq!(st, 409);
    let soon = ideaweave_app::Clock::now_ms(&*b.t.clock) + 60_000;
    let (st, _) = with_token(
        &b.t,
        "PATCH",
        &d,
        &b.f.moderator.token,
        Some(json!({"open": true, "deadline": soon})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        with_token(
            &b.t,
            "POST",
            &format!("{d}/ideas"),
            &b.f.member.token,
            Some(json!({"title": "in time"}))
        )
        .await
        .0,
        201
    );
    b.t.clock.advance(std::time::Duration::from_secs(120));
    assert_eq!(
        with_token(
            &b.t,
            "POST",
            &format!("{d}/ideas"),
            &b.f.member.token,
            Some(json!({"title": "too late"}))
        )
        .await
        .0,
        409
    );
}

#[tokio::test]
async fn col_03_settings_guard_their_invariants() {
    let b = board("settings").await;
    let owner = &b.f.ws.owner.token;
    let (_, ws) = b.get(&b.f.ws.owner, "").await;
    let first = ws["stages"][0]["id"].as_str().unwrap().to_owned();
    b.post_idea(&b.f.member, "Occupies the first stage", &[])
        .await;
    let (st, v) = with_token(
        &b.t,
        "DELETE",
        &format!("/workspaces/settings/stages/{first}"),
        owner,
        None,
    )
    .await;
    assert_eq!(st, 409, "a stage in use cannot be deleted: {v}");
    let (st, _) = with_token(
        &b.t,
        "POST",
        "/workspaces/settings/stages",
        owner,
        Some(json!({"name": "new"})),
    )
    .await;
    assert_eq!(st, 409, "stage names are unique, case-insensitively");
    let (st, _) = with_token(
        &b.t,
        "DELETE",
        &format!("/workspaces/settings/members/{}", b.f.ws.owner.id),
        owner,
        None,
    )
    .await;
    assert_eq!(st, 403, "a token cannot make its member leave");
    let left =
        b.t.app
            .remove_member(&b.f.ws.as_member(&b.f.ws.owner), b.f.ws.owner.id)
            .await;
    assert!(
        matches!(left, Err(ideaweave_app::AppError::Conflict(_))),
        "the last owner cannot leave: {left:?}"
    );
    let (st, _) = with_token(
        &b.t,
        "PATCH",
        &format!("/workspaces/settings/members/{}", b.f.member.id),
        &b.f.admin.token,
        Some(json!({"role": "owner"})),
    )
    .await;
    assert_eq!(st, 403, "admins cannot make owners");
    let (st, v) = with_token(
        &b.t,
        "GET",
        "/workspaces/settings/members?limit=2",
        &b.f.member.token,
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert!(
        v["items"][0].get("email").is_none(),
        "members do not see email addresses"
    );
    assert!(v["next_cursor"].is_string());
    let (_, v) = with_token(
        &b.t,
        "GET",
        "/workspaces/settings/members?limit=100",
        owner,
        None,
    )
    .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 9);
    assert!(
        v["items"][0]["email"].is_string(),
        "admins see email addresses"
    );
}

#[tokio::test]
async fn col_01_concurrent_votes_and_comments_all_count() {
    let b = board("concurrency").await;
    let idea = b.post_idea(&b.f.member, "Popular", &[]).await;
    let mut voters = Vec::new();
    for i in 0..16 {
        voters.push(
            b.t.member(&b.f.ws, &format!("crowd{i}"), Role::Member)
                .await,
        );
    }
    let vote_path = format!("/workspaces/concurrency/ideas/{idea}/vote");
    let comment_path = format!("/workspaces/concurrency/ideas/{idea}/comments");
    let requests = voters.iter().enumerate().map(|(i, v)| {
        let t = &b.t;
        let (vote_path, comment_path) = (vote_path.clone(), comment_path.clone());
        async move {
            let dir = if i % 4 == 0 { "down" } else { "up" };
            let (a, _) = with_token(
                t,
                "PUT",
                &vote_path,
                &v.token,
                Some(json!({"direction": dir})),
            )
            .await;
            let (c, _) = with_token(
                t,
                "POST",
                &comment_path,
                &v.token,
                Some(json!({"body": format!("comment {i}")})),
            )
            .await;
            (a, c)
        }
    });
    let results = futures_util::future::join_all(requests).await;
    assert!(results.iter().all(|r| *r == (200, 201)), "{results:?}");
    let (_, page) = b.get(&b.f.member, &format!("/ideas/{idea}")).await;
    assert_eq!(
        (
            page["upvotes"].as_i64(),
            page["downvotes"].as_i64(),
            page["score"].as_i64(),
            page["comment_count"].as_i64()
        ),
        (Some(12), Some(4), Some(8), Some(16)),
        "{page}"
    );
}

#[tokio::test]
async fn col_01_concurrent_deletes_restores_and_opposite_merges_stay_consistent() {
    let b = board("races").await;
    let idea = b.post_idea(&b.f.member, "Double-clicked", &[]).await;
    let path = format!("/workspaces/races/ideas/{idea}");
    let restore = format!("{path}/restore");
    let deletes = (0..8).map(|i| {
        let who = if i % 2 == 0 {
            &b.f.member.token
        } else {
            &b.f.moderator.token
        };
        with_token(&b.t, "DELETE", &path, who, None)
    });
    let results = futures_util::future::join_all(deletes).await;
    // The author's clicks after the first delete find a deleted idea, which only moderators see.
    assert!(
        results.iter().all(|(st, _)| *st == 204 || *st == 404)
            && results.iter().any(|(st, _)| *st == 204),
        "{results:?}"
    );
    assert_eq!(b.count().await, 0, "eight deletes of one idea count once");
    let restores = (0..8).map(|_| with_token(&b.t, "POST", &restore, &b.f.moderator.token, None));
    futures_util::future::join_all(restores).await;
    assert_eq!(b.count().await, 1, "eight restores count once");

    let s = b.post_idea(&b.f.member, "One", &[]).await;
    let t = b.post_idea(&b.f.member, "Other", &[]).await;
    let (s_merge, t_merge) = (
        format!("/workspaces/races/ideas/{s}/merge"),
        format!("/workspaces/races/ideas/{t}/merge"),
    );
    let a = with_token(
        &b.t,
        "POST",
        &s_merge,
        &b.f.moderator.token,
        Some(json!({"into": t})),
    );
    let z = with_token(
        &b.t,
        "POST",
        &t_merge,
        &b.f.ws.owner.token,
        Some(json!({"into": s})),
    );
    let (ra, rz) = futures_util::future::join(a, z).await;
    let mut statuses = [ra.0, rz.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 409],
        "exactly one of two opposite merges wins: {ra:?} {rz:?}"
    );
    let (_, ps) = b.get(&b.f.member, &format!("/ideas/{s}")).await;
    let (_, pt) = b.get(&b.f.member, &format!("/ideas/{t}")).await;
    assert!(
        ps["merged_into"].is_null() != pt["merged_into"].is_null(),
        "no merge cycle: {ps} {pt}"
    );
    assert_eq!(b.count().await, 2);
}

#[tokio::test]
async fn col_03_two_owners_demoting_each_other_leave_one_owner() {
    let b = board("owners").await;
    let second = b.t.member(&b.f.ws, "second-owner", Role::Owner).await;
    let first = &b.f.ws.owner;
    let (to_second, to_first) = (
        format!("/workspaces/owners/members/{}", second.id),
        format!("/workspaces/owners/members/{}", first.id),
    );
    let x = with_token(
        &b.t,
        "PATCH",
        &to_second,
        &first.token,
        Some(json!({"role": "admin"})),
    );
    let y = with_token(
        &b.t,
        "PATCH",
        &to_first,
        &second.token,
        Some(json!({"role": "admin"})),
    );
    let (rx, ry) = futures_util::future::join(x, y).await;
    let (_, members) = with_token(
        &b.t,
        "GET",
        "/workspaces/owners/members?limit=100",
        &b.f.admin.token,
        None,
    )
    .await;
    let owners = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "owner")
        .count();
    assert_eq!(owners, 1, "one owner remains: {rx:?} {ry:?}");
}

#[tokio::test]
async fn col_01_files_and_links_of_a_deleted_comment_go_with_it() {
    let b = board("comment-files").await;
    let idea = b.post_idea(&b.f.member, "Has a thread", &[]).await;
    let (_, c) = with_token(
        &b.t,
        "POST",
        &format!("/workspaces/comment-files/ideas/{idea}/comments"),
        &b.voters[0].token,
        Some(json!({"body": "see attached"})),
    )
    .await;
    let cid = c["id"].as_str().unwrap().to_owned();
    let author = Auth::Token(b.voters[0].token.clone());
    let (st, a) = call(
        &b.t,
        "POST",
        &format!("/workspaces/comment-files/ideas/{idea}/attachments?comment_id={cid}"),
        &author,
        Body::Upload {
            filename: "p.png",
            bytes: png(),
        },
    )
    .await;
    assert_eq!(st, 201, "{a}");
    let (st, _) = with_token(
        &b.t,
        "POST",
        &format!("/workspaces/comment-files/ideas/{idea}/links"),
        &b.voters[0].token,
        Some(json!({"url": "https://example.org/x", "comment_id": cid})),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(
        with_token(
            &b.t,
            "DELETE",
            &format!("/workspaces/comment-files/comments/{cid}"),
            &b.voters[0].token,
            None
        )
        .await
        .0,
        204
    );
    let (_, page) = b.get(&b.voters[1], &format!("/ideas/{idea}")).await;
    assert_eq!(
        (
            page["attachments"].as_array().unwrap().len(),
            page["links"].as_array().unwrap().len()
        ),
        (0, 0),
        "{page}"
    );
    let content = format!("/attachments/{}/content", a["id"].as_str().unwrap());
    assert_eq!(b.get(&b.voters[1], &content).await.0, 404);
    let (_, page) = b.get(&b.f.moderator, &format!("/ideas/{idea}")).await;
    assert_eq!(
        page["attachments"].as_array().unwrap().len(),
        1,
        "moderators still see them"
    );
    assert_eq!(b.get(&b.f.moderator, &content).await.0, 200);
}

#[tokio::test]
async fn col_01_merge_history_hides_deleted_sources_from_non_moderators() {
    let b = board("history").await;
    let dup = b
        .post_idea(&b.f.member, "Secret duplicate title", &[])
        .await;
    let keep = b.post_idea(&b.f.member, "Kept", &[]).await;
    let (st, _) = with_token(
        &b.t,
        "POST",
        &format!("/workspaces/history/ideas/{dup}/merge"),
        &b.f.moderator.token,
        Some(json!({"into": keep})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        with_token(
            &b.t,
            "DELETE",
            &format!("/workspaces/history/ideas/{dup}"),
            &b.f.moderator.token,
            None
        )
        .await
        .0,
        204
    );
    let (_, as_member) = b.get(&b.voters[0], &format!("/ideas/{keep}")).await;
    assert_eq!(
        as_member["merges"].as_array().unwrap().len(),
        0,
        "{as_member}"
    );
    assert!(!as_member.to_string().contains("Secret duplicate title"));
    let (_, as_moderator) = b.get(&b.f.moderator, &format!("/ideas/{keep}")).await;
    assert_eq!(as_moderator["merges"].as_array().unwrap().len(), 1);
    assert_eq!(
        b.count().await,
        1,
        "deleting a merged idea does not change the count again"
    );
}

#[tokio::test]
async fn col_01_files_and_links_on_comments_follow_them_through_merge_and_unmerge() {
    let b = board("follow").await;
    let dup = b.post_idea(&b.f.member, "Dup", &[]).await;
    let keep = b.post_idea(&b.f.member, "Keep", &[]).await;
    let (_, c) = with_token(
        &b.t,
        "POST",
        &format!("/workspaces/follow/ideas/{dup}/comments"),
        &b.voters[0].token,
        Some(json!({"body": "with a file"})),
    )
    .await;
    let cid = c["id"].as_str().unwrap().to_owned();
    let (st, _) = call(
        &b.t,
        "POST",
        &format!("/workspaces/follow/ideas/{dup}/attachments?comment_id={cid}"),
        &Auth::Token(b.voters[0].token.clone()),
        Body::Upload {
            filename: "p.png",
            bytes: png(),
        },
    )
    .await;
    assert_eq!(st, 201);
    let (st, _) = with_token(
        &b.t,
        "POST",
        &format!("/workspaces/follow/ideas/{dup}/links"),
        &b.voters[0].token,
        Some(json!({"url": "https://example.org/c", "comment_id": cid})),
    )
    .await;
    assert_eq!(st, 201);
    let (st, merged) = with_token(
        &b.t,
        "POST",
        &format!("/workspaces/follow/ideas/{dup}/merge"),
        &b.f.moderator.token,
        Some(json!({"into": keep})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        (
            merged["attachments"].as_array().unwrap().len(),
            merged["links"].as_array().unwrap().len()
        ),
        (1, 1),
        "{merged}"
    );
    let (st, back) = with_token(
        &b.t,
        "POST",
        &format!("/workspaces/follow/ideas/{dup}/unmerge"),
        &b.f.moderator.token,
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        (
            back["attachments"].as_array().unwrap().len(),
            back["links"].as_array().unwrap().len()
        ),
        (1, 1),
        "{back}"
    );
    let (_, kept) = b.get(&b.f.member, &format!("/ideas/{keep}")).await;
    assert_eq!(
        (
            kept["attachments"].as_array().unwrap().len(),
            kept["links"].as_array().unwrap().len()
        ),
        (0, 0)
    );
}

/// The idea page reads the idea, its ratings and its comments in one statement (nested as
/// JSON): the criteria still come in their set order with each tally and the reader's own
/// rating, and the comments oldest first, replies and deleted ones included, cut at the limit.
#[tokio::test]
async fn col_01_the_idea_page_reads_ratings_in_order_and_its_first_comments_oldest_first() {
    let b = board("pageread").await;
    let owner = b.f.ws.as_member(&b.f.ws.owner);
    let space =
        b.t.app
            .create_space(
                &owner,
                SpaceInput {
                    name: "More".into(),
                    description: String::new(),
                    private: false,
                },
            )
            .await
            .unwrap();
    let mut criteria = Vec::new();
    for (name, position) in [("Cost", 3), ("Reach", 1), ("Ease", 2)] {
        let c =
            b.t.app
                .create_criterion(
                    &owner,
                    NamedItemInput {
                        name: name.into(),
                        position: Some(position),
                    },
                )
                .await
                .unwrap();
        criteria.push(c.id);
    }
    let d =
        b.t.app
            .create_discussion(
                &owner,
                space.id,
                DiscussionInput {
                    kind: DiscussionKind::Challenge,
                    title: "Three ways".into(),
                    description: String::new(),
                    deadline: None,
                    criteria: criteria.clone(),
                },
            )
            .await
            .unwrap();
    let (st, v) = with_token(
        &b.t,
        "POST",
        &format!("/workspaces/pageread/discussions/{}/ideas", d.id),
        &b.f.member.token,
        Some(json!({"title": "Rated thrice", "body": "Body", "tags": []})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let idea: ideaweave_domain::IdeaId = v["id"].as_str().unwrap().parse().unwrap();
    for (who, criterion, value) in [
        (&b.voters[0], criteria[0], 5),
        (&b.voters[1], criteria[0], 2),
        (&b.voters[0], criteria[2], 3),
    ] {
        let (st, v) = with_token(
            &b.t,
            "PUT",
            &format!("/workspaces/pageread/ideas/{idea}/ratings/{criterion}"),
            &who.token,
            Some(json!({"value": value})),
        )
        .await;
        assert_eq!(st, 200, "{v}");
    }
    let comments = format!("/workspaces/pageread/ideas/{idea}/comments");
    let mut posted = Vec::new();
    for i in 0..5 {
        let parent = posted.first().cloned();
        let (st, c) = with_token(
            &b.t,
            "POST",
            &comments,
            &b.voters[i % 2].token,
            Some(json!({"body": format!("comment {i}"), "parent_id": parent})),
        )
        .await;
        assert_eq!(st, 201, "{c}");
        posted.push(c["id"].as_str().unwrap().to_owned());
    }
    let (st, _) = with_token(
        &b.t,
        "DELETE",
        &format!("/workspaces/pageread/comments/{}", posted[1]),
        &b.voters[1].token,
        None,
    )
    .await;
    assert_eq!(st, 204);

    let reader = b.f.ws.as_member(&b.voters[0]);
    let (view, thread) = b.t.app.idea_page(&reader, idea, 4).await.unwrap();
    let ratings: Vec<_> = view
        .ratings
        .iter()
        .map(|r| (r.criterion.as_str(), r.count, r.average, r.mine))
        .collect();
    assert_eq!(
        ratings,
        [
            ("Reach", 0, None, None),
            ("Ease", 1, Some(3.0), Some(3)),
            ("Cost", 2, Some(3.5), Some(5)),
        ]
    );
    let ids: Vec<String> = thread.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(ids, posted[..4], "the first four, oldest first");
    assert_eq!(thread[0].body, "comment 0");
    assert_eq!(
        thread[2].parent_id.map(|p| p.to_string()),
        Some(posted[0].clone())
    );
    assert!(thread[1].deleted && !thread[0].deleted);
    assert_eq!(
        thread[3].author.as_ref().map(|a| a.name.as_str()),
        Some("voter1")
    );
    // The same reader through the API sees the same criteria and tallies.
    let (_, page) = b.get(&b.voters[0], &format!("/ideas/{idea}")).await;
    assert_eq!(page["ratings"][2]["average"], json!(3.5));
}
