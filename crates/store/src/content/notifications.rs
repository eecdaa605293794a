//! Email notifications (COL-04): members' preferences, and the items waiting for a member's
//! daily digest. Messages themselves go through the outbox.

use ideaweave_domain::*;
use sqlx::FromRow;
use uuid::Uuid;

use crate::workspace::WorkspaceRepo;
use crate::{StoreResult, Tx};

/// What a notification needs of the idea it is about, with its space's visibility for one
/// person.
#[derive(Debug, Clone, FromRow)]
pub struct NotifiedIdea {
    #[sqlx(try_from = "Uuid")]
    pub author_id: UserId,
    #[sqlx(try_from = "Uuid")]
    pub stage_id: StageId,
    /// Sealed title, excerpt and tags.
    pub summary: Vec<u8>,
    pub deleted_at: Option<i64>,
    pub space_private: bool,
    /// Whether the person asked about is listed in the idea's space.
    pub space_listed: bool,
}

/// An item waiting for a member's digest.
#[derive(Debug, Clone, FromRow)]
pub struct PendingNotificationRow {
    pub id: Uuid,
    #[sqlx(try_from = "Uuid")]
    pub idea_id: IdeaId,
    /// Sealed with the acting person's data key.
    pub item: Vec<u8>,
    pub created_at: i64,
}

/// A member who has at least one item waiting for a digest.
#[derive(Debug, Clone, Copy, FromRow, PartialEq, Eq)]
pub struct DigestDue {
    #[sqlx(try_from = "Uuid")]
    pub workspace_id: WorkspaceId,
    #[sqlx(try_from = "Uuid")]
    pub user_id: UserId,
}

impl WorkspaceRepo<'_> {
    /// A member's stored preference (`instant`, `daily`, `off`); `None` when they never chose
    /// one (the default applies) or are not a member.
    pub async fn notification_preference(&mut self, user: UserId) -> StoreResult<Option<String>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::NOTIFICATION_PREFERENCE)
                .bind(ws)
                .bind(user.0)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Stores a member's preference.
    pub async fn set_notification_preference(
        &mut self,
        user: UserId,
        preference: NotificationPreference,
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO notification_preferences (workspace_id, user_id, preference, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace_id, user_id) DO UPDATE SET preference = excluded.preference, updated_at = excluded.updated_at",
            ).bind(ws).bind(user.0).bind(preference.as_str()).bind(now).execute(c).await?;
        });
        Ok(())
    }

    /// The idea a notification is about, with its space's visibility for `person`.
    pub async fn notified_idea(
        &mut self,
        id: IdeaId,
        person: UserId,
    ) -> StoreResult<Option<NotifiedIdea>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT i.author_id, i.stage_id, i.summary, i.deleted_at, s.private AS space_private, \
                 EXISTS (SELECT 1 FROM space_members sm WHERE sm.workspace_id = s.workspace_id AND sm.space_id = s.id AND sm.user_id = $3) AS space_listed \
                 FROM ideas i JOIN discussions d ON d.workspace_id = i.workspace_id AND d.id = i.discussion_id \
                 JOIN spaces s ON s.workspace_id = d.workspace_id AND s.id = d.space_id \
                 WHERE i.workspace_id = $1 AND i.id = $2",
            ).bind(ws).bind(id.0).bind(person.0).fetch_optional(c).await?
        }))
    }

    /// Records an item for `user`'s next digest.
    pub async fn insert_pending_notification(
        &mut self,
        id: Uuid,
        user: UserId,
        idea: IdeaId,
        item: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO pending_notifications (workspace_id, user_id, id, idea_id, item, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            ).bind(ws).bind(user.0).bind(id).bind(idea.0).bind(item).bind(now).execute(c).await?;
        });
        Ok(())
    }

    /// Removes and returns every item waiting for `user`, oldest first. Deleting is the claim:
    /// of two senders at once, only one gets the items.
    pub async fn take_pending_notifications(
        &mut self,
        user: UserId,
    ) -> StoreResult<Vec<PendingNotificationRow>> {
        let ws = self.ws;
        let mut rows: Vec<PendingNotificationRow> = on_conn!(self.tx, |c| {
            sqlx::query_as(
                "DELETE FROM pending_notifications WHERE workspace_id = $1 AND user_id = $2 \
                 RETURNING id, idea_id, item, created_at",
            )
            .bind(ws)
            .bind(user.0)
            .fetch_all(c)
            .await?
        });
        rows.sort_by_key(|r| (r.created_at, r.id));
        Ok(rows)
    }

    /// Forgets every item waiting for `user`; returns how many there were.
    pub async fn delete_pending_notifications_of(&mut self, user: UserId) -> StoreResult<u64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_PENDING_NOTIFICATIONS_OF)
                .bind(ws)
                .bind(user.0)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }
}

impl Tx {
    /// Up to `limit` members, in any workspace, with an item waiting since `cutoff` or longer.
    pub async fn due_digests(&mut self, cutoff: i64, limit: i64) -> StoreResult<Vec<DigestDue>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT DISTINCT workspace_id, user_id FROM pending_notifications WHERE created_at <= $1 \
                 ORDER BY workspace_id, user_id LIMIT $2",
            ).bind(cutoff).bind(limit).fetch_all(c).await?
        }))
    }

    /// How many items wait for digests, in every workspace.
    pub async fn pending_notification_count(&mut self) -> StoreResult<i64> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sql::PENDING_NOTIFICATION_COUNT)
                .fetch_one(c)
                .await?
        }))
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const NOTIFICATION_PREFERENCE: &str =
        "SELECT preference FROM notification_preferences WHERE workspace_id = $1 AND user_id = $2";
    pub(crate) const DELETE_PENDING_NOTIFICATIONS_OF: &str =
        "DELETE FROM pending_notifications WHERE workspace_id = $1 AND user_id = $2";
    pub(crate) const PENDING_NOTIFICATION_COUNT: &str =
        "SELECT COUNT(*) FROM pending_notifications";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("NOTIFICATION_PREFERENCE", NOTIFICATION_PREFERENCE),
        (
            "DELETE_PENDING_NOTIFICATIONS_OF",
            DELETE_PENDING_NOTIFICATIONS_OF,
        ),
        ("PENDING_NOTIFICATION_COUNT", PENDING_NOTIFICATION_COUNT),
    ];
}
