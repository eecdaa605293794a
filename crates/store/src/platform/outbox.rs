//! The outbox of outgoing email: queued in the transaction that causes a message, claimed by a
//! sender for a while (a lease), deleted once sent, rescheduled with back-off when sending
//! fails. A message belongs to a workspace (an invitation) or, with no workspace, to an account
//! (a password reset link).

use sqlx::FromRow;
use uuid::Uuid;

use crate::{StoreResult, Tx};

/// A message claimed for sending.
#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub id: Uuid,
    /// The workspace whose key seals the message; `None` for account mail, which an instance
    /// key seals.
    pub workspace_id: Option<Uuid>,
    pub message: Vec<u8>,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// How many messages wait, and how many were given up.
#[derive(Debug, Clone, Copy, Default, FromRow, PartialEq, Eq)]
pub struct OutboxCounts {
    pub waiting: i64,
    pub failed: i64,
}

impl Tx {
    /// Queues a sealed message of `workspace`, or of an account (`None`).
    pub async fn insert_mail(
        &mut self,
        id: Uuid,
        workspace: Option<Uuid>,
        message: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_MAIL)
                .bind(id)
                .bind(workspace)
                .bind(message)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Claims up to `limit` messages due at `now` until `lease_until`, counting the attempt:
    /// another sender skips them meanwhile, and a sender that dies loses nothing (they fall due
    /// again when the lease ends).
    pub async fn claim_due_mail(
        &mut self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<OutboxRow>> {
        Ok(match &mut self.handle {
            crate::Handle::Sqlite(h) => {
                // A write transaction on SQLite already excludes every other sender.
                sqlx::query_as(sql::CLAIM_DUE_MAIL)
                    .bind(now)
                    .bind(lease_until)
                    .bind(limit)
                    .fetch_all(h.conn())
                    .await?
            }
            crate::Handle::Postgres(h) => {
                sqlx::query_as(sql::PG_CLAIM_DUE_MAIL_2)
                    .bind(now)
                    .bind(lease_until)
                    .bind(limit)
                    .fetch_all(h.conn())
                    .await?
            }
        })
    }

    /// Forgets a message that was sent.
    pub async fn delete_mail(&mut self, id: Uuid) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::DELETE_MAIL).bind(id).execute(c).await?;
        });
        Ok(())
    }

    /// Records a failed attempt: try again at `next_attempt_at`, or never (`failed_at`).
    pub async fn reschedule_mail(
        &mut self,
        id: Uuid,
        next_attempt_at: i64,
        error: &str,
        failed_at: Option<i64>,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::RESCHEDULE_MAIL)
                .bind(id)
                .bind(next_attempt_at)
                .bind(error)
                .bind(failed_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Messages waiting and given up.
    pub async fn outbox_counts(&mut self) -> StoreResult<OutboxCounts> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::OUTBOX_COUNTS).fetch_one(c).await?
        }))
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const INSERT_MAIL: &str = "INSERT INTO outbox (id, workspace_id, message, created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, 0, $4)";
    pub(crate) const CLAIM_DUE_MAIL: &str = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2 WHERE id IN (SELECT id FROM outbox WHERE failed_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $3) RETURNING id, workspace_id, message, attempts";
    pub(crate) const PG_CLAIM_DUE_MAIL_2: &str = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2 WHERE id IN (SELECT id FROM outbox WHERE failed_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id, workspace_id, message, attempts";
    pub(crate) const DELETE_MAIL: &str = "DELETE FROM outbox WHERE id = $1";
    pub(crate) const RESCHEDULE_MAIL: &str =
        "UPDATE outbox SET next_attempt_at = $2, last_error = $3, failed_at = $4 WHERE id = $1";
    pub(crate) const OUTBOX_COUNTS: &str = "SELECT COUNT(*) FILTER (WHERE failed_at IS NULL) AS waiting, COUNT(*) FILTER (WHERE failed_at IS NOT NULL) AS failed FROM outbox";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("INSERT_MAIL", INSERT_MAIL),
        ("CLAIM_DUE_MAIL", CLAIM_DUE_MAIL),
        ("PG_CLAIM_DUE_MAIL_2", PG_CLAIM_DUE_MAIL_2),
        ("DELETE_MAIL", DELETE_MAIL),
        ("RESCHEDULE_MAIL", RESCHEDULE_MAIL),
        ("OUTBOX_COUNTS", OUTBOX_COUNTS),
    ];
}
