//! The sealed-value format.
//!
//! ```text
//! "IW" | format 0x01 | algorithm 0x01 (XChaCha20-Poly1305) | key id (16) | key version (u32 BE)
//!      | nonce (24) | ciphertext | tag (16)
//! ```
//!
//! The 24-byte header is authenticated, together with an unambiguous encoding of the value's
//! place, as the AEAD's associated data.

#[cfg(not(feature = "insecure-noop-cipher"))]
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
#[cfg(not(feature = "insecure-noop-cipher"))]
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::keys::{KeyId, SecretKey};
use crate::{CryptoError, CryptoResult, random_bytes};

pub(crate) const MAGIC: &[u8; 2] = b"IW";
const FORMAT: u8 = 1;
pub(crate) const ALG_XCHACHA20_POLY1305: u8 = 1;
/// Length of the header in front of every sealed value.
pub const HEADER_LEN: usize = 2 + 1 + 1 + 16 + 4;
pub(crate) const NONCE_LEN: usize = 24;
pub(crate) const TAG_LEN: usize = 16;

/// Where a sealed value lives. It is part of the associated data, so a value only opens where it
/// was sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    /// The workspace (nil for instance-level data).
    pub workspace: uuid::Uuid,
    /// The table.
    pub table: &'a str,
    /// The column.
    pub column: &'a str,
    /// The row's id.
    pub row: uuid::Uuid,
}

impl Place<'_> {
    pub(crate) fn encode(&self, header: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(header);
        out.extend_from_slice(b"iw-place-v1");
        out.extend_from_slice(self.workspace.as_bytes());
        for part in [self.table, self.column] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out.extend_from_slice(self.row.as_bytes());
    }
}

/// The readable part of a sealed value's header: which key opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedHeader {
    /// The key it was sealed with.
    pub key_id: KeyId,
    /// That key's version.
    pub key_version: u32,
}

impl SealedHeader {
    /// Reads the header of a sealed value, checking its length and format.
    pub fn parse(sealed: &[u8]) -> CryptoResult<Self> {
        if sealed.len() < HEADER_LEN + NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Truncated(sealed.len()));
        }
        if &sealed[..2] != MAGIC || sealed[2] != FORMAT || sealed[3] != ALG_XCHACHA20_POLY1305 {
            return Err(CryptoError::UnknownFormat);
        }
        Self::read_key(sealed)
    }

    /// The key id and version of a header whose length and format were checked.
    pub(crate) fn read_key(header: &[u8]) -> CryptoResult<Self> {
        let key_id = KeyId::from_slice(&header[4..20]).map_err(|_| CryptoError::UnknownFormat)?;
        let mut v = [0u8; 4];
        v.copy_from_slice(&header[20..24]);
        Ok(Self {
            key_id,
            key_version: u32::from_be_bytes(v),
        })
    }

    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..2].copy_from_slice(MAGIC);
        h[2] = FORMAT;
        h[3] = ALG_XCHACHA20_POLY1305;
        h[4..20].copy_from_slice(self.key_id.as_bytes());
        h[20..24].copy_from_slice(&self.key_version.to_be_bytes());
        h
    }
}

/// XChaCha20-Poly1305 encryption: `ciphertext || tag`. The one place the primitive is called,
/// so the Wycheproof vectors test exactly what seals customer data.
#[cfg(not(feature = "insecure-noop-cipher"))]
pub(crate) fn aead_encrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    msg: &[u8],
) -> CryptoResult<Vec<u8>> {
    XChaCha20Poly1305::new(key.into())
        .encrypt(&XNonce::from(*nonce), Payload { msg, aad })
        .map_err(|_| CryptoError::Tampered)
}

/// XChaCha20-Poly1305 decryption of `ciphertext || tag`.
#[cfg(not(feature = "insecure-noop-cipher"))]
pub(crate) fn aead_decrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    body: &[u8],
) -> CryptoResult<Vec<u8>> {
    XChaCha20Poly1305::new(key.into())
        .decrypt(&XNonce::from(*nonce), Payload { msg: body, aad })
        .map_err(|_| CryptoError::Tampered)
}

/// The benchmark-only stand-in: the same framing, no encryption, no authentication. It exists so
/// `cargo xtask bench` can measure what encryption costs end to end (BENCHMARKS.md); the server
/// refuses to start with it unless told that this is a benchmark.
#[cfg(feature = "insecure-noop-cipher")]
pub(crate) fn aead_encrypt(
    _key: &[u8; 32],
    _nonce: &[u8; NONCE_LEN],
    _aad: &[u8],
    msg: &[u8],
) -> CryptoResult<Vec<u8>> {
    let mut out = Vec::with_capacity(msg.len() + TAG_LEN);
    out.extend_from_slice(msg);
    out.extend_from_slice(&[0u8; TAG_LEN]);
    Ok(out)
}

/// See the other `aead_encrypt`: benchmark-only.
#[cfg(feature = "insecure-noop-cipher")]
pub(crate) fn aead_decrypt(
    _key: &[u8; 32],
    _nonce: &[u8; NONCE_LEN],
    _aad: &[u8],
    body: &[u8],
) -> CryptoResult<Vec<u8>> {
    body.len()
        .checked_sub(TAG_LEN)
        .map(|n| body[..n].to_vec())
        .ok_or(CryptoError::Tampered)
}

/// Seals `plaintext` for `place` under `key` (identified as `key_id`, `key_version`).
pub fn seal(
    key: &SecretKey,
    key_id: KeyId,
    key_version: u32,
    place: &Place<'_>,
    plaintext: &[u8],
) -> CryptoResult<Vec<u8>> {
    let header = SealedHeader {
        key_id,
        key_version,
    }
    .encode();
    let nonce = random_bytes::<NONCE_LEN>()?;
    let mut aad = Vec::with_capacity(HEADER_LEN + 64 + place.table.len() + place.column.len());
    place.encode(&header, &mut aad);
    let body = aead_encrypt(key.bytes(), &nonce, &aad, plaintext)?;
    let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + body.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Opens a value sealed for `place` with `key` (`key_id`, `key_version`).
pub fn open(
    key: &SecretKey,
    key_id: KeyId,
    key_version: u32,
    place: &Place<'_>,
    sealed: &[u8],
) -> CryptoResult<Vec<u8>> {
    let header = SealedHeader::parse(sealed)?;
    if header.key_id != key_id || header.key_version != key_version {
        return Err(CryptoError::WrongKey {
            found_key: header.key_id,
            found_version: header.key_version,
            expected_key: key_id,
            expected_version: key_version,
        });
    }
    let mut aad = Vec::with_capacity(HEADER_LEN + 64 + place.table.len() + place.column.len());
    place.encode(&sealed[..HEADER_LEN], &mut aad);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&sealed[HEADER_LEN..HEADER_LEN + NONCE_LEN]);
    aead_decrypt(key.bytes(), &nonce, &aad, &sealed[HEADER_LEN + NONCE_LEN..])
}

#[cfg(test)]
#[cfg(not(feature = "insecure-noop-cipher"))]
mod tests {
    use super::*;

    fn place(row: uuid::Uuid) -> Place<'static> {
        Place {
            workspace: uuid::Uuid::from_u128(1),
            table: "ideas",
            column: "title",
            row,
        }
    }

    fn sealed() -> (SecretKey, KeyId, uuid::Uuid, Vec<u8>) {
        let key = SecretKey::generate().unwrap();
        let id = KeyId::now_v7();
        let row = uuid::Uuid::now_v7();
        let s = seal(&key, id, 3, &place(row), b"canary plaintext").unwrap();
        (key, id, row, s)
    }

    #[test]
    fn enc_01_round_trip_and_no_plaintext_in_output() {
        let (key, id, row, s) = sealed();
        assert!(!s.windows(6).any(|w| w == b"canary"));
        assert_eq!(
            open(&key, id, 3, &place(row), &s).unwrap(),
            b"canary plaintext"
        );
        let again = seal(&key, id, 3, &place(row), b"canary plaintext").unwrap();
        assert_ne!(s, again, "fresh nonce every time");
        assert_eq!(
            SealedHeader::parse(&s).unwrap(),
            SealedHeader {
                key_id: id,
                key_version: 3
            }
        );
    }

    #[test]
    fn enc_01_every_flipped_bit_is_detected() {
        let (key, id, row, s) = sealed();
        for i in 0..s.len() {
            for bit in [0x01u8, 0x80] {
                let mut t = s.clone();
                t[i] ^= bit;
                let r = open(&key, id, 3, &place(row), &t);
                assert!(r.is_err(), "byte {i} bit {bit:#x} went unnoticed");
                assert_ne!(r.as_deref().ok(), Some(&b"canary plaintext"[..]));
            }
        }
    }

    #[test]
    fn enc_01_truncated_and_foreign_values_are_refused() {
        let (key, id, row, s) = sealed();
        for len in [0, 1, HEADER_LEN, HEADER_LEN + NONCE_LEN + TAG_LEN - 1] {
            assert_eq!(
                open(&key, id, 3, &place(row), &s[..len]),
                Err(CryptoError::Truncated(len))
            );
        }
        assert_eq!(
            open(&key, id, 3, &place(row), &s[..s.len() - 1]),
            Err(CryptoError::Tampered)
        );
        let mut plain = b"plain text stored before encryption existed, long enough".to_vec();
        plain.resize(80, b'.');
        assert_eq!(
            open(&key, id, 3, &place(row), &plain),
            Err(CryptoError::UnknownFormat)
        );
    }

    #[test]
    fn enc_01_a_value_moved_to_another_place_does_not_open() {
        let (key, id, row, s) = sealed();
        let moves = [
            Place {
                row: uuid::Uuid::now_v7(),
                ..place(row)
            },
            Place {
                column: "body",
                ..place(row)
            },
            Place {
                table: "comments",
                ..place(row)
            },
            Place {
                workspace: uuid::Uuid::from_u128(2),
                ..place(row)
            },
            Place {
                table: "ideast",
                column: "itle",
                ..place(row)
            },
        ];
        for p in moves {
            assert_eq!(
                open(&key, id, 3, &p, &s),
                Err(CryptoError::Tampered),
                "{p:?}"
            );
        }
    }

    #[test]
    fn enc_03_wrong_key_or_version_is_named_not_guessed() {
        let (key, id, row, s) = sealed();
        let e = open(&key, id, 4, &place(row), &s).unwrap_err();
        assert!(matches!(
            e,
            CryptoError::WrongKey {
                found_version: 3,
                expected_version: 4,
                ..
            }
        ));
        let other = SecretKey::generate().unwrap();
        assert_eq!(
            open(&other, id, 3, &place(row), &s),
            Err(CryptoError::Tampered)
        );
        let mut forged = s.clone();
        forged[20..24].copy_from_slice(&4u32.to_be_bytes());
        assert_eq!(
            open(&key, id, 4, &place(row), &forged),
            Err(CryptoError::Tampered),
            "a relabelled header fails authentication"
        );
    }
}

#[cfg(test)]
#[cfg(not(feature = "insecure-noop-cipher"))]
mod wycheproof_vectors {
    use super::*;
    use wycheproof::TestResult;
    use wycheproof::aead::{TestName, TestSet};

    /// ENC-01: the primitive that seals customer data passes every Wycheproof XChaCha20-Poly1305
    /// vector: valid ones encrypt to the expected bytes and decrypt back, invalid ones fail.
    #[test]
    fn enc_01_xchacha20poly1305_passes_wycheproof() {
        let set = TestSet::load(TestName::XChaCha20Poly1305).expect("vectors");
        let mut checked = 0;
        for group in set.test_groups {
            for t in group.tests {
                let key: Option<&[u8; 32]> = t.key.as_slice().try_into().ok();
                let nonce: Option<&[u8; NONCE_LEN]> = t.nonce.as_slice().try_into().ok();
                let (Some(key), Some(nonce)) = (key, nonce) else {
                    assert_eq!(
                        t.result,
                        TestResult::Invalid,
                        "tc {}: odd sizes must be invalid vectors",
                        t.tc_id
                    );
                    continue;
                };
                let mut body = t.ct.to_vec();
                body.extend_from_slice(&t.tag);
                let opened = aead_decrypt(key, nonce, &t.aad, &body);
                match t.result {
                    TestResult::Valid | TestResult::Acceptable => {
                        assert_eq!(
                            opened.as_deref(),
                            Ok(&t.pt[..]),
                            "tc {} ({})",
                            t.tc_id,
                            t.comment
                        );
                        assert_eq!(
                            aead_encrypt(key, nonce, &t.aad, &t.pt).unwrap(),
                            body,
                            "tc {}",
                            t.tc_id
                        );
                    }
                    TestResult::Invalid => assert!(
                        opened.is_err(),
                        "tc {} ({}) must not open",
                        t.tc_id,
                        t.comment
                    ),
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} vectors ran");
    }
}
