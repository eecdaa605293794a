//! Termination of a workspace (LIF-02): its scheduled deletion, and the deletion itself, which
//! removes every row of the workspace; and the certificates that prove it.

use std::collections::BTreeMap;

use ideaweave_domain::*;
use uuid::Uuid;

use crate::workspace::WorkspaceRepo;
use crate::{StoreResult, Tx};

/// A workspace's scheduled deletion.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeletionSchedule {
    pub requested_at: i64,
    pub due_at: i64,
    pub requested_by: Option<Uuid>,
    pub reminders: i32,
}

/// A workspace whose deletion is scheduled.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduledDeletion {
    #[sqlx(try_from = "Uuid")]
    pub id: WorkspaceId,
    pub slug: String,
    pub due_at: i64,
    pub reminders: i32,
}

/// A certificate row: facts written with the deletion, the signed certificate once issued.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CertificateRow {
    pub workspace_id: Uuid,
    pub slug: String,
    pub facts: String,
    pub issued_at: Option<i64>,
    pub certificate: Option<String>,
    /// The owners' addresses, sealed, until the certificate is mailed.
    pub notify: Option<Vec<u8>>,
}

/// The tables whose rows a deletion counts for its certificate, in the order listed there.
const COUNTED: &[&str] = &[
    "memberships",
    "invitations",
    "api_tokens",
    "spaces",
    "discussions",
    "ideas",
    "comments",
    "votes",
    "ratings",
    "attachments",
    "links",
    "idea_merges",
    "privacy_requests",
    "workspace_exports",
    "data_keys",
    "workspace_keys",
];

impl WorkspaceRepo<'_> {
    /// The workspace's scheduled deletion, if any.
    pub async fn deletion_schedule(&mut self) -> StoreResult<Option<DeletionSchedule>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT deletion_requested_at AS requested_at, deletion_due_at AS due_at, deletion_requested_by AS requested_by, \
                 deletion_reminders AS reminders FROM workspaces WHERE id = $1 AND deletion_due_at IS NOT NULL",
            ).bind(ws).fetch_optional(c).await?
        }))
    }

    /// Schedules the deletion unless one is scheduled already; returns whether it did.
    pub async fn schedule_deletion(
        &mut self,
        requested_at: i64,
        due_at: i64,
        by: UserId,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(
                "UPDATE workspaces SET deletion_requested_at = $2, deletion_due_at = $3, deletion_requested_by = $4, deletion_reminders = 0 \
                 WHERE id = $1 AND deletion_due_at IS NULL",
            ).bind(ws).bind(requested_at).bind(due_at).bind(by.0).execute(c).await?.rows_affected()
        });
        Ok(n == 1)
    }

    /// Cancels a scheduled deletion that is not due yet at `now`; returns whether it did.
    pub async fn cancel_deletion(&mut self, now: i64) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(
                "UPDATE workspaces SET deletion_requested_at = NULL, deletion_due_at = NULL, deletion_requested_by = NULL, deletion_reminders = 0 \
                 WHERE id = $1 AND deletion_due_at IS NOT NULL AND deletion_due_at > $2",
            ).bind(ws).bind(now).execute(c).await?.rows_affected()
        });
        Ok(n == 1)
    }

    /// The workspace's deletion if it is due at `now`, its row locked for the rest of the
    /// transaction (PostgreSQL; a SQLite write transaction excludes others already), so that a
    /// cancellation cannot slip in between.
    pub async fn lock_due_deletion(&mut self, now: i64) -> StoreResult<Option<DeletionSchedule>> {
        let ws = self.ws;
        let sql = if self.tx.kind() == crate::DatabaseKind::Postgres {
            "SELECT deletion_requested_at AS requested_at, deletion_due_at AS due_at, deletion_requested_by AS requested_by, \
             deletion_reminders AS reminders FROM workspaces WHERE id = $1 AND deletion_due_at <= $2 FOR UPDATE"
        } else {
            "SELECT deletion_requested_at AS requested_at, deletion_due_at AS due_at, deletion_requested_by AS requested_by, \
             deletion_reminders AS reminders FROM workspaces WHERE id = $1 AND deletion_due_at <= $2"
        };
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .bind(now)
            .fetch_optional(c)
            .await?))
    }

    /// Records that `sent` reminders went out, unless as many had (another node); returns
    /// whether this call moved it.
    pub async fn set_deletion_reminders(&mut self, sent: i32) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(
                "UPDATE workspaces SET deletion_reminders = $2 WHERE id = $1 AND deletion_due_at IS NOT NULL AND deletion_reminders < $2",
            ).bind(ws).bind(sent).execute(c).await?.rows_affected()
        });
        Ok(n == 1)
    }

    /// Whoever asked for the deletion, replaced (erasure: DSR-03).
    pub async fn reattribute_deletion_request(
        &mut self,
        from: UserId,
        to: UserId,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::REATTRIBUTE_DELETION_REQUEST)
                .bind(ws)
                .bind(from.0)
                .bind(to.0)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// How many rows of each kind the workspace holds.
    pub async fn row_counts(&mut self) -> StoreResult<BTreeMap<String, i64>> {
        let ws = self.ws;
        let mut out = BTreeMap::new();
        for table in COUNTED {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {table} WHERE workspace_id = $1"
            ));
            let n: i64 = on_conn!(self.tx, |c| sqlx::query_scalar(sql)
                .bind(ws)
                .fetch_one(c)
                .await?);
            out.insert((*table).to_owned(), n);
        }
        Ok(out)
    }

    /// Every attachment's and stored export's id: the file store's objects of the workspace.
    pub async fn stored_object_ids(&mut self) -> StoreResult<Vec<Uuid>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(
                "SELECT id FROM attachments WHERE workspace_id = $1 UNION ALL SELECT id FROM workspace_exports WHERE workspace_id = $1",
            ).bind(ws).fetch_all(c).await?
        }))
    }

    /// Deletes every row of the workspace: its content first (so no foreign key is left
    /// dangling at any step), then the workspace row, whose cascade takes the rest, then its
    /// former members, its queued mail and its audit pseudonym mappings. The audit entries
    /// stay: the log is append-only, and their details are sealed with keys destroyed with it.
    pub async fn delete_all_rows(&mut self) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            for sql in [
                "DELETE FROM ideas WHERE workspace_id = $1",
                "DELETE FROM discussions WHERE workspace_id = $1",
                "DELETE FROM spaces WHERE workspace_id = $1",
                "DELETE FROM data_keys WHERE workspace_id = $1",
                "DELETE FROM memberships WHERE workspace_id = $1",
                "DELETE FROM outbox WHERE workspace_id = $1",
                "DELETE FROM audit_actors WHERE scope = $1",
                "DELETE FROM workspaces WHERE id = $1",
                "DELETE FROM users WHERE former_member_of = $1",
                // Last: deleting the content above queued its removal from search.
                "DELETE FROM search_queue WHERE workspace_id = $1",
                "DELETE FROM search_file_texts WHERE workspace_id = $1",
                "DELETE FROM search_indexes WHERE workspace_id = $1",
            ] {
                sqlx::query(sql).bind(ws).execute(&mut *c).await?;
            }
        });
        Ok(())
    }
}

impl Tx {
    /// Workspaces whose deletion is scheduled, soonest first.
    pub async fn scheduled_deletions(&mut self) -> StoreResult<Vec<ScheduledDeletion>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT id, slug, deletion_due_at AS due_at, deletion_reminders AS reminders FROM workspaces \
                 WHERE deletion_due_at IS NOT NULL ORDER BY deletion_due_at, id",
            ).fetch_all(c).await?
        }))
    }

    /// Records a deletion's facts and whom to send the certificate (sealed); the certificate
    /// follows.
    pub async fn insert_certificate_facts(
        &mut self,
        ws: WorkspaceId,
        slug: &str,
        facts: &str,
        notify: &[u8],
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_CERTIFICATE_FACTS)
                .bind(ws.0)
                .bind(slug)
                .bind(facts)
                .bind(notify)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Deletions whose certificate is not issued yet.
    pub async fn pending_certificates(&mut self) -> StoreResult<Vec<CertificateRow>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT workspace_id, slug, facts, issued_at, certificate, notify FROM deletion_certificates WHERE certificate IS NULL ORDER BY workspace_id",
            ).fetch_all(c).await?
        }))
    }

    /// Stores an issued certificate and forgets whom it was for; false when another node
    /// issued it first (that node mails it).
    pub async fn complete_certificate(
        &mut self,
        ws: Uuid,
        certificate: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let n = on_conn!(self, |c| {
            sqlx::query(sql::COMPLETE_CERTIFICATE)
                .bind(ws)
                .bind(certificate)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// The certificates of deleted workspaces with this slug (a slug may be reused), newest
    /// first.
    pub async fn certificates_for(&mut self, slug: &str) -> StoreResult<Vec<CertificateRow>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT workspace_id, slug, facts, issued_at, certificate, notify FROM deletion_certificates WHERE slug = $1 ORDER BY issued_at DESC",
            ).bind(slug).fetch_all(c).await?
        }))
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const REATTRIBUTE_DELETION_REQUEST: &str = "UPDATE workspaces SET deletion_requested_by = $3 WHERE id = $1 AND deletion_requested_by = $2";
    pub(crate) const INSERT_CERTIFICATE_FACTS: &str = "INSERT INTO deletion_certificates (workspace_id, slug, facts, notify) VALUES ($1, $2, $3, $4)";
    pub(crate) const COMPLETE_CERTIFICATE: &str = "UPDATE deletion_certificates SET certificate = $2, issued_at = $3, notify = NULL WHERE workspace_id = $1 AND certificate IS NULL";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("REATTRIBUTE_DELETION_REQUEST", REATTRIBUTE_DELETION_REQUEST),
        ("INSERT_CERTIFICATE_FACTS", INSERT_CERTIFICATE_FACTS),
        ("COMPLETE_CERTIFICATE", COMPLETE_CERTIFICATE),
    ];
}
