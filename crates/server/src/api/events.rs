//! Event ingestion (NDJSON batches) and listing.

use super::{media_type, query_time, read_body};
use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::extract::Query;
use crate::problem::Problem;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use stockade_app::intake::IngestReport;
use stockade_app::intake::within_sites;
use stockade_store::EventQuery;
use utoipa::{IntoParams, ToSchema};

/// A canonical event; the full schema is in components (generated from the Rust types).
#[derive(ToSchema)]
#[schema(as = Event)]
#[allow(dead_code)]
pub struct EventDoc(serde_json::Value);

/// Ingest a batch of events.
///
/// Body: NDJSON (`application/x-ndjson`), one event per line; or JSON
/// (`application/json`), one event or an array of events. Each line gets its
/// own result: accepted (with its sequence number), duplicate (same source
/// and id seen before: nothing changes, so re-sending a batch is safe) or
/// rejected (with the line and field). Valid lines are stored even when
/// others are rejected. The response comes once the accepted events are durable.
#[utoipa::path(post, path = "/api/v1/events", tag = "ingest",
    request_body(description = "NDJSON, one event per line", content(
        (EventDoc = "application/x-ndjson"),
        (Vec<EventDoc> = "application/json"))),
    responses(
        (status = 200, body = IngestReport, description = "per-line results"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "a JSON body that is not an event or an array of events")),
    security(("bearer" = [])))]
pub async fn post_events(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestReport>, Problem> {
    caller.require(Permission::Ingest)?;
    let media = media_type(&headers);
    match media.as_str() {
        "application/x-ndjson" | "application/jsonl" | "application/ndjson" => {
            let bytes = read_body(&st, &headers, body).await?;
            let items = stockade_ingest::parse_ndjson(&bytes, 1);
            Ok(Json(st.intake.ingest(within_sites(items, &caller.sites)).await?))
        }
        "application/json" => {
            let bytes = read_body(&st, &headers, body).await?;
            let value: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| Problem::unprocessable(format!("malformed JSON: {e}"), vec![]))?;
            let items: Vec<serde_json::Value> = match value {
                serde_json::Value::Array(a) => a,
                v @ serde_json::Value::Object(_) => vec![v],
                _ => return Err(Problem::unprocessable("send one event object or an array of events", vec![])),
            };
            let parsed = items
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let n = i + 1;
                    let bytes = serde_json::to_vec(&v).unwrap_or_default();
                    (n, stockade_ingest::parse_line(n, &bytes))
                })
                .collect();
            Ok(Json(st.intake.ingest(within_sites(parsed, &caller.sites)).await?))
        }
        other => Err(Problem::unsupported_media(other, "application/x-ndjson (or application/json)")),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this site.
    pub site: Option<String>,
    /// Only this kind (`access.granted`).
    pub kind: Option<String>,
    /// Occurred at or after (RFC 3339).
    pub from: Option<String>,
    /// Occurred before (RFC 3339).
    pub to: Option<String>,
    /// Only events with a sequence number above this (paging cursor).
    pub after: Option<i64>,
    /// At most this many (default 100, from 1 to 10000; outside, 400).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct StoredEventView {
    pub seq: i64,
    /// SHA-256 of the canonical bytes, hex.
    pub hash: String,
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<StoredEventView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

/// List stored events in acceptance order.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(ListQuery),
    responses((status = 200, body = EventPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_events(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<EventPage>, Problem> {
    caller.require(Permission::Read)?;
    let q = q?;
    if let Some(k) = &q.kind
        && stockade_model::EventKind::parse(k).is_none()
    {
        return Err(Problem::bad_request(format!("unknown kind {k:?}")));
    }
    let limit = super::page_limit(q.limit)?;
    let query = EventQuery {
        site: caller.site_for_list(q.site)?,
        kind: q.kind,
        from_us: query_time("from", &q.from)?,
        to_us: query_time("to", &q.to)?,
        after_seq: q.after,
        limit,
    };
    let rows = st.store.events(&query).await?;
    let next_after = if rows.len() == limit as usize { rows.last().map(|r| r.seq) } else { None };
    let events = rows
        .into_iter()
        .map(|r| {
            let event = serde_json::from_str(&r.payload)
                .map_err(|e| Problem::internal(format!("stored event {}: {e}", r.seq)))?;
            Ok(StoredEventView { seq: r.seq, hash: hex::encode(r.hash), event })
        })
        .collect::<Result<_, Problem>>()?;
    Ok(Json(EventPage { events, next_after }))
}
