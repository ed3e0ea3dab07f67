//! The console: server-rendered pages for people signed in with a session
//! (`docs/CONSOLE.md`). Every page is HTML and CSS shipped in the binary,
//! every change a form post; the one script is the incident page's
//! in-browser verifier (`verify.js`), which only reads this origin's API.
//!
//! Invariants:
//! - Only a live session opens a page (API tokens do not); without one, a
//!   page redirects to `/login`.
//! - A page shows what its user's role may read and their sites hold; a
//!   form does what the same API route would, with the same permission
//!   and site checks, and must carry the session's CSRF token.
//! - Every text shown is HTML-escaped by the templates (askama), and the
//!   pages forbid scripts (the incident page allows this origin's one),
//!   inline script everywhere, framing and foreign form targets
//!   (`Content-Security-Policy`).
//! - Times are shown in the time zone of the incident's site.

use crate::AppState;
use crate::auth::Caller;
use crate::problem::Problem;
use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use stockade_app::users;

/// The pages' policy: nothing but this origin's styles, no script at all,
/// forms only to this origin, never framed.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The incident page's: the same, plus this origin's one script (the
/// in-browser verifier, no inline script) and its reads of this origin's API.
const CSP_VERIFY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                          frame-ancestors 'none'; base-uri 'none'; script-src 'self'; connect-src 'self'";

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/login", get(session::login_page).post(session::login))
        .route("/console", get(overview::overview))
        .route("/console/logout", post(session::logout))
        .route("/console/incidents", get(incidents::incidents))
        .route("/console/incidents/{id}", get(incidents::incident))
        .route("/console/incidents/{id}/task", post(incidents::task_done))
        .route("/console/incidents/{id}/contain", post(incidents::contain))
        .route("/console/incidents/{id}/transition", post(incidents::transition))
        .route("/console/incidents/{id}/package", get(incidents::package))
        .route("/console/incidents/{id}/report", get(report::report))
        .route("/console/scorecard", get(report::scorecard))
        .route("/console/alerts", get(alerts::alerts))
        .route("/console/alerts/{n}/escalate", post(alerts::escalate))
        .route("/console/alerts/{n}/triage", post(alerts::triage))
        .route("/console/inventory", get(inventory::inventory))
        .route("/console/ledger", get(ledger::ledger))
        .route("/console/people", get(people::people))
        .route("/console/people/{id}", get(people::person))
        .route("/console/static/console.css", get(css))
        .route("/console/static/verify.js", get(verify_js))
}

/// The incident page's in-browser verifier (`verify.js`), the console's
/// only script.
async fn verify_js() -> Response {
    let mut r = include_str!("verify.js").into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    r
}

async fn css() -> Response {
    let mut r = include_str!("console.css").into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    r
}

/// Who is signed in, as the pages show them.
pub struct Who {
    pub user: String,
    pub role: &'static str,
    pub sites: Vec<String>,
    pub csrf: String,
}

/// A rendered page with the console's headers.
fn page(status: StatusCode, t: &impl Template) -> Response {
    page_with(status, t, CSP)
}

/// A rendered page with the console's headers and this policy.
fn page_with(status: StatusCode, t: &impl Template, csp: &'static str) -> Response {
    match t.render() {
        Ok(html) => {
            let mut r = (status, html).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
            r
        }
        Err(e) => Problem::internal(format!("rendering a page: {e}")).into_response(),
    }
}

/// The signed-in caller and their session secret, or None.
async fn signed_in(st: &AppState, headers: &HeaderMap) -> Result<Option<(Caller, String)>, Problem> {
    let Some(secret) = crate::auth::session_secret(headers) else { return Ok(None) };
    let now = st.clock.now().timestamp_micros();
    let Some((session, user)) = users::session_of(&*st.store, &secret, now).await? else { return Ok(None) };
    Ok(Some((Caller::of_session(session, user), secret)))
}

fn who(c: &Caller, secret: &str) -> Who {
    Who { user: c.name.clone(), role: c.role.as_str(), sites: c.sites.clone(), csrf: users::csrf_token(secret) }
}

/// A form's CSRF field against the session's token (constant time).
fn csrf_ok(secret: &str, sent: &str) -> bool {
    crate::auth::subtle_eq(users::csrf_token(secret).as_bytes(), sent.as_bytes())
}

/// A refusal as a page: the problem's title and detail, escaped.
#[derive(Template)]
#[template(
    source = "{% extends \"base.html\" %}{% block body %}<main><h1>{{ title }}</h1><p>{{ detail }}</p><p><a href=\"/console\">Back to the console</a></p></main>{% endblock %}",
    ext = "html"
)]
struct Refusal {
    title: String,
    detail: String,
}

fn refused(p: Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let t = Refusal { title: p.title, detail: p.detail };
    page(status, &t)
}

/// Whether a form post comes from this origin: a browser's `Origin` (or,
/// without it, `Referer`) names the host it was sent to. Absent both (not
/// a browser), allowed: the cookie is SameSite=Strict anyway.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let from = headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    match from {
        None => true,
        Some(o) => {
            let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://")).unwrap_or("");
            rest.split('/').next() == Some(host)
        }
    }
}
#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// A form post's caller: signed in, the form carrying the session's CSRF
/// token, posted from this origin; else the page to answer with.
async fn form_caller(st: &AppState, headers: &HeaderMap, csrf: &str) -> Result<Caller, Response> {
    let (caller, secret) = match signed_in(st, headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(Redirect::to("/login").into_response()),
        Err(p) => return Err(refused(p)),
    };
    if !csrf_ok(&secret, csrf) || !same_origin(headers) {
        return Err(refused(Problem::forbidden("the form did not carry this session's CSRF token")));
    }
    Ok(caller)
}

/// Runs a page handler for a signed-in caller; without a session, to the login page.
macro_rules! signed_in_or_login {
    ($st:expr, $headers:expr) => {
        match signed_in(&$st, &$headers).await {
            Ok(Some(s)) => s,
            Ok(None) => return Redirect::to("/login").into_response(),
            Err(p) => return refused(p),
        }
    };
}

mod alerts;
mod incidents;
mod inventory;
mod ledger;
mod overview;
mod people;
mod report;
mod session;

pub use report::{Format, incident_report, scorecard_report, write};

/// The time zone of each site, from the reference data.
fn zones(st: &AppState) -> std::collections::HashMap<String, chrono_tz::Tz> {
    st.intake.reference().data.sites.iter().map(|s| (s.id.as_str().to_owned(), s.timezone)).collect()
}

fn local(t: DateTime<FixedOffset>, tz: Option<&chrono_tz::Tz>) -> String {
    match tz {
        Some(tz) => t.with_timezone(tz).format("%Y-%m-%d %H:%M %Z").to_string(),
        None => t.format("%Y-%m-%d %H:%M %:z").to_string(),
    }
}

/// A query value, percent-encoded (what is not a letter or digit).
fn url_encoded(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
