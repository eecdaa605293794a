//! The audit log's tables: entries, perfect-subtree hashes, the head, signed checkpoints and the
//! pseudonym mapping (AUD-01..AUD-03). The store appends and reads; the tree's rules and
//! every check live in `ideaweave-audit` and the app.

use sqlx::FromRow;
use uuid::Uuid;

use crate::{StoreResult, Tx};

/// One stored audit entry.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub at: i64,
    pub workspace_id: Option<Uuid>,
    pub actor: Option<String>,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub details: Vec<u8>,
    pub leaf_hash: Vec<u8>,
    pub root_after: Vec<u8>,
    /// The entry's MAC under a key derived from the master key (`v<version>:<hex>`); `None`
    /// for entries appended before entries were sealed.
    pub mac: Option<String>,
}

/// The tree's size and right edge.
#[derive(Debug, Clone, FromRow)]
pub struct AuditHead {
    pub size: i64,
    pub frontier: Vec<u8>,
}

/// A signed checkpoint.
#[derive(Debug, Clone, FromRow)]
pub struct AuditCheckpointRow {
    pub size: i64,
    pub root: Vec<u8>,
    pub note: String,
    pub signed_at: i64,
}

/// Which entries to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// `Some(ws)`: that workspace's entries; `None`: instance-level entries only.
    pub workspace: Option<Uuid>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<i64>,
    /// Only entries before this time.
    pub until: Option<i64>,
    /// Only entries before this index (paging).
    pub before: Option<i64>,
    /// Only entries by or about the person with this pseudonym.
    pub person: Option<String>,
    /// At most this many.
    pub limit: i64,
}

pub(crate) const ROW: &str = "SELECT seq, at, workspace_id, actor, action, target, outcome, details, leaf_hash, root_after, mac FROM audit_entries";

impl Tx {
    /// The head, locked until the transaction ends so appends are serialised across nodes.
    pub async fn audit_head_for_update(&mut self) -> StoreResult<AuditHead> {
        Ok(match &mut self.handle {
            crate::Handle::Sqlite(h) => {
                // A write transaction on SQLite already holds the database's write lock.
                sqlx::query_as(sql::AUDIT_HEAD_FOR_UPDATE)
                    .fetch_one(h.conn())
                    .await?
            }
            crate::Handle::Postgres(h) => {
                sqlx::query_as(sql::PG_AUDIT_HEAD_FOR_UPDATE_2)
                    .fetch_one(h.conn())
                    .await?
            }
        })
    }

    /// The head, unlocked.
    pub async fn audit_head(&mut self) -> StoreResult<AuditHead> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::AUDIT_HEAD_FOR_UPDATE)
                .fetch_one(c)
                .await?
        }))
    }

    /// Moves the head.
    pub async fn set_audit_head(&mut self, size: i64, frontier: &[u8]) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::SET_AUDIT_HEAD)
                .bind(size)
                .bind(frontier)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Appends an entry.
    pub async fn insert_audit_entry(&mut self, r: &AuditRow) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_AUDIT_ENTRY)
                .bind(r.seq)
                .bind(r.at)
                .bind(r.workspace_id)
                .bind(&r.actor)
                .bind(&r.action)
                .bind(&r.target)
                .bind(&r.outcome)
                .bind(&r.details)
                .bind(&r.leaf_hash)
                .bind(&r.root_after)
                .bind(&r.mac)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Stores the hash of a completed perfect subtree.
    pub async fn insert_audit_node(
        &mut self,
        level: i32,
        idx: i64,
        hash: &[u8],
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_AUDIT_NODE)
                .bind(level)
                .bind(idx)
                .bind(hash)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// The hash of a perfect subtree (level 0: an entry's leaf hash).
    pub async fn audit_node(&mut self, level: i32, idx: i64) -> StoreResult<Option<Vec<u8>>> {
        Ok(if level == 0 {
            on_conn!(self, |c| {
                sqlx::query_scalar(sql::AUDIT_NODE)
                    .bind(idx)
                    .fetch_optional(c)
                    .await?
            })
        } else {
            on_conn!(self, |c| {
                sqlx::query_scalar(sql::AUDIT_NODE_2)
                    .bind(level)
                    .bind(idx)
                    .fetch_optional(c)
                    .await?
            })
        })
    }

    /// Stored subtree hashes of `level` with index in `[from, to)`, in order.
    pub async fn audit_nodes_between(
        &mut self,
        level: i32,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, Vec<u8>)>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::AUDIT_NODES_BETWEEN)
                .bind(level)
                .bind(from)
                .bind(to)
                .fetch_all(c)
                .await?
        }))
    }

    /// Up to `limit` entries from index `from` on, in order.
    pub async fn audit_entries_from(
        &mut self,
        from: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditRow>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{ROW} WHERE seq >= $1 ORDER BY seq LIMIT $2"
            )))
            .bind(from)
            .bind(limit)
            .fetch_all(c)
            .await?
        }))
    }

    /// The seal marker: from which index on entries carry a MAC, and its MAC.
    pub async fn audit_seal_marker(&mut self) -> StoreResult<Option<(i64, String)>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as::<_, (i64, String)>("SELECT mac_from, mac FROM audit_seal WHERE id = 1")
                .fetch_optional(c)
                .await?
        }))
    }

    /// Writes the seal marker unless one exists.
    pub async fn insert_audit_seal_marker(&mut self, mac_from: i64, mac: &str) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_AUDIT_SEAL_MARKER)
                .bind(mac_from)
                .bind(mac)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// One entry.
    pub async fn audit_entry(&mut self, seq: i64) -> StoreResult<Option<AuditRow>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{ROW} WHERE seq = $1")))
                .bind(seq)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Entries matching `f`, newest first.
    pub async fn audit_entries(&mut self, f: &AuditFilter) -> StoreResult<Vec<AuditRow>> {
        let scope = if f.workspace.is_some() {
            "workspace_id = $1"
        } else {
            "workspace_id IS NULL AND $1 IS NULL"
        };
        // Only constants are formatted in; every value is bound.
        let sql = format!(
            "{ROW} WHERE {scope} AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR at >= $3) \
             AND ($4 IS NULL OR at < $4) AND ($5 IS NULL OR seq < $5) \
             AND ($7 IS NULL OR actor = $7 OR target = $8) ORDER BY seq DESC LIMIT $6"
        );
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(f.workspace)
                .bind(&f.action)
                .bind(f.since)
                .bind(f.until)
                .bind(f.before)
                .bind(f.limit)
                .bind(&f.person)
                .bind(f.person.as_ref().map(|p| format!("member:{p}")))
                .fetch_all(c)
                .await?
        }))
    }

    /// Every signed checkpoint, smallest first.
    pub async fn audit_checkpoints(&mut self) -> StoreResult<Vec<AuditCheckpointRow>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::AUDIT_CHECKPOINTS).fetch_all(c).await?
        }))
    }

    /// The latest signed checkpoint.
    pub async fn latest_audit_checkpoint(&mut self) -> StoreResult<Option<AuditCheckpointRow>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::LATEST_AUDIT_CHECKPOINT)
                .fetch_optional(c)
                .await?
        }))
    }

    /// The checkpoint signed at `size`.
    pub async fn audit_checkpoint(&mut self, size: i64) -> StoreResult<Option<AuditCheckpointRow>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::AUDIT_CHECKPOINT)
                .bind(size)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Records a signed checkpoint.
    pub async fn insert_audit_checkpoint(&mut self, r: &AuditCheckpointRow) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_AUDIT_CHECKPOINT)
                .bind(r.size)
                .bind(&r.root)
                .bind(&r.note)
                .bind(r.signed_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Remembers whom a pseudonym stands for (sealed), once.
    pub async fn insert_audit_actor(
        &mut self,
        scope: Uuid,
        pseudonym: &str,
        sealed_user: &[u8],
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_AUDIT_ACTOR)
                .bind(scope)
                .bind(pseudonym)
                .bind(sealed_user)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// The sealed person behind a pseudonym.
    pub async fn audit_actor(
        &mut self,
        scope: Uuid,
        pseudonym: &str,
    ) -> StoreResult<Option<Vec<u8>>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sql::AUDIT_ACTOR)
                .bind(scope)
                .bind(pseudonym)
                .fetch_optional(c)
                .await?
        }))
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const AUDIT_HEAD_FOR_UPDATE: &str =
        "SELECT size, frontier FROM audit_head WHERE id = 1";
    pub(crate) const PG_AUDIT_HEAD_FOR_UPDATE_2: &str =
        "SELECT size, frontier FROM audit_head WHERE id = 1 FOR UPDATE";
    pub(crate) const SET_AUDIT_HEAD: &str =
        "UPDATE audit_head SET size = $1, frontier = $2 WHERE id = 1";
    pub(crate) const INSERT_AUDIT_ENTRY: &str = "INSERT INTO audit_entries (seq, at, workspace_id, actor, action, target, outcome, details, leaf_hash, root_after, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    pub(crate) const INSERT_AUDIT_NODE: &str =
        "INSERT INTO audit_nodes (level, idx, hash) VALUES ($1, $2, $3)";
    pub(crate) const AUDIT_NODE: &str = "SELECT leaf_hash FROM audit_entries WHERE seq = $1";
    pub(crate) const AUDIT_NODE_2: &str =
        "SELECT hash FROM audit_nodes WHERE level = $1 AND idx = $2";
    pub(crate) const AUDIT_NODES_BETWEEN: &str = "SELECT idx, hash FROM audit_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx";
    pub(crate) const INSERT_AUDIT_SEAL_MARKER: &str =
        "INSERT INTO audit_seal (id, mac_from, mac) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING";
    pub(crate) const AUDIT_CHECKPOINTS: &str =
        "SELECT size, root, note, signed_at FROM audit_checkpoints ORDER BY size";
    pub(crate) const LATEST_AUDIT_CHECKPOINT: &str =
        "SELECT size, root, note, signed_at FROM audit_checkpoints ORDER BY size DESC LIMIT 1";
    pub(crate) const AUDIT_CHECKPOINT: &str =
        "SELECT size, root, note, signed_at FROM audit_checkpoints WHERE size = $1";
    pub(crate) const INSERT_AUDIT_CHECKPOINT: &str =
        "INSERT INTO audit_checkpoints (size, root, note, signed_at) VALUES ($1, $2, $3, $4)";
    pub(crate) const INSERT_AUDIT_ACTOR: &str = "INSERT INTO audit_actors (scope, pseudonym, sealed_user) VALUES ($1, $2, $3) ON CONFLICT (scope, pseudonym) DO NOTHING";
    pub(crate) const AUDIT_ACTOR: &str =
        "SELECT sealed_user FROM audit_actors WHERE scope = $1 AND pseudonym = $2";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("AUDIT_HEAD_FOR_UPDATE", AUDIT_HEAD_FOR_UPDATE),
        ("PG_AUDIT_HEAD_FOR_UPDATE_2", PG_AUDIT_HEAD_FOR_UPDATE_2),
        ("SET_AUDIT_HEAD", SET_AUDIT_HEAD),
        ("INSERT_AUDIT_ENTRY", INSERT_AUDIT_ENTRY),
        ("INSERT_AUDIT_NODE", INSERT_AUDIT_NODE),
        ("AUDIT_NODE", AUDIT_NODE),
        ("AUDIT_NODE_2", AUDIT_NODE_2),
        ("AUDIT_NODES_BETWEEN", AUDIT_NODES_BETWEEN),
        ("INSERT_AUDIT_SEAL_MARKER", INSERT_AUDIT_SEAL_MARKER),
        ("AUDIT_CHECKPOINTS", AUDIT_CHECKPOINTS),
        ("LATEST_AUDIT_CHECKPOINT", LATEST_AUDIT_CHECKPOINT),
        ("AUDIT_CHECKPOINT", AUDIT_CHECKPOINT),
        ("INSERT_AUDIT_CHECKPOINT", INSERT_AUDIT_CHECKPOINT),
        ("INSERT_AUDIT_ACTOR", INSERT_AUDIT_ACTOR),
        ("AUDIT_ACTOR", AUDIT_ACTOR),
    ];
}
