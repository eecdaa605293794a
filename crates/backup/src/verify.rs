//! Verification by trial restore (BAK-04): the object is read back from the target, decrypted
//! with the instance's identity, unpacked with every entry checked against its recorded digest,
//! restored into a scratch database (a file for SQLite, a schema for PostgreSQL), and its
//! content digest, files and audit log are checked against what was recorded at backup time.

use std::path::{Path, PathBuf};

use ideaweave_app::App;
use ideaweave_store::{DatabaseKind, RestoreSource, Store};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::archive::{Extracted, FilesDigest, Manifest, content_digest, extract, hex};
use crate::take::rfc3339;
use crate::{BackupError, BackupResult, Backups};

/// What a trial restore found (all of it matched, or it is an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The content digest the restored copy has.
    pub content_digest: String,
    /// When the backup's snapshot was taken.
    pub created_at_ms: i64,
    /// Rows restored.
    pub rows: u64,
    /// Files restored.
    pub files: u64,
    /// Audit log entries verified.
    pub audit_entries: u64,
    /// The backup's schema version.
    pub schema_version: i64,
}

impl Verification {
    /// One line for records and listings.
    pub fn summary(&self) -> String {
        format!(
            "trial restore ok: {} rows, {} files, audit log of {} entries verifies, content digest {}",
            self.rows,
            self.files,
            self.audit_entries,
            self.content_digest
                .get(..16)
                .unwrap_or(&self.content_digest)
        )
    }
}

/// A backup restored into a scratch location.
pub(crate) struct Scratch {
    pub store: Store,
    pub source: RestoreSource,
    pub extracted: Extracted,
    pg_schema: Option<(String, String)>,
}

impl Scratch {
    /// Closes and removes the scratch database.
    pub(crate) async fn remove(self) {
        self.store.close().await;
        if let Some((url, schema)) = &self.pg_schema
            && let Err(e) = Store::drop_postgres_schema(url, schema).await
        {
            tracing::warn!(error = %e, schema, "could not drop a scratch schema");
        }
    }
}

/// Decrypts and unpacks `object` under `dir`, then restores its database into a scratch
/// location beside the live one (`live` says which kind; `database_url` where PostgreSQL
/// scratch schemas go).
pub(crate) async fn open_scratch(
    live: &Store,
    database_url: &str,
    object: &Path,
    identity: age::x25519::Identity,
    dir: &Path,
) -> BackupResult<Scratch> {
    let into = dir.join("unpacked");
    // Decrypted copies: for this user only.
    ideaweave_store::create_private_dir(dir)
        .and_then(|()| ideaweave_store::create_private_dir(&into))
        .map_err(BackupError::io(format!("cannot create {}", into.display())))?;
    let known = live
        .migration_state()
        .await?
        .migrations
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
    let kind = live.kind();
    let live_kind = match kind {
        DatabaseKind::Sqlite => "sqlite",
        DatabaseKind::Postgres => "postgres",
    };
    // Checked as soon as backup.json is read, before anything else is unpacked.
    let compatible = move |m: &Manifest| {
        if m.schema_version > known {
            return Err(BackupError::Incompatible(format!(
                "this backup was taken by a newer release ({}, schema {}); this program knows schema {known} at most: restore it with that release",
                m.program_version, m.schema_version
            )));
        }
        if m.database != live_kind {
            return Err(BackupError::Incompatible(format!(
                "this backup is of a {} database; this instance uses {}: a backup restores into the kind of database it was taken from",
                m.database,
                match kind {
                    DatabaseKind::Sqlite => "SQLite",
                    DatabaseKind::Postgres => "PostgreSQL",
                }
            )));
        }
        Ok(())
    };
    let object = object.to_owned();
    let unpack_into = into.clone();
    let extracted =
        tokio::task::spawn_blocking(move || extract(&object, &identity, &unpack_into, &compatible))
            .await
            .map_err(|e| BackupError::Config(format!("the unpacking stopped: {e}")))??;
    match (kind, extracted.manifest.database.as_str()) {
        (DatabaseKind::Sqlite, "sqlite") => {
            let file = extracted
                .sqlite
                .clone()
                .ok_or_else(|| BackupError::Corrupt("it holds no database file".into()))?;
            let store = Store::open_sqlite_copy(&file).await?;
            let problems = store.integrity_problems().await?;
            if !problems.is_empty() {
                store.close().await;
                return Err(BackupError::Verification(format!(
                    "the restored database is not sound: {}",
                    problems.join("; ")
                )));
            }
            Ok(Scratch {
                store,
                source: RestoreSource::SqliteFile(file),
                extracted,
                pg_schema: None,
            })
        }
        (DatabaseKind::Postgres, "postgres") => {
            // A name of its own: a verification and a restore of the same backup may run at once.
            let schema = format!("iw_restore_{}", uuid::Uuid::now_v7().simple());
            Store::drop_postgres_schema(database_url, &schema).await?;
            let store = Store::create_postgres_schema(database_url, &schema).await?;
            let scratch = Scratch {
                store,
                source: RestoreSource::PostgresSchema(schema.clone()),
                extracted,
                pg_schema: Some((database_url.to_owned(), schema)),
            };
            match load_postgres(&scratch).await {
                Ok(()) => Ok(scratch),
                Err(e) => {
                    scratch.remove().await;
                    Err(e)
                }
            }
        }
        (_, other) => Err(BackupError::Incompatible(format!(
            "this backup is of a {other} database; this instance uses {}: a backup restores into the kind of database it was taken from",
            match kind {
                DatabaseKind::Sqlite => "SQLite",
                DatabaseKind::Postgres => "PostgreSQL",
            }
        ))),
    }
}

/// Creates the backup's schema version in the scratch schema and loads the dumped rows.
async fn load_postgres(scratch: &Scratch) -> BackupResult<()> {
    let version = scratch.extracted.manifest.schema_version;
    scratch.store.migrate_to(version).await?;
    let mut tx = scratch.store.begin().await?;
    for (table, path) in &scratch.extracted.pg_chunks {
        let text = tokio::fs::read_to_string(path)
            .await
            .map_err(BackupError::io(format!("cannot read {}", path.display())))?;
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        for batch in lines.chunks(2000) {
            tx.stage_rows(table, batch).await?;
        }
    }
    tx.load_staged_rows()
        .await
        .map_err(|e| BackupError::Verification(format!("the dumped rows do not restore: {e}")))?;
    tx.commit().await?;
    Ok(())
}

/// Checks the scratch copy against the trailer: database digest, files, audit log.
pub(crate) async fn check_scratch(app: &App, scratch: &Scratch) -> BackupResult<Verification> {
    let trailer = &scratch.extracted.trailer;
    let digest = scratch.store.read().await?.content_digest().await?;
    if digest.sha256 != trailer.database_digest {
        let differing = digest
            .tables
            .iter()
            .find(|(t, d)| trailer.tables.get(t) != Some(d))
            .map(|(t, _)| format!(" (table {t} differs)"))
            .unwrap_or_default();
        return Err(BackupError::Verification(format!(
            "the restored database's digest {} differs from the one recorded at backup time, {}{differing}",
            digest.sha256, trailer.database_digest
        )));
    }
    let mut files: Vec<&(String, PathBuf)> = scratch.extracted.files.iter().collect();
    files.sort();
    let mut fd = FilesDigest::default();
    for (key, path) in &files {
        let (bytes, sha) = file_digest(path).await?;
        fd.add(key, bytes, &sha);
    }
    let files_digest = fd.finish();
    if files_digest != trailer.files_digest {
        return Err(BackupError::Verification(
            "the restored files differ from those recorded at backup time".into(),
        ));
    }
    let content = content_digest(&digest.sha256, &files_digest);
    if content != trailer.content_digest {
        return Err(BackupError::Verification(
            "the content digest does not match the recorded one".into(),
        ));
    }
    let scratch_app = app.with_store(scratch.store.clone());
    let key = app
        .keyring()
        .audit_verifier_key_in(&scratch.store, app.now_ms())
        .await?;
    let report = scratch_app
        .verify_audit(None, Some(&key), &|_, _| {})
        .await
        .map_err(|e| BackupError::Verification(format!("the audit log does not verify: {e}")))?;
    if let Some(p) = report.problem {
        return Err(BackupError::Verification(format!(
            "the audit log does not verify at index {}: {}",
            p.index, p.what
        )));
    }
    if report.entries != trailer.audit_entries {
        return Err(BackupError::Verification(format!(
            "the audit log holds {} entries; {} were recorded",
            report.entries, trailer.audit_entries
        )));
    }
    Ok(Verification {
        content_digest: content,
        created_at_ms: scratch.extracted.manifest.created_at_ms,
        rows: digest.total_rows(),
        files: files.len() as u64,
        audit_entries: report.entries,
        schema_version: scratch.extracted.manifest.schema_version,
    })
}

async fn file_digest(path: &Path) -> BackupResult<(u64, String)> {
    let mut f = tokio::fs::File::open(path)
        .await
        .map_err(BackupError::io(format!("cannot read {}", path.display())))?;
    let mut hash = Sha256::new();
    let mut n = 0u64;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let got = f
            .read(&mut buf)
            .await
            .map_err(BackupError::io(format!("cannot read {}", path.display())))?;
        if got == 0 {
            break;
        }
        hash.update(&buf[..got]);
        n += got as u64;
    }
    Ok((n, hex(&hash.finalize())))
}

impl Backups {
    /// Verifies the backup `name` again: its record must be there and carry this instance's
    /// MAC (an edited or deleted record is what `backup list` also shows as a problem), the
    /// object must have the size and SHA-256 the record gives, and a trial restore (of the copy
    /// in the first target) must reproduce the recorded content digest.
    pub async fn verify(&self, name: &str) -> BackupResult<Verification> {
        let identity = self.identity().await?;
        let Some(record) = self.targets.sidecar(name).await? else {
            return Err(BackupError::Corrupt(format!(
                "{name} has no record ({name}.json): the backup never finished, or its record was deleted;                  it does not count as a backup"
            )));
        };
        if !crate::ledger_copy::record_is_authentic(self.app.keyring(), &record)? {
            return Err(BackupError::Corrupt(format!(
                "the record {name}.json was altered (its MAC does not match): its size, digests and verification cannot be trusted"
            )));
        }
        let dir = self
            .settings
            .staging_dir
            .join(format!("verify-{}", uuid::Uuid::now_v7().simple()));
        let result = async {
            let v = self
                .verify_object(name, Some(&record.sha256), &dir, &identity)
                .await?;
            if v.content_digest != record.content_digest {
                return Err(BackupError::Verification(format!(
                    "the restored content digest {} differs from the record's, {}",
                    v.content_digest, record.content_digest
                )));
            }
            Ok(v)
        }
        .await;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        result
    }

    /// Downloads `name`, checks its SHA-256 against `expected` (the digest of what was
    /// uploaded), and verifies it by a trial restore in `dir`.
    pub(crate) async fn verify_object(
        &self,
        name: &str,
        expected: Option<&str>,
        dir: &Path,
        identity: &age::x25519::Identity,
    ) -> BackupResult<Verification> {
        ideaweave_store::create_private_dir(dir)
            .map_err(BackupError::io(format!("cannot create {}", dir.display())))?;
        let object = dir.join("object.age");
        let (_, sha) = self.targets.download(name, &object).await?;
        if let Some(expected) = expected
            && sha != expected
        {
            return Err(BackupError::Corrupt(format!(
                "the stored object's SHA-256 {sha} differs from what was written, {expected}"
            )));
        }
        let scratch = open_scratch(
            self.app.store(),
            &self.settings.database_url,
            &object,
            identity.clone(),
            dir,
        )
        .await?;
        let result = check_scratch(&self.app, &scratch).await;
        scratch.remove().await;
        let v = result?;
        tracing::info!(backup = name, taken = %rfc3339(v.created_at_ms), "{}", v.summary());
        Ok(v)
    }
}
