//! Where the master key comes from: a key file, an environment variable, or an external KMS
//! behind [`KeyProvider`]. The master key never enters the database (ENC-02).
//!
//! Both built-in sources hold one or more versions as `VERSION:HEX` entries (64 hex digits each);
//! the highest version is the current one, older ones stay until rotation has rewrapped every
//! KEK and they are retired.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use crate::keys::SecretKey;
use crate::{CryptoError, CryptoResult};

/// One version of the master key.
#[derive(Debug, Clone)]
pub struct MasterKey {
    /// Its version; KEKs record which version wraps them.
    pub version: u32,
    /// The key.
    pub key: SecretKey,
}

/// A source of master keys: a file, the environment, or a KMS.
pub trait KeyProvider: Send + Sync + 'static {
    /// The version new KEKs are wrapped with.
    fn current(&self) -> CryptoResult<MasterKey>;
    /// A given version, to unwrap KEKs wrapped with it.
    fn version(&self, version: u32) -> CryptoResult<MasterKey>;
    /// Every version this source holds, lowest first.
    fn versions(&self) -> CryptoResult<Vec<u32>>;
    /// Adds a fresh version and makes it current (for `ideaweave keys rotate-master`). Sources
    /// managed elsewhere (environment, KMS) refuse: add the version there.
    fn add_version(&self) -> CryptoResult<u32> {
        Err(CryptoError::KeySource(
            "this master key source is managed outside Ideaweave: add the new version there, restart, then rotate".into(),
        ))
    }
    /// Removes a version that no key is wrapped by any more. Sources managed elsewhere refuse.
    fn retire_version(&self, version: u32) -> CryptoResult<()> {
        Err(CryptoError::KeySource(format!(
            "this master key source is managed outside Ideaweave: remove version {version} there"
        )))
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Parses `VERSION:HEX` entries separated by whitespace, commas or newlines (`#` starts a
/// comment). Messages never quote the key text.
fn parse_entries(text: &str, source: &str) -> CryptoResult<Vec<MasterKey>> {
    let mut keys: Vec<MasterKey> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        for entry in line.split([',', ' ', '\t']).filter(|e| !e.is_empty()) {
            let bad =
                |why: &str| CryptoError::KeySource(format!("{source}, line {}: {why}", n + 1));
            let (v, hex) = entry
                .split_once(':')
                .ok_or_else(|| bad("expected VERSION:HEX"))?;
            let version: u32 = v
                .parse()
                .map_err(|_| bad("the version is not a whole number"))?;
            if version == 0 {
                return Err(bad("versions start at 1"));
            }
            let bytes = zeroize::Zeroizing::new(
                decode_hex(hex).ok_or_else(|| bad("the key is not hexadecimal"))?,
            );
            let key = SecretKey::from_bytes(&bytes)
                .map_err(|_| bad("the key must be 64 hex digits (32 bytes)"))?;
            if keys.iter().any(|k| k.version == version) {
                return Err(bad("the version appears twice"));
            }
            keys.push(MasterKey { version, key });
        }
    }
    if keys.is_empty() {
        return Err(CryptoError::KeySource(format!("{source} holds no key")));
    }
    keys.sort_by_key(|k| k.version);
    Ok(keys)
}

fn pick(keys: &[MasterKey], version: u32, source: &str) -> CryptoResult<MasterKey> {
    keys.iter()
        .find(|k| k.version == version)
        .cloned()
        .ok_or_else(|| {
            CryptoError::KeySource(format!("{source} has no master key version {version}"))
        })
}

/// Master keys from a file that only its owner may read (mode 0600 or stricter).
///
/// The file is read again when it changes, so a version added by `ideaweave keys rotate-master`
/// (another process) is picked up by running servers without a restart.
#[derive(Debug)]
pub struct KeyFileProvider {
    path: PathBuf,
    keys: RwLock<Loaded>,
}

#[derive(Debug, Clone)]
struct Loaded {
    stamp: Option<Stamp>,
    keys: Vec<MasterKey>,
}

/// What tells a changed key file from the one read before: the modification time alone is too
/// coarse on some filesystems, but every rewrite here is a rename, which changes the inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(meta: &std::fs::Metadata) -> Stamp {
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode,
    }
}

fn read_key_file(path: &Path) -> CryptoResult<Loaded> {
    let source = format!("key file {}", path.display());
    let meta =
        std::fs::metadata(path).map_err(|e| CryptoError::KeySource(format!("{source}: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(CryptoError::KeySource(format!(
                "{source} has permissions {mode:o}; it must be readable by its owner only (chmod 600)"
            )));
        }
    }
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| CryptoError::KeySource(format!("{source}: {e}")))?,
    );
    Ok(Loaded {
        stamp: Some(stamp(&meta)),
        keys: parse_entries(&text, &source)?,
    })
}

/// Writes `text` to `path` with mode 0600, atomically (temporary file, fsync, rename).
fn write_private(path: &Path, text: &str) -> CryptoResult<()> {
    let err = |e: std::io::Error| {
        CryptoError::KeySource(format!("cannot write key file {}: {e}", path.display()))
    };
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(err)?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

const KEY_FILE_HEADER: &str =
    "# Ideaweave master key. Keep a copy offline; without it nothing can be decrypted.\n";

impl KeyFileProvider {
    /// Loads the key file, refusing one that group or others could read or write.
    pub fn load(path: &Path) -> CryptoResult<Self> {
        Ok(Self {
            keys: RwLock::new(read_key_file(path)?),
            path: path.to_owned(),
        })
    }

    /// Creates a new key file (mode 0600) holding one fresh version-1 key. Refuses to overwrite.
    pub fn create(path: &Path) -> CryptoResult<Self> {
        let key = SecretKey::generate()?;
        let hex = zeroize::Zeroizing::new(key_hex(&key));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| {
            CryptoError::KeySource(format!("cannot create key file {}: {e}", path.display()))
        })?;
        writeln!(f, "{KEY_FILE_HEADER}1:{}", hex.as_str())
            .and_then(|_| f.sync_all())
            .map_err(|e| {
                CryptoError::KeySource(format!("cannot write key file {}: {e}", path.display()))
            })?;
        Self::load(path)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn loaded(&self) -> Loaded {
        match self.keys.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Reads the file again if it changed since it was last read.
    fn refresh(&self) -> CryptoResult<Loaded> {
        let now = std::fs::metadata(&self.path).ok().map(|m| stamp(&m));
        let current = self.loaded();
        if now.is_some() && now == current.stamp {
            return Ok(current);
        }
        let fresh = read_key_file(&self.path)?;
        match self.keys.write() {
            Ok(mut g) => *g = fresh.clone(),
            Err(p) => *p.into_inner() = fresh.clone(),
        }
        Ok(fresh)
    }

    fn rewrite(&self, keys: &[MasterKey]) -> CryptoResult<()> {
        let mut text = zeroize::Zeroizing::new(KEY_FILE_HEADER.to_owned());
        for k in keys {
            text.push_str(&format!("{}:{}\n", k.version, key_hex(&k.key)));
        }
        write_private(&self.path, &text)?;
        self.refresh().map(|_| ())
    }
}

fn key_hex(key: &SecretKey) -> String {
    key.bytes().iter().map(|b| format!("{b:02x}")).collect()
}

impl KeyProvider for KeyFileProvider {
    fn current(&self) -> CryptoResult<MasterKey> {
        self.refresh()?
            .keys
            .last()
            .cloned()
            .ok_or_else(|| CryptoError::KeySource("no key".into()))
    }
    fn version(&self, version: u32) -> CryptoResult<MasterKey> {
        let source = format!("key file {}", self.path.display());
        let loaded = self.loaded();
        if let Ok(k) = pick(&loaded.keys, version, &source) {
            return Ok(k);
        }
        pick(&self.refresh()?.keys, version, &source)
    }
    fn versions(&self) -> CryptoResult<Vec<u32>> {
        Ok(self.refresh()?.keys.iter().map(|k| k.version).collect())
    }
    fn add_version(&self) -> CryptoResult<u32> {
        let mut keys = self.refresh()?.keys;
        let version = keys.last().map_or(1, |k| k.version + 1);
        keys.push(MasterKey {
            version,
            key: SecretKey::generate()?,
        });
        self.rewrite(&keys)?;
        Ok(version)
    }
    fn retire_version(&self, version: u32) -> CryptoResult<()> {
        let mut keys = self.refresh()?.keys;
        if keys.last().is_some_and(|k| k.version == version) {
            return Err(CryptoError::KeySource(format!(
                "version {version} is the current master key; rotate to a new one first"
            )));
        }
        let before = keys.len();
        keys.retain(|k| k.version != version);
        if keys.len() == before {
            return Err(CryptoError::KeySource(format!(
                "key file {} has no master key version {version}",
                self.path.display()
            )));
        }
        self.rewrite(&keys)
    }
}

/// Master keys from an environment variable (for platforms that inject secrets that way).
#[derive(Debug)]
pub struct EnvKeyProvider {
    var: String,
    keys: Vec<MasterKey>,
}

impl EnvKeyProvider {
    /// Reads `var` (for example `IDEAWEAVE_MASTER_KEY`).
    pub fn load(var: &str) -> CryptoResult<Self> {
        let text = zeroize::Zeroizing::new(std::env::var(var).map_err(|_| {
            CryptoError::KeySource(format!("environment variable {var} is not set"))
        })?);
        Ok(Self {
            keys: parse_entries(&text, &format!("environment variable {var}"))?,
            var: var.to_owned(),
        })
    }
}

impl KeyProvider for EnvKeyProvider {
    fn current(&self) -> CryptoResult<MasterKey> {
        self.keys
            .last()
            .cloned()
            .ok_or_else(|| CryptoError::KeySource("no key".into()))
    }
    fn version(&self, version: u32) -> CryptoResult<MasterKey> {
        pick(
            &self.keys,
            version,
            &format!("environment variable {}", self.var),
        )
    }
    fn versions(&self) -> CryptoResult<Vec<u32>> {
        Ok(self.keys.iter().map(|k| k.version).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const K2: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    #[cfg(unix)]
    fn write_with_mode(path: &Path, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn enc_02_key_file_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        write_with_mode(&path, &format!("1:{K1}\n2:{K2}\n"), 0o644);
        let e = KeyFileProvider::load(&path).unwrap_err().to_string();
        assert!(e.contains("644") && e.contains("chmod 600"), "{e}");
        assert!(!e.contains("1111"), "no key text in messages");
        write_with_mode(
            &path,
            &format!("# two versions\n1:{K1}\n2:{K2} # current\n"),
            0o600,
        );
        let p = KeyFileProvider::load(&path).unwrap();
        assert_eq!(p.current().unwrap().version, 2);
        assert_eq!(p.versions().unwrap(), vec![1, 2]);
        assert!(p.version(3).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn enc_02_created_key_files_are_0600_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let p = KeyFileProvider::create(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(p.current().unwrap().version, 1);
        assert!(KeyFileProvider::create(&path).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn enc_03_versions_are_added_and_retired_in_the_file_and_seen_by_other_readers() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let writer = KeyFileProvider::create(&path).unwrap();
        let reader = KeyFileProvider::load(&path).unwrap();
        let v1 = reader.version(1).unwrap().key;
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(writer.add_version().unwrap(), 2);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(reader.version(2).unwrap().version, 2, "reloaded on a miss");
        assert_eq!(reader.current().unwrap().version, 2);
        assert!(
            writer.retire_version(2).is_err(),
            "the current version stays"
        );
        writer.retire_version(1).unwrap();
        assert_eq!(reader.versions().unwrap(), vec![2]);
        assert!(
            reader.version(1).is_err(),
            "gone once the file is read again"
        );
        assert_ne!(reader.version(2).unwrap().key.bytes(), v1.bytes());
    }

    #[test]
    fn enc_02_malformed_key_text_is_refused_without_echoing_it() {
        for bad in [
            "",
            "# nothing",
            "1:abc",
            "x:11",
            "0:11",
            &format!("1:{K1} 1:{K2}"),
            K1,
            "1:zz",
        ] {
            let e = parse_entries(bad, "test").unwrap_err().to_string();
            assert!(!e.contains("1111") && !e.contains("2222"), "{e}");
        }
        assert_eq!(
            parse_entries(&format!("2:{K2},1:{K1}"), "t").unwrap()[0].version,
            1
        );
    }
}
