//! Self-contained proof files: everything an auditor needs to check, offline and without
//! trusting the operator, that an entry is in the log or that the log only grew.
//!
//! The file names the verifier key it was signed with, but an auditor should pin the key they
//! obtained independently (`--key`): a forger could ship their own.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::AuditError;
use crate::entry::Entry;
use crate::merkle::{Hash, leaf_hash, verify_consistency, verify_inclusion};
use crate::note::{Checkpoint, VerifierKey};

/// The format tag of proof files this code writes and reads.
pub const PROOF_FORMAT: &str = "ideaweave-audit-proof-1";

/// A proof file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProofFile {
    /// Entry `index` is in the log as of `checkpoint`.
    Inclusion {
        /// [`PROOF_FORMAT`].
        format: String,
        /// The key that signed the checkpoint.
        verifier_key: String,
        /// The signed checkpoint.
        checkpoint: String,
        /// The entry's position.
        index: u64,
        /// The entry's canonical bytes, base64.
        entry: String,
        /// The audit path, base64 hashes, deepest first.
        proof: Vec<String>,
    },
    /// The log at `old_checkpoint` is a prefix of the log at `checkpoint`.
    Consistency {
        /// [`PROOF_FORMAT`].
        format: String,
        /// The key that signed both checkpoints.
        verifier_key: String,
        /// The earlier signed checkpoint.
        old_checkpoint: String,
        /// The later signed checkpoint.
        checkpoint: String,
        /// The consistency proof, base64 hashes.
        proof: Vec<String>,
    },
}

/// What a verified proof file established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// The entry is in the log as of the checkpoint.
    Included {
        /// The entry.
        entry: Entry,
        /// The checkpoint.
        checkpoint: Checkpoint,
    },
    /// The later checkpoint extends the earlier one.
    Consistent {
        /// The earlier checkpoint.
        old: Checkpoint,
        /// The later checkpoint.
        new: Checkpoint,
    },
}

/// Encodes hashes for a proof file.
pub fn encode_hashes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h)).collect()
}

fn decode_hashes(parts: &[String]) -> Result<Vec<Hash>, AuditError> {
    parts
        .iter()
        .map(|p| {
            B64.decode(p)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| AuditError::Malformed("a proof hash is not base64 SHA-256".into()))
        })
        .collect()
}

impl ProofFile {
    /// Checks the file. With `pinned`, the checkpoints must be signed by that key (the key the
    /// file names is then ignored); without, by the key the file names.
    pub fn verify(&self, pinned: Option<&VerifierKey>) -> Result<Verified, AuditError> {
        let (format, key_text) = match self {
            ProofFile::Inclusion {
                format,
                verifier_key,
                ..
            }
            | ProofFile::Consistency {
                format,
                verifier_key,
                ..
            } => (format, verifier_key),
        };
        if format != PROOF_FORMAT {
            return Err(AuditError::Malformed(format!(
                "unknown proof format {format:?}"
            )));
        }
        let named = VerifierKey::parse(key_text)?;
        let key = pinned.unwrap_or(&named);
        match self {
            ProofFile::Inclusion {
                checkpoint,
                index,
                entry,
                proof,
                ..
            } => {
                let cp = key.verify(checkpoint)?;
                let bytes = B64
                    .decode(entry)
                    .map_err(|_| AuditError::Malformed("the entry is not base64".into()))?;
                let e = Entry::decode(&bytes)?;
                if e.index != *index {
                    return Err(AuditError::BadProof(
                        "the entry's own index differs from the proof's",
                    ));
                }
                verify_inclusion(
                    *index,
                    cp.size,
                    &leaf_hash(&bytes),
                    &decode_hashes(proof)?,
                    &cp.root,
                )?;
                Ok(Verified::Included {
                    entry: e,
                    checkpoint: cp,
                })
            }
            ProofFile::Consistency {
                old_checkpoint,
                checkpoint,
                proof,
                ..
            } => {
                let old = key.verify(old_checkpoint)?;
                let new = key.verify(checkpoint)?;
                verify_consistency(
                    old.size,
                    new.size,
                    &old.root,
                    &new.root,
                    &decode_hashes(proof)?,
                )?;
                Ok(Verified::Consistent { old, new })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{consistency_parts, fold, inclusion_parts, root_of};
    use crate::note::CheckpointSigner;

    fn entries(n: u64) -> Vec<Entry> {
        (0..n)
            .map(|i| Entry {
                index: i,
                at: 1_790_000_000 + i as i64,
                workspace: None,
                actor: Some(format!("p-{i:016x}")),
                action: "auth.sign_in".into(),
                target: "instance".into(),
                outcome: "success".into(),
                details: vec![i as u8; 20],
            })
            .collect()
    }

    fn proof(leaves: &[Hash], parts: &[crate::ProofPart]) -> Vec<String> {
        let hashes: Vec<Hash> = parts
            .iter()
            .map(|p| {
                let hs: Vec<Hash> = p
                    .nodes
                    .iter()
                    .map(|n| {
                        let from = (n.index << n.level) as usize;
                        root_of(&leaves[from..from + (1 << n.level)])
                    })
                    .collect();
                fold(&hs).unwrap()
            })
            .collect();
        encode_hashes(&hashes)
    }

    fn signed(s: &CheckpointSigner, leaves: &[Hash], size: usize) -> String {
        s.sign(&Checkpoint {
            origin: "example.org/audit".into(),
            size: size as u64,
            root: root_of(&leaves[..size]),
        })
    }

    #[test]
    fn aud_02_proof_files_verify_offline_and_every_alteration_is_refused() {
        let s = CheckpointSigner::new("example.org/audit", &[3; 32]).unwrap();
        let impostor = CheckpointSigner::new("example.org/audit", &[4; 32]).unwrap();
        let es = entries(21);
        let leaves: Vec<Hash> = es.iter().map(Entry::leaf_hash).collect();
        let inclusion = ProofFile::Inclusion {
            format: PROOF_FORMAT.into(),
            verifier_key: s.verifier().to_string(),
            checkpoint: signed(&s, &leaves, 21),
            index: 9,
            entry: B64.encode(es[9].encode()),
            proof: proof(&leaves, &inclusion_parts(9, 21).unwrap()),
        };
        let json = serde_json::to_string(&inclusion).unwrap();
        let back: ProofFile = serde_json::from_str(&json).unwrap();
        assert!(matches!(
            back.verify(Some(&s.verifier())).unwrap(),
            Verified::Included { entry, .. } if entry == es[9]
        ));
        let consistency = ProofFile::Consistency {
            format: PROOF_FORMAT.into(),
            verifier_key: s.verifier().to_string(),
            old_checkpoint: signed(&s, &leaves, 13),
            checkpoint: signed(&s, &leaves, 21),
            proof: proof(&leaves, &consistency_parts(13, 21).unwrap()),
        };
        consistency.verify(Some(&s.verifier())).unwrap();

        let mut bad: Vec<(&str, ProofFile)> = Vec::new();
        let with = |f: &dyn Fn(&mut ProofFile)| {
            let mut p = inclusion.clone();
            f(&mut p);
            p
        };
        bad.push((
            "another entry",
            with(&|p| {
                if let ProofFile::Inclusion { entry, .. } = p {
                    *entry = B64.encode(es[10].encode())
                }
            }),
        ));
        bad.push((
            "an edited entry",
            with(&|p| {
                if let ProofFile::Inclusion { entry, .. } = p {
                    let mut e = es[9].clone();
                    e.outcome = "failure".into();
                    *entry = B64.encode(e.encode());
                }
            }),
        ));
        bad.push((
            "another index",
            with(&|p| {
                if let ProofFile::Inclusion { index, .. } = p {
                    *index = 8
                }
            }),
        ));
        bad.push((
            "a dropped proof hash",
            with(&|p| {
                if let ProofFile::Inclusion { proof, .. } = p {
                    proof.pop();
                }
            }),
        ));
        bad.push((
            "a swapped proof",
            with(&|p| {
                if let ProofFile::Inclusion { proof, .. } = p {
                    proof.swap(0, 1)
                }
            }),
        ));
        bad.push((
            "an impostor's checkpoint",
            with(&|p| {
                if let ProofFile::Inclusion {
                    checkpoint,
                    verifier_key,
                    ..
                } = p
                {
                    *checkpoint = signed(&impostor, &leaves, 21);
                    *verifier_key = impostor.verifier().to_string();
                }
            }),
        ));
        bad.push((
            "an older checkpoint",
            with(&|p| {
                if let ProofFile::Inclusion { checkpoint, .. } = p {
                    *checkpoint = signed(&s, &leaves, 20)
                }
            }),
        ));
        bad.push((
            "another format",
            with(&|p| {
                if let ProofFile::Inclusion { format, .. } = p {
                    *format = "x".into()
                }
            }),
        ));
        let mut reversed = consistency.clone();
        if let ProofFile::Consistency {
            old_checkpoint,
            checkpoint,
            ..
        } = &mut reversed
        {
            std::mem::swap(old_checkpoint, checkpoint);
        }
        bad.push(("consistency backwards", reversed));
        let mut forked = consistency.clone();
        if let ProofFile::Consistency { checkpoint, .. } = &mut forked {
            let mut other = leaves.clone();
            other[3] = [0; 32];
            *checkpoint = signed(&s, &other, 21);
        }
        bad.push(("a forked log", forked));
        for (what, p) in bad {
            assert!(
                p.verify(Some(&s.verifier())).is_err(),
                "{what} was accepted"
            );
        }
        assert!(
            serde_json::from_str::<ProofFile>(r#"{"kind":"inclusion","format":"x"}"#).is_err(),
            "incomplete files do not parse"
        );
    }
}
