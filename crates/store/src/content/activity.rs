//! A workspace's activity since a moment (COL-04): the newest ideas and comments by others,
//! each with its space's visibility for the reader, who sees only what they may read (the
//! application decides), and when the member last marked it seen.

use std::sync::LazyLock;

use ideaweave_domain::*;
use sqlx::FromRow;
use uuid::Uuid;

use super::profiles::{AuthoredIdea, LISTED};
use super::{IDEA_COLUMNS, IDEA_FROM};
use crate::StoreResult;
use crate::workspace::WorkspaceRepo;

/// A recent comment, with its author, the idea it is on and where that lives.
#[derive(Debug, Clone, FromRow)]
pub struct RecentComment {
    pub id: Uuid,
    #[sqlx(try_from = "Uuid")]
    pub idea_id: IdeaId,
    #[sqlx(try_from = "Uuid")]
    pub author_id: UserId,
    /// The author's sealed name.
    pub author_name: Vec<u8>,
    /// Sealed with the comment author's key.
    pub body: Vec<u8>,
    pub created_at: i64,
    /// The idea's sealed summary (its title).
    pub idea_summary: Vec<u8>,
    pub space_private: bool,
    pub space_listed: bool,
}

static IDEAS_SINCE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {IDEA_COLUMNS}, s.private AS space_private, {LISTED} {IDEA_FROM} \
         JOIN discussions d ON d.workspace_id = i.workspace_id AND d.id = i.discussion_id \
         JOIN spaces s ON s.workspace_id = d.workspace_id AND s.id = d.space_id \
         WHERE i.workspace_id = $1 AND i.created_at > $3 AND i.author_id <> $2 \
         AND i.deleted_at IS NULL AND i.merged_into IS NULL \
         ORDER BY i.created_at DESC LIMIT $4"
    )
});

static COMMENTS_SINCE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT c.id, c.idea_id, c.author_id, u.name AS author_name, c.body, c.created_at, \
         i.summary AS idea_summary, s.private AS space_private, {LISTED} \
         FROM comments c JOIN users u ON u.id = c.author_id \
         JOIN ideas i ON i.workspace_id = c.workspace_id AND i.id = c.idea_id \
         JOIN discussions d ON d.workspace_id = i.workspace_id AND d.id = i.discussion_id \
         JOIN spaces s ON s.workspace_id = d.workspace_id AND s.id = d.space_id \
         WHERE c.workspace_id = $1 AND c.created_at > $3 AND c.author_id <> $2 \
         AND c.deleted_at IS NULL AND i.deleted_at IS NULL \
         ORDER BY c.created_at DESC LIMIT $4"
    )
});

const SEEN_AT: &str =
    "SELECT activity_seen_at FROM memberships WHERE workspace_id = $1 AND user_id = $2";

const SET_SEEN_AT: &str =
    "UPDATE memberships SET activity_seen_at = $3 WHERE workspace_id = $1 AND user_id = $2";

impl WorkspaceRepo<'_> {
    /// The newest `limit` live ideas others posted after `since`, newest first, for `reader`.
    pub async fn ideas_since(
        &mut self,
        reader: UserId,
        since: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuthoredIdea>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(IDEAS_SINCE.as_str()))
                .bind(ws)
                .bind(reader.0)
                .bind(since)
                .bind(i64::from(limit))
                .fetch_all(c)
                .await?
        }))
    }

    /// The newest `limit` comments others wrote on live ideas after `since`, newest first.
    pub async fn comments_since(
        &mut self,
        reader: UserId,
        since: i64,
        limit: u32,
    ) -> StoreResult<Vec<RecentComment>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(COMMENTS_SINCE.as_str()))
                .bind(ws)
                .bind(reader.0)
                .bind(since)
                .bind(i64::from(limit))
                .fetch_all(c)
                .await?
        }))
    }

    /// When `user` last marked the activity seen.
    pub async fn activity_seen_at(&mut self, user: UserId) -> StoreResult<Option<i64>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar::<_, Option<i64>>(SEEN_AT)
                .bind(ws)
                .bind(user.0)
                .fetch_optional(c)
                .await?
                .flatten()
        }))
    }

    /// Marks the activity seen by `user` up to `at`.
    pub async fn set_activity_seen_at(&mut self, user: UserId, at: i64) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(SET_SEEN_AT)
                .bind(ws)
                .bind(user.0)
                .bind(at)
                .execute(c)
                .await?;
        });
        Ok(())
    }
}

/// The statements of this module, for the test that prepares each on both databases.
pub(crate) fn statements() -> Vec<(&'static str, &'static str)> {
    vec![
        ("IDEAS_SINCE", LazyLock::force(&IDEAS_SINCE).as_str()),
        ("COMMENTS_SINCE", LazyLock::force(&COMMENTS_SINCE).as_str()),
        ("SEEN_AT", SEEN_AT),
        ("SET_SEEN_AT", SET_SEEN_AT),
    ]
}
