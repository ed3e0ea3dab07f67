//! The evidence ledger on disk: the log's entries, its keys and its latest
//! signed checkpoint, in `DIR/ledger/`.
//!
//! ```text
//! ledger/entries      u32 len, u32 crc32, entry bytes; one record per leaf, in leaf order
//! ledger/log.key      the Ed25519 signing key, signed-note private form (0600)
//! ledger/salt.key     the secret salts are derived from, hex (0600)
//! ledger/checkpoint   the latest signed checkpoint (C2SP tlog-checkpoint note)
//! ledger/hashes       the tree's stored hashes, derived from the entries (crate::hashes)
//! ```
//!
//! The Merkle tree's hashes (64 bytes a leaf) live in `hashes`, read through
//! a memory map: page cache, not heap. The heap holds 8 bytes per 32 leaves
//! (where their entries start) and a few per group commit (which leaves are
//! which events). Opening trusts `hashes` up to the signed
//! checkpoint (synced before it was signed; the roots must agree) and
//! rehashes only the entries after it; `stockade ledger verify`
//! ([`Ledger::recheck`]) rehashes them all.
//!
//! Durability. An event's entry is made of what the store's journal holds
//! for it (seq, time received, content hash, CBV hash) and the salt key:
//! the group commit syncs the journal, so the journal is the entry's
//! write-ahead log, and ingest writes event entries without an `fdatasync`
//! of their own (one sync per group commit, not two). A crash can lose or
//! damage only event records written after the ledger's last sync, and the
//! restart's [`Ledger::catch_up`] writes them again byte for byte from the
//! journal (tested), so every proof, tile or checkpoint given out before
//! the crash still holds. Every other entry (evidence, custody, audit) is
//! synced before [`Ledger::append`] returns, and a checkpoint is signed
//! over it at once.
//!
//! Invariants:
//! - Leaves only append. An entry joins the tree (and so any proof or tile)
//!   only after it is written; a non-event entry only after it is synced.
//! - Event leaves are in event `seq` order, one per stored event; a store's
//!   events that have no leaf yet (a crash before the ledger's records
//!   reached the disk) are given theirs by [`Ledger::catch_up`] before
//!   anything else is appended, so leaves are the same whether or not a
//!   crash happened.
//! - A checkpoint is signed only over entries that are synced, and whose
//!   stored hashes are too; its size never goes down. If a sync fails, the
//!   log refuses appends and checkpoints until a restart reloads it from disk.
//! - On open, the records a signed checkpoint covers must be intact (damage
//!   refuses to open). Past it, a crash may have torn or holed the records
//!   written since the last sync: the first damaged one and everything after
//!   it are cut off, for the catch-up to write again.

use crate::hashes::HashFile;
use crate::{Appended, EventQuery, NewEvent, Result, Store, StoreError, StoredEvent};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, RwLock};
use stockade_ledger::checkpoint::LogKey;
use stockade_ledger::entry::{Entry, SaltKey, commitment};
use stockade_ledger::{Chunked, Edge, Hash, HashStore, Tree, TreeError, stored_hash_count};

/// Why a log refuses appends until it is reopened.
const BROKEN: &str = "an earlier write or sync failed and could not be undone; restart to reload the log";

/// Whether a write waits for the disk.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Durability {
    /// `fdatasync` before the write returns.
    Now,
    /// Stored events' records: the next checkpoint syncs them (their
    /// journal already holds what they are made of).
    AtCheckpoint,
}

/// The log remembers where every `STRIDE`-th entry's record starts (a
/// quarter of a byte of heap per leaf) and finds an entry by walking from
/// there (at most 31 records, about 2 KB). A divisor of the 256 entries of
/// a C2SP tlog-tiles bundle, so a bundle is one read.
const STRIDE: u64 = 32;

/// Records being prepared for one write: encoded, checksummed and leaf-hashed
/// before the log's locks are taken.
#[derive(Default)]
struct Batch {
    buf: Vec<u8>,
    leaves: Vec<Hash>,
    /// End offset of each record in `buf`.
    ends: Vec<u64>,
    /// (event seq, position in the batch) of the event leaves.
    events: Vec<(u64, usize)>,
}

impl Batch {
    /// Empties the batch and makes room for `n` records of about `bytes`
    /// bytes each, `events` of them events. The ledger keeps one batch and
    /// reuses it: a fresh one per group cost page faults and cache misses.
    fn reset(&mut self, n: usize, bytes: usize, events: usize) {
        // A one-off big batch (catching up after a crash) is not kept.
        const KEEP: usize = 1 << 16;
        if self.leaves.capacity() > KEEP.max(n) {
            *self = Batch::default();
        }
        self.buf.clear();
        self.leaves.clear();
        self.ends.clear();
        self.events.clear();
        self.buf.reserve(n * (8 + bytes));
        self.leaves.reserve(n);
        self.ends.reserve(n);
        self.events.reserve(events);
    }

    /// Adds one record whose entry `encode` writes.
    fn add(
        &mut self,
        event_seq: Option<u64>,
        encode: impl FnOnce(&mut Vec<u8>) -> std::result::Result<(), stockade_ledger::entry::EntryError>,
    ) -> Result<()> {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; 8]);
        if let Err(err) = encode(&mut self.buf) {
            self.buf.truncate(start);
            return Err(corrupt(err.to_string()));
        }
        let body = &self.buf[start + 8..];
        let (len, crc) = (body.len() as u32, crc32fast::hash(body));
        self.buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
        self.buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        if let Some(seq) = event_seq {
            self.events.push((seq, self.ends.len()));
        }
        self.ends.push(self.buf.len() as u64);
        Ok(())
    }

    /// Leaf-hashes the records added since the last seal, in one batch:
    /// done before the batch is committed (the ingest path seals every
    /// chunk of records it adds, while they are still in cache).
    fn seal(&mut self) {
        let (done, all) = (self.leaves.len(), self.ends.len());
        if done == all {
            return;
        }
        let start = if done == 0 { 0 } else { self.ends[done - 1] as usize };
        let ends = self.ends[done..].iter().map(|&e| e as usize - start);
        leaf_hashes_of(&self.buf[start..], ends, 8, &mut self.leaves);
    }
}

/// The leaf hashes (in batches, `stockade_ledger::bulk`) of the records
/// laid end to end in `buf`, each ending at the next of `ends` and starting
/// with `header` bytes that are not part of its entry. The records are
/// staged [`CHUNK`](stockade_ledger::bulk::CHUNK) at a time on the stack.
fn leaf_hashes_of(buf: &[u8], ends: impl Iterator<Item = usize>, header: usize, out: &mut Vec<Hash>) {
    use stockade_ledger::bulk::{CHUNK, leaf_hashes};
    let mut entries: [&[u8]; CHUNK] = [&[]; CHUNK];
    let (mut start, mut staged) = (0, 0);
    for end in ends {
        entries[staged] = &buf[start + header..end];
        start = end;
        staged += 1;
        if staged == CHUNK {
            leaf_hashes(&entries, out);
            staged = 0;
        }
    }
    leaf_hashes(&entries[..staged], out);
}

/// A signed checkpoint and what it says.
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The C2SP signed note, as served at `/tlog/checkpoint`.
    pub note: Vec<u8>,
}

struct LogState {
    tree: Tree<HashFile>,
    /// Offset in `entries` of the record of every entry `STRIDE·k`.
    starts: Chunked<u64>,
    /// End of the last record.
    end: u64,
    /// Which leaf holds which event.
    events: EventLeaves,
}

/// Which leaf holds which event, as runs of consecutive seqs in consecutive
/// leaves (a group commit's events are one run): a few bytes per group
/// instead of 16 per event.
///
/// Invariant: seqs and leaves both increase strictly, within and across runs.
#[derive(Debug, Default)]
struct EventLeaves {
    /// (first seq, its leaf, events in the run)
    runs: Vec<(u64, u64, u64)>,
}

impl EventLeaves {
    /// Records that event `seq` is leaf `leaf`; refused unless both follow the last.
    fn push(&mut self, seq: u64, leaf: u64) -> std::result::Result<(), u64> {
        match self.runs.last_mut() {
            Some((s, l, n)) if seq == *s + *n && leaf == *l + *n => {
                *n += 1;
                return Ok(());
            }
            Some((s, l, n)) if seq < *s + *n || leaf < *l + *n => return Err(*s + *n - 1),
            _ => {}
        }
        self.runs.push((seq, leaf, 1));
        Ok(())
    }

    fn leaf(&self, seq: u64) -> Option<u64> {
        let i = self.runs.partition_point(|(s, _, _)| *s <= seq).checked_sub(1)?;
        let (s, l, n) = self.runs[i];
        (seq - s < n).then_some(l + (seq - s))
    }

    /// The last event's seq, or 0.
    fn last_seq(&self) -> u64 {
        self.runs.last().map(|(s, _, n)| s + n - 1).unwrap_or(0)
    }
}

/// The ledger. Appends are serialised; proofs and tiles are read beside them.
pub struct Ledger {
    dir: PathBuf,
    key: LogKey,
    origin: String,
    salt: SaltKey,
    state: RwLock<LogState>,
    writer: Mutex<File>,
    /// Another handle on `entries`, to sync it without the writer's lock.
    syncer: File,
    /// One checkpoint signer at a time, so that sizes never go down.
    signer: Mutex<()>,
    /// The batch appends are prepared in, reused (appends are serialised anyway).
    batch: Mutex<Batch>,
    /// Set when a failed write could not be cut off the file (the file no
    /// longer matches the tree) or a sync of it failed (written pages may
    /// be lost): every later append and checkpoint is refused.
    broken: std::sync::atomic::AtomicBool,
    /// Readers of `entries` (positional reads; no seek state).
    reader: File,
    checkpoint: RwLock<Option<SignedCheckpoint>>,
    /// The next write's failure, simulated (tests only).
    #[cfg(test)]
    fault: Mutex<Option<Fault>>,
    /// The next sync of `entries` fails, simulated (tests only).
    #[cfg(test)]
    sync_fails: std::sync::atomic::AtomicBool,
}

/// A disk failure the tests simulate: the disk fills up after `bytes` of
/// the next write reach the file.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fault {
    pub bytes: usize,
    /// Cutting the part written off the file fails too.
    pub cut_fails: bool,
}

/// The file of the tree's stored hashes in the ledger's folder: derived
/// from the entries, rebuilt from them when it is missing.
pub const HASHES_FILE: &str = "hashes";

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::file("ledger", path, e)
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(format!("ledger: {what}"))
}

/// Writes a secret file readable only by its owner, durably.
fn write_secret(path: &Path, contents: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f =
        OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(contents.as_bytes()).and_then(|()| f.sync_all()).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    File::open(path.parent().unwrap_or(Path::new("."))).and_then(|d| d.sync_all()).map_err(|e| io(path, e))
}

/// Reads a secret file, refusing one that other users can read or write
/// (as ssh does with private keys): a log key others may have copied can
/// sign checkpoints that are not ours, and the salt secret opens every
/// commitment.
fn read_secret(path: &Path) -> Result<Option<String>> {
    use std::os::unix::fs::PermissionsExt;
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path, e)),
    };
    let mode = std::fs::metadata(path).map_err(|e| io(path, e))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(StoreError::SecretExposed { path: path.to_owned(), mode });
    }
    Ok(Some(text))
}

/// The entry of a stored event.
pub fn event_entry(salt: &SaltKey, seq: u64, received_us: i64, hash: &[u8; 32], epcis: Option<String>) -> Entry {
    Entry::Event { seq, received_us, commit: commitment(&salt.event_salt(seq), hash), epcis }
}

/// A group's event records on their way to the log: the group commit's
/// writer takes what they need from the stored events
/// ([`Prepared::take_events`]); the ledger stage salts, commits, encodes,
/// checksums and leaf-hashes them in batches ([`Ledger::prepare`]), then
/// writes them and adds the leaves to the tree
/// ([`Ledger::commit_prepared`]). Reusable: its room is kept.
#[derive(Default)]
pub struct Prepared {
    batch: Batch,
    /// What the records are made of: the accepted events' seq, time,
    /// content hash and CBV hash (their payloads are freed once stored).
    events: Vec<(u64, i64, [u8; 32], Option<String>)>,
}

impl Prepared {
    /// Takes what the records of a stored group's accepted events need
    /// (`outcome` is the store's answer for `events`), replacing what was
    /// taken before. Cheap: copies, no hashing ([`Ledger::prepare`] hashes).
    pub fn take_events(&mut self, events: &mut [NewEvent], outcome: &[Appended]) {
        // Room kept is bounded like the batch's (`Batch::reset`).
        if self.events.capacity() > 1 << 16 {
            self.events = Vec::new();
        }
        self.events.clear();
        self.events.extend(events.iter_mut().zip(outcome).filter_map(|(e, a)| match a {
            Appended::Accepted(seq) => Some((*seq as u64, e.received_us, e.hash, e.epcis_hash.take())),
            Appended::Duplicate => None,
        }));
    }

    /// Records prepared.
    pub fn len(&self) -> usize {
        self.batch.leaves.len()
    }

    pub fn is_empty(&self) -> bool {
        self.batch.leaves.is_empty()
    }
}

/// The CBV event hash recorded in a stored event's payload, if it came from EPCIS.
fn stored_epcis_hash(e: &StoredEvent) -> Result<Option<String>> {
    if !e.payload.contains("\"epcis\"") {
        return Ok(None);
    }
    let ev = stockade_model::Event::from_json(e.payload.as_bytes())
        .map_err(|err| StoreError::Corrupt(format!("event {}: {err}", e.seq)))?;
    Ok(ev.epcis.map(|o| o.event_hash))
}

impl Ledger {
    /// Opens the ledger in `dir` (usually `DATA/ledger`), creating it and its
    /// keys on first start. `origin` names a new log (a schema-less URL); an
    /// existing log keeps the origin its key was made with.
    pub fn open(dir: &Path, origin: &str) -> Result<Ledger> {
        Ledger::open_with(dir, Some(origin))
    }

    /// Whether `dir` holds a ledger (its signing key).
    pub fn exists(dir: &Path) -> bool {
        dir.join("log.key").is_file()
    }

    /// Opens the ledger in `dir`, which must exist: nothing is created.
    pub fn open_existing(dir: &Path) -> Result<Ledger> {
        Ledger::open_with(dir, None)
    }

    /// Opens the ledger; with an origin, a missing one is created.
    fn open_with(dir: &Path, origin: Option<&str>) -> Result<Ledger> {
        if origin.is_none() && !Ledger::exists(dir) {
            return Err(StoreError::NotFound(format!("no evidence ledger in {} (no log.key)", dir.display())));
        }
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let kernel = stockade_ledger::bulk::backend();
        if stockade_ledger::bulk::lockstep_ok() {
            tracing::debug!(kernel, "the ledger hashes in batches");
        } else {
            tracing::warn!(kernel, "the batch SHA-256 kernel disagreed with sha2 on this CPU; hashing one by one");
        }
        let key_path = dir.join("log.key");
        let key = match read_secret(&key_path)? {
            Some(text) => LogKey::from_private(&text).map_err(|e| corrupt(format!("{}: {e}", key_path.display())))?,
            None => {
                let Some(origin) = origin else {
                    return Err(StoreError::NotFound(format!("no evidence ledger in {}", dir.display())));
                };
                if origin.is_empty() || origin.contains(['+', ' ', '\n']) {
                    return Err(StoreError::InvalidOrigin(origin.to_owned()));
                }
                let (key, private) = LogKey::generate(origin).map_err(|e| corrupt(e.to_string()))?;
                write_secret(&key_path, &private)?;
                tracing::info!(origin, "created the ledger's signing key");
                key
            }
        };
        let origin = key.verifier_key().split('+').next().unwrap_or_default().to_owned();
        let salt_path = dir.join("salt.key");
        let salt = match read_secret(&salt_path)? {
            Some(text) => {
                let mut b = [0u8; 32];
                hex::decode_to_slice(text.trim(), &mut b)
                    .map_err(|_| corrupt(format!("{} is not 32 bytes of hex", salt_path.display())))?;
                SaltKey::from_bytes(b).map_err(|e| corrupt(e.to_string()))?
            }
            None => {
                let s = SaltKey::generate().map_err(|e| corrupt(e.to_string()))?;
                write_secret(&salt_path, &hex::encode(s.as_bytes()))?;
                s
            }
        };

        let path = dir.join("entries");
        let file = OpenOptions::new().create(true).read(true).append(true).open(&path).map_err(|e| io(&path, e))?;

        let cp_path = dir.join("checkpoint");
        let signed = match std::fs::read(&cp_path) {
            Ok(note) => {
                let cp = stockade_ledger::checkpoint::open(&note, key.verifier_key())
                    .map_err(|e| corrupt(format!("{}: {e}", cp_path.display())))?;
                Some((cp.size(), *cp.hash(), note))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&cp_path, e)),
        };
        // The stored hashes were synced before the checkpoint was signed, so
        // they are trusted up to its size (when the file holds them all);
        // the entries after it are rehashed.
        let hashes = dir.join(HASHES_FILE);
        let held = HashFile::count(&hashes).map_err(|e| io(&hashes, e))?;
        let trusted = match &signed {
            Some((size, _, _)) if held >= stored_hash_count(*size) => *size,
            _ => 0,
        };
        let durable = signed.as_ref().map_or(0, |(size, _, _)| *size);
        let mut state = load(&path, &file, &hashes, trusted, durable)?;
        let checkpoint = match signed {
            Some((size, hash, note)) => {
                let root = |st: &LogState| {
                    st.tree.root(size).map_err(|e| {
                        corrupt(format!(
                            "the signed checkpoint covers {size} leaves but the log has {}: {e}",
                            st.tree.size()
                        ))
                    })
                };
                if trusted > 0 && root(&state)? != hash {
                    // The derived file does not agree with the checkpoint
                    // signed over it: damaged. The entries decide.
                    tracing::warn!(path = %hashes.display(), "the ledger's stored hashes disagree with its checkpoint; rebuilding them from the entries");
                    drop(state);
                    state = load(&path, &file, &hashes, 0, durable)?;
                }
                if root(&state)? != hash {
                    return Err(corrupt(format!(
                        "the log's root at size {size} is not the one its signed checkpoint names"
                    )));
                }
                Some(SignedCheckpoint { size, root: hash, note })
            }
            None => None,
        };
        let reader = File::open(&path).map_err(|e| io(&path, e))?;
        Ok(Ledger {
            dir: dir.to_owned(),
            key,
            origin,
            salt,
            state: RwLock::new(state),
            syncer: file.try_clone().map_err(|e| io(&path, e))?,
            writer: Mutex::new(file),
            signer: Mutex::new(()),
            batch: Mutex::new(Batch::default()),
            broken: Default::default(),
            reader,
            checkpoint: RwLock::new(checkpoint),
            #[cfg(test)]
            fault: Mutex::new(None),
            #[cfg(test)]
            sync_fails: Default::default(),
        })
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The verifier key in signed-note form (`origin+keyid+base64`).
    pub fn verifier_key(&self) -> &str {
        self.key.verifier_key()
    }

    /// The salts' secret (for disclosing the salts of records in a package).
    pub fn salt_key(&self) -> &SaltKey {
        &self.salt
    }

    fn read_state(&self) -> Result<std::sync::RwLockReadGuard<'_, LogState>> {
        self.state.read().map_err(|_| StoreError::Poisoned("ledger"))
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.state.read().map(|s| s.tree.size()).unwrap_or(0)
    }

    /// The seq of the last event with a leaf (0 when none).
    pub fn last_event_seq(&self) -> u64 {
        self.state.read().ok().map(|s| s.events.last_seq()).unwrap_or(0)
    }

    /// Appends entries durably (synced); returns the index of the first.
    /// When any of them is not an event's (evidence, custody, audit: what
    /// no journal can rebuild), a checkpoint is signed over it at once.
    pub fn append(&self, entries: &[Entry]) -> Result<u64> {
        let events = entries.iter().filter(|e| matches!(e, Entry::Event { .. })).count();
        let first = {
            let mut batch = self.batch.lock().map_err(|_| StoreError::Poisoned("ledger"))?;
            batch.reset(entries.len(), 160, events);
            for e in entries {
                let seq = if let Entry::Event { seq, .. } = e { Some(*seq) } else { None };
                batch.add(seq, |out| e.encode_into(out))?;
            }
            batch.seal();
            self.commit(&mut [&mut batch], Durability::Now)?
        };
        if events < entries.len()
            && let Err(e) = self.sign_checkpoint()
        {
            // The entries are on disk; the next checkpoint covers them.
            tracing::warn!(error = %e, "could not sign a checkpoint over new ledger entries");
        }
        Ok(first)
    }

    /// Salts, commits, encodes, checksums and leaf-hashes the records of
    /// the events [`Prepared::take_events`] took: the ingest path.
    pub fn prepare(&self, into: &mut Prepared) -> Result<()> {
        use stockade_ledger::bulk::CHUNK;
        let Prepared { batch, events } = into;
        // Sized up front: growing these per group cost page faults and copies.
        let n = events.len();
        let entry_len = if events.iter().any(|e| e.3.is_some()) {
            stockade_ledger::entry::EPCIS_EVENT_ENTRY_LEN
        } else {
            stockade_ledger::entry::EVENT_ENTRY_LEN
        };
        batch.reset(n, entry_len, n);
        // A chunk at a time, staged on the stack, and leaf-hashed while its
        // records are still in cache.
        const NONE: &[u8; 32] = &[0; 32];
        let mut commits = [[0u8; 32]; CHUNK];
        for chunk in events.chunks(CHUNK) {
            let mut to_commit = [(0, NONE); CHUNK];
            for (slot, (seq, _, hash, _)) in to_commit.iter_mut().zip(chunk) {
                *slot = (*seq, hash);
            }
            let commits = &mut commits[..chunk.len()];
            self.salt.event_commitments(&to_commit[..chunk.len()], commits);
            for ((seq, received_us, _, epcis), commit) in chunk.iter().zip(commits.iter()) {
                batch.add(Some(*seq), |out| {
                    stockade_ledger::entry::encode_event(out, *seq, *received_us, commit, epcis.as_deref())
                })?;
            }
            batch.seal();
        }
        Ok(())
    }

    /// Appends prepared groups of stored events, in order, in one write
    /// and without a sync of its own: the store's journal, synced before,
    /// is their write-ahead log (module docs). Returns the index of the
    /// first leaf. Each group is emptied (its room is kept).
    pub fn commit_prepared(&self, prepared: &mut [&mut Prepared]) -> Result<u64> {
        let mut batches: Vec<&mut Batch> = prepared.iter_mut().map(|p| &mut p.batch).collect();
        self.commit(&mut batches, Durability::AtCheckpoint)
    }

    /// Writes batches' records (and syncs them when `sync` says so), then
    /// adds their leaves to the tree. A failed write is cut off the file.
    fn commit(&self, batches: &mut [&mut Batch], sync: Durability) -> Result<u64> {
        let path = self.dir.join("entries");
        let writer = self.writer.lock().map_err(|_| StoreError::Poisoned("ledger"))?;
        // Checked under the writer lock: event leaves stay in seq order.
        let mut last_seq = self.last_event_seq();
        for (seq, _) in batches.iter().flat_map(|b| b.events.iter()) {
            if *seq <= last_seq {
                return Err(corrupt(format!("event {seq} would follow event {last_seq} in the log")));
            }
            last_seq = *seq;
        }
        if self.broken.load(Ordering::Acquire) {
            return Err(corrupt(BROKEN.into()));
        }
        if let Err(e) = self.write(&writer, batches, sync) {
            // Cut off whatever part was written: the file must hold exactly
            // the tree's leaves, or later records would land at wrong offsets.
            let end = self.read_state()?.end;
            if let Err(cut) = self.cut(&writer, end) {
                self.broken.store(true, Ordering::Release);
                tracing::error!(error = %cut, end, "could not cut a failed write off the ledger's entries");
            }
            return Err(io(&path, e));
        }
        let mut st = self.state.write().map_err(|_| StoreError::Poisoned("ledger"))?;
        let first = st.tree.size();
        let mut base = st.end;
        for b in batches.iter_mut() {
            let Batch { buf, leaves, ends, events } = &mut **b;
            let first = st.tree.push_many(leaves);
            // The records that start a stride: entries STRIDE·k of the log.
            let mut i = ((STRIDE - first % STRIDE) % STRIDE) as usize;
            while i < ends.len() {
                let start = if i == 0 { base } else { base + ends[i - 1] };
                st.starts.push(start);
                i += STRIDE as usize;
            }
            for (seq, at) in events.drain(..) {
                st.events
                    .push(seq, first + at as u64)
                    .map_err(|last| corrupt(format!("event {seq} would follow event {last}")))?;
            }
            base += buf.len() as u64;
            leaves.clear();
            ends.clear();
            buf.clear();
        }
        st.end = base;
        // The hashes are derived: if they cannot be written now they stay
        // in memory, the next commit tries again, and the leaves (durable
        // in `entries`) are not refused for it.
        if let Err(e) = st.tree.stored_mut().flush() {
            tracing::warn!(error = %e, "could not write the ledger's tree hashes; keeping them in memory");
        }
        Ok(first)
    }

    /// Writes the batches, and syncs them unless the next checkpoint may.
    fn write(&self, mut file: &File, batches: &[&mut Batch], sync: Durability) -> std::io::Result<()> {
        #[cfg(test)]
        if let Some(fault) = self.fault.lock().ok().and_then(|f| *f) {
            let all: Vec<u8> = batches.iter().flat_map(|b| b.buf.iter().copied()).collect();
            file.write_all(&all[..fault.bytes.min(all.len())])?;
            return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device (simulated)"));
        }
        batches.iter().try_for_each(|b| file.write_all(&b.buf))?;
        match sync {
            Durability::Now => file.sync_data(),
            Durability::AtCheckpoint => Ok(()),
        }
    }

    /// Cuts the file back to `end` bytes.
    fn cut(&self, file: &File, end: u64) -> std::io::Result<()> {
        #[cfg(test)]
        if let Some(Fault { cut_fails: true, .. }) = self.fault.lock().ok().and_then(|mut f| f.take()) {
            return Err(std::io::Error::other("cannot cut (simulated)"));
        }
        file.set_len(end)
    }

    /// Makes the next write fail as `fault` says (tests only).
    #[cfg(test)]
    pub(crate) fn fail_next_write(&self, fault: Fault) {
        if let Ok(mut f) = self.fault.lock() {
            *f = Some(fault);
        }
    }

    /// Gives every stored event after the last one with a leaf its leaf.
    /// Run when the log opens over a store, before new appends.
    pub async fn catch_up(&self, store: &dyn Store) -> Result<u64> {
        let mut added = 0u64;
        loop {
            let after = self.last_event_seq();
            let q = EventQuery { after_seq: Some(after as i64), limit: 50_000, ..Default::default() };
            let page = store.events(&q).await?;
            if page.is_empty() {
                break;
            }
            let entries = page
                .iter()
                .map(|e| Ok(event_entry(&self.salt, e.seq as u64, e.received_us, &e.hash, stored_epcis_hash(e)?)))
                .collect::<Result<Vec<_>>>()?;
            self.append(&entries)?;
            added += entries.len() as u64;
        }
        if added > 0 {
            tracing::info!(leaves = added, "gave stored events their ledger leaves");
        }
        Ok(added)
    }

    /// The leaf index of event `seq`.
    pub fn event_leaf(&self, seq: u64) -> Option<u64> {
        self.state.read().ok()?.events.leaf(seq)
    }

    /// Entries `start .. start + count`, read from disk (from the nearest
    /// entry before `start` whose offset the log keeps: see [`STRIDE`]).
    pub fn entries(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>> {
        let (from, to, skip) = {
            let st = self.read_state()?;
            let size = st.tree.size();
            let end = start.checked_add(count).filter(|&e| e <= size).ok_or_else(|| {
                StoreError::NotFound(format!("entries {start}..{} of a log of {size}", start.saturating_add(count)))
            })?;
            if count == 0 {
                return Ok(Vec::new());
            }
            let stride_start = |k: u64| {
                st.starts.get(k as usize).ok_or_else(|| corrupt(format!("no offset for entry {}", k * STRIDE)))
            };
            let from = stride_start(start / STRIDE)?;
            let to = if end.div_ceil(STRIDE) * STRIDE < size { stride_start(end.div_ceil(STRIDE))? } else { st.end };
            (from, to, start % STRIDE)
        };
        let mut buf = vec![0u8; (to - from) as usize];
        let path = self.dir.join("entries");
        self.reader.read_exact_at(&mut buf, from).map_err(|e| io(&path, e))?;
        let mut out = Vec::with_capacity(count as usize);
        let (mut at, mut i) = (0usize, 0u64);
        while at < buf.len() && out.len() < count as usize {
            let (len, crc, body) =
                split_record(&buf[at..]).ok_or_else(|| corrupt(format!("entry at byte {}", from + at as u64)))?;
            if i >= skip {
                if crc32fast::hash(body) != crc {
                    return Err(corrupt(format!("entry at byte {} fails its checksum", from + at as u64)));
                }
                out.push(body.to_vec());
            }
            at += 8 + len;
            i += 1;
        }
        if out.len() != count as usize {
            return Err(corrupt(format!("entries {start}..{end} are not where the log put them", end = start + count)));
        }
        Ok(out)
    }

    /// Rehashes every entry and checks that the tree's stored hashes are
    /// the ones the entries make (opening trusts the stored hashes up to the
    /// signed checkpoint; this is what `stockade ledger verify` adds).
    /// Returns the leaves checked; fails naming the first that differs.
    pub fn recheck(&self) -> Result<u64> {
        let st = self.read_state()?;
        let path = self.dir.join("entries");
        let mut r = BufReader::with_capacity(1 << 20, File::open(&path).map_err(|e| io(&path, e))?);
        let stored = st.tree.stored();
        let (mut edge, mut next) = (Edge::default(), 0u64);
        let (mut head, mut body, mut read) = ([0u8; 8], Vec::new(), Unhashed::default());
        // Checks the entries read so far: the stored hashes they add (each
        // leaf's own, then every subtree it completes) must be the next ones.
        let mut check = |read: &mut Unhashed, edge: &mut Edge| -> Result<()> {
            let mut differs = None;
            edge.extend(&read.leaves(), |h| {
                if differs.is_none() && stored.get(next) != Some(h) {
                    differs = Some(next);
                }
                next += 1;
            });
            if let Some(at) = differs {
                // The leaf whose stored hashes hold `at`: the last one starting at or before it.
                let (mut lo, mut hi) = (0u64, edge.size());
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if stockade_ledger::stored_hash_index(0, mid) <= at { lo = mid } else { hi = mid }
                }
                return Err(corrupt(format!(
                    "the stored tree hashes ({}) do not match the entries from leaf {lo} on",
                    stored.path().display()
                )));
            }
            Ok(())
        };
        for _ in 0..st.tree.size() {
            r.read_exact(&mut head).map_err(|e| io(&path, e))?;
            let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
            body.resize(len, 0);
            r.read_exact(&mut body).map_err(|e| io(&path, e))?;
            read.add(&body);
            if read.is_full() {
                check(&mut read, &mut edge)?;
            }
        }
        check(&mut read, &mut edge)?;
        // Every stored hash matched, so the tree's right edge (made of
        // stored hashes) and root are the entries' too.
        Ok(st.tree.size())
    }

    /// Runs `f` on the tree (for proofs and tiles).
    pub fn with_tree<T>(&self, f: impl FnOnce(&Tree<HashFile>) -> std::result::Result<T, TreeError>) -> Result<T> {
        let st = self.read_state()?;
        f(&st.tree).map_err(|e| match e {
            TreeError::Storage(msg) => StoreError::Corrupt(msg),
            other => StoreError::NotFound(other.to_string()),
        })
    }

    /// The latest signed checkpoint.
    pub fn checkpoint(&self) -> Option<SignedCheckpoint> {
        self.checkpoint.read().ok().and_then(|c| c.clone())
    }

    /// Signs a checkpoint over every leaf, their entries and stored hashes
    /// synced first, unless the latest already covers them; returns the latest.
    pub fn sign_checkpoint(&self) -> Result<SignedCheckpoint> {
        let _signer = self.signer.lock().map_err(|_| StoreError::Poisoned("ledger"))?;
        if self.broken.load(Ordering::Acquire) {
            return Err(corrupt(BROKEN.into()));
        }
        let (size, root, hashes) = {
            // A leaf joins the tree only once its record is written, so the
            // size read here covers only written records.
            let mut st = self.state.write().map_err(|_| StoreError::Poisoned("ledger"))?;
            let size = st.tree.size();
            if let Some(cp) = self.checkpoint()
                && cp.size == size
            {
                return Ok(cp);
            }
            let root = st.tree.root(size).map_err(|e| corrupt(e.to_string()))?;
            let hashes = st.tree.stored_mut();
            let path = hashes.path().to_owned();
            hashes.flush().and_then(|()| hashes.sync_handle()).map(|f| (size, root, f)).map_err(|e| io(&path, e))?
        };
        // Synced outside the locks, so that appends and proofs go on
        // meanwhile (a sync covers every write before it, and perhaps more).
        // The entries first: every one the checkpoint names reaches the disk
        // before it is signed. A failed sync may have dropped written pages
        // unwritten, so nothing more is appended or signed until a restart
        // reloads the log from disk and the store.
        if let Err(e) = self.sync_entries() {
            self.broken.store(true, Ordering::Release);
            tracing::error!(error = %e, "could not sync the ledger's entries; refusing appends until restart");
            return Err(io(&self.dir.join("entries"), e));
        }
        // The next open trusts the stored hashes up to this checkpoint's
        // size: they are made durable before it is signed.
        hashes.sync_data().map_err(|e| io(&self.dir.join(HASHES_FILE), e))?;
        let note = self.key.sign(&self.origin, size, root).map_err(|e| corrupt(e.to_string()))?;
        self.write_checkpoint(&note)?;
        let cp = SignedCheckpoint { size, root, note };
        if let Ok(mut slot) = self.checkpoint.write() {
            *slot = Some(cp.clone());
        }
        Ok(cp)
    }

    /// Adds witnesses' cosignature lines (each `— name base64…\n`, already
    /// verified by the caller against the witness's key) to the latest
    /// checkpoint, when it is still the one of `size`; a witness's earlier
    /// line is replaced. Returns the checkpoint as it now stands, or None
    /// when a newer one was signed meanwhile (the lines are for an older
    /// tree and are dropped).
    pub fn add_cosignatures(&self, size: u64, lines: &[Vec<u8>]) -> Result<Option<SignedCheckpoint>> {
        let _signer = self.signer.lock().map_err(|_| StoreError::Poisoned("ledger"))?;
        let Some(mut cp) = self.checkpoint().filter(|c| c.size == size) else { return Ok(None) };
        let name =
            |line: &[u8]| -> Vec<u8> { line.splitn(3, |b| *b == b' ').nth(1).map(<[u8]>::to_vec).unwrap_or_default() };
        let (text, sigs) = match cp.note.windows(2).position(|w| w == b"\n\n") {
            Some(at) => (cp.note[..at + 2].to_vec(), cp.note[at + 2..].to_vec()),
            None => return Err(corrupt("the latest checkpoint is not a signed note".into())),
        };
        let mut kept: Vec<Vec<u8>> =
            sigs.split_inclusive(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect();
        for line in lines.iter().filter(|l| l.ends_with(b"\n") && l.starts_with("\u{2014} ".as_bytes())) {
            let who = name(line);
            // The log's own line is never replaced.
            if who == self.origin.as_bytes() {
                continue;
            }
            kept.retain(|l| name(l) != who);
            kept.push(line.clone());
        }
        let mut note = text;
        for l in kept {
            note.extend(l);
        }
        // Never keep a note the log itself could not open on its next start.
        stockade_ledger::checkpoint::open(&note, self.key.verifier_key())
            .map_err(|e| StoreError::Conflict(format!("cosignature lines refused: {e}")))?;
        self.write_checkpoint(&note)?;
        cp.note = note;
        if let Ok(mut slot) = self.checkpoint.write() {
            *slot = Some(cp.clone());
        }
        Ok(Some(cp))
    }

    /// Replaces the checkpoint file durably: written, synced, renamed, and
    /// the rename synced too, so that a crash cannot bring back an older one.
    fn write_checkpoint(&self, note: &[u8]) -> Result<()> {
        let path = self.dir.join("checkpoint");
        let tmp = self.dir.join("checkpoint.tmp");
        std::fs::write(&tmp, note)
            .and_then(|()| File::open(&tmp)?.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .and_then(|()| File::open(&self.dir)?.sync_all())
            .map_err(|e| io(&path, e))
    }

    /// Syncs `entries` (failing once when a test asked it to).
    fn sync_entries(&self) -> std::io::Result<()> {
        #[cfg(test)]
        if self.sync_fails.swap(false, Ordering::AcqRel) {
            return Err(std::io::Error::other("I/O error (simulated)"));
        }
        self.syncer.sync_data()
    }

    /// Signs a text with the log's key, as a C2SP signed note (evidence
    /// packages sign their manifest this way).
    pub fn sign_note(&self, text: &str) -> Result<Vec<u8>> {
        self.key.sign_note(text).map_err(|e| corrupt(e.to_string()))
    }
}

fn split_record(buf: &[u8]) -> Option<(usize, u32, &[u8])> {
    let len = u32::from_le_bytes(buf.get(0..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(buf.get(4..8)?.try_into().ok()?);
    Some((len, crc, buf.get(8..8 + len)?))
}

/// Reads every entry (checksums, encodings, event order), rebuilding the
/// tree from the stored hashes of its first `trusted` leaves and the leaf
/// hashes of the rest. The first `durable` entries (those a signed
/// checkpoint covers) must be intact; past them, the first record a crash
/// tore or holed and everything after it are cut off.
fn load(path: &Path, file: &File, hashes: &Path, trusted: u64, durable: u64) -> Result<LogState> {
    let total = file.metadata().map_err(|e| io(path, e))?.len();
    let mut r = BufReader::with_capacity(1 << 20, File::open(path).map_err(|e| io(path, e))?);
    let stored = HashFile::open(hashes, stored_hash_count(trusted)).map_err(|e| io(hashes, e))?;
    let tree = Tree::resume(stored, trusted).map_err(|e| corrupt(format!("{}: {e}", hashes.display())))?;
    let mut st = LogState { tree, starts: Chunked::new(), end: 0, events: EventLeaves::default() };
    let mut index = 0u64;
    let mut at = 0u64;
    let mut head = [0u8; 8];
    let mut body = Vec::new();
    // Entries past the trusted ones, leaf-hashed and added to the tree in
    // batches (`Tree::push_many`); their hashes are written as they come,
    // not held: a rebuild makes 64 bytes a leaf.
    let mut untrusted = Unhashed::default();
    while at < total {
        // A damaged record: a crash's, past the checkpoint; otherwise not.
        let damaged = |what: &str| -> Result<()> {
            if index < durable {
                return Err(corrupt(format!(
                    "{} at byte {at}: {what} in entry {index}, which the signed checkpoint covers",
                    path.display()
                )));
            }
            tracing::warn!(
                offset = at,
                entry = index,
                bytes = total - at,
                what,
                "cutting records written after the ledger's last sync off its end (a crash); catch-up writes them again"
            );
            file.set_len(at).and_then(|()| file.sync_all()).map_err(|e| io(path, e))
        };
        if total - at < 8 {
            damaged("short header")?;
            break;
        }
        r.read_exact(&mut head).map_err(|e| io(path, e))?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as u64;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len == 0 {
            // No entry is empty: zeros where records should be (a hole).
            damaged("an empty record")?;
            break;
        }
        if total - at - 8 < len {
            damaged("short body")?;
            break;
        }
        body.resize(len as usize, 0);
        r.read_exact(&mut body).map_err(|e| io(path, e))?;
        if crc32fast::hash(&body) != crc {
            damaged("checksum mismatch")?;
            break;
        }
        let entry = Entry::decode(&body).map_err(|e| corrupt(format!("{} at byte {at}: {e}", path.display())))?;
        if index >= trusted {
            untrusted.add(&body);
            if untrusted.is_full() {
                untrusted.push_to(&mut st.tree).map_err(|e| io(hashes, e))?;
            }
        }
        if let Entry::Event { seq, .. } = entry
            && st.events.push(seq, index).is_err()
        {
            return Err(corrupt(format!("{} at byte {at}: event {seq} out of order", path.display())));
        }
        if index.is_multiple_of(STRIDE) {
            st.starts.push(at);
        }
        at += 8 + len;
        index += 1;
    }
    if index < durable {
        return Err(corrupt(format!(
            "{} holds {index} entries but the signed checkpoint covers {durable}",
            path.display()
        )));
    }
    st.end = at;
    untrusted.push_to(&mut st.tree).map_err(|e| io(hashes, e))?;
    Ok(st)
}

/// Entries read from `entries` whose leaves are not hashed yet: they are
/// hashed a batch at a time (on open, past the trusted ones; in a recheck, all).
#[derive(Default)]
struct Unhashed {
    bodies: Vec<u8>,
    ends: Vec<usize>,
}

impl Unhashed {
    /// Entries gathered before they are hashed.
    const BATCH: usize = 1 << 14;

    fn add(&mut self, body: &[u8]) {
        self.bodies.extend_from_slice(body);
        self.ends.push(self.bodies.len());
    }

    fn is_full(&self) -> bool {
        self.ends.len() >= Self::BATCH
    }

    /// Adds the entries' leaves to the tree and writes the tree's new hashes.
    fn push_to(&mut self, tree: &mut Tree<HashFile>) -> std::io::Result<()> {
        tree.push_many(&self.leaves());
        tree.stored_mut().flush()
    }

    /// The entries' leaf hashes; empties the list.
    fn leaves(&mut self) -> Vec<Hash> {
        let mut leaves = Vec::with_capacity(self.ends.len());
        leaf_hashes_of(&self.bodies, self.ends.iter().copied(), 0, &mut leaves);
        self.bodies.clear();
        self.ends.clear();
        leaves
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockade_ledger::{leaf_hash, verify_consistency, verify_inclusion};

    /// Writes an entries file holding exactly these entries' records.
    fn write_entries(path: &Path, entries: impl IntoIterator<Item = Entry>) {
        let mut f = OpenOptions::new().create(true).append(true).open(path).unwrap();
        for e in entries {
            let b = e.encode().unwrap();
            f.write_all(&(b.len() as u32).to_le_bytes()).unwrap();
            f.write_all(&crc32fast::hash(&b).to_le_bytes()).unwrap();
            f.write_all(&b).unwrap();
        }
    }

    fn ev(seq: u64) -> Entry {
        Entry::Event { seq, received_us: seq as i64, commit: [seq as u8; 32], epcis: None }
    }

    #[test]
    fn event_leaves_are_found_across_runs_and_kept_in_order() {
        let mut e = EventLeaves::default();
        assert_eq!((e.last_seq(), e.leaf(1)), (0, None));
        // Events 1-3 in leaves 0-2, an audit entry in leaf 3, events 4-5 in
        // leaves 4-5, then a duplicate skipped: event 7 in leaf 6.
        for (seq, leaf) in [(1, 0), (2, 1), (3, 2), (4, 4), (5, 5), (7, 6)] {
            e.push(seq, leaf).unwrap();
        }
        assert_eq!(e.runs.len(), 3, "{:?}", e.runs);
        let found: Vec<_> = (0..=8).map(|s| e.leaf(s)).collect();
        assert_eq!(found, [None, Some(0), Some(1), Some(2), Some(4), Some(5), None, Some(6), None]);
        assert_eq!(e.last_seq(), 7);
        assert_eq!(e.push(7, 7), Err(7), "a seq again");
        assert_eq!(e.push(6, 7), Err(7), "an earlier seq");
        assert_eq!(e.push(8, 6), Err(7), "a leaf again");
        assert_eq!(e.runs.len(), 3, "refusals change nothing");
    }

    #[test]
    fn leaves_persist_and_prove() {
        let dir = tempfile::tempdir().unwrap();
        let (root, vkey) = {
            let l = Ledger::open(dir.path(), "stockade.test/log").unwrap();
            assert_eq!(l.append(&(1..=10).map(ev).collect::<Vec<_>>()).unwrap(), 0);
            assert_eq!(l.append(&[ev(11)]).unwrap(), 10);
            assert!(l.append(&[ev(11)]).is_err(), "an event cannot have two leaves");
            let cp = l.sign_checkpoint().unwrap();
            assert_eq!(cp.size, 11);
            (cp.root, l.verifier_key().to_owned())
        };
        let l = Ledger::open(dir.path(), "ignored/for/an/existing/log").unwrap();
        assert_eq!(l.origin(), "stockade.test/log");
        assert_eq!(l.verifier_key(), vkey, "the key persists");
        assert_eq!(l.size(), 11);
        assert_eq!(l.last_event_seq(), 11);
        assert_eq!(l.checkpoint().unwrap().root, root);
        let leaf = l.event_leaf(7).unwrap();
        let entry = l.entries(leaf, 1).unwrap().remove(0);
        assert_eq!(Entry::decode(&entry).unwrap(), ev(7));
        let proof = l.with_tree(|t| t.inclusion_proof(leaf, 11)).unwrap();
        verify_inclusion(leaf, 11, leaf_hash(&entry), &proof, root).unwrap();
        l.append(&[ev(12)]).unwrap();
        let cp = l.sign_checkpoint().unwrap();
        let proof = l.with_tree(|t| t.consistency_proof(11, 12)).unwrap();
        verify_consistency(11, 12, &proof, root, cp.root).unwrap();
        assert!(matches!(l.entries(10, 5), Err(StoreError::NotFound(_))));
    }

    /// Past the signed checkpoint a crash may tear or hole the records
    /// written since the last sync: the first damaged one and all after it
    /// are cut (catch-up writes them again). What it covers must be intact.
    #[test]
    fn damage_past_the_checkpoint_is_cut_and_damage_it_covers_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let l = Ledger::open(dir.path(), "stockade.test/log").unwrap();
            l.append(&(1..=3).map(ev).collect::<Vec<_>>()).unwrap();
            assert_eq!(l.sign_checkpoint().unwrap().size, 3);
            l.append(&(4..=6).map(ev).collect::<Vec<_>>()).unwrap();
        }
        let path = dir.path().join("entries");
        let good = std::fs::read(&path).unwrap();
        let record = good.len() / 6;
        let reopened = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            let l = Ledger::open(dir.path(), "x").map(|l| l.size()).map_err(|e| e.to_string());
            (l, std::fs::metadata(&path).unwrap().len() as usize)
        };
        // A torn last record, a short header, a hole (zeros) with whole
        // records after it, a flipped bit: all past the checkpoint.
        assert_eq!(reopened(&good[..good.len() - 3]).0.unwrap(), 5);
        assert_eq!(reopened(&good[..5 * record + 5]).0.unwrap(), 5);
        let mut holed = good.clone();
        holed[3 * record..4 * record].fill(0);
        assert_eq!(reopened(&holed), (Ok(3), 3 * record), "cut at the hole; the records after it go too");
        let mut flipped = good.clone();
        flipped[4 * record + 12] ^= 1;
        assert_eq!(reopened(&flipped), (Ok(4), 4 * record));
        // The same damage in what the checkpoint covers refuses to open and
        // changes nothing.
        for at in [12, record + 3, 2 * record] {
            let mut bad = good.clone();
            bad[at] ^= 0xff;
            let (err, len) = reopened(&bad);
            let err = err.unwrap_err();
            assert!(err.contains("which the signed checkpoint covers"), "{err}");
            assert_eq!(len, good.len(), "nothing cut");
        }
        let (err, _) = reopened(&good[..2 * record]);
        assert!(err.unwrap_err().contains("holds 2 entries but the signed checkpoint covers 3"));
    }

    /// Non-event entries (custody, audit, evidence) are synced and signed
    /// over at once: no crash can cut them.
    #[test]
    fn non_event_entries_are_checkpointed_when_appended() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path(), "stockade.test/log").unwrap();
        l.append(&(1..=3).map(ev).collect::<Vec<_>>()).unwrap();
        assert!(l.checkpoint().is_none(), "events wait for the periodic checkpoint");
        let custody = Entry::Custody {
            evidence: "ev_1".into(),
            n: 1,
            action: "view".into(),
            at_us: 5,
            canon: stockade_ledger::entry::Canon::Jcs,
            commit: [7; 32],
        };
        assert_eq!(l.append(&[custody]).unwrap(), 3);
        assert_eq!(l.checkpoint().unwrap().size, 4);
    }

    /// Witnesses' lines join the latest checkpoint and survive a reopen; a
    /// witness's newer line replaces its older one, a line claiming the
    /// log's own name is dropped, and lines for a checkpoint no longer the
    /// latest are not kept.
    #[test]
    fn cosignatures_join_the_latest_checkpoint_only() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path(), "stockade.test/log").unwrap();
        l.append(&(1..=3).map(ev).collect::<Vec<_>>()).unwrap();
        let cp = l.sign_checkpoint().unwrap();
        // Well-formed lines (key ID ‖ timestamp ‖ signature) of keys the log
        // does not know; told apart by their first byte.
        let sig = |b: u8| {
            let raw = [b; 76];
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw)
        };
        let line = |name: &str, sig: &str| format!("\u{2014} {name} {sig}\n").into_bytes();
        let (aaaa, bbbb, cccc, dddd) = (sig(1), sig(2), sig(3), sig(4));
        let got = l.add_cosignatures(cp.size, &[line("w.test/a", &aaaa), line("stockade.test/log", &bbbb)]).unwrap();
        let note = String::from_utf8(got.unwrap().note).unwrap();
        assert!(note.ends_with(&format!("\u{2014} w.test/a {aaaa}\n")), "{note}");
        assert_eq!(note.matches("stockade.test/log ").count(), 1, "the log's own line only: {note}");
        let note = l.add_cosignatures(cp.size, &[line("w.test/a", &cccc)]).unwrap().unwrap().note;
        let note = String::from_utf8(note).unwrap();
        assert!(note.contains(&cccc) && !note.contains(&aaaa), "{note}");
        // A malformed line is refused, and the checkpoint stays as it was.
        assert!(l.add_cosignatures(cp.size, &[line("w.test/c", "AAAA")]).is_err());
        assert!(!String::from_utf8(l.checkpoint().unwrap().note).unwrap().contains("w.test/c"));
        // The log still opens it (witness lines are signatures it ignores).
        drop(l);
        let l = Ledger::open(dir.path(), "stockade.test/log").unwrap();
        assert!(String::from_utf8(l.checkpoint().unwrap().note).unwrap().contains(&cccc));
        l.append(&[ev(4)]).unwrap();
        let newer = l.sign_checkpoint().unwrap();
        assert!(l.add_cosignatures(cp.size, &[line("w.test/b", &dddd)]).unwrap().is_none());
        assert!(!String::from_utf8(l.checkpoint().unwrap().note).unwrap().contains("w.test/b"));
        assert_eq!(l.checkpoint().unwrap().size, newer.size);
    }

    /// The stored hashes failing to reach their file: the leaves (durable in
    /// `entries`) are accepted and proved from memory, no checkpoint is
    /// signed over hashes that are not durable, and the next flush catches up.
    #[test]
    fn stored_hashes_that_cannot_be_written_wait_in_memory_and_hold_checkpoints_back() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path(), "stockade.test/log").unwrap();
        l.append(&(1..=3).map(ev).collect::<Vec<_>>()).unwrap();
        assert_eq!(l.sign_checkpoint().unwrap().size, 3);
        l.state.write().unwrap().tree.stored_mut().failing_flushes = 2;
        assert_eq!(l.append(&(4..=6).map(ev).collect::<Vec<_>>()).unwrap(), 3, "the commit's flush fails");
        let proof = l.with_tree(|t| t.inclusion_proof(4, 6)).unwrap();
        let root = l.with_tree(|t| t.root(6)).unwrap();
        let err = l.sign_checkpoint().unwrap_err();
        assert!(err.chain().contains("no space left on device (simulated)"), "{err}");
        assert_eq!(l.checkpoint().unwrap().size, 3, "nothing signed over hashes not on disk");
        assert_eq!(l.sign_checkpoint().unwrap().size, 6, "the disk has room again");
        drop(l);
        let l = Ledger::open(dir.path(), "x").unwrap();
        assert_eq!((l.size(), l.with_tree(|t| t.root(6)).unwrap()), (6, root));
        assert_eq!(l.with_tree(|t| t.inclusion_proof(4, 6)).unwrap(), proof);
        assert_eq!(l.recheck().unwrap(), 6);
    }

    #[test]
    fn a_write_that_fails_part_way_is_cut_off_and_the_log_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entries");
        let l = Ledger::open(dir.path(), "stockade.test/log").unwrap();
        l.append(&(1..=3).map(ev).collect::<Vec<_>>()).unwrap();
        let (len, root) = (std::fs::metadata(&path).unwrap().len(), l.with_tree(|t| t.root(3)).unwrap());
        l.fail_next_write(Fault { bytes: 70, cut_fails: false });
        let err = l.append(&(4..=6).map(ev).collect::<Vec<_>>()).unwrap_err();
        assert!(err.chain().contains("no space left on device"), "{err}");
        assert!(err.to_string().ends_with("entries: the disk is full"), "{err}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len, "the part written is cut off");
        assert_eq!((l.size(), l.last_event_seq()), (3, 3), "no leaf was added");
        // The same events go in once the disk has room, at the right offsets.
        assert_eq!(l.append(&(4..=6).map(ev).collect::<Vec<_>>()).unwrap(), 3);
        assert_eq!(Entry::decode(&l.entries(4, 1).unwrap()[0]).unwrap(), ev(5));
        drop(l);
        let l = Ledger::open(dir.path(), "x").unwrap();
        assert_eq!((l.size(), l.last_event_seq()), (6, 6));
        assert_eq!(l.with_tree(|t| t.root(3)).unwrap(), root);
    }

    #[test]
    fn a_failed_write_that_cannot_be_cut_stops_appends_until_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path(), "stockade.test/log").unwrap();
        l.append(&(1..=3).map(ev).collect::<Vec<_>>()).unwrap();
        l.fail_next_write(Fault { bytes: 20, cut_fails: true });
        assert!(l.append(&[ev(4)]).is_err());
        // The file now ends in a torn record the tree does not hold: nothing
        // more may be written after it.
        let err = l.append(&[ev(4)]).unwrap_err();
        assert!(err.to_string().contains("restart to reload the log"), "{err}");
        assert_eq!(l.size(), 3);
        drop(l);
        // Reopening cuts the torn tail; appends go on.
        let l = Ledger::open(dir.path(), "x").unwrap();
        assert_eq!(l.size(), 3);
        assert_eq!(l.append(&[ev(4)]).unwrap(), 3);
        assert_eq!(l.event_leaf(4), Some(3));
    }

    /// A failed sync may have dropped the written records unwritten: no
    /// checkpoint and no append until the log is reloaded from disk.
    #[test]
    fn a_failed_sync_stops_appends_and_checkpoints_until_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path(), "stockade.test/log").unwrap();
        l.append(&(1..=3).map(ev).collect::<Vec<_>>()).unwrap();
        l.sync_fails.store(true, Ordering::Release);
        let err = l.sign_checkpoint().unwrap_err().chain();
        assert!(err.contains("I/O error (simulated)"), "{err}");
        assert!(l.checkpoint().is_none(), "nothing signed");
        for err in [l.append(&[ev(4)]).unwrap_err(), l.sign_checkpoint().unwrap_err()] {
            assert!(err.to_string().contains("restart to reload the log"), "{err}");
        }
        assert_eq!(l.size(), 3);
        drop(l);
        let l = Ledger::open(dir.path(), "x").unwrap();
        assert_eq!(l.append(&[ev(4)]).unwrap(), 3);
        assert_eq!(l.sign_checkpoint().unwrap().size, 4);
    }

    #[test]
    fn a_checkpoint_the_log_does_not_match_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let l = Ledger::open(dir.path(), "stockade.test/log").unwrap();
            l.append(&(1..=3).map(ev).collect::<Vec<_>>()).unwrap();
            l.sign_checkpoint().unwrap();
        }
        // Rewrite history: the same number of leaves, one of them different.
        let path = dir.path().join("entries");
        std::fs::remove_file(&path).unwrap();
        {
            let l = Ledger::open(dir.path(), "x");
            assert!(l.is_err(), "a log shorter than its checkpoint");
        }
        write_entries(&path, [ev(1), ev(2), ev(4)]);
        // Opening trusts the stored hashes up to the checkpoint; rechecking
        // (what `ledger verify` does) rehashes the entries and finds the change.
        let l = Ledger::open(dir.path(), "x").unwrap();
        let err = l.recheck().unwrap_err();
        assert!(err.to_string().contains("do not match the entries from leaf 2 on"), "{err}");
        drop(l);
        // Without the stored hashes, opening rebuilds them and refuses.
        std::fs::remove_file(dir.path().join("hashes")).unwrap();
        let err = Ledger::open(dir.path(), "x").err().unwrap();
        assert!(err.to_string().contains("not the one its signed checkpoint names"), "{err}");
    }

    /// Rechecking hashes the entries in batches; a change deep in a long
    /// log is found and named by its leaf, and an intact log passes.
    #[test]
    fn a_recheck_names_the_first_changed_leaf_of_a_long_log() {
        let dir = tempfile::tempdir().unwrap();
        let n = 40_000u64;
        {
            let l = Ledger::open(dir.path(), "stockade.test/log").unwrap();
            for chunk in (1..=n).collect::<Vec<_>>().chunks(5_000) {
                l.append(&chunk.iter().map(|s| ev(*s)).collect::<Vec<_>>()).unwrap();
            }
            let cp = l.sign_checkpoint().unwrap();
            assert_eq!(l.recheck().unwrap(), n);
            drop(l);
            // Rebuilt from the entries (in several batches), the tree is the same.
            std::fs::remove_file(dir.path().join("hashes")).unwrap();
            let l = Ledger::open(dir.path(), "x").unwrap();
            assert_eq!((l.size(), l.with_tree(|t| t.root(n)).unwrap()), (n, cp.root));
            assert_eq!(l.recheck().unwrap(), n);
        }
        let path = dir.path().join("entries");
        std::fs::remove_file(&path).unwrap();
        // The same log with leaf 17,000 (event 17,001) changed.
        write_entries(
            &path,
            (1..=n).map(|seq| match seq {
                17_001 => Entry::Event { seq, received_us: seq as i64, commit: [0xee; 32], epcis: None },
                _ => ev(seq),
            }),
        );
        let l = Ledger::open(dir.path(), "x").unwrap();
        let err = l.recheck().unwrap_err();
        assert!(err.to_string().contains("do not match the entries from leaf 17000 on"), "{err}");
    }

    /// The stored hashes: trusted up to the checkpoint, rebuilt past it
    /// (a crash may leave them short or torn), rebuilt whole when missing
    /// or when they disagree with the checkpoint.
    #[test]
    fn stored_hashes_are_trusted_to_the_checkpoint_and_rebuilt_where_they_cannot_be() {
        let dir = tempfile::tempdir().unwrap();
        let hashes = dir.path().join("hashes");
        let (root, proof) = {
            let l = Ledger::open(dir.path(), "stockade.test/log").unwrap();
            l.append(&(1..=600).map(ev).collect::<Vec<_>>()).unwrap();
            l.sign_checkpoint().unwrap();
            l.append(&(601..=700).map(ev).collect::<Vec<_>>()).unwrap();
            assert_eq!(l.recheck().unwrap(), 700);
            (l.with_tree(|t| t.root(700)).unwrap(), l.with_tree(|t| t.inclusion_proof(650, 700)).unwrap())
        };
        let reopened = |what: &str| {
            let l = Ledger::open(dir.path(), "x").unwrap();
            assert_eq!(l.size(), 700, "{what}");
            assert_eq!(l.with_tree(|t| t.root(700)).unwrap(), root, "{what}");
            assert_eq!(l.with_tree(|t| t.inclusion_proof(650, 700)).unwrap(), proof, "{what}");
            assert_eq!(l.recheck().unwrap(), 700, "{what}");
            let all = l.entries(0, 700).unwrap();
            for (start, count) in [(0, 1), (31, 2), (32, 32), (599, 3), (640, 60), (699, 1), (700, 0)] {
                let got = l.entries(start, count).unwrap();
                assert_eq!(got[..], all[start as usize..(start + count) as usize], "{what}: {start}+{count}");
            }
            assert!(l.entries(699, 2).is_err(), "{what}: beyond the log");
        };
        reopened("as left");
        // Past the checkpoint (600 leaves) nothing is trusted: garbage there is rehashed away.
        let at = stored_hash_count(600) * 32;
        let f = OpenOptions::new().write(true).open(&hashes).unwrap();
        f.write_all_at(&[0xAA; 64], at + 32).unwrap();
        drop(f);
        reopened("garbage after the checkpoint");
        // Short of the checkpoint, or gone: rebuilt from the entries.
        OpenOptions::new().write(true).open(&hashes).unwrap().set_len(at - 32).unwrap();
        reopened("cut short");
        std::fs::remove_file(&hashes).unwrap();
        reopened("missing");
        // Disagreeing with the checkpoint (a hash on its right edge changed): rebuilt.
        let size_512_root = stockade_ledger::stored_hash_index(9, 0) * 32;
        let f = OpenOptions::new().write(true).open(&hashes).unwrap();
        f.write_all_at(&[0x55; 32], size_512_root).unwrap();
        drop(f);
        reopened("damaged under the checkpoint");
    }

    #[test]
    fn secrets_open_to_other_users_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        drop(Ledger::open(dir.path(), "stockade.test/log").unwrap());
        for name in ["log.key", "salt.key"] {
            let path = dir.path().join(name);
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "{name} is created 0600");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = Ledger::open(dir.path(), "x").err().unwrap().to_string();
            assert!(err.contains(name) && err.contains("mode 644") && err.contains("chmod 600"), "{err}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        Ledger::open(dir.path(), "x").unwrap();
    }

    #[test]
    fn bad_origins_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for o in ["", "a+b", "a b"] {
            assert!(Ledger::open(dir.path(), o).is_err(), "{o:?}");
        }
    }
}
