//! Incidents: the list by state, the workspace, and its forms (task,
//! containment, transition, package).

use super::*;
use crate::AppState;
use crate::api::incidents::visible;
use crate::auth::{Caller, Permission};
use crate::problem::Problem;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use stockade_respond::{Act, Request, Status, TaskStatus};

/// An incident as a row of a list.
pub(super) struct Row {
    pub(super) id: String,
    pub(super) severity: &'static str,
    pub(super) status: &'static str,
    pub(super) site: String,
    pub(super) title: String,
    pub(super) detected: String,
    pub(super) owner: String,
}

pub(super) fn severity_name(s: stockade_incident::Severity) -> &'static str {
    use stockade_incident::Severity as S;
    match s {
        S::Low => "low",
        S::Medium => "medium",
        S::High => "high",
        S::Critical => "critical",
    }
}

/// The incidents the caller may see, worked, newest first; those `keep` lets through.
pub(super) async fn rows(
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

#[derive(Template)]
#[template(path = "incidents.html")]
pub(super) struct Incidents {
    who: Who,
    status: String,
    filters: Vec<(&'static str, &'static str)>,
    rows: Vec<Row>,
    next_after: Option<u64>,
}

#[derive(Deserialize)]
pub(super) struct ListParams {
    status: Option<String>,
    after: Option<u64>,
}

/// Incidents per page of the list.
pub(super) const PAGE: usize = 50;

pub(super) async fn incidents(State(st): State<AppState>, headers: HeaderMap, Query(p): Query<ListParams>) -> Response {
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

pub(super) struct TaskRow {
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

pub(super) struct OfferRow {
    task: String,
    action: &'static str,
    target: String,
    because: String,
}

pub(super) struct EntryRow {
    pub(super) at: String,
    pub(super) act: &'static str,
    pub(super) actor: String,
    pub(super) detail: String,
    pub(super) leaf: Option<u64>,
}

#[derive(Template)]
#[template(path = "incident.html")]
pub(super) struct IncidentPage {
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
    /// The ledger's verifier key, for the in-browser check (the user may
    /// replace it with the copy they keep).
    verifier_key: String,
    evidence: Vec<EvidenceRow>,
    communications: Vec<String>,
    timeline: Vec<EntryRow>,
}

pub(super) struct EvidenceRow {
    id: String,
    class: String,
    from: String,
    sha256: String,
    size: u64,
    /// Its chain of custody, in words, oldest first.
    custody: Vec<String>,
}

#[derive(Deserialize)]
pub(super) struct Done {
    done: Option<String>,
}

/// An incident's timeline as rows, times in its site's zone.
pub(super) fn entries(w: &stockade_app::response::Worked, tz: Option<&chrono_tz::Tz>) -> Vec<EntryRow> {
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
pub(super) fn detail(act: &Act) -> String {
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

pub(super) async fn incident(
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

pub(super) async fn incident_page(
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
        verifier_key: st.intake.ledger().map(|l| l.verifier_key().to_owned()).unwrap_or_default(),
    };
    Ok(page_with(StatusCode::OK, &t, CSP_VERIFY))
}

/// Checks a form post (session, CSRF, permission, site) and runs `act`;
/// back to the incident page with what happened.
pub(super) async fn acted<F, Fut>(
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
    let caller = match form_caller(st, headers, csrf).await {
        Ok(c) => c,
        Err(r) => return r,
    };
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

#[derive(Deserialize)]
pub(super) struct TaskForm {
    csrf: String,
    task: String,
}

pub(super) async fn task_done(
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
pub(super) struct ContainForm {
    csrf: String,
    task: Option<String>,
    action: String,
    target: String,
    reason: String,
}

pub(super) async fn contain(
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
pub(super) struct TransitionForm {
    csrf: String,
    to: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn transition(
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

#[derive(Deserialize)]
pub(super) struct PackageForm {
    #[serde(default)]
    reason: String,
}

/// The incident's evidence package, downloaded (each item's export is a
/// custody entry, as through the API).
pub(super) async fn package(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(f): Query<PackageForm>,
) -> Response {
    let (caller, _) = signed_in_or_login!(st, headers);
    match crate::api::evidence::package_of(&st, &caller, &id, "", &f.reason, None).await {
        Ok(r) => r,
        Err(p) => refused(p),
    }
}
