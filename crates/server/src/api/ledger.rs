//! The evidence ledger's read API: C2SP tlog-tiles under `/tlog/`
//! (checkpoint, hash tiles, entry bundles) and JSON proofs under
//! `/api/v1/ledger`.
//!
//! Hashes in JSON are standard base64, as in checkpoints and RFC 9162's
//! JSON clients. A proof is given against the latest signed checkpoint unless
//! a `size` is asked for, so that it verifies offline with the log's key.

use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::extract::{Path, Query};
use crate::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use stockade_ledger::tiles::{TilePath, encode_bundle};
use stockade_ledger::{Hash, leaf_hash};
use stockade_store::{Ledger, SignedCheckpoint, StoreError};
use utoipa::{IntoParams, ToSchema};

fn b64(h: &Hash) -> String {
    base64::engine::general_purpose::STANDARD.encode(h.0)
}

fn ledger(st: &AppState) -> Result<&Arc<Ledger>, Problem> {
    st.intake.ledger().ok_or_else(|| Problem::not_found("this instance keeps no evidence ledger"))
}

/// Proof requests name sizes and leaves; asking beyond the tree is the caller's mistake.
fn proof_error(e: StoreError) -> Problem {
    match e {
        StoreError::NotFound(msg) => Problem::bad_request(msg),
        other => Problem::from(other),
    }
}

/// Blocking work on the ledger (disk reads, signing, fsync) off the async threads.
async fn on_ledger<T: Send + 'static>(
    l: &Arc<Ledger>,
    f: impl FnOnce(&Ledger) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let l = l.clone();
    tokio::task::spawn_blocking(move || f(&l)).await.map_err(StoreError::from)?
}

/// The latest checkpoint, signing one first when none covers `need` leaves.
async fn checkpoint_covering(l: &Arc<Ledger>, need: u64) -> Result<SignedCheckpoint, StoreError> {
    match l.checkpoint() {
        Some(cp) if cp.size >= need => Ok(cp),
        _ => on_ledger(l, |l| l.sign_checkpoint()).await,
    }
}

/// C2SP tlog-checkpoint: the latest signed checkpoint of the log.
#[utoipa::path(get, path = "/tlog/checkpoint", tag = "ledger",
    responses((status = 200, content_type = "text/plain; charset=utf-8", body = String,
        description = "C2SP signed note holding a tlog-checkpoint"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn checkpoint(State(st): State<AppState>) -> Result<Response, Problem> {
    let l = ledger(&st)?;
    let cp = checkpoint_covering(l, 0).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], cp.note)
        .into_response())
}

/// C2SP tlog-tiles: a hash tile (`tile/L/N[.p/W]`) or an entry bundle (`tile/entries/N[.p/W]`).
#[utoipa::path(get, path = "/tlog/tile/{path}", tag = "ledger",
    params(("path" = String, Path, description = "`L/N[.p/W]` or `entries/N[.p/W]`, N in C2SP's x000/000 form")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn tile(State(st): State<AppState>, Path(path): Path<String>) -> Result<Response, Problem> {
    let path = path?;
    let l = ledger(&st)?;
    let tile = TilePath::parse(&path).map_err(|e| Problem::not_found(e.to_string()))?;
    let (start, width) = tile.span();
    let bytes = match tile {
        TilePath::Hashes { level, index, width } => l.with_tree(|t| t.hash_tile(level, index, width)),
        TilePath::Entries { .. } => on_ledger(l, move |l| l.entries(start, u64::from(width)))
            .await
            .map(|e| encode_bundle(e.iter().map(Vec::as_slice))),
    };
    let bytes = bytes.map_err(|e| match e {
        StoreError::NotFound(_) => Problem::not_found(format!("tile {path} is not in the log yet")),
        other => Problem::from(other),
    })?;
    // Tiles never change once they exist: a partial tile is a prefix of the
    // full one. Shared caches may keep them only when /tlog/ is public: a
    // `public` answer to a request with a token would let a proxy hand it
    // to clients without one (RFC 9111 §3.5).
    let cache = if st.config.public_tlog {
        "public, max-age=31536000, immutable"
    } else {
        "private, max-age=31536000, immutable"
    };
    Ok(([(header::CONTENT_TYPE, "application/octet-stream"), (header::CACHE_CONTROL, cache)], bytes).into_response())
}

/// The log's identity and latest checkpoint.
#[derive(Serialize, ToSchema)]
pub struct LedgerStatus {
    /// The checkpoint origin line.
    pub origin: String,
    /// The key that verifies checkpoints, in C2SP signed-note form.
    pub verifier_key: String,
    /// Leaves durable now (may be ahead of the checkpoint).
    pub size: u64,
    pub checkpoint: Option<CheckpointView>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckpointView {
    pub size: u64,
    /// Root hash, base64.
    pub root: String,
    /// The signed note, as served at `/tlog/checkpoint`.
    pub note: String,
}

impl From<&SignedCheckpoint> for CheckpointView {
    fn from(cp: &SignedCheckpoint) -> Self {
        CheckpointView { size: cp.size, root: b64(&cp.root), note: String::from_utf8_lossy(&cp.note).into_owned() }
    }
}

/// The evidence ledger: origin, verifier key, size and latest checkpoint.
#[utoipa::path(get, path = "/api/v1/ledger", tag = "ledger",
    responses((status = 200, body = LedgerStatus),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn status(State(st): State<AppState>, caller: Caller) -> Result<Json<LedgerStatus>, Problem> {
    caller.require(Permission::Read)?;
    let l = ledger(&st)?;
    Ok(Json(LedgerStatus {
        origin: l.origin().to_owned(),
        verifier_key: l.verifier_key().to_owned(),
        size: l.size(),
        checkpoint: l.checkpoint().as_ref().map(CheckpointView::from),
    }))
}

/// Signs a checkpoint over every durable leaf now (they are also signed every few seconds).
#[utoipa::path(post, path = "/api/v1/ledger/checkpoint", tag = "ledger",
    responses((status = 200, body = CheckpointView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn sign(State(st): State<AppState>, caller: Caller) -> Result<Json<CheckpointView>, Problem> {
    caller.require(Permission::Admin)?;
    let l = ledger(&st)?;
    let cp = on_ledger(l, |l| l.sign_checkpoint()).await?;
    Ok(Json(CheckpointView::from(&cp)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// Tree size to prove against; default: the latest signed checkpoint
    /// (signed now if it does not cover the leaf yet).
    pub size: Option<u64>,
    /// `json` (the default), or `tlog-proof`: the C2SP tlog-proof@v1 text
    /// (c2sp.org/tlog-proof) with the entry in its `extra` line and the
    /// signed checkpoint, one file to keep beside the evidence and check
    /// offline with `stockade ledger check-proof`.
    pub format: Option<String>,
}

/// An inclusion proof (RFC 9162 §2.1.3).
#[derive(Serialize, ToSchema)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// The leaf's entry (what the leaf hash covers), base64: event entries
    /// are binary (docs/LEDGER.md).
    pub entry_base64: String,
    /// The entry as one line of text (`stockade/event seq=… commit=…`, ...).
    pub entry: String,
    /// RFC 6962 leaf hash of the entry, base64.
    pub leaf_hash: String,
    /// Audit path, base64 hashes, leaf to root.
    pub proof: Vec<String>,
    /// Root of the tree of `tree_size` leaves, base64.
    pub root: String,
    /// The signed checkpoint of that size, when there is one.
    pub checkpoint: Option<String>,
}

async fn inclusion(l: &Arc<Ledger>, index: u64, size: Option<u64>) -> Result<InclusionProof, Problem> {
    let cp = match size {
        None => Some(checkpoint_covering(l, index + 1).await?),
        Some(_) => l.checkpoint(),
    };
    let size = size.or(cp.as_ref().map(|c| c.size)).unwrap_or(0);
    let (proof, root) = l.with_tree(|t| Ok((t.inclusion_proof(index, size)?, t.root(size)?))).map_err(proof_error)?;
    // One small read from the page cache: cheaper inline than a hop to the blocking pool.
    let entry = l.entries(index, 1)?.pop().unwrap_or_default();
    Ok(InclusionProof {
        leaf_index: index,
        tree_size: size,
        leaf_hash: b64(&leaf_hash(&entry)),
        entry: stockade_ledger::entry::Entry::decode(&entry)
            .map(|e| e.describe())
            .unwrap_or_else(|_| String::from_utf8_lossy(&entry).into_owned()),
        entry_base64: base64::engine::general_purpose::STANDARD.encode(&entry),
        proof: proof.iter().map(b64).collect(),
        root: b64(&root),
        checkpoint: cp.filter(|c| c.size == size).map(|c| String::from_utf8_lossy(&c.note).into_owned()),
    })
}

/// A proof of leaf `index` in the format the query asks for.
async fn prove(l: &Arc<Ledger>, index: u64, q: ProofQuery) -> Result<Response, Problem> {
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(inclusion(l, index, q.size).await?).into_response()),
        Some("tlog-proof") => tlog_proof(l, index, q.size).await,
        Some(other) => Err(Problem::bad_request(format!("`format` must be json or tlog-proof, got {other:?}"))),
    }
}

/// A C2SP tlog-proof: it carries the signed checkpoint, so it proves
/// against the latest one (signed now if it does not cover the leaf yet).
async fn tlog_proof(l: &Arc<Ledger>, index: u64, size: Option<u64>) -> Result<Response, Problem> {
    let cp = checkpoint_covering(l, index + 1).await?;
    if let Some(asked) = size
        && asked != cp.size
    {
        return Err(Problem::bad_request(format!(
            "a tlog-proof carries a signed checkpoint, and the latest is of size {}: omit `size` or ask for that one",
            cp.size
        )));
    }
    let proof = l.with_tree(|t| t.inclusion_proof(index, cp.size)).map_err(proof_error)?;
    let entry = l.entries(index, 1)?.pop().unwrap_or_default();
    let text = stockade_ledger::proof::TlogProof { extra: Some(entry), index, proof, checkpoint: cp.note }.encode();
    let disposition = format!("inline; filename=\"leaf-{index}.tlog-proof\"");
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        text,
    )
        .into_response())
}

/// Inclusion proof of an event's leaf, by the event's `seq`.
#[utoipa::path(get, path = "/api/v1/ledger/events/{seq}/proof", tag = "ledger",
    params(("seq" = u64, Path, description = "The event's sequence number, as ingest reported it"), ProofQuery),
    responses((status = 200, description = "The proof", content((InclusionProof = "application/json"), (String = "text/plain"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn event_proof(
    State(st): State<AppState>,
    caller: Caller,
    Path(seq): Path<u64>,
    Query(q): Query<ProofQuery>,
) -> Result<Response, Problem> {
    caller.require(Permission::Read)?;
    let seq = seq?;
    let q = q?;
    let l = ledger(&st)?;
    let index =
        l.event_leaf(seq).ok_or_else(|| Problem::not_found(format!("no event with seq {seq} in the ledger")))?;
    prove(l, index, q).await
}

/// Inclusion proof of an evidence item's leaf (its record as collected), by
/// the item's id. Reading a proof is not an access to the evidence.
#[utoipa::path(get, path = "/api/v1/ledger/evidence/{id}/proof", tag = "ledger",
    params(("id" = String, Path, description = "Evidence id"), ProofQuery),
    responses((status = 200, description = "The proof", content((InclusionProof = "application/json"), (String = "text/plain"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn evidence_proof(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<ProofQuery>,
) -> Result<Response, Problem> {
    caller.require(Permission::Read)?;
    let id = id?;
    super::evidence::evidence_visible(&st, &caller, &id).await?;
    let q = q?;
    let l = ledger(&st)?;
    let e = st.store.evidence(&id).await?.ok_or_else(|| Problem::not_found(format!("no evidence {id}")))?;
    prove(l, e.leaf_index, q).await
}

/// Inclusion proof of any leaf (event, evidence or custody), by leaf index.
#[utoipa::path(get, path = "/api/v1/ledger/leaves/{index}/proof", tag = "ledger",
    params(("index" = u64, Path, description = "Leaf index, from 0"), ProofQuery),
    responses((status = 200, description = "The proof", content((InclusionProof = "application/json"), (String = "text/plain"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn leaf_proof(
    State(st): State<AppState>,
    caller: Caller,
    Path(index): Path<u64>,
    Query(q): Query<ProofQuery>,
) -> Result<Response, Problem> {
    caller.require(Permission::Read)?;
    caller.require_every_site("a leaf of any kind")?;
    let index = index?;
    let q = q?;
    let l = ledger(&st)?;
    if index >= l.size() {
        return Err(Problem::bad_request(format!("leaf {index} is not in a log of {} leaves", l.size())));
    }
    prove(l, index, q).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size (at least 1).
    pub from: u64,
    /// The newer tree size; default: the latest signed checkpoint.
    pub to: Option<u64>,
    /// `json` only: C2SP's tlog-proof format carries inclusion proofs, not
    /// consistency proofs.
    pub format: Option<String>,
}

/// A consistency proof (RFC 9162 §2.1.4).
#[derive(Serialize, ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub from_root: String,
    pub to_root: String,
    pub proof: Vec<String>,
    /// The signed checkpoint of size `to` (C2SP signed note), when `to` is
    /// the latest signed one (the default): check its signature, then the
    /// proof from the root of the checkpoint you already hold to its root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// Consistency proof between two tree sizes.
#[utoipa::path(get, path = "/api/v1/ledger/consistency", tag = "ledger",
    params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn consistency(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, Problem> {
    caller.require(Permission::Read)?;
    let q = q?;
    if let Some(f) = q.format.as_deref().filter(|f| *f != "json") {
        return Err(Problem::bad_request(format!(
            "format {f:?}: a consistency proof is answered in JSON only (C2SP tlog-proof carries inclusion proofs)"
        )));
    }
    let l = ledger(&st)?;
    let latest = checkpoint_covering(l, 0).await?;
    let to = q.to.unwrap_or(latest.size);
    let (proof, from_root, to_root) =
        l.with_tree(|t| Ok((t.consistency_proof(q.from, to)?, t.root(q.from)?, t.root(to)?))).map_err(proof_error)?;
    Ok(Json(ConsistencyProof {
        from: q.from,
        to,
        from_root: b64(&from_root),
        to_root: b64(&to_root),
        proof: proof.iter().map(b64).collect(),
        checkpoint: (latest.size == to).then(|| String::from_utf8_lossy(&latest.note).into_owned()),
    }))
}

/// Signs a checkpoint every `every` while new leaves arrive.
pub fn spawn_checkpointer(
    ledger: Arc<Ledger>,
    every: std::time::Duration,
    witnesses: Option<Arc<crate::witnessing::Witnesses>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let behind = ledger.checkpoint().is_none_or(|c| c.size < ledger.size());
            if behind {
                match on_ledger(&ledger, |l| l.sign_checkpoint()).await {
                    Ok(cp) => {
                        tracing::debug!(size = cp.size, "signed a ledger checkpoint");
                        if let Some(w) = &witnesses {
                            stockade_app::custody::Cosigning::cosign_latest(&**w, &ledger).await;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not sign a ledger checkpoint"),
                }
            }
        }
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Records after this number (paging cursor).
    #[serde(default)]
    pub after: u64,
    /// At most this many (default 100, from 1 to 10000; outside, 400).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditView {
    #[schema(value_type = Object)]
    pub record: stockade_evidence::AuditRecord,
    pub leaf_index: u64,
}

/// The audit trail of administrative acts (tokens created and revoked,
/// reference data imported, incidents opened), each with its ledger leaf.
#[utoipa::path(get, path = "/api/v1/audit", tag = "ledger", params(AuditQuery),
    responses((status = 200, body = Vec<AuditView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn audit(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditView>>, Problem> {
    caller.require(Permission::Audit)?;
    caller.require_every_site("the audit trail")?;
    let q = q?;
    let rows = st.store.audit(q.after, super::page_limit(q.limit)?).await?;
    Ok(Json(rows.into_iter().map(|a| AuditView { record: a.record, leaf_index: a.leaf_index }).collect()))
}
