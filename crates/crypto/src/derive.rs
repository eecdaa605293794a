//! Keys derived from the master key for purposes other than wrapping, and the blind index.
//!
//! Sign-in must find an account by email without the address being stored in clear. The blind
//! index is HMAC-SHA-256 of the normalised address under a key derived (HKDF-SHA-256) from the
//! master key for that one purpose, so it is useless without the master key and cannot be
//! confused with any other derived key.

use hkdf::Hkdf;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::SecretKey;

/// Derives a 256-bit key for `purpose` from `master` (HKDF-SHA-256, fixed salt).
pub fn derive_key(master: &SecretKey, purpose: &str) -> SecretKey {
    let hk = Hkdf::<Sha256>::new(Some(b"ideaweave key derivation v1"), master.bytes());
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA-256's 8160-byte output limit, so expand cannot fail.
    let _ = hk.expand(purpose.as_bytes(), &mut out);
    let key = SecretKey::from_array(out);
    zeroize::Zeroize::zeroize(&mut out);
    key
}

/// The key of a blind index.
#[derive(Debug, Clone)]
pub struct BlindIndexKey(SecretKey);

impl BlindIndexKey {
    /// The blind-index key for `purpose` (for example `"account-email"`), from the master key.
    pub fn derive(master: &SecretKey, purpose: &str) -> Self {
        Self(derive_key(master, &format!("blind-index:{purpose}")))
    }

    /// A blind-index key from raw key bytes (tests, and keys kept in a KMS).
    pub fn from_key(key: SecretKey) -> Self {
        Self(key)
    }

    /// The index of `value`: equal values give equal indexes; nothing about the value can be
    /// learnt from it without the key.
    pub fn index(&self, value: &str) -> [u8; 32] {
        // HMAC pads keys shorter than the 64-byte block with zeros (RFC 2104), so the padded
        // key is the same key, and the fixed-size constructor cannot fail.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(self.0.bytes());
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
        zeroize::Zeroize::zeroize(&mut block);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// A key that authenticates data kept where an attacker may write but the master key never
/// is (backup records, the copy of the shred ledger in backup targets, audit entries): HMAC-
/// SHA-256 under a key derived from the master key for one purpose.
#[derive(Debug, Clone)]
pub struct MacKey(SecretKey);

impl MacKey {
    /// The MAC key for `purpose`, from the master key.
    pub fn derive(master: &SecretKey, purpose: &str) -> Self {
        Self(derive_key(master, &format!("mac:{purpose}")))
    }

    fn start(&self) -> Hmac<Sha256> {
        // As in `BlindIndexKey::index`: a zero-padded 32-byte key is the same HMAC key.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(self.0.bytes());
        let mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
        zeroize::Zeroize::zeroize(&mut block);
        mac
    }

    /// The tag of `data`.
    pub fn tag(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.start();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is `data`'s tag (compared in constant time).
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.start();
        mac.update(data);
        mac.verify_slice(tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enc_01_blind_index_is_hmac_sha256_of_the_value() {
        // Checked against the hmac crate's variable-key constructor, which pads the key itself.
        let key = SecretKey::from_bytes(&[0x0b; 32]).unwrap();
        let idx = BlindIndexKey::from_key(key).index("Hi There");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[0x0b; 32]).unwrap();
        mac.update(b"Hi There");
        assert_eq!(idx.to_vec(), mac.finalize().into_bytes().to_vec());
    }

    #[test]
    fn aud_03_mac_tags_depend_on_data_purpose_and_master() {
        let (m1, m2) = (
            SecretKey::generate().unwrap(),
            SecretKey::generate().unwrap(),
        );
        let k = MacKey::derive(&m1, "records");
        let tag = k.tag(b"data");
        assert!(k.verify(b"data", &tag));
        assert!(!k.verify(b"datA", &tag));
        assert!(!k.verify(b"data", &tag[..31]));
        assert!(!MacKey::derive(&m1, "other").verify(b"data", &tag));
        assert!(!MacKey::derive(&m2, "records").verify(b"data", &tag));
    }

    #[test]
    fn enc_01_blind_indexes_depend_on_value_purpose_and_master() {
        let m1 = SecretKey::generate().unwrap();
        let m2 = SecretKey::generate().unwrap();
        let a = BlindIndexKey::derive(&m1, "account-email");
        assert_eq!(a.index("ann@example.org"), a.index("ann@example.org"));
        assert_ne!(a.index("ann@example.org"), a.index("bob@example.org"));
        assert_ne!(
            a.index("ann@example.org"),
            BlindIndexKey::derive(&m1, "other").index("ann@example.org")
        );
        assert_ne!(
            a.index("ann@example.org"),
            BlindIndexKey::derive(&m2, "account-email").index("ann@example.org")
        );
    }

    #[test]
    fn enc_02_derivation_is_deterministic_and_separated() {
        let m = SecretKey::generate().unwrap();
        assert_eq!(derive_key(&m, "x"), derive_key(&m, "x"));
        assert_ne!(derive_key(&m, "x"), derive_key(&m, "y"));
        assert_ne!(derive_key(&m, "x"), m);
    }
}
