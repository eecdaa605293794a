//! The test harness: starts the real Ideaweave application (the same router and start-up code
//! as `ideaweave serve`) on a random loopback port, against a fresh SQLite file or a fresh
//! PostgreSQL database, with a clock the test can move.
//!
//! Which database is chosen by `IW_TEST_DB` (`sqlite`, the default, or `postgres`); the
//! PostgreSQL server is `IW_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! `cargo xtask test` runs the whole suite once for each.

// Test support: a failed set-up step is a failed test, and says so where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod client;
pub mod images;
pub mod log_capture;
pub mod openapi_conformance;
mod s3;
mod smtp;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub use client::{Auth, Body, Client, Reply};
pub use openapi_conformance::Conformance;
pub use s3::{TestS3, location_at as s3_location};
pub use smtp::{
    TestSmtp, closed_port, decode_quoted_printable, first_line, mail_config, pythonpath,
};

use ideaweave_app::{App, Clock, Member, SystemClock};
use ideaweave_domain::policy::Actor;
use ideaweave_domain::{CriterionId, DiscussionId, Role, SpaceId, TokenScope, UserId, WorkspaceId};
use ideaweave_server::config::Config;
use sqlx::Connection;

/// An HTTP client that, like a test asserting on each answer, does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// The database a test run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestDb {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server.
    Postgres,
}

/// The database chosen for this run.
pub fn test_db() -> TestDb {
    match std::env::var("IW_TEST_DB").as_deref() {
        Ok("postgres") => TestDb::Postgres,
        _ => TestDb::Sqlite,
    }
}

fn pg_admin_url() -> String {
    std::env::var("IW_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A clock that tests move by hand.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    /// Starts at the real current time.
    pub fn new() -> Self {
        Self(AtomicI64::new(SystemClock.now_ms()))
    }
    /// Moves time forward.
    pub fn advance(&self, d: std::time::Duration) {
        self.0.fetch_add(d.as_millis() as i64, Ordering::SeqCst);
    }
    /// Moves time forward to at least the real current time, for tests whose other party
    /// (an identity provider, a command-line run) stamps messages with the real clock: on a
    /// slow machine the real clock may be minutes past the moment the test started.
    pub fn catch_up(&self) {
        self.0.fetch_max(SystemClock.now_ms(), Ordering::SeqCst);
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct PgDatabase {
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut c) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await;
                }
            });
        })
        .join();
    }
}

/// A database's schema and rows (see [`TestApp::database_snapshot`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseSnapshot {
    /// Every table by name.
    pub tables: std::collections::BTreeMap<String, TableSnapshot>,
    /// Indexes, triggers, views and functions, by kind and name.
    pub objects: Vec<String>,
}

impl DatabaseSnapshot {
    /// The schema without the rows.
    pub fn schema(&self) -> Self {
        Self {
            tables: self
                .tables
                .iter()
                .map(|(name, t)| {
                    let columns = t.columns.clone();
                    (
                        name.clone(),
                        TableSnapshot {
                            columns,
                            rows: Vec::new(),
                        },
                    )
                })
                .collect(),
            objects: self.objects.clone(),
        }
    }

    /// How many rows all tables hold.
    pub fn rows(&self) -> usize {
        self.tables.values().map(|t| t.rows.len()).sum()
    }

    /// What differs from `other`, in words (tables, columns, objects, and rows by table).
    pub fn differences(&self, other: &Self) -> Vec<String> {
        let mut out = Vec::new();
        let names: std::collections::BTreeSet<&String> =
            self.tables.keys().chain(other.tables.keys()).collect();
        for name in names {
            match (self.tables.get(name), other.tables.get(name)) {
                (Some(a), Some(b)) => {
                    if a.columns != b.columns {
                        out.push(format!(
                            "{name}: columns {:?} then {:?}",
                            a.columns, b.columns
                        ));
                    } else if a.rows != b.rows {
                        let first = a.rows.iter().zip(&b.rows).find(|(x, y)| x != y);
                        out.push(format!(
                            "{name}: {} rows then {} (first change: {first:?})",
                            a.rows.len(),
                            b.rows.len(),
                        ));
                    }
                }
                (Some(_), None) => out.push(format!("{name}: gone")),
                (None, Some(_)) => out.push(format!("{name}: new")),
                (None, None) => {}
            }
        }
        for o in &self.objects {
            if !other.objects.contains(o) {
                out.push(format!("{o}: gone"));
            }
        }
        for o in &other.objects {
            if !self.objects.contains(o) {
                out.push(format!("{o}: new"));
            }
        }
        out
    }
}

/// One table's columns (name and definition, in order) and rows (each its values by column,
/// the rows sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableSnapshot {
    /// Name and definition (type, nullability, default) of each column.
    pub columns: Vec<(String, String)>,
    /// Every row: column name → value as the database prints it.
    pub rows: Vec<std::collections::BTreeMap<String, String>>,
}

impl TableSnapshot {
    fn new(columns: Vec<(String, String)>, json_rows: Vec<String>) -> Self {
        let mut rows: Vec<std::collections::BTreeMap<String, String>> = json_rows
            .iter()
            .map(|r| {
                let value: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(r).expect("a row as a JSON object");
                value.into_iter().map(|(k, v)| (k, v.to_string())).collect()
            })
            .collect();
        rows.sort();
        Self { columns, rows }
    }

    /// The rows with only the named columns, sorted.
    pub fn rows_of(&self, columns: &[String]) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                columns
                    .iter()
                    .map(|c| r.get(c).cloned().unwrap_or_default())
                    .collect()
            })
            .collect();
        out.sort();
        out
    }

    /// The names of the columns both tables have.
    pub fn shared_columns(&self, other: &Self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|(name, _)| other.columns.iter().any(|(n, _)| n == name))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// A running application.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The application behind the server, for setting up data directly.
    pub app: App,
    /// The clock the application reads.
    pub clock: Arc<TestClock>,
    /// The configuration it runs with.
    pub config: Config,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// Every API answer of this server, checked against the OpenAPI document; a difference
    /// fails the test when the app is dropped.
    pub conformance: Arc<Conformance>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _pg: Option<PgDatabase>,
    /// The data directory (SQLite file and uploads), removed when the app is dropped.
    pub dir: tempfile::TempDir,
}

/// The built `ideaweave` binary beside this test binary (`target/<profile>/ideaweave`, which
/// cargo builds for the server's integration tests): the reader of files' text that the
/// server runs as a child process. A test binary cannot be that child itself; where the
/// binary was not built, files are recorded as `reader_unavailable`, visibly.
pub fn ideaweave_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.join("ideaweave"))
}

impl TestApp {
    /// Starts the application with default settings.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the application after `tune` adjusts the configuration.
    pub async fn spawn_with(tune: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (url, pg) = match test_db() {
            TestDb::Sqlite => (None, None),
            TestDb::Postgres => {
                let name = format!("iwt_{}", uuid::Uuid::new_v4().simple());
                let mut c = sqlx::PgConnection::connect(&pg_admin_url())
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "IW_TEST_DB=postgres but PostgreSQL at {} is not reachable: {e}",
                            pg_admin_url()
                        )
                    });
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut c)
                    .await
                    .expect("create test database");
                let base = pg_admin_url();
                let server = base
                    .rsplit_once('/')
                    .map(|(s, _)| s.to_owned())
                    .unwrap_or(base);
                (Some(format!("{server}/{name}")), Some(PgDatabase { name }))
            }
        };
        let mut config = Config::for_data_dir(dir.path(), url).expect("test configuration");
        if let Some(program) = ideaweave_binary() {
            config.text_extraction.program = program;
        }
        // Parallel tests on a loaded machine can keep SQLite's one writer busy for seconds.
        config.busy_timeout = std::time::Duration::from_secs(60);
        tune(&mut config);
        let clock = Arc::new(TestClock::new());
        let app = ideaweave_server::build_app(&config, clock.clone())
            .await
            .expect("application starts");
        let (base, tx, conformance) = serve_on_random_port(&app, &config).await;
        let http = browser();
        Self {
            base,
            app,
            clock,
            config,
            http,
            conformance,
            shutdown: Some(tx),
            _pg: pg,
            dir,
        }
    }

    /// The directory of stored files (the default local file store).
    pub fn files_dir(&self) -> &std::path::Path {
        self.config
            .files
            .dir()
            .expect("this test runs with files in a local directory")
    }

    /// Reads a stored column as raw bytes, bypassing the application: what someone with a copy
    /// of the database sees (tamper and canary tests).
    pub async fn raw_blob(&self, table: &str, column: &str, id: uuid::Uuid) -> Vec<u8> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {column} FROM {table} WHERE id = $1"));
        let url = &self.config.database_url;
        match test_db() {
            TestDb::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
                sqlx::query_scalar(sql).bind(id).fetch_one(&mut c).await
            }
            TestDb::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
                sqlx::query_scalar(sql).bind(id).fetch_one(&mut c).await
            }
        }
        .unwrap_or_else(|e| panic!("read {table}.{column} of {id}: {e}"))
    }

    /// Overwrites a stored column with raw bytes, bypassing the application.
    pub async fn set_raw_blob(&self, table: &str, column: &str, id: uuid::Uuid, value: &[u8]) {
        let sql = sqlx::AssertSqlSafe(format!("UPDATE {table} SET {column} = $2 WHERE id = $1"));
        let url = &self.config.database_url;
        let n = match test_db() {
            TestDb::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
                sqlx::query(sql)
                    .bind(id)
                    .bind(value)
                    .execute(&mut c)
                    .await
                    .map(|r| r.rows_affected())
            }
            TestDb::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
                sqlx::query(sql)
                    .bind(id)
                    .bind(value)
                    .execute(&mut c)
                    .await
                    .map(|r| r.rows_affected())
            }
        }
        .unwrap_or_else(|e| panic!("write {table}.{column} of {id}: {e}"));
        assert_eq!(n, 1, "{table} has one row with id {id}");
    }

    /// Runs SQL statements on the database directly, bypassing the application: what an
    /// attacker with database access could do.
    pub async fn raw_sql(&self, sql: &str) {
        let url = &self.config.database_url;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match test_db() {
            TestDb::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
                sqlx::raw_sql(sql).execute(&mut c).await.map(|_| ())
            }
            TestDb::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
                sqlx::raw_sql(sql).execute(&mut c).await.map(|_| ())
            }
        }
        .unwrap_or_else(|e| panic!("raw SQL failed: {e}"));
    }

    /// The statements the database refuses to prepare, each with its message: a syntax error, a
    /// missing table or column. On PostgreSQL a parameter whose type only the bound value
    /// decides (`$1 IS NULL`) is no error here: the driver sends the type when it runs.
    pub async fn unpreparable(&self, statements: &[(&str, &str, &'static str)]) -> Vec<String> {
        use sqlx::{Executor, SqlSafeStr};
        let url = &self.config.database_url;
        let mut refused = Vec::new();
        match test_db() {
            TestDb::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
                for (module, name, sql) in statements {
                    if let Err(e) = c.prepare(sql.into_sql_str()).await {
                        refused.push(format!("{module}::{name}: {e}"));
                    }
                }
            }
            TestDb::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
                for (module, name, sql) in statements {
                    if let Err(e) = c.prepare(sql.into_sql_str()).await {
                        let undetermined = e
                            .as_database_error()
                            .and_then(|d| d.code())
                            .is_some_and(|code| code == "42P18");
                        if !undetermined {
                            refused.push(format!("{module}::{name}: {e}"));
                        }
                    }
                }
            }
        }
        refused
    }

    /// The database's schema and every row, read around the application: what a migration
    /// must keep when it is applied and undone (REL-01). Columns with their type, nullability
    /// and default; indexes, triggers, constraints, views and functions with their definitions;
    /// every row as its values by column. The migrations' own bookkeeping table is left out.
    pub async fn database_snapshot(&self) -> DatabaseSnapshot {
        let url = &self.config.database_url;
        let mut snap = DatabaseSnapshot::default();
        match test_db() {
            TestDb::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
                )
                .fetch_all(&mut c)
                .await
                .expect("tables");
                for table in tables {
                    let columns: Vec<(String, String)> = sqlx::query_as(
                        "SELECT name, type || ' notnull=' || \"notnull\" || ' default=' || coalesce(dflt_value, '-') || ' pk=' || pk FROM pragma_table_info(?1) ORDER BY cid",
                    )
                    .bind(&table)
                    .fetch_all(&mut c)
                    .await
                    .expect("columns");
                    // Each value as SQL quotes it (blobs in hex), in a JSON object by column.
                    let values = columns
                        .iter()
                        .map(|(name, _)| format!("'{name}', quote(\"{name}\")"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!("SELECT json_object({values}) FROM \"{table}\"");
                    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                        .fetch_all(&mut c)
                        .await
                        .expect("rows");
                    snap.tables.insert(table, TableSnapshot::new(columns, rows));
                }
                snap.objects = sqlx::query_scalar(
                    "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master WHERE type IN ('index', 'trigger', 'view') AND name NOT LIKE 'sqlite_autoindex%' ORDER BY 1",
                )
                .fetch_all(&mut c)
                .await
                .expect("indexes and triggers");
            }
            TestDb::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations' ORDER BY 1",
                )
                .fetch_all(&mut c)
                .await
                .expect("tables");
                for table in tables {
                    let columns: Vec<(String, String)> = sqlx::query_as(
                        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-') \
                         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                         WHERE a.attrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                    )
                    .bind(&table)
                    .fetch_all(&mut c)
                    .await
                    .expect("columns");
                    let sql = format!("SELECT row_to_json(t)::text FROM \"{table}\" AS t");
                    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                        .fetch_all(&mut c)
                        .await
                        .expect("rows");
                    snap.tables.insert(table, TableSnapshot::new(columns, rows));
                }
                snap.objects = sqlx::query_scalar(
                    "SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() \
                     UNION SELECT 'trigger ' || t.tgname || ': ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal AND r.relnamespace = current_schema()::regnamespace \
                     UNION SELECT 'constraint ' || conname || ': ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = current_schema()::regnamespace \
                     UNION SELECT 'function ' || proname || ': ' || md5(prosrc) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace \
                     ORDER BY 1",
                )
                .fetch_all(&mut c)
                .await
                .expect("indexes, triggers, constraints and functions");
            }
        }
        snap
    }

    /// Runs SQL that must fail; returns the database's message.
    pub async fn raw_sql_refused(&self, sql: &str) -> String {
        let url = &self.config.database_url;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let r = match test_db() {
            TestDb::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
                sqlx::raw_sql(sql).execute(&mut c).await.map(|_| ())
            }
            TestDb::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
                sqlx::raw_sql(sql).execute(&mut c).await.map(|_| ())
            }
        };
        match r {
            Ok(()) => panic!("the database accepted SQL it should refuse"),
            Err(e) => e.to_string(),
        }
    }

    /// Everything the database keeps on disk or can be dumped to, as bytes: the SQLite file with
    /// its WAL and shared-memory files, or a `pg_dump` of the PostgreSQL database.
    pub fn database_bytes(&self) -> Vec<(String, Vec<u8>)> {
        match test_db() {
            TestDb::Sqlite => ["ideaweave.db", "ideaweave.db-wal", "ideaweave.db-shm"]
                .iter()
                .filter_map(|f| {
                    let p = self.dir.path().join(f);
                    std::fs::read(&p).ok().map(|b| (p.display().to_string(), b))
                })
                .collect(),
            TestDb::Postgres => {
                let out = std::process::Command::new("pg_dump")
                    .arg("--dbname")
                    .arg(&self.config.database_url)
                    .output()
                    .expect("pg_dump runs (PostgreSQL's client tools are installed by cargo xtask test)");
                assert!(
                    out.status.success(),
                    "pg_dump failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                vec![("pg_dump".to_owned(), out.stdout)]
            }
        }
    }

    /// The full URL of an API path (`/workspaces/…` → `http://…/api/v1/workspaces/…`).
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// The typed API client, calling as `auth` (a [`Person`]'s token, a [`Session`], or
    /// [`Auth::None`]).
    pub fn client(&self, auth: impl Into<Auth>) -> Client {
        Client::new(&self.base, &self.http, auth.into())
    }

    /// Creates a workspace whose owner has no password, with a write token for the owner.
    pub async fn workspace(&self, slug: &str) -> TestWorkspace {
        let owner_email = format!("owner@{slug}.test");
        let owner = self
            .app
            .create_user_without_password(&owner_email, "Owner")
            .await
            .expect("owner");
        let ws = match self
            .app
            .create_workspace(slug, &format!("Workspace {slug}"), &owner_email)
            .await
            .expect("workspace")
        {
            ideaweave_app::CreatedWorkspace::OwnerAdded { id } => id,
            ideaweave_app::CreatedWorkspace::OwnerInvited { .. } => unreachable!("owner exists"),
        };
        let token = self.token(&owner_email, slug, TokenScope::Write).await;
        TestWorkspace {
            slug: slug.to_owned(),
            id: ws,
            owner: Person {
                id: owner.id,
                email: owner_email,
                token,
                role: Role::Owner,
            },
        }
    }

    /// As `w`'s owner, through the use case: a rating criterion.
    pub async fn criterion(&self, w: &TestWorkspace, name: &str) -> CriterionId {
        let input = ideaweave_app::NamedItemInput {
            name: name.to_owned(),
            position: None,
        };
        self.app
            .create_criterion(&w.as_member(&w.owner), input)
            .await
            .expect("criterion")
            .id
    }

    /// As `w`'s owner, through the use case: a space open to every member.
    pub async fn space(&self, w: &TestWorkspace, name: &str, description: &str) -> SpaceId {
        let input = ideaweave_app::SpaceInput {
            name: name.to_owned(),
            description: description.to_owned(),
            private: false,
        };
        self.app
            .create_space(&w.as_member(&w.owner), input)
            .await
            .expect("space")
            .id
    }

    /// As `w`'s owner, through the use case: a challenge in `space` without a deadline, whose
    /// ideas are rated on `criteria`.
    pub async fn challenge(
        &self,
        w: &TestWorkspace,
        space: SpaceId,
        title: &str,
        description: &str,
        criteria: &[CriterionId],
    ) -> DiscussionId {
        let input = ideaweave_app::DiscussionInput {
            kind: ideaweave_app::DiscussionKind::Challenge,
            title: title.to_owned(),
            description: description.to_owned(),
            deadline: None,
            criteria: criteria.to_vec(),
        };
        self.app
            .create_discussion(&w.as_member(&w.owner), space, input)
            .await
            .expect("challenge")
            .id
    }

    /// Adds a password-less member with a role and a token of `scope`.
    pub async fn member(&self, ws: &TestWorkspace, name: &str, role: Role) -> Person {
        let email = format!("{name}.{}@{}.test", uuid::Uuid::new_v4().simple(), ws.slug);
        let u = self
            .app
            .create_user_without_password(&email, name)
            .await
            .expect("user");
        self.app
            .add_member(&ws.slug, &email, role)
            .await
            .expect("membership");
        let token = self.token(&email, &ws.slug, TokenScope::Write).await;
        Person {
            id: u.id,
            email,
            token,
            role,
        }
    }

    /// Creates a token for a member.
    pub async fn token(&self, email: &str, slug: &str, scope: TokenScope) -> String {
        self.app
            .create_token_for(
                email,
                slug,
                ideaweave_app::TokenInput {
                    name: "test".into(),
                    scope,
                    expires_in_days: None,
                },
            )
            .await
            .expect("token")
            .secret
    }

    /// Creates an account named `name` with a password, makes it a member of the workspace
    /// `slug` with `role`, and signs it in.
    pub async fn member_session(
        &self,
        slug: &str,
        email: &str,
        name: &str,
        password: &str,
        role: Role,
    ) -> Session {
        self.app
            .create_user(email, name, Some(password), false)
            .await
            .expect("account");
        self.app
            .add_member(slug, email, role)
            .await
            .expect("membership");
        self.session(email, password).await
    }

    /// Creates an account with a password and signs it in; returns the session cookie value and
    /// CSRF token.
    pub async fn session(&self, email: &str, password: &str) -> Session {
        let _ = self
            .app
            .create_user(email, "Session User", Some(password), false)
            .await;
        let out = self
            .app
            .login(
                &ideaweave_app::LoginInput::password(email, password),
                &ideaweave_app::ClientInfo::default(),
            )
            .await
            .expect("login")
            .done()
            .expect("no second factor");
        Session {
            user: out.user.id,
            cookie: out.session,
            csrf: out.csrf,
        }
    }
}

/// Another node serving the same database, data directory and master key as a [`TestApp`],
/// with its own key cache and state: what a second server behind a load balancer is.
pub struct TestNode {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The application behind this node.
    pub app: App,
    conformance: Arc<Conformance>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestNode {
    /// The typed API client for this node, calling as `auth`.
    pub fn client(&self, auth: impl Into<Auth>) -> Client {
        Client::new(&self.base, &browser(), auth.into())
    }

    /// The full URL of an API path on this node.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.conformance.assert_none(&self.base);
    }
}

/// Serves `app` on a random loopback port until the returned sender is used or dropped, with
/// every API answer checked against the OpenAPI document in the returned log.
async fn serve_on_random_port(
    app: &App,
    config: &Config,
) -> (String, tokio::sync::oneshot::Sender<()>, Arc<Conformance>) {
    ideaweave_server::guard_audit_log(app)
        .await
        .expect("the audit log's guards are in place");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a port");
    let addr = listener.local_addr().expect("local address");
    let conformance = Arc::new(Conformance::default());
    let log = conformance.clone();
    let router = ideaweave_server::router(app.clone(), config).layer(axum::middleware::from_fn(
        move |request, next| openapi_conformance::check(log.clone(), request, next),
    ));
    let limits = config.http_limits.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = ideaweave_server::serve(listener, router, limits, async move {
            let _ = rx.await;
        })
        .await;
    });
    (format!("http://{addr}"), tx, conformance)
}

/// A copy of a test's database as it was at one moment, to be put back by hand later: what an
/// operator restoring a file-system snapshot or a `pg_dump` does.
pub struct DatabaseCopy {
    /// The copy's URL.
    pub url: String,
    _pg: Option<PgDatabase>,
}

impl TestApp {
    /// Copies the database as it is now: SQLite through `VACUUM INTO`, PostgreSQL through
    /// `pg_dump` into a new database.
    pub async fn copy_database(&self) -> DatabaseCopy {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        match test_db() {
            TestDb::Sqlite => {
                let file = self.dir.path().join(format!("copy-{tag}.db"));
                self.raw_sql(&format!("VACUUM INTO '{}'", file.display()))
                    .await;
                DatabaseCopy {
                    url: format!("sqlite://{}", file.display()),
                    _pg: None,
                }
            }
            TestDb::Postgres => {
                let name = format!("iwc_{tag}");
                let mut c = sqlx::PgConnection::connect(&pg_admin_url())
                    .await
                    .expect("postgres");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut c)
                    .await
                    .expect("create the copy's database");
                let url = match self.config.database_url.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => panic!("a PostgreSQL URL names its database"),
                };
                let dump = std::process::Command::new("pg_dump")
                    .args(["--no-owner", "--dbname", &self.config.database_url])
                    .output()
                    .expect("pg_dump runs");
                assert!(dump.status.success(), "pg_dump failed");
                let mut psql = std::process::Command::new("psql")
                    .args(["-q", "-v", "ON_ERROR_STOP=1", "--dbname", &url])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .expect("psql runs");
                {
                    use std::io::Write;
                    psql.stdin
                        .take()
                        .expect("psql's input")
                        .write_all(&dump.stdout)
                        .expect("the dump reaches psql");
                }
                assert!(psql.wait().expect("psql ends").success(), "psql failed");
                DatabaseCopy {
                    url,
                    _pg: Some(PgDatabase { name }),
                }
            }
        }
    }

    /// Starts a node with this app's configuration, changed by `tune`, and clock (for a
    /// database put back by hand, or a data directory restored without some of its files).
    pub async fn node_with(&self, tune: impl FnOnce(&mut Config)) -> TestNode {
        let mut config = self.config.clone();
        tune(&mut config);
        let app = ideaweave_server::build_app(&config, self.clock.clone())
            .await
            .expect("node starts");
        let (base, shutdown, conformance) = serve_on_random_port(&app, &config).await;
        TestNode {
            base,
            app,
            conformance,
            shutdown: Some(shutdown),
        }
    }

    /// How many entries the audit log holds.
    pub async fn audit_size(&self) -> i64 {
        self.app
            .store()
            .read()
            .await
            .expect("database")
            .audit_head()
            .await
            .expect("audit head")
            .size
    }

    /// Starts a second node on the same database and configuration (same clock).
    pub async fn second_node(&self) -> TestNode {
        let app = ideaweave_server::build_app(&self.config, self.clock.clone())
            .await
            .expect("second node starts");
        let (base, shutdown, conformance) = serve_on_random_port(&app, &self.config).await;
        TestNode {
            base,
            app,
            conformance,
            shutdown: Some(shutdown),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.conformance.assert_none(&self.base);
    }
}

/// A workspace created for a test.
#[derive(Debug, Clone)]
pub struct TestWorkspace {
    pub slug: String,
    pub id: WorkspaceId,
    pub owner: Person,
}

impl TestWorkspace {
    /// Acting as `p` inside this workspace, for setting up data through the use cases: as a
    /// session that has just re-authenticated (the re-authentication rule itself is tested over
    /// HTTP).
    pub fn as_member(&self, p: &Person) -> Member {
        Member {
            client: ideaweave_app::ClientInfo::default(),
            reauth_at: Some(i64::MAX),
            support: None,
            workspace: self.id,
            slug: self.slug.clone(),
            actor: Actor {
                user: p.id,
                role: p.role,
                scope: None,
            },
        }
    }
}

/// A member with a write token.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: UserId,
    pub email: String,
    pub token: String,
    pub role: Role,
}

/// A signed-in browser session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: UserId,
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    /// Adds the cookie and CSRF header to a request.
    pub fn apply(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.header("cookie", format!("iw_session={}", self.cookie))
            .header("x-csrf-token", &self.csrf)
    }
}
