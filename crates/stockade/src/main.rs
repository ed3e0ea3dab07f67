//! `stockade`: the one binary. A thin shell: it parses the command line,
//! opens the store, and calls the library crates.
#![forbid(unsafe_code)]

mod bench;
mod bench_response;
mod book;
mod cli;
mod demo;
mod eval;
mod evidence;
mod exercise;
mod files;
mod kpi;
mod ledger;
mod monitor;
mod report;
mod stream;
mod users;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{Cli, Command, LedgerCommand, LogFormat, TokenCommand};
use std::sync::Arc;
use stockade_model::clock::{Clock, SystemClock};
use stockade_server::{AppState, Intake, ServerConfig};
use stockade_store::{DataDir, Opened, Role, Store};

// Ingest allocates many small strings per event; mimalloc measured faster than
// the system allocator on `stockade bench` (see docs/BENCHMARKS.md); built
// without transparent huge pages (Cargo.toml says why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// How audit records name a command-line user: the OS account.
fn cli_actor() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    format!("cli ({user})")
}

/// Origin given to a new evidence ledger (`--ledger-origin`), set once at start.
static LEDGER_ORIGIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// CA certificates to trust for HTTPS servers (`--ca-cert`), set once at start.
static CA_CERT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The HTTP client of every command that talks to a server: HTTPS with the
/// system's trust store, plus the `--ca-cert` bundle if given.
pub fn http_client() -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder();
    if let Some(path) = CA_CERT.get() {
        let pem = std::fs::read(path).with_context(|| format!("reading --ca-cert {}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("--ca-cert {}: not PEM certificates", path.display()))?;
        if certs.is_empty() {
            bail!("--ca-cert {}: no certificate in it", path.display());
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().context("building the HTTP client")
}

/// The evidence vault and custodian over an opened data directory.
pub fn custodian(
    opened: &Opened,
    args: &cli::VaultArgs,
    clock: Arc<dyn Clock>,
    witnesses: Option<Arc<stockade_server::witnessing::Witnesses>>,
) -> Result<Arc<stockade_app::custody::Custodian>> {
    let policy = stockade_evidence::RetentionPolicy::default().with_overrides(&args.retention)?;
    let c = stockade_app::custody::Custodian::new(
        opened.store.clone(),
        opened.ledger.clone(),
        opened.vault.clone(),
        policy,
        clock,
        args.max_evidence_bytes,
    );
    Ok(Arc::new(match witnesses.filter(|w| !w.is_empty()) {
        Some(w) => c.with_witnesses(w),
        None => c,
    }))
}

/// Starts the ingest pipeline over an opened data directory, recording into its ledger.
pub async fn intake(
    opened: &Opened,
    clock: Arc<dyn Clock>,
    policy: stockade_ingest::UnknownEntities,
) -> Result<Intake> {
    let intake = Intake::start(opened.store.clone(), Some(opened.ledger.clone()), clock.clone(), policy).await?;
    // Incidents opened here preserve their evidence in this directory's vault
    // (default retention; `serve` and `demo` set theirs from their flags).
    let defaults = cli::VaultArgs { retention: Vec::new(), max_evidence_bytes: 64 << 30 };
    intake.casebook().set_custodian(custodian(opened, &defaults, clock, None)?);
    Ok(intake)
}

/// Where detection reads its rules: `--rules DIR`, else the built-in pack.
fn rule_source(dir: Option<&std::path::Path>) -> stockade_app::detection::RuleSource {
    dir.map_or(stockade_app::detection::RuleSource::Builtin, |d| stockade_app::detection::RuleSource::Dir(d.to_owned()))
}

/// Refuses a rule pack with any refused rule, unless detection is off: said
/// before a load stores anything, where detection would refuse it after.
fn check_rules(a: &cli::DetectionArgs) -> Result<()> {
    if !a.no_detect {
        rule_source(a.rules.as_deref()).load_whole()?;
    }
    if let Some(dir) = &a.playbooks {
        stockade_app::response::load_playbooks(dir)?;
    }
    Ok(())
}

/// The webhook endpoints of a configuration file (docs/WEBHOOKS.md), their
/// secrets read from the environment; every fault reported.
fn load_webhooks(path: &std::path::Path) -> Result<Vec<stockade_respond::webhook::Target>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut actions: Vec<&str> = stockade_model::ContainmentAction::ALL.iter().map(|a| a.as_str()).collect();
    actions.push(stockade_app::response::TASK_OVERDUE);
    let targets = stockade_respond::webhook::Config::load(&text, &actions, |k| std::env::var(k).ok())
        .map_err(|errors| anyhow::anyhow!("{}: {}", path.display(), errors.join("\n")))?;
    for t in &targets {
        tracing::info!(endpoint = %t.endpoint.name, url = %t.endpoint.url, actions = ?t.endpoint.actions, "webhook endpoint");
    }
    Ok(targets)
}

/// Opens incidents with `--playbooks DIR` instead of the built-in pack.
fn use_playbooks(intake: &Intake, a: &cli::DetectionArgs) -> Result<()> {
    if let Some(dir) = &a.playbooks {
        let pack = stockade_app::response::load_playbooks(dir)?;
        tracing::info!(playbooks = pack.playbooks.len(), dir = %dir.display(), "playbook pack loaded");
        intake.casebook().set_playbooks(pack);
    }
    Ok(())
}

/// Starts detection on an intake unless asked not to, with a progress bar
/// for the replay of what is stored when `shown` (and stderr a terminal).
async fn start_detection(
    intake: &Intake,
    a: &cli::DetectionArgs,
    shown: bool,
) -> Result<stockade_app::detection::Progress> {
    use_playbooks(intake, a)?;
    if a.no_detect {
        return Ok(Default::default());
    }
    let d = intake.start_detection(rule_source(a.rules.as_deref())).await?;
    // What is stored and not yet examined: history in event-time order.
    let p = replay_shown(&d, Default::default(), shown).await?;
    if p.events > 0 {
        tracing::info!(events = p.events, alerts = p.alerts, incidents = p.incidents, "detection caught up");
    }
    Ok(p)
}

/// Replays what detection has not examined with a progress bar on stderr
/// (drawn only to a terminal): events, the event date reached, alerts.
async fn replay_shown(
    d: &stockade_app::detection::Detection,
    period: stockade_app::detection::Period,
    shown: bool,
) -> Result<stockade_app::detection::Progress, stockade_app::detection::DetectError> {
    use indicatif::{ProgressBar, ProgressStyle};
    let (tx, mut rx) = tokio::sync::watch::channel(stockade_app::detection::Replaying::default());
    let bar = if shown { ProgressBar::new(0) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("detecting [{bar:30}] {human_pos}/{human_len} events ({eta}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let drawn = bar.clone();
    let drawing = tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let r = *rx.borrow_and_update();
            drawn.set_length(r.total);
            drawn.set_position(r.done);
            if let Some(at) = chrono::DateTime::from_timestamp_micros(r.at_us) {
                drawn.set_message(format!("through {}, {} alerts", at.format("%Y-%m-%d %H:%M"), r.alerts));
            }
        }
    });
    let p = d.replay_watched(period, Some(&tx)).await;
    drop(tx);
    let _ = drawing.await;
    bar.finish_and_clear();
    p
}

/// Saves the derived state (so that the next start need not read the stored
/// events again) and closes the store. A failed save loses nothing: the
/// next start reads the events after the last saved cursor.
pub async fn close(stage: &stockade_app::stage::Stage, store: &dyn Store) {
    if let Err(e) = stage.close().await {
        tracing::warn!(error = %e, "could not save the derived state; the next start reads the stored events again");
    }
    store.close().await;
}

/// Opens the store of a data directory alone (creating it if needed).
async fn open_store(data: &std::path::Path) -> Result<Arc<dyn Store>> {
    DataDir::new(data).open_store().await.with_context(|| format!("opening the data directory {}", data.display()))
}

/// Opens a data directory whole (creating it if needed): store, ledger, vault.
async fn open(data: &std::path::Path) -> Result<Opened> {
    let origin = match LEDGER_ORIGIN.get() {
        Some(o) => o.clone(),
        None => format!("stockade.local/ledger/{:08x}", rand::random::<u32>()),
    };
    DataDir::new(data).open(&origin).await.with_context(|| format!("opening the data directory {}", data.display()))
}

/// The simulator's configuration from the command line.
pub fn sim_config(a: &cli::SimulateArgs) -> Result<stockade_twin::sim::Config> {
    let scenarios = a.scenario.iter().map(|s| stockade_twin::sim::parse_scenario(s)).collect::<Result<_, _>>()?;
    Ok(stockade_twin::sim::Config {
        scenarios,
        sites: a.sites,
        days: a.days,
        seed: a.seed,
        start: a.start,
        per_scenario: a.per_scenario,
        epcis: a.epcis,
        csv: a.csv,
    })
}

/// `stockade simulate`: writes reference data, feeds and truth.json, or
/// (with --to) keeps them in memory for streaming, writing them too when
/// --out is also given.
fn simulate(a: &cli::SimulateArgs) -> Result<Option<stockade_twin::sim::Output>> {
    let started = std::time::Instant::now();
    let cfg = sim_config(a)?;
    let write = |dir: &std::path::Path, name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))
    };
    let (summary, kept) = match (&a.out, &a.to) {
        (Some(dir), None) => {
            // Straight to the files as the days are generated: nothing grows in memory.
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let names = stockade_twin::sim::feed_names();
            let mut files = Vec::new();
            for n in &names {
                let p = dir.join(n);
                let f = std::fs::File::create(&p).with_context(|| format!("writing {}", p.display()))?;
                files.push(std::io::BufWriter::with_capacity(1 << 20, f));
            }
            let mut docs = |name: &str, bytes: &[u8]| -> std::io::Result<()> {
                let p = dir.join(name);
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(p, bytes)
            };
            let summary = {
                let [a, b, c, d, e, g] = &mut files[..] else { bail!("six feeds") };
                stockade_twin::sim::simulate_into(&cfg, [a, b, c, d, e, g], &mut docs).context("simulating")?
            };
            ((summary.reference_yaml, summary.truth, summary.events), None)
        }
        _ => {
            let out = stockade_twin::sim::simulate(&cfg)?;
            if let Some(dir) = &a.out {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                for (name, body) in out.feeds.iter().chain(&out.epcis).chain(&out.files) {
                    if let Some(parent) = dir.join(name).parent() {
                        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
                    }
                    write(dir, name, body.as_bytes())?;
                }
            }
            ((out.reference_yaml.clone(), out.truth.clone(), out.events), Some(out))
        }
    };
    let (reference_yaml, truth, events) = summary;
    if let Some(dir) = &a.out {
        write(dir, "reference.yaml", reference_yaml.as_bytes())?;
        write(dir, "truth.json", &serde_json::to_vec_pretty(&truth)?)?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "simulated {} sites for {} days (seed {}): {events} events, {} scenario instances, in {secs:.2}s ({:.0} events/s) into {}",
            a.sites,
            a.days,
            a.seed,
            truth.instances.len(),
            events as f64 / secs.max(1e-9),
            dir.display()
        );
    }
    Ok(kept)
}

async fn run(cli: Cli) -> Result<std::process::ExitCode> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if let Some(o) = cli.ledger_origin {
        let _ = LEDGER_ORIGIN.set(o);
    }
    if let Some(ca) = cli.ca_cert {
        let _ = CA_CERT.set(ca);
    }
    match cli.command {
        Command::Serve(a) => {
            // Deny by default: no plain HTTP where tokens would cross a network.
            let listener =
                std::net::TcpListener::bind(&a.listen).with_context(|| format!("cannot listen on {}", a.listen))?;
            let local = listener.local_addr()?;
            let tls = match (&a.tls_cert, &a.tls_key) {
                (Some(cert), Some(key)) => {
                    Some(stockade_server::Tls::from_pem_files(cert, key).await.with_context(|| {
                        format!("loading the TLS certificate {} and key {}", cert.display(), key.display())
                    })?)
                }
                _ if local.ip().is_loopback() || a.insecure_http => None,
                _ => bail!(
                    "{local} is reachable from other machines, and plain HTTP would carry bearer tokens and evidence \
                     in clear: give --tls-cert and --tls-key, or --insecure-http behind a proxy that terminates TLS"
                ),
            };
            // Webhook endpoints are checked before anything is opened.
            let webhooks = match &a.webhooks {
                Some(path) => load_webhooks(path)?,
                None => Vec::new(),
            };
            let opened = open(&a.data.data).await?;
            let intake = intake(&opened, clock.clone(), a.pipeline.unknown_entities.into()).await?;
            let _ = start_detection(&intake, &a.pipeline.detection, true).await?;
            let config = ServerConfig {
                max_body_bytes: a.max_body_bytes,
                public_tlog: a.public_tlog,
                checkpoint_every: a.checkpoint_interval,
                // Browsers reach it over TLS: here, or at the proxy in front.
                secure_cookies: tls.is_some() || a.insecure_http,
                targets: report::targets(a.targets.as_deref())?,
                ..ServerConfig::default()
            };
            let witnesses =
                Arc::new(stockade_server::witnessing::Witnesses::parse(&a.witnesses).map_err(|e| anyhow::anyhow!(e))?);
            let custodian = custodian(&opened, &a.vault, clock.clone(), Some(witnesses.clone()))?;
            let store = opened.store.clone();
            let stage = intake.stage().clone();
            let state = AppState::new(opened.store, intake, clock.clone(), config)
                .with_custodian(custodian)
                .with_webhooks(webhooks)
                .with_witnesses(Some(witnesses));
            let scheme = if tls.is_some() { "https" } else { "http" };
            eprintln!("stockade serving {} on {scheme}://{local}", a.data.data.display());
            let now = clock.now().timestamp_micros();
            let users = store.users().await?.iter().filter(|u| u.disabled_us.is_none()).count();
            if users == 0 && !store.tokens().await?.iter().any(|t| t.live_at(now)) {
                eprintln!(
                    "no user and no live API token: every request will be refused. Stop the server, run `stockade \
                     user create NAME --role admin --data {0}` (or `stockade token create --role admin --data {0}`), \
                     and create the others from there.",
                    a.data.data.display()
                );
            }
            #[cfg(unix)]
            if let Some(d) = stage.detection().cloned() {
                // SIGHUP reads the rules again (as POST /api/v1/rules/reload does).
                let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        match d.reload("stockade (SIGHUP)").await {
                            Ok(r) => eprintln!("rules reloaded: {} rules from {}", r.rules, r.source),
                            Err(e) => eprintln!("rules not reloaded, the rules in force keep running: {e}"),
                        }
                    }
                });
            }
            match tls {
                Some(tls) => stockade_server::serve_tls(state, listener, tls).await?,
                None => {
                    listener.set_nonblocking(true)?;
                    stockade_server::serve(state, tokio::net::TcpListener::from_std(listener)?).await?
                }
            }
            close(&stage, &*store).await;
        }
        Command::Token { command: TokenCommand::Create { role, name, expires_in_days, sites, data } } => {
            let Some(role) = Role::parse(&role) else {
                bail!("unknown role {role:?}: use one of {}", Role::names());
            };
            let opened = open(&data.data).await?;
            let store = opened.store.clone();
            if let Err(e) = stockade_app::users::check_scope(&*store, role, &sites).await {
                store.close().await;
                bail!("--sites: {e}");
            }
            let (record, secret) = stockade_app::tokens::issue_scoped_token(
                &*store,
                Some(&opened.ledger),
                &*clock,
                role,
                &name,
                expires_in_days,
                sites,
                &cli_actor(),
            )
            .await?;
            let view = stockade_app::tokens::TokenSummary::from(&record);
            store.close().await;
            let until = view.expires_at.map(|t| format!(", valid until {t}")).unwrap_or_default();
            eprintln!("created {} token {} ({name}{until}); it is shown only once:", role.as_str(), record.id);
            println!("{secret}");
        }
        Command::User { command } => users::run(command, clock.clone()).await?,
        Command::Report { command } => report::run(command, clock.clone(), &cli_actor()).await?,
        Command::Witness { command: cli::WitnessCommand::Init { dir, name } } => {
            let key = stockade_witness::Witness::init(&dir, &name)?;
            eprintln!("witness {name} created in {}; its verifier key:", dir.display());
            println!("{}", key.verifier_key());
        }
        Command::Witness { command: cli::WitnessCommand::Serve { dir, logs, listen, tls_cert, tls_key } } => {
            let witness = std::sync::Arc::new(
                stockade_witness::Witness::open(&dir, &logs)
                    .with_context(|| format!("opening the witness in {}", dir.display()))?,
            );
            let listener =
                std::net::TcpListener::bind(&listen).with_context(|| format!("cannot listen on {listen}"))?;
            let local = listener.local_addr()?;
            let tls = match (&tls_cert, &tls_key) {
                (Some(cert), Some(key)) => {
                    Some(stockade_server::Tls::from_pem_files(cert, key).await.with_context(|| {
                        format!("loading the TLS certificate {} and key {}", cert.display(), key.display())
                    })?)
                }
                _ if local.ip().is_loopback() => None,
                _ => bail!("{local} is reachable from other machines: give --tls-cert and --tls-key"),
            };
            let scheme = if tls.is_some() { "https" } else { "http" };
            eprintln!("witness {} serving {} log(s) on {scheme}://{local}", witness.verifier_key(), logs.len());
            stockade_server::witness::serve_witness(witness, clock.clone(), listener, tls).await?;
        }
        Command::Token { command: TokenCommand::List { data } } => {
            let store = open_store(&data.data).await?;
            let tokens = store.tokens().await?;
            println!(
                "{:<14} {:<14} {:<24} {:<12} {:<28} {:<28} revoked",
                "id", "role", "name", "sites", "created", "expires"
            );
            for t in &tokens {
                let v = stockade_app::tokens::TokenSummary::from(t);
                let sites = if v.sites.is_empty() { "*".to_owned() } else { v.sites.join(",") };
                println!(
                    "{:<14} {:<14} {:<24} {:<12} {:<28} {:<28} {}",
                    v.id,
                    v.role,
                    v.name,
                    sites,
                    v.created_at,
                    v.expires_at.as_deref().unwrap_or("-"),
                    v.revoked_at.as_deref().unwrap_or("-")
                );
            }
            store.close().await;
        }
        Command::Token { command: TokenCommand::Revoke { id, data } } => {
            let opened = open(&data.data).await?;
            // The id, or the whole token (`stk_<id>_<secret>`) pasted.
            let id = id.strip_prefix("stk_").and_then(|rest| rest.split('_').next()).unwrap_or(&id);
            let revoked =
                stockade_app::tokens::revoke_token(&*opened.store, Some(&opened.ledger), &*clock, id, &cli_actor())
                    .await;
            opened.store.close().await;
            let token = revoked?;
            eprintln!("revoked {} token {} ({})", token.role.as_str(), token.id, token.name);
        }
        Command::Import(a) => {
            let opened = open(&a.data.data).await?;
            let intake = intake(&opened, clock.clone(), Default::default()).await?;
            let n = files::import(&intake, &a.files, a.mapping.as_deref()).await?;
            let names: Vec<String> = a.files.iter().map(|f| f.display().to_string()).collect();
            let detail = serde_json::json!({ "records": n, "files": names, "via": "cli" });
            stockade_app::audit::record(
                &*opened.store,
                &opened.ledger,
                &*clock,
                "reference_imported",
                &cli_actor(),
                detail,
            )
            .await?;
            close(intake.stage(), &*opened.store).await;
            eprintln!("imported {n} reference records");
        }
        Command::Ingest(a) => return files::ingest(a, clock).await,
        Command::Demo(a) => demo::run(a, clock).await?,
        Command::Bench(a) => bench::run(a).await?,
        Command::Evidence { command } => return evidence::run(command).await,
        Command::Ledger { command: LedgerCommand::Key { data } } => {
            let opened = DataDir::new(&data.data).open_existing().await?;
            println!("{}", opened.ledger.verifier_key());
            opened.close().await;
        }
        Command::Ledger { command: LedgerCommand::Verify { data } } => return ledger::verify(&data.data).await,
        Command::Ledger { command: LedgerCommand::CheckProof { proof, key, witnesses, quorum } } => {
            return ledger::check_proof(&proof, &key, &witnesses, quorum.unwrap_or(witnesses.len()));
        }
        Command::Ledger { command: LedgerCommand::Monitor { server, key, state, token } } => {
            return monitor::run(&server, &key, state.as_deref(), token.as_deref()).await;
        }
        Command::Verify { package, key, witnesses, quorum, since } => {
            let held = match &since {
                Some(p) => Some(std::fs::read(p).with_context(|| format!("reading {}", p.display()))?),
                None => None,
            };
            return ledger::verify_package(
                &package,
                &key,
                &witnesses,
                quorum.unwrap_or(witnesses.len()),
                held.as_deref(),
            );
        }
        Command::Eval(a) => eval::run(&a).await?,
        Command::Book(a) => book::run(a).await?,
        Command::Kpi(a) => kpi::run(a).await?,
        Command::Exercise { command } => exercise::run(command, clock.clone()).await?,
        Command::Detect { data, detection, from, to } => {
            let period = stockade_app::detection::Period {
                from_us: kpi::time("from", &from)?.map(|t| t.timestamp_micros()),
                to_us: kpi::time("to", &to)?.map(|t| t.timestamp_micros()),
            };
            if let (Some(f), Some(t)) = (period.from_us, period.to_us)
                && f >= t
            {
                anyhow::bail!("--to must be after --from");
            }
            let opened = open(&data.data).await?;
            let intake = intake(&opened, clock, Default::default()).await?;
            use_playbooks(&intake, &detection)?;
            let d = intake.start_detection(rule_source(detection.rules.as_deref())).await?;
            let started = std::time::Instant::now();
            let p = replay_shown(&d, period, true).await;
            let held = d.held_at().await;
            close(intake.stage(), &*opened.store).await;
            let p = p?;
            println!(
                "detection: {} events examined in {:.1} s, {} alerts, {} incidents opened",
                p.events,
                started.elapsed().as_secs_f64(),
                p.alerts,
                p.incidents
            );
            if p.learned > 0 {
                println!("{} of those events happened before --from: learned from, raising nothing", p.learned);
            }
            if let Some(at) = held.and_then(chrono::DateTime::from_timestamp_micros) {
                println!(
                    "held at {}: what happened from then on waits for `stockade detect` without --to (or a server)",
                    at.to_rfc3339()
                );
            }
        }
        Command::Rules { dir } => {
            let (pack, errors, _) = rule_source(dir.as_deref()).load()?;
            let correlations = pack.rules.values().filter(|r| r.correlation).count();
            let absences = pack.rules.values().filter(|r| r.absence.is_some()).count();
            println!(
                "{} rules load ({} detections, {} correlations, {} absences)",
                pack.rules.len(),
                pack.rules.len() - correlations,
                correlations,
                absences
            );
            for e in &errors {
                eprintln!("{e}");
            }
            if !errors.is_empty() {
                std::process::exit(1);
            }
        }
        Command::Playbooks { dir } => {
            let loaded = match &dir {
                Some(d) => stockade_app::response::load_playbooks(d),
                None => {
                    stockade_app::response::builtin_playbooks().map_err(stockade_app::response::PlaybookError::Refused)
                }
            };
            match loaded {
                Ok(pack) => {
                    println!("{} playbooks load", pack.playbooks.len());
                    for p in &pack.playbooks {
                        let tasks: Vec<&stockade_respond::playbook::TaskSpec> =
                            p.phases.iter().flat_map(|ph| &ph.tasks).collect();
                        let mut roles: Vec<&str> = tasks.iter().map(|t| t.role.as_str()).collect();
                        roles.sort();
                        roles.dedup();
                        let to = if p.applies_to.default {
                            "the default".to_owned()
                        } else {
                            [p.applies_to.rules.join(", "), p.applies_to.scenarios.join(", ")]
                                .into_iter()
                                .filter(|x| !x.is_empty())
                                .collect::<Vec<_>>()
                                .join("; ")
                        };
                        println!(
                            "{} v{}: {} ({} phases, {} tasks for {}; applies to {to})",
                            p.id,
                            p.version,
                            p.title,
                            p.phases.len(),
                            tasks.len(),
                            roles.join(", ")
                        );
                    }
                }
                Err(stockade_app::response::PlaybookError::Refused(errors)) => {
                    for e in &errors {
                        eprintln!("{e}");
                    }
                    std::process::exit(1);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::SeriesDetect { file, out } => {
            let input: Box<dyn std::io::Read> = if file.as_os_str() == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                Box::new(std::fs::File::open(&file).with_context(|| format!("reading {}", file.display()))?)
            };
            let output: Box<dyn std::io::Write> = match &out {
                Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?),
                None => Box::new(std::io::stdout().lock()),
            };
            let mut output = std::io::BufWriter::new(output);
            let rows = stockade_detect::series::score_csv(input, &mut output)
                .with_context(|| format!("scoring {}", file.display()))?;
            std::io::Write::flush(&mut output)?;
            if out.is_some() {
                eprintln!("scored {rows} rows of {}", file.display());
            }
        }
        Command::SampleExports { out, days, seed } => {
            if !(1..=366).contains(&days) {
                bail!("--days must be between 1 and 366");
            }
            let cfg = stockade_twin::customer::Config { days, seed, ..Default::default() };
            let sample = stockade_twin::customer::generate(&cfg);
            let truth = serde_json::to_vec_pretty(&sample.truth)?;
            let files = sample.files.iter().map(|(p, b)| (p.as_str(), b.as_slice()));
            for (path, bytes) in files.chain([("truth-book.json", truth.as_slice())]) {
                let at = out.join(path);
                if let Some(dir) = at.parent() {
                    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                }
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&at)
                    .with_context(|| format!("creating {} (existing files are not overwritten)", at.display()))?;
                std::io::Write::write_all(&mut f, bytes).with_context(|| format!("writing {}", at.display()))?;
            }
            eprintln!(
                "wrote {} files to {} ({} days; see docs/ONBOARDING.md)",
                sample.files.len() + 1,
                out.display(),
                days
            );
        }
        Command::Retract { data, file, reason } => {
            let opened = DataDir::new(&data.data)
                .open_existing()
                .await
                .with_context(|| format!("opening the data directory {}", data.data.display()))?;
            let intake = intake(&opened, clock, Default::default()).await?;
            let report = intake.retract_file(&file, &reason).await;
            let signed = match &report {
                Ok(r) if r.retracted > 0 => Some(opened.ledger.sign_checkpoint()?),
                _ => None,
            };
            close(intake.stage(), &*opened.store).await;
            let report = report?;
            eprintln!(
                "{file}: {} events withdrawn from {} load(s) ({} withdrawn before); the book was rebuilt without them",
                report.retracted, report.loads, report.already
            );
            if let Some(cp) = signed {
                eprintln!("ledger checkpoint signed over {} leaves", cp.size);
            }
        }
        Command::Rebuild { data, only } => {
            if let Some(name) = &only
                && !stockade_app::stage::CONSUMERS.contains(&name.as_str())
            {
                bail!("no consumer {name:?} to rebuild (consumers: {})", stockade_app::stage::CONSUMERS.join(", "));
            }
            let opened = DataDir::new(&data.data).open_existing().await?;
            let started = std::time::Instant::now();
            let stage = stockade_app::stage::Stage::start(opened.store.clone()).await?;
            stage.rebuild(only.as_deref()).await?;
            let through = stage.book_applied()?;
            close(&stage, &*opened.store).await;
            eprintln!(
                "rebuilt {} through event {through} in {:.2}s",
                only.as_deref().unwrap_or("all derived state"),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Simulate(a) => {
            if a.to.is_some() {
                stream::check(&a)?;
            }
            let out = simulate(&a)?;
            if let (Some(url), Some(out)) = (&a.to, &out) {
                stream::run(&a, out, url).await?;
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
