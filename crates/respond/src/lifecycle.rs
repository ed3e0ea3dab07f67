//! The incident lifecycle as an explicit state machine.
//!
//! ```text
//! detected ─► triaged ─► investigating ─► remediating ─► recovered ─► closed
//!    │           │   ╲        ▲   │            ▲            │           │
//!    │           │    ╲       │   ▼            │            ▼           │
//!    └───────────┴─────► contained ────────────┘      investigating ◄───┘ (reopened)
//!    └─ false_positive (from detected, triaged, investigating; reopened to triaged)
//!    └─ duplicate (only by merging into another incident; final)
//! ```

use serde::{Deserialize, Serialize};

/// Where an incident's response stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Raised by a detector or opened by hand; nobody has looked yet.
    Detected,
    /// Someone looked and judged it real enough to work.
    Triaged,
    /// The harm is stopped from spreading: credentials revoked, zone
    /// isolated, shipments held.
    Contained,
    /// Finding out what happened, who and how much.
    Investigating,
    /// Fixing the weak spot that let it happen.
    Remediating,
    /// Operations and inventory are back to normal.
    Recovered,
    /// Done, with its record complete.
    Closed,
    /// Not theft or misuse after all.
    FalsePositive,
    /// The same case as another incident, merged into it.
    Duplicate,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Detected,
        Status::Triaged,
        Status::Contained,
        Status::Investigating,
        Status::Remediating,
        Status::Recovered,
        Status::Closed,
        Status::FalsePositive,
        Status::Duplicate,
    ];

    /// The states an incident in this one may move to by a transition.
    /// (`duplicate` is reached only by merging.)
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Detected => &[Triaged, Contained, FalsePositive],
            Triaged => &[Contained, Investigating, FalsePositive],
            Contained => &[Investigating, Remediating],
            Investigating => &[Contained, Remediating, FalsePositive],
            Remediating => &[Recovered],
            Recovered => &[Closed, Investigating],
            Closed => &[Investigating],
            FalsePositive => &[Triaged],
            Duplicate => &[],
        }
    }

    /// Whether the response is still running (not closed, a false
    /// positive or a duplicate).
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Closed | Status::FalsePositive | Status::Duplicate)
    }

    /// Whether moving from `self` to `to` reopens a finished incident (a
    /// reason is then required).
    pub fn reopens(self, to: Status) -> bool {
        (self == Status::Closed || self == Status::FalsePositive) && to.is_open()
            || (self == Status::Recovered && to == Status::Investigating)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Detected => "detected",
            Status::Triaged => "triaged",
            Status::Contained => "contained",
            Status::Investigating => "investigating",
            Status::Remediating => "remediating",
            Status::Recovered => "recovered",
            Status::Closed => "closed",
            Status::FalsePositive => "false_positive",
            Status::Duplicate => "duplicate",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Status, String> {
        Status::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Status::ALL.iter().map(|x| x.as_str()).collect();
            format!("unknown status {s:?}; one of {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_but_duplicate_can_be_left_and_closed_is_reached_only_through_recovery() {
        for s in Status::ALL {
            assert_eq!(s.next().is_empty(), s == Status::Duplicate, "{s}");
            assert!(!s.next().contains(&Status::Duplicate), "{s}: duplicate is reached by merging only");
            assert!(!s.next().contains(&s), "{s} to itself");
            if s.next().contains(&Status::Closed) {
                assert_eq!(s, Status::Recovered);
            }
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!("open".parse::<Status>().unwrap_err().contains("false_positive"));
    }

    #[test]
    fn every_state_is_reachable_from_detected() {
        let mut seen = vec![Status::Detected];
        let mut i = 0;
        while i < seen.len() {
            for n in seen[i].next() {
                if !seen.contains(n) {
                    seen.push(*n);
                }
            }
            i += 1;
        }
        assert_eq!(seen.len(), Status::ALL.len() - 1, "all but duplicate: {seen:?}");
    }

    #[test]
    fn reopening_is_named() {
        assert!(Status::Closed.reopens(Status::Investigating));
        assert!(Status::FalsePositive.reopens(Status::Triaged));
        assert!(Status::Recovered.reopens(Status::Investigating));
        assert!(!Status::Triaged.reopens(Status::Contained));
    }
}
