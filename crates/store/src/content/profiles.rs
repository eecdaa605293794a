//! A member's page (COL-02): their latest ideas and comments, each with its space's visibility
//! for the reader, who sees only what they may read (the application decides).

use std::sync::LazyLock;

use ideaweave_domain::*;
use sqlx::FromRow;
use uuid::Uuid;

use super::{IDEA_COLUMNS, IDEA_FROM};
use crate::StoreResult;
use crate::platform::records::IdeaRecord;
use crate::workspace::WorkspaceRepo;

/// Whether `$2` (the reader) is listed in the space `s`.
pub(super) const LISTED: &str = "EXISTS (SELECT 1 FROM space_members sm WHERE sm.workspace_id = s.workspace_id AND sm.space_id = s.id AND sm.user_id = $2) AS space_listed";

/// An idea of the member, with where it lives.
#[derive(Debug, Clone, FromRow)]
pub struct AuthoredIdea {
    #[sqlx(flatten)]
    pub idea: IdeaRecord,
    pub space_private: bool,
    pub space_listed: bool,
}

/// A comment of the member, with the idea it is on and where that lives.
#[derive(Debug, Clone, FromRow)]
pub struct AuthoredComment {
    pub id: Uuid,
    #[sqlx(try_from = "Uuid")]
    pub idea_id: IdeaId,
    /// Sealed with the comment author's key.
    pub body: Vec<u8>,
    pub created_at: i64,
    /// The idea's sealed summary (its title).
    pub idea_summary: Vec<u8>,
    pub space_private: bool,
    pub space_listed: bool,
}

static IDEAS_OF: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {IDEA_COLUMNS}, s.private AS space_private, {LISTED} {IDEA_FROM} \
         JOIN discussions d ON d.workspace_id = i.workspace_id AND d.id = i.discussion_id \
         JOIN spaces s ON s.workspace_id = d.workspace_id AND s.id = d.space_id \
         WHERE i.workspace_id = $1 AND i.author_id = $3 AND i.deleted_at IS NULL AND i.merged_into IS NULL \
         ORDER BY i.id DESC LIMIT $4"
    )
});

static COMMENTS_OF: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT c.id, c.idea_id, c.body, c.created_at, i.summary AS idea_summary, s.private AS space_private, {LISTED} \
         FROM comments c JOIN ideas i ON i.workspace_id = c.workspace_id AND i.id = c.idea_id \
         JOIN discussions d ON d.workspace_id = i.workspace_id AND d.id = i.discussion_id \
         JOIN spaces s ON s.workspace_id = d.workspace_id AND s.id = d.space_id \
         WHERE c.workspace_id = $1 AND c.author_id = $3 AND c.deleted_at IS NULL AND i.deleted_at IS NULL \
         ORDER BY c.id DESC LIMIT $4"
    )
});

/// Whether `$2` wrote any idea or comment in the workspace (each probe stops at its first row).
const HAS_WRITTEN: &str = "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM ideas WHERE workspace_id = $1 AND author_id = $2 LIMIT 1) i) \
     + (SELECT COUNT(*) FROM (SELECT 1 FROM comments WHERE workspace_id = $1 AND author_id = $2 LIMIT 1) c)";

impl WorkspaceRepo<'_> {
    /// Whether `user` has written an idea or a comment here (deleted ones count).
    pub async fn has_written(&mut self, user: UserId) -> StoreResult<bool> {
        let ws = self.ws;
        let n: i64 = on_conn!(self.tx, |c| {
            sqlx::query_scalar(HAS_WRITTEN)
                .bind(ws)
                .bind(user.0)
                .fetch_one(c)
                .await?
        });
        Ok(n > 0)
    }

    /// The latest `limit` live ideas `author` wrote, newest first, for `reader`.
    pub async fn ideas_of(
        &mut self,
        reader: UserId,
        author: UserId,
        limit: u32,
    ) -> StoreResult<Vec<AuthoredIdea>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(IDEAS_OF.as_str()))
                .bind(ws)
                .bind(reader.0)
                .bind(author.0)
                .bind(i64::from(limit))
                .fetch_all(c)
                .await?
        }))
    }

    /// The latest `limit` comments `author` wrote on live ideas, newest first, for `reader`.
    pub async fn comments_of(
        &mut self,
        reader: UserId,
        author: UserId,
        limit: u32,
    ) -> StoreResult<Vec<AuthoredComment>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(COMMENTS_OF.as_str()))
                .bind(ws)
                .bind(reader.0)
                .bind(author.0)
                .bind(i64::from(limit))
                .fetch_all(c)
                .await?
        }))
    }
}

/// The statements of this module (assembled once from the shared idea columns), for the test
/// that prepares each on both databases.
pub(crate) fn statements() -> Vec<(&'static str, &'static str)> {
    vec![
        ("HAS_WRITTEN", HAS_WRITTEN),
        ("IDEAS_OF", LazyLock::force(&IDEAS_OF).as_str()),
        ("COMMENTS_OF", LazyLock::force(&COMMENTS_OF).as_str()),
    ]
}
