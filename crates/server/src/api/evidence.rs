//! The evidence vault over HTTP: collect (streamed upload), read with
//! custody, custody actions, retention sweeps and incident packages.

use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::extract::{JsonBody, Path, Query};
use crate::problem::Problem;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use stockade_app::custody::{Collect, Custodian, CustodyError};
use stockade_evidence::{Action, CustodyRecord, CustodyState, EvidenceRecord, Refusal};
use stockade_store::vault::UploadError;
use stockade_store::{StoredCustody, StoredEvidence};
use utoipa::{IntoParams, ToSchema};

impl From<CustodyError> for Problem {
    fn from(e: CustodyError) -> Problem {
        let msg = e.to_string();
        match e {
            CustodyError::Refused(Refusal::Invalid(_)) => Problem::bad_request(msg),
            CustodyError::Refused(Refusal::Conflict(_)) => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", msg)
            }
            CustodyError::Refused(Refusal::Gone(_)) => {
                Problem::new(StatusCode::GONE, "expired", "Evidence expired", msg)
            }
            CustodyError::Upload(UploadError::TooLarge(limit)) => Problem::too_large(limit as usize),
            CustodyError::Upload(UploadError::HashMismatch { .. } | UploadError::SizeMismatch { .. }) => {
                Problem::unprocessable(format!("{msg}; nothing was stored"), Vec::new())
            }
            CustodyError::Upload(UploadError::Truncated(_) | UploadError::Empty) => {
                Problem::bad_request(format!("{msg}; nothing was stored"))
            }
            CustodyError::Unknown(_) | CustodyError::Store(stockade_store::StoreError::NotFound(_)) => {
                Problem::not_found(msg)
            }
            CustodyError::Store(stockade_store::StoreError::Conflict(_)) => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", format!("{msg}; retry"))
            }
            CustodyError::NoIncident(_) | CustodyError::UnknownSource { .. } => Problem::unprocessable(msg, Vec::new()),
            CustodyError::Since(_) => Problem::bad_request(msg),
            CustodyError::Integrity(_) | CustodyError::Package(_) => Problem::internal(msg),
            CustodyError::Upload(UploadError::Store(err)) | CustodyError::Store(err) => Problem::from(err),
        }
    }
}

fn custodian(st: &AppState) -> Result<&Arc<Custodian>, Problem> {
    st.custodian.as_ref().ok_or_else(|| Problem::not_found("this instance keeps no evidence vault"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CollectQuery {
    /// The incident the evidence belongs to.
    #[param(pattern = "^[!-~]{1,200}$")]
    pub incident: String,
    /// Retention class: video, photo, export, document, other (or as configured).
    pub class: String,
    /// Where it came from, `kind:id`: `camera:`, `reader:`, `device:` (the
    /// asset registry) or `person:` with an id the reference data holds, or
    /// `system:WMS`, `external:police-bodycam-17` for sources it does not.
    #[param(pattern = "^(camera|reader|device|person|system|external):[!-~]+$", max_length = 200)]
    pub collected_from: String,
    /// Why it is collected.
    #[param(pattern = "\\S")]
    pub reason: String,
    #[serde(default)]
    pub description: String,
    /// Start of the time range the file covers (RFC 3339).
    pub original_from: Option<String>,
    /// End of that range (RFC 3339).
    pub original_to: Option<String>,
    /// The file's SHA-256 (hex), checked before anything is stored. RFC 9530
    /// `Content-Digest: sha-256=:<base64>:` is read too.
    pub sha256: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EvidenceView {
    #[schema(value_type = Object)]
    pub record: EvidenceRecord,
    pub leaf_index: u64,
    pub held: bool,
    pub sealed: bool,
    pub expired: bool,
    #[schema(value_type = Vec<Object>)]
    pub custody: Vec<CustodyRecord>,
}

impl EvidenceView {
    /// An item with its chain of custody and the state that chain gives it.
    fn of(e: StoredEvidence, chain: Vec<StoredCustody>) -> Result<EvidenceView, Problem> {
        let custody: Vec<CustodyRecord> = chain.into_iter().map(|c| c.record).collect();
        let state = CustodyState::of(&custody).map_err(|r| Problem::internal(r.to_string()))?;
        Ok(EvidenceView {
            record: e.record,
            leaf_index: e.leaf_index,
            held: state.held,
            sealed: state.sealed,
            expired: state.expired,
            custody,
        })
    }
}

fn declared_sha256(q: &CollectQuery, headers: &HeaderMap) -> Result<Option<[u8; 32]>, Problem> {
    let from_query = q
        .sha256
        .as_deref()
        .map(|h| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(h, &mut out)
                .map(|()| out)
                .map_err(|_| Problem::bad_request("`sha256` must be 64 hex digits"))
        })
        .transpose()?;
    // RFC 9530: Content-Digest: sha-256=:BASE64:
    let from_header = headers
        .get("content-digest")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .find_map(|item| item.trim().strip_prefix("sha-256=:")?.strip_suffix(':').map(str::to_owned))
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| Problem::bad_request("Content-Digest must carry sha-256=:<base64 of 32 bytes>:"))
        })
        .transpose()?;
    match (from_query, from_header) {
        (Some(a), Some(b)) if a != b => Err(Problem::bad_request("`sha256` and Content-Digest disagree")),
        (a, b) => Ok(a.or(b)),
    }
}

/// Collects an evidence file: the body is streamed to the vault (any size up
/// to the configured limit) and hashed; the item and its `collected` custody
/// entry are recorded in the ledger. A declared hash or length that does not
/// match refuses the upload and stores nothing.
#[utoipa::path(post, path = "/api/v1/evidence", tag = "evidence", params(CollectQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file, streamed"),
    responses((status = 201, body = EvidenceView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn collect(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<CollectQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<EvidenceView>), Problem> {
    caller.require(Permission::Collect)?;
    let q = q?;
    super::incidents::visible(&st, &caller, &q.incident).await?;
    let c = custodian(&st)?;
    let sha = declared_sha256(&q, &headers)?;
    let size = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let meta = Collect {
        incident: q.incident,
        class: q.class,
        media_type,
        collected_from: q.collected_from,
        original_from: q.original_from,
        original_to: q.original_to,
        description: q.description,
        reason: q.reason,
    };
    let mut stream = body.into_data_stream().boxed();
    // A refusal's unread rest is drained by the body guard (`crate::body`).
    let (e, first) = c.collect(meta, &caller.actor(), &mut stream, sha, size).await?;
    Ok((StatusCode::CREATED, Json(EvidenceView::of(e, vec![first])?)))
}

/// An evidence item: its record, state and chain of custody (reading the
/// record is not an access to the evidence; opening its content is).
#[utoipa::path(get, path = "/api/v1/evidence/{id}", tag = "evidence",
    params(("id" = String, Path, description = "Evidence id")),
    responses((status = 200, body = EvidenceView),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn item(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EvidenceView>, Problem> {
    caller.require(Permission::Read)?;
    let id = id?;
    evidence_visible(&st, &caller, &id).await?;
    let (e, chain) = custodian(&st)?.item(&id).await?;
    Ok(Json(EvidenceView::of(e, chain)?))
}

/// The evidence of an incident, oldest first, each with its state and chain
/// of custody (listing is not an access to the evidence; opening it is).
#[utoipa::path(get, path = "/api/v1/incidents/{incident}/evidence", tag = "evidence",
    params(("incident" = String, Path, description = "Incident id")),
    responses((status = 200, body = Vec<EvidenceView>),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn of_incident(
    State(st): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
) -> Result<Json<Vec<EvidenceView>>, Problem> {
    caller.require(Permission::Read)?;
    let incident = incident?;
    super::incidents::visible(&st, &caller, &incident).await?;
    let c = custodian(&st)?;
    let mut out = Vec::new();
    for e in c.incident_evidence(&incident).await? {
        let chain = st.store.custody(&e.record.id).await?;
        out.push(EvidenceView::of(e, chain)?);
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContentQuery {
    /// `view` or `download` (recorded as `viewed` / `downloaded`).
    #[param(pattern = "^(view|download)$")]
    pub purpose: String,
    /// Why it is opened (recorded).
    #[param(pattern = "\\S")]
    pub reason: String,
}

/// The evidence file. The access is recorded in the chain of custody before
/// the first byte is sent, and the file is re-hashed as it streams: if it no
/// longer matches its SHA-256 the transfer is cut off.
#[utoipa::path(get, path = "/api/v1/evidence/{id}/content", tag = "evidence",
    params(("id" = String, Path, description = "Evidence id"), ContentQuery),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 410, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn content(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<ContentQuery>,
) -> Result<Response, Problem> {
    caller.require(Permission::ViewEvidence)?;
    let id = id?;
    evidence_visible(&st, &caller, &id).await?;
    let q = q?;
    let action = match q.purpose.as_str() {
        "view" => Action::Viewed,
        "download" => Action::Downloaded,
        other => return Err(Problem::bad_request(format!("`purpose` must be view or download, got {other:?}"))),
    };
    let (record, file) = custodian(&st)?.open(&id, action, &caller.actor(), &q.reason).await?;
    let expected = record.sha256.clone();
    let rid = record.id.clone();
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut checked = false;
    let stream = tokio_util_stream(file).map(move |chunk| match chunk {
        Ok(bytes) if !bytes.is_empty() => {
            sha2::Digest::update(&mut hasher, &bytes);
            Ok(bytes)
        }
        Ok(_) if !checked => {
            checked = true;
            let got = hex::encode(sha2::Digest::finalize_reset(&mut hasher));
            if got == expected {
                Ok(bytes::Bytes::new())
            } else {
                tracing::error!(evidence = %rid, "evidence file no longer matches its SHA-256; transfer cut off");
                Err(std::io::Error::other("evidence file failed its integrity check"))
            }
        }
        other => other,
    });
    let disposition = match action {
        Action::Downloaded => format!("attachment; filename=\"{}\"", record.id),
        _ => "inline".to_owned(),
    };
    // The media type is the uploader's word: never let a browser sniff or
    // run what it serves (an uploaded page must not script this origin).
    Ok((
        [
            (header::CONTENT_TYPE, record.media_type.clone()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::HeaderName::from_static("x-evidence-sha256"), record.sha256.clone()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// A file as a stream of chunks, ending with one empty chunk (where the
/// hash is checked).
fn tokio_util_stream(
    file: tokio::fs::File,
) -> impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    use tokio::io::AsyncReadExt;
    futures::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; 256 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => Some((Ok(bytes::Bytes::new()), None)),
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ActRequest {
    /// transferred, sealed, hold_set, hold_lifted or expired.
    #[schema(pattern = "^(transferred|sealed|hold_set|hold_lifted|expired)$")]
    pub action: String,
    /// Why (recorded in the chain of custody).
    #[schema(pattern = "\\S")]
    pub reason: String,
    /// The receiving party of a transfer.
    pub party: Option<String>,
}

/// Records a custody action: a transfer to a named party, sealing, a legal
/// hold set or lifted (admin), or expiry (admin; only once the retention
/// window is over and no hold stands).
#[utoipa::path(post, path = "/api/v1/evidence/{id}/custody", tag = "evidence",
    params(("id" = String, Path, description = "Evidence id")),
    request_body = ActRequest,
    responses((status = 201, body = Object),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 410, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn act(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(r): JsonBody<ActRequest>,
) -> Result<(StatusCode, Json<CustodyRecord>), Problem> {
    // Which role an act needs depends on the act; none is open to a role
    // that holds neither custody nor admin.
    caller.require(Permission::Custody).or_else(|_| caller.require(Permission::Admin))?;
    let (id, r) = (id?, r?);
    evidence_visible(&st, &caller, &id).await?;
    let action =
        Action::parse(&r.action).ok_or_else(|| Problem::bad_request(format!("unknown action {:?}", r.action)))?;
    match action {
        Action::HoldSet | Action::HoldLifted | Action::Expired => caller.require(Permission::Admin)?,
        Action::Transferred | Action::Sealed => caller.require(Permission::Custody)?,
        _ => {
            return Err(Problem::bad_request(format!(
                "{} is recorded by the act itself (collect, open, package), not posted",
                action.as_str()
            )));
        }
    }
    let c = custodian(&st)?.act(&id, action, &caller.actor(), &r.reason, r.party).await?;
    Ok((StatusCode::CREATED, Json(c.record)))
}

#[derive(Serialize, ToSchema)]
pub struct SweepResult {
    pub expired: Vec<String>,
}

/// Applies retention now: every item whose window is over and that no legal
/// hold protects expires (its file is deleted; its record, chain and leaves stay).
#[utoipa::path(post, path = "/api/v1/evidence/expire", tag = "evidence",
    responses((status = 200, body = SweepResult),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn expire(State(st): State<AppState>, caller: Caller) -> Result<Json<SweepResult>, Problem> {
    caller.require(Permission::Admin)?;
    let expired = custodian(&st)?.sweep(&caller.actor()).await?;
    Ok(Json(SweepResult { expired }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PackageQuery {
    /// Related events, by seq, comma-separated.
    #[serde(default)]
    pub events: String,
    /// Why it is exported (recorded on each item).
    #[param(pattern = "\\S")]
    pub reason: String,
    /// The size of a checkpoint of this log you hold: the package then
    /// carries a consistency proof from it (`stockade verify --since`).
    #[serde(default)]
    #[param(minimum = 1)]
    pub since: Option<u64>,
}

/// The incident's evidence package (a tar archive): files, custody records,
/// the given events, inclusion proofs, a checkpoint and a manifest signed by
/// the log's key. Check it offline with `stockade verify PACKAGE --key KEY`.
#[utoipa::path(get, path = "/api/v1/incidents/{incident}/package", tag = "evidence",
    params(("incident" = String, Path, description = "Incident id"), PackageQuery),
    responses((status = 200, content_type = "application/x-tar", body = Vec<u8>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn package(
    State(st): State<AppState>,
    caller: Caller,
    Path(incident): Path<String>,
    Query(q): Query<PackageQuery>,
) -> Result<Response, Problem> {
    // Deny before anything about the request is judged.
    caller.require(Permission::ViewEvidence)?;
    let incident = incident?;
    let q = q?;
    package_of(&st, &caller, &incident, &q.events, &q.reason, q.since).await
}

/// An incident's evidence package as a download, for `caller` (the API
/// route and the console's button).
pub(crate) async fn package_of(
    st: &AppState,
    caller: &Caller,
    incident: &str,
    events: &str,
    reason: &str,
    since: Option<u64>,
) -> Result<Response, Problem> {
    caller.require(Permission::ViewEvidence)?;
    super::incidents::visible(st, caller, incident).await?;
    let q = PackageQuery { events: events.to_owned(), reason: reason.to_owned(), since };
    if q.reason.trim().is_empty() {
        return Err(Problem::bad_request("a `reason` for the export is required"));
    }
    let seqs: Vec<u64> = q
        .events
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().map_err(|_| Problem::bad_request(format!("`events`: {s:?} is not a seq"))))
        .collect::<Result<_, _>>()?;
    let file = custodian(st)?.package(incident, &seqs, &caller.actor(), &q.reason, q.since).await?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let stream = tokio_util_stream(tokio::fs::File::from_std(file)).filter(|c| {
        let keep = !matches!(c, Ok(b) if b.is_empty());
        async move { keep }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-tar".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{incident}.stockade.tar\"")),
            // An export is a custody act: a cached copy would be one nobody logged.
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Refused as absent (404) when evidence `id` belongs to an incident at a
/// site the caller is not limited to.
pub(crate) async fn evidence_visible(st: &AppState, caller: &Caller, id: &str) -> Result<(), Problem> {
    if caller.sites.is_empty() {
        return Ok(());
    }
    match st.store.evidence(id).await? {
        Some(e) if super::incidents::visible(st, caller, &e.record.incident).await.is_ok() => Ok(()),
        _ => Err(Problem::not_found(format!("no evidence {id:?}"))),
    }
}
