//! `stockade`: the one binary. A thin shell: it parses the command line,
//! opens the store, and calls the library crates.
#![forbid(unsafe_code)]

mod bench;
mod cli;
mod demo;
mod files;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{Cli, Command, LogFormat, TokenCommand};
use std::sync::Arc;
use stockade_model::clock::{Clock, SystemClock};
use stockade_server::{AppState, Intake, ServerConfig};
use stockade_store::{EmbeddedStore, Role, Store};

// Ingest allocates many small strings per event; mimalloc measured faster than
// the system allocator on `stockade bench` (see docs/BENCHMARKS.md).
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

async fn open(data: &std::path::Path) -> Result<Arc<dyn Store>> {
    let store = EmbeddedStore::open_dir(data)
        .await
        .with_context(|| format!("opening the data directory {}", data.display()))?;
    Ok(Arc::new(store))
}

async fn run(cli: Cli) -> Result<std::process::ExitCode> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve(a) => {
            let store = open(&a.data.data).await?;
            let intake = Intake::start(store.clone(), clock.clone(), a.pipeline.unknown_entities.into()).await?;
            let state = AppState::new(store, intake, clock, ServerConfig { max_body_bytes: a.max_body_bytes });
            let listener = tokio::net::TcpListener::bind(&a.listen)
                .await
                .with_context(|| format!("cannot listen on {}", a.listen))?;
            eprintln!("stockade serving {} on http://{}", a.data.data.display(), listener.local_addr()?);
            stockade_server::serve(state, listener).await?;
        }
        Command::Token { command: TokenCommand::Create { role, name, data } } => {
            let Some(role) = Role::parse(&role) else {
                bail!("unknown role {role:?}: use ingest, analyst or admin");
            };
            let store = open(&data.data).await?;
            let (record, secret) = stockade_server::auth::create_token(&*store, &*clock, role, &name).await?;
            eprintln!("created {} token {} ({name}); it is shown only once:", role.as_str(), record.id);
            println!("{secret}");
        }
        Command::Import(a) => {
            let store = open(&a.data.data).await?;
            let intake = Intake::start(store, clock, Default::default()).await?;
            let n = files::import(&intake, &a.files).await?;
            eprintln!("imported {n} reference records");
        }
        Command::Ingest(a) => return files::ingest(a, clock).await,
        Command::Demo(a) => demo::run(a, clock).await?,
        Command::Bench(a) => bench::run(a).await?,
    }
    Ok(std::process::ExitCode::SUCCESS)
}
