//! What backups ask of the database (BAK-01, BAK-04, BAK-05): the list of tables, a digest of
//! the content that does not depend on how the database lays it out, a row dump of PostgreSQL
//! inside one snapshot, loading such a dump into a scratch schema, and copying rows back from a
//! restored copy, the whole instance or one workspace.
//!
//! Nothing here decides what is restored or who may restore it: the backup crate does.

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::Connection;
use uuid::Uuid;

use crate::{Handle, PgHandle, SqliteHandle, Store, StoreError, StoreResult, Tx};

/// A table as backups see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// Its name.
    pub name: String,
    /// Its columns, in declaration order.
    pub columns: Vec<String>,
    /// Its primary key's columns (the order rows are read in); empty when it has none.
    pub primary_key: Vec<String>,
}

impl TableInfo {
    /// Whether rows belong to one workspace (a `workspace_id` column).
    pub fn is_workspace_data(&self) -> bool {
        self.columns.iter().any(|c| c == "workspace_id")
    }
}

/// A digest of the database's content: every row of every table, in primary-key order, in a
/// form that depends on the values only (not on pages, free space or row ids). Two copies with
/// the same digest hold the same rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentDigest {
    /// SHA-256, hex.
    pub sha256: String,
    /// Rows per table, sorted by table name.
    pub rows: Vec<(String, u64)>,
    /// Each table's own digest (SHA-256 of its rows), sorted by table name: which table
    /// differs, when two copies do.
    pub tables: Vec<(String, String)>,
}

impl ContentDigest {
    /// All rows.
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().map(|r| r.1).sum()
    }
}

/// The tables of the schema's bookkeeping, never backed up as content: the database's own,
/// and search's (its queue, index records and files' text outcomes are derived from the
/// content; a restore rebuilds every index from the restored rows, COL-05).
fn is_bookkeeping(name: &str) -> bool {
    name.starts_with("_sqlx")
        || name.starts_with("sqlite_")
        || name.starts_with("_iw_")
        || name == "search_queue"
        || name == "search_indexes"
        || name == "search_file_texts"
}

fn quoted(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The row text a digest and a PostgreSQL dump use: SQLite's `quote()` of each value, or
/// PostgreSQL's `row_to_json`, which escapes every control character (one line per row).
fn row_text_sql(is_sqlite: bool, t: &TableInfo, from: &str, filter: Option<&str>) -> String {
    let select = if is_sqlite {
        t.columns
            .iter()
            .map(|c| format!("quote({})", quoted(c)))
            .collect::<Vec<_>>()
            .join(" || ',' || ")
    } else {
        "row_to_json(t)::text".to_owned()
    };
    let order = if t.primary_key.is_empty() {
        "1".to_owned()
    } else {
        t.primary_key
            .iter()
            .map(|c| format!("t.{}", quoted(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let filter = filter.map(|f| format!(" WHERE {f}")).unwrap_or_default();
    format!("SELECT {select} FROM {from} AS t{filter} ORDER BY {order}")
}

impl Tx {
    /// Every table of the schema (migration bookkeeping aside), sorted by name.
    pub async fn backup_tables(&mut self) -> StoreResult<Vec<TableInfo>> {
        let names: Vec<String> = match &mut self.handle {
            Handle::Sqlite(h) => {
                sqlx::query_scalar(
                    "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
                )
                .fetch_all(h.conn())
                .await?
            }
            Handle::Postgres(h) => {
                sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
                )
                .fetch_all(h.conn())
                .await?
            }
        };
        let mut out = Vec::new();
        for name in names.into_iter().filter(|n| !is_bookkeeping(n)) {
            let (columns, primary_key) = match &mut self.handle {
                Handle::Sqlite(h) => {
                    let cols: Vec<(String, i64)> = sqlx::query_as(sql::SQLITE_BACKUP_TABLES)
                        .bind(&name)
                        .fetch_all(h.conn())
                        .await?;
                    let mut pk: Vec<(i64, String)> = cols
                        .iter()
                        .filter(|c| c.1 > 0)
                        .map(|c| (c.1, c.0.clone()))
                        .collect();
                    pk.sort();
                    (
                        cols.into_iter().map(|c| c.0).collect(),
                        pk.into_iter().map(|p| p.1).collect(),
                    )
                }
                Handle::Postgres(h) => {
                    let cols: Vec<String> = sqlx::query_scalar(
                        "SELECT column_name::text FROM information_schema.columns \
                         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                    )
                    .bind(&name)
                    .fetch_all(h.conn())
                    .await?;
                    let pk: Vec<String> = sqlx::query_scalar(
                        "SELECT a.attname::text FROM pg_index i \
                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                         WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass \
                           AND i.indisprimary \
                         ORDER BY array_position(i.indkey::int2[], a.attnum)",
                    )
                    .bind(&name)
                    .fetch_all(h.conn())
                    .await?;
                    (cols, pk)
                }
            };
            out.push(TableInfo {
                name,
                columns,
                primary_key,
            });
        }
        Ok(out)
    }

    /// The tables in an order where every table comes after the tables its foreign keys point
    /// at (rows are inserted in this order and deleted in the reverse).
    pub async fn tables_in_dependency_order(&mut self) -> StoreResult<Vec<TableInfo>> {
        let tables = self.backup_tables().await?;
        let mut edges: Vec<(String, String)> = Vec::new();
        for t in &tables {
            let parents: Vec<String> = match &mut self.handle {
                Handle::Sqlite(h) => {
                    sqlx::query_scalar(sql::SQLITE_TABLES_IN_DEPENDENCY_ORDER)
                        .bind(&t.name)
                        .fetch_all(h.conn())
                        .await?
                }
                Handle::Postgres(h) => {
                    sqlx::query_scalar(
                        "SELECT DISTINCT p.relname::text FROM pg_constraint c \
                         JOIN pg_class r ON r.oid = c.conrelid JOIN pg_class p ON p.oid = c.confrelid \
                         JOIN pg_namespace n ON n.oid = r.relnamespace \
                         WHERE c.contype = 'f' AND n.nspname = current_schema() AND r.relname = $1",
                    )
                    .bind(&t.name)
                    .fetch_all(h.conn())
                    .await?
                }
            };
            for p in parents.into_iter().filter(|p| *p != t.name) {
                edges.push((p, t.name.clone()));
            }
        }
        let mut ordered: Vec<TableInfo> = Vec::new();
        let mut left = tables;
        while !left.is_empty() {
            let ready: Vec<usize> = (0..left.len())
                .filter(|&i| {
                    !edges
                        .iter()
                        .any(|(p, c)| *c == left[i].name && left.iter().any(|l| l.name == *p))
                })
                .collect();
            if ready.is_empty() {
                return Err(StoreError::Migration(format!(
                    "the tables {:?} refer to each other in a cycle; backups cannot order them",
                    left.iter().map(|t| &t.name).collect::<Vec<_>>()
                )));
            }
            for i in ready.into_iter().rev() {
                ordered.push(left.remove(i));
            }
        }
        Ok(ordered)
    }

    /// Streams `table`'s rows as the text the digest reads (see [`Tx::content_digest`]), in
    /// primary-key order, to `row`.
    pub async fn table_rows(
        &mut self,
        table: &TableInfo,
        row: &mut (dyn FnMut(&str) -> StoreResult<()> + Send),
    ) -> StoreResult<u64> {
        let sql = row_text_sql(
            matches!(self.handle, Handle::Sqlite(_)),
            table,
            &quoted(&table.name),
            None,
        );
        let mut n = 0;
        on_conn!(self, |c| {
            let mut rows =
                sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql)).fetch(c);
            while let Some(text) = rows.try_next().await? {
                row(text.as_deref().unwrap_or("NULL"))?;
                n += 1;
            }
        });
        Ok(n)
    }

    /// The digest of every row of every table, as this transaction sees them.
    pub async fn content_digest(&mut self) -> StoreResult<ContentDigest> {
        let tables = self.backup_tables().await?;
        let mut hasher = ContentHasher::default();
        for t in &tables {
            hasher.table(&t.name);
            self.table_rows(t, &mut |r| {
                hasher.row(r);
                Ok(())
            })
            .await?;
        }
        Ok(hasher.finish())
    }

    /// The stored files the rows point at, as `(workspace, object)` keys: attachments and
    /// finished web exports.
    pub async fn stored_file_keys(&mut self) -> StoreResult<Vec<(Uuid, Uuid)>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT workspace_id, id FROM attachments \
                 UNION ALL SELECT workspace_id, id FROM workspace_exports WHERE state = 'ready' \
                 ORDER BY 1, 2",
            )
            .fetch_all(c)
            .await?
        }))
    }

    /// The newest migration applied.
    pub async fn schema_version(&mut self) -> StoreResult<i64> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar::<_, Option<i64>>(sql::SCHEMA_VERSION)
                .fetch_one(c)
                .await?
                .unwrap_or(0)
        }))
    }

    /// PostgreSQL: the connection, with the table that holds dumped rows until they load.
    async fn staging_table(&mut self) -> StoreResult<&mut sqlx::PgConnection> {
        let Handle::Postgres(h) = &mut self.handle else {
            return Err(StoreError::Migration(
                "row dumps are loaded into PostgreSQL only".into(),
            ));
        };
        let c = h.conn();
        sqlx::query(
            "CREATE UNLOGGED TABLE IF NOT EXISTS _iw_stage (tbl TEXT NOT NULL, line TEXT NOT NULL)",
        )
        .execute(&mut *c)
        .await?;
        Ok(c)
    }

    /// PostgreSQL: keeps dumped rows of `table` (lines of `row_to_json`) aside until
    /// [`Tx::load_staged_rows`]; rows go in per table in one statement, so rows of one table
    /// that refer to each other load in any order.
    pub async fn stage_rows(&mut self, table: &str, lines: &[String]) -> StoreResult<()> {
        let c = self.staging_table().await?;
        sqlx::query(sql::PG_STAGE_ROWS)
            .bind(table)
            .bind(lines)
            .execute(&mut *c)
            .await?;
        Ok(())
    }

    /// PostgreSQL: inserts every staged row into its table, parents first, then drops the
    /// staging table. A row that does not fit its table (a column the schema lacks, a broken
    /// reference) is an error naming the table.
    pub async fn load_staged_rows(&mut self) -> StoreResult<u64> {
        let tables = self.tables_in_dependency_order().await?;
        let c = self.staging_table().await?;
        // Rows the migrations seeded (the empty audit head) give way to the dumped ones.
        for t in tables.iter().rev() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {}",
                quoted(&t.name)
            )))
            .execute(&mut *c)
            .await?;
        }
        let mut n = 0;
        for t in &tables {
            let cols = t
                .columns
                .iter()
                .map(|c| quoted(c))
                .collect::<Vec<_>>()
                .join(", ");
            let name = quoted(&t.name);
            let sql = format!(
                "INSERT INTO {name} ({cols}) SELECT {cols} FROM \
                 (SELECT (json_populate_record(NULL::{name}, line::json)).* FROM _iw_stage WHERE tbl = $1) AS r"
            );
            n += sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&t.name)
                .execute(&mut *c)
                .await
                .map_err(|e| {
                    StoreError::Migration(format!("the rows of table {} do not load: {e}", t.name))
                })?
                .rows_affected();
        }
        let unknown: Option<String> = sqlx::query_scalar(sql::PG_LOAD_STAGED_ROWS)
            .bind(tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>())
            .fetch_optional(&mut *c)
            .await?;
        if let Some(t) = unknown {
            return Err(StoreError::Migration(format!(
                "the dump holds rows of a table {t:?} this schema does not have"
            )));
        }
        sqlx::query(sql::PG_LOAD_STAGED_ROWS_2)
            .execute(&mut *c)
            .await?;
        Ok(n)
    }

    /// Deletes the live rows of `table` (those whose `filter` column holds the id, when
    /// given).
    pub async fn delete_table_rows(
        &mut self,
        table: &TableInfo,
        filter: Option<(&str, Uuid)>,
    ) -> StoreResult<u64> {
        let sql = format!(
            "DELETE FROM {}{}",
            quoted(&table.name),
            where_clause(filter)
        );
        Ok(on_conn!(self, |c| {
            let q = sqlx::query(sqlx::AssertSqlSafe(sql));
            let q = match filter {
                Some((_, w)) => q.bind(w),
                None => q,
            };
            q.execute(c).await?.rows_affected()
        }))
    }

    /// Copies `table`'s rows from the restored copy (`source`, see [`RestoreSource`]) into the
    /// live table: those whose `filter` column holds the id, or all. The live table's columns
    /// are copied (the copy was migrated to the same schema first).
    pub async fn copy_table_rows(
        &mut self,
        source: &RestoreSource,
        table: &TableInfo,
        filter: Option<(&str, Uuid)>,
    ) -> StoreResult<u64> {
        let cols = table
            .columns
            .iter()
            .map(|c| quoted(c))
            .collect::<Vec<_>>()
            .join(", ");
        let name = quoted(&table.name);
        let from = format!("{}.{name}", quoted(source.schema()));
        let sql = format!(
            "INSERT INTO {name} ({cols}) SELECT {cols} FROM {from}{}",
            where_clause(filter)
        );
        Ok(on_conn!(self, |c| {
            let q = sqlx::query(sqlx::AssertSqlSafe(sql));
            let q = match filter {
                Some((_, w)) => q.bind(w),
                None => q,
            };
            q.execute(c)
                .await
                .map_err(|e| {
                    StoreError::Migration(format!(
                        "the rows of table {} do not restore: {e}",
                        table.name
                    ))
                })?
                .rows_affected()
        }))
    }

    /// Rows of `table` in the restored copy (filtered as in [`Tx::copy_table_rows`]).
    pub async fn count_source_rows(
        &mut self,
        source: &RestoreSource,
        table: &TableInfo,
        filter: Option<(&str, Uuid)>,
    ) -> StoreResult<i64> {
        let from = format!("{}.{}", quoted(source.schema()), quoted(&table.name));
        self.count_rows(&from, filter).await
    }

    /// Rows of the live `table` (filtered as in [`Tx::copy_table_rows`]).
    pub async fn count_live_rows(
        &mut self,
        table: &TableInfo,
        filter: Option<(&str, Uuid)>,
    ) -> StoreResult<i64> {
        self.count_rows(&quoted(&table.name), filter).await
    }

    async fn count_rows(&mut self, from: &str, filter: Option<(&str, Uuid)>) -> StoreResult<i64> {
        let sql = format!("SELECT COUNT(*) FROM {from}{}", where_clause(filter));
        Ok(on_conn!(self, |c| {
            let q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
            let q = match filter {
                Some((_, w)) => q.bind(w),
                None => q,
            };
            q.fetch_one(c).await?
        }))
    }

    /// The id of the workspace `slug` in the restored copy.
    pub async fn source_workspace(
        &mut self,
        source: &RestoreSource,
        slug: &str,
    ) -> StoreResult<Option<Uuid>> {
        let sql = format!(
            "SELECT id FROM {}.workspaces WHERE slug = $1",
            quoted(source.schema())
        );
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(slug)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Columns of workspace data that point at an account: `(table, column)`.
    pub async fn user_references(&mut self) -> StoreResult<Vec<(String, String)>> {
        let mut out = Vec::new();
        for t in self.backup_tables().await? {
            if !t.is_workspace_data() {
                continue;
            }
            let cols: Vec<String> = match &mut self.handle {
                Handle::Sqlite(h) => {
                    sqlx::query_scalar(
                        "SELECT \"from\" FROM pragma_foreign_key_list($1) WHERE \"table\" = 'users'",
                    )
                    .bind(&t.name)
                    .fetch_all(h.conn())
                    .await?
                }
                Handle::Postgres(h) => {
                    sqlx::query_scalar(
                        "SELECT a.attname::text FROM pg_constraint c \
                         JOIN pg_class r ON r.oid = c.conrelid JOIN pg_class p ON p.oid = c.confrelid \
                         JOIN pg_namespace n ON n.oid = r.relnamespace \
                         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) \
                         WHERE c.contype = 'f' AND n.nspname = current_schema() AND r.relname = $1 AND p.relname = 'users'",
                    )
                    .bind(&t.name)
                    .fetch_all(h.conn())
                    .await?
                }
            };
            out.extend(cols.into_iter().map(|c| (t.name.clone(), c)));
        }
        out.push(("users".into(), "former_member_of".into()));
        Ok(out)
    }

    /// Accounts the restored copy's rows of `workspace` point at that the live database does
    /// not have (deleted since the backup was taken).
    pub async fn users_missing_for(
        &mut self,
        source: &RestoreSource,
        workspace: Uuid,
    ) -> StoreResult<Vec<Uuid>> {
        let src = quoted(source.schema());
        let refs = self.user_references().await?;
        let selects: Vec<String> = refs
            .iter()
            .map(|(t, c)| {
                if t == "users" {
                    format!("SELECT id AS uid FROM {src}.users WHERE former_member_of = $1")
                } else {
                    format!(
                        "SELECT {} AS uid FROM {src}.{} WHERE workspace_id = $1",
                        quoted(c),
                        quoted(t)
                    )
                }
            })
            .collect();
        let sql = format!(
            "SELECT DISTINCT r.uid FROM ({}) AS r WHERE r.uid IS NOT NULL AND r.uid NOT IN (SELECT id FROM users)",
            selects.join(" UNION ")
        );
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(workspace)
                .fetch_all(c)
                .await?
        }))
    }

    /// The person whose data key `key` of workspace `ws` is (before the key is deleted).
    pub async fn subject_of_key(&mut self, ws: Uuid, key: Uuid) -> StoreResult<Option<Uuid>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar::<_, Option<Uuid>>(sql::SUBJECT_OF_KEY)
                .bind(ws)
                .bind(key)
                .fetch_optional(c)
                .await?
                .flatten()
        }))
    }

    /// The account whose own key `key` is (before the key is deleted).
    pub async fn account_of_key(&mut self, key: Uuid) -> StoreResult<Option<Uuid>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sql::ACCOUNT_OF_KEY)
                .bind(key)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Whether the copy has a membership of `person` in `ws`, or anything else of them there.
    pub async fn is_member(&mut self, ws: Uuid, person: Uuid) -> StoreResult<bool> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar::<_, i64>(sql::IS_MEMBER)
                .bind(ws)
                .bind(person)
                .fetch_one(c)
                .await?
                > 0
        }))
    }

    /// Deletes an account of a restored copy whose own key was destroyed since (after it was
    /// taken out of every workspace): its sessions, tokens, links and the row itself.
    pub async fn delete_erased_account(&mut self, user: Uuid) -> StoreResult<()> {
        on_conn!(self, |c| {
            for sql in [
                "DELETE FROM sessions WHERE user_id = $1",
                "DELETE FROM api_tokens WHERE user_id = $1",
                "DELETE FROM password_resets WHERE user_id = $1",
                "DELETE FROM email_changes WHERE user_id = $1",
                "DELETE FROM users WHERE id = $1 AND former_member_of IS NULL",
            ] {
                sqlx::query(sql).bind(user).execute(&mut *c).await?;
            }
        });
        Ok(())
    }

    /// Whether the workspace `ws` exists.
    pub async fn has_workspace(&mut self, ws: Uuid) -> StoreResult<bool> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar::<_, i64>(sql::HAS_WORKSPACE)
                .bind(ws)
                .fetch_one(c)
                .await?
                > 0
        }))
    }
}

/// Where restored rows are read from: a restored copy next to the live database.
#[derive(Debug, Clone)]
pub enum RestoreSource {
    /// A SQLite file attached to the live connection under the schema name `iw_restore`.
    SqliteFile(std::path::PathBuf),
    /// A schema of the live PostgreSQL database the copy was loaded into.
    PostgresSchema(String),
}

impl RestoreSource {
    fn schema(&self) -> &str {
        match self {
            Self::SqliteFile(_) => "iw_restore",
            Self::PostgresSchema(s) => s,
        }
    }
}

impl Store {
    /// Opens a SQLite copy (a backup's database file) on its own, in rollback-journal mode so
    /// that it stays one file.
    pub async fn open_sqlite_copy(path: &std::path::Path) -> StoreResult<Store> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Delete)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        Ok(Store {
            pool: crate::Pool::Sqlite(pool),
        })
    }

    /// A new, empty schema `schema` in the PostgreSQL database at `url`, and a store whose
    /// statements run in it (migrations included): where a backup is restored for a trial or
    /// before its rows are copied back.
    pub async fn create_postgres_schema(url: &str, schema: &str) -> StoreResult<Store> {
        use std::str::FromStr;

        use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
        if !schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::InvalidUrl(format!(
                "{schema:?} is not a schema name"
            )));
        }
        let opts =
            PgConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
        let mut c = sqlx::PgConnection::connect_with(&opts).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut c)
            .await?;
        c.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(opts.options([("search_path", schema)]))
            .await?;
        Ok(Store {
            pool: crate::Pool::Postgres(pool),
        })
    }

    /// Drops a schema made by [`Store::create_postgres_schema`].
    pub async fn drop_postgres_schema(url: &str, schema: &str) -> StoreResult<()> {
        use std::str::FromStr;

        use sqlx::postgres::PgConnectOptions;
        if !schema.starts_with("iw_")
            || !schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::InvalidUrl(format!(
                "{schema:?} is not a restore schema"
            )));
        }
        let opts =
            PgConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
        let mut c = sqlx::PgConnection::connect_with(&opts).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(&mut c)
        .await?;
        c.close().await?;
        Ok(())
    }

    /// A write transaction that can also read the restored copy `source` (on SQLite the file
    /// is attached to this connection, which is closed afterwards rather than pooled).
    pub async fn begin_restore(&self, source: &RestoreSource) -> StoreResult<Tx> {
        let handle = match (&self.pool, source) {
            (crate::Pool::Sqlite(p), RestoreSource::SqliteFile(path)) => {
                let mut c = p.acquire().await?;
                c.close_on_drop();
                let file = path.to_str().ok_or_else(|| {
                    StoreError::InvalidUrl(format!("{} is not UTF-8", path.display()))
                })?;
                sqlx::query(sql::SQLITE_BEGIN_RESTORE)
                    .bind(file)
                    .execute(&mut *c)
                    .await?;
                sqlx::query(sql::SQLITE_BEGIN_RESTORE_2)
                    .execute(&mut *c)
                    .await?;
                Handle::Sqlite(SqliteHandle::Conn(c))
            }
            (crate::Pool::Postgres(p), RestoreSource::PostgresSchema(_)) => {
                Handle::Postgres(PgHandle::Tx(p.begin().await?))
            }
            _ => {
                return Err(StoreError::InvalidUrl(
                    "a backup restores into the kind of database it was taken from".into(),
                ));
            }
        };
        Ok(Tx { handle })
    }

    /// Commits a transaction from [`Store::begin_restore`].
    pub async fn commit_restore(&self, mut tx: Tx) -> StoreResult<()> {
        match &mut tx.handle {
            Handle::Sqlite(SqliteHandle::Conn(c)) => {
                sqlx::query(sql::COMMIT_RESTORE).execute(&mut **c).await?;
                sqlx::query(sql::SQLITE_COMMIT_RESTORE_2)
                    .execute(&mut **c)
                    .await?;
                Ok(())
            }
            _ => tx.commit().await,
        }
    }
}

fn where_clause(filter: Option<(&str, Uuid)>) -> String {
    filter
        .map(|(col, _)| format!(" WHERE {} = $1", quoted(col)))
        .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One backup attempt as recorded (see migration 0014).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BackupRunRow {
    /// The backup's id (also in its object's name).
    pub id: String,
    /// When it started.
    pub started_at: i64,
    /// Until when the node running it holds it.
    pub lease_until: i64,
    /// `host:pid` of the process taking it.
    pub holder: String,
    /// When it ended.
    pub finished_at: Option<i64>,
    /// `running`, `verified` or `failed`.
    pub state: String,
    /// The object's name in the targets.
    pub object: Option<String>,
    /// The object's size.
    pub bytes: Option<i64>,
    /// The object's SHA-256, hex.
    pub sha256: Option<String>,
    /// The content digest recorded at backup time.
    pub content_digest: Option<String>,
    /// The verification's summary, or what failed.
    pub detail: Option<String>,
}

/// How a backup attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOutcome {
    /// `verified` or `failed`.
    pub state: &'static str,
    /// The object's name.
    pub object: Option<String>,
    /// Its size.
    pub bytes: Option<i64>,
    /// Its SHA-256.
    pub sha256: Option<String>,
    /// The content digest.
    pub content_digest: Option<String>,
    /// Summary or error.
    pub detail: String,
}

impl Tx {
    /// Adds `n` to the count of keys the shred ledger should list.
    pub async fn count_shredded(&mut self, n: u64) -> StoreResult<()> {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        on_conn!(self, |c| {
            sqlx::query(sql::COUNT_SHREDDED).bind(n).execute(c).await?;
        });
        Ok(())
    }

    /// Renews the lease of the serving node `holder` (`host:pid`) until `until`.
    pub async fn renew_node_lease(
        &mut self,
        holder: &str,
        now: i64,
        until: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::RENEW_NODE_LEASE)
                .bind(holder)
                .bind(now)
                .bind(until)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Ends the lease of `holder` (a node shutting down).
    pub async fn end_node_lease(&mut self, holder: &str) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::END_NODE_LEASE)
                .bind(holder)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// The nodes whose lease runs past `now`: `(holder, lease_until)`.
    pub async fn live_nodes(&mut self, now: i64) -> StoreResult<Vec<(String, i64)>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::LIVE_NODES)
                .bind(now)
                .fetch_all(c)
                .await?
        }))
    }

    /// How many keys the shred ledger should list.
    pub async fn shredded_count(&mut self) -> StoreResult<u64> {
        let n: Option<i64> = on_conn!(self, |c| {
            sqlx::query_scalar(sql::SHREDDED_COUNT)
                .fetch_optional(c)
                .await?
        });
        Ok(n.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    /// Starts a backup attempt unless another node's is running (its lease not run out).
    /// Returns whether this one may go ahead.
    pub async fn claim_backup_run(
        &mut self,
        id: &str,
        holder: &str,
        now: i64,
        lease_until: i64,
    ) -> StoreResult<bool> {
        if let Handle::Postgres(h) = &mut self.handle {
            // Serialises the claim across nodes for the rest of this transaction.
            sqlx::query(sql::PG_CLAIM_BACKUP_RUN)
                .execute(h.conn())
                .await?;
        }
        let n = on_conn!(self, |c| {
            sqlx::query(
                "INSERT INTO backup_runs (id, started_at, lease_until, holder, state) \
                 SELECT $1, $2, $3, $4, 'running' WHERE NOT EXISTS \
                 (SELECT 1 FROM backup_runs WHERE state = 'running' AND lease_until > $2)",
            )
            .bind(id)
            .bind(now)
            .bind(lease_until)
            .bind(holder)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Keeps a running backup's claim.
    pub async fn extend_backup_run(&mut self, id: &str, lease_until: i64) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::EXTEND_BACKUP_RUN)
                .bind(id)
                .bind(lease_until)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Records how a backup attempt ended.
    pub async fn finish_backup_run(
        &mut self,
        id: &str,
        now: i64,
        outcome: &BackupOutcome,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(
                "UPDATE backup_runs SET finished_at = $2, state = $3, object = $4, bytes = $5, sha256 = $6, \
                 content_digest = $7, detail = $8 WHERE id = $1 AND state = 'running'",
            )
            .bind(id).bind(now).bind(outcome.state).bind(&outcome.object).bind(outcome.bytes)
            .bind(&outcome.sha256).bind(&outcome.content_digest).bind(&outcome.detail)
            .execute(c).await?;
        });
        Ok(())
    }

    /// Marks running attempts as failed when their lease ran out or `is_dead` says their
    /// process is gone (killed, crashed), and returns their ids, so that each is reported once.
    pub async fn fail_abandoned_backup_runs(
        &mut self,
        now: i64,
        is_dead: &(dyn Fn(&str) -> bool + Sync),
    ) -> StoreResult<Vec<String>> {
        let running: Vec<(String, String, i64)> = on_conn!(self, |c| {
            sqlx::query_as(sql::FAIL_ABANDONED_BACKUP_RUNS)
                .fetch_all(c)
                .await?
        });
        let mut out = Vec::new();
        for (id, holder, lease_until) in running {
            if lease_until > now && !is_dead(&holder) {
                continue;
            }
            on_conn!(self, |c| {
                sqlx::query(
                    "UPDATE backup_runs SET state = 'failed', finished_at = $2, \
                     detail = 'interrupted: the process taking it stopped before it finished' \
                     WHERE id = $1 AND state = 'running'",
                )
                .bind(&id)
                .bind(now)
                .execute(c)
                .await?;
            });
            out.push(id);
        }
        Ok(out)
    }

    /// The latest attempts, newest first.
    pub async fn backup_runs(&mut self, limit: i64) -> StoreResult<Vec<BackupRunRow>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::BACKUP_RUNS)
                .bind(limit)
                .fetch_all(c)
                .await?
        }))
    }

    /// The newest verified backup.
    pub async fn last_verified_backup(&mut self) -> StoreResult<Option<BackupRunRow>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::LAST_VERIFIED_BACKUP)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Failed attempts since `since`.
    pub async fn failed_backups_since(&mut self, since: i64) -> StoreResult<i64> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sql::FAILED_BACKUPS_SINCE)
                .bind(since)
                .fetch_one(c)
                .await?
        }))
    }

    /// When the alert `kind` was last sent.
    pub async fn backup_alert_sent(&mut self, kind: &str) -> StoreResult<Option<i64>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sql::BACKUP_ALERT_SENT)
                .bind(kind)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Records that the alert `kind` was sent at `now`.
    pub async fn record_backup_alert(&mut self, kind: &str, now: i64) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::RECORD_BACKUP_ALERT)
                .bind(kind)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Forgets the alert `kind` (the problem is over).
    pub async fn clear_backup_alert(&mut self, kind: &str) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::CLEAR_BACKUP_ALERT)
                .bind(kind)
                .execute(c)
                .await?;
        });
        Ok(())
    }
}

impl Store {
    /// SQLite: the problems `PRAGMA integrity_check` and `PRAGMA foreign_key_check` find
    /// (empty when the file is sound). PostgreSQL checks constraints as rows load: empty.
    pub async fn integrity_problems(&self) -> StoreResult<Vec<String>> {
        match &self.pool {
            crate::Pool::Sqlite(p) => {
                let mut c = p.acquire().await?;
                let mut out: Vec<String> = sqlx::query_scalar(sql::SQLITE_INTEGRITY_PROBLEMS)
                    .fetch_all(&mut *c)
                    .await?
                    .into_iter()
                    .filter(|r: &String| r != "ok")
                    .collect();
                let fk: Vec<(String, Option<i64>, String)> =
                    sqlx::query_as(sql::SQLITE_INTEGRITY_PROBLEMS_2)
                        .fetch_all(&mut *c)
                        .await?;
                out.extend(fk.into_iter().take(20).map(|(t, row, parent)| {
                    format!(
                        "row {} of {t} points at a missing row of {parent}",
                        row.unwrap_or(-1)
                    )
                }));
                Ok(out)
            }
            crate::Pool::Postgres(_) => Ok(Vec::new()),
        }
    }
}

/// Feeds rows into a [`ContentDigest`] the way [`Tx::content_digest`] does, for a dump that
/// reads the rows itself.
#[derive(Debug, Default)]
pub struct ContentHasher {
    hash: Sha256,
    table: Option<(String, Sha256)>,
    rows: Vec<(String, u64)>,
    tables: Vec<(String, String)>,
}

impl ContentHasher {
    /// Starts a table (tables come sorted by name).
    pub fn table(&mut self, name: &str) {
        self.end_table();
        self.hash.update(format!("table {name}\n").as_bytes());
        self.rows.push((name.to_owned(), 0));
        self.table = Some((name.to_owned(), Sha256::new()));
    }

    fn end_table(&mut self) {
        if let Some((name, h)) = self.table.take() {
            self.tables.push((name, hex(&h.finalize())));
        }
    }

    /// One row's text, as [`Tx::table_rows`] gives it.
    pub fn row(&mut self, text: &str) {
        let len = (text.len() as u64).to_le_bytes();
        self.hash.update(len);
        self.hash.update(text.as_bytes());
        if let Some((_, h)) = self.table.as_mut() {
            h.update(len);
            h.update(text.as_bytes());
        }
        if let Some(last) = self.rows.last_mut() {
            last.1 += 1;
        }
    }

    /// The digest.
    pub fn finish(mut self) -> ContentDigest {
        self.end_table();
        ContentDigest {
            sha256: hex(&self.hash.finalize()),
            rows: self.rows,
            tables: self.tables,
        }
    }
}

impl crate::WorkspaceRepo<'_> {
    /// Adds `n` to the count of keys the shred ledger should list (see
    /// [`Tx::count_shredded`]).
    pub async fn count_shredded(&mut self, n: u64) -> StoreResult<()> {
        self.tx.count_shredded(n).await
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const SQLITE_BACKUP_TABLES: &str =
        "SELECT name, pk FROM pragma_table_info($1) ORDER BY cid";
    pub(crate) const SQLITE_TABLES_IN_DEPENDENCY_ORDER: &str =
        "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list($1)";
    pub(crate) const SCHEMA_VERSION: &str =
        "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
    pub(crate) const PG_STAGE_ROWS: &str =
        "INSERT INTO _iw_stage (tbl, line) SELECT $1, l FROM unnest($2::text[]) AS l";
    pub(crate) const PG_LOAD_STAGED_ROWS: &str =
        "SELECT tbl FROM _iw_stage WHERE tbl <> ALL($1::text[]) LIMIT 1";
    pub(crate) const PG_LOAD_STAGED_ROWS_2: &str = "DROP TABLE _iw_stage";
    pub(crate) const SUBJECT_OF_KEY: &str =
        "SELECT subject_id FROM data_keys WHERE workspace_id = $1 AND id = $2";
    pub(crate) const ACCOUNT_OF_KEY: &str = "SELECT user_id FROM account_keys WHERE id = $1";
    pub(crate) const IS_MEMBER: &str =
        "SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND user_id = $2";
    pub(crate) const HAS_WORKSPACE: &str = "SELECT COUNT(*) FROM workspaces WHERE id = $1";
    pub(crate) const SQLITE_BEGIN_RESTORE: &str = "ATTACH DATABASE $1 AS iw_restore";
    pub(crate) const SQLITE_BEGIN_RESTORE_2: &str = "BEGIN IMMEDIATE";
    pub(crate) const COMMIT_RESTORE: &str = "COMMIT";
    pub(crate) const SQLITE_COMMIT_RESTORE_2: &str = "DETACH DATABASE iw_restore";
    pub(crate) const COUNT_SHREDDED: &str = "INSERT INTO shred_count (id, entries) VALUES (1, $1) \
                         ON CONFLICT (id) DO UPDATE SET entries = shred_count.entries + excluded.entries";
    pub(crate) const RENEW_NODE_LEASE: &str = "INSERT INTO node_leases (holder, started_at, lease_until) VALUES ($1, $2, $3) \
                         ON CONFLICT (holder) DO UPDATE SET lease_until = excluded.lease_until";
    pub(crate) const END_NODE_LEASE: &str = "DELETE FROM node_leases WHERE holder = $1";
    pub(crate) const LIVE_NODES: &str =
        "SELECT holder, lease_until FROM node_leases WHERE lease_until > $1 ORDER BY holder";
    pub(crate) const SHREDDED_COUNT: &str = "SELECT entries FROM shred_count WHERE id = 1";
    pub(crate) const PG_CLAIM_BACKUP_RUN: &str = "SELECT pg_advisory_xact_lock(7370001)";
    pub(crate) const EXTEND_BACKUP_RUN: &str =
        "UPDATE backup_runs SET lease_until = $2 WHERE id = $1 AND state = 'running'";
    pub(crate) const FAIL_ABANDONED_BACKUP_RUNS: &str =
        "SELECT id, holder, lease_until FROM backup_runs WHERE state = 'running'";
    pub(crate) const BACKUP_RUNS: &str =
        "SELECT * FROM backup_runs ORDER BY started_at DESC, id DESC LIMIT $1";
    pub(crate) const LAST_VERIFIED_BACKUP: &str =
        "SELECT * FROM backup_runs WHERE state = 'verified' ORDER BY finished_at DESC LIMIT 1";
    pub(crate) const FAILED_BACKUPS_SINCE: &str =
        "SELECT COUNT(*) FROM backup_runs WHERE state = 'failed' AND started_at >= $1";
    pub(crate) const BACKUP_ALERT_SENT: &str = "SELECT sent_at FROM backup_alerts WHERE kind = $1";
    pub(crate) const RECORD_BACKUP_ALERT: &str = "INSERT INTO backup_alerts (kind, sent_at) VALUES ($1, $2) \
                         ON CONFLICT (kind) DO UPDATE SET sent_at = excluded.sent_at";
    pub(crate) const CLEAR_BACKUP_ALERT: &str = "DELETE FROM backup_alerts WHERE kind = $1";
    pub(crate) const SQLITE_INTEGRITY_PROBLEMS: &str = "PRAGMA integrity_check";
    pub(crate) const SQLITE_INTEGRITY_PROBLEMS_2: &str =
        "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("SQLITE_BACKUP_TABLES", SQLITE_BACKUP_TABLES),
        (
            "SQLITE_TABLES_IN_DEPENDENCY_ORDER",
            SQLITE_TABLES_IN_DEPENDENCY_ORDER,
        ),
        ("SCHEMA_VERSION", SCHEMA_VERSION),
        ("PG_STAGE_ROWS", PG_STAGE_ROWS),
        ("PG_LOAD_STAGED_ROWS", PG_LOAD_STAGED_ROWS),
        ("PG_LOAD_STAGED_ROWS_2", PG_LOAD_STAGED_ROWS_2),
        ("SUBJECT_OF_KEY", SUBJECT_OF_KEY),
        ("ACCOUNT_OF_KEY", ACCOUNT_OF_KEY),
        ("IS_MEMBER", IS_MEMBER),
        ("HAS_WORKSPACE", HAS_WORKSPACE),
        ("SQLITE_BEGIN_RESTORE", SQLITE_BEGIN_RESTORE),
        ("SQLITE_BEGIN_RESTORE_2", SQLITE_BEGIN_RESTORE_2),
        ("COMMIT_RESTORE", COMMIT_RESTORE),
        ("SQLITE_COMMIT_RESTORE_2", SQLITE_COMMIT_RESTORE_2),
        ("COUNT_SHREDDED", COUNT_SHREDDED),
        ("RENEW_NODE_LEASE", RENEW_NODE_LEASE),
        ("END_NODE_LEASE", END_NODE_LEASE),
        ("LIVE_NODES", LIVE_NODES),
        ("SHREDDED_COUNT", SHREDDED_COUNT),
        ("PG_CLAIM_BACKUP_RUN", PG_CLAIM_BACKUP_RUN),
        ("EXTEND_BACKUP_RUN", EXTEND_BACKUP_RUN),
        ("FAIL_ABANDONED_BACKUP_RUNS", FAIL_ABANDONED_BACKUP_RUNS),
        ("BACKUP_RUNS", BACKUP_RUNS),
        ("LAST_VERIFIED_BACKUP", LAST_VERIFIED_BACKUP),
        ("FAILED_BACKUPS_SINCE", FAILED_BACKUPS_SINCE),
        ("BACKUP_ALERT_SENT", BACKUP_ALERT_SENT),
        ("RECORD_BACKUP_ALERT", RECORD_BACKUP_ALERT),
        ("CLEAR_BACKUP_ALERT", CLEAR_BACKUP_ALERT),
        ("SQLITE_INTEGRITY_PROBLEMS", SQLITE_INTEGRITY_PROBLEMS),
        ("SQLITE_INTEGRITY_PROBLEMS_2", SQLITE_INTEGRITY_PROBLEMS_2),
    ];
}
