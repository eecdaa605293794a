//! `ideaweave files migrate --to …`: moves an instance's stored files (uploads, previews, sealed
//! search indexes) to another file store, such as S3-compatible storage shared by several nodes.
//!
//! Every object is copied as it is stored (sealed: nothing is decrypted on the way), then read
//! back from the target and compared by SHA-256 with what was read from the source. Each
//! verified object is recorded in a journal in the data directory, so an interrupted run (Ctrl-C,
//! a lost connection, a killed process) resumes where it stopped, and a second run after the
//! instance was stopped copies only what changed since the first.

use std::collections::HashMap;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use clap::Subcommand;
use futures_util::TryStreamExt;
use ideaweave_store::{FileStore, FileStoreError, StoredObject};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::cli::ConfigArgs;
use crate::config::FilesLocation;

#[derive(Debug, Subcommand)]
pub enum FilesCommand {
    /// Copy every stored file to another file store, verifying each by its SHA-256, with a
    /// progress bar. Resumable: run it again after an interruption, and once more after
    /// stopping the instance to copy what changed meanwhile; then set `files.store` to the
    /// target on every node. The source is left as it is.
    Migrate {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The target: `s3://bucket/prefix` (credentials from the `files.s3_*` options) or a
        /// directory.
        #[arg(long, value_name = "STORE")]
        to: String,
        /// Also delete from the target what an earlier run copied and the source no longer
        /// holds (deleted attachments, erased people's files). Refused when the source lists
        /// no file at all.
        #[arg(long)]
        remove_missing: bool,
    },
}

pub async fn run(cmd: FilesCommand) -> anyhow::Result<()> {
    match cmd {
        FilesCommand::Migrate {
            cfg,
            to,
            remove_missing,
        } => {
            let config = cfg.load(None)?;
            let target = FilesLocation::parse(&to, &config.files_s3)?;
            if same_store(&target, &config.files) {
                bail!("files are already kept in {target}: name another store with --to");
            }
            // A source directory that is missing (unmounted, moved, mistyped) is not an empty
            // instance: opening it would create it.
            if let FilesLocation::Dir(d) = &config.files
                && !d.is_dir()
            {
                bail!(
                    "the files directory {} does not exist: check files.store (or --data-dir)",
                    d.display()
                );
            }
            let from = crate::open_file_store(&config.files).await?;
            let to = crate::open_file_store(&target).await?;
            let journal = journal_path(&config.data_dir, from.as_ref(), to.as_ref());
            say!(
                "copying the files of {} to {}",
                from.describe(),
                to.describe()
            );
            let stop = Arc::new(AtomicBool::new(false));
            let stopping = stop.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!(
                        "stopping after the file being copied; run the command again to resume"
                    );
                    stopping.store(true, Ordering::SeqCst);
                }
            });
            let bar = byte_bar();
            let options = MigrationOptions { remove_missing };
            let report = migrate(from.as_ref(), to.as_ref(), &journal, options, &mut |p| {
                bar.set_length(p.total_bytes);
                bar.set_position(p.done_bytes);
                bar.set_message(format!("{}/{} files", p.done_objects, p.total_objects));
                if stop.load(Ordering::SeqCst) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .await?;
            bar.finish_and_clear();
            say!("{}", report.summary());
            if report.interrupted {
                bail!("interrupted: run the same command again to copy the rest");
            }
            say!(
                "next: stop the instance, run this command once more with --remove-missing (it copies only what is new and removes what was deleted meanwhile), set files.store = \"{to_value}\" on every node and start them; keep the old store until the instance runs well on the new one",
                to_value = to_value(&target)
            );
            Ok(())
        }
    }
}

/// Whether `a` and `b` are the same store (directories compared as resolved paths).
fn same_store(a: &FilesLocation, b: &FilesLocation) -> bool {
    match (a, b) {
        (FilesLocation::Dir(x), FilesLocation::Dir(y)) => {
            let resolve = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
            resolve(x) == resolve(y)
        }
        (FilesLocation::S3(x), FilesLocation::S3(y)) => {
            (&x.bucket, &x.prefix, &x.access.endpoint) == (&y.bucket, &y.prefix, &y.access.endpoint)
        }
        _ => false,
    }
}

/// The value to write into `files.store` for `target`.
fn to_value(target: &FilesLocation) -> String {
    match target {
        FilesLocation::Dir(d) => d.display().to_string(),
        FilesLocation::S3(s3) => format!("s3://{}/{}", s3.bucket, s3.prefix),
    }
}

/// A progress bar of bytes copied, on standard error (hidden when it is not a terminal).
fn byte_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes}, {binary_bytes_per_sec}, about {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// Where the journal of a migration from `from` to `to` is kept: in the data directory, one
/// per pair of stores.
pub fn journal_path(data_dir: &Path, from: &dyn FileStore, to: &dyn FileStore) -> PathBuf {
    let pair = format!("{}\n{}", from.describe(), to.describe());
    let id = hex::encode(&Sha256::digest(pair.as_bytes())[..8]);
    data_dir.join(format!("files-migration-{id}.journal"))
}

/// How far a migration is.
#[derive(Debug, Clone, Copy)]
pub struct MigrationProgress {
    /// Objects handled (copied, or found copied by an earlier run).
    pub done_objects: u64,
    /// Objects in the source.
    pub total_objects: u64,
    /// Bytes handled.
    pub done_bytes: u64,
    /// Bytes in the source.
    pub total_bytes: u64,
}

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Objects copied and verified by this run.
    pub copied: u64,
    /// Their bytes.
    pub copied_bytes: u64,
    /// Objects an earlier run had copied and verified, unchanged since.
    pub already: u64,
    /// Objects an earlier run copied that the source no longer holds (deleted meanwhile,
    /// such as an erased person's files): deleted from the target with
    /// [`MigrationOptions::remove_missing`], otherwise left and counted in `missing`.
    pub removed: u64,
    /// Such objects left in the target.
    pub missing: u64,
    /// Whether the run stopped before the end.
    pub interrupted: bool,
}

impl MigrationReport {
    /// The report in words.
    pub fn summary(&self) -> String {
        format!(
            "{} files ({:.1} MiB) copied and verified, {} already copied by an earlier run, {} no longer in the source and removed from the target, {} no longer in the source and left in the target (--remove-missing removes them){}",
            self.copied,
            self.copied_bytes as f64 / (1 << 20) as f64,
            self.already,
            self.removed,
            self.missing,
            if self.interrupted {
                "; interrupted"
            } else {
                ""
            }
        )
    }
}

/// One verified copy: its size and SHA-256 as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Copied {
    size: u64,
    sha256: String,
}

/// The journal: a header naming the target, then one line per verified object,
/// `<key> <size> <sha256>`.
struct Journal {
    path: PathBuf,
    header: String,
    done: HashMap<String, Copied>,
}

impl Journal {
    fn load(path: &Path, from: &dyn FileStore, to: &dyn FileStore) -> anyhow::Result<Self> {
        let header = format!(
            "ideaweave files migration v1 from {} to {}",
            from.describe(),
            to.describe()
        );
        let mut done = HashMap::new();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut lines = text.lines();
                if lines.next() != Some(header.as_str()) {
                    bail!(
                        "{} is the journal of a migration from or to another store; move it away to start afresh",
                        path.display()
                    );
                }
                // A line cut short by a crash is ignored: that object is copied again.
                for line in lines {
                    let mut parts = line.split(' ');
                    if let (Some(key), Some(size), Some(sha256), None) =
                        (parts.next(), parts.next(), parts.next(), parts.next())
                        && let Ok(size) = size.parse()
                        && sha256.len() == 64
                    {
                        done.insert(
                            key.to_owned(),
                            Copied {
                                size,
                                sha256: sha256.to_owned(),
                            },
                        );
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).context(format!("cannot read {}", path.display())),
        }
        Ok(Self {
            path: path.to_owned(),
            header,
            done,
        })
    }

    /// Writes the journal anew (what is done, without removed objects), atomically.
    fn rewrite(&self) -> anyhow::Result<()> {
        let tmp = self.path.with_extension("journal.tmp");
        let mut out = String::with_capacity(64 + self.done.len() * 120);
        out.push_str(&self.header);
        out.push('\n');
        for (key, c) in &self.done {
            out.push_str(&format!("{key} {} {}\n", c.size, c.sha256));
        }
        let mut file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(out.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        ideaweave_store::make_private_file(&tmp)?;
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(())
    }

    fn appender(&self) -> anyhow::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

/// How a migration treats what the source no longer holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct MigrationOptions {
    /// Delete from the target what an earlier run copied and the source no longer lists.
    pub remove_missing: bool,
}

/// Copies every object of `from` that `to` does not hold yet (by the journal at `journal`),
/// verifying each; `progress` is told after each object and stops the run with
/// `ControlFlow::Break` (between objects: nothing is left half-written).
pub async fn migrate(
    from: &dyn FileStore,
    to: &dyn FileStore,
    journal: &Path,
    options: MigrationOptions,
    progress: &mut (dyn FnMut(MigrationProgress) -> ControlFlow<()> + Send),
) -> anyhow::Result<MigrationReport> {
    let mut log = Journal::load(journal, from, to)?;
    let objects: Vec<StoredObject> = from
        .list()
        .try_collect()
        .await
        .with_context(|| format!("cannot list the files in {}", from.describe()))?;
    let mut report = MigrationReport::default();
    // Objects copied earlier that the source no longer holds go from the target too: an
    // erased person's files must not outlive their erasure in the new store.
    let present: std::collections::HashSet<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    let gone: Vec<String> = log
        .done
        .keys()
        .filter(|k| !present.contains(k.as_str()))
        .cloned()
        .collect();
    if options.remove_missing && objects.is_empty() && !gone.is_empty() {
        bail!(
            "{} lists no files, yet {} were copied from it earlier: nothing was removed; check that it is the right store",
            from.describe(),
            gone.len()
        );
    }
    for key in &gone {
        if !options.remove_missing {
            report.missing += 1;
            continue;
        }
        to.delete(key)
            .await
            .with_context(|| format!("cannot remove {key} from {}", to.describe()))?;
        log.done.remove(key);
        report.removed += 1;
    }
    log.rewrite()?;
    let mut appender = log.appender()?;
    let mut p = MigrationProgress {
        done_objects: 0,
        total_objects: objects.len() as u64,
        done_bytes: 0,
        total_bytes: objects.iter().map(|o| o.size).sum(),
    };
    for object in &objects {
        if progress(p).is_break() {
            report.interrupted = true;
            break;
        }
        let earlier = log.done.get(&object.key).filter(|c| c.size == object.size);
        if earlier.is_some() {
            report.already += 1;
        } else {
            // `None`: deleted at the source since it was listed; nothing to copy.
            if let Some(c) = copy_verified(from, to, &object.key).await? {
                writeln!(appender, "{} {} {}", object.key, c.size, c.sha256)
                    .with_context(|| format!("cannot write {}", journal.display()))?;
                report.copied += 1;
                report.copied_bytes += c.size;
            }
        }
        p.done_objects += 1;
        p.done_bytes += object.size;
    }
    if !report.interrupted {
        let _ = progress(p);
    }
    appender
        .sync_all()
        .with_context(|| format!("cannot write {}", journal.display()))?;
    Ok(report)
}

/// Copies `key`, then reads the copy back and compares digests; a copy that differs is
/// deleted and the migration stops. `None` when the source no longer has the object.
async fn copy_verified(
    from: &dyn FileStore,
    to: &dyn FileStore,
    key: &str,
) -> anyhow::Result<Option<Copied>> {
    let mut reader = match from.open(key).await {
        Ok(r) => r,
        Err(FileStoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e).context(format!("cannot read {key}")),
    };
    let mut writer = to
        .create(key)
        .await
        .with_context(|| format!("cannot write {key} to {}", to.describe()))?;
    let mut sha = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader
            .read(&mut buf)
            .await
            .with_context(|| format!("cannot read {key} from {}", from.describe()))?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        size += n as u64;
        writer
            .write(&buf[..n])
            .await
            .with_context(|| format!("cannot write {key} to {}", to.describe()))?;
    }
    writer
        .commit()
        .await
        .with_context(|| format!("cannot write {key} to {}", to.describe()))?;
    let written = hex::encode(sha.finalize());
    let (read_back, read_size) = digest_of(to, key, &mut buf).await?;
    if read_back != written || read_size != size {
        let _ = to.delete(key).await;
        bail!(
            "{key} reads back from {} differently from what was written ({read_size} bytes, SHA-256 {read_back}; expected {size} bytes, {written}): the copy was removed; check the target",
            to.describe()
        );
    }
    Ok(Some(Copied {
        size,
        sha256: written,
    }))
}

/// The SHA-256 and size of the object `key` as `store` returns it.
async fn digest_of(
    store: &dyn FileStore,
    key: &str,
    buf: &mut [u8],
) -> anyhow::Result<(String, u64)> {
    let mut reader = store
        .open(key)
        .await
        .with_context(|| format!("cannot read back {key} from {}", store.describe()))?;
    let mut sha = Sha256::new();
    let mut size = 0u64;
    loop {
        let n = reader
            .read(buf)
            .await
            .with_context(|| format!("cannot read back {key} from {}", store.describe()))?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(sha.finalize()), size))
}
