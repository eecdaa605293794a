//! The keyring: which key seals what (ENC-01, ENC-02, ENC-04).
//!
//! A workspace has a KEK (versioned), stored wrapped by a master key version; each data subject
//! in it, and the workspace itself, has a data key (DEK) stored wrapped by a KEK version. An
//! account's own personal data (name, email address) has an account key wrapped directly by a
//! master key version. Unwrapped keys are cached (bounded, zeroised on eviction); the master key
//! comes from a [`KeyProvider`] and never enters the database.
//!
//! Use cases seal with a [`SealingKey`] and open with [`Keyring::open`], which finds the key
//! from the sealed value's header. A key that was shredded opens nothing: [`Keyring::open`]
//! answers `None`, and views show the value as erased.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use ideaweave_audit::{CheckpointSigner, VerifierKey};
use ideaweave_crypto::{
    BlindIndexKey, CryptoError, KeyCache, KeyId, KeyProvider, MacKey, Place, SealedHeader,
    SecretKey, ShredEntry, ShredLedger, StreamOpener, StreamSealer, derive_key, open, seal,
    stream_header, unwrap_key, wrap_key,
};
use ideaweave_domain::{Email, UserId, WorkspaceId};
use ideaweave_store::{Store, Tx, WorkspaceRepo};

use crate::OrInternal;
use crate::{AppError, AppResult};

/// The id under which master keys wrap KEKs and account keys (their versions tell them apart).
pub(crate) const MASTER_KEY_ID: KeyId = uuid::Uuid::nil();
/// The version every data key and account key has: they are never re-versioned (rotation
/// rewraps them), so a cached one stays valid for as long as it exists.
pub const DEK_VERSION: u32 = 1;
/// The scope of account keys in places and in the cache: instance-level, no workspace.
pub(crate) const ACCOUNT_SCOPE: uuid::Uuid = uuid::Uuid::nil();
/// The name of the instance key behind the email blind index.
const EMAIL_INDEX_KEY: &str = "email-index";
/// The name of the instance key whose bytes seed the audit checkpoint signing key.
const AUDIT_SIGNING_KEY: &str = "audit-signing";
/// The name of the instance key that seals details of events with no person's key.
const AUDIT_DETAILS_KEY: &str = "audit-details";
/// The name of the instance key that seals queued account mail (password reset links), which
/// belongs to no workspace.
const ACCOUNT_MAIL_KEY: &str = "account-mail";
/// Keys the MACs of audit entries and the audit anchor (AUD-01): wrapped by the master key like
/// every instance key, so it survives master-key rotation and nobody without the master key can
/// compute a MAC.
const AUDIT_MAC_KEY: &str = "audit-mac";
/// What the audit MAC key is derived for.
const AUDIT_MAC_PURPOSE: &str = "audit-entries";
/// The name of the instance key whose bytes are the X25519 identity this instance adds to
/// every backup's recipients, so that it can verify its own backups by a trial restore.
const BACKUP_IDENTITY_KEY: &str = "backup-identity";

/// A key the keyring needs is missing or does not fit: the key tables and the master key
/// disagree. Kept as the cause of the internal error, with the ids needed to investigate.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyFault {
    #[error("data key {0} vanished while in use")]
    DataKeyVanished(KeyId),
    #[error("account key {0} vanished while in use")]
    AccountKeyVanished(KeyId),
    #[error("workspace {workspace} has no KEK")]
    NoKek { workspace: WorkspaceId },
    #[error("workspace {workspace} lost KEK version {version}")]
    KekLost {
        workspace: WorkspaceId,
        version: u32,
    },
    #[error(
        "data key {id} of workspace {workspace} is wrapped by a KEK version that does not exist"
    )]
    DekWithoutKek { id: KeyId, workspace: WorkspaceId },
    #[error("instance key {0} vanished")]
    InstanceKeyVanished(String),
    #[error("the instance key {0} was not stored")]
    InstanceKeyNotStored(String),
    #[error(
        "master key version {version} does not open the keys in this database (workspace \
         {workspace}): this is not the key file this database was created with"
    )]
    ForeignMasterKey {
        version: u32,
        workspace: WorkspaceId,
    },
}

impl From<CryptoError> for AppError {
    #[track_caller]
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::Truncated(_)
            | CryptoError::UnknownFormat
            | CryptoError::WrongKey { .. }
            | CryptoError::Tampered => AppError::Integrity(e.to_string()),
            other => AppError::internal_from("cryptography", other),
        }
    }
}

/// How the master key versions are used, for `ideaweave keys status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// The versions the key source holds; the highest is current.
    pub master_versions: Vec<u32>,
    /// For each kind of key ("workspace" KEK versions, "account" keys, "instance" keys) and
    /// master version in use, how many keys that version wraps.
    pub wrapped_by_master_version: Vec<(String, u32, u64)>,
    /// The shred ledger's path and how many entries it holds.
    pub shred_ledger: (String, usize),
}

/// A key to seal new data with: a subject's, a workspace's or an account's.
pub struct SealingKey {
    id: KeyId,
    key: SecretKey,
}

impl SealingKey {
    /// Seals `data` for `place`.
    pub(crate) fn seal(&self, place: &Place<'_>, data: &[u8]) -> AppResult<Vec<u8>> {
        Ok(seal(&self.key, self.id, DEK_VERSION, place, data)?)
    }

    /// Starts sealing a stream (a file) for `place`.
    pub(crate) fn stream_sealer(&self, place: &Place<'_>) -> AppResult<StreamSealer> {
        Ok(StreamSealer::new(&self.key, self.id, DEK_VERSION, place)?)
    }

    /// A data subject's audit pseudonym in `scope` (a workspace, or nil for the instance),
    /// derived from this key: once the key is shredded nobody can recompute or resolve it.
    pub(crate) fn pseudonym(&self, scope: uuid::Uuid, user: UserId) -> String {
        let mac = BlindIndexKey::from_key(derive_key(&self.key, "audit-pseudonym"))
            .index(&format!("{scope}/{}", user.0));
        format!("p-{}", hex::encode(&mac[..16]))
    }

    /// Seals a text for a column of a workspace table.
    pub(crate) fn seal_text(
        &self,
        ws: WorkspaceId,
        column: crate::platform::sealed::Column,
        row: uuid::Uuid,
        text: &str,
    ) -> AppResult<Vec<u8>> {
        self.seal(
            &crate::platform::sealed::at(ws, column, row),
            text.as_bytes(),
        )
    }
}

/// Keys for sealing and opening workspace data.
pub struct Keyring {
    provider: Arc<dyn KeyProvider>,
    cache: KeyCache,
    ledger: ShredLedger,
    /// Keys the ledger lists, as last read; a missing key not in it is re-checked against the
    /// file before it is called tampering.
    shredded: Mutex<HashSet<KeyId>>,
    email_index: OnceLock<BlindIndexKey>,
    /// The key that signs audit checkpoints (its id names the log).
    audit_signing: OnceLock<(KeyId, SecretKey)>,
    /// Seals the details of audit events no person's key can take (operator actions, sign-in
    /// attempts for unknown addresses).
    audit_details: OnceLock<(KeyId, SecretKey)>,
    /// Seals account mail queued in the outbox (no workspace key can take it).
    account_mail: OnceLock<(KeyId, SecretKey)>,
    /// Keys the MACs of this instance's audit entries and anchor (replaced when a restore
    /// brings the instance keys of a backup).
    audit_mac: std::sync::RwLock<Option<MacKey>>,
}

/// What the seal marker's MAC covers.
pub(crate) fn audit_seal_marker_bytes(mac_from: i64) -> Vec<u8> {
    let mut out = b"ideaweave audit seal, MACs from index ".to_vec();
    out.extend_from_slice(&mac_from.to_be_bytes());
    out
}

/// Writes the audit log's seal marker when there is none (AUD-01): from the log's present
/// length when the MAC key was only now made (entries before it were appended before entries
/// were sealed), from the very first entry when the key existed already (someone deleted the
/// marker to exempt entries from their MACs).
async fn ensure_audit_seal_marker(store: &Store, key: &MacKey, key_existed: bool) -> AppResult<()> {
    let mut tx = store.begin().await?;
    if tx.audit_seal_marker().await?.is_none() {
        let from = if key_existed {
            tracing::error!(
                "the audit log's seal marker was missing though its key exists: every entry must now carry a MAC"
            );
            0
        } else {
            tx.audit_head().await?.size
        };
        let mac = hex::encode(key.tag(&audit_seal_marker_bytes(from)));
        tx.insert_audit_seal_marker(from, &mac).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// An instance sealing key that [`Keyring::prepare`] loaded.
fn prepared_sealing_key(cell: &OnceLock<(KeyId, SecretKey)>) -> AppResult<SealingKey> {
    cell.get()
        .map(|(id, key)| SealingKey {
            id: *id,
            key: key.clone(),
        })
        .ok_or_else(|| AppError::internal("the keyring was used before Keyring::prepare"))
}

/// A key version as stored (a database integer) as the keyring counts it.
pub(crate) fn version(v: i64) -> AppResult<u32> {
    u32::try_from(v).or_internal("a stored key version is out of range")
}

/// The names of the keys of days of instance activity: this prefix and the day, zero-padded so
/// that names sort as days do.
const INSTANCE_ACTIVITY_PREFIX: &str = "activity:";

fn instance_activity_name(day: i64) -> String {
    format!("{INSTANCE_ACTIVITY_PREFIX}{:010}", day.max(0))
}

/// Whose data a data key seals.
#[derive(Clone, Copy)]
enum DekOwner {
    /// A person's (`Some`) or the workspace's own (`None`).
    Subject(Option<UserId>),
    /// One day's activity data (days since the Unix epoch).
    Day(i64),
}

impl Keyring {
    /// A keyring over a master-key source, caching at most `cache_capacity` unwrapped keys and
    /// recording shredded keys in `ledger`.
    pub fn new(provider: Arc<dyn KeyProvider>, cache_capacity: usize, ledger: ShredLedger) -> Self {
        Self {
            provider,
            cache: KeyCache::new(cache_capacity),
            ledger,
            shredded: Mutex::new(HashSet::new()),
            email_index: OnceLock::new(),
            audit_signing: OnceLock::new(),
            audit_details: OnceLock::new(),
            account_mail: OnceLock::new(),
            audit_mac: std::sync::RwLock::new(None),
        }
    }

    pub(crate) fn provider(&self) -> &dyn KeyProvider {
        &*self.provider
    }

    /// The shred ledger.
    pub fn ledger(&self) -> &ShredLedger {
        &self.ledger
    }

    /// Creates KEK version 1 of a new workspace, wrapped by the current master key.
    #[tracing::instrument(skip_all)]
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

    pub(crate) async fn kek(
        &self,
        repo: &mut WorkspaceRepo<'_>,
        kek_version: u32,
    ) -> AppResult<Option<SecretKey>> {
        let id = repo.id().0;
        if let Some(k) = self.cache.get(id, id, kek_version) {
            return Ok(Some(k));
        }
        let Some(rec) = repo.kek(i64::from(kek_version)).await? else {
            return Ok(None);
        };
        let master = self.provider.version(version(rec.master_version)?)?;
        let kek = unwrap_key(&master.key, MASTER_KEY_ID, master.version, id, &rec.wrapped)?;
        self.cache.insert(id, id, kek_version, kek.clone());
        Ok(Some(kek))
    }

    /// The data key of `subject` (or of the workspace itself, for `None`) for sealing new data,
    /// created on first use. Needs a write transaction when the key does not exist yet.
    #[tracing::instrument(skip_all)]
    pub async fn data_key(
        &self,
        repo: &mut WorkspaceRepo<'_>,
        subject: Option<UserId>,
        now: i64,
    ) -> AppResult<SealingKey> {
        let found = repo.dek_of(subject).await?;
        self.existing_or_new_dek(repo, found, DekOwner::Subject(subject), now)
            .await
    }

    /// The data key of `subject` in a workspace if they have one, without creating it: for
    /// reading what they hold (a person without a key holds nothing there).
    #[tracing::instrument(skip_all)]
    pub async fn existing_subject_key(
        &self,
        repo: &mut WorkspaceRepo<'_>,
        subject: UserId,
    ) -> AppResult<Option<SealingKey>> {
        let Some(rec) = repo.dek_of(Some(subject)).await? else {
            return Ok(None);
        };
        Ok(self
            .data_key_by_id(repo, rec.id)
            .await?
            .map(|key| SealingKey { id: rec.id, key }))
    }

    /// The key that seals one day's activity data in a workspace (`day`: days since the Unix
    /// epoch), created on first use; destroyed once the day is older than the workspace's
    /// activity period (LIF-03).
    #[tracing::instrument(skip_all)]
    pub async fn activity_key(
        &self,
        repo: &mut WorkspaceRepo<'_>,
        day: i64,
        now: i64,
    ) -> AppResult<SealingKey> {
        let found = repo.activity_dek(day).await?;
        self.existing_or_new_dek(repo, found, DekOwner::Day(day), now)
            .await
    }

    /// Crypto-shreds the keys of a workspace's days of activity before `day`: each is recorded
    /// in the shred ledger (durably, first), then deleted. Returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn shred_activity_before(
        &self,
        repo: &mut WorkspaceRepo<'_>,
        day: i64,
        now: i64,
    ) -> AppResult<u64> {
        let ids = repo.activity_deks_before(day).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let ws = repo.id().0;
        let entries: Vec<ShredEntry> = ids
            .iter()
            .map(|&key| ShredEntry {
                at_ms: now,
                workspace: Some(ws),
                key,
            })
            .collect();
        self.ledger.append(&entries)?;
        repo.count_shredded(entries.len() as u64).await?;
        for &id in &ids {
            repo.delete_dek(id).await?;
            self.forget_shredded(ws, id);
        }
        Ok(ids.len() as u64)
    }

    /// The key `found` opened, or a new data key for `owner` when there is none.
    async fn existing_or_new_dek(
        &self,
        repo: &mut WorkspaceRepo<'_>,
        found: Option<ideaweave_store::DekRecord>,
        owner: DekOwner,
        now: i64,
    ) -> AppResult<SealingKey> {
        if let Some(rec) = found {
            let key = self.data_key_by_id(repo, rec.id).await?.ok_or_else(|| {
                AppError::internal_from("sealing", KeyFault::DataKeyVanished(rec.id))
            })?;
            return Ok(SealingKey { id: rec.id, key });
        }
        let kek_version = match repo.current_kek().await? {
            Some(r) => version(r.version)?,
            None => {
                self.init_workspace(repo, now).await?;
                1
            }
        };
        let kek = self.kek(repo, kek_version).await?.ok_or_else(|| {
            AppError::internal_from(
                "sealing",
                KeyFault::KekLost {
                    workspace: repo.id(),
                    version: kek_version,
                },
            )
        })?;
        let id = KeyId::now_v7();
        let dek = SecretKey::generate()?;
        let wrapped = wrap_key(&kek, repo.id().0, kek_version, id, &dek)?;
        let (subject, day) = match owner {
            DekOwner::Subject(subject) => (subject, None),
            DekOwner::Day(day) => (None, Some(day)),
        };
        repo.insert_dek(id, subject, day, i64::from(kek_version), &wrapped, now)
            .await?;
        self.cache.insert(repo.id().0, id, DEK_VERSION, dek.clone());
        Ok(SealingKey { id, key: dek })
    }

    /// A data key by id, to open data sealed with it; `None` when it does not exist (shredded).
    #[tracing::instrument(skip_all)]
    pub async fn data_key_by_id(
        &self,
        repo: &mut WorkspaceRepo<'_>,
        id: KeyId,
    ) -> AppResult<Option<SecretKey>> {
        if let Some(k) = self.cache.get(repo.id().0, id, DEK_VERSION) {
            return Ok(Some(k));
        }
        // A workspace rotation may retire the KEK version between reading the data key and
        // reading its KEK; the data key is then already rewrapped, so read it once more.
        for _ in 0..2 {
            let Some(rec) = repo.dek(id).await? else {
                return Ok(None);
            };
            let kek_version = version(rec.kek_version)?;
            let Some(kek) = self.kek(repo, kek_version).await? else {
                continue;
            };
            let dek = unwrap_key(&kek, repo.id().0, kek_version, id, &rec.wrapped)?;
            self.cache.insert(repo.id().0, id, DEK_VERSION, dek.clone());
            return Ok(Some(dek));
        }
        Err(AppError::internal_from(
            "opening a data key",
            KeyFault::DekWithoutKek {
                id,
                workspace: repo.id(),
            },
        ))
    }

    /// The key of an account's own personal data, created on first use.
    #[tracing::instrument(skip_all)]
    pub async fn account_key(&self, tx: &mut Tx, user: UserId, now: i64) -> AppResult<SealingKey> {
        if let Some(rec) = tx.account_key_of(user).await? {
            let key = self.account_key_by_id(tx, rec.id).await?.ok_or_else(|| {
                AppError::internal_from("sealing", KeyFault::AccountKeyVanished(rec.id))
            })?;
            return Ok(SealingKey { id: rec.id, key });
        }
        let master = self.provider.current()?;
        let id = KeyId::now_v7();
        let key = SecretKey::generate()?;
        let wrapped = wrap_key(&master.key, MASTER_KEY_ID, master.version, id, &key)?;
        tx.insert_account_key(id, user, i64::from(master.version), &wrapped, now)
            .await?;
        self.cache
            .insert(ACCOUNT_SCOPE, id, DEK_VERSION, key.clone());
        Ok(SealingKey { id, key })
    }

    /// The key that seals one day's instance-level activity data (where sign-ins and other
    /// instance events came from; `day`: days since the Unix epoch), created on first use inside
    /// `tx`; destroyed after the instance's activity period (LIF-03).
    #[tracing::instrument(skip_all)]
    pub async fn instance_activity_key(
        &self,
        tx: &mut Tx,
        day: i64,
        now: i64,
    ) -> AppResult<SealingKey> {
        let name = instance_activity_name(day);
        let rec = self.stored_instance_key(tx, &name, now).await?;
        let key = self.account_key_by_id(tx, rec.id).await?.ok_or_else(|| {
            AppError::internal_from("sealing", KeyFault::InstanceKeyVanished(name))
        })?;
        Ok(SealingKey { id: rec.id, key })
    }

    /// Crypto-shreds the keys of days of instance activity before `day` (ledger first);
    /// returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn shred_instance_activity_before(
        &self,
        tx: &mut Tx,
        day: i64,
        now: i64,
    ) -> AppResult<u64> {
        let ids = tx
            .instance_keys_named_below(INSTANCE_ACTIVITY_PREFIX, &instance_activity_name(day))
            .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let entries: Vec<ShredEntry> = ids
            .iter()
            .map(|&key| ShredEntry {
                at_ms: now,
                workspace: None,
                key,
            })
            .collect();
        self.ledger.append(&entries)?;
        tx.count_shredded(entries.len() as u64).await?;
        for &id in &ids {
            tx.delete_shredded(None, id).await?;
            self.forget_shredded(ACCOUNT_SCOPE, id);
        }
        Ok(ids.len() as u64)
    }

    /// An account key, or a key of a day of instance activity, by id (both are wrapped by a
    /// master key version and open instance-level values).
    async fn account_key_by_id(&self, tx: &mut Tx, id: KeyId) -> AppResult<Option<SecretKey>> {
        if let Some(k) = self.cache.get(ACCOUNT_SCOPE, id, DEK_VERSION) {
            return Ok(Some(k));
        }
        let rec = match tx.account_key(id).await? {
            Some(r) => r,
            None => match tx.instance_key_by_id(id).await? {
                Some(r) => r,
                None => return Ok(None),
            },
        };
        let master = self.provider.version(version(rec.master_version)?)?;
        let key = unwrap_key(&master.key, MASTER_KEY_ID, master.version, id, &rec.wrapped)?;
        self.cache
            .insert(ACCOUNT_SCOPE, id, DEK_VERSION, key.clone());
        Ok(Some(key))
    }

    /// Opens a sealed value. The key is the one its header names: an account key for
    /// instance-level places, a data key of the place's workspace otherwise. `None` when that
    /// key was shredded; an integrity error when the value was altered or moved.
    #[tracing::instrument(skip_all)]
    pub async fn open(
        &self,
        tx: &mut Tx,
        place: &Place<'_>,
        sealed: &[u8],
    ) -> AppResult<Option<Vec<u8>>> {
        let header = SealedHeader::parse(sealed)?;
        match self.opening_key(tx, place, header.key_id).await? {
            Some(k) => Ok(Some(open(
                &k,
                header.key_id,
                header.key_version,
                place,
                sealed,
            )?)),
            None => Ok(None),
        }
    }

    /// Starts opening a sealed stream whose header is `header`, like [`Keyring::open`]: `None`
    /// when its key was shredded.
    pub(crate) async fn open_stream(
        &self,
        tx: &mut Tx,
        place: &Place<'_>,
        header: &[u8],
    ) -> AppResult<Option<StreamOpener>> {
        let h = stream_header(header)?;
        match self.opening_key(tx, place, h.key_id).await? {
            Some(k) => Ok(Some(StreamOpener::new(
                &k,
                h.key_id,
                h.key_version,
                place,
                header,
            )?)),
            None => Ok(None),
        }
    }

    /// The key `id` that a value at `place` names: an account key for instance-level places, a
    /// data key of the place's workspace otherwise. `None` when it was shredded; an integrity
    /// error when the place never had such a key (the value was moved there).
    async fn opening_key(
        &self,
        tx: &mut Tx,
        place: &Place<'_>,
        id: KeyId,
    ) -> AppResult<Option<SecretKey>> {
        let key = if place.workspace == ACCOUNT_SCOPE {
            match self.instance_sealing_key(id) {
                Some(k) => Some(k),
                None => self.account_key_by_id(tx, id).await?,
            }
        } else {
            self.data_key_by_id(&mut tx.workspace(WorkspaceId(place.workspace)), id)
                .await?
        };
        match key {
            Some(k) => Ok(Some(k)),
            None if self.is_shredded(id, place.workspace)? => Ok(None),
            None => Err(AppError::Integrity(format!(
                "{}.{} of {} names key {id}, which this {} never had: the value was moved here",
                place.table,
                place.column,
                place.row,
                if place.workspace == ACCOUNT_SCOPE {
                    "instance"
                } else {
                    "workspace"
                }
            ))),
        }
    }

    /// The instance key `id` that seals instance-level values, if it is one (audit details,
    /// account mail).
    fn instance_sealing_key(&self, id: KeyId) -> Option<SecretKey> {
        [&self.audit_details, &self.account_mail]
            .into_iter()
            .filter_map(OnceLock::get)
            .find(|(key_id, _)| *key_id == id)
            .map(|(_, k)| k.clone())
    }

    /// Whether the shred ledger lists key `id` or its whole workspace; re-reads the ledger
    /// (another node may have shredded it) before answering no.
    fn is_shredded(&self, id: KeyId, workspace: uuid::Uuid) -> AppResult<bool> {
        let lock = || self.shredded.lock().unwrap_or_else(|p| p.into_inner());
        let listed = |known: &HashSet<KeyId>| {
            known.contains(&id) || (workspace != ACCOUNT_SCOPE && known.contains(&workspace))
        };
        if listed(&lock()) {
            return Ok(true);
        }
        let entries = self.ledger.entries()?;
        let mut known = lock();
        known.extend(entries.iter().map(|e| e.key));
        Ok(listed(&known))
    }

    /// Opens a sealed UTF-8 text; `None` when its key was shredded.
    #[tracing::instrument(skip_all)]
    pub async fn open_text(
        &self,
        tx: &mut Tx,
        place: &Place<'_>,
        sealed: &[u8],
    ) -> AppResult<Option<String>> {
        match self.open(tx, place, sealed).await? {
            Some(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
                AppError::Integrity(format!(
                    "{}.{} of {} is not text",
                    place.table, place.column, place.row
                ))
            }),
            None => Ok(None),
        }
    }

    /// The blind-index key for a workspace's tags, derived from the workspace's own data key.
    pub(crate) async fn tag_index_key(
        &self,
        repo: &mut WorkspaceRepo<'_>,
        now: i64,
    ) -> AppResult<BlindIndexKey> {
        let k = self.data_key(repo, None, now).await?;
        Ok(BlindIndexKey::from_key(derive_key(
            &k.key,
            "blind-index:tag",
        )))
    }

    /// Gets the instance ready: creates the instance keys (email blind index, audit signing,
    /// audit details, account mail) the database does not have yet, and applies the shred
    /// ledger (see [`Self::apply_ledger`]). Called at every start.
    #[tracing::instrument(skip_all)]
    pub async fn prepare(&self, store: &Store, now: i64) -> AppResult<usize> {
        let applied = self.apply_ledger(store).await?;
        let (_, email) = self.instance_secret(store, EMAIL_INDEX_KEY, now).await?;
        let _ = self.email_index.set(BlindIndexKey::from_key(email));
        let signing = self.instance_secret(store, AUDIT_SIGNING_KEY, now).await?;
        let _ = self.audit_signing.set(signing);
        let details = self.instance_secret(store, AUDIT_DETAILS_KEY, now).await?;
        let _ = self.audit_details.set(details);
        let mail = self.instance_secret(store, ACCOUNT_MAIL_KEY, now).await?;
        let _ = self.account_mail.set(mail);
        let existed = store
            .read()
            .await?
            .instance_key(AUDIT_MAC_KEY)
            .await?
            .is_some();
        let mac = self.audit_mac_key_in(store, now).await?;
        ensure_audit_seal_marker(store, &mac, existed).await?;
        *self.audit_mac.write().unwrap_or_else(|p| p.into_inner()) = Some(mac);
        Ok(applied)
    }

    /// The stored instance key `name`, created inside `tx` (wrapped by the current master key)
    /// when there is none.
    async fn stored_instance_key(
        &self,
        tx: &mut Tx,
        name: &str,
        now: i64,
    ) -> AppResult<ideaweave_store::MasterWrappedRecord> {
        if let Some(r) = tx.instance_key(name).await? {
            return Ok(r);
        }
        let master = self.provider.current()?;
        let id = KeyId::now_v7();
        let key = SecretKey::generate()?;
        let wrapped = wrap_key(&master.key, MASTER_KEY_ID, master.version, id, &key)?;
        tx.insert_instance_key(name, id, i64::from(master.version), &wrapped, now)
            .await?;
        // Another node may have won the race: read back whichever key was stored.
        tx.instance_key(name).await?.ok_or_else(|| {
            AppError::internal_from(
                "storing an instance key",
                KeyFault::InstanceKeyNotStored(name.to_owned()),
            )
        })
    }

    /// The instance key `name`, created (wrapped by the current master key) on first use.
    async fn instance_secret(
        &self,
        store: &Store,
        name: &str,
        now: i64,
    ) -> AppResult<(KeyId, SecretKey)> {
        let mut tx = store.begin().await?;
        let rec = self.stored_instance_key(&mut tx, name, now).await?;
        tx.commit().await?;
        let master = self.provider.version(version(rec.master_version)?)?;
        let key = unwrap_key(
            &master.key,
            MASTER_KEY_ID,
            master.version,
            rec.id,
            &rec.wrapped,
        )?;
        Ok((rec.id, key))
    }

    /// The signer of audit checkpoints. The log's name (its origin) comes from the signing
    /// key's id, which is stored with the key: it stays the same whatever address the instance
    /// is served at, and a restored copy keeps it.
    pub(crate) fn audit_signer(&self) -> AppResult<CheckpointSigner> {
        let (id, seed) = self
            .audit_signing
            .get()
            .ok_or_else(|| AppError::internal("the keyring was used before Keyring::prepare"))?;
        CheckpointSigner::new(&format!("ideaweave/audit/{}", id.simple()), seed.expose())
            .or_internal("audit origin")
    }

    /// The 32 secret bytes of this instance's backup identity (BAK-04), from the database at
    /// `store` (created there on first use, wrapped by the master key like every instance key).
    #[tracing::instrument(skip_all)]
    pub async fn backup_identity_seed(&self, store: &Store, now: i64) -> AppResult<[u8; 32]> {
        let (_, key) = self
            .instance_secret(store, BACKUP_IDENTITY_KEY, now)
            .await?;
        Ok(*key.expose())
    }

    /// The audit verifier key of the database at `store` (a restored copy's own, which is this
    /// instance's unless the copy came from elsewhere).
    #[tracing::instrument(skip_all)]
    pub async fn audit_verifier_key_in(&self, store: &Store, now: i64) -> AppResult<VerifierKey> {
        let (id, seed) = self.instance_secret(store, AUDIT_SIGNING_KEY, now).await?;
        Ok(
            CheckpointSigner::new(&format!("ideaweave/audit/{}", id.simple()), seed.expose())
                .or_internal("audit origin")?
                .verifier(),
        )
    }

    /// The key that seals audit details no person's key can take.
    pub(crate) fn audit_details_key(&self) -> AppResult<SealingKey> {
        prepared_sealing_key(&self.audit_details)
    }

    /// The key that seals account mail queued in the outbox.
    pub(crate) fn account_mail_key(&self) -> AppResult<SealingKey> {
        prepared_sealing_key(&self.account_mail)
    }

    pub fn email_index(&self, email: &Email) -> AppResult<Vec<u8>> {
        self.email_index
            .get()
            .map(|k| k.index(email.as_str()).to_vec())
            .ok_or_else(|| AppError::internal("the keyring was used before Keyring::prepare"))
    }

    /// A keyed hash of `label` under the instance's blind-index key: what failed-sign-in
    /// counters (`throttle:account:<address>`, `throttle:ip:<address>`) and provider subjects
    /// are stored under: stable, and useless to anyone without the instance's key.
    pub fn keyed_index(&self, label: &str) -> AppResult<Vec<u8>> {
        self.email_index
            .get()
            .map(|k| k.index(label).to_vec())
            .ok_or_else(|| AppError::internal("the keyring was used before Keyring::prepare"))
    }

    /// Every destroyed key the shred ledger lists: `(workspace, key)`, the workspace `None`
    /// for an account key and equal to the key for a whole workspace.
    /// Each key once, in the order first destroyed (an erasure retried after a failed commit
    /// lists its key twice), so counts compare alike everywhere.
    pub fn shredded_keys(&self) -> AppResult<Vec<(Option<uuid::Uuid>, uuid::Uuid)>> {
        let mut seen = HashSet::new();
        Ok(self
            .ledger
            .entries()?
            .into_iter()
            .map(|e| (e.workspace, e.key))
            .filter(|k| seen.insert(*k))
            .collect())
    }

    /// The workspaces whose keys were destroyed whole (deleted workspaces), from the ledger.
    pub fn shredded_workspaces(&self) -> AppResult<Vec<uuid::Uuid>> {
        Ok(self
            .ledger
            .entries()?
            .into_iter()
            .filter(|e| e.workspace == Some(e.key))
            .map(|e| e.key)
            .collect())
    }

    /// Deletes from the database every key the shred ledger lists. A database restored from a
    /// backup taken before an erasure thereby loses the erased keys again (ENC-04). Returns how
    /// many keys it deleted (zero on an instance that was not restored).
    #[tracing::instrument(skip_all)]
    pub async fn apply_ledger(&self, store: &Store) -> AppResult<usize> {
        let entries = self.ledger.entries()?;
        if entries.is_empty() {
            return Ok(0);
        }
        let mut tx = store.begin().await?;
        let mut deleted = 0;
        for e in &entries {
            deleted += tx.delete_shredded(e.workspace, e.key).await? as usize;
        }
        tx.commit().await?;
        if deleted > 0 {
            tracing::warn!(
                deleted,
                ledger = %self.ledger.path().display(),
                "deleted keys that the shred ledger lists: this database was restored from before an erasure"
            );
        }
        Ok(deleted)
    }

    /// Crypto-shreds what `subject` holds in a workspace: their data key is recorded in the
    /// shred ledger (durably, first), then deleted. Everything sealed with it, wherever a copy
    /// lies, opens to nothing from then on. Returns whether they had a key.
    #[tracing::instrument(skip_all)]
    pub async fn shred_subject(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        subject: UserId,
        now: i64,
    ) -> AppResult<bool> {
        let mut repo = tx.workspace(ws);
        let Some(rec) = repo.dek_of(Some(subject)).await? else {
            return Ok(false);
        };
        self.ledger.append(&[ShredEntry {
            at_ms: now,
            workspace: Some(ws.0),
            key: rec.id,
        }])?;
        repo.count_shredded(1).await?;
        repo.delete_dek_of(subject).await?;
        self.forget_shredded(ws.0, rec.id);
        Ok(true)
    }

    /// Crypto-shreds an account's own key (name, email address).
    #[tracing::instrument(skip_all)]
    pub async fn shred_account(&self, tx: &mut Tx, user: UserId, now: i64) -> AppResult<bool> {
        let Some(rec) = tx.account_key_of(user).await? else {
            return Ok(false);
        };
        self.ledger.append(&[ShredEntry {
            at_ms: now,
            workspace: None,
            key: rec.id,
        }])?;
        tx.count_shredded(1).await?;
        tx.delete_account_key_of(user).await?;
        self.forget_shredded(ACCOUNT_SCOPE, rec.id);
        Ok(true)
    }

    /// Drops a just-shredded key from the cache and remembers it is gone, so that values sealed
    /// with it open to nothing on this node at once.
    fn forget_shredded(&self, scope: uuid::Uuid, id: KeyId) {
        self.cache.forget(scope, id);
        self.remember_shredded(id);
    }

    fn remember_shredded(&self, id: KeyId) {
        self.shredded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id);
    }

    /// Crypto-shreds a whole workspace: every key of it.
    #[tracing::instrument(skip_all)]
    pub async fn shred_workspace(&self, tx: &mut Tx, ws: WorkspaceId, now: i64) -> AppResult<()> {
        self.ledger.append(&[ShredEntry {
            at_ms: now,
            workspace: Some(ws.0),
            key: ws.0,
        }])?;
        tx.count_shredded(1).await?;
        tx.delete_shredded(Some(ws.0), ws.0).await?;
        self.cache.forget_scope(ws.0);
        self.remember_shredded(ws.0);
        Ok(())
    }

    /// Checks that the master key source opens the keys the database holds, so a wrong or
    /// missing key stops the start instead of failing on the first request.
    #[tracing::instrument(skip_all)]
    pub async fn check(&self, store: &Store) -> AppResult<()> {
        let mut tx = store.read().await?;
        let Some((ws, kek)) = tx.any_kek().await? else {
            return Ok(());
        };
        let mv = version(kek.master_version)?;
        let master = self
            .provider
            .version(mv)
            .or_internal("reading the master key")?;
        unwrap_key(&master.key, MASTER_KEY_ID, mv, ws, &kek.wrapped).map_err(|_| {
            AppError::internal_from(
                "checking the master key",
                KeyFault::ForeignMasterKey {
                    version: mv,
                    workspace: WorkspaceId(ws),
                },
            )
        })?;
        Ok(())
    }

    /// Which master versions exist and how many keys each wraps.
    #[tracing::instrument(skip_all)]
    pub async fn status(&self, store: &Store) -> AppResult<KeyStatus> {
        let mut tx = store.read().await?;
        let mut used = Vec::new();
        for (kind, mv, n) in tx.master_version_use().await? {
            used.push((kind, version(mv)?, n.max(0) as u64));
        }
        Ok(KeyStatus {
            master_versions: self.provider.versions()?,
            wrapped_by_master_version: used,
            shred_ledger: (
                self.ledger.path().display().to_string(),
                self.ledger.entries()?.len(),
            ),
        })
    }

    /// The key of the audit log's MACs that [`Self::prepare`] loaded.
    pub(crate) fn audit_mac_key(&self) -> AppResult<MacKey> {
        self.audit_mac
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| AppError::internal("the keyring was used before Keyring::prepare"))
    }

    /// Takes the audit MAC key from the database again: after a restore replaced the instance
    /// keys, entries appended in this process (the restore's own) carry the restored key's MAC.
    #[tracing::instrument(skip_all)]
    pub async fn reload_audit_mac_key(&self, store: &Store, now: i64) -> AppResult<()> {
        let mac = self.audit_mac_key_in(store, now).await?;
        *self.audit_mac.write().unwrap_or_else(|p| p.into_inner()) = Some(mac);
        Ok(())
    }

    /// The key of the audit log's MACs of the database at `store` (a restored copy's own).
    pub(crate) async fn audit_mac_key_in(&self, store: &Store, now: i64) -> AppResult<MacKey> {
        let (_, key) = self.instance_secret(store, AUDIT_MAC_KEY, now).await?;
        Ok(MacKey::derive(&key, AUDIT_MAC_PURPOSE))
    }

    /// Seals `data` for `purpose` with a MAC under a key derived from the current master key,
    /// as `v<master version>:<hex>`. What lies outside the database's and the master key's
    /// protection (backup records, the shred ledger's copies, audit entries) carries such a tag,
    /// so that someone who can write there but has no master key cannot forge it.
    pub fn master_mac(&self, purpose: &str, data: &[u8]) -> AppResult<String> {
        let master = self.provider.current()?;
        let tag = MacKey::derive(&master.key, purpose).tag(data);
        Ok(format!("v{}:{}", master.version, hex::encode(tag)))
    }

    /// Whether `tag` is [`Self::master_mac`]'s tag of `data` for `purpose`. A tag of a master
    /// version the key source no longer holds is an error saying so, not a forgery.
    pub fn verify_master_mac(&self, purpose: &str, data: &[u8], tag: &str) -> AppResult<bool> {
        let Some((v, hex_tag)) = tag.strip_prefix('v').and_then(|t| t.split_once(':')) else {
            return Ok(false);
        };
        let (Ok(v), Ok(bytes)) = (v.parse::<u32>(), hex::decode(hex_tag)) else {
            return Ok(false);
        };
        let master = self.provider.version(v)?;
        Ok(MacKey::derive(&master.key, purpose).verify(data, &bytes))
    }

    /// Forgets every unwrapped key of a workspace (after it is erased or its KEK rotated).
    pub fn forget_workspace(&self, id: WorkspaceId) {
        self.cache.forget_scope(id.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ideaweave_crypto::KeyFileProvider;
    use ideaweave_domain::Slug;

    struct Fixture {
        dir: tempfile::TempDir,
        store: Store,
        ws: WorkspaceId,
    }

    impl Fixture {
        async fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("k.db").display());
            let store = Store::connect(&url, &Default::default()).await.unwrap();
            store.migrate().await.unwrap();
            let ws = WorkspaceId::new();
            let mut tx = store.begin().await.unwrap();
            tx.insert_workspace(ws, &Slug::parse("keys").unwrap(), 0)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            KeyFileProvider::create(&dir.path().join("master.key")).unwrap();
            Self { dir, store, ws }
        }

        /// A keyring as a new process would have it: fresh cache, key file read again.
        fn ring(&self) -> Keyring {
            Keyring::new(
                Arc::new(KeyFileProvider::load(&self.dir.path().join("master.key")).unwrap()),
                16,
                ShredLedger::at(&self.dir.path().join("shred.log")),
            )
        }

        fn place(&self, row: uuid::Uuid) -> Place<'static> {
            Place {
                workspace: self.ws.0,
                table: "ideas",
                column: "body",
                row,
            }
        }
    }

    #[tokio::test]
    async fn enc_02_data_keys_are_wrapped_by_the_kek_which_is_wrapped_by_the_master_key() {
        let f = Fixture::new().await;
        let ring = f.ring();
        let subject = UserId::new();
        let mut tx = f.store.begin().await.unwrap();
        let key = ring
            .data_key(&mut tx.workspace(f.ws), Some(subject), 1)
            .await
            .unwrap();
        let again = ring
            .data_key(&mut tx.workspace(f.ws), Some(subject), 1)
            .await
            .unwrap();
        assert_eq!(key.id, again.id, "one data key per subject");
        let ws_key = ring
            .data_key(&mut tx.workspace(f.ws), None, 1)
            .await
            .unwrap();
        assert_ne!(ws_key.id, key.id);
        tx.commit().await.unwrap();
        let row = uuid::Uuid::now_v7();
        let sealed = key.seal(&f.place(row), b"secret body").unwrap();
        // A fresh keyring (empty cache) opens it from the stored, wrapped keys alone.
        let fresh = f.ring();
        let mut tx = f.store.read().await.unwrap();
        assert_eq!(
            fresh
                .open(&mut tx, &f.place(row), &sealed)
                .await
                .unwrap()
                .unwrap(),
            b"secret body"
        );
        drop(tx);
        fresh.check(&f.store).await.unwrap();
        let status = fresh.status(&f.store).await.unwrap();
        assert_eq!(status.master_versions, vec![1]);
        assert_eq!(
            status.wrapped_by_master_version,
            vec![("workspace".to_owned(), 1, 1)]
        );
    }

    #[tokio::test]
    async fn enc_02_another_master_key_opens_nothing_and_is_caught_at_start() {
        let f = Fixture::new().await;
        let ring = f.ring();
        let mut tx = f.store.begin().await.unwrap();
        let key = ring
            .data_key(&mut tx.workspace(f.ws), Some(UserId::new()), 1)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let row = uuid::Uuid::now_v7();
        let sealed = key.seal(&f.place(row), b"x").unwrap();
        let other = tempfile::tempdir().unwrap();
        let wrong = Keyring::new(
            Arc::new(KeyFileProvider::create(&other.path().join("k")).unwrap()),
            16,
            ShredLedger::at(&other.path().join("l")),
        );
        let e = wrong.check(&f.store).await.unwrap_err().to_string();
        assert_eq!(e, "internal error", "details go to the log, not to callers");
        let mut tx = f.store.read().await.unwrap();
        let e = wrong
            .open(&mut tx, &f.place(row), &sealed)
            .await
            .unwrap_err();
        assert!(matches!(e, AppError::Integrity(_)), "{e:?}");
    }

    #[tokio::test]
    async fn enc_03_rotations_rewrap_without_touching_content_and_retire_old_versions() {
        let f = Fixture::new().await;
        let ring = f.ring();
        let mut tx = f.store.begin().await.unwrap();
        let mut sealed = Vec::new();
        for _ in 0..5 {
            let k = ring
                .data_key(&mut tx.workspace(f.ws), Some(UserId::new()), 1)
                .await
                .unwrap();
            let row = uuid::Uuid::now_v7();
            sealed.push((row, k.seal(&f.place(row), row.as_bytes()).unwrap()));
        }
        tx.commit().await.unwrap();
        ring.prepare(&f.store, 1).await.unwrap();

        let report = ring
            .rotate_workspace(&f.store, f.ws, 2, &|_| {})
            .await
            .unwrap();
        assert_eq!(
            (report.kek_version, report.rewrapped, report.retired),
            (2, 5, 1)
        );
        let m = ring.rotate_master(&f.store, &|_| {}).await.unwrap();
        assert!(m.added_version);
        assert_eq!(
            (m.version, m.rewrapped),
            (2, 6),
            "one KEK version and the five instance keys (email index, audit signing, audit details, account mail, audit MACs)"
        );
        let again = ring.rotate_master(&f.store, &|_| {}).await.unwrap();
        assert_eq!(again.version, 3, "a second run rotates again");
        ring.retire_master(&f.store, 1).await.unwrap();
        ring.retire_master(&f.store, 2).await.unwrap();
        assert!(ring.retire_master(&f.store, 3).await.is_err(), "in use");

        let fresh = f.ring();
        let status = fresh.status(&f.store).await.unwrap();
        assert_eq!(status.master_versions, vec![3]);
        assert!(
            status
                .wrapped_by_master_version
                .iter()
                .all(|(_, v, _)| *v == 3)
        );
        let mut tx = f.store.read().await.unwrap();
        for (row, s) in &sealed {
            let opened = fresh
                .open(&mut tx, &f.place(*row), s)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(opened, row.as_bytes());
        }
        assert!(
            tx.workspace(f.ws).kek(1).await.unwrap().is_none(),
            "retired"
        );
    }

    #[tokio::test]
    async fn enc_04_a_shredded_subject_stays_shredded_in_a_copy_restored_from_before() {
        let f = Fixture::new().await;
        let ring = f.ring();
        let (alice, bob) = (UserId::new(), UserId::new());
        let mut tx = f.store.begin().await.unwrap();
        let ka = ring
            .data_key(&mut tx.workspace(f.ws), Some(alice), 1)
            .await
            .unwrap();
        let kb = ring
            .data_key(&mut tx.workspace(f.ws), Some(bob), 1)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (ra, rb) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let (sa, sb) = (
            ka.seal(&f.place(ra), b"alice").unwrap(),
            kb.seal(&f.place(rb), b"bob").unwrap(),
        );
        let db = f.dir.path().join("k.db");
        let backup = f.dir.path().join("backup.db");
        sqlx_copy(&f.store, &db, &backup).await;

        let mut tx = f.store.begin().await.unwrap();
        assert!(ring.shred_subject(&mut tx, f.ws, alice, 5).await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = f.store.read().await.unwrap();
        assert_eq!(ring.open(&mut tx, &f.place(ra), &sa).await.unwrap(), None);
        drop(tx);

        // The old copy still holds Alice's key, until the ledger is applied, as every start does.
        f.store.close().await;
        let url = format!("sqlite://{}", backup.display());
        let restored = Store::connect(&url, &Default::default()).await.unwrap();
        let fresh = f.ring();
        assert_eq!(fresh.prepare(&restored, 6).await.unwrap(), 1);
        let mut tx = restored.read().await.unwrap();
        assert_eq!(fresh.open(&mut tx, &f.place(ra), &sa).await.unwrap(), None);
        assert_eq!(
            fresh
                .open(&mut tx, &f.place(rb), &sb)
                .await
                .unwrap()
                .unwrap(),
            b"bob"
        );
    }

    /// Copies a SQLite database consistently (VACUUM INTO), as a backup would.
    async fn sqlx_copy(store: &Store, _from: &std::path::Path, to: &std::path::Path) {
        store.vacuum_into(to).await.unwrap();
    }
}
