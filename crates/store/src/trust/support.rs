//! Support access (SUP-01): the invitations a workspace's admins give the operator's support
//! staff. Rows lead with the workspace; only live ones (not expired, not revoked) let anyone in.

use ideaweave_domain::UserId;
use uuid::Uuid;

use crate::platform::records::WorkspaceRecord;
use crate::{StoreResult, Tx, WorkspaceRepo};

/// A support invitation, as stored (the reason sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SupportGrantRecord {
    pub id: Uuid,
    pub scope: String,
    pub reason: Option<Vec<u8>>,
    pub created_by: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_by: Option<Uuid>,
    pub revoked_at: Option<i64>,
}

/// A live invitation of some workspace, for the operator's list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveSupportGrant {
    #[sqlx(flatten)]
    pub workspace: WorkspaceRecord,
    pub grant_id: Uuid,
    pub scope: String,
    pub reason: Option<Vec<u8>>,
    pub expires_at: i64,
}

/// A new support invitation.
#[derive(Debug, Clone, Copy)]
pub struct NewSupportGrant<'a> {
    pub id: Uuid,
    pub scope: &'a str,
    pub reason: Option<&'a [u8]>,
    pub created_by: UserId,
    pub created_at: i64,
    pub expires_at: i64,
}

impl WorkspaceRepo<'_> {
    /// Records an invitation.
    pub async fn insert_support_grant(&mut self, g: NewSupportGrant<'_>) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::INSERT_SUPPORT_GRANT)
                .bind(ws)
                .bind(g.id)
                .bind(g.scope)
                .bind(g.reason)
                .bind(g.created_by.0)
                .bind(g.created_at)
                .bind(g.expires_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Every invitation of the workspace, newest first.
    pub async fn support_grants(&mut self) -> StoreResult<Vec<SupportGrantRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::SUPPORT_GRANTS)
                .bind(ws)
                .fetch_all(c)
                .await?
        }))
    }

    /// Ends every live invitation now (a new one replaces them); how many.
    pub async fn revoke_live_support_grants(&mut self, by: UserId, now: i64) -> StoreResult<u64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql::REVOKE_LIVE_SUPPORT_GRANTS)
                .bind(ws)
                .bind(by.0)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Ends a live invitation now; false when there is no such live one.
    pub async fn revoke_support_grant(
        &mut self,
        id: Uuid,
        by: UserId,
        now: i64,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::REVOKE_SUPPORT_GRANT)
                .bind(ws)
                .bind(id)
                .bind(by.0)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }
}

impl Tx {
    /// Forgets the reasons of invitations that ended before `ended_before` (the invitation
    /// itself, who gave it and when, stays with the audit trail's entries about it).
    pub async fn forget_support_reasons(&mut self, ended_before: i64) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::FORGET_SUPPORT_REASONS)
                .bind(ended_before)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// The workspace `slug` and its live invitation with the latest end, if it has one.
    pub async fn live_support_grant(
        &mut self,
        slug: &str,
        now: i64,
    ) -> StoreResult<Option<LiveSupportGrant>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::LIVE_SUPPORT_GRANT)
                .bind(slug)
                .bind(now)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Every live invitation of the instance, soonest end first (the operator's list).
    pub async fn live_support_grants(&mut self, now: i64) -> StoreResult<Vec<LiveSupportGrant>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::LIVE_SUPPORT_GRANTS)
                .bind(now)
                .fetch_all(c)
                .await?
        }))
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const INSERT_SUPPORT_GRANT: &str = "INSERT INTO support_grants (workspace_id, id, scope, reason, created_by, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub(crate) const SUPPORT_GRANTS: &str = "SELECT id, scope, reason, created_by, created_at, expires_at, revoked_by, revoked_at \
                            FROM support_grants WHERE workspace_id = $1 ORDER BY created_at DESC, id";
    pub(crate) const REVOKE_LIVE_SUPPORT_GRANTS: &str = "UPDATE support_grants SET revoked_by = $2, revoked_at = $3 \
                         WHERE workspace_id = $1 AND revoked_at IS NULL AND expires_at > $3";
    pub(crate) const REVOKE_SUPPORT_GRANT: &str = "UPDATE support_grants SET revoked_by = $3, revoked_at = $4 \
                         WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL AND expires_at > $4";
    pub(crate) const FORGET_SUPPORT_REASONS: &str = "UPDATE support_grants SET reason = NULL WHERE reason IS NOT NULL \
                         AND COALESCE(revoked_at, expires_at) < $1";
    pub(crate) const LIVE_SUPPORT_GRANT: &str = "SELECT w.id, w.slug, w.name, w.created_at, g.id AS grant_id, g.scope, g.reason, g.expires_at \
                            FROM workspaces w JOIN support_grants g ON g.workspace_id = w.id \
                            WHERE w.slug = $1 AND g.revoked_at IS NULL AND g.expires_at > $2 \
                            ORDER BY g.expires_at DESC LIMIT 1";
    pub(crate) const LIVE_SUPPORT_GRANTS: &str = "SELECT w.id, w.slug, w.name, w.created_at, g.id AS grant_id, g.scope, g.reason, g.expires_at \
                            FROM workspaces w JOIN support_grants g ON g.workspace_id = w.id \
                            WHERE g.revoked_at IS NULL AND g.expires_at > $1 ORDER BY g.expires_at, w.slug";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("INSERT_SUPPORT_GRANT", INSERT_SUPPORT_GRANT),
        ("SUPPORT_GRANTS", SUPPORT_GRANTS),
        ("REVOKE_LIVE_SUPPORT_GRANTS", REVOKE_LIVE_SUPPORT_GRANTS),
        ("REVOKE_SUPPORT_GRANT", REVOKE_SUPPORT_GRANT),
        ("FORGET_SUPPORT_REASONS", FORGET_SUPPORT_REASONS),
        ("LIVE_SUPPORT_GRANT", LIVE_SUPPORT_GRANT),
        ("LIVE_SUPPORT_GRANTS", LIVE_SUPPORT_GRANTS),
    ];
}
