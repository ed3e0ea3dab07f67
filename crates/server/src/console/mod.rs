//! The console: server-rendered pages for people signed in with a session
//! (`docs/CONSOLE.md`). No script: every page is HTML and CSS shipped in
//! the binary, every change a form post.
//!
//! Invariants:
//! - Only a live session opens a page (API tokens do not); without one, a
//!   page redirects to `/login`.
//! - A page shows what its user's role may read and their sites hold; a
//!   form does what the same API route would, with the same permission
//!   and site checks, and must carry the session's CSRF token.
//! - Every text shown is HTML-escaped by the templates (askama), and the
//!   pages forbid scripts, framing and foreign form targets
//!   (`Content-Security-Policy`).
//! - Times are shown in the time zone of the incident's site.

use crate::AppState;
use crate::api::incidents::visible;
use crate::auth::{Caller, Permission};
use crate::problem::Problem;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;
use stockade_app::users;
use stockade_respond::kpi::readable as human;
use stockade_respond::{Act, Request, Status, TaskStatus};

/// The pages' policy: nothing but this origin's styles, no script at all,
/// forms only to this origin, never framed.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/login", get(login_page).post(login))
        .route("/console", get(overview))
        .route("/console/logout", post(logout))
        .route("/console/incidents", get(incidents))
        .route("/console/incidents/{id}", get(incident))
        .route("/console/incidents/{id}/task", post(task_done))
        .route("/console/incidents/{id}/contain", post(contain))
        .route("/console/incidents/{id}/transition", post(transition))
        .route("/console/incidents/{id}/package", get(package))
        .route("/console/incidents/{id}/report", get(report))
        .route("/console/alerts", get(alerts))
        .route("/console/alerts/{n}/escalate", post(escalate))
        .route("/console/alerts/{n}/triage", post(triage))
        .route("/console/inventory", get(inventory))
        .route("/console/ledger", get(ledger))
        .route("/console/people", get(people))
        .route("/console/people/{id}", get(person))
        .route("/console/static/console.css", get(css))
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
    match t.render() {
        Ok(html) => {
            let mut r = (status, html).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
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
    let expected = users::csrf_token(secret);
    expected.len() == sent.len() && expected.bytes().zip(sent.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
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

#[derive(Template)]
#[template(path = "login.html")]
struct Login {
    error: Option<String>,
    name: String,
}

async fn login_page() -> Response {
    page(StatusCode::OK, &Login { error: None, name: String::new() })
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
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

async fn login(
    State(st): State<AppState>,
    connect: Option<axum::extract::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return refused(Problem::forbidden("a sign-in must come from this site's own page"));
    }
    let from = connect.map_or_else(|| "unknown".to_owned(), |c| c.0.0.ip().to_string());
    let again = |error: String| {
        page(StatusCode::UNAUTHORIZED, &Login { error: Some(error), name: f.name.chars().take(64).collect() })
    };
    match users::login(&*st.store, st.intake.ledger(), &*st.clock, &st.throttle, &f.name, &f.password, &from).await {
        Ok(opened) => {
            let mut r = Redirect::to("/console").into_response();
            match crate::api::session::cookie(&st, &opened.secret, users::SESSION_HOURS * 3600) {
                Ok(c) => {
                    r.headers_mut().insert(header::SET_COOKIE, c);
                    r
                }
                Err(p) => refused(p),
            }
        }
        Err(users::LoginError::Store(e)) => refused(Problem::from(e)),
        Err(e) => again(e.to_string()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(State(st): State<AppState>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    let (_, secret) = signed_in_or_login!(st, headers);
    if !csrf_ok(&secret, &f.csrf) {
        return refused(Problem::forbidden("the form did not carry this session's CSRF token"));
    }
    let now = st.clock.now().timestamp_micros();
    if let Ok(Some((session, _))) = users::session_of(&*st.store, &secret, now).await
        && let Err(e) = users::logout(&*st.store, &session, now).await
    {
        return refused(Problem::from(e));
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(c) = crate::api::session::cookie(&st, "", 0) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

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

fn percent(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{:.1} %", x * 100.0))
}

/// An incident as a row of a list.
struct Row {
    id: String,
    severity: &'static str,
    status: &'static str,
    site: String,
    title: String,
    detected: String,
    owner: String,
}

fn severity_name(s: stockade_incident::Severity) -> &'static str {
    use stockade_incident::Severity as S;
    match s {
        S::Low => "low",
        S::Medium => "medium",
        S::High => "high",
        S::Critical => "critical",
    }
}

/// The incidents the caller may see, worked, newest first; those `keep` lets through.
async fn rows(
    st: &AppState,
    caller: &Caller,
    keep: impl Fn(&stockade_respond::Response) -> bool,
) -> Result<Vec<(u64, Row, stockade_respond::Response)>, Problem> {
    let zones = zones(st);
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let q = stockade_store::IncidentQuery { site: None, after, limit: 10_000 };
        let page = st.store.incidents(&q).await?;
        let Some(last) = page.last() else { break };
        after = last.n;
        let timelines = st.store.timelines(page[0].n, last.n).await?;
        for record in page {
            if !caller.may_see(&record.incident.site) {
                continue;
            }
            let entries: Vec<stockade_respond::Entry> =
                timelines.iter().filter(|e| e.incident == record.n).map(|e| e.entry.clone()).collect();
            let Ok(r) = stockade_respond::Response::of(&record, &entries) else { continue };
            if !keep(&r) {
                continue;
            }
            let row = Row {
                id: record.id.clone(),
                severity: severity_name(r.severity),
                status: r.status.as_str(),
                site: record.incident.site.clone(),
                title: record.incident.title.clone(),
                detected: local(r.detected, zones.get(&record.incident.site)),
                owner: r.owner.clone().unwrap_or_else(|| "–".into()),
            };
            out.push((record.n, row, r));
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.0));
    Ok(out)
}

/// A bar chart as inline SVG markup from numbers and our own labels only
/// (dates): nothing from the data reaches it as text.
fn bars(points: &[(String, f64)], unit: &str) -> String {
    if points.is_empty() {
        return String::new();
    }
    let (w, h, pad) = (640.0_f64, 150.0_f64, 18.0_f64);
    let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max).max(f64::MIN_POSITIVE);
    let step = (w - 2.0 * pad) / points.len() as f64;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"{} bars, the largest {:.1} {unit}\">",
        h + 2.0 * pad,
        points.len(),
        max
    );
    for (i, (label, v)) in points.iter().enumerate() {
        let bh = (v / max) * h;
        let x = pad + i as f64 * step;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"><title>{label}: {v:.1} {unit}</title></rect>",
            pad + h - bh,
            (step * 0.8).max(1.0)
        ));
    }
    let (first, last) = (&points[0].0, &points[points.len() - 1].0);
    svg.push_str(&format!(
        "<text x=\"{pad}\" y=\"{:.1}\">{first}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{last}</text>\
         <text x=\"{pad}\" y=\"12\">max {max:.1} {unit}</text></svg>",
        h + 2.0 * pad - 2.0,
        w - pad,
        h + 2.0 * pad - 2.0
    ));
    svg
}

/// One heat-map cell: the shrink value at a site and zone, and its shade (0-4).
struct HeatCell {
    value: String,
    shade: usize,
}

struct HeatRow {
    site: String,
    cells: Vec<HeatCell>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    who: Who,
    site: Option<String>,
    open: u64,
    uncontained: u64,
    mttd: String,
    ttc: String,
    mttr: String,
    tasks_on_time: String,
    accuracy: String,
    variance: String,
    by_severity: Vec<(&'static str, usize)>,
    most: usize,
    rows: Vec<Row>,
    /// Charts, as SVG markup built here from numbers.
    incidents_chart: String,
    mttd_chart: String,
    contain_chart: String,
    alerts_chart: String,
    heat_zones: Vec<String>,
    heat: Vec<HeatRow>,
}

async fn overview(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    match overview_page(&st, &caller, &secret).await {
        Ok(r) => r,
        Err(p) => refused(p),
    }
}

async fn overview_page(st: &AppState, caller: &Caller, secret: &str) -> Result<Response, Problem> {
    caller.require(Permission::Read)?;
    let site = match caller.sites.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    };
    let q = stockade_app::response::KpiQuery {
        site: site.clone(),
        every: Some(stockade_respond::Every::Week),
        ..Default::default()
    };
    let counts = st.intake.stage().counts(&stockade_app::book::BookQuery::default()).await?;
    let kpi = stockade_app::response::report(&*st.store, &counts, &q).await?;
    let open = rows(st, caller, |r| r.status.is_open() && r.merged_into.is_none()).await?;
    let mut by_severity = Vec::new();
    for sev in ["critical", "high", "medium", "low"] {
        by_severity.push((sev, open.iter().filter(|(_, row, _)| row.severity == sev).count()));
    }
    let most = by_severity.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let rank = |s: &str| ["critical", "high", "medium", "low"].iter().position(|x| *x == s).unwrap_or(4);
    let mut top: Vec<Row> = open.into_iter().map(|(_, row, _)| row).collect();
    top.sort_by_key(|r| rank(r.severity));
    top.truncate(10);
    let week = |p: &stockade_respond::Point| p.from.format("%Y-%m-%d").to_string();
    let series = |f: &dyn Fn(&stockade_respond::Figures) -> Option<f64>| -> Vec<(String, f64)> {
        kpi.trend.iter().filter_map(|p| Some((week(p), f(&p.figures)?))).collect()
    };
    let incidents_chart = bars(&series(&|f| Some(f.incidents as f64)), "incidents");
    let mttd_chart = bars(&series(&|f| f.time_to_detect.median_s.map(|s| s / 3600.0)), "h");
    let contain_chart = bars(&series(&|f| f.time_to_contain.median_s.map(|s| s / 3600.0)), "h");
    // Alerts per day, the caller's sites.
    let mut per_day: std::collections::BTreeMap<String, f64> = Default::default();
    let mut after = 0;
    loop {
        let q = stockade_store::AlertQuery { after, limit: 10_000, site: site.clone(), ..Default::default() };
        let page = stockade_app::alerts::list(&*st.store, &q).await?;
        let Some(last) = page.last() else { break };
        after = last.n;
        for a in page.iter().filter(|a| caller.may_see(&a.alert.site)) {
            *per_day.entry(a.alert.at.with_timezone(&Utc).format("%Y-%m-%d").to_string()).or_default() += 1.0;
        }
    }
    let alerts_chart = bars(&per_day.into_iter().collect::<Vec<_>>(), "alerts");
    // Shrink by site and zone: the value the latest counts found missing.
    let reference = st.intake.reference();
    let zone_of: std::collections::HashMap<&str, &str> =
        reference.data.locations.iter().map(|l| (l.id.as_str(), l.zone.as_str())).collect();
    let value_of: std::collections::HashMap<&str, f64> =
        reference.data.skus.iter().map(|k| (k.id.as_str(), k.unit_value)).collect();
    let mut shrink: std::collections::BTreeMap<(String, String), f64> = Default::default();
    for c in counts.iter().filter(|c| caller.may_see(&c.site) && c.counted < c.book) {
        let zone = zone_of.get(c.location.as_str()).copied().unwrap_or("(no zone)").to_owned();
        let v = (c.book - c.counted) * value_of.get(c.sku.as_str()).copied().unwrap_or(0.0);
        *shrink.entry((c.site.clone(), zone)).or_default() += v;
    }
    let mut heat_zones: Vec<String> = shrink.keys().map(|(_, z)| z.clone()).collect();
    heat_zones.sort();
    heat_zones.dedup();
    let hottest = shrink.values().copied().fold(0.0_f64, f64::max);
    let mut sites: Vec<String> = shrink.keys().map(|(s, _)| s.clone()).collect();
    sites.dedup();
    let heat = sites
        .into_iter()
        .map(|site| HeatRow {
            cells: heat_zones
                .iter()
                .map(|z| {
                    let v = shrink.get(&(site.clone(), z.clone())).copied().unwrap_or(0.0);
                    let shade = if v <= 0.0 || hottest <= 0.0 { 0 } else { 1 + ((v / hottest) * 3.999) as usize };
                    HeatCell { value: if v > 0.0 { format!("{v:.0}") } else { String::new() }, shade }
                })
                .collect(),
            site,
        })
        .collect();
    let f = &kpi.figures;
    let t = Overview {
        who: who(caller, secret),
        site,
        open: f.open,
        uncontained: f.uncontained,
        mttd: human(f.time_to_detect.median_s),
        ttc: human(f.time_to_contain.median_s),
        mttr: human(f.time_to_recover.median_s),
        tasks_on_time: percent(f.tasks_on_time_rate),
        accuracy: percent(kpi.inventory.record_accuracy),
        variance: percent(kpi.inventory.value_variance_rate),
        by_severity,
        most,
        rows: top,
        incidents_chart,
        mttd_chart,
        contain_chart,
        alerts_chart,
        heat_zones,
        heat,
    };
    Ok(page(StatusCode::OK, &t))
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct Incidents {
    who: Who,
    status: String,
    filters: Vec<(&'static str, &'static str)>,
    rows: Vec<Row>,
    next_after: Option<u64>,
}

#[derive(Deserialize)]
struct ListParams {
    status: Option<String>,
    after: Option<u64>,
}

/// Incidents per page of the list.
const PAGE: usize = 50;

async fn incidents(State(st): State<AppState>, headers: HeaderMap, Query(p): Query<ListParams>) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    let status = p.status.unwrap_or_else(|| "open".into());
    let wanted: Option<Option<Status>> = match status.as_str() {
        "open" => Some(None),
        "all" => None,
        s => match s.parse::<Status>() {
            Ok(s) => Some(Some(s)),
            Err(e) => return refused(Problem::bad_request(format!("status: {e}, open or all"))),
        },
    };
    let listed = async {
        caller.require(Permission::Read)?;
        rows(&st, &caller, |r| match wanted {
            None => true,
            Some(None) => r.status.is_open() && r.merged_into.is_none(),
            Some(Some(s)) => r.status == s,
        })
        .await
    };
    let all = match listed.await {
        Ok(all) => all,
        Err(p) => return refused(p),
    };
    // Newest first; a page starts below the number it was given.
    let mut shown: Vec<(u64, Row)> =
        all.into_iter().filter(|(n, _, _)| p.after.is_none_or(|a| *n < a)).map(|(n, row, _)| (n, row)).collect();
    let next_after = (shown.len() > PAGE).then(|| shown[PAGE - 1].0);
    shown.truncate(PAGE);
    let filters = vec![
        ("open", "Open"),
        ("detected", "Detected"),
        ("triaged", "Triaged"),
        ("contained", "Contained"),
        ("investigating", "Investigating"),
        ("closed", "Closed"),
        ("false_positive", "False positives"),
        ("all", "All"),
    ];
    let t = Incidents {
        who: who(&caller, &secret),
        status,
        filters,
        rows: shown.into_iter().map(|(_, r)| r).collect(),
        next_after,
    };
    page(StatusCode::OK, &t)
}

struct TaskRow {
    id: String,
    phase: String,
    title: String,
    role: &'static str,
    due: String,
    status: &'static str,
    open: bool,
    late: bool,
    auto: bool,
}

struct OfferRow {
    task: String,
    action: &'static str,
    target: String,
    because: String,
}

struct EntryRow {
    at: String,
    act: &'static str,
    actor: String,
    detail: String,
    leaf: Option<u64>,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    who: Who,
    id: String,
    title: String,
    summary: String,
    severity: &'static str,
    status: &'static str,
    since: String,
    site: String,
    tz: String,
    detected: String,
    owner: String,
    playbook: Option<String>,
    message: Option<String>,
    moves: Vec<&'static str>,
    tasks: Vec<TaskRow>,
    offers: Vec<OfferRow>,
    contained: Vec<String>,
    evidence: Vec<EvidenceRow>,
    communications: Vec<String>,
    timeline: Vec<EntryRow>,
}

struct EvidenceRow {
    id: String,
    class: String,
    from: String,
    sha256: String,
    size: u64,
    /// Its chain of custody, in words, oldest first.
    custody: Vec<String>,
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

/// An incident's timeline as rows, times in its site's zone.
fn entries(w: &stockade_app::response::Worked, tz: Option<&chrono_tz::Tz>) -> Vec<EntryRow> {
    w.timeline
        .iter()
        .map(|e| EntryRow {
            at: local(e.entry.at, tz),
            act: e.entry.act.name(),
            actor: e.entry.actor.clone(),
            detail: detail(&e.entry.act),
            leaf: e.leaf_index,
        })
        .collect()
}

/// What an entry says besides its act, in words.
fn detail(act: &Act) -> String {
    match act {
        Act::Transition { from, to, reason, .. } => {
            format!("{from} → {to}{}", if reason.is_empty() { String::new() } else { format!(" ({reason})") })
        }
        Act::Assign { owner, .. } => format!("owner {owner}"),
        Act::Severity { from, to, reason } => {
            format!("{} → {} ({reason})", severity_name(*from), severity_name(*to))
        }
        Act::Note { text } => text.clone(),
        Act::Task { task, to, reason } => {
            format!("{task} {}{}", to.as_str(), if reason.is_empty() { String::new() } else { format!(": {reason}") })
        }
        Act::Contain { action, target, lifted, reason, .. } => {
            format!("{}{action} on {target}: {reason}", if *lifted { "lifted " } else { "" })
        }
        Act::Playbook { playbook, tasks } => format!("{} v{} ({} tasks)", playbook.id, playbook.version, tasks.len()),
        Act::Overdue { task, .. } => task.clone(),
        Act::Joined { alerts, rules, .. } => format!("{} alerts ({})", alerts.len(), rules.join(", ")),
        Act::Link { entities, events, sites } => {
            format!("{} entities, {} events, {} sites", entities.len(), events.len(), sites.len())
        }
        Act::Merged { into, .. } => format!("into {into}"),
        Act::Absorbed { from, .. } => format!("from {from}"),
        Act::SplitOff { into, .. } => format!("into {into}"),
        Act::SplitFrom { from } => format!("from {from}"),
        Act::Drafted { template, to, .. } => format!("{template} to {}", to.join(", ")),
        Act::Sent { channel, to, .. } => format!("by {channel} to {}", to.join(", ")),
        Act::Delivery { endpoint, outcome, .. } => format!("{endpoint}: {outcome}"),
        Act::Stake { units, value, .. } => format!("{units} units, {value:.2}"),
        Act::Check { task, item } => format!("{task} item {}", item + 1),
        Act::Approved { communication } => format!("communication {communication}"),
    }
}

async fn incident(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(d): Query<Done>,
) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    match incident_page(&st, &caller, &secret, &id, d.done).await {
        Ok(r) => r,
        Err(p) => refused(p),
    }
}

async fn incident_page(
    st: &AppState,
    caller: &Caller,
    secret: &str,
    id: &str,
    message: Option<String>,
) -> Result<Response, Problem> {
    caller.require(Permission::Read)?;
    visible(st, caller, id).await?;
    let w = stockade_app::response::worked(&*st.store, id).await?;
    let r = &w.response;
    let site = w.record.incident.site.clone();
    let zones = zones(st);
    let tz = zones.get(&site);
    let now = st.clock.now();
    let tasks = r
        .tasks
        .iter()
        .map(|t| TaskRow {
            id: t.task.id.clone(),
            phase: t.task.phase.clone(),
            title: t.task.title.clone(),
            role: t.task.role.as_str(),
            due: local(t.task.due, tz),
            status: t.status.as_str(),
            open: t.status == TaskStatus::Open && r.status.is_open(),
            late: t.status == TaskStatus::Open && t.task.due.with_timezone(&Utc) < now,
            auto: t.task.auto.is_some(),
        })
        .collect();
    let offers = st
        .casebook
        .offers(&*st.store, &st.intake.reference().data, &w)
        .await?
        .into_iter()
        .map(|o| OfferRow { task: o.task, action: o.action.as_str(), target: o.target, because: o.because })
        .collect();
    let mut evidence = Vec::new();
    for e in st.store.incident_evidence(id).await? {
        let custody = st
            .store
            .custody(&e.record.id)
            .await?
            .into_iter()
            .map(|c| {
                let at = DateTime::from_timestamp_micros(c.record.at_us).unwrap_or_default().fixed_offset();
                let party = c.record.party.map(|p| format!(" to {p}")).unwrap_or_default();
                format!(
                    "{} {}{party} by {}: {}",
                    local(at, tz),
                    c.record.action.as_str(),
                    c.record.actor,
                    c.record.reason
                )
            })
            .collect();
        let r = e.record;
        evidence.push(EvidenceRow {
            id: r.id,
            class: r.class,
            from: r.collected_from,
            sha256: r.sha256,
            size: r.size,
            custody,
        });
    }
    let communications = r
        .communications
        .iter()
        .map(|c| {
            let approved = c.approved_by.as_ref().map_or("not approved yet".to_owned(), |a| format!("approved by {a}"));
            let sent = c.sent.as_ref().map_or("not sent".to_owned(), |s| {
                format!("sent by {} to {} ({}) at {}", s.by, s.to.join(", "), s.channel, local(s.at, tz))
            });
            format!(
                "#{} {} to {} ({}): \u{201c}{}\u{201d}, drafted by {}; {approved}; {sent}",
                c.communication,
                c.template,
                c.to.join(", "),
                c.audience,
                c.subject,
                c.drafted_by
            )
        })
        .collect();
    let timeline = entries(&w, tz);
    let t = IncidentPage {
        who: who(caller, secret),
        id: id.to_owned(),
        title: w.record.incident.title.clone(),
        summary: w.record.incident.summary.clone(),
        severity: severity_name(r.severity),
        status: r.status.as_str(),
        since: local(r.since, tz),
        tz: tz.map_or("UTC offset as recorded".into(), |z| z.name().to_owned()),
        site,
        detected: local(r.detected, tz),
        owner: r.owner.clone().unwrap_or_else(|| "nobody yet".into()),
        playbook: r.playbook.as_ref().map(|p| format!("{} v{}", p.title, p.version)),
        message,
        moves: if r.merged_into.is_some() { Vec::new() } else { r.status.next().iter().map(|s| s.as_str()).collect() },
        tasks,
        offers,
        contained: r
            .contained
            .iter()
            .map(|c| format!("{} on {} since {} by {}", c.action, c.target, local(c.since, tz), c.by))
            .collect(),
        evidence,
        communications,
        timeline,
    };
    Ok(page(StatusCode::OK, &t))
}

/// Checks a form post (session, CSRF, permission, site) and runs `act`;
/// back to the incident page with what happened.
async fn acted<F, Fut>(
    st: &AppState,
    headers: &HeaderMap,
    id: &str,
    csrf: &str,
    permission: Permission,
    act: F,
) -> Response
where
    F: FnOnce(Caller) -> Fut,
    Fut: std::future::Future<Output = Result<String, Problem>>,
{
    let (caller, secret) = match signed_in(st, headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(p) => return refused(p),
    };
    if !csrf_ok(&secret, csrf) || !same_origin(headers) {
        return refused(Problem::forbidden("the form did not carry this session's CSRF token"));
    }
    let checked = async {
        caller.require(permission)?;
        visible(st, &caller, id).await
    };
    if let Err(p) = checked.await {
        return refused(p);
    }
    match act(caller).await {
        Ok(done) => {
            let q: String = url_encoded(&done);
            Redirect::to(&format!("/console/incidents/{id}?done={q}")).into_response()
        }
        Err(p) => refused(p),
    }
}

/// A query value, percent-encoded (what is not a letter or digit).
fn url_encoded(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[derive(Deserialize)]
struct TaskForm {
    csrf: String,
    task: String,
}

async fn task_done(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<TaskForm>,
) -> Response {
    let (st2, id2) = (st.clone(), id.clone());
    acted(&st, &headers, &id, &f.csrf, Permission::Investigate, |caller| async move {
        let id = id2;
        let request = Request::Task { task: f.task.clone(), to: TaskStatus::Done, reason: String::new() };
        st2.casebook
            .act(&*st2.store, st2.intake.ledger(), &*st2.clock, &caller.actor(), &id, request)
            .await
            .map_err(Problem::from)?;
        Ok(format!("task {} done", f.task))
    })
    .await
}

#[derive(Deserialize)]
struct ContainForm {
    csrf: String,
    task: Option<String>,
    action: String,
    target: String,
    reason: String,
}

async fn contain(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ContainForm>,
) -> Response {
    let st2 = st.clone();
    let id2 = id.clone();
    acted(&st, &headers, &id, &f.csrf, Permission::Contain, |caller| async move {
        let action = serde_json::from_value(serde_json::Value::String(f.action.clone()))
            .map_err(|_| Problem::bad_request(format!("unknown containment action {:?}", f.action)))?;
        let request = stockade_app::containment::ContainRequest {
            action,
            target: f.target.clone(),
            reason: f.reason.clone(),
            lift: false,
            task: f.task.clone().filter(|t| !t.is_empty()),
        };
        st2.casebook.contain(&st2.intake, &caller.actor(), &id2, request).await.map_err(Problem::from)?;
        Ok(format!("{} on {} in force", f.action, f.target))
    })
    .await
}

#[derive(Deserialize)]
struct TransitionForm {
    csrf: String,
    to: String,
    #[serde(default)]
    reason: String,
}

async fn transition(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<TransitionForm>,
) -> Response {
    let (st2, id2) = (st.clone(), id.clone());
    acted(&st, &headers, &id, &f.csrf, Permission::Investigate, |caller| async move {
        let id = id2;
        let to: Status = f.to.parse().map_err(|e: String| Problem::bad_request(format!("to: {e}")))?;
        let request = Request::Transition { to, reason: f.reason.clone(), happened_at: None };
        st2.casebook
            .act(&*st2.store, st2.intake.ledger(), &*st2.clock, &caller.actor(), &id, request)
            .await
            .map_err(Problem::from)?;
        Ok(format!("now {to}"))
    })
    .await
}

struct AlertRow {
    n: u64,
    /// Taken by whom, or dismissed and why.
    triage: String,
    dismissed: bool,
    level: String,
    rule: String,
    title: String,
    site: String,
    at: String,
    reason: String,
    incident: Option<String>,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct Alerts {
    who: Who,
    message: Option<String>,
    rule: String,
    untaken: bool,
    rows: Vec<AlertRow>,
    before: Option<u64>,
}

#[derive(Deserialize)]
struct AlertParams {
    rule: Option<String>,
    /// Only alerts no incident took (the triage queue).
    #[serde(default)]
    untaken: bool,
    before: Option<u64>,
    done: Option<String>,
}

/// Alerts per page of the queue.
const ALERTS: usize = 50;

async fn alerts(State(st): State<AppState>, headers: HeaderMap, Query(p): Query<AlertParams>) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    match alerts_page(&st, &caller, &secret, p).await {
        Ok(r) => r,
        Err(p) => refused(p),
    }
}

async fn alerts_page(st: &AppState, caller: &Caller, secret: &str, p: AlertParams) -> Result<Response, Problem> {
    caller.require(Permission::Read)?;
    let rule = p.rule.unwrap_or_default().trim().to_owned();
    let zones = zones(st);
    // Newest first: windows of numbers, walked back from the newest.
    let mut before = p.before.unwrap_or(u64::MAX).min(st.store.last_alert().await?.saturating_add(1));
    let mut rows = Vec::new();
    while rows.len() <= ALERTS && before > 1 {
        let after = before.saturating_sub(500).max(1) - 1;
        let q = stockade_store::AlertQuery {
            rule: (!rule.is_empty()).then(|| rule.clone()),
            after,
            limit: 500,
            ..Default::default()
        };
        let mut window: Vec<_> = stockade_app::alerts::list(&*st.store, &q)
            .await?
            .into_iter()
            .filter(|a| {
                let settled = a.incident.is_some()
                    || a.triage.as_ref().is_some_and(|t| {
                        matches!(
                            t.status,
                            stockade_store::TriageStatus::Dismissed | stockade_store::TriageStatus::Escalated
                        )
                    });
                a.n < before && caller.may_see(&a.alert.site) && !(p.untaken && settled)
            })
            .collect();
        window.reverse();
        for a in window {
            let (triage, dismissed) = match &a.triage {
                Some(t) if t.status == stockade_store::TriageStatus::Taken => {
                    (format!("taken by {}", t.owner.as_deref().unwrap_or("?")), false)
                }
                Some(t) if t.status == stockade_store::TriageStatus::Dismissed => {
                    (format!("dismissed: {}", t.reason), true)
                }
                _ => (String::new(), false),
            };
            rows.push(AlertRow {
                n: a.n,
                triage,
                dismissed,
                level: a.alert.level.clone(),
                rule: a.alert.rule.clone(),
                title: a.alert.title.clone(),
                at: local(a.alert.at, zones.get(&a.alert.site)),
                site: a.alert.site.clone(),
                reason: a.alert.reason.clone(),
                incident: a.incident.clone().or_else(|| a.triage.as_ref().and_then(|t| t.incident.clone())),
            });
        }
        before = after + 1;
    }
    let older = rows.len() > ALERTS;
    rows.truncate(ALERTS);
    let before = older.then(|| rows.last().map(|r| r.n)).flatten();
    let untaken = p.untaken;
    Ok(page(StatusCode::OK, &Alerts { who: who(caller, secret), message: p.done, rule, untaken, rows, before }))
}

/// Opens an incident from an alert whose case opened none (an analyst's
/// escalation): its site, its rule, what it names and cites, its time.
async fn escalate(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(n): Path<u64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    if !csrf_ok(&secret, &f.csrf) || !same_origin(&headers) {
        return refused(Problem::forbidden("the form did not carry this session's CSRF token"));
    }
    let opened = async {
        caller.require(Permission::Investigate)?;
        let q = stockade_store::AlertQuery { after: n.saturating_sub(1), limit: 1, ..Default::default() };
        let a = stockade_app::alerts::list(&*st.store, &q)
            .await?
            .into_iter()
            .find(|a| a.n == n && caller.may_see(&a.alert.site))
            .ok_or_else(|| Problem::not_found(format!("no alert {n}")))?;
        let escalated = a.triage.as_ref().and_then(|t| t.incident.clone());
        if let Some(i) = a.incident.as_ref().or(escalated.as_ref()) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "refused",
                "Refused",
                format!("alert {n} is already part of {i}"),
            ));
        }
        use stockade_incident::{EventRef, NewIncident, Severity};
        let severity = match a.alert.level.as_str() {
            "critical" => Severity::Critical,
            "high" => Severity::High,
            "medium" => Severity::Medium,
            _ => Severity::Low,
        };
        let incident = NewIncident {
            site: a.alert.site.clone(),
            title: a.alert.title.clone(),
            severity,
            scenario: None,
            summary: format!("Opened from alert {n}: {}", a.alert.reason),
            from: a.alert.at,
            to: a.alert.at,
            entities: a.alert.entities.iter().map(|e| e.id.clone()).take(stockade_incident::MAX_ENTITIES).collect(),
            events: std::iter::once(&a.alert.event)
                .chain(&a.alert.related)
                .map(|e| EventRef { source: e.source.clone(), id: e.id.clone() })
                .collect(),
            rules: vec![a.alert.rule.clone()],
            detected_at: Some(a.alert.at),
        };
        let record = st.casebook.open(&*st.store, st.intake.ledger(), &*st.clock, &caller.actor(), incident).await?;
        stockade_app::alerts::escalated(&*st.store, st.intake.ledger(), &*st.clock, &caller.actor(), n, &record.id)
            .await?;
        tracing::info!(incident = %record.id, alert = n, by = %caller.actor(), "incident opened from an alert");
        Ok::<_, Problem>(record.id)
    };
    match opened.await {
        Ok(id) => {
            Redirect::to(&format!("/console/incidents/{id}?done={}", url_encoded(&format!("opened from alert {n}"))))
                .into_response()
        }
        Err(p) => refused(p),
    }
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    who: Who,
    origin: String,
    size: u64,
    checkpoint: Option<(u64, String)>,
    key: String,
}

async fn ledger(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    if let Err(p) = caller.require(Permission::Read) {
        return refused(p);
    }
    let Some(l) = st.intake.ledger() else {
        return refused(Problem::not_found("this instance keeps no evidence ledger"));
    };
    use base64::Engine;
    let t = LedgerPage {
        who: who(&caller, &secret),
        origin: l.origin().to_owned(),
        size: l.size(),
        checkpoint: l.checkpoint().map(|c| (c.size, base64::engine::general_purpose::STANDARD.encode(c.root.0))),
        key: l.verifier_key().to_owned(),
    };
    page(StatusCode::OK, &t)
}

struct VarianceRow {
    site: String,
    location: String,
    sku: String,
    counted: String,
    book: String,
    variance: String,
    value: String,
    at: String,
    short: bool,
}

#[derive(Template)]
#[template(path = "inventory.html")]
struct InventoryPage {
    who: Who,
    site: Option<String>,
    shrink: String,
    net_units: String,
    lines: Vec<VarianceRow>,
    truncated: bool,
}

#[derive(Deserialize)]
struct SiteParam {
    site: Option<String>,
}

async fn inventory(State(st): State<AppState>, headers: HeaderMap, Query(p): Query<SiteParam>) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    let shown = async {
        caller.require(Permission::Read)?;
        let site = match (p.site.filter(|s| !s.is_empty()), caller.sites.as_slice()) {
            (None, [_, _, ..]) => None,
            (asked, _) => caller.site_for_list(asked)?,
        };
        let q = stockade_app::book::BookQuery { site: site.clone(), ..Default::default() };
        let counts = st.intake.stage().counts(&q).await?;
        Ok::<_, Problem>((site, counts))
    };
    let (site, counts) = match shown.await {
        Ok(x) => x,
        Err(p) => return refused(p),
    };
    let values: std::collections::HashMap<String, f64> =
        st.intake.reference().data.skus.iter().map(|s| (s.id.as_str().to_owned(), s.unit_value)).collect();
    let zones = zones(&st);
    let mut lines: Vec<(f64, Option<f64>, f64, VarianceRow)> = counts
        .into_iter()
        .filter(|c| caller.may_see(&c.site))
        .map(|c| {
            let variance = c.counted - c.book;
            let value = values.get(&c.sku).map(|v| v * variance);
            let at = DateTime::from_timestamp_micros(c.counted_us).unwrap_or_default().fixed_offset();
            let row = VarianceRow {
                at: local(at, zones.get(&c.site)),
                site: c.site,
                location: c.location,
                sku: c.sku,
                counted: format!("{}", c.counted),
                book: format!("{}", c.book),
                variance: format!("{variance:+}"),
                value: value.map_or("–".into(), |v| format!("{v:+.2}")),
                short: variance < 0.0,
            };
            (value.unwrap_or(variance), value, variance, row)
        })
        .collect();
    // Shrink: the value missing (unvalued SKUs aside); net: units.
    let shrink: f64 = lines.iter().filter_map(|(_, v, _, _)| *v).map(|v| v.min(0.0)).sum::<f64>().abs();
    let net: f64 = lines.iter().map(|(_, _, units, _)| units).sum();
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let truncated = lines.len() > 200;
    lines.truncate(200);
    let t = InventoryPage {
        who: who(&caller, &secret),
        site,
        shrink: format!("{shrink:.2}"),
        net_units: format!("{net:+}"),
        lines: lines.into_iter().map(|(_, _, _, r)| r).collect(),
        truncated,
    };
    page(StatusCode::OK, &t)
}

#[derive(Deserialize)]
struct PackageForm {
    #[serde(default)]
    reason: String,
}

/// The incident's evidence package, downloaded (each item's export is a
/// custody entry, as through the API).
async fn package(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(f): Query<PackageForm>,
) -> Response {
    let (caller, _) = signed_in_or_login!(st, headers);
    match crate::api::evidence::package_of(&st, &caller, &id, "", &f.reason).await {
        Ok(r) => r,
        Err(p) => refused(p),
    }
}

#[derive(Deserialize)]
struct TriageForm {
    csrf: String,
    act: String,
    #[serde(default)]
    reason: String,
}

/// Takes, dismisses or reopens an alert from the queue; back to the queue.
async fn triage(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(n): Path<u64>,
    Form(f): Form<TriageForm>,
) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    if !csrf_ok(&secret, &f.csrf) || !same_origin(&headers) {
        return refused(Problem::forbidden("the form did not carry this session's CSRF token"));
    }
    use stockade_app::alerts::Triage;
    let act = match f.act.as_str() {
        "take" => Triage::Take { owner: None },
        "dismiss" => Triage::Dismiss { reason: f.reason },
        "reopen" => Triage::Reopen { reason: f.reason },
        other => return refused(Problem::bad_request(format!("unknown triage act {other:?}"))),
    };
    let done = async {
        caller.require(Permission::Investigate)?;
        crate::api::alerts::triage_as(&st, &caller, n, act).await
    };
    match done.await {
        Ok(a) => {
            let what = a.triage.map_or(String::new(), |t| t.status.as_str().to_owned());
            Redirect::to(&format!("/console/alerts?untaken=true&done={}", url_encoded(&format!("alert {n} {what}"))))
                .into_response()
        }
        Err(p) => refused(p),
    }
}

/// An enum's name as its JSON spells it.
fn spelled<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

struct PersonRow {
    id: String,
    name: String,
    role: String,
    status: String,
    site: String,
    vendor: String,
    badges: String,
    zones: String,
    flagged: bool,
}

#[derive(Template)]
#[template(path = "people.html")]
struct People {
    who: Who,
    rows: Vec<PersonRow>,
}

/// Whether the caller may see a person (of one of its sites, or of none).
fn may_see_person(caller: &Caller, p: &stockade_model::Person) -> bool {
    p.site.as_ref().is_none_or(|s| caller.may_see(s.as_str()))
}

async fn people(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    if let Err(p) = caller.require(Permission::Read) {
        return refused(p);
    }
    let view = st.intake.reference();
    let r = &view.data;
    let rows = r
        .people
        .iter()
        .filter(|p| may_see_person(&caller, p))
        .map(|p| {
            let active: Vec<&stockade_model::Badge> = r
                .badges
                .iter()
                .filter(|b| b.person == p.id && b.status == stockade_model::BadgeStatus::Active)
                .collect();
            let mut zones: Vec<&str> = active.iter().flat_map(|b| b.zones.iter().map(|z| z.as_str())).collect();
            zones.sort_unstable();
            zones.dedup();
            PersonRow {
                id: p.id.as_str().to_owned(),
                name: p.name.clone(),
                role: p.role.clone(),
                status: spelled(&p.status),
                site: p.site.as_ref().map_or("–".into(), |s| s.as_str().to_owned()),
                vendor: p.vendor.as_ref().map_or(String::new(), |v| v.as_str().to_owned()),
                badges: active.iter().map(|b| b.id.as_str()).collect::<Vec<_>>().join(", "),
                zones: zones.join(", "),
                flagged: p.status != stockade_model::EmploymentStatus::Active && !active.is_empty(),
            }
        })
        .collect();
    page(StatusCode::OK, &People { who: who(&caller, &secret), rows })
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    who: Who,
    id: String,
    name: String,
    role: String,
    status: String,
    site: String,
    vendor: String,
    accounts: String,
    badges: Vec<(String, String, String)>,
    window: u64,
    events: Vec<(String, String, String, String)>,
    alerts: Vec<String>,
}

/// How many of the newest stored events a person's activity is looked for in.
const ACTIVITY_WINDOW: u64 = 50_000;

async fn person(State(st): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    match person_page(&st, &caller, &secret, &id).await {
        Ok(r) => r,
        Err(p) => refused(p),
    }
}

async fn person_page(st: &AppState, caller: &Caller, secret: &str, id: &str) -> Result<Response, Problem> {
    caller.require(Permission::Read)?;
    let view = st.intake.reference();
    let r = &view.data;
    let p = r
        .people
        .iter()
        .find(|p| p.id.as_str() == id && may_see_person(caller, p))
        .ok_or_else(|| Problem::not_found(format!("no person {id:?}")))?;
    let zones = zones(st);
    let tier: std::collections::HashMap<&str, String> =
        r.zones.iter().map(|z| (z.id.as_str(), spelled(&z.tier))).collect();
    let held: Vec<&stockade_model::Badge> = r.badges.iter().filter(|b| b.person == p.id).collect();
    let badges = held
        .iter()
        .map(|b| {
            let z: Vec<String> = b
                .zones
                .iter()
                .map(|z| format!("{} ({})", z.as_str(), tier.get(z.as_str()).map_or("?", String::as_str)))
                .collect();
            (b.id.as_str().to_owned(), spelled(&b.status), z.join(", "))
        })
        .collect();
    // Whom the events name: the person, their badges, their accounts.
    let mut names: std::collections::HashSet<String> = held.iter().map(|b| b.id.as_str().to_owned()).collect();
    names.insert(p.id.as_str().to_owned());
    names.extend(p.accounts.iter().map(|a| a.as_str().to_owned()));
    let total = st.store.event_count().await?.max(0) as u64;
    let after = total.saturating_sub(ACTIVITY_WINDOW);
    let mut events = Vec::new();
    let mut cursor = after as i64;
    loop {
        let q = stockade_store::EventQuery { after_seq: Some(cursor), limit: 10_000, ..Default::default() };
        let page = st.store.events(&q).await?;
        let Some(last) = page.last() else { break };
        cursor = last.seq;
        for e in page {
            if !caller.may_see(&e.site) {
                continue;
            }
            let Ok(ev) = stockade_model::Event::from_json(e.payload.as_bytes()) else { continue };
            if ev.entity_ids().iter().any(|(_, x)| names.contains(*x)) {
                events.push((
                    local(ev.occurred_at, zones.get(&e.site)),
                    e.site.clone(),
                    e.kind.clone(),
                    format!("{}/{}", e.source, e.event_id),
                ));
            }
        }
    }
    events.reverse();
    events.truncate(50);
    let q = stockade_store::AlertQuery {
        entity: Some(("person".into(), id.to_owned())),
        limit: 1000,
        ..Default::default()
    };
    let mut alerts: Vec<String> = stockade_app::alerts::list(&*st.store, &q)
        .await?
        .into_iter()
        .filter(|a| caller.may_see(&a.alert.site))
        .map(|a| {
            let inc = a.incident.map(|i| format!(" → {i}")).unwrap_or_default();
            format!(
                "#{} {} [{}] {}{inc}",
                a.n,
                local(a.alert.at, zones.get(&a.alert.site)),
                a.alert.level,
                a.alert.title
            )
        })
        .collect();
    alerts.reverse();
    alerts.truncate(50);
    let t = PersonPage {
        who: who(caller, secret),
        id: p.id.as_str().to_owned(),
        name: p.name.clone(),
        role: p.role.clone(),
        status: spelled(&p.status),
        site: p.site.as_ref().map_or("–".into(), |s| s.as_str().to_owned()),
        vendor: p.vendor.as_ref().map_or(String::new(), |v| v.as_str().to_owned()),
        accounts: p.accounts.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", "),
        badges,
        window: ACTIVITY_WINDOW,
        events,
        alerts,
    };
    Ok(page(StatusCode::OK, &t))
}

#[derive(Template)]
#[template(path = "report_incident.html")]
struct IncidentReport {
    id: String,
    title: String,
    generated: String,
    origin: String,
    key: String,
    site: String,
    tz: String,
    severity: &'static str,
    status: &'static str,
    span: String,
    first_signal: String,
    detected: String,
    opened_by: String,
    owner: String,
    entities: String,
    summary: String,
    stake: String,
    reached: Vec<(String, String)>,
    actions: Vec<String>,
    timeline: Vec<EntryRow>,
    evidence: Vec<(String, String, String, String, u64, u64)>,
}

/// The incident report for insurers and regulators, as one self-contained
/// HTML document: the facts, the losses at stake, the response times,
/// the actions taken, the timeline with each entry's ledger leaf, the
/// evidence with its hashes, and how to verify it all offline.
pub async fn incident_report(
    store: &dyn stockade_store::Store,
    ledger: &stockade_store::Ledger,
    reference: &stockade_model::ReferenceData,
    now: DateTime<Utc>,
    id: &str,
) -> Result<String, Problem> {
    let w = stockade_app::response::worked(store, id).await?;
    let r = &w.response;
    let i = &w.record.incident;
    let tz = reference.sites.iter().find(|s| s.id.as_str() == i.site).map(|s| s.timezone);
    let tz = tz.as_ref();
    let alerts = stockade_app::alerts::of_incident(store, id).await?;
    let counted = stockade_app::alerts::stake(&alerts);
    let (units, value, source) = match r.stake {
        Some(d) => (d.units, d.value, "as declared by an analyst"),
        None => (counted.units, counted.value, "from the shortages its counts found"),
    };
    let stake = if units == 0.0 && value == 0.0 {
        "No loss established yet.".to_owned()
    } else {
        format!("{units} units, value {value:.2} ({source}).")
    };
    let mut reached: Vec<(String, String)> =
        r.reached.iter().map(|(s, t)| (s.as_str().to_owned(), local(*t, tz))).collect();
    reached.sort_by(|a, b| a.1.cmp(&b.1));
    let actions = w
        .timeline
        .iter()
        .filter_map(|e| match &e.entry.act {
            Act::Contain { action, target, lifted, reason, .. } => Some(format!(
                "{} {}{action} on {target} by {}: {reason}",
                local(e.entry.at, tz),
                if *lifted { "lifted " } else { "" },
                e.entry.actor
            )),
            Act::Delivery { endpoint, outcome, attempts, .. } => {
                Some(format!("{} sent to {endpoint}: {outcome} after {attempts} attempt(s)", local(e.entry.at, tz)))
            }
            _ => None,
        })
        .collect();
    let timeline = entries(&w, tz);
    let evidence = store
        .incident_evidence(id)
        .await?
        .into_iter()
        .map(|e| (e.record.id, e.record.class, e.record.collected_from, e.record.sha256, e.record.size, e.leaf_index))
        .collect();
    let t = IncidentReport {
        id: id.to_owned(),
        title: i.title.clone(),
        generated: now.to_rfc3339(),
        origin: ledger.origin().to_owned(),
        key: ledger.verifier_key().to_owned(),
        site: i.site.clone(),
        tz: tz.map_or("UTC offsets as recorded".into(), |z| z.name().to_owned()),
        severity: severity_name(r.severity),
        status: r.status.as_str(),
        span: format!("{} to {}", local(i.from, tz), local(i.to, tz)),
        first_signal: local(r.first_signal, tz),
        detected: local(r.detected, tz),
        opened_by: w.record.opened_by.clone(),
        owner: r.owner.clone().unwrap_or_else(|| "nobody".into()),
        entities: r.entities.iter().cloned().collect::<Vec<_>>().join(", "),
        summary: i.summary.clone(),
        stake,
        reached,
        actions,
        timeline,
        evidence,
    };
    t.render().map_err(|e| Problem::internal(format!("rendering the report: {e}")))
}

/// The incident report, in the browser (its own policy: inline styles, no
/// script; saved as one file it stays whole).
async fn report(State(st): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (caller, _) = signed_in_or_login!(st, headers);
    let made = async {
        caller.require(Permission::Read)?;
        visible(&st, &caller, &id).await?;
        let ledger = st.intake.ledger().ok_or_else(|| Problem::not_found("this instance keeps no evidence ledger"))?;
        incident_report(&*st.store, ledger, &st.intake.reference().data, st.clock.now(), &id).await
    };
    match made.await {
        Ok(html) => {
            let mut r = html.into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{id}-report.html\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err(p) => refused(p),
    }
}
