//! Health, metrics and published documents.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// Whether the instance is healthy, and nothing more: it is open to anyone.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` (an unhealthy instance answers 503 with a problem).
    pub status: &'static str,
}

/// Liveness and a cheap store round-trip. Open: it says healthy or not,
/// nothing about what is stored (that is `GET /api/v1/status`, behind a token).
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, body = Health),
        (status = 503, body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn healthz(State(st): State<AppState>) -> Result<Json<Health>, crate::problem::Problem> {
    match st.store.event_count().await {
        Ok(_) => Ok(Json(Health { status: "ok" })),
        Err(e) => {
            tracing::warn!(error = %e, "health check: the store did not answer");
            Err(crate::problem::Problem::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "unhealthy",
                "Service Unavailable",
                "the store did not answer",
            ))
        }
    }
}

/// What this instance holds, for a token that may read.
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// Stockade's version.
    pub version: &'static str,
    /// Events stored.
    pub events: i64,
    /// The last seq stored, through which the inventory book is current
    /// (answered after the book has applied every acknowledged event).
    pub book_through: i64,
    /// The seq through which detection has applied the stored events, their
    /// alerts stored and the incidents they call for opened; it trails
    /// `book_through` while detection catches up. Null when this
    /// server runs without detection.
    pub detected_through: Option<i64>,
}

/// The instance's version, how many events it stores, and how far the
/// inventory book and detection have applied them (a token that may read).
#[utoipa::path(get, path = "/api/v1/status", tag = "meta",
    responses((status = 200, body = Status),
        (status = 401, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, body = crate::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn status(
    State(st): State<AppState>,
    caller: crate::auth::Caller,
) -> Result<Json<Status>, crate::problem::Problem> {
    caller.require(crate::auth::Permission::Read)?;
    let stage = st.intake.stage();
    stage.barrier().await?;
    Ok(Json(Status {
        version: env!("CARGO_PKG_VERSION"),
        events: st.store.event_count().await?,
        book_through: stage.book_applied()?,
        detected_through: stage.detection().map(|d| d.through()),
    }))
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
    responses((status = 200, description = "JSON Schema of one event", body = Object, content_type = "application/schema+json")))]
pub async fn events_schema() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/schema+json")], Json(stockade_model::schema::events_schema()))
}

/// JSON Schema of a reference data set (the YAML/JSON import format).
#[utoipa::path(get, path = "/api/v1/schema/reference", tag = "meta",
    responses((status = 200, description = "JSON Schema of reference data", body = Object, content_type = "application/schema+json")))]
pub async fn reference_schema() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/schema+json")], Json(stockade_model::schema::reference_schema()))
}
