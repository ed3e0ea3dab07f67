//! The variance explorer: latest counts against the book, narrowed by
//! site, zone, location and SKU, rolled up by zone and SKU, each shortage
//! with its attribution (who and what could explain it, from the
//! reconciler's count-shortage alert).

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
use std::collections::{BTreeMap, HashMap};

/// Lines on a page of the explorer.
const PAGE: usize = 100;

pub(super) struct VarianceRow {
    site: String,
    zone: String,
    location: String,
    sku: String,
    counted: String,
    book: String,
    variance: String,
    value: String,
    at: String,
    short: bool,
    /// The best-ranked explanations, as "kind id (score)".
    suspects: Vec<String>,
    /// Where the attribution is read in full: the incident it opened or
    /// joined, else the alert queue at its rule.
    attribution: Option<(String, String)>,
}

/// One group of a roll-up: its key, the link narrowing to it, and figures.
pub(super) struct Rollup {
    key: String,
    link: String,
    lines: usize,
    short: usize,
    shrink: String,
    net: String,
}

#[derive(Template)]
#[template(path = "inventory.html")]
pub(super) struct InventoryPage {
    who: Who,
    filter: Filter,
    /// The filter as a query string (pages and roll-up links keep it).
    query: String,
    shrink: String,
    net_units: String,
    total: usize,
    lines: Vec<VarianceRow>,
    by_zone: Vec<Rollup>,
    by_sku: Vec<Rollup>,
    page: usize,
    pages: usize,
}

#[derive(Deserialize, Default, Clone)]
pub(super) struct Filter {
    #[serde(default)]
    site: String,
    #[serde(default)]
    zone: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    page: Option<usize>,
}

impl Filter {
    fn query(&self, change: Option<(&str, &str)>) -> String {
        let mut parts = Vec::new();
        for (k, v) in [("site", &self.site), ("zone", &self.zone), ("location", &self.location), ("sku", &self.sku)] {
            let v = match change {
                Some((ck, cv)) if ck == k => cv,
                _ => v.as_str(),
            };
            if !v.is_empty() {
                parts.push(format!("{k}={}", url_encoded(v)));
            }
        }
        parts.join("&")
    }
}

pub(super) async fn inventory(State(st): State<AppState>, headers: HeaderMap, Query(f): Query<Filter>) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    let shown = async {
        caller.require(Permission::Read)?;
        let asked = Some(f.site.clone()).filter(|s| !s.is_empty());
        let site = match (asked, caller.sites.as_slice()) {
            (None, [_, _, ..]) => None,
            (asked, _) => caller.site_for_list(asked)?,
        };
        let q = stockade_app::book::BookQuery {
            site: site.clone(),
            location: Some(f.location.clone()).filter(|s| !s.is_empty()),
            sku: Some(f.sku.clone()).filter(|s| !s.is_empty()),
        };
        let counts = st.intake.stage().counts(&q).await?;
        // The attributions of count shortages at these sites, latest per place.
        let mut attributed: HashMap<(String, String), stockade_app::alerts::ListedAlert> = HashMap::new();
        let mut after = 0;
        loop {
            let aq = stockade_store::AlertQuery {
                after,
                limit: 10_000,
                site: site.clone(),
                rule: Some(stockade_detect::reconcile::MODEL.to_owned()),
                ..Default::default()
            };
            let page = stockade_app::alerts::list(&*st.store, &aq).await?;
            let Some(last) = page.last() else { break };
            after = last.n;
            for a in page.into_iter().filter(|a| caller.may_see(&a.alert.site)) {
                if let Some(at) = &a.alert.attribution {
                    attributed.insert((at.location.clone(), at.sku.clone()), a);
                }
            }
        }
        Ok::<_, Problem>((site, counts, attributed))
    };
    let (site, counts, attributed) = match shown.await {
        Ok(x) => x,
        Err(p) => return refused(p),
    };
    let reference = st.intake.reference();
    let values: HashMap<&str, f64> = reference.data.skus.iter().map(|s| (s.id.as_str(), s.unit_value)).collect();
    let zone_of: HashMap<&str, &str> =
        reference.data.locations.iter().map(|l| (l.id.as_str(), l.zone.as_str())).collect();
    let zones = zones(&st);
    let mut filter = f.clone();
    filter.site = site.clone().unwrap_or_default();
    let lines: Vec<(f64, Option<f64>, f64, VarianceRow)> = counts
        .into_iter()
        .filter(|c| caller.may_see(&c.site))
        .map(|c| (zone_of.get(c.location.as_str()).copied().unwrap_or("(no zone)").to_owned(), c))
        .filter(|(zone, _)| f.zone.is_empty() || *zone == f.zone)
        .map(|(zone, c)| {
            let variance = c.counted - c.book;
            let value = values.get(c.sku.as_str()).map(|v| v * variance);
            let at = DateTime::from_timestamp_micros(c.counted_us).unwrap_or_default().fixed_offset();
            let explained = (variance < 0.0)
                .then(|| attributed.get(&(c.location.clone(), c.sku.clone())))
                .flatten()
                .and_then(|a| a.alert.attribution.as_ref().map(|at| (a, at)));
            let suspects = explained
                .map(|(_, at)| {
                    at.suspects.iter().take(3).map(|s| format!("{} {} ({:.2})", s.kind, s.id, s.score)).collect()
                })
                .unwrap_or_default();
            let attribution = explained.map(|(a, _)| match &a.incident {
                Some(i) => (format!("/console/incidents/{i}"), i.clone()),
                None => {
                    (format!("/console/alerts?rule={}", stockade_detect::reconcile::MODEL), format!("alert {}", a.n))
                }
            });
            let row = VarianceRow {
                at: local(at, zones.get(&c.site)),
                site: c.site,
                zone,
                location: c.location,
                sku: c.sku,
                counted: format!("{}", c.counted),
                book: format!("{}", c.book),
                variance: format!("{variance:+}"),
                value: value.map_or("–".into(), |v| format!("{v:+.2}")),
                short: variance < 0.0,
                suspects,
                attribution,
            };
            (value.unwrap_or(variance), value, variance, row)
        })
        .collect();
    // Shrink: the value missing (unvalued SKUs aside); net: units.
    let shrink: f64 = lines.iter().filter_map(|(_, v, _, _)| *v).map(|v| v.min(0.0)).sum::<f64>().abs();
    let net: f64 = lines.iter().map(|(_, _, units, _)| units).sum();
    let rollup = |key: &dyn Fn(&VarianceRow) -> String, field: &str| -> Vec<Rollup> {
        let mut groups: BTreeMap<String, (usize, usize, f64, f64)> = BTreeMap::new();
        for (_, value, units, row) in &lines {
            let g = groups.entry(key(row)).or_default();
            g.0 += 1;
            g.1 += usize::from(row.short);
            g.2 += value.map_or(0.0, |v| v.min(0.0)).abs();
            g.3 += units;
        }
        let mut out: Vec<(f64, Rollup)> = groups
            .into_iter()
            .map(|(k, (n, short, shrink, net))| {
                let link = format!("/console/inventory?{}", filter.query(Some((field, &k))));
                (
                    shrink,
                    Rollup { link, key: k, lines: n, short, shrink: format!("{shrink:.2}"), net: format!("{net:+}") },
                )
            })
            .collect();
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.key.cmp(&b.1.key)));
        out.into_iter().take(12).map(|(_, r)| r).collect()
    };
    let by_zone = rollup(&|r| r.zone.clone(), "zone");
    let by_sku = rollup(&|r| r.sku.clone(), "sku");
    let mut lines = lines;
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = lines.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page_no = f.page.unwrap_or(1).clamp(1, pages);
    let t = InventoryPage {
        who: who(&caller, &secret),
        query: filter.query(None),
        filter,
        shrink: format!("{shrink:.2}"),
        net_units: format!("{net:+}"),
        total,
        lines: lines.into_iter().skip((page_no - 1) * PAGE).take(PAGE).map(|(_, _, _, r)| r).collect(),
        by_zone,
        by_sku,
        page: page_no,
        pages,
    };
    page(StatusCode::OK, &t)
}
