//! Random secrets and how they are stored.
//!
//! Session cookies, API tokens and invitation links are bearer secrets: whoever holds one acts
//! with it. They are 256 bits of randomness, shown once, and only their SHA-256 is stored, so a
//! copy of the database cannot be used to sign in. Tokens and invitations also carry their
//! workspace id in clear, so the lookup is by (workspace, hash) and stays within one shard.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ideaweave_domain::WorkspaceId;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{AppError, AppResult};

/// 32 random bytes, URL-safe base64.
pub fn random_secret() -> AppResult<String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| AppError::internal(format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
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
    if secret.len() != 43
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
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
}
