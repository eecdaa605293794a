//! The backup archive: a tar stream inside age encryption, written and read in one pass.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{BackupError, BackupResult};

/// The format name in `backup.json`; a reader refuses formats it does not know.
pub const BACKUP_FORMAT: &str = "ideaweave.backup/1";

/// `backup.json`, the first entry: what the backup is and what made it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// [`BACKUP_FORMAT`].
    pub format: String,
    /// The backup's id.
    pub id: String,
    /// When the snapshot was taken (Unix ms).
    pub created_at_ms: i64,
    /// The same, readable (UTC).
    pub created_at: String,
    /// The program that took it.
    pub program_version: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// The newest schema migration the database had.
    pub schema_version: i64,
    /// The instance's own recipient (it verifies with the matching identity).
    pub instance_recipient: String,
    /// How many destroyed keys the shred ledger listed when the backup was taken: a restore
    /// refuses to run with a ledger that lists fewer (ENC-04).
    #[serde(default)]
    pub shred_ledger_entries: u64,
}

/// One entry's size and digest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryDigest {
    /// Its path in the archive.
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// `digest.json`, the last entry: what the content was and what every entry holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Trailer {
    /// SHA-256 over the database digest and the files digest: what a restore must reproduce.
    pub content_digest: String,
    /// The database's content digest (every row of every table).
    pub database_digest: String,
    /// The digest of the stored files (each key with its content's SHA-256).
    pub files_digest: String,
    /// Rows per table.
    pub rows: BTreeMap<String, u64>,
    /// Each table's own digest.
    pub tables: BTreeMap<String, String>,
    /// Stored files included.
    pub files: u64,
    /// Their bytes.
    pub file_bytes: u64,
    /// Files the snapshot's rows named that were deleted before they could be copied (their
    /// content was erased or expired meanwhile; the restore leaves them absent).
    pub files_gone: Vec<String>,
    /// Entries of the audit log in the snapshot.
    pub audit_entries: u64,
    /// Every entry before this one.
    pub entries: Vec<EntryDigest>,
}

/// The content digest from its two parts.
pub(crate) fn content_digest(database: &str, files: &str) -> String {
    hex(&Sha256::digest(
        format!("database {database}\nfiles {files}\n").as_bytes(),
    ))
}

/// Accumulates the files digest: keys must come in sorted order.
#[derive(Default)]
pub(crate) struct FilesDigest(Sha256);

impl FilesDigest {
    pub(crate) fn add(&mut self, key: &str, bytes: u64, sha256: &str) {
        self.0
            .update(format!("{key} {bytes} {sha256}\n").as_bytes());
    }
    pub(crate) fn finish(self) -> String {
        hex(&self.0.finalize())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the writer is sent.
pub(crate) enum Item {
    /// An entry from memory.
    Bytes(String, Vec<u8>),
    /// An entry from a local file, which is removed once written.
    File(String, PathBuf),
    /// The trailer (its `entries` are filled in by the writer); ends the archive.
    Finish(Box<Trailer>),
}

/// The finished object.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Holds writes back to a rate (bytes per second) by sleeping.
struct Throttled<W> {
    inner: W,
    limit: Option<u64>,
    started: std::time::Instant,
    written: u64,
}

impl<W: Write> Write for Throttled<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        if let Some(limit) = self.limit.filter(|l| *l > 0) {
            let due = std::time::Duration::from_secs_f64(self.written as f64 / limit as f64);
            let spent = self.started.elapsed();
            if due > spent {
                std::thread::sleep(due - spent);
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct HashingReader<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Starts the thread that writes the encrypted archive to `out` (first as `out.partial`,
/// renamed into place when complete, so a killed process never leaves a whole-looking object).
/// Entries are sent in order; dropping the sender without [`Item::Finish`] abandons it.
pub(crate) fn spawn_writer(
    out: PathBuf,
    recipients: Vec<age::x25519::Recipient>,
    mtime_s: u64,
    max_bytes_per_second: Option<u64>,
) -> (
    SyncSender<Item>,
    std::thread::JoinHandle<BackupResult<Written>>,
) {
    let (tx, rx) = sync_channel(2);
    let handle = std::thread::spawn(move || {
        let partial = out.with_extension("age.partial");
        let result = write_archive(
            &partial,
            &out,
            &recipients,
            mtime_s,
            max_bytes_per_second,
            rx,
        );
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        result
    });
    (tx, handle)
}

fn write_archive(
    partial: &Path,
    out: &Path,
    recipients: &[age::x25519::Recipient],
    mtime_s: u64,
    max_bytes_per_second: Option<u64>,
    rx: Receiver<Item>,
) -> BackupResult<Written> {
    let file = File::create(partial).map_err(BackupError::io(format!(
        "cannot create {}",
        partial.display()
    )))?;
    let hashing = HashingWriter {
        inner: Throttled {
            inner: BufWriter::with_capacity(1 << 20, file),
            limit: max_bytes_per_second,
            started: std::time::Instant::now(),
            written: 0,
        },
        hash: Sha256::new(),
        bytes: 0,
    };
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| BackupError::Config(format!("cannot encrypt to the recipients: {e}")))?;
    let writing = |e: std::io::Error| BackupError::Io {
        what: format!("cannot write {}", partial.display()),
        source: e,
    };
    let stream = encryptor.wrap_output(hashing).map_err(writing)?;
    let mut tar = tar::Builder::new(stream);
    let mut entries = Vec::new();
    let mut append = |tar: &mut tar::Builder<_>, path: &str, size: u64, r: &mut dyn Read| {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o600);
        header.set_mtime(mtime_s);
        header.set_entry_type(tar::EntryType::Regular);
        let mut hr = HashingReader {
            inner: r,
            hash: Sha256::new(),
            bytes: 0,
        };
        tar.append_data(&mut header, path, &mut hr)
            .map_err(writing)?;
        if hr.bytes != size {
            return Err(BackupError::Io {
                what: format!("{path} changed size while it was copied"),
                source: std::io::Error::other("size changed"),
            });
        }
        entries.push(EntryDigest {
            path: path.to_owned(),
            bytes: size,
            sha256: hex(&hr.hash.finalize()),
        });
        Ok::<(), BackupError>(())
    };
    loop {
        let Ok(item) = rx.recv() else {
            return Err(BackupError::Io {
                what: "the backup was abandoned before it was complete".into(),
                source: std::io::Error::other("abandoned"),
            });
        };
        match item {
            Item::Bytes(path, data) => {
                append(&mut tar, &path, data.len() as u64, &mut data.as_slice())?;
            }
            Item::File(path, src) => {
                let mut f = File::open(&src)
                    .map_err(BackupError::io(format!("cannot read {}", src.display())))?;
                let size = f
                    .metadata()
                    .map_err(BackupError::io(format!("cannot read {}", src.display())))?
                    .len();
                append(&mut tar, &path, size, &mut f)?;
                drop(f);
                let _ = std::fs::remove_file(&src);
            }
            Item::Finish(mut trailer) => {
                trailer.entries = entries;
                let data = serde_json::to_vec(&*trailer)
                    .map_err(|e| BackupError::Config(format!("trailer: {e}")))?;
                let mut header = tar::Header::new_gnu();
                header.set_size(data.len() as u64);
                header.set_mode(0o600);
                header.set_mtime(mtime_s);
                tar.append_data(&mut header, "digest.json", data.as_slice())
                    .map_err(writing)?;
                let stream = tar.into_inner().map_err(writing)?;
                let mut hashing = stream.finish().map_err(writing)?;
                hashing.flush().map_err(writing)?;
                let bytes = hashing.bytes;
                let sha256 = hex(&hashing.hash.finalize());
                let file = hashing
                    .inner
                    .inner
                    .into_inner()
                    .map_err(|e| writing(e.into_error()))?;
                file.sync_all().map_err(writing)?;
                drop(file);
                std::fs::rename(partial, out).map_err(BackupError::io(format!(
                    "cannot move {} into place",
                    partial.display()
                )))?;
                return Ok(Written {
                    path: out.to_owned(),
                    bytes,
                    sha256,
                });
            }
        }
    }
}

/// A backup opened and unpacked into a scratch directory, every entry checked against the
/// trailer.
#[derive(Debug)]
pub(crate) struct Extracted {
    pub manifest: Manifest,
    pub trailer: Trailer,
    /// SQLite: the database file.
    pub sqlite: Option<PathBuf>,
    /// PostgreSQL: each chunk of rows with its table, in archive order.
    pub pg_chunks: Vec<(String, PathBuf)>,
    /// Stored files: key and local copy.
    pub files: Vec<(String, PathBuf)>,
    /// The configuration it was taken with.
    pub config: Option<String>,
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

fn is_table(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Decrypts the age object at `object` with `identity` and unpacks it under `into`. Every
/// failure says what is wrong: not a backup, not for this identity, altered or cut off, an
/// entry that does not match its recorded digest, or a format this program does not know.
pub(crate) fn extract(
    object: &Path,
    identity: &dyn age::Identity,
    into: &Path,
    compatible: &dyn Fn(&Manifest) -> BackupResult<()>,
) -> BackupResult<Extracted> {
    let file =
        File::open(object).map_err(BackupError::io(format!("cannot open {}", object.display())))?;
    let decryptor = age::Decryptor::new_buffered(std::io::BufReader::new(file)).map_err(|e| {
        BackupError::Corrupt(format!(
            "{} is not an age-encrypted backup, or its header was altered: {e}",
            object.display()
        ))
    })?;
    let reader = decryptor
        .decrypt(std::iter::once(identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => BackupError::Decrypt(
                "the identity given does not open this backup: it was encrypted to other recipients (wrong identity file?)"
                    .into(),
            ),
            other => BackupError::Corrupt(format!("its header does not decrypt: {other}")),
        })?;
    let damaged = |e: std::io::Error| {
        BackupError::Corrupt(format!(
            "the encrypted stream does not decrypt to the end (a changed or missing byte, or a cut-off file): {e}"
        ))
    };
    let mut archive = tar::Archive::new(reader);
    let mut manifest: Option<Manifest> = None;
    let mut trailer: Option<Trailer> = None;
    let mut seen: Vec<EntryDigest> = Vec::new();
    let mut out = Extracted {
        manifest: Manifest {
            format: String::new(),
            id: String::new(),
            created_at_ms: 0,
            created_at: String::new(),
            program_version: String::new(),
            database: String::new(),
            schema_version: 0,
            instance_recipient: String::new(),
            shred_ledger_entries: 0,
        },
        trailer: Trailer {
            content_digest: String::new(),
            database_digest: String::new(),
            files_digest: String::new(),
            rows: BTreeMap::new(),
            tables: BTreeMap::new(),
            files: 0,
            file_bytes: 0,
            files_gone: Vec::new(),
            audit_entries: 0,
            entries: Vec::new(),
        },
        sqlite: None,
        pg_chunks: Vec::new(),
        files: Vec::new(),
        config: None,
    };
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let path = entry
            .path()
            .map_err(damaged)?
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| BackupError::Corrupt("an entry's name is not UTF-8".into()))?;
        if trailer.is_some() {
            return Err(BackupError::Corrupt(format!(
                "the entry {path} follows the trailer"
            )));
        }
        if manifest.is_none() && path != "backup.json" {
            return Err(BackupError::Corrupt(format!(
                "the first entry is {path}, not backup.json: not an Ideaweave backup"
            )));
        }
        let small = |entry: &mut tar::Entry<_>| -> BackupResult<Vec<u8>> {
            let mut buf = Vec::new();
            entry
                .by_ref()
                .take(16 << 20)
                .read_to_end(&mut buf)
                .map_err(damaged)?;
            Ok(buf)
        };
        match path.as_str() {
            "backup.json" => {
                let data = small(&mut entry)?;
                seen.push(digest_of("backup.json", &data));
                let m: Manifest = serde_json::from_slice(&data).map_err(|e| {
                    BackupError::Corrupt(format!("backup.json does not parse: {e}"))
                })?;
                if m.format != BACKUP_FORMAT {
                    return Err(BackupError::Incompatible(format!(
                        "this backup has the format {:?}; this program reads {BACKUP_FORMAT} (restore it with the release that made it: {})",
                        m.format, m.program_version
                    )));
                }
                compatible(&m)?;
                manifest = Some(m);
            }
            "digest.json" => {
                // One line per entry: large for an instance with many files.
                let mut data = Vec::new();
                entry
                    .by_ref()
                    .take(1 << 30)
                    .read_to_end(&mut data)
                    .map_err(damaged)?;
                trailer = Some(serde_json::from_slice(&data).map_err(|e| {
                    BackupError::Corrupt(format!("digest.json does not parse: {e}"))
                })?);
            }
            "config.txt" => {
                let data = small(&mut entry)?;
                seen.push(digest_of("config.txt", &data));
                out.config = Some(String::from_utf8_lossy(&data).into_owned());
            }
            p => {
                let target = if p == "database/ideaweave.sqlite" {
                    let t = into.join("ideaweave.sqlite");
                    out.sqlite = Some(t.clone());
                    t
                } else if let Some(rest) = p.strip_prefix("database/postgres/") {
                    let (table, chunk) = rest.split_once('/').unwrap_or(("", ""));
                    if !is_table(table)
                        || !chunk.ends_with(".jsonl")
                        || !chunk[..chunk.len().saturating_sub(6)]
                            .bytes()
                            .all(|b| b.is_ascii_digit())
                    {
                        return Err(BackupError::Corrupt(format!("unexpected entry {p}")));
                    }
                    let dir = into.join("pg").join(table);
                    std::fs::create_dir_all(&dir)
                        .map_err(BackupError::io(format!("cannot create {}", dir.display())))?;
                    let t = dir.join(chunk);
                    out.pg_chunks.push((table.to_owned(), t.clone()));
                    t
                } else if let Some(rest) = p.strip_prefix("files/") {
                    let (ws, id) = rest.split_once('/').unwrap_or(("", ""));
                    if !is_id(ws) || !is_id(id) {
                        return Err(BackupError::Corrupt(format!("unexpected entry {p}")));
                    }
                    let dir = into.join("files").join(ws);
                    std::fs::create_dir_all(&dir)
                        .map_err(BackupError::io(format!("cannot create {}", dir.display())))?;
                    let t = dir.join(id);
                    out.files.push((format!("{ws}/{id}"), t.clone()));
                    t
                } else {
                    return Err(BackupError::Corrupt(format!("unexpected entry {p}")));
                };
                let f = File::create(&target).map_err(BackupError::io(format!(
                    "cannot write {}",
                    target.display()
                )))?;
                let mut w = HashingWriter {
                    inner: BufWriter::new(f),
                    hash: Sha256::new(),
                    bytes: 0,
                };
                std::io::copy(&mut entry, &mut w).map_err(damaged)?;
                w.flush().map_err(BackupError::io(format!(
                    "cannot write {}",
                    target.display()
                )))?;
                seen.push(EntryDigest {
                    path: p.to_owned(),
                    bytes: w.bytes,
                    sha256: hex(&w.hash.finalize()),
                });
            }
        }
    }
    let manifest = manifest.ok_or_else(|| {
        BackupError::Corrupt("the archive is empty: not an Ideaweave backup".into())
    })?;
    let trailer = trailer.ok_or_else(|| {
        BackupError::Corrupt(
            "it ends before its trailer (digest.json): the backup is incomplete".into(),
        )
    })?;
    if seen != trailer.entries {
        let first = seen
            .iter()
            .zip(&trailer.entries)
            .find(|(a, b)| a != b)
            .map(|(a, _)| a.path.clone())
            .unwrap_or_else(|| "the list of entries".into());
        return Err(BackupError::Corrupt(format!(
            "{first} does not match the digest recorded when it was written"
        )));
    }
    out.manifest = manifest;
    out.trailer = trailer;
    Ok(out)
}

fn digest_of(path: &str, data: &[u8]) -> EntryDigest {
    EntryDigest {
        path: path.to_owned(),
        bytes: data.len() as u64,
        sha256: hex(&Sha256::digest(data)),
    }
}
