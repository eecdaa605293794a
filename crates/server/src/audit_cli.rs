//! `ideaweave audit …`: verify the log, sign checkpoints, issue and check proofs, read events,
//! and run a witness (AUD-01, AUD-02).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use ideaweave_app::{App, AuditQuery, ProofFile, VerifierKey};

use crate::cli::ConfigArgs;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the tree from the stored entries and check it against every signed checkpoint;
    /// exits 0 only when nothing was edited, removed, inserted, reordered or truncated.
    Verify {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Also check against this signed checkpoint, kept outside the operator's reach.
        #[arg(long, value_name = "FILE")]
        from_checkpoint: Option<PathBuf>,
        /// Check signatures with this verifier key instead of the instance's own.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Sign a checkpoint of the log now (unless the latest covers it) and print it.
    Checkpoint {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Print the verifier key auditors and witnesses check checkpoints with.
    Key {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Write a self-contained proof file: that entry INDEX is in the log, or (with --from-size)
    /// that the log only grew between two signed checkpoints.
    Proof {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The entry to prove included.
        #[arg(
            long,
            conflicts_with = "from_size",
            required_unless_present = "from_size"
        )]
        index: Option<u64>,
        /// The size of the older signed checkpoint of a consistency proof.
        #[arg(long)]
        from_size: Option<u64>,
        /// The size of the newer signed checkpoint (default: the latest).
        #[arg(long, requires = "from_size")]
        to_size: Option<u64>,
        /// Where to write the proof (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Check a proof file offline; needs no configuration or database.
    VerifyProof {
        /// The proof file.
        file: PathBuf,
        /// The verifier key you trust (obtained independently); without it, the key the file
        /// names is used, which only shows the file is self-consistent.
        #[arg(long)]
        key: Option<String>,
    },
    /// List audit events, newest first: instance events, or one workspace's.
    Events {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// A workspace's events instead of the instance's.
        #[arg(long)]
        workspace: Option<String>,
        /// Only this action.
        #[arg(long)]
        action: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Act as a witness: keep the checkpoints seen in DIR and fail if a new one is not
    /// consistent with them. With --url it follows another instance over HTTP, needing no
    /// access to its database.
    Witness {
        /// Where the witness keeps its state (the latest checkpoint and the pinned key).
        dir: PathBuf,
        /// The instance to follow, e.g. https://ideas.example.org.
        #[arg(long)]
        url: Option<String>,
        /// The verifier key to pin (otherwise the one already pinned in DIR, or, on the first
        /// run, the one the instance serves).
        #[arg(long)]
        key: Option<String>,
        #[command(flatten)]
        cfg: ConfigArgs,
    },
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn parse_key(text: &str) -> anyhow::Result<VerifierKey> {
    VerifierKey::parse(text).map_err(|e| anyhow::anyhow!("{e}"))
}

fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Where a witness gets checkpoints and proofs from.
enum Source {
    Http {
        client: reqwest::Client,
        base: String,
    },
    Local(App),
}

impl Source {
    async fn get(&self, path: &str) -> anyhow::Result<String> {
        let Source::Http { client, base } = self else {
            bail!("not an HTTP source");
        };
        let url = format!("{base}/api/v1{path}");
        let r = client
            .get(&url)
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = r.status();
        let body = r
            .text()
            .await
            .with_context(|| format!("cannot read {url}"))?;
        if !status.is_success() {
            bail!("{url} answered {status}: {body}");
        }
        Ok(body)
    }

    async fn checkpoint(&self) -> anyhow::Result<String> {
        match self {
            Source::Local(app) => Ok(match app.audit_checkpoint().await? {
                Some(n) => n,
                None => app.sign_audit_checkpoint().await?,
            }),
            Source::Http { .. } => self.get("/audit/checkpoint").await,
        }
    }

    async fn key(&self) -> anyhow::Result<String> {
        match self {
            Source::Local(app) => Ok(app.audit_verifier_key()?.to_string()),
            Source::Http { .. } => Ok(self.get("/audit/key").await?.trim().to_owned()),
        }
    }

    async fn consistency(&self, from: u64, to: u64) -> anyhow::Result<ProofFile> {
        match self {
            Source::Local(app) => Ok(app.audit_consistency_proof(from, Some(to)).await?),
            Source::Http { .. } => {
                let body = self
                    .get(&format!("/audit/consistency?from={from}&to={to}"))
                    .await?;
                serde_json::from_str(&body).context("the consistency proof is not a proof file")
            }
        }
    }
}

/// One witness round; returns what it concluded.
async fn witness(dir: &Path, source: &Source, key: Option<String>) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key_path = dir.join("key");
    let cp_path = dir.join("checkpoint");
    let key_text = match key {
        Some(k) => k,
        None if key_path.exists() => read(&key_path)?.trim().to_owned(),
        None => source.key().await?,
    };
    let key = parse_key(&key_text)?;
    if key_path.exists() && read(&key_path)?.trim() != key.to_string() {
        bail!(
            "the key given differs from the one pinned in {}",
            key_path.display()
        );
    }
    let note = source.checkpoint().await?;
    let new = key
        .verify(&note)
        .map_err(|e| anyhow::anyhow!("the new checkpoint does not verify: {e}"))?;
    let verdict = if cp_path.exists() {
        let old_note = read(&cp_path)?;
        let old = key
            .verify(&old_note)
            .map_err(|e| anyhow::anyhow!("the stored checkpoint does not verify: {e}"))?;
        if new.size < old.size {
            bail!(
                "the log shrank: it was at {} entries, now at {}: the log was rolled back",
                old.size,
                new.size
            );
        }
        if new.size == old.size {
            if new.root != old.root {
                bail!(
                    "two different logs of {} entries were signed: the log forked",
                    new.size
                );
            }
            format!("unchanged at {} entries", new.size)
        } else {
            let proof = source.consistency(old.size, new.size).await.map_err(|e| {
                anyhow::anyhow!(
                    "the log cannot prove that it extends the checkpoint of {} entries this witness saw ({e}): \
                     its history was rewritten or its checkpoints deleted",
                    old.size
                )
            })?;
            match proof
                .verify(Some(&key))
                .map_err(|e| {
                    anyhow::anyhow!(
                        "the consistency proof does not verify ({e}): the log's history was rewritten since the checkpoint of {} entries this witness saw",
                        old.size
                    )
                })?
            {
                ideaweave_app::Verified::Consistent { old: o, new: n } if o == old && n == new => {}
                _ => bail!("the consistency proof is about other checkpoints than the ones seen"),
            }
            format!("consistent: {} → {} entries", old.size, new.size)
        }
    } else {
        format!("first checkpoint seen: {} entries", new.size)
    };
    write_atomically(&key_path, &format!("{key}\n"))?;
    write_atomically(&cp_path, &note)?;
    Ok(verdict)
}

pub async fn run(cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify {
            cfg,
            from_checkpoint,
            key,
        } => {
            let (app, _) = crate::cli::app_for(&cfg).await?;
            let external = from_checkpoint.as_deref().map(read).transpose()?;
            let key = key.as_deref().map(parse_key).transpose()?;
            let report = app
                .verify_audit(external.as_deref(), key.as_ref(), &|done, total| {
                    eprint!("\r{done} / {total} entries checked")
                })
                .await?;
            eprintln!();
            if !report.missing_guards.is_empty() {
                eprintln!(
                    "the database's append-only guards of the audit log were dropped or disabled: {} \
                     (someone changed the schema behind the application's back; `serve` puts them back at start)",
                    report.missing_guards.join(", ")
                );
            }
            match report.problem {
                None if !report.missing_guards.is_empty() => {
                    bail!("the audit log's entries verify, but its guards were removed")
                }
                None => {
                    say!(
                        "the audit log verifies: {} entries, {} signed checkpoint(s) matched",
                        report.entries,
                        report.checkpoints
                    );
                    Ok(())
                }
                Some(p) => bail!("the audit log fails at index {}: {}", p.index, p.what),
            }
        }
        AuditCommand::Checkpoint { cfg } => {
            let (app, _) = crate::cli::app_for(&cfg).await?;
            say_part!("{}", app.sign_audit_checkpoint().await?);
            Ok(())
        }
        AuditCommand::Key { cfg } => {
            let (app, _) = crate::cli::app_for(&cfg).await?;
            say!("{}", app.audit_verifier_key()?);
            Ok(())
        }
        AuditCommand::Proof {
            cfg,
            index,
            from_size,
            to_size,
            output,
        } => {
            let (app, _) = crate::cli::app_for(&cfg).await?;
            let proof = match (index, from_size) {
                (Some(i), _) => app.audit_inclusion_proof(i).await?,
                (None, Some(from)) => app.audit_consistency_proof(from, to_size).await?,
                (None, None) => bail!("give --index or --from-size"),
            };
            let json = serde_json::to_string_pretty(&proof)?;
            match output {
                Some(path) => {
                    write_atomically(&path, &format!("{json}\n"))?;
                    eprintln!("wrote {}", path.display());
                }
                None => say!("{json}"),
            }
            Ok(())
        }
        AuditCommand::VerifyProof { file, key } => {
            let proof: ProofFile = serde_json::from_str(&read(&file)?)
                .with_context(|| format!("{} is not an audit proof file", file.display()))?;
            let key = key.as_deref().map(parse_key).transpose()?;
            match proof.verify(key.as_ref()) {
                Ok(ideaweave_app::Verified::Included { entry, checkpoint }) => {
                    say!(
                        "verified: entry {} ({} {} {}) is in the log {} of {} entries",
                        entry.index,
                        entry.action,
                        entry.target,
                        entry.outcome,
                        checkpoint.origin,
                        checkpoint.size
                    );
                }
                Ok(ideaweave_app::Verified::Consistent { old, new }) => {
                    say!(
                        "verified: the log {} of {} entries extends its state at {} entries",
                        new.origin,
                        new.size,
                        old.size
                    );
                }
                Err(e) => bail!("the proof does not verify: {e}"),
            }
            if key.is_none() {
                eprintln!(
                    "note: checked against the key the file names; pass --key with a key you obtained independently"
                );
            }
            Ok(())
        }
        AuditCommand::Events {
            cfg,
            workspace,
            action,
            limit,
        } => {
            let (app, _) = crate::cli::app_for(&cfg).await?;
            let ws = match workspace {
                Some(slug) => Some(app.workspace_id(&slug).await?),
                None => None,
            };
            let page = app
                .instance_audit(
                    ws,
                    AuditQuery {
                        action,
                        limit: Some(limit),
                        ..AuditQuery::default()
                    },
                )
                .await?;
            for e in page.items {
                say!("{}", serde_json::to_string(&e)?);
            }
            Ok(())
        }
        AuditCommand::Witness { dir, url, key, cfg } => {
            let source = match url {
                Some(u) => Source::Http {
                    client: reqwest::Client::builder()
                        .timeout(std::time::Duration::from_secs(30))
                        .build()?,
                    base: u.trim_end_matches('/').to_owned(),
                },
                None => Source::Local(crate::cli::app_for(&cfg).await?.0),
            };
            say!("{}", witness(&dir, &source, key).await?);
            Ok(())
        }
    }
}
