//! What became of reading uploaded files' text for search (COL-05, migration 0032): read, or
//! unreadable and why. A file recorded as unreadable is not read again.

use sqlx::FromRow;
use uuid::Uuid;

use crate::StoreResult;
use crate::workspace::WorkspaceRepo;

/// What the indexer needs to decide whether and how to read a file's text.
#[derive(Debug, Clone, FromRow)]
pub struct SearchFileMeta {
    pub id: Uuid,
    pub content_type: String,
    pub size_bytes: i64,
    /// `read` or `unreadable`; `None` if never tried.
    pub outcome: Option<String>,
    /// Why it was unreadable.
    pub reason: Option<String>,
}

/// One file's recorded outcome.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct FileTextRecord {
    pub attachment_id: Uuid,
    pub outcome: String,
    /// Why it was unreadable (a code of `ideaweave_extract::Unreadable`).
    pub reason: Option<String>,
    pub text_bytes: i64,
    pub checked_at: i64,
}

impl WorkspaceRepo<'_> {
    /// The type, size and last outcome of attachment `id`, if it exists.
    pub async fn search_file_meta(&mut self, id: Uuid) -> StoreResult<Option<SearchFileMeta>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::FILE_META)
                .bind(ws)
                .bind(id)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Records the outcome of reading attachment `id`'s text; nothing if it was deleted
    /// meanwhile.
    pub async fn record_file_text(
        &mut self,
        id: Uuid,
        reason: Option<&str>,
        text_bytes: i64,
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        let outcome = if reason.is_some() {
            "unreadable"
        } else {
            "read"
        };
        on_conn!(self.tx, |c| {
            sqlx::query(sql::RECORD)
                .bind(ws)
                .bind(id)
                .bind(outcome)
                .bind(reason)
                .bind(text_bytes)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Forgets which of this workspace's files were unreadable and queues them to be read
    /// again; how many.
    pub async fn retry_unreadable_files(&mut self, now: i64) -> StoreResult<u64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql::QUEUE_UNREADABLE)
                .bind(ws)
                .bind(now)
                .execute(&mut *c)
                .await?;
            sqlx::query(sql::FORGET_UNREADABLE)
                .bind(ws)
                .execute(&mut *c)
                .await?
                .rows_affected()
        }))
    }

    /// Every recorded outcome of this workspace's files, unreadable ones first.
    pub async fn file_text_records(&mut self) -> StoreResult<Vec<FileTextRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::RECORDS).bind(ws).fetch_all(c).await?
        }))
    }
}

/// The statements of this module, named after the operation that runs them.
pub(crate) mod sql {
    pub(crate) const FILE_META: &str = "SELECT a.id, a.content_type, a.size_bytes, t.outcome, t.reason \
        FROM attachments a LEFT JOIN search_file_texts t \
        ON t.workspace_id = a.workspace_id AND t.attachment_id = a.id \
        WHERE a.workspace_id = $1 AND a.id = $2";
    pub(crate) const RECORD: &str = "INSERT INTO search_file_texts \
        (workspace_id, attachment_id, outcome, reason, text_bytes, checked_at) \
        SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS \
        (SELECT 1 FROM attachments a WHERE a.workspace_id = $1 AND a.id = $2) \
        ON CONFLICT (workspace_id, attachment_id) DO UPDATE SET outcome = excluded.outcome, \
        reason = excluded.reason, text_bytes = excluded.text_bytes, checked_at = excluded.checked_at";
    pub(crate) const RECORDS: &str = "SELECT attachment_id, outcome, reason, text_bytes, checked_at \
        FROM search_file_texts WHERE workspace_id = $1 \
        ORDER BY outcome DESC, checked_at, attachment_id";

    pub(crate) const QUEUE_UNREADABLE: &str = "INSERT INTO search_queue \
        (workspace_id, kind, item_id, queued_at) \
        SELECT workspace_id, 'file', attachment_id, $2 FROM search_file_texts \
        WHERE workspace_id = $1 AND outcome = 'unreadable' \
        ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1";
    pub(crate) const FORGET_UNREADABLE: &str =
        "DELETE FROM search_file_texts WHERE workspace_id = $1 AND outcome = 'unreadable'";

    pub(crate) const ALL: &[(&str, &str)] = &[
        ("QUEUE_UNREADABLE", QUEUE_UNREADABLE),
        ("FORGET_UNREADABLE", FORGET_UNREADABLE),
        ("FILE_META", FILE_META),
        ("RECORD", RECORD),
        ("RECORDS", RECORDS),
    ];
}
