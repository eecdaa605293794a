//! `ideaweave search …`: rebuild workspaces' search indexes from the database and show how
//! far indexing is (COL-05).

use anyhow::Context;
use clap::Subcommand;
use ideaweave_app::App;

use crate::cli::ConfigArgs;

#[derive(Debug, Subcommand)]
pub enum SearchCommand {
    /// Rebuild search indexes from the database now, with a progress bar: one workspace's, or
    /// every workspace's. Searches keep using the old index until the new one is committed.
    Reindex {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Only this workspace.
        #[arg(long, value_name = "SLUG")]
        workspace: Option<String>,
    },
    /// Show each workspace's queue depth, lag, documents, sealed index size and files whose
    /// text could not be read.
    Status {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// List a workspace's files whose text could not be read, and why (by id: file names are
    /// the customer's, sealed). Such files are found by their names only.
    Files {
        #[command(flatten)]
        cfg: ConfigArgs,
        #[arg(long, value_name = "SLUG")]
        workspace: String,
        /// Read them again (after raising a `search.extract_*` limit, or once the reader runs
        /// on this node again).
        #[arg(long)]
        retry: bool,
    },
}

pub async fn run(cmd: SearchCommand) -> anyhow::Result<()> {
    match cmd {
        SearchCommand::Reindex { cfg, workspace } => {
            let (app, _) = crate::cli::app_for(&cfg).await?;
            let targets = match workspace {
                Some(slug) => vec![(
                    app.workspace_id_of(&slug)
                        .await
                        .with_context(|| format!("no workspace {slug:?}"))?,
                    slug,
                )],
                None => app.workspace_slugs().await?,
            };
            let writer = format!("{} (reindex)", ideaweave_backup::this_holder());
            for (ws, slug) in targets {
                let bar = crate::cli::progress_bar(&slug);
                let mut progress = |done: u64, total: u64| {
                    bar.set_length(total);
                    bar.set_position(done);
                };
                let n = app
                    .rebuild_search_index(ws, &writer, &mut progress)
                    .await
                    .with_context(|| format!("rebuilding the search index of {slug}"))?;
                bar.finish_and_clear();
                say!("{slug}: {n} documents indexed");
            }
            Ok(())
        }
        SearchCommand::Status { cfg } => {
            let (app, _) = crate::cli::app_for(&cfg).await?;
            print_status(&app).await
        }
        SearchCommand::Files {
            cfg,
            workspace,
            retry,
        } => {
            let (app, _) = crate::cli::app_for(&cfg).await?;
            let ws = app
                .workspace_id_of(&workspace)
                .await
                .with_context(|| format!("no workspace {workspace:?}"))?;
            if retry {
                let n = app.retry_unreadable_files(ws).await?;
                say!(
                    "{workspace}: {n} files queued to be read again; the indexer reads them within seconds"
                );
                return Ok(());
            }
            let unreadable: Vec<_> = app
                .search_file_texts(ws)
                .await?
                .into_iter()
                .filter_map(|f| f.unreadable.map(|why| (f.attachment, why)))
                .collect();
            if unreadable.is_empty() {
                say!("{workspace}: the text of every file read so far could be read");
            }
            for (id, why) in unreadable {
                say!("{id}  {}", explain_unreadable(&why));
            }
            Ok(())
        }
    }
}

async fn print_status(app: &App) -> anyhow::Result<()> {
    let rows = app.search_status().await?;
    say!(
        "{:<24} {:>8} {:>8} {:>10} {:>12} {:>10} {:>8}  state",
        "workspace",
        "queued",
        "lag s",
        "documents",
        "sealed KiB",
        "commits",
        "unread"
    );
    for r in rows {
        let state = match (&r.last_error, r.rebuild, &r.writer) {
            (Some(e), _, _) => format!("failed: {e}"),
            (None, true, _) => "waiting for a rebuild".to_owned(),
            (None, false, Some(w)) => format!("indexing on {w}"),
            (None, false, None) => "ready".to_owned(),
        };
        say!(
            "{:<24} {:>8} {:>8} {:>10} {:>12} {:>10} {:>8}  {state}",
            r.slug
                .unwrap_or_else(|| format!("(deleted {})", r.workspace)),
            r.queued,
            r.lag_secs.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            r.documents,
            r.sealed_bytes / 1024,
            r.generation,
            r.unreadable_files
        );
    }
    Ok(())
}

/// An unreadable file's reason code, in words.
fn explain_unreadable(code: &str) -> String {
    match ideaweave_extract::Unreadable::from_code(code) {
        Some(r) => format!("{code}: {r}"),
        None if code == ideaweave_app::READER_UNAVAILABLE => format!(
            "{code}: the reader could not run on the node (see its log); retry with --retry"
        ),
        None => code.to_owned(),
    }
}
