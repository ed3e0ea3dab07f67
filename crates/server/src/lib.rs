//! The HTTP face of Stockade: API, authentication, limits, metrics, and the
//! wiring of the live ingest pipeline.
//!
//! Invariants:
//! - This is the only crate that knows HTTP: status codes, JSON shapes and
//!   RFC 9457 problems. Handlers only extract, call the domain and map errors.
//! - Deny by default: every route requires a token except `/healthz`
//!   (healthy or not, nothing more), `/metrics`, the OpenAPI document and
//!   the two published schemas (`/api/v1/schema/events`, `.../reference`).
//! - Bodies are read up to a configured limit; beyond it the request fails
//!   with 413 and nothing of it is stored.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod body;
pub mod console;
pub mod extract;
pub mod openapi;
pub mod problem;
pub mod telemetry;
pub mod webhooks;
pub mod witness;
pub mod witnessing;

use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use stockade_model::clock::Clock;
use stockade_store::Store;

pub use stockade_app::{IngestReport, Intake, LineResult, Lines};

/// Server settings, with the defaults documented on each field.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted, in bytes (default 64 MiB).
    pub max_body_bytes: usize,
    /// Serve the tlog-tiles read API (`/tlog/`) without a token, so that
    /// auditors and mirrors can follow the log (default: off, a token that may read).
    pub public_tlog: bool,
    /// How often a ledger checkpoint is signed while new leaves arrive (default 2 s).
    pub checkpoint_every: std::time::Duration,
    /// How long a client may take to send a request's headers before the
    /// connection is closed (default 30 s): slow clients cannot hold
    /// connections open for ever.
    pub header_read_timeout: std::time::Duration,
    /// How many bytes of request bodies may be held in memory at once,
    /// across all requests (default 256 MiB, four bodies of the largest
    /// size); beyond it a request is answered 503 with `Retry-After`.
    pub max_buffered_bytes: usize,
    /// How long a request body may take before it is held to
    /// `body_min_rate` (default 30 s).
    pub body_grace: std::time::Duration,
    /// The slowest average, in bytes a second, a body may arrive at after
    /// `body_grace` (default 1 KiB/s); slower, it is cut off with 408.
    pub body_min_rate: u64,
    /// How often open incidents' tasks are checked against their deadlines
    /// (default 60 s); each one found late is recorded overdue once.
    pub overdue_every: std::time::Duration,
    /// Webhooks: how often due deliveries are sent (default 1 s), the
    /// first retry's wait (doubled each time, default 2 s), the attempts
    /// before a delivery is dead-lettered (default 8) and how long an
    /// endpoint may take to answer (default 10 s).
    pub webhook_every: std::time::Duration,
    pub webhook_retry: std::time::Duration,
    pub webhook_attempts: u32,
    pub webhook_timeout: std::time::Duration,
    /// Session cookies carry `Secure` (the server is reached over TLS).
    pub secure_cookies: bool,
    /// What the executive scorecard holds the KPIs to (`docs/SCORECARD.md`).
    pub targets: stockade_app::scorecard::Targets,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 64 * 1024 * 1024,
            public_tlog: false,
            checkpoint_every: std::time::Duration::from_secs(2),
            header_read_timeout: std::time::Duration::from_secs(30),
            max_buffered_bytes: 256 * 1024 * 1024,
            body_grace: std::time::Duration::from_secs(30),
            body_min_rate: 1024,
            overdue_every: std::time::Duration::from_secs(60),
            webhook_every: std::time::Duration::from_secs(1),
            webhook_retry: std::time::Duration::from_secs(2),
            webhook_attempts: 8,
            webhook_timeout: std::time::Duration::from_secs(10),
            secure_cookies: false,
            targets: Default::default(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub intake: Intake,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    /// Recent EPCIS capture jobs, newest last.
    pub captures: Arc<std::sync::Mutex<std::collections::VecDeque<api::epcis::CaptureJob>>>,
    /// Recently validated API tokens.
    pub tokens: Arc<auth::TokenCache>,
    /// The evidence vault and chain of custody, when the instance keeps one.
    pub custodian: Option<Arc<stockade_app::custody::Custodian>>,
    /// Opens incidents.
    pub casebook: Arc<stockade_app::casebook::Casebook>,
    /// The memory request bodies may hold at once.
    pub body_budget: Arc<body::BodyBudget>,
    /// Failed sign-ins lately.
    pub throttle: Arc<stockade_app::users::Throttle>,
    /// Permission denials lately, by caller.
    pub denials: Arc<auth::Denials>,
    /// The witnesses each new checkpoint is sent to (`docs/WITNESS.md`).
    pub witnesses: Option<Arc<witnessing::Witnesses>>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, intake: Intake, clock: Arc<dyn Clock>, config: ServerConfig) -> AppState {
        let casebook = intake.casebook().clone();
        AppState {
            store,
            intake,
            clock,
            body_budget: Arc::new(body::BodyBudget::new(config.max_buffered_bytes)),
            config: Arc::new(config),
            captures: Arc::default(),
            casebook,
            tokens: Arc::default(),
            throttle: Arc::default(),
            denials: Arc::default(),
            custodian: None,
            witnesses: None,
        }
    }
}

impl AppState {
    /// Sending containment to these systems (`docs/WEBHOOKS.md`).
    pub fn with_webhooks(self, targets: Vec<stockade_respond::webhook::Target>) -> AppState {
        self.casebook.set_webhooks(targets);
        self
    }

    /// With witnesses to cosign each new checkpoint.
    pub fn with_witnesses(mut self, w: Option<Arc<witnessing::Witnesses>>) -> AppState {
        self.witnesses = w.filter(|w| !w.is_empty());
        self
    }

    /// With an evidence vault.
    pub fn with_custodian(mut self, c: Arc<stockade_app::custody::Custodian>) -> AppState {
        // Playbooks preserve evidence through it too.
        self.casebook.set_custodian(c.clone());
        self.custodian = Some(c);
        self
    }
}

/// Builds the whole application router.
pub fn app(state: AppState) -> Router {
    // Install the metrics recorder before anything records.
    telemetry::handle();
    let (router, _) = api::routes(state.clone()).split_for_parts();
    let router = router.merge(console::routes());
    use axum::http::{HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    router
        .layer(axum::middleware::from_fn_with_state(state.clone(), body::guard))
        .layer(axum::middleware::from_fn(telemetry::track))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        // Answers carry events that name people: no cache keeps them unless
        // a route says otherwise (tlog tiles, which never change), and no
        // browser guesses at a type.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(state)
}

/// [`app`] as served over TLS: browsers are told to use nothing else
/// (HSTS, a year).
pub fn tls_app(state: AppState) -> Router {
    app(state).layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static("max-age=31536000"),
    ))
}

/// Runs an axum-server `Server` (plain or TLS: their acceptor types differ,
/// and the bounds that would name both are longer than this) with the
/// header timeout, until a signal, inside [`around_serving`].
macro_rules! run_until_signal {
    ($state:expr, $server:expr, $app:expr) => {{
        let state: AppState = $state;
        let mut server = $server;
        server.http_builder().http1().header_read_timeout(state.config.header_read_timeout);
        let (handle, stop) = stop_on_signal();
        let service = $app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let served = around_serving(state, server.handle(handle).serve(service)).await;
        stop.abort();
        served
    }};
}

/// Serves plain HTTP until ctrl-c / SIGTERM, then finishes in-flight
/// requests. Also signs ledger checkpoints while it serves, and one last on
/// the way out. (On axum-server, as [`serve_tls`] is: axum's own `serve`
/// sets no timer, so it would never time out a client's headers.)
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let listener = listener.into_std()?;
    tracing::info!(addr = ?listener.local_addr().ok(), "listening (http)");
    run_until_signal!(state, axum_server::from_tcp(listener)?, app)
}

/// [`serve`] over TLS (rustls): the certificate chain and key in PEM.
pub async fn serve_tls(state: AppState, listener: std::net::TcpListener, tls: Tls) -> std::io::Result<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), "listening (https)");
    run_until_signal!(state, axum_server::from_tcp_rustls(listener, tls.0)?, tls_app)
}

/// A handle that starts a graceful shutdown on ctrl-c / SIGTERM: requests
/// in flight (an evidence upload, say) get a minute to finish.
pub(crate) fn stop_on_signal() -> (axum_server::Handle<SocketAddr>, tokio::task::JoinHandle<()>) {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let stop = tokio::spawn(async move {
        shutdown().await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(60)));
    });
    (handle, stop)
}

/// A server's TLS certificate and key.
#[derive(Clone)]
pub struct Tls(axum_server::tls_rustls::RustlsConfig);

impl Tls {
    /// Loads a certificate chain and its private key (PEM files).
    pub async fn from_pem_files(cert: &std::path::Path, key: &std::path::Path) -> std::io::Result<Tls> {
        axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await.map(Tls)
    }
}

/// Runs the background tasks (checkpoints, retention) while `serving` runs,
/// and signs a last checkpoint when it ends.
async fn around_serving(
    state: AppState,
    serving: impl std::future::Future<Output = std::io::Result<()>>,
) -> std::io::Result<()> {
    let checkpointer = state
        .intake
        .ledger()
        .map(|l| api::ledger::spawn_checkpointer(l.clone(), state.config.checkpoint_every, state.witnesses.clone()));
    let retention = state.custodian.clone().map(|c| {
        // Retention runs every ten minutes (and on demand: POST /api/v1/evidence/expire).
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                tick.tick().await;
                match c.sweep("stockade retention").await {
                    Ok(ids) if !ids.is_empty() => tracing::info!(expired = ids.len(), "retention expired evidence"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
                }
            }
        })
    });
    let deadlines = {
        let st = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(st.config.overdue_every);
            loop {
                tick.tick().await;
                if let Err(e) = st.casebook.sweep_overdue(&*st.store, st.intake.ledger(), &*st.clock).await {
                    tracing::warn!(error = %e, "overdue-task sweep failed");
                }
            }
        })
    };
    let deliverer = {
        let st = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(st.config.webhook_every);
            loop {
                tick.tick().await;
                if let Err(e) = webhooks::deliver_due(&st).await {
                    tracing::warn!(error = %e, "webhook delivery round failed");
                }
            }
        })
    };
    // Stopped with the server, whether it returns or its task is aborted.
    let background =
        AbortOnDrop([checkpointer, retention, Some(deadlines), Some(deliverer)].into_iter().flatten().collect());
    let ledger = state.intake.ledger().cloned();
    drop(state);
    let served = serving.await;
    drop(background);
    // What was logged since the last periodic checkpoint is covered by a
    // signed one before the process goes (as `stockade ingest` does).
    if let Some(l) = ledger {
        match tokio::task::spawn_blocking(move || l.sign_checkpoint()).await {
            Ok(Ok(cp)) => tracing::info!(size = cp.size, "ledger checkpoint signed on shutdown"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not sign the ledger's checkpoint on shutdown"),
            Err(e) => tracing::warn!(error = %e, "could not sign the ledger's checkpoint on shutdown"),
        }
    }
    served
}

/// Background tasks that end with their owner.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
