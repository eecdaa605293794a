//! Versioned schema migrations, one set per database (REL-01).
//!
//! Migrations are embedded in the binary. Each has an `up` and a `down` script, so a release can
//! be rolled forward (`ideaweave migrate`) and back (`ideaweave migrate --to VERSION`) before
//! the previous binary is started again.

use sqlx::migrate::{MigrateError, Migrator};

use crate::{Pool, Store, StoreError, StoreResult};

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// One migration and whether it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationInfo {
    /// Version number.
    pub version: i64,
    /// What it does.
    pub description: String,
    /// Whether the database has it.
    pub applied: bool,
}

/// Where the database stands relative to this program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    /// Every migration this program knows, in order.
    pub migrations: Vec<MigrationInfo>,
    /// Versions applied to the database that this program does not know (a newer release ran).
    pub unknown_applied: Vec<i64>,
}

fn explain(e: MigrateError) -> StoreError {
    match e {
        MigrateError::VersionMissing(v) => StoreError::Migration(format!(
            "the database has migration {v} applied, which this program does not know: it was migrated by a newer \
             release. Run that release's `ideaweave migrate --to <version>` to roll back, or upgrade this program"
        )),
        MigrateError::VersionMismatch(v) => StoreError::Migration(format!(
            "migration {v} applied to the database differs from the one in this program (checksum mismatch)"
        )),
        other => StoreError::Migration(other.to_string()),
    }
}

impl Store {
    fn migrator(&self) -> &'static Migrator {
        match self.pool {
            Pool::Sqlite(_) => &SQLITE,
            Pool::Postgres(_) => &POSTGRES,
        }
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.pool {
            Pool::Sqlite(p) => SQLITE.run(p).await.map_err(explain),
            Pool::Postgres(p) => POSTGRES.run(p).await.map_err(explain),
        }
    }

    /// Migrates up or down to exactly `version` (0 = empty schema).
    pub async fn migrate_to(&self, version: i64) -> StoreResult<()> {
        let known: Vec<i64> = self.migrator().iter().map(|m| m.version).collect();
        if version != 0 && !known.contains(&version) {
            return Err(StoreError::Migration(format!(
                "there is no migration {version}; known versions are {known:?} (or 0 for an empty schema)"
            )));
        }
        let state = self.migration_state().await?;
        let current = state
            .migrations
            .iter()
            .filter(|m| m.applied)
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        if version >= current {
            match &self.pool {
                Pool::Sqlite(p) => SQLITE.run_to(version, p).await.map_err(explain),
                Pool::Postgres(p) => POSTGRES.run_to(version, p).await.map_err(explain),
            }
        } else {
            match &self.pool {
                Pool::Sqlite(p) => SQLITE.undo(p, version).await.map_err(explain),
                Pool::Postgres(p) => POSTGRES.undo(p, version).await.map_err(explain),
            }
        }
    }

    /// Which migrations are applied.
    pub async fn migration_state(&self) -> StoreResult<MigrationState> {
        const APPLIED: &str =
            "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version";
        let applied: Vec<i64> = match &self.pool {
            Pool::Sqlite(p) => {
                let exists: i64 = sqlx::query_scalar(sql::SQLITE_MIGRATION_STATE)
                    .fetch_one(p)
                    .await?;
                if exists > 0 {
                    sqlx::query_scalar(APPLIED).fetch_all(p).await?
                } else {
                    Vec::new()
                }
            }
            Pool::Postgres(p) => {
                let exists: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
                )
                .fetch_one(p)
                .await?;
                if exists > 0 {
                    sqlx::query_scalar(APPLIED).fetch_all(p).await?
                } else {
                    Vec::new()
                }
            }
        };
        let migrations: Vec<MigrationInfo> = self
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| MigrationInfo {
                version: m.version,
                description: m.description.to_string(),
                applied: applied.contains(&m.version),
            })
            .collect();
        let unknown_applied = applied
            .iter()
            .copied()
            .filter(|v| !migrations.iter().any(|m| m.version == *v))
            .collect();
        Ok(MigrationState {
            migrations,
            unknown_applied,
        })
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const SQLITE_MIGRATION_STATE: &str =
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[("SQLITE_MIGRATION_STATE", SQLITE_MIGRATION_STATE)];
}
