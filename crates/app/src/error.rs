//! The errors a use case can end in. The web layer maps each variant to one HTTP status, in one
//! place; the CLI prints the message.

use ideaweave_domain::ValidationError;
use ideaweave_domain::policy::Denial;
use ideaweave_store::{FileStoreError, StoreError};

/// Why a use case did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid credential was presented.
    #[error("sign in or present a valid API token")]
    Unauthenticated,
    /// The thing does not exist, or the caller must not learn that it does. The message is the
    /// same in both cases, whatever the kind named here (kept for the code, not shown), so a
    /// hidden resource cannot be told from a missing one.
    #[error("not found: it does not exist, or you cannot see it")]
    NotFound(&'static str),
    /// The caller may see the thing but not do this.
    #[error("{0}")]
    Forbidden(String),
    /// An input was refused.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The request body could not be read as what it claims to be (a broken multipart body).
    #[error("{0}")]
    Malformed(String),
    /// An upload is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// An upload is of a type that is not accepted.
    #[error("{0}")]
    UnsupportedType(String),
    /// Too many failed attempts from this client or at this account: wait, then try again
    /// (IDN-04). The same for addresses with and without an account.
    #[error("too many failed attempts; try again in {}", wait_words(*retry_after_secs))]
    TooManyAttempts {
        /// Seconds until the next attempt is considered.
        retry_after_secs: u64,
    },
    /// The action is sensitive and the session last proved who its person is too long ago:
    /// re-authenticate (`POST /session/reauth`), then repeat it.
    #[error("confirm it is you: re-enter your password (and second factor) to do this")]
    ReauthenticationRequired,
    /// The workspace (or the operator role) asks for a stronger sign-in than this session's.
    #[error("{0}")]
    StrongerSignInRequired(String),
    /// Something failed that the caller cannot fix; details go to the log, not the caller.
    #[error("internal error")]
    Internal(String),
    /// Stored data failed its integrity check: a sealed value was altered, truncated, moved to
    /// another place or labelled with the wrong key. Nothing of it is returned; details go to
    /// the log.
    #[error("stored data failed its integrity check; nothing of it is shown")]
    Integrity(String),
}

/// "42 seconds", "3 minutes", "1 hour": when to come back, in words.
fn wait_words(secs: u64) -> String {
    let (n, unit) = match secs {
        0..=90 => (secs.max(1), "second"),
        91..=5399 => (secs.div_ceil(60), "minute"),
        _ => (secs.div_ceil(3600), "hour"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Result of a use case.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// An internal failure with a description for the log.
    pub fn internal(msg: impl Into<String>) -> Self {
        AppError::Internal(msg.into())
    }

    /// A refused input.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(ValidationError::new(field, message))
    }
}

impl From<Denial> for AppError {
    fn from(d: Denial) -> Self {
        match d {
            Denial::Hidden => AppError::NotFound("resource"),
            Denial::Forbidden(why) => AppError::Forbidden(why.to_owned()),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => {
                AppError::Conflict("an entry with the same name or address already exists".into())
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<FileStoreError> for AppError {
    fn from(e: FileStoreError) -> Self {
        AppError::Internal(e.to_string())
    }
}
