//! Webhook deliveries over HTTP: the queue and the dead-letter list, and
//! an operator's replay.

use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::extract::{Path, Query};
use crate::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use stockade_app::containment::ReplayError;
use stockade_store::{Delivery, DeliveryQuery, DeliveryStatus};
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// Only these: pending, delivered, dead (the dead-letter list).
    pub status: Option<String>,
    /// At most this many (default 100, from 1 to 10000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// Webhook deliveries, soonest next attempt first: endpoint, incident,
/// body as sent, status, attempts, last error.
#[utoipa::path(get, path = "/api/v1/webhooks/deliveries", tag = "incidents", params(DeliveryParams),
    responses((status = 200, body = Vec<Object>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(st): State<AppState>,
    caller: Caller,
    Query(p): Query<DeliveryParams>,
) -> Result<Json<Vec<Delivery>>, Problem> {
    caller.require(Permission::Read)?;
    let p = p?;
    let status = match p.status.as_deref() {
        None => None,
        Some("pending") => Some(DeliveryStatus::Pending),
        Some("delivered") => Some(DeliveryStatus::Delivered),
        Some("dead") => Some(DeliveryStatus::Dead),
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "query parameter `status`: {other:?} is not pending, delivered or dead"
            )));
        }
    };
    let q = DeliveryQuery { status, limit: super::page_limit(p.limit)?, ..Default::default() };
    let mut out = Vec::new();
    for d in st.store.deliveries(&q).await? {
        if super::incidents::visible(&st, &caller, &d.incident).await.is_ok() {
            out.push(d);
        }
    }
    Ok(Json(out))
}

/// Replay a dead delivery (admin): back in the queue with its attempts from
/// zero, the same body and idempotency key; audited, and recorded in its
/// incident's timeline.
#[utoipa::path(post, path = "/api/v1/webhooks/deliveries/{id}/replay", tag = "incidents",
    params(("id" = String, Path, description = "dlv_…")),
    responses((status = 200, body = Object, description = "the delivery, pending again"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn replay(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Delivery>, Problem> {
    caller.require(Permission::Admin)?;
    let id = id?;
    match st.casebook.replay(&*st.store, st.intake.ledger(), &*st.clock, &caller.actor(), &id).await {
        Ok(d) => {
            tracing::info!(delivery = %d.id, endpoint = %d.endpoint, by = %caller.actor(), "webhook replayed");
            Ok(Json(d))
        }
        Err(ReplayError::NotFound(id)) => Err(Problem::not_found(format!("no delivery {id:?}"))),
        Err(e @ ReplayError::NotDead(..)) => {
            Err(Problem::new(StatusCode::CONFLICT, "refused", "Refused", e.to_string()))
        }
        Err(ReplayError::Response(e)) => Err(Problem::from(e)),
        Err(ReplayError::Store(e)) => Err(Problem::from(e)),
    }
}
