//! The archive container: a gzip-compressed tar of entries, each checksummed, with the manifest
//! last. Written as a stream (the compressor's output is handed on every 64 KiB), read as a
//! stream, so neither side holds more than one entry's chunk in memory.

use std::collections::HashSet;
use std::io::{Read, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::format::{EXPORT_FORMAT, Manifest, ManifestEntry, valid_entry_path};
use crate::OrInternal;
use crate::{AppError, AppResult};

const BLOCK: usize = 512;
/// How much compressed output is gathered before it is written out.
const FLUSH_AT: usize = 64 * 1024;
/// The largest entry a reader accepts in memory (JSON Lines chunks are far smaller; files are
/// streamed, not held).
pub(crate) const MAX_CHUNK_BYTES: u64 = 16 * 1024 * 1024;
/// The most entries an archive may hold: far more than any workspace's chunks and files, few
/// enough that checking an archive cannot be made to use unbounded memory.
const MAX_ENTRIES: usize = 2_000_000;

fn header(path: &str, size: u64) -> AppResult<[u8; BLOCK]> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)
        .map_err(|e| AppError::internal_from(format!("archive path {path}"), e))?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut out = [0u8; BLOCK];
    out.copy_from_slice(h.as_bytes());
    Ok(out)
}

/// Writes an archive to `out`.
pub(crate) struct ArchiveWriter<W> {
    out: W,
    gz: GzEncoder<Vec<u8>>,
    entries: Vec<ManifestEntry>,
    /// The open streamed entry: path, declared size, bytes so far, running hash.
    open: Option<(String, u64, u64, Sha256)>,
    written: u64,
}

impl<W: AsyncWrite + Unpin + Send> ArchiveWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self {
            out,
            gz: flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), Compression::default()),
            entries: Vec::new(),
            open: None,
            written: 0,
        }
    }

    /// Compressed bytes written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    async fn put(&mut self, data: &[u8]) -> AppResult<()> {
        self.gz
            .write_all(data)
            .or_internal("compressing the export")?;
        if self.gz.get_ref().len() >= FLUSH_AT {
            let chunk = std::mem::take(self.gz.get_mut());
            self.out.write_all(&chunk).await.map_err(write_error)?;
            self.written += chunk.len() as u64;
        }
        Ok(())
    }

    /// Adds a whole entry held in memory (`records`: its JSON Lines count).
    pub(crate) async fn entry(
        &mut self,
        path: &str,
        data: &[u8],
        records: Option<u64>,
    ) -> AppResult<()> {
        self.put(&header(path, data.len() as u64)?).await?;
        self.put(data).await?;
        self.pad(data.len() as u64).await?;
        self.entries.push(ManifestEntry {
            path: path.to_owned(),
            bytes: data.len() as u64,
            sha256: hex::encode(Sha256::digest(data)),
            records,
        });
        Ok(())
    }

    async fn pad(&mut self, size: u64) -> AppResult<()> {
        let rest = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
        self.put(&vec![0u8; rest as usize]).await
    }

    /// Starts an entry of `size` bytes that arrives in pieces ([`Self::push`]).
    pub(crate) async fn begin(&mut self, path: &str, size: u64) -> AppResult<()> {
        self.put(&header(path, size)?).await?;
        self.open = Some((path.to_owned(), size, 0, Sha256::new()));
        Ok(())
    }

    /// Appends to the open entry.
    pub(crate) async fn push(&mut self, data: &[u8]) -> AppResult<()> {
        let Some((path, size, so_far, hash)) = self.open.as_mut() else {
            return Err(AppError::internal("archive: push without begin"));
        };
        *so_far += data.len() as u64;
        if *so_far > *size {
            return Err(AppError::Integrity(format!(
                "{path} is longer than its recorded size of {size} bytes"
            )));
        }
        hash.update(data);
        self.put(data).await
    }

    /// Ends the open entry; its bytes must have matched the declared size.
    pub(crate) async fn end(&mut self) -> AppResult<String> {
        let Some((path, size, so_far, hash)) = self.open.take() else {
            return Err(AppError::internal("archive: end without begin"));
        };
        if so_far != size {
            return Err(AppError::Integrity(format!(
                "{path} has {so_far} bytes, not its recorded {size}"
            )));
        }
        self.pad(size).await?;
        let sha = hex::encode(hash.finalize());
        self.entries.push(ManifestEntry {
            path,
            bytes: size,
            sha256: sha.clone(),
            records: None,
        });
        Ok(sha)
    }

    /// Writes the manifest (listing every entry so far) and the end of the archive; returns
    /// the manifest.
    pub(crate) async fn finish(
        mut self,
        workspace: &str,
        exported_at: i64,
        counts: std::collections::BTreeMap<String, u64>,
    ) -> AppResult<(Manifest, u64)> {
        let manifest = Manifest {
            format: EXPORT_FORMAT.to_owned(),
            workspace: workspace.to_owned(),
            exported_at,
            generator: format!("ideaweave {}", env!("CARGO_PKG_VERSION")),
            counts,
            entries: std::mem::take(&mut self.entries),
        };
        let json = serde_json::to_vec_pretty(&manifest).or_internal("manifest")?;
        self.put(&header("manifest.json", json.len() as u64)?)
            .await?;
        self.put(&json).await?;
        self.pad(json.len() as u64).await?;
        self.put(&[0u8; 2 * BLOCK]).await?;
        let rest = self.gz.finish().or_internal("compressing the export")?;
        self.out.write_all(&rest).await.map_err(write_error)?;
        self.out.flush().await.map_err(write_error)?;
        self.out.shutdown().await.map_err(write_error)?;
        Ok((manifest, self.written + rest.len() as u64))
    }
}

fn write_error(e: std::io::Error) -> AppError {
    AppError::internal_from("writing the export", e)
}

/// Why an archive cannot be imported.
fn bad(why: impl std::fmt::Display) -> AppError {
    AppError::invalid("archive", why.to_string())
}

/// Reads an archive entry by entry: the caller gets each entry's path and a reader of its
/// bytes, in archive order.
pub(crate) fn read_entries<R: Read>(
    input: R,
    mut each: impl FnMut(&str, u64, &mut dyn Read) -> AppResult<()>,
) -> AppResult<()> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(input));
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a gzip-compressed tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("damaged archive: {e}")))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(bad("the archive holds something other than plain files"));
        }
        let path = entry
            .path()
            .map_err(|e| bad(format!("unreadable entry name: {e}")))?
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| bad("an entry name is not UTF-8"))?;
        if !valid_entry_path(&path) {
            return Err(bad(format!(
                "unexpected entry {path:?}: not part of {EXPORT_FORMAT}"
            )));
        }
        let size = entry.size();
        each(&path, size, &mut entry)?;
    }
    Ok(())
}

/// Checks a whole archive without importing anything: every entry is listed in the manifest
/// with its size and SHA-256, nothing is missing, unlisted or repeated, and the format is one
/// this version reads. Returns the manifest.
pub(crate) fn verify<R: Read>(input: R) -> AppResult<Manifest> {
    let mut seen: Vec<ManifestEntry> = Vec::new();
    let mut names = HashSet::new();
    let mut manifest: Option<Manifest> = None;
    read_entries(input, |path, size, r| {
        if manifest.is_some() {
            return Err(bad("entries follow the manifest"));
        }
        if !names.insert(path.to_owned()) {
            return Err(bad(format!("{path} appears twice")));
        }
        if names.len() > MAX_ENTRIES {
            return Err(bad(format!("more than {MAX_ENTRIES} entries")));
        }
        if path == "manifest.json" {
            if size > MAX_CHUNK_BYTES {
                return Err(bad("the manifest is too large"));
            }
            let mut buf = Vec::with_capacity(size as usize);
            r.read_to_end(&mut buf)
                .map_err(|e| bad(format!("damaged archive: {e}")))?;
            let m: Manifest = serde_json::from_slice(&buf)
                .map_err(|e| bad(format!("manifest.json is not a valid manifest: {e}")))?;
            manifest = Some(m);
            return Ok(());
        }
        let mut hash = Sha256::new();
        let n = std::io::copy(r, &mut HashWriter(&mut hash))
            .map_err(|e| bad(format!("damaged archive at {path}: {e}")))?;
        seen.push(ManifestEntry {
            path: path.to_owned(),
            bytes: n,
            sha256: hex::encode(hash.finalize()),
            records: None,
        });
        Ok(())
    })?;
    let m = manifest.ok_or_else(|| bad("the archive has no manifest.json (cut short?)"))?;
    if m.format != EXPORT_FORMAT {
        return Err(bad(format!(
            "format {:?} is not {EXPORT_FORMAT}, the one this version reads",
            m.format
        )));
    }
    if m.entries.len() != seen.len() {
        return Err(bad(format!(
            "the manifest lists {} entries, the archive holds {}",
            m.entries.len(),
            seen.len()
        )));
    }
    for (listed, found) in m.entries.iter().zip(&seen) {
        if listed.path != found.path {
            return Err(bad(format!(
                "the manifest lists {} where the archive holds {}",
                listed.path, found.path
            )));
        }
        if listed.bytes != found.bytes || listed.sha256 != found.sha256 {
            return Err(bad(format!(
                "{} does not match its checksum in the manifest: the archive was altered or damaged",
                listed.path
            )));
        }
    }
    Ok(m)
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
