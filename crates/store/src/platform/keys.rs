//! The key store: wrapped workspace KEKs and data keys. Storage keeps them; the `app` crate's
//! keyring decides which key seals what.

use ideaweave_domain::UserId;
use sqlx::FromRow;
use uuid::Uuid;

use crate::workspace::WorkspaceRepo;
use crate::{StoreResult, Tx};

/// A version of a workspace's KEK, wrapped by a master key version.
#[derive(Debug, Clone, FromRow)]
pub struct KekRecord {
    pub version: i64,
    pub master_version: i64,
    pub wrapped: Vec<u8>,
}

/// A data key, wrapped by a KEK version; `subject_id` is `None` for the workspace's own key and
/// for the keys of days of activity.
#[derive(Debug, Clone, FromRow)]
pub struct DekRecord {
    pub id: Uuid,
    pub subject_id: Option<Uuid>,
    pub kek_version: i64,
    pub wrapped: Vec<u8>,
}

impl WorkspaceRepo<'_> {
    /// Stores a KEK version.
    pub async fn insert_kek(
        &mut self,
        version: i64,
        master_version: i64,
        wrapped: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::INSERT_KEK)
                .bind(ws)
                .bind(version)
                .bind(master_version)
                .bind(wrapped)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// A KEK version.
    pub async fn kek(&mut self, version: i64) -> StoreResult<Option<KekRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::KEK)
                .bind(ws)
                .bind(version)
                .fetch_optional(c)
                .await?
        }))
    }

    /// The newest KEK version.
    pub async fn current_kek(&mut self) -> StoreResult<Option<KekRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::CURRENT_KEK)
                .bind(ws)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Stores a data key: a person's (`subject`), one day's activity's (`activity_day`: days
    /// since the Unix epoch), or the workspace's own (neither).
    pub async fn insert_dek(
        &mut self,
        id: Uuid,
        subject: Option<UserId>,
        activity_day: Option<i64>,
        kek_version: i64,
        wrapped: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::INSERT_DEK)
                .bind(ws)
                .bind(id)
                .bind(subject.map(|s| s.0))
                .bind(activity_day)
                .bind(kek_version)
                .bind(wrapped)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// The data key of one day's activity.
    pub async fn activity_dek(&mut self, day: i64) -> StoreResult<Option<DekRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::ACTIVITY_DEK)
                .bind(ws)
                .bind(day)
                .fetch_optional(c)
                .await?
        }))
    }

    /// The ids of the keys of days of activity before `day`.
    pub async fn activity_deks_before(&mut self, day: i64) -> StoreResult<Vec<Uuid>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::ACTIVITY_DEKS_BEFORE)
                .bind(ws)
                .bind(day)
                .fetch_all(c)
                .await?
        }))
    }

    /// A data key by id.
    pub async fn dek(&mut self, id: Uuid) -> StoreResult<Option<DekRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::DEK)
                .bind(ws)
                .bind(id)
                .fetch_optional(c)
                .await?
        }))
    }

    /// The data key of a subject, or the workspace's own (`None`).
    pub async fn dek_of(&mut self, subject: Option<UserId>) -> StoreResult<Option<DekRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT id, subject_id, kek_version, wrapped FROM data_keys WHERE workspace_id = $1 \
                 AND (subject_id = $2 OR ($2 IS NULL AND subject_id IS NULL)) AND activity_day IS NULL",
            ).bind(ws).bind(subject.map(|s| s.0)).fetch_optional(c).await?
        }))
    }
}

impl Tx {
    /// How many KEK versions each master key version wraps, lowest master version first.
    pub async fn keks_by_master_version(&mut self) -> StoreResult<Vec<(i64, i64)>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::KEKS_BY_MASTER_VERSION)
                .fetch_all(c)
                .await?
        }))
    }

    /// One stored KEK, to check at start that the master key opens what the database holds.
    pub async fn any_kek(&mut self) -> StoreResult<Option<(Uuid, KekRecord)>> {
        #[derive(FromRow)]
        struct Row {
            workspace_id: Uuid,
            #[sqlx(flatten)]
            kek: KekRecord,
        }
        let row: Option<Row> = on_conn!(self, |c| {
            sqlx::query_as(sql::ANY_KEK).fetch_optional(c).await?
        });
        Ok(row.map(|r| (r.workspace_id, r.kek)))
    }
}

/// A key wrapped directly by a master key version: an account key or an instance key.
#[derive(Debug, Clone, FromRow)]
pub struct MasterWrappedRecord {
    pub id: Uuid,
    pub master_version: i64,
    pub wrapped: Vec<u8>,
}

/// A KEK version as rotation sees it: which workspace, which version, wrapped how.
#[derive(Debug, Clone, FromRow)]
pub struct StoredKek {
    pub workspace_id: Uuid,
    pub version: i64,
    pub master_version: i64,
    pub wrapped: Vec<u8>,
}

impl WorkspaceRepo<'_> {
    /// Data keys still wrapped by a KEK version older than `version`, at most `limit`.
    pub async fn deks_below(&mut self, version: i64, limit: i64) -> StoreResult<Vec<DekRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::DEKS_BELOW)
                .bind(ws)
                .bind(version)
                .bind(limit)
                .fetch_all(c)
                .await?
        }))
    }

    /// Replaces a data key's wrapping, only if it is still wrapped by `from_version` (so a
    /// concurrent rotation cannot be undone). Returns whether it changed.
    pub async fn rewrap_dek(
        &mut self,
        id: Uuid,
        from_version: i64,
        to_version: i64,
        wrapped: &[u8],
    ) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::REWRAP_DEK)
                .bind(ws)
                .bind(id)
                .bind(from_version)
                .bind(to_version)
                .bind(wrapped)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Deletes KEK versions older than `version` that no data key is wrapped by any more.
    /// Returns how many were deleted.
    pub async fn retire_keks_below(&mut self, version: i64) -> StoreResult<u64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(
                "DELETE FROM workspace_keys WHERE workspace_id = $1 AND version < $2 \
                 AND NOT EXISTS (SELECT 1 FROM data_keys d WHERE d.workspace_id = workspace_keys.workspace_id AND d.kek_version = workspace_keys.version)",
            ).bind(ws).bind(version).execute(c).await?.rows_affected()
        }))
    }

    /// Deletes a data key by id (crypto-shredding); whether there was one.
    pub async fn delete_dek(&mut self, id: Uuid) -> StoreResult<bool> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_DEK)
                .bind(ws)
                .bind(id)
                .execute(c)
                .await?
                .rows_affected()
                > 0
        }))
    }

    /// Deletes a subject's data key (crypto-shredding). Returns its id, if it had one.
    pub async fn delete_dek_of(&mut self, subject: UserId) -> StoreResult<Option<Uuid>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::DELETE_DEK_OF)
                .bind(ws)
                .bind(subject.0)
                .fetch_optional(c)
                .await?
        }))
    }
}

impl Tx {
    /// Stores an account's key, wrapped by a master key version.
    pub async fn insert_account_key(
        &mut self,
        id: Uuid,
        user: UserId,
        master_version: i64,
        wrapped: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_ACCOUNT_KEY)
                .bind(id)
                .bind(user.0)
                .bind(master_version)
                .bind(wrapped)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// An account key by its id.
    pub async fn account_key(&mut self, id: Uuid) -> StoreResult<Option<MasterWrappedRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::ACCOUNT_KEY)
                .bind(id)
                .fetch_optional(c)
                .await?
        }))
    }

    /// The key of an account, by the account.
    pub async fn account_key_of(
        &mut self,
        user: UserId,
    ) -> StoreResult<Option<MasterWrappedRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::ACCOUNT_KEY_OF)
                .bind(user.0)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Stores an instance key unless one of that name exists (another node may have created it
    /// first; the caller reads back whichever won).
    pub async fn insert_instance_key(
        &mut self,
        name: &str,
        id: Uuid,
        master_version: i64,
        wrapped: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_INSTANCE_KEY)
                .bind(name)
                .bind(id)
                .bind(master_version)
                .bind(wrapped)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// An instance key by id (the keys of days of instance activity are opened this way).
    pub async fn instance_key_by_id(
        &mut self,
        id: Uuid,
    ) -> StoreResult<Option<MasterWrappedRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::INSTANCE_KEY_BY_ID)
                .bind(id)
                .fetch_optional(c)
                .await?
        }))
    }

    /// The ids of the instance keys named `prefix` + a zero-padded number below `below` (the
    /// keys of days of instance activity before a day).
    pub async fn instance_keys_named_below(
        &mut self,
        prefix: &str,
        below: &str,
    ) -> StoreResult<Vec<Uuid>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sql::INSTANCE_KEYS_NAMED_BELOW)
                .bind(prefix)
                .bind(below)
                .fetch_all(c)
                .await?
        }))
    }

    /// An instance key by name.
    pub async fn instance_key(&mut self, name: &str) -> StoreResult<Option<MasterWrappedRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::INSTANCE_KEY)
                .bind(name)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Up to `limit` KEK versions wrapped by a master version other than `current`.
    pub async fn keks_not_on(&mut self, current: i64, limit: i64) -> StoreResult<Vec<StoredKek>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::KEKS_NOT_ON)
                .bind(current)
                .bind(limit)
                .fetch_all(c)
                .await?
        }))
    }

    /// Rewraps a KEK version, only if it is still wrapped by `from` master version.
    pub async fn rewrap_kek(
        &mut self,
        k: &StoredKek,
        to: i64,
        wrapped: &[u8],
    ) -> StoreResult<bool> {
        let n = on_conn!(self, |c| {
            sqlx::query(sql::REWRAP_KEK)
                .bind(k.workspace_id)
                .bind(k.version)
                .bind(k.master_version)
                .bind(to)
                .bind(wrapped)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Up to `limit` account or instance keys (`table` chooses) wrapped by a master version
    /// other than `current`.
    pub async fn master_wrapped_not_on(
        &mut self,
        table: MasterWrappedTable,
        current: i64,
        limit: i64,
    ) -> StoreResult<Vec<MasterWrappedRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id, master_version, wrapped FROM {} WHERE master_version <> $1 ORDER BY id LIMIT $2",
            table.name()
        ));
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql)
                .bind(current)
                .bind(limit)
                .fetch_all(c)
                .await?
        }))
    }

    /// Rewraps an account or instance key, only if still wrapped by `from` master version.
    pub async fn rewrap_master_wrapped(
        &mut self,
        table: MasterWrappedTable,
        k: &MasterWrappedRecord,
        to: i64,
        wrapped: &[u8],
    ) -> StoreResult<bool> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE {} SET master_version = $3, wrapped = $4 WHERE id = $1 AND master_version = $2",
            table.name()
        ));
        let n = on_conn!(self, |c| {
            sqlx::query(sql)
                .bind(k.id)
                .bind(k.master_version)
                .bind(to)
                .bind(wrapped)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// How many keys of each kind each master version wraps: (kind, master version, count).
    pub async fn master_version_use(&mut self) -> StoreResult<Vec<(String, i64, i64)>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT 'workspace' AS kind, master_version, COUNT(*) AS n FROM workspace_keys GROUP BY master_version \
                 UNION ALL SELECT 'account', master_version, COUNT(*) FROM account_keys GROUP BY master_version \
                 UNION ALL SELECT 'instance', master_version, COUNT(*) FROM instance_keys GROUP BY master_version \
                 ORDER BY 2, 1",
            ).fetch_all(c).await?
        }))
    }

    /// Deletes an account's key (crypto-shredding). Returns its id, if it had one.
    pub async fn delete_account_key_of(&mut self, user: UserId) -> StoreResult<Option<Uuid>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sql::DELETE_ACCOUNT_KEY_OF)
                .bind(user.0)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Deletes a shredded key again: every key of a workspace (`workspace` = `id`), one data key
    /// of a workspace, or an account key or key of a day of instance activity (`workspace` =
    /// `None`). Starts and restores apply the
    /// shred ledger with it, so a database copied back from before an erasure loses the erased
    /// keys again. Returns how many rows went.
    pub async fn delete_shredded(&mut self, workspace: Option<Uuid>, id: Uuid) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            match workspace {
                Some(ws) if ws == id => {
                    let n = sqlx::query(sql::DELETE_SHREDDED)
                        .bind(ws)
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                    n + sqlx::query(sql::DELETE_SHREDDED_2)
                        .bind(ws)
                        .execute(&mut *c)
                        .await?
                        .rows_affected()
                }
                Some(ws) => sqlx::query(sql::DELETE_DEK)
                    .bind(ws)
                    .bind(id)
                    .execute(&mut *c)
                    .await?
                    .rows_affected(),
                None => {
                    let n = sqlx::query(sql::DELETE_SHREDDED_3)
                        .bind(id)
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                    n + sqlx::query(sql::DELETE_SHREDDED_4)
                        .bind(id)
                        .execute(&mut *c)
                        .await?
                        .rows_affected()
                }
            }
        }))
    }
}

/// The tables of keys wrapped directly by a master key version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterWrappedTable {
    /// Per-account keys.
    Account,
    /// Instance-wide keys.
    Instance,
}

impl MasterWrappedTable {
    fn name(self) -> &'static str {
        match self {
            Self::Account => "account_keys",
            Self::Instance => "instance_keys",
        }
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const INSERT_KEK: &str = "INSERT INTO workspace_keys (workspace_id, version, master_version, wrapped, created_at) VALUES ($1, $2, $3, $4, $5)";
    pub(crate) const KEK: &str = "SELECT version, master_version, wrapped FROM workspace_keys WHERE workspace_id = $1 AND version = $2";
    pub(crate) const CURRENT_KEK: &str = "SELECT version, master_version, wrapped FROM workspace_keys WHERE workspace_id = $1 ORDER BY version DESC LIMIT 1";
    pub(crate) const INSERT_DEK: &str = "INSERT INTO data_keys (workspace_id, id, subject_id, activity_day, kek_version, wrapped, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub(crate) const ACTIVITY_DEK: &str = "SELECT id, subject_id, kek_version, wrapped FROM data_keys WHERE workspace_id = $1 AND activity_day = $2";
    pub(crate) const ACTIVITY_DEKS_BEFORE: &str = "SELECT id FROM data_keys WHERE workspace_id = $1 AND activity_day < $2 ORDER BY activity_day";
    pub(crate) const DEK: &str = "SELECT id, subject_id, kek_version, wrapped FROM data_keys WHERE workspace_id = $1 AND id = $2";
    pub(crate) const KEKS_BY_MASTER_VERSION: &str = "SELECT master_version, COUNT(*) FROM workspace_keys GROUP BY master_version ORDER BY master_version";
    pub(crate) const ANY_KEK: &str = "SELECT workspace_id, version, master_version, wrapped FROM workspace_keys ORDER BY workspace_id, version LIMIT 1";
    pub(crate) const DEKS_BELOW: &str = "SELECT id, subject_id, kek_version, wrapped FROM data_keys WHERE workspace_id = $1 AND kek_version < $2 ORDER BY id LIMIT $3";
    pub(crate) const REWRAP_DEK: &str = "UPDATE data_keys SET kek_version = $4, wrapped = $5 WHERE workspace_id = $1 AND id = $2 AND kek_version = $3";
    pub(crate) const DELETE_DEK: &str = "DELETE FROM data_keys WHERE workspace_id = $1 AND id = $2";
    pub(crate) const DELETE_DEK_OF: &str =
        "DELETE FROM data_keys WHERE workspace_id = $1 AND subject_id = $2 RETURNING id";
    pub(crate) const INSERT_ACCOUNT_KEY: &str = "INSERT INTO account_keys (id, user_id, master_version, wrapped, created_at) VALUES ($1, $2, $3, $4, $5)";
    pub(crate) const ACCOUNT_KEY: &str =
        "SELECT id, master_version, wrapped FROM account_keys WHERE id = $1";
    pub(crate) const ACCOUNT_KEY_OF: &str =
        "SELECT id, master_version, wrapped FROM account_keys WHERE user_id = $1";
    pub(crate) const INSERT_INSTANCE_KEY: &str = "INSERT INTO instance_keys (name, id, master_version, wrapped, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING";
    pub(crate) const INSTANCE_KEY_BY_ID: &str =
        "SELECT id, master_version, wrapped FROM instance_keys WHERE id = $1";
    pub(crate) const INSTANCE_KEYS_NAMED_BELOW: &str =
        "SELECT id FROM instance_keys WHERE name >= $1 AND name < $2 ORDER BY name";
    pub(crate) const INSTANCE_KEY: &str =
        "SELECT id, master_version, wrapped FROM instance_keys WHERE name = $1";
    pub(crate) const KEKS_NOT_ON: &str = "SELECT workspace_id, version, master_version, wrapped FROM workspace_keys WHERE master_version <> $1 ORDER BY workspace_id, version LIMIT $2";
    pub(crate) const REWRAP_KEK: &str = "UPDATE workspace_keys SET master_version = $4, wrapped = $5 WHERE workspace_id = $1 AND version = $2 AND master_version = $3";
    pub(crate) const DELETE_ACCOUNT_KEY_OF: &str =
        "DELETE FROM account_keys WHERE user_id = $1 RETURNING id";
    pub(crate) const DELETE_SHREDDED: &str = "DELETE FROM data_keys WHERE workspace_id = $1";
    pub(crate) const DELETE_SHREDDED_2: &str = "DELETE FROM workspace_keys WHERE workspace_id = $1";
    pub(crate) const DELETE_SHREDDED_3: &str = "DELETE FROM account_keys WHERE id = $1";
    pub(crate) const DELETE_SHREDDED_4: &str = "DELETE FROM instance_keys WHERE id = $1";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("INSERT_KEK", INSERT_KEK),
        ("KEK", KEK),
        ("CURRENT_KEK", CURRENT_KEK),
        ("INSERT_DEK", INSERT_DEK),
        ("ACTIVITY_DEK", ACTIVITY_DEK),
        ("ACTIVITY_DEKS_BEFORE", ACTIVITY_DEKS_BEFORE),
        ("DEK", DEK),
        ("KEKS_BY_MASTER_VERSION", KEKS_BY_MASTER_VERSION),
        ("ANY_KEK", ANY_KEK),
        ("DEKS_BELOW", DEKS_BELOW),
        ("REWRAP_DEK", REWRAP_DEK),
        ("DELETE_DEK", DELETE_DEK),
        ("DELETE_DEK_OF", DELETE_DEK_OF),
        ("INSERT_ACCOUNT_KEY", INSERT_ACCOUNT_KEY),
        ("ACCOUNT_KEY", ACCOUNT_KEY),
        ("ACCOUNT_KEY_OF", ACCOUNT_KEY_OF),
        ("INSERT_INSTANCE_KEY", INSERT_INSTANCE_KEY),
        ("INSTANCE_KEY_BY_ID", INSTANCE_KEY_BY_ID),
        ("INSTANCE_KEYS_NAMED_BELOW", INSTANCE_KEYS_NAMED_BELOW),
        ("INSTANCE_KEY", INSTANCE_KEY),
        ("KEKS_NOT_ON", KEKS_NOT_ON),
        ("REWRAP_KEK", REWRAP_KEK),
        ("DELETE_ACCOUNT_KEY_OF", DELETE_ACCOUNT_KEY_OF),
        ("DELETE_SHREDDED", DELETE_SHREDDED),
        ("DELETE_SHREDDED_2", DELETE_SHREDDED_2),
        ("DELETE_SHREDDED_3", DELETE_SHREDDED_3),
        ("DELETE_SHREDDED_4", DELETE_SHREDDED_4),
    ];
}
