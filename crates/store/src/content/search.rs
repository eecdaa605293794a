//! Search (COL-05): the queue of changes the database's triggers fill (migration 0031), each
//! workspace index's commit record and writer lease, and the rows the indexer reads to build
//! documents. Storage decides nothing about who may find what: the application filters every
//! search by what the searcher may see.

use sqlx::FromRow;
use uuid::Uuid;

use crate::workspace::WorkspaceRepo;
use crate::{StoreResult, Tx};

/// A queued change: the item of this kind and id changed (or went). `changes` counts the
/// changes since it was queued; the indexer deletes the row only if no change came after the
/// one it read.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct QueuedChange {
    pub kind: String,
    pub item_id: Uuid,
    pub changes: i64,
}

/// A workspace index's commit record.
#[derive(Debug, Clone, FromRow)]
pub struct SearchIndexRow {
    /// Bumped at every commit; 0 before the first.
    pub generation: i64,
    /// The sealed list of the index's stored files.
    pub manifest: Option<Vec<u8>>,
    /// The index must be rebuilt from the database (new, upgraded, restored, or asked for).
    pub rebuild: bool,
    /// The workspace's search language (`en`, `de`).
    pub language: String,
    /// Rebuilds asked for so far (a rebuild records how many it answered).
    pub rebuild_asks: i64,
    /// The manifest a restore set aside, whose files the next rebuild deletes.
    pub forgotten: Option<Vec<u8>>,
    /// Objects to delete once ten seconds old (JSON `[[key, Unix ms listed], …]`).
    pub garbage: String,
    /// Failed attempts in a row.
    pub failures: i64,
}

/// One workspace's search figures, for `ideaweave search status`.
#[derive(Debug, Clone, FromRow)]
pub struct SearchStatusRow {
    pub workspace_id: Uuid,
    pub slug: Option<String>,
    pub queued: i64,
    pub oldest_queued_at: Option<i64>,
    pub generation: Option<i64>,
    pub documents: Option<i64>,
    pub sealed_bytes: Option<i64>,
    pub committed_at: Option<i64>,
    pub rebuild: Option<bool>,
    pub writer: Option<String>,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    /// Files whose text could not be read (found by their names only).
    pub unreadable_files: i64,
}

/// What a commit records.
#[derive(Debug, Clone)]
pub struct SearchCommit<'a> {
    /// The node writing (must hold the lease).
    pub writer: &'a str,
    /// The generation the index was opened at: the commit fails if another writer moved it on.
    pub from_generation: i64,
    pub manifest: &'a [u8],
    pub documents: i64,
    pub sealed_bytes: i64,
    pub now: i64,
    /// For a rebuild: the rebuilds asked for when it started (the flag is cleared only if no
    /// other was asked for since).
    pub rebuilt: Option<i64>,
    /// Objects to delete once their grace period is over, as they stand after this commit.
    pub garbage: &'a str,
}

/// An idea, where it lives and its sealed text.
#[derive(Debug, Clone, FromRow)]
pub struct SearchIdeaRow {
    pub id: Uuid,
    pub discussion_id: Uuid,
    pub space_id: Uuid,
    pub author_id: Uuid,
    pub summary: Vec<u8>,
    pub body: Vec<u8>,
    pub stage_id: Uuid,
    pub score: i64,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
}

/// A comment, where it lives and its sealed text.
#[derive(Debug, Clone, FromRow)]
pub struct SearchCommentRow {
    pub id: Uuid,
    pub idea_id: Uuid,
    pub discussion_id: Uuid,
    pub space_id: Uuid,
    pub author_id: Uuid,
    pub body: Vec<u8>,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
    pub idea_deleted_at: Option<i64>,
}

/// A discussion and its sealed title and description.
#[derive(Debug, Clone, FromRow)]
pub struct SearchDiscussionRow {
    pub id: Uuid,
    pub space_id: Uuid,
    pub title: Vec<u8>,
    pub description: Vec<u8>,
    pub created_by: Uuid,
    pub created_at: i64,
}

/// A space and its sealed name and description.
#[derive(Debug, Clone, FromRow)]
pub struct SearchSpaceRow {
    pub id: Uuid,
    pub name: Vec<u8>,
    pub description: Vec<u8>,
    pub created_by: Uuid,
    pub created_at: i64,
}

/// A link, where it lives and its sealed address and title.
#[derive(Debug, Clone, FromRow)]
pub struct SearchLinkRow {
    pub id: Uuid,
    pub idea_id: Uuid,
    pub discussion_id: Uuid,
    pub space_id: Uuid,
    pub url: Vec<u8>,
    pub title: Vec<u8>,
    pub created_by: Uuid,
    pub created_at: i64,
    pub idea_deleted_at: Option<i64>,
    /// The comment it hangs on, deleted.
    pub comment_deleted_at: Option<i64>,
}

/// An uploaded file, where it lives and its sealed name.
#[derive(Debug, Clone, FromRow)]
pub struct SearchFileRow {
    pub id: Uuid,
    pub idea_id: Uuid,
    pub discussion_id: Uuid,
    pub space_id: Uuid,
    pub uploader_id: Uuid,
    pub filename: Vec<u8>,
    pub created_at: i64,
    pub idea_deleted_at: Option<i64>,
    /// The comment it hangs on, deleted.
    pub comment_deleted_at: Option<i64>,
}

/// A found item as the database holds it now: whether it still exists for search and is
/// deleted (checked before results are shown, so that nothing removed is shown even while
/// the index lags).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct LiveItem {
    pub kind: String,
    pub id: Uuid,
    pub deleted: i64,
}

/// A member and their sealed name (former members, who lead to nobody, are not listed).
#[derive(Debug, Clone, FromRow)]
pub struct SearchMemberRow {
    pub user_id: Uuid,
    pub name: Vec<u8>,
    pub joined_at: i64,
}

/// The statement reading one kind of item: `$1` the workspace, then either `$2` the item
/// (`one`) or `$2` the id to continue after and `$3` how many (`page`).
macro_rules! item_statements {
    ($one:ident, $page:ident, $select:expr, $id:expr) => {
        pub(crate) const $one: &str = concat!($select, " AND ", $id, " = $2");
        pub(crate) const $page: &str =
            concat!($select, " AND ", $id, " > $2 ORDER BY ", $id, " LIMIT $3");
    };
}

/// Generates the reader of one kind of item, by id and by page.
macro_rules! item_readers {
    ($one_fn:ident, $page_fn:ident, $row:ty, $one:expr, $page:expr, $what:literal) => {
        #[doc = concat!("The ", $what, " with this id, if it exists.")]
        pub async fn $one_fn(&mut self, id: Uuid) -> StoreResult<Option<$row>> {
            let ws = self.ws;
            Ok(on_conn!(self.tx, |c| {
                sqlx::query_as($one)
                    .bind(ws)
                    .bind(id)
                    .fetch_optional(c)
                    .await?
            }))
        }

        #[doc = concat!("Up to `limit` ", $what, "s after `after` in id order (for a rebuild).")]
        pub async fn $page_fn(&mut self, after: Uuid, limit: i64) -> StoreResult<Vec<$row>> {
            let ws = self.ws;
            Ok(on_conn!(self.tx, |c| {
                sqlx::query_as($page)
                    .bind(ws)
                    .bind(after)
                    .bind(limit)
                    .fetch_all(c)
                    .await?
            }))
        }
    };
}

impl Tx {
    /// Workspaces with work for the indexer: changes queued, a rebuild asked for, or no index
    /// yet (a workspace from before search existed), up to `limit`.
    /// Workspaces whose last attempt failed wait until their `retry_at`, and those another
    /// writer than `writer` holds a running lease on are left to it.
    pub async fn search_workspaces_due(
        &mut self,
        limit: i64,
        now: i64,
        writer: &str,
    ) -> StoreResult<Vec<Uuid>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sql::WORKSPACES_DUE)
                .bind(limit)
                .bind(now)
                .bind(writer)
                .fetch_all(c)
                .await?
        }))
    }

    /// The generations of these workspaces' indexes (missing ones are gone), for a node to
    /// drop copies that are out of date.
    pub async fn search_generations(&mut self) -> StoreResult<Vec<(Uuid, i64)>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::GENERATIONS).fetch_all(c).await?
        }))
    }

    /// Every workspace's search figures.
    pub async fn search_status(&mut self) -> StoreResult<Vec<SearchStatusRow>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::STATUS).fetch_all(c).await?
        }))
    }

    /// Forgets the stored indexes of `workspace` (or of every workspace) and asks for them to
    /// be rebuilt from the database: after a restore or a replayed erasure, the stored files
    /// may hold what the database no longer does (an erased person), so no one may search
    /// them meanwhile. The generation moves on, so other nodes drop their copies too.
    pub async fn forget_search_manifests(&mut self, workspace: Option<Uuid>) -> StoreResult<()> {
        on_conn!(self, |c| {
            match workspace {
                Some(ws) => {
                    sqlx::query(sql::FORGET_MANIFEST_OF)
                        .bind(ws)
                        .execute(c)
                        .await?
                }
                None => sqlx::query(sql::FORGET_MANIFESTS).execute(c).await?,
            };
        });
        Ok(())
    }

    /// Gives up every search writer's lease `writer` holds (a node shutting down).
    pub async fn release_search_writers(&mut self, writer: &str) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::RELEASE_ALL_OF)
                .bind(writer)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Forgets the index and queue of a workspace that no longer exists.
    pub async fn forget_search_of(&mut self, workspace: Uuid) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::FORGET_QUEUE)
                .bind(workspace)
                .execute(&mut *c)
                .await?;
            sqlx::query(sql::FORGET_INDEX)
                .bind(workspace)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Whether a workspace exists.
    pub async fn workspace_exists(&mut self, workspace: Uuid) -> StoreResult<bool> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar::<_, i64>(sql::WORKSPACE_EXISTS)
                .bind(workspace)
                .fetch_one(c)
                .await?
                > 0
        }))
    }
}

impl WorkspaceRepo<'_> {
    /// The index's commit record (a workspace without one has generation 0 and needs a
    /// rebuild).
    pub async fn search_index(&mut self) -> StoreResult<SearchIndexRow> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::INDEX).bind(ws).fetch_one(c).await?
        }))
    }

    /// How many items a rebuild reads (for its progress bar).
    pub async fn search_item_count(&mut self) -> StoreResult<u64> {
        let ws = self.ws;
        let n: i64 = on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::ITEM_COUNT)
                .bind(ws)
                .fetch_one(c)
                .await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The index's generation (0 when it has none yet), cheaply: readers on every node
    /// compare it with the one they hold.
    pub async fn search_generation(&mut self) -> StoreResult<i64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar::<_, i64>(sql::GENERATION)
                .bind(ws)
                .fetch_optional(c)
                .await?
                .unwrap_or(0)
        }))
    }

    /// Takes (or renews) the lease on writing this index for `writer` until `until`, unless
    /// another writer holds a lease still running at `now`. Returns whether it holds it.
    pub async fn claim_search_writer(
        &mut self,
        writer: &str,
        now: i64,
        until: i64,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql::ENSURE_INDEX)
                .bind(ws)
                .execute(&mut *c)
                .await?;
            sqlx::query(sql::CLAIM_WRITER)
                .bind(ws)
                .bind(writer)
                .bind(now)
                .bind(until)
                .execute(c)
                .await?
                .rows_affected()
                == 1
        }))
    }

    /// Gives up the lease of `writer`.
    pub async fn release_search_writer(&mut self, writer: &str) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::RELEASE_WRITER)
                .bind(ws)
                .bind(writer)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Up to `limit` queued changes, oldest first.
    pub async fn search_queue(&mut self, limit: i64) -> StoreResult<Vec<QueuedChange>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::QUEUE)
                .bind(ws)
                .bind(limit)
                .fetch_all(c)
                .await?
        }))
    }

    /// Records objects a writer is about to store (`garbage` as it will stand until the
    /// commit takes them off): a writer that stops before its commit leaves them listed, to be
    /// deleted. Returns false when `writer` no longer holds the lease.
    pub async fn record_search_garbage(
        &mut self,
        writer: &str,
        garbage: &str,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql::RECORD_GARBAGE)
                .bind(ws)
                .bind(writer)
                .bind(garbage)
                .execute(c)
                .await?
                .rows_affected()
                == 1
        }))
    }

    /// Which of these found items still exist, and whether each is deleted.
    pub async fn live_search_items(
        &mut self,
        items: &[(&str, Uuid)],
    ) -> StoreResult<Vec<LiveItem>> {
        let mut parts = Vec::new();
        let mut n = 1;
        for kind in [
            "idea",
            "comment",
            "discussion",
            "space",
            "link",
            "file",
            "member",
        ] {
            let ids: Vec<String> = items
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|_| {
                    n += 1;
                    format!("${n}")
                })
                .collect();
            if ids.is_empty() {
                continue;
            }
            let list = ids.join(", ");
            let select = match kind {
                "idea" => format!(
                    "SELECT 'idea' AS kind, i.id, CAST(CASE WHEN i.deleted_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS deleted FROM ideas i WHERE i.workspace_id = $1 AND i.id IN ({list})"
                ),
                "comment" => format!(
                    "SELECT 'comment' AS kind, c.id, CAST(CASE WHEN c.deleted_at IS NULL AND i.deleted_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS deleted FROM comments c JOIN ideas i ON i.workspace_id = c.workspace_id AND i.id = c.idea_id WHERE c.workspace_id = $1 AND c.id IN ({list})"
                ),
                "discussion" => format!(
                    "SELECT 'discussion' AS kind, d.id, CAST(0 AS BIGINT) AS deleted FROM discussions d WHERE d.workspace_id = $1 AND d.id IN ({list})"
                ),
                "space" => format!(
                    "SELECT 'space' AS kind, s.id, CAST(0 AS BIGINT) AS deleted FROM spaces s WHERE s.workspace_id = $1 AND s.id IN ({list})"
                ),
                "link" => format!(
                    "SELECT 'link' AS kind, l.id, CAST(CASE WHEN i.deleted_at IS NULL AND c.deleted_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS deleted FROM links l JOIN ideas i ON i.workspace_id = l.workspace_id AND i.id = l.idea_id LEFT JOIN comments c ON c.workspace_id = l.workspace_id AND c.id = l.comment_id WHERE l.workspace_id = $1 AND l.id IN ({list})"
                ),
                "file" => format!(
                    "SELECT 'file' AS kind, a.id, CAST(CASE WHEN i.deleted_at IS NULL AND c.deleted_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS deleted FROM attachments a JOIN ideas i ON i.workspace_id = a.workspace_id AND i.id = a.idea_id LEFT JOIN comments c ON c.workspace_id = a.workspace_id AND c.id = a.comment_id WHERE a.workspace_id = $1 AND a.id IN ({list})"
                ),
                _ => format!(
                    "SELECT 'member' AS kind, m.user_id AS id, CAST(0 AS BIGINT) AS deleted FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND u.former_member_of IS NULL AND m.user_id IN ({list})"
                ),
            };
            parts.push(select);
        }
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        let sql = parts.join(" UNION ALL ");
        let ws = self.ws;
        let mut ordered: Vec<Uuid> = Vec::new();
        for kind in [
            "idea",
            "comment",
            "discussion",
            "space",
            "link",
            "file",
            "member",
        ] {
            ordered.extend(items.iter().filter(|(k, _)| *k == kind).map(|(_, id)| *id));
        }
        Ok(on_conn!(self.tx, |c| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(ws);
            for id in &ordered {
                q = q.bind(*id);
            }
            q.fetch_all(c).await?
        }))
    }

    /// Records a commit and deletes the changes it contains (those not changed again since
    /// they were read). Returns false, changing nothing, when `c.writer` no longer holds the
    /// lease or another writer committed since `c.from_generation`: the caller discards its
    /// work, which the queue still holds.
    pub async fn record_search_commit(
        &mut self,
        commit: &SearchCommit<'_>,
        done: &[QueuedChange],
    ) -> StoreResult<bool> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            let recorded = sqlx::query(sql::RECORD_COMMIT)
                .bind(ws)
                .bind(commit.writer)
                .bind(commit.from_generation)
                .bind(commit.manifest)
                .bind(commit.documents)
                .bind(commit.sealed_bytes)
                .bind(commit.now)
                .bind(commit.rebuilt.is_some())
                .bind(commit.rebuilt.unwrap_or(0))
                .bind(commit.garbage)
                .execute(&mut *c)
                .await?
                .rows_affected()
                == 1;
            if recorded {
                for change in done {
                    sqlx::query(sql::DELETE_QUEUED)
                        .bind(ws)
                        .bind(&change.kind)
                        .bind(change.item_id)
                        .bind(change.changes)
                        .execute(&mut *c)
                        .await?;
                }
            }
            recorded
        }))
    }

    /// Which of these ideas were merged into another (similar ideas leave them out).
    pub async fn merged_among(&mut self, ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT id FROM ideas WHERE workspace_id = $1 AND merged_into IS NOT NULL \
             AND id IN ({})",
            list.join(", ")
        );
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(ws);
            for id in ids {
                q = q.bind(*id);
            }
            q.fetch_all(c).await?
        }))
    }

    /// Records why `writer`'s last attempt failed (shown by `search status`) and when the
    /// next may start; nothing when another writer holds the index now.
    pub async fn record_search_error(
        &mut self,
        writer: &str,
        error: &str,
        retry_at: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::RECORD_ERROR)
                .bind(ws)
                .bind(error)
                .bind(retry_at)
                .bind(writer)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Records that `writer`'s attempt ended well: no error, no back-off.
    pub async fn clear_search_error(&mut self, writer: &str) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::CLEAR_ERROR)
                .bind(ws)
                .bind(writer)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Records that objects listed as garbage were deleted (or are listed anew), if `writer`
    /// still holds the index.
    pub async fn set_search_garbage(&mut self, writer: &str, garbage: &str) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::RECORD_GARBAGE)
                .bind(ws)
                .bind(writer)
                .bind(garbage)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Asks for this workspace's index to be rebuilt from the database.
    pub async fn request_search_rebuild(&mut self) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::ENSURE_INDEX)
                .bind(ws)
                .execute(&mut *c)
                .await?;
            sqlx::query(sql::REQUEST_REBUILD)
                .bind(ws)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Sets the language the workspace's search understands (`en`, `de`) and asks for a
    /// rebuild when it changed.
    pub async fn set_search_language(&mut self, language: &str) -> StoreResult<bool> {
        let ws = self.ws;
        let changed = on_conn!(self.tx, |c| {
            sqlx::query(sql::SET_LANGUAGE)
                .bind(ws)
                .bind(language)
                .execute(c)
                .await?
                .rows_affected()
                == 1
        });
        if changed {
            self.request_search_rebuild().await?;
        }
        Ok(changed)
    }

    /// The workspace's search language.
    pub async fn search_language(&mut self) -> StoreResult<String> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::LANGUAGE)
                .bind(ws)
                .fetch_optional(c)
                .await?
                .unwrap_or_else(|| "en".to_owned())
        }))
    }

    /// Queues the removal of `user`'s member entry (an erasure queues it explicitly, not
    /// only through the membership's trigger).
    pub async fn queue_member_for_search(&mut self, user: Uuid, now: i64) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::QUEUE_MEMBER)
                .bind(ws)
                .bind(user)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    item_readers!(
        search_idea,
        search_ideas,
        SearchIdeaRow,
        sql::IDEA,
        sql::IDEAS,
        "idea"
    );
    item_readers!(
        search_comment,
        search_comments,
        SearchCommentRow,
        sql::COMMENT,
        sql::COMMENTS,
        "comment"
    );
    item_readers!(
        search_discussion,
        search_discussions,
        SearchDiscussionRow,
        sql::DISCUSSION,
        sql::DISCUSSIONS,
        "discussion"
    );
    item_readers!(
        search_space,
        search_spaces,
        SearchSpaceRow,
        sql::SPACE,
        sql::SPACES,
        "space"
    );
    item_readers!(
        search_link,
        search_links,
        SearchLinkRow,
        sql::LINK,
        sql::LINKS,
        "link"
    );
    item_readers!(
        search_file,
        search_files,
        SearchFileRow,
        sql::FILE,
        sql::FILES,
        "file"
    );
    item_readers!(
        search_member,
        search_members,
        SearchMemberRow,
        sql::MEMBER,
        sql::MEMBERS,
        "member"
    );
}

/// The statements of this module, named after the operation that runs them.
pub(crate) mod sql {
    pub(crate) const WORKSPACES_DUE: &str = "SELECT workspace_id FROM (\
        SELECT DISTINCT workspace_id FROM search_queue \
        UNION SELECT workspace_id FROM search_indexes WHERE rebuild OR garbage <> '[]' \
        UNION SELECT w.id AS workspace_id FROM workspaces w WHERE NOT EXISTS \
        (SELECT 1 FROM search_indexes s WHERE s.workspace_id = w.id)) due \
        WHERE NOT EXISTS (SELECT 1 FROM search_indexes s WHERE s.workspace_id = due.workspace_id \
        AND ((s.retry_at IS NOT NULL AND s.retry_at > $2) \
        OR (s.writer IS NOT NULL AND s.writer <> $3 AND s.lease_until > $2 \
        AND NOT EXISTS (SELECT 1 FROM node_leases n WHERE n.holder = s.writer AND n.lease_until < $2)))) \
        ORDER BY workspace_id LIMIT $1";
    pub(crate) const GENERATIONS: &str = "SELECT workspace_id, generation FROM search_indexes";
    pub(crate) const STATUS: &str = "SELECT x.workspace_id, w.slug, \
        (SELECT COUNT(*) FROM search_queue q WHERE q.workspace_id = x.workspace_id) AS queued, \
        (SELECT MIN(q.queued_at) FROM search_queue q WHERE q.workspace_id = x.workspace_id) AS oldest_queued_at, \
        s.generation, s.documents, s.sealed_bytes, s.committed_at, s.rebuild, s.writer, s.lease_until, s.last_error, \
        (SELECT COUNT(*) FROM search_file_texts f WHERE f.workspace_id = x.workspace_id \
        AND f.outcome = 'unreadable') AS unreadable_files \
        FROM (SELECT id AS workspace_id FROM workspaces UNION SELECT workspace_id FROM search_queue \
        UNION SELECT workspace_id FROM search_indexes) x \
        LEFT JOIN workspaces w ON w.id = x.workspace_id \
        LEFT JOIN search_indexes s ON s.workspace_id = x.workspace_id \
        ORDER BY w.slug, x.workspace_id";
    pub(crate) const FORGET_MANIFESTS: &str = "UPDATE search_indexes SET rebuild = TRUE, \
        rebuild_asks = rebuild_asks + 1, forgotten = COALESCE(manifest, forgotten), \
        manifest = NULL, generation = generation + 1, documents = 0, sealed_bytes = 0";
    pub(crate) const FORGET_MANIFEST_OF: &str = "UPDATE search_indexes SET rebuild = TRUE, \
        rebuild_asks = rebuild_asks + 1, forgotten = COALESCE(manifest, forgotten), \
        manifest = NULL, generation = generation + 1, documents = 0, sealed_bytes = 0 \
        WHERE workspace_id = $1";
    pub(crate) const FORGET_QUEUE: &str = "DELETE FROM search_queue WHERE workspace_id = $1";
    pub(crate) const FORGET_INDEX: &str = "DELETE FROM search_indexes WHERE workspace_id = $1";
    pub(crate) const WORKSPACE_EXISTS: &str = "SELECT COUNT(*) FROM workspaces WHERE id = $1";
    pub(crate) const ENSURE_INDEX: &str = "INSERT INTO search_indexes (workspace_id) VALUES ($1) \
        ON CONFLICT (workspace_id) DO NOTHING";
    pub(crate) const INDEX: &str = "SELECT COALESCE(s.generation, 0) AS generation, s.manifest, \
        COALESCE(s.rebuild, TRUE) AS rebuild, w.search_language AS language, \
        COALESCE(s.rebuild_asks, 0) AS rebuild_asks, s.forgotten, COALESCE(s.garbage, '[]') AS garbage, \
        COALESCE(s.failures, 0) AS failures \
        FROM workspaces w LEFT JOIN search_indexes s ON s.workspace_id = w.id WHERE w.id = $1";
    pub(crate) const ITEM_COUNT: &str = "SELECT \
        (SELECT COUNT(*) FROM ideas WHERE workspace_id = $1) \
        + (SELECT COUNT(*) FROM comments WHERE workspace_id = $1) \
        + (SELECT COUNT(*) FROM discussions WHERE workspace_id = $1) \
        + (SELECT COUNT(*) FROM spaces WHERE workspace_id = $1) \
        + (SELECT COUNT(*) FROM links WHERE workspace_id = $1) \
        + (SELECT COUNT(*) FROM attachments WHERE workspace_id = $1) \
        + (SELECT COUNT(*) FROM memberships WHERE workspace_id = $1)";
    pub(crate) const GENERATION: &str =
        "SELECT generation FROM search_indexes WHERE workspace_id = $1";
    /// A lease is free when it ran out, or when its holder is a node whose own lease ran out
    /// (it stopped without saying so: a node killed mid-batch hands over within the node
    /// lease, not the longer writer's lease).
    pub(crate) const CLAIM_WRITER: &str = "UPDATE search_indexes SET writer = $2, lease_until = $4 \
        WHERE workspace_id = $1 AND (writer IS NULL OR writer = $2 OR lease_until < $3 \
        OR EXISTS (SELECT 1 FROM node_leases n WHERE n.holder = search_indexes.writer AND n.lease_until < $3))";
    pub(crate) const RELEASE_ALL_OF: &str =
        "UPDATE search_indexes SET writer = NULL, lease_until = NULL WHERE writer = $1";
    pub(crate) const RELEASE_WRITER: &str = "UPDATE search_indexes SET writer = NULL, lease_until = NULL \
        WHERE workspace_id = $1 AND writer = $2";
    pub(crate) const QUEUE: &str = "SELECT kind, item_id, changes FROM search_queue \
        WHERE workspace_id = $1 ORDER BY queued_at, kind, item_id LIMIT $2";
    pub(crate) const RECORD_COMMIT: &str = "UPDATE search_indexes SET generation = generation + 1, \
        manifest = $4, documents = $5, sealed_bytes = $6, committed_at = $7, last_error = NULL, \
        failures = 0, retry_at = NULL, garbage = $10, \
        rebuild = CASE WHEN $8 AND rebuild_asks = $9 THEN FALSE ELSE rebuild END, \
        forgotten = CASE WHEN $8 THEN NULL ELSE forgotten END \
        WHERE workspace_id = $1 AND writer = $2 AND generation = $3";
    pub(crate) const RECORD_GARBAGE: &str =
        "UPDATE search_indexes SET garbage = $3 WHERE workspace_id = $1 AND writer = $2";
    pub(crate) const CLEAR_ERROR: &str = "UPDATE search_indexes SET last_error = NULL, \
        failures = 0, retry_at = NULL WHERE workspace_id = $1 AND writer = $2";
    pub(crate) const DELETE_QUEUED: &str = "DELETE FROM search_queue \
        WHERE workspace_id = $1 AND kind = $2 AND item_id = $3 AND changes = $4";
    pub(crate) const RECORD_ERROR: &str = "UPDATE search_indexes SET last_error = $2, \
        failures = failures + 1, retry_at = $3 WHERE workspace_id = $1 AND writer = $4";
    pub(crate) const REQUEST_REBUILD: &str = "UPDATE search_indexes SET rebuild = TRUE, \
        rebuild_asks = rebuild_asks + 1 WHERE workspace_id = $1";
    pub(crate) const SET_LANGUAGE: &str = "UPDATE workspaces SET search_language = $2 \
        WHERE id = $1 AND search_language <> $2";
    pub(crate) const LANGUAGE: &str = "SELECT search_language FROM workspaces WHERE id = $1";
    pub(crate) const QUEUE_MEMBER: &str = "INSERT INTO search_queue (workspace_id, kind, item_id, queued_at) \
        VALUES ($1, 'member', $2, $3) \
        ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1";

    item_statements!(
        IDEA,
        IDEAS,
        "SELECT i.id, i.discussion_id, d.space_id, i.author_id, i.summary, i.body, i.stage_id, \
         i.score, i.created_at, i.deleted_at FROM ideas i \
         JOIN discussions d ON d.workspace_id = i.workspace_id AND d.id = i.discussion_id \
         WHERE i.workspace_id = $1",
        "i.id"
    );
    item_statements!(
        COMMENT,
        COMMENTS,
        "SELECT c.id, c.idea_id, i.discussion_id, d.space_id, c.author_id, c.body, c.created_at, \
         c.deleted_at, i.deleted_at AS idea_deleted_at FROM comments c \
         JOIN ideas i ON i.workspace_id = c.workspace_id AND i.id = c.idea_id \
         JOIN discussions d ON d.workspace_id = i.workspace_id AND d.id = i.discussion_id \
         WHERE c.workspace_id = $1",
        "c.id"
    );
    item_statements!(
        DISCUSSION,
        DISCUSSIONS,
        "SELECT d.id, d.space_id, d.title, d.description, d.created_by, d.created_at \
         FROM discussions d WHERE d.workspace_id = $1",
        "d.id"
    );
    item_statements!(
        SPACE,
        SPACES,
        "SELECT s.id, s.name, s.description, s.created_by, s.created_at \
         FROM spaces s WHERE s.workspace_id = $1",
        "s.id"
    );
    item_statements!(
        LINK,
        LINKS,
        "SELECT l.id, l.idea_id, i.discussion_id, d.space_id, l.url, l.title, l.created_by, \
         l.created_at, i.deleted_at AS idea_deleted_at, c.deleted_at AS comment_deleted_at \
         FROM links l JOIN ideas i ON i.workspace_id = l.workspace_id AND i.id = l.idea_id \
         LEFT JOIN comments c ON c.workspace_id = l.workspace_id AND c.id = l.comment_id \
         JOIN discussions d ON d.workspace_id = i.workspace_id AND d.id = i.discussion_id \
         WHERE l.workspace_id = $1",
        "l.id"
    );
    item_statements!(
        FILE,
        FILES,
        "SELECT a.id, a.idea_id, i.discussion_id, d.space_id, a.uploader_id, a.filename, \
         a.created_at, i.deleted_at AS idea_deleted_at, c.deleted_at AS comment_deleted_at \
         FROM attachments a JOIN ideas i ON i.workspace_id = a.workspace_id AND i.id = a.idea_id \
         LEFT JOIN comments c ON c.workspace_id = a.workspace_id AND c.id = a.comment_id \
         JOIN discussions d ON d.workspace_id = i.workspace_id AND d.id = i.discussion_id \
         WHERE a.workspace_id = $1",
        "a.id"
    );
    item_statements!(
        MEMBER,
        MEMBERS,
        "SELECT m.user_id, u.name, m.joined_at FROM memberships m \
         JOIN users u ON u.id = m.user_id \
         WHERE m.workspace_id = $1 AND u.former_member_of IS NULL",
        "m.user_id"
    );

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("WORKSPACES_DUE", WORKSPACES_DUE),
        ("STATUS", STATUS),
        ("FORGET_MANIFESTS", FORGET_MANIFESTS),
        ("FORGET_MANIFEST_OF", FORGET_MANIFEST_OF),
        ("FORGET_QUEUE", FORGET_QUEUE),
        ("FORGET_INDEX", FORGET_INDEX),
        ("WORKSPACE_EXISTS", WORKSPACE_EXISTS),
        ("ENSURE_INDEX", ENSURE_INDEX),
        ("INDEX", INDEX),
        ("ITEM_COUNT", ITEM_COUNT),
        ("GENERATION", GENERATION),
        ("CLAIM_WRITER", CLAIM_WRITER),
        ("RELEASE_WRITER", RELEASE_WRITER),
        ("RELEASE_ALL_OF", RELEASE_ALL_OF),
        ("QUEUE", QUEUE),
        ("RECORD_COMMIT", RECORD_COMMIT),
        ("RECORD_GARBAGE", RECORD_GARBAGE),
        ("CLEAR_ERROR", CLEAR_ERROR),
        ("GENERATIONS", GENERATIONS),
        ("DELETE_QUEUED", DELETE_QUEUED),
        ("RECORD_ERROR", RECORD_ERROR),
        ("REQUEST_REBUILD", REQUEST_REBUILD),
        ("SET_LANGUAGE", SET_LANGUAGE),
        ("LANGUAGE", LANGUAGE),
        ("QUEUE_MEMBER", QUEUE_MEMBER),
        ("IDEA", IDEA),
        ("IDEAS", IDEAS),
        ("COMMENT", COMMENT),
        ("COMMENTS", COMMENTS),
        ("DISCUSSION", DISCUSSION),
        ("DISCUSSIONS", DISCUSSIONS),
        ("SPACE", SPACE),
        ("SPACES", SPACES),
        ("LINK", LINK),
        ("LINKS", LINKS),
        ("FILE", FILE),
        ("FILES", FILES),
        ("MEMBER", MEMBER),
        ("MEMBERS", MEMBERS),
    ];
}
