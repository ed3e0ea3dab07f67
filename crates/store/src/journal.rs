//! The event journal: append-only, checksummed segment files holding every
//! accepted event, written with one `fdatasync` per group commit.
//!
//! Why not rows in SQLite: measured on this 2-core machine, an SQLite row
//! per event with its payload and unique key costs 7-9 µs (150k rows/s with
//! rusqlite, 60k/s through sqlx), while appending the same bytes to a file
//! with one fsync per 8192 records runs at 1M records/s. Ingest needs the
//! latter; SQL keeps only what is queried by key (book, counts, reference).
//!
//! Layout: `DIR/<first seq, 20 digits>.seg`, each a sequence of records:
//!
//! ```text
//! u32 len        bytes after the crc
//! u32 crc32      of those bytes
//! u64 seq        i64 occurred_us   i64 received_us   i32 offset_s
//! u16 kind_len   u16 source_len    u16 id_len        u16 site_len
//! [16] key       first 16 bytes of SHA-256(source 0x00 id): the dedupe key
//! [32] hash      SHA-256 of the payload
//! kind, source, id, site, payload (canonical JSON)
//! ```
//!
//! Invariants:
//! - Records are in strictly increasing `seq` order with no gaps.
//! - An append returns only after its bytes are on disk (`sync_data`).
//! - On open, a torn record at the end of the last segment (a crash during a
//!   write that was never acknowledged) is cut off; damage anywhere else
//!   refuses to open, naming the file and offset.
//! - Duplicate detection keeps one 16-byte key per event in memory (about 32
//!   bytes each with the table's overhead), rebuilt from the segments at open.

use crate::{Appended, EventQuery, NewEvent, StoreError, StoredEvent};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

/// A new segment starts past this size.
const SEGMENT_BYTES: u64 = 256 << 20;
/// Records per index block (the unit of scanning and of zone maps).
const BLOCK_RECORDS: u64 = 1024;
/// Distinct sites a block remembers before it counts as "many sites".
const BLOCK_SITES: usize = 16;
const FIXED: usize = 8 + 8 + 8 + 4 + 2 * 4 + 16 + 32;

/// The dedupe key of (source, id).
pub fn dedupe_key(source: &str, id: &str) -> u128 {
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    h.update([0]);
    h.update(id.as_bytes());
    let d = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    u128::from_le_bytes(k)
}

/// Keys are already uniformly distributed: hashing them again is wasted work.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

type KeySet = HashSet<u128, BuildHasherDefault<KeyHasher>>;

/// Zone map of a run of records in one segment.
#[derive(Debug, Clone)]
struct Block {
    segment: usize,
    offset: u64,
    len: u64,
    first_seq: u64,
    last_seq: u64,
    min_occ: i64,
    max_occ: i64,
    /// None: more than [`BLOCK_SITES`] sites.
    sites: Option<Vec<String>>,
    kinds: Vec<String>,
}

impl Block {
    fn records(&self) -> u64 {
        self.last_seq + 1 - self.first_seq
    }

    fn add(&mut self, r: &RecordMeta<'_>, len: u64) {
        self.len += len;
        self.last_seq = r.seq;
        self.min_occ = self.min_occ.min(r.occurred_us);
        self.max_occ = self.max_occ.max(r.occurred_us);
        if let Some(sites) = &mut self.sites
            && !sites.iter().any(|s| s == r.site)
        {
            if sites.len() >= BLOCK_SITES {
                self.sites = None;
            } else {
                sites.push(r.site.to_owned());
            }
        }
        if !self.kinds.iter().any(|k| k == r.kind) {
            self.kinds.push(r.kind.to_owned());
        }
    }

    fn may_match(&self, q: &EventQuery) -> bool {
        if q.after_seq.is_some_and(|a| self.last_seq as i64 <= a) {
            return false;
        }
        if q.from_us.is_some_and(|f| self.max_occ < f) || q.to_us.is_some_and(|t| self.min_occ >= t) {
            return false;
        }
        if let (Some(site), Some(sites)) = (&q.site, &self.sites)
            && !sites.contains(site)
        {
            return false;
        }
        if let Some(kind) = &q.kind
            && !self.kinds.contains(kind)
        {
            return false;
        }
        true
    }
}

struct Writer {
    file: Option<File>,
    segment_len: u64,
    next_seq: u64,
    keys: KeySet,
    buf: Vec<u8>,
}

#[derive(Default)]
struct Index {
    /// Segment files, oldest first.
    segments: Vec<PathBuf>,
    blocks: Vec<Block>,
    count: u64,
}

/// The journal. Appends are serialised; reads run beside them.
pub struct Journal {
    dir: PathBuf,
    writer: Mutex<Writer>,
    index: RwLock<Index>,
    /// Tests: the next write fails with this error, before a byte is written.
    #[cfg(test)]
    fault: Mutex<Option<std::io::ErrorKind>>,
}

/// The fixed fields of a record, borrowed from its bytes.
struct RecordMeta<'a> {
    seq: u64,
    occurred_us: i64,
    received_us: i64,
    offset_s: i32,
    key: u128,
    hash: [u8; 32],
    kind: &'a str,
    source: &'a str,
    id: &'a str,
    site: &'a str,
    payload: &'a [u8],
}

fn corrupt(path: &Path, offset: u64, what: &str) -> StoreError {
    StoreError::Corrupt(format!("journal {} at byte {offset}: {what}", path.display()))
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::file("journal", path, e)
}

/// Parses the record body (after len and crc).
fn parse(body: &[u8]) -> Option<RecordMeta<'_>> {
    if body.len() < FIXED {
        return None;
    }
    let u64_at = |i: usize| u64::from_le_bytes(body[i..i + 8].try_into().unwrap_or([0; 8]));
    let u16_at = |i: usize| usize::from(u16::from_le_bytes(body[i..i + 2].try_into().unwrap_or([0; 2])));
    let seq = u64_at(0);
    let occurred_us = u64_at(8) as i64;
    let received_us = u64_at(16) as i64;
    let offset_s = i32::from_le_bytes(body[24..28].try_into().ok()?);
    let (kl, sl, il, tl) = (u16_at(28), u16_at(30), u16_at(32), u16_at(34));
    let key = u128::from_le_bytes(body[36..52].try_into().ok()?);
    let hash: [u8; 32] = body[52..84].try_into().ok()?;
    let mut at = FIXED;
    let mut take = |n: usize| -> Option<&str> {
        let s = std::str::from_utf8(body.get(at..at + n)?).ok()?;
        at += n;
        Some(s)
    };
    let kind = take(kl)?;
    let source = take(sl)?;
    let id = take(il)?;
    let site = take(tl)?;
    let payload = &body[at..];
    Some(RecordMeta { seq, occurred_us, received_us, offset_s, key, hash, kind, source, id, site, payload })
}

fn encode(buf: &mut Vec<u8>, seq: u64, e: &NewEvent, key: u128) -> Result<(), StoreError> {
    let lens = [e.kind.len(), e.source.len(), e.event_id.len(), e.site.len()];
    if lens.iter().any(|l| *l > usize::from(u16::MAX)) {
        return Err(StoreError::TooLarge("a field of the event is longer than 65535 bytes".into()));
    }
    let body_len = FIXED + lens.iter().sum::<usize>() + e.payload.len();
    let len = u32::try_from(body_len).map_err(|_| StoreError::TooLarge("an event larger than 4 GiB".into()))?;
    let start = buf.len();
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(&e.occurred_us.to_le_bytes());
    buf.extend_from_slice(&e.received_us.to_le_bytes());
    buf.extend_from_slice(&e.offset_s.to_le_bytes());
    for l in lens {
        buf.extend_from_slice(&(l as u16).to_le_bytes());
    }
    buf.extend_from_slice(&key.to_le_bytes());
    buf.extend_from_slice(&e.hash);
    buf.extend_from_slice(e.kind.as_bytes());
    buf.extend_from_slice(e.source.as_bytes());
    buf.extend_from_slice(e.event_id.as_bytes());
    buf.extend_from_slice(e.site.as_bytes());
    buf.extend_from_slice(e.payload.as_bytes());
    let crc = crc32fast::hash(&buf[start + 8..]);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}.seg"))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir`, checking every record.
    pub fn open(dir: &Path) -> Result<Journal, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut paths: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter_map(|p| {
                let first = p.file_stem()?.to_str()?.parse::<u64>().ok()?;
                (p.extension()? == "seg").then_some((first, p))
            })
            .collect();
        paths.sort();
        let mut index = Index::default();
        let mut keys = KeySet::default();
        let mut next_seq = 1u64;
        let mut last_len = 0u64;
        let n = paths.len();
        for (si, (first, path)) in paths.into_iter().enumerate() {
            if first != next_seq {
                return Err(corrupt(&path, 0, &format!("segment starts at seq {first}, expected {next_seq}")));
            }
            let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
            let mut at = 0usize;
            let is_last = si + 1 == n;
            while at < bytes.len() {
                let torn = |what: &str| -> Result<(), StoreError> {
                    if is_last {
                        tracing::warn!(path = %path.display(), offset = at, "cutting a torn record at the journal's end: {what}");
                        let f = OpenOptions::new().write(true).open(&path).map_err(|e| io(&path, e))?;
                        f.set_len(at as u64).and_then(|()| f.sync_all()).map_err(|e| io(&path, e))?;
                        Ok(())
                    } else {
                        Err(corrupt(&path, at as u64, what))
                    }
                };
                let Some(head) = bytes.get(at..at + 8) else {
                    torn("short header")?;
                    break;
                };
                let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
                let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
                let Some(body) = bytes.get(at + 8..at + 8 + len) else {
                    torn("short record")?;
                    break;
                };
                if crc32fast::hash(body) != crc {
                    // Only the very last record can be torn; a bad record
                    // with data after it is damage, and cutting there would
                    // drop acknowledged events.
                    if at + 8 + len == bytes.len() {
                        torn("checksum mismatch")?;
                        break;
                    }
                    return Err(corrupt(&path, at as u64, "checksum mismatch"));
                }
                let Some(r) = parse(body) else {
                    return Err(corrupt(&path, at as u64, "unreadable record"));
                };
                if r.seq != next_seq {
                    return Err(corrupt(&path, at as u64, &format!("seq {} where {next_seq} was expected", r.seq)));
                }
                keys.insert(r.key);
                index.add(si, at as u64, &r, (8 + len) as u64);
                next_seq += 1;
                at += 8 + len;
            }
            last_len = at as u64;
            index.segments.push(path);
        }
        let file = match index.segments.last() {
            Some(p) => Some(OpenOptions::new().append(true).open(p).map_err(|e| io(p, e))?),
            None => None,
        };
        Ok(Journal {
            dir: dir.to_owned(),
            writer: Mutex::new(Writer { file, segment_len: last_len, next_seq, keys, buf: Vec::new() }),
            index: RwLock::new(index),
            #[cfg(test)]
            fault: Mutex::new(None),
        })
    }

    /// Tests: the next write fails with an error of this kind.
    #[cfg(test)]
    pub(crate) fn fail_next_write(&self, kind: std::io::ErrorKind) {
        if let Ok(mut f) = self.fault.lock() {
            *f = Some(kind);
        }
    }

    /// Number of events in the journal, which is also the highest sequence
    /// number (sequence numbers start at 1 and have no gaps).
    pub fn len(&self) -> u64 {
        self.index.read().map(|i| i.count).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Which of these (source, id) keys are stored. Blocking: it waits for an
    /// append in progress.
    pub fn contains(&self, keys: &[(&str, &str)]) -> Result<Vec<bool>, StoreError> {
        let w = self.writer.lock().map_err(|_| StoreError::Poisoned("journal writer"))?;
        Ok(keys.iter().map(|(source, id)| w.keys.contains(&dedupe_key(source, id))).collect())
    }

    /// Appends the events that are new, durably; returns one outcome per input.
    /// Blocking: call from a blocking context.
    pub fn append(&self, batch: &[NewEvent]) -> Result<Vec<Appended>, StoreError> {
        let mut w = self.writer.lock().map_err(|_| StoreError::Poisoned("journal writer"))?;
        let w = &mut *w;
        let mut out = Vec::with_capacity(batch.len());
        let mut fresh: Vec<(u64, &NewEvent, u128)> = Vec::with_capacity(batch.len());
        let mut added: Vec<u128> = Vec::new();
        for e in batch {
            let key = dedupe_key(&e.source, &e.event_id);
            if w.keys.insert(key) {
                added.push(key);
                let seq = w.next_seq + fresh.len() as u64;
                fresh.push((seq, e, key));
                out.push(Appended::Accepted(seq as i64));
            } else {
                out.push(Appended::Duplicate);
            }
        }
        if fresh.is_empty() {
            return Ok(out);
        }
        let result = self.write(w, &fresh);
        if result.is_err() {
            // Nothing was acknowledged: forget the keys so a retry can store them.
            for k in added {
                w.keys.remove(&k);
            }
        }
        result.map(|()| out)
    }

    fn write(&self, w: &mut Writer, fresh: &[(u64, &NewEvent, u128)]) -> Result<(), StoreError> {
        if w.file.is_none() || w.segment_len >= SEGMENT_BYTES {
            let first = w.next_seq;
            let path = segment_path(&self.dir, first);
            let f = OpenOptions::new().create_new(true).append(true).open(&path).map_err(|e| io(&path, e))?;
            sync_dir(&self.dir)?;
            w.file = Some(f);
            w.segment_len = 0;
            self.index.write().map_err(|_| StoreError::Poisoned("journal index"))?.segments.push(path);
        }
        w.buf.clear();
        let mut offsets = Vec::with_capacity(fresh.len());
        for (seq, e, key) in fresh {
            offsets.push(w.buf.len());
            encode(&mut w.buf, *seq, e, *key)?;
        }
        let Some(file) = w.file.as_mut() else {
            return Err(StoreError::Closed);
        };
        let at = w.segment_len;
        #[cfg(test)]
        if let Some(kind) = self.fault.lock().ok().and_then(|mut f| f.take()) {
            return Err(io(&self.dir, kind.into()));
        }
        if let Err(e) = file.write_all(&w.buf).and_then(|()| file.sync_data()) {
            // Cut whatever part reached the file, so the journal stays whole.
            let _ = file.set_len(at);
            return Err(io(&self.dir, e));
        }
        w.segment_len += w.buf.len() as u64;
        w.next_seq += fresh.len() as u64;
        let mut idx = self.index.write().map_err(|_| StoreError::Poisoned("journal index"))?;
        let segment = idx.segments.len() - 1;
        for (i, start) in offsets.iter().enumerate() {
            let end = offsets.get(i + 1).copied().unwrap_or(w.buf.len());
            if let Some(r) = parse(&w.buf[start + 8..end]) {
                idx.add(segment, at + *start as u64, &r, (end - start) as u64);
            }
        }
        Ok(())
    }

    /// Events matching `q`, in sequence order, at most `q.limit`.
    pub fn scan(&self, q: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        self.scan_with(q, |r| StoredEvent {
            seq: r.seq as i64,
            source: r.source.to_owned(),
            event_id: r.id.to_owned(),
            kind: r.kind.to_owned(),
            site: r.site.to_owned(),
            occurred_us: r.occurred_us,
            offset_s: r.offset_s,
            received_us: r.received_us,
            hash: r.hash,
            // Written from a String, so valid UTF-8: checked by the
            // fast validator, the lossy one only for a damaged record.
            payload: match std::str::from_utf8(r.payload) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(r.payload).into_owned(),
            },
        })
    }

    /// The sequence number and event time of the events matching `q`, in
    /// sequence order, at most `q.limit`: [`Journal::scan`] without
    /// copying anything out of the records.
    pub fn scan_times(&self, q: &EventQuery) -> Result<Vec<(i64, i64)>, StoreError> {
        self.scan_with(q, |r| (r.seq as i64, r.occurred_us))
    }

    fn scan_with<T>(&self, q: &EventQuery, mut each: impl FnMut(&RecordMeta<'_>) -> T) -> Result<Vec<T>, StoreError> {
        let (blocks, segments) = {
            let idx = self.index.read().map_err(|_| StoreError::Poisoned("journal index"))?;
            let start = q.after_seq.map_or(0, |a| idx.blocks.partition_point(|b| (b.last_seq as i64) <= a));
            let blocks: Vec<Block> = idx.blocks[start..].iter().filter(|b| b.may_match(q)).cloned().collect();
            (blocks, idx.segments.clone())
        };
        let mut out = Vec::new();
        let mut files: Vec<Option<File>> = std::iter::repeat_with(|| None).take(segments.len()).collect();
        let mut bytes = Vec::new();
        for b in blocks {
            let f = match &mut files[b.segment] {
                Some(f) => f,
                slot => slot.insert(File::open(&segments[b.segment]).map_err(|e| io(&segments[b.segment], e))?),
            };
            bytes.resize(b.len as usize, 0);
            f.read_exact_at(&mut bytes, b.offset).map_err(|e| io(&segments[b.segment], e))?;
            let mut at = 0;
            while at + 8 <= bytes.len() {
                let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
                let body = &bytes[at + 8..at + 8 + len];
                at += 8 + len;
                let Some(r) = parse(body) else {
                    return Err(corrupt(&segments[b.segment], b.offset, "unreadable record"));
                };
                let wanted = q.after_seq.is_none_or(|a| r.seq as i64 > a)
                    && q.site.as_deref().is_none_or(|s| s == r.site)
                    && q.kind.as_deref().is_none_or(|k| k == r.kind)
                    && q.from_us.is_none_or(|t| r.occurred_us >= t)
                    && q.to_us.is_none_or(|t| r.occurred_us < t);
                if wanted {
                    out.push(each(&r));
                    if out.len() >= q.limit as usize {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }
}

impl Index {
    fn add(&mut self, segment: usize, offset: u64, r: &RecordMeta<'_>, len: u64) {
        self.count += 1;
        if let Some(b) = self.blocks.last_mut()
            && b.segment == segment
            && b.records() < BLOCK_RECORDS
            && b.offset + b.len == offset
        {
            b.add(r, len);
            return;
        }
        self.blocks.push(Block {
            segment,
            offset,
            len,
            first_seq: r.seq,
            last_seq: r.seq,
            min_occ: r.occurred_us,
            max_occ: r.occurred_us,
            sites: Some(vec![r.site.to_owned()]),
            kinds: vec![r.kind.to_owned()],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: u64) -> NewEvent {
        let payload = format!("{{\"i\":{i}}}");
        NewEvent {
            source: "s".into(),
            event_id: format!("e{i}"),
            kind: if i.is_multiple_of(2) { "access.granted" } else { "access.denied" },
            site: format!("S{}", i % 3),
            occurred_us: i as i64 * 10,
            offset_s: 3600,
            received_us: 1,
            hash: Sha256::digest(payload.as_bytes()).into(),
            payload,
            movements: vec![],
            observation: None,
            epcis_hash: None,
        }
    }

    #[test]
    fn survives_reopen_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let batch: Vec<_> = (1..=10).map(ev).collect();
        assert!(j.append(&batch).unwrap().iter().all(|a| matches!(a, Appended::Accepted(_))));
        drop(j);
        // Simulate a crash in the middle of writing one more record.
        let seg = segment_path(dir.path(), 1);
        let good = std::fs::metadata(&seg).unwrap().len();
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[42, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(f);
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.len(), 10);
        assert_eq!(std::fs::metadata(&seg).unwrap().len(), good, "torn tail cut");
        assert_eq!(j.append(&batch).unwrap(), vec![Appended::Duplicate; 10], "keys rebuilt on open");
        assert_eq!(j.append(&[ev(11)]).unwrap(), vec![Appended::Accepted(11)]);
    }

    #[test]
    fn damage_inside_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        j.append(&(1..=3).map(ev).collect::<Vec<_>>()).unwrap();
        drop(j);
        let seg = segment_path(dir.path(), 1);
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes[20] ^= 0xff;
        std::fs::write(&seg, &bytes).unwrap();
        // Records follow the damaged one: cutting there would drop
        // acknowledged events, so the journal refuses to open and says where.
        let err = Journal::open(dir.path()).err().expect("refused").to_string();
        assert!(err.contains("checksum mismatch") && err.contains("at byte 0"), "{err}");
    }

    #[test]
    fn zone_maps_skip_and_filters_hold() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        for chunk in (1..=3000).collect::<Vec<u64>>().chunks(500) {
            j.append(&chunk.iter().map(|i| ev(*i)).collect::<Vec<_>>()).unwrap();
        }
        let q = EventQuery {
            site: Some("S1".into()),
            kind: Some("access.denied".into()),
            limit: 10_000,
            ..Default::default()
        };
        let got = j.scan(&q).unwrap();
        assert_eq!(got.len(), (1..=3000).filter(|i| i % 3 == 1 && i % 2 == 1).count());
        assert!(got.windows(2).all(|w| w[0].seq < w[1].seq));
        let page = j.scan(&EventQuery { after_seq: Some(2990), limit: 5, ..Default::default() }).unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [2991, 2992, 2993, 2994, 2995]);
        let t = j.scan(&EventQuery { from_us: Some(100), to_us: Some(130), limit: 100, ..Default::default() }).unwrap();
        assert_eq!(t.iter().map(|e| e.seq).collect::<Vec<_>>(), [10, 11, 12]);
    }
}
