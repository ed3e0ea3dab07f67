//! The variance explorer: latest counts against the book.

use super::*;
use crate::AppState;
use crate::auth::Permission;
use crate::problem::Problem;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::DateTime;
use serde::Deserialize;

pub(super) struct VarianceRow {
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
pub(super) struct InventoryPage {
    who: Who,
    site: Option<String>,
    shrink: String,
    net_units: String,
    lines: Vec<VarianceRow>,
    truncated: bool,
}

#[derive(Deserialize)]
pub(super) struct SiteParam {
    site: Option<String>,
}

pub(super) async fn inventory(State(st): State<AppState>, headers: HeaderMap, Query(p): Query<SiteParam>) -> Response {
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
