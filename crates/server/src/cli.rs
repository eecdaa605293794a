//! The command line.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use ideaweave_app::{App, AuditAction, CreatedWorkspace, SystemClock, Target, TokenInput};
use ideaweave_domain::{Role, TokenId, TokenScope};

use crate::config::{Config, OPTIONS, Overrides, env_name};

/// Ideaweave: idea campaigns and discussions where every data-protection promise is a feature.
#[derive(Debug, Parser)]
#[command(name = "ideaweave", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the configuration comes from.
#[derive(Debug, Args, Clone)]
pub struct ConfigArgs {
    /// A TOML configuration file (see `ideaweave config options`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the embedded database and uploaded files.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl ConfigArgs {
    pub(crate) fn load(&self, listen: Option<String>) -> anyhow::Result<Config> {
        Ok(Config::load(&self.overrides(listen))?)
    }

    fn overrides(&self, listen: Option<String>) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            data_dir: self.data_dir.clone(),
            listen,
        }
    }
}

/// What the `extract-text` child is told (see `ideaweave_extract::ChildLimits::args`).
#[derive(Debug, Args)]
struct ExtractTextArgs {
    #[arg(long)]
    format: ideaweave_extract::Format,
    #[arg(long)]
    memory_bytes: u64,
    #[arg(long)]
    cpu_seconds: u64,
    #[arg(long)]
    max_input_bytes: u64,
}

impl Cli {
    /// Runs the commands that must not start the async runtime first, and says how they
    /// ended; `None` for every other command. The text reader is one: it limits its own
    /// address space, which a runtime's worker threads would already have taken.
    pub fn run_before_runtime(&self) -> Option<std::process::ExitCode> {
        match &self.command {
            Command::ExtractText(a) => Some(ideaweave_extract::run_child(
                a.format,
                ideaweave_extract::ChildLimits {
                    memory_bytes: a.memory_bytes,
                    cpu_seconds: a.cpu_seconds,
                    max_input_bytes: a.max_input_bytes,
                },
            )),
            _ => None,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Seed a demo workspace (once) and print its logins.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations, or move the schema to a given version.
    Migrate {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Migrate up or down to exactly this version (0 = empty schema).
        #[arg(long, value_name = "VERSION")]
        to: Option<i64>,
        /// Only show which migrations are applied.
        #[arg(long, conflicts_with = "to")]
        status: bool,
    },
    /// Operator accounts and maintenance.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Workspaces.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Configuration: list options, or check the configuration in force.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Master key and workspace keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The tamper-evident audit log: verify, checkpoints, proofs, events, witness.
    #[command(subcommand)]
    Audit(crate::audit_cli::AuditCommand),
    /// Search indexes: rebuild from the database, show queue depth, lag and sizes (COL-05).
    #[command(subcommand)]
    Search(crate::search_cli::SearchCommand),
    /// Stored files: move them to another file store (S3-compatible storage for several nodes).
    #[command(subcommand)]
    Files(crate::files_cli::FilesCommand),
    /// Encrypted, verified backups (BAK-01…05): take one now, list, verify.
    #[command(subcommand)]
    Backup(crate::backup_cli::BackupCommand),
    /// Restore the whole instance, or one workspace, to a backup (BAK-05). Erased people stay
    /// erased (ENC-04). Asks for confirmation; --dry-run shows what would change.
    Restore(crate::backup_cli::RestoreArgs),
    /// Export a workspace as one archive of documented JSON plus its files (LIF-01).
    #[command(subcommand)]
    Export(ExportCommand),
    /// Create a workspace on this instance from an export archive (LIF-01). The archive is
    /// checked whole against its manifest first; a failure leaves nothing behind.
    Import {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The archive (`ideaweave export workspace … --out FILE`).
        file: PathBuf,
        /// Create it under this slug instead of the exported one.
        #[arg(long)]
        slug: Option<String>,
        /// Only check the archive against its manifest; import nothing.
        #[arg(long)]
        check: bool,
    },
    /// Check a workspace deletion certificate (LIF-02) offline: its signature by the instance's
    /// key, and the signed audit checkpoint inside it that covers the deletion. Needs no
    /// database; pass the instance's published key (`GET /api/v1/audit/key`) with --key.
    VerifyCertificate {
        /// The certificate, as received by email or from `ideaweave admin certificate`.
        file: PathBuf,
        /// The instance's audit verifier key; without it, the key named in the certificate is
        /// used and printed for you to compare.
        #[arg(long)]
        key: Option<String>,
    },
    /// Print the OpenAPI document of the JSON API.
    Openapi,
    /// Read one file's text for search: the server runs this itself, as a child process that
    /// limits itself first (COL-05). Reads the file on standard input.
    #[command(hide = true)]
    ExtractText(ExtractTextArgs),
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// Export one workspace: its people, structure, ideas, comments, votes, ratings, files,
    /// links, merges and invitations, with a manifest of SHA-256 checksums. Shows a progress
    /// bar on a terminal; recorded as `workspace.exported`.
    Workspace {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The workspace's slug.
        slug: String,
        /// Where to write the archive (`.tar.gz`); refused if it exists, unless --force.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Overwrite FILE if it exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Show where the master key comes from, its versions, how many keys each wraps, and the
    /// shred ledger.
    Status {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Rewrap every key under a new master key version (added to the key file), online and
    /// resumable: re-run it after an interruption to finish.
    RotateMaster {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Remove a master key version that wraps nothing any more from the key file.
    RetireMaster {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The version to remove.
        #[arg(value_name = "VERSION")]
        master_version: u32,
        /// Confirm: backups whose keys are wrapped by that version will no longer open.
        #[arg(long)]
        yes: bool,
    },
    /// Give a workspace a new KEK version and rewrap its data keys (no content is re-encrypted);
    /// online and resumable.
    RotateWorkspace {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The workspace's slug.
        workspace: String,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an operator account (runs the instance; cannot read workspace content).
    CreateOperator {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Forward a request or complaint that reached the operator to the workspace it concerns
    /// (DSR-06): it is recorded on the workspace's request desk and its owners are emailed.
    /// The operator does not answer it; the workspace, as controller, does.
    ForwardRequest {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The workspace's slug.
        #[arg(long)]
        workspace: String,
        /// What is asked: access, rectification, erasure, restriction, portability, objection,
        /// complaint or authority.
        #[arg(long)]
        kind: String,
        /// Who sent it, as they gave it (a name and an address).
        #[arg(long = "from")]
        requester: String,
        /// When it reached the operator (YYYY-MM-DD, UTC); today when left out.
        #[arg(long)]
        received: Option<String>,
        /// What it says (or pass --details-stdin).
        #[arg(long, default_value = "")]
        details: String,
        /// Read the details from standard input.
        #[arg(long, conflicts_with = "details")]
        details_stdin: bool,
    },
    /// Print the deletion certificate(s) of deleted workspaces with this slug (LIF-02), to hand
    /// out again.
    Certificate {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The deleted workspace's slug.
        slug: String,
    },
    /// Run the termination job now (LIF-02): reminders, deletions whose grace period ended,
    /// certificates. A running server does this hourly.
    RunTerminations {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Apply every workspace's retention periods now (LIF-03): purge deleted content, stale
    /// invitations and expired activity data. A running server does this hourly.
    EnforceRetention {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Append N synthetic operator events to the audit log, for benchmarks; prints the time.
    SeedAudit {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// How many events.
        #[arg(long, default_value_t = 1000)]
        entries: u64,
        /// Events per transaction (1 = each in its own).
        #[arg(long, default_value_t = 1)]
        batch: u64,
        /// Afterwards, time this many inclusion and consistency proofs.
        #[arg(long, default_value_t = 0)]
        time_proofs: u64,
    },
    /// Create a workspace with one discussion of N ideas, for load tests; prints a read token.
    SeedBenchmark {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Slug of the workspace to create.
        #[arg(long, default_value = "bench")]
        slug: String,
        /// How many ideas.
        #[arg(long, default_value_t = 1000)]
        ideas: usize,
        /// How many comments, spread over the ideas.
        #[arg(long, default_value_t = 0)]
        comments: usize,
        /// How many uploaded Markdown notes, spread over the ideas.
        #[arg(long, default_value_t = 0)]
        files: usize,
        /// Print a token that may also write (for benchmarks that upload).
        #[arg(long)]
        write_token: bool,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account.
    Create {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum WorkspaceCommand {
    /// Create a workspace. An existing account becomes its owner; otherwise an owner invitation
    /// link is printed.
    Create {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// URL name: lowercase letters, digits, hyphens.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// The owner's email address.
        #[arg(long)]
        owner_email: String,
    },
    /// List workspaces with their member counts (no content).
    List {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Add an existing account to a workspace.
    AddMember {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Workspace slug.
        #[arg(long)]
        workspace: String,
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// owner, admin, moderator, member or guest.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for a member and print it (shown once).
    Create {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The member's email address.
        #[arg(long)]
        user: String,
        /// Workspace slug.
        #[arg(long)]
        workspace: String,
        /// read or write.
        #[arg(long, value_parser = parse_scope)]
        scope: TokenScope,
        /// A label for the token.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke a token by id.
    Revoke {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Workspace slug.
        #[arg(long)]
        workspace: String,
        /// The token's id.
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// List every option with its environment variable and default.
    Options {
        /// Print the README's Markdown table instead.
        #[arg(long)]
        markdown: bool,
    },
    /// Load and validate the configuration, then print every option with the value in force
    /// and where it came from (flag, environment variable, file or default); secrets are never
    /// printed.
    Check {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn parse_scope(s: &str) -> Result<TokenScope, String> {
    s.parse()
}

fn read_password_stdin() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("cannot read the password from standard input")?;
    let pw = s.trim_end_matches(['\n', '\r']).to_owned();
    if pw.is_empty() {
        bail!("no password on standard input");
    }
    Ok(pw)
}

/// Logs go to standard error; `RUST_LOG`, when set and valid, wins over the configured filter.
fn init_logging(filter: &str) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) async fn app_for(cfg: &ConfigArgs) -> anyhow::Result<(App, Config)> {
    let config = cfg.load(None)?;
    let app = crate::build_app(&config, Arc::new(SystemClock)).await?;
    Ok((app, config))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Creates an operator or ordinary account, printing a generated password once.
async fn create_account(
    cfg: &ConfigArgs,
    email: &str,
    name: &str,
    password_stdin: bool,
    operator: bool,
) -> anyhow::Result<()> {
    let pw = if password_stdin {
        Some(read_password_stdin()?)
    } else {
        None
    };
    let (app, _) = app_for(cfg).await?;
    let (user, generated) = app
        .create_user(email, name, pw.as_deref(), operator)
        .await?;
    let kind = if operator { "operator" } else { "account" };
    say!("Created {kind} {} ({})", user.email, user.id);
    if let Some(p) = generated {
        say!("Generated password (shown once): {p}");
    }
    Ok(())
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { cfg, listen, demo } => {
            let config = cfg.load(listen)?;
            init_logging(&config.log_filter);
            crate::raise_open_files_limit();
            let app = crate::build_app(&config, Arc::new(SystemClock)).await?;
            crate::guard_audit_log(&app).await?;
            if demo {
                match app
                    .seed_demo()
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot seed the demo workspace: {e}"))?
                {
                    Some(logins) => {
                        say!(
                            "Seeded the demo workspace \"{}\". Sign in with any of these (password: {}):",
                            ideaweave_app::demo::DEMO_SLUG,
                            ideaweave_app::demo::DEMO_PASSWORD
                        );
                        for l in logins {
                            say!(
                                "  {:<10} {:<34} ({})",
                                l.role.as_str(),
                                l.email,
                                l.workspace
                            );
                        }
                    }
                    None => say!(
                        "The demo workspace \"{}\" exists already; its accounts use the password {} (e.g. owner@demo.ideaweave.test).",
                        ideaweave_app::demo::DEMO_SLUG,
                        ideaweave_app::demo::DEMO_PASSWORD
                    ),
                }
            }
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| {
                    format!(
                        "cannot listen on {} (set --listen or {})",
                        config.listen,
                        env_name("listen")
                    )
                })?;
            let addr = listener.local_addr()?;
            say!(
                "Ideaweave is listening on http://{addr} (database: {})",
                crate::redact(&config.database_url)
            );
            tracing::info!(%addr, "listening");
            let router = crate::router(app.clone(), &config);
            crate::spawn_audit_checkpoints(app.clone(), crate::AUDIT_CHECKPOINT_EVERY);
            crate::spawn_retention(app.clone(), crate::RETENTION_EVERY);
            crate::spawn_export_jobs(app.clone(), std::time::Duration::from_secs(2));
            crate::spawn_search_indexing(app.clone(), crate::SEARCH_INDEX_EVERY);
            if let Some(b) = &config.backup {
                crate::backup_cli::spawn_backups(
                    app.clone(),
                    b.clone(),
                    crate::backup_cli::BACKUP_CHECK_EVERY,
                )?;
                say!(
                    "Backups: {} on schedule {:?} (UTC)",
                    b.targets
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    b.schedule.pattern()
                );
            } else {
                tracing::warn!("backups are not configured (backup.recipients, backup.targets)");
            }
            if let Some(mail) = &config.mail {
                let mailer = crate::mail::SmtpMailer::new(mail)?;
                crate::mail::spawn_mail_sender(app.clone(), mailer, crate::mail::SEND_EVERY);
                crate::mail::spawn_digests(app.clone(), crate::mail::DIGESTS_EVERY);
            }
            let lease = crate::spawn_node_lease(app.clone());
            crate::serve(
                listener,
                router,
                config.http_limits.clone(),
                shutdown_signal(),
            )
            .await
            .context("the server stopped with an error")?;
            if let Ok(mut tx) = app.store().begin().await
                && tx.end_node_lease(&lease).await.is_ok()
            {
                let _ = tx.commit().await;
            }
            if let Ok(mut tx) = app.store().begin().await
                && tx.release_search_writers(&lease).await.is_ok()
            {
                let _ = tx.commit().await;
            }
            app.store().close().await;
            Ok(())
        }
        Command::Migrate { cfg, to, status } => {
            let config = cfg.load(None)?;
            let store = crate::open_store(&config, false).await?;
            if !status {
                match to {
                    Some(v) => store.migrate_to(v).await?,
                    None => store.migrate().await?,
                }
            }
            let state = store.migration_state().await?;
            for m in &state.migrations {
                say!(
                    "{:>4}  {:<8} {}",
                    m.version,
                    if m.applied { "applied" } else { "pending" },
                    m.description
                );
            }
            for v in &state.unknown_applied {
                say!("{v:>4}  unknown  (applied by a newer release)");
            }
            store.close().await;
            Ok(())
        }
        Command::Admin(AdminCommand::CreateOperator {
            cfg,
            email,
            name,
            password_stdin,
        }) => create_account(&cfg, &email, &name, password_stdin, true).await,
        Command::Admin(AdminCommand::EnforceRetention { cfg }) => {
            let (app, _) = app_for(&cfg).await?;
            let r = app.enforce_retention().await?;
            say!(
                "{} workspaces: removed {} deleted ideas, {} deleted comments, {} files, {} stale invitations, {} days of workspace activity data; {} days of instance activity data",
                r.workspaces,
                r.ideas,
                r.comments,
                r.files,
                r.invitations,
                r.activity_days,
                r.instance_activity_days
            );
            app.store().close().await;
            Ok(())
        }
        Command::Admin(AdminCommand::SeedAudit {
            cfg,
            entries,
            batch,
            time_proofs,
        }) => {
            let (app, _) = app_for(&cfg).await?;
            let secs = app
                .seed_audit_entries(entries, batch, &|n| {
                    if n % 10_000 == 0 || n == entries {
                        eprint!("\r{n} appended")
                    }
                })
                .await?;
            eprintln!();
            say!(
                "{{\"entries\":{entries},\"batch\":{batch},\"seconds\":{secs:.3},\"per_second\":{:.0}}}",
                entries as f64 / secs.max(1e-9)
            );
            if time_proofs > 0 {
                let p = app.time_audit_proofs(time_proofs).await?;
                say!(
                    "{{\"size\":{},\"inclusion_ms\":{:.3},\"inclusion_bytes\":{},\"inclusion_hashes\":{},\"consistency_ms\":{:.3},\"consistency_bytes\":{}}}",
                    p.size,
                    p.inclusion_ms,
                    p.inclusion_bytes,
                    p.inclusion_hashes,
                    p.consistency_ms,
                    p.consistency_bytes
                );
            }
            Ok(())
        }
        Command::Admin(AdminCommand::ForwardRequest {
            cfg,
            workspace,
            kind,
            requester,
            received,
            details,
            details_stdin,
        }) => {
            let kind: ideaweave_domain::RequestKind =
                kind.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let received_at = match received.as_deref() {
                None => None,
                Some(day) => Some(parse_day(day)?),
            };
            let details = if details_stdin {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("cannot read the details from standard input")?;
                s
            } else {
                details
            };
            let (app, _) = app_for(&cfg).await?;
            let id = app
                .forward_request(
                    &workspace,
                    ideaweave_app::ForwardedRequest {
                        kind,
                        requester,
                        details,
                        received_at,
                    },
                )
                .await?;
            say!(
                "forwarded to workspace {workspace} as request {id}; its owners are emailed and it is on its request desk. Do not answer it yourself."
            );
            Ok(())
        }
        Command::Admin(AdminCommand::SeedBenchmark {
            cfg,
            slug,
            ideas,
            comments,
            files,
            write_token,
        }) => {
            let (app, _) = app_for(&cfg).await?;
            let scope = if write_token {
                TokenScope::Write
            } else {
                TokenScope::Read
            };
            let (token, discussion) = app
                .seed_benchmark(&slug, ideas, comments, files, scope)
                .await?;
            say!(
                "{{\"token\":\"{token}\",\"discussion\":\"{discussion}\",\"workspace\":\"{slug}\"}}"
            );
            Ok(())
        }
        Command::User(UserCommand::Create {
            cfg,
            email,
            name,
            password_stdin,
        }) => create_account(&cfg, &email, &name, password_stdin, false).await,
        Command::Workspace(WorkspaceCommand::Create {
            cfg,
            slug,
            name,
            owner_email,
        }) => {
            let (app, _) = app_for(&cfg).await?;
            match app.create_workspace(&slug, &name, &owner_email).await? {
                CreatedWorkspace::OwnerAdded { id } => {
                    say!("Created workspace {slug} ({id}); {owner_email} is its owner.")
                }
                CreatedWorkspace::OwnerInvited { id, invitation } => {
                    say!(
                        "Created workspace {slug} ({id}). {owner_email} has no account yet; send them this link to become owner:"
                    );
                    if let Some(url) = &invitation.accept_url {
                        say!("{url}");
                    }
                }
            }
            Ok(())
        }
        Command::Workspace(WorkspaceCommand::List { cfg }) => {
            let (app, _) = app_for(&cfg).await?;
            for w in app.list_workspaces().await? {
                say!("{:<30} {:>6} members", w.slug, w.members);
            }
            Ok(())
        }
        Command::Workspace(WorkspaceCommand::AddMember {
            cfg,
            workspace,
            email,
            role,
        }) => {
            let (app, _) = app_for(&cfg).await?;
            app.add_member(&workspace, &email, role).await?;
            say!("{email} is now {role} of {workspace}.");
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            cfg,
            user,
            workspace,
            scope,
            name,
            expires_in_days,
        }) => {
            let (app, _) = app_for(&cfg).await?;
            let t = app
                .create_token_for(
                    &user,
                    &workspace,
                    TokenInput {
                        name,
                        scope,
                        expires_in_days,
                    },
                )
                .await?;
            say!("{}", t.secret);
            eprintln!(
                "Token {} ({} scope) for {user} in {workspace}. The secret above is shown once.",
                t.token.id,
                scope.as_str()
            );
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { cfg, workspace, id }) => {
            let id: TokenId = id
                .parse()
                .map_err(|_| anyhow::anyhow!("--id {id:?} is not a token id"))?;
            let (app, _) = app_for(&cfg).await?;
            app.revoke_token_by_id(&workspace, id).await?;
            say!("Revoked token {id}.");
            Ok(())
        }
        Command::Config(ConfigCommand::Options { markdown: true }) => {
            say_part!("{}", crate::config::options_markdown());
            Ok(())
        }
        Command::Config(ConfigCommand::Options { markdown: false }) => {
            for o in OPTIONS {
                say!(
                    "{:<26} {:<40} default {}\n{:26} {}",
                    o.name,
                    o.env(),
                    o.default.replace('`', ""),
                    "",
                    o.help.replace('`', "")
                );
            }
            Ok(())
        }
        Command::Config(ConfigCommand::Check { cfg }) => {
            for option in Config::effective(&cfg.overrides(None))? {
                say!("{option}");
            }
            Ok(())
        }
        Command::Keys(KeysCommand::Status { cfg }) => {
            let (app, config) = app_for(&cfg).await?;
            let status = app.keyring().status(app.store()).await?;
            say!("master key: {}", crate::describe(&config.master_key));
            say!(
                "versions held: {:?} (current: {})",
                status.master_versions,
                status.master_versions.last().copied().unwrap_or(0)
            );
            if status.wrapped_by_master_version.is_empty() {
                say!("no keys yet");
            }
            for (kind, version, count) in &status.wrapped_by_master_version {
                say!("master version {version} wraps {count} {kind} key(s)");
            }
            let current = status.master_versions.last().copied().unwrap_or(0);
            let retirable: Vec<u32> = status
                .master_versions
                .iter()
                .copied()
                .filter(|v| {
                    *v != current
                        && !status
                            .wrapped_by_master_version
                            .iter()
                            .any(|(_, u, _)| u == v)
                })
                .collect();
            if !retirable.is_empty() {
                say!(
                    "versions wrapping nothing (retire with `ideaweave keys retire-master VERSION`): {retirable:?}"
                );
            }
            say!(
                "shred ledger: {} ({} destroyed key(s))",
                status.shred_ledger.0,
                status.shred_ledger.1
            );
            Ok(())
        }
        Command::Keys(KeysCommand::RotateMaster { cfg }) => {
            let (app, config) = app_for(&cfg).await?;
            eprintln!(
                "rotating the master key ({})...",
                crate::describe(&config.master_key)
            );
            let report = app
                .keyring()
                .rotate_master(app.store(), &|n| eprint!("\r{n} key(s) rewrapped"))
                .await?;
            eprintln!();
            app.audit_operator(
                None,
                AuditAction::KeysMasterRotated,
                Target::Scope,
                serde_json::json!({"version": report.version, "rewrapped": report.rewrapped}),
            )
            .await?;
            say!(
                "{} master version {}; {} key(s) rewrapped. Older versions can be retired once `ideaweave keys status` shows they wrap nothing.",
                if report.added_version {
                    "added"
                } else {
                    "finished rotating to"
                },
                report.version,
                report.rewrapped
            );
            Ok(())
        }
        Command::Keys(KeysCommand::RetireMaster {
            cfg,
            master_version: version,
            yes,
        }) => {
            let (app, config) = app_for(&cfg).await?;
            if !yes {
                anyhow::bail!(
                    "retiring master version {version} removes it from {} for good; backups wrapped by it can no longer be opened. Re-run with --yes to confirm",
                    crate::describe(&config.master_key)
                );
            }
            app.keyring().retire_master(app.store(), version).await?;
            app.audit_operator(
                None,
                AuditAction::KeysMasterRetired,
                Target::Scope,
                serde_json::json!({"version": version}),
            )
            .await?;
            say!("master key version {version} retired");
            Ok(())
        }
        Command::Keys(KeysCommand::RotateWorkspace { cfg, workspace }) => {
            let (app, _) = app_for(&cfg).await?;
            let report = app
                .rotate_workspace_key(&workspace, &|n| eprint!("\r{n} data key(s) rewrapped"))
                .await?;
            eprintln!();
            say!(
                "workspace {workspace} is on KEK version {}: {} data key(s) rewrapped, {} old version(s) retired",
                report.kek_version,
                report.rewrapped,
                report.retired
            );
            Ok(())
        }
        Command::Audit(c) => crate::audit_cli::run(c).await,
        Command::Search(c) => crate::search_cli::run(c).await,
        Command::Files(c) => crate::files_cli::run(c).await,
        Command::Backup(cmd) => crate::backup_cli::run(cmd).await,
        Command::Restore(args) => crate::backup_cli::restore(args).await,
        Command::Export(ExportCommand::Workspace {
            cfg,
            slug,
            out,
            force,
        }) => export_workspace(&cfg, &slug, &out, force).await,
        Command::Import {
            cfg,
            file,
            slug,
            check,
        } => import_workspace(&cfg, &file, slug.as_deref(), check).await,
        Command::VerifyCertificate { file, key } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            match ideaweave_app::verify_certificate(&text, key.as_deref()) {
                Ok(v) => {
                    let c = &v.certificate;
                    say!(
                        "valid deletion certificate: workspace {} ({}) deleted {} at instance {}",
                        c.facts.slug,
                        c.facts.workspace_id,
                        utc_time(c.facts.deleted_at),
                        c.instance
                    );
                    let rows: Vec<String> = c
                        .facts
                        .rows
                        .iter()
                        .map(|(k, n)| format!("{n} {k}"))
                        .collect();
                    say!(
                        "erased: {}; {} file(s); every key crypto-shredded",
                        rows.join(", "),
                        c.facts.files
                    );
                    say!(
                        "audit: event {} is covered by the signed checkpoint of size {}",
                        c.facts.audit_event,
                        v.checkpoint_size
                    );
                    if key.is_none() {
                        // Anyone can sign a certificate with a key of their own: without the
                        // instance's key, this proves only that it is self-consistent.
                        bail!(
                            "NOT VERIFIED against the instance: the certificate is signed by the key it names, {}; \
                             pass the instance's published key (GET /api/v1/audit/key) with --key",
                            c.verifier_key
                        );
                    }
                    Ok(())
                }
                Err(why) => bail!(
                    "{} is not a valid deletion certificate: {why}",
                    file.display()
                ),
            }
        }
        Command::Admin(AdminCommand::Certificate { cfg, slug }) => {
            let (app, _) = app_for(&cfg).await?;
            let certs = app.deletion_certificates(&slug).await?;
            if certs.is_empty() {
                bail!("no deleted workspace {slug} has a certificate on this instance");
            }
            for c in certs {
                say_part!("{c}");
            }
            Ok(())
        }
        Command::Admin(AdminCommand::RunTerminations { cfg }) => {
            let (app, _) = app_for(&cfg).await?;
            let r = app.run_terminations().await?;
            say!(
                "{} reminder(s), {} workspace(s) deleted, {} certificate(s) issued",
                r.reminders,
                r.deleted,
                r.certificates
            );
            Ok(())
        }
        Command::Openapi => {
            say!(
                "{}",
                serde_json::to_string_pretty(&ideaweave_web::openapi())?
            );
            Ok(())
        }
        Command::ExtractText(_) => bail!("extract-text runs before the async runtime starts"),
    }
}

/// A progress bar of records done, on standard error (hidden when it is not a terminal).
pub(crate) fn progress_bar(what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} records, {elapsed_precise} elapsed, about {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

async fn export_workspace(
    cfg: &ConfigArgs,
    slug: &str,
    out: &std::path::Path,
    force: bool,
) -> anyhow::Result<()> {
    if out.exists() && !force {
        bail!(
            "{} exists; choose another file or pass --force to overwrite it",
            out.display()
        );
    }
    let (app, _) = app_for(cfg).await?;
    if let Err(ideaweave_app::AppError::NotFound(_)) = app.workspace_id(slug).await {
        bail!("there is no workspace {slug} on this instance (see `ideaweave workspace list`)");
    }
    // Written next to the target and renamed at the end, so a failed export leaves no
    // half-written archive under the name asked for.
    let partial = out.with_extension("partial");
    let file = tokio::fs::File::create(&partial)
        .await
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let bar = progress_bar("exporting");
    let result = app
        .export_workspace_by_operator(slug, tokio::io::BufWriter::new(file), &|p| {
            bar.set_length(p.total);
            bar.set_position(p.done);
        })
        .await;
    bar.finish_and_clear();
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
    };
    std::fs::rename(&partial, out)
        .with_context(|| format!("cannot move the archive to {}", out.display()))?;
    let counts: Vec<String> = summary
        .manifest
        .counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    say!(
        "exported {slug} to {} ({} bytes, {} entries): {}",
        out.display(),
        summary.bytes,
        summary.manifest.entries.len() + 1,
        counts.join(", ")
    );
    Ok(())
}

async fn import_workspace(
    cfg: &ConfigArgs,
    file: &std::path::Path,
    slug: Option<&str>,
    check: bool,
) -> anyhow::Result<()> {
    let (app, _) = app_for(cfg).await?;
    if check {
        let m = app.verify_export(file).await?;
        say!(
            "{} is a whole {} archive of workspace {} ({} entries, every checksum matches)",
            file.display(),
            m.format,
            m.workspace,
            m.entries.len() + 1
        );
        return Ok(());
    }
    let bar = progress_bar("importing");
    let result = app
        .import_workspace(file, slug, &|p| {
            bar.set_length(p.total);
            bar.set_position(p.done);
        })
        .await;
    bar.finish_and_clear();
    let summary = result?;
    let counts: Vec<String> = summary
        .counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    say!(
        "imported workspace {} ({}); {} account(s) created without a password (their people set one with a reset link)",
        summary.slug,
        counts.join(", "),
        summary.accounts_created
    );
    Ok(())
}

/// A day given as YYYY-MM-DD, as Unix milliseconds at its start (UTC).
fn parse_day(day: &str) -> anyhow::Result<i64> {
    let parts: Vec<i64> = day
        .split('-')
        .map(|p| p.parse::<i64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            anyhow::anyhow!("--received must be a date such as 2026-11-24, not {day:?}")
        })?;
    let [y, m, d] = parts[..] else {
        bail!("--received must be a date such as 2026-11-24, not {day:?}");
    };
    let days = ideaweave_domain::requests::civil_days(y, m, d);
    if ideaweave_domain::requests::civil_date(days) != (y, m, d) {
        bail!("--received: {day} is not a date");
    }
    Ok(days * ideaweave_domain::retention::DAY_MS)
}

/// A time as `YYYY-MM-DD HH:MM UTC`.
fn utc_time(ms: i64) -> String {
    let day = ms.div_euclid(ideaweave_domain::retention::DAY_MS);
    let (y, m, d) = ideaweave_domain::requests::civil_date(day);
    let minutes = ms.rem_euclid(ideaweave_domain::retention::DAY_MS) / 60_000;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}
