//! What to simulate: the configuration, the scenarios asked for and their
//! parameters, and the checks that refuse what cannot be simulated.

use super::*;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Config {
    pub sites: u32,
    pub days: u32,
    pub seed: u64,
    /// First simulated day (a Monday by default).
    pub start: NaiveDate,
    /// Instances of each scenario type to inject across the network.
    pub per_scenario: u32,
    /// Instances of given scenario types, with parameters. A type named
    /// here gets these (summed over its specs) instead of `per_scenario`.
    pub scenarios: Vec<ScenarioSpec>,
    /// Deliver routine inventory movements as GS1 EPCIS 2.0 documents (one
    /// per site and day) instead of the WMS's NDJSON feed.
    pub epcis: bool,
    /// Deliver badge reads as the access-control system's CSV export, one
    /// per site with its column-mapping file, instead of NDJSON.
    pub csv: bool,
}

/// How many instances of a scenario to inject, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSpec {
    pub scenario: Scenario,
    pub count: u32,
    pub params: Params,
}

/// Parameters of injected instances. Unset ones are drawn at random (or take
/// the scenario's usual value); which ones a scenario takes is
/// [`Params::accepted`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// Day of the period it happens on, from 1.
    pub day: Option<u32>,
    /// Site it happens at, from 1 (in reference-data order).
    pub site: Option<u32>,
    /// Local hour it starts.
    pub hour: Option<u32>,
    /// Units taken (per day, for slow skimming), received or moved.
    pub units: Option<i64>,
    /// Days it lasts (slow skimming), or days between termination and use.
    pub days: Option<u32>,
    /// Minutes a door is held, between camera loss and theft, or of overtime.
    pub minutes: Option<u32>,
    /// Seconds between the two reads of a shared badge.
    pub seconds: Option<u32>,
    /// People through a door on one grant, or out in a drill.
    pub people: Option<u32>,
    /// Failed logins before the success.
    pub failures: Option<u32>,
    /// API calls made.
    pub calls: Option<u32>,
}

/// (parameter, lowest, highest)
pub(super) type Bound = (&'static str, i64, i64);

impl Params {
    /// The parameters `scenario` takes beyond `day`, `site` and `hour`, with their bounds.
    pub fn accepted(scenario: Scenario) -> &'static [Bound] {
        const UNITS: Bound = ("units", 1, 10_000);
        match scenario {
            Scenario::AfterHoursCageRemoval
            | Scenario::DockCollusion
            | Scenario::PhantomReceipts
            | Scenario::RecordManipulation
            | Scenario::VendorOutsideWindow
            | Scenario::AuthorisedAfterHoursMove => &[UNITS],
            Scenario::Tailgating => &[("people", 2, 20)],
            Scenario::TerminatedBadgeInUse => &[("days", 1, 60)],
            Scenario::SlowSkimming => &[("days", 1, 60), UNITS],
            Scenario::CameraOfflineBeforeLoss => &[("minutes", 1, 240), UNITS],
            Scenario::BadgeSharing => &[("seconds", 1, 600)],
            Scenario::DockDoorHeldAtNight => &[("minutes", 1, 600)],
            Scenario::PrivilegeEscalation => &[("failures", 0, 50), UNITS],
            Scenario::ScheduledOvertime => &[("minutes", 1, 600)],
            Scenario::EmergencyDoorOpening => &[("people", 1, 500)],
            Scenario::SplitAdjustments | Scenario::UncountedLocation | Scenario::SkippedCounts => &[UNITS],
            Scenario::PickDrift => &[("days", 7, 60)],
            Scenario::VendorBulkExport | Scenario::VendorResync => &[("calls", 1, 5_000)],
            Scenario::SharedCredential | Scenario::MultiSiteLogin => &[("minutes", 1, 600)],
            Scenario::DeviceReconfigured
            | Scenario::MaintainerReconfig
            | Scenario::SmallWritedowns
            | Scenario::OverflowWorkOrder
            | Scenario::NewHireCage
            | Scenario::NewCageOperator
            | Scenario::CountDeferred => &[],
        }
    }

    fn set(&mut self, scenario: Scenario, key: &str, value: &str) -> Result<(), String> {
        let common: [Bound; 3] = [("day", 1, 366), ("site", 1, 500), ("hour", 0, 23)];
        let own = Params::accepted(scenario);
        let Some(&(_, lo, hi)) = common.iter().chain(own).find(|b| b.0 == key) else {
            let names: Vec<&str> = common.iter().chain(own).map(|b| b.0).collect();
            return Err(format!("unknown parameter `{key}`; {} takes {}", scenario.as_str(), names.join(", ")));
        };
        let v = value
            .parse::<i64>()
            .ok()
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(|| format!("`{key}` must be a whole number from {lo} to {hi}, got {value:?}"))?;
        let small = v as u32;
        match key {
            "day" => self.day = Some(small),
            "site" => self.site = Some(small),
            "hour" => self.hour = Some(small),
            "units" => self.units = Some(v),
            "days" => self.days = Some(small),
            "minutes" => self.minutes = Some(small),
            "seconds" => self.seconds = Some(small),
            "people" => self.people = Some(small),
            "failures" => self.failures = Some(small),
            "calls" => self.calls = Some(small),
            other => return Err(format!("parameter `{other}` has bounds but no field")),
        }
        Ok(())
    }
}

/// Parses `NAME=COUNT[,KEY=VALUE...]`: a scenario of the library, how many
/// instances, and their parameters (for example `slow_skimming=2,days=12,units=3`).
pub fn parse_scenario(spec: &str) -> Result<ScenarioSpec, ConfigError> {
    let mut parts = spec.split(',');
    let head = parts.next().unwrap_or_default();
    let (name, count) = head.split_once('=').ok_or_else(|| {
        ConfigError(format!("--scenario {spec:?}: use NAME=COUNT[,KEY=VALUE...], for example slow_skimming=3,days=12"))
    })?;
    let scenario: Scenario =
        serde_json::from_value(serde_json::Value::String(name.trim().to_owned())).map_err(|_| {
            let known: Vec<String> = Scenario::ALL.iter().map(|s| s.as_str()).collect();
            ConfigError(format!("unknown scenario {name:?}; the library has: {}", known.join(", ")))
        })?;
    let count = count
        .trim()
        .parse::<u32>()
        .map_err(|_| ConfigError(format!("--scenario {spec:?}: the count must be a whole number from 0")))?;
    let mut params = Params::default();
    for kv in parts {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| ConfigError(format!("--scenario {spec:?}: parameter {kv:?} needs KEY=VALUE")))?;
        params.set(scenario, k.trim(), v.trim()).map_err(|e| ConfigError(format!("--scenario {spec:?}: {e}")))?;
    }
    Ok(ScenarioSpec { scenario, count, params })
}

/// Why a configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    pub fn check(&self) -> Result<(), ConfigError> {
        if !(1..=500).contains(&self.sites) {
            return Err(ConfigError(format!("--sites must be between 1 and 500, got {}", self.sites)));
        }
        if !(1..=366).contains(&self.days) {
            return Err(ConfigError(format!("--days must be between 1 and 366, got {}", self.days)));
        }
        if self.per_scenario > 1000 || self.scenarios.iter().any(|s| s.count > 1000) {
            return Err(ConfigError("at most 1000 instances per scenario".into()));
        }
        for s in &self.scenarios {
            let name = s.scenario.as_str();
            if let Some(day) = s.params.day.filter(|d| *d > self.days) {
                return Err(ConfigError(format!("--scenario {name}: day {day} is past the {}-day period", self.days)));
            }
            if let Some(site) = s.params.site.filter(|n| *n > self.sites) {
                return Err(ConfigError(format!("--scenario {name}: site {site}, but only {} simulated", self.sites)));
            }
            let two_sites = matches!(s.scenario, Scenario::SharedCredential | Scenario::MultiSiteLogin);
            if two_sites && s.count > 0 && self.sites < 2 {
                return Err(ConfigError(format!("--scenario {name}: an account at two sites needs --sites 2 or more")));
            }
            if s.scenario == Scenario::TerminatedBadgeInUse {
                let after = s.params.days.unwrap_or(1);
                if s.params.day.is_some_and(|d| d <= after) || self.days <= after {
                    return Err(ConfigError(format!(
                        "--scenario {name}: the termination {after} day(s) before the misuse must fall in the period"
                    )));
                }
            }
        }
        Ok(())
    }
}
