//! Random secrets and how they are stored.
//!
//! Session cookies, API tokens and invitation links are bearer secrets: whoever holds one acts
//! with it. They are 256 bits of randomness, shown once, and only their SHA-256 is stored, so a
//! copy of the database cannot be used to sign in. Tokens and invitations also carry their
//! workspace id in clear, so the lookup is by (workspace, hash) and stays within one shard;
//! password reset links belong to an account, not a workspace, and carry only a prefix.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ideaweave_domain::WorkspaceId;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AppResult;
use crate::OrInternal;

/// 32 random bytes, URL-safe base64.
pub fn random_secret() -> AppResult<String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).or_internal("no randomness")?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Whether `s` has the form of [`random_secret`]'s output: 43 URL-safe base64 characters.
fn is_secret(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An instance-level secret: `<prefix>_<secret>`, and the hash to store.
pub fn prefixed_secret(prefix: &str) -> AppResult<(String, Vec<u8>)> {
    let secret = random_secret()?;
    let hash = hash_secret(&secret);
    Ok((format!("{prefix}_{secret}"), hash))
}

/// The hash to look up for an instance-level secret; `None` when it is not of that form.
pub fn parse_prefixed_secret(prefix: &str, token: &str) -> Option<Vec<u8>> {
    let secret = token.strip_prefix(prefix)?.strip_prefix('_')?;
    is_secret(secret).then(|| hash_secret(secret))
}

/// A workspace-bound secret: `<prefix>_<workspace id as 32 hex digits>_<secret>`.
pub fn workspace_secret(prefix: &str, ws: WorkspaceId) -> AppResult<(String, Vec<u8>)> {
    let secret = random_secret()?;
    let hash = hash_secret(&secret);
    Ok((format!("{prefix}_{}_{secret}", ws.0.simple()), hash))
}

/// Splits a workspace-bound secret into its workspace and the hash to look up; `None` when it is
/// not of that form.
pub fn parse_workspace_secret(prefix: &str, token: &str) -> Option<(WorkspaceId, Vec<u8>)> {
    let rest = token.strip_prefix(prefix)?.strip_prefix('_')?;
    if rest.len() < 34 || !rest.is_char_boundary(32) {
        return None;
    }
    let (hex, tail) = rest.split_at(32);
    let secret = tail.strip_prefix('_')?;
    if !is_secret(secret) {
        return None;
    }
    let id = Uuid::try_parse(hex).ok()?;
    Some((WorkspaceId(id), hash_secret(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_secrets_round_trip_and_reject_junk() {
        let ws = WorkspaceId::new();
        let (token, hash) = workspace_secret("iw", ws).unwrap();
        assert_eq!(parse_workspace_secret("iw", &token), Some((ws, hash)));
        assert!(parse_workspace_secret("iwi", &token).is_none());
        for bad in [
            "",
            "iw_",
            "iw_zz",
            &token[..token.len() - 1],
            &format!("{token}x"),
            "iw_ééééééééééééééééééééééééééééééééééé",
        ] {
            assert!(parse_workspace_secret("iw", bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn prefixed_secrets_round_trip_and_reject_junk() {
        let (token, hash) = prefixed_secret("iwr").unwrap();
        assert_eq!(parse_prefixed_secret("iwr", &token), Some(hash));
        assert!(parse_prefixed_secret("iw", &token).is_none());
        let long = format!("{token}{}", "x".repeat(10_000));
        for bad in [
            "",
            "iwr",
            "iwr_",
            &token[..token.len() - 1],
            &format!("{token}x"),
            &token.replace('_', "."),
            "iwr_éééééééééééééééééééééé",
            &long,
        ] {
            assert!(parse_prefixed_secret("iwr", bad).is_none(), "{bad}");
        }
    }
}
