//! Ideaweave's cryptography: the key hierarchy and envelope encryption.
//!
//! Customer content is sealed with XChaCha20-Poly1305 under a data-encryption key (DEK); DEKs are
//! wrapped by their workspace's key-encryption key (KEK); KEKs are wrapped by a master key kept
//! outside the database (ENC-02). XChaCha20's 192-bit nonces are drawn at random for every
//! message, so nonce reuse is out of the question at any volume this platform will see.
//!
//! Every sealed value carries a small header (format, key id, key version) and is bound, through
//! the associated data, to its place: workspace, table, column and row. A ciphertext copied to
//! another row, column or workspace fails to open, as does one opened with the wrong key or
//! version; none of these ever yields wrong plaintext (ENC-01, ENC-03).
//!
//! Key material lives in [`SecretKey`], which zeroises itself on drop and prints as
//! `SecretKey(<redacted>)`; no error message contains key bytes.

mod cache;
mod derive;
mod envelope;
mod keys;
mod ledger;
mod provider;
mod stream;

pub use cache::{KEY_CACHE_TTL, KeyCache};
pub use derive::{BlindIndexKey, MacKey, derive_key};
pub use envelope::{HEADER_LEN, Place, SealedHeader, open, seal};
pub use keys::{KeyId, SecretKey, unwrap_key, wrap_key};
pub use ledger::{ShredEntry, ShredLedger};
pub use provider::{EnvKeyProvider, KeyFileProvider, KeyProvider, MasterKey};
pub use stream::{
    STREAM_BLOCK, STREAM_CHUNK, STREAM_HEADER_LEN, StreamOpener, StreamSealer, stream_header,
};

/// Why a cryptographic operation failed. The variants say what is wrong with the input; they
/// never carry key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The value is shorter than a header, nonce and tag.
    #[error("the ciphertext is truncated ({0} bytes)")]
    Truncated(usize),
    /// The value does not start with a header this program writes.
    #[error("the ciphertext has an unknown format")]
    UnknownFormat,
    /// The value was sealed under another key or key version than the one offered.
    #[error(
        "the ciphertext was sealed with key {found_key} version {found_version}, not key {expected_key} version {expected_version}"
    )]
    WrongKey {
        /// The key named in the header.
        found_key: KeyId,
        /// The version named in the header.
        found_version: u32,
        /// The key offered.
        expected_key: KeyId,
        /// The version offered.
        expected_version: u32,
    },
    /// Authentication failed: the bytes were changed, or the value was moved from another place.
    #[error("the ciphertext failed authentication: it was altered or does not belong here")]
    Tampered,
    /// A stream has more chunks than its counter can number (256 TiB at 64 KiB a chunk).
    #[error("the stream is too long to seal")]
    StreamTooLong,
    /// The operating system gave no randomness.
    #[error("no randomness available: {0}")]
    NoRandomness(String),
    /// A key could not be loaded.
    #[error("cannot load key: {0}")]
    KeySource(String),
}

/// Result of a cryptographic operation.
pub type CryptoResult<T> = Result<T, CryptoError>;

pub(crate) fn random_bytes<const N: usize>() -> CryptoResult<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| CryptoError::NoRandomness(e.to_string()))?;
    Ok(buf)
}
