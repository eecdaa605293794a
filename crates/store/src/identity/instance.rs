//! Instance-level data: accounts, sessions, the list of workspaces, and the lookups that turn a
//! credential into a user.

use ideaweave_domain::{InvitationId, Slug, UserId, WorkspaceId};

use crate::platform::records::*;
use crate::{StoreResult, Tx};

/// An account's personal data, sealed by the caller, with the blind index of its email address.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub id: UserId,
    pub email_index: &'a [u8],
    pub email: &'a [u8],
    pub name: &'a [u8],
    pub password_hash: Option<&'a str>,
    pub is_operator: bool,
}

impl Tx {
    /// The operator accounts.
    pub async fn operator_ids(&mut self) -> StoreResult<Vec<UserId>> {
        let ids: Vec<uuid::Uuid> = on_conn!(self, |c| {
            sqlx::query_scalar(sql::OPERATOR_IDS).fetch_all(c).await?
        });
        Ok(ids.into_iter().map(UserId).collect())
    }

    /// Creates an account. `password_hash` is `None` for accounts that sign in by other means.
    pub async fn insert_user(&mut self, u: NewUser<'_>, now: i64) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_USER)
                .bind(u.id.0)
                .bind(u.email_index)
                .bind(u.email)
                .bind(u.name)
                .bind(u.password_hash)
                .bind(u.is_operator)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Finds an account by the blind index of its (normalised) email address.
    pub async fn user_by_email_index(&mut self, index: &[u8]) -> StoreResult<Option<UserRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::USER_BY_EMAIL_INDEX)
                .bind(index)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Finds an account by id.
    pub async fn user_by_id(&mut self, id: UserId) -> StoreResult<Option<UserRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::USER_BY_ID)
                .bind(id.0)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Replaces an account's sealed display name.
    pub async fn set_user_name(&mut self, id: UserId, sealed_name: &[u8]) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::SET_USER_NAME)
                .bind(id.0)
                .bind(sealed_name)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// The time zone an account chose to read times in.
    pub async fn user_time_zone(&mut self, id: UserId) -> StoreResult<Option<String>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar::<_, Option<String>>("SELECT time_zone FROM users WHERE id = $1")
                .bind(id.0)
                .fetch_optional(c)
                .await?
                .flatten()
        }))
    }

    /// Sets (or with `None` clears) the time zone an account reads times in.
    pub async fn set_user_time_zone(
        &mut self,
        id: UserId,
        zone: Option<&str>,
    ) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query("UPDATE users SET time_zone = $2 WHERE id = $1")
                .bind(id.0)
                .bind(zone)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Sets an account's password hash.
    pub async fn set_password_hash(&mut self, id: UserId, hash: &str) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::SET_PASSWORD_HASH)
                .bind(id.0)
                .bind(hash)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Creates a workspace row. Its name is sealed with the workspace's own key, which can only
    /// exist once the row does, so the name starts empty and is set with
    /// [`WorkspaceRepo::rename`](crate::WorkspaceRepo::rename) in the same transaction.
    pub async fn insert_workspace(
        &mut self,
        id: WorkspaceId,
        slug: &Slug,
        now: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_WORKSPACE)
                .bind(id.0)
                .bind(slug.as_str())
                .bind(&[][..] as &[u8])
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Finds a workspace by slug.
    pub async fn workspace_by_slug(&mut self, slug: &str) -> StoreResult<Option<WorkspaceRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::WORKSPACE_BY_SLUG)
                .bind(slug)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Finds a workspace by id.
    pub async fn workspace_by_id(
        &mut self,
        id: WorkspaceId,
    ) -> StoreResult<Option<WorkspaceRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::WORKSPACE_BY_ID)
                .bind(id.0)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Every workspace with its member count, for the operator. Reads no content.
    pub async fn list_workspaces(&mut self) -> StoreResult<Vec<WorkspaceSummary>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT w.id, w.slug, w.created_at, \
                 (SELECT COUNT(*) FROM memberships m WHERE m.workspace_id = w.id) AS members \
                 FROM workspaces w ORDER BY w.slug",
            )
            .fetch_all(c)
            .await?
        }))
    }

    /// The workspaces a user belongs to.
    pub async fn memberships_of(&mut self, user: UserId) -> StoreResult<Vec<MembershipRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT w.id AS workspace_id, w.slug, w.name, m.role FROM memberships m \
                 JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 ORDER BY w.slug",
            )
            .bind(user.0)
            .fetch_all(c)
            .await?
        }))
    }

    /// A user's role in the workspace with this slug, together with the workspace: the lookup a
    /// session-authenticated request makes. `None` when the workspace does not exist or the user
    /// is not a member, which callers must treat alike.
    pub async fn membership_by_slug(
        &mut self,
        user: UserId,
        slug: &str,
    ) -> StoreResult<Option<(WorkspaceRecord, String)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            ws: WorkspaceRecord,
            role: String,
        }
        let row: Option<Row> = on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT w.id, w.slug, w.name, w.created_at, m.role FROM workspaces w \
                 JOIN memberships m ON m.workspace_id = w.id AND m.user_id = $2 WHERE w.slug = $1",
            )
            .bind(slug)
            .bind(user.0)
            .fetch_optional(c)
            .await?
        });
        Ok(row.map(|r| (r.ws, r.role)))
    }

    /// What the API token with this secret hash grants in `workspace`, if it is live at `now`
    /// and its owner is still a member. Revocation, expiry and removal therefore take effect on
    /// the very next request (ACC-03).
    pub async fn token_grant(
        &mut self,
        workspace: WorkspaceId,
        token_hash: &[u8],
        now: i64,
    ) -> StoreResult<Option<TokenGrant>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT t.id AS token_id, t.user_id, t.scope, m.role, w.slug, t.last_used_on FROM api_tokens t \
                 JOIN memberships m ON m.workspace_id = t.workspace_id AND m.user_id = t.user_id \
                 JOIN workspaces w ON w.id = t.workspace_id \
                 WHERE t.workspace_id = $1 AND t.token_hash = $2 AND t.revoked_at IS NULL \
                 AND (t.expires_at IS NULL OR t.expires_at > $3)",
            )
            .bind(workspace.0)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(c)
            .await?
        }))
    }

    /// Records that a member used the workspace on `day` (the start of a UTC day), unless a
    /// later day is already recorded.
    pub async fn mark_member_active(
        &mut self,
        workspace: WorkspaceId,
        user: UserId,
        day: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(
                "UPDATE memberships SET last_active_on = $3 WHERE workspace_id = $1 AND user_id = $2 \
                 AND (last_active_on IS NULL OR last_active_on < $3)",
            )
            .bind(workspace.0)
            .bind(user.0)
            .bind(day)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    /// Records that an API token was used on `day`, unless a later day is already recorded.
    pub async fn mark_token_used(
        &mut self,
        workspace: WorkspaceId,
        token: ideaweave_domain::TokenId,
        day: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(
                "UPDATE api_tokens SET last_used_on = $3 WHERE workspace_id = $1 AND id = $2 \
                 AND (last_used_on IS NULL OR last_used_on < $3)",
            )
            .bind(workspace.0)
            .bind(token.0)
            .bind(day)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    /// The invitation with this secret hash in `workspace`, whatever its state.
    pub async fn invitation_by_hash(
        &mut self,
        workspace: WorkspaceId,
        token_hash: &[u8],
    ) -> StoreResult<Option<InvitationRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT id, workspace_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at \
                 FROM invitations WHERE workspace_id = $1 AND token_hash = $2",
            ).bind(workspace.0).bind(token_hash).fetch_optional(c).await?
        }))
    }

    /// Marks an invitation accepted by `user`, only if it is still pending at `now`. Returns
    /// false when another request used it first: invitations are single-use.
    pub async fn consume_invitation(
        &mut self,
        workspace: WorkspaceId,
        id: InvitationId,
        user: UserId,
        now: i64,
    ) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(
                "UPDATE invitations SET accepted_at = $3, accepted_by = $4 WHERE workspace_id = $1 AND id = $2 \
                 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
            ).bind(workspace.0).bind(id.0).bind(now).bind(user.0).execute(c).await?.rows_affected()
        });
        Ok(done == 1)
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const OPERATOR_IDS: &str =
        "SELECT id FROM users WHERE is_operator AND former_member_of IS NULL ORDER BY created_at";
    pub(crate) const INSERT_USER: &str = "INSERT INTO users (id, email_index, email, name, password_hash, is_operator, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub(crate) const USER_BY_EMAIL_INDEX: &str = "SELECT id, email, name, password_hash, is_operator, created_at FROM users WHERE email_index = $1";
    pub(crate) const USER_BY_ID: &str =
        "SELECT id, email, name, password_hash, is_operator, created_at FROM users WHERE id = $1";
    pub(crate) const SET_USER_NAME: &str = "UPDATE users SET name = $2 WHERE id = $1";
    pub(crate) const SET_PASSWORD_HASH: &str = "UPDATE users SET password_hash = $2 WHERE id = $1";
    pub(crate) const INSERT_WORKSPACE: &str =
        "INSERT INTO workspaces (id, slug, name, created_at) VALUES ($1, $2, $3, $4)";
    pub(crate) const WORKSPACE_BY_SLUG: &str =
        "SELECT id, slug, name, created_at FROM workspaces WHERE slug = $1";
    pub(crate) const WORKSPACE_BY_ID: &str =
        "SELECT id, slug, name, created_at FROM workspaces WHERE id = $1";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("OPERATOR_IDS", OPERATOR_IDS),
        ("INSERT_USER", INSERT_USER),
        ("USER_BY_EMAIL_INDEX", USER_BY_EMAIL_INDEX),
        ("USER_BY_ID", USER_BY_ID),
        ("SET_USER_NAME", SET_USER_NAME),
        ("SET_PASSWORD_HASH", SET_PASSWORD_HASH),
        ("INSERT_WORKSPACE", INSERT_WORKSPACE),
        ("WORKSPACE_BY_SLUG", WORKSPACE_BY_SLUG),
        ("WORKSPACE_BY_ID", WORKSPACE_BY_ID),
    ];
}
