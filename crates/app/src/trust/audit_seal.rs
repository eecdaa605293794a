//! What keeps the audit log honest against someone who can write to the database but holds no
//! master key (AUD-01, AUD-02).
//!
//! The Merkle tree alone is unkeyed: whoever can write to the database can rewrite entries,
//! recompute every hash and delete the signed checkpoints, or append an entry with correct
//! hashes. Two things the database does not hold stop that:
//!
//! - **Entry MACs.** Every entry carries an HMAC of its index and leaf hash under a key derived
//!   from the master key. A forged or rewritten entry cannot carry a valid one.
//! - **The anchor** (`audit-anchor.json` in the data directory): the latest signed checkpoint's
//!   size and root, and the index from which every entry must carry a MAC, itself under a MAC.
//!   The log never signs a tree that does not extend it, and `verify` checks the tree against it,
//!   so deleting the checkpoints in the database no longer lets a rewritten history be signed.

use std::path::Path;

use ideaweave_audit::Hash;
use ideaweave_crypto::MacKey;
use ideaweave_store::{AuditRow, Tx};
use serde::{Deserialize, Serialize};

use crate::OrInternal;
use crate::{App, AppError, AppResult};

/// The anchor's file name in the data directory.
pub const AUDIT_ANCHOR_FILE: &str = "audit-anchor.json";
const ANCHOR_FORMAT: &str = "ideaweave.audit-anchor/1";

/// The anchor as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAnchor {
    /// `ideaweave.audit-anchor/1`.
    pub format: String,
    /// The size of the latest checkpoint this instance signed.
    pub size: u64,
    /// Its root (hex).
    pub root: String,
    /// Entries from this index on must carry a MAC (those before were appended before entries
    /// were sealed, and are covered by the checkpoints signed then).
    pub mac_from: u64,
    /// The MAC of the fields above.
    pub mac: String,
}

impl AuditAnchor {
    fn signed_bytes(&self) -> Vec<u8> {
        format!(
            "{}\n{}\n{}\n{}\n",
            self.format, self.size, self.root, self.mac_from
        )
        .into_bytes()
    }

    /// The root as a hash.
    pub fn root_hash(&self) -> AppResult<Hash> {
        hex::decode(&self.root)
            .ok()
            .and_then(|b| Hash::try_from(b.as_slice()).ok())
            .ok_or_else(|| AppError::Integrity("the audit anchor's root is not a hash".into()))
    }
}

/// What an entry's MAC covers: its index and its leaf hash (which commits to everything else).
/// The anchor's MAC covers `signed_bytes`, which starts with the format name and so can never
/// equal an entry's 40 bytes.
fn entry_mac_input(index: u64, leaf: &[u8]) -> Vec<u8> {
    let mut out = index.to_be_bytes().to_vec();
    out.extend_from_slice(leaf);
    out
}

impl App {
    /// The MAC entry `index` with leaf hash `leaf` carries.
    pub(crate) fn seal_audit_entry(&self, index: u64, leaf: &[u8]) -> AppResult<String> {
        let key = self.keyring.audit_mac_key()?;
        Ok(hex::encode(key.tag(&entry_mac_input(index, leaf))))
    }

    /// The key that checks this database's audit MACs (read from the database the app runs
    /// on, which for a backup's trial restore is the restored copy).
    pub(crate) async fn audit_mac_checker(&self) -> AppResult<MacKey> {
        self.keyring
            .audit_mac_key_in(&self.store, self.now_ms())
            .await
    }

    /// What is wrong with the MAC of a stored entry whose recomputed leaf is `leaf`, if
    /// anything (only for entries from `mac_from` on).
    pub(crate) fn audit_entry_seal_problem(
        key: &MacKey,
        r: &AuditRow,
        leaf: &[u8],
        mac_from: u64,
    ) -> Option<String> {
        let index = u64::try_from(r.seq).unwrap_or(u64::MAX);
        if index < mac_from {
            return None;
        }
        match &r.mac {
            None => Some(format!(
                "entry {index} carries no MAC: it was appended or rewritten by someone without the master key"
            )),
            Some(tag) => {
                let valid =
                    hex::decode(tag).is_ok_and(|t| key.verify(&entry_mac_input(index, leaf), &t));
                (!valid).then(|| {
                    format!(
                        "entry {index}'s MAC does not match its content: it was forged or rewritten by someone without the master key"
                    )
                })
            }
        }
    }

    fn anchor_path(&self) -> Option<&Path> {
        self.settings.audit_anchor_file.as_deref()
    }

    /// The anchor, when this instance keeps one and has written it; an integrity error when it
    /// was altered.
    pub(crate) fn read_audit_anchor(&self) -> AppResult<Option<AuditAnchor>> {
        let Some(path) = self.anchor_path() else {
            return Ok(None);
        };
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(AppError::internal_from(
                    format!("reading the audit anchor {}", path.display()),
                    e,
                ));
            }
        };
        let anchor: AuditAnchor = serde_json::from_slice(&text).map_err(|e| {
            AppError::Integrity(format!(
                "the audit anchor {} is not readable: {e}",
                path.display()
            ))
        })?;
        let key = self.keyring.audit_mac_key()?;
        let valid = hex::decode(&anchor.mac).is_ok_and(|t| key.verify(&anchor.signed_bytes(), &t));
        if anchor.format != ANCHOR_FORMAT || !valid {
            return Err(AppError::Integrity(format!(
                "the audit anchor {} was altered (its MAC does not match)",
                path.display()
            )));
        }
        Ok(Some(anchor))
    }

    /// Records a signed checkpoint of `size` entries with `root` as the anchor, unless the
    /// anchor already holds a larger one (another node signed since). Written to a temporary
    /// file, synced and renamed, so a crash leaves the old anchor or the new one.
    pub(crate) fn write_audit_anchor(
        &self,
        size: u64,
        root: &Hash,
        mac_from: u64,
    ) -> AppResult<()> {
        let Some(path) = self.anchor_path() else {
            return Ok(());
        };
        if self.read_audit_anchor()?.is_some_and(|a| a.size >= size) {
            return Ok(());
        }
        let mut anchor = AuditAnchor {
            format: ANCHOR_FORMAT.to_owned(),
            size,
            root: hex::encode(root),
            mac_from,
            mac: String::new(),
        };
        anchor.mac = hex::encode(self.keyring.audit_mac_key()?.tag(&anchor.signed_bytes()));
        let data = serde_json::to_vec_pretty(&anchor).or_internal("audit anchor")?;
        let io = |e: std::io::Error| {
            AppError::internal_from(format!("writing the audit anchor {}", path.display()), e)
        };
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::now_v7().simple()));
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp).map_err(io)?;
            f.write_all(&data).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }

    /// From which index on every entry must carry a MAC: the database's seal marker, whose MAC
    /// nobody without the master key can make (no marker: every entry), never later than the
    /// anchor says.
    pub(crate) async fn audit_mac_from(
        &self,
        tx: &mut Tx,
        key: &MacKey,
        anchor: Option<&AuditAnchor>,
    ) -> AppResult<u64> {
        let marked = match tx.audit_seal_marker().await? {
            None => 0,
            Some((from, tag)) => {
                let valid = hex::decode(&tag).is_ok_and(|t| {
                    key.verify(&crate::platform::keyring::audit_seal_marker_bytes(from), &t)
                });
                if !valid {
                    return Err(AppError::Integrity(
                        "the audit log's seal marker was altered (its MAC does not match)".into(),
                    ));
                }
                u64::try_from(from).unwrap_or(0)
            }
        };
        Ok(anchor.map_or(marked, |a| marked.min(a.mac_from)))
    }
}
