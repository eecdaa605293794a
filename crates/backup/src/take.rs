//! Taking a backup (BAK-01, BAK-02): claim, snapshot, encrypt, upload, verify, record, prune.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ideaweave_app::{App, AuditAction};
use ideaweave_store::{BackupOutcome, ContentHasher, DatabaseKind, Store};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::archive::{
    FilesDigest, Item, Manifest, Trailer, Written, content_digest, hex, spawn_writer,
};
use crate::monitor::{Alert, send_alert};
use crate::retention::select_expired;
use crate::settings::{BackupSettings, instance_identity};
use crate::targets::{Sidecar, Targets};
use crate::verify::Verification;
use crate::{BACKUP_FORMAT, BackupError, BackupResult};

/// How long a backup's claim lasts without renewal; renewed every [`LEASE_MS`]/4.
const LEASE_MS: i64 = 10 * 60 * 1000;
/// PostgreSQL rows per chunk file, at most (and at most 8 MiB).
const CHUNK_BYTES: usize = 8 << 20;

/// What a finished backup reports.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// Its id.
    pub id: String,
    /// Its object's name.
    pub name: String,
    /// The object's size.
    pub bytes: u64,
    /// The object's SHA-256.
    pub sha256: String,
    /// The content digest, reproduced by the trial restore.
    pub content_digest: String,
    /// Rows backed up.
    pub rows: u64,
    /// Files backed up.
    pub files: u64,
    /// The trial restore's findings.
    pub verification: Verification,
    /// Backups the retention settings removed afterwards.
    pub pruned: Vec<String>,
}

/// The backups of one instance: takes, verifies, lists and prunes them.
pub struct Backups {
    pub(crate) app: App,
    pub(crate) settings: BackupSettings,
    pub(crate) targets: Targets,
}

/// `host:pid` of this process.
/// This process, as `host:pid`: what holds a backup's claim or a serving node's lease.
pub fn this_holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// Whether the process named by `holder` is known to be gone: on this host, and no such pid.
pub fn holder_is_dead(holder: &str) -> bool {
    let Some((host, pid)) = holder.rsplit_once(':') else {
        return false;
    };
    let mine = this_holder();
    let Some((my_host, _)) = mine.rsplit_once(':') else {
        return false;
    };
    // Without /proc nothing is known, and the lease decides.
    Path::new("/proc/self").exists()
        && host == my_host
        && pid.parse::<u32>().is_ok()
        && !Path::new("/proc").join(pid).exists()
}

/// A name that sorts by time: `ideaweave-20261124T170000Z-0193a1b2.age`.
fn object_name(id: &str, at_ms: i64) -> String {
    let when = chrono::DateTime::from_timestamp_millis(at_ms)
        .map(|t| t.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|| "00000000T000000Z".into());
    format!(
        "ideaweave-{when}-{}.age",
        &id[id.len().saturating_sub(12)..]
    )
}

/// When a backup was taken, from its object's name.
pub(crate) fn name_time(name: &str) -> Option<i64> {
    let stamp = name.strip_prefix("ideaweave-")?.get(..16)?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

impl Backups {
    /// The backups of `app` as `settings` describe them (the targets are opened, not yet
    /// contacted).
    pub fn new(app: App, settings: BackupSettings) -> BackupResult<Self> {
        if settings.recipients.is_empty() {
            return Err(BackupError::NotConfigured);
        }
        let targets = Targets::open(&settings.targets)?;
        Ok(Self {
            app,
            settings,
            targets,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &BackupSettings {
        &self.settings
    }

    /// The targets.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// The application backed up.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// This instance's backup identity (it verifies backups with it).
    pub(crate) async fn identity(&self) -> BackupResult<age::x25519::Identity> {
        let seed = self
            .app
            .keyring()
            .backup_identity_seed(self.app.store(), self.app.now_ms())
            .await?;
        instance_identity(&seed)
    }

    /// Takes a backup now, verifies it by a trial restore, records the outcome, and prunes
    /// what the retention settings no longer keep. A failure at any step is recorded as a
    /// failed backup, raises an alert, and is returned.
    pub async fn run(&self, progress: &(dyn Fn(&str) + Sync)) -> BackupResult<BackupReport> {
        let now = self.app.now_ms();
        let id = uuid::Uuid::now_v7().simple().to_string();
        let holder = this_holder();
        let mut tx = self.app.store().begin().await?;
        let abandoned = tx.fail_abandoned_backup_runs(now, &holder_is_dead).await?;
        let claimed = tx
            .claim_backup_run(&id, &holder, now, now + LEASE_MS)
            .await?;
        let running = if claimed {
            None
        } else {
            tx.backup_runs(5)
                .await?
                .into_iter()
                .find(|r| r.state == "running")
        };
        tx.commit().await?;
        for gone in &abandoned {
            let alert = Alert::failed(
                gone,
                "it was interrupted: the process taking it stopped before it finished",
            );
            send_alert(&self.app, &self.settings, &alert).await;
        }
        if !claimed {
            return Err(BackupError::Busy(
                running
                    .map(|r| format!("{} by {}", rfc3339(r.started_at), r.holder))
                    .unwrap_or_default(),
            ));
        }
        let stage = self.settings.staging_dir.join(&id);
        self.clear_staging(&id).await;
        let lease = self.keep_lease(id.clone());
        let result = async {
            ideaweave_store::create_private_dir(&self.settings.staging_dir)
                .and_then(|()| ideaweave_store::create_private_dir(&stage))
                .map_err(BackupError::io(format!(
                    "cannot create {}",
                    stage.display()
                )))?;
            self.take_verify_and_record(&id, now, &stage, progress)
                .await
        }
        .await;
        lease.abort();
        let _ = tokio::fs::remove_dir_all(&stage).await;
        match result {
            Ok(mut report) => {
                progress("pruning old backups");
                match self.prune().await {
                    Ok(p) => report.pruned = p,
                    Err(e) => tracing::error!(error = %e, "could not prune old backups"),
                }
                Ok(report)
            }
            Err(e) => {
                let message = e.to_string();
                tracing::error!(backup = %id, error = %message, "backup failed");
                let outcome = BackupOutcome {
                    state: "failed",
                    object: None,
                    bytes: None,
                    sha256: None,
                    content_digest: None,
                    detail: message.clone(),
                };
                send_alert(&self.app, &self.settings, &Alert::failed(&id, &message)).await;
                let recorded = async {
                    let mut tx = self.app.store().begin().await?;
                    tx.finish_backup_run(&id, self.app.now_ms(), &outcome)
                        .await?;
                    tx.commit().await?;
                    self.app
                        .audit_backup(
                            AuditAction::BackupFailed,
                            None,
                            serde_json::json!({ "backup": id, "error": message }),
                        )
                        .await?;
                    Ok::<(), BackupError>(())
                }
                .await;
                if let Err(r) = recorded {
                    tracing::error!(error = %r, "could not record the failed backup");
                }
                Err(e)
            }
        }
    }

    /// Deletes the backups the retention settings no longer keep (from every target), and
    /// objects without a record that are older than a day (uploads that never finished
    /// verification). The newest verified backup is always kept.
    pub async fn prune(&self) -> BackupResult<Vec<String>> {
        let now = self.app.now_ms();
        // Only records that carry this instance's MAC count: an edited record must not make
        // a good backup look expired or unfinished.
        let listed = self.list().await?;
        let verified: Vec<(String, i64)> = listed
            .iter()
            .filter_map(|b| {
                b.sidecar
                    .as_ref()
                    .filter(|s| s.verified)
                    .map(|s| (b.name.clone(), s.created_at_ms))
            })
            .collect();
        let mut gone = select_expired(&verified, now, &self.settings.retention);
        for b in &listed {
            let unverified =
                !b.sidecar_unreadable && b.sidecar.as_ref().is_none_or(|s| !s.verified);
            if unverified && name_time(&b.name).is_some_and(|t| now - t > 86_400_000) {
                gone.push(b.name.clone());
            }
        }
        for name in &gone {
            self.targets.delete(name).await?;
            tracing::info!(backup = %name, "pruned an old backup");
        }
        Ok(gone)
    }

    /// The backups in the first target, oldest first. A record that does not carry this
    /// instance's MAC is shown as unreadable, as `backup verify` would refuse it.
    pub async fn list(&self) -> BackupResult<Vec<crate::BackupListing>> {
        let mut listed = self.targets.list().await?;
        for b in &mut listed {
            if let Some(s) = &b.sidecar
                && !crate::ledger_copy::record_is_authentic(self.app.keyring(), s).unwrap_or(false)
            {
                b.sidecar = None;
                b.sidecar_unreadable = true;
            }
        }
        Ok(listed)
    }

    /// Renews the claim while the backup runs.
    fn keep_lease(&self, id: String) -> tokio::task::JoinHandle<()> {
        let app = self.app.clone();
        tokio::spawn(async move {
            let mut ticks =
                tokio::time::interval(std::time::Duration::from_millis((LEASE_MS / 4) as u64));
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let until = app.now_ms() + LEASE_MS;
                if let Ok(mut tx) = app.store().begin().await
                    && tx.extend_backup_run(&id, until).await.is_ok()
                {
                    let _ = tx.commit().await;
                }
            }
        })
    }

    /// Removes what earlier attempts left in the staging directory (an attempt killed
    /// mid-way leaves its partial object and snapshot there).
    async fn clear_staging(&self, keep: &str) {
        let Ok(mut dir) = tokio::fs::read_dir(&self.settings.staging_dir).await else {
            return;
        };
        while let Ok(Some(e)) = dir.next_entry().await {
            let name = e.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            // Only earlier backups' directories (named by their ids): a `backup verify` or a
            // restore working beside them keeps its own.
            let is_backup_id = name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit());
            // A verification or restore killed mid-way leaves decrypted copies: gone after a day.
            let stale_work = (name.starts_with("verify-") || name.starts_with("restore-"))
                && e.metadata()
                    .await
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .is_some_and(|t| {
                        t.elapsed()
                            .is_ok_and(|age| age > std::time::Duration::from_secs(86_400))
                    });
            if (is_backup_id && name != keep) || stale_work {
                let _ = tokio::fs::remove_dir_all(e.path()).await;
            }
        }
    }

    async fn take_verify_and_record(
        &self,
        id: &str,
        now: i64,
        stage: &Path,
        progress: &(dyn Fn(&str) + Sync),
    ) -> BackupResult<BackupReport> {
        let identity = self.identity().await?;
        let name = object_name(id, now);
        progress("joining the shred ledger with its copy in the targets");
        crate::ledger_copy::sync_shred_ledger(self.app.keyring(), &self.targets).await?;
        progress("taking a consistent snapshot");
        let (written, trailer) = self.write(id, now, &name, stage, &identity).await?;
        progress(&format!(
            "uploading {} ({} bytes) to {}",
            name,
            written.bytes,
            self.targets.describe()
        ));
        self.targets.upload(&written.path, &name).await?;
        self.targets.check_sizes(&name, written.bytes).await?;
        let _ = tokio::fs::remove_file(&written.path).await;
        progress("verifying by a trial restore");
        let verification = self
            .verify_object(
                &name,
                Some(&written.sha256),
                &stage.join("verify"),
                &identity,
            )
            .await?;
        if verification.content_digest != trailer.content_digest {
            return Err(BackupError::Verification(format!(
                "the restored content digest {} differs from the one recorded, {}",
                verification.content_digest, trailer.content_digest
            )));
        }
        let finished = self.app.now_ms();
        let mut sidecar = Sidecar {
            id: id.to_owned(),
            created_at_ms: now,
            bytes: written.bytes,
            sha256: written.sha256.clone(),
            content_digest: trailer.content_digest.clone(),
            verified: true,
            verified_at_ms: finished,
            detail: verification.summary(),
            shred_ledger_entries: self.app.keyring().shredded_keys()?.len() as u64,
            mac: String::new(),
        };
        crate::ledger_copy::seal_record(self.app.keyring(), &mut sidecar)?;
        self.targets.put_sidecar(&name, &sidecar).await?;
        let outcome = BackupOutcome {
            state: "verified",
            object: Some(name.clone()),
            bytes: i64::try_from(written.bytes).ok(),
            sha256: Some(written.sha256.clone()),
            content_digest: Some(trailer.content_digest.clone()),
            detail: verification.summary(),
        };
        let mut tx = self.app.store().begin().await?;
        tx.finish_backup_run(id, finished, &outcome).await?;
        tx.clear_backup_alert("failed").await?;
        tx.clear_backup_alert("missing").await?;
        tx.commit().await?;
        let rows: u64 = trailer.rows.values().sum();
        self.app
            .audit_backup(
                AuditAction::BackupCreated,
                None,
                serde_json::json!({
                    "backup": name,
                    "bytes": written.bytes,
                    "content_digest": trailer.content_digest,
                    "rows": rows,
                    "files": trailer.files,
                }),
            )
            .await?;
        tracing::info!(backup = %name, bytes = written.bytes, rows, files = trailer.files, "backup taken and verified");
        Ok(BackupReport {
            id: id.to_owned(),
            name,
            bytes: written.bytes,
            sha256: written.sha256,
            content_digest: trailer.content_digest,
            rows,
            files: trailer.files,
            verification,
            pruned: Vec::new(),
        })
    }

    /// Writes the encrypted archive into `stage`.
    async fn write(
        &self,
        id: &str,
        now: i64,
        name: &str,
        stage: &Path,
        identity: &age::x25519::Identity,
    ) -> BackupResult<(Written, Trailer)> {
        let store = self.app.store();
        let mut recipients = self.settings.recipients.clone();
        recipients.push(identity.to_public());
        let mut manifest = Manifest {
            format: BACKUP_FORMAT.into(),
            id: id.to_owned(),
            created_at_ms: now,
            created_at: rfc3339(now),
            program_version: env!("CARGO_PKG_VERSION").into(),
            database: String::new(),
            schema_version: 0,
            instance_recipient: identity.to_public().to_string(),
            shred_ledger_entries: self.app.keyring().shredded_keys()?.len() as u64,
        };
        // The database first: its snapshot decides which files belong to the backup.
        let snapshot = match store.kind() {
            DatabaseKind::Sqlite => sqlite_snapshot(store, stage).await?,
            DatabaseKind::Postgres => postgres_snapshot(store, stage).await?,
        };
        manifest.database = snapshot.database.into();
        manifest.schema_version = snapshot.schema_version;
        let (sender, writer) = spawn_writer(
            stage.join(name),
            recipients,
            u64::try_from(now / 1000).unwrap_or(0),
            self.settings.max_bytes_per_second,
        );
        let send = |item: Item| {
            let sender = sender.clone();
            async move {
                tokio::task::spawn_blocking(move || sender.send(item).is_ok())
                    .await
                    .unwrap_or(false)
            }
        };
        let mut ok = send(Item::Bytes(
            "backup.json".into(),
            serde_json::to_vec_pretty(&manifest)
                .map_err(|e| BackupError::Config(format!("manifest: {e}")))?,
        ))
        .await;
        for (path, file) in snapshot.entries {
            ok = ok && send(Item::File(path, file)).await;
        }
        let mut files = FilesDigest::default();
        let (mut count, mut file_bytes, mut gone) = (0u64, 0u64, Vec::new());
        for (n, key) in snapshot.file_keys.iter().enumerate() {
            if !ok {
                break;
            }
            let local = stage.join(format!("file-{n}"));
            match copy_stored_file(&self.app, key, &local).await? {
                Some((bytes, sha)) => {
                    files.add(key, bytes, &sha);
                    count += 1;
                    file_bytes += bytes;
                    ok = send(Item::File(format!("files/{key}"), local)).await;
                }
                None => gone.push(key.clone()),
            }
        }
        if ok && !self.settings.config_text.is_empty() {
            ok = send(Item::Bytes(
                "config.txt".into(),
                self.settings.config_text.clone().into_bytes(),
            ))
            .await;
        }
        if !gone.is_empty() {
            // A file may go between the snapshot and its copy only because its row went too
            // (an erasure, a deletion, retention); one whose row is still there is missing.
            let live: std::collections::HashSet<String> = self
                .app
                .store()
                .read()
                .await?
                .stored_file_keys()
                .await?
                .into_iter()
                .map(|(w, i)| format!("{w}/{i}"))
                .collect();
            if let Some(lost) = gone.iter().find(|k| live.contains(*k)) {
                return Err(BackupError::Io {
                    what: format!(
                        "the stored file {lost} is missing from the file store, though the database names it"
                    ),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                });
            }
        }
        let files_digest = files.finish();
        let trailer = Trailer {
            content_digest: content_digest(&snapshot.digest.sha256, &files_digest),
            database_digest: snapshot.digest.sha256.clone(),
            files_digest,
            rows: snapshot
                .digest
                .rows
                .iter()
                .cloned()
                .collect::<BTreeMap<_, _>>(),
            tables: snapshot.digest.tables.iter().cloned().collect(),
            files: count,
            file_bytes,
            files_gone: gone,
            audit_entries: snapshot.audit_entries,
            entries: Vec::new(),
        };
        if ok {
            send(Item::Finish(Box::new(trailer.clone()))).await;
        }
        drop(sender);
        let written = tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(|e| BackupError::Config(format!("the archive writer stopped: {e}")))?
            .map_err(|_| BackupError::Config("the archive writer panicked".into()))??;
        Ok((written, trailer))
    }
}

/// A consistent copy of the database in the staging directory.
struct Snapshot {
    database: &'static str,
    schema_version: i64,
    /// Archive entries: path in the archive, local file.
    entries: Vec<(String, PathBuf)>,
    digest: ideaweave_store::ContentDigest,
    file_keys: Vec<String>,
    audit_entries: u64,
}

/// SQLite: `VACUUM INTO` writes a consistent copy while the server keeps writing; the digest
/// and the list of files are read from the copy itself.
async fn sqlite_snapshot(store: &Store, stage: &Path) -> BackupResult<Snapshot> {
    let file = stage.join("snapshot.sqlite");
    store.vacuum_into(&file).await?;
    let copy = Store::open_sqlite_copy(&file).await?;
    let mut tx = copy.read().await?;
    let digest = tx.content_digest().await?;
    let schema_version = tx.schema_version().await?;
    let keys = tx.stored_file_keys().await?;
    let audit_entries = u64::try_from(tx.audit_head().await?.size).unwrap_or(0);
    drop(tx);
    copy.close().await;
    Ok(Snapshot {
        database: "sqlite",
        schema_version,
        entries: vec![("database/ideaweave.sqlite".into(), file)],
        digest,
        file_keys: keys.iter().map(|(w, i)| format!("{w}/{i}")).collect(),
        audit_entries,
    })
}

/// PostgreSQL: every table's rows read in one REPEATABLE READ snapshot, as JSON lines in
/// chunk files; the digest is computed from the same rows as they are written.
async fn postgres_snapshot(store: &Store, stage: &Path) -> BackupResult<Snapshot> {
    let mut tx = store.snapshot().await?;
    let schema_version = tx.schema_version().await?;
    let keys = tx.stored_file_keys().await?;
    let audit_entries = u64::try_from(tx.audit_head().await?.size).unwrap_or(0);
    let tables = tx.backup_tables().await?;
    let mut hasher = ContentHasher::default();
    let mut entries = Vec::new();
    for t in &tables {
        hasher.table(&t.name);
        let mut chunk = String::new();
        let mut chunks: Vec<String> = Vec::new();
        let mut n = 0usize;
        let mut write_err: Option<std::io::Error> = None;
        let dir = stage.join("pg");
        std::fs::create_dir_all(&dir)
            .map_err(BackupError::io(format!("cannot create {}", dir.display())))?;
        let mut flush = |chunk: &mut String, chunks: &mut Vec<String>, n: &mut usize| {
            let path = dir.join(format!("{}-{:06}.jsonl", t.name, *n));
            if let Err(e) = std::fs::write(&path, chunk.as_bytes()) {
                write_err.get_or_insert(e);
            }
            chunks.push(path.display().to_string());
            chunk.clear();
            *n += 1;
        };
        tx.table_rows(t, &mut |row| {
            hasher.row(row);
            chunk.push_str(row);
            chunk.push('\n');
            if chunk.len() >= CHUNK_BYTES {
                flush(&mut chunk, &mut chunks, &mut n);
            }
            Ok(())
        })
        .await?;
        if !chunk.is_empty() {
            flush(&mut chunk, &mut chunks, &mut n);
        }
        if let Some(e) = write_err {
            return Err(BackupError::Io {
                what: format!("cannot write the rows of {} to {}", t.name, dir.display()),
                source: e,
            });
        }
        for (i, c) in chunks.into_iter().enumerate() {
            entries.push((
                format!("database/postgres/{}/{i:06}.jsonl", t.name),
                PathBuf::from(c),
            ));
        }
    }
    drop(tx);
    Ok(Snapshot {
        database: "postgres",
        schema_version,
        entries,
        digest: hasher.finish(),
        file_keys: keys.iter().map(|(w, i)| format!("{w}/{i}")).collect(),
        audit_entries,
    })
}

/// Copies a stored file into `local`; returns its size and SHA-256, or `None` when it was
/// deleted after the snapshot.
async fn copy_stored_file(
    app: &App,
    key: &str,
    local: &Path,
) -> BackupResult<Option<(u64, String)>> {
    let mut reader = match app.files().open(key).await {
        Ok(r) => r,
        Err(ideaweave_store::FileStoreError::NotFound(_)) => return Ok(None),
        Err(e) => {
            return Err(BackupError::Io {
                what: format!("cannot read the stored file {key}"),
                source: std::io::Error::other(e.to_string()),
            });
        }
    };
    let mut out = tokio::fs::File::create(local)
        .await
        .map_err(BackupError::io(format!("cannot write {}", local.display())))?;
    let mut hash = Sha256::new();
    let mut n = 0u64;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let got = reader
            .read(&mut buf)
            .await
            .map_err(BackupError::io(format!(
                "cannot read the stored file {key}"
            )))?;
        if got == 0 {
            break;
        }
        hash.update(&buf[..got]);
        n += got as u64;
        out.write_all(&buf[..got])
            .await
            .map_err(BackupError::io(format!("cannot write {}", local.display())))?;
    }
    out.flush()
        .await
        .map_err(BackupError::io(format!("cannot write {}", local.display())))?;
    Ok(Some((n, hex(&hash.finalize()))))
}
