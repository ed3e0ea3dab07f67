//! Incidents over HTTP: open one (an analyst's case, or a detector's
//! finding), list them, read one.

use crate::AppState;
use crate::api::{media_type, read_body};
use crate::auth::{Caller, Permission};
use crate::extract::{Path, Query};
use crate::problem::Problem;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use stockade_app::casebook::CaseError;
use stockade_incident::{IncidentRecord, NewIncident};
use stockade_ingest::LineError;
use stockade_store::IncidentQuery;
use utoipa::IntoParams;

impl From<CaseError> for Problem {
    fn from(e: CaseError) -> Problem {
        match e {
            CaseError::Invalid(i) => Problem::unprocessable(
                format!("incident refused: {i}"),
                vec![LineError::new(1, Some(&i.field), i.reason)],
            ),
            CaseError::Store(stockade_store::StoreError::Conflict(m)) => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", format!("{m}; retry"))
            }
            CaseError::Store(err) => Problem::from(err),
        }
    }
}

/// Open an incident. The server numbers it (`INC-<n>`), stamps the time and
/// the caller, checks that its site is known and that every event it cites
/// is stored, and records the opening in the audit trail.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents",
    request_body(content = Object, content_type = "application/json",
        description = "site, title, severity (low|medium|high|critical), scenario, summary, from, to (RFC 3339 with offset), entities, events [{source, id}]"),
    responses((status = 201, body = Object, description = "the incident as recorded"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn open(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<IncidentRecord>), Problem> {
    caller.require(Permission::Investigate)?;
    let media = media_type(&headers);
    if media != "application/json" {
        return Err(Problem::unsupported_media(&media, "application/json"));
    }
    let bytes = read_body(&st, &headers, body).await?;
    let incident: NewIncident =
        serde_json::from_slice(&bytes).map_err(|e| Problem::bad_request(format!("incident: {e}")))?;
    let record = st.casebook.open(&*st.store, st.intake.ledger(), &*st.clock, &caller.actor(), incident).await?;
    tracing::info!(incident = %record.id, site = %record.incident.site, by = %record.opened_by, "incident opened");
    Ok((StatusCode::CREATED, Json(record)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this site's.
    pub site: Option<String>,
    /// Incidents numbered after this (paging cursor).
    #[serde(default)]
    pub after: u64,
    /// At most this many (default 100, from 1 to 10000; outside, 400).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// Incidents in the order they were opened.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListQuery),
    responses((status = 200, body = Vec<Object>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<IncidentRecord>>, Problem> {
    caller.require(Permission::Read)?;
    let q = q?;
    let q = IncidentQuery { site: q.site, after: q.after, limit: super::page_limit(q.limit)? };
    Ok(Json(st.store.incidents(&q).await?))
}

/// One incident, with `cited`: each event it cites that detection saw
/// stored, with its `seq` and `proof`, the link to its inclusion proof in
/// the evidence ledger (an analyst's citations are proven by seq through
/// `/api/v1/ledger/events/{seq}/proof`); and `since_opened`: the alerts that
/// joined its case after it opened, the entities and events they add and
/// the span they extend it to (the record itself stays as opened).
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "INC-<n>")),
    responses((status = 200, body = Object),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn one(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Permission::Read)?;
    let id = id?;
    let record = st.store.incident(&id).await?.ok_or_else(|| Problem::not_found(format!("no incident {id:?}")))?;
    // Where detection saw each cited event stored: from the case's alerts;
    // and what joined the case after the incident opened.
    let alerts = stockade_app::alerts::of_incident(&*st.store, &id).await?;
    let mut seqs = std::collections::HashMap::new();
    for a in &alerts {
        for e in std::iter::once(&a.alert.event).chain(&a.alert.related) {
            if let Some(seq) = e.seq {
                seqs.insert((e.source.clone(), e.id.clone()), seq);
            }
        }
    }
    let since = stockade_app::alerts::since_opened(&record, alerts);
    let cited: Vec<serde_json::Value> = record
        .incident
        .events
        .iter()
        .map(|e| (e.source.clone(), e.id.clone()))
        .chain(since.events.iter().map(|k| (k.source.clone(), k.id.clone())))
        .filter_map(|(source, id)| {
            let seq = *seqs.get(&(source.clone(), id.clone()))?;
            Some(serde_json::json!({"source": source, "id": id, "seq": seq, "proof": super::alerts::proof_link(seq)}))
        })
        .collect();
    let since = serde_json::to_value(&since).map_err(|e| Problem::internal(format!("incident {id}: {e}")))?;
    let mut v = serde_json::to_value(&record).map_err(|e| Problem::internal(format!("incident {id}: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("cited".into(), serde_json::Value::Array(cited));
        o.insert("since_opened".into(), since);
    }
    Ok(Json(v))
}
