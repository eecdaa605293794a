//! What the identity use cases return and accept: accounts, sessions, API tokens, sign-in input.
//!
//! Plain, serialisable views with an OpenAPI schema each. Inputs refuse unknown fields so that a
//! misspelt field is an error, not a silent no-op.

use ideaweave_domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An account as shown to its owner.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub name: String,
}

/// A workspace the caller belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub slug: String,
    pub name: String,
    pub role: Role,
}

/// The caller's account and workspaces.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub user: UserView,
    pub workspaces: Vec<MembershipView>,
}

/// A signed-in session, as returned at sign-in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub user: UserView,
    /// Echo this in the `X-CSRF-Token` header of every state-changing request made with the
    /// session cookie.
    pub csrf_token: String,
}

/// An API token's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: TokenId,
    pub name: String,
    pub scope: TokenScope,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    /// The day (start, UTC, Unix ms) the token was last used; `null` if never.
    pub last_used_on: Option<i64>,
}

/// A freshly created token. The secret is shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: TokenView,
    /// Send as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    pub scope: TokenScope,
    /// Days until it expires; omit for a token that lasts until revoked.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

/// Changes to one's own account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    /// The name other members see.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
}

/// Sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    /// A six-digit code from the authenticator app, for an account with two-factor sign-in:
    /// signs in at once instead of answering with a challenge, and passes a block of the
    /// address that failed attempts set (the password must be right too).
    #[serde(default)]
    pub code: Option<String>,
    /// One of the account's recovery codes (used up by this), instead of `code`.
    #[serde(default)]
    pub recovery_code: Option<String>,
}

impl LoginInput {
    /// Email and password alone.
    pub fn password(email: &str, password: &str) -> Self {
        LoginInput {
            email: email.to_owned(),
            password: password.to_owned(),
            code: None,
            recovery_code: None,
        }
    }

    /// Whether a second factor came with the password.
    pub fn has_code(&self) -> bool {
        [&self.code, &self.recovery_code]
            .into_iter()
            .any(|c| c.as_deref().is_some_and(|c| !c.trim().is_empty()))
    }
}
