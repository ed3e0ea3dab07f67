//! The alert queue: triage (take, dismiss, reopen) and escalation into
//! an incident.

use super::*;
use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::problem::Problem;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

pub(super) struct AlertRow {
    n: u64,
    /// Taken by whom, or dismissed and why.
    triage: String,
    dismissed: bool,
    level: String,
    rule: String,
    title: String,
    site: String,
    at: String,
    reason: String,
    incident: Option<String>,
}

#[derive(Template)]
#[template(path = "alerts.html")]
pub(super) struct Alerts {
    who: Who,
    message: Option<String>,
    rule: String,
    untaken: bool,
    rows: Vec<AlertRow>,
    before: Option<u64>,
}

#[derive(Deserialize)]
pub(super) struct AlertParams {
    rule: Option<String>,
    /// Only alerts no incident took (the triage queue).
    #[serde(default)]
    untaken: bool,
    before: Option<u64>,
    done: Option<String>,
}

/// Alerts per page of the queue.
pub(super) const ALERTS: usize = 50;

pub(super) async fn alerts(State(st): State<AppState>, headers: HeaderMap, Query(p): Query<AlertParams>) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    match alerts_page(&st, &caller, &secret, p).await {
        Ok(r) => r,
        Err(p) => refused(p),
    }
}

pub(super) async fn alerts_page(
    st: &AppState,
    caller: &Caller,
    secret: &str,
    p: AlertParams,
) -> Result<Response, Problem> {
    caller.require(Permission::Read)?;
    let rule = p.rule.unwrap_or_default().trim().to_owned();
    let zones = zones(st);
    // Newest first: windows of numbers, walked back from the newest.
    let mut before = p.before.unwrap_or(u64::MAX).min(st.store.last_alert().await?.saturating_add(1));
    let mut rows = Vec::new();
    while rows.len() <= ALERTS && before > 1 {
        let after = before.saturating_sub(500).max(1) - 1;
        let q = stockade_store::AlertQuery {
            rule: (!rule.is_empty()).then(|| rule.clone()),
            after,
            limit: 500,
            ..Default::default()
        };
        let mut window: Vec<_> = stockade_app::alerts::list(&*st.store, &q)
            .await?
            .into_iter()
            .filter(|a| {
                let settled = a.incident.is_some()
                    || a.triage.as_ref().is_some_and(|t| {
                        matches!(
                            t.status,
                            stockade_store::TriageStatus::Dismissed | stockade_store::TriageStatus::Escalated
                        )
                    });
                a.n < before && caller.may_see(&a.alert.site) && !(p.untaken && settled)
            })
            .collect();
        window.reverse();
        for a in window {
            let (triage, dismissed) = match &a.triage {
                Some(t) if t.status == stockade_store::TriageStatus::Taken => {
                    (format!("taken by {}", t.owner.as_deref().unwrap_or("?")), false)
                }
                Some(t) if t.status == stockade_store::TriageStatus::Dismissed => {
                    (format!("dismissed: {}", t.reason), true)
                }
                _ => (String::new(), false),
            };
            rows.push(AlertRow {
                n: a.n,
                triage,
                dismissed,
                level: a.alert.level.clone(),
                rule: a.alert.rule.clone(),
                title: a.alert.title.clone(),
                at: local(a.alert.at, zones.get(&a.alert.site)),
                site: a.alert.site.clone(),
                reason: a.alert.reason.clone(),
                incident: a.incident.clone().or_else(|| a.triage.as_ref().and_then(|t| t.incident.clone())),
            });
        }
        before = after + 1;
    }
    let older = rows.len() > ALERTS;
    rows.truncate(ALERTS);
    let before = older.then(|| rows.last().map(|r| r.n)).flatten();
    let untaken = p.untaken;
    Ok(page(StatusCode::OK, &Alerts { who: who(caller, secret), message: p.done, rule, untaken, rows, before }))
}

/// Opens an incident from an alert whose case opened none (an analyst's
/// escalation): its site, its rule, what it names and cites, its time.
pub(super) async fn escalate(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(n): Path<u64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let caller = match form_caller(&st, &headers, &f.csrf).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let opened = async {
        caller.require(Permission::Investigate)?;
        let q = stockade_store::AlertQuery { after: n.saturating_sub(1), limit: 1, ..Default::default() };
        let a = stockade_app::alerts::list(&*st.store, &q)
            .await?
            .into_iter()
            .find(|a| a.n == n && caller.may_see(&a.alert.site))
            .ok_or_else(|| Problem::not_found(format!("no alert {n}")))?;
        let escalated = a.triage.as_ref().and_then(|t| t.incident.clone());
        if let Some(i) = a.incident.as_ref().or(escalated.as_ref()) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "refused",
                "Refused",
                format!("alert {n} is already part of {i}"),
            ));
        }
        use stockade_incident::{EventRef, NewIncident, Severity};
        let severity = match a.alert.level.as_str() {
            "critical" => Severity::Critical,
            "high" => Severity::High,
            "medium" => Severity::Medium,
            _ => Severity::Low,
        };
        let incident = NewIncident {
            site: a.alert.site.clone(),
            title: a.alert.title.clone(),
            severity,
            scenario: None,
            summary: format!("Opened from alert {n}: {}", a.alert.reason),
            from: a.alert.at,
            to: a.alert.at,
            entities: a.alert.entities.iter().map(|e| e.id.clone()).take(stockade_incident::MAX_ENTITIES).collect(),
            events: std::iter::once(&a.alert.event)
                .chain(&a.alert.related)
                .map(|e| EventRef { source: e.source.clone(), id: e.id.clone() })
                .collect(),
            rules: vec![a.alert.rule.clone()],
            detected_at: Some(a.alert.at),
        };
        let record = st.casebook.open(&*st.store, st.intake.ledger(), &*st.clock, &caller.actor(), incident).await?;
        stockade_app::alerts::escalated(&*st.store, st.intake.ledger(), &*st.clock, &caller.actor(), n, &record.id)
            .await?;
        tracing::info!(incident = %record.id, alert = n, by = %caller.actor(), "incident opened from an alert");
        Ok::<_, Problem>(record.id)
    };
    match opened.await {
        Ok(id) => {
            Redirect::to(&format!("/console/incidents/{id}?done={}", url_encoded(&format!("opened from alert {n}"))))
                .into_response()
        }
        Err(p) => refused(p),
    }
}

#[derive(Deserialize)]
pub(super) struct TriageForm {
    csrf: String,
    act: String,
    #[serde(default)]
    reason: String,
}

/// Takes, dismisses or reopens an alert from the queue; back to the queue.
pub(super) async fn triage(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(n): Path<u64>,
    Form(f): Form<TriageForm>,
) -> Response {
    let caller = match form_caller(&st, &headers, &f.csrf).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    use stockade_app::alerts::Triage;
    let act = match f.act.as_str() {
        "take" => Triage::Take { owner: None },
        "dismiss" => Triage::Dismiss { reason: f.reason },
        "reopen" => Triage::Reopen { reason: f.reason },
        other => return refused(Problem::bad_request(format!("unknown triage act {other:?}"))),
    };
    let done = async {
        caller.require(Permission::Investigate)?;
        crate::api::alerts::triage_as(&st, &caller, n, act).await
    };
    match done.await {
        Ok(a) => {
            let what = a.triage.map_or(String::new(), |t| t.status.as_str().to_owned());
            Redirect::to(&format!("/console/alerts?untaken=true&done={}", url_encoded(&format!("alert {n} {what}"))))
                .into_response()
        }
        Err(p) => refused(p),
    }
}
