//! The evidence vault's files: content-addressed (SHA-256), write-once,
//! in `DATA/vault/objects/<2 hex>/<64 hex>`.
//!
//! An upload streams to a temporary file while it is hashed, is synced, and
//! only then renamed to its address: a file under `objects/` is always
//! whole and named by its own SHA-256. Nothing is held in memory beyond one
//! chunk, so multi-gigabyte files work.
//!
//! Invariants:
//! - A stored object is never modified; it is only removed (retention expiry).
//! - An upload that fails (truncated, over the limit, declared hash wrong)
//!   leaves nothing behind.

use crate::{Result, StoreError};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// The mode of a stored object: readable by the service's user only, by no one writable.
pub const STORED_MODE: u32 = 0o400;

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the upload exceeds the limit of {0} bytes")]
    TooLarge(u64),
    #[error("the upload was cut short: {0}")]
    Truncated(String),
    #[error("the upload's SHA-256 is {actual}, not the declared {declared}")]
    HashMismatch { declared: String, actual: String },
    #[error("the upload is {actual} bytes, not the declared {declared}")]
    SizeMismatch { declared: u64, actual: u64 },
    #[error("the upload is empty")]
    Empty,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an upload must match.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub sha256: Option<[u8; 32]>,
    pub size: Option<u64>,
    pub max_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct Vault {
    dir: PathBuf,
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::file("vault", path, e)
}

impl Vault {
    pub fn open(dir: &Path) -> Result<Vault> {
        for d in ["objects", "tmp"] {
            std::fs::create_dir_all(dir.join(d)).map_err(|e| io(dir, e))?;
        }
        // Leftovers of uploads interrupted by a crash.
        if let Ok(rd) = std::fs::read_dir(dir.join("tmp")) {
            for f in rd.flatten() {
                let _ = std::fs::remove_file(f.path());
            }
        }
        Ok(Vault { dir: dir.to_owned() })
    }

    pub fn path_of(&self, sha256: &str) -> PathBuf {
        let prefix = sha256.get(..2).unwrap_or("00");
        self.dir.join("objects").join(prefix).join(sha256)
    }

    /// Streams chunks into the vault; returns (SHA-256, size). The chunks'
    /// error type is the transport's; any error aborts and removes the file.
    pub async fn put<S, E>(&self, mut chunks: S, expect: &Expect) -> Result<([u8; 32], u64), UploadError>
    where
        S: futures::Stream<Item = std::result::Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        use futures::StreamExt;
        let tmp = self.dir.join("tmp").join(hex::encode(rand::random::<[u8; 16]>()));
        // Evidence is for the service's eyes only: 0600 while it is written,
        // 0400 once stored (write-once on the file system too: only
        // removal, which retention expiry does, can touch it).
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .await
            .map_err(|e| io(&tmp, e))?;
        let result: Result<([u8; 32], u64), UploadError> = async {
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|e| UploadError::Truncated(e.to_string()))?;
                size += chunk.len() as u64;
                if size > expect.max_bytes {
                    return Err(UploadError::TooLarge(expect.max_bytes));
                }
                hasher.update(&chunk);
                file.write_all(&chunk).await.map_err(|e| io(&tmp, e))?;
            }
            if size == 0 {
                return Err(UploadError::Empty);
            }
            let digest: [u8; 32] = hasher.finalize().into();
            if let Some(declared) = expect.size
                && declared != size
            {
                return Err(UploadError::SizeMismatch { declared, actual: size });
            }
            if let Some(declared) = expect.sha256
                && declared != digest
            {
                return Err(UploadError::HashMismatch { declared: hex::encode(declared), actual: hex::encode(digest) });
            }
            file.set_permissions(std::fs::Permissions::from_mode(STORED_MODE)).await.map_err(|e| io(&tmp, e))?;
            file.sync_all().await.map_err(|e| io(&tmp, e))?;
            Ok((digest, size))
        }
        .await;
        drop(file);
        let (digest, size) = match result {
            Ok(v) => v,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        let dest = self.path_of(&hex::encode(digest));
        let parent = dest.parent().unwrap_or(&self.dir).to_owned();
        tokio::fs::create_dir_all(&parent).await.map_err(|e| io(&parent, e))?;
        if tokio::fs::try_exists(&dest).await.unwrap_or(false) {
            // The same bytes are stored already (write-once: keep the first).
            let _ = tokio::fs::remove_file(&tmp).await;
        } else {
            tokio::fs::rename(&tmp, &dest).await.map_err(|e| io(&dest, e))?;
            let d = parent.clone();
            tokio::task::spawn_blocking(move || std::fs::File::open(&d).and_then(|f| f.sync_all()))
                .await
                .map_err(StoreError::from)?
                .map_err(|e| io(&parent, e))?;
        }
        Ok((digest, size))
    }

    /// Opens a stored object for reading.
    pub async fn open_object(&self, sha256: &str) -> Result<tokio::fs::File> {
        let p = self.path_of(sha256);
        tokio::fs::File::open(&p).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NotFound(format!("the file of {sha256} is not in the vault")),
            _ => io(&p, e),
        })
    }

    /// Removes an object (retention expiry). Absent objects are fine.
    pub async fn remove(&self, sha256: &str) -> Result<()> {
        let p = self.path_of(sha256);
        match tokio::fs::remove_file(&p).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&p, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(
        parts: Vec<std::result::Result<&'static [u8], &'static str>>,
    ) -> impl futures::Stream<Item = std::result::Result<bytes::Bytes, String>> + Unpin {
        futures::stream::iter(parts.into_iter().map(|p| p.map(bytes::Bytes::from_static).map_err(str::to_owned)))
    }

    fn leftovers(dir: &Path) -> usize {
        std::fs::read_dir(dir.join("tmp")).unwrap().count()
    }

    #[tokio::test]
    async fn uploads_are_content_addressed_and_failures_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open(dir.path()).unwrap();
        let max = Expect { max_bytes: 100, ..Default::default() };
        let (h, n) = v.put(chunks(vec![Ok(b"hello "), Ok(b"world")]), &max).await.unwrap();
        assert_eq!((hex::encode(h), n), (hex::encode(Sha256::digest(b"hello world")), 11));
        let stored = std::fs::read(v.path_of(&hex::encode(h))).unwrap();
        assert_eq!(stored, b"hello world");
        let mode = std::fs::metadata(v.path_of(&hex::encode(h))).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o400, "stored evidence is read-only, for the service's user only");
        // Refusals.
        let small = Expect { max_bytes: 5, ..Default::default() };
        assert!(matches!(v.put(chunks(vec![Ok(b"hello world")]), &small).await, Err(UploadError::TooLarge(5))));
        assert!(matches!(v.put(chunks(vec![Ok(b"hel"), Err("reset")]), &max).await, Err(UploadError::Truncated(_))));
        let wrong = Expect { sha256: Some([0; 32]), ..max.clone() };
        assert!(matches!(v.put(chunks(vec![Ok(b"x")]), &wrong).await, Err(UploadError::HashMismatch { .. })));
        let short = Expect { size: Some(10), ..max.clone() };
        assert!(matches!(v.put(chunks(vec![Ok(b"x")]), &short).await, Err(UploadError::SizeMismatch { .. })));
        assert!(matches!(v.put(chunks(vec![]), &max).await, Err(UploadError::Empty)));
        assert_eq!(leftovers(dir.path()), 0, "failed uploads leave nothing");
        assert_eq!(std::fs::read(v.path_of(&hex::encode(h))).unwrap(), b"hello world", "nothing stored is altered");
        // The same bytes again: the first copy is kept.
        assert_eq!(v.put(chunks(vec![Ok(b"hello world")]), &max).await.unwrap().0, h);
        v.remove(&hex::encode(h)).await.unwrap();
        assert!(matches!(v.open_object(&hex::encode(h)).await, Err(StoreError::NotFound(_))));
    }
}
