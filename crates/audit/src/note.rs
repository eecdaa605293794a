//! Checkpoints in the C2SP `tlog-checkpoint` format, signed as C2SP `signed-note`s with
//! Ed25519, so that existing transparency-log tooling and witnesses can read them.
//!
//! ```text
//! <origin>
//! <tree size>
//! <base64 root hash>
//!
//! — <key name> <base64(key hash (4) ‖ Ed25519 signature (64))>
//! ```
//!
//! The key hash is the first four bytes of SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key); a
//! verifier key is written `<name>+<hex key hash>+<base64(0x01 ‖ public key)>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::AuditError;
use crate::merkle::Hash;

const ALG_ED25519: u8 = 1;
const DASH: &str = "\u{2014} ";

/// What a checkpoint states: the log called `origin` had `size` entries with root `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name, unique to this instance.
    pub origin: String,
    /// How many entries.
    pub size: u64,
    /// The Merkle root over them.
    pub root: Hash,
}

impl Checkpoint {
    /// The note body that is signed.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    fn parse_body(body: &str) -> Result<Self, AuditError> {
        let bad = |why: &str| AuditError::Malformed(format!("not a checkpoint: {why}"));
        let mut lines = body
            .strip_suffix('\n')
            .ok_or_else(|| bad("no final newline"))?
            .split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("no origin"))?;
        let size_text = lines.next().ok_or_else(|| bad("no tree size"))?;
        let size: u64 = size_text
            .parse()
            .ok()
            .filter(|_| size_text == "0" || !size_text.starts_with('0'))
            .ok_or_else(|| bad("the tree size is not a decimal number"))?;
        let root: Hash = lines
            .next()
            .and_then(|r| B64.decode(r).ok())
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("the root is not a base64 SHA-256 hash"))?;
        // Extension lines may follow; this log writes none and reads past them.
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

/// The key that signs checkpoints. Its secret is held by the instance (wrapped by the master
/// key); only the [`VerifierKey`] is ever shown.
pub struct CheckpointSigner {
    name: String,
    key: SigningKey,
}

impl CheckpointSigner {
    /// A signer called `name` (the log's origin) from a 32-byte secret seed.
    pub fn new(name: &str, seed: &[u8; 32]) -> Result<Self, AuditError> {
        if name.is_empty() || name.contains(['\n', ' ', '+']) {
            return Err(AuditError::Malformed(format!(
                "a key name must be non-empty without spaces, newlines or '+': {name:?}"
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(seed),
        })
    }

    /// The public half, for verifiers.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// Signs a checkpoint; returns the whole signed note.
    pub fn sign(&self, c: &Checkpoint) -> String {
        self.sign_body(&c.body())
    }

    /// Signs another statement of the instance (a deletion certificate) as a signed note with
    /// the same key. `body` is one or more non-empty lines, each ending in a newline; its first
    /// line names what it is, so that it can never be read as a checkpoint (whose first line is
    /// the log's origin).
    pub fn sign_statement(&self, body: &str) -> Result<String, AuditError> {
        if !body.ends_with('\n') || body.contains("\n\n") || body.starts_with(&self.name) {
            return Err(AuditError::Malformed(
                "a statement is non-empty lines ending in a newline, not a checkpoint".into(),
            ));
        }
        Ok(self.sign_body(body))
    }

    fn sign_body(&self, body: &str) -> String {
        let sig = self.key.sign(body.as_bytes());
        let mut blob = key_hash(&self.name, &self.key.verifying_key()).to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        format!("{body}\n{DASH}{} {}\n", self.name, B64.encode(blob))
    }
}

fn key_hash(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// A checkpoint verifier key, in the signed-note text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Reads `<name>+<hex key hash>+<base64(0x01 ‖ public key)>`.
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        let bad = |why: &str| AuditError::Malformed(format!("not a verifier key: {why}"));
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+hash+key"));
        };
        let raw = B64.decode(key).map_err(|_| bad("the key is not base64"))?;
        let (alg, pk) = raw.split_first().ok_or_else(|| bad("empty key"))?;
        if *alg != ALG_ED25519 {
            return Err(bad("only Ed25519 keys are supported"));
        }
        let pk: [u8; 32] = pk
            .try_into()
            .map_err(|_| bad("an Ed25519 key is 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&pk).map_err(|_| bad("not a valid Ed25519 key"))?;
        if name.is_empty() || hex::encode(key_hash(name, &key)) != hash {
            return Err(bad("the key hash does not match the name and key"));
        }
        Ok(Self {
            name: name.to_owned(),
            key,
        })
    }

    /// The key's name (the log's origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks a signed note and returns the checkpoint it states. The note must carry a valid
    /// signature by this key and state this key's origin.
    pub fn verify(&self, note: &str) -> Result<Checkpoint, AuditError> {
        let body = self.verify_statement(note)?;
        let c = Checkpoint::parse_body(&body)?;
        if c.origin != self.name {
            return Err(AuditError::Malformed(format!(
                "the checkpoint is for log {:?}, not {:?}",
                c.origin, self.name
            )));
        }
        Ok(c)
    }

    /// Checks a signed note made by [`CheckpointSigner::sign_statement`] (or a checkpoint) and
    /// returns its body, the signed text.
    pub fn verify_statement(&self, note: &str) -> Result<String, AuditError> {
        let (body, sigs) = note
            .split_once("\n\n")
            .ok_or_else(|| AuditError::Malformed("a signed note needs a blank line".into()))?;
        let body = format!("{body}\n");
        let want = key_hash(&self.name, &self.key);
        let mut found = false;
        for line in sigs.lines().filter(|l| !l.is_empty()) {
            let rest = line.strip_prefix(DASH).ok_or_else(|| {
                AuditError::Malformed("a signature line must start with —".into())
            })?;
            let (name, blob) = rest
                .split_once(' ')
                .ok_or_else(|| AuditError::Malformed("a signature line needs a name".into()))?;
            let Ok(blob) = B64.decode(blob) else {
                return Err(AuditError::Malformed("a signature is not base64".into()));
            };
            if name != self.name || blob.len() != 68 || blob[..4] != want {
                continue;
            }
            let sig = Signature::from_slice(&blob[4..]).map_err(|_| AuditError::BadSignature)?;
            self.key
                .verify_strict(body.as_bytes(), &sig)
                .map_err(|_| AuditError::BadSignature)?;
            found = true;
        }
        if !found {
            return Err(AuditError::BadSignature);
        }
        Ok(body)
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex::encode(key_hash(&self.name, &self.key)),
            B64.encode(raw)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> CheckpointSigner {
        CheckpointSigner::new("example.org/audit", &[7u8; 32]).unwrap()
    }

    fn cp(size: u64) -> Checkpoint {
        Checkpoint {
            origin: "example.org/audit".into(),
            size,
            root: [size as u8; 32],
        }
    }

    #[test]
    fn aud_02_signed_checkpoints_round_trip_and_keys_print_and_parse() {
        let s = signer();
        let note = s.sign(&cp(42));
        assert!(note.starts_with("example.org/audit\n42\n"));
        assert!(note.contains("\n\n\u{2014} example.org/audit "));
        let vk = VerifierKey::parse(&s.verifier().to_string()).unwrap();
        assert_eq!(vk, s.verifier());
        assert_eq!(vk.verify(&note).unwrap(), cp(42));
    }

    #[test]
    fn aud_02_altered_or_foreign_checkpoints_are_refused() {
        let s = signer();
        let vk = s.verifier();
        let note = s.sign(&cp(42));
        let other = CheckpointSigner::new("example.org/audit", &[8u8; 32]).unwrap();
        let renamed = CheckpointSigner::new("evil.org/audit", &[7u8; 32]).unwrap();
        let mut flipped_sig = note.clone().into_bytes();
        let n = flipped_sig.len();
        flipped_sig[n - 5] = if flipped_sig[n - 5] == b'A' {
            b'B'
        } else {
            b'A'
        };
        for (what, bad) in [
            ("size changed", note.replacen("\n42\n", "\n43\n", 1)),
            (
                "origin changed",
                note.replacen("example.org/audit\n", "example.org/audix\n", 1),
            ),
            ("signed by another key", other.sign(&cp(42))),
            (
                "another log's name",
                renamed.sign(&Checkpoint {
                    origin: "evil.org/audit".into(),
                    ..cp(42)
                }),
            ),
            ("signature altered", String::from_utf8(flipped_sig).unwrap()),
            (
                "no signature",
                note.split("\n\n").next().unwrap().to_owned() + "\n\n",
            ),
            ("no blank line", note.replace("\n\n", "\n")),
            ("empty", String::new()),
        ] {
            assert!(vk.verify(&bad).is_err(), "{what} was accepted");
        }
        for bad in [
            "",
            "a+b",
            "a+00000000+AQ==",
            &vk.to_string().replacen("+", "x+", 1),
        ] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad}");
        }
        assert!(CheckpointSigner::new("has space", &[1; 32]).is_err());
    }

    #[test]
    fn checkpoint_bodies_are_strict() {
        for bad in [
            "o\n01\nAAAA\n",
            "o\n-1\n",
            "\n1\n",
            "o\n1\nnot-base64\n",
            "o\n1\n",
        ] {
            assert!(Checkpoint::parse_body(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lif_02_statements_are_signed_by_the_same_key_and_never_pass_as_checkpoints() {
        let s = signer();
        let vk = s.verifier();
        let body = "ideaweave.deletion-certificate/1\n{\"workspace\":\"w\"}\n";
        let note = s.sign_statement(body).unwrap();
        assert_eq!(vk.verify_statement(&note).unwrap(), body);
        assert!(vk.verify(&note).is_err(), "a statement is no checkpoint");
        let altered = note.replace("\"w\"", "\"x\"");
        assert!(vk.verify_statement(&altered).is_err());
        let other = CheckpointSigner::new("example.org/audit", &[8u8; 32]).unwrap();
        assert!(other.verifier().verify_statement(&note).is_err());
        for bad in ["no newline", "a\n\nb\n", "example.org/audit\n1\nAAAA\n"] {
            assert!(s.sign_statement(bad).is_err(), "{bad:?}");
        }
    }
}
