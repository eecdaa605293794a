//! The database's own guards of the audit log (AUD-01): triggers that refuse `UPDATE`, `DELETE`
//! and (on PostgreSQL) `TRUNCATE` on the audit tables. Someone with write access to the database
//! can drop or disable them; `audit verify` reports which are missing, and every start puts
//! them back.

use crate::{Pool, Store, StoreResult};

/// SQLite's guards: name, and the statement that creates it.
const SQLITE: &[(&str, &str)] = &[
    (
        "audit_entries_no_update",
        "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries \
         BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
    ),
    (
        "audit_entries_no_delete",
        "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries \
         BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
    ),
    (
        "audit_nodes_no_update",
        "CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes \
         BEGIN SELECT RAISE(ABORT, 'audit nodes are append-only'); END",
    ),
    (
        "audit_nodes_no_delete",
        "CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes \
         BEGIN SELECT RAISE(ABORT, 'audit nodes are append-only'); END",
    ),
    (
        "audit_checkpoints_no_update",
        "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints \
         BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END",
    ),
    (
        "audit_checkpoints_no_delete",
        "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints \
         BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END",
    ),
];

/// PostgreSQL's function every guard calls.
const PG_FUNCTION: &str = "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$";

/// PostgreSQL's guards: name, table, and what the trigger fires on.
const POSTGRES: &[(&str, &str, &str)] = &[
    (
        "audit_entries_append_only",
        "audit_entries",
        "UPDATE OR DELETE ON audit_entries FOR EACH ROW",
    ),
    (
        "audit_entries_no_truncate",
        "audit_entries",
        "TRUNCATE ON audit_entries FOR EACH STATEMENT",
    ),
    (
        "audit_nodes_append_only",
        "audit_nodes",
        "UPDATE OR DELETE ON audit_nodes FOR EACH ROW",
    ),
    (
        "audit_nodes_no_truncate",
        "audit_nodes",
        "TRUNCATE ON audit_nodes FOR EACH STATEMENT",
    ),
    (
        "audit_checkpoints_append_only",
        "audit_checkpoints",
        "UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW",
    ),
    (
        "audit_checkpoints_no_truncate",
        "audit_checkpoints",
        "TRUNCATE ON audit_checkpoints FOR EACH STATEMENT",
    ),
    (
        "audit_head_no_truncate",
        "audit_head",
        "TRUNCATE ON audit_head FOR EACH STATEMENT",
    ),
    (
        "audit_actors_no_truncate",
        "audit_actors",
        "TRUNCATE ON audit_actors FOR EACH STATEMENT",
    ),
];

impl Store {
    /// The audit log's guards that are missing or disabled.
    pub async fn missing_audit_guards(&self) -> StoreResult<Vec<String>> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => {
                let present: Vec<(String, Option<String>)> =
                    sqlx::query_as(sql::SQLITE_MISSING_AUDIT_GUARDS)
                        .fetch_all(p)
                        .await?;
                // A trigger counts only when it is the guard: the same name is not enough (a
                // do-nothing trigger could take it).
                let squash = |s: &str| {
                    s.split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_ascii_uppercase()
                };
                SQLITE
                    .iter()
                    .filter(|(name, create)| {
                        !present.iter().any(|(n, sql)| {
                            n == name && sql.as_deref().is_some_and(|s| squash(s) == squash(create))
                        })
                    })
                    .map(|(name, _)| (*name).to_owned())
                    .collect()
            }
            Pool::Postgres(p) => {
                // Enabled (not disabled, not replica-only), on this schema's tables, calling the
                // function that raises: a renamed, disabled or neutered guard is missing.
                let present: Vec<String> = sqlx::query_scalar(
                    "SELECT t.tgname::text FROM pg_trigger t \
                     JOIN pg_proc f ON f.oid = t.tgfoid \
                     JOIN pg_class c ON c.oid = t.tgrelid \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE NOT t.tgisinternal AND t.tgenabled IN ('O', 'A') \
                       AND n.nspname = current_schema() \
                       AND f.proname = 'audit_append_only' AND f.prosrc LIKE '%RAISE EXCEPTION%'",
                )
                .fetch_all(p)
                .await?;
                POSTGRES
                    .iter()
                    .filter(|(name, _, _)| !present.iter().any(|n| n == name))
                    .map(|(name, _, _)| (*name).to_owned())
                    .collect()
            }
        })
    }

    /// Puts back every missing or disabled guard; returns their names.
    pub async fn restore_audit_guards(&self) -> StoreResult<Vec<String>> {
        let missing = self.missing_audit_guards().await?;
        if missing.is_empty() {
            return Ok(missing);
        }
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin().await?;
                for (name, create) in SQLITE
                    .iter()
                    .filter(|(n, _)| missing.iter().any(|m| m == n))
                {
                    // Only constants are formatted in.
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP TRIGGER IF EXISTS {name}"
                    )))
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(*create).execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(PG_FUNCTION).execute(&mut *tx).await?;
                for (name, table, on) in POSTGRES
                    .iter()
                    .filter(|(n, _, _)| missing.iter().any(|m| m == n))
                {
                    // Only constants are formatted in.
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP TRIGGER IF EXISTS {name} ON {table}"
                    )))
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "CREATE TRIGGER {name} BEFORE {on} EXECUTE FUNCTION audit_append_only()"
                    )))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(missing)
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const SQLITE_MISSING_AUDIT_GUARDS: &str =
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] =
        &[("SQLITE_MISSING_AUDIT_GUARDS", SQLITE_MISSING_AUDIT_GUARDS)];
}
