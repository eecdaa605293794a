//! Ideaweave's storage layer.
//!
//! One [`Store`] speaks to either SQLite (embedded, the default) or PostgreSQL (scale-out). The SQL
//! is written once with `$N` placeholders, which both drivers accept, and each query runs on
//! whichever connection the store holds; the few statements that differ between the two are
//! chosen per database next to each other.
//!
//! Workspace data is reachable only through [`WorkspaceRepo`], which cannot be obtained without a
//! [`WorkspaceId`](ideaweave_domain::WorkspaceId) and puts it into every statement: no query of
//! workspace data can forget its tenant. Storage decides nothing about permissions; the `app`
//! crate asks the policy before it calls in here.

/// Runs `$body` with `$c` bound to the connection behind `$tx`, whichever database it is:
/// `on_conn!(self.tx, |c| query.fetch_all(c).await?)`. The body is compiled once per database,
/// so the same generic sqlx code serves both; the closure-like form lets rustfmt format it.
macro_rules! on_conn {
    ($tx:expr, |$c:ident| $body:expr) => {
        match &mut $tx.handle {
            $crate::Handle::Sqlite(h) => {
                let $c = h.conn();
                $body
            }
            $crate::Handle::Postgres(h) => {
                let $c = h.conn();
                $body
            }
        }
    };
}

mod content;
mod identity;
mod platform;
mod privacy;
mod transfer;
mod trust;
mod workspace;

pub use platform::records;

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

pub use content::activity::RecentComment;
pub use content::files::{
    BoxStream, FileReader, FileStore, FileStoreError, FileWriter, LocalDirFileStore, StoredObject,
    create_private_dir, make_private_file,
};
pub use content::history::CommentRevisionRow;
pub use content::inbox::{Followed, InboxRow, NewInboxItem};
pub use content::notifications::{DigestDue, NotifiedIdea, PendingNotificationRow};
pub use content::profiles::{AuthoredComment, AuthoredIdea};
pub use content::s3_files::{S3Access, S3ConfigError, S3FileStore, S3Location};
pub use content::search::{
    LiveItem, QueuedChange, SearchCommentRow, SearchCommit, SearchDiscussionRow, SearchFileRow,
    SearchIdeaRow, SearchIndexRow, SearchLinkRow, SearchMemberRow, SearchSpaceRow, SearchStatusRow,
};
pub use content::search_file_texts::{FileTextRecord, SearchFileMeta};
pub use content::{IdeaQuery, NewAttachment, NewIdea};
pub use identity::email_change::EmailChangeRow;
pub use identity::instance::NewUser;
pub use identity::sso::{NewSsoLogin, OidcConfigRecord, SamlConfigRecord, SsoLoginRecord};
pub use identity::{
    CeremonyRecord, NewPasskey, NewSession, PasskeyRecord, SessionEntry, SessionListing,
    ThrottleRecord, TotpRecord, UNREAD_COUNTED,
};
pub use platform::keys::{
    DekRecord, KekRecord, MasterWrappedRecord, MasterWrappedTable, StoredKek,
};
pub use platform::migrate::{MigrationInfo, MigrationState};
pub use platform::outbox::{OutboxCounts, OutboxRow};
pub use privacy::erasure::{
    ErasureHandler, PERSONAL_DATA, QueuedMail, TableErasure, UnacceptedInvitation,
};
pub use privacy::personal::HeldIn;
pub use privacy::requests::{NewRequest, RequestRow};
pub use privacy::retention::DeletedComment;
pub use privacy::termination::{CertificateRow, DeletionSchedule, ScheduledDeletion};
pub use transfer::backup::{
    BackupOutcome, BackupRunRow, ContentDigest, ContentHasher, RestoreSource, TableInfo,
};
pub use transfer::export::{
    AttachmentRow, CommentRow, DiscussionRow, ExportJobRow, IdeaRow, InvitationRow, LinkRow,
    MergeRow, NamedRow, PersonRow, RatingRow, SpaceRow, VoteRow,
};
pub use trust::audit::{AuditCheckpointRow, AuditFilter, AuditHead, AuditRow};
pub use trust::support::{LiveSupportGrant, NewSupportGrant, SupportGrantRecord};
pub use workspace::{NewDiscussion, OrderedList, Within, WorkspaceRepo};

/// Every statement the store writes as a constant, as (module, name, SQL), so that one test can
/// prepare each on both databases: a typo or a renamed column fails that fast test instead of a
/// late scenario. Names starting `PG_` or `SQLITE_` are the few statements only that database
/// runs (locks, catalogue queries). (Statements assembled at run time, such as IN lists, are
/// not in the list.)
#[doc(hidden)]
pub fn statements() -> Vec<(&'static str, &'static str, &'static str)> {
    let modules: &[(&str, &[(&str, &str)])] = &[
        ("content", content::sql::ALL),
        ("content::history", content::history::sql::ALL),
        ("content::inbox", content::inbox::sql::ALL),
        ("content::notifications", content::notifications::sql::ALL),
        ("content::search", content::search::sql::ALL),
        (
            "content::search_file_texts",
            content::search_file_texts::sql::ALL,
        ),
        ("identity::email_change", identity::email_change::sql::ALL),
        ("identity::instance", identity::instance::sql::ALL),
        ("identity", identity::sql::ALL),
        (
            "identity::password_reset",
            identity::password_reset::sql::ALL,
        ),
        ("identity::sso", identity::sso::sql::ALL),
        ("platform::keys", platform::keys::sql::ALL),
        ("platform::migrate", platform::migrate::sql::ALL),
        ("platform::outbox", platform::outbox::sql::ALL),
        ("privacy::erasure", privacy::erasure::sql::ALL),
        ("privacy::personal", privacy::personal::sql::ALL),
        ("privacy::requests", privacy::requests::sql::ALL),
        ("privacy::retention", privacy::retention::sql::ALL),
        ("privacy::termination", privacy::termination::sql::ALL),
        ("transfer::backup", transfer::backup::sql::ALL),
        ("transfer::export", transfer::export::sql::ALL),
        ("trust::audit", trust::audit::sql::ALL),
        ("trust::audit_guards", trust::audit_guards::sql::ALL),
        ("trust::support", trust::support::sql::ALL),
        ("workspace", workspace::sql::ALL),
    ];
    let mut all: Vec<_> = modules
        .iter()
        .flat_map(|(module, all)| all.iter().map(move |(name, sql)| (*module, *name, *sql)))
        .collect();
    all.extend(
        content::profiles::statements()
            .into_iter()
            .map(|(name, sql)| ("content::profiles", name, sql)),
    );
    all.extend(
        content::activity::statements()
            .into_iter()
            .map(|(name, sql)| ("content::activity", name, sql)),
    );
    all
}

/// Which database a store speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A storage failure. Callers turn these into their own errors; only `Conflict` carries meaning a
/// user can act on (something with the same unique key exists).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A unique constraint was violated.
    #[error("an entry with the same unique key already exists")]
    Conflict,
    /// A migration failed or the database's schema is newer than this program.
    #[error("migration error: {0}")]
    Migration(String),
    /// The configured database URL cannot be used.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// Stored data could not be read back as the domain expects.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// A caller asked for something storage does not do (a programming error).
    #[error("storage misuse: {0}")]
    Misuse(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if e.as_database_error()
            .is_some_and(|db| db.is_unique_violation())
        {
            return StoreError::Conflict;
        }
        StoreError::Database(e)
    }
}

/// Result of a storage operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Connection pool settings.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    /// Most connections held open.
    pub max_connections: u32,
    /// How long a statement waits for a locked SQLite database before failing.
    pub busy_timeout: Duration,
    /// Whether an SQLite commit reaches the disk before it is acknowledged (REL-01).
    pub sqlite_durability: SqliteDurability,
}

/// When an SQLite commit is durable (REL-01).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteDurability {
    /// `synchronous=FULL`: the write-ahead log is synced to disk at every commit, so a commit
    /// that was acknowledged survives a power loss or kernel crash. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: the log is synced only at checkpoints. A killed process loses
    /// nothing, but a power loss may lose the last commits before the next checkpoint.
    Normal,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
            sqlite_durability: SqliteDurability::Full,
        }
    }
}

/// Drops SQLite's per-value samples (`sqlite_stat4`) and keeps the per-index summaries
/// (`sqlite_stat1`). Samples make SQLite plan with the values bound to a statement, and so
/// recompile it whenever they change: every request binds its own, and the idea page ran at half
/// its speed (BENCHMARKS.md). [`pin_query_plans`] already stops that on our connections; without
/// samples, a tool such as the `sqlite3` shell plans the same way we do too, and the statistics
/// stay a few rows per index. `ANALYZE sqlite_schema` makes this connection reload what is left.
async fn keep_only_index_statistics(c: &mut SqliteConnection) -> StoreResult<()> {
    let has_samples: Option<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat4'",
    )
    .fetch_optional(&mut *c)
    .await?;
    if has_samples.is_some() {
        sqlx::query("DELETE FROM sqlite_stat4")
            .execute(&mut *c)
            .await?;
        sqlx::query("ANALYZE sqlite_schema")
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Makes SQLite plan each statement once, whatever values are bound to it (its "query planner
/// stability guarantee"). Without it SQLite reads some bound values while planning, a `LIMIT $n`
/// among them, and then compiles the statement again on every execution because every request
/// binds afresh: a third of the idea page's time went to parsing and planning (BENCHMARKS.md).
/// The plans stay those of the index statistics, which is what a server wants: the same plan
/// for every request.
async fn pin_query_plans(c: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = c.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is the open connection sqlx lends us while `handle` keeps its worker away;
    // `SQLITE_DBCONFIG_ENABLE_QPSG` takes an int (1 = on) and an optional int* for the result.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            std::ptr::null_mut::<std::ffi::c_int>(),
        )
    };
    if rc == libsqlite3_sys::SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Configuration(
            format!("SQLite refused its query planner stability setting (code {rc})").into(),
        ))
    }
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The database behind Ideaweave. Cheap to clone: it is a handle to a connection pool.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
}

impl Store {
    /// Opens a store for `url`: `sqlite://PATH` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let pool = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::InvalidUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(match settings.sqlite_durability {
                    SqliteDurability::Full => SqliteSynchronous::Full,
                    SqliteDurability::Normal => SqliteSynchronous::Normal,
                })
                .foreign_keys(true)
                .busy_timeout(settings.busy_timeout)
                .pragma("temp_store", "memory")
                // Reads of the database file through the page cache of the kernel, without a
                // read() call and a copy per page.
                .pragma("mmap_size", "268435456");
            // An embedded database's connection cannot go away under us, so the pool does not
            // ping it before each use: that ping is a hand-off to the driver's worker thread,
            // and a page acquires a connection several times (see BENCHMARKS.md).
            let pool = SqlitePoolOptions::new()
                .max_connections(settings.max_connections)
                .min_connections(1)
                .test_before_acquire(false)
                .after_connect(|c, _| Box::pin(pin_query_plans(c)))
                .connect_with(opts)
                .await?;
            let mut c = pool.acquire().await?;
            sqlx::query("PRAGMA optimize").execute(&mut *c).await?;
            keep_only_index_statistics(&mut c).await?;
            // Whatever an earlier process left in the write-ahead log (a seed, a crash, a command
            // that did not close) moves into the database file, so that reads go straight to the
            // mapped file instead of looking each page up in the log first. PASSIVE: it never
            // waits for a server that is using the database at the same time.
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&mut *c)
                .await?;
            drop(c);
            Pool::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::InvalidUrl(format!(
                "{:?} is neither a sqlite:// nor a postgres:// URL",
                url.split(':').next().unwrap_or_default()
            )));
        };
        Ok(Self { pool })
    }

    /// Which database this store uses.
    pub fn kind(&self) -> DatabaseKind {
        match self.pool {
            Pool::Sqlite(_) => DatabaseKind::Sqlite,
            Pool::Postgres(_) => DatabaseKind::Postgres,
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`)
    /// so that two writers never deadlock upgrading a read lock.
    pub async fn begin(&self) -> StoreResult<Tx> {
        let handle = match &self.pool {
            Pool::Sqlite(p) => {
                Handle::Sqlite(SqliteHandle::Tx(p.begin_with("BEGIN IMMEDIATE").await?))
            }
            Pool::Postgres(p) => Handle::Postgres(PgHandle::Tx(p.begin().await?)),
        };
        Ok(Tx { handle })
    }

    /// A read-only transaction whose statements all see one snapshot of the database, for
    /// reading many pages that must agree with each other (an export).
    pub async fn snapshot(&self) -> StoreResult<Tx> {
        let handle = match &self.pool {
            Pool::Sqlite(p) => {
                let mut c = p.acquire().await?;
                // A snapshot reads a whole workspace once: through SQLite's small page cache
                // rather than the mapped file, which would count every page read as resident
                // memory of the process, on a connection closed (not returned to the pool) when
                // it is dropped, which also ends the read transaction.
                c.close_on_drop();
                sqlx::query("PRAGMA mmap_size = 0").execute(&mut *c).await?;
                sqlx::query("BEGIN").execute(&mut *c).await?;
                Handle::Sqlite(SqliteHandle::Conn(c))
            }
            Pool::Postgres(p) => Handle::Postgres(PgHandle::Tx(
                p.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            )),
        };
        Ok(Tx { handle })
    }

    /// A connection for reads outside a transaction: each statement sees the latest committed data.
    pub async fn read(&self) -> StoreResult<Tx> {
        let handle = match &self.pool {
            Pool::Sqlite(p) => Handle::Sqlite(SqliteHandle::Conn(p.acquire().await?)),
            Pool::Postgres(p) => Handle::Postgres(PgHandle::Conn(p.acquire().await?)),
        };
        Ok(Tx { handle })
    }

    /// Checks that the database answers (readiness).
    pub async fn ping(&self) -> StoreResult<()> {
        let mut tx = self.read().await?;
        on_conn!(tx, |c| {
            sqlx::query("SELECT 1").execute(c).await?;
        });
        Ok(())
    }

    /// Refreshes the query planner's statistics, after a bulk load. On SQLite only the
    /// per-index summaries are kept (see [`keep_only_index_statistics`]).
    pub async fn analyze(&self) -> StoreResult<()> {
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut c = p.acquire().await?;
                sqlx::query("ANALYZE").execute(&mut *c).await?;
                keep_only_index_statistics(&mut c).await?;
            }
            Pool::Postgres(p) => {
                sqlx::query("ANALYZE").execute(p).await?;
            }
        }
        Ok(())
    }

    /// Writes a consistent copy of a SQLite database to `path` (`VACUUM INTO`), while it is in
    /// use. PostgreSQL databases are copied with `pg_dump` instead.
    pub async fn vacuum_into(&self, path: &std::path::Path) -> StoreResult<()> {
        match &self.pool {
            Pool::Sqlite(p) => {
                let target = path.to_str().ok_or_else(|| {
                    StoreError::InvalidUrl(format!("{} is not UTF-8", path.display()))
                })?;
                sqlx::query("VACUUM INTO $1")
                    .bind(target)
                    .execute(p)
                    .await?;
                Ok(())
            }
            Pool::Postgres(_) => Err(StoreError::Migration(
                "VACUUM INTO is SQLite's; copy PostgreSQL with pg_dump".into(),
            )),
        }
    }

    /// Closes every connection (the SQLite WAL is checkpointed on the last close).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

enum SqliteHandle {
    Tx(Transaction<'static, Sqlite>),
    Conn(PoolConnection<Sqlite>),
}

impl SqliteHandle {
    fn conn(&mut self) -> &mut SqliteConnection {
        match self {
            SqliteHandle::Tx(t) => t,
            SqliteHandle::Conn(c) => c,
        }
    }
}

enum PgHandle {
    Tx(Transaction<'static, Postgres>),
    Conn(PoolConnection<Postgres>),
}

impl PgHandle {
    fn conn(&mut self) -> &mut PgConnection {
        match self {
            PgHandle::Tx(t) => t,
            PgHandle::Conn(c) => c,
        }
    }
}

enum Handle {
    Sqlite(SqliteHandle),
    Postgres(PgHandle),
}

/// A unit of work on the database: a transaction from [`Store::begin`], or a plain connection
/// from [`Store::read`]. Instance-level queries (users, sessions, workspaces) are methods of
/// `Tx`; workspace data is reached through [`Tx::workspace`].
pub struct Tx {
    handle: Handle,
}

impl Tx {
    /// Commits a transaction (a no-op for a read connection).
    pub async fn commit(self) -> StoreResult<()> {
        match self.handle {
            Handle::Sqlite(SqliteHandle::Tx(t)) => t.commit().await?,
            Handle::Postgres(PgHandle::Tx(t)) => t.commit().await?,
            _ => {}
        }
        Ok(())
    }

    /// The repository of one workspace's data.
    pub fn workspace(&mut self, id: ideaweave_domain::WorkspaceId) -> WorkspaceRepo<'_> {
        WorkspaceRepo::new(self, id)
    }

    fn kind(&self) -> DatabaseKind {
        match self.handle {
            Handle::Sqlite(_) => DatabaseKind::Sqlite,
            Handle::Postgres(_) => DatabaseKind::Postgres,
        }
    }
}

#[cfg(test)]
mod planner_statistics_tests {
    use super::*;

    /// Reads SQLite's query planner stability setting of one connection.
    async fn plans_pinned(c: &mut SqliteConnection) -> bool {
        let mut handle = c.lock_handle().await.unwrap();
        let mut on: std::ffi::c_int = -1;
        // SAFETY: as in `pin_query_plans`; -1 asks for the current value without changing it.
        #[allow(unsafe_code)]
        let rc = unsafe {
            libsqlite3_sys::sqlite3_db_config(
                handle.as_raw_handle().as_ptr(),
                libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
                -1 as std::ffi::c_int,
                &mut on as *mut std::ffi::c_int,
            )
        };
        assert_eq!(rc, libsqlite3_sys::SQLITE_OK);
        on == 1
    }

    /// Every connection of the pool plans a statement once for all bound values, so that a
    /// `LIMIT $n` or a sampled index does not recompile it on every request.
    /// REL-01 (issue 19, finding 6): an acknowledged commit is on disk (`synchronous=FULL`) on
    /// every connection unless the operator chose otherwise.
    #[tokio::test]
    async fn rel_01_sqlite_commits_are_synced_to_disk_by_default() {
        let dir = tempfile::tempdir().unwrap();
        for (durability, expected) in [(SqliteDurability::Full, 2), (SqliteDurability::Normal, 1)] {
            let url = format!(
                "sqlite://{}",
                dir.path().join(format!("{expected}.db")).display()
            );
            let settings = PoolSettings {
                max_connections: 2,
                sqlite_durability: durability,
                ..PoolSettings::default()
            };
            let store = Store::connect(&url, &settings).await.unwrap();
            let Pool::Sqlite(p) = &store.pool else {
                unreachable!("a SQLite URL opens SQLite")
            };
            for _ in 0..2 {
                let mut c = p.acquire().await.unwrap();
                let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
                    .fetch_one(&mut *c)
                    .await
                    .unwrap();
                assert_eq!(level, expected, "{durability:?}");
            }
        }
        assert_eq!(
            PoolSettings::default().sqlite_durability,
            SqliteDurability::Full
        );
    }

    #[tokio::test]
    async fn every_sqlite_connection_plans_once_whatever_is_bound() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let settings = PoolSettings {
            max_connections: 3,
            ..PoolSettings::default()
        };
        let store = Store::connect(&url, &settings).await.unwrap();
        let Pool::Sqlite(p) = &store.pool else {
            unreachable!("a SQLite URL opens SQLite")
        };
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut c = p.acquire().await.unwrap();
            assert!(plans_pinned(&mut c).await);
            held.push(c);
        }
        // A connection SQLite opened without the setting reports it off: the check can fail.
        let mut plain = <SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        assert!(!plans_pinned(&mut plain).await);
    }

    /// SQLite keeps its per-index summaries after ANALYZE, but not the per-value samples that
    /// make it recompile statements on every new binding.
    #[tokio::test]
    async fn analyze_keeps_index_summaries_and_drops_value_samples() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::connect(&url, &PoolSettings::default())
            .await
            .unwrap();
        let Pool::Sqlite(p) = &store.pool else {
            unreachable!("a SQLite URL opens SQLite")
        };
        sqlx::query("CREATE TABLE t (a INTEGER, b INTEGER)")
            .execute(p)
            .await
            .unwrap();
        sqlx::query("CREATE INDEX t_a ON t (a)")
            .execute(p)
            .await
            .unwrap();
        for i in 0..200 {
            sqlx::query("INSERT INTO t VALUES ($1, $2)")
                .bind(i % 7)
                .bind(i)
                .execute(p)
                .await
                .unwrap();
        }
        // A plain ANALYZE writes both kinds (this build of SQLite has STAT4).
        sqlx::query("ANALYZE").execute(p).await.unwrap();
        let samples: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sqlite_stat4")
            .fetch_one(p)
            .await
            .unwrap();
        assert!(samples.0 > 0, "the test needs a SQLite that writes samples");
        store.analyze().await.unwrap();
        let samples: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sqlite_stat4")
            .fetch_one(p)
            .await
            .unwrap();
        let summaries: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sqlite_stat1")
            .fetch_one(p)
            .await
            .unwrap();
        assert_eq!(samples.0, 0);
        assert!(summaries.0 > 0);
        // Opening the database again drops samples another tool may have written.
        sqlx::query("ANALYZE").execute(p).await.unwrap();
        drop(store);
        let store = Store::connect(&url, &PoolSettings::default())
            .await
            .unwrap();
        let Pool::Sqlite(p) = &store.pool else {
            unreachable!("a SQLite URL opens SQLite")
        };
        let samples: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sqlite_stat4")
            .fetch_one(p)
            .await
            .unwrap();
        assert_eq!(samples.0, 0);
    }
}
