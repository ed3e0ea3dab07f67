//! Incidents: a case opened by an analyst or a detector, the span of
//! activity it covers, the entities it names and the events it cites.
//!
//! Pure: no I/O. The server numbers incidents, records each opening in the
//! audit trail (and so in the evidence ledger) and stores them; `stockade
//! eval` scores them against a simulation's truth.
//!
//! Invariants:
//! - An incident is numbered from 1 without gaps; its id is `INC-<n>`, the
//!   string evidence is collected under.
//! - `from <= to`; `opened_at` is the time it was raised (the detection
//!   time), set by whoever records it, never by the caller.
//! - A recorded incident is never edited through this crate: later work on
//!   it (response, closure) will be recorded beside it.
#![forbid(unsafe_code)]

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// The most entities and events one incident may name: a case, not a dump.
pub const MAX_ENTITIES: usize = 1_000;
pub const MAX_EVENTS: usize = 10_000;
const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 10_000;

/// How bad it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

/// An event, by its producer's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventRef {
    pub source: String,
    pub id: String,
}

/// An incident as asked for: what the caller says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    pub site: String,
    pub title: String,
    #[serde(default)]
    pub severity: Severity,
    /// The kind of theft or misuse suspected (for example a scenario name of
    /// `docs/PRODUCT.md`), if known.
    #[serde(default)]
    pub scenario: Option<String>,
    #[serde(default)]
    pub summary: String,
    /// The span of activity it covers (RFC 3339 with offset).
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    /// People, badges, doors, accounts, SKUs... it names, by id.
    #[serde(default)]
    pub entities: Vec<String>,
    /// The events it cites.
    #[serde(default)]
    pub events: Vec<EventRef>,
    /// The detection rules or models behind it, strongest first (what
    /// chooses its playbook); empty for incidents people open unless they
    /// say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// When a detector found it, in event time (a replay of history finds it
    /// when a live run would have); absent for incidents people open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_at: Option<DateTime<FixedOffset>>,
}

/// A recorded incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub n: u64,
    pub id: String,
    /// When it was raised (the detection time).
    pub opened_at: DateTime<FixedOffset>,
    /// Who raised it: an analyst's token, or a detector.
    pub opened_by: String,
    #[serde(flatten)]
    pub incident: NewIncident,
}

/// Why an incident was refused: the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct Invalid {
    pub field: String,
    pub reason: String,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Invalid {
    Invalid { field: field.into(), reason: reason.into() }
}

/// The id of incident `n`.
pub fn incident_id(n: u64) -> String {
    format!("INC-{n}")
}

/// The number in an incident id, if it is one.
pub fn incident_number(id: &str) -> Option<u64> {
    id.strip_prefix("INC-").and_then(|n| n.parse().ok()).filter(|n| *n > 0)
}

impl NewIncident {
    /// Every rule a caller can break, the first broken one reported.
    pub fn check(&self) -> Result<(), Invalid> {
        if self.site.trim().is_empty() {
            return Err(invalid("site", "must name a site"));
        }
        if self.title.trim().is_empty() {
            return Err(invalid("title", "must not be empty"));
        }
        if self.title.chars().count() > MAX_TITLE {
            return Err(invalid("title", format!("longer than {MAX_TITLE} characters")));
        }
        if self.summary.len() > MAX_TEXT {
            return Err(invalid("summary", format!("longer than {MAX_TEXT} bytes")));
        }
        let well_named = |s: &str| {
            !s.is_empty() && s.len() <= 100 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if self.scenario.as_deref().is_some_and(|s| !well_named(s)) {
            return Err(invalid("scenario", "1-100 letters, digits, `_` or `-`"));
        }
        if self.rules.len() > 100 {
            return Err(invalid("rules", "more than 100"));
        }
        if let Some(i) = self.rules.iter().position(|r| !well_named(r)) {
            return Err(invalid(format!("rules/{i}"), "1-100 letters, digits, `_` or `-`"));
        }
        if self.from > self.to {
            return Err(invalid("to", format!("{} is before `from` {}", self.to.to_rfc3339(), self.from.to_rfc3339())));
        }
        if self.entities.len() > MAX_ENTITIES {
            return Err(invalid("entities", format!("more than {MAX_ENTITIES}")));
        }
        if let Some(i) = self.entities.iter().position(|e| e.trim().is_empty()) {
            return Err(invalid(format!("entities/{i}"), "empty id"));
        }
        if self.events.len() > MAX_EVENTS {
            return Err(invalid("events", format!("more than {MAX_EVENTS}; cite the telling ones")));
        }
        if let Some(i) = self.events.iter().position(|e| e.source.is_empty() || e.id.is_empty()) {
            return Err(invalid(format!("events/{i}"), "needs `source` and `id`"));
        }
        Ok(())
    }

    /// The incident recorded as number `n`, opened now by `opened_by`.
    pub fn open(self, n: u64, opened_at: DateTime<FixedOffset>, opened_by: &str) -> Result<IncidentRecord, Invalid> {
        self.check()?;
        Ok(IncidentRecord { n, id: incident_id(n), opened_at, opened_by: opened_by.to_owned(), incident: self })
    }
}

impl IncidentRecord {
    /// The JSON it is stored and audited as.
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn sample() -> NewIncident {
        NewIncident {
            site: "S1".into(),
            title: "cage stock left after hours".into(),
            severity: Severity::High,
            scenario: Some("after_hours_cage_removal".into()),
            summary: String::new(),
            from: t("2026-03-02T23:00:00+01:00"),
            to: t("2026-03-02T23:40:00+01:00"),
            entities: vec!["P-7".into(), "D-CAGE".into()],
            events: vec![EventRef { source: "acs".into(), id: "a-1".into() }],
            rules: vec!["access-cage-after-hours".into()],
            detected_at: None,
        }
    }

    #[test]
    fn opens_with_a_number_and_keeps_what_was_said() {
        let r = sample().open(7, t("2026-03-03T08:00:00Z"), "ana (token t1)").unwrap();
        assert_eq!(r.id, "INC-7");
        assert_eq!(incident_number(&r.id), Some(7));
        let back: IncidentRecord = serde_json::from_slice(&r.canonical()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.incident.from.offset().local_minus_utc(), 3600);
    }

    #[test]
    fn every_rule_names_its_field() {
        type Breaks = fn(&mut NewIncident);
        let cases: Vec<(Breaks, &str)> = vec![
            (|i| i.site = " ".into(), "site"),
            (|i| i.title = String::new(), "title"),
            (|i| i.title = "x".repeat(201), "title"),
            (|i| i.summary = "x".repeat(10_001), "summary"),
            (|i| i.scenario = Some("drop table".into()), "scenario"),
            (|i| i.to = t("2026-03-02T21:00:00Z"), "to"),
            (|i| i.entities = vec!["P-1".into(), "".into()], "entities/1"),
            (|i| i.entities = vec!["P".into(); MAX_ENTITIES + 1], "entities"),
            (|i| i.events = vec![EventRef { source: "".into(), id: "x".into() }], "events/0"),
            (|i| i.rules = vec!["ok".into(), "not ok".into()], "rules/1"),
        ];
        for (break_it, field) in cases {
            let mut i = sample();
            break_it(&mut i);
            assert_eq!(i.check().unwrap_err().field, field);
            assert!(i.open(1, t("2026-03-03T08:00:00Z"), "x").is_err());
        }
        assert!(sample().check().is_ok());
    }

    #[test]
    fn unknown_fields_and_times_without_offsets_are_refused() {
        let ok = r#"{"site":"S1","title":"t","from":"2026-03-02T23:00:00Z","to":"2026-03-02T23:00:00Z"}"#;
        let i: NewIncident = serde_json::from_str(ok).unwrap();
        assert_eq!(i.severity, Severity::Medium);
        let extra =
            r#"{"site":"S1","title":"t","from":"2026-03-02T23:00:00Z","to":"2026-03-02T23:00:00Z","id":"INC-9"}"#;
        assert!(serde_json::from_str::<NewIncident>(extra).unwrap_err().to_string().contains("unknown field `id`"));
        let naive = r#"{"site":"S1","title":"t","from":"2026-03-02T23:00:00","to":"2026-03-02T23:00:00Z"}"#;
        assert!(serde_json::from_str::<NewIncident>(naive).is_err());
    }

    #[test]
    fn ids_parse_only_when_they_are_incident_ids() {
        assert_eq!(incident_number("INC-12"), Some(12));
        for bad in ["INC-0", "INC-", "inc-3", "INC-x", "12"] {
            assert_eq!(incident_number(bad), None, "{bad}");
        }
    }
}
