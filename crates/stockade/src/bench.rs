//! `stockade bench`: ingest throughput, durable before acknowledgment, through
//! the same paths users take (`stockade ingest FILE` and `POST /api/v1/events`).
//! Each measurement runs on a fresh data directory; the median run is reported.

use crate::cli::{BenchArgs, FileFormat, IngestPath, LedgerMode};
use anyhow::{Result, bail};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;
use stockade_model::clock::{Clock, SystemClock};
use stockade_server::{AppState, Intake, ServerConfig};
use stockade_store::{Role, Store};

/// A synthetic event line of about 200 bytes: a stock move for a share of
/// the events (spread evenly), a badge read for the rest.
pub(crate) fn line(i: usize, inventory_share: f64) -> String {
    line_at(i, inventory_share, &format!("2026-11-02T08:{:02}:{:02}.{:03}+01:00", (i / 60) % 60, i % 60, i % 1000))
}

/// [`line`], occurring at `at` (RFC 3339).
pub(crate) fn line_at(i: usize, inventory_share: f64, at: &str) -> String {
    let is_move = ((i + 1) as f64 * inventory_share).floor() > (i as f64 * inventory_share).floor();
    if !is_move {
        format!(
            r#"{{"id":"e{i:010}","source":"acs-bench","site":"S{:02}","occurred_at":"{at}","kind":"access.granted","door":"D-{:03}","badge":"B-{:06}","direction":"in"}}"#,
            i % 16,
            i % 200,
            i % 50_000
        )
    } else {
        format!(
            r#"{{"id":"e{i:010}","source":"wms-bench","site":"S{:02}","occurred_at":"{at}","kind":"inventory.moved","sku":"K{:05}","quantity":2,"from_location":"A-{:04}","to_location":"B-{:04}"}}"#,
            i % 16,
            i % 20_000,
            i % 3000,
            (i * 7) % 3000
        )
    }
}

/// CPU time this process has used (user + system), from `/proc/self/stat`
/// (Linux; in clock ticks of 1/100 s, USER_HZ). None where it cannot be read.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces): state is the first, utime the 12th, stime the 13th.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split(' ').skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// This process's resident anonymous memory (heap and stacks, not mapped
/// files, which the kernel can evict and reload) in bytes, from
/// `/proc/self/status` (Linux). None where it cannot be read.
fn heap_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status.lines().find_map(|l| l.strip_prefix("RssAnon:"))?.trim().strip_suffix("kB")?.trim();
    Some(kb.parse::<u64>().ok()? * 1024)
}

/// A measured run: events per second, and the CPU it took (cores busy on
/// average, µs of CPU per event) where the platform tells.
struct Measured {
    rate: f64,
    cpu: Option<(f64, f64)>,
    /// How long the run's closing checkpoint took (ledger on), in the run's time.
    checkpoint: Option<std::time::Duration>,
}

impl Measured {
    fn of(events: usize, started: Instant, cpu_before: Option<f64>) -> Measured {
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_before.zip(cpu_seconds()).map(|(b, a)| ((a - b) / secs, (a - b) * 1e6 / events as f64));
        Measured { rate: events as f64 / secs, cpu, checkpoint: None }
    }
}

impl std::fmt::Display for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.0} events/s", self.rate)?;
        if let Some((cores, per_event)) = self.cpu {
            write!(f, " ({cores:.2} cores busy, {per_event:.2} µs CPU per event)")?;
        }
        if let Some(took) = self.checkpoint {
            write!(f, ", checkpoint {:.1} ms", took.as_secs_f64() * 1e3)?;
        }
        Ok(())
    }
}

/// One path's runs, ledger off (index 0) and on (index 1).
struct Series {
    title: String,
    short: &'static str,
    rates: [Vec<f64>; 2],
    /// CPU µs per event of each run, where the platform tells.
    cpu: [Vec<f64>; 2],
}

impl Series {
    fn new(title: String, short: &'static str) -> Series {
        Series { title, short, rates: Default::default(), cpu: Default::default() }
    }

    fn push(&mut self, ledger: bool, m: &Measured) {
        self.rates[usize::from(ledger)].push(m.rate);
        self.cpu[usize::from(ledger)].extend(m.cpu.map(|(_, per_event)| per_event));
    }

    /// Prints ledger on against off: the ratio of the medians, then each
    /// run's pair (the two ran back to back and saw the same moment of the
    /// machine, so the median of those ratios is steadier), then the same
    /// for CPU per event (off / on: the rate the ledger leaves when the cores
    /// are the limit).
    fn compare(&self) {
        let show = |v: &[f64]| v.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(" ");
        let [off, on] = &self.rates;
        let pairs: Vec<f64> = on.iter().zip(off).map(|(on, off)| on / off).collect();
        println!(
            "{}: ledger on / off {:.2}; per-run pairs {} (median {:.2}{})",
            self.short,
            median(on.clone()) / median(off.clone()),
            show(&pairs),
            median(pairs.clone()),
            interval(&pairs)
        );
        let [off, on] = &self.cpu;
        if off.len() == self.rates[0].len() && on.len() == self.rates[1].len() {
            let pairs: Vec<f64> = off.iter().zip(on).map(|(off, on)| off / on).collect();
            println!(
                "{}: CPU per event off / on, per run {} (median {:.2}{})",
                self.short,
                show(&pairs),
                median(pairs.clone()),
                interval(&pairs)
            );
        }
    }
}

/// ", 95% CI a-b" for the median of `v`, when there are enough values.
fn interval(v: &[f64]) -> String {
    match median_interval(v) {
        Some((lo, hi)) => format!(", 95% CI {lo:.2}-{hi:.2}"),
        None => String::new(),
    }
}

/// A distribution-free 95% confidence interval for the median: the order
/// statistics x(j) and x(n+1-j), with j the largest rank such that fewer
/// than j of n values fall below the median with probability at most 2.5%
/// (the count below is Binomial(n, 1/2)). Needs 6 values or more.
fn median_interval(v: &[f64]) -> Option<(f64, f64)> {
    let n = v.len();
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    // P(count < j) = sum of C(n, i) / 2^n for i < j.
    let (mut below, mut term, mut j) = (0.0f64, 0.5f64.powi(n as i32), 0usize);
    while j < n {
        if below + term > 0.025 {
            break;
        }
        below += term;
        term *= (n - j) as f64 / (j + 1) as f64;
        j += 1;
    }
    (j >= 1).then(|| (sorted[j - 1], sorted[n - j]))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub async fn run(a: BenchArgs) -> Result<()> {
    if let Some(leaves) = a.proofs {
        return proofs(leaves, &a).await;
    }
    if let Some(events) = a.response {
        return crate::bench_response::run(events, &a).await;
    }
    if let Some(n) = a.witness {
        return witness(n, a.runs);
    }
    if let Some(n) = a.verify_package {
        return verify_package(n, a.runs);
    }
    if a.events == 0 || a.runs == 0 || a.http_batch == 0 || a.clients == 0 {
        bail!("--events, --runs, --http-batch and --clients must be positive");
    }
    if !(0.0..=1.0).contains(&a.inventory_share) {
        bail!("--inventory-share must be between 0 and 1");
    }
    let share = a.inventory_share;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let work = tempfile::tempdir()?;
    let events_file = work.path().join("events.ndjson");
    let mut bytes = 0usize;
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&events_file)?);
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
    let (files, https) = match a.path {
        IngestPath::File => (true, false),
        IngestPath::Http => (false, true),
        IngestPath::Both => (true, true),
    };
    let mut file = Series::new("file (`stockade ingest`)".into(), "file");
    let mut http = Series::new(
        format!("HTTP (`POST /api/v1/events`, {} per request, {} clients)", a.http_batch, a.clients),
        "HTTP",
    );
    // One untimed warm-up run of each path first (the first run after
    // start-up measured up to a third slower: cold page cache and allocator).
    // Then interleaved, so that both settings see the same machine noise, and
    // in alternating order (off-on, on-off, ...) so that neither always runs
    // second, after the other's data directory was discarded.
    if files {
        let dir = work.path().join("file-warm-up");
        file_run(&dir, &events_file, a.events, modes[0], &clock).await?;
        discard(&dir);
    }
    if https {
        let dir = work.path().join("http-warm-up");
        http_run(&dir, &lines, &a, modes[0], &clock).await?;
        discard(&dir);
    }
    for run in 0..a.runs {
        let order: Vec<bool> = if run % 2 == 0 { modes.to_vec() } else { modes.iter().rev().copied().collect() };
        for ledger in order {
            if files {
                let dir = work.path().join(format!("file-{run}-{ledger}"));
                let m = file_run(&dir, &events_file, a.events, ledger, &clock).await?;
                println!("file run {run}, ledger {}: {m}", on_off(ledger));
                file.push(ledger, &m);
                discard(&dir);
            }
            if https {
                let dir = work.path().join(format!("http-{run}-{ledger}"));
                let m = http_run(&dir, &lines, &a, ledger, &clock).await?;
                println!("http run {run}, ledger {}: {m}", on_off(ledger));
                http.push(ledger, &m);
                discard(&dir);
            }
        }
    }
    let measured: Vec<&Series> = [(files, &file), (https, &http)].into_iter().filter(|m| m.0).map(|m| m.1).collect();
    println!();
    println!("| path | ledger | events | median events/s |");
    println!("|---|---|---|---|");
    for &ledger in modes {
        for s in &measured {
            let rates = &s.rates[usize::from(ledger)];
            println!("| {} | {} | {} | {:.0} |", s.title, on_off(ledger), a.events, median(rates.clone()));
        }
    }
    if modes.len() == 2 {
        println!();
        for s in &measured {
            s.compare();
        }
    }
    Ok(())
}

/// Deletes a finished run's data directory: otherwise the kernel keeps
/// writing back its gigabytes of dirty pages during the next runs, which
/// then measured up to a quarter slower than a fresh `stockade ingest`.
fn discard(dir: &std::path::Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "could not remove a finished run's data");
    }
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
) -> Result<Measured> {
    let (_, intake) = start(dir, ledger, clock).await?;
    // As `stockade serve` would (`stockade ingest` signs once, at its end).
    let checkpointer =
        intake.ledger().map(|l| stockade_server::api::ledger::spawn_checkpointer(l.clone(), CHECKPOINT_EVERY, None));
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let report = crate::files::ingest_local(&intake, file, FileFormat::Ndjson, 4096).await?;
    let measured = Measured::of(events, started, cpu);
    if let Some(c) = checkpointer {
        c.abort();
    }
    let took = checkpoint(&intake).await?;
    let measured = Measured { checkpoint: took, ..measured };
    if report.accepted != events {
        bail!("file run accepted {} of {events} events", report.accepted);
    }
    Ok(measured)
}

/// How often runs with the ledger on sign a checkpoint while they ingest:
/// each one syncs the event records ingest wrote without a sync of their
/// own. A server signs one every `--checkpoint-interval` (2 s by default)
/// beside ingest; a run lasts about a second, so it signs twenty times as
/// often as that, and counts at least the syncs a server would do.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Signs the checkpoint that closes a run (over its last leaves); returns
/// how long it took. After the timed part: a server's checkpoints run
/// beside ingest, and the run's periodic ones (`CHECKPOINT_EVERY`) did.
async fn checkpoint(intake: &Intake) -> Result<Option<std::time::Duration>> {
    let Some(ledger) = intake.ledger().cloned() else { return Ok(None) };
    let started = Instant::now();
    tokio::task::spawn_blocking(move || ledger.sign_checkpoint()).await??;
    Ok(Some(started.elapsed()))
}

async fn http_run(
    dir: &std::path::Path,
    lines: &Arc<Vec<String>>,
    a: &BenchArgs,
    ledger: bool,
    clock: &Arc<dyn Clock>,
) -> Result<Measured> {
    let (store, intake) = start(dir, ledger, clock).await?;
    let (_, token) = stockade_app::tokens::create_token(&*store, &**clock, Role::Ingest, "bench", None).await?;
    let config = ServerConfig { checkpoint_every: CHECKPOINT_EVERY, ..ServerConfig::default() };
    let state = AppState::new(store, intake.clone(), clock.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/events", listener.local_addr()?);
    let server = tokio::spawn(stockade_server::serve(state, listener));
    let client = reqwest::Client::new();
    let batches: Vec<(usize, usize)> =
        (0..a.events).step_by(a.http_batch).map(|s| (s, (s + a.http_batch).min(a.events))).collect();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let batches = Arc::new(batches);
    let (started, cpu) = (Instant::now(), cpu_seconds());
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
    let measured = Measured::of(a.events, started, cpu);
    let took = checkpoint(&intake).await?;
    let measured = Measured { checkpoint: took, ..measured };
    server.abort();
    if accepted != a.events {
        bail!("http run accepted {accepted} of {} events", a.events);
    }
    Ok(measured)
}

/// A pseudo-random leaf index (xorshift), so proofs touch the whole tree.
fn pick(state: &mut u64, n: u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state % n
}

/// Inclusion proofs over a ledger of `leaves` leaves: in process on every
/// core, then over HTTP (`GET /api/v1/ledger/leaves/{i}/proof`).
async fn proofs(leaves: u64, a: &BenchArgs) -> Result<()> {
    if leaves == 0 || a.runs == 0 || a.requests == 0 || a.clients == 0 {
        bail!("--proofs, --runs, --requests and --clients must be positive");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let work = tempfile::tempdir()?;
    let opened = crate::open(work.path()).await?;
    let ledger = opened.ledger.clone();
    let started = Instant::now();
    {
        let ledger = ledger.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            let salt = stockade_ledger::entry::SaltKey::generate()?;
            let mut seq = 1u64;
            while seq <= leaves {
                let end = (seq + 100_000).min(leaves + 1);
                let batch: Vec<_> = (seq..end)
                    .map(|s| stockade_store::ledger::event_entry(&salt, s, s as i64, &[7; 32], None))
                    .collect();
                ledger.append(&batch)?;
                seq = end;
            }
            ledger.sign_checkpoint()?;
            Ok(())
        })
        .await??;
    }
    println!("built a ledger of {leaves} leaves in {:.1} s", started.elapsed().as_secs_f64());
    // What a restart costs (docs/LEDGER.md): every entry is read and
    // checked, the tree's stored hashes are trusted up to the signed
    // checkpoint; then the same with the stored hashes gone (rebuilt from
    // the entries), and what `ledger verify` adds (rehashing every entry).
    let dir = stockade_store::DataDir::new(work.path()).ledger_path();
    let reopen = |what: &'static str| {
        let dir = dir.clone();
        async move {
            let before = heap_bytes();
            let started = Instant::now();
            let reopened = tokio::task::spawn_blocking(move || stockade_store::Ledger::open(&dir, "unused")).await??;
            let took = started.elapsed().as_secs_f64();
            let memory = match (before, heap_bytes()) {
                (Some(b), Some(a)) => format!(
                    "; heap +{:.1} MB ({:.2} bytes a leaf)",
                    a.saturating_sub(b) as f64 / 1e6,
                    a.saturating_sub(b) as f64 / leaves as f64
                ),
                _ => String::new(),
            };
            println!("reopened it ({what}) in {took:.1} s{memory}");
            anyhow::ensure!(
                reopened.size() == leaves,
                "the reopened ledger holds {} leaves, not {leaves}",
                reopened.size()
            );
            anyhow::Ok(reopened)
        }
    };
    drop(reopen("stored hashes trusted to the checkpoint").await?);
    std::fs::remove_file(dir.join(stockade_store::ledger::HASHES_FILE))?;
    let reopened = reopen("stored hashes rebuilt from the entries").await?;
    let started = Instant::now();
    let checked = tokio::task::spawn_blocking(move || reopened.recheck()).await??;
    println!("rechecked its {checked} entries against the stored hashes in {:.1} s", started.elapsed().as_secs_f64());

    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let per_thread = 1_000_000usize;
    let mut local_rates = Vec::new();
    for run in 0..a.runs {
        let started = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let ledger = ledger.clone();
                std::thread::spawn(move || -> Result<usize> {
                    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ (t as u64 + 1);
                    let mut total = 0usize;
                    for _ in 0..per_thread {
                        let i = pick(&mut state, leaves);
                        total += ledger.with_tree(|tree| tree.inclusion_proof(i, leaves))?.len();
                    }
                    Ok(total)
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("a proof thread panicked"))??;
        }
        let rate = (threads * per_thread) as f64 / started.elapsed().as_secs_f64();
        println!("in-process run {run}: {rate:.0} proofs/s ({threads} threads)");
        local_rates.push(rate);
    }

    let intake = Intake::start(opened.store.clone(), Some(ledger.clone()), clock.clone(), Default::default()).await?;
    let (_, token) = stockade_app::tokens::create_token(&*opened.store, &*clock, Role::Analyst, "bench", None).await?;
    let state = AppState::new(opened.store.clone(), intake, clock.clone(), ServerConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(stockade_server::serve(state, listener));
    let client = reqwest::Client::new();
    let mut http_rates = Vec::new();
    for run in 0..a.runs {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for c in 0..a.clients {
            let (client, base, token, next, requests) =
                (client.clone(), base.clone(), token.clone(), next.clone(), a.requests);
            tasks.spawn(async move {
                let mut state = 0x2545_f491_4f6c_dd1du64 ^ (c as u64 + 1);
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                    let i = pick(&mut state, leaves);
                    let resp = client
                        .get(format!("{base}/api/v1/ledger/leaves/{i}/proof?size={leaves}"))
                        .bearer_auth(&token)
                        .send()
                        .await?;
                    if !resp.status().is_success() {
                        bail!("proof of leaf {i}: {}", resp.status());
                    }
                    resp.bytes().await?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(r) = tasks.join_next().await {
            r??;
        }
        let rate = a.requests as f64 / started.elapsed().as_secs_f64();
        println!("http run {run}: {rate:.0} proof requests/s ({} clients)", a.clients);
        http_rates.push(rate);
    }
    server.abort();
    println!();
    println!("| inclusion proofs, {leaves} leaves | median |");
    println!("|---|---|");
    println!("| in process, {threads} threads | {:.0} proofs/s |", median(local_rates));
    println!("| HTTP, {} clients, {} requests | {:.0} requests/s |", a.clients, a.requests, median(http_rates));
    Ok(())
}

/// A witness cosigning `n` checkpoints of a log that grows by 16 leaves
/// between them, each request with its consistency proof, prepared before
/// the clock starts; each cosignature's state is synced to disk before the
/// next. The median of `runs` runs, each on a fresh witness directory.
fn witness(n: u64, runs: usize) -> Result<()> {
    use base64::Engine;
    if n == 0 || runs == 0 {
        bail!("--witness and --runs must be positive");
    }
    const ORIGIN: &str = "stockade.bench/witnessed";
    let (log, _) = stockade_ledger::checkpoint::LogKey::generate(ORIGIN)?;
    let mut tree = stockade_ledger::Tree::new();
    let mut requests = Vec::with_capacity(n as usize);
    let mut old = 0u64;
    for i in 0..n {
        for j in 0..16u64 {
            tree.push(stockade_ledger::leaf_hash(&(i * 16 + j).to_be_bytes()));
        }
        let size = tree.size();
        let mut body = format!("old {old}\n").into_bytes();
        if old > 0 {
            for h in tree.consistency_proof(old, size)? {
                body.extend(format!("{}\n", base64::engine::general_purpose::STANDARD.encode(h.0)).into_bytes());
            }
        }
        body.push(b'\n');
        body.extend(log.sign(ORIGIN, size, tree.root(size)?)?);
        requests.push(body);
        old = size;
    }
    let mut rates = Vec::new();
    for run in 0..runs {
        let dir = tempfile::tempdir()?;
        stockade_witness::Witness::init(dir.path(), "witness.bench/w")?;
        let w = stockade_witness::Witness::open(dir.path(), &[log.verifier_key().to_owned()])?;
        let started = std::time::Instant::now();
        for (i, r) in requests.iter().enumerate() {
            w.add_checkpoint(r, 1_700_000_000 + i as u64).map_err(|e| anyhow::anyhow!("checkpoint {i}: {e}"))?;
        }
        let s = started.elapsed().as_secs_f64();
        let rate = n as f64 / s;
        println!("run {}: {n} checkpoints cosigned in {:.2} s: {rate:.0} checkpoints/s", run + 1, s);
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    println!("median: {:.0} checkpoints/s (target 1,000)", rates[rates.len() / 2]);
    Ok(())
}

/// An evidence package of `n` events (a log of those events, the
/// incident's opening record after them, every leaf's inclusion proof, the
/// signed checkpoint and manifest), built in memory as the server builds
/// one, then verified as `stockade verify` does: the median of `runs`.
fn verify_package(n: u64, runs: usize) -> Result<()> {
    use sha2::Digest;
    use stockade_evidence::package::{EventItem, LogRef, Manifest, ManifestParts, OpeningItem, Part, Proof};
    if n == 0 || runs == 0 {
        bail!("--verify-package and --runs must be positive");
    }
    const ORIGIN: &str = "stockade.bench/package";
    let b64 = |h: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, h);
    let (key, _) = stockade_ledger::checkpoint::LogKey::generate(ORIGIN)?;
    let salts = stockade_ledger::entry::SaltKey::generate()?;
    let mut tree = stockade_ledger::Tree::new();
    let mut events = Vec::new();
    let mut bodies = Vec::new();
    for seq in 1..=n {
        let body = format!(
            r#"{{"id":"e{seq}","source":"acs","site":"LYS","occurred_at":"2026-11-02T22:14:07+01:00","kind":"access.granted","door":"LYS-D-CAGE","badge":"B-{seq}"}}"#
        )
        .into_bytes();
        let digest: [u8; 32] = sha2::Sha256::digest(&body).into();
        let salt = salts.event_salt(seq);
        let entry = stockade_ledger::entry::Entry::Event {
            seq,
            received_us: 1_700_000_000_000_000 + seq as i64,
            commit: stockade_ledger::entry::commitment(&salt, &digest),
            epcis: None,
        };
        tree.push(stockade_ledger::leaf_hash(&entry.encode()?));
        events.push((seq, digest, salt));
        bodies.push(body);
    }
    let opening = stockade_evidence::AuditRecord {
        n: 1,
        action: stockade_evidence::package::INCIDENT_OPENED.into(),
        actor: "bench".into(),
        at_us: 1_700_000_000_000_000,
        detail: serde_json::json!({"id": "INC-1", "site": "LYS", "title": "bench",
            "events": (1..=n).map(|s| serde_json::json!({"source": "acs", "id": format!("e{s}")})).collect::<Vec<_>>()}),
    };
    let opening_salt = opening.salt(&salts);
    let canon = stockade_evidence::Canon::Jcs;
    tree.push(stockade_ledger::leaf_hash(&opening.entry(&opening_salt, canon)?.encode()?));
    let size = tree.size();
    let root = tree.root(size)?;
    let proof = |leaf: u64, salt: &[u8]| -> Result<Proof> {
        Ok(Proof {
            salt: hex::encode(salt),
            leaf_index: leaf,
            proof: tree.inclusion_proof(leaf, size)?.iter().map(|h| b64(&h.0)).collect(),
        })
    };
    let m = Manifest {
        format: stockade_evidence::package::FORMAT.into(),
        incident: "INC-1".into(),
        created_us: 1_700_000_000_000_000,
        created_by: "bench".into(),
        log: LogRef {
            origin: ORIGIN.into(),
            tree_size: size,
            root: b64(&root.0),
            checkpoint: String::from_utf8(key.sign(ORIGIN, size, root)?)?,
        },
        opened: Some(OpeningItem { record: opening, canon: Some(canon.into()), proof: proof(n, &opening_salt)? }),
        evidence: Vec::new(),
        custody: Vec::new(),
        events: events
            .iter()
            .map(|(seq, digest, salt)| {
                Ok(EventItem {
                    seq: *seq,
                    received_us: 1_700_000_000_000_000 + *seq as i64,
                    sha256: hex::encode(digest),
                    epcis: None,
                    file: format!("events/{seq}.json"),
                    proof: proof(seq - 1, salt)?,
                })
            })
            .collect::<Result<_>>()?,
        consistency: None,
    };
    let parts =
        ManifestParts::new(&m, |t| key.sign_note(t).map_err(|e| e.to_string())).map_err(|e| anyhow::anyhow!(e))?;
    let mut all = parts.parts();
    for ((seq, _, _), body) in events.iter().zip(&bodies) {
        all.push(Part::bytes(format!("events/{seq}.json"), body));
    }
    let tar = stockade_evidence::package::write_archive(Vec::new(), all)?;
    println!("package: {n} events, {} bytes, log of {size} leaves", tar.len());
    let mut times = Vec::new();
    for run in 0..runs {
        let started = std::time::Instant::now();
        let report = stockade_evidence::package::verify(|| Ok(&tar[..]), key.verifier_key());
        let s = started.elapsed().as_secs_f64();
        if !report.ok() {
            bail!("the package does not verify: {:?}", report.failures.first());
        }
        println!("run {}: verified in {:.3} s ({} checks)", run + 1, s, report.checked.len());
        times.push(s);
    }
    times.sort_by(f64::total_cmp);
    println!("median: {:.3} s (target under 1 s)", times[times.len() / 2]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::median_interval;

    #[test]
    fn the_median_interval_is_the_binomial_order_statistics() {
        // Standard tables: for 30 values, the 10th and 21st smallest; for 6,
        // the extremes; 5 are too few for 95%.
        let v: Vec<f64> = (1..=30).rev().map(f64::from).collect();
        assert_eq!(median_interval(&v), Some((10.0, 21.0)));
        let v: Vec<f64> = (1..=6).map(f64::from).collect();
        assert_eq!(median_interval(&v), Some((1.0, 6.0)));
        assert_eq!(median_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]), None);
        assert_eq!(median_interval(&[]), None);
    }
}
