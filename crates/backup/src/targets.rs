//! Backup targets: a local directory or S3-compatible storage, through one interface
//! (`object_store`), so that both are written, listed, read back and pruned the same way.

use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::archive::hex;
use crate::settings::TargetSpec;
use crate::{BackupError, BackupResult};

/// What is stored beside each backup (`<name>.json`): its size, digests and verification, in
/// clear (no content), so that `backup list` works without decrypting anything.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sidecar {
    /// The backup's id.
    pub id: String,
    /// When its snapshot was taken (Unix ms).
    pub created_at_ms: i64,
    /// The object's size.
    pub bytes: u64,
    /// The object's SHA-256, hex.
    pub sha256: String,
    /// The content digest the trial restore reproduced.
    pub content_digest: String,
    /// Whether the trial restore succeeded.
    pub verified: bool,
    /// When it was verified (Unix ms).
    pub verified_at_ms: i64,
    /// What the verification found.
    pub detail: String,
    /// How many destroyed keys the shred ledger listed when the backup was taken: a restore
    /// of any backup needs a ledger at least as long as the longest such record (ENC-04).
    #[serde(default)]
    pub shred_ledger_entries: u64,
    /// The record's MAC under a key derived from the master key (`v<version>:<hex>`), so that
    /// an edited record is noticed (BAK-04). Empty on records written before it existed.
    #[serde(default)]
    pub mac: String,
}

/// One backup found in a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupListing {
    /// The object's name.
    pub name: String,
    /// Its size as stored.
    pub bytes: u64,
    /// Its record, when it has one (a backup without one never finished, or its record was
    /// deleted).
    pub sidecar: Option<Sidecar>,
    /// Whether it has a record that does not parse, or (in `Backups::list`) was altered: never
    /// pruned as unfinished.
    pub sidecar_unreadable: bool,
}

struct Target {
    spec: TargetSpec,
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

impl Target {
    fn path(&self, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }

    fn err(&self, e: impl std::fmt::Display) -> BackupError {
        BackupError::Target {
            target: self.spec.to_string(),
            message: e.to_string(),
        }
    }
}

/// The configured targets.
pub struct Targets {
    list: Vec<Target>,
}

/// Upload part size: large enough for S3's 5 MiB minimum.
const PART: usize = 8 << 20;

/// Whether `name` is a backup object's name (`ideaweave-…​.age`).
pub(crate) fn is_backup_name(name: &str) -> bool {
    name.starts_with("ideaweave-")
        && name.ends_with(".age")
        && name.len() < 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

impl Targets {
    /// Opens the targets (creating local directories).
    pub fn open(specs: &[TargetSpec]) -> BackupResult<Self> {
        let mut list = Vec::new();
        for spec in specs {
            let (store, prefix): (Arc<dyn ObjectStore>, String) = match spec {
                TargetSpec::Dir(dir) => {
                    std::fs::create_dir_all(dir).map_err(|e| BackupError::Target {
                        target: spec.to_string(),
                        message: format!("cannot create the directory: {e}"),
                    })?;
                    let fs = object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(
                        |e| BackupError::Target {
                            target: spec.to_string(),
                            message: e.to_string(),
                        },
                    )?;
                    (Arc::new(fs), String::new())
                }
                TargetSpec::S3(location) => {
                    let s3 = location.connect().map_err(|e| BackupError::Target {
                        target: spec.to_string(),
                        message: e.to_string(),
                    })?;
                    (s3, location.prefix.clone())
                }
            };
            list.push(Target {
                spec: spec.clone(),
                store,
                prefix,
            });
        }
        if list.is_empty() {
            return Err(BackupError::NotConfigured);
        }
        Ok(Self { list })
    }

    /// The targets, in words.
    pub fn describe(&self) -> String {
        self.list
            .iter()
            .map(|t| t.spec.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Copies the local file `local` to every target as `name`. An object appears under its
    /// name only once it is complete (a local directory writes a temporary file and renames
    /// it; S3 completes a multipart upload).
    pub async fn upload(&self, local: &Path, name: &str) -> BackupResult<()> {
        for t in &self.list {
            let mut f = tokio::fs::File::open(local)
                .await
                .map_err(BackupError::io(format!("cannot read {}", local.display())))?;
            let upload = t
                .store
                .put_multipart(&t.path(name))
                .await
                .map_err(|e| t.err(e))?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f
                    .read(&mut buf)
                    .await
                    .map_err(BackupError::io(format!("cannot read {}", local.display())))?;
                if n == 0 {
                    break;
                }
                w.wait_for_capacity(4).await.map_err(|e| t.err(e))?;
                w.write(&buf[..n]);
            }
            w.finish().await.map_err(|e| t.err(e))?;
        }
        Ok(())
    }

    /// Checks that every target holds `name` whole (its size); the first is also read back
    /// and verified by a trial restore.
    pub(crate) async fn check_sizes(&self, name: &str, bytes: u64) -> BackupResult<()> {
        for t in &self.list {
            let meta = t.store.head(&t.path(name)).await.map_err(|e| t.err(e))?;
            if meta.size != bytes {
                return Err(t.err(format!(
                    "holds {} bytes of {name}; {bytes} were written",
                    meta.size
                )));
            }
        }
        Ok(())
    }

    /// Stores a small object (a sidecar) in every target.
    pub(crate) async fn put_sidecar(&self, name: &str, sidecar: &Sidecar) -> BackupResult<()> {
        let data = serde_json::to_vec_pretty(sidecar)
            .map_err(|e| BackupError::Config(format!("sidecar: {e}")))?;
        for t in &self.list {
            t.store
                .put(
                    &t.path(&format!("{name}.json")),
                    PutPayload::from(data.clone()),
                )
                .await
                .map_err(|e| t.err(e))?;
        }
        Ok(())
    }

    /// Stores the small object `name` in every target.
    pub(crate) async fn put_all(&self, name: &str, data: Vec<u8>) -> BackupResult<()> {
        for t in &self.list {
            t.store
                .put(&t.path(name), PutPayload::from(data.clone()))
                .await
                .map_err(|e| t.err(e))?;
        }
        Ok(())
    }

    /// The small object `name` from every target that has it, with the target's description.
    pub(crate) async fn get_all(&self, name: &str) -> BackupResult<Vec<(String, bytes::Bytes)>> {
        let mut out = Vec::new();
        for t in &self.list {
            match t.store.get(&t.path(name)).await {
                Ok(got) => out.push((t.spec.to_string(), got.bytes().await.map_err(|e| t.err(e))?)),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(t.err(e)),
            }
        }
        Ok(out)
    }

    /// The record of `name` in the first target: `None` when it has none.
    pub(crate) async fn sidecar(&self, name: &str) -> BackupResult<Option<Sidecar>> {
        let t = &self.list[0];
        match t.store.get(&t.path(&format!("{name}.json"))).await {
            Ok(got) => {
                let data = got.bytes().await.map_err(|e| t.err(e))?;
                serde_json::from_slice(&data).map(Some).map_err(|e| {
                    BackupError::Corrupt(format!("the record of {name} is not readable: {e}"))
                })
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(t.err(e)),
        }
    }

    /// Downloads `name` from the first target into `to`; returns its size and SHA-256.
    pub async fn download(&self, name: &str, to: &Path) -> BackupResult<(u64, String)> {
        let t = &self.list[0];
        let got = t.store.get(&t.path(name)).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => {
                BackupError::Missing(name.to_owned(), t.spec.to_string())
            }
            other => t.err(other),
        })?;
        let mut stream = got.into_stream();
        let mut f = tokio::fs::File::create(to)
            .await
            .map_err(BackupError::io(format!("cannot write {}", to.display())))?;
        let mut hash = Sha256::new();
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| t.err(e))?;
            hash.update(&chunk);
            n += chunk.len() as u64;
            f.write_all(&chunk)
                .await
                .map_err(BackupError::io(format!("cannot write {}", to.display())))?;
        }
        f.flush()
            .await
            .map_err(BackupError::io(format!("cannot write {}", to.display())))?;
        Ok((n, hex(&hash.finalize())))
    }

    /// The backups in the first target, oldest first, with their records.
    pub async fn list(&self) -> BackupResult<Vec<BackupListing>> {
        let t = &self.list[0];
        let prefix = (!t.prefix.is_empty()).then(|| ObjectPath::from(t.prefix.as_str()));
        let mut objects = t.store.list(prefix.as_ref());
        let mut found = Vec::new();
        while let Some(meta) = objects.next().await {
            let meta = meta.map_err(|e| t.err(e))?;
            let Some(name) = meta.location.filename().map(str::to_owned) else {
                continue;
            };
            if is_backup_name(&name) {
                found.push((name, meta.size));
            }
        }
        found.sort();
        let mut out = Vec::new();
        for (name, bytes) in found {
            let (sidecar, sidecar_unreadable) =
                match t.store.get(&t.path(&format!("{name}.json"))).await {
                    Ok(got) => {
                        let data = got.bytes().await.map_err(|e| t.err(e))?;
                        match serde_json::from_slice(&data) {
                            Ok(s) => (Some(s), false),
                            Err(_) => (None, true),
                        }
                    }
                    Err(object_store::Error::NotFound { .. }) => (None, false),
                    Err(e) => return Err(t.err(e)),
                };
            out.push(BackupListing {
                name,
                bytes,
                sidecar,
                sidecar_unreadable,
            });
        }
        Ok(out)
    }

    /// Deletes `name` and its record from every target.
    pub async fn delete(&self, name: &str) -> BackupResult<()> {
        for t in &self.list {
            for n in [name.to_owned(), format!("{name}.json")] {
                match t.store.delete(&t.path(&n)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(t.err(e)),
                }
            }
        }
        Ok(())
    }
}
