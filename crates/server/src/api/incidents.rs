//! Incidents over HTTP: open one (an analyst's case, or a detector's
//! finding), list them, read one; work one (acts recorded in its
//! timeline), merge two, split one.

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
use stockade_app::response::{Merge, ResponseError, Split, Worked};
use stockade_incident::{IncidentRecord, NewIncident};
use stockade_ingest::LineError;
use stockade_respond::Request;
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
    caller.require_site(&incident.site)?;
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
    /// Only those in this state of their response (`detected`, `triaged`,
    /// ... `closed`, `false_positive`, `duplicate`), or `open`: still being
    /// worked.
    pub status: Option<String>,
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
    let mut q = q?;
    q.site = caller.site_for_list(q.site.take())?;
    let limit = super::page_limit(q.limit)?;
    let Some(status) = q.status else {
        return Ok(Json(st.store.incidents(&IncidentQuery { site: q.site, after: q.after, limit }).await?));
    };
    let wanted: Option<stockade_respond::Status> = match status.as_str() {
        "open" => None,
        s => Some(
            s.parse().map_err(|e: String| Problem::bad_request(format!("query parameter `status`: {e}, or open")))?,
        ),
    };
    let keep: std::collections::HashSet<String> = stockade_app::response::all_worked(&*st.store)
        .await?
        .into_iter()
        .filter(|r| wanted.map_or(r.status.is_open(), |w| r.status == w))
        .map(|r| r.incident)
        .collect();
    let mut out = Vec::new();
    let mut after = q.after;
    while out.len() < limit as usize {
        let page = st.store.incidents(&IncidentQuery { site: q.site.clone(), after, limit: 10_000 }).await?;
        let Some(last) = page.last() else { break };
        after = last.n;
        out.extend(page.into_iter().filter(|i| keep.contains(&i.id)));
    }
    out.truncate(limit as usize);
    Ok(Json(out))
}

/// One incident, with `cited`: each event it cites that detection saw
/// stored, with its `seq` and `proof`, the link to its inclusion proof in
/// the evidence ledger (an analyst's citations are proven by seq through
/// `/api/v1/ledger/events/{seq}/proof`); and `since_opened`: the alerts that
/// joined its case after it opened, the entities and events they add and
/// the span they extend it to (the record itself stays as opened); and
/// `containment_offers`: what its playbook's open tasks offer to contain
/// on what it names (`{task, action, target, because}`), each applied with
/// one `POST .../containment` carrying the same fields.
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
    visible(&st, &caller, &id).await?;
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
    let counted = stockade_app::alerts::stake(&alerts);
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
    let worked = stockade_app::response::worked(&*st.store, &id).await?;
    let response =
        serde_json::to_value(&worked.response).map_err(|e| Problem::internal(format!("incident {id}: {e}")))?;
    let continuity = continuity_of(&st, &worked.response.sites).await?;
    let offers = st.casebook.offers(&*st.store, &st.intake.reference().data, &worked).await?;
    let offers = serde_json::to_value(&offers).map_err(|e| Problem::internal(format!("incident {id}: {e}")))?;
    let stake = match worked.response.stake {
        Some(d) => {
            stockade_app::alerts::Stake { units: d.units, value: d.value, source: "declared", lines: counted.lines }
        }
        None => counted,
    };
    let stake = serde_json::to_value(&stake).map_err(|e| Problem::internal(format!("incident {id}: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("stake".into(), stake);
        o.insert("cited".into(), serde_json::Value::Array(cited));
        o.insert("since_opened".into(), since);
        o.insert("response".into(), response);
        o.insert("continuity".into(), continuity);
        o.insert("containment_offers".into(), offers);
    }
    Ok(Json(v))
}

/// The continuity plans of the sites an incident affects, with the book's
/// quantities of their recovery SKUs.
async fn continuity_of(st: &AppState, sites: &[String]) -> Result<serde_json::Value, Problem> {
    let reference = st.intake.reference();
    let mut lines = Vec::new();
    for s in sites {
        if reference.data.sites.iter().any(|x| x.id.as_str() == s && x.continuity.is_some()) {
            let q = stockade_app::book::BookQuery { site: Some(s.clone()), ..Default::default() };
            lines.extend(st.intake.stage().book(&q).await?);
        }
    }
    serde_json::to_value(stockade_app::response::continuity(&reference.data, sites, &lines))
        .map_err(|e| Problem::internal(format!("continuity: {e}")))
}

impl From<ResponseError> for Problem {
    fn from(e: ResponseError) -> Problem {
        match e {
            ResponseError::NotFound(id) => Problem::not_found(format!("no incident {id:?}")),
            ResponseError::Refused(r) => Problem::new(StatusCode::CONFLICT, "refused", "Refused", r.0),
            ResponseError::Case(c) => Problem::from(c),
            ResponseError::Store(err) => Problem::from(err),
        }
    }
}

/// An incident as it stands and its timeline, each entry with the link to
/// the inclusion proof of the audit record that commits to it.
fn worked_view(w: &Worked) -> Result<serde_json::Value, Problem> {
    let timeline: Vec<serde_json::Value> = w
        .timeline
        .iter()
        .map(|e| {
            let mut v =
                serde_json::to_value(&e.entry).map_err(|x| Problem::internal(format!("{}: {x}", w.record.id)))?;
            if let (Some(o), Some(leaf)) = (v.as_object_mut(), e.leaf_index) {
                o.insert("leaf_index".into(), leaf.into());
                o.insert("proof".into(), format!("/api/v1/ledger/leaves/{leaf}/proof").into());
            }
            Ok(v)
        })
        .collect::<Result<_, Problem>>()?;
    let response = serde_json::to_value(&w.response).map_err(|x| Problem::internal(format!("{}: {x}", w.record.id)))?;
    Ok(serde_json::json!({ "incident": w.record, "response": response, "timeline": timeline }))
}

/// Refused as absent (404) when incident `id` is at a site the caller is
/// not limited to: a site manager does not learn another site's incidents.
pub(crate) async fn visible(st: &AppState, caller: &Caller, id: &str) -> Result<(), Problem> {
    if caller.sites.is_empty() {
        return Ok(());
    }
    match st.store.incident(id).await? {
        Some(i) if caller.may_see(&i.incident.site) => Ok(()),
        _ => Err(Problem::not_found(format!("no incident {id:?}"))),
    }
}

pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    bytes: &[u8],
    what: &str,
) -> Result<T, Problem> {
    let media = media_type(headers);
    if media != "application/json" {
        return Err(Problem::unsupported_media(&media, "application/json"));
    }
    serde_json::from_slice(bytes).map_err(|e| Problem::bad_request(format!("{what}: {e}")))
}

/// Act on an incident: `{"act": "transition", "to": "contained", "reason":
/// "...", "happened_at": "..."}`, `{"act": "assign", "owner": "..."}`,
/// `{"act": "severity", "to": "critical", "reason": "..."}`, `{"act":
/// "note", "text": "..."}`, `{"act": "link", "entities": [...], "events":
/// [{source, id}], "sites": [...]}`. The act is checked against the
/// incident's state (an illegal transition is 409 with the states it can
/// move to), recorded in the audit trail (a ledger leaf) and in its
/// timeline. Answers the incident as it now stands with its timeline.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/timeline", tag = "incidents",
    params(("id" = String, Path, description = "INC-<n>")),
    request_body(content = Object, content_type = "application/json", description = "the act (docs/RESPONSE.md)"),
    responses((status = 201, body = Object, description = "incident, response (its state) and timeline"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn act(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    caller.require(Permission::Investigate)?;
    let id = id?;
    visible(&st, &caller, &id).await?;
    let bytes = read_body(&st, &headers, body).await?;
    let request: Request = json_body(&headers, &bytes, "act")?;
    let w = st.casebook.act(&*st.store, st.intake.ledger(), &*st.clock, &caller.actor(), &id, request).await?;
    if let Some(e) = w.timeline.last() {
        tracing::info!(incident = %id, act = e.entry.act.name(), status = %w.response.status, by = %caller.actor(), "incident worked");
    }
    Ok((StatusCode::CREATED, Json(worked_view(&w)?)))
}

/// An incident as it stands and its timeline.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline", tag = "incidents",
    params(("id" = String, Path, description = "INC-<n>")),
    responses((status = 200, body = Object, description = "incident, response (its state) and timeline"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn timeline(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Permission::Read)?;
    let id = id?;
    visible(&st, &caller, &id).await?;
    Ok(Json(worked_view(&stockade_app::response::worked(&*st.store, &id).await?)?))
}

/// Merge this incident into another (`{"into": "INC-n", "reason": "..."}`):
/// it becomes a duplicate of it, and the other takes on the entities,
/// events and sites it named. Answers both.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/merge", tag = "incidents",
    params(("id" = String, Path, description = "INC-<n>, the duplicate")),
    request_body(content = Object, content_type = "application/json", description = "into, reason"),
    responses((status = 200, body = Object, description = "{merged, into}: each incident, its state and timeline"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn merge(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Permission::Investigate)?;
    let id = id?;
    visible(&st, &caller, &id).await?;
    let bytes = read_body(&st, &headers, body).await?;
    let m: Merge = json_body(&headers, &bytes, "merge")?;
    visible(&st, &caller, &m.into).await?;
    let into = m.into.clone();
    let (dup, main) = st.casebook.merge(&*st.store, st.intake.ledger(), &*st.clock, &caller.actor(), &id, m).await?;
    tracing::info!(incident = %id, into = %into, by = %caller.actor(), "incident merged");
    Ok(Json(serde_json::json!({ "merged": worked_view(&dup)?, "into": worked_view(&main)? })))
}

/// Split part of this incident off into a new one (`{"title", "entities",
/// "events", "severity", "summary"}`): what is named moves to the new
/// incident (same site and span, detected when this one was). Answers the
/// new incident and this one.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/split", tag = "incidents",
    params(("id" = String, Path, description = "INC-<n>")),
    request_body(content = Object, content_type = "application/json", description = "title, entities, events, severity, summary"),
    responses((status = 201, body = Object, description = "{new, source}: each incident, its state and timeline"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn split(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    caller.require(Permission::Investigate)?;
    let id = id?;
    visible(&st, &caller, &id).await?;
    let bytes = read_body(&st, &headers, body).await?;
    let split: Split = json_body(&headers, &bytes, "split")?;
    let (new, source) =
        st.casebook.split(&*st.store, st.intake.ledger(), &*st.clock, &caller.actor(), &id, split).await?;
    tracing::info!(incident = %id, new = %new.record.id, by = %caller.actor(), "incident split");
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "new": worked_view(&new)?, "source": worked_view(&source)? }))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskParams {
    /// Only this role's: operations, security, legal, communications, hr, it.
    pub role: Option<String>,
    /// Only tasks of incidents affecting this site.
    pub site: Option<String>,
    /// Only open tasks of incidents still being worked.
    #[serde(default)]
    pub open: bool,
    /// Only open tasks past their deadline.
    #[serde(default)]
    pub late: bool,
}

/// The work queue: tasks of incidents' playbooks, soonest deadline first,
/// each with its incident, role, deadline, checklist, status and whether it
/// is late now (and was recorded overdue).
#[utoipa::path(get, path = "/api/v1/tasks", tag = "incidents", params(TaskParams),
    responses((status = 200, body = Vec<Object>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn tasks(
    State(st): State<AppState>,
    caller: Caller,
    Query(p): Query<TaskParams>,
) -> Result<Json<Vec<stockade_app::response::QueuedTask>>, Problem> {
    caller.require(Permission::Read)?;
    let p = p?;
    let role = p
        .role
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: String| Problem::bad_request(format!("query parameter `role`: {e}")))?;
    let site = caller.site_for_list(p.site)?;
    let q = stockade_app::response::TaskQuery { role, site, open: p.open, late: p.late };
    Ok(Json(stockade_app::response::tasks(&*st.store, &q, st.clock.now()).await?))
}

/// Contain (or lift) for an incident: `{"action": "revoke_badge" |
/// "disable_account" | "revoke_api_key" | "end_vendor_grant" | "lock_door" |
/// "lock_zone" | "hold_dock" | "quarantine_location" | "quarantine_sku",
/// "target": "<id>", "reason": "...", "lift": false, "task": "<playbook
/// task>"}` (`task` optional: the task offering it, marked done once it
/// offers nothing more). It takes effect in
/// Stockade at once (a `record.containment` event: any later use of the
/// target is a `containment-breached` alert) and is recorded in the
/// incident's timeline. Refused (409) for a target neither the reference
/// data nor the incident names, one already held, or a lift of what the
/// incident does not hold.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/containment", tag = "incidents",
    params(("id" = String, Path, description = "INC-<n>")),
    request_body(content = Object, content_type = "application/json", description = "action, target, reason, lift"),
    responses((status = 201, body = Object, description = "incident, response (its state) and timeline"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn contain(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    caller.require(Permission::Contain)?;
    let id = id?;
    visible(&st, &caller, &id).await?;
    let bytes = read_body(&st, &headers, body).await?;
    let request: stockade_app::containment::ContainRequest = json_body(&headers, &bytes, "containment")?;
    let w = st.casebook.contain(&st.intake, &caller.actor(), &id, request).await?;
    Ok((StatusCode::CREATED, Json(worked_view(&w)?)))
}

/// Every containment in force, across incidents: action, target, incident,
/// since when and why.
#[utoipa::path(get, path = "/api/v1/containment", tag = "incidents",
    responses((status = 200, body = Vec<Object>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn containment(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<stockade_app::containment::Held>>, Problem> {
    caller.require(Permission::Read)?;
    let mut held = stockade_app::containment::in_force(&*st.store).await?;
    if !caller.sites.is_empty() {
        let mut kept = Vec::with_capacity(held.len());
        for h in held {
            if visible(&st, &caller, &h.incident).await.is_ok() {
                kept.push(h);
            }
        }
        held = kept;
    }
    Ok(Json(held))
}

/// Draft a communication for an incident from a template (`{"template":
/// "insurer-notice", "to": ["claims@insurer.example"]}`), filled from its
/// facts now (`docs/RESPONSE.md`). It is then approved by someone other
/// than the drafter (`{"act": "approve", "communication": n}`) and logged
/// when sent (`{"act": "sent", "communication": n, "channel": "email"}`),
/// both on `/timeline`. `GET /api/v1/communications/templates` lists the
/// templates.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/communications", tag = "incidents",
    params(("id" = String, Path, description = "INC-<n>")),
    request_body(content = Object, content_type = "application/json", description = "template, to"),
    responses((status = 201, body = Object, description = "incident, response (its state) and timeline"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn draft(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    caller.require(Permission::Investigate)?;
    let id = id?;
    visible(&st, &caller, &id).await?;
    let bytes = read_body(&st, &headers, body).await?;
    let draft: stockade_app::communications::Draft = json_body(&headers, &bytes, "communication")?;
    let w = st.casebook.draft(&*st.store, st.intake.ledger(), &*st.clock, &caller.actor(), &id, draft).await?;
    Ok((StatusCode::CREATED, Json(worked_view(&w)?)))
}

/// The communication templates: id, version, audience, title, subject and
/// body with their `{{placeholders}}`.
#[utoipa::path(get, path = "/api/v1/communications/templates", tag = "incidents",
    responses((status = 200, body = Vec<Object>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn templates(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<stockade_respond::comms::Template>>, Problem> {
    caller.require(Permission::Read)?;
    Ok(Json(st.casebook.templates().templates.clone()))
}
