//! An independent witness of Stockade's evidence ledger: what an insurer,
//! an auditor or a second site runs so that the log's operator cannot show
//! different parties different histories (`docs/WITNESS.md`).
//!
//! It speaks C2SP tlog-witness (`add-checkpoint`) and cosigns with C2SP
//! tlog-cosignature (`stockade_ledger::cosign`). For each log it trusts (by
//! origin and verifier key) it keeps the latest checkpoint it cosigned, and
//! cosigns a new one only when the log's signature verifies and a
//! consistency proof leads from that checkpoint to the new one.
//!
//! Invariants:
//! - Never two cosigned checkpoints of one log that are not consistent (a
//!   fork): the check against the stored checkpoint and the update are one
//!   step under one lock, and the new state is durable (written, synced,
//!   renamed, directory synced) before the cosignature is returned, so a
//!   crash or restart cannot roll it back.
//! - Time comes from the caller (seconds since the epoch).
//! - Knows no HTTP: refusals carry the status the protocol names; the
//!   server maps them.

#![forbid(unsafe_code)]

use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use stockade_ledger::Hash;
use stockade_ledger::checkpoint::CheckpointError;
use stockade_ledger::cosign::Cosigner;

/// The file holding the witness's private key, in its directory.
pub const KEY_FILE: &str = "witness.key";
/// The file holding the latest checkpoint cosigned per log.
pub const STATE_FILE: &str = "witness-state.json";
/// At most this many consistency proof lines (tlog-witness).
const MAX_PROOF_LINES: usize = 63;

/// Why a checkpoint was not cosigned, with the status tlog-witness gives it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// 400: the request is not an add-checkpoint body.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 404: no trusted log has this origin.
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    /// 403: no signature by the log's trusted key verifies.
    #[error("the checkpoint is not signed by the trusted key of {0}")]
    Unsigned(String),
    /// 409: `old` is not the size of the latest checkpoint cosigned (the
    /// body is that size), or the same size came with another root.
    #[error("{why} (latest cosigned size {latest})")]
    Conflict { latest: u64, why: String },
    /// 422: the consistency proof does not lead from the latest cosigned
    /// checkpoint to this one: a fork, or a bad proof.
    #[error("the consistency proof from size {old} to {new} does not verify: {why}")]
    Inconsistent { old: u64, new: u64, why: String },
    /// 500: the state could not be kept; nothing was cosigned.
    #[error("witness state: {0}")]
    Storage(String),
}

impl Refusal {
    /// The HTTP status tlog-witness gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) => 400,
            Refusal::Unsigned(_) => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::Conflict { .. } => 409,
            Refusal::Inconsistent { .. } => 422,
            Refusal::Storage(_) => 500,
        }
    }
}

/// The latest checkpoint cosigned for one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub size: u64,
    /// Base64 root hash.
    pub root: String,
    /// When it was cosigned (seconds since the epoch).
    pub time: u64,
}

/// A witness: its key, the logs it trusts, and what it has cosigned.
pub struct Witness {
    cosigner: Cosigner,
    /// origin → the log's verifier key.
    logs: BTreeMap<String, String>,
    dir: PathBuf,
    state: Mutex<BTreeMap<String, Seen>>,
}

/// A parsed add-checkpoint body.
struct Request<'a> {
    old: u64,
    proof: Vec<Hash>,
    note: &'a [u8],
}

fn parse(body: &[u8]) -> Result<Request<'_>, Refusal> {
    let bad = |why: &str| Refusal::Malformed(why.to_owned());
    let mut rest = body;
    let mut line = || -> Result<&[u8], Refusal> {
        let end = rest.iter().position(|b| *b == b'\n').ok_or_else(|| bad("a line does not end in a newline"))?;
        let (l, r) = rest.split_at(end);
        rest = &r[1..];
        Ok(l)
    };
    let first = line()?;
    let old = std::str::from_utf8(first)
        .ok()
        .and_then(|l| l.strip_prefix("old "))
        .filter(|n| *n == "0" || (!n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| bad("the first line must be `old <size>`"))?;
    let mut proof = Vec::new();
    loop {
        let l = line()?;
        if l.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(bad("more than 63 consistency proof lines"));
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(l)
            .map_err(|_| bad("a consistency proof line is not base64"))?;
        proof
            .push(stockade_ledger::hash_from(&raw).map_err(|_| bad("a consistency proof line is not a 32-byte hash"))?);
    }
    Ok(Request { old, proof, note: rest })
}

fn storage(path: &Path, e: std::io::Error) -> Refusal {
    Refusal::Storage(format!("{}: {e}", path.display()))
}

impl Witness {
    /// Creates a witness directory with a new key for `name`; refuses a
    /// directory that already holds one.
    pub fn init(dir: &Path, name: &str) -> Result<Cosigner, InitError> {
        std::fs::create_dir_all(dir).map_err(|e| InitError::Io(dir.display().to_string(), e))?;
        let key_path = dir.join(KEY_FILE);
        if key_path.exists() {
            return Err(InitError::Exists(key_path.display().to_string()));
        }
        let (c, private) = Cosigner::generate(name)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&key_path).map_err(|e| InitError::Io(key_path.display().to_string(), e))?;
        f.write_all(format!("{private}\n").as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| InitError::Io(key_path.display().to_string(), e))?;
        Ok(c)
    }

    /// Opens a witness directory (its key and state) trusting these logs'
    /// verifier keys (`origin+id+key`; the origin is the key's name).
    pub fn open(dir: &Path, logs: &[String]) -> Result<Witness, InitError> {
        let key_path = dir.join(KEY_FILE);
        let private =
            std::fs::read_to_string(&key_path).map_err(|e| InitError::Io(key_path.display().to_string(), e))?;
        let cosigner = Cosigner::from_private(&private)?;
        let mut trusted = BTreeMap::new();
        for vkey in logs {
            let origin = stockade_ledger::checkpoint::key_name(vkey)
                .map_err(|e| InitError::Key(format!("log key {vkey:?}: {e}")))?;
            if trusted.insert(origin.clone(), vkey.trim().to_owned()).is_some() {
                return Err(InitError::Key(format!("two keys for the log {origin:?}")));
            }
        }
        let state_path = dir.join(STATE_FILE);
        let state = match std::fs::read(&state_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                InitError::Key(format!("{}: unreadable ({e}); refusing to start", state_path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(InitError::Io(state_path.display().to_string(), e)),
        };
        Ok(Witness { cosigner, logs: trusted, dir: dir.to_owned(), state: Mutex::new(state) })
    }

    /// The witness's verifier key, for logs and verifiers to trust.
    pub fn verifier_key(&self) -> &str {
        self.cosigner.verifier_key()
    }

    /// The latest checkpoint cosigned per log.
    pub fn seen(&self) -> BTreeMap<String, Seen> {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// tlog-witness `add-checkpoint`: the cosignature line(s) for the
    /// checkpoint in `body`, at `now` (seconds since the epoch).
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<Vec<u8>, Refusal> {
        let req = parse(body)?;
        let text =
            stockade_ledger::cosign::body(req.note).map_err(|e| Refusal::Malformed(format!("checkpoint: {e}")))?;
        let origin = std::str::from_utf8(&text)
            .ok()
            .and_then(|t| t.lines().next())
            .ok_or_else(|| Refusal::Malformed("the checkpoint has no origin line".into()))?
            .to_owned();
        let key = self.logs.get(&origin).ok_or_else(|| Refusal::UnknownLog(origin.clone()))?;
        let cp = stockade_ledger::checkpoint::open(req.note, key).map_err(|e| match e {
            CheckpointError::Malformed(m) => Refusal::Malformed(format!("checkpoint: {m}")),
            _ => Refusal::Unsigned(origin.clone()),
        })?;
        let (size, root) = (cp.size(), *cp.hash());
        if req.old > size {
            return Err(Refusal::Malformed(format!("old size {} is beyond the checkpoint's {size}", req.old)));
        }
        let mut state = self.state.lock().map_err(|_| Refusal::Storage("poisoned".into()))?;
        let latest = state.get(&origin).cloned();
        let latest_size = latest.as_ref().map_or(0, |s| s.size);
        if req.old != latest_size {
            return Err(Refusal::Conflict {
                latest: latest_size,
                why: format!("old size {} is not the latest cosigned", req.old),
            });
        }
        let b64 = |h: &Hash| base64::engine::general_purpose::STANDARD.encode(h.0);
        match &latest {
            None if !req.proof.is_empty() => {
                return Err(Refusal::Malformed("a first checkpoint comes with no consistency proof".into()));
            }
            None => {}
            Some(seen) if seen.size == size && seen.root != b64(&root) => {
                return Err(Refusal::Conflict {
                    latest: seen.size,
                    why: "the same size with another root: a fork".into(),
                });
            }
            Some(seen) if seen.size == size => {}
            Some(seen) => {
                let old_root = base64::engine::general_purpose::STANDARD
                    .decode(&seen.root)
                    .ok()
                    .and_then(|b| stockade_ledger::hash_from(&b).ok())
                    .ok_or_else(|| Refusal::Storage(format!("stored root of {origin} is malformed")))?;
                stockade_ledger::verify_consistency(seen.size, size, &req.proof, old_root, root)
                    .map_err(|e| Refusal::Inconsistent { old: seen.size, new: size, why: e.to_string() })?;
            }
        }
        let line = self.cosigner.cosign(&text, now).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let mut next = state.clone();
        next.insert(origin, Seen { size, root: b64(&root), time: now });
        self.persist(&next)?;
        *state = next;
        Ok(line)
    }

    /// Writes the state durably: a new file, synced, renamed over the old,
    /// the directory synced.
    fn persist(&self, state: &BTreeMap<String, Seen>) -> Result<(), Refusal> {
        let path = self.dir.join(STATE_FILE);
        let tmp = self.dir.join(format!("{STATE_FILE}.new"));
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| Refusal::Storage(e.to_string()))?;
        let mut f = std::fs::File::create(&tmp).map_err(|e| storage(&tmp, e))?;
        f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(|e| storage(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| storage(&path, e))?;
        std::fs::File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| storage(&self.dir, e))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} already holds a witness key; it is never replaced")]
    Exists(String),
    #[error("{0}")]
    Key(String),
}

impl From<CheckpointError> for InitError {
    fn from(e: CheckpointError) -> InitError {
        InitError::Key(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockade_ledger::checkpoint::LogKey;
    use stockade_ledger::{Tree, leaf_hash};

    const ORIGIN: &str = "stockade.test/witnessed";

    /// A log of `n` leaves whose leaf `i` is `i` (or, from `fork_at` on, `i + 1000`).
    fn tree(n: u64, fork_at: u64) -> Tree {
        let mut t = Tree::new();
        for i in 0..n {
            let v = if i >= fork_at { i + 1000 } else { i };
            t.push(leaf_hash(&v.to_be_bytes()));
        }
        t
    }

    fn request(key: &LogKey, t: &Tree, old: u64, size: u64) -> Vec<u8> {
        let mut body = format!("old {old}\n").into_bytes();
        if old > 0 && old < size {
            for h in t.consistency_proof(old, size).unwrap() {
                body.extend(format!("{}\n", base64::engine::general_purpose::STANDARD.encode(h.0)).into_bytes());
            }
        }
        body.push(b'\n');
        body.extend(key.sign(ORIGIN, size, t.root(size).unwrap()).unwrap());
        body
    }

    fn witness(dir: &Path, log: &LogKey) -> Witness {
        Witness::open(dir, &[log.verifier_key().to_owned()]).unwrap()
    }

    #[test]
    fn cosigns_a_growing_log_and_never_a_fork_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let me = Witness::init(dir.path(), "witness.test/w1").unwrap();
        assert!(matches!(Witness::init(dir.path(), "again"), Err(InitError::Exists(_))), "a key is never replaced");
        let (log, _) = LogKey::generate(ORIGIN).unwrap();
        let w = witness(dir.path(), &log);
        assert_eq!(w.verifier_key(), me.verifier_key());
        let honest = tree(20, u64::MAX);
        let line = w.add_checkpoint(&request(&log, &honest, 0, 10), 1_000).unwrap();
        assert!(line.starts_with("\u{2014} witness.test/w1 ".as_bytes()) && line.ends_with(b"\n"));
        // The line is a valid cosignature of that checkpoint.
        let mut note = log.sign(ORIGIN, 10, honest.root(10).unwrap()).unwrap();
        note.extend(&line);
        let got = stockade_ledger::cosign::verify_witnessed(&note, log.verifier_key(), &[me.verifier_key().into()], 1);
        assert_eq!(got.unwrap().cosigned[0].1, 1_000);
        // Growing: 10 → 20 with its proof.
        w.add_checkpoint(&request(&log, &honest, 10, 20), 1_001).unwrap();
        // The same checkpoint again is cosigned again (old = size, same root).
        w.add_checkpoint(&request(&log, &honest, 20, 20), 1_002).unwrap();
        // A stale old size: 409 with the latest size.
        let r = w.add_checkpoint(&request(&log, &honest, 10, 20), 1_003).unwrap_err();
        assert_eq!(r.status(), 409);
        assert!(matches!(r, Refusal::Conflict { latest: 20, .. }), "{r}");
        // A fork after a restart: same size, other root; longer, no proof that holds.
        drop(w);
        let w = witness(dir.path(), &log);
        assert_eq!(w.seen()[ORIGIN].size, 20, "the state survived");
        let forked = tree(30, 15);
        let r = w.add_checkpoint(&request(&log, &forked, 20, 20), 1_004).unwrap_err();
        assert_eq!(r.status(), 409, "{r}");
        let mut body = b"old 20\n".to_vec();
        for h in forked.consistency_proof(20, 30).unwrap() {
            body.extend(format!("{}\n", base64::engine::general_purpose::STANDARD.encode(h.0)).into_bytes());
        }
        body.push(b'\n');
        body.extend(log.sign(ORIGIN, 30, forked.root(30).unwrap()).unwrap());
        let r = w.add_checkpoint(&body, 1_005).unwrap_err();
        assert_eq!(r.status(), 422, "{r}");
        assert_eq!(w.seen()[ORIGIN].size, 20, "nothing changed");
    }

    #[test]
    fn refusals_carry_the_protocol_status() {
        let dir = tempfile::tempdir().unwrap();
        Witness::init(dir.path(), "witness.test/w2").unwrap();
        let (log, _) = LogKey::generate(ORIGIN).unwrap();
        let (other_log, _) = LogKey::generate("stockade.test/other").unwrap();
        let (impostor, _) = LogKey::generate(ORIGIN).unwrap();
        let w = witness(dir.path(), &log);
        let t = tree(8, u64::MAX);
        let status = |body: &[u8]| w.add_checkpoint(body, 1).unwrap_err().status();
        assert_eq!(status(b"old x\n\n"), 400);
        assert_eq!(status(b"old 01\n\n"), 400, "no leading zeroes");
        assert_eq!(status(b"old 0\nnot base64!\n\n"), 400);
        assert_eq!(status(b"old 0"), 400, "no newline");
        let mut unknown = b"old 0\n\n".to_vec();
        unknown.extend(other_log.sign("stockade.test/other", 8, t.root(8).unwrap()).unwrap());
        assert_eq!(status(&unknown), 404);
        assert_eq!(status(&request(&impostor, &t, 0, 8)), 403, "the right origin, another key");
        assert_eq!(status(&request(&log, &t, 9, 8)), 400, "old beyond the size");
        let mut proof_first = b"old 0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n".to_vec();
        proof_first.extend(log.sign(ORIGIN, 8, t.root(8).unwrap()).unwrap());
        assert_eq!(status(&proof_first), 400, "a first checkpoint has no proof");
        assert_eq!(status(&request(&log, &t, 4, 8)), 409, "nothing cosigned yet: old must be 0");
        assert!(w.seen().is_empty());
        // Keys: a witness key is no log key.
        let me = Witness::open(dir.path(), &[]).unwrap();
        assert!(Witness::open(dir.path(), &[me.verifier_key().to_owned()]).is_err());
    }
}
