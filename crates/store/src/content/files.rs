//! Where uploaded files' bytes live.
//!
//! The store is behind a trait so that a scale-out deployment keeps files on S3-compatible
//! object storage (see [`crate::S3FileStore`]), which every node reads, while the default keeps
//! them in a local directory next to the database.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWriteExt};

/// A boxed future, so the trait can be used as `dyn FileStore`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A stored object being read, piece by piece.
pub type FileReader = Pin<Box<dyn AsyncRead + Send>>;

/// A stream of results, so the trait can be used as `dyn FileStore`.
pub type BoxStream<'a, T> = Pin<Box<dyn futures_util::Stream<Item = T> + Send + 'a>>;

/// One object found by [`FileStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its key.
    pub key: String,
    /// Its size in bytes, as stored (sealed).
    pub size: u64,
}

/// A file store failure.
#[derive(Debug, thiserror::Error)]
pub enum FileStoreError {
    /// No object under that key.
    #[error("no stored file under key {0}")]
    NotFound(String),
    /// The key is not of the form the store accepts.
    #[error("invalid file key {0:?}")]
    InvalidKey(String),
    /// Reading or writing failed.
    #[error("file store I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The object storage service refused or could not be reached (after its retries): the
    /// operation did not happen, and may succeed later.
    #[error("the file store {store} cannot be used right now: {message}")]
    Remote {
        /// The store, as [`FileStore::describe`] names it (never its credentials).
        store: String,
        /// What the service or the network said.
        message: String,
    },
}

/// Whether `key` is of the form every store accepts: `<workspace id>/<object id>`, each part
/// made of ASCII letters, digits and hyphens, at most 200 bytes in all. No key can name a
/// place outside the store (`..`, absolute paths, a third level).
pub(crate) fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && key.split('/').count() == 2
        && key
            .split('/')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Stores opaque objects under keys of the form `<workspace id>/<object id>`, each part made of
/// ASCII letters, digits and hyphens (an attachment's preview is `<id>-preview`). Objects are
/// written and read as streams, so no object ever has to fit in memory.
pub trait FileStore: Send + Sync + 'static {
    /// Starts writing the object under `key`. Nothing is visible under the key until
    /// [`FileWriter::commit`]; a writer dropped before that leaves nothing behind.
    fn create<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn FileWriter>, FileStoreError>>;
    /// Opens the object under `key` for reading.
    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<FileReader, FileStoreError>>;
    /// Deletes the object under `key`; deleting a missing object is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), FileStoreError>>;
    /// Every object in the store, with its size, a page at a time (for moving an instance's
    /// files to another store). Anything under the store that is not an object of this form
    /// (a temporary file of an unfinished write) is left out.
    fn list(&self) -> BoxStream<'_, Result<StoredObject, FileStoreError>>;
    /// The store in words, for messages and logs: its directory or bucket, never credentials.
    fn describe(&self) -> String;
}

/// An object being written.
pub trait FileWriter: Send {
    /// Appends `data`.
    fn write<'a>(&'a mut self, data: &'a [u8]) -> BoxFuture<'a, Result<(), FileStoreError>>;
    /// Makes the object durable and visible under its key, whole or not at all.
    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), FileStoreError>>;
}

/// Creates `dir` (and its missing parents) readable by this user only (0700), and makes an
/// existing `dir` so: the data directory, the uploads and the backup staging area hold what
/// nobody else on the machine should read, even sealed (SEC-01, issue 19 finding 13).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Makes an existing file readable and writable by this user only (0600).
pub fn make_private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Files in a local directory, one file per object, written atomically (temporary file, fsync,
/// rename) so a crash never leaves a half-written object under its final name.
#[derive(Debug, Clone)]
pub struct LocalDirFileStore {
    root: PathBuf,
}

impl LocalDirFileStore {
    /// A store rooted at `root`, created if missing.
    pub fn open(root: &Path) -> Result<Self, FileStoreError> {
        create_private_dir(root)?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf, FileStoreError> {
        if !is_valid_key(key) {
            return Err(FileStoreError::InvalidKey(key.to_owned()));
        }
        Ok(self.root.join(key))
    }
}

impl FileStore for LocalDirFileStore {
    fn create<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn FileWriter>, FileStoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            let dir = path
                .parent()
                .ok_or_else(|| FileStoreError::InvalidKey(key.to_owned()))?
                .to_owned();
            let (tmp, file) = tokio::task::spawn_blocking(move || {
                create_private_dir(&dir)?;
                tempfile_in(&dir)
            })
            .await
            .map_err(|e| FileStoreError::Io(std::io::Error::other(e)))??;
            let w: Box<dyn FileWriter> = Box::new(LocalFileWriter {
                file: Some(tokio::fs::File::from_std(file)),
                tmp,
                path,
            });
            Ok(w)
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<FileReader, FileStoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match tokio::fs::File::open(&path).await {
                Ok(f) => {
                    let r: FileReader = Box::pin(f);
                    Ok(r)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(FileStoreError::NotFound(key.to_owned()))
                }
                Err(e) => Err(e.into()),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), FileStoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn list(&self) -> BoxStream<'_, Result<StoredObject, FileStoreError>> {
        let listing = LocalListing {
            root: self.root.clone(),
            workspaces: None,
            current: None,
        };
        Box::pin(futures_util::stream::unfold(listing, |mut l| async move {
            l.next_object().await.map(|item| (item, l))
        }))
    }

    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }
}

/// A walk through a local store: its workspace directories in order, then each one's files.
struct LocalListing {
    root: PathBuf,
    /// The workspace directories not yet entered; `None` before the root was read.
    workspaces: Option<std::vec::IntoIter<String>>,
    /// The workspace directory being read.
    current: Option<(String, tokio::fs::ReadDir)>,
}

impl LocalListing {
    async fn next_object(&mut self) -> Option<Result<StoredObject, FileStoreError>> {
        if self.workspaces.is_none() {
            self.workspaces = Some(Vec::new().into_iter());
            let mut names = Vec::new();
            let mut dir = match tokio::fs::read_dir(&self.root).await {
                Ok(d) => d,
                Err(e) => return Some(Err(e.into())),
            };
            loop {
                match dir.next_entry().await {
                    Ok(Some(entry)) => {
                        if let Ok(name) = entry.file_name().into_string() {
                            names.push(name);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Some(Err(e.into())),
                }
            }
            names.sort();
            self.workspaces = Some(names.into_iter());
        }
        loop {
            if let Some((ws, dir)) = &mut self.current {
                match dir.next_entry().await {
                    Ok(Some(entry)) => {
                        let Ok(name) = entry.file_name().into_string() else {
                            continue;
                        };
                        let key = format!("{ws}/{name}");
                        if !is_valid_key(&key) {
                            continue;
                        }
                        match entry.metadata().await {
                            Ok(m) if m.is_file() => {
                                return Some(Ok(StoredObject { key, size: m.len() }));
                            }
                            Ok(_) => continue,
                            // Deleted while the walk passed.
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                            Err(e) => return Some(Err(e.into())),
                        }
                    }
                    Ok(None) => self.current = None,
                    Err(e) => {
                        self.current = None;
                        return Some(Err(e.into()));
                    }
                }
                continue;
            }
            let ws = self.workspaces.as_mut()?.next()?;
            match tokio::fs::read_dir(self.root.join(&ws)).await {
                Ok(dir) => self.current = Some((ws, dir)),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                    ) => {}
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}

/// An object being written to a temporary file beside its final name; renamed into place on
/// commit, removed when dropped uncommitted.
struct LocalFileWriter {
    file: Option<tokio::fs::File>,
    tmp: PathBuf,
    path: PathBuf,
}

impl FileWriter for LocalFileWriter {
    fn write<'a>(&'a mut self, data: &'a [u8]) -> BoxFuture<'a, Result<(), FileStoreError>> {
        Box::pin(async move {
            let file = self
                .file
                .as_mut()
                .ok_or_else(|| std::io::Error::other("the file was already committed"))?;
            file.write_all(data).await?;
            Ok(())
        })
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, Result<(), FileStoreError>> {
        Box::pin(async move {
            let mut file = self
                .file
                .take()
                .ok_or_else(|| std::io::Error::other("the file was already committed"))?;
            file.flush().await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&self.tmp, &self.path).await?;
            // Renamed: nothing is left for `drop` to clean up.
            self.tmp = PathBuf::new();
            // The rename itself is durable only once the directory is synced.
            if let Some(dir) = self.path.parent() {
                tokio::fs::File::open(dir).await?.sync_all().await?;
            }
            Ok(())
        })
    }
}

impl Drop for LocalFileWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty()
            && let Err(e) = std::fs::remove_file(&self.tmp)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.tmp.display(), error = %e, "could not remove an abandoned upload");
        }
    }
}

/// Creates a uniquely named temporary file in `dir`.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    for _ in 0..16 {
        let name = format!(".tmp-{}", uuid::Uuid::new_v4());
        let path = dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("could not create a temporary file"))
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    const KEY: &str = "0190a1b2-0000-7000-8000-000000000001/0190a1b2-0000-7000-8000-000000000002";

    async fn read(fs: &LocalDirFileStore, key: &str) -> Result<Vec<u8>, FileStoreError> {
        let mut out = Vec::new();
        fs.open(key).await?.read_to_end(&mut out).await?;
        Ok(out)
    }

    fn entries(dir: &Path) -> usize {
        std::fs::read_dir(dir.join("0190a1b2-0000-7000-8000-000000000001"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn objects_are_written_in_pieces_and_appear_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let fs = LocalDirFileStore::open(dir.path()).unwrap();
        let mut w = fs.create(KEY).await.unwrap();
        w.write(b"hello ").await.unwrap();
        w.write(b"world").await.unwrap();
        assert!(matches!(
            read(&fs, KEY).await,
            Err(FileStoreError::NotFound(_))
        ));
        w.commit().await.unwrap();
        assert_eq!(read(&fs, KEY).await.unwrap(), b"hello world");
        assert_eq!(entries(dir.path()), 1, "no temporary file left");
        fs.delete(KEY).await.unwrap();
        assert!(matches!(
            read(&fs, KEY).await,
            Err(FileStoreError::NotFound(_))
        ));
        fs.delete(KEY).await.unwrap();
    }

    #[tokio::test]
    async fn the_listing_names_every_committed_object_and_nothing_else() {
        use futures_util::TryStreamExt;
        let dir = tempfile::tempdir().unwrap();
        let fs = LocalDirFileStore::open(dir.path()).unwrap();
        let other = "0190a1b2-0000-7000-8000-000000000009/abc-preview";
        for (key, body) in [(KEY, &b"one"[..]), (other, &b"three"[..])] {
            let mut w = fs.create(key).await.unwrap();
            w.write(body).await.unwrap();
            w.commit().await.unwrap();
        }
        // An unfinished write and a stray file are no objects.
        let mut pending = fs.create(KEY).await.unwrap();
        pending.write(b"half").await.unwrap();
        std::fs::write(dir.path().join("stray.txt"), b"x").unwrap();
        let listed: Vec<StoredObject> = fs.list().try_collect().await.unwrap();
        assert_eq!(
            listed,
            vec![
                StoredObject {
                    key: KEY.into(),
                    size: 3
                },
                StoredObject {
                    key: other.into(),
                    size: 5
                },
            ]
        );
        drop(pending);
    }

    #[tokio::test]
    async fn an_abandoned_writer_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let fs = LocalDirFileStore::open(dir.path()).unwrap();
        let mut w = fs.create(KEY).await.unwrap();
        w.write(b"half an upload").await.unwrap();
        assert_eq!(entries(dir.path()), 1);
        drop(w);
        assert_eq!(entries(dir.path()), 0);
        assert!(matches!(
            read(&fs, KEY).await,
            Err(FileStoreError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn keys_outside_the_store_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fs = LocalDirFileStore::open(dir.path()).unwrap();
        for bad in [
            "../etc/passwd",
            "a/b/c",
            "",
            "abc/../x",
            "/abs",
            "a/..",
            "a/.b",
            "a/b c",
        ] {
            assert!(
                matches!(fs.create(bad).await, Err(FileStoreError::InvalidKey(_))),
                "{bad}"
            );
            assert!(
                matches!(fs.open(bad).await, Err(FileStoreError::InvalidKey(_))),
                "{bad}"
            );
        }
    }
}
