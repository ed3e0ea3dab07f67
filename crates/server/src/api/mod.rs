//! Routes. Open: health, metrics, published schemas. Everything else passes
//! through the bearer-token layer first.

pub mod alerts;
pub mod epcis;
pub mod events;
pub mod evidence;
pub mod incidents;
pub mod inventory;
pub mod kpi;
pub mod ledger;
pub mod meta;
pub mod reference;
pub mod session;
pub mod tokens;
pub mod webhooks;

use crate::AppState;
use axum::http::{HeaderMap, header};
use std::sync::OnceLock;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::Problem;

fn open_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(meta::healthz))
        .routes(routes!(meta::metrics))
        .routes(routes!(meta::openapi_json))
        .routes(routes!(meta::events_schema))
        .routes(routes!(meta::reference_schema))
        .routes(routes!(session::sign_in))
}

fn protected_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(meta::status))
        .routes(routes!(session::current, session::sign_out))
        .routes(routes!(events::post_events, events::list_events))
        .routes(routes!(reference::post_reference))
        .routes(routes!(reference::list_reference))
        .routes(routes!(inventory::book))
        .routes(routes!(inventory::variance))
        .routes(routes!(epcis::capture))
        .routes(routes!(epcis::capture_job))
        .routes(routes!(ledger::status))
        .routes(routes!(ledger::sign))
        .routes(routes!(ledger::event_proof))
        .routes(routes!(ledger::evidence_proof))
        .routes(routes!(ledger::leaf_proof))
        .routes(routes!(ledger::consistency))
        .routes(routes!(ledger::audit))
        .routes(routes!(evidence::collect))
        .routes(routes!(evidence::expire))
        .routes(routes!(evidence::item))
        .routes(routes!(evidence::content))
        .routes(routes!(evidence::act))
        .routes(routes!(evidence::package))
        .routes(routes!(evidence::of_incident))
        .routes(routes!(incidents::open, incidents::list))
        .routes(routes!(incidents::one))
        .routes(routes!(incidents::act, incidents::timeline))
        .routes(routes!(incidents::merge))
        .routes(routes!(incidents::split))
        .routes(routes!(kpi::kpi))
        .routes(routes!(kpi::exercise))
        .routes(routes!(incidents::tasks))
        .routes(routes!(incidents::contain))
        .routes(routes!(incidents::containment))
        .routes(routes!(incidents::draft))
        .routes(routes!(incidents::templates))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::replay))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::triage))
        .routes(routes!(alerts::risk))
        .routes(routes!(alerts::rules))
        .routes(routes!(alerts::reload))
        .routes(routes!(tokens::create, tokens::list))
        .routes(routes!(tokens::revoke))
}

/// The C2SP tlog-tiles read API, as documented. (Served with a wildcard
/// route, which OpenAPI cannot spell: see [`routes`].)
fn tlog_docs() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ledger::checkpoint)).routes(routes!(ledger::tile))
}

/// Every route, with authentication on the protected ones.
pub fn routes(state: AppState) -> OpenApiRouter<AppState> {
    let tlog = OpenApiRouter::new()
        .routes(routes!(ledger::checkpoint))
        .route("/tlog/tile/{*path}", axum::routing::get(ledger::tile))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::tlog_reader));
    open_routes()
        .merge(tlog)
        .merge(protected_routes().route_layer(axum::middleware::from_fn_with_state(state, crate::auth::authenticate)))
}

/// The OpenAPI document, built once.
pub fn openapi() -> &'static serde_json::Value {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut api = open_routes().merge(tlog_docs()).merge(protected_routes()).into_openapi();
        api.info.title = "Stockade API".into();
        api.info.version = env!("CARGO_PKG_VERSION").into();
        api.info.description = Some(
            "Loss prevention and security operations for warehouses. Errors are RFC 9457 problem+json. \
             Authenticate with `Authorization: Bearer <token>` (create one with `stockade token create`)."
                .into(),
        );
        let mut doc = crate::openapi::document(api);
        if let Some(c) = doc.pointer_mut("/components").and_then(|c| c.as_object_mut()) {
            c.insert(
                "securitySchemes".into(),
                serde_json::json!({"bearer": {"type": "http", "scheme": "bearer", "description": "API token"}}),
            );
        }
        doc
    })
}

/// The media type of a request, lower-cased, without parameters.
pub(crate) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

pub(crate) use crate::body::read_body;

/// A page's `limit`: 100 when absent, refused outside 1..=10000 (never
/// capped silently: a client asking for more learns it gets less).
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, Problem> {
    match limit.unwrap_or(100) {
        n @ 1..=10_000 => Ok(n),
        n => Err(Problem::bad_request(format!("`limit` must be between 1 and 10000, got {n}"))),
    }
}

/// Parses an RFC 3339 query parameter.
pub(crate) fn query_time(name: &str, v: &Option<String>) -> Result<Option<i64>, Problem> {
    v.as_deref()
        .map(|s| {
            stockade_model::event::rfc3339::parse(s)
                .map(|t| t.timestamp_micros())
                .map_err(|e| Problem::bad_request(format!("query parameter `{name}`: {e}")))
        })
        .transpose()
}
