//! Configuration: a TOML file, then `IDEAWEAVE_…` environment variables, then command-line
//! flags, each overriding the one before. Everything is validated before the server starts; a
//! bad value stops the start with a message naming the option, where it came from, and what
//! would be accepted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ideaweave_backup::{BackupSettings, Retention, Schedule, TargetSpec, parse_recipient};
use serde::Deserialize;

/// A configuration problem, naming the option.
#[derive(Debug, thiserror::Error)]
#[error("configuration option `{option}` (environment variable {env}): {message}")]
pub struct ConfigError {
    /// The option, as written in the file (`database.url`).
    pub option: String,
    /// The environment variable that sets it.
    pub env: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn new(option: &str, message: impl Into<String>) -> Self {
        Self {
            option: option.to_owned(),
            env: env_name(option),
            message: message.into(),
        }
    }
}

/// `database.max_connections` → `IDEAWEAVE_DATABASE__MAX_CONNECTIONS`.
pub fn env_name(option: &str) -> String {
    format!("IDEAWEAVE_{}", option.replace('.', "__").to_uppercase())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    public_url: Option<String>,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    uploads: RawUploads,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    sessions: RawSessions,
    #[serde(default)]
    passwords: RawPasswords,
    #[serde(default)]
    sso: RawSso,
    #[serde(default)]
    invitations: RawTtl,
    #[serde(default)]
    retention: RawRetention,
    #[serde(default)]
    termination: RawTermination,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    keys: RawKeys,
    #[serde(default)]
    mail: RawMail,
    #[serde(default)]
    backup: RawBackup,
}

/// A list in the file (`["a", "b"]`) or a comma-separated string (the environment).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum List {
    One(String),
    Many(Vec<String>),
}

impl List {
    fn items(self) -> Vec<String> {
        let all = match self {
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        };
        all.iter()
            .flat_map(|s| s.split(','))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackup {
    recipients: Option<List>,
    targets: Option<List>,
    schedule: Option<String>,
    keep_within_days: Option<u64>,
    keep_daily: Option<u64>,
    keep_weekly: Option<u64>,
    grace_hours: Option<u64>,
    staging_dir: Option<PathBuf>,
    max_bytes_per_second: Option<u64>,
    alert_webhook: Option<String>,
    alert_emails: Option<List>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    s3_access_key_id: Option<String>,
    s3_secret_access_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    smtp_host: Option<String>,
    smtp_port: Option<u64>,
    smtp_tls: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    from: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    master_key_file: Option<PathBuf>,
    master_key_env: Option<String>,
    shred_ledger_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<String>,
    max_connections: Option<u32>,
    busy_timeout_seconds: Option<u32>,
    sqlite_synchronous: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUploads {
    dir: Option<PathBuf>,
    max_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    max_json_bytes: Option<u64>,
    max_connections: Option<u64>,
    max_connections_per_client: Option<u64>,
    header_timeout_seconds: Option<u64>,
    trusted_proxies: Option<List>,
    secure_cookies: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTtl {
    ttl_hours: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSessions {
    ttl_hours: Option<u64>,
    idle_minutes: Option<u64>,
    reauth_minutes: Option<u64>,
    geoip_database: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSso {
    allow_http_issuers: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPasswords {
    blocklist_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    instance_activity_days: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTermination {
    grace_days: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    filter: Option<String>,
}

/// Overrides from the command line.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// `--data-dir DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--listen ADDR`.
    pub listen: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the embedded database and files.
    pub data_dir: PathBuf,
    /// The URL people reach the instance at.
    pub public_url: String,
    /// Database URL (`sqlite://…` or `postgres://…`).
    pub database_url: String,
    /// Connection pool size.
    pub max_connections: u32,
    /// How long a statement waits for a locked SQLite database (another writer) before it
    /// fails; PostgreSQL waits on row locks without this limit.
    pub busy_timeout: Duration,
    /// When SQLite commits reach the disk (REL-01).
    pub sqlite_durability: ideaweave_store::SqliteDurability,
    /// Directory of uploaded files.
    pub uploads_dir: PathBuf,
    /// Largest upload.
    pub max_upload_bytes: usize,
    /// Largest JSON body.
    pub max_json_bytes: usize,
    /// The HTTP server's limits (SEC-01).
    pub http_limits: crate::HttpLimits,
    /// Whether cookies are `Secure`.
    pub secure_cookies: bool,
    /// Session lifetime (the absolute timeout).
    pub session_ttl: Duration,
    /// How long a session lasts unused (the idle timeout).
    pub session_idle: Duration,
    /// How long a re-authentication allows sensitive actions.
    pub reauth_window: Duration,
    /// What new passwords must be, with the operator's own refused passwords.
    pub password_policy: ideaweave_domain::PasswordPolicy,
    /// The GeoIP database for the places of session addresses, if the operator set one.
    pub geoip: Option<std::sync::Arc<ideaweave_app::GeoIpDatabase>>,
    /// Whether identity providers may be named at plain http:// (loopback tests only).
    pub sso_allow_http: bool,
    /// Invitation lifetime.
    pub invitation_ttl: Duration,
    /// Days that instance-level activity data (where sign-ins came from) is kept (LIF-03).
    pub instance_activity_days: u32,
    /// Days between a workspace's deletion request and its destruction (LIF-02).
    pub termination_grace_days: u32,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log_filter: String,
    /// Where the master key comes from.
    pub master_key: MasterKeySource,
    /// The shred ledger (ENC-04): outside the database and its backups.
    pub shred_ledger: PathBuf,
    /// Outgoing email; `None` when no SMTP server is configured (invitation links are then
    /// only shown to the inviter).
    pub mail: Option<MailConfig>,
    /// Backups (BAK-01…05); `None` when no recipients and targets are configured.
    pub backup: Option<BackupSettings>,
}

/// How email leaves the instance.
#[derive(Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The SMTP server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is secured.
    pub tls: SmtpTls,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, String)>,
    /// The sender, e.g. `Ideaweave <noreply@ideas.example.org>`.
    pub from: String,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (only for a relay on the same host or network).
    None,
    /// Upgraded with STARTTLS, refusing servers that cannot.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// Where the master key comes from (ENC-02): never from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// A key file readable by its owner only; created with a fresh key when missing and the
    /// database holds no keys yet.
    File(PathBuf),
    /// An environment variable holding `VERSION:HEX` entries.
    Env(String),
}

/// Every option with its default and meaning, for `ideaweave config` and the README.
pub const OPTIONS: &[(&str, &str, &str)] = &[
    ("listen", "127.0.0.1:8080", "address and port to listen on"),
    (
        "data_dir",
        "./ideaweave-data",
        "directory for the embedded SQLite database and uploaded files",
    ),
    (
        "public_url",
        "http://<listen>",
        "URL people reach this instance at (used in invitation links)",
    ),
    (
        "database.url",
        "sqlite://<data_dir>/ideaweave.db",
        "sqlite://PATH or postgres://USER@HOST:PORT/DB",
    ),
    (
        "database.max_connections",
        "8",
        "connection pool size (1-1000)",
    ),
    (
        "database.busy_timeout_seconds",
        "5",
        "how long an SQLite statement waits for another writer before failing (1-600)",
    ),
    (
        "database.sqlite_synchronous",
        "full",
        "full: every acknowledged SQLite commit is on disk (survives power loss); normal: faster writes, a power loss may lose the last commits",
    ),
    (
        "uploads.dir",
        "<data_dir>/files",
        "directory of uploaded files",
    ),
    (
        "uploads.max_bytes",
        "10485760",
        "largest accepted upload in bytes (1 KiB - 1 GiB)",
    ),
    (
        "http.max_json_bytes",
        "1048576",
        "largest accepted JSON request body in bytes (1 KiB - 64 MiB)",
    ),
    (
        "http.max_connections",
        "4096",
        "connections served at once; more wait until others close (16 - 1000000)",
    ),
    (
        "http.max_connections_per_client",
        "256",
        "connections one client address (an IPv6 /64) may hold at once; more are closed; trusted proxies are exempt (1 - 1000000)",
    ),
    (
        "http.header_timeout_seconds",
        "10",
        "seconds a connection may take to send a request's headers, or stay idle between requests (1 - 300)",
    ),
    (
        "http.trusted_proxies",
        "none",
        "addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For names the client; comma-separated in the variable",
    ),
    (
        "http.secure_cookies",
        "true when public_url is https",
        "mark cookies Secure (set true behind a TLS proxy)",
    ),
    (
        "sessions.ttl_hours",
        "336",
        "how long a sign-in lasts (1-8760)",
    ),
    (
        "sessions.idle_minutes",
        "720",
        "how long a session lasts unused before it ends (5-43200)",
    ),
    (
        "sessions.reauth_minutes",
        "10",
        "how long after confirming their password a person may export, erase, delete, mint tokens or change security settings (1-120)",
    ),
    (
        "sessions.geoip_database",
        "none",
        "a MaxMind DB (GeoLite2/GeoIP2 City or Country) to show roughly where each session's address is in the session list; without it no place is shown",
    ),
    (
        "sso.allow_http_issuers",
        "false",
        "let workspaces name identity providers at plain http:// (for loopback tests; never in production)",
    ),
    (
        "passwords.blocklist_file",
        "none",
        "a file of further passwords to refuse, one per line (added to the bundled list of 20,000 breached ones)",
    ),
    (
        "invitations.ttl_hours",
        "168",
        "how long an invitation link works (1-8760)",
    ),
    (
        "retention.instance_activity_days",
        "90",
        "days that where sign-ins and other instance events came from is kept (1-3650); workspaces set their own",
    ),
    (
        "termination.grace_days",
        "14",
        "days between an owner asking for a workspace's deletion and its destruction, in which any owner may cancel (1-90)",
    ),
    (
        "log.filter",
        "info",
        "log filter, e.g. info,ideaweave=debug (RUST_LOG wins when set)",
    ),
    (
        "keys.master_key_file",
        "<data_dir>/master.key",
        "master key file, mode 0600, VERSION:HEX lines",
    ),
    (
        "keys.master_key_env",
        "unset",
        "name of an environment variable holding the master key instead of the file",
    ),
    (
        "keys.shred_ledger_file",
        "<data_dir>/shred-ledger.log",
        "list of destroyed keys, applied at every start; keep it out of database backups and on storage every node shares",
    ),
    (
        "mail.smtp_host",
        "unset (no email)",
        "SMTP server for invitations; without it invitation links are only shown to the inviter",
    ),
    (
        "mail.smtp_port",
        "25 / 587 / 465 by mail.smtp_tls",
        "SMTP port",
    ),
    (
        "mail.smtp_tls",
        "starttls",
        "none, starttls (refuses servers that cannot) or tls (SMTPS)",
    ),
    (
        "mail.smtp_username",
        "unset",
        "SMTP user name (set together with mail.smtp_password)",
    ),
    (
        "mail.smtp_password",
        "unset",
        "SMTP password; prefer the environment variable to the file",
    ),
    (
        "mail.from",
        "Ideaweave <noreply@<public_url host>>",
        "sender address of outgoing email",
    ),
    (
        "backup.recipients",
        "unset (no backups)",
        "age X25519 public keys (age1..., from age-keygen) backups are encrypted to; keep the identities offline",
    ),
    (
        "backup.targets",
        "unset (no backups)",
        "where backups go: dir:/absolute/path and/or s3://bucket/prefix (verification reads the first)",
    ),
    (
        "backup.schedule",
        Schedule::DEFAULT,
        "cron expression (minute hour day month weekday, UTC) of scheduled backups; default three times a day",
    ),
    (
        "backup.keep_within_days",
        "30",
        "keep every backup younger than this many days (1-3650)",
    ),
    (
        "backup.keep_daily",
        "0",
        "beyond that, keep the newest backup of this many days",
    ),
    (
        "backup.keep_weekly",
        "0",
        "beyond that, keep the newest backup of this many weeks",
    ),
    (
        "backup.grace_hours",
        "2",
        "hours a scheduled backup may be late before the missing-backup alert (1-168)",
    ),
    (
        "backup.staging_dir",
        "<data_dir>/backup-staging",
        "local directory for the backup being written and the trial restore (needs room for one backup, twice)",
    ),
    (
        "backup.max_bytes_per_second",
        "unlimited",
        "write backups no faster than this, to spare the disk",
    ),
    (
        "backup.alert_webhook",
        "unset",
        "URL that receives every backup alert as a JSON POST",
    ),
    (
        "backup.alert_emails",
        "unset",
        "addresses that receive backup alerts besides the operator accounts",
    ),
    (
        "backup.s3_endpoint",
        "AWS",
        "endpoint URL of S3-compatible storage (MinIO, Ceph, Garage...)",
    ),
    ("backup.s3_region", "us-east-1", "S3 region"),
    ("backup.s3_access_key_id", "unset", "S3 access key id"),
    (
        "backup.s3_secret_access_key",
        "unset",
        "S3 secret access key; prefer the environment variable to the file",
    ),
];

fn validate_backup(
    raw: RawBackup,
    data_dir: &Path,
    database_url: &str,
) -> Result<Option<BackupSettings>, ConfigError> {
    let recipients = raw.recipients.map(List::items).unwrap_or_default();
    let targets = raw.targets.map(List::items).unwrap_or_default();
    if recipients.is_empty() && targets.is_empty() {
        return Ok(None);
    }
    if recipients.is_empty() {
        return Err(ConfigError::new(
            "backup.recipients",
            "backup.targets is set, so at least one age recipient must be too: backups are never written unencrypted",
        ));
    }
    if targets.is_empty() {
        return Err(ConfigError::new(
            "backup.targets",
            "backup.recipients is set, so at least one target must be too",
        ));
    }
    let recipients = recipients
        .iter()
        .map(|r| parse_recipient(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::new("backup.recipients", e.to_string()))?;
    let (endpoint, region, key_id, secret) = (
        raw.s3_endpoint,
        raw.s3_region,
        raw.s3_access_key_id,
        raw.s3_secret_access_key,
    );
    let targets = targets
        .iter()
        .map(|t| {
            TargetSpec::parse(t, || {
                let (Some(id), Some(secret)) = (key_id.clone(), secret.clone()) else {
                    return Err(ideaweave_backup::BackupError::Config(
                        "an s3:// target needs backup.s3_access_key_id and backup.s3_secret_access_key".into(),
                    ));
                };
                if let Some(e) = &endpoint
                    && !(e.starts_with("http://") || e.starts_with("https://"))
                {
                    return Err(ideaweave_backup::BackupError::Config(format!(
                        "backup.s3_endpoint {e:?} must be an http:// or https:// URL"
                    )));
                }
                Ok((
                    endpoint.clone(),
                    region.clone().unwrap_or_else(|| "us-east-1".into()),
                    id,
                    secret,
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::new("backup.targets", e.to_string()))?;
    let schedule = Schedule::parse(raw.schedule.as_deref().unwrap_or(Schedule::DEFAULT))
        .map_err(|e| ConfigError::new("backup.schedule", e.to_string()))?;
    let day = 86_400_000i64;
    let retention = Retention {
        keep_within_ms: ranged("backup.keep_within_days", raw.keep_within_days, 30, 1, 3650)?
            as i64
            * day,
        keep_daily: ranged("backup.keep_daily", raw.keep_daily, 0, 0, 3650)? as u32,
        keep_weekly: ranged("backup.keep_weekly", raw.keep_weekly, 0, 0, 520)? as u32,
    };
    let grace_ms = ranged("backup.grace_hours", raw.grace_hours, 2, 1, 168)? as i64 * 3_600_000;
    if let Some(w) = &raw.alert_webhook
        && !(w.starts_with("http://") || w.starts_with("https://"))
    {
        return Err(ConfigError::new(
            "backup.alert_webhook",
            format!("{w:?} must be an http:// or https:// URL"),
        ));
    }
    let alert_emails = raw.alert_emails.map(List::items).unwrap_or_default();
    if let Some(bad) = alert_emails.iter().find(|e| !e.contains('@')) {
        return Err(ConfigError::new(
            "backup.alert_emails",
            format!("{bad:?} is not an email address"),
        ));
    }
    if raw.max_bytes_per_second == Some(0) {
        return Err(ConfigError::new(
            "backup.max_bytes_per_second",
            "must be above 0 (leave it unset for no limit)",
        ));
    }
    Ok(Some(BackupSettings {
        recipients,
        targets,
        schedule,
        retention,
        grace_ms,
        staging_dir: raw
            .staging_dir
            .unwrap_or_else(|| data_dir.join("backup-staging")),
        max_bytes_per_second: raw.max_bytes_per_second,
        alert_webhook: raw.alert_webhook,
        alert_emails,
        config_text: String::new(),
        database_url: database_url.to_owned(),
    }))
}

fn ranged(
    option: &str,
    value: Option<u64>,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let v = value.unwrap_or(default);
    if v < min || v > max {
        return Err(ConfigError::new(
            option,
            format!("{v} is out of range; use {min} to {max}"),
        ));
    }
    Ok(v)
}

fn validate_mail(raw: RawMail, public_url: &str) -> Result<Option<MailConfig>, ConfigError> {
    let Some(host) = raw.smtp_host.filter(|h| !h.trim().is_empty()) else {
        for (set, option) in [
            (raw.smtp_port.is_some(), "mail.smtp_port"),
            (raw.smtp_username.is_some(), "mail.smtp_username"),
            (raw.smtp_password.is_some(), "mail.smtp_password"),
        ] {
            if set {
                return Err(ConfigError::new(option, "is set but mail.smtp_host is not"));
            }
        }
        return Ok(None);
    };
    if host.contains(char::is_whitespace) || host.contains('/') {
        return Err(ConfigError::new(
            "mail.smtp_host",
            format!("{host:?} is not a host name or address"),
        ));
    }
    let tls = match raw.smtp_tls.as_deref().unwrap_or("starttls") {
        "none" => SmtpTls::None,
        "starttls" => SmtpTls::StartTls,
        "tls" => SmtpTls::Tls,
        other => {
            return Err(ConfigError::new(
                "mail.smtp_tls",
                format!("{other:?} is not one of none, starttls, tls"),
            ));
        }
    };
    let default_port = match tls {
        SmtpTls::None => 25,
        SmtpTls::StartTls => 587,
        SmtpTls::Tls => 465,
    };
    let port = ranged("mail.smtp_port", raw.smtp_port, default_port, 1, 65535)? as u16;
    let credentials = match (raw.smtp_username, raw.smtp_password) {
        (Some(u), Some(p)) => Some((u, p)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::new(
                "mail.smtp_password",
                "mail.smtp_username is set, so the password must be too",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "mail.smtp_username",
                "mail.smtp_password is set, so the user name must be too",
            ));
        }
    };
    let from = match raw.from {
        Some(f) => f,
        None => {
            let host = public_url
                .split_once("://")
                .map_or(public_url, |(_, rest)| rest)
                .split(['/', ':'])
                .next()
                .unwrap_or("localhost");
            format!("Ideaweave <noreply@{host}>")
        }
    };
    if !from.contains('@') || from.contains(['\r', '\n']) {
        return Err(ConfigError::new(
            "mail.from",
            format!("{from:?} is not an address such as Ideaweave <noreply@example.org>"),
        ));
    }
    Ok(Some(MailConfig {
        host,
        port,
        tls,
        credentials,
        from,
    }))
}

impl Config {
    /// The SQLite database file and the log files SQLite keeps beside it (`-wal`, `-shm`);
    /// empty for PostgreSQL.
    pub fn sqlite_files(&self) -> Vec<PathBuf> {
        let Some(path) = self.database_url.strip_prefix("sqlite://") else {
            return Vec::new();
        };
        let file = path.split('?').next().unwrap_or(path);
        ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| PathBuf::from(format!("{file}{suffix}")))
            .collect()
    }

    /// Loads and validates the configuration.
    pub fn load(o: &Overrides) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(file) = &o.config_file {
            if !file.is_file() {
                return Err(ConfigError {
                    option: "--config".into(),
                    env: "-".into(),
                    message: format!("{} does not exist or is not a file", file.display()),
                });
            }
            builder = builder
                .add_source(config::File::from(file.as_path()).format(config::FileFormat::Toml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("IDEAWEAVE")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true),
        );
        let raw: RawConfig = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError {
                option: "(file or environment)".into(),
                env: "IDEAWEAVE_*".into(),
                message: e.to_string(),
            })?;
        Self::validate(raw, o)
    }

    fn validate(raw: RawConfig, o: &Overrides) -> Result<Self, ConfigError> {
        let listen_text = o
            .listen
            .clone()
            .or(raw.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError::new(
                "listen",
                format!("{listen_text:?} is not an address such as 127.0.0.1:8080 or [::]:8080"),
            )
        })?;
        let data_dir = o
            .data_dir
            .clone()
            .or(raw.data_dir)
            .unwrap_or_else(|| PathBuf::from("./ideaweave-data"));
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::new("data_dir", "must not be empty"));
        }
        let public_url = raw.public_url.unwrap_or_else(|| format!("http://{listen}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://"))
            || public_url.contains(char::is_whitespace)
        {
            return Err(ConfigError::new(
                "public_url",
                format!("{public_url:?} must be an http:// or https:// URL"),
            ));
        }
        let database_url = raw
            .database
            .url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("ideaweave.db").display()));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::new(
                "database.url",
                "must start with sqlite:// or postgres://",
            ));
        }
        let max_connections = ranged(
            "database.max_connections",
            raw.database.max_connections.map(u64::from),
            8,
            1,
            1000,
        )? as u32;
        let busy_timeout_seconds = ranged(
            "database.busy_timeout_seconds",
            raw.database.busy_timeout_seconds.map(u64::from),
            5,
            1,
            600,
        )?;
        let sqlite_durability = match raw.database.sqlite_synchronous.as_deref() {
            None | Some("full") => ideaweave_store::SqliteDurability::Full,
            Some("normal") => ideaweave_store::SqliteDurability::Normal,
            Some(other) => {
                return Err(ConfigError::new(
                    "database.sqlite_synchronous",
                    format!("{other:?} is not full or normal"),
                ));
            }
        };
        let max_upload_bytes = ranged(
            "uploads.max_bytes",
            raw.uploads.max_bytes,
            10 * 1024 * 1024,
            1024,
            1 << 30,
        )? as usize;
        let max_json_bytes = ranged(
            "http.max_json_bytes",
            raw.http.max_json_bytes,
            1 << 20,
            1024,
            64 << 20,
        )? as usize;
        let http_limits = crate::HttpLimits {
            max_connections: ranged(
                "http.max_connections",
                raw.http.max_connections,
                crate::HttpLimits::default().max_connections as u64,
                16,
                1_000_000,
            )? as usize,
            max_connections_per_client: ranged(
                "http.max_connections_per_client",
                raw.http.max_connections_per_client,
                crate::HttpLimits::default().max_connections_per_client as u64,
                1,
                1_000_000,
            )? as usize,
            header_read_timeout: Duration::from_secs(ranged(
                "http.header_timeout_seconds",
                raw.http.header_timeout_seconds,
                crate::HttpLimits::default().header_read_timeout.as_secs(),
                1,
                300,
            )?),
            trusted_proxies: raw
                .http
                .trusted_proxies
                .map(List::items)
                .unwrap_or_default()
                .iter()
                .map(|p| crate::http_server::ProxyNet::parse(p))
                .collect::<Result<_, _>>()
                .map_err(|e| ConfigError::new("http.trusted_proxies", e))?,
            ..crate::HttpLimits::default()
        };
        let secure_cookies = raw
            .http
            .secure_cookies
            .unwrap_or(public_url.starts_with("https://"));
        let session_hours = ranged("sessions.ttl_hours", raw.sessions.ttl_hours, 336, 1, 8760)?;
        let idle_minutes = ranged(
            "sessions.idle_minutes",
            raw.sessions.idle_minutes,
            720,
            5,
            43_200,
        )?;
        let reauth_minutes = ranged(
            "sessions.reauth_minutes",
            raw.sessions.reauth_minutes,
            10,
            1,
            120,
        )?;
        let geoip = match &raw.sessions.geoip_database {
            None => None,
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    ConfigError::new(
                        "sessions.geoip_database",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                let db = ideaweave_app::GeoIpDatabase::from_bytes(bytes).map_err(|e| {
                    ConfigError::new(
                        "sessions.geoip_database",
                        format!("{} is {e}", path.display()),
                    )
                })?;
                Some(std::sync::Arc::new(db))
            }
        };
        let password_policy = match &raw.passwords.blocklist_file {
            None => ideaweave_domain::PasswordPolicy::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError::new(
                        "passwords.blocklist_file",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                ideaweave_domain::PasswordPolicy::with_blocklist(&text)
            }
        };
        let invitation_hours = ranged(
            "invitations.ttl_hours",
            raw.invitations.ttl_hours,
            168,
            1,
            8760,
        )?;
        let instance_activity_days = ranged(
            "retention.instance_activity_days",
            raw.retention.instance_activity_days,
            90,
            1,
            3650,
        )? as u32;
        let termination_grace_days = ranged(
            "termination.grace_days",
            raw.termination.grace_days,
            14,
            1,
            90,
        )? as u32;
        let log_filter = raw.log.filter.unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(ConfigError::new(
                "log.filter",
                format!(
                    "{log_filter:?} is not a valid filter such as info or info,ideaweave=debug"
                ),
            ));
        }
        let uploads_dir = raw.uploads.dir.unwrap_or_else(|| data_dir.join("files"));
        let master_key = match (raw.keys.master_key_env, raw.keys.master_key_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "keys.master_key_env",
                    "set either keys.master_key_env or keys.master_key_file, not both",
                ));
            }
            (Some(var), None)
                if var.is_empty()
                    || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                return Err(ConfigError::new(
                    "keys.master_key_env",
                    format!("{var:?} is not an environment variable name"),
                ));
            }
            (Some(var), None) => MasterKeySource::Env(var),
            (None, file) => {
                MasterKeySource::File(file.unwrap_or_else(|| data_dir.join("master.key")))
            }
        };
        let shred_ledger = raw
            .keys
            .shred_ledger_file
            .unwrap_or_else(|| data_dir.join("shred-ledger.log"));
        let mail = validate_mail(raw.mail, &public_url)?;
        let backup = validate_backup(raw.backup, &data_dir, &database_url)?;
        let mut config = Self {
            backup,
            mail,
            shred_ledger,
            listen,
            data_dir,
            public_url,
            database_url,
            max_connections,
            busy_timeout: Duration::from_secs(busy_timeout_seconds),
            sqlite_durability,
            uploads_dir,
            max_upload_bytes,
            max_json_bytes,
            http_limits,
            secure_cookies,
            session_ttl: Duration::from_secs(session_hours * 3600),
            session_idle: Duration::from_secs(idle_minutes * 60),
            reauth_window: Duration::from_secs(reauth_minutes * 60),
            password_policy,
            geoip,
            sso_allow_http: raw.sso.allow_http_issuers.unwrap_or(false),
            invitation_ttl: Duration::from_secs(invitation_hours * 3600),
            instance_activity_days,
            termination_grace_days,
            log_filter,
            master_key,
        };
        if let Some(b) = config.backup.as_mut() {
            b.config_text = String::new();
        }
        let summary = config.summary();
        if let Some(b) = config.backup.as_mut() {
            b.config_text = summary;
        }
        Ok(config)
    }

    /// The configuration in force without secrets (the database password, SMTP password and
    /// S3 secret are left out), as stored in each backup.
    pub fn summary(&self) -> String {
        let mut c = self.clone();
        c.database_url = crate::redact(&c.database_url);
        if let Some(b) = c.backup.as_mut() {
            b.database_url = crate::redact(&b.database_url);
            b.config_text = String::new();
        }
        format!("{c:#?}\n")
    }

    /// A configuration for a given data directory and database, with defaults elsewhere (tests,
    /// tools).
    pub fn for_data_dir(
        data_dir: &Path,
        database_url: Option<String>,
    ) -> Result<Self, ConfigError> {
        let raw = RawConfig {
            database: RawDatabase {
                url: database_url,
                max_connections: None,
                busy_timeout_seconds: None,
                sqlite_synchronous: None,
            },
            ..Default::default()
        };
        Self::validate(
            raw,
            &Overrides {
                data_dir: Some(data_dir.to_owned()),
                listen: Some("127.0.0.1:0".into()),
                config_file: None,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_from(toml: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = config::Config::builder()
            .add_source(config::File::from_str(toml, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError::new("file", e.to_string()))?;
        Config::validate(raw, &Overrides::default())
    }

    #[test]
    fn defaults_are_valid() {
        let c = raw_from("").unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.database_url.starts_with("sqlite://"));
        assert!(!c.secure_cookies);
    }

    #[test]
    fn mail_settings_are_validated() {
        assert_eq!(raw_from("").unwrap().mail, None);
        let m = raw_from("public_url = \"https://ideas.example.org/x\"\n[mail]\nsmtp_host = \"smtp.example.org\"")
            .unwrap()
            .mail
            .unwrap();
        assert_eq!((m.port, m.tls), (587, SmtpTls::StartTls));
        assert_eq!(m.from, "Ideaweave <noreply@ideas.example.org>");
        let m = raw_from(
            "[mail]\nsmtp_host = \"h\"\nsmtp_tls = \"tls\"\nsmtp_username = \"u\"\nsmtp_password = \"s3cr3t-pw\"",
        )
        .unwrap()
        .mail
        .unwrap();
        assert!(
            !format!("{m:?}").contains("s3cr3t-pw"),
            "the password is never printed"
        );
        assert_eq!(
            (m.port, m.credentials),
            (465, Some(("u".into(), "s3cr3t-pw".into())))
        );
        for (toml, option) in [
            ("[mail]\nsmtp_port = 25", "mail.smtp_port"),
            (
                "[mail]\nsmtp_host = \"h\"\nsmtp_tls = \"ssl\"",
                "mail.smtp_tls",
            ),
            (
                "[mail]\nsmtp_host = \"h\"\nsmtp_username = \"u\"",
                "mail.smtp_password",
            ),
            ("[mail]\nsmtp_host = \"h\"\nsmtp_port = 0", "mail.smtp_port"),
            ("[mail]\nsmtp_host = \"h\"\nfrom = \"nobody\"", "mail.from"),
            ("[mail]\nsmtp_host = \"a b\"", "mail.smtp_host"),
        ] {
            assert_eq!(raw_from(toml).unwrap_err().option, option, "{toml}");
        }
    }

    #[test]
    fn bak_02_backup_settings_are_validated_and_never_allow_unencrypted_backups() {
        const R: &str = "age1enrs62uvvffjddw23nw6rqa50ke54azpkd0mcg787u9zglrukvzsafp5l6";
        assert!(raw_from("").unwrap().backup.is_none());
        let ok = raw_from(&format!(
            "[backup]\nrecipients = [\"{R}\"]\ntargets = \"dir:/srv/a, dir:/srv/b\""
        ))
        .unwrap()
        .backup
        .unwrap();
        assert_eq!(ok.targets.len(), 2);
        assert_eq!(ok.schedule.pattern(), Schedule::DEFAULT);
        assert_eq!(ok.retention.keep_within_ms, 30 * 86_400_000);
        assert!(
            ok.config_text.contains("listen"),
            "the configuration is stored"
        );
        for (toml, option) in [
            ("[backup]\ntargets = \"dir:/srv/a\"", "backup.recipients"),
            (&format!("[backup]\nrecipients = \"{R}\""), "backup.targets"),
            (
                "[backup]\nrecipients = \"age1nope\"\ntargets = \"dir:/a\"",
                "backup.recipients",
            ),
            (
                &format!("[backup]\nrecipients = \"{R}\"\ntargets = \"dir:relative\""),
                "backup.targets",
            ),
            (
                &format!("[backup]\nrecipients = \"{R}\"\ntargets = \"s3://bucket/x\""),
                "backup.targets",
            ),
            (
                &format!(
                    "[backup]\nrecipients = \"{R}\"\ntargets = \"dir:/a\"\nschedule = \"daily\""
                ),
                "backup.schedule",
            ),
            (
                &format!(
                    "[backup]\nrecipients = \"{R}\"\ntargets = \"dir:/a\"\nkeep_within_days = 0"
                ),
                "backup.keep_within_days",
            ),
            (
                &format!(
                    "[backup]\nrecipients = \"{R}\"\ntargets = \"dir:/a\"\nalert_webhook = \"ftp://x\""
                ),
                "backup.alert_webhook",
            ),
            (
                &format!(
                    "[backup]\nrecipients = \"{R}\"\ntargets = \"dir:/a\"\nmax_bytes_per_second = 0"
                ),
                "backup.max_bytes_per_second",
            ),
        ] {
            assert_eq!(raw_from(toml).unwrap_err().option, option, "{toml}");
        }
        let with_secret = raw_from(&format!(
            "[backup]\nrecipients = \"{R}\"\ntargets = \"s3://bucket/x\"\ns3_access_key_id = \"id\"\ns3_secret_access_key = \"TOPSECRET\"\n[database]\nurl = \"postgres://u:DBSECRET@h/db\""
        ))
        .unwrap();
        let stored = &with_secret.backup.as_ref().unwrap().config_text;
        assert!(
            !stored.contains("TOPSECRET") && !stored.contains("DBSECRET"),
            "{stored}"
        );
    }

    #[test]
    fn idn_04_a_geoip_database_that_is_not_one_is_refused_at_start() {
        assert!(raw_from("").unwrap().geoip.is_none());
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("places.mmdb");
        std::fs::write(&bad, b"not a database").unwrap();
        let e = raw_from(&format!(
            "[sessions]\ngeoip_database = {:?}",
            bad.display().to_string()
        ))
        .unwrap_err();
        assert_eq!(e.option, "sessions.geoip_database");
        assert!(e.message.contains("not a MaxMind DB"), "{e}");
        let e = raw_from("[sessions]\ngeoip_database = \"/nowhere/places.mmdb\"").unwrap_err();
        assert!(
            e.message.contains("cannot read /nowhere/places.mmdb"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_the_option() {
        let e = raw_from("listen = \"nowhere\"").unwrap_err();
        assert_eq!(e.option, "listen");
        assert!(e.to_string().contains("IDEAWEAVE_LISTEN"));
        let e = raw_from("[database]\nmax_connections = 0").unwrap_err();
        assert_eq!(e.option, "database.max_connections");
        assert!(
            e.to_string()
                .contains("IDEAWEAVE_DATABASE__MAX_CONNECTIONS")
        );
        let e = raw_from("[database]\nurl = \"mysql://x\"").unwrap_err();
        assert_eq!(e.option, "database.url");
        let e = raw_from("public_url = \"ftp://x\"").unwrap_err();
        assert_eq!(e.option, "public_url");
        assert!(
            raw_from("[database]\nurll = \"x\"")
                .unwrap_err()
                .message
                .contains("urll")
        );
    }
}
