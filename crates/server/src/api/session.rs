//! Signing in and out of the console: a session cookie (HttpOnly,
//! SameSite=Strict, Secure over TLS) and the CSRF token every change made
//! with it must carry (`x-csrf-token`).

use crate::AppState;
use crate::auth::{Caller, SESSION_COOKIE};
use crate::problem::Problem;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use stockade_app::users::{self, LoginError};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub name: String,
    pub password: String,
}

/// Who is signed in.
#[derive(Serialize, ToSchema)]
pub struct Session {
    pub user: String,
    pub role: &'static str,
    /// The sites the user is limited to; empty: every site.
    pub sites: Vec<String>,
    /// When the session ends by itself (RFC 3339).
    pub expires: String,
    /// The token to send in `x-csrf-token` with every change (for a
    /// session; absent for an API token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
}

/// The session cookie's header: its value, for `max_age_s` (0 clears it).
pub(crate) fn cookie(st: &AppState, value: &str, max_age_s: i64) -> Result<HeaderValue, Problem> {
    let mut c = cookie::Cookie::new(SESSION_COOKIE, value.to_owned());
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(cookie::SameSite::Strict);
    c.set_secure(st.config.secure_cookies);
    c.set_max_age(cookie::time::Duration::seconds(max_age_s));
    HeaderValue::from_str(&c.to_string()).map_err(|e| Problem::internal(format!("session cookie: {e}")))
}

fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us).map(|t| t.to_rfc3339()).unwrap_or_default()
}

/// Sign in with a user's name and password (`{"name": …, "password": …}`):
/// sets the session cookie and answers who is signed in, with the CSRF
/// token. A wrong name or password is one answer (401) whichever it was;
/// after repeated failures for a name or from an address, 429 until the
/// window passes. Failures are audited.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "meta",
    request_body(content = SignIn, content_type = "application/json"),
    responses((status = 201, body = Session, description = "signed in; the cookie is set"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
pub async fn sign_in(
    State(st): State<AppState>,
    connect: Option<axum::extract::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let bytes = crate::api::read_body(&st, &headers, body).await?;
    let s: SignIn = super::incidents::json_body(&headers, &bytes, "sign-in")?;
    let from = connect.map_or_else(|| "unknown".to_owned(), |c| c.0.0.ip().to_string());
    let opened =
        match users::login(&*st.store, st.intake.ledger(), &*st.clock, &st.throttle, &s.name, &s.password, &from).await
        {
            Ok(o) => o,
            Err(LoginError::Refused) => return Err(Problem::unauthorized("wrong name or password")),
            Err(e @ LoginError::Throttled(wait)) => {
                let mut p =
                    Problem::new(StatusCode::TOO_MANY_REQUESTS, "throttled", "Too many attempts", e.to_string())
                        .into_response();
                if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                    p.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return Ok(p);
            }
            Err(LoginError::Store(e)) => return Err(Problem::from(e)),
        };
    let body = Session {
        user: opened.user.name.clone(),
        role: opened.user.role.as_str(),
        sites: opened.user.sites.clone(),
        expires: rfc3339(opened.session.expires_us),
        csrf: Some(users::csrf_token(&opened.secret)),
    };
    let set = cookie(&st, &opened.secret, users::SESSION_HOURS * 3600)?;
    let mut r = (StatusCode::CREATED, Json(body)).into_response();
    r.headers_mut().insert(header::SET_COOKIE, set);
    Ok(r)
}

/// Who is signed in (a session), or whose token this is.
#[utoipa::path(get, path = "/api/v1/session", tag = "meta",
    responses((status = 200, body = Session),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn current(State(st): State<AppState>, caller: Caller, headers: HeaderMap) -> Result<Json<Session>, Problem> {
    let sites = if caller.session {
        st.store.user(&caller.name).await?.map(|u| u.sites).unwrap_or_default()
    } else {
        Vec::new()
    };
    let csrf = caller.session.then(|| crate::auth::session_secret(&headers).map(|s| users::csrf_token(&s))).flatten();
    Ok(Json(Session {
        user: caller.name.clone(),
        role: caller.role.as_str(),
        sites,
        expires: caller.expires_us.map(rfc3339).unwrap_or_default(),
        csrf,
    }))
}

/// Sign out: ends the session and clears the cookie (it needs the session's
/// CSRF token, like every change).
#[utoipa::path(delete, path = "/api/v1/session", tag = "meta",
    responses((status = 204, description = "signed out"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn sign_out(State(st): State<AppState>, caller: Caller, headers: HeaderMap) -> Result<Response, Problem> {
    if !caller.session {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "not-a-session",
            "Not a session",
            "an API token is revoked (DELETE /api/v1/tokens/{id}), not signed out",
        ));
    }
    let now = st.clock.now().timestamp_micros();
    if let Some(secret) = crate::auth::session_secret(&headers)
        && let Some((session, _)) = users::session_of(&*st.store, &secret, now).await?
    {
        users::logout(&*st.store, &session, now).await?;
        tracing::info!(user = %caller.name, session = %session.id, "signed out");
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie(&st, "", 0)?);
    Ok(r)
}
