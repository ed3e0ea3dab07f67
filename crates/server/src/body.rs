//! Request bodies under guard: every body must keep arriving, a refused
//! body is read to its end before the refusal goes out, and the bodies held
//! in memory at once are bounded.
//!
//! Invariants:
//! - A body that stalls or trickles is cut off: after a grace period
//!   (`ServerConfig::body_grace`, 30 s) it must average at least
//!   `ServerConfig::body_min_rate` bytes a second (1 KiB), or the read fails
//!   and the request is answered 408.
//! - A request answered without its body read to the end (a refusal before
//!   the upload was looked at) has the rest read and dropped, up to
//!   [`DRAIN_LIMIT`] bytes and [`DRAIN_TIME`], so that the client, still
//!   sending, reads the answer instead of a reset connection.
//! - Handlers that buffer a body ([`read_body`]) draw its bytes from one
//!   budget shared by every request; when the budget is spent the request is
//!   answered 503 with `Retry-After` instead of growing memory without bound.

use crate::AppState;
use crate::problem::Problem;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::Frame;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// At most this much of a refused body is read before the answer goes out.
pub const DRAIN_LIMIT: usize = 64 << 20;
/// A refused body is read for at most this long.
pub const DRAIN_TIME: Duration = Duration::from_secs(10);

/// The error a body read gives when the client sends too slowly.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived slower than {min_rate} bytes a second after {grace:?}")]
pub struct TooSlow {
    min_rate: u64,
    grace: Duration,
}

/// The body as the handler sees it: reads go through the shared inner body,
/// which the middleware can still drain once the handler is done with it.
struct Guarded {
    inner: Arc<Mutex<Body>>,
    /// Set when the body was cut off for being slow: it is not drained.
    stalled: Arc<std::sync::atomic::AtomicBool>,
    started: tokio::time::Instant,
    received: u64,
    deadline: Pin<Box<tokio::time::Sleep>>,
    grace: Duration,
    min_rate: u64,
}

impl Guarded {
    fn allowed_until(&self) -> tokio::time::Instant {
        self.started + self.grace + Duration::from_secs_f64(self.received as f64 / self.min_rate.max(1) as f64)
    }
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = match self.inner.lock() {
            Ok(mut body) => Pin::new(&mut *body).poll_frame(cx),
            Err(_) => return Poll::Ready(Some(Err(axum::Error::new("request body lock poisoned")))),
        };
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.received += data.len() as u64;
                    let until = self.allowed_until();
                    self.deadline.as_mut().reset(until);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.stalled.store(true, std::sync::atomic::Ordering::Relaxed);
                    Poll::Ready(Some(Err(axum::Error::new(TooSlow { min_rate: self.min_rate, grace: self.grace }))))
                }
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.lock().map(|b| b.is_end_stream()).unwrap_or(true)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.lock().map(|b| b.size_hint()).unwrap_or_default()
    }
}

/// Middleware: guards every request's body (see the module's invariants).
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let inner = Arc::new(Mutex::new(body));
    let started = tokio::time::Instant::now();
    let grace = state.config.body_grace;
    let stalled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let guarded = Guarded {
        inner: inner.clone(),
        stalled: stalled.clone(),
        started,
        received: 0,
        deadline: Box::pin(tokio::time::sleep_until(started + grace)),
        grace,
        min_rate: state.config.body_min_rate,
    };
    drop(state);
    let response = next.run(Request::from_parts(parts, Body::new(guarded))).await;
    // The handler is done; whatever it left unread is read now, bounded
    // (unless the client was too slow: it is not waited for again).
    let rest = inner.lock().ok().map(|mut b| std::mem::take(&mut *b));
    let rest = rest.filter(|_| !stalled.load(std::sync::atomic::Ordering::Relaxed));
    if let Some(mut rest) = rest
        && !rest.is_end_stream()
    {
        let drained = async {
            let mut read = 0usize;
            while let Some(Ok(frame)) = std::future::poll_fn(|cx| Pin::new(&mut rest).poll_frame(cx)).await {
                read += frame.data_ref().map_or(0, Bytes::len);
                if read > DRAIN_LIMIT {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIME, drained).await;
    }
    response
}

/// Whether a body read failed because the client sent too slowly.
pub fn is_too_slow(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<TooSlow>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The problem for a body that arrived too slowly.
fn too_slow(e: &axum::Error) -> Problem {
    Problem::new(StatusCode::REQUEST_TIMEOUT, "body-too-slow", "Request body too slow", e.to_string())
}

/// The memory that buffered bodies may hold at once, shared by all requests.
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: usize,
}

impl BodyBudget {
    pub fn new(total: usize) -> BodyBudget {
        let total = total.clamp(1, Semaphore::MAX_PERMITS);
        BodyBudget { bytes: Arc::new(Semaphore::new(total)), total }
    }

    fn take(&self, n: usize) -> Result<OwnedSemaphorePermit, Problem> {
        let refused = || {
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Too many large requests at once",
                format!(
                    "the {} bytes that request bodies may hold in memory at once are in use; retry in a few seconds",
                    self.total
                ),
            )
        };
        let n = u32::try_from(n).map_err(|_| refused())?;
        self.bytes.clone().try_acquire_many_owned(n).map_err(|_| refused())
    }
}

/// A body read whole into memory; its bytes count against the
/// [`BodyBudget`] until it is dropped.
pub struct Buffered {
    bytes: Bytes,
    _held: Option<OwnedSemaphorePermit>,
}

impl std::ops::Deref for Buffered {
    type Target = Bytes;
    fn deref(&self) -> &Bytes {
        &self.bytes
    }
}

/// Reads a body up to the configured limit, holding its bytes against the
/// shared budget (all of a declared length at once, a chunked body frame by
/// frame).
pub async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Buffered, Problem> {
    let limit = state.config.max_body_bytes;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Problem::too_large(limit));
    }
    let budget = &state.body_budget;
    let mut held = match declared {
        Some(n) if n > 0 => Some(budget.take(n)?),
        _ => None,
    };
    let mut body = body;
    let mut buf = bytes::BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| {
            if is_too_slow(&e) { too_slow(&e) } else { Problem::bad_request(format!("reading the body: {e}")) }
        })?;
        let Ok(data) = frame.into_data() else { continue };
        if buf.len() + data.len() > limit {
            return Err(Problem::too_large(limit));
        }
        if declared.is_none() && !data.is_empty() {
            let more = budget.take(data.len())?;
            match held.as_mut() {
                Some(h) => h.merge(more),
                None => held = Some(more),
            }
        }
        buf.extend_from_slice(&data);
    }
    Ok(Buffered { bytes: buf.freeze(), _held: held })
}
