//! `stockade book`: the inventory book of a data directory, as a table or JSON.

use crate::cli::BookArgs;
use anyhow::{Context, Result};
use stockade_app::book::{BookLine, BookQuery, CountLine};
use stockade_store::DataDir;

/// The figures a reader checks first.
#[derive(Debug, serde::Serialize)]
struct Summary {
    lines: usize,
    /// Lines below zero: more left than the book saw arrive.
    negative_lines: usize,
    units: f64,
    counted_lines: usize,
    /// Counted lines whose latest count matched the book as of its time.
    accurate_lines: usize,
    /// accurate / counted; absent with no counts.
    record_accuracy: Option<f64>,
    /// Sum of counted - book over the counted lines.
    net_variance_units: f64,
}

fn summary(lines: &[BookLine], counts: &[CountLine]) -> Summary {
    let accurate = counts.iter().filter(|c| (c.counted - c.book).abs() < 1e-6).count();
    Summary {
        lines: lines.len(),
        negative_lines: lines.iter().filter(|l| l.quantity < -1e-9).count(),
        units: lines.iter().map(|l| l.quantity).sum(),
        counted_lines: counts.len(),
        accurate_lines: accurate,
        record_accuracy: (!counts.is_empty()).then(|| accurate as f64 / counts.len() as f64),
        net_variance_units: counts.iter().map(|c| c.counted - c.book).sum(),
    }
}

pub async fn run(a: BookArgs) -> Result<()> {
    let opened = DataDir::new(&a.data.data)
        .open_existing()
        .await
        .with_context(|| format!("opening the data directory {}", a.data.data.display()))?;
    let stage = stockade_app::stage::Stage::start(opened.store.clone()).await?;
    let q = BookQuery { site: a.site, location: a.location, sku: a.sku };
    let (lines, counts) = (stage.book(&q).await?, stage.counts(&q).await?);
    crate::close(&stage, &*opened.store).await;
    let s = summary(&lines, &counts);
    if a.json {
        let out = serde_json::json!({ "lines": lines, "counts": counts, "summary": s });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let counted: std::collections::HashMap<(&str, &str, &str), &CountLine> =
        counts.iter().map(|c| ((c.site.as_str(), c.location.as_str(), c.sku.as_str()), c)).collect();
    println!("{:<12} {:<16} {:<20} {:>10}  latest count", "site", "location", "sku", "quantity");
    for l in &lines {
        let count = counted.get(&(l.site.as_str(), l.location.as_str(), l.sku.as_str())).map_or(String::new(), |c| {
            let variance = c.counted - c.book;
            let corrected = c.correction.map_or(String::new(), |v| format!(", corrected the book by {v}"));
            format!("{} against a book of {} (variance {variance:+}{corrected})", c.counted, c.book)
        });
        let state = l.in_transit.map_or(String::new(), |s| format!(" ({s}, in transit)"));
        println!("{:<12} {:<16} {:<20} {:>10}  {count}{state}", l.site, l.location, l.sku, l.quantity);
    }
    println!(
        "{} lines ({} negative), {} units; {} counted lines, {} accurate{}; net variance {:+} units",
        s.lines,
        s.negative_lines,
        s.units,
        s.counted_lines,
        s.accurate_lines,
        s.record_accuracy.map_or(String::new(), |r| format!(" (record accuracy {:.1}%)", r * 100.0)),
        s.net_variance_units
    );
    Ok(())
}
