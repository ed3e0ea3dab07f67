//! Evidence packages: one tar archive per incident that a third party can
//! check offline with the log's verifier key, and nothing else.
//!
//! Parts, in this order:
//!
//! ```text
//! MANIFEST.txt          what the package holds, for people (rendered from manifest.json)
//! manifest.json         every record, salt, leaf index and inclusion proof, and the checkpoint
//! manifest.sig          a C2SP signed note, by the log's key, naming the SHA-256 of manifest.json and MANIFEST.txt
//! events/<seq>.json     each related event's canonical bytes
//! evidence/<id>         each evidence file (absent once expired: its record and tombstone remain)
//! ```
//!
//! [`verify`] checks, and names the part that fails: the signature over the
//! manifest, the checkpoint, every file's SHA-256 and size, every leaf
//! (rebuilt from the records, salts and file hashes) against the checkpoint's
//! root by its inclusion proof, every custody chain, MANIFEST.txt (signed
//! since format 3; compared with its rendering before), and finally the archive's own bytes (headers, padding) against
//! the one canonical archive of those parts: so flipping any byte anywhere
//! fails.

use crate::{AuditRecord, CustodyRecord, CustodyState, EvidenceRecord};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use stockade_ledger::entry::{Canon, Entry, commitment};
use stockade_ledger::{Hash, hash_from, leaf_hash, verify_inclusion};

/// The format packages are made in: since 2026-12-07 records are committed
/// by RFC 8785 (each record says which rule its leaf used) and manifest.sig
/// signs MANIFEST.txt too.
pub const FORMAT: &str = "stockade-evidence-package/3";
/// The second format (2026-11-26: the incident's opening record), still verified.
pub const FORMAT_2: &str = "stockade-evidence-package/2";
/// The first format (no opening record), still verified: packages are
/// evidence, kept for years.
pub const FORMAT_1: &str = "stockade-evidence-package/1";
/// Largest part read into memory (everything but evidence files).
const MAX_SMALL_PART: u64 = 256 << 20;

/// The log the package's proofs are against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogRef {
    pub origin: String,
    pub tree_size: u64,
    /// Base64 root hash.
    pub root: String,
    /// The signed checkpoint (C2SP note).
    pub checkpoint: String,
}

/// The formats this verifier knows, oldest first.
pub const FORMATS: [&str; 3] = [FORMAT_1, FORMAT_2, FORMAT];

/// How a record's content was encoded for its commitment (the manifest's
/// `canon`; the record's leaf names the same rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordCanon {
    /// RFC 8785 (JSON Canonicalization Scheme).
    Jcs,
    /// Compact JSON in the record type's member order (format 2's rule).
    Compact,
}

impl From<Canon> for RecordCanon {
    fn from(c: Canon) -> RecordCanon {
        match c {
            Canon::Jcs => RecordCanon::Jcs,
            Canon::Compact => RecordCanon::Compact,
        }
    }
}

impl From<RecordCanon> for Canon {
    fn from(c: RecordCanon) -> Canon {
        match c {
            RecordCanon::Jcs => Canon::Jcs,
            RecordCanon::Compact => Canon::Compact,
        }
    }
}

/// Where a record sits in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Proof {
    /// Hex salt of the record's commitment.
    pub salt: String,
    pub leaf_index: u64,
    /// Base64 audit path.
    pub proof: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EvidenceItem {
    pub record: EvidenceRecord,
    /// Format 3: how the record's leaf commits to it (absent before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canon: Option<RecordCanon>,
    /// The file's part, or none when it expired.
    pub file: Option<String>,
    #[serde(flatten)]
    pub proof: Proof,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustodyItem {
    pub record: CustodyRecord,
    /// Format 3: how the record's leaf commits to it (absent before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canon: Option<RecordCanon>,
    #[serde(flatten)]
    pub proof: Proof,
}

/// The incident's opening: its record in the audit trail (the whole
/// incident as opened: site, title, window, who opened it, the events it
/// cites), with its leaf's proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpeningItem {
    pub record: AuditRecord,
    /// Format 3: how the record's leaf commits to it (absent before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canon: Option<RecordCanon>,
    #[serde(flatten)]
    pub proof: Proof,
}

/// The audit action that opens an incident.
pub const INCIDENT_OPENED: &str = "incident_opened";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventItem {
    pub seq: u64,
    pub received_us: i64,
    /// SHA-256 of the event's canonical bytes, hex.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epcis: Option<String>,
    pub file: String,
    #[serde(flatten)]
    pub proof: Proof,
}

/// A consistency proof (RFC 9162 §2.1.4) from an earlier tree of the log,
/// one the recipient holds a checkpoint of, to the package's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Consistency {
    pub from_size: u64,
    /// Base64 root of the earlier tree.
    pub from_root: String,
    /// Base64 hashes.
    pub proof: Vec<String>,
}

/// manifest.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Manifest {
    pub format: String,
    pub incident: String,
    pub created_us: i64,
    pub created_by: String,
    pub log: LogRef,
    /// The incident's opening (format 2 on; absent from format 1 packages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened: Option<OpeningItem>,
    pub evidence: Vec<EvidenceItem>,
    pub custody: Vec<CustodyItem>,
    pub events: Vec<EventItem>,
    /// From a checkpoint the recipient holds to this package's (asked with
    /// `since`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<Consistency>,
}

/// The JSON Schema of `manifest.json` (`docs/evidence-manifest.schema.json`,
/// written by `cargo xtask schema`).
pub fn manifest_schema() -> serde_json::Value {
    let mut s = serde_json::to_value(schemars::schema_for!(Manifest)).unwrap_or_default();
    if let Some(o) = s.as_object_mut() {
        o.insert("$id".into(), "https://stockade.dev/schema/evidence-manifest.json".into());
        o.insert(
            "description".into(),
            "manifest.json of a Stockade evidence package (formats stockade-evidence-package/1, /2 and /3); \
             docs/EVIDENCE-FORMAT.md says what each member means and how it is checked"
                .into(),
        );
    }
    s
}

/// The text `manifest.sig` signs, for a package of `format`: the SHA-256 of
/// manifest.json, and since format 3 of MANIFEST.txt.
pub fn signed_text(format: &str, manifest_json: &[u8], manifest_txt: &[u8]) -> String {
    let mut text = format!("{format}\n{}\n", part_line("manifest.json", manifest_json));
    if format == FORMAT {
        text.push_str(&part_line("MANIFEST.txt", manifest_txt));
        text.push('\n');
    }
    text
}

/// `<name> sha256 <hex>`: a line of the signed text.
fn part_line(name: &str, bytes: &[u8]) -> String {
    format!("{name} sha256 {}", hex::encode(Sha256::digest(bytes)))
}

/// The rule a record of a `format` package was committed by, from its
/// `canon` member: required in format 3, absent before (format 2's rule).
fn canon_of(format: &str, canon: Option<RecordCanon>) -> Result<Canon, String> {
    match (format == FORMAT, canon) {
        (true, Some(c)) => Ok(c.into()),
        (true, None) => Err(format!("{FORMAT} names how each record is committed (`canon`); this record does not")),
        (false, None) => Ok(Canon::Compact),
        (false, Some(_)) => Err(format!("`canon` is a member of {FORMAT} manifests, not of {format}")),
    }
}

/// Reads JSON into a value, refusing objects that name a member twice,
/// anywhere: a reader that keeps the first and one that keeps the last
/// would see different packages.
pub fn read_without_duplicates(json: &[u8]) -> Result<serde_json::Value, String> {
    use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;
    struct Checked(Value);
    impl<'de> Deserialize<'de> for Checked {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Checked, D::Error> {
            d.deserialize_any(Walk)
        }
    }
    struct Walk;
    impl<'de> Visitor<'de> for Walk {
        type Value = Checked;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Checked, E> {
            Ok(Checked(Value::Bool(v)))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Checked, E> {
            Ok(Checked(Value::from(v)))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Checked, E> {
            Ok(Checked(Value::from(v)))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Checked, E> {
            serde_json::Number::from_f64(v)
                .map(|n| Checked(Value::Number(n)))
                .ok_or_else(|| E::custom("a number that is not finite"))
        }
        fn visit_str<E>(self, v: &str) -> Result<Checked, E> {
            Ok(Checked(Value::String(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<Checked, E> {
            Ok(Checked(Value::String(v)))
        }
        fn visit_unit<E>(self) -> Result<Checked, E> {
            Ok(Checked(Value::Null))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
            let mut items = Vec::new();
            while let Some(Checked(v)) = seq.next_element::<Checked>()? {
                items.push(v);
            }
            Ok(Checked(Value::Array(items)))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
            let mut members = serde_json::Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if members.contains_key(&key) {
                    return Err(de::Error::custom(format!("member {key:?} appears twice in one object")));
                }
                let Checked(v) = map.next_value::<Checked>()?;
                members.insert(key, v);
            }
            Ok(Checked(Value::Object(members)))
        }
    }
    serde_json::from_slice::<Checked>(json).map(|Checked(v)| v).map_err(|e| e.to_string())
}

fn time(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| us.to_string())
}

/// MANIFEST.txt: the manifest for people. Deterministic, so it is checked too.
pub fn render(m: &Manifest) -> String {
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line(format!("Stockade evidence package — incident {}", m.incident));
    line(format!("Created {} by {}", time(m.created_us), m.created_by));
    line(format!("Log {} at {} leaves, root {}", m.log.origin, m.log.tree_size, m.log.root));
    line(String::new());
    if let Some(o) = m.opened.as_ref().map(|o| &o.record) {
        let field = |name: &str| o.detail.get(name).and_then(|v| v.as_str()).unwrap_or("-").to_owned();
        line(format!("Opened {} by {} (audit record #{}):", time(o.at_us), o.actor, o.n));
        line(format!("  {}", field("title")));
        line(format!("  site {}, severity {}, {} to {}", field("site"), field("severity"), field("from"), field("to")));
        if let Some(scenario) = o.detail.get("scenario").and_then(|v| v.as_str()) {
            line(format!("  scenario {scenario}"));
        }
        if let Some(summary) = o.detail.get("summary").and_then(|v| v.as_str()).filter(|s| !s.is_empty()) {
            line(format!("  {summary}"));
        }
        let cited = o.detail.get("events").and_then(|v| v.as_array()).map(|a| a.len()).unwrap_or(0);
        line(format!("  cites {cited} events"));
        line(String::new());
    }
    line(format!("Evidence ({}):", m.evidence.len()));
    for e in &m.evidence {
        let r = &e.record;
        line(format!("  {}  {}  {} bytes  sha256 {}", r.id, r.media_type, r.size, r.sha256));
        line(format!("    collected {} by {} from {}", time(r.collected_us), r.collected_by, r.collected_from));
        if let (Some(f), Some(t)) = (&r.original_from, &r.original_to) {
            line(format!("    covers {f} to {t}"));
        }
        line(format!("    {}", r.description));
        line(format!(
            "    class {}, kept until {}; {}",
            r.class,
            time(r.retain_until_us),
            match &e.file {
                Some(f) => format!("file {f}"),
                None => "expired: file deleted, record kept".into(),
            }
        ));
        for c in m.custody.iter().filter(|c| c.record.evidence == r.id) {
            let c = &c.record;
            let party = c.party.as_ref().map(|p| format!(" to {p}")).unwrap_or_default();
            line(format!("    #{} {} {}{} by {}: {}", c.n, time(c.at_us), c.action.as_str(), party, c.actor, c.reason));
        }
    }
    line(String::new());
    line(format!("Events ({}):", m.events.len()));
    for e in &m.events {
        line(format!("  seq {}  received {}  sha256 {}  {}", e.seq, time(e.received_us), e.sha256, e.file));
    }
    line(String::new());
    line("Check offline: stockade verify PACKAGE --key VERIFIER_KEY".into());
    s
}

/// A part to write: its path, size and content.
pub struct Part<'a> {
    pub path: String,
    pub size: u64,
    pub content: Box<dyn Read + 'a>,
}

impl<'a> Part<'a> {
    pub fn bytes(path: impl Into<String>, bytes: &'a [u8]) -> Part<'a> {
        Part { path: path.into(), size: bytes.len() as u64, content: Box::new(bytes) }
    }
}

/// Writes the one canonical tar archive of `parts`: ustar headers with
/// fixed mode, owner and time, in the order given.
pub fn write_archive<'a, W: Write>(out: W, parts: impl IntoIterator<Item = Part<'a>>) -> std::io::Result<W> {
    let mut b = tar::Builder::new(out);
    for p in parts {
        b.append(&canonical_header(&p.path, p.size)?, p.content.take(p.size))?;
    }
    b.into_inner()
}

/// The one header a part of `size` bytes at `path` has: ustar, fixed mode,
/// owner and time.
fn canonical_header(path: &str, size: u64) -> std::io::Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    Ok(h)
}

/// The bytes of the three manifest parts.
pub struct ManifestParts {
    /// MANIFEST.txt
    pub text: Vec<u8>,
    /// manifest.json
    pub json: Vec<u8>,
    /// manifest.sig
    pub sig: Vec<u8>,
}

impl ManifestParts {
    /// Renders and signs a manifest, given a signer of notes.
    pub fn new(m: &Manifest, sign: impl FnOnce(&str) -> Result<Vec<u8>, String>) -> Result<ManifestParts, String> {
        let json = serde_json::to_vec_pretty(m).map_err(|e| e.to_string())?;
        let text = render(m).into_bytes();
        let sig = sign(&signed_text(&m.format, &json, &text))?;
        Ok(ManifestParts { text, json, sig })
    }

    /// The three parts, in package order.
    pub fn parts(&self) -> Vec<Part<'_>> {
        vec![
            Part::bytes("MANIFEST.txt", &self.text),
            Part::bytes("manifest.json", &self.json),
            Part::bytes("manifest.sig", &self.sig),
        ]
    }
}

/// What [`verify`] found.
#[derive(Debug, Default)]
pub struct Report {
    pub incident: String,
    pub tree_size: u64,
    pub checked: Vec<String>,
    /// (part, what is wrong)
    pub failures: Vec<(String, String)>,
    /// Not failures, but what a reader must know: events the package
    /// carries that the incident's opening does not cite.
    pub notes: Vec<String>,
    /// What a verified package proves, in words.
    pub proved: Vec<String>,
    /// What it does not prove, whatever the verdict.
    pub not_proved: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    fn fail(&mut self, part: &str, what: impl Into<String>) {
        self.failures.push((part.to_owned(), what.into()));
    }
}

/// A part as read: small parts whole, evidence files as hash and size.
enum Seen {
    Bytes(Vec<u8>),
    Digest { sha256: [u8; 32], size: u64 },
}

fn b64_hash(s: &str) -> Option<Hash> {
    base64::engine::general_purpose::STANDARD.decode(s).ok().and_then(|b| hash_from(&b).ok())
}

fn check_leaf(report: &mut Report, part: &str, entry: &Entry, p: &Proof, size: u64, root: Hash) {
    let Ok(bytes) = entry.encode() else {
        return report.fail(part, "its ledger entry cannot be encoded");
    };
    let proof: Option<Vec<Hash>> = p.proof.iter().map(|h| b64_hash(h)).collect();
    let Some(proof) = proof else {
        return report.fail(part, "its inclusion proof holds a malformed hash");
    };
    match verify_inclusion(p.leaf_index, size, leaf_hash(&bytes), &proof, root) {
        Ok(()) => report.checked.push(format!("{part}: leaf {} is in the log", p.leaf_index)),
        Err(e) => report.fail(part, format!("its leaf {} does not prove against the checkpoint: {e}", p.leaf_index)),
    }
}

/// The salt: exactly 32 lowercase hex digits (one encoding only).
fn salt(p: &Proof) -> Option<[u8; 16]> {
    if p.salt.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut s = [0u8; 16];
    hex::decode_to_slice(&p.salt, &mut s).ok().map(|()| s)
}

/// Rebuilds a record's entry by the rule its manifest names and checks it.
#[allow(clippy::too_many_arguments)]
fn record_leaf(
    report: &mut Report,
    label: &str,
    format: &str,
    canon: Option<RecordCanon>,
    p: &Proof,
    size: u64,
    root: Hash,
    entry: impl FnOnce(&[u8; 16], Canon) -> Result<Entry, crate::Refusal>,
) {
    let canon = match canon_of(format, canon) {
        Ok(c) => c,
        Err(e) => return report.fail(label, e),
    };
    let Some(s) = salt(p) else {
        return report.fail(label, "its salt in manifest.json is not 32 lowercase hex digits");
    };
    match entry(&s, canon) {
        Ok(e) => check_leaf(report, label, &e, p, size, root),
        Err(e) => report.fail(label, format!("its record cannot be committed to: {e}")),
    }
}

/// Reads every part of a package. `open` gives the package's bytes from the
/// start (it is called twice: once to read the parts, once to compare the
/// archive with its canonical form).
pub fn verify<R: Read>(open: impl FnMut() -> std::io::Result<R>, verifier_key: &str) -> Report {
    verify_with(open, &Trust { key: verifier_key, ..Trust::default() })
}

/// What a verifier brings besides the package: the log's key, the
/// witnesses it trusts and how many must have cosigned, and a checkpoint
/// of the log it already holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trust<'a> {
    pub key: &'a str,
    /// Witness verifier keys (`docs/WITNESS.md`).
    pub witnesses: &'a [String],
    pub quorum: usize,
    /// A signed checkpoint held from before: the package must prove the log
    /// only grew from it.
    pub since: Option<&'a [u8]>,
}

/// [`verify`] with a verifier's [`Trust`].
pub fn verify_with<R: Read>(mut open: impl FnMut() -> std::io::Result<R>, trust: &Trust<'_>) -> Report {
    let (verifier_key, witnesses, quorum) = (trust.key, trust.witnesses, trust.quorum);
    let mut report = Report::default();
    let mut parts: BTreeMap<String, Seen> = BTreeMap::new();
    let mut order = Vec::new();
    let whole = match open() {
        Ok(r) => r,
        Err(e) => {
            report.fail("package", format!("cannot read it: {e}"));
            return report;
        }
    };
    let mut archive = tar::Archive::new(whole);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            report.fail("package", format!("not a tar archive: {e}"));
            return report;
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let after = order.last().cloned().unwrap_or_else(|| "the start".into());
                report.fail("archive", format!("a header after {after} is damaged: {e}"));
                return report;
            }
        };
        let path = match entry.path() {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(e) => {
                report.fail("archive", format!("a part's name is unreadable: {e}"));
                return report;
            }
        };
        let size = entry.size();
        let seen = if path.starts_with("evidence/") {
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            let mut n = 0u64;
            loop {
                match entry.read(&mut buf) {
                    Ok(0) => break,
                    Ok(k) => {
                        h.update(&buf[..k]);
                        n += k as u64;
                    }
                    Err(e) => {
                        report.fail(&path, format!("truncated: {e}"));
                        return report;
                    }
                }
            }
            Seen::Digest { sha256: h.finalize().into(), size: n }
        } else {
            if size > MAX_SMALL_PART {
                report.fail(&path, format!("{size} bytes is too large for this part"));
                return report;
            }
            let mut b = Vec::with_capacity(size as usize);
            if let Err(e) = entry.read_to_end(&mut b) {
                report.fail(&path, format!("truncated: {e}"));
                return report;
            }
            Seen::Bytes(b)
        };
        if parts.insert(path.clone(), seen).is_some() {
            report.fail(&path, "appears twice");
        }
        order.push(path);
    }
    let bytes = |parts: &BTreeMap<String, Seen>, p: &str| match parts.get(p) {
        Some(Seen::Bytes(b)) => Some(b.clone()),
        _ => None,
    };

    // The manifest and its signature.
    let (Some(json), Some(sig), Some(txt)) =
        (bytes(&parts, "manifest.json"), bytes(&parts, "manifest.sig"), bytes(&parts, "MANIFEST.txt"))
    else {
        report.fail("package", "manifest.json, manifest.sig and MANIFEST.txt must all be present");
        return report;
    };
    let signed = match stockade_ledger::checkpoint::verify_note(&sig, verifier_key) {
        Ok(text) if FORMATS.iter().any(|f| text == signed_text(f, &json, &txt).as_bytes()) => {
            let what =
                if text.starts_with(FORMAT.as_bytes()) { "manifest.json and MANIFEST.txt" } else { "manifest.json" };
            report.checked.push(format!("manifest.sig: signed by the log's key over {what}"));
            Some(text)
        }
        Ok(text) => {
            let first = String::from_utf8_lossy(text.split(|b| *b == b'\n').next().unwrap_or_default()).into_owned();
            if first.starts_with("stockade-evidence-package/") && !FORMATS.contains(&first.as_str()) {
                report.fail("manifest.sig", format!("signed for {first}, a format this verifier does not know"));
            } else if first == FORMAT
                && text.split(|b| *b == b'\n').nth(1) == Some(part_line("manifest.json", &json).as_bytes())
            {
                report.fail("MANIFEST.txt", "its SHA-256 is not the one manifest.sig signs: it was altered");
            } else {
                report.fail("manifest.json", "its SHA-256 is not the one manifest.sig signs: it was altered");
            }
            None
        }
        Err(e) => {
            report.fail("manifest.sig", format!("not signed by this key: {e}"));
            None
        }
    };
    let raw = match read_without_duplicates(&json) {
        Ok(raw) => raw,
        Err(e) => {
            report.fail("manifest.json", format!("not one reading only: {e}"));
            return report;
        }
    };
    // Read again as its types (for errors that name the line and column).
    let m: Manifest = match serde_json::from_slice(&json) {
        Ok(m) => m,
        Err(e) => {
            report.fail("manifest.json", format!("unreadable: {e}"));
            return report;
        }
    };
    report.incident = m.incident.clone();
    // A record is committed to as its type holds it: a member the type does
    // not have, or `null` for an absent one, would be dropped here and kept
    // by another reader, so two verifiers would check different records.
    let exact = |typed: Result<serde_json::Value, serde_json::Error>, raw: &serde_json::Value| {
        typed.is_ok_and(|t| &t == raw) && crate::exact_numbers(raw).is_ok()
    };
    const INEXACT: &str = "its record holds a member its type does not, null for an absent one, or an integer beyond ±(2^53 − 1): records hold exactly their type's members";
    if let Some(o) = &m.opened
        && !exact(serde_json::to_value(&o.record), &raw["opened"]["record"])
    {
        report.fail(&format!("incident {} (audit record #{})", m.incident, o.record.n), INEXACT);
    }
    for (i, e) in m.evidence.iter().enumerate() {
        if !exact(serde_json::to_value(&e.record), &raw["evidence"][i]["record"]) {
            report.fail(&format!("evidence {}", e.record.id), INEXACT);
        }
    }
    for (i, c) in m.custody.iter().enumerate() {
        if !exact(serde_json::to_value(&c.record), &raw["custody"][i]["record"]) {
            report.fail(&format!("custody {}#{}", c.record.evidence, c.record.n), INEXACT);
        }
    }
    if !FORMATS.contains(&m.format.as_str()) {
        report.fail(
            "manifest.json",
            format!("format {:?} is not one this verifier knows ({})", m.format, FORMATS.join(", ")),
        );
        return report;
    } else if signed.is_some_and(|text| text != signed_text(&m.format, &json, &txt).as_bytes()) {
        report.fail("manifest.json", "its format is not the one manifest.sig signs");
    }
    // Format 3 signs MANIFEST.txt; before, it was checked against its rendering.
    if m.format != FORMAT && txt != render(&m).as_bytes() {
        report.fail("MANIFEST.txt", "differs from what manifest.json says");
    }

    // The checkpoint, and the witnesses that cosigned it.
    let mut witnessed = 0usize;
    let root = match stockade_ledger::checkpoint::open(m.log.checkpoint.as_bytes(), verifier_key) {
        Ok(cp) => {
            let root = *cp.hash();
            if cp.size() != m.log.tree_size || b64_hash(&m.log.root) != Some(root) || cp.origin() != m.log.origin {
                report.fail("manifest.json", "the log size, root or origin differ from the signed checkpoint");
            }
            report.tree_size = cp.size();
            report.checked.push(format!("checkpoint: {} at {} leaves, signature verified", cp.origin(), cp.size()));
            if quorum > 0 || !witnesses.is_empty() {
                match stockade_ledger::cosign::verify_witnessed(
                    m.log.checkpoint.as_bytes(),
                    verifier_key,
                    witnesses,
                    quorum,
                ) {
                    Ok(w) => {
                        let who: Vec<String> =
                            w.cosigned.iter().map(|(n, t)| format!("{n} at {}", time(*t as i64 * 1_000_000))).collect();
                        report.checked.push(format!(
                            "checkpoint: cosigned by {} of {} witnesses named ({}), {quorum} required",
                            w.cosigned.len(),
                            witnesses.len(),
                            who.join(", ")
                        ));
                        witnessed = w.cosigned.len();
                    }
                    Err(e) => report.fail("manifest.json", format!("its checkpoint's cosignatures: {e}")),
                }
            } else {
                let lines = m.log.checkpoint.lines().filter(|l| l.starts_with('\u{2014}')).count();
                if lines > 1 {
                    report.notes.push(format!(
                        "the checkpoint carries {} signature lines besides the log's: give the witnesses' keys (--witness KEY) to check them",
                        lines - 1
                    ));
                }
            }
            root
        }
        Err(e) => {
            report.fail("manifest.json", format!("its checkpoint does not verify: {e}"));
            return report;
        }
    };
    let size = report.tree_size;
    // Only appended to: from the checkpoint the verifier holds, by the
    // package's consistency proof.
    let mut grown_from: Option<u64> = None;
    if let Some(c) = &m.consistency {
        let proof: Option<Vec<Hash>> = c.proof.iter().map(|h| b64_hash(h)).collect();
        match (b64_hash(&c.from_root), proof) {
            (Some(from_root), Some(proof)) => {
                match stockade_ledger::verify_consistency(c.from_size, size, &proof, from_root, root) {
                    Ok(()) => {
                        report.checked.push(format!(
                            "consistency: the log at {size} leaves extends the log at {} leaves (root {})",
                            c.from_size, c.from_root
                        ));
                        grown_from = Some(c.from_size);
                    }
                    Err(e) => report.fail("manifest.json", format!("its consistency proof does not verify: {e}")),
                }
            }
            _ => report.fail("manifest.json", "its consistency proof holds a malformed hash"),
        }
    }
    if let Some(held) = trust.since {
        match stockade_ledger::checkpoint::open(held, verifier_key) {
            Err(e) => report.fail("--since", format!("the checkpoint you hold does not verify with the key: {e}")),
            Ok(h) if h.size() == size => {
                if *h.hash() == root {
                    report.checked.push(format!("consistency: your checkpoint is the package's ({size} leaves)"));
                    grown_from = Some(size);
                } else {
                    report.fail("--since", "your checkpoint has the package's size and another root: the log forked");
                }
            }
            Ok(h) if h.size() > size => report.fail(
                "--since",
                format!("your checkpoint ({} leaves) is newer than the package's ({size}): ask for a package made since", h.size()),
            ),
            Ok(h) => match &m.consistency {
                Some(c) if c.from_size == h.size() && b64_hash(&c.from_root) == Some(*h.hash()) => {}
                Some(c) => report.fail(
                    "--since",
                    format!("the package proves growth from {} leaves, not from your checkpoint's {}", c.from_size, h.size()),
                ),
                None => report.fail(
                    "--since",
                    format!("the package carries no consistency proof from your checkpoint ({} leaves): ask for it with since={}", h.size(), h.size()),
                ),
            },
        }
    }
    let mut expected = vec!["MANIFEST.txt".to_owned(), "manifest.json".to_owned(), "manifest.sig".to_owned()];

    // The incident itself: its opening is an audit record with a leaf.
    match &m.opened {
        Some(o) => {
            let label = format!("incident {} (audit record #{})", m.incident, o.record.n);
            let id = o.record.detail.get("id").and_then(|v| v.as_str());
            if o.record.action != INCIDENT_OPENED || id != Some(&m.incident) {
                report.fail(&label, format!("is not the opening of incident {}", m.incident));
            }
            record_leaf(&mut report, &label, &m.format, o.canon, &o.proof, size, root, |s, c| o.record.entry(s, c));
        }
        None if m.format == FORMAT_1 => report
            .checked
            .push(format!("{FORMAT_1}: made before packages carried the incident's opening; none to check")),
        None => {
            report.fail("manifest.json", format!("a {} package must carry the incident's opening record", m.format))
        }
    }

    // The events the opening cites, as (source, id).
    let cited: Option<std::collections::BTreeSet<(String, String)>> = m.opened.as_ref().map(|o| {
        let pair =
            |v: &serde_json::Value| Some((v.get("source")?.as_str()?.to_owned(), v.get("id")?.as_str()?.to_owned()));
        o.record.detail.get("events").and_then(|v| v.as_array()).into_iter().flatten().filter_map(pair).collect()
    });
    for e in &m.events {
        let part = e.file.clone();
        expected.push(part.clone());
        let Some(Seen::Bytes(b)) = parts.get(&part) else {
            report.fail(&part, "missing");
            continue;
        };
        if let Some(cited) = &cited {
            let named = serde_json::from_slice::<serde_json::Value>(b)
                .ok()
                .and_then(|v| Some((v.get("source")?.as_str()?.to_owned(), v.get("id")?.as_str()?.to_owned())));
            match named {
                Some(key) if cited.contains(&key) => {}
                Some((source, id)) => report.notes.push(format!(
                    "{part} ({source}/{id}) is not cited by the incident's opening record (it may have been linked to the incident since: the package does not carry its timeline)"
                )),
                None => report.notes.push(format!("{part} names no source and id: the incident cannot cite it")),
            }
        }
        let digest: [u8; 32] = Sha256::digest(b).into();
        if hex::encode(digest) != e.sha256 {
            report.fail(&part, "its content does not match the SHA-256 recorded for the event: it was altered");
            continue;
        }
        let Some(s) = salt(&e.proof) else {
            report.fail(&part, "its salt in manifest.json is malformed");
            continue;
        };
        let entry = Entry::Event {
            seq: e.seq,
            received_us: e.received_us,
            commit: commitment(&s, &digest),
            epcis: e.epcis.clone(),
        };
        check_leaf(&mut report, &part, &entry, &e.proof, size, root);
    }

    for item in &m.evidence {
        let r = &item.record;
        let label = format!("evidence {}", r.id);
        if r.incident != m.incident {
            report.fail(&label, format!("belongs to incident {}, not {}", r.incident, m.incident));
        }
        if let Some(part) = &item.file {
            expected.push(part.clone());
            match parts.get(part) {
                Some(Seen::Digest { sha256, size }) => {
                    if hex::encode(sha256) != r.sha256 || *size != r.size {
                        report.fail(part, "its content does not match the SHA-256 and size recorded at collection");
                    } else {
                        report.checked.push(format!("{part}: {} bytes, SHA-256 matches", size));
                    }
                }
                _ => report.fail(part, "missing"),
            }
        }
        record_leaf(&mut report, &label, &m.format, item.canon, &item.proof, size, root, |s, c| r.entry(s, c));
        let chain: Vec<CustodyRecord> =
            m.custody.iter().filter(|c| c.record.evidence == r.id).map(|c| c.record.clone()).collect();
        match CustodyState::of(&chain) {
            Ok(st) if st.expired == item.file.is_none() => {}
            Ok(_) => report.fail(&label, "its file's presence contradicts its custody chain (expired or not)"),
            Err(e) => report.fail(&label, format!("its custody chain is not well formed: {e}")),
        }
    }
    for c in &m.custody {
        let label = format!("custody {}#{}", c.record.evidence, c.record.n);
        if !m.evidence.iter().any(|e| e.record.id == c.record.evidence) {
            report.fail(&label, "names evidence the package does not describe");
        }
        record_leaf(&mut report, &label, &m.format, c.canon, &c.proof, size, root, |s, k| c.record.entry(s, k));
    }
    let described: std::collections::HashSet<&String> = expected.iter().collect();
    for p in &order {
        if !described.contains(p) {
            report.fail(p, "is not described by manifest.json");
        }
    }
    if report.ok() && order != expected {
        report.fail("archive", "its parts are not in the canonical order (manifests, events, evidence files)");
    }
    if m.opened.is_none() {
        report.notes.push(format!("{FORMAT_1}: no opening record, so which events the incident cites is not known"));
    }
    let files = m.evidence.iter().filter(|e| e.file.is_some()).count();
    let expired = m.evidence.len() - files;
    let records = m.evidence.len() + m.custody.len() + m.events.len() + usize::from(m.opened.is_some());
    report.proved = vec![
        "manifest.json was signed by the holder of the log's key (manifest.sig)".to_owned(),
        format!(
            "the log {} held, at {} leaves, a tree whose root the key signed (the checkpoint)",
            m.log.origin, m.log.tree_size
        ),
        format!("each of the package's {records} records is a leaf of that tree (inclusion proofs)"),
        format!("{files} evidence files are the bytes whose SHA-256 and size the log holds"),
        "each item's chain of custody is complete and in order, every entry in the log".to_owned(),
        "the archive is the one canonical archive of its parts".to_owned(),
    ];
    let appended = match (grown_from, trust.since) {
        (Some(from), Some(_)) => {
            report.proved.push(format!(
                "the log was only appended to between your checkpoint ({from} leaves) and the package's ({size})"
            ));
            None
        }
        (Some(from), None) => Some(format!(
            "that the log was only appended to since a checkpoint you hold: the package proves growth from {from} leaves; give that checkpoint with --since to tie it to yours"
        )),
        (None, _) => Some(
            "that the log was only ever appended to: the package carries no consistency proof from a checkpoint you already hold".to_owned(),
        ),
    };
    report.not_proved = vec![appended.unwrap_or_default()];
    report.not_proved.retain(|l| !l.is_empty());
    report.not_proved.extend([
        "when things happened: received times are the operator's claim, occurred times the sources'".to_owned(),
        "that the package holds everything about the incident: only what it carries is checked".to_owned(),
    ]);
    if witnessed > 0 {
        report.proved.push(format!(
            "{witnessed} witnesses you trust cosigned that checkpoint: each saw this history, consistent with every earlier one it cosigned (no fork shown to them)"
        ));
    } else {
        report.not_proved.insert(
            1,
            "that anyone but the log's operator saw this checkpoint: no witness you named cosigned it, so an operator could show others another history".to_owned(),
        );
    }
    if expired > 0 {
        report.not_proved.push(format!(
            "the content of {expired} expired evidence files (deleted at the end of their retention; their records and custody are checked)"
        ));
    }
    if !report.ok() {
        return report;
    }

    // Every part checks out: the archive itself must be the canonical one of
    // those parts, so that no header or padding byte was touched either.
    let canonical = (|| -> std::io::Result<bool> {
        let mut actual = Sha256::new();
        std::io::copy(&mut open()?, &mut HashWriter(&mut actual))?;
        let mut archive = tar::Archive::new(open()?);
        let mut rebuilt = HashWriter(&mut Sha256::new());
        {
            let mut b = tar::Builder::new(&mut rebuilt);
            for entry in archive.entries()? {
                let mut entry = entry?;
                let path = entry.path()?.to_string_lossy().into_owned();
                let size = entry.size();
                b.append(&canonical_header(&path, size)?, (&mut entry).take(size))?;
            }
            b.finish()?;
        }
        Ok(actual.finalize() == rebuilt.0.clone().finalize())
    })();
    match canonical {
        Ok(true) => report.checked.push("archive: canonical (no header or padding byte altered)".into()),
        Ok(false) => report.fail("archive", "its tar headers or padding were altered (the parts themselves verify)"),
        Err(e) => report.fail("archive", format!("cannot be re-read: {e}")),
    }
    report
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;
    use stockade_ledger::Tree;
    use stockade_ledger::checkpoint::LogKey;
    use stockade_ledger::entry::SaltKey;

    fn b64(h: &Hash) -> String {
        base64::engine::general_purpose::STANDARD.encode(h.0)
    }

    /// A package of one event, one evidence file and its custody chain.
    fn package(expired: bool) -> (Vec<u8>, String) {
        package_opening(expired, "INC-7", |_| {})
    }

    /// The same, its opening record naming incident `opened`, and `edit`ed
    /// in the manifest after its leaf was logged (a lying operator's package).
    fn package_opening(expired: bool, opened: &str, edit: impl Fn(&mut AuditRecord)) -> (Vec<u8>, String) {
        build(expired, opened, edit, FORMAT, true)
    }

    /// A package in `format`, with or without the incident's opening.
    fn build(
        expired: bool,
        opened: &str,
        edit: impl Fn(&mut AuditRecord),
        format: &str,
        with_opening: bool,
    ) -> (Vec<u8>, String) {
        let cites = serde_json::json!([{"source": "acs", "id": "e1"}]);
        let (pkg, _, verifier) = build_keyed(expired, opened, edit, format, with_opening, cites, None);
        (pkg, verifier)
    }

    /// A package citing `cites`, its evidence record's leaf committed by
    /// `evidence_canon` when not the format's own rule (an item collected
    /// before format 3); also the log's key, to sign altered manifests.
    fn build_keyed(
        expired: bool,
        opened: &str,
        edit: impl Fn(&mut AuditRecord),
        format: &str,
        with_opening: bool,
        cites: serde_json::Value,
        evidence_canon: Option<Canon>,
    ) -> (Vec<u8>, LogKey, String) {
        let canon = if format == FORMAT { Canon::Jcs } else { Canon::Compact };
        let named = |c: Canon| (format == FORMAT).then_some(RecordCanon::from(c));
        let evidence_canon = evidence_canon.unwrap_or(canon);
        let (key, _) = LogKey::generate("stockade.test/pkg").unwrap();
        let salts = SaltKey::generate().unwrap();
        let file = b"frame data of a camera clip".to_vec();
        let event = br#"{"id":"e1","source":"acs","kind":"access.granted"}"#.to_vec();
        let record = EvidenceRecord {
            id: "ev_1".into(),
            incident: "INC-7".into(),
            class: "video".into(),
            sha256: hex::encode(Sha256::digest(&file)),
            size: file.len() as u64,
            media_type: "video/mp4".into(),
            collected_by: "alice (tok_1)".into(),
            collected_from: "camera:CAM-3".into(),
            original_from: Some("2026-11-02T22:00:00+01:00".into()),
            original_to: Some("2026-11-02T22:05:00+01:00".into()),
            description: "dock door 3".into(),
            collected_us: 1_000,
            retain_until_us: 2_000,
        };
        let mut chain = vec![CustodyRecord {
            evidence: "ev_1".into(),
            n: 0,
            action: Action::Collected,
            actor: "alice".into(),
            at_us: 1_000,
            reason: "incident".into(),
            party: None,
        }];
        if expired {
            chain.push(CustodyRecord { n: 1, action: Action::Expired, at_us: 3_000, ..chain[0].clone() });
        }
        // The log: a filler leaf, the event, the evidence, the custody records.
        let digest: [u8; 32] = Sha256::digest(&event).into();
        let ev_salt = salts.event_salt(2);
        let mut entries = vec![
            b"filler".to_vec(),
            Entry::Event { seq: 2, received_us: 5, commit: commitment(&ev_salt, &digest), epcis: None }
                .encode()
                .unwrap(),
            record.entry(&record.salt(&salts), evidence_canon).unwrap().encode().unwrap(),
        ];
        entries.extend(chain.iter().map(|c| c.entry(&c.salt(&salts), canon).unwrap().encode().unwrap()));
        let opening = AuditRecord {
            n: 4,
            action: INCIDENT_OPENED.into(),
            actor: "carol (tok_2)".into(),
            at_us: 500,
            detail: serde_json::json!({"id": opened, "n": 7, "site": "LYS", "title": "clip of dock door 3",
                "severity": "high", "from": "2026-11-02T22:00:00+01:00", "to": "2026-11-02T23:00:00+01:00",
                "events": cites}),
        };
        entries.push(opening.entry(&opening.salt(&salts), canon).unwrap().encode().unwrap());
        let mut listed = opening.clone();
        edit(&mut listed);
        let mut t = Tree::new();
        for e in &entries {
            t.push(leaf_hash(e));
        }
        let size = t.size();
        let root = t.root(size).unwrap();
        let proof = |i: u64, salt: &[u8]| Proof {
            salt: hex::encode(salt),
            leaf_index: i,
            proof: t.inclusion_proof(i, size).unwrap().iter().map(b64).collect(),
        };
        let m = Manifest {
            format: format.into(),
            incident: "INC-7".into(),
            created_us: 9_000,
            created_by: "bob".into(),
            log: LogRef {
                origin: "stockade.test/pkg".into(),
                tree_size: size,
                root: b64(&root),
                checkpoint: String::from_utf8(key.sign("stockade.test/pkg", size, root).unwrap()).unwrap(),
            },
            opened: with_opening.then(|| OpeningItem {
                proof: proof(3 + chain.len() as u64, &opening.salt(&salts)),
                canon: named(canon),
                record: listed,
            }),
            evidence: vec![EvidenceItem {
                canon: named(evidence_canon),
                file: (!expired).then(|| "evidence/ev_1".into()),
                proof: proof(2, &record.salt(&salts)),
                record,
            }],
            custody: chain
                .iter()
                .enumerate()
                .map(|(i, c)| CustodyItem {
                    record: c.clone(),
                    canon: named(canon),
                    proof: proof(3 + i as u64, &c.salt(&salts)),
                })
                .collect(),
            events: vec![EventItem {
                seq: 2,
                received_us: 5,
                sha256: hex::encode(digest),
                epcis: None,
                file: "events/2.json".into(),
                proof: proof(1, &ev_salt),
            }],
            consistency: None,
        };
        let mp = ManifestParts::new(&m, |t| key.sign_note(t).map_err(|e| e.to_string())).unwrap();
        let mut parts = mp.parts();
        parts.push(Part::bytes("events/2.json", &event));
        if !expired {
            parts.push(Part::bytes("evidence/ev_1", &file));
        }
        let verifier = key.verifier_key().to_owned();
        (write_archive(Vec::new(), parts).unwrap(), key, verifier)
    }

    /// The package with manifest.json rewritten by `edit` and signed again
    /// by the log's key: what a verifier must refuse on the content alone.
    fn resigned(pkg: &[u8], key: &LogKey, edit: impl Fn(String) -> String) -> Vec<u8> {
        let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
        for e in tar::Archive::new(pkg).entries().unwrap() {
            let mut e = e.unwrap();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            parts.push((e.path().unwrap().to_string_lossy().into_owned(), b));
        }
        let json = edit(String::from_utf8(parts[1].1.clone()).unwrap()).into_bytes();
        let format = serde_json::from_slice::<serde_json::Value>(&json)
            .ok()
            .and_then(|v| v["format"].as_str().map(str::to_owned))
            .unwrap_or_else(|| FORMAT.to_owned());
        parts[2].1 = key.sign_note(&signed_text(&format, &json, &parts[0].1)).unwrap();
        parts[1].1 = json;
        write_archive(Vec::new(), parts.iter().map(|(p, b)| Part::bytes(p.clone(), b))).unwrap()
    }

    fn package_keyed() -> (Vec<u8>, LogKey, String) {
        build_keyed(false, "INC-7", |_| {}, FORMAT, true, serde_json::json!([{"source": "acs", "id": "e1"}]), None)
    }

    #[test]
    fn format_3_signs_manifest_txt_and_names_each_records_rule() {
        let (pkg, key, verifier) = package_keyed();
        let r = check(&pkg, &verifier);
        assert!(r.ok(), "{:?}", r.failures);
        assert!(
            r.checked.iter().any(|c| c == "manifest.sig: signed by the log's key over manifest.json and MANIFEST.txt")
        );
        let m = manifest_of(&pkg);
        assert_eq!(m["format"], FORMAT);
        assert_eq!(m["evidence"][0]["canon"], "jcs");
        assert_eq!(m["custody"][0]["canon"], "jcs");
        assert_eq!(m["opened"]["canon"], "jcs");
        // MANIFEST.txt is signed: any change to it is refused, naming it.
        let at = pkg.windows(11).position(|w| w == b"dock door 3").unwrap();
        let mut bad = pkg.clone();
        bad[at] = b'D';
        let r = check(&bad, &verifier);
        assert_eq!(
            r.failures[0],
            ("MANIFEST.txt".to_owned(), "its SHA-256 is not the one manifest.sig signs: it was altered".to_owned())
        );
        // An item collected before format 3 keeps its leaf's rule, and says so.
        let (old, _, old_key) =
            build_keyed(false, "INC-7", |_| {}, FORMAT, true, serde_json::json!([]), Some(Canon::Compact));
        let r = check(&old, &old_key);
        assert!(r.ok(), "{:?}", r.failures);
        assert_eq!(manifest_of(&old)["evidence"][0]["canon"], "compact");
        // Claiming the other rule for a record does not find its leaf.
        let flipped = resigned(&pkg, &key, |j| j.replacen(r#""canon": "jcs""#, r#""canon": "compact""#, 1));
        let r = check(&flipped, &verifier);
        assert!(!r.ok());
        assert!(r.failures[0].1.contains("does not prove against the checkpoint"), "{:?}", r.failures);
        // Format 3 names the rule of every record; format 2 has no such member.
        let missing = resigned(&pkg, &key, |j| j.replacen(r#""canon": "jcs","#, "", 1));
        let r = check(&missing, &verifier);
        assert!(r.failures.iter().any(|f| f.1.contains("names how each record is committed")), "{:?}", r.failures);
        let unknown = resigned(&pkg, &key, |j| j.replacen(r#""canon": "jcs""#, r#""canon": "cbor""#, 1));
        let r = check(&unknown, &verifier);
        assert!(r.failures[0].1.contains("unknown variant `cbor`"), "{:?}", r.failures);
        let (two, key2, verifier2) = build_keyed(false, "INC-7", |_| {}, FORMAT_2, true, serde_json::json!([]), None);
        assert!(check(&two, &verifier2).ok());
        let claimed = resigned(&two, &key2, |j| j.replacen(r#""record": {"#, r#""canon": "jcs", "record": {"#, 1));
        let r = check(&claimed, &verifier2);
        assert!(
            r.failures.iter().any(|f| f
                .1
                .contains("is a member of stockade-evidence-package/3 manifests, not of stockade-evidence-package/2")),
            "{:?}",
            r.failures
        );
    }

    #[test]
    fn duplicate_members_and_non_canonical_encodings_are_refused() {
        let (pkg, key, verifier) = package_keyed();
        // A member twice, at the top or deep inside a record: two readings.
        for edit in [
            (|j: String| j.replacen(r#""incident": "INC-7","#, r#""incident": "INC-7", "incident": "INC-8","#, 1))
                as fn(String) -> String,
            |j: String| j.replacen(r#""actor": "alice","#, r#""actor": "alice", "actor": "mallory","#, 1),
            |j: String| j.replacen(r#""title": "#, r#""title": "x", "title": "#, 1),
        ] {
            let bad = resigned(&pkg, &key, edit);
            let r = check(&bad, &verifier);
            assert_eq!(r.failures[0].0, "manifest.json", "{:?}", r.failures);
            assert!(r.failures[0].1.contains("appears twice in one object"), "{:?}", r.failures);
        }
        // A record with a member its type does not have, or null for an absent one.
        for edit in [
            (|j: String| j.replacen(r#""actor": "alice","#, r#""actor": "alice", "note": "x","#, 1))
                as fn(String) -> String,
            |j: String| j.replacen(r#""reason": "incident""#, r#""reason": "incident", "party": null"#, 1),
        ] {
            let bad = resigned(&pkg, &key, edit);
            let r = check(&bad, &verifier);
            assert_eq!(r.failures[0].0, "custody ev_1#0", "{:?}", r.failures);
            assert!(r.failures[0].1.contains("records hold exactly their type's members"), "{:?}", r.failures);
        }
        // An integer written as a fraction.
        let bad = resigned(&pkg, &key, |j| j.replacen(r#""at_us": 1000,"#, r#""at_us": 1000.0,"#, 1));
        assert!(check(&bad, &verifier).failures[0].1.starts_with("unreadable"));
        let m = manifest_of(&pkg);
        // The salt in capitals: the same bytes, another spelling.
        let salt = m["evidence"][0]["salt"].as_str().unwrap().to_owned();
        let bad = resigned(&pkg, &key, |j| j.replace(&salt, &salt.to_uppercase()));
        let r = check(&bad, &verifier);
        assert!(r.failures.iter().any(|f| f.1.contains("not 32 lowercase hex digits")), "{:?}", r.failures);
        // A proof hash whose base64 ends in bits that are not zero.
        let hash = m["evidence"][0]["proof"][0].as_str().unwrap().to_owned();
        let mut chars: Vec<char> = hash.chars().collect();
        let last = chars.len() - 2; // 32 bytes: 43 characters and one '='; the last holds 2 spare bits
        chars[last] = match chars[last] {
            'A' => 'B',
            c if c.is_ascii_uppercase() => 'A',
            _ => 'A',
        };
        let respelled: String = chars.into_iter().collect();
        assert_eq!(
            base64::engine::general_purpose::STANDARD.decode_slice_unchecked(&hash, &mut [0u8; 33]).ok(),
            Some(32)
        );
        let bad = resigned(&pkg, &key, |j| j.replace(&hash, &respelled));
        let r = check(&bad, &verifier);
        assert!(!r.ok(), "{respelled} for {hash}");
        // The file's SHA-256 in capitals.
        let sha = m["evidence"][0]["record"]["sha256"].as_str().unwrap().to_owned();
        let bad = resigned(&pkg, &key, |j| j.replace(&sha, &sha.to_uppercase()));
        assert!(!check(&bad, &verifier).ok());
    }

    fn check(bytes: &[u8], key: &str) -> Report {
        verify(|| Ok(bytes), key)
    }

    #[test]
    fn a_package_verifies_and_every_flipped_byte_fails_naming_a_part() {
        let (pkg, key) = package(false);
        let r = check(&pkg, &key);
        assert!(r.ok(), "{:?}", r.failures);
        assert_eq!(r.incident, "INC-7");
        assert!(r.checked.iter().any(|c| c.starts_with("evidence/ev_1: ")), "{:?}", r.checked);
        for i in 0..pkg.len() {
            let mut bad = pkg.clone();
            bad[i] ^= 0x20;
            let r = check(&bad, &key);
            assert!(!r.ok(), "flipping byte {i} went unnoticed");
            assert!(!r.failures[0].0.is_empty());
        }
    }

    #[test]
    fn failures_name_the_part() {
        let (pkg, key) = package(false);
        let at = |needle: &[u8]| pkg.windows(needle.len()).position(|w| w == needle).unwrap();
        let mut bad = pkg.clone();
        bad[at(b"frame data")] ^= 1;
        assert_eq!(check(&bad, &key).failures[0].0, "evidence/ev_1");
        let mut bad = pkg.clone();
        bad[at(br#""kind":"access"#) + 2] ^= 1;
        assert_eq!(check(&bad, &key).failures[0].0, "events/2.json");
        let mut bad = pkg.clone();
        bad[at(b"dock door 3")] ^= 1;
        let names: Vec<_> = check(&bad, &key).failures.into_iter().map(|f| f.0).collect();
        assert!(names.contains(&"MANIFEST.txt".to_owned()), "{names:?}");
        let (other, _) = LogKey::generate("stockade.test/pkg").unwrap();
        let r = check(&pkg, other.verifier_key());
        assert_eq!(r.failures[0].0, "manifest.sig", "{:?}", r.failures);
        assert!(!check(&pkg[..pkg.len() / 2], &key).ok(), "truncated");
        assert_eq!(check(b"not a tar file at all", &key).failures[0].0, "archive");
    }

    #[test]
    fn the_incident_is_proven_and_must_be_the_one_packaged() {
        let (pkg, key) = package(false);
        let r = check(&pkg, &key);
        assert!(r.checked.iter().any(|c| c.starts_with("incident INC-7 (audit record #4)")), "{:?}", r.checked);
        let text = String::from_utf8_lossy(&pkg);
        assert!(
            text.contains("Opened 1970-01-01T00:00:00Z by carol (tok_2) (audit record #4):\n  clip of dock door 3\n")
        );
        assert!(text.contains("  site LYS, severity high, 2026-11-02T22:00:00+01:00 to 2026-11-02T23:00:00+01:00\n"));
        assert!(text.contains("  cites 1 events\n"));
        // A signed package whose opening record says other than its leaf.
        let (pkg, key) = package_opening(false, "INC-7", |r| r.detail["title"] = "nothing happened".into());
        let r = check(&pkg, &key);
        assert_eq!(r.failures[0].0, "incident INC-7 (audit record #4)", "{:?}", r.failures);
        // A package (validly signed) whose opening is another incident's.
        let (pkg, key) = package_opening(false, "INC-8", |_| {});
        let r = check(&pkg, &key);
        assert_eq!(r.failures[0].0, "incident INC-7 (audit record #4)", "{:?}", r.failures);
        assert!(r.failures[0].1.contains("not the opening of incident INC-7"), "{:?}", r.failures);
    }

    /// manifest.json of a package, read from its archive.
    fn manifest_of(pkg: &[u8]) -> serde_json::Value {
        let mut a = tar::Archive::new(pkg);
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path().unwrap().to_string_lossy() == "manifest.json" {
                let mut b = Vec::new();
                e.read_to_end(&mut b).unwrap();
                return serde_json::from_slice(&b).unwrap();
            }
        }
        panic!("no manifest.json");
    }

    #[test]
    fn manifests_follow_their_published_schema() {
        let schema = manifest_schema();
        let v = jsonschema::validator_for(&schema).unwrap();
        for expired in [false, true] {
            let (pkg, _) = package(expired);
            let m = manifest_of(&pkg);
            let errors: Vec<String> = v.iter_errors(&m).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{errors:?}");
        }
        // What the schema refuses: a member missing, a custody action unknown,
        // a leaf index that is not a count.
        let (pkg, _) = package(false);
        let good = manifest_of(&pkg);
        let mut bad = good.clone();
        bad.as_object_mut().unwrap().remove("log");
        assert!(!v.is_valid(&bad));
        let mut bad = good.clone();
        bad["custody"][0]["record"]["action"] = "shredded".into();
        assert!(!v.is_valid(&bad));
        let mut bad = good;
        bad["events"][0]["leaf_index"] = (-1).into();
        assert!(!v.is_valid(&bad));
        // The schema on disk is this one (`cargo xtask schema` writes it).
        let on_disk = include_str!("../../../docs/evidence-manifest.schema.json");
        assert_eq!(on_disk, serde_json::to_string_pretty(&schema).unwrap() + "\n");
    }

    #[test]
    fn verify_says_what_it_proved_what_it_did_not_and_which_events_are_not_cited() {
        let (pkg, key) = package(false);
        let r = check(&pkg, &key);
        assert!(r.ok() && r.notes.is_empty(), "{:?} {:?}", r.failures, r.notes);
        assert!(
            r.proved.iter().any(|p| p == "each of the package's 4 records is a leaf of that tree (inclusion proofs)"),
            "{:?}",
            r.proved
        );
        assert!(r.proved.iter().any(|p| p == "1 evidence files are the bytes whose SHA-256 and size the log holds"));
        assert!(r.not_proved.iter().any(|p| p.contains("no consistency proof")), "{:?}", r.not_proved);
        assert!(r.not_proved.iter().any(|p| p.contains("no witness you named cosigned it")));
        let (pkg, key) = package(true);
        let r = check(&pkg, &key);
        assert!(r.ok(), "{:?}", r.failures);
        assert!(
            r.not_proved.iter().any(|p| p.starts_with("the content of 1 expired evidence files")),
            "{:?}",
            r.not_proved
        );
        // A package carrying an event its incident's opening does not cite
        // verifies, and says so.
        let cites = serde_json::json!([{"source": "acs", "id": "e0"}]);
        let (pkg, _, key) = build_keyed(false, "INC-7", |_| {}, FORMAT, true, cites, None);
        let r = check(&pkg, &key);
        assert!(r.ok(), "{:?}", r.failures);
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        assert!(
            r.notes[0].starts_with("events/2.json (acs/e1) is not cited by the incident's opening record"),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn first_format_packages_still_verify_and_the_format_is_what_was_signed() {
        // Format 1 (before packages carried the opening): verifies, and says there was none to check.
        let (pkg, key) = build(false, "INC-7", |_| {}, FORMAT_1, false);
        let r = check(&pkg, &key);
        assert!(r.ok(), "{:?}", r.failures);
        assert!(r.checked.iter().any(|c| c.contains("none to check")), "{:?}", r.checked);
        assert!(!String::from_utf8_lossy(&pkg).contains("Opened "), "format 1's MANIFEST.txt as it was");
        // Format 2 (records committed by compact JSON, MANIFEST.txt unsigned
        // and compared with its rendering): verifies.
        let (pkg, key) = build(false, "INC-7", |_| {}, FORMAT_2, true);
        let r = check(&pkg, &key);
        assert!(r.ok(), "{:?}", r.failures);
        assert!(r.checked.iter().any(|c| c == "manifest.sig: signed by the log's key over manifest.json"));
        assert!(manifest_of(&pkg)["evidence"][0].get("canon").is_none());
        let at = pkg.windows(11).position(|w| w == b"dock door 3").unwrap();
        let mut bad = pkg.clone();
        bad[at] = b'D';
        assert_eq!(check(&bad, &key).failures[0].0, "MANIFEST.txt");
        // Formats 2 and 3 without the opening are refused.
        for format in [FORMAT_2, FORMAT] {
            let (pkg, key) = build(false, "INC-7", |_| {}, format, false);
            let r = check(&pkg, &key);
            assert_eq!(r.failures[0].0, "manifest.json", "{:?}", r.failures);
            assert!(r.failures[0].1.contains("must carry the incident's opening"), "{:?}", r.failures);
        }
        // An unknown format.
        let (pkg, key) = build(false, "INC-7", |_| {}, "stockade-evidence-package/9", true);
        let r = check(&pkg, &key);
        assert_eq!(r.failures[0].0, "manifest.sig", "{:?}", r.failures);
        assert!(r.failures[0].1.contains("a format this verifier does not know"), "{:?}", r.failures);
        assert!(r.failures.iter().any(|f| f.1.contains("not one this verifier knows")), "{:?}", r.failures);
    }

    #[test]
    fn expired_evidence_keeps_its_record_and_still_verifies() {
        let (pkg, key) = package(true);
        let r = check(&pkg, &key);
        assert!(r.ok(), "{:?}", r.failures);
        let txt = String::from_utf8_lossy(&pkg);
        assert!(txt.contains("expired: file deleted, record kept"));
    }
}
