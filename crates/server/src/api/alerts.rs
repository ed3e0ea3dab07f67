//! Detection over HTTP: alerts (filtered by site, entity, rule, time, case
//! or incident), each with its case, its incident and a link to the ledger
//! inclusion proof of every event it cites; entity risk; the rules in force
//! and their reload without a restart.

use crate::AppState;
use crate::api::query_time;
use crate::auth::{Caller, Permission};
use crate::extract::Query;
use crate::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use stockade_app::detection::{DetectError, Detection, Reloaded, RuleInForce};
use stockade_ingest::LineError;
use stockade_store::AlertQuery;
use utoipa::IntoParams;

/// Entity types an alert can name.
const ENTITY_TYPES: [&str; 13] = [
    "zone", "door", "reader", "camera", "person", "badge", "vendor", "sku", "location", "account", "system", "api_key",
    "asset",
];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertListQuery {
    /// Only this site's.
    pub site: Option<String>,
    /// Only alerts naming this entity, as `type:id` (`person:P-0042`, `door:D-CAGE`).
    pub entity: Option<String>,
    /// Only this rule's (its `name`).
    pub rule: Option<String>,
    /// Detected at or after (RFC 3339).
    pub from: Option<String>,
    /// Detected before (RFC 3339).
    pub to: Option<String>,
    /// Only this case's.
    pub case: Option<u64>,
    /// Only the alerts of this incident's case (`INC-<n>`).
    pub incident: Option<String>,
    /// Alerts numbered after this (paging cursor).
    #[serde(default)]
    pub after: u64,
    /// At most this many (default 100, from 1 to 10000; outside, 400).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

fn entity_filter(v: &str) -> Result<(String, String), Problem> {
    let refuse = || {
        Problem::bad_request(format!(
            "query parameter `entity`: expected `type:id` with type one of {}, got {v:?}",
            ENTITY_TYPES.join(", ")
        ))
    };
    let (kind, id) = v.split_once(':').ok_or_else(refuse)?;
    if !ENTITY_TYPES.contains(&kind) || id.is_empty() {
        return Err(refuse());
    }
    Ok((kind.to_owned(), id.to_owned()))
}

/// The link to an event's inclusion proof in the ledger.
pub(crate) fn proof_link(seq: i64) -> String {
    format!("/api/v1/ledger/events/{seq}/proof")
}

/// Adds `proof` to a cited event that carries its `seq`.
fn link(event: &mut Value) {
    if let Some(seq) = event.get("seq").and_then(Value::as_i64)
        && let Some(o) = event.as_object_mut()
    {
        o.insert("proof".into(), Value::String(proof_link(seq)));
    }
}

/// Alerts in the order they were raised: each with `n` (paging cursor), its
/// `case` and the `incident` that case opened (null while below the bar,
/// and for the moment between an alert being stored and the incident it
/// brings opening),
/// the rule, level and reason in words, the entities it names, the event
/// that raised it and the events behind it (`related`), each with `seq` and
/// `proof`, the link to its ledger inclusion proof.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "detection", params(AlertListQuery),
    responses((status = 200, body = Vec<Object>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<AlertListQuery>,
) -> Result<Json<Vec<Value>>, Problem> {
    caller.require(Permission::Read)?;
    let q = q?;
    if let Some(i) = &q.incident
        && stockade_incident::incident_number(i).is_none()
    {
        return Err(Problem::bad_request(format!("query parameter `incident`: expected INC-<n>, got {i:?}")));
    }
    let query = AlertQuery {
        site: caller.site_for_list(q.site)?,
        rule: q.rule,
        from_us: query_time("from", &q.from)?,
        to_us: query_time("to", &q.to)?,
        case: q.case,
        entity: q.entity.as_deref().map(entity_filter).transpose()?,
        incident: q.incident,
        after: q.after,
        limit: super::page_limit(q.limit)?,
    };
    let listed = stockade_app::alerts::list(&*st.store, &query).await?;
    let mut out = Vec::with_capacity(listed.len());
    for a in listed {
        let mut v = serde_json::to_value(&a).map_err(|e| Problem::internal(format!("alert {}: {e}", a.n)))?;
        if let Some(e) = v.get_mut("event") {
            link(e);
        }
        if let Some(Value::Array(related)) = v.get_mut("related") {
            related.iter_mut().for_each(link);
        }
        out.push(v);
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RiskQuery {
    /// Only this site's alerts.
    pub site: Option<String>,
    /// Risk as of this time (RFC 3339; default now). Alerts after it do not count.
    pub at: Option<String>,
    /// At most this many entities (default 100, from 1 to 10000; outside, 400).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// Entities by decreasing risk: each alert adds its level's weight (critical
/// 80, high 50, medium 25, low 10) to every entity it names, halving every
/// 72 hours; alerts of the 30 days before `at` count.
#[utoipa::path(get, path = "/api/v1/risk", tag = "detection", params(RiskQuery),
    responses((status = 200, body = Vec<Object>, description = "type, id, risk, alerts, last, rules"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn risk(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<RiskQuery>,
) -> Result<Json<Vec<stockade_detect::risk::EntityRisk>>, Problem> {
    caller.require(Permission::Read)?;
    let q = q?;
    let limit = super::page_limit(q.limit)? as usize;
    let at = match &q.at {
        Some(s) => stockade_model::event::rfc3339::parse(s)
            .map_err(|e| Problem::bad_request(format!("query parameter `at`: {e}")))?,
        None => st.clock.now().fixed_offset(),
    };
    let mut ranked = stockade_app::alerts::risk(&*st.store, caller.site_for_list(q.site)?, at).await?;
    ranked.truncate(limit);
    Ok(Json(ranked))
}

impl From<DetectError> for Problem {
    fn from(e: DetectError) -> Problem {
        match e {
            // Each refusal with its file as the field and its line.
            DetectError::Refused(errors) => Problem::unprocessable(
                format!("{} rule(s) refused; nothing changed, the rules in force keep running", errors.len()),
                errors.iter().map(|r| LineError::new(r.line, Some(&r.file), r.reason.clone())).collect(),
            ),
            DetectError::ReadRules(m) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rules-unreadable",
                "Rules unreadable",
                format!("{m}; nothing changed, the rules in force keep running"),
            ),
            DetectError::Store(err) => Problem::from(err),
            other => Problem::internal(other),
        }
    }
}

fn detection(st: &AppState) -> Result<Detection, Problem> {
    st.intake.stage().detection().cloned().ok_or_else(|| {
        Problem::new(
            StatusCode::CONFLICT,
            "detection-off",
            "Detection is off",
            "this server runs without detection (--no-detect)",
        )
    })
}

/// The rules in force, by name: Sigma id, title, level, kind (`detection`,
/// `correlation`, `absence`), whether it is a building block, and where it
/// was read.
#[utoipa::path(get, path = "/api/v1/rules", tag = "detection",
    responses((status = 200, body = Vec<Object>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn rules(State(st): State<AppState>, caller: Caller) -> Result<Json<Vec<RuleInForce>>, Problem> {
    caller.require(Permission::Read)?;
    Ok(Json(detection(&st)?.rules().await))
}

/// Reads the rules again (from `--rules DIR`, or the built-in pack) and
/// puts them in force from the next event on, without a restart: what
/// detection learned, its open cases and the correlation windows of rules
/// that kept their id carry over. A pack with any refused rule changes
/// nothing (422, each refusal with its file as `field`, its line and
/// reason). Recorded in the audit trail as `rules_reloaded`, with the
/// SHA-256 of the pack.
#[utoipa::path(post, path = "/api/v1/rules/reload", tag = "detection",
    responses((status = 200, body = Object, description = "source, rules, sha256"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn reload(State(st): State<AppState>, caller: Caller) -> Result<Json<Reloaded>, Problem> {
    caller.require(Permission::Admin)?;
    Ok(Json(detection(&st)?.reload(&caller.actor()).await?))
}

/// Triage an alert no incident took (`{"act": "take"}` or `{"act": "take",
/// "owner": "..."}`, `{"act": "dismiss", "reason": "..."}`, `{"act":
/// "reopen"}`): audited, and shown with the alert from then on. Refused
/// (409) for an alert whose case opened an incident (work it there), a
/// dismissal without a reason, or an act that changes nothing; an alert at
/// a site the caller is not limited to is as if absent (404).
#[utoipa::path(post, path = "/api/v1/alerts/{n}/triage", tag = "detection",
    params(("n" = u64, Path, description = "The alert's number")),
    request_body(content = Object, content_type = "application/json", description = "take, dismiss or reopen"),
    responses((status = 200, body = Object, description = "the alert with its triage"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn triage(
    State(st): State<AppState>,
    caller: Caller,
    crate::extract::Path(n): crate::extract::Path<u64>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<Json<stockade_app::alerts::ListedAlert>, Problem> {
    caller.require(Permission::Investigate)?;
    let n = n?;
    let bytes = crate::api::read_body(&st, &headers, body).await?;
    let act: stockade_app::alerts::Triage = super::incidents::json_body(&headers, &bytes, "triage")?;
    triage_as(&st, &caller, n, act).await.map(Json)
}

/// [`triage`] for a checked caller (the API and the console).
pub(crate) async fn triage_as(
    st: &AppState,
    caller: &Caller,
    n: u64,
    act: stockade_app::alerts::Triage,
) -> Result<stockade_app::alerts::ListedAlert, Problem> {
    use stockade_app::alerts::TriageError;
    match stockade_app::alerts::one(&*st.store, n).await? {
        Some(a) if caller.may_see(&a.alert.site) => {}
        _ => return Err(Problem::not_found(format!("no alert {n}"))),
    }
    match stockade_app::alerts::triage(
        &*st.store,
        st.intake.ledger(),
        &*st.clock,
        &caller.actor(),
        &caller.name,
        n,
        act,
    )
    .await
    {
        Ok(a) => Ok(a),
        Err(TriageError::Unknown(n)) => Err(Problem::not_found(format!("no alert {n}"))),
        Err(TriageError::Refused(why)) => Err(Problem::new(StatusCode::CONFLICT, "refused", "Refused", why)),
        Err(TriageError::Store(e)) => Err(Problem::from(e)),
    }
}
