//! Sealing files as a stream of chunks, so a large attachment never sits whole in memory.
//!
//! The construction is the STREAM scheme of Hoang, Reyhanitabar, Rogaway and Vizár ("Online
//! authenticated-encryption and its nonce-reuse misuse-resistance", 2015) over
//! XChaCha20-Poly1305:
//!
//! ```text
//! "IW" | format 0x02 | algorithm 0x01 | key id (16) | key version (u32 BE) | nonce prefix (19)
//!      | chunk 0 | chunk 1 | … | last chunk
//! chunk i  = AEAD(key, nonce = prefix ‖ i (u32 BE) ‖ last-flag (0 or 1), aad, plaintext i)
//! aad      = the 43-byte header, then the place encoding of the single-value format
//! ```
//!
//! Every chunk but the last holds exactly [`STREAM_CHUNK`] bytes of plaintext; the last holds
//! fewer (possibly none), so a reader tells the last chunk by its length and the flag in its
//! nonce proves it. Reordered, dropped, duplicated or appended chunks, a stream cut at a chunk
//! boundary and a stream moved to another place all fail authentication.

use crate::envelope::{ALG_XCHACHA20_POLY1305, MAGIC, NONCE_LEN, Place, TAG_LEN};
use crate::envelope::{aead_decrypt, aead_encrypt};
use crate::keys::{KeyId, SecretKey};
use crate::{CryptoError, CryptoResult, SealedHeader, random_bytes};

const FORMAT_STREAM: u8 = 2;
const PREFIX_LEN: usize = NONCE_LEN - 4 - 1;
/// Plaintext bytes in every chunk but the last.
pub const STREAM_CHUNK: usize = 64 * 1024;
/// Sealed bytes of every chunk but the last.
pub const STREAM_BLOCK: usize = STREAM_CHUNK + TAG_LEN;
/// Length of a sealed stream's header (key id, version, nonce prefix).
pub const STREAM_HEADER_LEN: usize = crate::HEADER_LEN + PREFIX_LEN;

/// The part of a stream every chunk shares: key, nonce prefix, associated data, position.
struct Chunker {
    key: SecretKey,
    prefix: [u8; PREFIX_LEN],
    aad: Vec<u8>,
    counter: u32,
}

impl Chunker {
    fn new(key: SecretKey, header: &[u8; STREAM_HEADER_LEN], place: &Place<'_>) -> Self {
        let mut aad = Vec::with_capacity(STREAM_HEADER_LEN + 64);
        place.encode(header, &mut aad);
        let mut prefix = [0u8; PREFIX_LEN];
        prefix.copy_from_slice(&header[crate::HEADER_LEN..]);
        Self {
            key,
            prefix,
            aad,
            counter: 0,
        }
    }

    /// The nonce of the next chunk; moves on to the one after.
    fn next_nonce(&mut self, last: bool) -> CryptoResult<[u8; NONCE_LEN]> {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..PREFIX_LEN].copy_from_slice(&self.prefix);
        nonce[PREFIX_LEN..PREFIX_LEN + 4].copy_from_slice(&self.counter.to_be_bytes());
        nonce[NONCE_LEN - 1] = u8::from(last);
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or(CryptoError::StreamTooLong)?;
        Ok(nonce)
    }
}

/// Seals a stream pushed to it in pieces of any size; holds at most one chunk of plaintext.
pub struct StreamSealer {
    chunker: Chunker,
    header: Option<[u8; STREAM_HEADER_LEN]>,
    pending: Vec<u8>,
}

impl StreamSealer {
    /// Starts sealing a stream for `place` under `key` (`key_id`, `key_version`).
    pub fn new(
        key: &SecretKey,
        key_id: KeyId,
        key_version: u32,
        place: &Place<'_>,
    ) -> CryptoResult<Self> {
        let mut header = [0u8; STREAM_HEADER_LEN];
        header[..2].copy_from_slice(MAGIC);
        header[2] = FORMAT_STREAM;
        header[3] = ALG_XCHACHA20_POLY1305;
        header[4..20].copy_from_slice(key_id.as_bytes());
        header[20..24].copy_from_slice(&key_version.to_be_bytes());
        header[crate::HEADER_LEN..].copy_from_slice(&random_bytes::<PREFIX_LEN>()?);
        Ok(Self {
            chunker: Chunker::new(key.clone(), &header, place),
            header: Some(header),
            pending: Vec::with_capacity(STREAM_CHUNK),
        })
    }

    /// Takes the next piece of plaintext; returns the sealed bytes that are ready (the header
    /// first, then every chunk that filled up).
    pub fn push(&mut self, mut data: &[u8]) -> CryptoResult<Vec<u8>> {
        let mut out = Vec::new();
        if let Some(h) = self.header.take() {
            out.extend_from_slice(&h);
        }
        while !data.is_empty() {
            let take = (STREAM_CHUNK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == STREAM_CHUNK {
                self.seal_pending(false, &mut out)?;
            }
        }
        Ok(out)
    }

    /// Seals what is left as the last chunk and returns it (after the header, if nothing was
    /// pushed).
    pub fn finish(mut self) -> CryptoResult<Vec<u8>> {
        let mut out = self.push(&[])?;
        self.seal_pending(true, &mut out)?;
        Ok(out)
    }

    fn seal_pending(&mut self, last: bool, out: &mut Vec<u8>) -> CryptoResult<()> {
        let nonce = self.chunker.next_nonce(last)?;
        out.extend(aead_encrypt(
            self.chunker.key.bytes(),
            &nonce,
            &self.chunker.aad,
            &self.pending,
        )?);
        self.pending.clear();
        Ok(())
    }
}

/// Reads the header of a sealed stream: which key opens it.
pub fn stream_header(header: &[u8]) -> CryptoResult<SealedHeader> {
    if header.len() < STREAM_HEADER_LEN {
        return Err(CryptoError::Truncated(header.len()));
    }
    if &header[..2] != MAGIC || header[2] != FORMAT_STREAM || header[3] != ALG_XCHACHA20_POLY1305 {
        return Err(CryptoError::UnknownFormat);
    }
    SealedHeader::read_key(header)
}

/// Opens a sealed stream pushed to it in pieces of any size; holds at most one block.
pub struct StreamOpener {
    chunker: Chunker,
    pending: Vec<u8>,
}

impl StreamOpener {
    /// Starts opening the stream whose first [`STREAM_HEADER_LEN`] bytes are `header`, sealed
    /// for `place` under `key` (`key_id`, `key_version`).
    pub fn new(
        key: &SecretKey,
        key_id: KeyId,
        key_version: u32,
        place: &Place<'_>,
        header: &[u8],
    ) -> CryptoResult<Self> {
        let found = stream_header(header)?;
        if found.key_id != key_id || found.key_version != key_version {
            return Err(CryptoError::WrongKey {
                found_key: found.key_id,
                found_version: found.key_version,
                expected_key: key_id,
                expected_version: key_version,
            });
        }
        let mut h = [0u8; STREAM_HEADER_LEN];
        h.copy_from_slice(&header[..STREAM_HEADER_LEN]);
        Ok(Self {
            chunker: Chunker::new(key.clone(), &h, place),
            pending: Vec::with_capacity(STREAM_BLOCK),
        })
    }

    /// Takes the next piece of the sealed stream (after the header); returns the plaintext of
    /// every chunk that is complete and authentic. A full block is never the last chunk.
    pub fn push(&mut self, mut data: &[u8]) -> CryptoResult<Vec<u8>> {
        let mut out = Vec::new();
        while !data.is_empty() {
            if self.pending.len() == STREAM_BLOCK {
                self.open_pending(false, &mut out)?;
            }
            let take = (STREAM_BLOCK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(out)
    }

    /// Opens the last chunk at the end of the stream and returns its plaintext. A stream that
    /// ends on a full block was cut short.
    pub fn finish(mut self) -> CryptoResult<Vec<u8>> {
        if self.pending.len() < TAG_LEN || self.pending.len() == STREAM_BLOCK {
            return Err(CryptoError::Truncated(self.pending.len()));
        }
        let mut out = Vec::new();
        self.open_pending(true, &mut out)?;
        Ok(out)
    }

    fn open_pending(&mut self, last: bool, out: &mut Vec<u8>) -> CryptoResult<()> {
        let nonce = self.chunker.next_nonce(last)?;
        out.extend(aead_decrypt(
            self.chunker.key.bytes(),
            &nonce,
            &self.chunker.aad,
            &self.pending,
        )?);
        self.pending.clear();
        Ok(())
    }
}

#[cfg(test)]
#[cfg(not(feature = "insecure-noop-cipher"))]
mod tests {
    use super::*;

    fn place(row: u128) -> Place<'static> {
        Place {
            workspace: uuid::Uuid::from_u128(7),
            table: "attachments",
            column: "file",
            row: uuid::Uuid::from_u128(row),
        }
    }

    fn plaintext(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Seals `data` pushed in pieces of `piece` bytes.
    fn seal_all(key: &SecretKey, id: KeyId, data: &[u8], piece: usize) -> Vec<u8> {
        let mut s = StreamSealer::new(key, id, 1, &place(1)).unwrap();
        let mut out = Vec::new();
        for p in data.chunks(piece.max(1)) {
            out.extend(s.push(p).unwrap());
        }
        out.extend(s.finish().unwrap());
        out
    }

    fn open_all(
        key: &SecretKey,
        id: KeyId,
        place: &Place<'_>,
        sealed: &[u8],
        piece: usize,
    ) -> CryptoResult<Vec<u8>> {
        let (header, body) = sealed.split_at(STREAM_HEADER_LEN.min(sealed.len()));
        let mut o = StreamOpener::new(key, id, 1, place, header)?;
        let mut out = Vec::new();
        for p in body.chunks(piece.max(1)) {
            out.extend(o.push(p)?);
        }
        out.extend(o.finish()?);
        Ok(out)
    }

    fn blocks(sealed: &[u8]) -> Vec<&[u8]> {
        sealed[STREAM_HEADER_LEN..].chunks(STREAM_BLOCK).collect()
    }

    #[test]
    fn enc_01_streams_of_every_shape_round_trip_in_pieces_of_any_size() {
        let key = SecretKey::generate().unwrap();
        let id = KeyId::now_v7();
        for len in [
            0,
            1,
            STREAM_CHUNK - 1,
            STREAM_CHUNK,
            STREAM_CHUNK + 1,
            3 * STREAM_CHUNK,
            3 * STREAM_CHUNK + 12_345,
        ] {
            let data = plaintext(len);
            for (seal_piece, open_piece) in [(len.max(1), 1 << 20), (1000, 7777), (STREAM_CHUNK, 1)]
            {
                if open_piece == 1 && len > STREAM_CHUNK + 1 {
                    continue;
                }
                let sealed = seal_all(&key, id, &data, seal_piece);
                let chunks = len / STREAM_CHUNK + 1;
                assert_eq!(sealed.len(), STREAM_HEADER_LEN + len + chunks * TAG_LEN);
                let opened = open_all(&key, id, &place(1), &sealed, open_piece).unwrap();
                assert!(opened == data, "length {len} did not round-trip");
            }
        }
    }

    #[test]
    fn enc_01_a_sealed_stream_shows_no_plaintext_and_every_seal_differs() {
        let key = SecretKey::generate().unwrap();
        let id = KeyId::now_v7();
        let data = b"canary-stream ".repeat(20_000);
        let a = seal_all(&key, id, &data, 4096);
        let b = seal_all(&key, id, &data, 4096);
        assert!(!a.windows(13).any(|w| w == b"canary-stream"));
        assert_ne!(a, b, "a fresh nonce prefix every time");
    }

    #[test]
    fn enc_01_altered_reordered_dropped_or_appended_chunks_are_refused() {
        let key = SecretKey::generate().unwrap();
        let id = KeyId::now_v7();
        let data = plaintext(3 * STREAM_CHUNK + 100);
        let sealed = seal_all(&key, id, &data, 10_000);
        let b = blocks(&sealed);
        assert_eq!(b.len(), 4);
        let header = &sealed[..STREAM_HEADER_LEN];
        let join = |parts: &[&[u8]]| -> Vec<u8> {
            let mut v = header.to_vec();
            for p in parts {
                v.extend_from_slice(p);
            }
            v
        };
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("two chunks swapped", join(&[b[1], b[0], b[2], b[3]])),
            ("a middle chunk dropped", join(&[b[0], b[2], b[3]])),
            ("a chunk duplicated", join(&[b[0], b[0], b[1], b[2], b[3]])),
            ("cut at a chunk boundary", join(&[b[0], b[1], b[2]])),
            (
                "cut inside the last chunk",
                sealed[..sealed.len() - 1].to_vec(),
            ),
            ("bytes appended", [&sealed[..], b"more"].concat()),
            ("header only", header.to_vec()),
        ];
        for i in [
            STREAM_HEADER_LEN - 1,
            STREAM_HEADER_LEN + 5,
            sealed.len() - 3,
        ] {
            let mut t = sealed.clone();
            t[i] ^= 0x01;
            cases.push(("a flipped byte", t));
        }
        let other = seal_all(&key, id, &data, 10_000);
        cases.push((
            "a chunk from another stream of the same file",
            join(&[b[0], blocks(&other)[1], b[2], b[3]]),
        ));
        for (what, t) in cases {
            let r = open_all(&key, id, &place(1), &t, 50_000);
            assert!(r.is_err(), "{what} went unnoticed");
        }
        assert_eq!(
            open_all(&key, id, &place(2), &sealed, 50_000),
            Err(CryptoError::Tampered),
            "moved to another row"
        );
        assert!(matches!(
            open_all(&key, KeyId::now_v7(), &place(1), &sealed, 50_000),
            Err(CryptoError::WrongKey { .. })
        ));
        let wrong = SecretKey::generate().unwrap();
        assert_eq!(
            open_all(&wrong, id, &place(1), &sealed, 50_000),
            Err(CryptoError::Tampered)
        );
    }

    #[test]
    fn enc_01_a_stream_header_is_not_a_value_header_and_vice_versa() {
        let key = SecretKey::generate().unwrap();
        let id = KeyId::now_v7();
        let value = crate::seal(&key, id, 1, &place(1), &plaintext(100)).unwrap();
        assert_eq!(stream_header(&value), Err(CryptoError::UnknownFormat));
        let stream = seal_all(&key, id, &plaintext(100), 100);
        assert_eq!(
            crate::open(&key, id, 1, &place(1), &stream),
            Err(CryptoError::UnknownFormat)
        );
        assert_eq!(
            stream_header(&stream[..10]),
            Err(CryptoError::Truncated(10))
        );
    }
}
