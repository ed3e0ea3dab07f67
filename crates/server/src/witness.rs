//! The witness's HTTP face (C2SP tlog-witness): `POST /add-checkpoint`,
//! answered with the cosignature line, or with the status the protocol
//! gives each refusal (409 with `text/x.tlog.size` when the log's idea of
//! the latest cosigned size is stale). `docs/WITNESS.md`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::Arc;
use stockade_model::clock::Clock;
use stockade_witness::{Refusal, Witness};

/// An add-checkpoint body: at most 63 proof lines and a checkpoint with a
/// few signatures; anything larger is refused unread.
const MAX_BODY: usize = 64 << 10;

#[derive(Clone)]
struct WitnessState {
    witness: Arc<Witness>,
    clock: Arc<dyn Clock>,
}

/// The witness's routes.
pub fn witness_app(witness: Arc<Witness>, clock: Arc<dyn Clock>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/", get(about))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(WitnessState { witness, clock })
}

async fn about(State(st): State<WitnessState>) -> Response {
    let mut text = format!("Stockade witness\nkey {}\n", st.witness.verifier_key());
    for (origin, seen) in st.witness.seen() {
        text.push_str(&format!("log {origin} cosigned at size {} ({})\n", seen.size, seen.root));
    }
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

async fn add_checkpoint(State(st): State<WitnessState>, body: Bytes) -> Response {
    let now = u64::try_from(st.clock.now().timestamp()).unwrap_or(0);
    let w = st.witness.clone();
    // Cosigning syncs the state to disk: off the async workers.
    let done = tokio::task::spawn_blocking(move || w.add_checkpoint(&body, now)).await;
    match done {
        Ok(Ok(lines)) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], lines).into_response(),
        Ok(Err(r)) => refusal(&r),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("witness task failed: {e}\n")).into_response(),
    }
}

fn refusal(r: &Refusal) -> Response {
    let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match r {
        Refusal::Conflict { latest, .. } => {
            tracing::info!(%r, "checkpoint not cosigned");
            (status, [(header::CONTENT_TYPE, "text/x.tlog.size")], format!("{latest}\n")).into_response()
        }
        Refusal::Inconsistent { .. } => {
            // Possible proof of a log rewriting its history: kept in the log.
            tracing::warn!(%r, "checkpoint not cosigned: inconsistent with the latest cosigned");
            (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{r}\n")).into_response()
        }
        _ => {
            tracing::info!(%r, "checkpoint not cosigned");
            (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{r}\n")).into_response()
        }
    }
}

/// Serves the witness until ctrl-c / SIGTERM, over TLS when given.
pub async fn serve_witness(
    witness: Arc<Witness>,
    clock: Arc<dyn Clock>,
    listener: std::net::TcpListener,
    tls: Option<crate::Tls>,
) -> std::io::Result<()> {
    let (handle, stop) = crate::stop_on_signal();
    let service = witness_app(witness, clock).into_make_service_with_connect_info::<SocketAddr>();
    let served = match tls {
        Some(tls) => axum_server::from_tcp_rustls(listener, tls.0)?.handle(handle).serve(service).await,
        None => {
            listener.set_nonblocking(true)?;
            axum_server::from_tcp(listener)?.handle(handle).serve(service).await
        }
    };
    stop.abort();
    served
}
