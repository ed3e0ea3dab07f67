//! The executive scorecard of a period (`docs/SCORECARD.md`): the KPIs
//! against targets and against the period before, their weekly trends,
//! the sites and entities carrying the most risk, and the losses found.
//! Computed from recorded incidents, alerts and counts only; a figure with
//! nothing to measure is absent, never zero.

use crate::alerts::ListedAlert;
use crate::book::CountLine;
use crate::response::{Kpi, KpiQuery};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use stockade_incident::Severity;
use stockade_respond::{Every, Response, Status};

/// What leadership holds the response and the inventory to. Every field
/// may be left out of a targets file; unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Targets {
    /// Median first signal → detection, hours (at most).
    pub time_to_detect_h: f64,
    /// Median detection → containment, hours (at most).
    pub time_to_contain_h: f64,
    /// Median detection → recovery, hours (at most).
    pub time_to_recover_h: f64,
    /// Playbook tasks done by their deadline (at least, 0-1).
    pub tasks_on_time_rate: f64,
    /// Inventory record accuracy of the period's counts (at least, 0-1).
    pub record_accuracy: f64,
    /// Value variance rate of the period's counts (at most, 0-1).
    pub value_variance_rate: f64,
    /// Real incidents of the period still uncontained (at most).
    pub uncontained: u64,
    /// Tabletop exercises scored in the period (at least).
    pub exercises: u64,
}

impl Default for Targets {
    fn default() -> Targets {
        Targets {
            time_to_detect_h: 1.0,
            time_to_contain_h: 4.0,
            time_to_recover_h: 72.0,
            tasks_on_time_rate: 0.95,
            record_accuracy: 0.97,
            value_variance_rate: 0.01,
            uncontained: 0,
            exercises: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    #[error("targets file: {0}")]
    Parse(String),
    #[error("targets file: {field} must be {what}, not {value}")]
    Range { field: &'static str, what: &'static str, value: f64 },
}

impl Targets {
    /// Targets from YAML (or JSON), checked: times positive, rates in 0-1.
    pub fn parse(text: &str) -> Result<Targets, TargetsError> {
        let t: Targets = serde_yaml_ng::from_str(text).map_err(|e| TargetsError::Parse(e.to_string()))?;
        for (field, value) in [
            ("time_to_detect_h", t.time_to_detect_h),
            ("time_to_contain_h", t.time_to_contain_h),
            ("time_to_recover_h", t.time_to_recover_h),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(TargetsError::Range { field, what: "a positive number of hours", value });
            }
        }
        for (field, value) in [
            ("tasks_on_time_rate", t.tasks_on_time_rate),
            ("record_accuracy", t.record_accuracy),
            ("value_variance_rate", t.value_variance_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(TargetsError::Range { field, what: "a rate from 0 to 1", value });
            }
        }
        Ok(t)
    }
}

/// Which way a figure should go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    AtMost,
    AtLeast,
}

/// How a figure is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Hours,
    Rate,
    Count,
    Value,
}

/// One KPI of the period against its target and the period before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub name: &'static str,
    pub value: Option<f64>,
    pub previous: Option<f64>,
    /// None for figures shown without a target (losses).
    pub target: Option<f64>,
    pub goal: Goal,
    pub unit: Unit,
    /// Whether the value meets the target; None with no value or target.
    pub met: Option<bool>,
}

/// A site's share of the period's risk.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SiteRisk {
    pub site: String,
    /// Real incidents (not false positives or duplicates) detected there.
    pub incidents: u64,
    pub critical: u64,
    pub high: u64,
    pub open: u64,
    pub uncontained: u64,
    pub alerts: u64,
    /// Value the period's counts there found missing.
    pub shrink_value: f64,
    /// Σ severity weight of its real incidents (`docs/SCORECARD.md`).
    pub weight: u64,
}

/// An entity (person, badge, account, key, location, SKU...) named by the
/// period's real incidents and alerts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EntityRisk {
    pub entity: String,
    pub incidents: u64,
    pub alerts: u64,
    pub worst: Option<Severity>,
    /// The losses at stake in its incidents.
    pub stake_value: f64,
    pub sites: BTreeSet<String>,
    pub weight: u64,
}

/// An incident's loss: as an analyst declared it, or as its counts found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loss {
    pub incident: String,
    pub site: String,
    pub severity: Severity,
    pub status: Status,
    pub units: f64,
    pub value: f64,
    pub source: &'static str,
}

/// A week of the period (from Monday, UTC).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Week {
    pub from: DateTime<Utc>,
    pub alerts: u64,
    pub shrink_value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scorecard {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The sites it covers; empty: all.
    pub sites: Vec<String>,
    pub targets: Targets,
    pub lines: Vec<Line>,
    pub kpi: Kpi,
    pub previous: Kpi,
    pub weeks: Vec<Week>,
    pub site_risks: Vec<SiteRisk>,
    pub entity_risks: Vec<EntityRisk>,
    pub losses: Vec<Loss>,
    /// Σ the period's losses at stake in incidents.
    pub incident_losses: f64,
}

/// The severity weight a real incident adds to its sites' and entities'
/// risk.
pub fn weight(s: Severity) -> u64 {
    match s {
        Severity::Critical => 8,
        Severity::High => 4,
        Severity::Medium => 2,
        Severity::Low => 1,
    }
}

fn real(r: &Response) -> bool {
    !matches!(r.status, Status::FalsePositive | Status::Duplicate) && r.merged_into.is_none()
}

/// The default period: the 28 days up to the UTC midnight after the
/// latest recorded activity (an incident detected, an alert, a count), so
/// that a live system gets its last four weeks and a replay its own.
pub fn default_period(
    responses: &[Response],
    alerts: &[ListedAlert],
    counts: &[CountLine],
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let latest = responses
        .iter()
        .map(|r| r.detected.with_timezone(&Utc))
        .chain(alerts.iter().map(|a| a.alert.at.with_timezone(&Utc)))
        .chain(counts.iter().filter_map(|c| DateTime::from_timestamp_micros(c.counted_us)))
        .filter(|t| *t <= now)
        .max()
        .unwrap_or(now);
    let to = latest.date_naive().succ_opt().unwrap_or(latest.date_naive()).and_time(chrono::NaiveTime::MIN).and_utc();
    (to - Duration::days(28), to)
}

/// A period bound as people write it: a day (`2026-11-02`, its UTC
/// midnight) or an RFC 3339 time.
pub fn day_or_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    stockade_model::event::rfc3339::parse(s).ok().map(|t| t.to_utc())
}

/// Everything the scorecard is computed from, already limited to the
/// caller's sites where it is scoped.
pub struct Inputs<'a> {
    pub responses: &'a [Response],
    pub alerts: &'a [ListedAlert],
    pub counts: &'a [CountLine],
    pub unit_values: &'a HashMap<String, f64>,
    pub exercises: crate::response::Exercises,
    pub previous_exercises: crate::response::Exercises,
}

/// The scorecard of `[from, to)` at `sites` (empty: all).
pub fn scorecard(
    input: &Inputs<'_>,
    targets: &Targets,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    sites: &[String],
) -> Scorecard {
    let in_scope = |s: &str| sites.is_empty() || sites.iter().any(|x| x == s);
    let responses: Vec<Response> =
        input.responses.iter().filter(|r| r.sites.iter().any(|s| in_scope(s))).cloned().collect();
    let counts: Vec<CountLine> = input.counts.iter().filter(|c| in_scope(&c.site)).cloned().collect();
    let alerts: Vec<&ListedAlert> = input.alerts.iter().filter(|a| in_scope(&a.alert.site)).collect();
    let span = to - from;
    let q = KpiQuery { site: None, from: Some(from), to: Some(to), every: Some(Every::Week) };
    let mut kpi = crate::response::kpi(&responses, &counts, input.unit_values, &q);
    kpi.exercises = input.exercises.clone();
    let pq = KpiQuery { site: None, from: Some(from - span), to: Some(from), every: None };
    let mut previous = crate::response::kpi(&responses, &counts, input.unit_values, &pq);
    previous.exercises = input.previous_exercises.clone();

    let hours = |s: Option<f64>| s.map(|s| s / 3600.0);
    let line = |name, value: Option<f64>, previous: Option<f64>, target: Option<f64>, goal, unit| Line {
        name,
        value,
        previous,
        target,
        goal,
        unit,
        met: value.zip(target).map(|(v, t)| match goal {
            Goal::AtMost => v <= t + 1e-9,
            Goal::AtLeast => v >= t - 1e-9,
        }),
    };
    let (f, p) = (&kpi.figures, &previous.figures);
    let lines = vec![
        line(
            "Median time to detect (MTTD)",
            hours(f.time_to_detect.median_s),
            hours(p.time_to_detect.median_s),
            Some(targets.time_to_detect_h),
            Goal::AtMost,
            Unit::Hours,
        ),
        line(
            "Median time to contain",
            hours(f.time_to_contain.median_s),
            hours(p.time_to_contain.median_s),
            Some(targets.time_to_contain_h),
            Goal::AtMost,
            Unit::Hours,
        ),
        line(
            "Median time to recover (MTTR)",
            hours(f.time_to_recover.median_s),
            hours(p.time_to_recover.median_s),
            Some(targets.time_to_recover_h),
            Goal::AtMost,
            Unit::Hours,
        ),
        line(
            "Playbook tasks on time",
            f.tasks_on_time_rate,
            p.tasks_on_time_rate,
            Some(targets.tasks_on_time_rate),
            Goal::AtLeast,
            Unit::Rate,
        ),
        line(
            "Real incidents uncontained",
            Some(f.uncontained as f64),
            Some(p.uncontained as f64),
            Some(targets.uncontained as f64),
            Goal::AtMost,
            Unit::Count,
        ),
        line(
            "Inventory record accuracy",
            kpi.inventory.record_accuracy,
            previous.inventory.record_accuracy,
            Some(targets.record_accuracy),
            Goal::AtLeast,
            Unit::Rate,
        ),
        line(
            "Inventory value variance rate",
            kpi.inventory.value_variance_rate,
            previous.inventory.value_variance_rate,
            Some(targets.value_variance_rate),
            Goal::AtMost,
            Unit::Rate,
        ),
        line(
            "Tabletop exercises scored",
            Some(kpi.exercises.run as f64),
            Some(previous.exercises.run as f64),
            Some(targets.exercises as f64),
            Goal::AtLeast,
            Unit::Count,
        ),
        line(
            "Shrink found by counts (value)",
            Some(kpi.inventory.shrink_value),
            Some(previous.inventory.shrink_value),
            None,
            Goal::AtMost,
            Unit::Value,
        ),
    ];

    let within = |t: DateTime<Utc>| t >= from && t < to;
    let period_responses: Vec<&Response> =
        responses.iter().filter(|r| real(r) && within(r.detected.with_timezone(&Utc))).collect();
    let period_alerts: Vec<&ListedAlert> =
        alerts.iter().copied().filter(|a| within(a.alert.at.with_timezone(&Utc))).collect();
    let period_counts: Vec<&CountLine> =
        counts.iter().filter(|c| DateTime::from_timestamp_micros(c.counted_us).is_some_and(within)).collect();
    let missing = |c: &CountLine| (c.book - c.counted).max(0.0) * input.unit_values.get(&c.sku).copied().unwrap_or(0.0);

    // Weekly alerts and shrink, every week of the period shown.
    let monday = |t: DateTime<Utc>| {
        let d = t.date_naive();
        let back = i64::from(chrono::Datelike::weekday(&d).num_days_from_monday());
        (d - Duration::days(back)).and_time(chrono::NaiveTime::MIN).and_utc()
    };
    let mut weeks: BTreeMap<DateTime<Utc>, Week> = BTreeMap::new();
    let mut w = monday(from);
    while w < to {
        weeks.insert(w, Week { from: w, alerts: 0, shrink_value: 0.0 });
        w += Duration::days(7);
    }
    for a in &period_alerts {
        if let Some(wk) = weeks.get_mut(&monday(a.alert.at.with_timezone(&Utc))) {
            wk.alerts += 1;
        }
    }
    for c in &period_counts {
        if let Some(t) = DateTime::from_timestamp_micros(c.counted_us)
            && let Some(wk) = weeks.get_mut(&monday(t))
        {
            wk.shrink_value += missing(c);
        }
    }

    // Losses per incident: declared, else what its alerts' counts found.
    let mut by_incident: HashMap<&str, Vec<ListedAlert>> = HashMap::new();
    for a in &alerts {
        if let Some(i) = &a.incident {
            by_incident.entry(i.as_str()).or_default().push((*a).clone());
        }
    }
    let mut losses: Vec<Loss> = period_responses
        .iter()
        .map(|r| {
            let (units, value, source) = match r.stake {
                Some(d) => (d.units, d.value, "declared"),
                None => {
                    let s = crate::alerts::stake(by_incident.get(r.incident.as_str()).map_or(&[][..], Vec::as_slice));
                    (s.units, s.value, "counts")
                }
            };
            Loss {
                incident: r.incident.clone(),
                site: r.sites.first().cloned().unwrap_or_default(),
                severity: r.severity,
                status: r.status,
                units,
                value,
                source,
            }
        })
        .filter(|l| l.value > 0.0 || l.units > 0.0)
        .collect();
    losses.sort_by(|a, b| b.value.total_cmp(&a.value).then_with(|| a.incident.cmp(&b.incident)));
    let incident_losses = losses.iter().map(|l| l.value).sum();
    let loss_of: HashMap<&str, f64> = losses.iter().map(|l| (l.incident.as_str(), l.value)).collect();

    // Sites.
    let mut site_risks: BTreeMap<String, SiteRisk> = BTreeMap::new();
    let at = |m: &mut BTreeMap<String, SiteRisk>, s: &str| -> SiteRisk {
        m.remove(s).unwrap_or_else(|| SiteRisk { site: s.to_owned(), ..SiteRisk::default() })
    };
    for r in &period_responses {
        for s in r.sites.iter().filter(|s| in_scope(s)) {
            let mut x = at(&mut site_risks, s);
            x.incidents += 1;
            x.critical += u64::from(r.severity == Severity::Critical);
            x.high += u64::from(r.severity == Severity::High);
            x.open += u64::from(r.status.is_open());
            x.uncontained +=
                u64::from(!r.reached.keys().any(|k| {
                    matches!(k, Status::Contained | Status::Remediating | Status::Recovered | Status::Closed)
                }));
            x.weight += weight(r.severity);
            site_risks.insert(s.clone(), x);
        }
    }
    for a in &period_alerts {
        let mut x = at(&mut site_risks, &a.alert.site);
        x.alerts += 1;
        site_risks.insert(a.alert.site.clone(), x);
    }
    for c in &period_counts {
        let v = missing(c);
        if v > 0.0 {
            let mut x = at(&mut site_risks, &c.site);
            x.shrink_value += v;
            site_risks.insert(c.site.clone(), x);
        }
    }
    let mut site_risks: Vec<SiteRisk> = site_risks.into_values().collect();
    site_risks.sort_by(|a, b| {
        b.weight
            .cmp(&a.weight)
            .then(b.shrink_value.total_cmp(&a.shrink_value))
            .then(b.alerts.cmp(&a.alerts))
            .then(a.site.cmp(&b.site))
    });

    // Entities.
    let mut ents: BTreeMap<String, EntityRisk> = BTreeMap::new();
    for r in &period_responses {
        for e in &r.entities {
            let x = ents.entry(e.clone()).or_insert_with(|| EntityRisk { entity: e.clone(), ..EntityRisk::default() });
            x.incidents += 1;
            x.weight += weight(r.severity);
            x.worst = x.worst.max(Some(r.severity));
            x.stake_value += loss_of.get(r.incident.as_str()).copied().unwrap_or(0.0);
            x.sites.extend(r.sites.iter().filter(|s| in_scope(s)).cloned());
        }
    }
    for a in &period_alerts {
        for e in &a.alert.entities {
            let key = format!("{}:{}", e.kind, e.id);
            let x = ents.entry(key.clone()).or_insert_with(|| EntityRisk { entity: key, ..EntityRisk::default() });
            x.alerts += 1;
            x.sites.insert(a.alert.site.clone());
        }
    }
    let mut entity_risks: Vec<EntityRisk> = ents.into_values().collect();
    entity_risks.sort_by(|a, b| {
        b.weight
            .cmp(&a.weight)
            .then(b.stake_value.total_cmp(&a.stake_value))
            .then(b.alerts.cmp(&a.alerts))
            .then(a.entity.cmp(&b.entity))
    });
    entity_risks.truncate(10);

    Scorecard {
        from,
        to,
        sites: sites.to_vec(),
        targets: targets.clone(),
        lines,
        kpi,
        previous,
        weeks: weeks.into_values().collect(),
        site_risks,
        entity_risks,
        losses,
        incident_losses,
    }
}

/// Every alert, oldest first.
pub async fn all_alerts(store: &dyn stockade_store::Store) -> Result<Vec<ListedAlert>, stockade_store::StoreError> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let q = stockade_store::AlertQuery { after, limit: 10_000, ..Default::default() };
        let page = crate::alerts::list(store, &q).await?;
        let Some(last) = page.last() else { break };
        after = last.n;
        out.extend(page);
    }
    Ok(out)
}

/// The scorecard of `[from, to)` (default: [`default_period`]) from a
/// store's incidents, alerts and exercises and the stage's `counts`, at
/// `sites` (empty: all), SKUs valued from the reference data.
pub async fn load(
    store: &dyn stockade_store::Store,
    counts: &[CountLine],
    targets: &Targets,
    period: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    sites: &[String],
    now: DateTime<Utc>,
) -> Result<Scorecard, crate::response::ResponseError> {
    let responses = crate::response::all_worked(store).await?;
    let alerts = all_alerts(store).await?;
    let rows = store.reference(Some(stockade_model::RecordKind::Sku)).await?;
    let reference = stockade_model::ReferenceData::from_rows(rows)
        .map_err(|e| stockade_store::StoreError::Corrupt(e.to_string()))?;
    let unit_values = reference.skus.iter().map(|s| (s.id.as_str().to_owned(), s.unit_value)).collect();
    let (dfrom, dto) = default_period(&responses, &alerts, counts, now);
    let to = period.1.unwrap_or(dto);
    let from = period.0.unwrap_or(if period.1.is_some() { to - Duration::days(28) } else { dfrom });
    let span = to - from;
    let q = |from, to| KpiQuery { site: None, from: Some(from), to: Some(to), every: None };
    let exercises = crate::response::exercises(store, &q(from, to)).await?;
    let previous_exercises = crate::response::exercises(store, &q(from - span, from)).await?;
    let input = Inputs {
        responses: &responses,
        alerts: &alerts,
        counts,
        unit_values: &unit_values,
        exercises,
        previous_exercises,
    };
    Ok(scorecard(&input, targets, from, to, sites))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockade_incident::IncidentRecord;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// An incident detected at `at`, its activity starting two hours before.
    fn incident(id: &str, site: &str, severity: &str, at: &str, entities: &[&str]) -> Response {
        let record: IncidentRecord = serde_json::from_value(serde_json::json!({
            "n": 1, "id": id, "opened_at": at, "opened_by": "detector",
            "site": site, "title": "t", "severity": severity,
            "from": (t(at) - Duration::hours(2)).to_rfc3339(), "to": at,
            "entities": entities, "detected_at": at,
        }))
        .unwrap();
        Response::opened(&record)
    }

    fn count(site: &str, sku: &str, at: &str, counted: f64, book: f64) -> CountLine {
        CountLine {
            site: site.into(),
            location: format!("{site}-BIN"),
            sku: sku.into(),
            counted_us: t(at).timestamp_micros(),
            counted,
            book,
            correction: None,
            approximate: false,
        }
    }

    #[test]
    fn period_bounds_are_days_or_times() {
        assert_eq!(day_or_time("2026-11-02"), Some(t("2026-11-02T00:00:00Z")));
        assert_eq!(day_or_time("2026-11-02T10:00:00+02:00"), Some(t("2026-11-02T08:00:00Z")));
        assert_eq!(day_or_time("yesterday"), None);
        assert_eq!(day_or_time("2026-13-01"), None);
    }

    #[test]
    fn targets_files_are_checked() {
        assert_eq!(Targets::parse("{}").unwrap(), Targets::default());
        let t = Targets::parse("time_to_detect_h: 0.5\nrecord_accuracy: 0.99\n").unwrap();
        assert_eq!((t.time_to_detect_h, t.record_accuracy, t.time_to_contain_h), (0.5, 0.99, 4.0));
        let e = Targets::parse("time_to_detect: 1\n").unwrap_err().to_string();
        assert!(e.contains("unknown field `time_to_detect`"), "{e}");
        let e = Targets::parse("record_accuracy: 97\n").unwrap_err().to_string();
        assert_eq!(e, "targets file: record_accuracy must be a rate from 0 to 1, not 97");
        let e = Targets::parse("time_to_contain_h: -1\n").unwrap_err().to_string();
        assert!(e.contains("time_to_contain_h must be a positive number of hours"), "{e}");
        assert!(Targets::parse("time_to_detect_h: [").is_err());
    }

    #[test]
    fn a_period_is_scored_against_targets_the_period_before_and_by_risk() {
        let mut a = incident("INC-1", "DC-A", "critical", "2026-11-10T10:00:00Z", &["person:P-1", "location:CAGE"]);
        a.stake = Some(stockade_respond::timeline::Declared { units: 3.0, value: 900.0 });
        a.reached.insert(Status::Contained, DateTime::parse_from_rfc3339("2026-11-10T11:00:00Z").unwrap());
        let b = incident("INC-2", "DC-B", "low", "2026-11-12T10:00:00Z", &["person:P-2"]);
        let mut fp = incident("INC-3", "DC-A", "high", "2026-11-13T10:00:00Z", &["person:P-3"]);
        fp.status = Status::FalsePositive;
        // The period before: one incident detected in four hours.
        let mut old = incident("INC-0", "DC-A", "medium", "2026-10-20T10:00:00Z", &["person:P-1"]);
        old.first_signal = old.detected - Duration::hours(4);
        let responses = vec![old, a, b, fp];
        let counts = vec![
            count("DC-A", "SKU-1", "2026-11-11T08:00:00Z", 7.0, 10.0),
            count("DC-B", "SKU-1", "2026-11-11T08:00:00Z", 5.0, 5.0),
            count("DC-C", "SKU-1", "2026-11-11T08:00:00Z", 0.0, 1.0),
        ];
        let values = HashMap::from([("SKU-1".to_owned(), 100.0)]);
        let input = Inputs {
            responses: &responses,
            alerts: &[],
            counts: &counts,
            unit_values: &values,
            exercises: Default::default(),
            previous_exercises: Default::default(),
        };
        let (from, to) = (t("2026-11-02T00:00:00Z"), t("2026-11-30T00:00:00Z"));
        let s = scorecard(&input, &Targets::default(), from, to, &["DC-A".into(), "DC-B".into()]);
        let line = |name: &str| s.lines.iter().find(|l| l.name.starts_with(name)).unwrap().clone();
        let mttd = line("Median time to detect");
        assert_eq!((mttd.value, mttd.previous, mttd.met), (Some(2.0), Some(4.0), Some(false)));
        let contain = line("Median time to contain");
        assert_eq!((contain.value, contain.met), (Some(1.0), Some(true)));
        // DC-C's count is outside the scope: two counted places, one accurate.
        assert_eq!(line("Inventory record accuracy").value, Some(0.5));
        assert_eq!(line("Shrink found by counts").value, Some(300.0));
        assert_eq!(line("Real incidents uncontained").value, Some(1.0));
        assert_eq!(line("Tabletop exercises").met, Some(false));
        assert_eq!(line("Playbook tasks on time").met, None);
        // Sites by severity weight: DC-A (critical, the false positive not
        // counted) before DC-B.
        let sites: Vec<(&str, u64, u64, f64)> =
            s.site_risks.iter().map(|r| (r.site.as_str(), r.incidents, r.weight, r.shrink_value)).collect();
        assert_eq!(sites, vec![("DC-A", 1, 8, 300.0), ("DC-B", 1, 1, 0.0)]);
        assert_eq!(s.entity_risks[0].entity, "location:CAGE");
        assert_eq!(s.entity_risks[0].stake_value, 900.0);
        assert!(s.entity_risks.iter().all(|e| e.entity != "person:P-3"), "false positives name no risk");
        assert_eq!(s.losses.len(), 1);
        assert_eq!(
            (s.losses[0].incident.as_str(), s.losses[0].value, s.losses[0].source),
            ("INC-1", 900.0, "declared")
        );
        assert_eq!(s.incident_losses, 900.0);
        // Every week of the period is shown, shrink in the week it was counted.
        assert_eq!(s.weeks.len(), 4);
        assert_eq!(s.weeks[1].shrink_value, 300.0);
    }

    #[test]
    fn the_default_period_ends_after_the_latest_activity() {
        let r = incident("INC-1", "DC-A", "low", "2026-11-10T10:00:00Z", &[]);
        let (from, to) = default_period(&[r], &[], &[], t("2026-12-06T00:00:00Z"));
        assert_eq!((from, to), (t("2026-10-14T00:00:00Z"), t("2026-11-11T00:00:00Z")));
        let now = t("2026-12-06T12:00:00Z");
        assert_eq!(default_period(&[], &[], &[], now).1, t("2026-12-07T00:00:00Z"));
    }
}
