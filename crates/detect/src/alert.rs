//! Alerts: what a rule says about an event (or a correlation about a group
//! of them), and the entities it concerns.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// An event by its key, as incidents cite it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventKey {
    pub source: String,
    pub id: String,
    /// Its place in the log (and so its leaf in the evidence ledger), when
    /// the detector saw it stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
}

impl EventKey {
    /// The key of an event stored at `seq`.
    pub fn of(event: &stockade_model::event::Event, seq: i64) -> EventKey {
        EventKey { source: event.source.as_str().to_owned(), id: event.id.as_str().to_owned(), seq: Some(seq) }
    }
}

/// One entity an alert concerns: its type (`person`, `badge`, `door`...) and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// A rule's finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The rule's id.
    pub rule: String,
    pub title: String,
    /// Sigma level: informational, low, medium, high, critical.
    pub level: String,
    pub site: String,
    /// Detection time, from event time: the event that completed the
    /// finding (for an absence, the end of its wait).
    pub at: DateTime<FixedOffset>,
    /// The seq of the event that raised it (for an absence, of its A).
    pub seq: i64,
    /// The event that raised it.
    pub event: EventKey,
    /// Other events behind it (a correlation's, an absence's A).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<EventKey>,
    pub entities: Vec<Entity>,
    /// Why, in words.
    pub reason: String,
    /// For a count shortage: who and what could explain it, ranked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Box<crate::reconcile::Attribution>>,
}

/// Risk weight of a Sigma level: what one alert adds to its case.
pub fn weight(level: &str) -> f64 {
    match level {
        "critical" => 80.0,
        "high" => 50.0,
        "medium" => 25.0,
        "low" => 10.0,
        _ => 0.0,
    }
}

/// An alert for tests: rule `r-<level>`, at `at` (RFC 3339), naming `entities` as (type, id).
#[cfg(test)]
pub(crate) fn test_alert(at: &str, level: &str, entities: &[(&str, &str)]) -> Alert {
    Alert {
        rule: format!("r-{level}"),
        title: format!("{level} thing"),
        level: level.into(),
        site: "S1".into(),
        at: DateTime::parse_from_rfc3339(at).unwrap(),
        seq: 1,
        event: EventKey { source: "acs".into(), id: at.into(), seq: Some(1) },
        related: vec![],
        entities: entities.iter().map(|(k, i)| Entity { kind: (*k).into(), id: (*i).into() }).collect(),
        reason: "because".into(),
        attribution: None,
    }
}
