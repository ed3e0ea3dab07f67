//! `stockade report incident|scorecard`: the reports of a data directory,
//! as HTML or PDF (docs/REPORTS.md). Each export is recorded in the audit
//! trail, as the console's are.

use crate::cli::{ReportCommand, ReportFormat};
use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use stockade_app::scorecard::Targets;
use stockade_model::clock::Clock;
use stockade_server::console::Format;
use stockade_store::DataDir;

/// The scorecard's targets: a file's, or the built-in ones.
pub fn targets(file: Option<&Path>) -> Result<Targets> {
    let Some(file) = file else { return Ok(Targets::default()) };
    let text = std::fs::read_to_string(file).with_context(|| format!("reading the targets {}", file.display()))?;
    Targets::parse(&text).map_err(|e| anyhow!("{}: {e}", file.display()))
}

/// A period bound given as `--name` (`scorecard::day_or_time`).
fn day(name: &str, s: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    s.map(|s| {
        stockade_app::scorecard::day_or_time(s)
            .ok_or_else(|| anyhow!("--{name} {s:?}: neither a day (2026-11-02) nor an RFC 3339 time"))
    })
    .transpose()
}

fn format_of(f: ReportFormat) -> Format {
    match f {
        ReportFormat::Html => Format::Html,
        ReportFormat::Pdf => Format::Pdf,
    }
}

/// Writes the report to `out`, or to standard output (never a PDF to a
/// terminal).
fn emit(bytes: &[u8], format: ReportFormat, out: Option<&PathBuf>, what: &str) -> Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {what} to {}", path.display());
        }
        None if format == ReportFormat::Pdf && std::io::stdout().is_terminal() => {
            bail!("a PDF is not for a terminal: give --out FILE (or redirect standard output)")
        }
        None => std::io::stdout().write_all(bytes).context("writing to standard output")?,
    }
    Ok(())
}

async fn open(dir: &Path) -> Result<stockade_store::Opened> {
    DataDir::new(dir).open_existing().await.with_context(|| format!("opening the data directory {}", dir.display()))
}

pub async fn run(command: ReportCommand, clock: Arc<dyn Clock>, actor: &str) -> Result<()> {
    match command {
        ReportCommand::Incident { id, format, out, data } => {
            let opened = open(&data.data).await?;
            let made = async {
                let rows = opened.store.reference(None).await?;
                let reference = stockade_model::ReferenceData::from_rows(rows).map_err(|e| anyhow!("{e}"))?;
                let r = stockade_server::console::incident_report(
                    &*opened.store,
                    &opened.ledger,
                    &reference,
                    clock.now(),
                    &id,
                )
                .await
                .map_err(|p| anyhow!("{}: {}", p.title, p.detail))?;
                let bytes =
                    stockade_server::console::write(&r, format_of(format)).map_err(|p| anyhow!("{}", p.detail))?;
                let detail = serde_json::json!({ "report": "incident", "incident": id, "format": format_name(format) });
                stockade_app::audit::record(&*opened.store, &opened.ledger, &*clock, "report_exported", actor, detail)
                    .await?;
                Ok::<_, anyhow::Error>(bytes)
            };
            let bytes = made.await;
            opened.store.close().await;
            emit(&bytes?, format, out.as_ref(), &format!("the report of {id}"))
        }
        ReportCommand::Scorecard { from, to, site, targets: file, format, out, data } => {
            let targets = targets(file.as_deref())?;
            let (from, to) = (day("from", from.as_deref())?, day("to", to.as_deref())?);
            if let (Some(f), Some(t)) = (from, to)
                && f >= t
            {
                bail!("--to must be after --from");
            }
            let opened = open(&data.data).await?;
            let stage = stockade_app::stage::Stage::start(opened.store.clone()).await?;
            let made = async {
                let counts = stage.counts(&stockade_app::book::BookQuery::default()).await?;
                let s =
                    stockade_app::scorecard::load(&*opened.store, &counts, &targets, (from, to), &site, clock.now())
                        .await?;
                let r = stockade_server::console::scorecard_report(&s, clock.now(), opened.ledger.origin());
                let bytes =
                    stockade_server::console::write(&r, format_of(format)).map_err(|p| anyhow!("{}", p.detail))?;
                let detail = serde_json::json!({
                    "report": "scorecard", "from": s.from, "to": s.to, "sites": s.sites, "format": format_name(format)
                });
                stockade_app::audit::record(&*opened.store, &opened.ledger, &*clock, "report_exported", actor, detail)
                    .await?;
                Ok::<_, anyhow::Error>(bytes)
            };
            let bytes = made.await;
            crate::close(&stage, &*opened.store).await;
            emit(&bytes?, format, out.as_ref(), "the scorecard")
        }
    }
}

fn format_name(f: ReportFormat) -> &'static str {
    match f {
        ReportFormat::Html => "html",
        ReportFormat::Pdf => "pdf",
    }
}
