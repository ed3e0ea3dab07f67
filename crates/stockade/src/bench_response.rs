//! `stockade bench --response EVENTS`: incident response under load
//! (figures for docs/BENCHMARKS.md). Opening an incident with its playbook
//! and evidence snapshot in a store of EVENTS events (the detector's path,
//! which knows the cited events' seqs, and an analyst's, which has them
//! found), and the KPI query over a year of a 100-site network.

use crate::cli::BenchArgs;
use anyhow::{Result, bail};
use std::sync::Arc;
use std::time::Instant;
use stockade_incident::{EventRef, NewIncident, Severity};
use stockade_model::clock::{Clock, SystemClock};

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

const SITES: usize = 16;

fn reference() -> String {
    let mut y = String::from("sites:\n");
    for s in 0..SITES {
        y += &format!("  - {{ id: S{s:02}, name: \"Site {s}\", timezone: Europe/Paris }}\n");
    }
    y
}

pub async fn run(events: usize, a: &BenchArgs) -> Result<()> {
    if events < 1000 || a.runs == 0 {
        bail!("--response needs at least 1000 events, and --runs must be positive");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let work = tempfile::tempdir()?;
    let file = work.path().join("events.ndjson");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        // A month of a 16-site network (about 870 events a site an hour
        // at 10 M), as a store that size holds.
        let month_us = 30 * 86_400_000_000i64;
        let start = chrono::DateTime::parse_from_rfc3339("2026-10-01T00:00:00+00:00")?;
        for i in 0..events {
            let at = start + chrono::Duration::microseconds(month_us / events as i64 * i as i64);
            writeln!(w, "{}", crate::bench::line_at(i, a.inventory_share, &at.to_rfc3339()))?;
        }
        w.flush()?;
    }
    let data = work.path().join("data");
    let opened = crate::open(&data).await?;
    let intake = crate::intake(&opened, clock.clone(), Default::default()).await?;
    intake.import_reference(stockade_ingest::reference_files::from_yaml(&reference())?).await?;
    let started = Instant::now();
    let report = crate::files::ingest_local(&intake, &file, crate::cli::FileFormat::Ndjson, 4096).await?;
    std::fs::remove_file(&file)?;
    println!(
        "store of {} events built in {:.0} s (ledger on, no detection)",
        report.accepted,
        started.elapsed().as_secs_f64()
    );
    let store = opened.store.clone();
    let casebook = intake.casebook().clone();
    // Incidents citing 5 events each, spread over the log: as the detector
    // opens them (seqs known), then as an analyst does (found in the span).
    let n = 200usize;
    let mut detector = Vec::with_capacity(n);
    let mut analyst = Vec::with_capacity(n / 4);
    for k in 0..n + n / 4 {
        let base = (k * (events / (n + n / 4))).max(1);
        let mut cited = Vec::new();
        let mut seen = std::collections::HashMap::new();
        // Five events of one site, as an incident cites.
        let q = stockade_store::EventQuery { after_seq: Some(base as i64 - 1), limit: 80, ..Default::default() };
        let page = store.events(&q).await?;
        let here = page.first().map(|e| e.site.clone()).unwrap_or_default();
        let (mut first_us, mut last_us, mut site) = (i64::MAX, i64::MIN, "S00".to_owned());
        for e in page.into_iter().filter(|e| e.site == here).take(5) {
            seen.insert((e.source.clone(), e.event_id.clone()), e.seq);
            (first_us, last_us, site) = (first_us.min(e.occurred_us), last_us.max(e.occurred_us), e.site.clone());
            cited.push(EventRef { source: e.source, id: e.event_id });
        }
        // The hour around what it cites, as an analyst would open it.
        let around = |us: i64| chrono::DateTime::from_timestamp_micros(us).unwrap_or_default().fixed_offset();
        let (from, to) = (around(first_us - 1_800_000_000), around(last_us + 1_800_000_000));
        let incident = NewIncident {
            site,
            title: format!("bench case {k}"),
            severity: Severity::High,
            scenario: None,
            summary: String::new(),
            from,
            to,
            entities: vec!["B-000001".into(), "D-001".into()],
            events: cited,
            rules: vec!["access-cage-after-hours".into()],
            detected_at: None,
        };
        let analyst_path = k >= n;
        let seen = if analyst_path { Default::default() } else { seen };
        let t = Instant::now();
        casebook.open_seen(&*store, intake.ledger(), &*clock, "bench", incident, &seen).await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if analyst_path { analyst.push(ms) } else { detector.push(ms) }
    }
    println!(
        "open an incident with its playbook and evidence snapshot, {} events stored: detector's path p50 {:.1} ms, p99 {:.1} ms ({n} incidents); analyst's path (cited events found in the span) p50 {:.1} ms, p99 {:.1} ms ({} incidents)",
        report.accepted,
        pct(detector.clone(), 0.5),
        pct(detector, 0.99),
        pct(analyst.clone(), 0.5),
        pct(analyst.clone(), 0.99),
        analyst.len()
    );
    crate::close(intake.stage(), &*store).await;
    drop(opened);
    kpi_year(a.runs).await
}

/// A year of a 100-site network: one incident a site a week, each worked
/// to closure through eight timeline entries; the KPI query over it.
async fn kpi_year(runs: usize) -> Result<()> {
    let work = tempfile::tempdir()?;
    let store: Arc<dyn stockade_store::Store> = Arc::new(stockade_store::EmbeddedStore::open_dir(work.path()).await?);
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-05T02:00:00+00:00")?;
    let mut n = 0u64;
    use stockade_respond::{Act, Entry, Status};
    for week in 0..52i64 {
        for site in 0..100 {
            n += 1;
            let detected = start + chrono::Duration::weeks(week) + chrono::Duration::minutes(site * 7);
            let incident = NewIncident {
                site: format!("S{site:03}"),
                title: "bench".into(),
                severity: Severity::Medium,
                scenario: None,
                summary: String::new(),
                from: detected - chrono::Duration::minutes(20),
                to: detected,
                entities: vec![format!("P-{site}")],
                events: Vec::new(),
                rules: Vec::new(),
                detected_at: Some(detected),
            }
            .open(n, detected, "bench")?;
            store.add_incident(&incident).await?;
            let steps = [
                Status::Triaged,
                Status::Contained,
                Status::Investigating,
                Status::Remediating,
                Status::Recovered,
                Status::Closed,
            ];
            let mut from = Status::Detected;
            for (i, to) in steps.into_iter().enumerate() {
                let at = detected + chrono::Duration::minutes(15 * (i as i64 + 1) * (1 + site % 5));
                let entry = Entry {
                    incident: incident.id.clone(),
                    n: i as u64 + 1,
                    at,
                    actor: "bench".into(),
                    act: Act::Transition { from, to, reason: String::new(), effective: at },
                };
                store.add_timeline(&stockade_store::StoredEntry { incident: n, entry, leaf_index: None }).await?;
                from = to;
            }
        }
    }
    let q = stockade_app::response::KpiQuery {
        from: Some(chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")?.to_utc()),
        to: Some(chrono::DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")?.to_utc()),
        every: Some(stockade_respond::Every::Week),
        ..Default::default()
    };
    let mut took = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(3) {
        let t = Instant::now();
        last = Some(stockade_app::response::report(&*store, &[], &q).await?);
        took.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let k = last.ok_or_else(|| anyhow::anyhow!("no run"))?;
    println!(
        "KPI query over a year of 100 sites ({} incidents, {} timeline entries, weekly trend of {} points): median {:.0} ms over {} runs",
        k.figures.incidents,
        k.figures.incidents * 6,
        k.trend.len(),
        pct(took.clone(), 0.5),
        took.len()
    );
    store.close().await;
    Ok(())
}
