//! Health, metrics and published documents.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    pub events: i64,
}

/// Liveness and a cheap store round-trip.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, body = Health), (status = 500, body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn healthz(State(st): State<AppState>) -> Result<Json<Health>, crate::problem::Problem> {
    let events = st.store.event_count().await?;
    Ok(Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION"), events }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String)))]
pub async fn metrics() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::telemetry::handle().render())
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn openapi_json() -> impl IntoResponse {
    Json(super::openapi().clone())
}

/// JSON Schema (2020-12) of the canonical event, generated from the Rust types.
#[utoipa::path(get, path = "/api/v1/schema/events", tag = "meta",
    responses((status = 200, description = "JSON Schema of one event", body = Object)))]
pub async fn events_schema() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/schema+json")], Json(stockade_model::schema::events_schema()))
}

/// JSON Schema of a reference data set (the YAML/JSON import format).
#[utoipa::path(get, path = "/api/v1/schema/reference", tag = "meta",
    responses((status = 200, description = "JSON Schema of reference data", body = Object)))]
pub async fn reference_schema() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/schema+json")], Json(stockade_model::schema::reference_schema()))
}
