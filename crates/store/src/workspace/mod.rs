//! One workspace's data: members, tokens, invitations, settings, spaces and discussions.
//! Content (ideas and what hangs off them) is in `content.rs`.

use ideaweave_domain::*;
use uuid::Uuid;

use crate::platform::records::*;
use crate::{StoreResult, Tx};

/// The repository of one workspace. Every statement it runs is bound to its workspace id, so a
/// caller holding ids from another workspace finds nothing (ACC-02).
pub struct WorkspaceRepo<'t> {
    pub(crate) tx: &'t mut Tx,
    pub(crate) ws: Uuid,
}

/// A new discussion's fields.
pub struct NewDiscussion<'a> {
    pub id: DiscussionId,
    pub space: SpaceId,
    pub kind: &'a str,
    pub title: &'a [u8],
    pub description: &'a [u8],
    pub deadline: Option<i64>,
    pub created_by: UserId,
}

/// A workspace list whose entries people put in order.
#[derive(Clone, Copy, Debug)]
pub enum OrderedList {
    Stages,
    Criteria,
}

/// A part of a workspace that is deleted as a whole.
#[derive(Clone, Copy, Debug)]
pub enum Within {
    Space(SpaceId),
    Discussion(DiscussionId),
}

impl<'t> WorkspaceRepo<'t> {
    pub(crate) fn new(tx: &'t mut Tx, id: WorkspaceId) -> Self {
        Self { tx, ws: id.0 }
    }

    /// This repository's workspace.
    pub fn id(&self) -> WorkspaceId {
        WorkspaceId(self.ws)
    }

    // ---- workspace -------------------------------------------------------------------------

    /// Renames the workspace.
    pub async fn rename(&mut self, name: &[u8]) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::RENAME)
                .bind(ws)
                .bind(name)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    // ---- members ---------------------------------------------------------------------------

    /// Adds a member (or changes the role of an existing one).
    pub async fn upsert_member(&mut self, user: UserId, role: Role, now: i64) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO memberships (workspace_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role",
            ).bind(ws).bind(user.0).bind(role.as_str()).bind(now).execute(c).await?;
        });
        Ok(())
    }

    /// Changes an existing member's role; false when they are not a member (any more). Unlike
    /// [`Self::upsert_member`] it can never re-create a membership removed meanwhile.
    pub async fn set_role(&mut self, user: UserId, role: Role) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::SET_ROLE)
                .bind(ws)
                .bind(user.0)
                .bind(role.as_str())
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Locks the owners' membership rows for the rest of the transaction (PostgreSQL), so two
    /// owners demoting or removing each other at once cannot leave the workspace without one.
    /// SQLite's write transactions are already exclusive.
    pub async fn lock_owners(&mut self) -> StoreResult<()> {
        if self.tx.kind() == crate::DatabaseKind::Postgres {
            let ws = self.ws;
            on_conn!(self.tx, |c| {
                sqlx::query(sql::PG_LOCK_OWNERS).bind(ws).execute(c).await?;
            });
        }
        Ok(())
    }

    /// A member's role, or `None` for a non-member.
    pub async fn role_of(&mut self, user: UserId) -> StoreResult<Option<String>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::ROLE_OF)
                .bind(ws)
                .bind(user.0)
                .fetch_optional(c)
                .await?
        }))
    }

    /// A page of members ordered by user id, after `after`.
    pub async fn members(
        &mut self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<MemberRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT u.id AS user_id, u.email, u.name, m.role, m.joined_at, m.last_active_on, m.activity_seen_at FROM memberships m \
                 JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND ($2 IS NULL OR m.user_id > $2) \
                 ORDER BY m.user_id LIMIT $3",
            ).bind(ws).bind(after).bind(i64::from(limit)).fetch_all(c).await?
        }))
    }

    /// One member.
    pub async fn member(&mut self, user: UserId) -> StoreResult<Option<MemberRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT u.id AS user_id, u.email, u.name, m.role, m.joined_at, m.last_active_on, m.activity_seen_at FROM memberships m \
                 JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND m.user_id = $2",
            )
            .bind(ws)
            .bind(user.0)
            .fetch_optional(c)
            .await?
        }))
    }

    /// Holds `user`'s membership row until the transaction ends: shared by writes the member
    /// makes, exclusive for an erasure of them, so the two never interleave (PostgreSQL; a
    /// SQLite write transaction excludes every other writer already). Returns whether they are
    /// a member.
    pub async fn hold_membership(&mut self, user: UserId, exclusive: bool) -> StoreResult<bool> {
        let ws = self.ws;
        let sql = match (self.tx.kind(), exclusive) {
            (crate::DatabaseKind::Postgres, false) => {
                "SELECT COUNT(*) FROM (SELECT 1 FROM memberships WHERE workspace_id = $1 AND user_id = $2 FOR SHARE) m"
            }
            (crate::DatabaseKind::Postgres, true) => {
                "SELECT COUNT(*) FROM (SELECT 1 FROM memberships WHERE workspace_id = $1 AND user_id = $2 FOR UPDATE) m"
            }
            _ => "SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND user_id = $2",
        };
        let n: i64 = on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql)
                .bind(ws)
                .bind(user.0)
                .fetch_one(c)
                .await?
        });
        Ok(n > 0)
    }

    /// How many owners the workspace has (it must always keep one).
    pub async fn owner_count(&mut self) -> StoreResult<i64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::OWNER_COUNT)
                .bind(ws)
                .fetch_one(c)
                .await?
        }))
    }

    /// Removes a member. Their API tokens and space listings go with the membership (cascade),
    /// so access ends on the next request; their contributions stay.
    pub async fn remove_member(&mut self, user: UserId) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::REMOVE_MEMBER)
                .bind(ws)
                .bind(user.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    // ---- API tokens ------------------------------------------------------------------------

    /// Records a token under the hash of its secret.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_token(
        &mut self,
        id: TokenId,
        user: UserId,
        name: &[u8],
        scope: TokenScope,
        token_hash: &[u8],
        now: i64,
        expires_at: Option<i64>,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO api_tokens (workspace_id, id, user_id, name, scope, token_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            ).bind(ws).bind(id.0).bind(user.0).bind(name).bind(scope.as_str()).bind(token_hash).bind(now).bind(expires_at)
            .execute(c).await?;
        });
        Ok(())
    }

    /// A user's tokens in this workspace, newest first.
    pub async fn tokens_of(&mut self, user: UserId) -> StoreResult<Vec<TokenRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT id, user_id, name, scope, created_at, expires_at, revoked_at, last_used_on FROM api_tokens \
                 WHERE workspace_id = $1 AND user_id = $2 ORDER BY id DESC",
            ).bind(ws).bind(user.0).fetch_all(c).await?
        }))
    }

    /// Revokes one of `user`'s tokens. Returns false when no such live token of theirs exists.
    pub async fn revoke_token(&mut self, user: UserId, id: TokenId, now: i64) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::REVOKE_TOKEN)
                .bind(ws)
                .bind(id.0)
                .bind(user.0)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Revokes a token whoever owns it (operator CLI).
    pub async fn revoke_any_token(&mut self, id: TokenId, now: i64) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::REVOKE_ANY_TOKEN)
                .bind(ws)
                .bind(id.0)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    // ---- invitations -----------------------------------------------------------------------

    /// Records an invitation under the hash of its secret.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_invitation(
        &mut self,
        id: InvitationId,
        email: &[u8],
        role: Role,
        token_hash: &[u8],
        invited_by: UserId,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO invitations (workspace_id, id, email, role, token_hash, invited_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            ).bind(ws).bind(id.0).bind(email).bind(role.as_str()).bind(token_hash).bind(invited_by.0).bind(now).bind(expires_at)
            .execute(c).await?;
        });
        Ok(())
    }

    /// Invitations not yet accepted, revoked or expired at `now`.
    pub async fn pending_invitations(&mut self, now: i64) -> StoreResult<Vec<InvitationRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT id, workspace_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at \
                 FROM invitations WHERE workspace_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
                 ORDER BY id DESC",
            ).bind(ws).bind(now).fetch_all(c).await?
        }))
    }

    /// Revokes a pending invitation.
    pub async fn revoke_invitation(&mut self, id: InvitationId, now: i64) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::REVOKE_INVITATION)
                .bind(ws)
                .bind(id.0)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    // ---- stages and criteria ---------------------------------------------------------------

    /// The stage list in order.
    pub async fn stages(&mut self) -> StoreResult<Vec<StageRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::STAGES).bind(ws).fetch_all(c).await?
        }))
    }

    /// Adds or updates a stage.
    pub async fn upsert_stage(
        &mut self,
        id: StageId,
        name: &[u8],
        position: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO stages (workspace_id, id, name, position) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace_id, id) DO UPDATE SET name = excluded.name, position = excluded.position",
            ).bind(ws).bind(id.0).bind(name).bind(position).execute(c).await?;
        });
        Ok(())
    }

    /// How many ideas (including deleted ones) are in a stage.
    pub async fn ideas_in_stage(&mut self, id: StageId) -> StoreResult<i64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::IDEAS_IN_STAGE)
                .bind(ws)
                .bind(id.0)
                .fetch_one(c)
                .await?
        }))
    }

    /// Deletes a stage; callers check it is unused first.
    pub async fn delete_stage(&mut self, id: StageId) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_STAGE)
                .bind(ws)
                .bind(id.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// The rating criteria in order.
    pub async fn criteria(&mut self) -> StoreResult<Vec<CriterionRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::CRITERIA).bind(ws).fetch_all(c).await?
        }))
    }

    /// The stages and the rating criteria, each in order, in one statement (every workspace
    /// page shows both).
    pub async fn stages_and_criteria(
        &mut self,
    ) -> StoreResult<(Vec<StageRecord>, Vec<CriterionRecord>)> {
        let ws = self.ws;
        #[derive(sqlx::FromRow)]
        struct Row {
            kind: i64,
            id: Uuid,
            name: Vec<u8>,
            position: i64,
        }
        let rows: Vec<Row> = on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT CAST(0 AS BIGINT) AS kind, id, name, position FROM stages WHERE workspace_id = $1 \
                 UNION ALL \
                 SELECT CAST(1 AS BIGINT) AS kind, id, name, position FROM rating_criteria WHERE workspace_id = $1 \
                 ORDER BY kind, position, id",
            ).bind(ws).fetch_all(c).await?
        });
        let (mut stages, mut criteria) = (Vec::new(), Vec::new());
        for r in rows {
            if r.kind == 0 {
                stages.push(StageRecord {
                    id: StageId(r.id),
                    name: r.name,
                    position: r.position,
                });
            } else {
                criteria.push(CriterionRecord {
                    id: CriterionId(r.id),
                    name: r.name,
                    position: r.position,
                });
            }
        }
        Ok((stages, criteria))
    }

    /// Adds or updates a criterion.
    pub async fn upsert_criterion(
        &mut self,
        id: CriterionId,
        name: &[u8],
        position: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO rating_criteria (workspace_id, id, name, position) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace_id, id) DO UPDATE SET name = excluded.name, position = excluded.position",
            ).bind(ws).bind(id.0).bind(name).bind(position).execute(c).await?;
        });
        Ok(())
    }

    /// Moves a stage or a criterion to `position` without touching its sealed name (renumbering
    /// a list after one of its entries moved).
    pub async fn set_list_position(
        &mut self,
        list: OrderedList,
        id: uuid::Uuid,
        position: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        let query = match list {
            OrderedList::Stages => sql::SET_STAGE_POSITION,
            OrderedList::Criteria => sql::SET_CRITERION_POSITION,
        };
        on_conn!(self.tx, |c| {
            sqlx::query(query)
                .bind(ws)
                .bind(id)
                .bind(position)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Deletes a criterion and every rating given on it.
    pub async fn delete_criterion(&mut self, id: CriterionId) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_CRITERION)
                .bind(ws)
                .bind(id.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    // ---- spaces ----------------------------------------------------------------------------

    /// Creates a space.
    pub async fn insert_space(
        &mut self,
        id: SpaceId,
        name: &[u8],
        description: &[u8],
        private: bool,
        by: UserId,
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO spaces (workspace_id, id, name, description, private, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            ).bind(ws).bind(id.0).bind(name).bind(description).bind(private).bind(by.0).bind(now)
            .execute(c).await?;
        });
        Ok(())
    }

    /// Every space, each with whether `viewer` is listed in it. Filtering by visibility is the
    /// caller's (the policy's) job.
    pub async fn spaces(&mut self, viewer: UserId) -> StoreResult<Vec<SpaceRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT s.id, s.name, s.description, s.private, s.created_at, \
                 EXISTS (SELECT 1 FROM space_members sm WHERE sm.workspace_id = s.workspace_id AND sm.space_id = s.id AND sm.user_id = $2) AS listed \
                 FROM spaces s WHERE s.workspace_id = $1 ORDER BY s.id",
            ).bind(ws).bind(viewer.0).fetch_all(c).await?
        }))
    }

    /// One space, with whether `viewer` is listed in it.
    pub async fn space(&mut self, id: SpaceId, viewer: UserId) -> StoreResult<Option<SpaceRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT s.id, s.name, s.description, s.private, s.created_at, \
                 EXISTS (SELECT 1 FROM space_members sm WHERE sm.workspace_id = s.workspace_id AND sm.space_id = s.id AND sm.user_id = $3) AS listed \
                 FROM spaces s WHERE s.workspace_id = $1 AND s.id = $2",
            ).bind(ws).bind(id.0).bind(viewer.0).fetch_optional(c).await?
        }))
    }

    /// Changes a space's name, description and visibility.
    pub async fn update_space(
        &mut self,
        id: SpaceId,
        name: &[u8],
        description: &[u8],
        private: bool,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::UPDATE_SPACE)
                .bind(ws)
                .bind(id.0)
                .bind(name)
                .bind(description)
                .bind(private)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Deletes a space and everything in it.
    pub async fn delete_space(&mut self, id: SpaceId) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_SPACE)
                .bind(ws)
                .bind(id.0)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Forgets the last-active days of members and the last-used days of tokens older than
    /// `before`: they are activity data, kept only for the workspace's activity period.
    pub async fn forget_activity_before(&mut self, before: i64) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::FORGET_MEMBER_ACTIVITY)
                .bind(ws)
                .bind(before)
                .execute(&mut *c)
                .await?;
            sqlx::query(sql::FORGET_TOKEN_USE)
                .bind(ws)
                .bind(before)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Deletes a discussion and every idea in it (with their comments, votes, ratings, files and
    /// links, by the foreign keys' cascade).
    pub async fn delete_discussion(&mut self, id: DiscussionId) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_DISCUSSION)
                .bind(ws)
                .bind(id.0)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// The files attached to ideas in a space or a discussion: their rows go with the cascade
    /// of a deletion, but their sealed blobs live in the file store and must be deleted there.
    pub async fn attachments_within(&mut self, scope: Within) -> StoreResult<Vec<AttachmentId>> {
        let ws = self.ws;
        let (query, id) = match scope {
            Within::Space(s) => (sql::ATTACHMENTS_IN_SPACE, s.0),
            Within::Discussion(d) => (sql::ATTACHMENTS_IN_DISCUSSION, d.0),
        };
        let rows: Vec<(uuid::Uuid,)> = on_conn!(self.tx, |c| {
            sqlx::query_as(query).bind(ws).bind(id).fetch_all(c).await?
        });
        Ok(rows.into_iter().map(|(id,)| AttachmentId(id)).collect())
    }

    /// The members listed in a space.
    pub async fn space_members(&mut self, id: SpaceId) -> StoreResult<Vec<MemberRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT u.id AS user_id, u.email, u.name, m.role, m.joined_at, m.last_active_on, m.activity_seen_at FROM space_members sm \
                 JOIN memberships m ON m.workspace_id = sm.workspace_id AND m.user_id = sm.user_id \
                 JOIN users u ON u.id = sm.user_id WHERE sm.workspace_id = $1 AND sm.space_id = $2 ORDER BY u.id",
            ).bind(ws).bind(id.0).fetch_all(c).await?
        }))
    }

    /// Lists a member in a space.
    pub async fn add_space_member(&mut self, id: SpaceId, user: UserId) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::ADD_SPACE_MEMBER)
                .bind(ws)
                .bind(id.0)
                .bind(user.0)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Unlists a member from a space.
    pub async fn remove_space_member(&mut self, id: SpaceId, user: UserId) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::REMOVE_SPACE_MEMBER)
                .bind(ws)
                .bind(id.0)
                .bind(user.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    // ---- discussions -----------------------------------------------------------------------

    /// Opens a discussion.
    pub async fn insert_discussion(&mut self, d: NewDiscussion<'_>, now: i64) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO discussions (workspace_id, id, space_id, kind, title, description, open, deadline, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7, $8, $9, $9)",
            ).bind(ws).bind(d.id.0).bind(d.space.0).bind(d.kind).bind(d.title).bind(d.description)
            .bind(d.deadline).bind(d.created_by.0).bind(now).execute(c).await?;
        });
        Ok(())
    }

    const DISCUSSION_COLUMNS: &'static str = "SELECT d.id, d.space_id, d.kind, d.title, d.description, d.open, d.deadline, \
        d.created_by, d.created_at, d.updated_at, s.private AS space_private, \
        EXISTS (SELECT 1 FROM space_members sm WHERE sm.workspace_id = d.workspace_id AND sm.space_id = d.space_id AND sm.user_id = $2) AS space_listed, \
        EXISTS (SELECT 1 FROM discussion_follows f WHERE f.workspace_id = d.workspace_id AND f.discussion_id = d.id AND f.user_id = $2) AS following, \
        d.idea_count FROM discussions d JOIN spaces s ON s.workspace_id = d.workspace_id AND s.id = d.space_id ";

    /// One discussion, with its space's visibility for `viewer`.
    pub async fn discussion(
        &mut self,
        id: DiscussionId,
        viewer: UserId,
    ) -> StoreResult<Option<DiscussionRecord>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{}WHERE d.workspace_id = $1 AND d.id = $3",
            Self::DISCUSSION_COLUMNS
        ));
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql)
                .bind(ws)
                .bind(viewer.0)
                .bind(id.0)
                .fetch_optional(c)
                .await?
        }))
    }

    /// The discussions of a space, newest first.
    pub async fn discussions_in(
        &mut self,
        space: SpaceId,
        viewer: UserId,
    ) -> StoreResult<Vec<DiscussionRecord>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{}WHERE d.workspace_id = $1 AND d.space_id = $3 ORDER BY d.id DESC",
            Self::DISCUSSION_COLUMNS
        ));
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql)
                .bind(ws)
                .bind(viewer.0)
                .bind(space.0)
                .fetch_all(c)
                .await?
        }))
    }

    /// Changes a discussion.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_discussion(
        &mut self,
        id: DiscussionId,
        kind: &str,
        title: &[u8],
        description: &[u8],
        open: bool,
        deadline: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "UPDATE discussions SET kind = $3, title = $4, description = $5, open = $6, deadline = $7, updated_at = $8 \
                 WHERE workspace_id = $1 AND id = $2",
            ).bind(ws).bind(id.0).bind(kind).bind(title).bind(description).bind(open).bind(deadline).bind(now)
            .execute(c).await?;
        });
        Ok(())
    }

    /// The criteria a discussion is rated on.
    pub async fn discussion_criteria(
        &mut self,
        id: DiscussionId,
    ) -> StoreResult<Vec<CriterionRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT rc.id, rc.name, rc.position FROM discussion_criteria dc \
                 JOIN rating_criteria rc ON rc.workspace_id = dc.workspace_id AND rc.id = dc.criterion_id \
                 WHERE dc.workspace_id = $1 AND dc.discussion_id = $2 ORDER BY rc.position, rc.id",
            ).bind(ws).bind(id.0).fetch_all(c).await?
        }))
    }

    /// Replaces the criteria a discussion is rated on.
    pub async fn set_discussion_criteria(
        &mut self,
        id: DiscussionId,
        criteria: &[CriterionId],
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::SET_DISCUSSION_CRITERIA)
                .bind(ws)
                .bind(id.0)
                .execute(&mut *c)
                .await?;
            for cr in criteria {
                sqlx::query(sql::SET_DISCUSSION_CRITERIA_2)
                    .bind(ws)
                    .bind(id.0)
                    .bind(cr.0)
                    .execute(&mut *c)
                    .await?;
            }
        });
        Ok(())
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const RENAME: &str = "UPDATE workspaces SET name = $2 WHERE id = $1";
    pub(crate) const SET_ROLE: &str =
        "UPDATE memberships SET role = $3 WHERE workspace_id = $1 AND user_id = $2";
    pub(crate) const PG_LOCK_OWNERS: &str =
        "SELECT user_id FROM memberships WHERE workspace_id = $1 AND role = 'owner' FOR UPDATE";
    pub(crate) const ROLE_OF: &str =
        "SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2";
    pub(crate) const OWNER_COUNT: &str =
        "SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND role = 'owner'";
    pub(crate) const REMOVE_MEMBER: &str =
        "DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2";
    pub(crate) const REVOKE_TOKEN: &str = "UPDATE api_tokens SET revoked_at = $4 WHERE workspace_id = $1 AND id = $2 AND user_id = $3 AND revoked_at IS NULL";
    pub(crate) const REVOKE_ANY_TOKEN: &str = "UPDATE api_tokens SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL";
    pub(crate) const REVOKE_INVITATION: &str = "UPDATE invitations SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL";
    pub(crate) const STAGES: &str =
        "SELECT id, name, position FROM stages WHERE workspace_id = $1 ORDER BY position, id";
    pub(crate) const IDEAS_IN_STAGE: &str =
        "SELECT COUNT(*) FROM ideas WHERE workspace_id = $1 AND stage_id = $2";
    pub(crate) const DELETE_STAGE: &str = "DELETE FROM stages WHERE workspace_id = $1 AND id = $2";
    pub(crate) const CRITERIA: &str = "SELECT id, name, position FROM rating_criteria WHERE workspace_id = $1 ORDER BY position, id";
    pub(crate) const DELETE_CRITERION: &str =
        "DELETE FROM rating_criteria WHERE workspace_id = $1 AND id = $2";
    pub(crate) const UPDATE_SPACE: &str = "UPDATE spaces SET name = $3, description = $4, private = $5 WHERE workspace_id = $1 AND id = $2";
    pub(crate) const DELETE_SPACE: &str = "DELETE FROM spaces WHERE workspace_id = $1 AND id = $2";
    pub(crate) const SET_STAGE_POSITION: &str =
        "UPDATE stages SET position = $3 WHERE workspace_id = $1 AND id = $2";
    pub(crate) const SET_CRITERION_POSITION: &str =
        "UPDATE rating_criteria SET position = $3 WHERE workspace_id = $1 AND id = $2";
    /// The day a member last used the workspace, and when they last marked its activity seen,
    /// are forgotten once older than the activity period.
    pub(crate) const FORGET_MEMBER_ACTIVITY: &str = "UPDATE memberships \
         SET last_active_on = CASE WHEN last_active_on < $2 THEN NULL ELSE last_active_on END, \
         activity_seen_at = CASE WHEN activity_seen_at < $2 THEN NULL ELSE activity_seen_at END \
         WHERE workspace_id = $1 AND (last_active_on < $2 OR activity_seen_at < $2)";
    pub(crate) const FORGET_TOKEN_USE: &str = "UPDATE api_tokens SET last_used_on = NULL \
         WHERE workspace_id = $1 AND last_used_on < $2";
    pub(crate) const DELETE_DISCUSSION: &str =
        "DELETE FROM discussions WHERE workspace_id = $1 AND id = $2";
    pub(crate) const ATTACHMENTS_IN_DISCUSSION: &str = "SELECT a.id FROM attachments a \
         JOIN ideas i ON i.workspace_id = a.workspace_id AND i.id = a.idea_id \
         WHERE a.workspace_id = $1 AND i.discussion_id = $2";
    pub(crate) const ATTACHMENTS_IN_SPACE: &str = "SELECT a.id FROM attachments a \
         JOIN ideas i ON i.workspace_id = a.workspace_id AND i.id = a.idea_id \
         JOIN discussions d ON d.workspace_id = i.workspace_id AND d.id = i.discussion_id \
         WHERE a.workspace_id = $1 AND d.space_id = $2";
    pub(crate) const ADD_SPACE_MEMBER: &str = "INSERT INTO space_members (workspace_id, space_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    pub(crate) const REMOVE_SPACE_MEMBER: &str =
        "DELETE FROM space_members WHERE workspace_id = $1 AND space_id = $2 AND user_id = $3";
    pub(crate) const SET_DISCUSSION_CRITERIA: &str =
        "DELETE FROM discussion_criteria WHERE workspace_id = $1 AND discussion_id = $2";
    pub(crate) const SET_DISCUSSION_CRITERIA_2: &str = "INSERT INTO discussion_criteria (workspace_id, discussion_id, criterion_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("RENAME", RENAME),
        ("SET_ROLE", SET_ROLE),
        ("PG_LOCK_OWNERS", PG_LOCK_OWNERS),
        ("ROLE_OF", ROLE_OF),
        ("OWNER_COUNT", OWNER_COUNT),
        ("REMOVE_MEMBER", REMOVE_MEMBER),
        ("REVOKE_TOKEN", REVOKE_TOKEN),
        ("REVOKE_ANY_TOKEN", REVOKE_ANY_TOKEN),
        ("REVOKE_INVITATION", REVOKE_INVITATION),
        ("STAGES", STAGES),
        ("IDEAS_IN_STAGE", IDEAS_IN_STAGE),
        ("DELETE_STAGE", DELETE_STAGE),
        ("CRITERIA", CRITERIA),
        ("DELETE_CRITERION", DELETE_CRITERION),
        ("UPDATE_SPACE", UPDATE_SPACE),
        ("DELETE_SPACE", DELETE_SPACE),
        ("SET_STAGE_POSITION", SET_STAGE_POSITION),
        ("SET_CRITERION_POSITION", SET_CRITERION_POSITION),
        ("FORGET_MEMBER_ACTIVITY", FORGET_MEMBER_ACTIVITY),
        ("FORGET_TOKEN_USE", FORGET_TOKEN_USE),
        ("DELETE_DISCUSSION", DELETE_DISCUSSION),
        ("ATTACHMENTS_IN_DISCUSSION", ATTACHMENTS_IN_DISCUSSION),
        ("ATTACHMENTS_IN_SPACE", ATTACHMENTS_IN_SPACE),
        ("ADD_SPACE_MEMBER", ADD_SPACE_MEMBER),
        ("REMOVE_SPACE_MEMBER", REMOVE_SPACE_MEMBER),
        ("SET_DISCUSSION_CRITERIA", SET_DISCUSSION_CRITERIA),
        ("SET_DISCUSSION_CRITERIA_2", SET_DISCUSSION_CRITERIA_2),
    ];
}
