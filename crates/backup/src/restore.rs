//! Restore and rollback (BAK-05, ENC-04): the whole instance, or one workspace, back to the
//! state of a backup. The backup is first restored into a scratch location and verified like
//! any backup; the shred ledger is applied to that copy before a single row reaches the live
//! database, so people erased after the backup was taken stay erased. Then one transaction
//! replaces the live rows in scope.
//!
//! The audit log, queued mail and the record of backups are journals of what happened, not
//! content: a restore keeps the live ones (and records itself there). Only an instance whose
//! live log is empty (a disaster recovery into a fresh database) takes them from the backup.

use std::collections::HashSet;
use std::path::Path;

use ideaweave_app::{App, AuditAction};
use ideaweave_domain::WorkspaceId;
use ideaweave_store::TableInfo;

use crate::verify::{check_scratch, open_scratch};
use crate::{BackupError, BackupResult};

/// Tables a restore never replaces.
const ALWAYS_LIVE: &[&str] = &["backup_runs", "backup_alerts"];
/// Journals: kept live unless the live instance has no history at all.
const JOURNALS: &[&str] = &[
    "audit_entries",
    "audit_nodes",
    "audit_head",
    "audit_checkpoints",
    "audit_actors",
    "outbox",
];
/// Instance records about a workspace that a workspace restore leaves as they are.
const WORKSPACE_KEEPS: &[&str] = &["deletion_certificates"];

/// What to restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreScope {
    /// Everything.
    Instance,
    /// One workspace, by slug.
    Workspace(String),
}

/// What a restore did, or would do (`--dry-run`).
#[derive(Debug, Clone, Default)]
pub struct RestorePlan {
    /// When the backup was taken (Unix ms).
    pub taken_at_ms: i64,
    /// The backup's id.
    pub backup_id: String,
    /// Per table: live rows now, rows after the restore.
    pub tables: Vec<(String, i64, i64)>,
    /// Files written back.
    pub files: u64,
    /// Live files removed (not in the backup).
    pub files_removed: u64,
    /// Keys in the backup that the shred ledger lists, deleted before restoring.
    pub erased_keys: usize,
    /// Accounts in the backup whose own key was shredded since (neutralised).
    pub erased_accounts: u64,
    /// Accounts deleted since the backup, restored as former members.
    pub former_members: usize,
    /// Whether the journals (audit log, outbox) were taken from the backup.
    pub journals_from_backup: bool,
    /// Whether anything was changed.
    pub applied: bool,
}

/// Restores the backup in the local file `object` (opened with `identity`) into `app`'s
/// database and file store, or only reports what it would do when `dry_run`. `work` is a
/// scratch directory.
pub async fn restore(
    app: &App,
    database_url: &str,
    object: &Path,
    identity: age::x25519::Identity,
    scope: &RestoreScope,
    dry_run: bool,
    work: &Path,
) -> BackupResult<RestorePlan> {
    let scratch = open_scratch(app.store(), database_url, object, identity, work).await?;
    let result = async {
        check_scratch(app, &scratch).await?;
        scratch.store.migrate().await?;
        let mut plan = RestorePlan {
            taken_at_ms: scratch.extracted.manifest.created_at_ms,
            backup_id: scratch.extracted.manifest.id.clone(),
            ..Default::default()
        };
        // ENC-04: keys erased since the backup go before anything is copied.
        plan.erased_keys = app.keyring().apply_ledger(&scratch.store).await?;
        let mut tx = scratch.store.begin().await?;
        plan.erased_accounts = tx.neutralise_keyless_accounts().await?;
        tx.commit().await?;
        apply(app, &scratch, scope, dry_run, &mut plan).await?;
        Ok::<_, BackupError>(plan)
    }
    .await;
    scratch.remove().await;
    result
}

async fn apply(
    app: &App,
    scratch: &crate::verify::Scratch,
    scope: &RestoreScope,
    dry_run: bool,
    plan: &mut RestorePlan,
) -> BackupResult<()> {
    let live = app.store();
    let source = &scratch.source;
    let mut tx = live.begin_restore(source).await?;
    let workspace = match scope {
        RestoreScope::Instance => None,
        RestoreScope::Workspace(slug) => {
            let id = tx.source_workspace(source, slug).await?.ok_or_else(|| {
                BackupError::Refused(format!("the backup has no workspace {slug:?}"))
            })?;
            if app.keyring().shredded_workspaces()?.contains(&id) {
                return Err(BackupError::Refused(format!(
                    "the workspace {slug:?} was deleted and its keys destroyed (see the shred ledger): \
                     its backup cannot bring its data back (ENC-04)"
                )));
            }
            if let Some(other) = tx.workspace_by_slug(slug).await?
                && other.id.0 != id
            {
                return Err(BackupError::Refused(format!(
                    "another workspace now uses the address {slug:?}: rename it before restoring this one"
                )));
            }
            Some(id)
        }
    };
    let live_history = tx.audit_head().await?.size > 0;
    plan.journals_from_backup = workspace.is_none() && !live_history;
    let tables: Vec<TableInfo> = tx
        .tables_in_dependency_order()
        .await?
        .into_iter()
        .filter(|t| !ALWAYS_LIVE.contains(&t.name.as_str()))
        .filter(|t| plan.journals_from_backup || !JOURNALS.contains(&t.name.as_str()))
        .filter(|t| match workspace {
            None => true,
            Some(_) => {
                (t.is_workspace_data() || t.name == "workspaces")
                    && !WORKSPACE_KEEPS.contains(&t.name.as_str())
            }
        })
        .collect();
    let filter_of = |t: &TableInfo| {
        workspace.map(|w| {
            if t.name == "workspaces" {
                ("id", w)
            } else {
                ("workspace_id", w)
            }
        })
    };
    let live_files: Vec<String> = tx
        .stored_file_keys()
        .await?
        .into_iter()
        .filter(|(w, _)| workspace.is_none_or(|ws| ws == *w))
        .map(|(w, i)| format!("{w}/{i}"))
        .collect();
    for t in &tables {
        let f = filter_of(t);
        let now = tx.count_live_rows(t, f).await?;
        let then = tx.count_source_rows(source, t, f).await?;
        plan.tables.push((t.name.clone(), now, then));
    }
    let missing_users = match workspace {
        Some(w) => tx.users_missing_for(source, w).await?,
        None => Vec::new(),
    };
    plan.former_members = missing_users.len();
    let prefix = workspace.map(|w| format!("{w}/"));
    let backup_files: Vec<&(String, std::path::PathBuf)> = scratch
        .extracted
        .files
        .iter()
        .filter(|(k, _)| prefix.as_ref().is_none_or(|p| k.starts_with(p)))
        .collect();
    plan.files = backup_files.len() as u64;
    let keep: HashSet<&str> = backup_files.iter().map(|(k, _)| k.as_str()).collect();
    let stale: Vec<&String> = live_files
        .iter()
        .filter(|k| !keep.contains(k.as_str()))
        .collect();
    plan.files_removed = stale.len() as u64;
    if dry_run {
        return Ok(());
    }
    // Files first: they are new objects (or the same bytes under the same key), so the rows
    // committed next never point at a file that is not there.
    for (key, path) in &backup_files {
        put_file(app, key, path).await?;
    }
    for t in tables.iter().rev() {
        tx.delete_table_rows(t, filter_of(t)).await?;
    }
    if let Some(w) = workspace {
        for id in &missing_users {
            let mut index = [0u8; 32];
            getrandom_fill(&mut index)?;
            tx.insert_former_member(
                ideaweave_domain::UserId(*id),
                WorkspaceId(w),
                &index,
                app.now_ms(),
            )
            .await?;
        }
    }
    for t in &tables {
        tx.copy_table_rows(source, t, filter_of(t)).await?;
    }
    live.commit_restore(tx).await?;
    for key in stale {
        if let Err(e) = app.files().delete(key).await {
            tracing::warn!(error = %e, key, "could not remove a file the restored rows no longer name");
        }
    }
    // Whatever else the ledger lists (for example in journals taken from the backup).
    app.keyring().apply_ledger(live).await?;
    plan.applied = true;
    let rows: i64 = plan.tables.iter().map(|t| t.2).sum();
    app.audit_backup(
        AuditAction::BackupRestored,
        workspace.map(WorkspaceId),
        serde_json::json!({
            "backup": plan.backup_id,
            "taken_at": crate::take::rfc3339(plan.taken_at_ms),
            "scope": match scope { RestoreScope::Instance => "instance".to_owned(), RestoreScope::Workspace(s) => format!("workspace {s}") },
            "rows": rows,
            "files": plan.files,
            "erased_keys_removed": plan.erased_keys,
        }),
    )
    .await?;
    Ok(())
}

fn getrandom_fill(buf: &mut [u8]) -> BackupResult<()> {
    getrandom::fill(buf).map_err(|e| BackupError::Config(format!("randomness: {e}")))
}

async fn put_file(app: &App, key: &str, path: &Path) -> BackupResult<()> {
    use tokio::io::AsyncReadExt;
    let store_err = |e: ideaweave_store::FileStoreError| BackupError::Io {
        what: format!("cannot write the stored file {key}"),
        source: std::io::Error::other(e.to_string()),
    };
    let mut f = tokio::fs::File::open(path)
        .await
        .map_err(BackupError::io(format!("cannot read {}", path.display())))?;
    let mut w = app.files().create(key).await.map_err(store_err)?;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = f
            .read(&mut buf)
            .await
            .map_err(BackupError::io(format!("cannot read {}", path.display())))?;
        if n == 0 {
            break;
        }
        w.write(&buf[..n]).await.map_err(store_err)?;
    }
    w.commit().await.map_err(store_err)?;
    Ok(())
}
