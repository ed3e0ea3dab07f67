//! Entity risk: every alert adds its level's weight ([`crate::alert::weight`])
//! to each entity it names (person, badge, account, door, SKU...), and that
//! weight halves every [`crate::cases::HALF_LIFE_S`], as a case's risk does.
//! An entity named by many alerts lately ranks above one named once long ago.
//!
//! Invariant: the ranking depends only on the alerts given and the time asked
//! for; alerts after that time count for nothing.

use crate::alert::{Alert, weight};
use crate::cases::HALF_LIFE_S;
use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Below this, an entity's risk is not reported (a low alert ten half-lives old).
pub const FLOOR: f64 = 0.01;

/// One entity's risk at a time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityRisk {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    /// Decayed sum of its alerts' weights.
    pub risk: f64,
    /// Alerts that named it (up to the time asked for).
    pub alerts: u32,
    /// The latest of them.
    pub last: DateTime<FixedOffset>,
    /// The rules behind them.
    pub rules: BTreeSet<String>,
}

/// Entities by decreasing risk at `at` (ties by type and id).
pub fn rank<'a>(alerts: impl IntoIterator<Item = &'a Alert>, at: DateTime<FixedOffset>) -> Vec<EntityRisk> {
    let mut by: BTreeMap<(String, String), EntityRisk> = BTreeMap::new();
    for a in alerts {
        if a.at > at {
            continue;
        }
        let age = (at - a.at).num_milliseconds() as f64 / 1000.0;
        let add = weight(&a.level) * 0.5f64.powf(age / HALF_LIFE_S);
        for e in &a.entities {
            let r = by.entry((e.kind.clone(), e.id.clone())).or_insert_with(|| EntityRisk {
                kind: e.kind.clone(),
                id: e.id.clone(),
                risk: 0.0,
                alerts: 0,
                last: a.at,
                rules: BTreeSet::new(),
            });
            r.risk += add;
            r.alerts += 1;
            r.last = r.last.max(a.at);
            r.rules.insert(a.rule.clone());
        }
    }
    let mut out: Vec<EntityRisk> = by.into_values().filter(|r| r.risk >= FLOOR).collect();
    out.sort_by(|a, b| b.risk.total_cmp(&a.risk).then_with(|| (&a.kind, &a.id).cmp(&(&b.kind, &b.id))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::test_alert as alert;

    #[test]
    fn risk_adds_up_decays_and_ignores_the_future() {
        let alerts = [
            alert("2026-03-01T00:00:00Z", "high", &[("person", "P1"), ("door", "D1")]),
            alert("2026-03-04T00:00:00Z", "medium", &[("person", "P1")]),
            alert("2026-03-04T00:00:00Z", "critical", &[("person", "P2")]),
            alert("2026-03-09T00:00:00Z", "critical", &[("person", "P3")]),
        ];
        let at = DateTime::parse_from_rfc3339("2026-03-04T00:00:00Z").unwrap();
        let r = rank(&alerts, at);
        // P2: 80 now; P1: 50 three days (one half-life) ago + 25 now; D1: 25.
        assert_eq!(r.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["P2", "P1", "D1"]);
        assert!((r[1].risk - 50.0).abs() < 1e-9, "{}", r[1].risk);
        assert!((r[2].risk - 25.0).abs() < 1e-9);
        assert_eq!(r[1].alerts, 2);
        assert_eq!(r[1].rules.len(), 2);
        assert_eq!(r[1].last, at);
        // Long after, everything has faded below the floor.
        let later = DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z").unwrap();
        assert!(rank(&alerts, later).is_empty());
    }
}
