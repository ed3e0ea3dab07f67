//! Evidence and its chain of custody, as data and rules: what an evidence
//! item is, which custody actions exist and when each is allowed, how long
//! each class of evidence is kept, the ledger leaves that record them, and
//! evidence packages with their offline verifier.
//!
//! Invariants:
//! - Pure: no storage, no HTTP, no clock (times are passed in). The vault's
//!   files live in `stockade-store`; the API in `stockade-server`.
//! - Every custody action is a record with actor, time and reason, and a
//!   ledger leaf that commits to it; the state of an item (held, sealed,
//!   expired) is derived from its chain alone.
//! - Leaves commit to records with salts ([`stockade_ledger::entry`]), so
//!   the public log reveals no actor or description.
#![forbid(unsafe_code)]

pub mod package;

use serde::{Deserialize, Serialize};
pub use stockade_ledger::entry::Canon;
use stockade_ledger::entry::{Entry, SaltKey, commitment, sha256};

/// The largest integer a record may hold: RFC 8785 writes numbers as
/// IEEE 754 doubles, which hold every integer up to 2^53 − 1 exactly
/// (I-JSON, RFC 7493 §2.2); beyond, two records could share a commitment.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A record's content under `canon`: the bytes its commitment hashes
/// (`docs/EVIDENCE-FORMAT.md` §5).
pub fn content<T: Serialize>(record: &T, canon: Canon) -> Result<Vec<u8>, Refusal> {
    let fail = |e: serde_json::Error| Refusal::Invalid(format!("the record cannot be written as JSON: {e}"));
    match canon {
        Canon::Compact => serde_json::to_vec(record).map_err(fail),
        Canon::Jcs => {
            let value = serde_json::to_value(record).map_err(fail)?;
            exact_numbers(&value)?;
            serde_json_canonicalizer::to_vec(&value).map_err(fail)
        }
    }
}

/// Refuses integers a double cannot hold exactly (see [`MAX_SAFE_INTEGER`]).
pub(crate) fn exact_numbers(v: &serde_json::Value) -> Result<(), Refusal> {
    match v {
        serde_json::Value::Number(n) => {
            let exact = n
                .as_u64()
                .map(|u| u <= MAX_SAFE_INTEGER)
                .or_else(|| n.as_i64().map(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER));
            match exact {
                Some(false) => Err(Refusal::Invalid(format!(
                    "the integer {n} is beyond ±(2^53 − 1): RFC 8785 cannot commit to it exactly"
                ))),
                _ => Ok(()),
            }
        }
        serde_json::Value::Array(a) => a.iter().try_for_each(exact_numbers),
        serde_json::Value::Object(o) => o.values().try_for_each(exact_numbers),
        _ => Ok(()),
    }
}

/// Why an action or a record is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("evidence {0} has expired: its file was deleted and only its record and tombstone remain")]
    Gone(String),
}

/// What an evidence item is, fixed at collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EvidenceRecord {
    pub id: String,
    pub incident: String,
    /// Retention class (`video`, `photo`, `export`, `document`, `other`...).
    pub class: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    /// Who collected it (the uploading token's name and id).
    pub collected_by: String,
    /// Where it came from: `camera:CAM-3`, `device:...`, `system:WMS`.
    pub collected_from: String,
    /// The time range the file covers, RFC 3339, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_to: Option<String>,
    pub description: String,
    /// Collection time, µs since 1970 UTC.
    pub collected_us: i64,
    /// End of its retention window, µs since 1970 UTC.
    pub retain_until_us: i64,
}

impl EvidenceRecord {
    /// The record as stored: compact JSON, members in the struct's order.
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn salt(&self, key: &SaltKey) -> [u8; 16] {
        key.salt("evidence", self.id.as_bytes())
    }

    /// The ledger entry that records this item, its content encoded by `canon`.
    pub fn entry(&self, salt: &[u8; 16], canon: Canon) -> Result<Entry, Refusal> {
        let mut file = [0u8; 32];
        hex::decode_to_slice(&self.sha256, &mut file)
            .map_err(|_| Refusal::Invalid(format!("sha256 {:?} is not 64 hex digits", self.sha256)))?;
        Ok(Entry::Evidence {
            id: self.id.clone(),
            sha256: file,
            size: self.size,
            at_us: self.collected_us,
            canon,
            commit: commitment(salt, &sha256(&content(self, canon)?)),
        })
    }
}

/// A custody action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Collected,
    Viewed,
    Downloaded,
    Exported,
    Transferred,
    Sealed,
    HoldSet,
    HoldLifted,
    Expired,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Collected => "collected",
            Action::Viewed => "viewed",
            Action::Downloaded => "downloaded",
            Action::Exported => "exported",
            Action::Transferred => "transferred",
            Action::Sealed => "sealed",
            Action::HoldSet => "hold_set",
            Action::HoldLifted => "hold_lifted",
            Action::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// One entry of an item's chain of custody.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustodyRecord {
    pub evidence: String,
    /// Position in the chain, from 0 (`collected`).
    pub n: u64,
    pub action: Action,
    pub actor: String,
    pub at_us: i64,
    pub reason: String,
    /// The receiving party of a transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
}

impl CustodyRecord {
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn salt(&self, key: &SaltKey) -> [u8; 16] {
        key.salt("custody", format!("{}/{}", self.evidence, self.n).as_bytes())
    }

    pub fn entry(&self, salt: &[u8; 16], canon: Canon) -> Result<Entry, Refusal> {
        Ok(Entry::Custody {
            evidence: self.evidence.clone(),
            n: self.n,
            action: self.action.as_str().to_owned(),
            at_us: self.at_us,
            canon,
            commit: commitment(salt, &sha256(&content(self, canon)?)),
        })
    }
}

/// An administrative act, recorded in the audit trail and the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditRecord {
    /// Position in the trail, from 1.
    pub n: u64,
    /// `token_created`, `reference_imported`, ...
    pub action: String,
    pub actor: String,
    pub at_us: i64,
    /// What was done, in the act's own terms.
    pub detail: serde_json::Value,
}

impl AuditRecord {
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn salt(&self, key: &SaltKey) -> [u8; 16] {
        key.salt("audit", &self.n.to_be_bytes())
    }

    pub fn entry(&self, salt: &[u8; 16], canon: Canon) -> Result<Entry, Refusal> {
        Ok(Entry::Audit {
            n: self.n,
            action: self.action.clone(),
            at_us: self.at_us,
            canon,
            commit: commitment(salt, &sha256(&content(self, canon)?)),
        })
    }
}

/// The state of an item, derived from its chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CustodyState {
    pub held: bool,
    pub sealed: bool,
    pub expired: bool,
    /// Next position in the chain.
    pub next: u64,
}

impl CustodyState {
    /// Replays a chain, checking that it is well formed.
    pub fn of(chain: &[CustodyRecord]) -> Result<CustodyState, Refusal> {
        let mut st = CustodyState::default();
        for (i, r) in chain.iter().enumerate() {
            if r.n != i as u64 {
                return Err(Refusal::Invalid(format!("custody record {} of {} is numbered {}", i, r.evidence, r.n)));
            }
            if (i == 0) != (r.action == Action::Collected) {
                return Err(Refusal::Invalid(format!("custody of {} must begin with collected, once", r.evidence)));
            }
            if i > 0 {
                st.allows(r.action, &r.evidence)?;
            }
            st.apply(r.action);
        }
        Ok(st)
    }

    fn apply(&mut self, a: Action) {
        match a {
            Action::HoldSet => self.held = true,
            Action::HoldLifted => self.held = false,
            Action::Sealed => self.sealed = true,
            Action::Expired => self.expired = true,
            _ => {}
        }
        self.next += 1;
    }

    /// Whether `action` may follow now (retention timing is checked by [`may_expire`]).
    pub fn allows(&self, action: Action, id: &str) -> Result<(), Refusal> {
        if self.expired {
            return Err(Refusal::Gone(id.to_owned()));
        }
        match action {
            Action::Collected => Err(Refusal::Conflict(format!("{id} was collected already"))),
            Action::HoldSet if self.held => Err(Refusal::Conflict(format!("{id} is already under legal hold"))),
            Action::HoldLifted if !self.held => Err(Refusal::Conflict(format!("{id} is not under legal hold"))),
            Action::Sealed if self.sealed => Err(Refusal::Conflict(format!("{id} is sealed already"))),
            Action::Transferred if self.sealed => {
                Err(Refusal::Conflict(format!("{id} is sealed: it can be viewed or exported, not transferred")))
            }
            Action::Expired if self.held => Err(Refusal::Conflict(format!(
                "{id} is under legal hold: it cannot be deleted until the hold is lifted"
            ))),
            _ => Ok(()),
        }
    }
}

/// Whether an item may be deleted at `now_us`: its window is over and no hold stands.
pub fn may_expire(record: &EvidenceRecord, state: &CustodyState, now_us: i64) -> Result<(), Refusal> {
    state.allows(Action::Expired, &record.id)?;
    if now_us < record.retain_until_us {
        return Err(Refusal::Conflict(format!(
            "{} is kept until {} (class {})",
            record.id,
            chrono::DateTime::from_timestamp_micros(record.retain_until_us).map(|t| t.to_rfc3339()).unwrap_or_default(),
            record.class
        )));
    }
    Ok(())
}

/// How long each class of evidence is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// (class, days), sorted by class.
    classes: Vec<(String, u32)>,
}

impl Default for RetentionPolicy {
    /// Video 90 days, photos and exports a year, documents seven years, other a year.
    fn default() -> Self {
        RetentionPolicy::new([("video", 90), ("photo", 365), ("export", 365), ("document", 2555), ("other", 365)])
    }
}

impl RetentionPolicy {
    pub fn new<S: Into<String>>(classes: impl IntoIterator<Item = (S, u32)>) -> RetentionPolicy {
        let mut classes: Vec<(String, u32)> = classes.into_iter().map(|(c, d)| (c.into(), d)).collect();
        classes.sort();
        classes.dedup_by(|a, b| a.0 == b.0);
        RetentionPolicy { classes }
    }

    /// Parses `class=days`, overriding or adding to the defaults.
    pub fn with_overrides(mut self, specs: &[String]) -> Result<RetentionPolicy, Refusal> {
        for s in specs {
            let (class, days) = s
                .split_once('=')
                .and_then(|(c, d)| Some((c.trim(), d.trim().trim_end_matches('d').parse::<u32>().ok()?)))
                .filter(|(c, _)| {
                    !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                })
                .ok_or_else(|| Refusal::Invalid(format!("retention {s:?}: use CLASS=DAYS, for example video=90")))?;
            self.classes.retain(|(c, _)| c != class);
            self.classes.push((class.to_owned(), days));
        }
        self.classes.sort();
        Ok(self)
    }

    /// The end of the window of an item of `class` collected at `collected_us`.
    pub fn retain_until(&self, class: &str, collected_us: i64) -> Result<i64, Refusal> {
        let days = self.classes.iter().find(|(c, _)| c == class).map(|(_, d)| *d).ok_or_else(|| {
            let known: Vec<&str> = self.classes.iter().map(|(c, _)| c.as_str()).collect();
            Refusal::Invalid(format!("unknown evidence class {class:?}; known classes: {}", known.join(", ")))
        })?;
        Ok(collected_us.saturating_add(i64::from(days) * 86_400_000_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opening() -> AuditRecord {
        AuditRecord {
            n: 7,
            action: "incident_opened".into(),
            actor: "carol".into(),
            at_us: 5,
            detail: serde_json::json!({"site": "LYS", "id": "INC-1", "events": [{"source": "acs", "id": "e1"}]}),
        }
    }

    /// Format 2's record commitment hashes compact JSON in the order the
    /// record's members were written, objects of its detail included: what
    /// the manifest carries, read back and written again, gives the same
    /// bytes (serde_json's `preserve_order`, pinned in the workspace).
    #[test]
    fn audit_records_keep_their_members_in_the_order_written() {
        let r = opening();
        let bytes = r.canonical();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"n":7,"action":"incident_opened","actor":"carol","at_us":5,"detail":{"site":"LYS","id":"INC-1","events":[{"source":"acs","id":"e1"}]}}"#
        );
        let again: AuditRecord = serde_json::from_slice(&serde_json::to_vec_pretty(&r).unwrap()).unwrap();
        assert_eq!(again.canonical(), bytes);
    }

    /// Format 3's record commitment: RFC 8785. Members sorted by their
    /// UTF-16 code units whatever order they were written in, numbers as
    /// ECMAScript writes doubles, strings escaped only where JSON must; the
    /// vectors are RFC 8785's own (§3.2.2, §3.2.3, Appendix B).
    #[test]
    fn format_3_records_are_encoded_by_rfc_8785() {
        let r = opening();
        assert_eq!(
            String::from_utf8(content(&r, Canon::Jcs).unwrap()).unwrap(),
            r#"{"action":"incident_opened","actor":"carol","at_us":5,"detail":{"events":[{"id":"e1","source":"acs"}],"id":"INC-1","site":"LYS"},"n":7}"#
        );
        let jcs = |json: &str| {
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            String::from_utf8(content(&v, Canon::Jcs).unwrap()).unwrap()
        };
        assert_eq!(
            jcs(r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
                    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
                    "literals": [null, true, false]}"#),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
        // Sorting by UTF-16 code units: U+1F600 (D83D DE00) sorts before U+FB33.
        assert_eq!(
            jcs(
                r#"{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}"#
            ),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
        for (number, written) in [
            ("-0", "0"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("1e-7", "1e-7"),
            ("0.000001", "0.000001"),
            ("9007199254740991", "9007199254740991"),
            ("-9007199254740991", "-9007199254740991"),
        ] {
            assert_eq!(jcs(&format!("[{number}]")), format!("[{written}]"), "{number}");
        }
        // Integers a double cannot hold are refused, not rounded.
        for big in ["9007199254740992", "-9007199254740992", "18446744073709551615"] {
            let v: serde_json::Value = serde_json::from_str(&format!("{{\"n\":{big}}}")).unwrap();
            let err = content(&v, Canon::Jcs).unwrap_err().to_string();
            assert!(err.contains("2^53"), "{big}: {err}");
        }
        // The same record, written with its members in another order, commits the same.
        let again: AuditRecord = serde_json::from_str(
            r#"{"detail":{"site":"LYS","events":[{"id":"e1","source":"acs"}],"id":"INC-1"},"at_us":5,"actor":"carol","n":7,"action":"incident_opened"}"#,
        )
        .unwrap();
        assert_eq!(content(&again, Canon::Jcs).unwrap(), content(&r, Canon::Jcs).unwrap());
        assert_ne!(content(&r, Canon::Compact).unwrap(), content(&r, Canon::Jcs).unwrap());
    }

    fn rec(n: u64, action: Action) -> CustodyRecord {
        CustodyRecord {
            evidence: "ev_1".into(),
            n,
            action,
            actor: "alice".into(),
            at_us: n as i64,
            reason: "r".into(),
            party: None,
        }
    }

    #[test]
    fn chains_replay_and_refuse_what_does_not_follow() {
        let chain = [rec(0, Action::Collected), rec(1, Action::HoldSet), rec(2, Action::Sealed)];
        let st = CustodyState::of(&chain).unwrap();
        assert!(st.held && st.sealed && !st.expired);
        assert_eq!(st.next, 3);
        assert!(matches!(st.allows(Action::HoldSet, "ev_1"), Err(Refusal::Conflict(_))));
        assert!(matches!(st.allows(Action::Expired, "ev_1"), Err(Refusal::Conflict(m)) if m.contains("legal hold")));
        assert!(matches!(st.allows(Action::Transferred, "ev_1"), Err(Refusal::Conflict(_))));
        assert!(st.allows(Action::Downloaded, "ev_1").is_ok());
        assert!(st.allows(Action::HoldLifted, "ev_1").is_ok());
        // Malformed chains.
        assert!(CustodyState::of(&[rec(0, Action::Viewed)]).is_err());
        assert!(CustodyState::of(&[rec(0, Action::Collected), rec(2, Action::Viewed)]).is_err());
        assert!(CustodyState::of(&[rec(0, Action::Collected), rec(1, Action::HoldLifted)]).is_err());
        let gone = CustodyState::of(&[rec(0, Action::Collected), rec(1, Action::Expired)]).unwrap();
        assert!(matches!(gone.allows(Action::Downloaded, "ev_1"), Err(Refusal::Gone(_))));
    }

    #[test]
    fn retention_windows_per_class() {
        let p = RetentionPolicy::default().with_overrides(&["video=30".into(), "cctv=7d".into()]).unwrap();
        assert_eq!(p.retain_until("video", 0).unwrap(), 30 * 86_400_000_000);
        assert_eq!(p.retain_until("cctv", 1).unwrap(), 1 + 7 * 86_400_000_000);
        let e = p.retain_until("mystery", 0).unwrap_err().to_string();
        assert!(e.contains("unknown evidence class") && e.contains("document"), "{e}");
        for bad in ["video", "=3", "video=x", "a b=3"] {
            assert!(RetentionPolicy::default().with_overrides(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn actions_have_one_spelling() {
        for a in [Action::Collected, Action::HoldSet, Action::Expired, Action::Transferred] {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        assert_eq!(Action::parse("teleported"), None);
    }
}
