//! The overview: KPIs, weekly charts drawn as SVG on the server, the
//! shrink heat map, the most severe open incidents.

use super::incidents::{Row, rows};
use super::*;
use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::problem::Problem;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use stockade_respond::kpi::readable as human;

pub(super) fn percent(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{:.1} %", x * 100.0))
}

/// A bar chart as inline SVG markup (`stockade_report::bars_svg`: every
/// string in it escaped).
pub(super) fn bars(points: &[(String, f64)], unit: &str) -> String {
    stockade_report::bars_svg(&stockade_report::Chart {
        title: String::new(),
        unit: unit.to_owned(),
        points: points.to_vec(),
        target: None,
    })
}

/// One heat-map cell: the shrink value at a site and zone, and its shade (0-4).
pub(super) struct HeatCell {
    value: String,
    shade: usize,
}

pub(super) struct HeatRow {
    site: String,
    cells: Vec<HeatCell>,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub(super) struct Overview {
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

pub(super) async fn overview(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    match overview_page(&st, &caller, &secret).await {
        Ok(r) => r,
        Err(p) => refused(p),
    }
}

pub(super) async fn overview_page(st: &AppState, caller: &Caller, secret: &str) -> Result<Response, Problem> {
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
