//! People and access: who can enter where, what they did lately.

use super::*;
use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::problem::Problem;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

/// An enum's name as its JSON spells it.
pub(super) fn spelled<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

pub(super) struct PersonRow {
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
pub(super) struct People {
    who: Who,
    rows: Vec<PersonRow>,
    /// The search, as typed and as a query value.
    q: String,
    q_encoded: String,
    flagged_only: bool,
    total: usize,
    page: usize,
    pages: usize,
}

/// People on a page of the list.
const PAGE: usize = 100;

#[derive(serde::Deserialize, Default)]
pub(super) struct PeopleParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    flagged: bool,
    #[serde(default)]
    page: Option<usize>,
}

/// Whether the caller may see a person (of one of its sites, or of none).
pub(super) fn may_see_person(caller: &Caller, p: &stockade_model::Person) -> bool {
    p.site.as_ref().is_none_or(|s| caller.may_see(s.as_str()))
}

pub(super) async fn people(State(st): State<AppState>, headers: HeaderMap, Query(p): Query<PeopleParams>) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    if let Err(p) = caller.require(Permission::Read) {
        return refused(p);
    }
    let view = st.intake.reference();
    let r = &view.data;
    let needle = p.q.trim().to_lowercase();
    let mut active_badges: std::collections::HashMap<&str, Vec<&stockade_model::Badge>> = Default::default();
    for b in r.badges.iter().filter(|b| b.status == stockade_model::BadgeStatus::Active) {
        active_badges.entry(b.person.as_str()).or_default().push(b);
    }
    let params = p;
    let rows: Vec<PersonRow> = r
        .people
        .iter()
        .filter(|p| may_see_person(&caller, p))
        .filter(|p| {
            needle.is_empty()
                || p.id.as_str().to_lowercase().contains(&needle)
                || p.name.to_lowercase().contains(&needle)
                || p.role.to_lowercase().contains(&needle)
        })
        .map(|p| {
            let active: &[&stockade_model::Badge] = active_badges.get(p.id.as_str()).map_or(&[][..], Vec::as_slice);
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
        .filter(|row| !params.flagged || row.flagged)
        .collect();
    let total = rows.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page_no = params.page.unwrap_or(1).clamp(1, pages);
    let t = People {
        who: who(&caller, &secret),
        rows: rows.into_iter().skip((page_no - 1) * PAGE).take(PAGE).collect(),
        q_encoded: url_encoded(params.q.trim()),
        q: params.q,
        flagged_only: params.flagged,
        total,
        page: page_no,
        pages,
    };
    page(StatusCode::OK, &t)
}

#[derive(Template)]
#[template(path = "person.html")]
pub(super) struct PersonPage {
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
pub(super) const ACTIVITY_WINDOW: u64 = 50_000;

pub(super) async fn person(State(st): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    match person_page(&st, &caller, &secret, &id).await {
        Ok(r) => r,
        Err(p) => refused(p),
    }
}

pub(super) async fn person_page(st: &AppState, caller: &Caller, secret: &str, id: &str) -> Result<Response, Problem> {
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
