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
//! Every entry has exactly one encoding. Event entries, one per ingested
//! event, are binary and short, so that their leaf hash is one SHA-256 block:
//!
//! ```text
//! 0x01 ‖ seq (u64 BE) ‖ received µs (i64 BE) ‖ commitment (32) [‖ CBV 2.0 hash (32)]
//! ```
//!
//! 49 bytes, or 81 for an event captured from EPCIS, whose CBV 2.0 hash ID
//! `ni:///sha-256;<hex>?ver=CBV2.0` is carried as its 32 raw bytes. The
//! others (a few per incident) are one line of ASCII, fields in a fixed
//! order; [`Entry::describe`] writes an event entry in the same style:
//!
//! ```text
//! stockade/event seq=17 received=1732603200000000 commit=<64 hex>[ epcis=ni:///sha-256;<hex>?ver=CBV2.0]   (description only)
//! stockade/evidence id=ev_x sha256=<64 hex> size=1048576 at=1732603200000000 canon=jcs commit=<64 hex>
//! stockade/custody evidence=ev_x n=3 action=download at=1732603200000000 canon=jcs commit=<64 hex>
//! stockade/audit n=12 action=token_created at=1732603200000000 canon=jcs commit=<64 hex>
//! ```
//!
//! `canon=jcs` says the record's content was encoded by RFC 8785 (JSON
//! Canonicalization Scheme) before it was hashed; records committed before
//! format 3 of the evidence package have no `canon` field, and their content
//! is the record's compact JSON in its fixed member order ([`Canon`]).
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

/// How a record's content was encoded before its commitment was taken:
/// named in its entry, so the log itself says which rule a verifier applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Canon {
    /// Compact JSON, members in the record type's fixed order (records
    /// committed before evidence-package format 3). Written without a
    /// `canon` field.
    Compact,
    /// RFC 8785, the JSON Canonicalization Scheme (`canon=jcs`): every
    /// record committed since.
    #[default]
    Jcs,
}

impl Canon {
    /// The name a manifest and an entry use (`compact`, `jcs`).
    pub fn as_str(self) -> &'static str {
        match self {
            Canon::Compact => "compact",
            Canon::Jcs => "jcs",
        }
    }

    /// The entry field for this rule (empty for [`Canon::Compact`]).
    fn field(self) -> &'static str {
        match self {
            Canon::Compact => "",
            Canon::Jcs => " canon=jcs",
        }
    }
}

/// A leaf's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// An accepted event.
    Event { seq: u64, received_us: i64, commit: [u8; 32], epcis: Option<String> },
    /// A file stored in the evidence vault.
    Evidence { id: String, sha256: [u8; 32], size: u64, at_us: i64, canon: Canon, commit: [u8; 32] },
    /// An action on evidence (collected, viewed, downloaded, exported,
    /// transferred, sealed, hold set or lifted, expired): record `n` of its custody chain.
    Custody { evidence: String, n: u64, action: String, at_us: i64, canon: Canon, commit: [u8; 32] },
    /// An administrative act (a token created, reference data imported...):
    /// record `n` of the audit trail.
    Audit { n: u64, action: String, at_us: i64, canon: Canon, commit: [u8; 32] },
}

/// First byte of an event entry (text entries start with `s`).
pub const EVENT_ENTRY: u8 = 0x01;
/// Length of an event entry without and with a CBV 2.0 hash.
pub const EVENT_ENTRY_LEN: usize = 49;
pub const EPCIS_EVENT_ENTRY_LEN: usize = 81;
const CBV_PREFIX: &str = "ni:///sha-256;";
const CBV_SUFFIX: &str = "?ver=CBV2.0";

/// The 32 bytes of a CBV 2.0 hash ID (`ni:///sha-256;<64 lowercase hex>?ver=CBV2.0`).
fn cbv_hash_bytes(id: &str) -> Option<[u8; 32]> {
    let hex_part = id.strip_prefix(CBV_PREFIX)?.strip_suffix(CBV_SUFFIX)?;
    if hex_part.len() != 64 || !hex_part.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).ok()?;
    Some(out)
}

/// Appends an event entry, as [`Entry::encode_into`] writes `Entry::Event`:
/// the hot path (one per ingested event), without building an `Entry`.
pub fn encode_event(
    out: &mut Vec<u8>,
    seq: u64,
    received_us: i64,
    commit: &[u8; 32],
    epcis: Option<&str>,
) -> Result<(), EntryError> {
    let cbv = match epcis {
        Some(h) => Some(cbv_hash_bytes(h).ok_or_else(|| EntryError::Malformed(format!("EPCIS hash {h:?}")))?),
        None => None,
    };
    out.push(EVENT_ENTRY);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&received_us.to_be_bytes());
    out.extend_from_slice(commit);
    if let Some(h) = cbv {
        out.extend_from_slice(&h);
    }
    Ok(())
}

/// Reads a binary event entry.
fn decode_event(bytes: &[u8]) -> Option<Entry> {
    if bytes.first() != Some(&EVENT_ENTRY) || !matches!(bytes.len(), EVENT_ENTRY_LEN | EPCIS_EVENT_ENTRY_LEN) {
        return None;
    }
    let seq = u64::from_be_bytes(bytes[1..9].try_into().ok()?);
    let received_us = i64::from_be_bytes(bytes[9..17].try_into().ok()?);
    let commit: [u8; 32] = bytes[17..49].try_into().ok()?;
    let epcis = (bytes.len() == EPCIS_EVENT_ENTRY_LEN)
        .then(|| format!("{CBV_PREFIX}{}{CBV_SUFFIX}", hex::encode(&bytes[49..81])));
    Some(Entry::Event { seq, received_us, commit, epcis })
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
            Entry::Evidence { id, sha256, size, at_us, canon, commit } => {
                if !valid_word(id) {
                    return Err(EntryError::Malformed(format!("evidence id {id:?}")));
                }
                out.extend_from_slice(
                    format!(
                        "stockade/evidence id={id} sha256={} size={size} at={at_us}{} commit={}",
                        hex::encode(sha256),
                        canon.field(),
                        hex::encode(commit)
                    )
                    .as_bytes(),
                );
            }
            Entry::Custody { evidence, n, action, at_us, canon, commit } => {
                if !valid_word(evidence) || !valid_word(action) {
                    return Err(EntryError::Malformed(format!("custody of {evidence:?}, action {action:?}")));
                }
                out.extend_from_slice(
                    format!(
                        "stockade/custody evidence={evidence} n={n} action={action} at={at_us}{} commit={}",
                        canon.field(),
                        hex::encode(commit)
                    )
                    .as_bytes(),
                );
            }
            Entry::Audit { n, action, at_us, canon, commit } => {
                if !valid_word(action) {
                    return Err(EntryError::Malformed(format!("audit action {action:?}")));
                }
                out.extend_from_slice(
                    format!(
                        "stockade/audit n={n} action={action} at={at_us}{} commit={}",
                        canon.field(),
                        hex::encode(commit)
                    )
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

    /// The entry as one line of text: the text entries as they are, an event
    /// entry in the same style (`stockade/event seq=… received=… commit=…[ epcis=…]`).
    pub fn describe(&self) -> String {
        match self {
            Entry::Event { seq, received_us, commit, epcis } => {
                let mut line =
                    format!("stockade/event seq={seq} received={received_us} commit={}", hex::encode(commit));
                if let Some(h) = epcis {
                    line.push_str(" epcis=");
                    line.push_str(h);
                }
                line
            }
            other => other.encode().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default(),
        }
    }

    /// Reads an entry; only the one encoding [`Entry::encode`] produces is accepted.
    pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
        if bytes.first() == Some(&EVENT_ENTRY) {
            return decode_event(bytes).ok_or_else(|| {
                EntryError::Malformed(format!(
                    "an event entry is {EVENT_ENTRY_LEN} or {EPCIS_EVENT_ENTRY_LEN} bytes, not {}",
                    bytes.len()
                ))
            });
        }
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
        let canon = match fields.iter().find(|(k, _)| *k == "canon") {
            None => Canon::Compact,
            Some((_, "jcs")) => Canon::Jcs,
            Some((_, other)) => {
                return Err(EntryError::Malformed(format!("canon={other}: not an encoding this ledger knows (jcs)")));
            }
        };
        let entry = match kind {
            "stockade/evidence" => Entry::Evidence {
                id: get("id")?.to_owned(),
                sha256: hash("sha256")?,
                size: num("size")?,
                at_us: int("at")?,
                canon,
                commit: hash("commit")?,
            },
            "stockade/custody" => Entry::Custody {
                evidence: get("evidence")?.to_owned(),
                n: num("n")?,
                action: get("action")?.to_owned(),
                at_us: int("at")?,
                canon,
                commit: hash("commit")?,
            },
            "stockade/audit" => Entry::Audit {
                n: num("n")?,
                action: get("action")?.to_owned(),
                at_us: int("at")?,
                canon,
                commit: hash("commit")?,
            },
            _ => {
                let kind: String = kind.chars().take(40).collect();
                return Err(EntryError::Malformed(format!("unknown entry type {kind:?}")));
            }
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
    /// SHA-256 having absorbed the key: the prefix of every event pair's hash.
    event_prefix: Sha256,
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
        let mut event_prefix = Sha256::new();
        event_prefix.update(key);
        Ok(SaltKey { key, mac, event_prefix })
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

    /// The salt of event `seq`: one half of the keyed hash of its pair of
    /// events, `SHA-256(key ‖ "event" ‖ 0x00 ‖ (seq / 2) as 8 bytes BE)`,
    /// first 16 bytes for even seqs, last 16 for odd ones. One SHA-256 block
    /// serves two events on the ingest path. With its input of fixed length
    /// (46 bytes) this secret-prefix hash is a PRF: length extension only
    /// yields hashes of longer inputs, which are never salts. Disclosing one
    /// half reveals nothing of the other.
    pub fn event_salt(&self, seq: u64) -> [u8; 16] {
        half(&self.event_pair(seq / 2), seq)
    }

    /// The commitments of many events, `out[i] = commitment(event_salt(seq),
    /// digest)` for `events[i] = (seq, digest)`, their salts and commitments
    /// hashed in batches ([`crate::bulk`]): the ingest path. Staged on the
    /// stack, [`bulk::CHUNK`](crate::bulk::CHUNK) events at a time: buffers
    /// on the heap per call cost page faults in big groups.
    ///
    /// # Panics
    /// If `out` is not as long as `events` (a programming error, not input).
    pub fn event_commitments(&self, events: &[(u64, &[u8; 32])], out: &mut [[u8; 32]]) {
        use crate::bulk::CHUNK;
        assert_eq!(events.len(), out.len(), "one commitment per event");
        let mut prefix = [0u8; 38];
        prefix[..32].copy_from_slice(&self.key);
        prefix[32..37].copy_from_slice(b"event");
        let mut pairs = [0u64; CHUNK];
        let mut bodies = [[0u8; 8]; CHUNK];
        let mut pair_hashes = [[0u8; 32]; CHUNK];
        let mut salts = [[0u8; 16]; CHUNK];
        for (events, out) in events.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
            // Each pair's hash once, however its events are ordered.
            let pairs = &mut pairs[..events.len()];
            for (p, (seq, _)) in pairs.iter_mut().zip(events) {
                *p = seq / 2;
            }
            if !pairs.is_sorted() {
                pairs.sort_unstable();
            }
            let mut distinct = 0;
            for i in 0..pairs.len() {
                if i == 0 || pairs[i] != pairs[distinct - 1] {
                    pairs[distinct] = pairs[i];
                    distinct += 1;
                }
            }
            let pairs = &pairs[..distinct];
            for (b, p) in bodies.iter_mut().zip(pairs) {
                *b = p.to_be_bytes();
            }
            let mut body_refs: [&[u8]; CHUNK] = [&[]; CHUNK];
            for (r, b) in body_refs.iter_mut().zip(&bodies) {
                *r = b;
            }
            crate::bulk::hash_with_prefix(&prefix, &body_refs[..distinct], &mut pair_hashes[..distinct]);
            for (salt, (seq, _)) in salts.iter_mut().zip(events) {
                let at = pairs.binary_search(&(seq / 2)).unwrap_or_default();
                *salt = half(&pair_hashes[at], *seq);
            }
            let (mut salt_refs, mut digests): ([&[u8]; CHUNK], [&[u8]; CHUNK]) = ([&[]; CHUNK], [&[]; CHUNK]);
            for ((s, d), (salt, (_, digest))) in
                salt_refs.iter_mut().zip(digests.iter_mut()).zip(salts.iter().zip(events))
            {
                *s = salt;
                *d = *digest;
            }
            crate::bulk::hash_prefixed(&salt_refs[..events.len()], &digests[..events.len()], out);
        }
    }

    /// The hash whose halves are the salts of events `2·pair` and `2·pair + 1`.
    pub fn event_pair(&self, pair: u64) -> [u8; 32] {
        let mut h = self.event_prefix.clone();
        h.update(b"event");
        h.update([0]);
        h.update(pair.to_be_bytes());
        h.finalize().into()
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

    const CBV: &str = "ni:///sha-256;00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff?ver=CBV2.0";

    fn samples() -> Vec<Entry> {
        vec![
            Entry::Event { seq: 17, received_us: 1_732_603_200_000_000, commit: [7; 32], epcis: None },
            Entry::Event { seq: 18, received_us: -5, commit: [8; 32], epcis: Some(CBV.into()) },
            Entry::Evidence {
                id: "ev_1".into(),
                sha256: [1; 32],
                size: 9,
                at_us: 3,
                canon: Canon::Jcs,
                commit: [2; 32],
            },
            Entry::Custody {
                evidence: "ev_1".into(),
                n: 2,
                action: "download".into(),
                at_us: 4,
                canon: Canon::Jcs,
                commit: [3; 32],
            },
            Entry::Audit { n: 7, action: "token_created".into(), at_us: 5, canon: Canon::Jcs, commit: [4; 32] },
            Entry::Evidence {
                id: "ev_0".into(),
                sha256: [1; 32],
                size: 9,
                at_us: 3,
                canon: Canon::Compact,
                commit: [2; 32],
            },
            Entry::Custody {
                evidence: "ev_0".into(),
                n: 2,
                action: "download".into(),
                at_us: 4,
                canon: Canon::Compact,
                commit: [3; 32],
            },
            Entry::Audit { n: 6, action: "token_created".into(), at_us: 5, canon: Canon::Compact, commit: [4; 32] },
        ]
    }

    /// Records committed before format 3 keep their entries (no `canon`
    /// field); those since say `canon=jcs`; any other rule is refused by name.
    #[test]
    fn an_entry_names_its_records_encoding() {
        let all = samples();
        let text = |e: &Entry| String::from_utf8(e.encode().unwrap()).unwrap();
        assert_eq!(
            text(&all[4]),
            format!("stockade/audit n=7 action=token_created at=5 canon=jcs commit={}", "04".repeat(32))
        );
        assert_eq!(text(&all[7]), format!("stockade/audit n=6 action=token_created at=5 commit={}", "04".repeat(32)));
        for e in &all[2..] {
            let t = text(e);
            for other in ["canon=JCS", "canon=compact", "canon=sha3", "canon="] {
                let variant = if t.contains("canon=jcs") {
                    t.replace("canon=jcs", other)
                } else {
                    t.replace(" commit=", &format!(" {other} commit="))
                };
                assert!(Entry::decode(variant.as_bytes()).is_err(), "{variant}");
            }
            // Moved after the commitment: not the one encoding.
            let moved = t.replace(" canon=jcs", "") + " canon=jcs";
            assert!(Entry::decode(moved.as_bytes()).is_err(), "{moved}");
        }
        let err = Entry::decode(b"stockade/witness n=1 commit=00").unwrap_err();
        assert!(err.to_string().contains("unknown entry type \"stockade/witness\""), "{err}");
    }

    #[test]
    fn entries_round_trip_in_one_encoding() {
        for e in samples() {
            let bytes = e.encode().unwrap();
            assert_eq!(Entry::decode(&bytes).unwrap(), e);
            if bytes[0] == EVENT_ENTRY {
                // Binary: any other length is refused.
                let mut longer = bytes.clone();
                longer.push(0);
                assert!(Entry::decode(&longer).is_err());
                assert!(Entry::decode(&bytes[..bytes.len() - 1]).is_err());
                continue;
            }
            // Any other spelling of the same fields is refused.
            let text = String::from_utf8(bytes).unwrap();
            for variant in [format!("{text} "), text.replace(' ', "  "), format!("{text} extra=1"), text.to_uppercase()]
            {
                assert!(Entry::decode(variant.as_bytes()).is_err(), "{variant}");
            }
        }
        // The old text form of an event entry is not an entry.
        let text = format!("stockade/event seq=17 received=1732603200000000 commit={}", "07".repeat(32));
        assert!(Entry::decode(text.as_bytes()).is_err());
        assert_eq!(samples()[0].describe(), text);
        assert_eq!(
            samples()[1].describe(),
            format!("stockade/event seq=18 received=-5 commit={} epcis={CBV}", "08".repeat(32))
        );
        assert!(samples()[4].describe().starts_with("stockade/audit n=7 "));
    }

    /// An event entry fits one SHA-256 block with the leaf prefix (1 + 49 + 9
    /// bytes of padding <= 64); with a CBV 2.0 hash it takes two.
    #[test]
    fn event_entries_are_49_or_81_bytes_in_fixed_places() {
        for (seq, received_us) in [(0, 0), (u64::MAX, i64::MIN), (10, i64::MAX), (7, -1)] {
            let e = Entry::Event { seq, received_us, commit: [0xab; 32], epcis: None };
            let bytes = e.encode().unwrap();
            assert_eq!(bytes.len(), EVENT_ENTRY_LEN);
            assert_eq!(
                (bytes[0], &bytes[1..9], &bytes[9..17]),
                (1, &seq.to_be_bytes()[..], &received_us.to_be_bytes()[..])
            );
            assert_eq!(&bytes[17..], &[0xab; 32]);
            assert_eq!(Entry::decode(&bytes).unwrap(), e);
        }
        let bytes = samples()[1].encode().unwrap();
        assert_eq!((bytes.len(), &bytes[49..53]), (EPCIS_EVENT_ENTRY_LEN, &[0, 0xff, 0, 0xff][..]));
        // Only the CBV 2.0 form of a lower-case SHA-256 is carried.
        let (upper_hex, not_hex) = (CBV.replace("00ff", "00FF"), CBV.replacen("00ff", "00fg", 1));
        for bad in [
            "ni:///sha-256;abc?ver=CBV2.0",
            &CBV.to_uppercase(),
            &CBV.replace("?ver=CBV2.0", ""),
            "x",
            &upper_hex,
            &not_hex,
        ] {
            let e = Entry::Event { seq: 1, received_us: 1, commit: [0; 32], epcis: Some(bad.to_owned()) };
            assert!(e.encode().is_err(), "{bad}");
        }
    }

    #[test]
    fn words_with_spaces_cannot_forge_fields() {
        let e = Entry::Custody {
            evidence: "ev_1 n=9".into(),
            n: 1,
            action: "view".into(),
            at_us: 0,
            canon: Canon::Jcs,
            commit: [0; 32],
        };
        assert!(e.encode().is_err());
        let e = Entry::Evidence {
            id: String::new(),
            sha256: [0; 32],
            size: 0,
            at_us: 0,
            canon: Canon::Jcs,
            commit: [0; 32],
        };
        assert!(e.encode().is_err());
    }

    #[test]
    fn batched_commitments_are_the_ones_made_one_by_one() {
        let k = SaltKey::from_bytes([9; 32]).unwrap();
        let digests: Vec<[u8; 32]> = (0..50u8).map(|i| sha256(&[i])).collect();
        // Consecutive seqs, a gap, odd starts, a lone event of a pair, out of order.
        let seqs: Vec<u64> = (1..20).chain([23, 24, 40, 41, 42]).chain((100..120).rev()).collect();
        let events: Vec<(u64, &[u8; 32])> = seqs.iter().zip(&digests).map(|(s, d)| (*s, d)).collect();
        let mut batched = vec![[0u8; 32]; events.len()];
        k.event_commitments(&events, &mut batched);
        for ((seq, d), c) in events.iter().zip(&batched) {
            assert_eq!(*c, commitment(&k.event_salt(*seq), d), "event {seq}");
        }
        k.event_commitments(&[], &mut []);
        // Several chunks, a pair split across a chunk boundary, a chunk out of order.
        let digests: Vec<[u8; 32]> = (0..400u32).map(|i| sha256(&i.to_be_bytes())).collect();
        let seqs: Vec<u64> = (1..=127).chain([129, 128]).chain((200..300).rev()).chain(1000..1171).collect();
        let events: Vec<(u64, &[u8; 32])> = seqs.iter().zip(&digests).map(|(s, d)| (*s, d)).collect();
        let mut batched = vec![[0u8; 32]; events.len()];
        k.event_commitments(&events, &mut batched);
        for ((seq, d), c) in events.iter().zip(&batched) {
            assert_eq!(*c, commitment(&k.event_salt(*seq), d), "event {seq}");
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
