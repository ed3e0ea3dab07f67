//! `stockade bench`: ingest throughput, durable before acknowledgment, through
//! the same paths users take (`stockade ingest FILE` and `POST /api/v1/events`).
//! Each measurement runs on a fresh data directory; the median run is reported.

use crate::cli::{BenchArgs, FileFormat, LedgerMode};
use anyhow::{Result, bail};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;
use stockade_model::clock::{Clock, SystemClock};
use stockade_server::{AppState, Intake, ServerConfig};
use stockade_store::{Role, Store};

/// A synthetic event line of about 200 bytes: a stock move for a share of
/// the events (spread evenly), a badge read for the rest.
fn line(i: usize, inventory_share: f64) -> String {
    let is_move = ((i + 1) as f64 * inventory_share).floor() > (i as f64 * inventory_share).floor();
    if !is_move {
        format!(
            r#"{{"id":"e{i:010}","source":"acs-bench","site":"S{:02}","occurred_at":"2026-11-02T08:{:02}:{:02}.{:03}+01:00","kind":"access.granted","door":"D-{:03}","badge":"B-{:06}","direction":"in"}}"#,
            i % 16,
            (i / 60) % 60,
            i % 60,
            i % 1000,
            i % 200,
            i % 50_000
        )
    } else {
        format!(
            r#"{{"id":"e{i:010}","source":"wms-bench","site":"S{:02}","occurred_at":"2026-11-02T08:{:02}:{:02}+01:00","kind":"inventory.moved","sku":"K{:05}","quantity":2,"from_location":"A-{:04}","to_location":"B-{:04}"}}"#,
            i % 16,
            (i / 60) % 60,
            i % 60,
            i % 20_000,
            i % 3000,
            (i * 7) % 3000
        )
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub async fn run(a: BenchArgs) -> Result<()> {
    if a.events == 0 || a.runs == 0 || a.http_batch == 0 || a.clients == 0 {
        bail!("--events, --runs, --http-batch and --clients must be positive");
    }
    if !(0.0..=1.0).contains(&a.inventory_share) {
        bail!("--inventory-share must be between 0 and 1");
    }
    let share = a.inventory_share;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let work = tempfile::tempdir()?;
    let file = work.path().join("events.ndjson");
    let mut bytes = 0usize;
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        for i in 0..a.events {
            let l = line(i, share);
            bytes += l.len() + 1;
            writeln!(w, "{l}")?;
        }
        w.flush()?;
    }
    println!(
        "{} events, {:.0} bytes per event on average, {:.0}% stock moves",
        a.events,
        bytes as f64 / a.events as f64,
        share * 100.0
    );

    let lines: Arc<Vec<String>> = Arc::new((0..a.events).map(|i| line(i, share)).collect());
    let modes: &[bool] = match a.ledger {
        LedgerMode::On => &[true],
        LedgerMode::Off => &[false],
        LedgerMode::Both => &[false, true],
    };
    let mut file_rates: Vec<Vec<f64>> = vec![Vec::new(); 2];
    let mut http_rates: Vec<Vec<f64>> = vec![Vec::new(); 2];
    // Interleaved, so that both settings see the same machine noise.
    for run in 0..a.runs {
        for &ledger in modes {
            let dir = work.path().join(format!("file-{run}-{ledger}"));
            let rate = file_run(&dir, &file, a.events, ledger, &clock).await?;
            println!("file run {run}, ledger {}: {rate:.0} events/s", on_off(ledger));
            file_rates[usize::from(ledger)].push(rate);
            let dir = work.path().join(format!("http-{run}-{ledger}"));
            let rate = http_run(&dir, &lines, &a, ledger, &clock).await?;
            println!("http run {run}, ledger {}: {rate:.0} events/s", on_off(ledger));
            http_rates[usize::from(ledger)].push(rate);
        }
    }
    println!();
    println!("| path | ledger | events | median events/s |");
    println!("|---|---|---|---|");
    for &ledger in modes {
        let i = usize::from(ledger);
        println!(
            "| file (`stockade ingest`) | {} | {} | {:.0} |",
            on_off(ledger),
            a.events,
            median(file_rates[i].clone())
        );
        println!(
            "| HTTP (`POST /api/v1/events`, {} per request, {} clients) | {} | {} | {:.0} |",
            a.http_batch,
            a.clients,
            on_off(ledger),
            a.events,
            median(http_rates[i].clone())
        );
    }
    if modes.len() == 2 {
        println!();
        println!(
            "ledger on / off: file {:.2}, HTTP {:.2}",
            median(file_rates[1].clone()) / median(file_rates[0].clone()),
            median(http_rates[1].clone()) / median(http_rates[0].clone())
        );
    }
    Ok(())
}

fn on_off(ledger: bool) -> &'static str {
    if ledger { "on" } else { "off" }
}

/// Opens a fresh data directory, with or without the evidence ledger.
async fn start(dir: &std::path::Path, ledger: bool, clock: &Arc<dyn Clock>) -> Result<(Arc<dyn Store>, Intake)> {
    let opened = crate::open(dir).await?;
    let ledger = ledger.then(|| opened.ledger.clone());
    let intake = Intake::start(opened.store.clone(), ledger, clock.clone(), Default::default()).await?;
    Ok((opened.store, intake))
}

async fn file_run(
    dir: &std::path::Path,
    file: &std::path::Path,
    events: usize,
    ledger: bool,
    clock: &Arc<dyn Clock>,
) -> Result<f64> {
    let (_, intake) = start(dir, ledger, clock).await?;
    let started = Instant::now();
    let report = crate::files::ingest_local(&intake, file, FileFormat::Ndjson, 4096).await?;
    let secs = started.elapsed().as_secs_f64();
    if report.accepted != events {
        bail!("file run accepted {} of {events} events", report.accepted);
    }
    Ok(events as f64 / secs)
}

async fn http_run(
    dir: &std::path::Path,
    lines: &Arc<Vec<String>>,
    a: &BenchArgs,
    ledger: bool,
    clock: &Arc<dyn Clock>,
) -> Result<f64> {
    let (store, intake) = start(dir, ledger, clock).await?;
    let (_, token) = stockade_server::auth::create_token(&*store, &**clock, Role::Ingest, "bench").await?;
    let state = AppState::new(store, intake, clock.clone(), ServerConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/events", listener.local_addr()?);
    let server = tokio::spawn(stockade_server::serve(state, listener));
    let client = reqwest::Client::new();
    let batches: Vec<(usize, usize)> =
        (0..a.events).step_by(a.http_batch).map(|s| (s, (s + a.http_batch).min(a.events))).collect();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let batches = Arc::new(batches);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..a.clients {
        let (client, url, token, lines, batches, next) =
            (client.clone(), url.clone(), token.clone(), lines.clone(), batches.clone(), next.clone());
        tasks.spawn(async move {
            let mut accepted = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(s, e)) = batches.get(i) else { break };
                let body = lines[s..e].join("\n");
                let resp = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await?;
                let v: serde_json::Value = resp.json().await?;
                accepted += v["accepted"].as_u64().unwrap_or(0) as usize;
            }
            anyhow::Ok(accepted)
        });
    }
    let mut accepted = 0;
    while let Some(r) = tasks.join_next().await {
        accepted += r??;
    }
    let secs = started.elapsed().as_secs_f64();
    server.abort();
    if accepted != a.events {
        bail!("http run accepted {accepted} of {} events", a.events);
    }
    Ok(a.events as f64 / secs)
}
