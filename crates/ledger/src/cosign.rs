//! Witness cosignatures: C2SP tlog-cosignature, Ed25519 `cosignature/v1`.
//!
//! A witness that checked a checkpoint's consistency with the latest one it
//! saw of the same log adds a note signature line to it:
//!
//! ```text
//! — <witness name> base64(key ID ‖ u64 timestamp ‖ Ed25519 signature)
//! ```
//!
//! where the key ID is `SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4]` and the
//! signature covers `cosignature/v1\ntime <timestamp>\n` followed by the
//! checkpoint's body (its text up to and including the final newline, no
//! signature lines). Keys are written as signed-note keys with algorithm
//! byte 0x04: `name+id+base64(0x04 ‖ public key)` to verify,
//! `PRIVATE+KEY+name+id+base64(0x04 ‖ seed)` to sign.
//!
//! Invariants: a cosignature verifies only for the exact checkpoint body and
//! timestamp it was made over; a key of another algorithm, name or id is
//! refused, never ignored silently when it was asked for.

use crate::checkpoint::CheckpointError;
use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};
use signed_note::{Note, StandardVerifier, VerifierList};

/// The algorithm byte of Ed25519 cosignature keys.
pub const COSIGNATURE_V1: u8 = 0x04;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([COSIGNATURE_V1]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == '+')
}

/// The message a cosignature signs.
fn message(time: u64, body: &[u8]) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {time}\n").into_bytes();
    m.extend_from_slice(body);
    m
}

/// A witness's signing key.
pub struct Cosigner {
    name: String,
    key: SigningKey,
    id: u32,
    verifier_key: String,
}

impl Cosigner {
    /// A new key for the witness `name`; returns it and its private
    /// encoding, to be kept secret.
    pub fn generate(name: &str) -> Result<(Cosigner, String), CheckpointError> {
        let seed: [u8; 32] = rand::random();
        let c = Cosigner::from_seed(name, seed)?;
        let private =
            format!("PRIVATE+KEY+{name}+{:08x}+{}", c.id, B64.encode([&[COSIGNATURE_V1][..], &seed].concat()));
        Ok((c, private))
    }

    fn from_seed(name: &str, seed: [u8; 32]) -> Result<Cosigner, CheckpointError> {
        if !valid_name(name) {
            return Err(CheckpointError::Key(format!("witness name {name:?}: no spaces or '+', not empty")));
        }
        let key = SigningKey::from_bytes(&seed);
        let public = key.verifying_key().to_bytes();
        let id = key_id(name, &public);
        let verifier_key = format!("{name}+{id:08x}+{}", B64.encode([&[COSIGNATURE_V1][..], &public].concat()));
        Ok(Cosigner { name: name.to_owned(), key, id, verifier_key })
    }

    /// Loads a key from its private encoding.
    pub fn from_private(encoded: &str) -> Result<Cosigner, CheckpointError> {
        let bad = |why: &str| CheckpointError::Key(format!("not a witness private key: {why}"));
        let rest = encoded.trim().strip_prefix("PRIVATE+KEY+").ok_or_else(|| bad("no PRIVATE+KEY+ prefix"))?;
        let (name, rest) = rest.split_once('+').ok_or_else(|| bad("no name"))?;
        let (id, key) = rest.split_once('+').ok_or_else(|| bad("no key id"))?;
        let raw = B64.decode(key).map_err(|_| bad("its key is not base64"))?;
        let (alg, seed) = raw.split_first().ok_or_else(|| bad("empty key"))?;
        if *alg != COSIGNATURE_V1 {
            return Err(bad(&format!("algorithm {alg:#04x}, not cosignature/v1 (0x04)")));
        }
        let seed: [u8; 32] = seed.try_into().map_err(|_| bad("not a 32-byte Ed25519 seed"))?;
        let c = Cosigner::from_seed(name, seed)?;
        if format!("{:08x}", c.id) != id {
            return Err(bad("its key id does not match its key"));
        }
        Ok(c)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key (`name+id+base64(0x04 ‖ public key)`), to publish.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The cosignature line (ending in a newline) over a checkpoint's body
    /// at `time` (seconds since the epoch).
    pub fn cosign(&self, body: &[u8], time: u64) -> Result<Vec<u8>, CheckpointError> {
        if time > i64::MAX as u64 {
            return Err(CheckpointError::Malformed(format!("timestamp {time} exceeds 2^63 - 1")));
        }
        if !body.ends_with(b"\n") {
            return Err(CheckpointError::Malformed("a checkpoint body ends with a newline".into()));
        }
        let sig = self.key.sign(&message(time, body));
        let mut raw = Vec::with_capacity(4 + 8 + 64);
        raw.extend_from_slice(&self.id.to_be_bytes());
        raw.extend_from_slice(&time.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        Ok(format!("\u{2014} {} {}\n", self.name, B64.encode(raw)).into_bytes())
    }
}

/// Verifies `cosignature/v1` signatures of one witness key.
#[derive(Clone)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// From a verifier key `name+id+base64(0x04 ‖ public key)`.
    pub fn new(vkey: &str) -> Result<CosignatureVerifier, CheckpointError> {
        let bad = |why: &str| CheckpointError::Key(format!("witness key {vkey:?}: {why}"));
        let (name, rest) = vkey.trim().split_once('+').ok_or_else(|| bad("not name+id+key"))?;
        let (id, key) = rest.split_once('+').ok_or_else(|| bad("not name+id+key"))?;
        let raw = B64.decode(key).map_err(|_| bad("its key is not base64"))?;
        let (alg, public) = raw.split_first().ok_or_else(|| bad("empty key"))?;
        if *alg != COSIGNATURE_V1 {
            return Err(bad(&format!("algorithm {alg:#04x}, not an Ed25519 cosignature/v1 key (0x04)")));
        }
        let public: [u8; 32] = public.try_into().map_err(|_| bad("not a 32-byte Ed25519 key"))?;
        let key = VerifyingKey::from_bytes(&public).map_err(|_| bad("not an Ed25519 point"))?;
        let id_value = key_id(name, &public);
        if !valid_name(name) || format!("{id_value:08x}") != id {
            return Err(bad("its name or key id does not match its key"));
        }
        Ok(CosignatureVerifier { name: name.to_owned(), id: id_value, key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The timestamp of a valid cosignature line (`— name base64(id ‖
    /// timestamp ‖ signature)`, newline optional) by this key over `body`.
    pub fn verify_line(&self, body: &[u8], line: &str) -> Option<u64> {
        let rest = line.trim_end_matches('\n').strip_prefix("\u{2014} ")?;
        let (name, sig) = rest.split_once(' ')?;
        let raw = B64.decode(sig).ok()?;
        if name != self.name || raw.len() != 4 + 72 || raw[..4] != self.id.to_be_bytes() {
            return None;
        }
        self.time_of(body, &raw[4..])
    }

    /// The timestamp of a valid cosignature `sig` (timestamp ‖ signature)
    /// over `body`.
    pub fn time_of(&self, body: &[u8], sig: &[u8]) -> Option<u64> {
        if sig.len() != 72 {
            return None;
        }
        let time = u64::from_be_bytes(sig[..8].try_into().ok()?);
        let signature = ed25519_dalek::Signature::from_slice(&sig[8..]).ok()?;
        (time <= i64::MAX as u64 && self.key.verify(&message(time, body), &signature).is_ok()).then_some(time)
    }
}

impl signed_note::Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.time_of(msg, sig).is_some()
    }
}

/// A checkpoint and the witnesses that cosigned it.
#[derive(Debug)]
pub struct Witnessed {
    pub checkpoint: tlog_tiles::checkpoint::Checkpoint,
    /// (witness name, cosignature time) of each trusted witness that cosigned.
    pub cosigned: Vec<(String, u64)>,
}

/// Verifies a checkpoint signed by the log's key and cosigned by at least
/// `quorum` of the `witnesses` (verifier keys). Signatures of keys not
/// named are ignored; a signature of a named key that does not verify is
/// an error.
pub fn verify_witnessed(
    note: &[u8],
    log_key: &str,
    witnesses: &[String],
    quorum: usize,
) -> Result<Witnessed, CheckpointError> {
    let log = StandardVerifier::new(log_key.trim()).map_err(|e| CheckpointError::Key(format!("{e:?}")))?;
    let log_name = signed_note::Verifier::name(&log).to_owned();
    let log_id = signed_note::Verifier::key_id(&log);
    let mut list: Vec<Box<dyn signed_note::Verifier>> = vec![Box::new(log)];
    let mut cosigners = Vec::new();
    for w in witnesses {
        let v = CosignatureVerifier::new(w)?;
        cosigners.push((v.name.clone(), v.id, v.clone()));
        list.push(Box::new(v));
    }
    let parsed = Note::from_bytes(note).map_err(|e| CheckpointError::Malformed(format!("{e:?}")))?;
    let (verified, _) =
        parsed.verify(&VerifierList::new(list)).map_err(|e| CheckpointError::Signature(format!("{e:?}")))?;
    if !verified.iter().any(|s| s.name() == log_name && s.id() == log_id) {
        return Err(CheckpointError::Signature("the log's own signature is missing".into()));
    }
    let mut cosigned: Vec<(String, u64)> = Vec::new();
    for s in &verified {
        if let Some((name, _, v)) = cosigners.iter().find(|(n, id, _)| s.name() == n && s.id() == *id)
            && let Some(t) = v.time_of(parsed.text(), s.signature())
            && !cosigned.iter().any(|(n, _)| n == name)
        {
            cosigned.push((name.clone(), t));
        }
    }
    if cosigned.len() < quorum {
        return Err(CheckpointError::Signature(format!(
            "cosigned by {} of the witnesses named, {quorum} required",
            cosigned.len()
        )));
    }
    let checkpoint = tlog_tiles::checkpoint::Checkpoint::from_bytes(parsed.text())
        .map_err(|e| CheckpointError::Malformed(e.to_string()))?;
    Ok(Witnessed { checkpoint, cosigned })
}

/// The body of a signed note (its text, ending in a newline).
pub fn body(note: &[u8]) -> Result<Vec<u8>, CheckpointError> {
    Ok(Note::from_bytes(note).map_err(|e| CheckpointError::Malformed(format!("{e:?}")))?.text().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::LogKey;
    use crate::{Tree, leaf_hash};

    fn checkpoint(key: &LogKey, origin: &str, leaves: u64) -> Vec<u8> {
        let mut t = Tree::new();
        for i in 0..leaves {
            t.push(leaf_hash(&i.to_be_bytes()));
        }
        key.sign(origin, leaves, t.root(leaves).unwrap()).unwrap()
    }

    /// C2SP tlog-cosignature's example cosignature line, and a key made to
    /// follow its rules: our line has the same layout byte for byte.
    #[test]
    fn a_cosignature_line_has_the_c2sp_layout() {
        let (w, private) = Cosigner::generate("witness.example.com/w1").unwrap();
        let (log, _) = LogKey::generate("example.com/behind-the-sofa").unwrap();
        let note = checkpoint(&log, "example.com/behind-the-sofa", 5);
        let line = w.cosign(&body(&note).unwrap(), 1_679_315_147).unwrap();
        let text = String::from_utf8(line.clone()).unwrap();
        let (head, sig) = text.trim_end().rsplit_once(' ').unwrap();
        assert_eq!(head, "\u{2014} witness.example.com/w1");
        let raw = B64.decode(sig).unwrap();
        assert_eq!(raw.len(), 4 + 8 + 64);
        assert_eq!(&raw[4..12], &1_679_315_147u64.to_be_bytes());
        assert_eq!(
            format!("{:08x}", u32::from_be_bytes(raw[..4].try_into().unwrap())),
            w.verifier_key().split('+').nth(1).unwrap()
        );
        // Reloaded from its private form, the same key.
        assert_eq!(Cosigner::from_private(&private).unwrap().verifier_key(), w.verifier_key());
        // The cosigned note verifies with the log's key and the witness's.
        let mut cosigned = note.clone();
        cosigned.extend_from_slice(&line);
        let got = verify_witnessed(&cosigned, log.verifier_key(), &[w.verifier_key().to_owned()], 1).unwrap();
        assert_eq!(got.cosigned, vec![("witness.example.com/w1".to_owned(), 1_679_315_147)]);
        assert_eq!(got.checkpoint.size(), 5);
        let v = CosignatureVerifier::new(w.verifier_key()).unwrap();
        assert_eq!(v.verify_line(&body(&note).unwrap(), &text), Some(1_679_315_147));
        assert_eq!(v.verify_line(b"other\n", &text), None);
        // The log's key alone still verifies it (Go's note does the same).
        assert!(crate::checkpoint::open(&cosigned, log.verifier_key()).is_ok());
    }

    #[test]
    fn quorums_unknown_keys_and_forgeries() {
        let (log, _) = LogKey::generate("stockade.test/log").unwrap();
        let (a, _) = Cosigner::generate("witness.a").unwrap();
        let (b, _) = Cosigner::generate("witness.b").unwrap();
        let (stranger, _) = Cosigner::generate("witness.c").unwrap();
        let note = checkpoint(&log, "stockade.test/log", 9);
        let body = body(&note).unwrap();
        let mut both = note.clone();
        both.extend(a.cosign(&body, 10).unwrap());
        both.extend(b.cosign(&body, 11).unwrap());
        both.extend(stranger.cosign(&body, 12).unwrap());
        let keys = vec![a.verifier_key().to_owned(), b.verifier_key().to_owned()];
        let got = verify_witnessed(&both, log.verifier_key(), &keys, 2).unwrap();
        assert_eq!(got.cosigned.len(), 2, "the stranger's cosignature is ignored");
        let e = verify_witnessed(&both, log.verifier_key(), &keys[..1], 2).unwrap_err().to_string();
        assert!(e.contains("cosigned by 1 of the witnesses named, 2 required"), "{e}");
        // A cosignature over another checkpoint, moved onto this one, fails.
        let other = checkpoint(&log, "stockade.test/log", 10);
        let mut moved = note.clone();
        moved.extend(a.cosign(&super::body(&other).unwrap(), 10).unwrap());
        assert!(verify_witnessed(&moved, log.verifier_key(), &keys[..1], 1).is_err());
        // A timestamp changed after signing fails.
        let line = String::from_utf8(a.cosign(&body, 10).unwrap()).unwrap();
        let (head, sig) = line.trim_end().rsplit_once(' ').unwrap();
        let mut raw = B64.decode(sig).unwrap();
        raw[11] ^= 1;
        let mut bent = note.clone();
        bent.extend(format!("{head} {}\n", B64.encode(raw)).into_bytes());
        assert!(verify_witnessed(&bent, log.verifier_key(), &keys[..1], 1).is_err());
        // A log key where a witness key is wanted, and the reverse, are refused.
        assert!(CosignatureVerifier::new(log.verifier_key()).is_err());
        assert!(verify_witnessed(&both, a.verifier_key(), &keys, 0).is_err());
        assert!(Cosigner::from_private("PRIVATE+KEY+x+00000000+AAAA").is_err());
        assert!(Cosigner::generate("has space").is_err());
    }
}
