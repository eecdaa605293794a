//! Retention (LIF-03): a workspace's periods and the purging of what outlived them. Storage
//! only finds and removes rows; the application decides what is due and removes the files.

use ideaweave_domain::*;
use uuid::Uuid;

use crate::StoreResult;
use crate::workspace::WorkspaceRepo;

/// A deleted comment due for purging: where it hangs in its thread.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeletedComment {
    #[sqlx(try_from = "Uuid")]
    pub id: CommentId,
    #[sqlx(try_from = "Uuid")]
    pub idea_id: IdeaId,
    pub parent_id: Option<Uuid>,
}

impl WorkspaceRepo<'_> {
    /// The workspace's periods in days (activity, deleted content, invitations); `None` when it
    /// keeps the defaults.
    pub async fn retention_policy(&mut self) -> StoreResult<Option<(i64, i64, i64)>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT activity_days, deleted_days, invitation_days FROM retention_policies WHERE workspace_id = $1",
            ).bind(ws).fetch_optional(c).await?
        }))
    }

    /// Sets the workspace's periods in days.
    pub async fn set_retention_policy(
        &mut self,
        activity_days: i64,
        deleted_days: i64,
        invitation_days: i64,
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO retention_policies (workspace_id, activity_days, deleted_days, invitation_days, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id) DO UPDATE SET \
                 activity_days = $2, deleted_days = $3, invitation_days = $4, updated_at = $5",
            ).bind(ws).bind(activity_days).bind(deleted_days).bind(invitation_days).bind(now).execute(c).await?;
        });
        Ok(())
    }

    /// Up to `limit` ideas deleted before `before`, oldest deletion first.
    pub async fn ideas_deleted_before(
        &mut self,
        before: i64,
        limit: u32,
    ) -> StoreResult<Vec<IdeaId>> {
        let ws = self.ws;
        let ids: Vec<Uuid> = on_conn!(self.tx, |c| {
            sqlx::query_scalar(
                "SELECT id FROM ideas WHERE workspace_id = $1 AND deleted_at IS NOT NULL AND deleted_at < $2 \
                 ORDER BY deleted_at, id LIMIT $3",
            ).bind(ws).bind(before).bind(i64::from(limit)).fetch_all(c).await?
        });
        Ok(ids.into_iter().map(IdeaId).collect())
    }

    /// Removes an idea for good, with everything that hangs off it (tags, comments, votes,
    /// ratings, file and link rows, merge records, waiting notifications). Ideas that were merged
    /// into it are unmerged first, taking back the votes, comments, files and links that moved
    /// with them, so that nobody else's contributions go with it. The caller removes the files.
    pub async fn purge_idea(&mut self, id: IdeaId, now: i64) -> StoreResult<()> {
        let ws = self.ws;
        let sources: Vec<Uuid> = on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::PURGE_IDEA)
                .bind(ws)
                .bind(id.0)
                .fetch_all(c)
                .await?
        });
        for source in sources {
            let source = IdeaId(source);
            self.unmerge(source, id, UserId(Uuid::nil()), now).await?;
            self.recount_idea(source).await?;
        }
        on_conn!(self.tx, |c| {
            sqlx::query(sql::PURGE_IDEA_2)
                .bind(ws)
                .bind(id.0)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Up to `limit` comments deleted before `before`, oldest deletion first.
    pub async fn comments_deleted_before(
        &mut self,
        before: i64,
        limit: u32,
    ) -> StoreResult<Vec<DeletedComment>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT id, idea_id, parent_id FROM comments WHERE workspace_id = $1 AND deleted_at IS NOT NULL AND deleted_at < $2 \
                 ORDER BY deleted_at, id LIMIT $3",
            ).bind(ws).bind(before).bind(i64::from(limit)).fetch_all(c).await?
        }))
    }

    /// The files attached to a comment.
    pub async fn attachment_ids_of_comment(
        &mut self,
        comment: CommentId,
    ) -> StoreResult<Vec<AttachmentId>> {
        let ws = self.ws;
        let ids: Vec<Uuid> = on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::ATTACHMENT_IDS_OF_COMMENT)
                .bind(ws)
                .bind(comment.0)
                .fetch_all(c)
                .await?
        });
        Ok(ids.into_iter().map(AttachmentId).collect())
    }

    /// Removes a comment for good with its file and link rows; its replies move up to the
    /// comment it answered, so threads stay whole. The caller removes the files.
    pub async fn purge_comment(&mut self, c: &DeletedComment) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |conn| {
            sqlx::query(sql::PURGE_COMMENT)
                .bind(ws)
                .bind(c.id.0)
                .bind(c.parent_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(sql::PURGE_COMMENT_2)
                .bind(ws)
                .bind(c.id.0)
                .execute(&mut *conn)
                .await?;
            sqlx::query(sql::PURGE_COMMENT_3)
                .bind(ws)
                .bind(c.id.0)
                .execute(&mut *conn)
                .await?;
            sqlx::query(sql::PURGE_COMMENT_4)
                .bind(ws)
                .bind(c.id.0)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }

    /// Deletes invitations that were never accepted and expired or were revoked before
    /// `before`; returns how many.
    pub async fn delete_invitations_stale_before(&mut self, before: i64) -> StoreResult<u64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(
                "DELETE FROM invitations WHERE workspace_id = $1 AND accepted_at IS NULL \
                 AND (expires_at < $2 OR (revoked_at IS NOT NULL AND revoked_at < $2))",
            )
            .bind(ws)
            .bind(before)
            .execute(c)
            .await?
            .rows_affected()
        }))
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const PURGE_IDEA: &str =
        "SELECT id FROM ideas WHERE workspace_id = $1 AND merged_into = $2 ORDER BY id";
    pub(crate) const PURGE_IDEA_2: &str = "DELETE FROM ideas WHERE workspace_id = $1 AND id = $2";
    pub(crate) const ATTACHMENT_IDS_OF_COMMENT: &str =
        "SELECT id FROM attachments WHERE workspace_id = $1 AND comment_id = $2";
    pub(crate) const PURGE_COMMENT: &str =
        "UPDATE comments SET parent_id = $3 WHERE workspace_id = $1 AND parent_id = $2";
    pub(crate) const PURGE_COMMENT_2: &str =
        "DELETE FROM attachments WHERE workspace_id = $1 AND comment_id = $2";
    pub(crate) const PURGE_COMMENT_3: &str =
        "DELETE FROM links WHERE workspace_id = $1 AND comment_id = $2";
    pub(crate) const PURGE_COMMENT_4: &str =
        "DELETE FROM comments WHERE workspace_id = $1 AND id = $2";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("PURGE_IDEA", PURGE_IDEA),
        ("PURGE_IDEA_2", PURGE_IDEA_2),
        ("ATTACHMENT_IDS_OF_COMMENT", ATTACHMENT_IDS_OF_COMMENT),
        ("PURGE_COMMENT", PURGE_COMMENT),
        ("PURGE_COMMENT_2", PURGE_COMMENT_2),
        ("PURGE_COMMENT_3", PURGE_COMMENT_3),
        ("PURGE_COMMENT_4", PURGE_COMMENT_4),
    ];
}
