//! The errors a use case can end in. The web layer maps each variant to one HTTP status, in one
//! place; the CLI prints the message.
//!
//! An internal failure keeps what caused it: [`Internal`] holds what was being done, where in the
//! code, and the underlying error as its `source`, so the log line of a 500 shows the whole chain
//! (`what (at file:line): caused by …`) while the caller learns nothing of it.

use std::borrow::Cow;
use std::fmt;
use std::panic::Location;

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
    Internal(#[source] Internal),
    /// A service the request needs (the object storage of files) cannot be reached or refused
    /// for now, after its retries: nothing was stored or changed, and the same request may
    /// succeed later. Details go to the log.
    #[error("file storage cannot be reached right now; nothing was saved, try again in a minute")]
    Unavailable(#[source] Internal),
    /// Stored data failed its integrity check: a sealed value was altered, truncated, moved to
    /// another place or labelled with the wrong key. Nothing of it is returned; details go to
    /// the log.
    #[error("stored data failed its integrity check; nothing of it is shown")]
    Integrity(String),
}

/// The unit a wait is told in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitUnit {
    Second,
    Minute,
    Hour,
}

/// A wait as people are told it: a whole number of seconds up to a minute and a half, then of
/// minutes, then of hours, always rounded up so that trying again then is not too early.
pub fn rounded_wait(secs: u64) -> (u64, WaitUnit) {
    match secs {
        0..=90 => (secs.max(1), WaitUnit::Second),
        91..=5399 => (secs.div_ceil(60), WaitUnit::Minute),
        _ => (secs.div_ceil(3600), WaitUnit::Hour),
    }
}

/// "42 seconds", "3 minutes", "1 hour": when to come back, in words.
fn wait_words(secs: u64) -> String {
    let (n, unit) = rounded_wait(secs);
    let unit = match unit {
        WaitUnit::Second => "second",
        WaitUnit::Minute => "minute",
        WaitUnit::Hour => "hour",
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Result of a use case.
pub type AppResult<T> = Result<T, AppError>;

/// The underlying error of an internal failure.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An internal failure: what was being done, where, and the error that caused it (if any).
#[derive(Debug)]
pub struct Internal {
    what: Cow<'static, str>,
    at: &'static Location<'static>,
    cause: Option<Cause>,
}

impl Internal {
    /// What was being done when it failed.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// Where in the code the failure was noticed.
    pub fn location(&self) -> &'static Location<'static> {
        self.at
    }
}

impl fmt::Display for Internal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (at {}:{})",
            self.what,
            self.at.file(),
            self.at.line()
        )
    }
}

impl std::error::Error for Internal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

/// Turns any failure into an internal error that keeps it as its cause:
/// `read().or_internal("reading the manifest")?`.
pub trait OrInternal<T> {
    /// The error becomes the cause of an internal error saying what was being done.
    fn or_internal(self, what: &'static str) -> AppResult<T>;
}

impl<T, E: Into<Cause>> OrInternal<T> for Result<T, E> {
    #[track_caller]
    fn or_internal(self, what: &'static str) -> AppResult<T> {
        match self {
            Ok(v) => Ok(v),
            Err(e) => Err(AppError::internal_from(what, e)),
        }
    }
}

impl AppError {
    /// An internal failure without an underlying error (a broken invariant), with what was
    /// being done; the caller's location is kept for the log.
    #[track_caller]
    pub fn internal(what: impl Into<Cow<'static, str>>) -> Self {
        AppError::Internal(Internal {
            what: what.into(),
            at: Location::caller(),
            cause: None,
        })
    }

    /// An internal failure caused by `cause`, which is kept as its source.
    #[track_caller]
    pub fn internal_from(what: impl Into<Cow<'static, str>>, cause: impl Into<Cause>) -> Self {
        AppError::Internal(Internal {
            what: what.into(),
            at: Location::caller(),
            cause: Some(cause.into()),
        })
    }

    /// The message followed by every cause, for the log: `internal error: reading x (at
    /// file:line): caused by: …`.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut shown = String::new();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            let text = e.to_string();
            // Many errors repeat their source in their own message: say each thing once.
            if !shown.contains(&text) {
                out.push_str(if shown.is_empty() {
                    ": "
                } else {
                    ": caused by: "
                });
                out.push_str(&text);
                shown = text;
            }
            next = e.source();
        }
        out
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
    #[track_caller]
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => {
                AppError::Conflict("an entry with the same name or address already exists".into())
            }
            other => AppError::internal_from("storage", other),
        }
    }
}

impl From<FileStoreError> for AppError {
    #[track_caller]
    fn from(e: FileStoreError) -> Self {
        match e {
            FileStoreError::Remote { .. } => AppError::Unavailable(Internal {
                what: "file storage".into(),
                at: Location::caller(),
                cause: Some(e.into()),
            }),
            other => AppError::internal_from("file storage", other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failure: {0}")]
    struct Outer(#[source] std::io::Error);

    fn storage_step() -> AppResult<()> {
        Err(StoreError::Corrupt("a role nobody knows".into()))?;
        Ok(())
    }
    /// The line of the `?` above.
    const STORAGE_STEP_LINE: u32 = line!() - 4;

    #[test]
    fn an_internal_error_keeps_its_cause_and_where_it_was_noticed() {
        let e = AppError::internal_from(
            "reading the manifest",
            Outer(std::io::Error::other("disk on fire")),
        );
        let chain = e.chain();
        assert!(
            chain.starts_with("internal error: reading the manifest (at crates/app/src/error.rs:"),
            "{chain}"
        );
        assert!(
            chain.contains(": caused by: outer failure: disk on fire"),
            "{chain}"
        );
        assert_eq!(
            chain.matches("disk on fire").count(),
            1,
            "a cause repeated in its wrapper's message is said once: {chain}"
        );
        assert_eq!(e.to_string(), "internal error", "callers see nothing of it");
    }

    #[test]
    fn a_storage_error_passed_on_with_a_question_mark_names_that_line() {
        let Err(AppError::Internal(internal)) = storage_step() else {
            panic!("a storage failure is internal");
        };
        assert_eq!(internal.location().file(), "crates/app/src/error.rs");
        assert_eq!(internal.location().line(), STORAGE_STEP_LINE);
        let source = std::error::Error::source(&internal).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("stored data is inconsistent: a role nobody knows")
        );
    }
}
