//! The request desk (DSR-05, DSR-06): requests recorded for a workspace, their answers and the
//! Art. 19 notices sent. Storage keeps sealed bytes; the application decides.

use uuid::Uuid;

use crate::StoreResult;
use crate::workspace::WorkspaceRepo;

/// A recorded request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRow {
    pub id: Uuid,
    pub kind: String,
    pub channel: String,
    pub requester: Vec<u8>,
    pub subject_id: Option<Uuid>,
    pub details: Vec<u8>,
    pub received_at: i64,
    pub due_at: i64,
    pub state: String,
    pub resolution: Option<Vec<u8>>,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<Uuid>,
    pub recorded_by: Option<Uuid>,
    pub reminders: i32,
    pub created_at: i64,
}

/// A new request's fields.
pub struct NewRequest<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub channel: &'a str,
    pub requester: &'a [u8],
    pub subject_id: Option<Uuid>,
    pub details: &'a [u8],
    pub received_at: i64,
    pub due_at: i64,
    pub recorded_by: Option<Uuid>,
}

const REQUEST_COLUMNS: &str = "SELECT id, kind, channel, requester, subject_id, details, received_at, due_at, state, \
     resolution, resolved_at, resolved_by, recorded_by, reminders, created_at FROM privacy_requests ";

impl WorkspaceRepo<'_> {
    /// Records a request.
    pub async fn insert_request(&mut self, r: NewRequest<'_>, now: i64) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO privacy_requests (workspace_id, id, kind, channel, requester, subject_id, details, received_at, due_at, state, recorded_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11)",
            ).bind(ws).bind(r.id).bind(r.kind).bind(r.channel).bind(r.requester).bind(r.subject_id).bind(r.details)
            .bind(r.received_at).bind(r.due_at).bind(r.recorded_by).bind(now).execute(c).await?;
        });
        Ok(())
    }

    /// The workspace's requests: open ones first by due date, then answered ones, newest first.
    pub async fn requests(&mut self) -> StoreResult<Vec<RequestRow>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{REQUEST_COLUMNS}WHERE workspace_id = $1 \
             ORDER BY CASE WHEN state = 'open' THEN 0 ELSE 1 END, \
             CASE WHEN state = 'open' THEN due_at ELSE -received_at END, id"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .fetch_all(c)
            .await?))
    }

    /// Every request, in id order (the workspace export).
    pub async fn export_requests(&mut self) -> StoreResult<Vec<RequestRow>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{REQUEST_COLUMNS}WHERE workspace_id = $1 ORDER BY id"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .fetch_all(c)
            .await?))
    }

    /// Inserts a request as it was exported, answer and reminders included (the import).
    pub async fn import_request(&mut self, r: &RequestRow) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO privacy_requests (workspace_id, id, kind, channel, requester, subject_id, details, received_at, due_at, \
                 state, resolution, resolved_at, resolved_by, recorded_by, reminders, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            ).bind(ws).bind(r.id).bind(&r.kind).bind(&r.channel).bind(&r.requester).bind(r.subject_id).bind(&r.details)
            .bind(r.received_at).bind(r.due_at).bind(&r.state).bind(&r.resolution).bind(r.resolved_at).bind(r.resolved_by)
            .bind(r.recorded_by).bind(r.reminders).bind(r.created_at).execute(c).await?;
        });
        Ok(())
    }

    /// One request.
    pub async fn request(&mut self, id: Uuid) -> StoreResult<Option<RequestRow>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{REQUEST_COLUMNS}WHERE workspace_id = $1 AND id = $2"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .bind(id)
            .fetch_optional(c)
            .await?))
    }

    /// Open requests needing a reminder check: due before `before`, with fewer than two sent.
    pub async fn requests_to_remind(&mut self, before: i64) -> StoreResult<Vec<RequestRow>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{REQUEST_COLUMNS}WHERE workspace_id = $1 AND state = 'open' AND due_at <= $2 AND reminders < 2 ORDER BY due_at, id"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .bind(before)
            .fetch_all(c)
            .await?))
    }

    /// Records that a request has had `sent` reminders, unless it had as many already (another
    /// node got there first); returns whether this call moved it.
    pub async fn set_request_reminders(&mut self, id: Uuid, sent: i32) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::SET_REQUEST_REMINDERS)
                .bind(ws)
                .bind(id)
                .bind(sent)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Answers an open request; false when it was not open (answered meanwhile).
    pub async fn resolve_request(
        &mut self,
        id: Uuid,
        state: &str,
        resolution: &[u8],
        by: Uuid,
        now: i64,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(
                "UPDATE privacy_requests SET state = $3, resolution = $4, resolved_by = $5, resolved_at = $6 \
                 WHERE workspace_id = $1 AND id = $2 AND state = 'open'",
            ).bind(ws).bind(id).bind(state).bind(resolution).bind(by).bind(now).execute(c).await?.rows_affected()
        });
        Ok(n == 1)
    }

    /// Records an Art. 19 notice.
    pub async fn insert_notice(
        &mut self,
        request: Uuid,
        id: Uuid,
        recipient: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::INSERT_NOTICE)
                .bind(ws)
                .bind(request)
                .bind(id)
                .bind(recipient)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// The notices sent for a request: id, sealed recipient, when.
    pub async fn notices(&mut self, request: Uuid) -> StoreResult<Vec<(Uuid, Vec<u8>, i64)>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::NOTICES)
                .bind(ws)
                .bind(request)
                .fetch_all(c)
                .await?
        }))
    }

    /// The requests about `person` (erasure redacts them).
    pub async fn requests_about(&mut self, person: Uuid) -> StoreResult<Vec<Uuid>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::REQUESTS_ABOUT)
                .bind(ws)
                .bind(person)
                .fetch_all(c)
                .await?
        }))
    }

    /// Replaces what a request says about its person with sealed `erased` values and forgets
    /// who they were: the record that a request was received and answered stays.
    pub async fn redact_request(
        &mut self,
        id: Uuid,
        requester: &[u8],
        details: &[u8],
        resolution: Option<&[u8]>,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "UPDATE privacy_requests SET requester = $3, details = $4, resolution = $5, subject_id = NULL \
                 WHERE workspace_id = $1 AND id = $2",
            ).bind(ws).bind(id).bind(requester).bind(details).bind(resolution).execute(c).await?;
        });
        Ok(())
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const SET_REQUEST_REMINDERS: &str = "UPDATE privacy_requests SET reminders = $3 WHERE workspace_id = $1 AND id = $2 AND reminders < $3 AND state = 'open'";
    pub(crate) const INSERT_NOTICE: &str = "INSERT INTO privacy_notices (workspace_id, request_id, id, recipient, sent_at) VALUES ($1, $2, $3, $4, $5)";
    pub(crate) const NOTICES: &str = "SELECT id, recipient, sent_at FROM privacy_notices WHERE workspace_id = $1 AND request_id = $2 ORDER BY sent_at, id";
    pub(crate) const REQUESTS_ABOUT: &str =
        "SELECT id FROM privacy_requests WHERE workspace_id = $1 AND subject_id = $2 ORDER BY id";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("SET_REQUEST_REMINDERS", SET_REQUEST_REMINDERS),
        ("INSERT_NOTICE", INSERT_NOTICE),
        ("NOTICES", NOTICES),
        ("REQUESTS_ABOUT", REQUESTS_ABOUT),
    ];
}
