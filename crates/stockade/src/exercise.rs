//! `stockade exercise`: tabletop exercises (docs/EXERCISES.md). `start`
//! simulates one scenario into an isolated exercise workspace (its own data
//! directory, store, ledger and vault) with detection and playbooks as in
//! production, and hands it over; `score` scores how the team worked it and
//! keeps the score in the main data directory's audit trail, for trends.

use crate::cli::{ExerciseCommand, MainArgs};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use stockade_app::exercises::{ExerciseRecord, Started};
use stockade_ingest::reference_files;
use stockade_model::clock::Clock;
use stockade_store::Role;

/// What a workspace records about its exercise.
#[derive(Debug, Serialize, Deserialize)]
struct Exercise {
    id: String,
    scenario: String,
    seed: u32,
    started: chrono::DateTime<chrono::FixedOffset>,
    truth: stockade_twin::truth::Truth,
}

const MANIFEST: &str = "exercise.json";

pub async fn run(command: ExerciseCommand, clock: Arc<dyn Clock>) -> Result<()> {
    match command {
        ExerciseCommand::Start { main, workspace, scenario, seed, days } => {
            start(&main, &workspace, &scenario, seed, days, clock).await
        }
        ExerciseCommand::Score { main, workspace, json } => score(&main, &workspace, json, clock).await,
    }
}

/// Where the main data directory is, for messages.
fn main_named(main: &MainArgs) -> String {
    match (&main.server, &main.data) {
        (Some(url), _) => format!("--server {url}"),
        (None, Some(d)) => format!("--data {}", d.display()),
        (None, None) => "--data stockade-data".into(),
    }
}

/// Keeps an exercise record in the main data directory's audit trail, or
/// through the server that holds it.
async fn keep(main: &MainArgs, clock: &dyn Clock, record: &ExerciseRecord) -> Result<()> {
    if let (Some(url), Some(token)) = (&main.server, &main.token) {
        let base = url.trim_end_matches('/');
        let r = crate::http_client()?
            .post(format!("{base}/api/v1/exercises"))
            .bearer_auth(token)
            .json(record)
            .send()
            .await
            .with_context(|| format!("reaching {base}"))?;
        let status = r.status();
        if !status.is_success() {
            let body = r.text().await.unwrap_or_default();
            bail!("{base} did not keep the exercise record: {status}: {body}");
        }
        return Ok(());
    }
    let data = main.data.clone().unwrap_or_else(|| "stockade-data".into());
    let opened = crate::open(&data).await?;
    let kept = stockade_app::exercises::keep(&*opened.store, &opened.ledger, clock, &crate::cli_actor(), record).await;
    if kept.is_ok() {
        opened.ledger.sign_checkpoint()?;
    }
    opened.store.close().await;
    kept?;
    Ok(())
}

async fn start(main: &MainArgs, ws: &Path, scenario: &str, seed: u32, days: u32, clock: Arc<dyn Clock>) -> Result<()> {
    let spec = stockade_twin::sim::parse_scenario(&format!("{scenario}=1"))?;
    if spec.scenario.is_benign() {
        bail!("{scenario} is a benign look-alike: an exercise runs a theft or misuse scenario");
    }
    if ws.exists() && std::fs::read_dir(ws).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} is not empty: an exercise workspace starts fresh", ws.display());
    }
    if !(1..=14).contains(&days) {
        bail!("--days must be between 1 and 14, got {days}");
    }
    let now = clock.now().fixed_offset();
    let id = format!("EX-{}", now.format("%Y%m%dT%H%M%S"));
    // Recorded in the main data directory first: refused there (in use by a
    // server, say), nothing is prepared.
    let started = ExerciseRecord::ExerciseStarted(Started {
        exercise: id.clone(),
        scenario: scenario.to_owned(),
        seed,
        workspace: ws.display().to_string(),
    });
    keep(main, &*clock, &started).await?;
    let cfg = stockade_twin::sim::Config {
        sites: 1,
        days,
        seed: seed.into(),
        start: now.date_naive() - chrono::Duration::days(i64::from(days)),
        per_scenario: 0,
        epcis: false,
        csv: false,
        scenarios: vec![spec],
    };
    let sim = stockade_twin::sim::simulate(&cfg)?;
    let opened = crate::open(ws).await?;
    let intake = crate::intake(&opened, clock.clone(), Default::default()).await?;
    let reference = reference_files::from_yaml(&sim.reference_yaml).context("simulated reference data")?;
    intake.import_reference(reference).await?;
    let mut accepted = 0;
    for (_, feed) in &sim.feeds {
        accepted += intake.ingest_ndjson(feed.as_bytes()).await?.accepted;
    }
    let detected = crate::start_detection(&intake, &Default::default(), false).await?;
    let (_, token) = stockade_app::tokens::issue_token(
        &*opened.store,
        Some(&opened.ledger),
        &*clock,
        Role::Admin,
        "exercise",
        None,
        &crate::cli_actor(),
    )
    .await?;
    opened.ledger.sign_checkpoint()?;
    crate::close(intake.stage(), &*opened.store).await;
    let exercise = Exercise {
        id: id.clone(),
        scenario: scenario.to_owned(),
        seed,
        started: clock.now().fixed_offset(),
        truth: sim.truth,
    };
    std::fs::write(ws.join(MANIFEST), serde_json::to_vec_pretty(&exercise)?)?;
    println!(
        "exercise {id}: {scenario} over {days} simulated days at one site ({accepted} events); detection opened {} incidents",
        detected.incidents
    );
    println!("the clock runs from now. Serve the workspace and work its incidents:");
    println!("  stockade serve --data {}", ws.display());
    println!("  admin token: {token}");
    println!("then score it: stockade exercise score {} --workspace {}", main_named(main), ws.display());
    Ok(())
}

async fn score(main: &MainArgs, ws: &Path, json: bool, clock: Arc<dyn Clock>) -> Result<()> {
    let manifest = std::fs::read(ws.join(MANIFEST))
        .with_context(|| format!("{} is not an exercise workspace (no {MANIFEST})", ws.display()))?;
    let exercise: Exercise = serde_json::from_slice(&manifest).with_context(|| format!("reading {MANIFEST}"))?;
    let store = crate::open_store(ws).await?;
    let incidents = crate::eval::from_store(&*store).await?;
    let scores = stockade_twin::score::score(&exercise.truth, &incidents);
    let responses = stockade_app::response::all_worked(&*store).await?;
    store.close().await;
    let covering_ids: Vec<String> =
        scores.instances.iter().filter(|i| !i.benign).filter_map(|i| i.detected_by.clone()).collect();
    let covering: Vec<&stockade_respond::Response> =
        responses.iter().filter(|r| covering_ids.contains(&r.incident)).collect();
    let s = stockade_respond::exercise::score(
        &exercise.id,
        &exercise.scenario,
        exercise.started,
        clock.now().fixed_offset(),
        &covering,
    );
    keep(main, &*clock, &ExerciseRecord::ExerciseScored(s.clone())).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    let human = |x: Option<f64>| x.map_or("-".to_owned(), |s| format!("{:.0} min", s / 60.0));
    println!("exercise {} ({}): score {}/100", s.exercise, s.scenario, s.score);
    println!("  detected: {} ({})", if s.detected { "yes" } else { "no" }, s.incidents.join(", "));
    println!("  time to triage {}, to contain {}", human(s.time_to_triage_s), human(s.time_to_contain_s));
    println!(
        "  tasks: {} on time, {} late, {} missed, {} still open",
        s.tasks_on_time, s.tasks_late, s.tasks_missed, s.tasks_open
    );
    for m in &s.missed {
        println!("  missed: {m}");
    }
    Ok(())
}
