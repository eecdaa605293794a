//! Key rotation (ENC-03): rewrapping keys online, in small transactions, resumable.
//!
//! Rotation never re-encrypts content. A master-key rotation rewraps every KEK version, account
//! key and instance key under the new master version; a workspace rotation creates a new KEK
//! version, rewraps the workspace's data keys under it, and retires the old KEK versions once no
//! data key is wrapped by them (the database refuses to retire one that still is). Each batch is
//! its own transaction and every rewrap is conditional on the key still being wrapped the old
//! way, so requests keep being served, two rotations cannot undo each other, and an interrupted
//! rotation is finished by running it again.

use ideaweave_crypto::{KeyId, MasterKey, unwrap_key, wrap_key};
use ideaweave_domain::WorkspaceId;
use ideaweave_store::{MasterWrappedTable, Store};

use crate::platform::keyring::KeyFault;
use crate::platform::keyring::MASTER_KEY_ID;
use crate::{AppError, AppResult, Keyring};

/// Keys rewrapped per transaction.
const BATCH: i64 = 200;

/// What a master-key rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterRotation {
    /// The master version everything is now wrapped by.
    pub version: u32,
    /// Whether this run added that version (false: it finished an interrupted rotation).
    pub added_version: bool,
    /// Keys rewrapped: KEK versions, account keys, instance keys.
    pub rewrapped: u64,
}

/// What a workspace rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRotation {
    /// The KEK version the workspace's data keys are now wrapped by.
    pub kek_version: u32,
    /// Data keys rewrapped.
    pub rewrapped: u64,
    /// Old KEK versions deleted.
    pub retired: u64,
}

impl Keyring {
    fn master(&self, version: i64) -> AppResult<MasterKey> {
        Ok(self
            .provider()
            .version(crate::platform::keyring::version(version)?)?)
    }

    /// Rewraps every key wrapped by an older master version under the current one. When nothing
    /// is left to rewrap, it first adds a new master version to the key source (key file only;
    /// other sources must hold the new version already). `progress` hears the running count.
    #[tracing::instrument(skip_all)]
    pub async fn rotate_master(
        &self,
        store: &Store,
        progress: &(dyn Fn(u64) + Sync),
    ) -> AppResult<MasterRotation> {
        let mut current = self.provider().current()?;
        let pending = {
            let mut tx = store.read().await?;
            tx.master_version_use()
                .await?
                .iter()
                .any(|(_, v, _)| *v != i64::from(current.version))
        };
        let added_version = !pending;
        if added_version {
            let v = self.provider().add_version()?;
            current = self.provider().version(v)?;
        }
        let to = i64::from(current.version);
        let mut rewrapped = 0u64;
        loop {
            let mut tx = store.begin().await?;
            let keks = tx.keks_not_on(to, BATCH).await?;
            if keks.is_empty() {
                break;
            }
            for k in &keks {
                let old = self.master(k.master_version)?;
                let kek = unwrap_key(
                    &old.key,
                    MASTER_KEY_ID,
                    old.version,
                    k.workspace_id,
                    &k.wrapped,
                )?;
                let wrapped = wrap_key(
                    &current.key,
                    MASTER_KEY_ID,
                    current.version,
                    k.workspace_id,
                    &kek,
                )?;
                if tx.rewrap_kek(k, to, &wrapped).await? {
                    rewrapped += 1;
                }
            }
            tx.commit().await?;
            progress(rewrapped);
        }
        for table in [MasterWrappedTable::Account, MasterWrappedTable::Instance] {
            loop {
                let mut tx = store.begin().await?;
                let keys = tx.master_wrapped_not_on(table, to, BATCH).await?;
                if keys.is_empty() {
                    break;
                }
                for k in &keys {
                    let old = self.master(k.master_version)?;
                    let key = unwrap_key(&old.key, MASTER_KEY_ID, old.version, k.id, &k.wrapped)?;
                    let wrapped =
                        wrap_key(&current.key, MASTER_KEY_ID, current.version, k.id, &key)?;
                    if tx.rewrap_master_wrapped(table, k, to, &wrapped).await? {
                        rewrapped += 1;
                    }
                }
                tx.commit().await?;
                progress(rewrapped);
            }
        }
        Ok(MasterRotation {
            version: current.version,
            added_version,
            rewrapped,
        })
    }

    /// Removes a master version from the key source, after checking that no key is wrapped by
    /// it any more (run `rotate_master` first).
    #[tracing::instrument(skip_all)]
    pub async fn retire_master(&self, store: &Store, version: u32) -> AppResult<()> {
        let in_use: u64 = {
            let mut tx = store.read().await?;
            tx.master_version_use()
                .await?
                .iter()
                .filter(|(_, v, _)| *v == i64::from(version))
                .map(|(_, _, n)| (*n).max(0) as u64)
                .sum()
        };
        if in_use > 0 {
            return Err(AppError::Conflict(format!(
                "master key version {version} still wraps {in_use} key(s); run `ideaweave keys rotate-master` first"
            )));
        }
        Ok(self.provider().retire_version(version)?)
    }

    /// Gives a workspace a new KEK version and rewraps its data keys under it, then deletes the
    /// old versions. Resumes an interrupted rotation instead of starting another.
    #[tracing::instrument(skip_all)]
    pub async fn rotate_workspace(
        &self,
        store: &Store,
        ws: WorkspaceId,
        now: i64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> AppResult<WorkspaceRotation> {
        let target = {
            let mut tx = store.begin().await?;
            let mut repo = tx.workspace(ws);
            let current = repo.current_kek().await?.ok_or_else(|| {
                AppError::internal_from("rotating", KeyFault::NoKek { workspace: ws })
            })?;
            let older = repo.kek(current.version - 1).await?.is_some()
                || !repo.deks_below(current.version, 1).await?.is_empty();
            let target = if older {
                current.version
            } else {
                let master = self.provider().current()?;
                let kek = ideaweave_crypto::SecretKey::generate()?;
                let wrapped = wrap_key(&master.key, MASTER_KEY_ID, master.version, ws.0, &kek)?;
                repo.insert_kek(
                    current.version + 1,
                    i64::from(master.version),
                    &wrapped,
                    now,
                )
                .await?;
                current.version + 1
            };
            tx.commit().await?;
            target
        };
        let target_v = crate::platform::keyring::version(target)?;
        let mut rewrapped = 0u64;
        let mut retired = 0u64;
        // A data key created by a request that read the old KEK version just before the new one
        // committed can appear after a pass; the retire step then fails or leaves the old
        // version, and another pass picks it up.
        for _ in 0..5 {
            loop {
                let mut tx = store.begin().await?;
                let mut repo = tx.workspace(ws);
                let deks = repo.deks_below(target, BATCH).await?;
                if deks.is_empty() {
                    break;
                }
                let new_kek = self.kek(&mut repo, target_v).await?.ok_or_else(|| {
                    AppError::internal_from(
                        "rotating",
                        KeyFault::KekLost {
                            workspace: ws,
                            version: target_v,
                        },
                    )
                })?;
                for d in &deks {
                    let from = crate::platform::keyring::version(d.kek_version)?;
                    let old = self.kek(&mut repo, from).await?.ok_or_else(|| {
                        AppError::internal_from(
                            "rotating",
                            KeyFault::KekLost {
                                workspace: ws,
                                version: from,
                            },
                        )
                    })?;
                    let dek = unwrap_key(&old, ws.0, from, d.id, &d.wrapped)?;
                    let wrapped = wrap_key(&new_kek, ws.0, target_v, d.id as KeyId, &dek)?;
                    if repo
                        .rewrap_dek(d.id, d.kek_version, target, &wrapped)
                        .await?
                    {
                        rewrapped += 1;
                    }
                }
                tx.commit().await?;
                progress(rewrapped);
            }
            let mut tx = store.begin().await?;
            let attempt = tx.workspace(ws).retire_keks_below(target).await;
            match attempt {
                Ok(n) => {
                    tx.commit().await?;
                    retired += n;
                }
                Err(e) => {
                    tracing::info!(error = %e, "a data key appeared under an old KEK version; another pass");
                    continue;
                }
            }
            let mut tx = store.read().await?;
            if tx.workspace(ws).kek(target - 1).await?.is_none()
                && tx.workspace(ws).deks_below(target, 1).await?.is_empty()
            {
                self.forget_workspace(ws);
                return Ok(WorkspaceRotation {
                    kek_version: target_v,
                    rewrapped,
                    retired,
                });
            }
        }
        Err(AppError::Conflict(format!(
            "workspace {ws} kept gaining keys under its old KEK; run the rotation again"
        )))
    }
}
