//! The ledger tree's stored hashes in a file (`ledger/hashes`), read through
//! a memory map: the tree costs page cache, which the kernel can evict and
//! reload, instead of 64 bytes of heap a leaf for ever, and a restart reads
//! the hashes back instead of rehashing every entry.
//!
//! The file is derived: every hash in it is computed from `ledger/entries`,
//! so it is written without its own `fdatasync` on the ingest path and only
//! synced before a checkpoint is signed over it. After a crash, the hashes
//! beyond the last checkpoint are recomputed from the entries
//! (`Ledger::open`), and `stockade ledger verify` recomputes all of them.
//!
//! Invariants:
//! - hash `i` is at bytes `32·i .. 32·i + 32`, in Go's tlog order;
//! - the map is only read below `written`, every byte of which a completed
//!   `pwrite` put in the page cache; appends not yet written wait in `pending`;
//! - the file only grows while open: it is cut (to drop an unsynced tail)
//!   before it is mapped, never after.
//!
//! Why a map and `unsafe`: a proof reads about 24 hashes, 8 of them from the
//! lowest levels that would be on disk. A 32-byte `pread` of a cached page
//! costs about 1.1 µs on this machine (docs/BENCHMARKS.md), so 8 of them put
//! a proof near 9 µs and the required 500,000 proofs/s in process out of
//! reach; through the map a cached hash is a memory read.

use memmap2::{Mmap, MmapOptions};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use stockade_ledger::{HASH_SIZE, Hash, HashStore};

/// Address space reserved by the first map (not memory: pages are mapped as
/// they are read): 2^31 hashes, about a billion leaves. A bigger file is
/// mapped again with twice the room.
const FIRST_RESERVE: u64 = 1 << 36;

/// The stored hashes of the ledger's tree, in a file.
pub struct HashFile {
    path: PathBuf,
    file: File,
    map: Mmap,
    /// Bytes the map covers (the file may be shorter: the rest is room).
    reserved: u64,
    /// Hashes in the file, readable through the map.
    written: u64,
    /// Hashes appended since the last [`HashFile::flush`].
    /// As bytes (`[u8; 32]`, not `Hash`) so that a flush writes them as
    /// they lie, without copying them into a buffer first.
    pending: Vec<[u8; 32]>,
    /// How many of the next flushes fail, simulating a full disk (tests only).
    #[cfg(test)]
    pub(crate) failing_flushes: u32,
}

impl std::fmt::Debug for HashFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashFile").field("path", &self.path).field("written", &self.written).finish()
    }
}

/// Maps `reserve` bytes of `file` for reading.
#[allow(unsafe_code)]
fn map(file: &File, reserve: u64) -> std::io::Result<Mmap> {
    let len = usize::try_from(reserve).map_err(std::io::Error::other)?;
    // SAFETY: a file-backed map is undefined behaviour if the file changes
    // under it in a way that breaks what the program assumes. Here:
    // - the file is the ledger's own, in the data directory (0700), opened
    //   by the one process that holds the data directory;
    // - this program only appends to it while the map lives, with `pwrite`
    //   beyond `written`, and only reads bytes below `written`, which no
    //   later write changes: every byte read is one a completed write put
    //   in the page cache, so the read returns those bytes;
    // - it is only cut (`set_len`) in `HashFile::open`, before it is mapped;
    // - the map is read-only and shared, so nothing is written through it.
    // Someone else truncating the file would make reads fault (SIGBUS);
    // that is tampering with the data directory, which `ledger verify`
    // exists to find, and it stops the process rather than serve wrong data.
    unsafe { MmapOptions::new().len(len).map(file) }
}

impl HashFile {
    /// Opens (creating) the file at `path`, keeping its first `keep` hashes
    /// and cutting off anything after them. Refused if it holds fewer.
    pub fn open(path: &Path, keep: u64) -> std::io::Result<HashFile> {
        HashFile::open_reserving(path, keep, FIRST_RESERVE)
    }

    /// `open`, with the first map's room given (the tests map small rooms
    /// to see the file outgrow them).
    fn open_reserving(path: &Path, keep: u64, first_reserve: u64) -> std::io::Result<HashFile> {
        let file = OpenOptions::new().create(true).read(true).write(true).truncate(false).open(path)?;
        let len = file.metadata()?.len();
        let want = keep.checked_mul(HASH_SIZE as u64).ok_or_else(|| std::io::Error::other("too many hashes"))?;
        if len < want {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("holds {} hashes, {keep} expected", len / HASH_SIZE as u64),
            ));
        }
        if len != want {
            file.set_len(want)?;
        }
        let mut reserved = first_reserve.max(1);
        while reserved < want {
            reserved *= 2;
        }
        let map = map(&file, reserved)?;
        Ok(HashFile {
            path: path.to_owned(),
            file,
            map,
            reserved,
            written: keep,
            pending: Vec::new(),
            #[cfg(test)]
            failing_flushes: 0,
        })
    }

    /// How many hashes the file at `path` holds (0 when there is none).
    pub fn count(path: &Path) -> std::io::Result<u64> {
        match std::fs::metadata(path) {
            Ok(m) => Ok(m.len() / HASH_SIZE as u64),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Writes the hashes appended since the last flush (no `fdatasync`).
    /// On failure they stay pending, readable from memory, and the next
    /// flush tries again.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        #[cfg(test)]
        if self.failing_flushes > 0 {
            self.failing_flushes -= 1;
            return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device (simulated)"));
        }
        self.file.write_all_at(self.pending.as_flattened(), self.written * HASH_SIZE as u64)?;
        let written = self.written + self.pending.len() as u64;
        if written * HASH_SIZE as u64 > self.reserved {
            let mut reserved = self.reserved * 2;
            while reserved < written * HASH_SIZE as u64 {
                reserved *= 2;
            }
            self.map = map(&self.file, reserved)?;
            self.reserved = reserved;
        }
        self.written = written;
        self.pending.clear();
        // Room for a group commit's hashes is kept; a one-off big flush's
        // (a rebuild, a catch-up) is not.
        if self.pending.capacity() > 1 << 18 {
            self.pending = Vec::new();
        }
        Ok(())
    }

    /// A handle to sync the file with, outside the tree's lock.
    pub fn sync_handle(&self) -> std::io::Result<File> {
        self.file.try_clone()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl HashStore for HashFile {
    fn get(&self, i: u64) -> Option<Hash> {
        if i < self.written {
            let at = usize::try_from(i).ok()?.checked_mul(HASH_SIZE)?;
            let bytes: [u8; HASH_SIZE] = self.map.get(at..at + HASH_SIZE)?.try_into().ok()?;
            Some(Hash(bytes))
        } else {
            self.pending.get(usize::try_from(i - self.written).ok()?).map(|&h| Hash(h))
        }
    }

    fn push(&mut self, hash: Hash) {
        self.pending.push(hash.0);
    }

    fn len(&self) -> u64 {
        self.written + self.pending.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockade_ledger::{Tree, leaf_hash};

    fn leaf(i: u64) -> Hash {
        leaf_hash(&i.to_be_bytes())
    }

    #[test]
    fn a_tree_in_a_file_is_the_tree_in_memory_and_reopens_without_rehashing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hashes");
        let mut in_memory = Tree::new();
        let mut t = Tree::resume(HashFile::open(&path, 0).unwrap(), 0).unwrap();
        for i in 0..1000 {
            in_memory.push(leaf(i));
            t.push(leaf(i));
            if i % 77 == 0 {
                t.stored_mut().flush().unwrap();
            }
        }
        // Read partly from the file, partly from what is pending.
        assert!(t.stored().written > 0 && !t.stored().pending.is_empty());
        for (index, size) in [(0, 1000), (500, 1000), (999, 1000), (3, 700)] {
            assert_eq!(t.inclusion_proof(index, size).unwrap(), in_memory.inclusion_proof(index, size).unwrap());
        }
        assert_eq!(t.consistency_proof(300, 1000).unwrap(), in_memory.consistency_proof(300, 1000).unwrap());
        assert_eq!(t.hash_tile(0, 1, 256).unwrap(), in_memory.hash_tile(0, 1, 256).unwrap());
        t.stored_mut().flush().unwrap();
        let stored = t.stored().len();
        drop(t);
        assert_eq!(HashFile::count(&path).unwrap(), stored);

        // Reopened at 1000 leaves, it goes on as the tree in memory does.
        let mut t = Tree::resume(HashFile::open(&path, stored).unwrap(), 1000).unwrap();
        for i in 1000..1300 {
            in_memory.push(leaf(i));
            t.push(leaf(i));
        }
        assert_eq!(t.root(1300).unwrap(), in_memory.root(1300).unwrap());
        assert_eq!(t.root(1000).unwrap(), in_memory.root(1000).unwrap());
        t.stored_mut().flush().unwrap();
        drop(t);

        // Kept to an earlier size, the rest is cut off; more than there is is refused.
        let at_600 = tlog_count(600);
        let t = Tree::resume(HashFile::open(&path, at_600).unwrap(), 600).unwrap();
        assert_eq!(t.root(600).unwrap(), in_memory.root(600).unwrap());
        drop(t);
        assert_eq!(HashFile::count(&path).unwrap(), at_600);
        let err = HashFile::open(&path, at_600 + 1).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
    }

    #[test]
    fn a_file_that_outgrows_its_map_is_mapped_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hashes");
        let mut in_memory = Tree::new();
        // Room for 100 hashes: about 50 leaves.
        let mut t = Tree::resume(HashFile::open_reserving(&path, 0, 3200).unwrap(), 0).unwrap();
        for i in 0..3000 {
            in_memory.push(leaf(i));
            t.push(leaf(i));
            if i % 10 == 9 {
                t.stored_mut().flush().unwrap();
            }
        }
        let s = t.stored();
        assert!(s.reserved > 3200 && s.reserved >= s.written * 32 && s.pending.is_empty(), "{}", s.reserved);
        for index in [0, 49, 50, 1234, 2999] {
            assert_eq!(t.inclusion_proof(index, 3000).unwrap(), in_memory.inclusion_proof(index, 3000).unwrap());
        }
        drop(t);
        // Reopened with more hashes than the first room holds.
        let t = Tree::resume(HashFile::open_reserving(&path, tlog_count(3000), 3200).unwrap(), 3000).unwrap();
        assert_eq!(t.root(3000).unwrap(), in_memory.root(3000).unwrap());
    }

    fn tlog_count(n: u64) -> u64 {
        stockade_ledger::stored_hash_count(n)
    }
}
