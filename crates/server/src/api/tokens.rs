//! API tokens over HTTP (admin): create one (its secret shown once), list
//! them, revoke one. `stockade token` does the same on a stopped instance.

use crate::AppState;
use crate::api::{media_type, read_body};
use crate::auth::{Caller, Permission};
use crate::extract::Path;
use crate::problem::Problem;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use stockade_app::tokens::{RevokeError, TokenSummary};
use utoipa::ToSchema;

/// Every API token, revoked ones included, oldest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenSummary>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>, caller: Caller) -> Result<Json<Vec<TokenSummary>>, Problem> {
    caller.require(Permission::Admin)?;
    Ok(Json(st.store.tokens().await?.iter().map(TokenSummary::from).collect()))
}

/// Revoke a token: it stops working at once, and the act is recorded in the
/// audit trail and the evidence ledger.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id (`stk_<id>_...`), as `GET /api/v1/tokens` lists it")),
    responses((status = 200, body = TokenSummary, description = "the token, revoked"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn revoke(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TokenSummary>, Problem> {
    caller.require(Permission::Admin)?;
    let id = id?;
    let revoked =
        stockade_app::tokens::revoke_token(&*st.store, st.intake.ledger(), &*st.clock, &id, &caller.actor()).await;
    match revoked {
        Ok(token) => {
            st.tokens.forget(&token.id);
            Ok(Json(TokenSummary::from(&token)))
        }
        Err(e @ RevokeError::Unknown(_)) => Err(Problem::not_found(e.to_string())),
        Err(e @ RevokeError::AlreadyRevoked(_)) => {
            Err(Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", e.to_string()))
        }
        Err(RevokeError::Store(e)) => Err(e.into()),
    }
}

/// What a new token is for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// One of the roles of docs/PERMISSIONS.md: admin, analyst, investigator,
    /// site_manager, hr, vendor_manager, auditor, ingest.
    #[schema(pattern = "^(admin|analyst|investigator|site_manager|hr|vendor_manager|auditor|ingest)$")]
    pub role: String,
    /// A name to recognise it by (a system, a person, a vendor).
    #[schema(pattern = "\\S")]
    pub name: String,
    /// Stops working by itself after this many days (0.5 is twelve hours),
    /// at most 3650; absent: until revoked.
    #[serde(default)]
    #[schema(exclusive_minimum = 0.0, maximum = 3650.0)]
    pub expires_in_days: Option<f64>,
    /// Limit it to these sites (not for admin or ingest tokens); absent:
    /// every site.
    #[serde(default)]
    pub sites: Vec<String>,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// The bearer token, `stk_<id>_<secret>`. Not stored: keep it now.
    pub token: String,
    #[serde(flatten)]
    pub record: TokenSummary,
}

/// Create a token (admin); recorded in the audit trail and the ledger.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens",
    request_body(content = NewToken, content_type = "application/json"),
    responses((status = 201, body = IssuedToken),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<IssuedToken>), Problem> {
    caller.require(Permission::Admin)?;
    let media = media_type(&headers);
    if media != "application/json" {
        return Err(Problem::unsupported_media(&media, "application/json"));
    }
    let bytes = read_body(&st, &headers, body).await?;
    let new: NewToken =
        serde_json::from_slice(&bytes).map_err(|e| Problem::bad_request(format!("token request: {e}")))?;
    let role = stockade_store::Role::parse(&new.role).ok_or_else(|| {
        Problem::bad_request(format!("`role` must be one of {}, got {:?}", stockade_store::Role::names(), new.role))
    })?;
    if new.name.trim().is_empty() {
        return Err(Problem::bad_request("`name` must say what the token is for"));
    }
    let expires_in = new
        .expires_in_days
        .map(stockade_app::tokens::lifetime_in_days)
        .transpose()
        .map_err(|e| Problem::bad_request(format!("`expires_in_days`: {e}")))?;
    stockade_app::users::check_scope(&*st.store, role, &new.sites).await.map_err(|e| match e {
        stockade_app::users::UserError::Store(e) => Problem::from(e),
        other => Problem::bad_request(format!("`sites`: {other}")),
    })?;
    let (record, token) = stockade_app::tokens::issue_scoped_token(
        &*st.store,
        st.intake.ledger(),
        &*st.clock,
        role,
        new.name.trim(),
        expires_in,
        new.sites,
        &caller.actor(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(IssuedToken { token, record: TokenSummary::from(&record) })))
}
