//! Uploaded files on S3-compatible object storage (AWS S3, MinIO, Ceph, Garage…), so that every
//! node of a cluster reads what any node received.
//!
//! Objects are what the local store holds: already sealed by the application (ENC-01), so the
//! storage provider sees ciphertext only. Each object is streamed in both directions: small
//! objects go up in one `PUT`, larger ones as a multipart upload of [`PART`]-sized parts with at
//! most [`PARTS_IN_FLIGHT`] on the wire, so a 1 GiB file never sits whole in memory. Nothing is
//! visible under a key before its write is committed (a `PUT` is atomic; a multipart upload
//! appears when it is completed), and a writer dropped uncommitted aborts its upload.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use secrecy::{ExposeSecret, SecretString};

use crate::content::files::{
    BoxFuture, BoxStream, FileReader, FileStore, FileStoreError, FileWriter, StoredObject,
    is_valid_key,
};

/// Size of one part of a multipart upload (S3 wants at least 5 MiB but the last).
const PART: usize = 8 << 20;
/// Parts of one upload on the wire at once: with [`PART`], an upload holds at most ~24 MiB.
const PARTS_IN_FLIGHT: usize = 2;

/// How to reach and sign in to an S3-compatible service. The secret is printed nowhere.
#[derive(Clone)]
pub struct S3Access {
    /// The endpoint URL, for storage other than AWS (`https://minio.example:9000`).
    pub endpoint: Option<String>,
    /// The region (`us-east-1` where the service has none).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: SecretString,
    /// PEM file of further certificate authorities to trust for an `https://` endpoint (a
    /// private CA), beside the system's.
    pub ca_file: Option<PathBuf>,
}

/// A bucket and a prefix inside it, with the access to them.
#[derive(Clone)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The prefix inside it, without slashes at either end ("" for the top).
    pub prefix: String,
    /// How to reach it.
    pub access: S3Access,
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)?;
        if let Some(e) = &self.access.endpoint {
            write!(f, " at {e}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3Location({self})")
    }
}

/// A bucket address or S3 setting that cannot be used, in words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct S3ConfigError(pub String);

impl S3Location {
    /// `s3://bucket/prefix` → the bucket and the prefix, or why it is not such an address.
    pub fn parse_address(address: &str) -> Result<(String, String), S3ConfigError> {
        let Some(rest) = address.strip_prefix("s3://") else {
            return Err(S3ConfigError(format!(
                "{address:?} is not an s3://bucket/prefix address"
            )));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(S3ConfigError(format!(
                "{bucket:?} is not an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)"
            )));
        }
        let prefix = prefix.trim_matches('/');
        // Only characters an object path keeps as they are: a listing strips the prefix by
        // its length.
        let plain = prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
        if !plain || prefix.split('/').any(|p| p == "." || p == "..") || prefix.contains("//") {
            return Err(S3ConfigError(format!(
                "the prefix {prefix:?} of {address:?} must be parts of letters, digits, `-`, `_` and `.` joined by `/`"
            )));
        }
        Ok((bucket.to_owned(), prefix.to_owned()))
    }

    /// A client for the bucket: retries with exponential back-off (up to 3 times within 3
    /// minutes); a connection must open within 5 s, and an answer (for an upload: once its part
    /// was sent) or the next piece of a download must come within 5 minutes. A download as a
    /// whole has no deadline (a large file to a slow reader takes its time).
    pub fn connect(&self) -> Result<Arc<dyn ObjectStore>, S3ConfigError> {
        let a = &self.access;
        let mut options = object_store::ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_read_timeout(Duration::from_secs(300))
            .with_timeout_disabled();
        if let Some(path) = &a.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                S3ConfigError(format!("cannot read the CA file {}: {e}", path.display()))
            })?;
            let certificates = object_store::Certificate::from_pem_bundle(&pem).map_err(|e| {
                S3ConfigError(format!(
                    "the CA file {} holds no usable PEM certificate: {e}",
                    path.display()
                ))
            })?;
            if certificates.is_empty() {
                return Err(S3ConfigError(format!(
                    "the CA file {} holds no certificate",
                    path.display()
                )));
            }
            for c in certificates {
                options = options.with_root_certificate(c);
            }
        }
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(&a.region)
            .with_access_key_id(&a.access_key_id)
            .with_secret_access_key(a.secret_access_key.expose_secret())
            .with_retry(object_store::RetryConfig {
                backoff: object_store::BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(180),
            })
            .with_client_options(options);
        if let Some(e) = &a.endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(S3ConfigError(format!(
                    "the endpoint {e:?} must be an http:// or https:// URL"
                )));
            }
            builder = builder
                .with_endpoint(e)
                .with_allow_http(e.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = builder
            .build()
            .map_err(|e| S3ConfigError(format!("cannot set up the S3 client for {self}: {e}")))?;
        Ok(Arc::new(store))
    }

    /// The object path of `name` under the prefix.
    pub fn path(&self, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }
}

/// Uploaded files in a bucket, under `<prefix>/<workspace id>/<object id>`.
pub struct S3FileStore {
    location: S3Location,
    store: Arc<dyn ObjectStore>,
    /// The location in words, kept for every error message.
    described: String,
}

impl std::fmt::Debug for S3FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3FileStore({})", self.described)
    }
}

impl S3FileStore {
    /// A store in `location`. Nothing is sent yet: [`S3FileStore::check`] tries the bucket.
    pub fn open(location: S3Location) -> Result<Self, S3ConfigError> {
        let store = location.connect()?;
        Ok(Self {
            described: location.to_string(),
            location,
            store,
        })
    }

    /// Lists one object of the bucket, so that a wrong address, wrong credentials or an
    /// unreachable service are told at start rather than at the first upload.
    pub async fn check(&self) -> Result<(), FileStoreError> {
        let prefix = (!self.location.prefix.is_empty())
            .then(|| ObjectPath::from(self.location.prefix.as_str()));
        let mut listing = self.store.list(prefix.as_ref());
        match listing.next().await {
            Some(Err(e)) => Err(self.remote(e)),
            _ => Ok(()),
        }
    }

    fn path(&self, key: &str) -> Result<ObjectPath, FileStoreError> {
        if !is_valid_key(key) {
            return Err(FileStoreError::InvalidKey(key.to_owned()));
        }
        Ok(self.location.path(key))
    }

    fn remote(&self, e: object_store::Error) -> FileStoreError {
        remote(&self.described, e)
    }
}

/// A failure of the service as the file store reports it: refusals that waiting will not
/// change (credentials, permissions, an unsupported request) are I/O errors, which the caller
/// treats as internal; the rest (the network, timeouts, the service's own errors) are
/// [`FileStoreError::Remote`], which may pass.
fn remote(store: &str, e: object_store::Error) -> FileStoreError {
    match e {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. }
        | object_store::Error::NotImplemented { .. }
        | object_store::Error::NotSupported { .. } => FileStoreError::Io(std::io::Error::other(
            format!("the file store {store} refused: {e}"),
        )),
        e => FileStoreError::Remote {
            store: store.to_owned(),
            message: e.to_string(),
        },
    }
}

impl FileStore for S3FileStore {
    fn create<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn FileWriter>, FileStoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            let w: Box<dyn FileWriter> = Box::new(S3FileWriter {
                store: self.store.clone(),
                described: self.described.clone(),
                path,
                pending: Vec::new(),
                pending_len: 0,
                upload: None,
            });
            Ok(w)
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<FileReader, FileStoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match self.store.get(&path).await {
                Ok(got) => {
                    let described = self.described.clone();
                    let bytes = got
                        .into_stream()
                        .map_err(move |e| std::io::Error::other(remote(&described, e).to_string()));
                    let r: FileReader = Box::pin(tokio_util::io::StreamReader::new(bytes));
                    Ok(r)
                }
                Err(object_store::Error::NotFound { .. }) => {
                    Err(FileStoreError::NotFound(key.to_owned()))
                }
                Err(e) => Err(self.remote(e)),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), FileStoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(self.remote(e)),
            }
        })
    }

    fn list(&self) -> BoxStream<'_, Result<StoredObject, FileStoreError>> {
        let prefix = (!self.location.prefix.is_empty())
            .then(|| ObjectPath::from(self.location.prefix.as_str()));
        let skip = if self.location.prefix.is_empty() {
            0
        } else {
            self.location.prefix.len() + 1
        };
        Box::pin(
            self.store
                .list(prefix.as_ref())
                .filter_map(move |item| async move {
                    match item {
                        Ok(meta) => {
                            let key = meta.location.as_ref().get(skip..)?.to_owned();
                            is_valid_key(&key).then_some(Ok(StoredObject {
                                key,
                                size: meta.size,
                            }))
                        }
                        Err(e) => Some(Err(self.remote(e))),
                    }
                }),
        )
    }

    fn describe(&self) -> String {
        self.described.clone()
    }
}

/// An object being written: held in memory up to one part, then a multipart upload.
struct S3FileWriter {
    store: Arc<dyn ObjectStore>,
    described: String,
    path: ObjectPath,
    /// What was written before the upload started (less than one part), in the pieces it
    /// came in: they become the first part as they are, without being copied into one buffer.
    pending: Vec<bytes::Bytes>,
    /// Their length.
    pending_len: usize,
    /// The multipart upload, once the object outgrew one part.
    upload: Option<WriteMultipart>,
}

impl FileWriter for S3FileWriter {
    fn write<'a>(&'a mut self, data: &'a [u8]) -> BoxFuture<'a, Result<(), FileStoreError>> {
        Box::pin(async move {
            if let Some(upload) = self.upload.as_mut() {
                upload
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| remote(&self.described, e))?;
                upload.put(bytes::Bytes::copy_from_slice(data));
                return Ok(());
            }
            self.pending.push(bytes::Bytes::copy_from_slice(data));
            self.pending_len += data.len();
            if self.pending_len >= PART {
                let started = self
                    .store
                    .put_multipart(&self.path)
                    .await
                    .map_err(|e| remote(&self.described, e))?;
                let mut upload = WriteMultipart::new_with_chunk_size(started, PART);
                for piece in self.pending.drain(..) {
                    upload.put(piece);
                }
                self.pending_len = 0;
                self.upload = Some(upload);
            }
            Ok(())
        })
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, Result<(), FileStoreError>> {
        Box::pin(async move {
            match self.upload.take() {
                Some(upload) => {
                    // In a task of its own, so that a request given up while it waits still
                    // completes or aborts the upload (`finish` aborts it itself when a part or
                    // the completion fails) rather than leave its parts in the bucket.
                    let finished = tokio::spawn(upload.finish())
                        .await
                        .map_err(|e| FileStoreError::Io(std::io::Error::other(e)))?;
                    finished.map_err(|e| remote(&self.described, e))?;
                }
                None => {
                    let body: PutPayload = std::mem::take(&mut self.pending).into_iter().collect();
                    self.store
                        .put(&self.path, body)
                        .await
                        .map_err(|e| remote(&self.described, e))?;
                }
            }
            Ok(())
        })
    }
}

impl Drop for S3FileWriter {
    fn drop(&mut self) {
        // An upload given up (a refused or cancelled request) is aborted, so its parts do not
        // linger in the bucket; nothing was ever visible under the key.
        if let Some(upload) = self.upload.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let described = self.described.clone();
            runtime.spawn(async move {
                if let Err(e) = upload.abort().await {
                    tracing::warn!(store = %described, error = %e, "could not abort an abandoned upload");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_addresses_are_checked() {
        assert_eq!(
            S3Location::parse_address("s3://files/a/b/").unwrap(),
            ("files".into(), "a/b".into())
        );
        assert_eq!(
            S3Location::parse_address("s3://files").unwrap(),
            ("files".into(), String::new())
        );
        for bad in [
            "files/a",
            "s3://",
            "s3://Bad_Bucket/x",
            "s3://ab/x",
            "s3://files/a/../b",
            "s3://files/a//b",
            "s3://files/a b",
            "s3://files/a%20b",
        ] {
            assert!(S3Location::parse_address(bad).is_err(), "{bad}");
        }
    }

    fn location(ca_file: Option<PathBuf>) -> S3Location {
        S3Location {
            bucket: "files".into(),
            prefix: "p".into(),
            access: S3Access {
                endpoint: Some("https://127.0.0.1:1".into()),
                region: "us-east-1".into(),
                access_key_id: "id".into(),
                secret_access_key: SecretString::from("TOPSECRET"),
                ca_file,
            },
        }
    }

    #[test]
    fn the_secret_is_never_printed() {
        let l = location(None);
        let shown = format!("{l} {l:?}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
        assert_eq!(l.to_string(), "s3://files/p at https://127.0.0.1:1");
    }

    #[test]
    fn a_ca_file_that_is_missing_or_holds_no_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = location(Some(missing)).connect().err().unwrap().to_string();
        assert!(err.contains("cannot read the CA file"), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        assert!(location(Some(empty)).connect().is_err());
    }
}
