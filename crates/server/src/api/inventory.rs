//! The perpetual book and count variance.

use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::extract::Query;
use crate::problem::Problem;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use stockade_app::book::BookQuery;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    pub site: Option<String>,
    pub location: Option<String>,
    pub sku: Option<String>,
}

impl From<Filter> for BookQuery {
    fn from(f: Filter) -> Self {
        BookQuery { site: f.site, location: f.location, sku: f.sku }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BookLineView {
    pub site: String,
    pub location: String,
    pub sku: String,
    pub quantity: f64,
    /// `received` (received, not yet put away) or `picked` (picked, not yet
    /// shipped) when the line is one of the site's in-transit states
    /// (location `@received`, `@picked`); absent for a storage location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_transit: Option<&'static str>,
    /// Derived adjustments made here by counts under the site's
    /// count-correction policy (included in `quantity`).
    pub corrected: f64,
    /// Absent when the SKU has no reference record.
    pub unit_value: Option<f64>,
    pub value: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct BookView {
    pub lines: Vec<BookLineView>,
    pub total_units: f64,
    /// Value of the lines whose SKU has a unit value.
    pub total_value: f64,
}

fn unit_values(st: &AppState) -> HashMap<String, f64> {
    st.intake.reference().data.skus.iter().map(|s| (s.id.as_str().to_owned(), s.unit_value)).collect()
}

/// The perpetual book: quantity per site, location and SKU.
#[utoipa::path(get, path = "/api/v1/inventory", tag = "inventory", params(Filter),
    responses((status = 200, body = BookView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn book(
    State(st): State<AppState>,
    caller: Caller,
    Query(f): Query<Filter>,
) -> Result<Json<BookView>, Problem> {
    caller.require(Permission::Read)?;
    let mut f = f?;
    f.site = caller.site_for_list(f.site.take())?;
    let values = unit_values(&st);
    let lines: Vec<BookLineView> = st
        .intake
        .stage()
        .book(&f.into())
        .await?
        .into_iter()
        .map(|l| {
            let unit_value = values.get(&l.sku).copied();
            BookLineView {
                value: unit_value.map(|v| v * l.quantity),
                unit_value,
                site: l.site,
                location: l.location,
                sku: l.sku,
                quantity: l.quantity,
                in_transit: l.in_transit,
                corrected: l.corrected,
            }
        })
        .collect();
    Ok(Json(BookView {
        total_units: lines.iter().map(|l| l.quantity).sum(),
        total_value: lines.iter().filter_map(|l| l.value).sum(),
        lines,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct VarianceLine {
    pub site: String,
    pub location: String,
    pub sku: String,
    /// Time of the latest count (RFC 3339, UTC).
    pub counted_at: String,
    pub counted: f64,
    /// The book as of the count's time.
    pub book: f64,
    /// counted - book: negative is missing stock.
    pub variance_units: f64,
    /// Under the site's count-correction policy, the derived adjustment this
    /// count made to the book (the variance is kept as found); absent: the
    /// count only reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correction: Option<f64>,
    /// Movements this count should be compared with arrived more than the
    /// book's horizon (7 days of event time) before it: `book` may miss some.
    pub approximate: bool,
    pub unit_value: Option<f64>,
    pub variance_value: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct VarianceSummary {
    /// Places (location, SKU) with a count.
    pub counted_lines: usize,
    /// Counted places whose count matched the book.
    pub accurate_lines: usize,
    /// accurate_lines / counted_lines (inventory record accuracy); absent with no counts.
    pub record_accuracy: Option<f64>,
    pub net_variance_units: f64,
    pub net_variance_value: f64,
    /// Value of missing stock (sum of negative variances), as a positive number.
    pub shrink_value: f64,
}

#[derive(Serialize, ToSchema)]
pub struct VarianceView {
    pub lines: Vec<VarianceLine>,
    pub summary: VarianceSummary,
}

/// Variance of the latest count per location and SKU against the book as of that count.
#[utoipa::path(get, path = "/api/v1/inventory/variance", tag = "inventory", params(Filter),
    responses((status = 200, body = VarianceView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn variance(
    State(st): State<AppState>,
    caller: Caller,
    Query(f): Query<Filter>,
) -> Result<Json<VarianceView>, Problem> {
    caller.require(Permission::Read)?;
    let mut f = f?;
    f.site = caller.site_for_list(f.site.take())?;
    let values = unit_values(&st);
    let lines: Vec<VarianceLine> = st
        .intake
        .stage()
        .counts(&f.into())
        .await?
        .into_iter()
        .map(|c| {
            let variance_units = c.counted - c.book;
            let unit_value = values.get(&c.sku).copied();
            VarianceLine {
                counted_at: chrono::DateTime::from_timestamp_micros(c.counted_us)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                    .unwrap_or_default(),
                variance_value: unit_value.map(|v| v * variance_units),
                unit_value,
                variance_units,
                site: c.site,
                location: c.location,
                sku: c.sku,
                counted: c.counted,
                book: c.book,
                correction: c.correction,
                approximate: c.approximate,
            }
        })
        .collect();
    // Quantities are sums of f64; treat sub-micro-unit differences as equal.
    let accurate = lines.iter().filter(|l| l.variance_units.abs() < 1e-6).count();
    let summary = VarianceSummary {
        counted_lines: lines.len(),
        accurate_lines: accurate,
        record_accuracy: (!lines.is_empty()).then(|| accurate as f64 / lines.len() as f64),
        net_variance_units: lines.iter().map(|l| l.variance_units).sum(),
        net_variance_value: lines.iter().filter_map(|l| l.variance_value).sum(),
        shrink_value: -lines.iter().filter_map(|l| l.variance_value).filter(|v| *v < 0.0).sum::<f64>(),
    };
    Ok(Json(VarianceView { lines, summary }))
}
