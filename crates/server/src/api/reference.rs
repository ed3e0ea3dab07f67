//! Reference data: import (JSON or YAML) and listing.

use super::{media_type, read_body};
use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::extract::Path;
use crate::problem::Problem;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use stockade_app::intake::ImportError;
use stockade_ingest::LineError;
use stockade_model::{RecordKind, ReferenceData};
use utoipa::ToSchema;

/// A reference data set; the full schema is in components.
#[derive(ToSchema)]
#[schema(as = ReferenceData)]
#[allow(dead_code)]
pub struct ReferenceDoc(serde_json::Value);

#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    /// Records inserted or replaced.
    pub written: usize,
}

/// Maps an import refusal to a problem listing each issue.
fn import_problem(e: ImportError) -> Problem {
    match e {
        ImportError::Problems(problems) => {
            let errors = problems.into_iter().enumerate().map(|(i, p)| LineError::new(i + 1, None, p)).collect();
            Problem::unprocessable("the reference data has problems; nothing was stored", errors)
        }
        ImportError::Store(e) => e.into(),
    }
}

/// Import reference data (sites, zones, doors, readers, cameras, people,
/// badges, vendors, SKUs, storage locations, shifts).
#[utoipa::path(post, path = "/api/v1/reference", tag = "reference",
    request_body(content((ReferenceDoc = "application/json"), (ReferenceDoc = "application/yaml"))),
    responses((status = 200, body = ImportReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn post_reference(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportReport>, Problem> {
    caller.require(Permission::Ingest)?;
    caller.require_every_site("reference data (people, badges, SKUs belong to no one site)")?;
    let media = media_type(&headers);
    let data: ReferenceData = match media.as_str() {
        "application/json" => {
            let bytes = read_body(&st, &headers, body).await?;
            serde_json::from_slice(&bytes)
                .map_err(|e| Problem::unprocessable(format!("reference data: {e}"), vec![]))?
        }
        "application/yaml" | "application/x-yaml" | "text/yaml" => {
            let bytes = read_body(&st, &headers, body).await?;
            let text = std::str::from_utf8(&bytes).map_err(|_| Problem::unprocessable("body is not UTF-8", vec![]))?;
            stockade_ingest::reference_files::from_yaml(text)
                .map_err(|e| Problem::unprocessable(format!("reference data: {e}"), vec![]))?
        }
        other => return Err(Problem::unsupported_media(other, "application/json or application/yaml")),
    };
    let written = st.intake.import_reference(data).await.map_err(import_problem)?;
    if let Some(ledger) = st.intake.ledger() {
        let detail = serde_json::json!({ "records": written, "via": "api" });
        stockade_app::audit::record(&*st.store, ledger, &*st.clock, "reference_imported", &caller.actor(), detail)
            .await?;
    }
    Ok(Json(ImportReport { written }))
}

/// List reference records of one kind (`sites`, `zones`, `doors`, ...).
#[utoipa::path(get, path = "/api/v1/reference/{kind}", tag = "reference",
    params(("kind" = String, Path, description = "sites, zones, doors, readers, cameras, people, badges, vendors, skus, locations or shifts")),
    responses((status = 200, body = Vec<Object>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_reference(
    State(st): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
) -> Result<Json<Vec<serde_json::Value>>, Problem> {
    caller.require(Permission::Read)?;
    let kind = kind?;
    let k = RecordKind::parse(&kind).ok_or_else(|| Problem::not_found(format!("no reference kind {kind:?}")))?;
    // What belongs to a site the caller is not limited to is left out
    // (people, badges, vendors and SKUs belong to no one site).
    let rows = st.store.reference(Some(k)).await?.into_iter();
    let site_of =
        |r: &stockade_model::RecordRow| if k == RecordKind::Site { Some(r.id.clone()) } else { r.site.clone() };
    Ok(Json(rows.filter(|r| site_of(r).is_none_or(|s| caller.may_see(&s))).map(|r| r.json).collect()))
}
