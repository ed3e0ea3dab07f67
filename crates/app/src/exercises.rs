//! Keeping tabletop exercises for trends: their start and their score are
//! audit records (`exercise_started`, `exercise_scored`) of the main data
//! directory, written locally by `stockade exercise` or through
//! `POST /api/v1/exercises` when a server holds that directory.
//!
//! Invariants:
//! - Only well-formed records are kept: an `EX-…` id, a scenario, a score
//!   of at most 100 that adds up from its parts' limits, scored no earlier
//!   than started; anything else is refused with the reason.

use crate::response::EXERCISE_SCORED;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use stockade_model::clock::Clock;
use stockade_respond::exercise::ExerciseScore;
use stockade_store::{Ledger, Store, StoreError, StoredAudit};

/// The audit action of an exercise's start.
pub const EXERCISE_STARTED: &str = "exercise_started";

/// An exercise handed over to a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Started {
    pub exercise: String,
    pub scenario: String,
    pub seed: u32,
    /// Where its workspace is (on the machine that prepared it).
    pub workspace: String,
}

/// What is kept about an exercise: `{"action": "exercise_started" |
/// "exercise_scored", "detail": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", content = "detail", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExerciseRecord {
    ExerciseStarted(Started),
    ExerciseScored(ExerciseScore),
}

/// Why an exercise record was refused.
#[derive(Debug, thiserror::Error)]
pub enum ExerciseError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn check_id(id: &str) -> Result<(), ExerciseError> {
    let ok = id.len() <= 100
        && id
            .strip_prefix("EX-")
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    if ok {
        Ok(())
    } else {
        Err(ExerciseError::Refused(format!("exercise id {id:?} is not EX-<letters, digits, - or _>")))
    }
}

fn check_scenario(s: &str) -> Result<(), ExerciseError> {
    if s.is_empty() || s.len() > 100 || !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(ExerciseError::Refused(format!("scenario {s:?} is not a scenario name")));
    }
    Ok(())
}

impl ExerciseRecord {
    /// The refusal of a malformed record, if any.
    pub fn check(&self) -> Result<(), ExerciseError> {
        match self {
            ExerciseRecord::ExerciseStarted(s) => {
                check_id(&s.exercise)?;
                check_scenario(&s.scenario)?;
                if s.workspace.len() > 4096 {
                    return Err(ExerciseError::Refused("`workspace` is longer than 4096 bytes".into()));
                }
            }
            ExerciseRecord::ExerciseScored(s) => {
                check_id(&s.exercise)?;
                check_scenario(&s.scenario)?;
                if s.score > 100 {
                    return Err(ExerciseError::Refused(format!("score {} is more than 100", s.score)));
                }
                if s.scored < s.started {
                    return Err(ExerciseError::Refused("scored before it started".into()));
                }
                if !s.detected && (s.score > 35 || !s.incidents.is_empty()) {
                    return Err(ExerciseError::Refused(
                        "an exercise detection missed scores at most the tasks' 35 and has no incidents".into(),
                    ));
                }
                let negative = |x: Option<f64>| x.is_some_and(|v| !v.is_finite() || v < 0.0);
                if negative(s.time_to_triage_s) || negative(s.time_to_contain_s) {
                    return Err(ExerciseError::Refused("times must be finite and not negative".into()));
                }
            }
        }
        Ok(())
    }

    fn action(&self) -> &'static str {
        match self {
            ExerciseRecord::ExerciseStarted(_) => EXERCISE_STARTED,
            ExerciseRecord::ExerciseScored(_) => EXERCISE_SCORED,
        }
    }
}

/// Checks and keeps an exercise record in the audit trail as `actor`.
pub async fn keep(
    store: &dyn Store,
    ledger: &Arc<Ledger>,
    clock: &dyn Clock,
    actor: &str,
    record: &ExerciseRecord,
) -> Result<StoredAudit, ExerciseError> {
    record.check()?;
    let detail = match record {
        ExerciseRecord::ExerciseStarted(s) => serde_json::to_value(s),
        ExerciseRecord::ExerciseScored(s) => serde_json::to_value(s),
    }
    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(crate::audit::record(store, ledger, clock, record.action(), actor, detail).await?)
}
