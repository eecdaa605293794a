//! Where a workspace's index lives when it is not in memory: its files, each sealed with the
//! workspace's data key, in the file store beside the attachments (so that local disk and
//! object storage work alike), and a sealed manifest in the database naming them. The
//! manifest is the commit point: files are written first, the manifest last, in the
//! transaction that also takes the indexed changes off the queue (ENC-01, COL-05).
//!
//! Opened indexes are kept in memory in a cache bounded by bytes (`search.cache_mb`), least
//! recently used first out. A node checks every few seconds whether another node committed a
//! newer generation, and reopens it when one did.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ideaweave_crypto::Place;
use ideaweave_domain::WorkspaceId;
use ideaweave_search::{IndexFile, Language, WorkspaceIndex};
use ideaweave_store::Tx;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::platform::keyring::SealingKey;
use crate::platform::sealed::{at, column};
use crate::{App, AppError, AppResult, OrInternal};

/// How often a node asks the database whether another node committed a workspace's index.
pub(crate) const FRESHNESS_MS: i64 = 2_000;
/// The index's file of segment lists, kept in the manifest instead of the file store: it
/// changes at every commit.
const META_FILE: &str = "meta.json";

/// What a stored index consists of.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Manifest {
    /// The language it was built with.
    pub language: String,
    /// The index's segment list.
    pub meta: String,
    /// Its other files, by name, with their sealed sizes.
    pub files: Vec<StoredFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredFile {
    pub name: String,
    pub sealed_bytes: u64,
}

impl Manifest {
    pub(crate) fn sealed_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.sealed_bytes).sum::<u64>() + self.meta.len() as u64
    }
}

/// The file store key of an index file: `<workspace>/search-<name, dots as hyphens>`.
pub(crate) fn object_key(ws: WorkspaceId, name: &str) -> String {
    format!("{}/search-{}", ws.0, name.replace('.', "-"))
}

/// The place an index file is sealed for: bound to its workspace and its name, so that a file
/// moved to another name or workspace does not open.
fn file_place(ws: WorkspaceId, name: &str) -> Place<'static> {
    let digest = Sha256::digest(name.as_bytes());
    let mut row = [0u8; 16];
    row.copy_from_slice(&digest[..16]);
    at(ws, column::SEARCH_INDEXES_FILE, uuid::Uuid::from_bytes(row))
}

fn manifest_place(ws: WorkspaceId) -> Place<'static> {
    at(ws, column::SEARCH_INDEXES_MANIFEST, ws.0)
}

/// A workspace's index in memory and the generation it was opened at.
pub(crate) struct OpenIndex {
    pub index: Arc<WorkspaceIndex>,
    pub manifest: Manifest,
    pub generation: i64,
}

struct Cached {
    open: Arc<OpenIndex>,
    bytes: usize,
    last_used: u64,
    checked_at_ms: i64,
}

/// The search indexes this node holds open, and a lock so that a cold index is opened once,
/// not by every search that wants it at the same moment.
pub(crate) struct SearchIndexes {
    pub cache: IndexCache,
    pub loading: tokio::sync::Mutex<()>,
}

impl SearchIndexes {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            cache: IndexCache::new(budget),
            loading: tokio::sync::Mutex::new(()),
        }
    }
}

/// Opened indexes, bounded by bytes.
pub(crate) struct IndexCache {
    budget: usize,
    entries: Mutex<(HashMap<WorkspaceId, Cached>, u64)>,
}

impl IndexCache {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            entries: Mutex::new((HashMap::new(), 0)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<WorkspaceId, Cached>, u64)> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached index of `ws` and when its generation was last checked.
    pub(crate) fn get(&self, ws: WorkspaceId) -> Option<(Arc<OpenIndex>, i64)> {
        let mut guard = self.lock();
        let (entries, tick) = &mut *guard;
        *tick += 1;
        let now = *tick;
        entries.get_mut(&ws).map(|c| {
            c.last_used = now;
            (c.open.clone(), c.checked_at_ms)
        })
    }

    /// Notes that the cached generation of `ws` was found current at `now_ms`.
    pub(crate) fn checked(&self, ws: WorkspaceId, now_ms: i64) {
        if let Some(c) = self.lock().0.get_mut(&ws) {
            c.checked_at_ms = now_ms;
        }
    }

    /// Caches an opened index, evicting the least recently used others while over budget.
    pub(crate) fn put(&self, ws: WorkspaceId, open: Arc<OpenIndex>, now_ms: i64) {
        let bytes = open.index.memory_bytes();
        let mut guard = self.lock();
        let (entries, tick) = &mut *guard;
        *tick += 1;
        entries.insert(
            ws,
            Cached {
                open,
                bytes,
                last_used: *tick,
                checked_at_ms: now_ms,
            },
        );
        loop {
            let total: usize = entries.values().map(|c| c.bytes).sum();
            if total <= self.budget || entries.len() <= 1 {
                break;
            }
            let Some(victim) = entries
                .iter()
                .filter(|(id, _)| **id != ws)
                .min_by_key(|(_, c)| c.last_used)
                .map(|(id, _)| *id)
            else {
                break;
            };
            entries.remove(&victim);
        }
    }

    /// Forgets the index of `ws` (its commit was lost, or the workspace is gone).
    pub(crate) fn forget(&self, ws: WorkspaceId) {
        self.lock().0.remove(&ws);
    }

    /// Bytes held, and how many indexes.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let guard = self.lock();
        (guard.0.values().map(|c| c.bytes).sum(), guard.0.len())
    }
}

impl App {
    /// Opens the stored index of `ws` named by its sealed manifest at `generation`; `None`
    /// when its key was shredded (the workspace is being deleted). A damaged or foreign file
    /// is an integrity error: the caller rebuilds.
    pub(super) async fn load_index(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        generation: i64,
        sealed_manifest: &[u8],
    ) -> AppResult<Option<OpenIndex>> {
        let Some(manifest) = self.read_manifest(tx, ws, sealed_manifest).await? else {
            return Ok(None);
        };
        let language: Language = manifest
            .language
            .parse()
            .map_err(|e: String| AppError::Integrity(e))?;
        let mut files = vec![IndexFile {
            name: META_FILE.to_owned(),
            bytes: manifest.meta.clone().into_bytes(),
        }];
        for f in &manifest.files {
            let mut reader = self
                .files
                .open(&object_key(ws, &f.name))
                .await
                .map_err(|e| {
                    AppError::Integrity(format!("search index file {} of {ws}: {e}", f.name))
                })?;
            let mut sealed = Vec::with_capacity(usize::try_from(f.sealed_bytes).unwrap_or(0));
            reader
                .read_to_end(&mut sealed)
                .await
                .or_internal("reading a search index file")?;
            let Some(plain) = self
                .keyring
                .open(tx, &file_place(ws, &f.name), &sealed)
                .await?
            else {
                return Ok(None);
            };
            files.push(IndexFile {
                name: f.name.clone(),
                bytes: plain,
            });
        }
        let index = tokio::task::spawn_blocking(move || WorkspaceIndex::open(language, files))
            .await
            .or_internal("opening a search index")?
            .map_err(|e| AppError::Integrity(format!("search index of {ws}: {e}")))?;
        Ok(Some(OpenIndex {
            index: Arc::new(index),
            manifest,
            generation,
        }))
    }

    /// Opens a sealed manifest; `None` when its key was shredded.
    pub(super) async fn read_manifest(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        sealed: &[u8],
    ) -> AppResult<Option<Manifest>> {
        let Some(bytes) = self.keyring.open(tx, &manifest_place(ws), sealed).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AppError::Integrity(format!("search manifest of {ws}: {e}")))
    }

    /// Seals and stores the files of `index` that `previous` does not already hold; returns the
    /// new manifest, and the objects `previous` had that the new one no longer needs (to
    /// delete once the manifest is committed).
    pub(super) async fn store_index(
        &self,
        ws: WorkspaceId,
        key: &SealingKey,
        index: &WorkspaceIndex,
        previous: &Manifest,
    ) -> AppResult<(Manifest, Vec<String>)> {
        let files = index
            .files()
            .or_internal("listing a search index's files")?;
        let mut manifest = Manifest {
            language: index.language().as_str().to_owned(),
            meta: String::new(),
            files: Vec::new(),
        };
        for f in files {
            if f.name == META_FILE {
                manifest.meta = String::from_utf8(f.bytes)
                    .or_internal("a search index's segment list is not text")?;
                continue;
            }
            if let Some(kept) = previous.files.iter().find(|p| p.name == f.name) {
                manifest.files.push(kept.clone());
                continue;
            }
            let sealed = key.seal(&file_place(ws, &f.name), &f.bytes)?;
            let mut w = self
                .files
                .create(&object_key(ws, &f.name))
                .await
                .or_internal("storing a search index file")?;
            w.write(&sealed)
                .await
                .or_internal("storing a search index file")?;
            w.commit()
                .await
                .or_internal("storing a search index file")?;
            manifest.files.push(StoredFile {
                name: f.name,
                sealed_bytes: sealed.len() as u64,
            });
        }
        let stale = previous
            .files
            .iter()
            .filter(|p| !manifest.files.iter().any(|f| f.name == p.name))
            .map(|p| object_key(ws, &p.name))
            .collect();
        Ok((manifest, stale))
    }

    /// Seals a manifest for the database.
    pub(super) fn seal_manifest(
        key: &SealingKey,
        ws: WorkspaceId,
        manifest: &Manifest,
    ) -> AppResult<Vec<u8>> {
        let json = serde_json::to_vec(manifest).or_internal("writing a search manifest")?;
        key.seal(&manifest_place(ws), &json)
    }

    /// The stored objects of a workspace's index (for deleting them with the workspace); what
    /// cannot be read is left, sealed with keys about to be destroyed.
    pub(crate) async fn search_objects_of(&self, tx: &mut Tx, ws: WorkspaceId) -> Vec<String> {
        let manifest = match tx.workspace(ws).search_index().await {
            Ok(state) => match state.manifest {
                Some(sealed) => self.read_manifest(tx, ws, &sealed).await,
                None => Ok(None),
            },
            Err(e) => Err(e.into()),
        };
        match manifest {
            Ok(Some(m)) => m.files.iter().map(|f| object_key(ws, &f.name)).collect(),
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::warn!(workspace = %ws, error = %e, "the search index's files could not be listed; they stay, sealed with destroyed keys");
                Vec::new()
            }
        }
    }

    /// Deletes stored objects no manifest names any more.
    pub(crate) async fn delete_objects(&self, keys: &[String]) {
        for key in keys {
            if let Err(e) = self.files.delete(key).await {
                tracing::warn!(error = %e, "could not delete a superseded search index file");
            }
        }
    }
}
