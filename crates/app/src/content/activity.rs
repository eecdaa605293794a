//! What happened in a workspace since the member last looked (COL-04): the newest ideas and
//! comments of others, as far as the member may see them (a private space's only for those
//! listed in it, a guest's only in their spaces), from the moment they last marked the view
//! seen (or the last week, the first time). Erased people's content follows the erasure rules of
//! the content itself: purged content is gone, anonymised content shows a former member.

use ideaweave_domain::policy::Action;
use ideaweave_domain::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::platform::sealed::NameMemo;
use crate::{App, AppResult, IdeaSummary, Member, space_view};

/// How many of each the view shows.
const SHOWN: usize = 30;
/// How many of each are read to find them (some may be in spaces the reader does not see).
const READ: u32 = 150;
/// How far back the view looks the first time, and at most.
const FIRST_LOOK_MS: i64 = 7 * 86_400_000;
const LONGEST_LOOK_MS: i64 = 90 * 86_400_000;

/// A comment in the activity view.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityComment {
    pub id: CommentId,
    pub idea_id: IdeaId,
    /// The title of the idea it is on.
    pub idea_title: String,
    pub author_id: UserId,
    pub author_name: String,
    /// Its start, as plain text.
    pub excerpt: String,
    pub created_at: i64,
}

/// The workspace's activity since a moment.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityView {
    /// When this view was made: marking it seen up to here keeps what came after.
    pub at: i64,
    /// The moment the view starts from: when the member last marked it seen, or a week ago.
    pub since: i64,
    /// True when `since` is the member's last visit (they marked the view seen before).
    pub since_last_visit: bool,
    /// New ideas by others, newest first.
    pub ideas: Vec<IdeaSummary>,
    /// New comments by others, newest first.
    pub comments: Vec<ActivityComment>,
}

impl App {
    /// What happened in the caller's workspace since they last marked it seen.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn activity(&self, m: &Member) -> AppResult<ActivityView> {
        m.allow(Action::ReadWorkspace)?;
        let ws = m.workspace;
        let now = self.now();
        let mut tx = self.store.read().await?;
        let seen = tx.workspace(ws).activity_seen_at(m.actor.user).await?;
        let since = seen
            .unwrap_or(now - FIRST_LOOK_MS)
            .max(now - LONGEST_LOOK_MS);
        let reads = |private: bool, listed: bool| {
            m.allow(Action::ReadContent(space_view(private, listed)))
                .is_ok()
        };
        let mut names = NameMemo::default();
        let found = tx
            .workspace(ws)
            .ideas_since(m.actor.user, since, READ)
            .await?;
        let ideas = self
            .readable_summaries(&mut tx, m, &mut names, found, SHOWN)
            .await?;
        let mut comments = Vec::new();
        for c in tx
            .workspace(ws)
            .comments_since(m.actor.user, since, READ)
            .await?
        {
            if comments.len() == SHOWN {
                break;
            }
            if !reads(c.space_private, c.space_listed) {
                continue;
            }
            let (excerpt, idea_title) = self
                .comment_line(
                    &mut tx,
                    ws,
                    &mut names,
                    c.id,
                    &c.body,
                    c.idea_id,
                    &c.idea_summary,
                )
                .await?;
            comments.push(ActivityComment {
                id: CommentId(c.id),
                idea_id: c.idea_id,
                idea_title,
                author_name: self
                    .person_name(&mut tx, &mut names, c.author_id, &c.author_name)
                    .await?,
                author_id: c.author_id,
                excerpt,
                created_at: c.created_at,
            });
        }
        Ok(ActivityView {
            at: now,
            since,
            since_last_visit: seen.is_some_and(|s| s == since),
            ideas,
            comments,
        })
    }

    /// Marks the workspace's activity seen by the caller up to `until` (the moment the view they
    /// read was made; now when not given, never later): what came after still shows next time.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn mark_activity_seen(&self, m: &Member, until: Option<i64>) -> AppResult<()> {
        m.allow(Action::ReadWorkspace)?;
        let now = self.now();
        let at = until.map_or(now, |u| u.min(now));
        let mut tx = self.store.begin().await?;
        tx.workspace(m.workspace)
            .set_activity_seen_at(m.actor.user, at)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
