//! The two documents the scorer reads, and their checks.
//!
//! `truth.json` (written by the simulator):
//!
//! ```json
//! {"format": "stockade-truth/1", "seed": 7,
//!  "from": "2026-11-02T00:00:00Z", "to": "2026-11-16T00:00:00Z", "sites": ["LYS", "ROT"],
//!  "instances": [{"id": "t-0001", "scenario": "terminated_badge_in_use", "benign": false,
//!    "site": "LYS", "actors": ["P-0042"], "entities": ["B-0042", "LYS-D-CAGE"],
//!    "start": "…", "end": "…", "first_signal": "…",
//!    "events": [{"source": "acs-lys", "id": "e-991"}]}]}
//! ```
//!
//! `incidents.json` (written by any detector):
//!
//! ```json
//! {"format": "stockade-incidents/1",
//!  "incidents": [{"id": "INC-1", "site": "LYS", "opened_at": "…", "scenario": "…",
//!    "entities": ["B-0042"], "from": "…", "to": "…", "events": [{"source": "acs-lys", "id": "e-991"}],
//!    "developments": [{"at": "…", "from": "…", "to": "…", "entities": ["SKU-1"], "events": []}]}]}
//! ```
//!
//! Times are RFC 3339 with an offset.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The scenario library (`docs/PRODUCT.md`, "What it guards against"), plus the benign
/// look-alikes injected to measure false alarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    AfterHoursCageRemoval,
    Tailgating,
    TerminatedBadgeInUse,
    DockCollusion,
    PhantomReceipts,
    RecordManipulation,
    SlowSkimming,
    VendorOutsideWindow,
    CameraOfflineBeforeLoss,
    BadgeSharing,
    DockDoorHeldAtNight,
    PrivilegeEscalation,
    /// One account used at two sites at once: a password shared.
    SharedCredential,
    /// A camera or reader reconfigured at night outside its maintainer's window.
    DeviceReconfigured,
    /// Write-downs of one SKU split to stay under the approval threshold.
    SplitAdjustments,
    /// Valuable stock moved to a location no count covers, then taken.
    UncountedLocation,
    /// A new hire's over-provisioned badge opens the cage in the first week.
    NewHireCage,
    /// A vendor's API key exports the inventory in bulk outside its window.
    VendorBulkExport,
    /// Units taken from a cage place whose line the full count skips, week after week.
    SkippedCounts,
    /// A picker's lines drift to high-value stock over weeks, a unit pocketed now and then.
    PickDrift,
    /// Benign: after-hours stock moves with an approved work order.
    AuthorisedAfterHoursMove,
    /// Benign: overtime or weekend work on the roster.
    ScheduledOvertime,
    /// Benign: an emergency door opening (fire drill, alarm).
    EmergencyDoorOpening,
    /// Benign: a manager logs in at one site, then at another hours later.
    MultiSiteLogin,
    /// Benign: the maintainer reconfigures a device at night inside its window.
    MaintainerReconfig,
    /// Benign: small write-downs of several SKUs after a pallet fell.
    SmallWritedowns,
    /// Benign: stock parked on the overflow shelf under a work order.
    OverflowWorkOrder,
    /// Benign: a new cage operator works the cage in the first week.
    NewCageOperator,
    /// Benign: the reporting partner resynchronises in bulk inside its window.
    VendorResync,
    /// Benign: a count line deferred once, and counted the next morning.
    CountDeferred,
}

impl Scenario {
    pub const ALL: [Scenario; 30] = [
        Scenario::AfterHoursCageRemoval,
        Scenario::Tailgating,
        Scenario::TerminatedBadgeInUse,
        Scenario::DockCollusion,
        Scenario::PhantomReceipts,
        Scenario::RecordManipulation,
        Scenario::SlowSkimming,
        Scenario::VendorOutsideWindow,
        Scenario::CameraOfflineBeforeLoss,
        Scenario::BadgeSharing,
        Scenario::DockDoorHeldAtNight,
        Scenario::PrivilegeEscalation,
        Scenario::SharedCredential,
        Scenario::DeviceReconfigured,
        Scenario::SplitAdjustments,
        Scenario::UncountedLocation,
        Scenario::NewHireCage,
        Scenario::VendorBulkExport,
        Scenario::SkippedCounts,
        Scenario::PickDrift,
        Scenario::AuthorisedAfterHoursMove,
        Scenario::ScheduledOvertime,
        Scenario::EmergencyDoorOpening,
        Scenario::MultiSiteLogin,
        Scenario::MaintainerReconfig,
        Scenario::SmallWritedowns,
        Scenario::OverflowWorkOrder,
        Scenario::NewCageOperator,
        Scenario::VendorResync,
        Scenario::CountDeferred,
    ];

    pub fn as_str(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }

    /// Whether instances of it are benign look-alikes.
    pub fn is_benign(self) -> bool {
        matches!(
            self,
            Scenario::AuthorisedAfterHoursMove
                | Scenario::ScheduledOvertime
                | Scenario::EmergencyDoorOpening
                | Scenario::MultiSiteLogin
                | Scenario::MaintainerReconfig
                | Scenario::SmallWritedowns
                | Scenario::OverflowWorkOrder
                | Scenario::NewCageOperator
                | Scenario::VendorResync
                | Scenario::CountDeferred
        )
    }
}

/// An event, by its producer's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventRef {
    pub source: String,
    pub id: String,
}

/// One injected instance of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub scenario: Scenario,
    pub benign: bool,
    pub site: String,
    #[serde(default)]
    pub actors: Vec<String>,
    #[serde(default)]
    pub entities: Vec<String>,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    /// When the first event a detector could notice happened.
    pub first_signal: DateTime<FixedOffset>,
    pub events: Vec<EventRef>,
}

/// truth.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub format: String,
    pub seed: u64,
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    pub sites: Vec<String>,
    pub instances: Vec<Instance>,
}

/// One incident a detector raised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub site: String,
    /// When the detector raised it (the detection time).
    pub opened_at: DateTime<FixedOffset>,
    /// The detector's guess of the scenario, if it makes one (not scored).
    #[serde(default)]
    pub scenario: Option<String>,
    /// People, badges, doors, accounts, SKUs... it names.
    #[serde(default)]
    pub entities: Vec<String>,
    /// The span of activity it covers.
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    /// The events it cites.
    #[serde(default)]
    pub events: Vec<EventRef>,
    /// What joined it after it opened, each from its own time (optional).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub developments: Vec<Development>,
}

/// A later addition to an incident: an alert that joined its case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Development {
    /// When it joined (detection time).
    pub at: DateTime<FixedOffset>,
    /// The span of activity it covers.
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    #[serde(default)]
    pub entities: Vec<String>,
    #[serde(default)]
    pub events: Vec<EventRef>,
}

/// incidents.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incidents {
    pub format: String,
    pub incidents: Vec<Incident>,
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {why}")]
pub struct DocumentError {
    pub what: String,
    pub why: String,
}

fn err(what: impl Into<String>, why: impl Into<String>) -> DocumentError {
    DocumentError { what: what.into(), why: why.into() }
}

pub const TRUTH_FORMAT: &str = "stockade-truth/1";
pub const INCIDENTS_FORMAT: &str = "stockade-incidents/1";

impl Truth {
    /// Parses and checks truth.json.
    pub fn from_json(bytes: &[u8]) -> Result<Truth, DocumentError> {
        let t: Truth = serde_json::from_slice(bytes).map_err(|e| err("truth", e.to_string()))?;
        if t.format != TRUTH_FORMAT {
            return Err(err("truth", format!("format {:?} is not {TRUTH_FORMAT}", t.format)));
        }
        if t.sites.is_empty() {
            return Err(err("truth", "no sites"));
        }
        if t.to <= t.from {
            return Err(err("truth", "`to` must be after `from`"));
        }
        let mut ids = HashSet::new();
        for i in &t.instances {
            let what = format!("truth instance {}", i.id);
            if !ids.insert(&i.id) {
                return Err(err(what, "the id appears twice"));
            }
            if !t.sites.contains(&i.site) {
                return Err(err(what, format!("site {} is not one of the truth's sites", i.site)));
            }
            if i.benign != i.scenario.is_benign() {
                return Err(err(
                    what,
                    format!("{} is {}benign", i.scenario.as_str(), if i.benign { "not " } else { "" }),
                ));
            }
            if !(i.start <= i.first_signal && i.first_signal <= i.end) {
                return Err(err(what, "first_signal must lie between start and end"));
            }
            if i.start < t.from || i.end > t.to {
                return Err(err(what, "it lies outside the simulated period"));
            }
            // A benign look-alike may be an absence (a count line deferred):
            // only what a detector must find needs events to cite.
            if i.events.is_empty() && !i.benign {
                return Err(err(what, "a malicious instance has at least one event"));
            }
        }
        Ok(t)
    }

    /// Site-weeks simulated (the denominator of false alarms per site-week).
    pub fn site_weeks(&self) -> f64 {
        let days = (self.to - self.from).num_seconds() as f64 / 86_400.0;
        self.sites.len() as f64 * days / 7.0
    }
}

impl Incidents {
    /// Parses and checks incidents.json.
    pub fn from_json(bytes: &[u8]) -> Result<Incidents, DocumentError> {
        let d: Incidents = serde_json::from_slice(bytes).map_err(|e| err("incidents", e.to_string()))?;
        if d.format != INCIDENTS_FORMAT {
            return Err(err("incidents", format!("format {:?} is not {INCIDENTS_FORMAT}", d.format)));
        }
        let mut ids = HashSet::new();
        for i in &d.incidents {
            if !ids.insert(&i.id) {
                return Err(err(format!("incident {}", i.id), "the id appears twice"));
            }
            if i.to < i.from {
                return Err(err(format!("incident {}", i.id), "`to` is before `from`"));
            }
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_are_snake_case_and_complete() {
        assert_eq!(Scenario::TerminatedBadgeInUse.as_str(), "terminated_badge_in_use");
        let malicious = Scenario::ALL.iter().filter(|s| !s.is_benign()).count();
        assert_eq!(malicious, 20, "the twelve of docs/PRODUCT.md and eight more");
        let names: HashSet<String> = Scenario::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names.len(), Scenario::ALL.len(), "names are distinct");
        assert!(names.iter().all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
        let unknown = serde_json::from_str::<Scenario>("\"teleportation\"");
        assert!(unknown.is_err());
    }
}
