//! Reports (`docs/REPORTS.md`): the incident report for insurers and
//! regulators and the executive scorecard of a period, built as one
//! document (`stockade_report::Report`) and written as self-contained HTML
//! or as PDF. Each export is a record of the audit trail (and so a leaf of
//! the evidence ledger): who took which report, in which format.

use super::incidents::entries;
use super::incidents::severity_name;
use super::*;
use crate::AppState;
use crate::api::incidents::visible;
use crate::auth::Permission;
use crate::problem::Problem;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use stockade_app::scorecard::{Goal, Scorecard, Targets, Unit};
use stockade_report::{Block, Chart, Column, List, Report, Table, figure};
use stockade_respond::Act;

/// A report's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Html,
    Pdf,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Pdf => "pdf",
        }
    }
}

/// A report written in `format`: HTML text or PDF bytes.
pub fn write(r: &Report, format: Format) -> Result<Vec<u8>, Problem> {
    match format {
        Format::Html => Ok(stockade_report::html(r).into_bytes()),
        Format::Pdf => stockade_report::pdf::pdf(r).map_err(|e| Problem::internal(format!("writing the PDF: {e}"))),
    }
}

fn money(v: f64) -> String {
    // (+ 0.0: an empty sum is -0.0)
    format!("{:.2}", v + 0.0)
}

/// The incident report for insurers and regulators: the facts, the losses
/// at stake, the response times, the actions taken, the timeline with each
/// entry's ledger leaf, the evidence with its hashes, and how to verify it
/// all offline.
pub async fn incident_report(
    store: &dyn stockade_store::Store,
    ledger: &stockade_store::Ledger,
    reference: &stockade_model::ReferenceData,
    now: DateTime<Utc>,
    id: &str,
) -> Result<Report, Problem> {
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
        format!("{} units, value {} ({source}).", figure(units), money(value))
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
    let timeline = entries(&w, tz)
        .into_iter()
        .map(|e| {
            let what = if e.detail.is_empty() { e.act.to_owned() } else { format!("{}: {}", e.act, e.detail) };
            vec![e.at, what, e.actor, e.leaf.map(|l| l.to_string()).unwrap_or_default()]
        })
        .collect();
    let evidence = store
        .incident_evidence(id)
        .await?
        .into_iter()
        .map(|e| {
            vec![
                e.record.id,
                e.record.class,
                e.record.collected_from,
                e.record.sha256,
                e.record.size.to_string(),
                e.leaf_index.to_string(),
            ]
        })
        .collect();
    let mut facts = vec![
        (
            "Site".to_owned(),
            format!("{} ({})", i.site, tz.map_or("UTC offsets as recorded".into(), |z| z.name().to_owned())),
        ),
        ("Severity".into(), severity_name(r.severity).into()),
        ("State".into(), r.status.as_str().into()),
        ("Activity".into(), format!("{} to {}", local(i.from, tz), local(i.to, tz))),
        ("First signal".into(), local(r.first_signal, tz)),
        ("Detected".into(), local(r.detected, tz)),
        ("Opened by".into(), w.record.opened_by.clone()),
        ("Owner".into(), r.owner.clone().unwrap_or_else(|| "nobody".into())),
        ("Entities named".into(), r.entities.iter().cloned().collect::<Vec<_>>().join(", ")),
    ];
    if !i.summary.is_empty() {
        facts.push(("Summary".into(), i.summary.clone()));
    }
    let key = ledger.verifier_key().to_owned();
    Ok(Report {
        title: format!("Incident report: {id} · {}", i.title),
        lead: format!(
            "Generated {} by Stockade from its records; every entry below is a leaf of the evidence ledger {}.",
            now.to_rfc3339(),
            ledger.origin()
        ),
        blocks: vec![
            Block::Heading("Facts".into()),
            Block::Facts(facts),
            Block::Heading("Losses".into()),
            Block::Paragraph(stake),
            Block::Heading("Response times".into()),
            Block::Facts(reached),
            Block::Heading("Actions taken".into()),
            Block::List(List { ordered: false, items: actions, empty: "No containment recorded.".into() }),
            Block::Heading("Timeline".into()),
            Block::Table(Table {
                columns: vec![
                    Column::text("When (site time)"),
                    Column::text("What"),
                    Column::text("By"),
                    Column::number("Ledger leaf"),
                ],
                rows: timeline,
                empty: "Nothing recorded.".into(),
            }),
            Block::Heading("Evidence".into()),
            Block::Table(Table {
                columns: vec![
                    Column::text("Item"),
                    Column::text("Class"),
                    Column::text("From"),
                    Column::mono("SHA-256"),
                    Column::number("Bytes"),
                    Column::number("Leaf"),
                ],
                rows: evidence,
                empty: "None.".into(),
            }),
            Block::Heading("How to verify this report".into()),
            Block::List(List {
                ordered: true,
                items: vec![
                    format!(
                        "Obtain the incident's evidence package (stockade evidence package {id} --out {id}.tar --reason R, or the console's download button)."
                    ),
                    format!(
                        "Run stockade verify {id}.tar --key '{key}': it checks every file's SHA-256 against the hashes above, every record's inclusion proof against a checkpoint signed by this key, and every chain of custody."
                    ),
                    "The key is the ledger's verifier key; obtain it independently of this report (the ledger page, or stockade ledger key at the operator's).".into(),
                ],
                empty: String::new(),
            }),
        ],
    })
}

/// A KPI's value as the scorecard writes it.
fn shown(v: Option<f64>, unit: Unit) -> String {
    match (v, unit) {
        (None, _) => "–".into(),
        (Some(v), Unit::Hours) => stockade_respond::kpi::readable(Some(v * 3600.0)),
        (Some(v), Unit::Rate) => format!("{:.1} %", v * 100.0),
        (Some(v), Unit::Count) => figure(v),
        (Some(v), Unit::Value) => money(v),
    }
}

/// The executive scorecard as a report.
pub fn scorecard_report(s: &Scorecard, now: DateTime<Utc>, origin: &str) -> Report {
    let day = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    let scope = if s.sites.is_empty() { "All sites".to_owned() } else { format!("Sites {}", s.sites.join(", ")) };
    let last_day = day(s.to - chrono::Duration::days(1));
    let lines = s
        .lines
        .iter()
        .map(|l| {
            let goal = match (l.target, l.goal) {
                (None, _) => String::new(),
                (Some(t), Goal::AtMost) => format!("≤ {}", shown(Some(t), l.unit)),
                (Some(t), Goal::AtLeast) => format!("≥ {}", shown(Some(t), l.unit)),
            };
            let status = match l.met {
                Some(true) => "met",
                Some(false) => "missed",
                None if l.target.is_some() => "no data",
                None => "",
            };
            vec![l.name.to_owned(), shown(l.value, l.unit), goal, status.to_owned(), shown(l.previous, l.unit)]
        })
        .collect();
    let f = &s.kpi.figures;
    let summary = format!(
        "{} incidents detected ({} still open, {} uncontained, {} false positives); {} of the {} KPIs with a target met; losses at stake in incidents {}; shrink found by counts {}.",
        f.incidents,
        f.open,
        f.uncontained,
        f.false_positives,
        s.lines.iter().filter(|l| l.met == Some(true)).count(),
        s.lines.iter().filter(|l| l.target.is_some()).count(),
        money(s.incident_losses),
        money(s.kpi.inventory.shrink_value),
    );
    let week = |p: &stockade_respond::Point| p.from.format("%Y-%m-%d").to_string();
    let series = |f: &dyn Fn(&stockade_respond::Figures) -> Option<f64>| -> Vec<(String, f64)> {
        s.kpi.trend.iter().filter_map(|p| Some((week(p), f(&p.figures)?))).collect()
    };
    let charts = vec![
        Chart {
            title: "Incidents detected per week".into(),
            unit: "incidents".into(),
            points: series(&|f| Some(f.incidents as f64)),
            target: None,
        },
        Chart {
            title: "Median time to detect per week".into(),
            unit: "h".into(),
            points: series(&|f| f.time_to_detect.median_s.map(|x| x / 3600.0)),
            target: Some(s.targets.time_to_detect_h),
        },
        Chart {
            title: "Median time to contain per week".into(),
            unit: "h".into(),
            points: series(&|f| f.time_to_contain.median_s.map(|x| x / 3600.0)),
            target: Some(s.targets.time_to_contain_h),
        },
        Chart {
            title: "Alerts per week".into(),
            unit: "alerts".into(),
            points: s.weeks.iter().map(|w| (day(w.from), w.alerts as f64)).collect(),
            target: None,
        },
        Chart {
            title: "Shrink found by counts per week".into(),
            unit: "in value".into(),
            points: s.weeks.iter().map(|w| (day(w.from), w.shrink_value)).collect(),
            target: None,
        },
    ];
    let mut blocks = vec![
        Block::Heading("Summary".into()),
        Block::Paragraph(summary),
        Block::Heading("KPIs against targets".into()),
        Block::Table(Table {
            columns: vec![
                Column::text("KPI"),
                Column::number("This period"),
                Column::text("Target"),
                Column::text("Status"),
                Column::number("Period before"),
            ],
            rows: lines,
            empty: String::new(),
        }),
        Block::Paragraph(format!(
            "The period before is the {} days up to {}. Definitions: docs/KPI.md and docs/SCORECARD.md; a figure shown – had nothing to measure.",
            (s.to - s.from).num_days(),
            day(s.from)
        )),
        Block::Heading("Trends".into()),
    ];
    blocks.extend(charts.into_iter().map(Block::Chart));
    blocks.extend([
        Block::Heading("Top risks by site".into()),
        Block::Paragraph(
            "Ordered by the period's real incidents weighted by severity (critical 8, high 4, medium 2, low 1), then by the shrink its counts found, then by alerts.".into(),
        ),
        Block::Table(Table {
            columns: vec![
                Column::text("Site"),
                Column::number("Weight"),
                Column::number("Incidents"),
                Column::number("Critical"),
                Column::number("High"),
                Column::number("Open"),
                Column::number("Uncontained"),
                Column::number("Alerts"),
                Column::number("Shrink value"),
            ],
            rows: s
                .site_risks
                .iter()
                .map(|r| {
                    vec![
                        r.site.clone(),
                        r.weight.to_string(),
                        r.incidents.to_string(),
                        r.critical.to_string(),
                        r.high.to_string(),
                        r.open.to_string(),
                        r.uncontained.to_string(),
                        r.alerts.to_string(),
                        money(r.shrink_value),
                    ]
                })
                .collect(),
            empty: "No incidents, alerts or shortages in this period.".into(),
        }),
        Block::Heading("Top risks by entity".into()),
        Block::Paragraph(
            "The ten people, badges, accounts, keys, places and SKUs most named by the period's real incidents (same weights), then by their incidents' losses, then by alerts.".into(),
        ),
        Block::Table(Table {
            columns: vec![
                Column::mono("Entity"),
                Column::number("Weight"),
                Column::number("Incidents"),
                Column::text("Worst"),
                Column::number("Alerts"),
                Column::number("Losses at stake"),
                Column::text("Sites"),
            ],
            rows: s
                .entity_risks
                .iter()
                .map(|e| {
                    vec![
                        e.entity.clone(),
                        e.weight.to_string(),
                        e.incidents.to_string(),
                        e.worst.map_or("–", severity_name).to_owned(),
                        e.alerts.to_string(),
                        money(e.stake_value),
                        e.sites.iter().cloned().collect::<Vec<_>>().join(", "),
                    ]
                })
                .collect(),
            empty: "No entity named in this period.".into(),
        }),
        Block::Heading("Losses".into()),
        Block::Paragraph(format!(
            "Losses at stake in the period's real incidents: {} (as analysts declared them, else as their counts found). Shrink found by the period's counts, whether or not an incident explains it: {} ({} units net variance).",
            money(s.incident_losses),
            money(s.kpi.inventory.shrink_value),
            figure(s.kpi.inventory.net_variance_units)
        )),
        Block::Table(Table {
            columns: vec![
                Column::text("Incident"),
                Column::text("Site"),
                Column::text("Severity"),
                Column::text("State"),
                Column::number("Units"),
                Column::number("Value"),
                Column::text("From"),
            ],
            rows: s
                .losses
                .iter()
                .map(|l| {
                    vec![
                        l.incident.clone(),
                        l.site.clone(),
                        severity_name(l.severity).to_owned(),
                        l.status.as_str().to_owned(),
                        figure(l.units),
                        money(l.value),
                        l.source.to_owned(),
                    ]
                })
                .collect(),
            empty: "No loss established in this period's incidents.".into(),
        }),
    ]);
    Report {
        title: format!("Executive scorecard: {} to {last_day}", day(s.from)),
        lead: format!(
            "{scope}. Generated {} by Stockade from the incidents, alerts and counts it recorded (ledger {origin}).",
            now.to_rfc3339()
        ),
        blocks,
    }
}

/// Sends a report: inline when HTML (its own policy: inline styles, no
/// script; saved as one file it stays whole), as a download when PDF.
fn send(bytes: Vec<u8>, format: Format, name: &str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    let (kind, disposition) = match format {
        Format::Html => ("text/html; charset=utf-8", "inline"),
        Format::Pdf => ("application/pdf", "attachment"),
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}.{}\"", format.as_str())) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

#[derive(Deserialize)]
pub(super) struct FormatParam {
    #[serde(default)]
    format: Format,
}

/// Records who took which report, in which format.
async fn exported(st: &AppState, caller: &crate::auth::Caller, detail: serde_json::Value) -> Result<(), Problem> {
    if let Some(ledger) = st.intake.ledger() {
        stockade_app::audit::record(&*st.store, ledger, &*st.clock, "report_exported", &caller.actor(), detail).await?;
    }
    Ok(())
}

/// The incident report, in the browser or as a PDF.
pub(super) async fn report(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<FormatParam>,
) -> Response {
    let (caller, _) = signed_in_or_login!(st, headers);
    let made = async {
        caller.require(Permission::Read)?;
        visible(&st, &caller, &id).await?;
        let ledger = st.intake.ledger().ok_or_else(|| Problem::not_found("this instance keeps no evidence ledger"))?;
        let r = incident_report(&*st.store, ledger, &st.intake.reference().data, st.clock.now(), &id).await?;
        let bytes = write(&r, p.format)?;
        exported(
            &st,
            &caller,
            serde_json::json!({ "report": "incident", "incident": id, "format": p.format.as_str() }),
        )
        .await?;
        Ok::<_, Problem>(bytes)
    };
    match made.await {
        Ok(bytes) => send(bytes, p.format, &format!("{id}-report")),
        Err(p) => refused(p),
    }
}

#[derive(Deserialize)]
pub(super) struct PeriodParams {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    format: Option<Format>,
}

/// A period bound (`stockade_app::scorecard::day_or_time`), or 400.
fn parse_day(field: &str, s: &str) -> Result<DateTime<Utc>, Problem> {
    stockade_app::scorecard::day_or_time(s).ok_or_else(|| {
        Problem::bad_request(format!("{field}: {s:?} is neither a day (2026-11-02) nor an RFC 3339 time"))
    })
}

/// The scorecard of a period for the caller's sites.
pub async fn scorecard_of(
    st: &AppState,
    sites: &[String],
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Scorecard, Problem> {
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(Problem::bad_request("from must be before to"));
    }
    let counts = st.intake.stage().counts(&stockade_app::book::BookQuery::default()).await?;
    let targets: &Targets = &st.config.targets;
    Ok(stockade_app::scorecard::load(&*st.store, &counts, targets, (from, to), sites, st.clock.now()).await?)
}

#[derive(askama::Template)]
#[template(path = "scorecard.html")]
pub(super) struct ScorecardPage {
    who: Who,
    from: String,
    to: String,
    /// Its scope and origin.
    lead: String,
    /// The scorecard's blocks as HTML, every string escaped by the writer.
    body: String,
}

/// The scorecard page (`?format=html|pdf` for the report itself).
pub(super) async fn scorecard(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<PeriodParams>,
) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    let made = async {
        caller.require(Permission::Read)?;
        let from = p.from.as_deref().filter(|s| !s.is_empty()).map(|s| parse_day("from", s)).transpose()?;
        let to = p.to.as_deref().filter(|s| !s.is_empty()).map(|s| parse_day("to", s)).transpose()?;
        let s = scorecard_of(&st, &caller.sites, from, to).await?;
        let origin = st.intake.ledger().map(|l| l.origin().to_owned()).unwrap_or_default();
        let r = scorecard_report(&s, st.clock.now(), &origin);
        Ok::<_, Problem>((s, r))
    };
    let (s, r) = match made.await {
        Ok(x) => x,
        Err(p) => return refused(p),
    };
    let day = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    match p.format {
        Some(format) => {
            let name = format!("scorecard-{}-{}", day(s.from), day(s.to));
            let sent = async {
                let bytes = write(&r, format)?;
                let detail = serde_json::json!({
                    "report": "scorecard", "from": s.from, "to": s.to, "sites": s.sites, "format": format.as_str()
                });
                exported(&st, &caller, detail).await?;
                Ok::<_, Problem>(bytes)
            };
            match sent.await {
                Ok(bytes) => send(bytes, format, &name),
                Err(p) => refused(p),
            }
        }
        None => page(
            StatusCode::OK,
            &ScorecardPage {
                who: who(&caller, &secret),
                from: day(s.from),
                to: day(s.to),
                lead: r.lead.clone(),
                body: stockade_report::fragment(&r),
            },
        ),
    }
}
