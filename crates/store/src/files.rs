//! Where uploaded files' bytes live.
//!
//! The store is behind a trait so that a scale-out deployment can use object storage while the
//! default keeps files in a local directory next to the database.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use bytes::Bytes;

/// A boxed future, so the trait can be used as `dyn FileStore`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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
}

/// Stores opaque objects under keys of the form `<workspace id>/<object id>`.
pub trait FileStore: Send + Sync + 'static {
    /// Stores `data` under `key`, replacing nothing: a key is written once.
    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, Result<(), FileStoreError>>;
    /// Reads the object under `key`.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Bytes, FileStoreError>>;
    /// Deletes the object under `key`; deleting a missing object is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), FileStoreError>>;
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
        std::fs::create_dir_all(root)?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf, FileStoreError> {
        let valid = !key.is_empty()
            && key.len() <= 200
            && key.split('/').count() == 2
            && key
                .split('/')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
        if !valid {
            return Err(FileStoreError::InvalidKey(key.to_owned()));
        }
        Ok(self.root.join(key))
    }
}

impl FileStore for LocalDirFileStore {
    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, Result<(), FileStoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            let dir = path
                .parent()
                .ok_or_else(|| FileStoreError::InvalidKey(key.to_owned()))?
                .to_owned();
            tokio::task::spawn_blocking(move || -> Result<(), FileStoreError> {
                use std::io::Write;
                std::fs::create_dir_all(&dir)?;
                let mut tmp = tempfile_in(&dir)?;
                tmp.1.write_all(&data)?;
                tmp.1.sync_all()?;
                std::fs::rename(&tmp.0, &path)?;
                Ok(())
            })
            .await
            .map_err(|e| FileStoreError::Io(std::io::Error::other(e)))?
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Bytes, FileStoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match tokio::fs::read(&path).await {
                Ok(b) => Ok(Bytes::from(b)),
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
}

/// Creates a uniquely named temporary file in `dir`.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    for _ in 0..16 {
        let name = format!(".tmp-{}", uuid::Uuid::new_v4());
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("could not create a temporary file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_key_validation() {
        let dir = tempfile::tempdir().unwrap();
        let fs = LocalDirFileStore::open(dir.path()).unwrap();
        let key = "0190a1b2-0000-7000-8000-000000000001/0190a1b2-0000-7000-8000-000000000002";
        fs.put(key, Bytes::from_static(b"hello")).await.unwrap();
        assert_eq!(&fs.get(key).await.unwrap()[..], b"hello");
        fs.delete(key).await.unwrap();
        assert!(matches!(
            fs.get(key).await,
            Err(FileStoreError::NotFound(_))
        ));
        fs.delete(key).await.unwrap();
        for bad in ["../etc/passwd", "a/b/c", "", "abc/../x", "/abs"] {
            assert!(
                matches!(
                    fs.put(bad, Bytes::new()).await,
                    Err(FileStoreError::InvalidKey(_))
                ),
                "{bad}"
            );
        }
    }
}
