//! The indexer: drains each workspace's queue of changes into its index, one writer per
//! workspace across nodes (a lease in the database), and rebuilds an index from the database
//! when it has none, is asked to, or cannot be opened (COL-05).
//!
//! A batch is read, applied in memory, its new files listed as garbage-until-committed, sealed
//! and stored, and then one transaction records the new manifest and takes exactly the changes
//! it read off the queue. A node killed anywhere before that transaction leaves the queue as
//! it was, and the next batch (on any node, once the lease ran out) does the work again;
//! documents are replaced by kind and id, so doing it twice leaves one of each. What a stopped
//! writer stored is deleted as garbage by the next.

use std::sync::Arc;

use ideaweave_domain::WorkspaceId;
use ideaweave_search::{Change, Kind, Language, WorkspaceIndex};
use ideaweave_store::{QueuedChange, SearchCommit, SearchIndexRow};

use super::sealed_index::{
    GARBAGE_GRACE_MS, Garbage, Manifest, OpenIndex, garbage_json, parse_garbage, plan_files,
};
use crate::{App, AppError, AppResult, OrInternal};

/// Changes per batch.
pub const SEARCH_BATCH: i64 = 500;
/// Items read from the database per statement during a rebuild.
const REBUILD_PAGE: i64 = 1_000;
/// How long a writer's lease lasts; renewed at every batch and rebuild page.
const LEASE_MS: i64 = 120_000;
/// Workspaces looked at per round.
const WORKSPACES_PER_ROUND: i64 = 100;
/// The longest wait before a failed workspace is tried again.
const MAX_BACKOFF_MS: i64 = 300_000;

/// What one round of indexing did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IndexingRound {
    /// Workspaces whose index took changes.
    pub workspaces: u64,
    /// Changes indexed.
    pub changes: u64,
    /// Indexes rebuilt from the database.
    pub rebuilt: u64,
    /// Workspaces another node was writing.
    pub busy: u64,
    /// Workspaces whose indexing failed (logged, shown by `search status`, tried again later).
    pub failed: u64,
}

/// What indexing one workspace did.
enum Outcome {
    Indexed { changes: u64, rebuilt: bool },
    Busy,
    Gone,
}

/// A rebuild's progress: items done, items in all.
pub type RebuildProgress<'a> = &'a mut (dyn FnMut(u64, u64) + Send);

/// The wait before the next attempt after `failures` failures in a row: 1 s, doubling, at most
/// five minutes.
fn backoff_ms(failures: i64) -> i64 {
    let doublings = u32::try_from(failures.clamp(0, 20)).unwrap_or(20);
    1_000i64
        .saturating_mul(1i64 << doublings)
        .min(MAX_BACKOFF_MS)
}

impl App {
    /// Indexes the queued changes of every workspace that has some, rebuilds the indexes that
    /// need it, and drops this node's copies of indexes that moved on or went. `writer` names
    /// this node (`host:pid`) in the leases.
    #[tracing::instrument(skip_all)]
    pub async fn run_search_indexing(&self, writer: &str) -> AppResult<IndexingRound> {
        self.sweep_search_cache().await?;
        let due = {
            let mut tx = self.store.read().await?;
            tx.search_workspaces_due(WORKSPACES_PER_ROUND, self.now(), writer)
                .await?
        };
        let mut round = IndexingRound::default();
        for ws in due {
            let ws = WorkspaceId(ws);
            match self
                .index_workspace(ws, writer, false, &mut |_, _| {})
                .await
            {
                Ok(Outcome::Indexed { changes, rebuilt }) => {
                    if changes > 0 || rebuilt {
                        round.workspaces += 1;
                    }
                    round.changes += changes;
                    round.rebuilt += u64::from(rebuilt);
                }
                Ok(Outcome::Busy) => round.busy += 1,
                Ok(Outcome::Gone) => {}
                Err(e) => {
                    round.failed += 1;
                    tracing::error!(workspace = %ws, error = %e, "could not index a workspace");
                }
            }
        }
        Ok(round)
    }

    /// Drops the copies this node holds of indexes another node committed anew, forgot or
    /// deleted (with its workspace), so no plaintext index outlives its reason in memory.
    async fn sweep_search_cache(&self) -> AppResult<()> {
        let held = self.search.cache.held();
        if held.is_empty() {
            return Ok(());
        }
        let now: std::collections::HashMap<uuid::Uuid, i64> = self
            .store
            .read()
            .await?
            .search_generations()
            .await?
            .into_iter()
            .collect();
        for (ws, generation) in held {
            if now.get(&ws.0) != Some(&generation) {
                self.search.cache.forget(ws);
            }
        }
        Ok(())
    }

    /// Rebuilds the index of `ws` from the database now (`ideaweave search reindex`),
    /// reporting progress. Fails if another node holds the writer's lease.
    #[tracing::instrument(skip_all)]
    pub async fn rebuild_search_index(
        &self,
        ws: WorkspaceId,
        writer: &str,
        progress: RebuildProgress<'_>,
    ) -> AppResult<u64> {
        match self.index_workspace(ws, writer, true, progress).await? {
            Outcome::Indexed { changes, .. } => Ok(changes),
            Outcome::Busy => Err(AppError::Conflict(
                "another node is writing this workspace's search index; try again in a few minutes"
                    .into(),
            )),
            Outcome::Gone => Err(AppError::NotFound("workspace")),
        }
    }

    async fn index_workspace(
        &self,
        ws: WorkspaceId,
        writer: &str,
        force_rebuild: bool,
        progress: RebuildProgress<'_>,
    ) -> AppResult<Outcome> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx.workspace_exists(ws.0).await? {
            // Deleted: its key is gone, so its stored files open for nobody; forget the rest.
            tx.forget_search_of(ws.0).await?;
            tx.commit().await?;
            self.search.cache.forget(ws);
            return Ok(Outcome::Gone);
        }
        if !tx
            .workspace(ws)
            .claim_search_writer(writer, now, now + LEASE_MS)
            .await?
        {
            return Ok(Outcome::Busy);
        }
        tx.commit().await?;
        let result = self
            .index_claimed(ws, writer, force_rebuild, progress)
            .await;
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(ws);
        match &result {
            // Another node holds it now: its record is not this node's to mark.
            Err(e) if is_lost_lease(e) => {}
            Err(e) => {
                let failures = repo.search_index().await.map(|s| s.failures).unwrap_or(0);
                repo.record_search_error(writer, &e.to_string(), self.now() + backoff_ms(failures))
                    .await?;
            }
            Ok(_) => repo.clear_search_error(writer).await?,
        }
        repo.release_search_writer(writer).await?;
        tx.commit().await?;
        result
    }

    async fn index_claimed(
        &self,
        ws: WorkspaceId,
        writer: &str,
        force_rebuild: bool,
        progress: RebuildProgress<'_>,
    ) -> AppResult<Outcome> {
        let state = {
            let mut tx = self.store.read().await?;
            tx.workspace(ws).search_index().await?
        };
        self.collect_garbage(ws, writer, &state).await?;
        let language: Language = state.language.parse().unwrap_or_default();
        let open = match (&state.manifest, state.rebuild || force_rebuild) {
            (Some(sealed), false) => match self.search.cache.get(ws) {
                Some((open, _))
                    if open.generation == state.generation && open.index.language() == language =>
                {
                    Some(open)
                }
                _ => {
                    let mut tx = self.store.read().await?;
                    match self.load_index(&mut tx, ws, state.generation, sealed).await {
                        Ok(Some(open)) if open.index.language() == language => Some(Arc::new(open)),
                        Ok(_) => None,
                        Err(e) => {
                            tracing::warn!(workspace = %ws, error = %e, "a stored search index could not be opened; rebuilding it");
                            None
                        }
                    }
                }
            },
            _ => None,
        };
        let Some(mut open) = open else {
            let changes = self.rebuild(ws, writer, &state, language, progress).await?;
            return Ok(Outcome::Indexed {
                changes,
                rebuilt: true,
            });
        };
        let mut indexed = 0;
        loop {
            let queued = {
                let mut tx = self.store.read().await?;
                tx.workspace(ws).search_queue(SEARCH_BATCH).await?
            };
            if queued.is_empty() {
                break;
            }
            let mut changes = Vec::with_capacity(queued.len());
            {
                let mut tx = self.store.read().await?;
                for q in &queued {
                    let Ok(kind) = q.kind.parse::<Kind>() else {
                        continue;
                    };
                    changes.push(self.queued_document(&mut tx, ws, kind, q.item_id).await?);
                }
            }
            self.add_file_texts(ws, writer, &mut changes).await?;
            let index = open.index.clone();
            let applied = tokio::task::spawn_blocking(move || index.apply(false, changes))
                .await
                .or_internal("indexing a batch")?
                .or_internal("indexing a batch");
            if let Err(e) = applied {
                // The copy in memory may hold part of the batch: open the committed one next.
                self.search.cache.forget(ws);
                return Err(e);
            }
            open = self
                .commit_index(ws, writer, &open, None, Vec::new(), &queued)
                .await?;
            indexed += queued.len() as u64;
            if (queued.len() as i64) < SEARCH_BATCH {
                break;
            }
        }
        Ok(Outcome::Indexed {
            changes: indexed,
            rebuilt: false,
        })
    }

    /// Builds a new index of `ws` from everything in the database.
    async fn rebuild(
        &self,
        ws: WorkspaceId,
        writer: &str,
        state: &SearchIndexRow,
        language: Language,
        progress: RebuildProgress<'_>,
    ) -> AppResult<u64> {
        // What is queued now is contained in what is read below; what is queued later stays.
        let (snapshot, total) = {
            let mut tx = self.store.read().await?;
            let mut repo = tx.workspace(ws);
            (
                repo.search_queue(i64::MAX).await?,
                repo.search_item_count().await?,
            )
        };
        // The files of the index this one replaces, and of one a restore set aside, go.
        let mut previous = Manifest::default();
        let mut retired = Vec::new();
        {
            let mut tx = self.store.read().await?;
            if let Some(sealed) = &state.manifest
                && let Ok(Some(m)) = self.read_manifest(&mut tx, ws, sealed).await
            {
                previous = m;
            }
            if let Some(sealed) = &state.forgotten
                && let Ok(Some(m)) = self.read_manifest(&mut tx, ws, sealed).await
            {
                retired.extend(m.objects().map(str::to_owned));
            }
        }
        let index =
            Arc::new(WorkspaceIndex::create(language).or_internal("creating a search index")?);
        let mut done = 0u64;
        progress(done, total);
        for kind in Kind::ALL {
            let mut after = uuid::Uuid::nil();
            loop {
                let mut tx = self.store.read().await?;
                let (mut changes, read, last) = self.rebuild_page(&mut tx, ws, kind, after).await?;
                drop(tx);
                self.add_file_texts(ws, writer, &mut changes).await?;
                if !changes.is_empty() {
                    let index = index.clone();
                    tokio::task::spawn_blocking(move || index.apply(false, changes))
                        .await
                        .or_internal("rebuilding a search index")?
                        .or_internal("rebuilding a search index")?;
                }
                done += read;
                progress(done, total.max(done));
                self.renew_search_lease(ws, writer).await?;
                match last {
                    // A full page: there may be more (counted by rows read, not documents
                    // kept: unreadable items are left out but still read).
                    Some(id) if read == REBUILD_PAGE as u64 => after = id,
                    _ => break,
                }
            }
        }
        // Superseded files become garbage at the commit; the files of the previous manifest
        // are named there as superseded.
        let open = Arc::new(OpenIndex {
            index,
            manifest: previous,
            generation: state.generation,
        });
        self.commit_index(
            ws,
            writer,
            &open,
            Some(state.rebuild_asks),
            retired,
            &snapshot,
        )
        .await?;
        Ok(done)
    }

    /// Keeps the writer's lease through long work; fails if another node took it.
    pub(super) async fn renew_search_lease(&self, ws: WorkspaceId, writer: &str) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let held = tx
            .workspace(ws)
            .claim_search_writer(writer, now, now + LEASE_MS)
            .await?;
        tx.commit().await?;
        if held { Ok(()) } else { Err(lost_lease()) }
    }

    /// One page of a kind's items after `after`, as documents; how many rows were read; and
    /// the last id read.
    async fn rebuild_page(
        &self,
        tx: &mut ideaweave_store::Tx,
        ws: WorkspaceId,
        kind: Kind,
        after: uuid::Uuid,
    ) -> AppResult<(Vec<Change>, u64, Option<uuid::Uuid>)> {
        let mut out = Vec::new();
        let last;
        let read;
        macro_rules! page {
            ($read:ident, $doc:ident, $id:ident) => {{
                let rows = tx.workspace(ws).$read(after, REBUILD_PAGE).await?;
                read = rows.len() as u64;
                last = rows.last().map(|r| r.$id);
                for r in rows {
                    out.push(self.$doc(tx, ws, r).await?);
                }
            }};
        }
        match kind {
            Kind::Idea => page!(search_ideas, idea_document, id),
            Kind::Comment => page!(search_comments, comment_document, id),
            Kind::Discussion => page!(search_discussions, discussion_document, id),
            Kind::Space => page!(search_spaces, space_document, id),
            Kind::Link => page!(search_links, link_document, id),
            Kind::File => page!(search_files, file_document, id),
            Kind::Member => {
                let rows = tx.workspace(ws).search_members(after, REBUILD_PAGE).await?;
                read = rows.len() as u64;
                last = rows.last().map(|r| r.user_id);
                for r in rows {
                    out.push(self.member_document(tx, r).await?);
                }
            }
        }
        // A rebuild starts empty: removals of unreadable items are nothing to do.
        out.retain(|c| matches!(c, Change::Put(_)));
        Ok((out, read, last))
    }

    /// Deletes the objects of `ws`'s garbage that are old enough, and lists the rest again.
    /// Runs under the writer's lease.
    async fn collect_garbage(
        &self,
        ws: WorkspaceId,
        writer: &str,
        state: &SearchIndexRow,
    ) -> AppResult<()> {
        let garbage = parse_garbage(&state.garbage);
        if garbage.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let (due, mut keep): (Garbage, Garbage) = garbage
            .into_iter()
            .partition(|(_, at)| now - at >= GARBAGE_GRACE_MS);
        if due.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = due.into_iter().map(|(k, _)| k).collect();
        let left = self.delete_objects(ws, &keys).await;
        keep.extend(left.into_iter().map(|k| (k, now)));
        let mut tx = self.store.begin().await?;
        tx.workspace(ws)
            .set_search_garbage(writer, &garbage_json(&keep))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores the index's new files and records the commit, taking `done` off the queue.
    /// `rebuilt`: for a rebuild, the rebuild requests it answers. `retired`: further objects to
    /// delete (a set-aside manifest's). Returns the index as now committed. If another writer
    /// took over meanwhile, nothing is recorded, the cached index is dropped, and the work is
    /// left to the queue and the files to the garbage list.
    async fn commit_index(
        &self,
        ws: WorkspaceId,
        writer: &str,
        open: &Arc<OpenIndex>,
        rebuilt: Option<i64>,
        retired: Vec<String>,
        done: &[QueuedChange],
    ) -> AppResult<Arc<OpenIndex>> {
        let now = self.now();
        let (key, garbage) = {
            let mut tx = self.store.begin().await?;
            let mut repo = tx.workspace(ws);
            let garbage = parse_garbage(&repo.search_index().await?.garbage);
            let key = self.keyring.data_key(&mut repo, None, now).await?;
            tx.commit().await?;
            (key, garbage)
        };
        let index = open.index.clone();
        let previous = open.manifest.clone();
        let mut planned = tokio::task::spawn_blocking(move || plan_files(ws, &index, &previous))
            .await
            .or_internal("listing a search index's files")??;
        let new_objects = planned.new_objects();
        // Listed before they are stored: if this writer stops now, the next deletes them.
        let mut intended = garbage.clone();
        intended.extend(new_objects.iter().map(|k| (k.clone(), now)));
        let listed = {
            let mut tx = self.store.begin().await?;
            let listed = tx
                .workspace(ws)
                .record_search_garbage(writer, &garbage_json(&intended))
                .await?;
            tx.commit().await?;
            listed
        };
        if !listed {
            self.search.cache.forget(ws);
            return Err(lost_lease());
        }
        self.store_index_files(ws, writer, &key, &mut planned)
            .await?;
        let manifest = planned.manifest;
        let sealed = Self::seal_manifest(&key, ws, &manifest)?;
        let mut after: Garbage = intended
            .into_iter()
            .filter(|(k, _)| !new_objects.contains(k))
            .collect();
        let now = self.now();
        after.extend(planned.superseded.into_iter().map(|k| (k, now)));
        after.extend(retired.into_iter().map(|k| (k, now)));
        let after_json = garbage_json(&after);
        let commit = SearchCommit {
            writer,
            from_generation: open.generation,
            manifest: &sealed,
            documents: i64::try_from(open.index.doc_count()).unwrap_or(i64::MAX),
            sealed_bytes: i64::try_from(manifest.sealed_bytes()).unwrap_or(i64::MAX),
            now,
            rebuilt,
            garbage: &after_json,
        };
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(ws);
        let recorded = repo.record_search_commit(&commit, done).await?;
        if recorded {
            repo.claim_search_writer(writer, now, now + LEASE_MS)
                .await?;
        }
        tx.commit().await?;
        if !recorded {
            self.search.cache.forget(ws);
            return Err(lost_lease());
        }
        let committed = Arc::new(OpenIndex {
            index: open.index.clone(),
            manifest,
            generation: open.generation + 1,
        });
        self.search.cache.put(ws, committed.clone(), self.now());
        Ok(committed)
    }
}

/// What a writer that lost its lease says.
const LOST_LEASE: &str = "another node took over this workspace's search index";

fn lost_lease() -> AppError {
    AppError::Conflict(LOST_LEASE.into())
}

fn is_lost_lease(e: &AppError) -> bool {
    matches!(e, AppError::Conflict(m) if m == LOST_LEASE)
}

/// One workspace's search figures, for `ideaweave search status` (no content, no names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchStatus {
    pub workspace: uuid::Uuid,
    /// `None` for a workspace that no longer exists (its leftovers are cleaned up next round).
    pub slug: Option<String>,
    /// Changes waiting.
    pub queued: u64,
    /// Seconds the oldest waiting change has waited.
    pub lag_secs: Option<i64>,
    /// Commits so far (0: never built).
    pub generation: i64,
    pub documents: u64,
    /// Bytes of sealed index files stored.
    pub sealed_bytes: u64,
    /// Unix milliseconds of the last commit.
    pub committed_at: Option<i64>,
    /// Waiting for a rebuild.
    pub rebuild: bool,
    /// The node writing it now.
    pub writer: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Files whose text could not be read (found by their names only).
    pub unreadable_files: u64,
}

impl App {
    /// Every workspace's search figures.
    #[tracing::instrument(skip_all)]
    pub async fn search_status(&self) -> AppResult<Vec<SearchStatus>> {
        let now_secs = self.now() / 1000;
        let now = self.now();
        let rows = self.store.read().await?.search_status().await?;
        Ok(rows
            .into_iter()
            .map(|r| SearchStatus {
                workspace: r.workspace_id,
                slug: r.slug,
                queued: u64::try_from(r.queued).unwrap_or(0),
                lag_secs: r.oldest_queued_at.map(|t| (now_secs - t).max(0)),
                generation: r.generation.unwrap_or(0),
                documents: r.documents.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                sealed_bytes: r
                    .sealed_bytes
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                committed_at: r.committed_at,
                rebuild: r.rebuild.unwrap_or(true),
                writer: r.writer.filter(|_| r.lease_until.is_some_and(|t| t > now)),
                last_error: r.last_error,
                unreadable_files: u64::try_from(r.unreadable_files).unwrap_or(0),
            })
            .collect())
    }

    /// The workspace of `slug`, for the command line.
    pub async fn workspace_id_of(&self, slug: &str) -> AppResult<WorkspaceId> {
        self.store
            .read()
            .await?
            .workspace_by_slug(slug)
            .await?
            .map(|w| w.id)
            .ok_or(AppError::NotFound("workspace"))
    }

    /// Every workspace's id and slug, for the command line.
    pub async fn workspace_slugs(&self) -> AppResult<Vec<(WorkspaceId, String)>> {
        let rows = self.store.read().await?.search_status().await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.slug.map(|s| (WorkspaceId(r.workspace_id), s)))
            .collect())
    }
}
