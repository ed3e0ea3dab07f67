//! API tokens over HTTP: list them and revoke one (admin). Tokens are
//! created with `stockade token create`, which shows the secret once.

use crate::AppState;
use crate::auth::{Caller, Permission, RevokeError};
use crate::problem::Problem;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use stockade_store::TokenRecord;
use utoipa::ToSchema;

/// A token as listed: never its secret, nor the secret's hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    /// ingest, analyst or admin.
    pub role: String,
    pub name: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// When it stops working by itself (RFC 3339, UTC); absent if never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// When it was revoked (RFC 3339, UTC); absent while it is live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

impl From<&TokenRecord> for TokenView {
    fn from(t: &TokenRecord) -> TokenView {
        TokenView {
            id: t.id.clone(),
            role: t.role.as_str().to_owned(),
            name: t.name.clone(),
            created_at: rfc3339(t.created_us),
            expires_at: t.expires_us.map(rfc3339),
            revoked_at: t.revoked_us.map(rfc3339),
        }
    }
}

/// Every API token, revoked ones included, oldest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>, caller: Caller) -> Result<Json<Vec<TokenView>>, Problem> {
    caller.require(Permission::Admin)?;
    Ok(Json(st.store.tokens().await?.iter().map(TokenView::from).collect()))
}

/// Revoke a token: it stops working at once, and the act is recorded in the
/// audit trail and the evidence ledger.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id (`stk_<id>_...`), as `GET /api/v1/tokens` lists it")),
    responses((status = 200, body = TokenView, description = "the token, revoked"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn revoke(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TokenView>, Problem> {
    caller.require(Permission::Admin)?;
    let revoked = crate::auth::revoke_token(&*st.store, st.intake.ledger(), &*st.clock, &id, &caller.actor()).await;
    match revoked {
        Ok(token) => {
            st.tokens.forget(&token.id);
            Ok(Json(TokenView::from(&token)))
        }
        Err(e @ RevokeError::Unknown(_)) => Err(Problem::not_found(e.to_string())),
        Err(e @ RevokeError::AlreadyRevoked(_)) => {
            Err(Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", e.to_string()))
        }
        Err(RevokeError::Store(e)) => Err(e.into()),
    }
}
