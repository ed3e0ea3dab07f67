//! `stockade demo`: a fresh embedded instance with the sample reference data
//! and events under `examples/`, served on HTTP with an admin token.
//!
//! The samples are compiled into the binary, so the demo needs no files.

use crate::cli::DemoArgs;
use anyhow::{Context, Result};
use std::sync::Arc;
use stockade_ingest::reference_files;
use stockade_model::clock::Clock;
use stockade_server::{AppState, ServerConfig};
use stockade_store::Role;

const REFERENCE: &str = include_str!("../../../examples/reference.yaml");
const EVENTS: &str = include_str!("../../../examples/events.ndjson");

pub async fn run(a: DemoArgs, clock: Arc<dyn Clock>) -> Result<()> {
    // The demo serves plain HTTP and prints an admin token: loopback only,
    // checked before anything is loaded.
    if !a.no_serve {
        use std::net::ToSocketAddrs;
        let addrs: Vec<_> =
            a.listen.to_socket_addrs().with_context(|| format!("--listen {}: not an address", a.listen))?.collect();
        if let Some(open) = addrs.iter().find(|addr| !addr.ip().is_loopback()) {
            anyhow::bail!(
                "{open} is reachable from other machines, and the demo serves plain HTTP with an admin token: \
                 it listens on loopback only (127.0.0.1 or [::1]). To serve a network, use `stockade serve` \
                 with --tls-cert and --tls-key."
            );
        }
    }
    // A fresh directory per run unless one is given; removed on exit.
    // Private like any data directory (events name people).
    let temp = tempfile::Builder::new()
        .prefix("stockade-demo-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()?;
    let dir = a.data.clone().unwrap_or_else(|| temp.path().to_owned());
    let opened = crate::open(&dir).await?;
    let intake = crate::intake(&opened, clock.clone(), Default::default()).await?;
    let store = opened.store.clone();
    // The hand-written sample day, then a simulated network of three sites
    // over two weeks with every theft scenario and its benign look-alikes.
    let reference = reference_files::from_yaml(REFERENCE).context("sample reference data")?;
    let mut records = intake.import_reference(reference).await?;
    let mut accepted = intake.ingest_ndjson(EVENTS.as_bytes()).await?.accepted;
    let cfg = stockade_twin::sim::Config {
        sites: 3,
        days: 14,
        seed: a.seed,
        start: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default(),
        per_scenario: 1,
        epcis: false,
        csv: false,
        scenarios: Vec::new(),
    };
    let sim = stockade_twin::sim::simulate(&cfg)?;
    let reference = reference_files::from_yaml(&sim.reference_yaml).context("simulated reference data")?;
    records += intake.import_reference(reference).await?;
    for (_, feed) in &sim.feeds {
        accepted += intake.ingest_ndjson(feed.as_bytes()).await?.accepted;
    }
    // Detection replays the loaded history in event-time order, as a live
    // run would have seen it, then follows what the server takes in.
    let detected = crate::start_detection(&intake, &Default::default(), true).await?;
    let truth = dir.join("truth.json");
    std::fs::write(&truth, serde_json::to_vec_pretty(&sim.truth)?)?;
    // Audited as the same acts through the CLI are.
    let ledger = &opened.ledger;
    let import =
        serde_json::json!({ "records": records, "files": ["examples/reference.yaml", "simulated"], "via": "demo" });
    stockade_app::audit::record(&*store, ledger, &*clock, "reference_imported", &crate::cli_actor(), import).await?;
    let (_, token) = stockade_app::tokens::issue_token(
        &*store,
        Some(ledger),
        &*clock,
        Role::Admin,
        "demo",
        None,
        &crate::cli_actor(),
    )
    .await?;
    // The first admin of the console: a password generated now, shown once.
    let password = stockade_app::users::generate_password();
    let admin = stockade_app::users::NewUser {
        name: "admin".into(),
        role: Role::Admin,
        sites: Vec::new(),
        password: password.clone(),
    };
    stockade_app::users::create_user(&*store, Some(ledger), &*clock, &crate::cli_actor(), admin).await?;
    // Signed now, so that the loaded log can be checked (`ledger verify`) even without serving it.
    ledger.sign_checkpoint()?;
    println!(
        "Stockade demo: {records} reference records, {accepted} events accepted ({} scenario instances simulated over \
         3 sites and 14 days; ground truth in {}), data in {}",
        sim.truth.instances.len(),
        truth.display(),
        dir.display()
    );
    println!(
        "Detection: {} alerts, {} incidents opened (score them: stockade eval --truth {} --data {}, server stopped)",
        detected.alerts,
        detected.incidents,
        truth.display(),
        dir.display()
    );
    let held = stockade_app::containment::in_force(&*store).await?.len();
    let entries: u64 = stockade_app::response::all_worked(&*store).await?.iter().map(|r| r.entries).sum();
    println!(
        "Response: {entries} timeline entries recorded by playbooks, {held} containments applied at once (GET /api/v1/containment)"
    );
    if a.no_serve {
        crate::close(intake.stage(), &*store).await;
        println!("console user: admin, password: {password} (shown once)");
        println!("admin token: {token}");
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("cannot listen on {} (pass --listen 127.0.0.1:0 for any free port)", a.listen))?;
    let addr = listener.local_addr()?;
    println!("Serving on http://{addr}  (ctrl-c to stop)");
    println!("Console: http://{addr}/console  (sign in as admin, password {password}; shown once)");
    println!("Admin API token: {token}");
    println!("Try:");
    println!("  curl -H 'Authorization: Bearer {token}' 'http://{addr}/api/v1/incidents?status=open'");
    println!(
        "  curl -H 'Authorization: Bearer {token}' http://{addr}/api/v1/incidents/INC-1   # its case, stake, playbook, continuity"
    );
    println!("  curl -H 'Authorization: Bearer {token}' 'http://{addr}/api/v1/tasks?open=true&role=security'");
    println!(
        "  curl -H 'Authorization: Bearer {token}' -H 'content-type: application/json' \\\n    \
         -d '{{\"act\":\"transition\",\"to\":\"triaged\"}}' http://{addr}/api/v1/incidents/INC-1/timeline"
    );
    println!("  curl -H 'Authorization: Bearer {token}' 'http://{addr}/api/v1/kpi?every=week'");
    println!("  curl -H 'Authorization: Bearer {token}' http://{addr}/api/v1/inventory/variance");
    println!("  curl -H 'Authorization: Bearer {token}' 'http://{addr}/api/v1/events?limit=5'");
    println!("  curl -H 'Authorization: Bearer {token}' http://{addr}/api/v1/ledger/events/1/proof");
    println!(
        "  curl -H 'Authorization: Bearer {token}' -o event-1.tlog-proof \\\n    \
         'http://{addr}/api/v1/ledger/events/1/proof?format=tlog-proof'"
    );
    println!("  stockade ledger check-proof event-1.tlog-proof --key '{}'", opened.ledger.verifier_key());
    println!(
        "  curl -H 'Authorization: Bearer {token}' -H 'content-type: application/json' \\\n    \
         -d '{{\"site\":\"LYS\",\"title\":\"cage stock missing\",\"from\":\"2026-11-02T20:00:00+01:00\",\"to\":\"2026-11-02T23:59:00+01:00\"}}' \\\n    \
         http://{addr}/api/v1/incidents"
    );
    println!("  stockade eval --truth {} --server http://{addr} --token {token}", truth.display());
    println!(
        "  curl -H 'Authorization: Bearer {token}' -H 'content-type: video/mp4' --data-binary @FILE \\\n    \
         'http://{addr}/api/v1/evidence?incident=INC-1&class=video&collected_from=camera:LYS-CAM-DOCK&reason=review'"
    );
    println!(
        "  curl -H 'Authorization: Bearer {token}' -o INC-1.tar \\\n    \
         'http://{addr}/api/v1/incidents/INC-1/package?events=1,2&reason=insurer'"
    );
    println!("  stockade verify INC-1.tar --key '{}'", opened.ledger.verifier_key());
    println!(
        "  stockade ledger monitor --server http://{addr} --key '{}' --state seen.json --token {token}",
        opened.ledger.verifier_key()
    );
    println!("  curl http://{addr}/api/openapi.json");
    let vault = crate::cli::VaultArgs { retention: Vec::new(), max_evidence_bytes: 64 << 30 };
    let custodian = crate::custodian(&opened, &vault, clock.clone(), None)?;
    let stage = intake.stage().clone();
    let state = AppState::new(store.clone(), intake, clock, ServerConfig::default()).with_custodian(custodian);
    stockade_server::serve(state, listener).await?;
    crate::close(&stage, &*store).await;
    drop(temp);
    Ok(())
}
