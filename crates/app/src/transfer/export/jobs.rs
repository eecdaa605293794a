//! Exports requested on the web (LIF-01): an admin asks, a background job on any node writes
//! the archive sealed with the workspace's key into the file store, reporting its progress, and
//! the admin downloads it once ready. Archives are kept for [`EXPORT_KEEP_DAYS`] days.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use futures_util::StreamExt;
use ideaweave_domain::policy::Action;
use ideaweave_domain::*;
use ideaweave_store::ExportJobRow;
use serde::Serialize;
use serde_json::json;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use crate::OrInternal;
use crate::content::files::Download;
use crate::platform::sealed::at;
use crate::platform::sealed::column;
use crate::trust::audit::{AuditAction, Target};
use crate::{App, AppError, AppResult, Member};

/// How long a finished export waits for its download.
pub const EXPORT_KEEP_DAYS: i64 = 7;
/// How long a node may work on a job before another may take it over (renewed with progress).
const LEASE_MS: i64 = 60_000;

/// An export job as its workspace's admins see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportJobView {
    pub id: ExportId,
    /// `pending`, `running`, `ready` or `failed`.
    pub state: String,
    pub requested_by: UserId,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// Records written so far.
    pub done: i64,
    /// Records in all (known once the job started).
    pub total: i64,
    /// The archive's size, once ready.
    pub bytes: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// Until when the archive can be downloaded.
    pub expires_at: i64,
}

fn view(r: ExportJobRow) -> ExportJobView {
    ExportJobView {
        expires_at: r.created_at + EXPORT_KEEP_DAYS * ideaweave_domain::retention::DAY_MS,
        id: ExportId(r.id),
        state: r.state,
        requested_by: UserId(r.requested_by),
        created_at: r.created_at,
        finished_at: r.finished_at,
        done: r.done,
        total: r.total,
        bytes: r.bytes,
        error: r.error,
    }
}

impl App {
    /// Queues an export of the admin's workspace; a background job writes it.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn request_export(&self, m: &Member) -> AppResult<ExportJobView> {
        m.allow(Action::ExportWorkspace)?;
        self.require_recent_member(m)?;
        let id = Uuid::now_v7();
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(m.workspace);
        if repo
            .export_jobs()
            .await?
            .iter()
            .any(|j| j.state == "pending" || j.state == "running")
        {
            return Err(AppError::Conflict(
                "an export of this workspace is already being prepared; wait for it".into(),
            ));
        }
        repo.insert_export_job(id, m.actor.user.0, self.now())
            .await?;
        let job = repo
            .export_job(id)
            .await?
            .ok_or(AppError::NotFound("export"))?;
        tx.commit().await?;
        Ok(view(job))
    }

    /// The workspace's exports, newest first (admins).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn export_jobs(&self, m: &Member) -> AppResult<Vec<ExportJobView>> {
        m.allow(Action::ExportWorkspace)?;
        let mut tx = self.store.read().await?;
        Ok(tx
            .workspace(m.workspace)
            .export_jobs()
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// One export (admins).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn export_job(&self, m: &Member, ExportId(id): ExportId) -> AppResult<ExportJobView> {
        m.allow(Action::ExportWorkspace)?;
        let mut tx = self.store.read().await?;
        tx.workspace(m.workspace)
            .export_job(id)
            .await?
            .map(view)
            .ok_or(AppError::NotFound("export"))
    }

    /// The archive of a ready export (admins); recorded as `workspace.exported`, since this is
    /// when the data leaves.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn download_export(&self, m: &Member, ExportId(id): ExportId) -> AppResult<Download> {
        let job = self.export_job(m, ExportId(id)).await?;
        if job.state != "ready" {
            return Err(AppError::Conflict(format!(
                "this export is {}; it can be downloaded once it is ready",
                job.state
            )));
        }
        let mut tx = self.store.begin().await?;
        let mut file = self
            .open_sealed_object(&mut tx, m.workspace, id, column::WORKSPACE_EXPORTS_ARCHIVE)
            .await?
            .ok_or(AppError::NotFound("export"))?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::WorkspaceExported,
            Target::Thing("export", id),
            json!({"bytes": job.bytes}),
        )
        .await?;
        tx.commit().await?;
        let first = file.next_piece().await?;
        let rest = futures_util::stream::try_unfold(file, |mut f| async move {
            Ok(f.next_piece().await?.map(|p| (p, f)))
        });
        let body = futures_util::stream::iter(first.map(Ok)).chain(rest);
        Ok(Download {
            body: Box::pin(body),
            size: job.bytes.and_then(|b| u64::try_from(b).ok()).unwrap_or(0),
            content_type: "application/gzip".to_owned(),
            filename: format!("{}-export.tar.gz", m.slug),
            inline: false,
        })
    }

    /// Runs waiting export jobs until none is left; returns how many ran. Called by the server's
    /// background loop (and by tests).
    #[tracing::instrument(skip_all)]
    pub async fn run_export_jobs(&self) -> AppResult<usize> {
        let mut ran = 0;
        loop {
            let now = self.now();
            let mut tx = self.store.begin().await?;
            let claimed = tx.claim_export_job(now, now + LEASE_MS).await?;
            tx.commit().await?;
            let Some((ws, id)) = claimed else {
                return Ok(ran);
            };
            let ws = WorkspaceId(ws);
            let outcome = self.write_export(ws, id).await;
            let mut tx = self.store.begin().await?;
            match outcome {
                Ok(bytes) => {
                    let kept = tx
                        .workspace(ws)
                        .finish_export_job(id, i64::try_from(bytes).ok(), None, self.now())
                        .await?;
                    if !kept {
                        // Deleted while it ran (an erasure): it holds data that must not stay.
                        self.remove_export_archives(ws, &[id]).await;
                    }
                }
                Err(e) => {
                    tracing::error!(workspace = %ws.0, export = %id, error = %e, "an export failed");
                    let _ = self.files.delete(&format!("{}/{id}", ws.0)).await;
                    tx.workspace(ws)
                        .finish_export_job(
                            id,
                            None,
                            Some("the export could not be written; the operator's log says why"),
                            self.now(),
                        )
                        .await?;
                }
            }
            tx.commit().await?;
            ran += 1;
        }
    }

    /// Writes one job's archive into the file store, sealed with the workspace's key, while a
    /// ticker records its progress (and renews the lease) every second.
    async fn write_export(&self, ws: WorkspaceId, id: Uuid) -> AppResult<u64> {
        let key = {
            let mut tx = self.store.begin().await?;
            let k = self
                .keyring
                .data_key(&mut tx.workspace(ws), None, self.now())
                .await?;
            tx.commit().await?;
            k
        };
        let (into, mut from) = tokio::io::duplex(256 * 1024);
        let done = Arc::new(AtomicU64::new(0));
        let total = Arc::new(AtomicU64::new(0));
        let finished = AtomicBool::new(false);
        let export = async {
            let r = self
                .export_workspace(ws, into, &|p| {
                    done.store(p.done, Ordering::Relaxed);
                    total.store(p.total, Ordering::Relaxed);
                })
                .await;
            finished.store(true, Ordering::Relaxed);
            r
        };
        let store = async {
            let mut sealer = key.stream_sealer(&at(ws, column::WORKSPACE_EXPORTS_ARCHIVE, id))?;
            let mut out = self.files.create(&format!("{}/{id}", ws.0)).await?;
            let mut buf = vec![0u8; 64 * 1024];
            let mut bytes = 0u64;
            loop {
                let n = from.read(&mut buf).await.or_internal("export pipe")?;
                if n == 0 {
                    break;
                }
                bytes += n as u64;
                out.write(&sealer.push(&buf[..n])?).await?;
            }
            out.write(&sealer.finish()?).await?;
            out.commit().await?;
            Ok::<u64, AppError>(bytes)
        };
        let ticker = async {
            while !finished.load(Ordering::Relaxed) {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                let now = self.now();
                let result = async {
                    let mut tx = self.store.begin().await?;
                    tx.workspace(ws)
                        .export_job_progress(
                            id,
                            i64::try_from(done.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
                            i64::try_from(total.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
                            now + LEASE_MS,
                        )
                        .await?;
                    tx.commit().await?;
                    Ok::<(), AppError>(())
                }
                .await;
                if let Err(e) = result {
                    tracing::warn!(export = %id, error = %e, "could not record an export's progress");
                }
            }
        };
        let (exported, stored, ()) = tokio::join!(export, store, ticker);
        exported?;
        stored
    }

    /// Removes stored export archives (after their jobs were deleted).
    pub(crate) async fn remove_export_archives(&self, ws: WorkspaceId, ids: &[Uuid]) {
        for id in ids {
            if let Err(e) = self.files.delete(&format!("{}/{id}", ws.0)).await {
                tracing::warn!(export = %id, error = %e, "an export archive could not be removed");
            }
        }
    }
}
