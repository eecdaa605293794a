//! Search across a workspace (COL-05): what a member may find, and nothing else.
//!
//! Every search is confined to the spaces the searcher may read (private spaces only for
//! their members, guests only their listed spaces, an API token only its scope), members by
//! name only for those who may see the member list, deleted content only for moderators who
//! ask for it, in the spaces they moderate. The index holds only what the database holds
//! readable: an erased person's contributions are removed or, anonymised, kept without them.

pub(crate) mod api;
mod documents;
pub(crate) mod file_texts;
pub(crate) mod indexer;
pub(crate) mod sealed_index;
pub(crate) mod similar;

use std::sync::Arc;

use ideaweave_domain::policy::Action;
use ideaweave_domain::{ValidationError, WorkspaceId};
use ideaweave_search::{Cursor, ParsedQuery, Request, Scope};
pub use ideaweave_search::{Highlighted, Kind as SearchKind, Sort as SearchSort};
use ideaweave_store::Tx;
use uuid::Uuid;

use self::sealed_index::{FRESHNESS_MS, OpenIndex};
use crate::{App, AppError, AppResult, Member, OrInternal, space_view};

/// The most results per page.
pub const MAX_SEARCH_LIMIT: u32 = 50;
/// Results per page unless asked otherwise.
pub const DEFAULT_SEARCH_LIMIT: u32 = 20;

/// What to search for, and how.
#[derive(Debug, Clone, Default)]
pub struct SearchInput {
    /// The query, in the documented syntax.
    pub q: String,
    /// Only these kinds (all when empty).
    pub kinds: Vec<SearchKind>,
    pub space: Option<Uuid>,
    pub discussion: Option<Uuid>,
    pub stage: Option<Uuid>,
    pub author: Option<Uuid>,
    pub tag: Option<String>,
    /// Made at or after (Unix milliseconds).
    pub from: Option<i64>,
    /// Made before (Unix milliseconds).
    pub until: Option<i64>,
    /// Deleted content instead of live content (moderators).
    pub deleted: bool,
    pub sort: SearchSort,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Results per page (1–[`MAX_SEARCH_LIMIT`]).
    pub limit: u32,
    /// The query is being typed: its last word also matches as the start of a word.
    pub as_you_type: bool,
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub kind: SearchKind,
    pub id: Uuid,
    /// The idea it is or belongs to.
    pub idea: Option<Uuid>,
    pub discussion: Option<Uuid>,
    pub space: Option<Uuid>,
    pub title: Highlighted,
    pub snippet: Highlighted,
    pub tags: Vec<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub votes: i64,
    pub deleted: bool,
}

/// A page of results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// Results in all, of the kinds asked for.
    pub total: u64,
    /// Results of each kind, whatever kinds were asked for.
    pub by_kind: Vec<(SearchKind, u64)>,
    /// The cursor of the next page.
    pub next: Option<String>,
    /// False while the workspace's index is first being built.
    pub ready: bool,
    /// Whether the searcher may ask for deleted content.
    pub may_search_deleted: bool,
}

/// Reads a query, or says why it cannot be read (a 422 naming the `q` field).
pub fn parse_query(q: &str, as_you_type: bool) -> AppResult<ParsedQuery> {
    ParsedQuery::parse(q, as_you_type)
        .map_err(|e| AppError::Invalid(ValidationError::new("q", e.to_string())))
}

impl App {
    /// Searches the member's workspace.
    #[tracing::instrument(skip_all)]
    pub async fn search(&self, m: &Member, input: &SearchInput) -> AppResult<SearchResults> {
        m.allow(Action::ReadWorkspace)?;
        let query = parse_query(&input.q, input.as_you_type)?;
        let after = match input.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(Cursor::parse(c).ok_or_else(|| {
                AppError::Invalid(ValidationError::new(
                    "cursor",
                    "this is not a cursor from a previous page of these results",
                ))
            })?),
        };
        if !(1..=MAX_SEARCH_LIMIT).contains(&input.limit) {
            return Err(AppError::Invalid(ValidationError::new(
                "limit",
                format!("must be between 1 and {MAX_SEARCH_LIMIT}"),
            )));
        }
        if let (Some(from), Some(until)) = (input.from, input.until)
            && from >= until
        {
            return Err(AppError::Invalid(ValidationError::new(
                "until",
                "the end of the period must come after its start",
            )));
        }
        let mut tx = self.store.read().await?;
        let (scope, may_search_deleted) = self.search_scope(&mut tx, m, input.deleted).await?;
        if input.deleted && !may_search_deleted {
            return Err(AppError::Forbidden(
                "only moderators can search deleted content".into(),
            ));
        }
        let Some(open) = self.readable_index(&mut tx, m.workspace).await? else {
            return Ok(SearchResults {
                may_search_deleted,
                ..SearchResults::default()
            });
        };
        // The connection goes back to the pool while the index is searched.
        drop(tx);
        let limit = input.limit as usize;
        let mut after = after;
        let mut kept: Vec<ideaweave_search::Hit> = Vec::with_capacity(limit);
        let mut counts = (0, Vec::new());
        let mut more = false;
        // A page whose hits the database check removed is filled from the following ones (a
        // few rounds at most: an index that far behind is being rebuilt).
        for _ in 0..4 {
            let found = self
                .search_index(&open, &query, &scope, input, after, limit)
                .await?;
            if counts.1.is_empty() {
                counts = (found.total, found.by_kind.clone());
            }
            kept.extend(self.live_hits(m, input.deleted, found.hits).await?);
            more = found.next.is_some();
            after = found.next;
            if kept.len() > limit {
                // More than a page: the rest comes after the last shown.
                kept.truncate(limit);
                more = true;
                break;
            }
            if kept.len() == limit || !more {
                break;
            }
        }
        let next = if more {
            kept.last()
                .map(|h| h.cursor)
                .or(after)
                .map(|c| c.to_string())
        } else {
            None
        };
        Ok(SearchResults {
            hits: kept
                .into_iter()
                .map(|h| SearchHit {
                    kind: h.kind,
                    id: h.id,
                    idea: h.idea,
                    discussion: h.discussion,
                    space: h.space,
                    title: h.title,
                    snippet: h.snippet,
                    tags: h.tags,
                    created_at: h.created_at,
                    votes: h.votes,
                    deleted: h.deleted,
                })
                .collect(),
            total: counts.0,
            by_kind: counts.1,
            next,
            ready: true,
            may_search_deleted,
        })
    }

    /// One page of the index's results after `after`, at most `limit`.
    async fn search_index(
        &self,
        open: &Arc<OpenIndex>,
        query: &ParsedQuery,
        scope: &Scope,
        input: &SearchInput,
        after: Option<Cursor>,
        limit: usize,
    ) -> AppResult<ideaweave_search::Results> {
        let (open, query, scope, input) =
            (open.clone(), query.clone(), scope.clone(), input.clone());
        tokio::task::spawn_blocking(move || {
            open.index.search(&Request {
                query: &query,
                scope: &scope,
                kinds: &input.kinds,
                space: input.space,
                discussion: input.discussion,
                stage: input.stage,
                author: input.author,
                tag: input.tag.as_deref(),
                from: input.from,
                until: input.until,
                deleted: input.deleted,
                sort: input.sort,
                after,
                limit,
            })
        })
        .await
        .or_internal("searching")?
        .or_internal("searching")
    }

    /// The hits that the database still holds as found: something deleted, purged or erased
    /// since the last commit is not shown, however far indexing lags behind (the count may
    /// still include it until then).
    async fn live_hits(
        &self,
        m: &Member,
        deleted: bool,
        hits: Vec<ideaweave_search::Hit>,
    ) -> AppResult<Vec<ideaweave_search::Hit>> {
        if hits.is_empty() {
            return Ok(hits);
        }
        let asked: Vec<(&str, Uuid)> = hits.iter().map(|h| (h.kind.as_str(), h.id)).collect();
        let live: std::collections::HashSet<(String, Uuid)> = self
            .store
            .read()
            .await?
            .workspace(m.workspace)
            .live_search_items(&asked)
            .await?
            .into_iter()
            .filter(|l| (l.deleted != 0) == deleted)
            .map(|l| (l.kind, l.id))
            .collect();
        Ok(hits
            .into_iter()
            .filter(|h| live.contains(&(h.kind.as_str().to_owned(), h.id)))
            .collect())
    }

    /// What `m` may find: the spaces they may read (or, for deleted content, moderate), and
    /// whether they may find members; and whether they moderate any space.
    async fn search_scope(
        &self,
        tx: &mut Tx,
        m: &Member,
        deleted: bool,
    ) -> AppResult<(Scope, bool)> {
        let spaces = tx.workspace(m.workspace).spaces(m.actor.user).await?;
        let mut readable = Vec::new();
        let mut moderated = Vec::new();
        for s in &spaces {
            let view = space_view(s.private, s.listed);
            if m.allow(Action::ReadContent(view)).is_ok() {
                readable.push(s.id.0);
                if m.allow(Action::Moderate(view)).is_ok() {
                    moderated.push(s.id.0);
                }
            }
        }
        let may_search_deleted = !moderated.is_empty();
        let scope = Scope {
            spaces: if deleted { moderated } else { readable },
            members: m.allow(Action::ReadMembers).is_ok(),
        };
        Ok((scope, may_search_deleted))
    }

    /// The committed index of `ws` as this node should serve it: from the cache while it is
    /// known to be current, reopened when another node committed a newer one; `None` while
    /// it has never been built (or was set aside by a restore).
    async fn readable_index(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
    ) -> AppResult<Option<Arc<OpenIndex>>> {
        let now = self.now();
        if let Some((open, checked_at)) = self.search.cache.get(ws)
            && now - checked_at < FRESHNESS_MS
        {
            return Ok(Some(open));
        }
        let _one_at_a_time = self.search.loading.lock().await;
        // Twice at most: a writer may commit (and retire the files being read) meanwhile.
        for _ in 0..2 {
            let state = tx.workspace(ws).search_index().await?;
            if let Some((open, _)) = self.search.cache.get(ws)
                && open.generation == state.generation
                && state.manifest.is_some()
            {
                self.search.cache.checked(ws, now);
                return Ok(Some(open));
            }
            let Some(sealed) = state.manifest else {
                // Never built, or set aside after a restore: nothing may be searched yet.
                self.search.cache.forget(ws);
                return Ok(None);
            };
            match self.load_index(tx, ws, state.generation, &sealed).await {
                Ok(Some(open)) => {
                    let open = Arc::new(open);
                    self.search.cache.put(ws, open.clone(), now);
                    return Ok(Some(open));
                }
                Ok(None) => return Ok(None),
                Err(e) => {
                    if tx.workspace(ws).search_generation().await? != state.generation {
                        continue;
                    }
                    tracing::error!(workspace = %ws, error = %e, "a stored search index could not be opened; it will be rebuilt");
                    let mut w = self.store.begin().await?;
                    w.workspace(ws).request_search_rebuild().await?;
                    w.commit().await?;
                    return Ok(None);
                }
            }
        }
        Ok(None)
    }

    /// Whether `m` may search deleted content (moderates a space), for the search form.
    pub async fn may_search_deleted(&self, m: &Member) -> AppResult<bool> {
        let mut tx = self.store.read().await?;
        Ok(self.search_scope(&mut tx, m, true).await?.1)
    }

    /// Drops this node's copy of a workspace's index (the workspace was deleted or its
    /// index must be reopened).
    pub(crate) fn forget_search_index(&self, ws: WorkspaceId) {
        self.search.cache.forget(ws);
    }

    /// Bytes and indexes this node holds open.
    pub fn search_cache_usage(&self) -> (usize, usize) {
        self.search.cache.usage()
    }
}
