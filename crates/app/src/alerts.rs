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
