//! API tokens: issue, revoke, and the rules for a token's lifetime.
//!
//! Invariants:
//! - A token is 256 random bits; only its SHA-256 is stored, and the secret
//!   is returned once, to whoever created it.
//! - Issuing and revoking are recorded in the audit trail (and so in the
//!   evidence ledger) before they take effect.

use crate::audit;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use stockade_model::clock::Clock;
use stockade_store::{Ledger, Role, Store, StoreError, TokenRecord};

/// SHA-256 of a token string, as stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A token's lifetime from a number of days (0.5 is twelve hours): more
/// than 0 and at most ten years. The one rule for the CLI and the API.
pub fn lifetime_in_days(days: f64) -> Result<std::time::Duration, String> {
    if days > 0.0 && days <= 3650.0 {
        Ok(std::time::Duration::from_secs_f64(days * 86_400.0))
    } else {
        Err(format!("a token's lifetime must be more than 0 and at most 3650 days, got {days}"))
    }
}

/// Microseconds since the epoch as RFC 3339 in UTC (empty if out of range).
pub fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// A token as people see it: never its secret, nor the secret's hash.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenSummary {
    pub id: String,
    /// One of the roles of docs/PERMISSIONS.md.
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
    /// The sites it is limited to; absent: every site.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<String>,
}

impl From<&TokenRecord> for TokenSummary {
    fn from(t: &TokenRecord) -> TokenSummary {
        TokenSummary {
            id: t.id.clone(),
            role: t.role.as_str().to_owned(),
            name: t.name.clone(),
            created_at: rfc3339(t.created_us),
            expires_at: t.expires_us.map(rfc3339),
            revoked_at: t.revoked_us.map(rfc3339),
            sites: t.sites.clone(),
        }
    }
}

/// A new token's record and secret (`stk_<id>_<secret>`), not yet stored.
fn new_token(
    clock: &dyn Clock,
    role: Role,
    name: &str,
    expires_in: Option<std::time::Duration>,
    sites: Vec<String>,
) -> (TokenRecord, String) {
    let id = hex::encode(rand::random::<[u8; 6]>());
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let token = format!("stk_{id}_{secret}");
    let now = clock.now().timestamp_micros();
    let record = TokenRecord {
        id,
        secret_hash: token_hash(&token),
        role,
        name: name.to_owned(),
        created_us: now,
        revoked_us: None,
        expires_us: expires_in.map(|d| now.saturating_add(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))),
        sites,
    };
    (record, token)
}

/// Creates a token without an audit record (tests, benchmarks: instances
/// without a ledger); [`issue_token`] is what people's requests use.
pub async fn create_token(
    store: &dyn Store,
    clock: &dyn Clock,
    role: Role,
    name: &str,
    expires_in: Option<std::time::Duration>,
) -> Result<(TokenRecord, String), StoreError> {
    let (record, token) = new_token(clock, role, name, expires_in, Vec::new());
    store.put_token(&record).await?;
    Ok((record, token))
}

/// Creates a token and records the act in the audit trail (and its ledger
/// leaf) before the token exists; returns its record and the secret, shown
/// once.
pub async fn issue_token(
    store: &dyn Store,
    ledger: Option<&Arc<Ledger>>,
    clock: &dyn Clock,
    role: Role,
    name: &str,
    expires_in: Option<std::time::Duration>,
    actor: &str,
) -> Result<(TokenRecord, String), StoreError> {
    issue_scoped_token(store, ledger, clock, role, name, expires_in, Vec::new(), actor).await
}

/// [`issue_token`], limited to `sites` (checked by the caller with
/// [`crate::users::check_scope`]; empty: every site).
#[allow(clippy::too_many_arguments)]
pub async fn issue_scoped_token(
    store: &dyn Store,
    ledger: Option<&Arc<Ledger>>,
    clock: &dyn Clock,
    role: Role,
    name: &str,
    expires_in: Option<std::time::Duration>,
    sites: Vec<String>,
    actor: &str,
) -> Result<(TokenRecord, String), StoreError> {
    let (record, secret) = new_token(clock, role, name, expires_in, sites);
    if let Some(ledger) = ledger {
        let detail = serde_json::json!({
            "token": record.id, "role": role.as_str(), "name": name,
            "expires_at": record.expires_us.map(rfc3339), "sites": record.sites
        });
        audit::record(store, ledger, clock, "token_created", actor, detail).await?;
    }
    store.put_token(&record).await?;
    Ok((record, secret))
}

/// Why a token could not be revoked.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("no token {0}")]
    Unknown(String),
    #[error("token {0} is already revoked")]
    AlreadyRevoked(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One revocation at a time: the check, the audit record and the change
/// stay together.
static REVOKING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Revokes a live token by id: recorded in the audit trail (and its ledger
/// leaf) first, then marked revoked. A server must also forget it in any
/// cache of valid tokens, or it works until its cache entry expires.
pub async fn revoke_token(
    store: &dyn Store,
    ledger: Option<&Arc<Ledger>>,
    clock: &dyn Clock,
    id: &str,
    actor: &str,
) -> Result<TokenRecord, RevokeError> {
    let _one = REVOKING.lock().await;
    let mut token =
        store.tokens().await?.into_iter().find(|t| t.id == id).ok_or_else(|| RevokeError::Unknown(id.to_owned()))?;
    if token.revoked_us.is_some() {
        return Err(RevokeError::AlreadyRevoked(id.to_owned()));
    }
    token.revoked_us = Some(clock.now().timestamp_micros());
    if let Some(ledger) = ledger {
        let detail = serde_json::json!({ "token": id, "role": token.role.as_str(), "name": token.name });
        audit::record(store, ledger, clock, "token_revoked", actor, detail).await?;
    }
    store.put_token(&token).await?;
    Ok(token)
}
