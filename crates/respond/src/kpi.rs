//! Response-time KPIs from recorded timestamps (`docs/KPI.md`): per
//! incident its clock ([`Clocked`]), over many the figures leaders watch
//! ([`Figures`]) and their trend by day, week or month.
//!
//! Definitions (every duration in seconds, from effective times):
//! - time to detect: first observable signal → detection;
//! - time to triage: detection → triaged (or, when triage was skipped, the
//!   first later state);
//! - time to contain: detection → contained (or, when containment was
//!   skipped, remediating or recovered: the harm was stopped by then);
//! - time to recover (MTTR): detection → recovered;
//! - tasks on time: playbook tasks done by their deadline, against those
//!   done after it or still open past it.
//!
//! False positives and duplicates count in `false_positives` and
//! `duplicates` and nowhere else; an incident counts in a duration once it
//! has reached the state that ends it.

use crate::lifecycle::Status;
use crate::timeline::{Response, TaskStatus};
use chrono::{DateTime, Datelike, Duration, FixedOffset, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// One incident's response clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clocked {
    pub incident: String,
    pub sites: Vec<String>,
    pub status: Status,
    pub first_signal: DateTime<FixedOffset>,
    pub detected: DateTime<FixedOffset>,
    pub triaged: Option<DateTime<FixedOffset>>,
    pub contained: Option<DateTime<FixedOffset>>,
    pub recovered: Option<DateTime<FixedOffset>>,
    pub closed: Option<DateTime<FixedOffset>>,
    /// Whether it was ever judged a false positive and stays one.
    pub false_positive: bool,
    /// Its playbook's tasks: done by their deadline, done after it or still
    /// open past it (recorded overdue), and skipped.
    pub tasks_on_time: u64,
    pub tasks_late: u64,
    pub tasks_skipped: u64,
}

impl Response {
    /// The incident's clock, from the states it reached.
    pub fn clocked(&self) -> Clocked {
        let first = |states: &[Status]| states.iter().filter_map(|s| self.reached.get(s)).min().copied();
        use Status::*;
        Clocked {
            incident: self.incident.clone(),
            sites: self.sites.clone(),
            status: self.status,
            first_signal: self.first_signal,
            detected: self.detected,
            triaged: first(&[Triaged, Contained, Investigating, Remediating, Recovered, Closed]),
            contained: first(&[Contained, Remediating, Recovered, Closed]),
            recovered: first(&[Recovered, Closed]),
            closed: self.reached.get(&Closed).copied(),
            false_positive: self.status == FalsePositive,
            tasks_on_time: self
                .tasks
                .iter()
                .filter(|t| t.status == TaskStatus::Done && t.at.is_some_and(|at| at <= t.task.due))
                .count() as u64,
            tasks_late: self
                .tasks
                .iter()
                .filter(|t| match t.status {
                    TaskStatus::Done => t.at.is_some_and(|at| at > t.task.due),
                    TaskStatus::Open => t.overdue,
                    TaskStatus::Skipped => false,
                })
                .count() as u64,
            tasks_skipped: self.tasks.iter().filter(|t| t.status == TaskStatus::Skipped).count() as u64,
        }
    }
}

/// A duration's spread over the incidents it applies to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Incidents it was measured on.
    pub count: u64,
    pub mean_s: Option<f64>,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
    pub max_s: Option<f64>,
}

impl Spread {
    fn of(mut xs: Vec<f64>) -> Spread {
        if xs.is_empty() {
            return Spread::default();
        }
        xs.sort_by(f64::total_cmp);
        let n = xs.len();
        let median = if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 };
        // Nearest rank.
        let p90 = xs[((0.9 * n as f64).ceil() as usize).clamp(1, n) - 1];
        Spread {
            count: n as u64,
            mean_s: Some(xs.iter().sum::<f64>() / n as f64),
            median_s: Some(median),
            p90_s: Some(p90),
            max_s: xs.last().copied(),
        }
    }
}

/// The response figures over a set of incidents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Incidents detected in the period (duplicates included).
    pub incidents: u64,
    /// Still being worked.
    pub open: u64,
    pub false_positives: u64,
    pub duplicates: u64,
    /// Real incidents (neither false positives nor duplicates) not yet
    /// contained.
    pub uncontained: u64,
    /// MTTD: first observable signal → detection.
    pub time_to_detect: Spread,
    pub time_to_triage: Spread,
    pub time_to_contain: Spread,
    /// MTTR: detection → recovery.
    pub time_to_recover: Spread,
    /// Playbook tasks done by their deadline, and done late or open past it.
    pub tasks_on_time: u64,
    pub tasks_late: u64,
    pub tasks_skipped: u64,
    /// on time / (on time + late); absent with neither.
    pub tasks_on_time_rate: Option<f64>,
}

fn secs(a: DateTime<FixedOffset>, b: Option<DateTime<FixedOffset>>) -> Option<f64> {
    b.map(|b| (b - a).num_milliseconds() as f64 / 1000.0)
}

/// The figures over these incidents.
pub fn figures<'a>(clocks: impl IntoIterator<Item = &'a Clocked>) -> Figures {
    let mut f = Figures::default();
    let (mut detect, mut triage, mut contain, mut recover) = (vec![], vec![], vec![], vec![]);
    for c in clocks {
        f.incidents += 1;
        f.open += u64::from(c.status.is_open());
        if c.status == Status::Duplicate {
            f.duplicates += 1;
            continue;
        }
        if c.false_positive {
            f.false_positives += 1;
            continue;
        }
        f.uncontained += u64::from(c.contained.is_none());
        f.tasks_on_time += c.tasks_on_time;
        f.tasks_late += c.tasks_late;
        f.tasks_skipped += c.tasks_skipped;
        detect.extend(secs(c.first_signal, Some(c.detected)));
        triage.extend(secs(c.detected, c.triaged));
        contain.extend(secs(c.detected, c.contained));
        recover.extend(secs(c.detected, c.recovered));
    }
    let judged = f.tasks_on_time + f.tasks_late;
    f.tasks_on_time_rate = (judged > 0).then(|| f.tasks_on_time as f64 / judged as f64);
    f.time_to_detect = Spread::of(detect);
    f.time_to_triage = Spread::of(triage);
    f.time_to_contain = Spread::of(contain);
    f.time_to_recover = Spread::of(recover);
    f
}

/// A trend's bucket size. Buckets start at UTC midnight; weeks on Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    Day,
    Week,
    Month,
}

impl std::str::FromStr for Every {
    type Err = String;
    fn from_str(s: &str) -> Result<Every, String> {
        match s {
            "day" => Ok(Every::Day),
            "week" => Ok(Every::Week),
            "month" => Ok(Every::Month),
            _ => Err(format!("unknown period {s:?}; one of day, week, month")),
        }
    }
}

/// The start of the bucket holding `t`.
pub fn bucket(t: DateTime<FixedOffset>, every: Every) -> DateTime<Utc> {
    let d = t.with_timezone(&Utc).date_naive();
    let d = match every {
        Every::Day => d,
        Every::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        Every::Month => d.with_day(1).unwrap_or(d),
    };
    Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN))
}

/// One bucket of a trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub from: DateTime<Utc>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The figures per bucket of detection time, oldest first; buckets without
/// incidents are left out.
pub fn trend<'a>(clocks: impl IntoIterator<Item = &'a Clocked>, every: Every) -> Vec<Point> {
    let mut by: std::collections::BTreeMap<DateTime<Utc>, Vec<&Clocked>> = Default::default();
    for c in clocks {
        by.entry(bucket(c.detected, every)).or_default().push(c);
    }
    by.into_iter().map(|(from, cs)| Point { from, figures: figures(cs) }).collect()
}

/// A duration in seconds in the largest unit that keeps it readable
/// (`-` when unknown): `45 s`, `12.5 min`, `3.2 h`, `1.5 d`.
pub fn readable(s: Option<f64>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s.abs() < 120.0 => format!("{s:.0} s"),
        Some(s) if s.abs() < 7_200.0 => format!("{:.1} min", s / 60.0),
        Some(s) if s.abs() < 172_800.0 => format!("{:.1} h", s / 3_600.0),
        Some(s) => format!("{:.1} d", s / 86_400.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn spreads_take_the_middle_and_the_nearest_rank() {
        let s = Spread::of(vec![10.0, 1.0, 4.0, 7.0]);
        assert_eq!(
            (s.count, s.median_s, s.p90_s, s.max_s, s.mean_s),
            (4, Some(5.5), Some(10.0), Some(10.0), Some(5.5))
        );
        let s = Spread::of((1..=10).map(f64::from).collect());
        assert_eq!((s.median_s, s.p90_s), (Some(5.5), Some(9.0)));
        assert_eq!(Spread::of(vec![]), Spread::default());
    }

    #[test]
    fn buckets_start_at_utc_midnight_mondays_and_firsts() {
        let x = t("2026-03-05T01:30:00+02:00"); // Wednesday 23:30 UTC the day before
        assert_eq!(bucket(x, Every::Day).to_rfc3339(), "2026-03-04T00:00:00+00:00");
        assert_eq!(bucket(x, Every::Week).to_rfc3339(), "2026-03-02T00:00:00+00:00");
        assert_eq!(bucket(x, Every::Month).to_rfc3339(), "2026-03-01T00:00:00+00:00");
        assert!("year".parse::<Every>().is_err());
    }
}
