//! The `ideaweave` program: configuration, start-up and the command line. The binary in
//! `main.rs` only parses arguments and calls in here, so the test harness starts exactly what
//! production starts.

/// Prints a line of the command line's output. When whoever reads it went away
/// (`ideaweave config options | head`), the command ends quietly instead of panicking as
/// `println!` would; any other failure to write ends it with a message and status 1.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        crate::output_written(writeln!(std::io::stdout(), $($arg)*));
    }};
}

/// [`say!`] without the line break.
macro_rules! say_part {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        crate::output_written(write!(std::io::stdout(), $($arg)*));
    }};
}

/// Ends the command when its output cannot be written (see [`say!`]).
pub(crate) fn output_written(result: std::io::Result<()>) {
    if let Err(e) = result {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("ideaweave: cannot write the output: {e}");
        std::process::exit(1);
    }
}

mod audit_cli;
pub mod backup_cli;
pub mod cli;
pub mod config;
pub mod files_cli;
mod http_server;
pub mod mail;
mod search_cli;

use std::sync::Arc;

use anyhow::Context;
use ideaweave_app::{App, Clock, Keyring};
use ideaweave_crypto::{EnvKeyProvider, KeyFileProvider, KeyProvider, ShredLedger};
use ideaweave_store::{FileStore, LocalDirFileStore, PoolSettings, S3FileStore, Store};
use ideaweave_web::AppState;

use crate::config::{Config, MasterKeySource};
pub use crate::http_server::{HttpLimits, ProxyNet, client_address, raise_open_files_limit, serve};

/// Where the master key comes from, in words.
pub fn describe(source: &MasterKeySource) -> String {
    match source {
        MasterKeySource::File(p) => format!("key file {}", p.display()),
        MasterKeySource::Env(v) => format!("environment variable {v}"),
    }
}

/// Opens the database named by the configuration (creating the data directory for SQLite) and
/// applies pending migrations.
pub async fn open_store(config: &Config, migrate: bool) -> anyhow::Result<Store> {
    // The data directory holds the uploads, the shred ledger and the audit anchor whatever
    // the database, and the database itself with SQLite: for this user only.
    ideaweave_store::create_private_dir(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let settings = PoolSettings {
        max_connections: config.max_connections,
        busy_timeout: config.busy_timeout,
        sqlite_durability: config.sqlite_durability,
    };
    let store = Store::connect(&config.database_url, &settings)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&config.database_url)))?;
    // The SQLite files for this user only (made by the connection with the umask's mode; later
    // log files take the database file's).
    for path in config.sqlite_files().iter().filter(|p| p.exists()) {
        ideaweave_store::make_private_file(path)
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    if migrate {
        store
            .migrate()
            .await
            .context("cannot bring the database schema up to date")?;
    }
    Ok(store)
}

/// The database URL without its password (in the authority or as a `password=` parameter),
/// for messages and the configuration stored in backups.
pub fn redact(url: &str) -> String {
    let base = redact_authority(url);
    match base.split_once('?') {
        Some((head, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_owned(),
                })
                .collect();
            format!("{head}?{}", params.join("&"))
        }
        None => base,
    }
}

fn redact_authority(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Loads the master key source. A missing key file is created (mode 0600) only while the
/// database holds no keys; otherwise the start stops, because a new key would open nothing.
pub async fn key_provider(config: &Config, store: &Store) -> anyhow::Result<Arc<dyn KeyProvider>> {
    match &config.master_key {
        MasterKeySource::Env(var) => Ok(Arc::new(EnvKeyProvider::load(var)?)),
        MasterKeySource::File(path) if path.exists() => Ok(Arc::new(KeyFileProvider::load(path)?)),
        MasterKeySource::File(path) => {
            let holds_keys = !store.read().await?.master_version_use().await?.is_empty();
            if holds_keys {
                anyhow::bail!(
                    "the master key file {} does not exist, but the database holds keys wrapped by a master key: \
                     restore the key file, or point keys.master_key_file (IDEAWEAVE_KEYS__MASTER_KEY_FILE) at it",
                    path.display()
                );
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let provider = KeyFileProvider::create(path)?;
            tracing::warn!(path = %path.display(), "created a new master key file: keep a copy offline, without it nothing can be decrypted");
            Ok(Arc::new(provider))
        }
    }
}

/// Builds the application from a validated configuration.
pub async fn build_app(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
    let store = open_store(config, false).await?;
    let check = |keyring: Arc<Keyring>| {
        let store = store.clone();
        async move {
            keyring.check(&store).await.map_err(|_| {
                anyhow::anyhow!(
                    "the master key ({}) does not open the keys in this database: is this the key it was created with?",
                    describe(&config.master_key)
                )
            })?;
            Ok::<_, anyhow::Error>(keyring)
        }
    };
    let ledger = ShredLedger::at(&config.shred_ledger);
    // The key is checked before any migration touches an existing database: a wrong key must
    // not leave a schema half-moved to a release that then cannot start.
    let has_schema = store
        .migration_state()
        .await
        .context("cannot read the database's schema version")?
        .migrations
        .iter()
        .any(|m| m.applied);
    let checked = if has_schema {
        let provider = key_provider(config, &store).await?;
        Some(check(Arc::new(Keyring::new(provider, 4096, ledger.clone()))).await?)
    } else {
        None
    };
    store
        .migrate()
        .await
        .context("cannot bring the database schema up to date")?;
    let keyring = match checked {
        Some(k) => k,
        None => {
            let provider = key_provider(config, &store).await?;
            check(Arc::new(Keyring::new(provider, 4096, ledger))).await?
        }
    };
    insecure_cipher_guard()?;
    let files = open_file_store(&config.files).await?;
    join_shred_ledger_copies(config, &keyring, &store).await;
    // ENC-04: a database copied back from before an erasure (by hand, or a node started on a
    // stale copy) loses the erased people's memberships, tokens and files again, not only
    // their keys.
    ideaweave_app::reapply_erasures(&keyring, &store, Some(files.as_ref()), clock.now_ms())
        .await
        .map_err(|e| anyhow::anyhow!("cannot apply the shred ledger to the database: {e:?}"))?;
    keyring
        .prepare(&store, clock.now_ms())
        .await
        .map_err(|e| anyhow::anyhow!("cannot prepare the keys: {e:?}"))?;
    Ok(App::new(
        store,
        files,
        clock,
        config.app_settings(),
        keyring,
    ))
}

/// Opens the file store `files.store` names. An S3 bucket is tried once (one listing), so that
/// a wrong address or credentials stop the start with a message rather than fail the first
/// upload.
pub async fn open_file_store(
    location: &crate::config::FilesLocation,
) -> anyhow::Result<Arc<dyn FileStore>> {
    match location {
        crate::config::FilesLocation::Dir(dir) => {
            let local = LocalDirFileStore::open(dir).with_context(|| {
                format!(
                    "cannot open the files directory {} (files.store)",
                    dir.display()
                )
            })?;
            Ok(Arc::new(local))
        }
        crate::config::FilesLocation::S3(s3) => {
            let remote = S3FileStore::open(s3.clone())
                .map_err(|e| anyhow::anyhow!("files.store {s3}: {e}"))?;
            remote.check().await.map_err(|e| {
                anyhow::anyhow!(
                    "{e} (files.store; check the bucket, the s3_* options and the network)"
                )
            })?;
            Ok(Arc::new(remote))
        }
    }
}

/// ENC-04 at start: takes into the local shred ledger what the backup targets' copy of it
/// holds (a data directory restored without its ledger, or a node whose ledger is behind), and
/// warns when the ledger lists fewer destroyed keys than this database counted. A target that
/// cannot be reached does not stop the start; it is logged as an error.
async fn join_shred_ledger_copies(config: &Config, keyring: &Keyring, store: &Store) {
    if let Some(settings) = &config.backup {
        let joined = match ideaweave_backup::Targets::open(&settings.targets) {
            Ok(targets) => ideaweave_backup::sync_shred_ledger(keyring, &targets).await,
            Err(e) => Err(e),
        };
        match joined {
            Ok(sync) if sync.local < sync.longest_known => tracing::error!(
                local = sync.local,
                longest_known = sync.longest_known,
                ledger = %config.shred_ledger.display(),
                "the shred ledger is shorter than a backup record says it was: restore the ledger file, or people erased since may come back"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(
                error = %e,
                "cannot join the shred ledger with its copy in the backup targets; people erased since a database copy was made may come back"
            ),
        }
    }
    let counted = match store.read().await {
        Ok(mut tx) => tx.shredded_count().await.unwrap_or(0),
        Err(_) => 0,
    };
    let listed = keyring.shredded_keys().map(|k| k.len() as u64).unwrap_or(0);
    if listed < counted {
        tracing::error!(
            listed,
            counted,
            ledger = %config.shred_ledger.display(),
            "this database has seen more erasures than the shred ledger lists: the ledger is missing or short; \
             restore it (keys.shred_ledger_file) before any backup is restored, or people erased since would come back"
        );
    }
}

/// Refuses to start a build whose cipher does not encrypt, unless the benchmark that compares
/// it with the real one asked for it explicitly.
fn insecure_cipher_guard() -> anyhow::Result<()> {
    if cfg!(feature = "insecure-noop-cipher") {
        if std::env::var("IW_INSECURE_NOOP_CIPHER_FOR_BENCHMARKS").as_deref() != Ok("1") {
            anyhow::bail!(
                "this build was made with the insecure-noop-cipher feature, which stores data unencrypted; \
                 it exists for benchmarks only (set IW_INSECURE_NOOP_CIPHER_FOR_BENCHMARKS=1 to run one)"
            );
        }
        tracing::error!("INSECURE: this build stores data unencrypted (benchmark build)");
    }
    Ok(())
}

/// Puts back the audit log's append-only guards (triggers) that someone with write access to
/// the database dropped or disabled (AUD-01), before a server serves requests. `audit verify`
/// reports them missing; every start repairs them.
pub async fn guard_audit_log(app: &App) -> anyhow::Result<()> {
    let restored = app
        .store()
        .restore_audit_guards()
        .await
        .context("cannot put back the audit log's append-only guards")?;
    if !restored.is_empty() {
        tracing::error!(
            guards = %restored.join(", "),
            "the audit log's append-only guards were dropped or disabled behind the application's back; they were put back: run `ideaweave audit verify`"
        );
    }
    Ok(())
}

/// The HTTP router for an application.
pub fn router(app: App, config: &Config) -> axum::Router {
    ideaweave_web::router(AppState {
        app,
        secure_cookies: config.secure_cookies,
        max_json_bytes: config.max_json_bytes,
        body_stall_timeout: config.http_limits.body_stall_timeout,
        time_zone: config.time_zone.clone(),
    })
}

/// How often a running server signs an audit checkpoint (when the log grew): the window in
/// which a rewritten entry could go unnoticed by witnesses (AUD-02).
pub const AUDIT_CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Signs an audit checkpoint every `every`, for as long as the runtime runs. Several nodes may
/// do this at once: signing locks the log's head, and a log that did not grow is not signed
/// again.
pub fn spawn_audit_checkpoints(app: App, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = app.sign_audit_checkpoint().await {
                tracing::error!(error = %e, "could not sign an audit checkpoint");
            }
        }
    });
}

/// How long a serving node's lease lasts (BAK-05); it is renewed every third of that, so a
/// restore knows within this time that a node stopped without saying so.
pub const NODE_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

/// Keeps this node's lease in the database for as long as the runtime runs; returns the
/// holder name to end it with at shutdown.
pub fn spawn_node_lease(app: App) -> String {
    let holder = ideaweave_backup::this_holder();
    let me = holder.clone();
    tokio::spawn(async move {
        let lease_ms = i64::try_from(NODE_LEASE.as_millis()).unwrap_or(30_000);
        let mut ticks = tokio::time::interval(NODE_LEASE / 3);
        loop {
            ticks.tick().await;
            let now = app.now_ms();
            let renewed = async {
                let mut tx = app.store().begin().await?;
                tx.renew_node_lease(&me, now, now + lease_ms).await?;
                tx.commit().await
            }
            .await;
            if let Err(e) = renewed {
                tracing::warn!(error = %e, "could not renew this node's lease");
            }
        }
    });
    holder
}

/// How often a running server applies the workspaces' retention periods (LIF-03). Periods are
/// whole days; hourly keeps what is due at most an hour past its time.
pub const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// Applies every workspace's retention periods every `every`, the first time at start, and
/// reminds admins of request desk answers due soon or overdue.
/// Several nodes may run it at once: each batch is one transaction, and what one node purged
/// another no longer finds.
pub fn spawn_retention(app: App, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match app.enforce_retention().await {
                Ok(round) => tracing::info!(?round, "retention applied"),
                Err(e) => tracing::error!(error = %e, "could not apply the retention periods"),
            }
            match app.run_terminations().await {
                Ok(r) if r == ideaweave_app::TerminationRound::default() => {}
                Ok(r) => tracing::info!(round = ?r, "workspace terminations"),
                Err(e) => tracing::error!(error = %e, "could not run workspace terminations"),
            }
            match app.remind_requests().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(reminders = n, "request desk reminders queued"),
                Err(e) => tracing::error!(error = %e, "could not send request desk reminders"),
            }
        }
    });
}

/// How often a node looks for search changes to index (COL-05): readers on every node see a
/// commit within this and the freshness check (a few seconds).
pub const SEARCH_INDEX_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Indexes queued search changes every `every`. Every node runs this; one node at a time
/// writes each workspace's index (a lease in the database).
pub fn spawn_search_indexing(app: App, every: std::time::Duration) {
    let writer = ideaweave_backup::this_holder();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match app.run_search_indexing(&writer).await {
                Ok(r) if r == ideaweave_app::IndexingRound::default() => {}
                Ok(r) if r.failed > 0 => tracing::warn!(round = ?r, "search indexing"),
                Ok(r) => tracing::debug!(round = ?r, "search indexing"),
                Err(e) => tracing::error!(error = %e, "could not run search indexing"),
            }
        }
    });
}

/// Runs web export jobs (LIF-01): looks for waiting ones every `every`, and runs them one after
/// another. Every node runs this; a job is claimed by one node at a time.
pub fn spawn_export_jobs(app: App, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match app.run_export_jobs().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "exports written"),
                Err(e) => tracing::error!(error = %e, "could not run export jobs"),
            }
        }
    });
}
