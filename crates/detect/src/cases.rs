//! Cases: alerts that share people, credentials or places close in time are
//! one real-world case; a case whose risk reaches the bar becomes an
//! incident, once.
//!
//! Joining: an alert joins the open case of its site that shares an actor
//! (person, badge, account, API key) within [`ACTOR_JOIN_S`] of the case's
//! last alert, or a place or thing (door, zone, camera, location, SKU, asset)
//! within [`PLACE_JOIN_S`] (zones only when they are not broad: a public or
//! general area, such as the whole floor, says nothing about who did what). Risk is the sum of the alerts' level weights,
//! decaying with a half-life of [`HALF_LIFE_S`]; at [`OPEN_AT`] the case
//! opens an incident naming its few entities, its span and its events.
//!
//! Invariant: the same alerts in the same order give the same cases and the
//! same openings; nothing depends on the wall clock.

use crate::alert::{Alert, Entity, EventKey, weight};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

pub const ACTOR_JOIN_S: i64 = 36 * 3600;
pub const PLACE_JOIN_S: i64 = 2 * 3600;
pub const HALF_LIFE_S: f64 = 72.0 * 3600.0;
pub const OPEN_AT: f64 = 45.0;
/// Cases quiet for this long are closed to new alerts.
const RETIRE_S: i64 = 3 * 24 * 3600;

const ACTORS: [&str; 4] = ["person", "badge", "account", "api_key"];
const PLACES: [&str; 7] = ["door", "zone", "camera", "location", "sku", "asset", "vendor"];

/// One case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Numbered from 1 in order of creation.
    pub n: u64,
    pub site: String,
    pub first: DateTime<FixedOffset>,
    pub last: DateTime<FixedOffset>,
    pub entities: Vec<Entity>,
    pub alerts: Vec<Alert>,
    /// Decayed risk as of `last`.
    pub risk: f64,
    pub opened: bool,
}

/// A case that has just reached the bar: what its incident says.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    pub case: u64,
    pub site: String,
    pub title: String,
    /// The highest level among its alerts.
    pub level: String,
    pub summary: String,
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    /// When it reached the bar (event time).
    pub detected_at: DateTime<FixedOffset>,
    pub entities: Vec<String>,
    pub events: Vec<EventKey>,
    /// The rules and models behind its alerts, strongest first (level,
    /// then earliest).
    pub rules: Vec<String>,
}

/// The open cases.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cases {
    open: Vec<Case>,
    next: u64,
    /// Zones that join nothing (set from reference data).
    #[serde(skip)]
    broad: std::collections::BTreeSet<String>,
}

fn shares(case: &Case, alert: &Alert, broad: &std::collections::BTreeSet<String>) -> bool {
    let gap = (alert.at - case.last).num_seconds().abs();
    alert.entities.iter().any(|e| {
        let window = if ACTORS.contains(&e.kind.as_str()) {
            ACTOR_JOIN_S
        } else if e.kind == "zone" && broad.contains(&e.id) {
            return false;
        } else if PLACES.contains(&e.kind.as_str()) {
            PLACE_JOIN_S
        } else {
            return false;
        };
        gap <= window && case.entities.contains(e)
    })
}

fn rank(level: &str) -> u8 {
    match level {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

impl Cases {
    /// Zones that are too wide to join alerts (public and general areas).
    pub fn set_broad(&mut self, zones: std::collections::BTreeSet<String>) {
        self.broad = zones;
    }

    /// Adds an alert; returns its case's number, and the opening if the case
    /// has just reached the bar.
    pub fn add(&mut self, alert: &Alert) -> (u64, Option<Opening>) {
        let site = alert.site.clone();
        self.open.retain(|c| c.site != site || (alert.at - c.last).num_seconds() <= RETIRE_S);
        let i = match self.open.iter().position(|c| c.site == site && shares(c, alert, &self.broad)) {
            Some(i) => i,
            None => {
                self.next += 1;
                self.open.push(Case {
                    n: self.next,
                    site,
                    first: alert.at,
                    last: alert.at,
                    entities: Vec::new(),
                    alerts: Vec::new(),
                    risk: 0.0,
                    opened: false,
                });
                self.open.len() - 1
            }
        };
        let case = &mut self.open[i];
        let elapsed = (alert.at - case.last).num_seconds().max(0) as f64;
        case.risk = case.risk * 0.5f64.powf(elapsed / HALF_LIFE_S) + weight(&alert.level);
        case.first = case.first.min(alert.at);
        case.last = case.last.max(alert.at);
        for e in &alert.entities {
            if !case.entities.contains(e) {
                case.entities.push(e.clone());
            }
        }
        case.alerts.push(alert.clone());
        if case.opened || case.risk < OPEN_AT {
            return (case.n, None);
        }
        case.opened = true;
        (case.n, Some(opening(case, alert)))
    }
}

/// The incident of a case that reached the bar at `at` with `last`, its latest alert.
fn opening(case: &Case, last: &Alert) -> Opening {
    let at = last.at;
    // The title is the highest level's, the earliest of those.
    let top =
        case.alerts.iter().max_by(|a, b| rank(&a.level).cmp(&rank(&b.level)).then(b.at.cmp(&a.at))).unwrap_or(last);
    let mut alerts: Vec<&Alert> = case.alerts.iter().collect();
    alerts.sort_by_key(|a| a.at);
    let mut summary = String::new();
    for a in &alerts {
        summary.push_str(&format!("{} [{}] {}: {}\n", a.at.to_rfc3339(), a.level, a.title, a.reason));
    }
    let mut events: Vec<EventKey> = Vec::new();
    for a in &alerts {
        for e in std::iter::once(&a.event).chain(&a.related) {
            if !events.contains(e) {
                events.push(e.clone());
            }
        }
    }
    let mut strongest = alerts.clone();
    strongest.sort_by(|a, b| rank(&b.level).cmp(&rank(&a.level)).then(a.at.cmp(&b.at)));
    let mut rules: Vec<String> = Vec::new();
    for a in strongest {
        if !rules.contains(&a.rule) {
            rules.push(a.rule.clone());
        }
    }
    let from = alerts.iter().map(|a| a.at).min().unwrap_or(at);
    let to = alerts.iter().map(|a| a.at).max().unwrap_or(at);
    Opening {
        case: case.n,
        site: case.site.clone(),
        title: top.title.clone(),
        level: top.level.clone(),
        summary,
        from,
        to,
        detected_at: at,
        entities: case.entities.iter().filter(|e| e.kind != "site").map(|e| e.id.clone()).collect(),
        events,
        rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::test_alert as alert;

    #[test]
    fn a_high_alert_opens_a_case_alone_and_only_once() {
        let mut c = Cases::default();
        let (n, o) = c.add(&alert("2026-03-02T23:00:00Z", "high", &[("person", "P1")]));
        let o = o.expect("opens");
        assert_eq!((n, o.case, o.level.as_str()), (1, 1, "high"));
        assert_eq!(o.entities, vec!["P1".to_owned()]);
        let (n, o) = c.add(&alert("2026-03-02T23:10:00Z", "high", &[("person", "P1")]));
        assert_eq!(n, 1);
        assert!(o.is_none());
    }

    #[test]
    fn mediums_add_up_when_they_share_an_actor_in_time() {
        let mut c = Cases::default();
        assert!(c.add(&alert("2026-03-02T10:00:00Z", "medium", &[("account", "a1")])).1.is_none());
        // Another account: a case of its own.
        assert!(c.add(&alert("2026-03-02T10:05:00Z", "medium", &[("account", "a2")])).1.is_none());
        // The first account again, within a day: the bar is reached.
        let (n, o) = c.add(&alert("2026-03-02T20:00:00Z", "medium", &[("account", "a1"), ("sku", "K")]));
        assert_eq!(n, 1);
        let o = o.expect("two mediums open it");
        assert_eq!(o.from.to_rfc3339(), "2026-03-02T10:00:00+00:00");
        assert_eq!(o.events.len(), 2);
    }

    #[test]
    fn broad_zones_join_nothing() {
        let mut c = Cases::default();
        c.set_broad(["S-FLOOR".to_owned()].into());
        let (first, _) = c.add(&alert("2026-03-02T10:00:00Z", "medium", &[("zone", "S-FLOOR"), ("person", "P1")]));
        let (n, _) = c.add(&alert("2026-03-02T10:30:00Z", "medium", &[("zone", "S-FLOOR"), ("person", "P2")]));
        assert_ne!(n, first, "the floor is everyone's");
        let (a, _) = c.add(&alert("2026-03-02T11:00:00Z", "medium", &[("zone", "S-CAGE")]));
        let (b, o) = c.add(&alert("2026-03-02T11:30:00Z", "medium", &[("zone", "S-CAGE")]));
        assert_eq!(a, b, "a secure zone joins");
        assert!(o.is_some());
    }

    #[test]
    fn places_join_only_briefly_and_risk_decays() {
        let mut c = Cases::default();
        c.add(&alert("2026-03-02T01:00:00Z", "medium", &[("door", "D1")]));
        // Same door five hours later: too late for a place to join.
        let (n, o) = c.add(&alert("2026-03-02T06:00:00Z", "medium", &[("door", "D1")]));
        assert_eq!(n, 2);
        assert!(o.is_none());
        // The same actor 30 hours apart: joined, but the first has decayed.
        let (first, _) = c.add(&alert("2026-03-04T01:00:00Z", "medium", &[("person", "P9")]));
        let (n, o) = c.add(&alert("2026-03-05T07:00:00Z", "medium", &[("person", "P9")]));
        assert_eq!(n, first);
        assert!(o.is_none(), "25 decayed over 30 h plus 25 stays under 45");
    }
}
