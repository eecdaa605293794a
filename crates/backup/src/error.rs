//! What can go wrong with a backup, in words an operator can act on.

/// A backup, verification or restore failure.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The settings are incomplete or contradict each other.
    #[error("backup configuration: {0}")]
    Config(String),
    /// Backups are not configured on this instance.
    #[error(
        "backups are not configured: set backup.recipients (age public keys) and backup.targets"
    )]
    NotConfigured,
    /// Another node (or process) is taking a backup.
    #[error("another backup is running (started {0}); try again when it has finished")]
    Busy(String),
    /// The named backup does not exist in any target.
    #[error("no backup named {0} in {1}")]
    Missing(String, String),
    /// The object is not an age file, or not one this identity opens.
    #[error("{0}")]
    Decrypt(String),
    /// The object is damaged: a changed byte, a cut-off end, an entry that does not match.
    #[error("the backup is damaged: {0}")]
    Corrupt(String),
    /// Made by a program this one cannot restore.
    #[error("{0}")]
    Incompatible(String),
    /// The trial restore did not reproduce what was backed up.
    #[error("verification failed: {0}")]
    Verification(String),
    /// A target could not be reached or refused an operation.
    #[error("backup target {target}: {message}")]
    Target {
        /// Which target.
        target: String,
        /// What happened.
        message: String,
    },
    /// A restore was refused.
    #[error("{0}")]
    Refused(String),
    /// Reading or writing a local file.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The database.
    #[error("database: {0}")]
    Store(#[from] ideaweave_store::StoreError),
    /// The application (keys, audit log).
    #[error("{0}")]
    App(#[from] ideaweave_app::AppError),
}

/// Results of backups.
pub type BackupResult<T> = Result<T, BackupError>;

impl BackupError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }
}
