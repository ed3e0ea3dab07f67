//! The GS1 EPCIS 2.0 capture interface (REST binding; JSON / JSON-LD and XML).
//!
//! `POST /epcis/capture` validates the whole document first (a document that
//! is not valid EPCIS 2.0 is refused with 400 and every error found, and
//! nothing of it is stored), then maps and stores its events and answers
//! 202 with a capture job at `Location: /epcis/capture/{captureID}`.
//! Capture is synchronous, so the job is already finished when returned.

use super::{media_type, read_body};
use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::extract::{Path, Query};
use crate::problem::Problem;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use stockade_app::intake::{CaptureError, IngestReport};
use stockade_ingest::LineError;
use stockade_model::{SiteId, SourceId};
use utoipa::{IntoParams, ToSchema};

/// How many finished capture jobs are kept for `GET /epcis/capture/{id}`.
pub const KEPT_JOBS: usize = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaptureQuery {
    /// Source recorded on the events (default `epcis`).
    pub source: Option<String>,
    /// Site for events whose location is not in the reference data.
    pub site: Option<String>,
}

/// An EPCIS capture job (EPCIS 2.0 REST binding).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaptureJob {
    #[serde(rename = "captureID")]
    pub capture_id: String,
    pub running: bool,
    pub success: bool,
    pub capture_error_behaviour: String,
    /// Canonical events stored, duplicates and rejections, per EPCIS event (numbered from 1).
    pub report: IngestReport,
}

/// A GS1 EPCIS 2.0 capture document (see GS1's EPCIS JSON Schema).
#[derive(ToSchema)]
#[schema(as = EpcisDocument, value_type = Object)]
#[allow(dead_code)]
pub struct EpcisDocumentDoc(serde_json::Value);

/// Capture an EPCIS 2.0 document.
#[utoipa::path(post, path = "/epcis/capture", tag = "epcis", params(CaptureQuery),
    request_body(content(
        (EpcisDocumentDoc = "application/ld+json"),
        (EpcisDocumentDoc = "application/json"),
        (String = "application/xml"))),
    responses(
        (status = 202, body = CaptureJob, description = "captured; Location names the job"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "not valid EPCIS 2.0; every error listed, nothing stored"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn capture(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<CaptureQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    caller.require(Permission::Ingest)?;
    let q = q?;
    let media = media_type(&headers);
    if !matches!(media.as_str(), "application/json" | "application/ld+json" | "application/xml" | "text/xml") {
        return Err(Problem::unsupported_media(&media, "application/ld+json, application/json or application/xml"));
    }
    let source = SourceId::new(q.source.unwrap_or_else(|| "epcis".into()))
        .map_err(|e| Problem::bad_request(format!("query parameter `source`: {e}")))?;
    let site = q
        .site
        .map(SiteId::new)
        .transpose()
        .map_err(|e| Problem::bad_request(format!("query parameter `site`: {e}")))?;
    let bytes = read_body(&st, &headers, body).await?;
    let report = async {
        let parsed = st.intake.parse_epcis(bytes.to_vec(), &source, site.as_ref()).await?;
        let held = stockade_app::intake::within_sites(parsed, &caller.sites);
        Ok::<_, CaptureError>(st.intake.ingest_document(held).await?)
    };
    let report = report.await.map_err(|e| match e {
        CaptureError::Document(d) => {
            let errors = match &d {
                stockade_epcis::DocumentError::Invalid(list) => {
                    list.iter().enumerate().map(|(i, m)| LineError::new(i + 1, None, m.clone())).collect()
                }
                _ => Vec::new(),
            };
            let mut p = Problem::new(
                StatusCode::BAD_REQUEST,
                "epcis-validation",
                "EPCIS validation failed",
                "the document is not valid EPCIS 2.0; nothing was captured",
            );
            if errors.is_empty() {
                p.detail = d.to_string();
            }
            p.errors = errors;
            p
        }
        CaptureError::Store(e) => e.into(),
    })?;
    let job = CaptureJob {
        capture_id: hex::encode(rand::random::<[u8; 12]>()),
        running: false,
        success: report.rejected == 0,
        capture_error_behaviour: "rollback".into(),
        report,
    };
    if let Ok(mut jobs) = st.captures.lock() {
        if jobs.len() >= KEPT_JOBS {
            jobs.pop_front();
        }
        jobs.push_back(job.clone());
    }
    let location = format!("/epcis/capture/{}", job.capture_id);
    let mut resp = (StatusCode::ACCEPTED, Json(job)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// A finished capture job (the last 1000 are kept).
#[utoipa::path(get, path = "/epcis/capture/{captureID}", tag = "epcis",
    params(("captureID" = String, Path, description = "from the Location of the capture")),
    responses((status = 200, body = CaptureJob),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn capture_job(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CaptureJob>, Problem> {
    caller.require(Permission::Ingest).or_else(|_| caller.require(Permission::Read))?;
    let id = id?;
    st.captures
        .lock()
        .ok()
        .and_then(|jobs| jobs.iter().find(|j| j.capture_id == id).cloned())
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("no capture job {id:?} (the last {KEPT_JOBS} are kept)")))
}
