//! The shred ledger (ENC-04): the ids of every key destroyed by an erasure, kept outside the
//! database and its backups.
//!
//! A backup taken before an erasure still holds the erased keys. Every start and every restore
//! deletes the keys this ledger lists, so copying an old database back does not bring erased
//! people's data back. The ledger holds random key ids and times only, no personal data, so it is
//! kept for ever. One entry per line:
//!
//! ```text
//! <shredded at, Unix ms> <scope: workspace id, or "-" for an account key> <key id>
//! ```
//!
//! When the scope equals the key id, the whole workspace was shredded.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::{CryptoError, CryptoResult};

/// One destroyed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShredEntry {
    /// When it was destroyed.
    pub at_ms: i64,
    /// The workspace it belonged to (`None` for an account key). Equal to `key` when the whole
    /// workspace was shredded.
    pub workspace: Option<uuid::Uuid>,
    /// The key's id.
    pub key: uuid::Uuid,
}

impl ShredEntry {
    /// The entry as one line of the ledger file (with its newline).
    pub fn line(&self) -> String {
        let scope = self
            .workspace
            .map_or_else(|| "-".to_owned(), |w| w.to_string());
        format!("{} {} {}\n", self.at_ms, scope, self.key)
    }

    /// Parses one line of the ledger file; `None` when it is not an entry.
    pub fn parse(line: &str) -> Option<Self> {
        let mut parts = line.split_ascii_whitespace();
        let at_ms = parts.next()?.parse().ok()?;
        let workspace = match parts.next()? {
            "-" => None,
            w => Some(w.parse().ok()?),
        };
        let key = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self {
            at_ms,
            workspace,
            key,
        })
    }
}

/// An append-only file of [`ShredEntry`]s.
#[derive(Debug, Clone)]
pub struct ShredLedger {
    path: PathBuf,
}

impl ShredLedger {
    /// The ledger at `path`; the file is created on the first erasure.
    pub fn at(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records destroyed keys, durably (fsync) before returning, so an erasure that reported
    /// success is in the ledger even if the machine stops right after.
    pub fn append(&self, entries: &[ShredEntry]) -> CryptoResult<()> {
        let io = |e: std::io::Error| {
            CryptoError::KeySource(format!(
                "cannot write the shred ledger {}: {e}",
                self.path.display()
            ))
        };
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&self.path).map_err(io)?;
        let text: String = entries.iter().map(ShredEntry::line).collect();
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)
    }

    /// Every entry. A missing file is an empty ledger; a line that does not parse is an error
    /// naming it, because skipping it could bring erased data back.
    pub fn entries(&self) -> CryptoResult<Vec<ShredEntry>> {
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(CryptoError::KeySource(format!(
                    "cannot read the shred ledger {}: {e}",
                    self.path.display()
                )));
            }
        };
        let mut out = Vec::new();
        for (n, line) in BufReader::new(f).lines().enumerate() {
            let line = line.map_err(|e| {
                CryptoError::KeySource(format!(
                    "cannot read the shred ledger {}: {e}",
                    self.path.display()
                ))
            })?;
            if line.trim().is_empty() {
                continue;
            }
            out.push(ShredEntry::parse(&line).ok_or_else(|| {
                CryptoError::KeySource(format!(
                    "the shred ledger {} has a malformed line {}",
                    self.path.display(),
                    n + 1
                ))
            })?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enc_04_entries_survive_a_reopen_and_bad_lines_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ShredLedger::at(&dir.path().join("shred.log"));
        assert!(ledger.entries().unwrap().is_empty());
        let ws = uuid::Uuid::now_v7();
        let e = [
            ShredEntry {
                at_ms: 5,
                workspace: Some(ws),
                key: uuid::Uuid::now_v7(),
            },
            ShredEntry {
                at_ms: 6,
                workspace: None,
                key: uuid::Uuid::now_v7(),
            },
        ];
        ledger.append(&e[..1]).unwrap();
        ledger.append(&e[1..]).unwrap();
        assert_eq!(ShredLedger::at(ledger.path()).entries().unwrap(), e);
        std::fs::write(ledger.path(), "5 nonsense\n").unwrap();
        let err = ledger.entries().unwrap_err().to_string();
        assert!(err.contains("malformed line 1"), "{err}");
    }
}
