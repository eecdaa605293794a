//! The keyring: which key seals what (ENC-02).
//!
//! A workspace has a KEK (versioned), stored wrapped by a master key version; each data subject
//! in it, and the workspace itself, has a data key (DEK) stored wrapped by a KEK version.
//! Unwrapped keys are cached (bounded, zeroised on eviction); the master key comes from a
//! [`KeyProvider`] and never enters the database.

use std::sync::Arc;

use ideaweave_crypto::{KeyCache, KeyId, KeyProvider, SecretKey, unwrap_key, wrap_key};
use ideaweave_domain::{UserId, WorkspaceId};
use ideaweave_store::{Store, WorkspaceRepo};

use crate::{AppError, AppResult};

/// The id under which master keys wrap KEKs (their versions tell them apart).
const MASTER_KEY_ID: KeyId = uuid::Uuid::nil();
/// The version every data key has: data keys are never re-versioned, a new DEK gets a new id.
pub const DEK_VERSION: u32 = 1;

impl From<ideaweave_crypto::CryptoError> for AppError {
    fn from(e: ideaweave_crypto::CryptoError) -> Self {
        AppError::Internal(format!("cryptography: {e}"))
    }
}

/// How the master key versions are used, for `ideaweave keys status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// The versions the key source holds; the highest is current.
    pub master_versions: Vec<u32>,
    /// For each master version in use, how many KEK versions it wraps.
    pub keks_by_master_version: Vec<(u32, u64)>,
}

/// Keys for sealing and opening workspace data.
pub struct Keyring {
    provider: Arc<dyn KeyProvider>,
    cache: KeyCache,
}

fn version(v: i64) -> AppResult<u32> {
    u32::try_from(v)
        .map_err(|_| AppError::internal(format!("stored key version {v} is out of range")))
}

impl Keyring {
    /// A keyring over a master-key source, caching at most `cache_capacity` unwrapped keys.
    pub fn new(provider: Arc<dyn KeyProvider>, cache_capacity: usize) -> Self {
        Self {
            provider,
            cache: KeyCache::new(cache_capacity),
        }
    }

    /// Creates KEK version 1 of a new workspace, wrapped by the current master key.
    pub async fn init_workspace(&self, repo: &mut WorkspaceRepo<'_>, now: i64) -> AppResult<()> {
        let master = self.provider.current()?;
        let kek = SecretKey::generate()?;
        let wrapped = wrap_key(
            &master.key,
            MASTER_KEY_ID,
            master.version,
            repo.id().0,
            &kek,
        )?;
        repo.insert_kek(1, i64::from(master.version), &wrapped, now)
            .await?;
        self.cache.insert(repo.id().0, repo.id().0, 1, kek);
        Ok(())
    }

    async fn kek(&self, repo: &mut WorkspaceRepo<'_>, kek_version: u32) -> AppResult<SecretKey> {
        let id = repo.id().0;
        if let Some(k) = self.cache.get(id, id, kek_version) {
            return Ok(k);
        }
        let rec = repo.kek(i64::from(kek_version)).await?.ok_or_else(|| {
            AppError::internal(format!("workspace {id} has no KEK version {kek_version}"))
        })?;
        let master = self.provider.version(version(rec.master_version)?)?;
        let kek = unwrap_key(&master.key, MASTER_KEY_ID, master.version, id, &rec.wrapped)?;
        self.cache.insert(id, id, kek_version, kek.clone());
        Ok(kek)
    }

    /// The data key of `subject` (or of the workspace itself, for `None`) for sealing new data,
    /// created on first use. Needs a write transaction when the key does not exist yet.
    pub async fn data_key(
        &self,
        repo: &mut WorkspaceRepo<'_>,
        subject: Option<UserId>,
        now: i64,
    ) -> AppResult<(KeyId, SecretKey)> {
        if let Some(rec) = repo.dek_of(subject).await? {
            let key = self.data_key_by_id(repo, rec.id).await?;
            return Ok((rec.id, key));
        }
        let kek_rec = repo.current_kek().await?;
        let kek_version = match kek_rec {
            Some(r) => version(r.version)?,
            None => {
                self.init_workspace(repo, now).await?;
                1
            }
        };
        let kek = self.kek(repo, kek_version).await?;
        let id = KeyId::now_v7();
        let dek = SecretKey::generate()?;
        let wrapped = wrap_key(&kek, repo.id().0, kek_version, id, &dek)?;
        repo.insert_dek(id, subject, i64::from(kek_version), &wrapped, now)
            .await?;
        self.cache.insert(repo.id().0, id, DEK_VERSION, dek.clone());
        Ok((id, dek))
    }

    /// A data key by id, to open data sealed with it.
    pub async fn data_key_by_id(
        &self,
        repo: &mut WorkspaceRepo<'_>,
        id: KeyId,
    ) -> AppResult<SecretKey> {
        if let Some(k) = self.cache.get(repo.id().0, id, DEK_VERSION) {
            return Ok(k);
        }
        let rec = repo.dek(id).await?.ok_or_else(|| {
            AppError::internal(format!("data key {id} does not exist (shredded?)"))
        })?;
        let kek_version = version(rec.kek_version)?;
        let kek = self.kek(repo, kek_version).await?;
        let dek = unwrap_key(&kek, repo.id().0, kek_version, id, &rec.wrapped)?;
        self.cache.insert(repo.id().0, id, DEK_VERSION, dek.clone());
        Ok(dek)
    }

    /// Checks that the master key source opens the keys the database holds, so a wrong or
    /// missing key stops the start instead of failing on the first request.
    pub async fn check(&self, store: &Store) -> AppResult<()> {
        let mut tx = store.read().await?;
        let Some((ws, kek)) = tx.any_kek().await? else {
            return Ok(());
        };
        let mv = version(kek.master_version)?;
        let master = self
            .provider
            .version(mv)
            .map_err(|e| AppError::internal(format!("{e}")))?;
        unwrap_key(&master.key, MASTER_KEY_ID, mv, ws, &kek.wrapped).map_err(|_| {
            AppError::internal(format!(
                "master key version {mv} does not open the keys in this database (workspace {ws}): \
                 this is not the key file this database was created with"
            ))
        })?;
        Ok(())
    }

    /// Which master versions exist and how many KEKs each wraps.
    pub async fn status(&self, store: &Store) -> AppResult<KeyStatus> {
        let mut tx = store.read().await?;
        let mut keks = Vec::new();
        for (mv, n) in tx.keks_by_master_version().await? {
            keks.push((version(mv)?, n.max(0) as u64));
        }
        Ok(KeyStatus {
            master_versions: self.provider.versions()?,
            keks_by_master_version: keks,
        })
    }

    /// Forgets every unwrapped key of a workspace (after it is erased or its KEK rotated).
    pub fn forget_workspace(&self, id: WorkspaceId) {
        self.cache.forget_scope(id.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ideaweave_crypto::{Place, open, seal};
    use ideaweave_domain::{Slug, WorkspaceName};

    struct OneKey(SecretKey, u32);

    impl KeyProvider for OneKey {
        fn current(&self) -> ideaweave_crypto::CryptoResult<ideaweave_crypto::MasterKey> {
            Ok(ideaweave_crypto::MasterKey {
                version: self.1,
                key: self.0.clone(),
            })
        }
        fn version(&self, v: u32) -> ideaweave_crypto::CryptoResult<ideaweave_crypto::MasterKey> {
            if v == self.1 {
                self.current()
            } else {
                Err(ideaweave_crypto::CryptoError::KeySource(format!(
                    "no version {v}"
                )))
            }
        }
        fn versions(&self) -> ideaweave_crypto::CryptoResult<Vec<u32>> {
            Ok(vec![self.1])
        }
    }

    async fn store() -> (tempfile::TempDir, Store, WorkspaceId) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("k.db").display());
        let store = Store::connect(&url, &Default::default()).await.unwrap();
        store.migrate().await.unwrap();
        let ws = WorkspaceId::new();
        let mut tx = store.begin().await.unwrap();
        tx.insert_workspace(
            ws,
            &Slug::parse("keys").unwrap(),
            &WorkspaceName::parse("Keys").unwrap(),
            0,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        (dir, store, ws)
    }

    #[tokio::test]
    async fn enc_02_data_keys_are_wrapped_by_the_kek_which_is_wrapped_by_the_master_key() {
        let (_dir, store, ws) = store().await;
        let master = SecretKey::generate().unwrap();
        let ring = Keyring::new(Arc::new(OneKey(master.clone(), 1)), 16);
        let subject = UserId::new();
        let mut tx = store.begin().await.unwrap();
        let (id, key) = ring
            .data_key(&mut tx.workspace(ws), Some(subject), 1)
            .await
            .unwrap();
        let (again, _) = ring
            .data_key(&mut tx.workspace(ws), Some(subject), 1)
            .await
            .unwrap();
        assert_eq!(id, again, "one data key per subject");
        let (ws_key, _) = ring.data_key(&mut tx.workspace(ws), None, 1).await.unwrap();
        assert_ne!(ws_key, id);
        tx.commit().await.unwrap();
        let place = Place {
            workspace: ws.0,
            table: "ideas",
            column: "title",
            row: uuid::Uuid::now_v7(),
        };
        let sealed = seal(&key, id, DEK_VERSION, &place, b"secret title").unwrap();
        // A fresh keyring (empty cache) opens it from the stored, wrapped keys alone.
        let fresh = Keyring::new(Arc::new(OneKey(master, 1)), 16);
        let mut tx = store.read().await.unwrap();
        let k = fresh
            .data_key_by_id(&mut tx.workspace(ws), id)
            .await
            .unwrap();
        assert_eq!(
            open(&k, id, DEK_VERSION, &place, &sealed).unwrap(),
            b"secret title"
        );
        fresh.check(&store).await.unwrap();
        let status = fresh.status(&store).await.unwrap();
        assert_eq!(
            status,
            KeyStatus {
                master_versions: vec![1],
                keks_by_master_version: vec![(1, 1)]
            }
        );
    }

    #[tokio::test]
    async fn enc_02_another_master_key_opens_nothing_and_is_caught_at_start() {
        let (_dir, store, ws) = store().await;
        let ring = Keyring::new(Arc::new(OneKey(SecretKey::generate().unwrap(), 1)), 16);
        let mut tx = store.begin().await.unwrap();
        let (id, _) = ring
            .data_key(&mut tx.workspace(ws), Some(UserId::new()), 1)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let wrong = Keyring::new(Arc::new(OneKey(SecretKey::generate().unwrap(), 1)), 16);
        let e = wrong.check(&store).await.unwrap_err().to_string();
        assert_eq!(e, "internal error", "details go to the log, not to callers");
        let mut tx = store.read().await.unwrap();
        assert!(
            wrong
                .data_key_by_id(&mut tx.workspace(ws), id)
                .await
                .is_err()
        );
        let later = Keyring::new(Arc::new(OneKey(SecretKey::generate().unwrap(), 2)), 16);
        assert!(
            later.check(&store).await.is_err(),
            "a source without the version that wraps the KEKs is refused"
        );
    }
}
