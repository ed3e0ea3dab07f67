//! Reading what detection found: alerts with their case and incident, and
//! the risk of each entity they name.
//!
//! Invariant: read-only; a stored alert that does not parse is an error
//! (the store is damaged), never silently dropped.

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
    #[serde(flatten)]
    pub alert: Alert,
}

fn parse(record: &str, n: u64) -> Result<Alert, StoreError> {
    serde_json::from_str(record).map_err(|e| StoreError::Corrupt(format!("alert {n} does not parse: {e}")))
}

/// Alerts that pass the filter, in order.
pub async fn list(store: &dyn Store, q: &AlertQuery) -> Result<Vec<ListedAlert>, StoreError> {
    store
        .alerts(q)
        .await?
        .into_iter()
        .map(|(a, incident)| Ok(ListedAlert { n: a.n, case: a.case_n, incident, alert: parse(&a.record, a.n)? }))
        .collect()
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
        ListedAlert { n, case: 1, incident: Some("INC-1".into()), alert }
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
