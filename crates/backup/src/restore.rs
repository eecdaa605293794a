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

/// Tables a restore never replaces: the record of backups, and the deletion certificates
/// issued (a deleted workspace stays deleted, and its certificate stays issued).
const ALWAYS_LIVE: &[&str] = &[
    "backup_runs",
    "backup_alerts",
    "deletion_certificates",
    "shred_count",
    "node_leases",
];
/// Journals: kept live unless the live instance has no history at all.
const JOURNALS: &[&str] = &[
    "audit_entries",
    "audit_nodes",
    "audit_head",
    "audit_checkpoints",
    "audit_actors",
    "audit_seal",
    "outbox",
];

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
    /// People erased from a workspace since the backup, taken out of it again.
    pub erased_people: usize,
    /// Accounts deleted since the backup, removed from the copy again.
    pub erased_accounts: usize,
    /// Workspaces deleted since the backup (their slugs), left out.
    pub deleted_workspaces: Vec<String>,
    /// Accounts deleted since the backup, restored as former members.
    pub former_members: usize,
    /// Whether the journals (audit log, outbox) were taken from the backup.
    pub journals_from_backup: bool,
    /// Whether anything was changed.
    pub applied: bool,
}

/// What a restore knows of the shred ledger beyond this instance (ENC-04).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerGuard {
    /// The longest ledger a backup record or the targets' copy mentions
    /// ([`crate::sync_shred_ledger`]): the local ledger must be at least this long.
    pub longest_known: u64,
    /// Restore even when the local ledger is shorter than the longest known one. People
    /// erased since then come back: only for a ledger lost for good, on the operator's word.
    pub bring_back_erased_people: bool,
}

/// Restores the backup in the local file `object` (opened with `identity`) into `app`'s
/// database and file store, or only reports what it would do when `dry_run`. `work` is a
/// scratch directory. The local shred ledger must be as long as the longest `guard` knows of.
#[allow(clippy::too_many_arguments)]
pub async fn restore(
    app: &App,
    database_url: &str,
    object: &Path,
    identity: age::x25519::Identity,
    scope: &RestoreScope,
    dry_run: bool,
    work: &Path,
    guard: &LedgerGuard,
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
        check_ledger(app, &scratch.extracted.manifest, guard).await?;
        // ENC-04: what was erased since the backup is erased from the copy before anything
        // is copied from it.
        scrub_erased(app, &scratch.store, &mut plan).await?;
        apply(app, &scratch, scope, dry_run, &mut plan).await?;
        Ok::<_, BackupError>(plan)
    }
    .await;
    scratch.remove().await;
    result
}

/// Refuses a restore when the shred ledger here lists fewer destroyed keys than the backup,
/// this database's count, a backup record or the targets' copy say were destroyed: a missing
/// or older ledger would bring erased people back. Only the operator's explicit word
/// ([`LedgerGuard::bring_back_erased_people`]) overrides it, loudly.
async fn check_ledger(
    app: &App,
    manifest: &crate::Manifest,
    guard: &LedgerGuard,
) -> BackupResult<()> {
    let here = app.keyring().shredded_keys()?.len() as u64;
    let counted = app.store().read().await?.shredded_count().await?;
    let expected = manifest
        .shred_ledger_entries
        .max(counted)
        .max(guard.longest_known);
    if here < expected {
        if guard.bring_back_erased_people {
            tracing::error!(
                here,
                expected,
                "restoring with a shred ledger shorter than the longest known one, on the operator's word: \
                 people erased since may come back"
            );
            return Ok(());
        }
        return Err(BackupError::Refused(format!(
            "the shred ledger here lists {here} destroyed keys, but {expected} were destroyed (by the backup's, this database's \
             and the backup targets' records): restore the ledger file (keys.shred_ledger_file) first, or people erased since \
             would come back. If it is lost for good, --bring-back-erased-people restores anyway"
        )));
    }
    Ok(())
}

/// Applies to the restored copy every erasure the shred ledger records (see
/// [`ideaweave_app::reapply_erasures`]); its files are not in the file store yet, so none are
/// removed here.
async fn scrub_erased(
    app: &App,
    copy: &ideaweave_store::Store,
    plan: &mut RestorePlan,
) -> BackupResult<()> {
    let done = ideaweave_app::reapply_erasures(app.keyring(), copy, None, app.now_ms()).await?;
    plan.deleted_workspaces = done.deleted_workspaces;
    plan.erased_people = done.erased_people;
    plan.erased_accounts = done.erased_accounts;
    plan.erased_keys = done.erased_keys;
    Ok(())
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
    let workspace = match scope {
        RestoreScope::Instance => None,
        RestoreScope::Workspace(slug) => {
            if plan.deleted_workspaces.iter().any(|s| s == slug) {
                return Err(BackupError::Refused(format!(
                    "the workspace {slug:?} was deleted after this backup and its keys destroyed (see the shred ledger): \
                     a backup cannot bring it back (ENC-04)"
                )));
            }
            let mut tx = live.begin_restore(source).await?;
            let id = tx.source_workspace(source, slug).await?.ok_or_else(|| {
                BackupError::Refused(format!("the backup has no workspace {slug:?}"))
            })?;
            if let Some(other) = tx.workspace_by_slug(slug).await?
                && other.id.0 != id
            {
                return Err(BackupError::Refused(format!(
                    "another workspace now uses the address {slug:?}: rename it before restoring this one"
                )));
            }
            drop(tx);
            Some(id)
        }
    };
    // The plan, from a transaction that changes nothing.
    let mut tx = live.begin_restore(source).await?;
    let live_history = tx.audit_head().await?.size;
    plan.journals_from_backup = workspace.is_none() && live_history == 0;
    if workspace.is_none() && live_history > 0 {
        let mine = tx.instance_key("audit-signing").await?.map(|k| k.id);
        let theirs = scratch
            .store
            .read()
            .await?
            .instance_key("audit-signing")
            .await?
            .map(|k| k.id);
        if mine != theirs {
            return Err(BackupError::Refused(format!(
                "this instance has a history of its own ({live_history} audit entries) and was not the one this backup was taken of: \
                 restore it into the instance it came from, or into an empty database"
            )));
        }
    }
    let tables: Vec<TableInfo> = tx
        .tables_in_dependency_order()
        .await?
        .into_iter()
        .filter(|t| !ALWAYS_LIVE.contains(&t.name.as_str()))
        .filter(|t| plan.journals_from_backup || !JOURNALS.contains(&t.name.as_str()))
        .filter(|t| match workspace {
            None => true,
            Some(_) => t.is_workspace_data() || t.name == "workspaces",
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
    let in_scope = |(w, _): &(uuid::Uuid, uuid::Uuid)| workspace.is_none_or(|ws| ws == *w);
    let key = |(w, i): (uuid::Uuid, uuid::Uuid)| format!("{w}/{i}");
    let live_files: Vec<String> = tx
        .stored_file_keys()
        .await?
        .into_iter()
        .filter(in_scope)
        .map(key)
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
    drop(tx);
    plan.former_members = missing_users.len();
    // The files the restored rows name, and where the backup has them.
    let named: HashSet<String> = scratch
        .store
        .read()
        .await?
        .stored_file_keys()
        .await?
        .into_iter()
        .filter(in_scope)
        .map(key)
        .collect();
    let backup_files: Vec<&(String, std::path::PathBuf)> = scratch
        .extracted
        .files
        .iter()
        .filter(|(k, _)| named.contains(k))
        .collect();
    plan.files = backup_files.len() as u64;
    let stale: Vec<&String> = live_files.iter().filter(|k| !named.contains(*k)).collect();
    plan.files_removed = stale.len() as u64;
    if dry_run {
        return Ok(());
    }
    // Files first, outside the transaction (writers are not held up while they are copied):
    // the rows committed next never name a file that is not there. Files this restore added
    // are removed again if the rows do not commit.
    let existing: HashSet<&str> = live_files.iter().map(String::as_str).collect();
    let mut added: Vec<&str> = Vec::new();
    let copied = async {
        for (key, path) in &backup_files {
            put_file(app, key, path).await?;
            if !existing.contains(key.as_str()) {
                added.push(key);
            }
        }
        let mut tx = live.begin_restore(source).await?;
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
        Ok::<(), BackupError>(())
    }
    .await;
    if let Err(e) = copied {
        for key in added {
            let _ = app.files().delete(key).await;
        }
        return Err(e);
    }
    for key in stale
        .iter()
        .flat_map(|k| ideaweave_app::attachment_objects(k))
    {
        if let Err(e) = app.files().delete(&key).await {
            tracing::warn!(error = %e, key, "could not remove a file the restored rows no longer name");
        }
    }
    plan.applied = true;
    // The rows are committed: what follows is recorded, not undone, when it fails.
    // The stored search indexes are of another time than the rows now (COL-05): rebuilt from
    // the rows, and searched by no one until then.
    let forgotten = async {
        let mut tx = live.begin().await?;
        tx.forget_search_manifests(workspace).await?;
        tx.commit().await
    };
    if let Err(e) = forgotten.await {
        tracing::error!(error = %e, "could not set the search indexes to be rebuilt after the restore");
    }
    if let Err(e) = app.keyring().reload_audit_mac_key(live, app.now_ms()).await {
        tracing::error!(error = %e, "could not reload the audit log's key after the restore");
    }
    // Whatever else the ledger lists (for example in journals taken from the backup).
    if let Err(e) = app.keyring().apply_ledger(live).await {
        tracing::error!(error = %e, "could not apply the shred ledger after the restore; the next start does");
    }
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
            "erased_people": plan.erased_people,
            "erased_accounts": plan.erased_accounts,
        }),
    )
    .await
    .map(|_| ())
    .or_else(|e| {
        tracing::error!(error = %e, "the restore is done but could not be recorded in the audit log");
        Ok(())
    })
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
