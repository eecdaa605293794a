//! An audit entry as the tree commits to it: one canonical byte string per entry, whose leaf
//! hash is what the Merkle tree holds.
//!
//! The client data (IP address, user agent) travels inside `details`, sealed with the actor's
//! key before it gets here; the leaf commits to those sealed bytes, so shredding the actor's key
//! makes the details unreadable while the tree still verifies (AUD-03).

use crate::AuditError;
use crate::merkle::{Hash, leaf_hash};

const TAG: &[u8] = b"iw-audit-entry-1";

/// One audit entry's committed fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// Its position in the log (0-based).
    pub index: u64,
    /// When it happened (Unix milliseconds).
    pub at: i64,
    /// The workspace it concerns; `None` for instance-level events.
    pub workspace: Option<uuid::Uuid>,
    /// The actor's pseudonym (hex); `None` when nobody was identified.
    pub actor: Option<String>,
    /// What was done, e.g. `member.role_changed`.
    pub action: String,
    /// What it was done to, e.g. `member:<pseudonym>` or `token:<id>`.
    pub target: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// The sealed details (client IP and user agent, extra facts), as stored.
    #[serde(with = "crate::b64")]
    pub details: Vec<u8>,
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AuditError> {
        if self.0.len() < n {
            return Err(AuditError::Malformed("the entry is truncated".into()));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }

    fn u64(&mut self) -> Result<u64, AuditError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }

    fn bytes(&mut self) -> Result<&'a [u8], AuditError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        self.take(u32::from_be_bytes(b) as usize)
    }

    fn text(&mut self) -> Result<String, AuditError> {
        String::from_utf8(self.bytes()?.to_vec())
            .map_err(|_| AuditError::Malformed("an entry field is not text".into()))
    }
}

impl Entry {
    /// The canonical bytes the leaf commits to.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + self.details.len() + self.target.len());
        out.extend_from_slice(TAG);
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.at.to_be_bytes());
        match self.workspace {
            Some(w) => {
                out.push(1);
                out.extend_from_slice(w.as_bytes());
            }
            None => out.push(0),
        }
        match &self.actor {
            Some(a) => {
                out.push(1);
                put(&mut out, a.as_bytes());
            }
            None => out.push(0),
        }
        put(&mut out, self.action.as_bytes());
        put(&mut out, self.target.as_bytes());
        put(&mut out, self.outcome.as_bytes());
        put(&mut out, &self.details);
        out
    }

    /// Reads canonical bytes back, refusing anything [`Entry::encode`] would not write.
    pub fn decode(bytes: &[u8]) -> Result<Self, AuditError> {
        let mut r = Reader(bytes);
        if r.take(TAG.len())? != TAG {
            return Err(AuditError::Malformed("not an audit entry".into()));
        }
        let index = r.u64()?;
        let at = r.u64()? as i64;
        let workspace = match r.take(1)?[0] {
            0 => None,
            1 => Some(
                uuid::Uuid::from_slice(r.take(16)?)
                    .map_err(|_| AuditError::Malformed("bad workspace id".into()))?,
            ),
            _ => return Err(AuditError::Malformed("bad workspace flag".into())),
        };
        let actor = match r.take(1)?[0] {
            0 => None,
            1 => Some(r.text()?),
            _ => return Err(AuditError::Malformed("bad actor flag".into())),
        };
        let e = Self {
            index,
            at,
            workspace,
            actor,
            action: r.text()?,
            target: r.text()?,
            outcome: r.text()?,
            details: r.bytes()?.to_vec(),
        };
        if !r.0.is_empty() {
            return Err(AuditError::Malformed(
                "trailing bytes after the entry".into(),
            ));
        }
        Ok(e)
    }

    /// The leaf hash the tree holds for this entry.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            index: 7,
            at: 1_790_000_000,
            workspace: Some(uuid::Uuid::from_u128(5)),
            actor: Some("p-0123456789abcdef".into()),
            action: "member.role_changed".into(),
            target: "member:p-fedcba9876543210".into(),
            outcome: "success".into(),
            details: vec![1, 2, 3],
        }
    }

    #[test]
    fn entries_round_trip_and_every_field_changes_the_leaf() {
        let e = entry();
        assert_eq!(Entry::decode(&e.encode()).unwrap(), e);
        let none = Entry {
            workspace: None,
            actor: None,
            ..entry()
        };
        assert_eq!(Entry::decode(&none.encode()).unwrap(), none);
        let variants = [
            Entry {
                index: 8,
                ..entry()
            },
            Entry { at: 1, ..entry() },
            Entry {
                workspace: None,
                ..entry()
            },
            Entry {
                actor: None,
                ..entry()
            },
            Entry {
                action: "x".into(),
                ..entry()
            },
            Entry {
                target: "x".into(),
                ..entry()
            },
            Entry {
                outcome: "failure".into(),
                ..entry()
            },
            Entry {
                details: vec![1, 2],
                ..entry()
            },
        ];
        for v in variants {
            assert_ne!(v.leaf_hash(), e.leaf_hash(), "{v:?}");
        }
        let bytes = e.encode();
        assert!(Entry::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(Entry::decode(&[bytes.clone(), vec![0]].concat()).is_err());
        assert!(Entry::decode(b"nonsense").is_err());
    }
}
