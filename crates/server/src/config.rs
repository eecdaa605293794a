//! Configuration: a TOML file, then `IDEAWEAVE_…` environment variables, then command-line
//! flags, each overriding the one before. Everything is validated before the server starts; a
//! bad value stops the start with a message naming the option, where it came from, and what
//! would be accepted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ideaweave_backup::{BackupSettings, Retention, Schedule, TargetSpec, parse_recipient};
use ideaweave_store::{S3Access, S3Location};
use secrecy::SecretString;
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
    files: RawFiles,
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
    #[serde(default)]
    pages: RawPages,
    #[serde(default)]
    search: RawSearch,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSearch {
    cache_mb: Option<u64>,
    extract_max_mb: Option<u64>,
    extract_seconds: Option<u64>,
    extract_memory_mb: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPages {
    time_zone: Option<String>,
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
    s3_secret_access_key: Option<SecretString>,
    s3_ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFiles {
    store: Option<String>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    s3_access_key_id: Option<String>,
    s3_secret_access_key: Option<SecretString>,
    s3_ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    smtp_host: Option<String>,
    smtp_port: Option<u64>,
    smtp_tls: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<SecretString>,
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
    /// Where uploaded files (and sealed search indexes) are kept.
    pub files: FilesLocation,
    /// The `files.s3_*` options: the access to an `s3://` store, for `files.store` and for
    /// `ideaweave files migrate --to`.
    pub files_s3: S3Settings,
    /// Largest upload.
    pub max_upload_bytes: usize,
    /// Largest JSON body.
    pub max_json_bytes: usize,
    /// The HTTP server's limits (SEC-01).
    pub http_limits: crate::HttpLimits,
    /// Whether cookies are `Secure`.
    pub secure_cookies: bool,
    /// The zone pages show times in for readers who chose none and whose browser said none.
    pub time_zone: jiff::tz::TimeZone,
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
    /// The most bytes of search indexes a node keeps open in memory (COL-05).
    pub search_cache_bytes: usize,
    /// How files' text is read for search: in a child process with limits (COL-05).
    pub text_extraction: TextExtraction,
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
#[derive(Clone)]
pub struct MailConfig {
    /// The SMTP server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is secured.
    pub tls: SmtpTls,
    /// User name and password, when the server wants them.
    pub credentials: Option<SmtpCredentials>,
    /// The sender, e.g. `Ideaweave <noreply@ideas.example.org>`.
    pub from: String,
}

/// What the SMTP server is told who we are; the password prints as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct SmtpCredentials {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: SecretString,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|c| &c.user))
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

/// How files' text is read for search (COL-05): by this program's `extract-text` command, run
/// as a child process that limits itself, so that a hostile file cannot stall or crash the
/// server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextExtraction {
    /// The program run: this one (tests point it at the built `ideaweave` binary).
    pub program: PathBuf,
    /// The largest file read (`search.extract_max_mb`).
    pub max_input_bytes: u64,
    /// Processor time per file (`search.extract_seconds`); wall-clock time twice that and 5 s.
    pub seconds: u64,
    /// Address space of the child (`search.extract_memory_mb`).
    pub memory_bytes: u64,
}

impl TextExtraction {
    /// The extractor the application runs.
    pub fn extractor(&self) -> ideaweave_extract::Extractor {
        ideaweave_extract::Extractor::new(
            self.program.clone(),
            vec!["extract-text".into()],
            // Wall-clock time: more than the processor time, which is what stops a parser that
            // spins; a busy machine reads ordinary files more slowly.
            Duration::from_secs(self.seconds * 2 + 5),
            ideaweave_extract::ChildLimits {
                memory_bytes: self.memory_bytes,
                cpu_seconds: self.seconds,
                max_input_bytes: self.max_input_bytes,
            },
        )
    }
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

/// One configuration option, declared once: its name (the TOML key; the environment variable
/// follows from it, see [`env_name`]), its default as people read it, what it means, and for a
/// number its default and accepted range. Validation takes the numbers from here,
/// `ideaweave config options` prints these, and the README's table is generated from them
/// (`ideaweave config options --markdown`; a test keeps the README in step).
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The TOML key, e.g. `database.max_connections`.
    pub name: &'static str,
    /// The default as people read it (Markdown: literal values in backticks).
    pub default: &'static str,
    /// What it means.
    pub help: &'static str,
    /// For a number: its default and range.
    pub number: Option<Number>,
    /// Whether its value is a secret, which `config check` never prints.
    pub secret: bool,
}

/// The default and accepted range of a numeric option.
#[derive(Debug, Clone, Copy)]
pub struct Number {
    /// The default; `None` when it follows from another option.
    pub default: Option<u64>,
    /// The smallest accepted value.
    pub min: u64,
    /// The largest accepted value.
    pub max: u64,
}

impl Setting {
    /// The environment variable that sets it.
    pub fn env(&self) -> String {
        env_name(self.name)
    }

    /// The default of a numeric option (0 for options that are not numbers, which no caller
    /// asks for; a test checks every caller's option is a number).
    pub const fn default_number(&self) -> u64 {
        match self.number {
            Some(Number {
                default: Some(n), ..
            }) => n,
            _ => 0,
        }
    }

    /// The number given, or the declared default; refused outside the declared range.
    fn number(&self, value: Option<u64>) -> Result<u64, ConfigError> {
        self.number_or(value, self.default_number())
    }

    /// The number given, or `default` (for a default that follows from another option);
    /// refused outside the declared range.
    fn number_or(&self, value: Option<u64>, default: u64) -> Result<u64, ConfigError> {
        let Some(range) = self.number else {
            return Err(ConfigError::new(self.name, "is not a number option"));
        };
        let v = value.unwrap_or(default);
        if v < range.min || v > range.max {
            return Err(ConfigError::new(
                self.name,
                format!("{v} is out of range; use {} to {}", range.min, range.max),
            ));
        }
        Ok(v)
    }
}

/// Every option, one constant each.
pub mod settings {
    use super::{Number, Setting};

    /// `listen`.
    pub const LISTEN: Setting = Setting {
        name: "listen",
        default: "`127.0.0.1:8080`",
        help: "address and port to listen on (`--listen`)",
        number: None,
        secret: false,
    };
    /// `data_dir`.
    pub const DATA_DIR: Setting = Setting {
        name: "data_dir",
        default: "`./ideaweave-data`",
        help: "embedded database and files (`--data-dir`)",
        number: None,
        secret: false,
    };
    /// `public_url`.
    pub const PUBLIC_URL: Setting = Setting {
        name: "public_url",
        default: "`http://<listen>`",
        help: "URL people reach the instance at (invitation links)",
        number: None,
        secret: false,
    };
    /// `database.url`.
    pub const DATABASE_URL: Setting = Setting {
        name: "database.url",
        default: "`sqlite://<data_dir>/ideaweave.db`",
        help: "`sqlite://PATH` or `postgres://USER:PASS@HOST:PORT/DB`",
        number: None,
        secret: false,
    };
    /// `database.max_connections`.
    pub const DATABASE_MAX_CONNECTIONS: Setting = Setting {
        name: "database.max_connections",
        default: "`8`",
        help: "pool size, 1-1000",
        number: Some(Number {
            default: Some(8),
            min: 1,
            max: 1_000,
        }),
        secret: false,
    };
    /// `database.busy_timeout_seconds`.
    pub const DATABASE_BUSY_TIMEOUT_SECONDS: Setting = Setting {
        name: "database.busy_timeout_seconds",
        default: "`5`",
        help: "how long an SQLite statement waits for another writer before failing, 1-600",
        number: Some(Number {
            default: Some(5),
            min: 1,
            max: 600,
        }),
        secret: false,
    };
    /// `database.sqlite_synchronous`.
    pub const DATABASE_SQLITE_SYNCHRONOUS: Setting = Setting {
        name: "database.sqlite_synchronous",
        default: "`full`",
        help: "`full`: a commit is on disk before it is acknowledged (survives power loss); `normal`: faster writes, a killed process loses nothing but a power loss may lose the last commits",
        number: None,
        secret: false,
    };
    /// `uploads.dir`.
    pub const UPLOADS_DIR: Setting = Setting {
        name: "uploads.dir",
        default: "unset",
        help: "the older name of `files.store` for a directory; set one of the two",
        number: None,
        secret: false,
    };
    /// `files.store`.
    pub const FILES_STORE: Setting = Setting {
        name: "files.store",
        default: "`<data_dir>/files`",
        help: "where uploaded files and search indexes are kept (sealed): a directory, or `s3://bucket/prefix` for S3-compatible storage that several nodes share",
        number: None,
        secret: false,
    };
    /// `files.s3_endpoint`.
    pub const FILES_S3_ENDPOINT: Setting = Setting {
        name: "files.s3_endpoint",
        default: "AWS",
        help: "endpoint URL of S3-compatible storage (MinIO, Ceph, Garage...)",
        number: None,
        secret: false,
    };
    /// `files.s3_region`.
    pub const FILES_S3_REGION: Setting = Setting {
        name: "files.s3_region",
        default: "`us-east-1`",
        help: "S3 region",
        number: None,
        secret: false,
    };
    /// `files.s3_access_key_id`.
    pub const FILES_S3_ACCESS_KEY_ID: Setting = Setting {
        name: "files.s3_access_key_id",
        default: "unset",
        help: "S3 access key id",
        number: None,
        secret: false,
    };
    /// `files.s3_secret_access_key`.
    pub const FILES_S3_SECRET_ACCESS_KEY: Setting = Setting {
        name: "files.s3_secret_access_key",
        default: "unset",
        help: "S3 secret access key; prefer the environment variable to the file",
        number: None,
        secret: true,
    };
    /// `files.s3_ca_file`.
    pub const FILES_S3_CA_FILE: Setting = Setting {
        name: "files.s3_ca_file",
        default: "unset",
        help: "PEM file of certificate authorities to trust for an https:// endpoint, beside the system's",
        number: None,
        secret: false,
    };
    /// `uploads.max_bytes`.
    pub const UPLOADS_MAX_BYTES: Setting = Setting {
        name: "uploads.max_bytes",
        default: "`10485760`",
        help: "largest upload, 1 KiB - 1 GiB",
        number: Some(Number {
            default: Some(10_485_760),
            min: 1_024,
            max: 1_073_741_824,
        }),
        secret: false,
    };
    /// `http.max_json_bytes`.
    pub const HTTP_MAX_JSON_BYTES: Setting = Setting {
        name: "http.max_json_bytes",
        default: "`1048576`",
        help: "largest JSON body, 1 KiB - 64 MiB",
        number: Some(Number {
            default: Some(1_048_576),
            min: 1_024,
            max: 67_108_864,
        }),
        secret: false,
    };
    /// `http.max_connections`.
    pub const HTTP_MAX_CONNECTIONS: Setting = Setting {
        name: "http.max_connections",
        default: "`4096`",
        help: "connections served at once; beyond it new connections wait in the kernel's queue and the log says so once a minute (16-1000000)",
        number: Some(Number {
            default: Some(4_096),
            min: 16,
            max: 1_000_000,
        }),
        secret: false,
    };
    /// `http.max_connections_per_client`.
    pub const HTTP_MAX_CONNECTIONS_PER_CLIENT: Setting = Setting {
        name: "http.max_connections_per_client",
        default: "`256`",
        help: "connections one client address (an IPv6 /64) may hold at once; further ones are closed at once and the log says so once a minute; trusted proxies are exempt (1-1000000)",
        number: Some(Number {
            default: Some(256),
            min: 1,
            max: 1_000_000,
        }),
        secret: false,
    };
    /// `http.header_timeout_seconds`.
    pub const HTTP_HEADER_TIMEOUT_SECONDS: Setting = Setting {
        name: "http.header_timeout_seconds",
        default: "`10`",
        help: "seconds a connection may take to send a request's headers, or stay idle between requests, before it is closed (1-300)",
        number: Some(Number {
            default: Some(10),
            min: 1,
            max: 300,
        }),
        secret: false,
    };
    /// `http.trusted_proxies`.
    pub const HTTP_TRUSTED_PROXIES: Setting = Setting {
        name: "http.trusted_proxies",
        default: "none",
        help: "addresses or networks (`10.0.0.0/8`, `::1`) of reverse proxies whose `X-Forwarded-For` names the client (comma-separated in the variable); from any other peer the header is ignored. Set it behind a proxy, or every client counts as the proxy in the sign-in back-off",
        number: None,
        secret: false,
    };
    /// `http.secure_cookies`.
    pub const HTTP_SECURE_COOKIES: Setting = Setting {
        name: "http.secure_cookies",
        default: "true when `public_url` is https",
        help: "`Secure` cookies (set behind a TLS proxy)",
        number: None,
        secret: false,
    };
    /// `pages.time_zone`.
    pub const PAGES_TIME_ZONE: Setting = Setting {
        name: "pages.time_zone",
        default: "`UTC`",
        help: "the time zone pages show times in for people who chose none in their account and whose browser does not say (an IANA name such as `Europe/Berlin`)",
        number: None,
        secret: false,
    };
    /// `sessions.ttl_hours`.
    pub const SESSIONS_TTL_HOURS: Setting = Setting {
        name: "sessions.ttl_hours",
        default: "`336`",
        help: "how long a sign-in lasts at most",
        number: Some(Number {
            default: Some(336),
            min: 1,
            max: 8_760,
        }),
        secret: false,
    };
    /// `sessions.idle_minutes`.
    pub const SESSIONS_IDLE_MINUTES: Setting = Setting {
        name: "sessions.idle_minutes",
        default: "`720`",
        help: "how long a session lasts unused (5-43200)",
        number: Some(Number {
            default: Some(720),
            min: 5,
            max: 43_200,
        }),
        secret: false,
    };
    /// `sessions.reauth_minutes`.
    pub const SESSIONS_REAUTH_MINUTES: Setting = Setting {
        name: "sessions.reauth_minutes",
        default: "`10`",
        help: "how long a sign-in or re-authentication allows sensitive actions: export, erasure, deletion, tokens, security settings (1-120)",
        number: Some(Number {
            default: Some(10),
            min: 1,
            max: 120,
        }),
        secret: false,
    };
    /// `sessions.geoip_database`.
    pub const SESSIONS_GEOIP_DATABASE: Setting = Setting {
        name: "sessions.geoip_database",
        default: "none",
        help: "a MaxMind DB (GeoLite2/GeoIP2 City or Country) for showing roughly where each session's address is; without it no place is shown",
        number: None,
        secret: false,
    };
    /// `sso.allow_http_issuers`.
    pub const SSO_ALLOW_HTTP_ISSUERS: Setting = Setting {
        name: "sso.allow_http_issuers",
        default: "`false`",
        help: "let workspaces name identity providers at plain `http://` (loopback tests only)",
        number: None,
        secret: false,
    };
    /// `passwords.blocklist_file`.
    pub const PASSWORDS_BLOCKLIST_FILE: Setting = Setting {
        name: "passwords.blocklist_file",
        default: "unset",
        help: "further passwords to refuse, one per line, on top of the bundled 20,000 breached ones",
        number: None,
        secret: false,
    };
    /// `invitations.ttl_hours`.
    pub const INVITATIONS_TTL_HOURS: Setting = Setting {
        name: "invitations.ttl_hours",
        default: "`168`",
        help: "how long an invitation link works",
        number: Some(Number {
            default: Some(168),
            min: 1,
            max: 8_760,
        }),
        secret: false,
    };
    /// `retention.instance_activity_days`.
    pub const RETENTION_INSTANCE_ACTIVITY_DAYS: Setting = Setting {
        name: "retention.instance_activity_days",
        default: "`90`",
        help: "days that where sign-ins and other instance events came from is kept (1-3650); workspaces set their own periods (`docs/privacy/retention.md`)",
        number: Some(Number {
            default: Some(90),
            min: 1,
            max: 3_650,
        }),
        secret: false,
    };
    /// `search.cache_mb`.
    pub const SEARCH_CACHE_MB: Setting = Setting {
        name: "search.cache_mb",
        default: "`256`",
        help: "mebibytes of workspaces' search indexes a node keeps open in memory; the least recently used are closed beyond it and reopened from their sealed files when searched (`docs/search.md`)",
        number: Some(Number {
            default: Some(256),
            min: 8,
            max: 65_536,
        }),
        secret: false,
    };
    /// `search.extract_max_mb`.
    pub const SEARCH_EXTRACT_MAX_MB: Setting = Setting {
        name: "search.extract_max_mb",
        default: "`32`",
        help: "largest uploaded file whose text is read for search, in mebibytes (1-1024); larger files are found by their names only",
        number: Some(Number {
            default: Some(32),
            min: 1,
            max: 1_024,
        }),
        secret: false,
    };
    /// `search.extract_seconds`.
    pub const SEARCH_EXTRACT_SECONDS: Setting = Setting {
        name: "search.extract_seconds",
        default: "`20`",
        help: "seconds of processor time the reading of one file's text may take (1-60; wall-clock time twice that and 5 s); the child process reading it is stopped then and the file is found by its name only",
        number: Some(Number {
            default: Some(20),
            min: 1,
            max: 60,
        }),
        secret: false,
    };
    /// `search.extract_memory_mb`.
    pub const SEARCH_EXTRACT_MEMORY_MB: Setting = Setting {
        name: "search.extract_memory_mb",
        default: "`512`",
        help: "mebibytes of address space the child process reading one file's text may use (128-16384)",
        number: Some(Number {
            default: Some(512),
            min: 128,
            max: 16_384,
        }),
        secret: false,
    };
    /// `termination.grace_days`.
    pub const TERMINATION_GRACE_DAYS: Setting = Setting {
        name: "termination.grace_days",
        default: "`14`",
        help: "days between an owner asking for a workspace's deletion and its destruction, in which any owner may cancel (1-90; `docs/privacy/termination.md`)",
        number: Some(Number {
            default: Some(14),
            min: 1,
            max: 90,
        }),
        secret: false,
    };
    /// `log.filter`.
    pub const LOG_FILTER: Setting = Setting {
        name: "log.filter",
        default: "`info`",
        help: "log filter (`RUST_LOG` wins when set)",
        number: None,
        secret: false,
    };
    /// `keys.master_key_file`.
    pub const KEYS_MASTER_KEY_FILE: Setting = Setting {
        name: "keys.master_key_file",
        default: "`<data_dir>/master.key`",
        help: "master key file, mode 0600, `VERSION:HEX` lines",
        number: None,
        secret: false,
    };
    /// `keys.master_key_env`.
    pub const KEYS_MASTER_KEY_ENV: Setting = Setting {
        name: "keys.master_key_env",
        default: "unset",
        help: "name of an environment variable holding the master key instead",
        number: None,
        secret: false,
    };
    /// `keys.shred_ledger_file`.
    pub const KEYS_SHRED_LEDGER_FILE: Setting = Setting {
        name: "keys.shred_ledger_file",
        default: "`<data_dir>/shred-ledger.log`",
        help: "list of destroyed keys, applied at every start; keep it out of database backups, on storage all nodes share",
        number: None,
        secret: false,
    };
    /// `mail.smtp_host`.
    pub const MAIL_SMTP_HOST: Setting = Setting {
        name: "mail.smtp_host",
        default: "unset (no email)",
        help: "SMTP server; invitations and notifications are then emailed (otherwise an invitation link is only shown to the inviter, and nobody is notified)",
        number: None,
        secret: false,
    };
    /// `mail.smtp_port`.
    pub const MAIL_SMTP_PORT: Setting = Setting {
        name: "mail.smtp_port",
        default: "25 / 587 / 465 by `mail.smtp_tls`",
        help: "SMTP port",
        number: Some(Number {
            default: None,
            min: 1,
            max: 65_535,
        }),
        secret: false,
    };
    /// `mail.smtp_tls`.
    pub const MAIL_SMTP_TLS: Setting = Setting {
        name: "mail.smtp_tls",
        default: "`starttls`",
        help: "`none`, `starttls` (refuses servers that cannot) or `tls` (SMTPS)",
        number: None,
        secret: false,
    };
    /// `mail.smtp_username`.
    pub const MAIL_SMTP_USERNAME: Setting = Setting {
        name: "mail.smtp_username",
        default: "unset",
        help: "SMTP user (with `mail.smtp_password`)",
        number: None,
        secret: false,
    };
    /// `mail.smtp_password`.
    pub const MAIL_SMTP_PASSWORD: Setting = Setting {
        name: "mail.smtp_password",
        default: "unset",
        help: "SMTP password; prefer the variable to the file",
        number: None,
        secret: true,
    };
    /// `mail.from`.
    pub const MAIL_FROM: Setting = Setting {
        name: "mail.from",
        default: "`Ideaweave <noreply@<public_url host>>`",
        help: "sender of outgoing email",
        number: None,
        secret: false,
    };
    /// `backup.recipients`.
    pub const BACKUP_RECIPIENTS: Setting = Setting {
        name: "backup.recipients",
        default: "unset (no backups)",
        help: "age X25519 public keys (`age1…`, comma-separated in the variable) backups are encrypted to",
        number: None,
        secret: false,
    };
    /// `backup.targets`.
    pub const BACKUP_TARGETS: Setting = Setting {
        name: "backup.targets",
        default: "unset (no backups)",
        help: "`dir:/absolute/path` and/or `s3://bucket/prefix`; verification reads the first",
        number: None,
        secret: false,
    };
    /// `backup.schedule`.
    pub const BACKUP_SCHEDULE: Setting = Setting {
        name: "backup.schedule",
        default: "`0 4,12,20 * * *`",
        help: "cron expression (UTC) of scheduled backups: three times a day",
        number: None,
        secret: false,
    };
    /// `backup.keep_within_days`.
    pub const BACKUP_KEEP_WITHIN_DAYS: Setting = Setting {
        name: "backup.keep_within_days",
        default: "`30`",
        help: "keep every backup younger than this",
        number: Some(Number {
            default: Some(30),
            min: 1,
            max: 3_650,
        }),
        secret: false,
    };
    /// `backup.keep_daily`.
    pub const BACKUP_KEEP_DAILY: Setting = Setting {
        name: "backup.keep_daily",
        default: "`0`",
        help: "beyond that, keep the newest backup of this many days",
        number: Some(Number {
            default: Some(0),
            min: 0,
            max: 3_650,
        }),
        secret: false,
    };
    /// `backup.keep_weekly`.
    pub const BACKUP_KEEP_WEEKLY: Setting = Setting {
        name: "backup.keep_weekly",
        default: "`0`",
        help: "beyond that, keep the newest backup of this many weeks",
        number: Some(Number {
            default: Some(0),
            min: 0,
            max: 520,
        }),
        secret: false,
    };
    /// `backup.grace_hours`.
    pub const BACKUP_GRACE_HOURS: Setting = Setting {
        name: "backup.grace_hours",
        default: "`2`",
        help: "how late a scheduled backup may be before the missing-backup alert",
        number: Some(Number {
            default: Some(2),
            min: 1,
            max: 168,
        }),
        secret: false,
    };
    /// `backup.staging_dir`.
    pub const BACKUP_STAGING_DIR: Setting = Setting {
        name: "backup.staging_dir",
        default: "`<data_dir>/backup-staging`",
        help: "local room for the backup being written and the trial restore",
        number: None,
        secret: false,
    };
    /// `backup.max_bytes_per_second`.
    pub const BACKUP_MAX_BYTES_PER_SECOND: Setting = Setting {
        name: "backup.max_bytes_per_second",
        default: "unlimited",
        help: "write backups no faster than this",
        number: None,
        secret: false,
    };
    /// `backup.alert_webhook`.
    pub const BACKUP_ALERT_WEBHOOK: Setting = Setting {
        name: "backup.alert_webhook",
        default: "unset",
        help: "URL that receives each backup alert as a JSON POST",
        number: None,
        secret: false,
    };
    /// `backup.alert_emails`.
    pub const BACKUP_ALERT_EMAILS: Setting = Setting {
        name: "backup.alert_emails",
        default: "unset",
        help: "addresses alerted besides the operator accounts",
        number: None,
        secret: false,
    };
    /// `backup.s3_endpoint`.
    pub const BACKUP_S3_ENDPOINT: Setting = Setting {
        name: "backup.s3_endpoint",
        default: "AWS",
        help: "endpoint URL of S3-compatible storage (MinIO, Ceph, Garage...)",
        number: None,
        secret: false,
    };
    /// `backup.s3_region`.
    pub const BACKUP_S3_REGION: Setting = Setting {
        name: "backup.s3_region",
        default: "`us-east-1`",
        help: "S3 region",
        number: None,
        secret: false,
    };
    /// `backup.s3_access_key_id`.
    pub const BACKUP_S3_ACCESS_KEY_ID: Setting = Setting {
        name: "backup.s3_access_key_id",
        default: "unset",
        help: "S3 access key id",
        number: None,
        secret: false,
    };
    /// `backup.s3_secret_access_key`.
    pub const BACKUP_S3_SECRET_ACCESS_KEY: Setting = Setting {
        name: "backup.s3_secret_access_key",
        default: "unset",
        help: "S3 secret access key; prefer the environment variable to the file",
        number: None,
        secret: true,
    };
    /// `backup.s3_ca_file`.
    pub const BACKUP_S3_CA_FILE: Setting = Setting {
        name: "backup.s3_ca_file",
        default: "unset",
        help: "PEM file of certificate authorities to trust for an https:// endpoint, beside the system's",
        number: None,
        secret: false,
    };
}

/// Every option, in the order `ideaweave config options` and the README list them.
pub const OPTIONS: &[Setting] = &[
    settings::LISTEN,
    settings::DATA_DIR,
    settings::PUBLIC_URL,
    settings::DATABASE_URL,
    settings::DATABASE_MAX_CONNECTIONS,
    settings::DATABASE_BUSY_TIMEOUT_SECONDS,
    settings::DATABASE_SQLITE_SYNCHRONOUS,
    settings::FILES_STORE,
    settings::FILES_S3_ENDPOINT,
    settings::FILES_S3_REGION,
    settings::FILES_S3_ACCESS_KEY_ID,
    settings::FILES_S3_SECRET_ACCESS_KEY,
    settings::FILES_S3_CA_FILE,
    settings::UPLOADS_DIR,
    settings::UPLOADS_MAX_BYTES,
    settings::HTTP_MAX_JSON_BYTES,
    settings::HTTP_MAX_CONNECTIONS,
    settings::HTTP_MAX_CONNECTIONS_PER_CLIENT,
    settings::HTTP_HEADER_TIMEOUT_SECONDS,
    settings::HTTP_TRUSTED_PROXIES,
    settings::HTTP_SECURE_COOKIES,
    settings::PAGES_TIME_ZONE,
    settings::SESSIONS_TTL_HOURS,
    settings::SESSIONS_IDLE_MINUTES,
    settings::SESSIONS_REAUTH_MINUTES,
    settings::SESSIONS_GEOIP_DATABASE,
    settings::SSO_ALLOW_HTTP_ISSUERS,
    settings::PASSWORDS_BLOCKLIST_FILE,
    settings::INVITATIONS_TTL_HOURS,
    settings::RETENTION_INSTANCE_ACTIVITY_DAYS,
    settings::TERMINATION_GRACE_DAYS,
    settings::SEARCH_CACHE_MB,
    settings::SEARCH_EXTRACT_MAX_MB,
    settings::SEARCH_EXTRACT_SECONDS,
    settings::SEARCH_EXTRACT_MEMORY_MB,
    settings::LOG_FILTER,
    settings::KEYS_MASTER_KEY_FILE,
    settings::KEYS_MASTER_KEY_ENV,
    settings::KEYS_SHRED_LEDGER_FILE,
    settings::MAIL_SMTP_HOST,
    settings::MAIL_SMTP_PORT,
    settings::MAIL_SMTP_TLS,
    settings::MAIL_SMTP_USERNAME,
    settings::MAIL_SMTP_PASSWORD,
    settings::MAIL_FROM,
    settings::BACKUP_RECIPIENTS,
    settings::BACKUP_TARGETS,
    settings::BACKUP_SCHEDULE,
    settings::BACKUP_KEEP_WITHIN_DAYS,
    settings::BACKUP_KEEP_DAILY,
    settings::BACKUP_KEEP_WEEKLY,
    settings::BACKUP_GRACE_HOURS,
    settings::BACKUP_STAGING_DIR,
    settings::BACKUP_MAX_BYTES_PER_SECOND,
    settings::BACKUP_ALERT_WEBHOOK,
    settings::BACKUP_ALERT_EMAILS,
    settings::BACKUP_S3_ENDPOINT,
    settings::BACKUP_S3_REGION,
    settings::BACKUP_S3_ACCESS_KEY_ID,
    settings::BACKUP_S3_SECRET_ACCESS_KEY,
    settings::BACKUP_S3_CA_FILE,
];

/// Where an option's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag.
    Flag(&'static str),
    /// Its environment variable.
    Environment,
    /// The configuration file.
    File,
    /// Nowhere: the declared default applies.
    Default,
}

/// One option as a start would use it (see [`Config::effective`]).
#[derive(Debug, Clone)]
pub struct Effective {
    /// The option.
    pub setting: Setting,
    /// Its value as given (a secret only as "set"), or the declared default.
    pub value: String,
    /// Where the value came from.
    pub origin: Origin,
}

impl std::fmt::Display for Effective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let from = match self.origin {
            Origin::Flag(flag) => flag.to_owned(),
            Origin::Environment => self.setting.env(),
            Origin::File => "the configuration file".to_owned(),
            Origin::Default => "default".to_owned(),
        };
        write!(f, "{} = {}  # {from}", self.setting.name, self.value)
    }
}

/// The configuration's layered sources: the file (when `file` and one is named) and the
/// `IDEAWEAVE_*` environment (when `environment`).
fn sources(o: &Overrides, file: bool, environment: bool) -> Result<config::Config, ConfigError> {
    let mut builder = config::Config::builder();
    if let (true, Some(path)) = (file, &o.config_file) {
        if !path.is_file() {
            return Err(ConfigError {
                option: "--config".into(),
                env: "-".into(),
                message: format!("{} does not exist or is not a file", path.display()),
            });
        }
        builder =
            builder.add_source(config::File::from(path.as_path()).format(config::FileFormat::Toml));
    }
    if environment {
        builder = builder.add_source(
            config::Environment::with_prefix("IDEAWEAVE")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true),
        );
    }
    builder.build().map_err(unreadable)
}

fn unreadable(e: config::ConfigError) -> ConfigError {
    ConfigError {
        option: "(file or environment)".into(),
        env: "IDEAWEAVE_*".into(),
        message: e.to_string(),
    }
}

/// The README's table of options, generated from [`OPTIONS`].
pub fn options_markdown() -> String {
    let mut out =
        String::from("| option | environment variable | default | meaning |\n|---|---|---|---|\n");
    for o in OPTIONS {
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            o.name,
            o.env(),
            o.default,
            o.help
        ));
    }
    out
}

/// Where uploaded files are kept (`files.store`).
#[derive(Debug, Clone)]
pub enum FilesLocation {
    /// A local directory: one node, or a share all nodes mount.
    Dir(PathBuf),
    /// A prefix in an S3-compatible bucket, which every node reads.
    S3(S3Location),
}

impl std::fmt::Display for FilesLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dir(d) => write!(f, "{}", d.display()),
            Self::S3(l) => l.fmt(f),
        }
    }
}

impl FilesLocation {
    /// Parses a `files.store` value (or `ideaweave files migrate --to`): `s3://bucket/prefix`
    /// with `access` for its credentials, or a directory.
    pub fn parse(value: &str, access: &S3Settings) -> Result<Self, ConfigError> {
        if value.starts_with("s3://") {
            let (bucket, prefix) = S3Location::parse_address(value)
                .map_err(|e| ConfigError::new("files.store", e.to_string()))?;
            return Ok(Self::S3(S3Location {
                bucket,
                prefix,
                access: access.access()?,
            }));
        }
        if value.contains("://") {
            return Err(ConfigError::new(
                "files.store",
                format!("{value:?} is neither a directory nor an s3://bucket/prefix address"),
            ));
        }
        if value.trim().is_empty() {
            return Err(ConfigError::new("files.store", "must not be empty"));
        }
        Ok(Self::Dir(PathBuf::from(value)))
    }

    /// The directory, when files are kept in one.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            Self::Dir(d) => Some(d),
            Self::S3(_) => None,
        }
    }
}

/// The S3 options of one section (`files.s3_*` or `backup.s3_*`).
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// `files` or `backup`, for messages.
    pub section: &'static str,
    /// `<section>.s3_endpoint`.
    pub endpoint: Option<String>,
    /// `<section>.s3_region`.
    pub region: Option<String>,
    /// `<section>.s3_access_key_id`.
    pub access_key_id: Option<String>,
    /// `<section>.s3_secret_access_key`.
    pub secret_access_key: Option<SecretString>,
    /// `<section>.s3_ca_file`.
    pub ca_file: Option<PathBuf>,
}

impl S3Settings {
    /// The access an `s3://` location of this section needs, or which option is missing.
    pub fn access(&self) -> Result<S3Access, ConfigError> {
        let section = self.section;
        let (Some(id), Some(secret)) = (&self.access_key_id, &self.secret_access_key) else {
            return Err(ConfigError::new(
                &format!("{section}.s3_access_key_id"),
                format!(
                    "an s3:// location needs {section}.s3_access_key_id and {section}.s3_secret_access_key"
                ),
            ));
        };
        if let Some(e) = &self.endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            return Err(ConfigError::new(
                &format!("{section}.s3_endpoint"),
                format!("{e:?} must be an http:// or https:// URL"),
            ));
        }
        if let Some(ca) = &self.ca_file
            && !ca.is_file()
        {
            return Err(ConfigError::new(
                &format!("{section}.s3_ca_file"),
                format!("{} does not exist or is not a file", ca.display()),
            ));
        }
        Ok(S3Access {
            endpoint: self.endpoint.clone(),
            region: self.region.clone().unwrap_or_else(|| "us-east-1".into()),
            access_key_id: id.clone(),
            secret_access_key: secret.clone(),
            ca_file: self.ca_file.clone(),
        })
    }
}

/// `files.store` (or its older name `uploads.dir`), `<data_dir>/files` when neither is set.
fn files_location(
    raw: RawFiles,
    uploads_dir: Option<PathBuf>,
    data_dir: &Path,
) -> Result<(FilesLocation, S3Settings), ConfigError> {
    let access = S3Settings {
        section: "files",
        endpoint: raw.s3_endpoint,
        region: raw.s3_region,
        access_key_id: raw.s3_access_key_id,
        secret_access_key: raw.s3_secret_access_key,
        ca_file: raw.s3_ca_file,
    };
    let location = match (raw.store, uploads_dir) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "uploads.dir",
                "uploads.dir is the older name of files.store: set only files.store",
            ));
        }
        (Some(store), None) => FilesLocation::parse(&store, &access)?,
        (None, Some(dir)) => FilesLocation::Dir(dir),
        (None, None) => FilesLocation::Dir(data_dir.join("files")),
    };
    Ok((location, access))
}

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
    let access = S3Settings {
        section: "backup",
        endpoint: raw.s3_endpoint,
        region: raw.s3_region,
        access_key_id: raw.s3_access_key_id,
        secret_access_key: raw.s3_secret_access_key,
        ca_file: raw.s3_ca_file,
    };
    let mut parsed = Vec::with_capacity(targets.len());
    for t in &targets {
        // A missing S3 option is named as itself, not as the target.
        let mut missing = None;
        let target = TargetSpec::parse(t, || {
            access.access().map_err(|e| {
                let message = e.message.clone();
                missing = Some(e);
                ideaweave_backup::BackupError::Config(message)
            })
        });
        match (target, missing) {
            (Ok(target), _) => parsed.push(target),
            (Err(_), Some(e)) => return Err(e),
            (Err(e), None) => return Err(ConfigError::new("backup.targets", e.to_string())),
        }
    }
    let targets = parsed;

    let schedule = Schedule::parse(raw.schedule.as_deref().unwrap_or(Schedule::DEFAULT))
        .map_err(|e| ConfigError::new("backup.schedule", e.to_string()))?;
    let day = 86_400_000i64;
    let retention = Retention {
        keep_within_ms: settings::BACKUP_KEEP_WITHIN_DAYS.number(raw.keep_within_days)? as i64
            * day,
        keep_daily: settings::BACKUP_KEEP_DAILY.number(raw.keep_daily)? as u32,
        keep_weekly: settings::BACKUP_KEEP_WEEKLY.number(raw.keep_weekly)? as u32,
    };
    let grace_ms = settings::BACKUP_GRACE_HOURS.number(raw.grace_hours)? as i64 * 3_600_000;
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
    let port = settings::MAIL_SMTP_PORT.number_or(raw.smtp_port, default_port)? as u16;
    let credentials = match (raw.smtp_username, raw.smtp_password) {
        (Some(user), Some(password)) => Some(SmtpCredentials { user, password }),
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
    /// What the use cases are tuned by: every value comes from this validated configuration,
    /// so the application holds no defaults of its own.
    pub fn app_settings(&self) -> ideaweave_app::AppSettings {
        ideaweave_app::AppSettings {
            session_ttl: self.session_ttl,
            session_idle: self.session_idle,
            reauth_window: self.reauth_window,
            password_policy: self.password_policy.clone(),
            sso_allow_http: self.sso_allow_http,
            invitation_ttl: self.invitation_ttl,
            instance_activity_days: self.instance_activity_days,
            termination_grace_days: self.termination_grace_days,
            max_upload_bytes: self.max_upload_bytes,
            public_url: self.public_url.clone(),
            mail_enabled: self.mail.is_some(),
            geoip: self.geoip.clone(),
            audit_anchor_file: Some(self.data_dir.join(ideaweave_app::AUDIT_ANCHOR_FILE)),
            search_cache_bytes: self.search_cache_bytes,
            text_extractor: Some(self.text_extraction.extractor()),
        }
    }

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
        let raw: RawConfig = sources(o, true, true)?
            .try_deserialize()
            .map_err(unreadable)?;
        Self::validate(raw, o)
    }

    /// Every declared option as a start with `o` would use it: the value given, or the declared
    /// default, and where it came from (secrets hidden, credentials in URLs replaced), after
    /// checking the whole configuration as `load` does. `ideaweave config check` prints these.
    pub fn effective(o: &Overrides) -> Result<Vec<Effective>, ConfigError> {
        Self::load(o)?;
        let file = sources(o, true, false)?;
        let environment = sources(o, false, true)?;
        let flag = |setting: &Setting| match setting.name {
            "listen" => o.listen.clone().map(|v| ("--listen", v)),
            "data_dir" => o
                .data_dir
                .as_ref()
                .map(|d| ("--data-dir", d.display().to_string())),
            _ => None,
        };
        let given = |c: &config::Config, name: &str| {
            c.get::<config::Value>(name).ok().map(|v| v.to_string())
        };
        Ok(OPTIONS
            .iter()
            .map(|setting| {
                let (origin, value) = if let Some((flag, v)) = flag(setting) {
                    (Origin::Flag(flag), Some(v))
                } else if let Some(v) = given(&environment, setting.name) {
                    (Origin::Environment, Some(v))
                } else if let Some(v) = given(&file, setting.name) {
                    (Origin::File, Some(v))
                } else {
                    (Origin::Default, None)
                };
                let value = match value {
                    Some(_) if setting.secret => "(set; not shown)".to_owned(),
                    Some(v) => crate::redact(&v),
                    None => setting.default.replace('`', ""),
                };
                Effective {
                    setting: *setting,
                    value,
                    origin,
                }
            })
            .collect())
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
        let max_connections = settings::DATABASE_MAX_CONNECTIONS
            .number(raw.database.max_connections.map(u64::from))?
            as u32;
        let busy_timeout_seconds = settings::DATABASE_BUSY_TIMEOUT_SECONDS
            .number(raw.database.busy_timeout_seconds.map(u64::from))?;
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
        let max_upload_bytes = settings::UPLOADS_MAX_BYTES.number(raw.uploads.max_bytes)? as usize;
        let max_json_bytes =
            settings::HTTP_MAX_JSON_BYTES.number(raw.http.max_json_bytes)? as usize;
        let http_limits = crate::HttpLimits {
            max_connections: settings::HTTP_MAX_CONNECTIONS.number(raw.http.max_connections)?
                as usize,
            max_connections_per_client: settings::HTTP_MAX_CONNECTIONS_PER_CLIENT
                .number(raw.http.max_connections_per_client)?
                as usize,
            header_read_timeout: Duration::from_secs(
                settings::HTTP_HEADER_TIMEOUT_SECONDS.number(raw.http.header_timeout_seconds)?,
            ),
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
        let session_hours = settings::SESSIONS_TTL_HOURS.number(raw.sessions.ttl_hours)?;
        let idle_minutes = settings::SESSIONS_IDLE_MINUTES.number(raw.sessions.idle_minutes)?;
        let reauth_minutes =
            settings::SESSIONS_REAUTH_MINUTES.number(raw.sessions.reauth_minutes)?;
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
        let invitation_hours = settings::INVITATIONS_TTL_HOURS.number(raw.invitations.ttl_hours)?;
        let instance_activity_days = settings::RETENTION_INSTANCE_ACTIVITY_DAYS
            .number(raw.retention.instance_activity_days)?
            as u32;
        let termination_grace_days =
            settings::TERMINATION_GRACE_DAYS.number(raw.termination.grace_days)? as u32;
        let search_cache_bytes =
            settings::SEARCH_CACHE_MB.number(raw.search.cache_mb)? as usize * 1024 * 1024;
        let text_extraction = TextExtraction {
            program: std::env::current_exe().map_err(|e| {
                ConfigError::new(
                    "search.extract_seconds",
                    format!("cannot find this program to read files' text with: {e}"),
                )
            })?,
            max_input_bytes: settings::SEARCH_EXTRACT_MAX_MB.number(raw.search.extract_max_mb)?
                * 1024
                * 1024,
            seconds: settings::SEARCH_EXTRACT_SECONDS.number(raw.search.extract_seconds)?,
            memory_bytes: settings::SEARCH_EXTRACT_MEMORY_MB
                .number(raw.search.extract_memory_mb)?
                * 1024
                * 1024,
        };
        let log_filter = raw.log.filter.unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(ConfigError::new(
                "log.filter",
                format!(
                    "{log_filter:?} is not a valid filter such as info or info,ideaweave=debug"
                ),
            ));
        }
        let (files, files_s3) = files_location(raw.files, raw.uploads.dir, &data_dir)?;
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
        let time_zone = match raw.pages.time_zone.as_deref().map(str::trim) {
            None | Some("") => jiff::tz::TimeZone::UTC,
            Some(name) => jiff::tz::TimeZone::get(name).map_err(|_| {
                ConfigError::new(
                    "pages.time_zone",
                    format!("{name:?} is not a time zone; give an IANA name such as Europe/Berlin or UTC"),
                )
            })?,
        };
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
            files,
            files_s3,
            max_upload_bytes,
            max_json_bytes,
            http_limits,
            secure_cookies,
            time_zone,
            session_ttl: Duration::from_secs(session_hours * 3600),
            session_idle: Duration::from_secs(idle_minutes * 60),
            reauth_window: Duration::from_secs(reauth_minutes * 60),
            password_policy,
            geoip,
            sso_allow_http: raw.sso.allow_http_issuers.unwrap_or(false),
            invitation_ttl: Duration::from_secs(invitation_hours * 3600),
            instance_activity_days,
            termination_grace_days,
            search_cache_bytes,
            text_extraction,
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
    use secrecy::ExposeSecret;

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
    fn files_are_kept_in_a_directory_or_a_bucket_with_its_credentials() {
        let default = raw_from("").unwrap();
        assert!(matches!(&default.files, FilesLocation::Dir(d) if d.ends_with("files")));
        let old_name = raw_from("[uploads]\ndir = \"/srv/files\"").unwrap();
        assert_eq!(old_name.files.dir(), Some(Path::new("/srv/files")));
        let s3 = raw_from(
            "[files]\nstore = \"s3://files/node-a/\"\ns3_endpoint = \"https://minio.example:9000\"\ns3_access_key_id = \"id\"\ns3_secret_access_key = \"TOPSECRET\"",
        )
        .unwrap();
        let FilesLocation::S3(location) = &s3.files else {
            panic!("{:?}", s3.files)
        };
        assert_eq!(
            location.to_string(),
            "s3://files/node-a at https://minio.example:9000"
        );
        assert!(!format!("{s3:?}").contains("TOPSECRET"));
        for (toml, option) in [
            (
                "[files]\nstore = \"s3://files/x\"",
                "files.s3_access_key_id",
            ),
            ("[files]\nstore = \"ftp://files/x\"", "files.store"),
            ("[files]\nstore = \"s3://No_Such/x\"", "files.store"),
            ("[files]\nstore = \"\"", "files.store"),
            (
                "[files]\nstore = \"s3://files/x\"\ns3_access_key_id = \"id\"\ns3_secret_access_key = \"s\"\ns3_endpoint = \"minio:9000\"",
                "files.s3_endpoint",
            ),
            (
                "[files]\nstore = \"s3://files/x\"\ns3_access_key_id = \"id\"\ns3_secret_access_key = \"s\"\ns3_ca_file = \"/no/such/ca.pem\"",
                "files.s3_ca_file",
            ),
            (
                "[files]\nstore = \"/srv/a\"\n[uploads]\ndir = \"/srv/b\"",
                "uploads.dir",
            ),
        ] {
            assert_eq!(raw_from(toml).unwrap_err().option, option, "{toml}");
        }
    }

    #[test]
    fn the_readme_lists_every_option_as_declared() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("| option | environment variable | default | meaning |")
            .expect("the README has the table of options");
        let end = readme[start..]
            .find("<!-- end of options -->")
            .map(|e| start + e)
            .expect("the table ends with its marker");
        assert_eq!(
            &readme[start..end],
            options_markdown(),
            "regenerate the README's table with `ideaweave config options --markdown`"
        );
    }

    #[test]
    fn every_option_is_declared_once_and_numbers_read_as_their_default() {
        let mut seen = std::collections::BTreeSet::new();
        for o in OPTIONS {
            assert!(seen.insert(o.name), "{} is declared twice", o.name);
            if let Some(Number {
                default: Some(n),
                min,
                max,
            }) = o.number
            {
                assert_eq!(o.default, format!("`{n}`"), "{}", o.name);
                assert!(
                    min <= n && n <= max,
                    "{}: default outside its range",
                    o.name
                );
            }
        }
        assert_eq!(
            settings::BACKUP_SCHEDULE.default,
            format!("`{}`", Schedule::DEFAULT)
        );
    }

    #[test]
    fn a_number_outside_its_declared_range_names_the_option_and_the_range() {
        let e = raw_from("[database]\nmax_connections = 0").unwrap_err();
        assert_eq!(e.option, "database.max_connections");
        assert!(e.message.contains("use 1 to 1000"), "{}", e.message);
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
        assert!(raw_from("").unwrap().mail.is_none());
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
        let c = m.credentials.as_ref().unwrap();
        assert_eq!(
            (m.port, c.user.as_str(), c.password.expose_secret()),
            (465, "u", "s3cr3t-pw")
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
                "backup.s3_access_key_id",
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
