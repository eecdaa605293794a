//! The shred ledger's copy in every backup target (ENC-04, BAK-05).
//!
//! The shred ledger lives beside the database, so a lost server can take it along; a restore
//! into a fresh data directory without it would bring every person erased since the backup
//! back. Every backup therefore also writes the whole ledger to each target
//! (`shred-ledger.json`: key ids and times only, no personal data), sealed with a MAC under a
//! key derived from the master key so that whoever can write to the target cannot add or remove
//! entries. Before a restore and at every start of a server with backups configured, the
//! copies and the local ledger are joined (entries only ever added), and the longest ledger any
//! backup record or copy mentions is what a restore must have.

use std::collections::HashSet;

use ideaweave_app::{AppError, Keyring};
use ideaweave_crypto::ShredEntry;
use serde::{Deserialize, Serialize};

use crate::targets::{Sidecar, Targets};
use crate::{BackupError, BackupResult};

/// The copy's name in each target.
pub const LEDGER_COPY: &str = "shred-ledger.json";
/// What the copy's MAC is for.
const LEDGER_MAC_PURPOSE: &str = "backup-shred-ledger";
/// What a backup record's MAC is for.
const RECORD_MAC_PURPOSE: &str = "backup-record";

/// The copy as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LedgerCopy {
    /// `ideaweave.shred-ledger/1`.
    pub format: String,
    /// The ledger's lines, as in the file.
    pub entries: Vec<String>,
    /// The MAC of the lines (`v<master version>:<hex>`).
    pub mac: String,
}

fn ledger_bytes(entries: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(e.trim_end().as_bytes());
        out.push(b'\n');
    }
    out
}

/// What joining the local ledger with the targets' copies found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerSync {
    /// Entries the local ledger lacked and took from a copy.
    pub added: usize,
    /// Entries the local ledger lists now.
    pub local: u64,
    /// The longest ledger a backup record or copy in the targets mentions: a restore needs a
    /// local ledger at least this long.
    pub longest_known: u64,
}

/// Seals a backup record with the instance's MAC (over the record with an empty MAC).
pub(crate) fn seal_record(keyring: &Keyring, sidecar: &mut Sidecar) -> BackupResult<()> {
    sidecar.mac = String::new();
    let bytes = serde_json::to_vec(sidecar)
        .map_err(|e| BackupError::Config(format!("backup record: {e}")))?;
    sidecar.mac = keyring.master_mac(RECORD_MAC_PURPOSE, &bytes)?;
    Ok(())
}

/// Whether a backup record carries this instance's MAC (it was not edited since).
pub(crate) fn record_is_authentic(keyring: &Keyring, sidecar: &Sidecar) -> BackupResult<bool> {
    let mut bare = sidecar.clone();
    bare.mac = String::new();
    let bytes = serde_json::to_vec(&bare)
        .map_err(|e| BackupError::Config(format!("backup record: {e}")))?;
    Ok(keyring.verify_master_mac(RECORD_MAC_PURPOSE, &bytes, &sidecar.mac)?)
}

/// Joins the local shred ledger with the copy in every target: entries a copy has and the
/// local ledger lacks are appended locally (durably) first, then the joined ledger is written
/// back to every target. A copy whose MAC does not verify is refused: someone altered it.
pub async fn sync_shred_ledger(keyring: &Keyring, targets: &Targets) -> BackupResult<LedgerSync> {
    let local = keyring.ledger().entries().map_err(AppError::from)?;
    let mut known: HashSet<(Option<uuid::Uuid>, uuid::Uuid)> =
        local.iter().map(|e| (e.workspace, e.key)).collect();
    let mut longest = known.len() as u64;
    let mut missing: Vec<ShredEntry> = Vec::new();
    for (target, data) in targets.get_all(LEDGER_COPY).await? {
        let copy: LedgerCopy = serde_json::from_slice(&data).map_err(|e| {
            BackupError::Refused(format!(
                "the shred ledger's copy in {target} is not readable ({e}): restore it from another target, or remove it"
            ))
        })?;
        if !keyring.verify_master_mac(
            LEDGER_MAC_PURPOSE,
            &ledger_bytes(&copy.entries),
            &copy.mac,
        )? {
            return Err(BackupError::Refused(format!(
                "the shred ledger's copy in {target} does not carry this instance's seal: it was altered, \
                 or written with another master key; nothing was taken from it"
            )));
        }
        let mut distinct = HashSet::new();
        for (n, line) in copy.entries.iter().enumerate() {
            let entry = ShredEntry::parse(line).ok_or_else(|| {
                BackupError::Refused(format!(
                    "the shred ledger's copy in {target} has a malformed line {}",
                    n + 1
                ))
            })?;
            distinct.insert((entry.workspace, entry.key));
            if known.insert((entry.workspace, entry.key)) {
                missing.push(entry);
            }
        }
        longest = longest.max(distinct.len() as u64);
    }
    if !missing.is_empty() {
        keyring.ledger().append(&missing).map_err(AppError::from)?;
        tracing::warn!(
            added = missing.len(),
            ledger = %keyring.ledger().path().display(),
            "the local shred ledger lacked entries that the backup targets' copy holds; they were added"
        );
    }
    for listing in targets.list().await? {
        if let Some(s) = listing.sidecar
            && record_is_authentic(keyring, &s).unwrap_or(false)
        {
            longest = longest.max(s.shred_ledger_entries);
        }
    }
    let joined = keyring.ledger().entries().map_err(AppError::from)?;
    write_copy(keyring, targets, &joined).await?;
    Ok(LedgerSync {
        added: missing.len(),
        local: keyring.shredded_keys()?.len() as u64,
        longest_known: longest,
    })
}

async fn write_copy(
    keyring: &Keyring,
    targets: &Targets,
    entries: &[ShredEntry],
) -> BackupResult<()> {
    let lines: Vec<String> = entries
        .iter()
        .map(|e| e.line().trim_end().to_owned())
        .collect();
    let mac = keyring.master_mac(LEDGER_MAC_PURPOSE, &ledger_bytes(&lines))?;
    let copy = LedgerCopy {
        format: "ideaweave.shred-ledger/1".into(),
        entries: lines,
        mac,
    };
    let data = serde_json::to_vec(&copy)
        .map_err(|e| BackupError::Config(format!("shred ledger copy: {e}")))?;
    targets.put_all(LEDGER_COPY, data).await
}
