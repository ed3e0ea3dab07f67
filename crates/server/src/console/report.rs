//! The incident report for insurers and regulators: one self-contained
//! HTML document.

use super::incidents::{EntryRow, entries, severity_name};
use super::*;
use crate::AppState;
use crate::api::incidents::visible;
use crate::auth::Permission;
use crate::problem::Problem;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use stockade_respond::Act;

#[derive(Template)]
#[template(path = "report_incident.html")]
pub(super) struct IncidentReport {
    id: String,
    title: String,
    generated: String,
    origin: String,
    key: String,
    site: String,
    tz: String,
    severity: &'static str,
    status: &'static str,
    span: String,
    first_signal: String,
    detected: String,
    opened_by: String,
    owner: String,
    entities: String,
    summary: String,
    stake: String,
    reached: Vec<(String, String)>,
    actions: Vec<String>,
    timeline: Vec<EntryRow>,
    evidence: Vec<(String, String, String, String, u64, u64)>,
}

/// The incident report for insurers and regulators, as one self-contained
/// HTML document: the facts, the losses at stake, the response times,
/// the actions taken, the timeline with each entry's ledger leaf, the
/// evidence with its hashes, and how to verify it all offline.
pub async fn incident_report(
    store: &dyn stockade_store::Store,
    ledger: &stockade_store::Ledger,
    reference: &stockade_model::ReferenceData,
    now: DateTime<Utc>,
    id: &str,
) -> Result<String, Problem> {
    let w = stockade_app::response::worked(store, id).await?;
    let r = &w.response;
    let i = &w.record.incident;
    let tz = reference.sites.iter().find(|s| s.id.as_str() == i.site).map(|s| s.timezone);
    let tz = tz.as_ref();
    let alerts = stockade_app::alerts::of_incident(store, id).await?;
    let counted = stockade_app::alerts::stake(&alerts);
    let (units, value, source) = match r.stake {
        Some(d) => (d.units, d.value, "as declared by an analyst"),
        None => (counted.units, counted.value, "from the shortages its counts found"),
    };
    let stake = if units == 0.0 && value == 0.0 {
        "No loss established yet.".to_owned()
    } else {
        format!("{units} units, value {value:.2} ({source}).")
    };
    let mut reached: Vec<(String, String)> =
        r.reached.iter().map(|(s, t)| (s.as_str().to_owned(), local(*t, tz))).collect();
    reached.sort_by(|a, b| a.1.cmp(&b.1));
    let actions = w
        .timeline
        .iter()
        .filter_map(|e| match &e.entry.act {
            Act::Contain { action, target, lifted, reason, .. } => Some(format!(
                "{} {}{action} on {target} by {}: {reason}",
                local(e.entry.at, tz),
                if *lifted { "lifted " } else { "" },
                e.entry.actor
            )),
            Act::Delivery { endpoint, outcome, attempts, .. } => {
                Some(format!("{} sent to {endpoint}: {outcome} after {attempts} attempt(s)", local(e.entry.at, tz)))
            }
            _ => None,
        })
        .collect();
    let timeline = entries(&w, tz);
    let evidence = store
        .incident_evidence(id)
        .await?
        .into_iter()
        .map(|e| (e.record.id, e.record.class, e.record.collected_from, e.record.sha256, e.record.size, e.leaf_index))
        .collect();
    let t = IncidentReport {
        id: id.to_owned(),
        title: i.title.clone(),
        generated: now.to_rfc3339(),
        origin: ledger.origin().to_owned(),
        key: ledger.verifier_key().to_owned(),
        site: i.site.clone(),
        tz: tz.map_or("UTC offsets as recorded".into(), |z| z.name().to_owned()),
        severity: severity_name(r.severity),
        status: r.status.as_str(),
        span: format!("{} to {}", local(i.from, tz), local(i.to, tz)),
        first_signal: local(r.first_signal, tz),
        detected: local(r.detected, tz),
        opened_by: w.record.opened_by.clone(),
        owner: r.owner.clone().unwrap_or_else(|| "nobody".into()),
        entities: r.entities.iter().cloned().collect::<Vec<_>>().join(", "),
        summary: i.summary.clone(),
        stake,
        reached,
        actions,
        timeline,
        evidence,
    };
    t.render().map_err(|e| Problem::internal(format!("rendering the report: {e}")))
}

/// The incident report, in the browser (its own policy: inline styles, no
/// script; saved as one file it stays whole).
pub(super) async fn report(State(st): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (caller, _) = signed_in_or_login!(st, headers);
    let made = async {
        caller.require(Permission::Read)?;
        visible(&st, &caller, &id).await?;
        let ledger = st.intake.ledger().ok_or_else(|| Problem::not_found("this instance keeps no evidence ledger"))?;
        incident_report(&*st.store, ledger, &st.intake.reference().data, st.clock.now(), &id).await
    };
    match made.await {
        Ok(html) => {
            let mut r = html.into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{id}-report.html\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err(p) => refused(p),
    }
}
