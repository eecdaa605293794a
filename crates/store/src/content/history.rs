//! Earlier versions of edited comments (COL-03): kept so that moderators can see what a comment
//! said before its author changed it. Each version is sealed with the author's data key, like
//! the comment.

use ideaweave_domain::*;
use sqlx::FromRow;
use uuid::Uuid;

use crate::StoreResult;
use crate::workspace::WorkspaceRepo;

/// One earlier version of a comment.
#[derive(Debug, Clone, FromRow)]
pub struct CommentRevisionRow {
    pub id: Uuid,
    pub comment_id: Uuid,
    /// Sealed with the comment author's data key.
    pub body: Vec<u8>,
    /// When this text was written (the comment's creation, or the edit before).
    pub written_at: i64,
    /// When an edit replaced it.
    pub replaced_at: i64,
}

impl WorkspaceRepo<'_> {
    /// Keeps a comment's text as it was before an edit.
    pub async fn insert_comment_revision(&mut self, r: &CommentRevisionRow) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::INSERT_COMMENT_REVISION)
                .bind(ws)
                .bind(r.comment_id)
                .bind(r.id)
                .bind(&r.body)
                .bind(r.written_at)
                .bind(r.replaced_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// A comment's earlier versions, oldest first.
    pub async fn comment_revisions(
        &mut self,
        comment: CommentId,
    ) -> StoreResult<Vec<CommentRevisionRow>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::COMMENT_REVISIONS)
                .bind(ws)
                .bind(comment.0)
                .fetch_all(c)
                .await?
        }))
    }

    /// Deletes the earlier versions of every comment `author` wrote, when they are erased: the
    /// anonymised comment keeps only its last text.
    pub async fn delete_comment_revisions_by(&mut self, author: UserId) -> StoreResult<u64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_COMMENT_REVISIONS_BY)
                .bind(ws)
                .bind(author.0)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// A page of the workspace's comment versions after `after`, by id, for an export.
    pub async fn export_comment_revisions(
        &mut self,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<CommentRevisionRow>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::EXPORT_COMMENT_REVISIONS)
                .bind(ws)
                // No cursor: after the least id there is.
                .bind(after.unwrap_or(Uuid::nil()))
                .bind(limit)
                .fetch_all(c)
                .await?
        }))
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const INSERT_COMMENT_REVISION: &str = "INSERT INTO comment_revisions (workspace_id, comment_id, id, body, written_at, replaced_at) \
         VALUES ($1, $2, $3, $4, $5, $6)";
    pub(crate) const COMMENT_REVISIONS: &str = "SELECT id, comment_id, body, written_at, replaced_at FROM comment_revisions \
         WHERE workspace_id = $1 AND comment_id = $2 ORDER BY id";
    pub(crate) const DELETE_COMMENT_REVISIONS_BY: &str = "DELETE FROM comment_revisions WHERE workspace_id = $1 AND comment_id IN \
         (SELECT id FROM comments WHERE workspace_id = $1 AND author_id = $2)";
    pub(crate) const EXPORT_COMMENT_REVISIONS: &str = "SELECT id, comment_id, body, written_at, replaced_at FROM comment_revisions \
         WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("INSERT_COMMENT_REVISION", INSERT_COMMENT_REVISION),
        ("COMMENT_REVISIONS", COMMENT_REVISIONS),
        ("DELETE_COMMENT_REVISIONS_BY", DELETE_COMMENT_REVISIONS_BY),
        ("EXPORT_COMMENT_REVISIONS", EXPORT_COMMENT_REVISIONS),
    ];
}
