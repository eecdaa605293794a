//! A person's own data, found by who they are (DSR-01): what they wrote, how they voted and
//! rated, what they uploaded, their tokens, sessions and the audit entries about them. Storage
//! only finds the rows; the application opens them and decides who may ask.

use ideaweave_domain::*;
use uuid::Uuid;

use crate::content::{ATTACHMENT_COLUMNS, COMMENT_COLUMNS, IDEA_COLUMNS, IDEA_FROM, LINK_COLUMNS};
use crate::platform::records::*;
use crate::trust::audit::ROW;
use crate::workspace::WorkspaceRepo;
use crate::{AuditRow, StoreResult, Tx};

impl WorkspaceRepo<'_> {
    /// The ideas `user` wrote (deleted ones too), with their full bodies, oldest first.
    pub async fn ideas_by(&mut self, user: UserId) -> StoreResult<Vec<(IdeaRecord, Vec<u8>)>> {
        let ws = self.ws;
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            idea: IdeaRecord,
            body: Vec<u8>,
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {IDEA_COLUMNS}, i.body {IDEA_FROM} WHERE i.workspace_id = $1 AND i.author_id = $2 ORDER BY i.id"
        ));
        let rows: Vec<Row> = on_conn!(self.tx, |c| {
            sqlx::query_as(sql)
                .bind(ws)
                .bind(user.0)
                .fetch_all(c)
                .await?
        });
        Ok(rows.into_iter().map(|r| (r.idea, r.body)).collect())
    }

    /// The comments `user` wrote (deleted ones too), oldest first.
    pub async fn comments_by(&mut self, user: UserId) -> StoreResult<Vec<CommentRecord>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{COMMENT_COLUMNS}WHERE c.workspace_id = $1 AND c.author_id = $2 ORDER BY c.id"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .bind(user.0)
            .fetch_all(c)
            .await?))
    }

    /// `user`'s votes: idea, +1 or -1, when.
    pub async fn votes_by(&mut self, user: UserId) -> StoreResult<Vec<(Uuid, i64, i64)>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::VOTES_BY)
                .bind(ws)
                .bind(user.0)
                .fetch_all(c)
                .await?
        }))
    }

    /// `user`'s ratings: idea, criterion, value, when.
    pub async fn ratings_by(&mut self, user: UserId) -> StoreResult<Vec<(Uuid, Uuid, i64, i64)>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT idea_id, criterion_id, value, updated_at FROM ratings WHERE workspace_id = $1 AND user_id = $2 \
                 ORDER BY idea_id, criterion_id",
            ).bind(ws).bind(user.0).fetch_all(c).await?
        }))
    }

    /// The files `user` uploaded.
    pub async fn attachments_by(&mut self, user: UserId) -> StoreResult<Vec<AttachmentRecord>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{ATTACHMENT_COLUMNS}WHERE a.workspace_id = $1 AND a.uploader_id = $2 ORDER BY a.id"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .bind(user.0)
            .fetch_all(c)
            .await?))
    }

    /// The links `user` added.
    pub async fn links_by(&mut self, user: UserId) -> StoreResult<Vec<LinkRecord>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{LINK_COLUMNS}WHERE a.workspace_id = $1 AND a.created_by = $2 ORDER BY a.id"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .bind(user.0)
            .fetch_all(c)
            .await?))
    }

    /// Whether the workspace holds anything of `user`: a membership, a data key, or rows
    /// they wrote, voted, rated, uploaded or linked.
    pub async fn holds_data_of(&mut self, user: UserId) -> StoreResult<bool> {
        let ws = self.ws;
        let n: i64 = on_conn!(self.tx, |c| {
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND user_id = $2) \
                 + (SELECT COUNT(*) FROM data_keys WHERE workspace_id = $1 AND subject_id = $2) \
                 + (SELECT COUNT(*) FROM ideas WHERE workspace_id = $1 AND author_id = $2) \
                 + (SELECT COUNT(*) FROM comments WHERE workspace_id = $1 AND author_id = $2) \
                 + (SELECT COUNT(*) FROM votes WHERE workspace_id = $1 AND user_id = $2) \
                 + (SELECT COUNT(*) FROM ratings WHERE workspace_id = $1 AND user_id = $2) \
                 + (SELECT COUNT(*) FROM attachments WHERE workspace_id = $1 AND uploader_id = $2) \
                 + (SELECT COUNT(*) FROM links WHERE workspace_id = $1 AND created_by = $2)",
            ).bind(ws).bind(user.0).fetch_one(c).await?
        });
        Ok(n > 0)
    }
}

/// A workspace in which a person holds data: a member now, or someone who left and whose
/// contributions, votes or data key it keeps.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HeldIn {
    #[sqlx(try_from = "Uuid")]
    pub workspace_id: WorkspaceId,
    pub slug: String,
    pub name: Vec<u8>,
    /// `None` for a former member.
    pub role: Option<String>,
}

impl Tx {
    /// The workspaces in which `user` holds data, by slug.
    pub async fn workspaces_holding(&mut self, user: UserId) -> StoreResult<Vec<HeldIn>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT w.id AS workspace_id, w.slug, w.name, m.role FROM workspaces w \
                 LEFT JOIN memberships m ON m.workspace_id = w.id AND m.user_id = $1 \
                 WHERE m.user_id IS NOT NULL \
                    OR EXISTS (SELECT 1 FROM data_keys k WHERE k.workspace_id = w.id AND k.subject_id = $1) \
                    OR EXISTS (SELECT 1 FROM ideas i WHERE i.workspace_id = w.id AND i.author_id = $1) \
                    OR EXISTS (SELECT 1 FROM comments c WHERE c.workspace_id = w.id AND c.author_id = $1) \
                    OR EXISTS (SELECT 1 FROM votes v WHERE v.workspace_id = w.id AND v.user_id = $1) \
                    OR EXISTS (SELECT 1 FROM ratings r WHERE r.workspace_id = w.id AND r.user_id = $1) \
                    OR EXISTS (SELECT 1 FROM attachments a WHERE a.workspace_id = w.id AND a.uploader_id = $1) \
                    OR EXISTS (SELECT 1 FROM links l WHERE l.workspace_id = w.id AND l.created_by = $1) \
                 ORDER BY w.slug",
            ).bind(user.0).fetch_all(c).await?
        }))
    }

    /// `user`'s live sessions: created and expiry times (never the secret).
    pub async fn sessions_of(&mut self, user: UserId, now: i64) -> StoreResult<Vec<(i64, i64)>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::SESSIONS_OF)
                .bind(user.0)
                .bind(now)
                .fetch_all(c)
                .await?
        }))
    }

    /// The audit entries of a scope (a workspace, or the instance for `None`) in which
    /// `pseudonym` acted or was the target, oldest first.
    pub async fn audit_entries_about(
        &mut self,
        workspace: Option<Uuid>,
        pseudonym: &str,
    ) -> StoreResult<Vec<AuditRow>> {
        let scope = if workspace.is_some() {
            "workspace_id = $1"
        } else {
            "workspace_id IS NULL AND $1 IS NULL"
        };
        let sql = format!("{ROW} WHERE {scope} AND (actor = $2 OR target = $3) ORDER BY seq");
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(workspace)
                .bind(pseudonym)
                .bind(format!("member:{pseudonym}"))
                .fetch_all(c)
                .await?
        }))
    }
}

impl Tx {
    /// Since when `user` restricted the processing of their data, if they did (DSR-04).
    pub async fn restricted_since(&mut self, user: UserId) -> StoreResult<Option<i64>> {
        let found: Option<Option<i64>> = on_conn!(self, |c| {
            sqlx::query_scalar(sql::RESTRICTED_SINCE)
                .bind(user.0)
                .fetch_optional(c)
                .await?
        });
        Ok(found.flatten())
    }

    /// Whether `a` or `b` (they may be the same person) restricted processing.
    pub async fn any_restricted(&mut self, a: UserId, b: UserId) -> StoreResult<bool> {
        let n: i64 = on_conn!(self, |c| {
            sqlx::query_scalar(sql::ANY_RESTRICTED)
                .bind(a.0)
                .bind(b.0)
                .fetch_one(c)
                .await?
        });
        Ok(n > 0)
    }

    /// Sets (`Some(now)`) or lifts (`None`) `user`'s restriction; whether it changed.
    pub async fn set_restricted(&mut self, user: UserId, since: Option<i64>) -> StoreResult<bool> {
        let sql = if since.is_some() {
            "UPDATE users SET restricted_at = $2 WHERE id = $1 AND restricted_at IS NULL"
        } else {
            "UPDATE users SET restricted_at = $2 WHERE id = $1 AND restricted_at IS NOT NULL"
        };
        Ok(on_conn!(self, |c| {
            sqlx::query(sql)
                .bind(user.0)
                .bind(since)
                .execute(c)
                .await?
                .rows_affected()
                > 0
        }))
    }

    /// Deletes what waited for `user`'s notification digests, in every workspace.
    pub async fn delete_all_pending_notifications_of(&mut self, user: UserId) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::DELETE_ALL_PENDING_NOTIFICATIONS_OF)
                .bind(user.0)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const VOTES_BY: &str = "SELECT idea_id, value, updated_at FROM votes WHERE workspace_id = $1 AND user_id = $2 ORDER BY idea_id";
    pub(crate) const SESSIONS_OF: &str = "SELECT created_at, expires_at FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at";
    pub(crate) const RESTRICTED_SINCE: &str = "SELECT restricted_at FROM users WHERE id = $1";
    pub(crate) const ANY_RESTRICTED: &str =
        "SELECT COUNT(*) FROM users WHERE (id = $1 OR id = $2) AND restricted_at IS NOT NULL";
    pub(crate) const DELETE_ALL_PENDING_NOTIFICATIONS_OF: &str =
        "DELETE FROM pending_notifications WHERE user_id = $1";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("VOTES_BY", VOTES_BY),
        ("SESSIONS_OF", SESSIONS_OF),
        ("RESTRICTED_SINCE", RESTRICTED_SINCE),
        ("ANY_RESTRICTED", ANY_RESTRICTED),
        (
            "DELETE_ALL_PENDING_NOTIFICATIONS_OF",
            DELETE_ALL_PENDING_NOTIFICATIONS_OF,
        ),
    ];
}
