//! The data directory: the one owner of its layout.
//!
//! ```text
//! DIR/LOCK          exclusive lock of the process that has it open
//! DIR/journal/      the event journal (segments; `journal.rs`)
//! DIR/stockade.db   SQLite: reference data, tokens, book snapshot, records
//! DIR/ledger/       the evidence ledger (its own files; `ledger.rs`)
//! DIR/vault/        evidence files (`vault.rs`)
//! ```
//!
//! Invariants:
//! - Nothing outside this module names a file at the top of a data
//!   directory; the ledger and the vault own what is inside their folders.
//! - The lock is taken before anything in the directory is opened or
//!   created, and held for as long as the store is open: one process per
//!   data directory.
//! - A new data directory is created mode 0700 (events name people).

use crate::{EmbeddedStore, Ledger, Result, Store, StoreError, vault::Vault};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const LOCK: &str = "LOCK";
const JOURNAL: &str = "journal";
const DATABASE: &str = "stockade.db";
const LEDGER: &str = "ledger";
const VAULT: &str = "vault";

/// A data directory, by path; nothing is opened until asked.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// A data directory opened whole: the store (holding the lock), the
/// evidence ledger and the vault.
pub struct Opened {
    pub dir: DataDir,
    pub store: Arc<dyn Store>,
    pub ledger: Arc<Ledger>,
    pub vault: Vault,
}

impl Opened {
    /// Saves what the store derives in memory and releases the directory.
    pub async fn close(self) {
        self.store.close().await;
    }
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `path` holds a Stockade data directory (an event journal or
    /// a store database), as opposed to a folder that merely exists.
    pub fn is_data_dir(path: &Path) -> bool {
        path.join(JOURNAL).is_dir() || path.join(DATABASE).is_file()
    }

    pub(crate) fn lock_path(&self) -> PathBuf {
        self.root.join(LOCK)
    }

    pub(crate) fn journal_path(&self) -> PathBuf {
        self.root.join(JOURNAL)
    }

    pub(crate) fn database_path(&self) -> PathBuf {
        self.root.join(DATABASE)
    }

    /// The evidence ledger's folder (the ledger owns what is in it).
    pub fn ledger_path(&self) -> PathBuf {
        self.root.join(LEDGER)
    }

    /// The evidence vault's folder (the vault owns what is in it).
    pub fn vault_path(&self) -> PathBuf {
        self.root.join(VAULT)
    }

    /// Opens (creating if needed) the store alone: the lock first, then the
    /// journal and database.
    pub async fn open_store(&self) -> Result<Arc<dyn Store>> {
        Ok(Arc::new(EmbeddedStore::open_in(self).await?))
    }

    /// Opens (creating if needed) the store, the evidence ledger and the
    /// vault, in that order: the store's lock covers the other two. A new
    /// ledger is given `origin` (a schema-less URL naming the log).
    pub async fn open(&self, origin: &str) -> Result<Opened> {
        let store = self.open_store().await?;
        let (dir, origin) = (self.ledger_path(), origin.to_owned());
        let ledger = tokio::task::spawn_blocking(move || Ledger::open(&dir, &origin)).await??;
        let vault = Vault::open(&self.vault_path())?;
        Ok(Opened { dir: self.clone(), store, ledger: Arc::new(ledger), vault })
    }

    /// Opens a data directory that must already exist with its ledger
    /// (`ledger verify`, `ledger key`): nothing is created, and a path that
    /// is not a data directory, or one without a ledger, is refused saying so.
    pub async fn open_existing(&self) -> Result<Opened> {
        if !self.root.is_dir() {
            return Err(StoreError::NotFound(format!(
                "{} is not a data directory (it does not exist or is not a directory)",
                self.root.display()
            )));
        }
        if !DataDir::is_data_dir(&self.root) {
            return Err(StoreError::NotFound(format!("{} holds no Stockade data directory", self.root.display())));
        }
        if !Ledger::exists(&self.ledger_path()) {
            return Err(StoreError::NotFound(format!("{} holds no evidence ledger", self.root.display())));
        }
        // The store first: its lock keeps a running server's directory from
        // being opened (opening the ledger cuts unsynced tails).
        let store = self.open_store().await?;
        let dir = self.ledger_path();
        let ledger = tokio::task::spawn_blocking(move || Ledger::open_existing(&dir)).await??;
        let vault = Vault::open(&self.vault_path())?;
        Ok(Opened { dir: self.clone(), store, ledger: Arc::new(ledger), vault })
    }

    /// Takes the directory's lock, creating the directory (0700) if needed,
    /// so that two processes never append to the same journal and ledger.
    /// Released when the returned file is dropped, or when the process dies.
    pub(crate) fn lock(&self) -> Result<std::fs::File> {
        // Events name people (badges, logins, HR changes): a new data directory
        // is the service user's alone. An existing one keeps the mode its
        // operator chose, with a warning if others can enter it.
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let dir = &self.root;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| StoreError::file("data directory", dir, e))?;
        if let Ok(meta) = std::fs::metadata(dir)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                dir = %dir.display(),
                mode = format!("{:03o}", meta.permissions().mode() & 0o777),
                "the data directory is open to other users; `chmod 700` it unless that is intended"
            );
        }
        let path = self.lock_path();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::file("data directory lock", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked(dir.to_owned())),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::file("data directory lock", &path, e)),
        }
    }
}
