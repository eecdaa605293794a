//! Backup settings, validated before anything runs.

use std::path::PathBuf;
use std::str::FromStr;

use ideaweave_store::{S3Access, S3Location};

use crate::retention::Retention;
use crate::{BackupError, BackupResult};

/// Where backups go.
#[derive(Clone)]
pub enum TargetSpec {
    /// A local directory (another disk, a mounted share).
    Dir(PathBuf),
    /// A prefix in an S3-compatible bucket (the same kind of location as the file store's).
    S3(S3Location),
}

impl std::fmt::Debug for TargetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dir(p) => write!(f, "dir:{}", p.display()),
            Self::S3(location) => location.fmt(f),
        }
    }
}

impl TargetSpec {
    /// Parses `dir:/path` or `s3://bucket/prefix`; `s3` gives the access to S3 (from its own
    /// options), asked only for an `s3://` target.
    pub fn parse(s: &str, s3: impl FnOnce() -> BackupResult<S3Access>) -> BackupResult<Self> {
        if let Some(p) = s.strip_prefix("dir:") {
            let path = PathBuf::from(p);
            if !path.is_absolute() {
                return Err(BackupError::Config(format!(
                    "target {s:?}: the directory must be an absolute path"
                )));
            }
            return Ok(Self::Dir(path));
        }
        if s.starts_with("s3://") {
            let (bucket, prefix) = S3Location::parse_address(s)
                .map_err(|e| BackupError::Config(format!("target {s:?}: {e}")))?;
            return Ok(Self::S3(S3Location {
                bucket,
                prefix,
                access: s3()?,
            }));
        }
        Err(BackupError::Config(format!(
            "target {s:?} is neither dir:/absolute/path nor s3://bucket/prefix"
        )))
    }
}

/// When backups run: a cron expression (five fields, UTC).
#[derive(Clone)]
pub struct Schedule {
    cron: croner::Cron,
    pattern: String,
}

impl std::fmt::Debug for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Schedule({:?})", self.pattern)
    }
}

impl Schedule {
    /// The default: three times a day (04:00, 12:00 and 20:00 UTC).
    pub const DEFAULT: &'static str = "0 4,12,20 * * *";

    /// Parses a cron expression.
    pub fn parse(pattern: &str) -> BackupResult<Self> {
        let cron = croner::Cron::from_str(pattern).map_err(|e| {
            BackupError::Config(format!(
                "schedule {pattern:?} is not a cron expression (minute hour day month weekday): {e}"
            ))
        })?;
        let s = Self {
            cron,
            pattern: pattern.to_owned(),
        };
        if s.next_after(0).is_none() {
            return Err(BackupError::Config(format!(
                "schedule {pattern:?} never runs"
            )));
        }
        Ok(s)
    }

    /// The expression.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The first scheduled time after `ms` (Unix ms).
    pub fn next_after(&self, ms: i64) -> Option<i64> {
        let t = chrono::DateTime::from_timestamp_millis(ms)?;
        self.cron
            .find_next_occurrence(&t, false)
            .ok()
            .map(|n| n.timestamp_millis())
    }

    /// The last scheduled time at or before `ms`.
    pub fn previous_at_or_before(&self, ms: i64) -> Option<i64> {
        let t = chrono::DateTime::from_timestamp_millis(ms)?;
        self.cron
            .find_previous_occurrence(&t, true)
            .ok()
            .map(|n| n.timestamp_millis())
    }
}

/// Everything a backup needs to know.
#[derive(Clone)]
pub struct BackupSettings {
    /// The operator's recipients (age X25519 public keys): who can open backups offline.
    pub recipients: Vec<age::x25519::Recipient>,
    /// Where backups go; verification reads from the first.
    pub targets: Vec<TargetSpec>,
    /// When the server takes them.
    pub schedule: Schedule,
    /// What is kept.
    pub retention: Retention,
    /// How late a scheduled backup may be before the missing-backup alert.
    pub grace_ms: i64,
    /// A local directory for the copy being written and the trial restore.
    pub staging_dir: PathBuf,
    /// Writes backups no faster than this, so that a backup does not starve the server of
    /// disk bandwidth (`None`: as fast as possible).
    pub max_bytes_per_second: Option<u64>,
    /// A URL that receives every alert as a JSON POST.
    pub alert_webhook: Option<String>,
    /// Addresses that receive alerts besides the operator accounts.
    pub alert_emails: Vec<String>,
    /// The configuration in force without secrets, stored in each backup.
    pub config_text: String,
    /// The database URL (a PostgreSQL trial restore makes a scratch schema there).
    pub database_url: String,
}

impl std::fmt::Debug for BackupSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupSettings")
            .field("recipients", &self.recipients.len())
            .field("targets", &self.targets)
            .field("schedule", &self.schedule)
            .field("retention", &self.retention)
            .field("grace_ms", &self.grace_ms)
            .field("staging_dir", &self.staging_dir)
            .field("alert_webhook", &self.alert_webhook.is_some())
            .finish_non_exhaustive()
    }
}

/// Parses an age X25519 recipient (`age1…`).
pub fn parse_recipient(s: &str) -> BackupResult<age::x25519::Recipient> {
    age::x25519::Recipient::from_str(s.trim()).map_err(|e| {
        BackupError::Config(format!(
            "{:?} is not an age X25519 recipient (age1…, made by age-keygen): {e}",
            s.trim()
        ))
    })
}

/// This instance's backup identity, from its 32 secret bytes (see
/// `Keyring::backup_identity_seed`): the same bytes always give the same identity.
pub fn instance_identity(seed: &[u8; 32]) -> BackupResult<age::x25519::Identity> {
    let hrp = bech32::Hrp::parse("age-secret-key-")
        .map_err(|e| BackupError::Config(format!("identity: {e}")))?;
    let text = bech32::encode::<bech32::Bech32>(hrp, seed)
        .map_err(|e| BackupError::Config(format!("identity: {e}")))?
        .to_uppercase();
    age::x25519::Identity::from_str(&text)
        .map_err(|e| BackupError::Config(format!("identity: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bak_01_the_default_schedule_runs_three_times_a_day() {
        let s = Schedule::parse(Schedule::DEFAULT).unwrap();
        let day = 86_400_000i64;
        let start = 20_000 * day;
        let mut t = start;
        let mut runs = 0;
        while let Some(n) = s.next_after(t) {
            if n >= start + day {
                break;
            }
            runs += 1;
            t = n;
        }
        assert_eq!(runs, 3);
        assert_eq!(
            s.previous_at_or_before(start + 5 * 3_600_000),
            Some(start + 4 * 3_600_000)
        );
        assert!(Schedule::parse("every day").is_err());
        assert!(
            Schedule::parse("0 0 30 2 *").is_err(),
            "30 February never comes"
        );
    }

    #[test]
    fn bak_02_the_instance_identity_is_stable_and_opens_what_its_recipient_sealed() {
        let a = instance_identity(&[7; 32]).unwrap();
        let b = instance_identity(&[7; 32]).unwrap();
        assert_eq!(a.to_public().to_string(), b.to_public().to_string());
        assert_ne!(
            a.to_public().to_string(),
            instance_identity(&[8; 32]).unwrap().to_public().to_string()
        );
        assert!(parse_recipient(&a.to_public().to_string()).is_ok());
        let err = parse_recipient("age1nonsense").unwrap_err().to_string();
        assert!(err.contains("not an age X25519 recipient"), "{err}");
    }

    #[test]
    fn bak_03_targets_parse_or_say_what_is_accepted() {
        let none = || Err(BackupError::Config("no s3".into()));
        assert!(matches!(
            TargetSpec::parse("dir:/srv/backups", none).unwrap(),
            TargetSpec::Dir(d) if d == std::path::Path::new("/srv/backups")
        ));
        assert!(TargetSpec::parse("dir:relative", none).is_err());
        assert!(TargetSpec::parse("ftp://x", none).is_err());
        assert!(TargetSpec::parse("s3://Bad_Bucket/x", none).is_err());
        let t = TargetSpec::parse("s3://bucket/a/b/", || {
            Ok(S3Access {
                endpoint: None,
                region: "eu-west-1".into(),
                access_key_id: "id".into(),
                secret_access_key: "secret".into(),
                ca_file: None,
            })
        })
        .unwrap();
        assert_eq!(t.to_string(), "s3://bucket/a/b");
        assert!(!format!("{t:?}").contains("secret"));
    }
}
