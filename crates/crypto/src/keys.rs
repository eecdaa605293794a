//! Keys: 256-bit secrets that zeroise on drop, and wrapping one key under another.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::envelope::{Place, open, seal};
use crate::{CryptoError, CryptoResult, random_bytes};

/// The identity of a key (a DEK, a KEK, or a master key's series): stored in clear next to what
/// it encrypts, so the right key can be found. It is not secret.
pub type KeyId = uuid::Uuid;

/// A 256-bit secret key. Zeroised when dropped; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// A fresh random key.
    pub fn generate() -> CryptoResult<Self> {
        Ok(Self(random_bytes::<32>()?))
    }

    /// A key from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> CryptoResult<Self> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            CryptoError::KeySource(format!("a key must be 32 bytes, not {}", bytes.len()))
        })?;
        Ok(Self(arr))
    }

    pub(crate) fn from_array(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The raw bytes, to hand to another primitive that zeroises its own copy (the Ed25519
    /// checkpoint signer). Never log or store them.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// The place a wrapped key is bound to: the key it wraps, so a wrapped DEK cannot be swapped for
/// another one in storage.
fn wrap_place(wrapped: KeyId) -> Place<'static> {
    Place {
        workspace: uuid::Uuid::nil(),
        table: "keys",
        column: "wrapped",
        row: wrapped,
    }
}

/// Wraps `key` (whose id is `key_id`) under `parent`.
pub fn wrap_key(
    parent: &SecretKey,
    parent_id: KeyId,
    parent_version: u32,
    key_id: KeyId,
    key: &SecretKey,
) -> CryptoResult<Vec<u8>> {
    seal(
        parent,
        parent_id,
        parent_version,
        &wrap_place(key_id),
        key.bytes(),
    )
}

/// Unwraps the key `key_id` from `wrapped` with `parent`.
pub fn unwrap_key(
    parent: &SecretKey,
    parent_id: KeyId,
    parent_version: u32,
    key_id: KeyId,
    wrapped: &[u8],
) -> CryptoResult<SecretKey> {
    let mut bytes = open(
        parent,
        parent_id,
        parent_version,
        &wrap_place(key_id),
        wrapped,
    )?;
    let key = SecretKey::from_bytes(&bytes);
    bytes.zeroize();
    key
}

#[cfg(test)]
#[cfg(not(feature = "insecure-noop-cipher"))]
mod tests {
    use super::*;

    #[test]
    fn enc_01_keys_never_print() {
        let k = SecretKey::generate().unwrap();
        assert_eq!(format!("{k:?}"), "SecretKey(<redacted>)");
        let hex: String = k.bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!format!("{k:?}").contains(&hex[..8]));
    }

    #[test]
    fn enc_02_wrapped_keys_unwrap_only_with_their_parent_and_identity() {
        let kek = SecretKey::generate().unwrap();
        let (kek_id, dek_id) = (KeyId::now_v7(), KeyId::now_v7());
        let dek = SecretKey::generate().unwrap();
        let wrapped = wrap_key(&kek, kek_id, 1, dek_id, &dek).unwrap();
        assert_eq!(unwrap_key(&kek, kek_id, 1, dek_id, &wrapped).unwrap(), dek);
        let other = SecretKey::generate().unwrap();
        assert_eq!(
            unwrap_key(&other, kek_id, 1, dek_id, &wrapped),
            Err(CryptoError::Tampered)
        );
        assert_eq!(
            unwrap_key(&kek, kek_id, 1, KeyId::now_v7(), &wrapped),
            Err(CryptoError::Tampered),
            "a wrapped key cannot stand in for another"
        );
        assert!(matches!(
            unwrap_key(&kek, kek_id, 2, dek_id, &wrapped),
            Err(CryptoError::WrongKey { .. })
        ));
    }
}
