//! Workspace roles and API token scopes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A member's role in a workspace, from most to least powerful.
///
/// The derived ordering runs from `Guest` (lowest) to `Owner` (highest), so "at least a moderator"
/// is `role >= Role::Moderator`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads what they are shown and comments; cannot post ideas, vote or rate.
    Guest,
    /// Posts ideas, comments, votes and rates.
    Member,
    /// Moderates content: stages, merges, deletion of others' content, discussions.
    Moderator,
    /// Manages members, invitations, spaces and workspace settings.
    Admin,
    /// Owns the workspace (the customer): everything an admin does, plus managing owners.
    Owner,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 5] = [
        Role::Guest,
        Role::Member,
        Role::Moderator,
        Role::Admin,
        Role::Owner,
    ];

    /// The role's name as used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Guest => "guest",
            Role::Member => "member",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role {s:?}: expected one of owner, admin, moderator, member, guest"
                )
            })
    }
}

/// What an API token may do: read only, or read and write. A token never exceeds its member's
/// role; the scope can only narrow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Only reading actions.
    Read,
    /// Everything the member's role allows.
    Write,
}

impl TokenScope {
    /// The scope's name as used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }
}

impl FromStr for TokenScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            _ => Err(format!("unknown scope {s:?}: expected read or write")),
        }
    }
}
