//! Where a workspace's index lives when it is not in memory: its files, each sealed with the
//! workspace's data key, in the file store beside the attachments (so that local disk and
//! object storage work alike), and a sealed manifest in the database naming them. The
//! manifest is the commit point: files are written first, the manifest last, in the
//! transaction that also takes the indexed changes off the queue (ENC-01, COL-05).
//!
//! Every commit attempt stores its new files under keys of its own (a random part), so two
//! writers never write the same object, and a file is bound to its key when sealed. Files a
//! commit no longer needs, and files a writer stored before it stopped, are listed as garbage
//! and deleted by the writer once [`GARBAGE_GRACE_MS`] old: a node still opening the previous
//! generation finds its files meanwhile.
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
/// How long an object no manifest needs is kept before it is deleted.
pub(crate) const GARBAGE_GRACE_MS: i64 = 10_000;
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
    /// Its other files, by name, with where they are stored and their sealed sizes.
    pub files: Vec<StoredFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredFile {
    /// The file's name inside the index.
    pub name: String,
    /// Its key in the file store.
    pub object: String,
    pub sealed_bytes: u64,
}

impl Manifest {
    pub(crate) fn sealed_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.sealed_bytes).sum::<u64>() + self.meta.len() as u64
    }

    /// The file store keys it names.
    pub(crate) fn objects(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|f| f.object.as_str())
    }
}

/// Objects to delete, each with when it stopped being needed (Unix milliseconds).
pub(crate) type Garbage = Vec<(String, i64)>;

/// Reads the stored garbage list; an unreadable one is treated as empty (its objects are
/// sealed, and the next list is written whole).
pub(crate) fn parse_garbage(json: &str) -> Garbage {
    serde_json::from_str(json).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "a search index's garbage list could not be read");
        Vec::new()
    })
}

pub(crate) fn garbage_json(g: &Garbage) -> String {
    serde_json::to_string(g).unwrap_or_else(|_| "[]".to_owned())
}

/// The file store key of an index file stored by one commit attempt (`attempt`: random
/// hexadecimal): `<workspace>/search-<attempt>-<name, dots as hyphens>`.
pub(crate) fn object_key(ws: WorkspaceId, attempt: &str, name: &str) -> String {
    format!("{}/search-{attempt}-{}", ws.0, name.replace('.', "-"))
}

/// The place an index file is sealed for: bound to its workspace and its key, so that a file
/// moved to another key or workspace does not open.
fn file_place(ws: WorkspaceId, object: &str) -> Place<'static> {
    let digest = Sha256::digest(object.as_bytes());
    let mut row = [0u8; 16];
    row.copy_from_slice(&digest[..16]);
    at(ws, column::SEARCH_INDEXES_FILE, uuid::Uuid::from_bytes(row))
}

fn manifest_place(ws: WorkspaceId) -> Place<'static> {
    at(ws, column::SEARCH_INDEXES_MANIFEST, ws.0)
}

/// What a commit will store: the new manifest, and the files it needs that are not stored yet.
pub(crate) struct Planned {
    pub manifest: Manifest,
    /// Index of each new file in `manifest.files`, with its bytes.
    pub uploads: Vec<(usize, Vec<u8>)>,
    /// Objects of the previous manifest the new one does not name.
    pub superseded: Vec<String>,
}

impl Planned {
    /// The keys this commit stores.
    pub(crate) fn new_objects(&self) -> Vec<String> {
        self.uploads
            .iter()
            .filter_map(|(i, _)| self.manifest.files.get(*i).map(|f| f.object.clone()))
            .collect()
    }
}

/// Plans the files to store for `index`, reusing what `previous` stored already.
pub(crate) fn plan_files(
    ws: WorkspaceId,
    index: &WorkspaceIndex,
    previous: &Manifest,
) -> AppResult<Planned> {
    let attempt = uuid::Uuid::new_v4().simple().to_string();
    let attempt = attempt.get(..12).unwrap_or(&attempt).to_owned();
    let mut manifest = Manifest {
        language: index.language().as_str().to_owned(),
        meta: String::new(),
        files: Vec::new(),
    };
    let mut uploads = Vec::new();
    for f in index
        .files()
        .or_internal("listing a search index's files")?
    {
        if f.name == META_FILE {
            manifest.meta = String::from_utf8(f.bytes)
                .or_internal("a search index's segment list is not text")?;
            continue;
        }
        if let Some(kept) = previous.files.iter().find(|p| p.name == f.name) {
            manifest.files.push(kept.clone());
            continue;
        }
        uploads.push((manifest.files.len(), f.bytes));
        manifest.files.push(StoredFile {
            object: object_key(ws, &attempt, &f.name),
            name: f.name,
            sealed_bytes: 0,
        });
    }
    let superseded = previous
        .files
        .iter()
        .filter(|p| !manifest.files.iter().any(|f| f.object == p.object))
        .map(|p| p.object.clone())
        .collect();
    Ok(Planned {
        manifest,
        uploads,
        superseded,
    })
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

    /// The workspaces held and the generation of each.
    pub(crate) fn held(&self) -> Vec<(WorkspaceId, i64)> {
        self.lock()
            .0
            .iter()
            .map(|(ws, c)| (*ws, c.open.generation))
            .collect()
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
            if !f.object.starts_with(&format!("{}/search-", ws.0)) {
                return Err(AppError::Integrity(format!(
                    "the search manifest of {ws} names a file outside its index"
                )));
            }
            let mut reader = self.files.open(&f.object).await.map_err(|e| match e {
                // The store cannot be reached: nothing is wrong with the index.
                e @ ideaweave_store::FileStoreError::Remote { .. } => AppError::from(e),
                e => AppError::Integrity(format!("search index file {} of {ws}: {e}", f.object)),
            })?;
            let mut sealed = Vec::with_capacity(usize::try_from(f.sealed_bytes).unwrap_or(0));
            reader
                .read_to_end(&mut sealed)
                .await
                .or_internal("reading a search index file")?;
            let Some(plain) = self
                .keyring
                .open(tx, &file_place(ws, &f.object), &sealed)
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

    /// Seals and stores the planned new files, filling in their sealed sizes.
    /// The writer's lease is renewed after each file, so that a large index still commits.
    pub(super) async fn store_index_files(
        &self,
        ws: WorkspaceId,
        writer: &str,
        key: &SealingKey,
        planned: &mut Planned,
    ) -> AppResult<()> {
        for (i, bytes) in std::mem::take(&mut planned.uploads) {
            let Some(file) = planned.manifest.files.get_mut(i) else {
                continue;
            };
            let sealed = key.seal(&file_place(ws, &file.object), &bytes)?;
            let mut w = self
                .files
                .create(&file.object)
                .await
                .or_internal("storing a search index file")?;
            w.write(&sealed)
                .await
                .or_internal("storing a search index file")?;
            w.commit()
                .await
                .or_internal("storing a search index file")?;
            file.sealed_bytes = sealed.len() as u64;
            self.renew_search_lease(ws, writer).await?;
        }
        Ok(())
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

    /// The stored objects of a workspace's index (for deleting them with the workspace): its
    /// manifest's, a set-aside manifest's, and its garbage. What cannot be read is left, sealed
    /// with keys about to be destroyed.
    pub(crate) async fn search_objects_of(&self, tx: &mut Tx, ws: WorkspaceId) -> Vec<String> {
        let state = match tx.workspace(ws).search_index().await {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(workspace = %ws, error = %e, "the search index's files could not be listed; they stay, sealed with destroyed keys");
                return Vec::new();
            }
        };
        let mut out: Vec<String> = parse_garbage(&state.garbage)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        for sealed in [state.manifest, state.forgotten].into_iter().flatten() {
            match self.read_manifest(tx, ws, &sealed).await {
                Ok(Some(m)) => out.extend(m.objects().map(str::to_owned)),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(workspace = %ws, error = %e, "a search manifest could not be read; its files stay, sealed with destroyed keys");
                }
            }
        }
        out
    }

    /// Deletes stored objects of `ws`'s index no manifest names any more; returns those that
    /// could not be deleted (to try again).
    pub(crate) async fn delete_objects(&self, ws: WorkspaceId, keys: &[String]) -> Vec<String> {
        let own = format!("{}/search-", ws.0);
        let mut left = Vec::new();
        for key in keys {
            if !key.starts_with(&own) {
                // Only this index's files: a damaged or altered list must not name an
                // attachment or another workspace's index.
                tracing::error!(
                    key,
                    "a search garbage list names an object that is not an index file"
                );
                continue;
            }
            if let Err(e) = self.files.delete(key).await {
                tracing::warn!(error = %e, "could not delete a superseded search index file");
                left.push(key.clone());
            }
        }
        left
    }
}
