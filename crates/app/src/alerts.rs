//! Reading what detection found: alerts with their case and incident, and
//! the risk of each entity they name; and what analysts make of them
//! (triage: taken, dismissed with a reason, reopened).
//!
//! Invariants: detection's alerts are never changed; a stored alert that
//! does not parse is an error (the store is damaged), never silently
//! dropped; every triage act is audited (`alert_triaged`) before it is
//! stored.

use chrono::{DateTime, FixedOffset, TimeDelta};
use serde::Serialize;
use stockade_detect::Alert;
use stockade_detect::risk::EntityRisk;
use stockade_store::{AlertQuery, Store, StoreError};

/// How far back alerts count towards risk (ten half-lives: a critical alert
/// older than this adds less than a tenth of a point).
pub const RISK_HORIZON: TimeDelta = TimeDelta::days(30);

/// An alert as listed.
#[derive(Debug, Clone, Serialize)]
pub struct ListedAlert {
    /// Its number (paging cursor).
    pub n: u64,
    /// The case it joined.
    pub case: u64,
    /// The incident its case opened, if it has.
    pub incident: Option<String>,
    /// What an analyst made of it, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triage: Option<stockade_store::AlertTriage>,
    #[serde(flatten)]
    pub alert: Alert,
}

fn parse(record: &str, n: u64) -> Result<Alert, StoreError> {
    serde_json::from_str(record).map_err(|e| StoreError::Corrupt(format!("alert {n} does not parse: {e}")))
}

/// Alerts that pass the filter, in order, with their triage.
pub async fn list(store: &dyn Store, q: &AlertQuery) -> Result<Vec<ListedAlert>, StoreError> {
    let rows = store.alerts(q).await?;
    let (Some(first), Some(last)) = (rows.first().map(|r| r.0.n), rows.last().map(|r| r.0.n)) else {
        return Ok(Vec::new());
    };
    let triage: std::collections::HashMap<u64, stockade_store::AlertTriage> =
        store.triage(first, last).await?.into_iter().map(|t| (t.n, t)).collect();
    rows.into_iter()
        .map(|(a, incident)| {
            Ok(ListedAlert {
                n: a.n,
                case: a.case_n,
                incident,
                triage: triage.get(&a.n).cloned(),
                alert: parse(&a.record, a.n)?,
            })
        })
        .collect()
}

/// Records that alert `n` was escalated into `incident` by `actor`
/// (audited): it leaves the triage queue.
pub async fn escalated(
    store: &dyn Store,
    ledger: Option<&std::sync::Arc<stockade_store::Ledger>>,
    clock: &dyn stockade_model::clock::Clock,
    actor: &str,
    n: u64,
    incident: &str,
) -> Result<(), StoreError> {
    let t = stockade_store::AlertTriage {
        n,
        status: stockade_store::TriageStatus::Escalated,
        owner: None,
        reason: String::new(),
        actor: actor.to_owned(),
        at_us: clock.now().timestamp_micros(),
        incident: Some(incident.to_owned()),
    };
    if let Some(l) = ledger {
        let detail = serde_json::json!({"alert": n, "status": "escalated", "incident": incident});
        crate::audit::record(store, l, clock, "alert_triaged", actor, detail).await?;
    }
    store.put_triage(&t).await
}

/// One alert by number.
pub async fn one(store: &dyn Store, n: u64) -> Result<Option<ListedAlert>, StoreError> {
    let q = AlertQuery { after: n.saturating_sub(1), limit: 1, ..Default::default() };
    Ok(list(store, &q).await?.into_iter().find(|a| a.n == n))
}

/// What an analyst does with an alert.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(tag = "act", rename_all = "snake_case", deny_unknown_fields)]
pub enum Triage {
    /// Take it (for `owner`, else the actor).
    Take {
        #[serde(default)]
        owner: Option<String>,
    },
    /// Judge it not worth an incident.
    Dismiss { reason: String },
    /// Put it back in the queue.
    Reopen {
        #[serde(default)]
        reason: String,
    },
}

/// Why a triage act was refused.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("no alert {0}")]
    Unknown(u64),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records what `actor` (named `actor_name` when taking for themselves)
/// makes of alert `n`, audited first; answers the alert as it now stands.
pub async fn triage(
    store: &dyn Store,
    ledger: Option<&std::sync::Arc<stockade_store::Ledger>>,
    clock: &dyn stockade_model::clock::Clock,
    actor: &str,
    actor_name: &str,
    n: u64,
    act: Triage,
) -> Result<ListedAlert, TriageError> {
    use stockade_store::TriageStatus as S;
    let mut alert = one(store, n).await?.ok_or(TriageError::Unknown(n))?;
    let refuse = |why: String| Err(TriageError::Refused(why));
    let escalated = alert.triage.as_ref().and_then(|t| t.incident.clone());
    if let Some(i) = alert.incident.as_ref().or(escalated.as_ref()) {
        return refuse(format!("alert {n} is part of {i}: it is worked there"));
    }
    let now = alert.triage.as_ref().map(|t| t.status);
    let (status, owner, reason) = match act {
        Triage::Take { owner } => {
            let owner = owner.unwrap_or_else(|| actor_name.to_owned()).trim().to_owned();
            if owner.is_empty() || owner.len() > 100 {
                return refuse("`owner` must name someone in 1-100 characters".into());
            }
            if now == Some(S::Taken) && alert.triage.as_ref().and_then(|t| t.owner.as_deref()) == Some(&owner) {
                return refuse(format!("{owner} already has alert {n}"));
            }
            (S::Taken, Some(owner), String::new())
        }
        Triage::Dismiss { reason } => {
            if reason.trim().is_empty() || reason.len() > 10_000 {
                return refuse("`reason` must say why, in at most 10,000 bytes".into());
            }
            if now == Some(S::Dismissed) {
                return refuse(format!("alert {n} is already dismissed"));
            }
            (S::Dismissed, None, reason)
        }
        Triage::Reopen { reason } => {
            if !matches!(now, Some(S::Taken | S::Dismissed)) {
                return refuse(format!("alert {n} is not taken or dismissed"));
            }
            if reason.len() > 10_000 {
                return refuse("`reason` is longer than 10,000 bytes".into());
            }
            (S::Reopened, None, reason)
        }
    };
    let t = stockade_store::AlertTriage {
        n,
        status,
        owner,
        reason,
        actor: actor.to_owned(),
        at_us: clock.now().timestamp_micros(),
        incident: None,
    };
    if let Some(l) = ledger {
        let detail = serde_json::json!({"alert": n, "status": status.as_str(), "owner": t.owner, "reason": t.reason});
        crate::audit::record(store, l, clock, "alert_triaged", actor, detail).await?;
    }
    store.put_triage(&t).await?;
    alert.triage = Some(t);
    Ok(alert)
}

/// Entities by decreasing risk at `at`, from the alerts of the
/// [`RISK_HORIZON`] before it (of one site, or all).
pub async fn risk(
    store: &dyn Store,
    site: Option<String>,
    at: DateTime<FixedOffset>,
) -> Result<Vec<EntityRisk>, StoreError> {
    let mut alerts = Vec::new();
    let mut q = AlertQuery {
        site,
        from_us: Some((at - RISK_HORIZON).timestamp_micros()),
        to_us: Some(at.timestamp_micros() + 1),
        limit: 10_000,
        ..Default::default()
    };
    loop {
        let page = store.alerts(&q).await?;
        let Some(last) = page.last().map(|(a, _)| a.n) else { break };
        for (a, _) in &page {
            alerts.push(parse(&a.record, a.n)?);
        }
        q.after = last;
    }
    Ok(stockade_detect::risk::rank(&alerts, at))
}

/// What detection added to an incident after it opened: the alerts that
/// joined its case later, the entities and events they bring that the
/// incident did not name, and how far they extend its span. The incident's
/// record (in the ledger) stays as it was opened; this is its case since.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SinceOpened {
    /// Alerts of its case whose events the record does not cite, in order.
    pub alerts: Vec<ListedAlert>,
    /// Entity ids they name that the record does not.
    pub entities: Vec<String>,
    /// Events they cite that the record does not.
    pub events: Vec<stockade_detect::EventKey>,
    /// The span of the record and of these alerts together.
    pub from: Option<DateTime<FixedOffset>>,
    pub to: Option<DateTime<FixedOffset>>,
}

/// Every alert whose case opened the incident, in order.
pub async fn of_incident(store: &dyn Store, id: &str) -> Result<Vec<ListedAlert>, StoreError> {
    let mut all: Vec<ListedAlert> = Vec::new();
    loop {
        let q = AlertQuery {
            incident: Some(id.to_owned()),
            after: all.last().map_or(0, |a| a.n),
            limit: 10_000,
            ..Default::default()
        };
        let page = list(store, &q).await?;
        if page.is_empty() {
            return Ok(all);
        }
        all.extend(page);
    }
}

/// What joined the incident's case after it opened (see [`SinceOpened`]).
pub fn since_opened(record: &stockade_incident::IncidentRecord, alerts: Vec<ListedAlert>) -> SinceOpened {
    let i = &record.incident;
    let cited: std::collections::HashSet<(&str, &str)> =
        i.events.iter().map(|e| (e.source.as_str(), e.id.as_str())).collect();
    let mut out = SinceOpened::default();
    for a in alerts {
        let keys: Vec<&stockade_detect::EventKey> = std::iter::once(&a.alert.event).chain(&a.alert.related).collect();
        if keys.iter().all(|k| cited.contains(&(k.source.as_str(), k.id.as_str()))) {
            continue;
        }
        for k in keys {
            if !cited.contains(&(k.source.as_str(), k.id.as_str())) && !out.events.contains(k) {
                out.events.push(k.clone());
            }
        }
        for e in &a.alert.entities {
            if e.kind != "site" && !i.entities.contains(&e.id) && !out.entities.contains(&e.id) {
                out.entities.push(e.id.clone());
            }
        }
        out.from = Some(out.from.map_or(i.from.min(a.alert.at), |f| f.min(a.alert.at)));
        out.to = Some(out.to.map_or(i.to.max(a.alert.at), |t| t.max(a.alert.at)));
        out.alerts.push(a);
    }
    out
}

/// The inventory an incident puts at stake.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stake {
    pub units: f64,
    pub value: f64,
    /// `counts`: the shortages its counts found; `declared`: as an analyst
    /// set it (which then stands).
    pub source: &'static str,
    /// Per place, from the counts: the latest shortage found there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<StakeLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StakeLine {
    pub location: String,
    pub sku: String,
    pub units: f64,
    pub value: f64,
    pub counted_at: DateTime<FixedOffset>,
}

/// The stake the counts of an incident's alerts found: per location and
/// SKU, the latest shortage attributed there.
pub fn stake(alerts: &[ListedAlert]) -> Stake {
    let mut latest: std::collections::BTreeMap<(String, String), StakeLine> = Default::default();
    for a in alerts {
        if let Some(at) = &a.alert.attribution {
            let line = StakeLine {
                location: at.location.clone(),
                sku: at.sku.clone(),
                units: at.shortage,
                value: at.value,
                counted_at: at.until,
            };
            latest
                .entry((at.location.clone(), at.sku.clone()))
                .and_modify(|l| {
                    if line.counted_at >= l.counted_at {
                        *l = line.clone();
                    }
                })
                .or_insert(line);
        }
    }
    let lines: Vec<StakeLine> = latest.into_values().collect();
    Stake {
        units: lines.iter().map(|l| l.units).sum(),
        value: lines.iter().map(|l| l.value).sum(),
        source: "counts",
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shortage(n: u64, location: &str, units: f64, until: &str) -> ListedAlert {
        let alert: Alert = serde_json::from_value(serde_json::json!({
            "rule": "inventory-count-shortage", "title": "short", "level": "high", "site": "S1",
            "at": until, "seq": n, "event": {"source": "wms", "id": format!("c{n}")}, "entities": [],
            "reason": "count short",
            "attribution": {"location": location, "zone": null, "sku": "SKU-1", "book": 10.0, "counted": 10.0 - units,
                "shortage": units, "value": units * 100.0, "since": "2026-03-01T00:00:00Z", "until": until,
                "suspects": [], "windows": [], "telling": false}
        }))
        .unwrap();
        ListedAlert { n, case: 1, incident: Some("INC-1".into()), triage: None, alert }
    }

    #[test]
    fn the_stake_is_the_latest_shortage_of_each_place() {
        let alerts = [
            shortage(1, "L1", 3.0, "2026-03-02T10:00:00Z"),
            shortage(2, "L2", 1.0, "2026-03-02T11:00:00Z"),
            shortage(3, "L1", 5.0, "2026-03-03T10:00:00Z"),
        ];
        let s = stake(&alerts);
        assert_eq!((s.units, s.value, s.source, s.lines.len()), (6.0, 600.0, "counts", 2));
        assert_eq!(stake(&[]), Stake { units: 0.0, value: 0.0, source: "counts", lines: vec![] });
    }
}
