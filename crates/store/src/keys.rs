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

/// A data key, wrapped by a KEK version; `subject_id` is `None` for the workspace's own key.
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
        on_conn!(self.tx, c => {
            sqlx::query("INSERT INTO workspace_keys (workspace_id, version, master_version, wrapped, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(ws).bind(version).bind(master_version).bind(wrapped).bind(now).execute(c).await?;
        });
        Ok(())
    }

    /// A KEK version.
    pub async fn kek(&mut self, version: i64) -> StoreResult<Option<KekRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, c => {
            sqlx::query_as("SELECT version, master_version, wrapped FROM workspace_keys WHERE workspace_id = $1 AND version = $2")
                .bind(ws).bind(version).fetch_optional(c).await?
        }))
    }

    /// The newest KEK version.
    pub async fn current_kek(&mut self) -> StoreResult<Option<KekRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, c => {
            sqlx::query_as("SELECT version, master_version, wrapped FROM workspace_keys WHERE workspace_id = $1 ORDER BY version DESC LIMIT 1")
                .bind(ws).fetch_optional(c).await?
        }))
    }

    /// Stores a data key.
    pub async fn insert_dek(
        &mut self,
        id: Uuid,
        subject: Option<UserId>,
        kek_version: i64,
        wrapped: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, c => {
            sqlx::query("INSERT INTO data_keys (workspace_id, id, subject_id, kek_version, wrapped, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(ws).bind(id).bind(subject.map(|s| s.0)).bind(kek_version).bind(wrapped).bind(now).execute(c).await?;
        });
        Ok(())
    }

    /// A data key by id.
    pub async fn dek(&mut self, id: Uuid) -> StoreResult<Option<DekRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, c => {
            sqlx::query_as("SELECT id, subject_id, kek_version, wrapped FROM data_keys WHERE workspace_id = $1 AND id = $2")
                .bind(ws).bind(id).fetch_optional(c).await?
        }))
    }

    /// The data key of a subject, or the workspace's own (`None`).
    pub async fn dek_of(&mut self, subject: Option<UserId>) -> StoreResult<Option<DekRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, c => {
            sqlx::query_as(
                "SELECT id, subject_id, kek_version, wrapped FROM data_keys WHERE workspace_id = $1 \
                 AND (subject_id = $2 OR ($2 IS NULL AND subject_id IS NULL))",
            ).bind(ws).bind(subject.map(|s| s.0)).fetch_optional(c).await?
        }))
    }
}

impl Tx {
    /// How many KEK versions each master key version wraps, lowest master version first.
    pub async fn keks_by_master_version(&mut self) -> StoreResult<Vec<(i64, i64)>> {
        Ok(on_conn!(self, c => {
            sqlx::query_as("SELECT master_version, COUNT(*) FROM workspace_keys GROUP BY master_version ORDER BY master_version")
                .fetch_all(c).await?
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
        let row: Option<Row> = on_conn!(self, c => {
            sqlx::query_as("SELECT workspace_id, version, master_version, wrapped FROM workspace_keys ORDER BY workspace_id, version LIMIT 1")
                .fetch_optional(c).await?
        });
        Ok(row.map(|r| (r.workspace_id, r.kek)))
    }
}
