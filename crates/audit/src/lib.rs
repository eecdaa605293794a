//! Ideaweave's tamper-evident audit log, as pure functions (AUD-01, AUD-02).
//!
//! Entries are leaves of an RFC 6962 / RFC 9162 Merkle tree ([`merkle`]); the instance signs
//! checkpoints of the tree in the C2SP signed-note format ([`note`]); inclusion and consistency
//! proofs travel as self-contained files that verify offline ([`proof_file`]). Storage, keys and
//! deciding what to record live elsewhere: this crate only computes and checks, so an auditor's
//! tools can use exactly the code the log uses.

pub mod entry;
pub mod merkle;
pub mod note;
pub mod proof_file;

pub use entry::Entry;
pub use merkle::{Frontier, Hash, NodeId, ProofPart};
pub use note::{Checkpoint, CheckpointSigner, VerifierKey};
pub use proof_file::{PROOF_FORMAT, ProofFile, Verified};

/// Why an audit computation or check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// An index or size outside the tree.
    #[error("index {index} is outside a tree of {size} entries")]
    OutOfRange {
        /// The index or older size asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A proof does not verify.
    #[error("the proof does not verify: {0}")]
    BadProof(&'static str),
    /// A signed note carries no valid signature by the expected key.
    #[error("the checkpoint is not signed by the expected key")]
    BadSignature,
    /// Input that is not in the expected format.
    #[error("{0}")]
    Malformed(String),
}

/// Serde helpers: bytes as base64.
pub(crate) mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}
