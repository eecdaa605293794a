//! `ideaweave backup …`, `ideaweave restore`, and the backup scheduler inside `serve`
//! (BAK-01…BAK-05).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};
use clap::Subcommand;
use ideaweave_app::App;
use ideaweave_backup::{BackupSettings, Backups, RestoreScope, check_missing, instance_identity};

use crate::cli::{ConfigArgs, app_for};

/// `ideaweave backup …`.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a backup now: a consistent snapshot of the database, the stored files and the
    /// configuration (without secrets), encrypted to the configured age recipients, uploaded to
    /// every target, verified by a trial restore, then old backups pruned. Exits 1 if any step
    /// fails (the failure is recorded and alerted).
    Now {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// List the backups in the first target with size, digest and verification, and the
    /// recent attempts that failed.
    List {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Verify a stored backup again by a trial restore.
    Verify {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The backup's name, as `backup list` shows it.
        name: String,
    },
}

/// `ideaweave restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    cfg: ConfigArgs,
    /// A backup's name in the targets (`backup list`), or the path of a backup file.
    backup: String,
    /// Restore only this workspace (by slug); everything else stays as it is.
    #[arg(long, value_name = "SLUG")]
    workspace: Option<String>,
    /// Show what would change, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// An age identity file (from age-keygen) that opens the backup; by default, this
    /// instance's own backup identity (which needs this instance's database and master key).
    #[arg(long, value_name = "FILE")]
    identity: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
    /// Restore even though a node seems to serve this database (its lease has not run out):
    /// only when it is gone for good, since its writes would be lost or mixed in.
    #[arg(long)]
    ignore_running_nodes: bool,
    /// Restore even though the shred ledger here is shorter than the backup targets' records
    /// say it should be: people erased since come back. Only when the ledger is lost for good.
    #[arg(long)]
    bring_back_erased_people: bool,
}

fn settings(config: &crate::config::Config) -> anyhow::Result<BackupSettings> {
    config.backup.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "backups are not configured: set backup.recipients and backup.targets (see `ideaweave config options`)"
        )
    })
}

/// Runs a backup command.
pub async fn run(cmd: BackupCommand) -> anyhow::Result<()> {
    match cmd {
        BackupCommand::Now { cfg } => {
            let (app, config) = app_for(&cfg).await?;
            let backups = Backups::new(app, settings(&config)?)?;
            let report = backups
                .run(&|step| eprintln!("backup: {step}…"))
                .await
                .context("the backup failed")?;
            say!(
                "{} ({} bytes, sha256 {})\n  {}\n  content digest {}",
                report.name,
                report.bytes,
                report.sha256,
                report.verification.summary(),
                report.content_digest
            );
            for p in report.pruned {
                say!("pruned {p}");
            }
            Ok(())
        }
        BackupCommand::List { cfg } => {
            let (app, config) = app_for(&cfg).await?;
            let backups = Backups::new(app.clone(), settings(&config)?)?;
            let list = backups.list().await?;
            say!("backups in {}:", backups.targets().describe());
            if list.is_empty() {
                say!("  (none)");
            }
            for b in list {
                match b.sidecar {
                    Some(s) => say!(
                        "  {}  {:>12} bytes  sha256 {}  {}: {}",
                        b.name,
                        b.bytes,
                        s.sha256.get(..16).unwrap_or(&s.sha256),
                        if s.verified {
                            "verified"
                        } else {
                            "NOT VERIFIED"
                        },
                        s.detail
                    ),
                    None if b.sidecar_unreadable => say!(
                        "  {}  {:>12} bytes  record unreadable: run `ideaweave backup verify {}`",
                        b.name,
                        b.bytes,
                        b.name
                    ),
                    None => say!(
                        "  {}  {:>12} bytes  NOT VERIFIED: never finished (not a good backup)",
                        b.name,
                        b.bytes
                    ),
                }
            }
            let runs = app.store().read().await?.backup_runs(20).await?;
            let failed: Vec<_> = runs.iter().filter(|r| r.state == "failed").collect();
            if !failed.is_empty() {
                say!("recent failed attempts:");
                for r in failed {
                    say!(
                        "  {}  {}",
                        ideaweave_backup_time(r.started_at),
                        r.detail.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(())
        }
        BackupCommand::Verify { cfg, name } => {
            let (app, config) = app_for(&cfg).await?;
            let backups = Backups::new(app, settings(&config)?)?;
            let v = backups
                .verify(&name)
                .await
                .with_context(|| format!("{name} does not verify"))?;
            say!("{name}: {}", v.summary());
            Ok(())
        }
    }
}

fn ideaweave_backup_time(ms: i64) -> String {
    std::time::UNIX_EPOCH
        .checked_add(std::time::Duration::from_millis(ms.max(0) as u64))
        .map(|_| {
            let secs = ms / 1000;
            let days = secs.div_euclid(86_400);
            let (y, m, d) = ideaweave_domain::requests::civil_date(days);
            let rem = secs.rem_euclid(86_400);
            format!(
                "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60
            )
        })
        .unwrap_or_default()
}

fn read_identity(path: &Path) -> anyhow::Result<age::x25519::Identity> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the identity file {}", path.display()))?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| anyhow::anyhow!("{} holds no age identity", path.display()))?;
    age::x25519::Identity::from_str(line).map_err(|e| {
        anyhow::anyhow!(
            "{} is not an age X25519 identity file (AGE-SECRET-KEY-1…): {e}",
            path.display()
        )
    })
}

/// Runs `ideaweave restore`.
pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    // Checked before anything is created: without the key the backup's data cannot be
    // opened, and a new key (with a new database) would only stand in the way of the retry.
    let config = args.cfg.load(None)?;
    if let crate::config::MasterKeySource::File(path) = &config.master_key
        && !path.exists()
    {
        bail!(
            "a restore needs the master key the backup was taken with, and {} does not exist: \
             put the key file there (or point keys.master_key_file at it, or name its variable in keys.master_key_env); nothing was changed",
            path.display()
        );
    }
    let sqlite_files = config.sqlite_files();
    let fresh_database = sqlite_files.first().is_some_and(|p| !p.exists());
    let result = restore_with(&args, config).await;
    // A restore into a new data directory that failed leaves no database behind to trip the
    // next attempt.
    if result.is_err() && fresh_database {
        for path in &sqlite_files {
            let _ = std::fs::remove_file(path);
        }
    }
    result
}

async fn restore_with(args: &RestoreArgs, config: crate::config::Config) -> anyhow::Result<()> {
    let app = crate::build_app(&config, std::sync::Arc::new(ideaweave_app::SystemClock)).await?;
    let identity = match &args.identity {
        Some(p) => read_identity(p)?,
        None => {
            let seed = app
                .keyring()
                .backup_identity_seed(app.store(), app.now_ms())
                .await?;
            instance_identity(&seed)?
        }
    };
    let staging = config
        .backup
        .as_ref()
        .map(|b| b.staging_dir.clone())
        .unwrap_or_else(|| config.data_dir.join("backup-staging"));
    let work = staging.join(format!("restore-{}", uuid::Uuid::now_v7().simple()));
    ideaweave_store::create_private_dir(&staging)
        .and_then(|()| ideaweave_store::create_private_dir(&work))
        .with_context(|| format!("cannot create {}", work.display()))?;
    let result = restore_in(&app, &config, args, identity, &work).await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn restore_in(
    app: &App,
    config: &crate::config::Config,
    args: &RestoreArgs,
    identity: age::x25519::Identity,
    work: &Path,
) -> anyhow::Result<()> {
    if !args.dry_run && !args.ignore_running_nodes {
        let live: Vec<String> = app
            .store()
            .read()
            .await?
            .live_nodes(app.now_ms())
            .await?
            .into_iter()
            .filter(|(holder, _)| !ideaweave_backup::holder_is_dead(holder))
            .map(|(holder, until)| {
                format!("{holder} (lease until {})", ideaweave_backup_time(until))
            })
            .collect();
        if !live.is_empty() {
            bail!(
                "a server node serves this database now: {}. Stop every node before restoring (a lease runs out {} s after its node stops), \
                 or pass --ignore-running-nodes if it is gone for good",
                live.join(", "),
                crate::NODE_LEASE.as_secs()
            );
        }
    }
    let local = Path::new(&args.backup);
    let backups = match config.backup.clone() {
        Some(s) => Some(Backups::new(app.clone(), s)?),
        None => None,
    };
    // ENC-04: the local shred ledger joined with the targets' copy, and the longest ledger
    // any backup record mentions, before anything is restored.
    let mut guard = ideaweave_backup::LedgerGuard {
        longest_known: 0,
        bring_back_erased_people: args.bring_back_erased_people,
    };
    if let Some(b) = &backups {
        let sync = ideaweave_backup::sync_shred_ledger(app.keyring(), b.targets())
            .await
            .context("cannot join the shred ledger with its copy in the backup targets")?;
        if sync.added > 0 {
            eprintln!(
                "restore: took {} destroyed keys from the backup targets' copy of the shred ledger",
                sync.added
            );
        }
        guard.longest_known = sync.longest_known;
    }
    let object = if local.is_file() {
        local.to_owned()
    } else {
        let backups = backups.as_ref().with_context(|| {
            format!(
                "{} is not a file, and backups are not configured to look it up by name",
                args.backup
            )
        })?;
        let into = work.join("download.age");
        eprintln!("restore: downloading {}…", args.backup);
        backups.targets().download(&args.backup, &into).await?;
        into
    };
    let scope = match &args.workspace {
        Some(s) => RestoreScope::Workspace(s.clone()),
        None => RestoreScope::Instance,
    };
    let what = match &scope {
        RestoreScope::Instance => "the whole instance".to_owned(),
        RestoreScope::Workspace(s) => format!("the workspace {s}"),
    };
    let show = |plan: &ideaweave_backup::RestorePlan, verb: &str| {
        say!(
            "{verb} backup {} taken {}: {what}",
            plan.backup_id,
            ideaweave_backup_time(plan.taken_at_ms)
        );
        for (t, now, then) in &plan.tables {
            if now != then {
                say!("  {t:<28} {now:>9} rows → {then:>9}");
            }
        }
        say!(
            "  files: {} from the backup, {} removed; erased since the backup and kept erased: {} keys, {} people in workspaces, {} accounts, {} workspaces; {} deleted accounts become former members",
            plan.files,
            plan.files_removed,
            plan.erased_keys,
            plan.erased_people,
            plan.erased_accounts,
            plan.deleted_workspaces.len(),
            plan.former_members
        );
    };
    // Without --yes, what would change is shown before the question; with it, the restore
    // runs at once (one verification of the backup, not two).
    if args.dry_run || !args.yes {
        let plan = ideaweave_backup::restore(
            app,
            &config.database_url,
            &object,
            identity.clone(),
            &scope,
            true,
            &work.join("plan"),
            &guard,
        )
        .await?;
        show(&plan, "would restore");
        if args.dry_run {
            say!("dry run: nothing was changed");
            return Ok(());
        }
        if !std::io::stdin().is_terminal() {
            bail!("a restore replaces live data: run it on a terminal to confirm, or pass --yes");
        }
        eprint!(
            "Replace {what} with this backup? Stop every other server node first. Type \"restore\" to go on: "
        );
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "restore" {
            bail!("not restored");
        }
    }
    eprintln!("restore: verifying and restoring…");
    let done = ideaweave_backup::restore(
        app,
        &config.database_url,
        &object,
        identity,
        &scope,
        false,
        &work.join("apply"),
        &guard,
    )
    .await?;
    show(&done, "restored");
    Ok(())
}

/// How often the scheduler looks at the clock and the missing-backup check runs.
pub const BACKUP_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Takes backups on `settings.schedule` and raises the missing-backup alert, for as long as
/// the runtime runs. Several nodes may run it: one claims each backup, the others find it
/// busy.
pub fn spawn_backups(
    app: App,
    settings: BackupSettings,
    every: std::time::Duration,
) -> anyhow::Result<()> {
    let backups = Backups::new(app.clone(), settings.clone())?;
    tokio::spawn(async move {
        let mut next = settings.schedule.next_after(app.now_ms());
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = app.now_ms();
            if next.is_some_and(|n| n <= now) {
                next = settings.schedule.next_after(now);
                match backups.run(&|_| {}).await {
                    Ok(r) => tracing::info!(backup = %r.name, "scheduled backup verified"),
                    Err(ideaweave_backup::BackupError::Busy(by)) => {
                        tracing::info!(%by, "another node is taking the scheduled backup")
                    }
                    Err(e) => tracing::error!(error = %e, "scheduled backup failed"),
                }
            }
            if let Err(e) = check_missing(&app, &settings).await {
                tracing::error!(error = %e, "could not check for missing backups");
            }
        }
    });
    Ok(())
}
