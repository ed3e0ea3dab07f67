//! Tabletop exercises scored: how a team worked the incidents a simulated
//! scenario raised in an exercise workspace (`docs/EXERCISES.md`).
//!
//! The exercise clock starts when the workspace is handed over: times to
//! triage and contain run from then, and each playbook task is due its own
//! allowance after it (its deadline minus the incident's detection), since
//! the scenario's events lie in simulated time.

use crate::lifecycle::Status;
use crate::timeline::{Response, TaskStatus};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// An exercise's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExerciseScore {
    pub exercise: String,
    pub scenario: String,
    pub started: DateTime<FixedOffset>,
    pub scored: DateTime<FixedOffset>,
    /// Whether detection raised an incident for the scenario at all.
    pub detected: bool,
    /// The incidents that cover it.
    pub incidents: Vec<String>,
    /// From the start to the first of them triaged, then contained.
    pub time_to_triage_s: Option<f64>,
    pub time_to_contain_s: Option<f64>,
    pub tasks_on_time: u64,
    pub tasks_late: u64,
    /// Open past their allowance when scored.
    pub tasks_missed: u64,
    /// Open and still within it.
    pub tasks_open: u64,
    /// What was missed, in words.
    pub missed: Vec<String>,
    /// 0-100: detected 30, triaged 15, contained 20, tasks on time 35.
    pub score: u32,
}

fn secs(a: DateTime<FixedOffset>, b: DateTime<FixedOffset>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}

/// Scores the incidents that cover the exercise's scenario.
pub fn score(
    exercise: &str,
    scenario: &str,
    started: DateTime<FixedOffset>,
    scored: DateTime<FixedOffset>,
    covering: &[&Response],
) -> ExerciseScore {
    let mut s = ExerciseScore {
        exercise: exercise.to_owned(),
        scenario: scenario.to_owned(),
        started,
        scored,
        detected: !covering.is_empty(),
        incidents: covering.iter().map(|r| r.incident.clone()).collect(),
        time_to_triage_s: None,
        time_to_contain_s: None,
        tasks_on_time: 0,
        tasks_late: 0,
        tasks_missed: 0,
        tasks_open: 0,
        missed: Vec::new(),
        score: 0,
    };
    if covering.is_empty() {
        s.missed.push(format!("detection raised no incident for the {scenario} scenario"));
        return s;
    }
    let clocks: Vec<_> = covering.iter().map(|r| r.clocked()).collect();
    s.time_to_triage_s = clocks.iter().filter_map(|c| c.triaged).min().map(|t| secs(started, t).max(0.0));
    s.time_to_contain_s = clocks.iter().filter_map(|c| c.contained).min().map(|t| secs(started, t).max(0.0));
    for (r, c) in covering.iter().zip(&clocks) {
        if c.triaged.is_none() && r.status != Status::FalsePositive {
            s.missed.push(format!("{} was never triaged", r.incident));
        }
        if r.status == Status::FalsePositive {
            s.missed.push(format!("{} was judged a false positive, but the scenario was real", r.incident));
        }
        if c.contained.is_none() && r.contained.is_empty() {
            s.missed.push(format!("{} was never contained", r.incident));
        }
        for t in &r.tasks {
            let allowance = t.task.due - r.detected;
            let due = started + allowance;
            match (t.status, t.at) {
                (TaskStatus::Done, Some(at)) if at <= due => s.tasks_on_time += 1,
                (TaskStatus::Done, _) => {
                    s.tasks_late += 1;
                    s.missed.push(format!("{}: task {} was done late", r.incident, t.task.id));
                }
                (TaskStatus::Skipped, _) => {}
                (TaskStatus::Open, _) if due < scored => {
                    s.tasks_missed += 1;
                    s.missed.push(format!("{}: task {} was not done by its deadline", r.incident, t.task.id));
                }
                (TaskStatus::Open, _) => s.tasks_open += 1,
            }
        }
    }
    let judged = s.tasks_on_time + s.tasks_late + s.tasks_missed;
    let tasks = if judged == 0 { 35.0 } else { 35.0 * s.tasks_on_time as f64 / judged as f64 };
    s.score = (30.0
        + if s.time_to_triage_s.is_some() { 15.0 } else { 0.0 }
        + if s.time_to_contain_s.is_some() { 20.0 } else { 0.0 }
        + tasks)
        .round() as u32;
    s
}
