//! Erasure (DSR-03, GDPR Art. 17): what becomes of a person's contributions when they are
//! erased from a workspace.
//!
//! The workspace (the controller) decides, per erasure: under [`ErasureMode::Anonymise`] their
//! ideas, comments, votes, ratings and links stay, attributed to a "former member" who is
//! nobody, while every personal field and every file they uploaded goes; under
//! [`ErasureMode::Purge`] their contributions go too. Either way their membership, tokens,
//! sessions, waiting notifications and data key are destroyed, and only a pseudonymous audit
//! event remains.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How an erasure treats the person's contributions.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ErasureMode {
    /// Contributions stay, attributed to a former member; personal fields and files go (the
    /// default: discussions stay readable).
    #[default]
    Anonymise,
    /// Contributions go too: ideas (with the threads under them), comments (replies move up),
    /// votes, ratings, files and links.
    Purge,
}

impl ErasureMode {
    /// Every mode.
    pub const ALL: [ErasureMode; 2] = [ErasureMode::Anonymise, ErasureMode::Purge];

    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureMode::Anonymise => "anonymise",
            ErasureMode::Purge => "purge",
        }
    }
}

impl fmt::Display for ErasureMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErasureMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("unknown erasure mode {s:?}: expected anonymise or purge"))
    }
}

/// What an erased person's contributions are shown as.
pub const FORMER_MEMBER: &str = "Former member";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsr_03_modes_round_trip_and_unknown_modes_are_refused() {
        for m in ErasureMode::ALL {
            assert_eq!(m.as_str().parse::<ErasureMode>(), Ok(m));
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
        assert!("delete".parse::<ErasureMode>().is_err());
        assert!(serde_json::from_str::<ErasureMode>("\"anonymize\"").is_err());
        assert_eq!(ErasureMode::default(), ErasureMode::Anonymise);
    }
}
