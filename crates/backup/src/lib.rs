//! Backups of an Ideaweave instance (BAK-01…BAK-05, ENC-04).
//!
//! A backup is one object, `ideaweave-<UTC time>-<id>.age`: a tar archive encrypted in the age
//! format to the operator's X25519 recipients (so `age -d -i identity.txt` opens it) and to this
//! instance's own backup identity (so the instance can verify it without the operator's key).
//! Inside, in order: `backup.json` (what it is), the database (SQLite: a `VACUUM INTO` copy;
//! PostgreSQL: every table's rows as JSON lines, read in one snapshot), the stored files, the
//! configuration without secrets, and `digest.json` last (the content digest and the SHA-256 of
//! every entry). Every backup is verified by restoring it into a scratch location; a backup is
//! counted as good only when that trial restore reproduced its content digest.

mod archive;
mod error;
mod ledger_copy;
mod monitor;
mod restore;
mod retention;
mod settings;
mod take;
mod targets;
mod verify;

pub use archive::{BACKUP_FORMAT, Manifest, Trailer};
pub use error::{BackupError, BackupResult};
pub use ledger_copy::{LEDGER_COPY, LedgerSync, sync_shred_ledger};
pub use monitor::check_missing;
pub use restore::{LedgerGuard, RestorePlan, RestoreScope, restore};
pub use retention::{Retention, select_expired};
pub use settings::{BackupSettings, Schedule, TargetSpec, instance_identity, parse_recipient};
pub use take::{BackupReport, Backups, holder_is_dead, this_holder};
pub use targets::{BackupListing, Targets};
pub use verify::Verification;
