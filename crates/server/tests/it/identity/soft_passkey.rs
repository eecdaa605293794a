//! A software passkey for the WebAuthn ceremonies in these tests: one P-256 key, "none"
//! attestation, user verification claimed. The browser walk uses Chromium's virtual
//! authenticator; this one lets the tests on both databases finish ceremonies too, and forge
//! exactly the parts an attacker controls (signature, counter, origin).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One authenticator holding one credential.
pub struct SoftPasskey {
    key: PKey<Private>,
    x: Vec<u8>,
    y: Vec<u8>,
    /// The credential's id, as the server stores it.
    pub credential_id: Vec<u8>,
    user_handle: Vec<u8>,
    counter: u32,
    origin: String,
}

/// User present, user verified.
const UP_UV: u8 = 0x01 | 0x04;
/// Attested credential data follows.
const AT: u8 = 0x40;

impl SoftPasskey {
    /// A new authenticator for pages at `origin` (e.g. `http://localhost:8080`).
    pub fn new(origin: &str) -> Self {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let ec = EcKey::generate(&group).unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let (mut x, mut y) = (BigNum::new().unwrap(), BigNum::new().unwrap());
        ec.public_key()
            .affine_coordinates(&group, &mut x, &mut y, &mut ctx)
            .unwrap();
        Self {
            key: PKey::from_ec_key(ec).unwrap(),
            x: x.to_vec_padded(32).unwrap(),
            y: y.to_vec_padded(32).unwrap(),
            credential_id: uuid::Uuid::new_v4().as_bytes().to_vec(),
            user_handle: Vec::new(),
            counter: 0,
            origin: origin.to_owned(),
        }
    }

    fn client_data(&self, kind: &str, challenge: &Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge.as_str().expect("a challenge"),
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    /// The answer of `navigator.credentials.create()` to the server's `publicKey` options, as
    /// `PublicKeyCredential.toJSON()`.
    pub fn register(&mut self, public_key: &Value) -> Value {
        let rp_id = public_key["rp"]["id"].as_str().expect("rp.id");
        self.user_handle = B64
            .decode(public_key["user"]["id"].as_str().expect("user.id"))
            .unwrap();
        let client_data = self.client_data("webauthn.create", &public_key["challenge"]);
        let mut auth = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth.push(UP_UV | AT);
        auth.extend_from_slice(&self.counter.to_be_bytes());
        auth.extend_from_slice(&[0; 16]); // AAGUID
        auth.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        auth.extend_from_slice(&self.credential_id);
        // COSE key: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
        auth.extend_from_slice(&[0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]);
        cbor_bytes(&mut auth, &self.x);
        auth.push(0x22);
        cbor_bytes(&mut auth, &self.y);
        // {"fmt": "none", "attStmt": {}, "authData": auth}
        let mut attestation = vec![0xa3];
        cbor_text(&mut attestation, "fmt");
        cbor_text(&mut attestation, "none");
        cbor_text(&mut attestation, "attStmt");
        attestation.push(0xa0);
        cbor_text(&mut attestation, "authData");
        cbor_bytes(&mut attestation, &auth);
        json!({
            "id": B64.encode(&self.credential_id),
            "rawId": B64.encode(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": B64.encode(attestation),
                "clientDataJSON": B64.encode(client_data),
            },
            "extensions": {},
        })
    }

    /// The answer of `navigator.credentials.get()` to the server's `publicKey` options, as
    /// `PublicKeyCredential.toJSON()`; the counter goes up by one.
    pub fn assert(&mut self, public_key: &Value) -> Value {
        self.counter += 1;
        let rp_id = public_key["rpId"].as_str().expect("rpId");
        let client_data = self.client_data("webauthn.get", &public_key["challenge"]);
        let mut auth = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth.push(UP_UV);
        auth.extend_from_slice(&self.counter.to_be_bytes());
        let mut signer = Signer::new(MessageDigest::sha256(), &self.key).unwrap();
        signer.update(&auth).unwrap();
        signer.update(&Sha256::digest(&client_data)).unwrap();
        let signature = signer.sign_to_vec().unwrap();
        json!({
            "id": B64.encode(&self.credential_id),
            "rawId": B64.encode(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(auth),
                "clientDataJSON": B64.encode(client_data),
                "signature": B64.encode(signature),
                "userHandle": B64.encode(&self.user_handle),
            },
            "extensions": {},
        })
    }
}

fn cbor_head(out: &mut Vec<u8>, major: u8, len: usize) {
    match len {
        0..=23 => out.push(major | len as u8),
        24..=255 => out.extend_from_slice(&[major | 24, len as u8]),
        _ => {
            out.push(major | 25);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
    }
}

fn cbor_bytes(out: &mut Vec<u8>, b: &[u8]) {
    cbor_head(out, 0x40, b.len());
    out.extend_from_slice(b);
}

fn cbor_text(out: &mut Vec<u8>, s: &str) {
    cbor_head(out, 0x60, s.len());
    out.extend_from_slice(s.as_bytes());
}
