//! `stockade simulate --to URL --speed X`: feeds a running server with a
//! simulated network in accelerated real time, X simulated seconds per
//! wall-clock second: reference data first, then every event in time order,
//! in batches of up to 1,000, each sent when its time comes. With `--rate N`
//! instead, events go at N a second whatever their times, in batches of up
//! to 1,000 (a steady load for measuring latency).

use crate::cli::SimulateArgs;
use anyhow::{Context, Result, bail};
use std::time::{Duration, Instant};

/// The `occurred_at` of an NDJSON line, as µs since 1970.
fn occurred_us(line: &str) -> Option<i64> {
    let rest = line.split_once(r#""occurred_at":""#)?.1;
    let t = rest.split_once('"')?.0;
    chrono::DateTime::parse_from_rfc3339(t).ok().map(|t| t.timestamp_micros())
}

/// What --to needs, checked before anything is simulated or written.
pub fn check(a: &SimulateArgs) -> Result<()> {
    if !(a.speed.is_finite() && a.speed > 0.0) {
        bail!("--speed must be a positive number of simulated seconds per second, got {}", a.speed);
    }
    if let Some(rate) = a.rate
        && !(rate.is_finite() && rate >= 1.0)
    {
        bail!("--rate must be at least 1 event per second, got {rate}");
    }
    if a.csv {
        bail!("--csv writes export files; --to streams NDJSON and EPCIS: use one or the other");
    }
    if a.token.is_none() {
        bail!("--to needs --token (or STOCKADE_TOKEN) with the ingest role");
    }
    Ok(())
}

pub async fn run(a: &SimulateArgs, out: &stockade_twin::sim::Output, url: &str) -> Result<()> {
    check(a)?;
    let token = a.token.clone().context("--to needs --token")?;
    let client = crate::http_client()?;
    let base = url.trim_end_matches('/');
    let send = |path: &'static str, ctype: &'static str, body: String| {
        let (client, token) = (client.clone(), token.clone());
        let url = format!("{base}{path}");
        async move {
            let r = client.post(&url).bearer_auth(token).header("content-type", ctype).body(body).send().await?;
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            if !status.is_success() {
                bail!("{url}: {status}: {text}");
            }
            anyhow::Ok(text)
        }
    };
    send("/api/v1/reference", "application/yaml", out.reference_yaml.clone()).await?;
    let mut lines: Vec<(i64, &str)> =
        out.feeds.iter().flat_map(|(_, body)| body.lines()).map(|l| (occurred_us(l).unwrap_or(0), l)).collect();
    lines.sort_by_key(|(t, _)| *t);
    // EPCIS documents go to the capture interface when their day's first event is due.
    let first_event = |d: &str| {
        d.split_once(r#""eventTime":""#)
            .and_then(|(_, r)| r.split_once('"'))
            .and_then(|(t, _)| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_micros())
            .unwrap_or(0)
    };
    let mut docs: Vec<(i64, &str)> = out.epcis.iter().map(|(_, d)| (first_event(d), d.as_str())).collect();
    docs.sort_by_key(|(t, _)| *t);
    let mut docs = docs.into_iter().peekable();
    let Some(&(t0, _)) = lines.first() else { bail!("the simulation produced no events") };
    let started = Instant::now();
    let (mut sent, mut i) = (0usize, 0usize);
    while i < lines.len() {
        // Wait until the next event is due, then send everything due by then.
        let due = match a.rate {
            Some(rate) => Duration::from_secs_f64(i as f64 / rate),
            None => Duration::from_secs_f64((lines[i].0 - t0) as f64 / 1e6 / a.speed),
        };
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        // The batch, and the simulated time EPCIS documents are due by.
        let (end, now_sim) = match a.rate {
            Some(rate) => {
                let due_now = (started.elapsed().as_secs_f64() * rate) as usize;
                let end = due_now.clamp(i + 1, i + 1000).min(lines.len());
                (end, lines[end - 1].0)
            }
            None => {
                let now_sim = t0 + (started.elapsed().as_secs_f64() * a.speed * 1e6) as i64;
                let mut end = i;
                while end < lines.len() && end - i < 1000 && lines[end].0 <= now_sim.max(lines[i].0) {
                    end += 1;
                }
                (end, now_sim)
            }
        };
        while let Some((_, doc)) = docs.next_if(|(t, _)| *t <= now_sim.max(lines[i].0)) {
            send("/epcis/capture", "application/ld+json", doc.to_owned()).await?;
        }
        let body: Vec<&str> = lines[i..end].iter().map(|(_, l)| *l).collect();
        send("/api/v1/events", "application/x-ndjson", body.join("\n")).await?;
        sent += end - i;
        i = end;
    }
    for (_, doc) in docs {
        send("/epcis/capture", "application/ld+json", doc.to_owned()).await?;
    }
    let took = started.elapsed().as_secs_f64();
    let pace = match a.rate {
        Some(rate) => format!("{:.0} events/s, {rate} asked", sent as f64 / took),
        None => format!("speed {}x", a.speed),
    };
    eprintln!(
        "streamed {sent} events and {} EPCIS documents of {} sites over {} days to {base} in {took:.1}s ({pace}); truth: {} instances",
        out.epcis.len(),
        a.sites,
        a.days,
        out.truth.instances.len()
    );
    Ok(())
}
