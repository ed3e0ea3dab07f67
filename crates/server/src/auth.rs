//! Bearer-token authentication as a layer, and per-handler permission checks.
//!
//! Deny by default: every route under `/api/v1` and `/epcis` passes through
//! [`authenticate`]; a handler then asks the [`Caller`] for the permission it
//! needs. Tokens are random 256-bit secrets; only their SHA-256 is stored.

use crate::AppState;
use crate::problem::Problem;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stockade_app::tokens::token_hash;
use stockade_store::Role;

/// What a caller may do. Which role may do what is `docs/PERMISSIONS.md`,
/// which a test checks against every route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Send events and reference data.
    Ingest,
    /// Read events, the book, alerts, incidents, KPIs, reference data, proofs.
    Read,
    /// Open and work incidents: acts, tasks, merges, splits, communications.
    Investigate,
    /// Apply or lift containment.
    Contain,
    /// Upload evidence (people investigating, and systems exporting clips).
    Collect,
    /// Open evidence and export packages (each access is a custody entry).
    ViewEvidence,
    /// Transfer and seal evidence.
    Custody,
    /// Read the audit trail.
    Audit,
    /// Manage tokens, users and configuration; set and lift legal holds.
    Admin,
}

/// Whether `role` has permission `p` (deny by default).
pub fn allows(role: Role, p: Permission) -> bool {
    use Permission as P;
    match role {
        Role::Admin => true,
        Role::Ingest => matches!(p, P::Ingest | P::Collect),
        Role::Analyst => {
            matches!(p, P::Read | P::Investigate | P::Contain | P::Collect | P::ViewEvidence | P::Custody)
        }
        Role::Investigator => matches!(p, P::Read | P::Investigate | P::Collect | P::ViewEvidence | P::Custody),
        Role::SiteManager => matches!(p, P::Read | P::Investigate | P::Contain | P::Collect),
        Role::Hr | Role::VendorManager => matches!(p, P::Read | P::Investigate),
        Role::Auditor => matches!(p, P::Read | P::ViewEvidence | P::Audit),
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's id, or for a signed-in user their session's.
    pub token_id: String,
    pub role: Role,
    /// The token's name, or the user's, for custody records.
    pub name: String,
    /// When the token (or session) stops working by itself, if ever (µs since the epoch).
    pub expires_us: Option<i64>,
    /// A signed-in user's session (cookie), not an API token.
    pub session: bool,
    /// The sites it is limited to; empty: every site.
    pub sites: Vec<String>,
}

impl Caller {
    /// How custody records name the caller.
    pub fn actor(&self) -> String {
        if self.session {
            format!("{} (session {})", self.name, self.token_id)
        } else {
            format!("{} (token {})", self.name, self.token_id)
        }
    }
}

/// The cookie a signed-in browser carries.
pub const SESSION_COOKIE: &str = "stockade_session";
/// The header (or, for forms, the field) carrying a session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session secret the request's cookies carry, if any.
pub fn session_secret(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

impl Caller {
    /// A signed-in user, through their session.
    pub fn of_session(session: stockade_store::SessionRecord, user: stockade_store::UserRecord) -> Caller {
        Caller {
            token_id: session.id,
            role: user.role,
            name: user.name,
            expires_us: Some(session.expires_us),
            session: true,
            sites: user.sites,
        }
    }

    /// Whether it may see what happens at `site`.
    pub fn may_see(&self, site: &str) -> bool {
        self.sites.is_empty() || self.sites.iter().any(|s| s == site)
    }

    /// The site a list is for: the one asked (refused outside its sites),
    /// or for a caller limited to one site, that one. A caller limited to
    /// several must name one.
    pub fn site_for_list(&self, asked: Option<String>) -> Result<Option<String>, Problem> {
        match (asked, self.sites.as_slice()) {
            (asked, []) => Ok(asked),
            (Some(s), _) if self.may_see(&s) => Ok(Some(s)),
            (Some(s), mine) => Err(Problem::forbidden(format!(
                "site {s:?} is outside the sites this caller is limited to ({})",
                mine.join(", ")
            ))),
            (None, [only]) => Ok(Some(only.clone())),
            (None, mine) => Err(Problem::bad_request(format!(
                "this caller is limited to sites {}: name one with `site=`",
                mine.join(", ")
            ))),
        }
    }

    /// Refused (403) when it may not act at `site`.
    pub fn require_site(&self, site: &str) -> Result<(), Problem> {
        if self.may_see(site) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "site {site:?} is outside the sites this caller is limited to ({})",
                self.sites.join(", ")
            )))
        }
    }

    /// Refused (403) for a caller limited to some sites: what it asks for
    /// spans every site (the audit trail, the whole log).
    pub fn require_every_site(&self, what: &str) -> Result<(), Problem> {
        if self.sites.is_empty() {
            Ok(())
        } else {
            Err(Problem::forbidden(format!("{what} spans every site; this caller is limited to some")))
        }
    }

    pub fn require(&self, p: Permission) -> Result<(), Problem> {
        if allows(self.role, p) {
            Ok(())
        } else {
            let who = if self.session { "this user" } else { "this token" };
            tracing::info!(caller = %self.actor(), role = self.role.as_str(), permission = ?p, "permission denied");
            metrics::counter!("stockade_permission_denied_total", "role" => self.role.as_str()).increment(1);
            Err(Problem::forbidden(format!("{who} has role {:?}, which does not allow {p:?}", self.role.as_str())))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| Problem::unauthorized("no authenticated caller"))
    }
}

/// Resolves a signed-in browser's session cookie to a [`Caller`]: the
/// session must be live and its user enabled, and a request that changes
/// anything must carry the session's CSRF token (another site can make a
/// browser send the cookie, never read the token).
async fn session_caller(
    state: &AppState,
    method: &axum::http::Method,
    headers: &axum::http::HeaderMap,
    secret: &str,
) -> Result<Caller, Problem> {
    let now = state.clock.now().timestamp_micros();
    let (session, user) = stockade_app::users::session_of(&*state.store, secret, now)
        .await?
        .ok_or_else(|| Problem::unauthorized("the session has ended or expired: sign in again"))?;
    if !matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS) {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        let expected = stockade_app::users::csrf_token(secret);
        if !subtle_eq(sent.as_bytes(), expected.as_bytes()) {
            tracing::warn!(user = %user.name, %method, "request without the session's CSRF token refused");
            return Err(Problem::forbidden(format!(
                "a change made with a session must carry its CSRF token in `{CSRF_HEADER}`"
            )));
        }
    }
    Ok(Caller::of_session(session, user))
}

/// Constant-time equality of two byte strings (lengths are not secret).
pub(crate) fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Resolves `Authorization: Bearer <token>`, else a session cookie, to a [`Caller`].
async fn caller_of(state: &AppState, headers: &axum::http::HeaderMap) -> Result<Caller, Problem> {
    caller_for(state, &axum::http::Method::GET, headers).await
}

async fn caller_for(
    state: &AppState,
    method: &axum::http::Method,
    headers: &axum::http::HeaderMap,
) -> Result<Caller, Problem> {
    if headers.get(axum::http::header::AUTHORIZATION).is_none()
        && let Some(secret) = session_secret(headers)
    {
        return session_caller(state, method, headers, &secret).await;
    }
    let header = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(|| {
        Problem::unauthorized(
            "send `Authorization: Bearer <token>` (create one with `stockade token create`), or sign in (POST /api/v1/sessions)",
        )
    })?;
    // The scheme is case-insensitive (RFC 9110, section 11.1); one or more spaces follow it.
    let token = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| Problem::unauthorized("the Authorization header must use the Bearer scheme"))?;
    let hash = token_hash(token);
    let caller = match state.tokens.get(&hash) {
        Some(caller) => caller,
        None => {
            let record = state
                .store
                .token_by_hash(&hash)
                .await?
                .ok_or_else(|| Problem::unauthorized("unknown or revoked token"))?;
            let caller = Caller {
                token_id: record.id,
                role: record.role,
                name: record.name,
                expires_us: record.expires_us,
                session: false,
                sites: record.sites,
            };
            state.tokens.put(hash, caller.clone());
            caller
        }
    };
    // Checked on every request, cached or not: expiry is exact.
    if let Some(at) = caller.expires_us
        && state.clock.now().timestamp_micros() >= at
    {
        let when = chrono::DateTime::from_timestamp_micros(at).map(|t| t.to_rfc3339()).unwrap_or_default();
        return Err(Problem::unauthorized(format!("token {} expired at {when}", caller.token_id)));
    }
    Ok(caller)
}

/// Tokens recently found valid, so that a busy client does not cost a
/// database lookup per request. An entry lives [`TokenCache::TTL`]: a token
/// revoked in the store stops working within that time. Only valid tokens are
/// kept, and at most [`TokenCache::MAX`] of them.
#[derive(Default)]
pub struct TokenCache {
    entries: std::sync::RwLock<std::collections::HashMap<[u8; 32], (Caller, std::time::Instant)>>,
}

impl TokenCache {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(5);
    pub const MAX: usize = 10_000;

    fn get(&self, hash: &[u8; 32]) -> Option<Caller> {
        let entries = self.entries.read().ok()?;
        let (caller, at) = entries.get(hash)?;
        (at.elapsed() < Self::TTL).then(|| caller.clone())
    }

    /// Drops a token from the cache, so that revoking it takes effect now.
    pub fn forget(&self, token_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|_, (caller, _)| caller.token_id != token_id);
        }
    }

    fn put(&self, hash: [u8; 32], caller: Caller) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= Self::MAX {
                entries.retain(|_, (_, at)| at.elapsed() < Self::TTL);
                if entries.len() >= Self::MAX {
                    entries.clear();
                }
            }
            entries.insert(hash, (caller, std::time::Instant::now()));
        }
    }
}

/// Middleware: resolves the bearer token to a [`Caller`] for the handler.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, Problem> {
    let caller = caller_for(&state, req.method(), req.headers()).await?;
    let now = state.clock.now().timestamp();
    if let Some(wait) = state.denials.wait(&caller.token_id, now) {
        let mut p = Problem::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "Too many refusals",
            format!("this caller was refused {MAX_DENIALS} times in a minute; try again in {wait} s"),
        )
        .into_response();
        if let Ok(v) = axum::http::HeaderValue::from_str(&wait.to_string()) {
            p.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        return Ok(p);
    }
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    req.extensions_mut().insert(caller.clone());
    let response = next.run(req).await;
    if response.status() == axum::http::StatusCode::FORBIDDEN {
        // Audited (the ledger keeps who tried what), and counted: a caller
        // refused too often is held off for a minute.
        state.denials.deny(&caller.token_id, now);
        if let Some(ledger) = state.intake.ledger() {
            let detail = serde_json::json!({"method": method.as_str(), "path": path, "role": caller.role.as_str()});
            let actor = caller.actor();
            if let Err(e) =
                stockade_app::audit::record(&*state.store, ledger, &*state.clock, "permission_denied", &actor, detail)
                    .await
            {
                tracing::warn!(error = %e, "a permission denial could not be audited");
            }
        }
    }
    Ok(response)
}

/// Refusals a caller may draw in a minute before it is held off.
pub const MAX_DENIALS: usize = 20;

/// Permission denials lately, by caller (token or session id).
#[derive(Default)]
pub struct Denials {
    by_caller: std::sync::Mutex<std::collections::HashMap<String, Vec<i64>>>,
}

impl Denials {
    /// Seconds until `caller` may try again, if held off now.
    fn wait(&self, caller: &str, now_s: i64) -> Option<i64> {
        let mut m = self.by_caller.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let times = m.get_mut(caller)?;
        times.retain(|t| now_s - t < 60);
        (times.len() >= MAX_DENIALS).then(|| (times[0] + 60 - now_s).max(1))
    }

    fn deny(&self, caller: &str, now_s: i64) {
        let mut m = self.by_caller.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if m.len() > 100_000 {
            m.retain(|_, times| times.iter().any(|t| now_s - t < 60));
        }
        m.entry(caller.to_owned()).or_default().push(now_s);
    }
}

/// Middleware for the tlog-tiles read API: open when the instance publishes
/// its log (`--public-tlog`), otherwise a token that may read.
pub async fn tlog_reader(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, Problem> {
    if !state.config.public_tlog {
        caller_of(&state, req.headers()).await?.require(Permission::Read)?;
    }
    Ok(next.run(req).await)
}
