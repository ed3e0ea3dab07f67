//! The KPIs leaders watch, over HTTP (`docs/KPI.md`).

use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::extract::Query;
use crate::problem::Problem;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use stockade_app::book::BookQuery;
use stockade_app::exercises::{self, ExerciseError, ExerciseRecord};
use stockade_app::response::{Kpi, KpiQuery};
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KpiParams {
    /// Only incidents affecting this site, and counts made there.
    pub site: Option<String>,
    /// Incidents detected (counts made) at or after this (RFC 3339).
    pub from: Option<String>,
    /// ...and before this (RFC 3339).
    pub to: Option<String>,
    /// Also the trend: the same figures per `day`, `week` or `month` of detection time.
    pub every: Option<String>,
}

/// Response times (time to detect, triage, contain, recover: count, mean,
/// median, p90, max in seconds), incidents open, false positives and
/// duplicates, and inventory record accuracy and value variance rate, over
/// a period, per site or overall, with an optional trend.
#[utoipa::path(get, path = "/api/v1/kpi", tag = "incidents", params(KpiParams),
    responses((status = 200, body = Object, description = "the KPIs (docs/KPI.md)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn kpi(State(st): State<AppState>, caller: Caller, Query(p): Query<KpiParams>) -> Result<Json<Kpi>, Problem> {
    caller.require(Permission::Read)?;
    let p = p?;
    let time = |name: &str, v: &Option<String>| {
        super::query_time(name, v).map(|t| t.and_then(chrono::DateTime::from_timestamp_micros))
    };
    let q = KpiQuery {
        site: caller.site_for_list(p.site)?,
        from: time("from", &p.from)?,
        to: time("to", &p.to)?,
        every: p
            .every
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: String| Problem::bad_request(format!("query parameter `every`: {e}")))?,
    };
    if let (Some(f), Some(t)) = (q.from, q.to)
        && f >= t
    {
        return Err(Problem::bad_request("query parameter `to` must be after `from`"));
    }
    let counts = st.intake.stage().counts(&BookQuery::default()).await?;
    Ok(Json(stockade_app::response::report(&*st.store, &counts, &q).await?))
}

/// Keep a tabletop exercise's start or score in this instance's audit
/// trail, for the trends of `/api/v1/kpi` (admin): `{"action":
/// "exercise_started", "detail": {"exercise": "EX-…", "scenario": "…",
/// "seed": 1, "workspace": "…"}}` or `{"action": "exercise_scored",
/// "detail": <the score>}`, as `stockade exercise start|score --server`
/// sends them (`docs/EXERCISES.md`). A malformed record is refused (422)
/// and nothing is kept.
#[utoipa::path(post, path = "/api/v1/exercises", tag = "incidents",
    request_body(content = Object, content_type = "application/json", description = "action and detail"),
    responses((status = 201, body = Object, description = "the audit record kept, with its leaf"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn exercise(
    State(st): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<(axum::http::StatusCode, Json<super::ledger::AuditView>), Problem> {
    caller.require(Permission::Admin)?;
    let bytes = crate::api::read_body(&st, &headers, body).await?;
    let record: ExerciseRecord = super::incidents::json_body(&headers, &bytes, "exercise record")?;
    let ledger = st.intake.ledger().ok_or_else(|| Problem::internal("this instance keeps no ledger"))?;
    match exercises::keep(&*st.store, ledger, &*st.clock, &caller.actor(), &record).await {
        Ok(a) => Ok((
            axum::http::StatusCode::CREATED,
            Json(super::ledger::AuditView { record: a.record, leaf_index: a.leaf_index }),
        )),
        Err(ExerciseError::Refused(why)) => {
            Err(Problem::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "refused", "Refused", why))
        }
        Err(ExerciseError::Store(e)) => Err(Problem::from(e)),
    }
}
