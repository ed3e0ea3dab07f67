//! What a leaf of the evidence ledger says: its *entry*, the bytes the
//! RFC 6962 leaf hash covers and that C2SP entry bundles serve.
//!
//! Entries hold commitments, never personal data: a commitment is
//! `SHA-256(salt ‖ SHA-256(content))`, where `content` is the canonical bytes
//! of an event, an evidence item's metadata or a custody record, and the salt
//! is 16 bytes derived from a secret kept in the data directory
//! ([`SaltKey`]). Without the salt, the log's public tiles do not let anyone
//! confirm a guess about what an event said (a badge id, a name); with the
//! salt and the content, which an evidence package carries, anyone can check
//! the leaf. Deleting the content for retention or privacy leaves the leaf,
//! so the log stays verifiable.
//!
//! The form is one line of ASCII, fields in a fixed order, so that an entry
//! bundle reads as text and every entry has exactly one encoding:
//!
//! ```text
//! stockade/event seq=17 received=1732603200000000 commit=<64 hex>[ epcis=ni:///sha-256;<hex>?ver=CBV2.0]
//! stockade/evidence id=ev_x sha256=<64 hex> size=1048576 at=1732603200000000 commit=<64 hex>
//! stockade/custody evidence=ev_x n=3 action=download at=1732603200000000 commit=<64 hex>
//! stockade/audit n=12 action=token_created at=1732603200000000 commit=<64 hex>
//! ```
//!
//! `epcis` is the CBV 2.0 event hash of an event captured from EPCIS, so a
//! trading partner holding the original EPCIS event can find it in the log.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Why an entry could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("not a Stockade ledger entry: {0}")]
    Malformed(String),
}

/// A leaf's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// An accepted event.
    Event { seq: u64, received_us: i64, commit: [u8; 32], epcis: Option<String> },
    /// A file stored in the evidence vault.
    Evidence { id: String, sha256: [u8; 32], size: u64, at_us: i64, commit: [u8; 32] },
    /// An action on evidence (collected, viewed, downloaded, exported,
    /// transferred, sealed, hold set or lifted, expired): record `n` of its custody chain.
    Custody { evidence: String, n: u64, action: String, at_us: i64, commit: [u8; 32] },
    /// An administrative act (a token created, reference data imported...):
    /// record `n` of the audit trail.
    Audit { n: u64, action: String, at_us: i64, commit: [u8; 32] },
}

/// Appends an event entry, as [`Entry::encode_into`] writes `Entry::Event`:
/// the hot path (one per ingested event), without format machinery and
/// without building an `Entry`.
pub fn encode_event(
    out: &mut Vec<u8>,
    seq: u64,
    received_us: i64,
    commit: &[u8; 32],
    epcis: Option<&str>,
) -> Result<(), EntryError> {
    if let Some(h) = epcis
        && !valid_word(h)
    {
        return Err(EntryError::Malformed(format!("EPCIS hash {h:?}")));
    }
    out.extend_from_slice(b"stockade/event seq=");
    push_uint(out, seq);
    out.extend_from_slice(b" received=");
    push_int(out, received_us);
    out.extend_from_slice(b" commit=");
    push_hex(out, commit);
    if let Some(h) = epcis {
        out.extend_from_slice(b" epcis=");
        out.extend_from_slice(h.as_bytes());
    }
    Ok(())
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8; 32]) {
    let mut hex = [0u8; 64];
    // 64 bytes of room for 32 bytes: cannot fail.
    if hex::encode_to_slice(bytes, &mut hex).is_ok() {
        out.extend_from_slice(&hex);
    }
}

/// Appends a decimal integer.
fn push_int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_uint(out, v.unsigned_abs());
}

/// Appends a decimal unsigned integer (u64 division: i128's is a slow libcall).
fn push_uint(out: &mut Vec<u8>, v: u64) {
    let mut digits = [0u8; 20];
    let mut n = v;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn valid_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

impl Entry {
    /// The entry's bytes (what the leaf hash covers).
    pub fn encode(&self) -> Result<Vec<u8>, EntryError> {
        let mut out = Vec::with_capacity(160);
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the entry's bytes to `out` (on error, `out` is left as it was).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EntryError> {
        let start = out.len();
        match self {
            Entry::Event { seq, received_us, commit, epcis } => {
                encode_event(out, *seq, *received_us, commit, epcis.as_deref())?;
            }
            Entry::Evidence { id, sha256, size, at_us, commit } => {
                if !valid_word(id) {
                    return Err(EntryError::Malformed(format!("evidence id {id:?}")));
                }
                out.extend_from_slice(
                    format!(
                        "stockade/evidence id={id} sha256={} size={size} at={at_us} commit={}",
                        hex::encode(sha256),
                        hex::encode(commit)
                    )
                    .as_bytes(),
                );
            }
            Entry::Custody { evidence, n, action, at_us, commit } => {
                if !valid_word(evidence) || !valid_word(action) {
                    return Err(EntryError::Malformed(format!("custody of {evidence:?}, action {action:?}")));
                }
                out.extend_from_slice(
                    format!(
                        "stockade/custody evidence={evidence} n={n} action={action} at={at_us} commit={}",
                        hex::encode(commit)
                    )
                    .as_bytes(),
                );
            }
            Entry::Audit { n, action, at_us, commit } => {
                if !valid_word(action) {
                    return Err(EntryError::Malformed(format!("audit action {action:?}")));
                }
                out.extend_from_slice(
                    format!("stockade/audit n={n} action={action} at={at_us} commit={}", hex::encode(commit))
                        .as_bytes(),
                );
            }
        }
        if out.len() - start > usize::from(u16::MAX) {
            out.truncate(start);
            return Err(EntryError::Malformed("an entry is longer than 65535 bytes".into()));
        }
        Ok(())
    }

    /// Reads an entry; only the one encoding [`Entry::encode`] produces is accepted.
    pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
        let bad = || EntryError::Malformed(String::from_utf8_lossy(bytes).chars().take(200).collect());
        let text = std::str::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.split(' ');
        let kind = parts.next().ok_or_else(bad)?;
        let fields: Vec<(&str, &str)> = parts.map(|p| p.split_once('=').ok_or_else(bad)).collect::<Result<_, _>>()?;
        let get = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v).ok_or_else(bad);
        let num = |name: &str| get(name)?.parse::<u64>().map_err(|_| bad());
        let int = |name: &str| get(name)?.parse::<i64>().map_err(|_| bad());
        let hash = |name: &str| -> Result<[u8; 32], EntryError> {
            let mut out = [0u8; 32];
            hex::decode_to_slice(get(name)?, &mut out).map_err(|_| bad())?;
            Ok(out)
        };
        let entry = match kind {
            "stockade/event" => Entry::Event {
                seq: num("seq")?,
                received_us: int("received")?,
                commit: hash("commit")?,
                epcis: get("epcis").ok().map(str::to_owned),
            },
            "stockade/evidence" => Entry::Evidence {
                id: get("id")?.to_owned(),
                sha256: hash("sha256")?,
                size: num("size")?,
                at_us: int("at")?,
                commit: hash("commit")?,
            },
            "stockade/custody" => Entry::Custody {
                evidence: get("evidence")?.to_owned(),
                n: num("n")?,
                action: get("action")?.to_owned(),
                at_us: int("at")?,
                commit: hash("commit")?,
            },
            "stockade/audit" => Entry::Audit {
                n: num("n")?,
                action: get("action")?.to_owned(),
                at_us: int("at")?,
                commit: hash("commit")?,
            },
            _ => return Err(bad()),
        };
        // One encoding only: anything else (reordered, padded, extra fields) is refused.
        if entry.encode()? != bytes {
            return Err(bad());
        }
        Ok(entry)
    }
}

/// The secret from which per-record salts are derived. Kept in the data
/// directory beside the log key; never leaves it except as the salts of the
/// records an evidence package discloses.
#[derive(Clone)]
pub struct SaltKey {
    key: [u8; 32],
    /// HMAC keyed once: each salt then costs two SHA-256 blocks, not four.
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for SaltKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SaltKey(..)")
    }
}

impl SaltKey {
    pub fn generate() -> Result<SaltKey, EntryError> {
        SaltKey::from_bytes(rand::random())
    }

    pub fn from_bytes(key: [u8; 32]) -> Result<SaltKey, EntryError> {
        let mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| EntryError::Malformed(format!("salt key: {e}")))?;
        Ok(SaltKey { key, mac })
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// The salt of one record: HMAC-SHA256(key, label ‖ 0x00 ‖ id), first 16 bytes.
    pub fn salt(&self, label: &str, id: &[u8]) -> [u8; 16] {
        let mut mac = self.mac.clone();
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(id);
        let out = mac.finalize().into_bytes();
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&out[..16]);
        salt
    }

    /// The salt of event `seq`: one half of the HMAC of its pair of events,
    /// `HMAC-SHA256(key, "event" ‖ 0x00 ‖ (seq / 2) as 8 bytes BE)`, first 16
    /// bytes for even seqs, last 16 for odd ones. (One HMAC serves two
    /// events on the ingest path; disclosing one half reveals nothing of the
    /// other.)
    pub fn event_salt(&self, seq: u64) -> [u8; 16] {
        half(&self.event_pair(seq / 2), seq)
    }

    /// The HMAC whose halves are the salts of events `2·pair` and `2·pair + 1`.
    pub fn event_pair(&self, pair: u64) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(b"event");
        mac.update(&[0]);
        mac.update(&pair.to_be_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// The half of a pair's HMAC that salts event `seq`.
pub fn half(pair: &[u8; 32], seq: u64) -> [u8; 16] {
    let mut salt = [0u8; 16];
    let at = if seq.is_multiple_of(2) { 0 } else { 16 };
    salt.copy_from_slice(&pair[at..at + 16]);
    salt
}

/// `SHA-256(salt ‖ digest)`, where `digest` is the SHA-256 of the content.
pub fn commitment(salt: &[u8; 16], digest: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(digest);
    h.finalize().into()
}

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Entry> {
        vec![
            Entry::Event { seq: 17, received_us: 1_732_603_200_000_000, commit: [7; 32], epcis: None },
            Entry::Event {
                seq: 18,
                received_us: -5,
                commit: [8; 32],
                epcis: Some("ni:///sha-256;abc?ver=CBV2.0".into()),
            },
            Entry::Evidence { id: "ev_1".into(), sha256: [1; 32], size: 9, at_us: 3, commit: [2; 32] },
            Entry::Custody { evidence: "ev_1".into(), n: 2, action: "download".into(), at_us: 4, commit: [3; 32] },
            Entry::Audit { n: 7, action: "token_created".into(), at_us: 5, commit: [4; 32] },
        ]
    }

    #[test]
    fn entries_round_trip_in_one_encoding() {
        for e in samples() {
            let bytes = e.encode().unwrap();
            assert_eq!(Entry::decode(&bytes).unwrap(), e);
            // Any other spelling of the same fields is refused.
            let text = String::from_utf8(bytes).unwrap();
            for variant in [format!("{text} "), text.replace(' ', "  "), format!("{text} extra=1"), text.to_uppercase()]
            {
                assert!(Entry::decode(variant.as_bytes()).is_err(), "{variant}");
            }
        }
        assert_eq!(
            samples()[0].encode().unwrap(),
            format!("stockade/event seq=17 received=1732603200000000 commit={}", "07".repeat(32)).into_bytes()
        );
    }

    #[test]
    fn words_with_spaces_cannot_forge_fields() {
        let e = Entry::Custody { evidence: "ev_1 n=9".into(), n: 1, action: "view".into(), at_us: 0, commit: [0; 32] };
        assert!(e.encode().is_err());
        let e = Entry::Evidence { id: String::new(), sha256: [0; 32], size: 0, at_us: 0, commit: [0; 32] };
        assert!(e.encode().is_err());
    }

    #[test]
    fn extreme_numbers_encode_as_decimal() {
        for (seq, received_us) in [(0, 0), (u64::MAX, i64::MIN), (10, i64::MAX), (7, -1)] {
            let e = Entry::Event { seq, received_us, commit: [0xab; 32], epcis: None };
            let text = String::from_utf8(e.encode().unwrap()).unwrap();
            assert_eq!(text, format!("stockade/event seq={seq} received={received_us} commit={}", "ab".repeat(32)));
            assert_eq!(Entry::decode(text.as_bytes()).unwrap(), e);
        }
    }

    #[test]
    fn salts_depend_on_key_label_and_id() {
        let k = SaltKey::from_bytes([1; 32]).unwrap();
        assert_eq!(k.event_salt(1), k.event_salt(1));
        assert_ne!(k.event_salt(1), k.event_salt(2));
        assert_ne!(k.event_salt(2), k.event_salt(3), "the two halves of a pair differ");
        assert_eq!(k.event_salt(3), half(&k.event_pair(1), 3));
        assert_ne!(k.salt("custody", b"x"), k.salt("evidence", b"x"));
        assert_ne!(k.event_salt(1), SaltKey::from_bytes([2; 32]).unwrap().event_salt(1));
        let d = sha256(b"payload");
        assert_ne!(commitment(&k.event_salt(1), &d), commitment(&k.event_salt(2), &d));
    }
}
