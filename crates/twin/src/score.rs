//! Scoring incidents against the truth.
//!
//! An incident **covers** an instance when it cites one of the instance's
//! events, or when it is at the same site, names one of its actors or
//! entities, and its span overlaps the instance's; or when one of its
//! `developments` (what joined it after it opened) does so, from that
//! development's time. An instance is **detected** by the incident that
//! covers it first; its time to detect is when that incident came to cover
//! it (its `opened_at`, or the development's `at`) minus the instance's
//! `first_signal` (zero if that was earlier). An incident is **true** when it
//! covers at least one malicious instance; every other incident (including
//! one that only covers a benign look-alike) is a false alarm.
//!
//! Percentiles use the nearest-rank method.

use crate::truth::{Development, EventRef, Incident, Incidents, Instance, Scenario, Truth};
use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceScore {
    pub id: String,
    pub scenario: Scenario,
    pub benign: bool,
    pub site: String,
    /// The earliest incident covering it.
    pub detected_by: Option<String>,
    /// Seconds from its first observable signal to that incident.
    pub time_to_detect_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioScore {
    pub scenario: Scenario,
    pub instances: usize,
    pub detected: usize,
    /// Detected / instances (for benign look-alikes: the share that raised a false alarm).
    pub rate: f64,
    pub median_time_to_detect_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub instances: Vec<InstanceScore>,
    pub per_scenario: Vec<ScenarioScore>,
    pub incidents: usize,
    pub true_incidents: usize,
    pub false_incidents: usize,
    /// Malicious instances detected / malicious instances.
    pub recall: Option<f64>,
    /// True incidents / incidents.
    pub precision: Option<f64>,
    pub false_incidents_per_site_week: f64,
    pub median_time_to_detect_s: Option<f64>,
    pub p90_time_to_detect_s: Option<f64>,
    /// Benign look-alikes that raised an incident.
    pub benign_alarmed: usize,
}

fn covers_part(
    site: &str,
    (from, to): (DateTime<FixedOffset>, DateTime<FixedOffset>),
    entities: &[String],
    events: &[EventRef],
    inst: &Instance,
) -> bool {
    if events.iter().any(|e| inst.events.contains(e)) {
        return true;
    }
    site == inst.site
        && from <= inst.end
        && inst.start <= to
        && entities.iter().any(|e| inst.actors.contains(e) || inst.entities.contains(e))
}

/// When the incident came to cover the instance: at its opening, or at the
/// first development that made it cover it (None: it never did).
fn covers(inc: &Incident, inst: &Instance) -> Option<DateTime<FixedOffset>> {
    if covers_part(&inc.site, (inc.from, inc.to), &inc.entities, &inc.events, inst) {
        return Some(inc.opened_at);
    }
    let mut devs: Vec<&Development> = inc.developments.iter().collect();
    devs.sort_by_key(|d| d.at);
    let (mut from, mut to) = (inc.from, inc.to);
    for d in devs {
        (from, to) = (from.min(d.from), to.max(d.to));
        if covers_part(&inc.site, (from, to), &d.entities, &d.events, inst) {
            return Some(d.at.max(inc.opened_at));
        }
    }
    None
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// Scores `incidents` against `truth`.
pub fn score(truth: &Truth, incidents: &Incidents) -> Scores {
    let mut instances = Vec::with_capacity(truth.instances.len());
    let mut true_ids: HashSet<&str> = HashSet::new();
    let mut benign_alarmed = 0;
    for inst in &truth.instances {
        let covering: Vec<(&Incident, DateTime<FixedOffset>)> =
            incidents.incidents.iter().filter_map(|inc| covers(inc, inst).map(|at| (inc, at))).collect();
        if !inst.benign {
            true_ids.extend(covering.iter().map(|(i, _)| i.id.as_str()));
        } else if !covering.is_empty() {
            benign_alarmed += 1;
        }
        let first = covering.iter().min_by(|a, b| a.1.cmp(&b.1).then(a.0.id.cmp(&b.0.id)));
        instances.push(InstanceScore {
            id: inst.id.clone(),
            scenario: inst.scenario,
            benign: inst.benign,
            site: inst.site.clone(),
            detected_by: first.map(|(i, _)| i.id.clone()),
            time_to_detect_s: first
                .map(|(_, at)| ((*at - inst.first_signal).num_milliseconds().max(0)) as f64 / 1000.0),
        });
    }
    let mut per_scenario = Vec::new();
    for s in Scenario::ALL {
        let of: Vec<&InstanceScore> = instances.iter().filter(|i| i.scenario == s).collect();
        if of.is_empty() {
            continue;
        }
        let detected = of.iter().filter(|i| i.detected_by.is_some()).count();
        let ttd = sorted(of.iter().filter_map(|i| i.time_to_detect_s).collect());
        per_scenario.push(ScenarioScore {
            scenario: s,
            instances: of.len(),
            detected,
            rate: detected as f64 / of.len() as f64,
            median_time_to_detect_s: percentile(&ttd, 0.5),
        });
    }
    let malicious: Vec<&InstanceScore> = instances.iter().filter(|i| !i.benign).collect();
    let detected = malicious.iter().filter(|i| i.detected_by.is_some()).count();
    let ttd = sorted(malicious.iter().filter_map(|i| i.time_to_detect_s).collect());
    let n = incidents.incidents.len();
    let true_incidents = incidents.incidents.iter().filter(|i| true_ids.contains(i.id.as_str())).count();
    let false_incidents = n - true_incidents;
    let site_weeks = truth.site_weeks();
    Scores {
        recall: (!malicious.is_empty()).then(|| detected as f64 / malicious.len() as f64),
        precision: (n > 0).then(|| true_incidents as f64 / n as f64),
        false_incidents_per_site_week: if site_weeks > 0.0 { false_incidents as f64 / site_weeks } else { 0.0 },
        median_time_to_detect_s: percentile(&ttd, 0.5),
        p90_time_to_detect_s: percentile(&ttd, 0.9),
        incidents: n,
        true_incidents,
        false_incidents,
        benign_alarmed,
        per_scenario,
        instances,
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_else(|| "-".into())
}

fn dur(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(s) if s < 120.0 => format!("{s:.0} s"),
        Some(s) if s < 7200.0 => format!("{:.1} min", s / 60.0),
        Some(s) => format!("{:.1} h", s / 3600.0),
    }
}

/// The table `stockade eval` prints.
pub fn render(s: &Scores) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<38} {:>9} {:>9} {:>8} {:>12}\n",
        "scenario", "instances", "detected", "rate", "median TTD"
    ));
    for p in &s.per_scenario {
        let name =
            if p.scenario.is_benign() { format!("{} (benign)", p.scenario.as_str()) } else { p.scenario.as_str() };
        out.push_str(&format!(
            "{:<38} {:>9} {:>9} {:>8} {:>12}\n",
            name,
            p.instances,
            p.detected,
            pct(Some(p.rate)),
            dur(p.median_time_to_detect_s)
        ));
    }
    out.push('\n');
    out.push_str(&format!("recall                    {}\n", pct(s.recall)));
    out.push_str(&format!(
        "precision                 {} ({} of {} incidents true)\n",
        pct(s.precision),
        s.true_incidents,
        s.incidents
    ));
    out.push_str(&format!(
        "false incidents           {} ({:.2} per site-week)\n",
        s.false_incidents, s.false_incidents_per_site_week
    ));
    out.push_str(&format!("benign look-alikes alarmed {}\n", s.benign_alarmed));
    out.push_str(&format!(
        "time to detect            median {}, p90 {}\n",
        dur(s.median_time_to_detect_s),
        dur(s.p90_time_to_detect_s)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::truth::EventRef;

    fn t(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn ev(id: &str) -> EventRef {
        EventRef { source: "acs".into(), id: id.into() }
    }

    fn truth() -> Truth {
        let inst = |id: &str,
                    scenario: Scenario,
                    site: &str,
                    actor: &str,
                    start: &str,
                    signal: &str,
                    end: &str,
                    events: &[&str]| {
            Instance {
                id: id.into(),
                scenario,
                benign: scenario.is_benign(),
                site: site.into(),
                actors: vec![actor.into()],
                entities: vec![],
                start: t(start),
                end: t(end),
                first_signal: t(signal),
                events: events.iter().map(|e| ev(e)).collect(),
            }
        };
        Truth {
            format: crate::truth::TRUTH_FORMAT.into(),
            seed: 1,
            from: t("2026-11-02T00:00:00Z"),
            to: t("2026-11-16T00:00:00Z"),
            sites: vec!["LYS".into(), "ROT".into()],
            instances: vec![
                inst(
                    "a",
                    Scenario::TerminatedBadgeInUse,
                    "LYS",
                    "P-1",
                    "2026-11-03T22:00:00Z",
                    "2026-11-03T22:05:00Z",
                    "2026-11-03T23:00:00Z",
                    &["e1", "e2"],
                ),
                inst(
                    "b",
                    Scenario::TerminatedBadgeInUse,
                    "ROT",
                    "P-2",
                    "2026-11-05T01:00:00Z",
                    "2026-11-05T01:00:00Z",
                    "2026-11-05T02:00:00Z",
                    &["e3"],
                ),
                inst(
                    "c",
                    Scenario::Tailgating,
                    "LYS",
                    "P-3",
                    "2026-11-06T10:00:00Z",
                    "2026-11-06T10:00:00Z",
                    "2026-11-06T10:01:00Z",
                    &["e4"],
                ),
                inst(
                    "d",
                    Scenario::AuthorisedAfterHoursMove,
                    "LYS",
                    "P-4",
                    "2026-11-07T22:00:00Z",
                    "2026-11-07T22:00:00Z",
                    "2026-11-07T23:00:00Z",
                    &["e5"],
                ),
            ],
        }
    }

    fn incident(
        id: &str,
        site: &str,
        opened: &str,
        entities: &[&str],
        events: &[&str],
        from: &str,
        to: &str,
    ) -> Incident {
        Incident {
            id: id.into(),
            site: site.into(),
            opened_at: t(opened),
            scenario: None,
            entities: entities.iter().map(|e| e.to_string()).collect(),
            from: t(from),
            to: t(to),
            events: events.iter().map(|e| ev(e)).collect(),
            developments: Vec::new(),
        }
    }

    #[test]
    fn covering_missing_and_false_alarms_are_scored() {
        let incidents = Incidents {
            format: crate::truth::INCIDENTS_FORMAT.into(),
            incidents: vec![
                // Covers "a" by event, 10 minutes after its first signal.
                incident(
                    "I1",
                    "LYS",
                    "2026-11-03T22:15:00Z",
                    &[],
                    &["e2"],
                    "2026-11-03T22:00:00Z",
                    "2026-11-03T22:20:00Z",
                ),
                // Covers "a" again later by entity: not earlier, so not its detector.
                incident(
                    "I2",
                    "LYS",
                    "2026-11-04T08:00:00Z",
                    &["P-1"],
                    &[],
                    "2026-11-03T22:30:00Z",
                    "2026-11-03T23:30:00Z",
                ),
                // Names P-2 but at the wrong site: covers nothing.
                incident(
                    "I3",
                    "LYS",
                    "2026-11-05T03:00:00Z",
                    &["P-2"],
                    &[],
                    "2026-11-05T00:00:00Z",
                    "2026-11-05T04:00:00Z",
                ),
                // Alarms on the benign look-alike.
                incident(
                    "I4",
                    "LYS",
                    "2026-11-07T22:30:00Z",
                    &["P-4"],
                    &[],
                    "2026-11-07T22:00:00Z",
                    "2026-11-07T22:30:00Z",
                ),
                // Raised before the first signal of "c": time to detect is zero.
                incident(
                    "I5",
                    "LYS",
                    "2026-11-06T09:59:00Z",
                    &[],
                    &["e4"],
                    "2026-11-06T09:59:00Z",
                    "2026-11-06T10:01:00Z",
                ),
            ],
        };
        let s = score(&truth(), &incidents);
        let by_id = |id: &str| s.instances.iter().find(|i| i.id == id).unwrap().clone();
        assert_eq!(by_id("a").detected_by.as_deref(), Some("I1"));
        assert_eq!(by_id("a").time_to_detect_s, Some(600.0));
        assert_eq!(by_id("b").detected_by, None, "missed");
        assert_eq!(by_id("c").time_to_detect_s, Some(0.0));
        assert_eq!(by_id("d").detected_by.as_deref(), Some("I4"));
        assert_eq!((s.true_incidents, s.false_incidents, s.benign_alarmed), (3, 2, 1));
        assert_eq!(s.recall, Some(2.0 / 3.0));
        assert_eq!(s.precision, Some(0.6));
        // Two sites for two weeks: four site-weeks.
        assert!((s.false_incidents_per_site_week - 0.5).abs() < 1e-9);
        assert_eq!(s.median_time_to_detect_s, Some(0.0));
        assert_eq!(s.p90_time_to_detect_s, Some(600.0));
        let terminated = s.per_scenario.iter().find(|p| p.scenario == Scenario::TerminatedBadgeInUse).unwrap();
        assert_eq!((terminated.instances, terminated.detected), (2, 1));
        let table = render(&s);
        assert!(
            table.contains("terminated_badge_in_use") && table.contains("50.0%") && table.contains("(benign)"),
            "{table}"
        );
    }

    #[test]
    fn an_incident_that_grows_covers_from_its_development_time() {
        // Opened on "c" at 10:00; an alert citing "b"'s event joins at 10:30
        // (at another site's instance: growth never crosses sites by
        // entities, but a cited event is a cited event).
        let mut grown =
            incident("G1", "LYS", "2026-11-06T10:00:00Z", &[], &["e4"], "2026-11-06T10:00:00Z", "2026-11-06T10:00:00Z");
        grown.developments.push(Development {
            at: t("2026-11-06T10:30:00Z"),
            from: t("2026-11-06T10:30:00Z"),
            to: t("2026-11-06T10:30:00Z"),
            entities: vec!["P-4".into()],
            events: vec![],
        });
        grown.developments.push(Development {
            at: t("2026-11-06T11:00:00Z"),
            from: t("2026-11-05T01:30:00Z"),
            to: t("2026-11-06T11:00:00Z"),
            entities: vec![],
            events: vec![ev("e3")],
        });
        let s = score(&truth(), &Incidents { format: crate::truth::INCIDENTS_FORMAT.into(), incidents: vec![grown] });
        let by_id = |id: &str| s.instances.iter().find(|i| i.id == id).unwrap().clone();
        assert_eq!(by_id("c").time_to_detect_s, Some(0.0), "covered when it opened");
        let b = by_id("b");
        assert_eq!(b.detected_by.as_deref(), Some("G1"));
        assert_eq!(b.time_to_detect_s, Some((10.0 + 24.0) * 3600.0), "from the development that cited it");
        // P-4's look-alike lies a day later than the grown span: not covered.
        assert_eq!(by_id("d").detected_by, None);
    }

    #[test]
    fn no_incidents_scores_zero_recall_and_no_precision() {
        let s = score(&truth(), &Incidents { format: crate::truth::INCIDENTS_FORMAT.into(), incidents: vec![] });
        assert_eq!((s.recall, s.precision, s.false_incidents), (Some(0.0), None, 0));
        assert_eq!(s.median_time_to_detect_s, None);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(percentile(&v, 0.5), Some(5.0));
        assert_eq!(percentile(&v, 0.9), Some(9.0));
        assert_eq!(percentile(&[4.0], 0.9), Some(4.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
