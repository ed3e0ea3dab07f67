//! The HTTP API through a real server on a free port, as a client sees it.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use stockade_app::custody::Custodian;
use stockade_app::detection::RuleSource;
use stockade_ingest::UnknownEntities;
use stockade_model::clock::{Clock, ManualClock, SystemClock};
use stockade_server::{AppState, Intake, ServerConfig};
use stockade_store::{EmbeddedStore, Ledger, Role, Store};

const REFERENCE: &str = include_str!("../../../examples/reference.yaml");
const EVENTS: &str = include_str!("../../../examples/events.ndjson");

struct Server {
    url: String,
    admin: String,
    ingest: String,
    analyst: String,
    client: reqwest::Client,
    /// The server's store, for what only an earlier version could have written.
    store: Arc<dyn Store>,
    dir: tempfile::TempDir,
}

async fn start(policy: UnknownEntities, max_body_bytes: usize) -> Server {
    start_with(policy, ServerConfig { max_body_bytes, ..Default::default() }).await
}

async fn start_with(policy: UnknownEntities, config: ServerConfig) -> Server {
    start_clocked(policy, config, Arc::new(SystemClock)).await
}

async fn start_clocked(policy: UnknownEntities, config: ServerConfig, clock: Arc<dyn Clock>) -> Server {
    start_full(policy, config, clock, None).await
}

/// A server that detects as events commit, with these rules.
async fn start_detecting(rules: impl FnOnce(&std::path::Path) -> RuleSource + 'static) -> Server {
    start_full(UnknownEntities::Flag, ServerConfig::default(), Arc::new(SystemClock), Some(Box::new(rules))).await
}

type Rules = Box<dyn FnOnce(&std::path::Path) -> RuleSource>;

async fn start_full(
    policy: UnknownEntities,
    config: ServerConfig,
    clock: Arc<dyn Clock>,
    rules: Option<Rules>,
) -> Server {
    start_hooked(policy, config, clock, rules, Vec::new()).await
}

async fn start_hooked(
    policy: UnknownEntities,
    config: ServerConfig,
    clock: Arc<dyn Clock>,
    rules: Option<Rules>,
    webhooks: Vec<stockade_respond::webhook::Target>,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open_dir(dir.path()).await.unwrap());
    let ledger = Arc::new(Ledger::open(&dir.path().join("ledger"), "stockade.test/ledger").unwrap());
    let intake = Intake::start(store.clone(), Some(ledger.clone()), clock.clone(), policy).await.unwrap();
    if let Some(rules) = rules {
        intake.start_detection(rules(dir.path())).await.unwrap();
    }
    let token = |role| {
        let (store, clock) = (store.clone(), clock.clone());
        async move { stockade_app::tokens::create_token(&*store, &*clock, role, "test", None).await.unwrap().1 }
    };
    let (admin, ingest, analyst) = (token(Role::Admin).await, token(Role::Ingest).await, token(Role::Analyst).await);
    let policy = stockade_evidence::RetentionPolicy::default().with_overrides(&["scratch=0".into()]).unwrap();
    let vault = stockade_store::vault::Vault::open(&dir.path().join("vault")).unwrap();
    let custodian = Custodian::new(store.clone(), ledger, vault, policy, clock.clone(), 1 << 20);
    let state =
        AppState::new(store.clone(), intake, clock, config).with_custodian(Arc::new(custodian)).with_webhooks(webhooks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(stockade_server::serve(state, listener));
    Server { url, admin, ingest, analyst, client: reqwest::Client::new(), store, dir }
}

impl Server {
    async fn post(
        &self,
        path: &str,
        token: &str,
        ctype: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, String, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let v = r.json().await.unwrap_or(Value::Null);
        (status, ct, v)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, String, Value) {
        let mut req = self.client.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let text = r.text().await.unwrap();
        (status, ct, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn bytes(&self, path: &str, token: Option<&str>) -> (StatusCode, Vec<u8>) {
        let mut req = self.client.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        (r.status(), r.bytes().await.unwrap().to_vec())
    }

    /// Opens an incident at LYS (the example reference data must be loaded); returns its id.
    async fn open_incident(&self, title: &str) -> String {
        let case = json!({"site": "LYS", "title": title,
            "from": "2026-11-02T20:00:00+01:00", "to": "2026-11-02T23:59:00+01:00"});
        let (st, _, v) = self.post("/api/v1/incidents", &self.analyst, "application/json", case.to_string()).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    async fn load_examples(&self) {
        let (s, _, v) = self.post("/api/v1/reference", &self.ingest, "application/yaml", REFERENCE).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, _, v) = self.post("/api/v1/events", &self.ingest, "application/x-ndjson", EVENTS).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["rejected"], 0, "{v}");
    }
}

const GOOD: &str = r#"{"id":"a1","source":"acs","site":"LYS","occurred_at":"2026-11-02T22:14:07+01:00","kind":"access.granted","door":"LYS-D-CAGE","badge":"B-1003"}"#;

#[tokio::test]
async fn deny_by_default() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    // Every answer, refusals included: no cache keeps it, no browser sniffs
    // it; HSTS only over TLS.
    let r = s.client.get(format!("{}/api/v1/events?limit=1", s.url)).bearer_auth(&s.analyst).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers().get("strict-transport-security").is_none());
    let r = s.client.get(format!("{}/api/v1/events", s.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    // The scheme's name is case-insensitive (RFC 9110); another scheme is refused.
    for (header, status) in [
        (format!("bearer {}", s.analyst), StatusCode::OK),
        (format!("BEARER  {}", s.analyst), StatusCode::OK),
        (format!("Basic {}", s.analyst), StatusCode::UNAUTHORIZED),
        (format!("Bearer{}", s.analyst), StatusCode::UNAUTHORIZED),
    ] {
        let r = s.client.get(format!("{}/api/v1/events?limit=1", s.url)).header("authorization", &header).send();
        assert_eq!(r.await.unwrap().status(), status, "{header}");
    }
    let (st, ct, v) = s.get("/api/v1/events", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(ct, "application/problem+json");
    assert_eq!(v["status"], 401);
    assert!(v["type"].as_str().unwrap().starts_with("https://"));
    let (st, _, _) = s.get("/api/v1/events", Some("stk_nope_nope")).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // An analyst may read but not ingest; an ingest token may not read.
    let (st, _, v) = s.post("/api/v1/events", &s.analyst, "application/x-ndjson", GOOD).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, _, _) = s.get("/api/v1/inventory", Some(&s.ingest)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = s.get("/api/v1/inventory", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK);
    // An admin may do both.
    assert_eq!(s.get("/api/v1/inventory", Some(&s.admin)).await.0, StatusCode::OK);
    let (st, _, v) = s.post("/api/v1/events", &s.admin, "application/x-ndjson", GOOD).await;
    assert_eq!((st, v["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    // Open endpoints. Health says healthy and nothing more; counts need a token.
    let (st, _, health) = s.get("/healthz", None).await;
    assert_eq!((st, health), (StatusCode::OK, json!({"status": "ok"})));
    assert_eq!(s.get("/api/v1/status", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/api/v1/status", Some(&s.ingest)).await.0, StatusCode::FORBIDDEN);
    let (st, _, status) = s.get("/api/v1/status", Some(&s.analyst)).await;
    assert_eq!((st, status["events"].as_i64()), (StatusCode::OK, Some(1)), "{status}");
    assert_eq!(status["book_through"].as_i64(), Some(1), "the book applied the acknowledged event: {status}");
    assert!(status["detected_through"].is_null(), "this server runs without detection: {status}");
    assert_eq!(s.get("/api/v1/schema/events", None).await.0, StatusCode::OK);
    assert_eq!(s.get("/api/v1/schema/reference", None).await.0, StatusCode::OK);
}

/// Tokens are listed without secrets and revoked by an admin: a revoked
/// token stops working at once (not when its cache entry expires), and the
/// act is in the audit trail with its ledger leaf.
#[tokio::test]
async fn an_admin_lists_and_revokes_tokens() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    let (st, _, v) = s.get("/api/v1/tokens", Some(&s.admin)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let listed = v.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(!v.to_string().contains("hash") && !v.to_string().contains("stk_"), "no secrets listed: {v}");
    let analyst_id = listed.iter().find(|t| t["role"] == "analyst").unwrap()["id"].as_str().unwrap().to_owned();
    assert!(listed.iter().all(|t| t["revoked_at"].is_null() && t["created_at"].as_str().unwrap().ends_with('Z')));
    // Only an admin.
    assert_eq!(s.get("/api/v1/tokens", Some(&s.analyst)).await.0, StatusCode::FORBIDDEN);
    let delete = |id: &str, token: &str| {
        let req = s.client.delete(format!("{}/api/v1/tokens/{id}", s.url)).bearer_auth(token);
        async move {
            let r = req.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    assert_eq!(delete(&analyst_id, &s.analyst).await.0, StatusCode::FORBIDDEN);
    // The analyst's token works (and is now cached as valid)...
    assert_eq!(s.get("/api/v1/inventory", Some(&s.analyst)).await.0, StatusCode::OK);
    let (st, v) = delete(&analyst_id, &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["revoked_at"].as_str().is_some(), "{v}");
    // ...and is refused right after its revocation.
    let (st, _, v) = s.get("/api/v1/inventory", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    let (st, v) = delete(&analyst_id, &s.admin).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("already revoked"), "{v}");
    assert_eq!(delete("nope", &s.admin).await.0, StatusCode::NOT_FOUND);
    let (_, _, v) = s.get("/api/v1/tokens", Some(&s.admin)).await;
    let revoked: Vec<_> = v.as_array().unwrap().iter().filter(|t| t["revoked_at"].is_string()).collect();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["id"], analyst_id.as_str());
    // Audited once (the refused attempts are not acts), with a leaf.
    let (_, _, trail) = s.get("/api/v1/audit", Some(&s.admin)).await;
    let acts: Vec<_> = trail.as_array().unwrap().iter().filter(|a| a["record"]["action"] == "token_revoked").collect();
    assert_eq!(acts.len(), 1, "{trail}");
    assert_eq!(acts[0]["record"]["detail"]["token"], analyst_id.as_str());
    assert!(acts[0]["record"]["actor"].as_str().unwrap().contains("(token "), "{trail}");
    assert!(acts[0]["leaf_index"].is_u64(), "{trail}");

    // A running server issues tokens too (the CLI cannot while it holds the data).
    let body = r#"{"role":"ingest","name":"dock scanner 4","expires_in_days":30}"#;
    let (st, _, v) = s.post("/api/v1/tokens", &s.admin, "application/json", body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let secret = v["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(&format!("stk_{}_", v["id"].as_str().unwrap())), "{v}");
    assert_eq!((v["role"].as_str(), v["name"].as_str()), (Some("ingest"), Some("dock scanner 4")));
    assert!(v["expires_at"].is_string(), "{v}");
    let (st, _, r) = s.post("/api/v1/events", &secret, "application/x-ndjson", GOOD).await;
    assert_eq!(st, StatusCode::OK, "the new token works at once: {r}");
    let (_, _, trail) = s.get("/api/v1/audit", Some(&s.admin)).await;
    let created = trail.as_array().unwrap().iter().filter(|a| a["record"]["action"] == "token_created").count();
    assert_eq!(created, 1, "{trail}");
    let (_, _, listed) = s.get("/api/v1/tokens", Some(&s.admin)).await;
    assert!(!listed.to_string().contains(&secret[20..]), "the secret is shown once, never listed");
    // Refusals: not an admin, a bad role, no name, a bad expiry, unknown fields, not JSON.
    let s = &s;
    let tokens = |token: &str, ctype: &str, body: &str| {
        let (token, ctype, body) = (token.to_owned(), ctype.to_owned(), body.to_owned());
        async move { s.post("/api/v1/tokens", &token, &ctype, body).await.0 }
    };
    assert_eq!(tokens(&s.ingest, "application/json", body).await, StatusCode::FORBIDDEN);
    for bad in [
        r#"{"role":"root","name":"x"}"#,
        r#"{"role":"ingest","name":" "}"#,
        r#"{"role":"ingest","name":"x","expires_in_days":0}"#,
        r#"{"role":"ingest","name":"x","expires_in_days":9999}"#,
        r#"{"role":"ingest","name":"x","secret":"mine"}"#,
        r#"{"role":"ingest""#,
    ] {
        assert_eq!(tokens(&s.admin, "application/json", bad).await, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(tokens(&s.admin, "text/plain", body).await, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (_, _, after) = s.get("/api/v1/tokens", Some(&s.admin)).await;
    assert_eq!(after.as_array().unwrap().len(), 4, "refusals created nothing: {after}");
}

/// A token created to expire stops working at that instant, whether or not
/// the server has it cached as valid.
#[tokio::test]
async fn tokens_expire() {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-26T08:00:00Z").unwrap().to_utc();
    let clock = Arc::new(ManualClock::new(t0));
    let s = start_clocked(UnknownEntities::Flag, ServerConfig::default(), clock.clone()).await;
    let (vendor, secret) = stockade_app::tokens::create_token(
        &*s.store,
        &*clock,
        Role::Analyst,
        "hvac vendor",
        Some(std::time::Duration::from_secs(4 * 3600)),
    )
    .await
    .unwrap();
    assert_eq!(s.get("/api/v1/inventory", Some(&secret)).await.0, StatusCode::OK, "valid, and now cached");
    let (_, _, listed) = s.get("/api/v1/tokens", Some(&s.admin)).await;
    let listed = listed.as_array().unwrap().iter().find(|t| t["id"] == vendor.id.as_str()).unwrap().clone();
    assert_eq!(listed["expires_at"], "2026-11-26T12:00:00.000000Z", "{listed}");
    clock.advance(chrono::Duration::hours(4) - chrono::Duration::microseconds(1));
    assert_eq!(s.get("/api/v1/inventory", Some(&secret)).await.0, StatusCode::OK, "a microsecond left");
    clock.advance(chrono::Duration::microseconds(1));
    let (st, _, v) = s.get("/api/v1/inventory", Some(&secret)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("expired at 2026-11-26T12:00:00"), "{v}");
    // Tokens without an expiry go on working.
    assert_eq!(s.get("/api/v1/inventory", Some(&s.analyst)).await.0, StatusCode::OK);
}

/// A client that never finishes its headers is cut off (slowloris), while
/// a whole request on a connection gets its answer.
#[tokio::test]
async fn slow_headers_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = ServerConfig { header_read_timeout: std::time::Duration::from_millis(300), ..Default::default() };
    let s = start_with(UnknownEntities::Flag, config).await;
    let addr = s.url.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "the connection is still open after 5 s");
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"), "{}", String::from_utf8_lossy(&buf));
    let mut whole = tokio::net::TcpStream::connect(&addr).await.unwrap();
    whole.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    whole.read_to_end(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200 OK"), "{}", String::from_utf8_lossy(&buf));
}

/// A body that trickles in is cut off with a 408 once its grace is over,
/// and nothing of it is stored.
#[tokio::test]
async fn slow_bodies_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config =
        ServerConfig { body_grace: std::time::Duration::from_millis(300), body_min_rate: 1000, ..Default::default() };
    let s = start_with(UnknownEntities::Flag, config).await;
    let addr = s.url.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/x-ndjson\r\n\
         Content-Length: 100000\r\nConnection: close\r\n\r\n",
        s.ingest
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let trickle = async {
        for _ in 0..100 {
            if slow.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(3), trickle).await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(15), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection is still open");
    let reply = String::from_utf8_lossy(&buf);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("application/problem+json"), "{reply}");
    let (_, _, status) = s.get("/api/v1/status", Some(&s.analyst)).await;
    assert_eq!(status["events"], 0);
}

/// Chunked bodies draw on one memory budget: past it a request is told to
/// retry (503, Retry-After), and the budget is whole again afterwards.
#[tokio::test]
async fn buffered_bodies_share_a_bounded_budget() {
    let config = ServerConfig { max_buffered_bytes: 64 * 1024, ..Default::default() };
    let s = start_with(UnknownEntities::Flag, config).await;
    // Held open: 40 KiB sent in chunks, and the rest not yet.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tx.send(Ok(vec![b'\n'; 40 * 1024])).await.unwrap();
    let body = reqwest::Body::wrap_stream(tokio_stream_of(rx));
    let held = {
        let (client, url, token) = (s.client.clone(), s.url.clone(), s.ingest.clone());
        tokio::spawn(async move {
            let r = client.post(format!("{url}/api/v1/events")).bearer_auth(token);
            r.header("content-type", "application/x-ndjson").body(body).send().await.unwrap().status()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let chunked = |n: usize| {
        let chunks = vec![Ok::<_, std::io::Error>(vec![b'\n'; n])];
        reqwest::Body::wrap_stream(futures::stream::iter(chunks))
    };
    let r = s.client.post(format!("{}/api/v1/events", s.url)).bearer_auth(&s.ingest);
    let r = r.header("content-type", "application/x-ndjson").body(chunked(30 * 1024)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "5");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    tx.send(Ok(GOOD.as_bytes().to_vec())).await.unwrap();
    drop(tx);
    assert_eq!(held.await.unwrap(), StatusCode::OK);
    let r = s.client.post(format!("{}/api/v1/events", s.url)).bearer_auth(&s.ingest);
    let r = r.header("content-type", "application/x-ndjson").body(chunked(30 * 1024)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the budget was given back");
}

fn tokio_stream_of<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// A request refused before its body is read (wrong type, no token) still
/// has its body read: a client sending a large body on one connection gets
/// every byte written, reads the refusal, and can send its next request on
/// the same connection (unread, the server would close it under the client,
/// whose writes would fail with a broken pipe).
#[tokio::test]
async fn refusals_read_the_body_first() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let s = start(UnknownEntities::Flag, 64 << 20).await;
    let addr = s.url.trim_start_matches("http://").to_owned();
    let big = vec![b'x'; 8 << 20];
    for (token, ctype, status) in
        [(s.ingest.as_str(), "text/csv", "415"), ("stk_nope_nope", "application/x-ndjson", "401")]
    {
        let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let (read, mut write) = tcp.into_split();
        let mut read = tokio::io::BufReader::new(read);
        let head = format!(
            "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            big.len()
        );
        write.write_all(head.as_bytes()).await.unwrap();
        write.write_all(&big).await.expect("the whole body is taken, refusal or not");
        let mut status_line = String::new();
        read.read_line(&mut status_line).await.unwrap();
        assert!(status_line.starts_with(&format!("HTTP/1.1 {status}")), "{status_line}");
        // Skip the rest of the refusal, then use the connection again.
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            read.read_line(&mut line).await.unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        read.read_exact(&mut body).await.unwrap();
        write.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut next = String::new();
        read.read_line(&mut next).await.unwrap();
        assert!(next.starts_with("HTTP/1.1 200"), "the connection is still usable: {next:?}");
    }
}

#[tokio::test]
async fn per_line_results_and_idempotent_resend() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    let body = [
        GOOD.to_owned(),
        "{not json".to_owned(),
        GOOD.replace("\"a1\"", "\"a2\"").replace("access.granted", "access.teleported"),
        GOOD.replace("\"a1\"", "\"a3\"").replace("+01:00", ""),
        GOOD.replace("\"a1\"", "\"a4\"").replace(r#","badge":"B-1003""#, ""),
        GOOD.replace("\"a1\"", "\"a5\"").replace(r#""door":"LYS-D-CAGE""#, r#""door":7"#),
        String::new(),
        GOOD.replace("\"a1\"", "\"a6\""),
    ]
    .join("\n");
    let (st, _, v) = s.post("/api/v1/events", &s.ingest, "application/x-ndjson", body.clone()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // The two accepted events name a site, door and badge no reference data holds.
    assert_eq!(v["flagged"], json!({"unknown_badge": 2, "unknown_door": 2, "unknown_site": 2}), "{v}");
    assert_eq!(
        (v["accepted"].as_u64(), v["rejected"].as_u64(), v["duplicates"].as_u64()),
        (Some(2), Some(5), Some(0)),
        "{v}"
    );
    let r = v["results"].as_array().unwrap();
    assert_eq!(r[0]["status"], "accepted");
    assert_eq!(r[1]["line"], 2);
    assert!(r[1]["reason"].as_str().unwrap().contains("malformed JSON"));
    assert!(r[2]["reason"].as_str().unwrap().contains("unknown kind `access.teleported`"), "{}", r[2]);
    assert!(r[3]["reason"].as_str().unwrap().contains("no UTC offset"));
    assert_eq!(r[4]["field"], "badge");
    assert!(r[5]["reason"].as_str().unwrap().contains("invalid type"));
    assert_eq!(r[6]["line"], 8, "blank line 7 is skipped, numbering is kept");
    assert_eq!(r[6]["status"], "accepted");
    // Re-sending changes nothing.
    let (_, _, v) = s.post("/api/v1/events", &s.ingest, "application/x-ndjson", body).await;
    assert_eq!((v["accepted"].as_u64(), v["duplicates"].as_u64()), (Some(0), Some(2)), "{v}");
    let (_, _, page) = s.get("/api/v1/events", Some(&s.analyst)).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    // Unknown entities were flagged, not dropped.
    let flags = &page["events"][0]["event"]["flags"];
    assert!(flags.as_array().unwrap().iter().any(|f| f == "unknown_door:LYS-D-CAGE"), "{flags}");
    // A JSON array works too.
    let arr = json!([serde_json::from_str::<Value>(&GOOD.replace("\"a1\"", "\"b1\"")).unwrap()]);
    let (st, _, v) = s.post("/api/v1/events", &s.ingest, "application/json", arr.to_string()).await;
    assert_eq!((st, v["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
}

/// Malformed parameters and bodies are RFC 9457 problems like every other
/// refusal, and the role is checked before them: a token without the role
/// gets 403 whatever it sent.
#[tokio::test]
async fn malformed_parameters_are_problems_after_the_role_check() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    for (path, status) in [
        ("/api/v1/ledger/consistency?from=x", StatusCode::BAD_REQUEST),
        ("/api/v1/ledger/events/abc/proof", StatusCode::BAD_REQUEST),
        ("/api/v1/ledger/leaves/-1/proof", StatusCode::BAD_REQUEST),
        ("/api/v1/events?limit=many", StatusCode::BAD_REQUEST),
        ("/api/v1/incidents?after=x", StatusCode::BAD_REQUEST),
    ] {
        let (st, ct, v) = s.get(path, Some(&s.analyst)).await;
        assert_eq!((st, ct.as_str()), (status, "application/problem+json"), "{path}: {v}");
        assert_eq!(v["status"], status.as_u16(), "{path}: {v}");
        let (st, ct, _) = s.get(path, Some(&s.ingest)).await;
        assert_eq!((st, ct.as_str()), (StatusCode::FORBIDDEN, "application/problem+json"), "{path}");
    }
    let custody = "/api/v1/evidence/ev_0000000000000000/custody";
    let (st, ct, v) = s.post(custody, &s.analyst, "text/plain", r#"{"action":"sealed","reason":"r"}"#).await;
    assert_eq!((st, ct.as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "application/problem+json"), "{v}");
    let (st, ct, v) = s.post(custody, &s.analyst, "application/json", "{not json").await;
    assert_eq!((st, ct.as_str()), (StatusCode::BAD_REQUEST, "application/problem+json"), "{v}");
    let (st, _, v) = s.post(custody, &s.analyst, "application/json", r#"{"action":"sealed"}"#).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "a missing reason: {v}");
    let (st, _, _) = s.post(custody, &s.ingest, "text/plain", "{not json").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_requests_are_problems_and_store_nothing() {
    let s = start(UnknownEntities::Flag, 4096).await;
    let big = std::iter::repeat_n(GOOD, 100).collect::<Vec<_>>().join("\n");
    let (st, ct, v) = s.post("/api/v1/events", &s.ingest, "application/x-ndjson", big).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(ct, "application/problem+json");
    let (st, _, v) = s.post("/api/v1/events", &s.ingest, "text/csv", GOOD).await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    let (st, _, _) = s.post("/api/v1/events", &s.ingest, "application/json", "[1,").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _, v) = s.get("/api/v1/events?from=yesterday", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (st, _, _) = s.get("/api/v1/events?limit=0", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _, _) = s.get("/api/v1/events?kind=nope", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (_, _, h) = s.get("/api/v1/status", Some(&s.analyst)).await;
    assert_eq!(h["events"], 0, "nothing of a refused request was stored");
}

/// An event that names an account and no person is given the person the
/// reference data says owns it, as it is stored.
#[tokio::test]
async fn accounts_name_their_person_on_ingest() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let adj = r#"{"id":"adj-9","source":"wms","site":"LYS","occurred_at":"2026-11-02T22:31:00+01:00","kind":"inventory.adjusted","sku":"SKU-PHONE-X","location":"LYS-CAGE-01","delta":-3,"reason":"damaged","account":"lmorel"}"#;
    let (st, _, v) = s.post("/api/v1/events", &s.ingest, "application/x-ndjson", adj).await;
    assert_eq!((st, v["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let seq = v["results"][0]["seq"].as_i64().unwrap();
    let (_, _, page) = s.get(&format!("/api/v1/events?after={}&limit=1", seq - 1), Some(&s.analyst)).await;
    assert_eq!(page["events"][0]["event"]["person"], "P-003", "{page}");
}

#[tokio::test]
async fn unknown_entities_can_be_rejected() {
    let s = start(UnknownEntities::Reject, 1 << 20).await;
    s.load_examples().await;
    let unknown_door = GOOD.replace("LYS-D-CAGE", "LYS-D-NOWHERE");
    let body = format!("{}\n{unknown_door}", GOOD.replace("\"a1\"", "\"z1\""));
    let (_, _, v) = s.post("/api/v1/events", &s.ingest, "application/x-ndjson", body).await;
    assert_eq!(v["accepted"], 1, "{v}");
    assert_eq!(v["results"][1]["field"], "door");
    assert!(v["results"][1]["reason"].as_str().unwrap().contains("LYS-D-NOWHERE"));
}

#[tokio::test]
async fn reference_import_checks_and_lists() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    let dangling = json!({"zones": [{"id": "Z", "site": "NOWHERE", "name": "z", "tier": "dock"}]});
    let (st, ct, v) = s.post("/api/v1/reference", &s.ingest, "application/json", dangling.to_string()).await;
    assert_eq!((st, ct.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "application/problem+json"));
    assert!(v["errors"][0]["reason"].as_str().unwrap().contains("unknown site \"NOWHERE\""), "{v}");
    let (st, _, _) = s.post("/api/v1/reference", &s.ingest, "application/json", r#"{"planets":[]}"#).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    s.load_examples().await;
    let (st, _, v) = s.get("/api/v1/reference/sites", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["timezone"], "America/Chicago");
    assert_eq!(s.get("/api/v1/reference/planets", Some(&s.analyst)).await.0, StatusCode::NOT_FOUND);
    // IoT/OT assets: listed, checked against sites, vendors and zones.
    let (_, _, assets) = s.get("/api/v1/reference/assets", Some(&s.analyst)).await;
    let hvac = assets.as_array().unwrap().iter().find(|a| a["id"] == "LYS-HVAC-1").unwrap();
    assert_eq!((&hvac["kind"], &hvac["vendor"]), (&json!("hvac"), &json!("V-HVAC")));
    let bad = json!({"assets": [{"id": "LYS-PLC-2", "site": "LYS", "kind": "plc", "vendor": "V-NOBODY", "zone": "LYS-MOON"}]});
    let (st, _, v) = s.post("/api/v1/reference", &s.ingest, "application/json", bad.to_string()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let reasons: String = v["errors"].as_array().unwrap().iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert!(reasons.contains("unknown vendor \"V-NOBODY\"") && reasons.contains("unknown zone \"LYS-MOON\""), "{v}");
    let bad = json!({"assets": [{"id": "X", "site": "LYS", "kind": "toaster"}]});
    assert_eq!(
        s.post("/api/v1/reference", &s.ingest, "application/json", bad.to_string()).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Telemetry from a device the registry does not know is flagged.
    let unknown = r#"{"id":"dev-9","source":"nac","site":"LYS","occurred_at":"2026-11-02T03:00:00+01:00","kind":"asset.seen","asset":"LYS-ROGUE-PI","ip":"10.1.8.99"}"#;
    let (_, _, v) = s.post("/api/v1/events", &s.ingest, "application/x-ndjson", unknown).await;
    assert_eq!(v["accepted"], 1, "{v}");
    let (_, _, listed) = s.get("/api/v1/events?kind=asset.seen", Some(&s.analyst)).await;
    assert!(listed.to_string().contains("unknown_asset:LYS-ROGUE-PI"), "{listed}");
}

#[tokio::test]
async fn book_and_variance_from_the_sample_day() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let (_, _, book) = s.get("/api/v1/inventory?sku=SKU-PHONE-X", Some(&s.analyst)).await;
    let q = |loc: &str| {
        book["lines"].as_array().unwrap().iter().find(|l| l["location"] == loc).map(|l| l["quantity"].as_f64().unwrap())
    };
    // 40 received at the dock and put away to the cage; 2 picked to packing
    // and shipped from there; 3 written off without approval.
    assert_eq!(q("LYS-DOCK-IN"), Some(0.0));
    assert_eq!(q("LYS-CAGE-01"), Some(35.0));
    assert_eq!(q("LYS-PACK-01"), Some(0.0));
    let (_, _, var) = s.get("/api/v1/inventory/variance?site=LYS", Some(&s.analyst)).await;
    let line = &var["lines"][0];
    assert_eq!((line["counted"].as_f64(), line["book"].as_f64()), (Some(33.0), Some(35.0)), "{var}");
    assert_eq!(line["variance_units"], -2.0);
    assert_eq!(line["variance_value"], -1798.0);
    assert_eq!(var["summary"]["shrink_value"], 1798.0);
    assert_eq!(var["summary"]["record_accuracy"], 0.0);
}

#[tokio::test]
async fn openapi_covers_every_route_and_metrics_count_events() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let (st, _, doc) = s.get("/api/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/healthz",
        "/metrics",
        "/api/openapi.json",
        "/api/v1/schema/events",
        "/api/v1/schema/reference",
        "/api/v1/events",
        "/api/v1/reference",
        "/api/v1/reference/{kind}",
        "/api/v1/inventory",
        "/api/v1/inventory/variance",
        "/epcis/capture",
        "/epcis/capture/{captureID}",
        "/api/v1/ledger",
        "/api/v1/ledger/checkpoint",
        "/api/v1/ledger/events/{seq}/proof",
        "/api/v1/ledger/leaves/{index}/proof",
        "/api/v1/ledger/consistency",
        "/tlog/checkpoint",
        "/tlog/tile/{path}",
        "/api/v1/evidence",
        "/api/v1/evidence/expire",
        "/api/v1/evidence/{id}",
        "/api/v1/evidence/{id}/content",
        "/api/v1/evidence/{id}/custody",
        "/api/v1/incidents/{incident}/package",
        "/api/v1/audit",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from OpenAPI");
    }
    // The event schema is the model's, grafted in with working references.
    let text = doc.to_string();
    assert!(
        doc["components"]["schemas"]["Event"]["properties"]["occurred_at"].is_object(),
        "{}",
        doc["components"]["schemas"]["Event"]
    );
    assert!(text.contains("\"inventory.received\""));
    assert!(!text.contains("#/$defs/"), "all references point into components");
    let (_, ct, m) = s.get("/metrics", None).await;
    assert!(ct.starts_with("text/plain"));
    let m = m.as_str().unwrap().to_owned();
    assert!(m.contains("stockade_events_total"), "{m}");
    assert!(m.contains("stockade_http_requests_total"));
    // Invented methods and paths mint no series: labels stay bounded.
    for i in 0..50 {
        let method = reqwest::Method::from_bytes(format!("M{i}{}", "A".repeat(200)).as_bytes()).unwrap();
        let r = s.client.request(method, format!("{}/nope/{i}", s.url)).send().await.unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    let (_, _, after) = s.get("/metrics", None).await;
    let after = after.as_str().unwrap();
    assert!(!after.contains("AAAA") && !after.contains("/nope/"), "{after}");
    assert!(after.contains("method=\"other\""), "{after}");
}

#[tokio::test]
async fn epcis_capture_stores_valid_documents_and_refuses_invalid_ones() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let valid = include_str!("../../../tests/data/epcis/gs1/JSON/Example_9.6.1-ObjectEvent.jsonld");
    let (st, _, job) = s.post("/epcis/capture?site=LYS", &s.ingest, "application/ld+json", valid).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["success"], true);
    let accepted = job["report"]["accepted"].as_u64().unwrap();
    assert!(accepted >= 1, "{job}");
    // The job can be read back; re-capturing creates nothing new.
    let (st, _, again) =
        s.get(&format!("/epcis/capture/{}", job["captureID"].as_str().unwrap()), Some(&s.ingest)).await;
    assert_eq!((st, &again["report"]["accepted"]), (StatusCode::OK, &job["report"]["accepted"]));
    let (_, _, dup) = s.post("/epcis/capture", &s.ingest, "application/json", valid).await;
    assert_eq!(dup["report"]["accepted"], 0, "{dup}");
    assert_eq!(dup["report"]["duplicates"].as_u64(), Some(accepted));
    // Events carry their EPCIS provenance.
    let (_, _, page) = s.get("/api/v1/events?kind=inventory.shipped", Some(&s.analyst)).await;
    let captured = page["events"].as_array().unwrap().iter().find(|e| e["event"]["source"] == "epcis");
    assert_eq!(captured.map(|e| &e["event"]["epcis"]["event_type"]), Some(&"ObjectEvent".into()), "{page}");

    let invalid = include_str!(
        "../../../tests/data/epcis/openepcis/2.0/EPCIS/JSON/Capture/Invalid/ObjectEvent_with_invalid_action.json"
    );
    let (st, ct, p) = s.post("/epcis/capture", &s.ingest, "application/ld+json", invalid).await;
    assert_eq!((st, ct.as_str()), (StatusCode::BAD_REQUEST, "application/problem+json"));
    assert!(p["errors"][0]["reason"].as_str().unwrap().contains("/action"), "{p}");
    let (st, _, _) = s.post("/epcis/capture", &s.ingest, "text/csv", "a,b").await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // XML is captured too, and refused with the same kind of problem when invalid.
    let xml = include_str!("../../../tests/data/epcis/gs1/XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml");
    let (st, _, job) = s.post("/epcis/capture?site=LYS", &s.ingest, "application/xml", xml).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{job}");
    assert!(job["report"]["accepted"].as_u64().unwrap() + job["report"]["duplicates"].as_u64().unwrap() >= 1, "{job}");
    let (st, ct, p) = s.post("/epcis/capture", &s.ingest, "application/xml", "<x/>").await;
    assert_eq!((st, ct.as_str()), (StatusCode::BAD_REQUEST, "application/problem+json"), "{p}");
    let (st, _, _) = s.post("/epcis/capture", &s.analyst, "application/json", valid).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, p) = s.post("/epcis/capture?site=", &s.ingest, "application/json", valid).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("`site`"), "{p}");
    assert_eq!(s.get("/epcis/capture/nope", Some(&s.ingest)).await.0, StatusCode::NOT_FOUND);
}

fn unb64(v: &Value) -> stockade_ledger::Hash {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
    stockade_ledger::hash_from(&bytes).unwrap()
}

#[tokio::test]
async fn every_event_has_a_leaf_that_proves_against_a_signed_checkpoint() {
    use stockade_ledger::entry::{Entry, SaltKey, commitment};
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let (st, _, info) = s.get("/api/v1/ledger", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK, "{info}");
    let vkey = info["verifier_key"].as_str().unwrap().to_owned();
    assert!(vkey.starts_with("stockade.test/ledger+"), "{vkey}");
    let events = EVENTS.lines().filter(|l| !l.trim().is_empty()).count() as u64;
    assert_eq!(info["size"].as_u64(), Some(events + 1), "one leaf per accepted event, and the import's audit record");

    // The proof of event 3 verifies against the signed checkpoint it comes with.
    let (st, _, p) = s.get("/api/v1/ledger/events/3/proof", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let note = p["checkpoint"].as_str().unwrap();
    let cp = stockade_ledger::checkpoint::open(note.as_bytes(), &vkey).unwrap();
    assert_eq!(cp.size(), p["tree_size"].as_u64().unwrap());
    assert_eq!(*cp.hash(), unb64(&p["root"]));
    let entry = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, p["entry_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(stockade_ledger::leaf_hash(&entry), unb64(&p["leaf_hash"]));
    assert_eq!(entry.len(), 49, "an event entry is 49 bytes");
    assert!(p["entry"].as_str().unwrap().starts_with("stockade/event seq=3 received="), "{p}");
    let proof: Vec<_> = p["proof"].as_array().unwrap().iter().map(unb64).collect();
    let index = p["leaf_index"].as_u64().unwrap();
    stockade_ledger::verify_inclusion(index, cp.size(), stockade_ledger::leaf_hash(&entry), &proof, *cp.hash())
        .unwrap();
    // The entry commits to the stored event's canonical bytes with a salt, and says nothing else about it.
    let (_, _, listed) = s.get("/api/v1/events?limit=5", Some(&s.analyst)).await;
    let stored = listed["events"].as_array().unwrap().iter().find(|e| e["seq"] == 3).unwrap().clone();
    let Entry::Event { seq, commit, epcis, .. } = Entry::decode(&entry).unwrap() else { panic!("not an event leaf") };
    assert_eq!((seq, epcis), (3, None));
    let salt_hex = std::fs::read_to_string(s.dir.path().join("ledger/salt.key")).unwrap();
    let mut key = [0u8; 32];
    hex::decode_to_slice(salt_hex.trim(), &mut key).unwrap();
    let mut digest = [0u8; 32];
    hex::decode_to_slice(stored["hash"].as_str().unwrap(), &mut digest).unwrap();
    assert_eq!(commit, commitment(&SaltKey::from_bytes(key).unwrap().event_salt(3), &digest), "{stored}");
    assert!(!String::from_utf8_lossy(&entry).contains("B-10"), "no badge ids in a leaf");

    // More events, a new checkpoint, and a consistency proof between the two.
    let old = cp.size();
    let (_, _, v) = s.post("/api/v1/events", &s.ingest, "application/x-ndjson", GOOD).await;
    assert_eq!(v["accepted"], 1);
    let (st, _, signed) = s.post("/api/v1/ledger/checkpoint", &s.admin, "application/json", "").await;
    assert_eq!(st, StatusCode::OK, "{signed}");
    assert_eq!(signed["size"].as_u64(), Some(old + 1));
    let (st, _, c) = s.get(&format!("/api/v1/ledger/consistency?from={old}"), Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK, "{c}");
    let proof: Vec<_> = c["proof"].as_array().unwrap().iter().map(unb64).collect();
    stockade_ledger::verify_consistency(old, old + 1, &proof, *cp.hash(), unb64(&signed["root"])).unwrap();
    // It carries the newer checkpoint, signed: the root it proves to is one
    // the key vouches for.
    let newer = stockade_ledger::checkpoint::open(c["checkpoint"].as_str().unwrap().as_bytes(), &vkey).unwrap();
    assert_eq!((newer.size(), *newer.hash()), (old + 1, unb64(&c["to_root"])));
    let (st, _, v) = s.get(&format!("/api/v1/ledger/consistency?from={old}&format=tlog-proof"), Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["detail"].as_str().unwrap().contains("JSON only"), "{v}");
    let (_, _, c) = s.get(&format!("/api/v1/ledger/consistency?from=1&to={old}"), Some(&s.analyst)).await;
    assert!(c.get("checkpoint").is_none(), "an older size has no checkpoint kept: {c}");

    // The same proof as a C2SP tlog-proof: the entry and the signed
    // checkpoint in one file, at the latest checkpoint.
    let (st, ct, text) = s.get("/api/v1/ledger/events/3/proof?format=tlog-proof", Some(&s.analyst)).await;
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "text/plain; charset=utf-8"), "{text}");
    let text = text.as_str().unwrap();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "), "{text}");
    let tp = stockade_ledger::proof::TlogProof::parse(text.as_bytes()).unwrap();
    let (cp, carried) = tp.verify_entry(&vkey).unwrap();
    assert_eq!((tp.index, cp.size(), carried), (index, old + 1, entry.as_slice()));
    let analyst = Some(s.analyst.as_str());
    let (st, _, v) = s.get("/api/v1/ledger/events/3/proof?format=xml", analyst).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["detail"].as_str().unwrap().contains("json or tlog-proof"), "{v}");
    let (st, _, v) = s.get("/api/v1/ledger/events/3/proof?format=tlog-proof&size=5", analyst).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["detail"].as_str().unwrap().contains("carries a signed checkpoint"), "{v}");
    let latest = format!("/api/v1/ledger/leaves/{index}/proof?format=tlog-proof&size={}", old + 1);
    assert_eq!(s.get(&latest, analyst).await.0, StatusCode::OK, "the latest checkpoint's size may be named");

    // Bad requests.
    assert_eq!(s.get("/api/v1/ledger/events/999999/proof", analyst).await.0, StatusCode::NOT_FOUND);
    let (st, _, v) = s.get("/api/v1/ledger/events/1/proof?size=999999", analyst).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["detail"].as_str().unwrap().contains("beyond"), "{v}");
    assert_eq!(s.get("/api/v1/ledger/consistency?from=0", analyst).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.get("/api/v1/ledger/consistency?from=2&to=1", analyst).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.get("/api/v1/ledger/consistency?from=1&to=99999", analyst).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.get("/api/v1/ledger/leaves/99999/proof", analyst).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.get("/api/v1/ledger/events/x/proof", analyst).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.get("/api/v1/ledger/events/1/proof", Some(&s.ingest)).await.0, StatusCode::FORBIDDEN);
    let (st, _, _) = s.post("/api/v1/ledger/checkpoint", &s.analyst, "application/json", "").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

/// What a tlog-tiles client does: fetch the checkpoint, the tiles and the
/// entry bundles, and check they rebuild the signed root.
#[tokio::test]
async fn the_tlog_tiles_api_mirrors_the_log() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let (_, _, info) = s.get("/api/v1/ledger", Some(&s.analyst)).await;
    let vkey = info["verifier_key"].as_str().unwrap().to_owned();
    // Deny by default.
    assert_eq!(s.bytes("/tlog/checkpoint", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.bytes("/tlog/tile/0/000.p/1", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.bytes("/tlog/checkpoint", Some(&s.ingest)).await.0, StatusCode::FORBIDDEN);
    // Checkpoints are signed every few seconds; an admin can ask for one now.
    let (st, _, _) = s.post("/api/v1/ledger/checkpoint", &s.admin, "application/json", "").await;
    assert_eq!(st, StatusCode::OK);
    let (st, note) = s.bytes("/tlog/checkpoint", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK);
    let cp = stockade_ledger::checkpoint::open(&note, &vkey).unwrap();
    let n = cp.size();
    assert!(n > 1 && n < 256, "the sample day fits one partial tile ({n})");
    let (st, tile) = s.bytes(&format!("/tlog/tile/0/000.p/{n}"), Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK);
    let (st, bundle) = s.bytes(&format!("/tlog/tile/entries/000.p/{n}"), Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK);
    let entries = stockade_ledger::tiles::decode_bundle(&bundle).unwrap();
    assert_eq!(entries.len() as u64, n);
    assert_eq!(tile.len() as u64, 32 * n);
    let mut tree = stockade_ledger::Tree::new();
    for (i, e) in entries.iter().enumerate() {
        let h = stockade_ledger::leaf_hash(e);
        assert_eq!(&tile[i * 32..i * 32 + 32], &h.0, "tile hash {i} is the leaf hash of entry {i}");
        tree.push(h);
    }
    assert_eq!(tree.root(n).unwrap(), *cp.hash(), "the mirror rebuilds the signed root");
    // Tiles beyond the log, and paths that are not tiles, are 404s.
    for bad in
        ["/tlog/tile/0/001", "/tlog/tile/0/000", "/tlog/tile/1/000.p/1", "/tlog/tile/0/000.p/0", "/tlog/tile/x/000"]
    {
        assert_eq!(s.bytes(bad, Some(&s.analyst)).await.0, StatusCode::NOT_FOUND, "{bad}");
    }
    let (st, _) = s.bytes(&format!("/tlog/tile/entries/000.p/{}", n + 1), Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Tiles never change, but behind a token no shared cache may keep them.
    let cache_control = |s: &Server, path: String, token: Option<String>| {
        let mut req = s.client.get(format!("{}{path}", s.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.unwrap().headers()["cache-control"].to_str().unwrap().to_owned() }
    };
    let tile0 = format!("/tlog/tile/0/000.p/{n}");
    assert_eq!(cache_control(&s, tile0.clone(), Some(s.analyst.clone())).await, "private, max-age=31536000, immutable");
    assert_eq!(cache_control(&s, "/tlog/checkpoint".into(), Some(s.analyst.clone())).await, "no-cache");

    // Published logs need no token, and their tiles may be cached anywhere.
    let open = start_with(UnknownEntities::Flag, ServerConfig { public_tlog: true, ..Default::default() }).await;
    open.load_examples().await;
    assert_eq!(open.bytes("/tlog/checkpoint", None).await.0, StatusCode::OK);
    assert_eq!(cache_control(&open, "/tlog/tile/0/000.p/1".into(), None).await, "public, max-age=31536000, immutable");
    assert_eq!(open.get("/api/v1/ledger", None).await.0, StatusCode::UNAUTHORIZED, "only the tiles are public");
}

#[tokio::test]
async fn epcis_events_carry_their_cbv_hash_into_the_log() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let doc = include_str!("../../../tests/data/epcis/gs1/JSON/Example_9.6.1-ObjectEvent.jsonld");
    let (st, _, v) = s.post("/epcis/capture?site=LYS", &s.ingest, "application/ld+json", doc).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let (_, _, listed) = s.get("/api/v1/events?source=epcis&limit=100", Some(&s.analyst)).await;
    let epcis = listed["events"].as_array().unwrap().iter().find(|e| e["event"]["epcis"].is_object()).unwrap().clone();
    let (st, _, p) = s.get(&format!("/api/v1/ledger/events/{}/proof", epcis["seq"]), Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let hash = epcis["event"]["epcis"]["event_hash"].as_str().unwrap();
    assert!(hash.starts_with("ni:///sha-256;"));
    assert!(p["entry"].as_str().unwrap().ends_with(&format!(" epcis={hash}")), "{p}");
}

impl Server {
    async fn upload(&self, token: &str, query: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let r = self
            .client
            .post(format!("{}/api/v1/evidence?{query}", self.url))
            .bearer_auth(token)
            .header("content-type", "video/mp4")
            .body(body)
            .send()
            .await
            .unwrap();
        let st = r.status();
        (st, r.json().await.unwrap_or(Value::Null))
    }

    fn vault_objects(&self) -> usize {
        fn count(p: &std::path::Path) -> usize {
            std::fs::read_dir(p)
                .map(|rd| rd.flatten().map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 }).sum())
                .unwrap_or(0)
        }
        count(&self.dir.path().join("vault/objects"))
    }
}

const CLIP: &str =
    "incident=INC-1&class=video&collected_from=camera:LYS-CAM-DOCK&reason=shrink%20review&description=dock%203";

#[tokio::test]
async fn evidence_is_collected_read_with_custody_and_held() {
    use sha2::Digest;
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    assert_eq!(s.open_incident("dock 3 shortage").await, "INC-1");
    let clip: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let sha = hex::encode(sha2::Sha256::digest(&clip));
    let (st, v) = s.upload(&s.analyst, &format!("{CLIP}&sha256={sha}"), clip.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let id = v["record"]["id"].as_str().unwrap().to_owned();
    assert_eq!(v["record"]["sha256"], sha);
    assert_eq!(v["record"]["size"], clip.len());
    assert!(v["record"]["collected_by"].as_str().unwrap().starts_with("test (token "));
    assert_eq!(v["custody"][0]["action"], "collected");
    // The leaf of the item and of its first custody entry are in the log.
    let leaf = v["leaf_index"].as_u64().unwrap();
    let (st, _, p) = s.get(&format!("/api/v1/ledger/leaves/{leaf}/proof"), Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert!(p["entry"].as_str().unwrap().starts_with(&format!("stockade/evidence id={id} sha256={sha} ")), "{p}");
    assert!(!p["entry"].as_str().unwrap().contains("dock"), "no description in the public leaf");
    // The same proof by the item's id; an unknown id is a 404.
    let (st, _, by_id) = s.get(&format!("/api/v1/ledger/evidence/{id}/proof"), Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK, "{by_id}");
    assert_eq!((by_id["leaf_index"].as_u64(), &by_id["entry"]), (Some(leaf), &p["entry"]), "{by_id}");
    assert_eq!(s.get("/api/v1/ledger/evidence/ev_0000/proof", Some(&s.analyst)).await.0, StatusCode::NOT_FOUND);

    // Reading the content is recorded first, and re-hashed on the way out.
    let r = s
        .client
        .get(format!("{}/api/v1/evidence/{id}/content?purpose=download&reason=insurer%20asked", s.url))
        .bearer_auth(&s.analyst)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-evidence-sha256"], sha.as_str());
    assert_eq!(r.headers()["x-content-type-options"], "nosniff", "uploaded content is never sniffed or run");
    assert!(r.headers()["content-security-policy"].to_str().unwrap().starts_with("sandbox"));
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.bytes().await.unwrap().to_vec(), clip);
    let path = format!("/api/v1/evidence/{id}/content?purpose=view&reason=");
    assert_eq!(s.get(&path, Some(&s.analyst)).await.0, StatusCode::BAD_REQUEST, "a reason is required");
    let path = format!("/api/v1/evidence/{id}/content?purpose=steal&reason=x");
    assert_eq!(s.get(&path, Some(&s.analyst)).await.0, StatusCode::BAD_REQUEST);
    let path = format!("/api/v1/evidence/{id}/content?purpose=view&reason=x");
    assert_eq!(s.get(&path, Some(&s.ingest)).await.0, StatusCode::FORBIDDEN, "collectors cannot read back");
    assert_eq!(
        s.get("/api/v1/evidence/ev_nope/content?purpose=view&reason=x", Some(&s.analyst)).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, _, item) = s.get(&format!("/api/v1/evidence/{id}"), Some(&s.analyst)).await;
    let actions: Vec<&str> =
        item["custody"].as_array().unwrap().iter().map(|c| c["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["collected", "downloaded"]);
    assert_eq!(item["custody"][1]["reason"], "insurer asked");

    // Custody actions and legal holds.
    let act = |body: Value, token: String| {
        let (s, id) = (&s, id.clone());
        async move { s.post(&format!("/api/v1/evidence/{id}/custody"), &token, "application/json", body.to_string()).await }
    };
    let (st, _, v) = act(json!({"action": "hold_set", "reason": "litigation"}), s.analyst.clone()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, _, v) = act(json!({"action": "hold_set", "reason": "litigation"}), s.admin.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, _, _) = act(json!({"action": "hold_set", "reason": "again"}), s.admin.clone()).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, _, v) = act(json!({"action": "expired", "reason": "tidy"}), s.admin.clone()).await;
    assert_eq!(st, StatusCode::CONFLICT, "a hold blocks deletion: {v}");
    let (st, _, _) = act(json!({"action": "transferred", "reason": "court"}), s.analyst.clone()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "a transfer names its party");
    let (st, _, v) =
        act(json!({"action": "transferred", "reason": "court", "party": "Lyon court clerk"}), s.analyst.clone()).await;
    assert_eq!((st, v["n"].as_u64()), (StatusCode::CREATED, Some(3)), "{v}");
    let (st, _, _) = act(json!({"action": "sealed", "reason": "case closed"}), s.analyst.clone()).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _, _) = act(json!({"action": "transferred", "reason": "x", "party": "y"}), s.analyst.clone()).await;
    assert_eq!(st, StatusCode::CONFLICT, "sealed evidence is not transferred");
    let (st, _, _) = act(json!({"action": "hold_lifted", "reason": "settled"}), s.admin.clone()).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _, v) = act(json!({"action": "expired", "reason": "tidy"}), s.admin.clone()).await;
    assert_eq!(st, StatusCode::CONFLICT, "video is kept 90 days: {v}");
    assert!(v["detail"].as_str().unwrap().contains("kept until"), "{v}");
    let (st, _, _) = act(json!({"action": "teleported", "reason": "x"}), s.admin.clone()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _, _) = act(json!({"action": "downloaded", "reason": "x"}), s.admin.clone()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "reads are recorded by reading");
    let (_, _, item) = s.get(&format!("/api/v1/evidence/{id}"), Some(&s.analyst)).await;
    assert_eq!((item["held"].as_bool(), item["sealed"].as_bool()), (Some(false), Some(true)), "{item}");
    assert_eq!(item["custody"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn bad_uploads_store_nothing() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    s.open_incident("dock 3 shortage").await;
    let body = b"some photo bytes".to_vec();
    // Evidence for an incident Stockade does not hold (a mistyped id).
    let (st, v) = s.upload(&s.ingest, &CLIP.replace("INC-1", "INC-9"), body.clone()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("no incident INC-9"), "{v}");
    let wrong = "00".repeat(32);
    let (st, v) = s.upload(&s.ingest, &format!("{CLIP}&sha256={wrong}"), body.clone()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("nothing was stored"), "{v}");
    let r = s
        .client
        .post(format!("{}/api/v1/evidence?{CLIP}", s.url))
        .bearer_auth(&s.ingest)
        .header("content-digest", format!("sha-256=:{}:", "A".repeat(43) + "="))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (st, v) = s.upload(&s.ingest, &CLIP.replace("class=video", "class=hologram"), body.clone()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["detail"].as_str().unwrap().contains("unknown evidence class"), "{v}");
    let (st, _) = s.upload(&s.ingest, &CLIP.replace("reason=shrink%20review", "reason="), body.clone()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s.upload(&s.ingest, &format!("{CLIP}&original_from=yesterday"), body.clone()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let backwards = "&original_from=2026-11-02T21:00:00%2B01:00&original_to=2026-11-02T20:00:00%2B01:00";
    let (st, v) = s.upload(&s.ingest, &format!("{CLIP}{backwards}"), body.clone()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("`original_from` is after `original_to`"), "{v}");
    // A package names the source: a camera (reader, device, person) must be
    // one the reference data holds.
    let (st, v) = s.upload(&s.ingest, &CLIP.replace("camera:LYS-CAM-DOCK", "camera:LYS-CAM-9"), body.clone()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("no camera \"LYS-CAM-9\""), "{v}");
    let (st, v) = s.upload(&s.ingest, &CLIP.replace("camera:LYS-CAM-DOCK", "drone:D1"), body.clone()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("\"drone\" is not one of camera, reader"), "{v}");
    let (st, _) = s.upload(&s.ingest, &CLIP.replace("camera:LYS-CAM-DOCK", "LYS-CAM-DOCK"), body.clone()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "kind:id");
    let (st, _) = s.upload(&s.ingest, "class=video", body.clone()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "incident and provenance are required");
    let (st, _) = s.upload(&s.ingest, CLIP, Vec::new()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "empty");
    let (st, v) = s.upload(&s.ingest, CLIP, vec![7u8; (1 << 20) + 1]).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(s.upload(&s.ingest, CLIP, body.clone()).await.0, StatusCode::CREATED);

    // A body cut short: 100 bytes declared, 10 sent, connection closed.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/evidence?{CLIP} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 100\r\n\r\n0123456789",
        s.ingest
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.shutdown().await.unwrap();
    let mut reply = Vec::new();
    let _ = tcp.read_to_end(&mut reply).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(s.vault_objects(), 2, "only the one good upload is in the vault, beside the opening's snapshot");
    assert_eq!(std::fs::read_dir(s.dir.path().join("vault/tmp")).unwrap().count(), 0, "no leftovers");
}

#[tokio::test]
async fn packages_verify_offline_and_expiry_keeps_the_log_whole() {
    use stockade_evidence::package;
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    s.open_incident("dock 3 shortage").await;
    s.open_incident("scratch notes").await;
    let (_, info) = (0, s.get("/api/v1/ledger", Some(&s.analyst)).await.2);
    let key = info["verifier_key"].as_str().unwrap().to_owned();
    let (st, clip) = s.upload(&s.analyst, CLIP, b"clip one".to_vec()).await;
    assert_eq!(st, StatusCode::CREATED);
    let scratch = CLIP.replace("class=video", "class=scratch");
    let (_, note) = s.upload(&s.analyst, &scratch, b"a scratch note, kept for no time".to_vec()).await;
    // From a source Stockade does not register: named as external.
    let outside = scratch.replace("INC-1", "INC-2").replace("camera:LYS-CAM-DOCK", "external:police-bodycam-17");
    let (_, held) = s.upload(&s.analyst, &outside, b"held scratch".to_vec()).await;
    assert_eq!(held["record"]["collected_from"], "external:police-bodycam-17", "{held}");
    let held_id = held["record"]["id"].as_str().unwrap().to_owned();
    let (st, _, _) = s
        .post(
            &format!("/api/v1/evidence/{held_id}/custody"),
            &s.admin,
            "application/json",
            r#"{"action":"hold_set","reason":"lawsuit"}"#,
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);

    // Retention: the scratch note expires, the held one and the video stay.
    let (st, _, v) = s.post("/api/v1/evidence/expire", &s.admin, "application/json", "").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["expired"], json!([note["record"]["id"]]));
    let note_id = note["record"]["id"].as_str().unwrap();
    let path = format!("/api/v1/evidence/{note_id}/content?purpose=view&reason=x");
    assert_eq!(s.get(&path, Some(&s.analyst)).await.0, StatusCode::GONE);
    let (_, _, item) = s.get(&format!("/api/v1/evidence/{note_id}"), Some(&s.analyst)).await;
    assert_eq!(item["expired"], true, "the record and its tombstone remain");
    assert_eq!(s.vault_objects(), 4, "the expired file is gone; the two openings' snapshots stay");

    // Each incident lists its evidence, with the state its chain gives it.
    let (st, _, listed) = s.get("/api/v1/incidents/INC-1/evidence", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK, "{listed}");
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|v| v["record"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids[1..], [clip["record"]["id"].as_str().unwrap(), note_id]);
    assert_eq!((listed[1]["expired"].as_bool(), listed[2]["expired"].as_bool()), (Some(false), Some(true)));
    // The first is the snapshot its playbook took on opening, under legal hold.
    let snapshot = &listed[0];
    assert_eq!(
        (
            snapshot["record"]["class"].as_str(),
            snapshot["record"]["collected_from"].as_str(),
            snapshot["held"].as_bool()
        ),
        (Some("export"), Some("system:stockade"), Some(true)),
        "{snapshot}"
    );
    let (_, _, other) = s.get("/api/v1/incidents/INC-2/evidence", Some(&s.analyst)).await;
    assert_eq!((other[1]["record"]["id"].as_str(), other[1]["held"].as_bool()), (Some(held_id.as_str()), Some(true)));
    assert_eq!(other[1]["custody"].as_array().unwrap().len(), 2, "{other}");
    let (st, _, v) = s.get("/api/v1/incidents/INC-9/evidence", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("incident INC-9"), "{v}");
    assert_eq!(s.get("/api/v1/incidents/INC-1/evidence", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.post("/api/v1/evidence/expire", &s.analyst, "application/json", "").await.0, StatusCode::FORBIDDEN);

    // The package of INC-1 with two events.
    let r = s
        .client
        .get(format!("{}/api/v1/incidents/INC-1/package?events=2,3&reason=insurer%20claim", s.url))
        .bearer_auth(&s.analyst)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/x-tar");
    assert_eq!(r.headers()["cache-control"], "no-store", "no cached copy outside the custody log");
    let tar = r.bytes().await.unwrap().to_vec();
    let report = package::verify(|| Ok(&tar[..]), &key);
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(report.incident, "INC-1");
    let text = String::from_utf8_lossy(&tar);
    assert!(text.contains("expired: file deleted, record kept"), "the tombstone is in the package");
    assert!(text.contains("exported") && text.contains("insurer claim"), "the export is in its own chain");
    assert!(text.contains("clip one"));
    assert!(
        text.contains("  dock 3 shortage\n  site LYS, severity medium"),
        "the incident as opened is in the package"
    );
    assert!(report.checked.iter().any(|c| c.starts_with("incident INC-1 (audit record #")), "{:?}", report.checked);
    // Ledger integrity after expiry: the log still proves and checks.
    let (st, _, _) = s.post("/api/v1/ledger/checkpoint", &s.admin, "application/json", "").await;
    assert_eq!(st, StatusCode::OK);
    let mut bad = tar.clone();
    let at = tar.windows(8).position(|w| w == b"clip one").unwrap();
    bad[at] ^= 1;
    let report = package::verify(|| Ok(&bad[..]), &key);
    assert_eq!(report.failures[0].0, format!("evidence/{}", clip["record"]["id"].as_str().unwrap()));
    // Bad requests.
    let analyst = Some(s.analyst.as_str());
    assert_eq!(s.get("/api/v1/incidents/INC-9/package?reason=x", analyst).await.0, StatusCode::NOT_FOUND);
    // An incident stored without its opening record in the audit trail (as
    // a server without the ledger stored it): no package can prove it.
    let unlogged: stockade_incident::NewIncident =
        serde_json::from_value(json!({"site": "LYS", "title": "before the ledger",
        "from": "2026-11-02T20:00:00+01:00", "to": "2026-11-02T23:59:00+01:00"}))
        .unwrap();
    let opened = chrono::DateTime::parse_from_rfc3339("2026-11-03T08:00:00+01:00").unwrap();
    s.store.add_incident(&unlogged.open(3, opened, "earlier-server").unwrap()).await.unwrap();
    let (st, ct, v) = s.get("/api/v1/incidents/INC-3/package?reason=x&events=2", analyst).await;
    assert_eq!((st, ct.as_str()), (StatusCode::CONFLICT, "application/problem+json"), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("no opening record in the audit trail"), "{v}");
    assert_eq!(s.get("/api/v1/incidents/INC-1/package?reason=", analyst).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.get("/api/v1/incidents/INC-1/package?reason=x&events=a", analyst).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.get("/api/v1/incidents/INC-1/package?reason=x&events=99999", analyst).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/api/v1/incidents/INC-1/package?reason=x", Some(&s.ingest)).await.0, StatusCode::FORBIDDEN);
}

/// An integration limited to a site sends that site's events only.
#[tokio::test]
async fn an_integration_limited_to_a_site_sends_its_events_only() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    // An integration limited to a site sends that site's events only: the
    // others are rejected on their line, and it imports no reference data.
    let body = r#"{"role":"ingest","name":"lys scanner","sites":["LYS"]}"#;
    let (st, _, v) = s.post("/api/v1/tokens", &s.admin, "application/json", body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let chi = v["token"].as_str().unwrap().to_owned();
    let other = GOOD.replace("\"a1\"", "\"par-1\"").replace("\"site\":\"LYS\"", "\"site\":\"PAR\"");
    let mixed = format!("{other}\n{}\n", GOOD.replace("\"a1\"", "\"lys-2\""));
    let (st, _, r) = s.post("/api/v1/events", &chi, "application/x-ndjson", mixed).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!((r["accepted"].as_u64(), r["rejected"].as_u64()), (Some(1), Some(1)), "{r}");
    let refused = r["results"].as_array().unwrap().iter().find(|x| x["status"] == "rejected").unwrap();
    assert_eq!((refused["line"].as_u64(), refused["field"].as_str()), (Some(1), Some("site")), "{r}");
    assert!(refused["reason"].as_str().unwrap().contains("outside the sites this caller may send events for (LYS)"));
    let (st, _, p) = s.post("/api/v1/reference", &chi, "application/yaml", "sites: []\n").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{p}");
    // An admin still covers every site.
    let (st, _, v) =
        s.post("/api/v1/tokens", &s.admin, "application/json", r#"{"role":"admin","name":"x","sites":["LYS"]}"#).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("the admin role covers every site"), "{v}");
}

#[tokio::test]
async fn administrative_acts_are_audited_in_the_ledger() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let (st, _, trail) = s.get("/api/v1/audit", Some(&s.admin)).await;
    assert_eq!(st, StatusCode::OK, "{trail}");
    let first = &trail[0];
    assert_eq!(first["record"]["n"], 1);
    assert_eq!(first["record"]["action"], "reference_imported");
    assert!(first["record"]["actor"].as_str().unwrap().starts_with("test (token "), "{first}");
    assert_eq!(first["record"]["detail"]["via"], "api");
    let leaf = first["leaf_index"].as_u64().unwrap();
    let (_, _, p) = s.get(&format!("/api/v1/ledger/leaves/{leaf}/proof"), Some(&s.admin)).await;
    assert!(p["entry"].as_str().unwrap().starts_with("stockade/audit n=1 action=reference_imported "), "{p}");
    assert!(!p["entry"].as_str().unwrap().contains("test"), "no actor in the public leaf");
    assert_eq!(s.get("/api/v1/audit", Some(&s.analyst)).await.0, StatusCode::FORBIDDEN);
    // That refusal is the next record; nothing else happened.
    let (_, _, rest) = s.get("/api/v1/audit?after=1", Some(&s.admin)).await;
    let actions: Vec<&str> = rest.as_array().unwrap().iter().map(|a| a["record"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["permission_denied"], "{rest}");
    let (_, _, none) = s.get("/api/v1/audit?after=2", Some(&s.admin)).await;
    assert_eq!(none, json!([]));
}

/// A playbook's containment: applied at once on opening (`auto:
/// contain`), or offered on what the incident names and applied with one
/// click that also carries out the task.
#[tokio::test]
async fn playbooks_contain_at_once_or_offer_one_click() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let open = |scenario: &str, entities: Value| {
        let case = json!({"site": "LYS", "title": "tip", "scenario": scenario, "from": "2026-11-02T20:00:00+01:00",
            "to": "2026-11-02T23:59:00+01:00", "entities": entities});
        let s = &s;
        async move {
            let (st, _, got) = s.post("/api/v1/incidents", &s.analyst, "application/json", case.to_string()).await;
            assert_eq!(st, StatusCode::CREATED, "{got}");
            let (_, _, got) =
                s.get(&format!("/api/v1/incidents/{}", got["id"].as_str().unwrap()), Some(&s.analyst)).await;
            got
        }
    };
    let task = |got: &Value, id: &str| {
        got["response"]["tasks"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap().clone()
    };
    // A departed person's credential in use: their badge and account are
    // revoked as the incident opens, in force at once, the task done.
    let got = open("terminated_badge_in_use", json!(["P-003"])).await;
    assert_eq!(got["response"]["playbook"]["id"], "terminated-credential", "{got}");
    let contained: Vec<(&str, &str, &str)> = got["response"]["contained"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap(), c["target"].as_str().unwrap(), c["by"].as_str().unwrap()))
        .collect();
    assert_eq!(contained, [("revoke_badge", "B-1003", "stockade"), ("disable_account", "lmorel", "stockade")]);
    let t = task(&got, "revoke-credentials");
    assert_eq!((t["status"].as_str(), t["by"].as_str()), (Some("done"), Some("stockade")), "{t}");
    let (_, _, timeline) = s.get("/api/v1/incidents/INC-1/timeline", Some(&s.analyst)).await;
    assert!(timeline.to_string().contains("every containment it offers is in force"), "{timeline}");
    assert_eq!(got["containment_offers"], json!([]));
    let (_, _, held) = s.get("/api/v1/containment", Some(&s.analyst)).await;
    assert_eq!(held.as_array().unwrap().len(), 2, "{held}");
    assert!(held.as_array().unwrap().iter().all(|h| h["incident"] == "INC-1"), "{held}");
    // A person with nothing left to revoke: a note says so, the task waits for a person.
    let got = open("terminated_badge_in_use", json!(["P-004"])).await;
    assert_eq!(task(&got, "revoke-credentials")["status"], "open");
    let (_, _, timeline) = s.get("/api/v1/incidents/INC-2/timeline", Some(&s.analyst)).await;
    assert!(timeline.to_string().contains("names nothing it applies to; left to a person"), "{timeline}");

    // Cage theft: what it names is offered, each under the task that offers it.
    let got = open("after_hours_cage_removal", json!(["P-002", "LYS-CAGE-01", "P-003"])).await;
    let offered: Vec<(&str, &str, &str)> = got["containment_offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["task"].as_str().unwrap(), o["action"].as_str().unwrap(), o["target"].as_str().unwrap()))
        .collect();
    // P-003's badge and account are held already (by INC-1): not offered again.
    assert_eq!(
        offered,
        [("isolate-cage", "quarantine_location", "LYS-CAGE-01"), ("revoke-credentials", "revoke_badge", "B-1002")],
        "{got}"
    );
    let contain = |body: Value| {
        let s = &s;
        async move { s.post("/api/v1/incidents/INC-3/containment", &s.analyst, "application/json", body.to_string()).await }
    };
    // Refused: a task that does not offer the action, or does not exist; nothing recorded.
    for (body, says) in [
        (
            json!({"action": "lock_door", "target": "LYS-D-CAGE", "reason": "x", "task": "revoke-credentials"}),
            "never offers lock_door",
        ),
        (json!({"action": "revoke_badge", "target": "B-1002", "reason": "x", "task": "nope"}), "has no task \"nope\""),
        (
            json!({"action": "revoke_badge", "target": "B-1002", "reason": "x", "task": "revoke-credentials", "lift": true}),
            "holds no revoke_badge",
        ),
    ] {
        let (st, _, p) = contain(body).await;
        assert_eq!(st, StatusCode::CONFLICT, "{p}");
        assert!(p["detail"].as_str().unwrap().contains(says), "{says}: {p}");
    }
    let (_, _, held) = s.get("/api/v1/containment", Some(&s.analyst)).await;
    assert_eq!(held.as_array().unwrap().len(), 2, "{held}");
    // One click: the offer as it is, with a reason; its task is done, having nothing more to offer.
    let (st, _, w) = contain(
        json!({"action": "revoke_badge", "target": "B-1002", "reason": "cage theft", "task": "revoke-credentials"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{w}");
    let (_, _, got) = s.get("/api/v1/incidents/INC-3", Some(&s.analyst)).await;
    assert_eq!(task(&got, "revoke-credentials")["status"], "done");
    assert_eq!(task(&got, "isolate-cage")["status"], "open");
    assert_eq!(got["containment_offers"].as_array().unwrap().len(), 1, "{got}");
    // Applied without naming the task, the offer goes but the task stays for a person.
    let (st, _, _) =
        contain(json!({"action": "quarantine_location", "target": "LYS-CAGE-01", "reason": "count first"})).await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, _, got) = s.get("/api/v1/incidents/INC-3", Some(&s.analyst)).await;
    assert_eq!(
        (task(&got, "isolate-cage")["status"].as_str(), got["containment_offers"].clone()),
        (Some("open"), json!([]))
    );
}

#[tokio::test]
async fn incidents_are_opened_numbered_audited_and_listed() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let case = json!({
        "site": "LYS", "title": "phones left the cage after hours", "severity": "high",
        "scenario": "after_hours_cage_removal",
        "from": "2026-11-02T22:00:00+01:00", "to": "2026-11-02T23:30:00+01:00",
        "entities": ["P-003", "LYS-CAGE-01"],
        "events": [{"source": "wms-lys", "id": "wms-2"}]
    });
    let (st, _, first) = s.post("/api/v1/incidents", &s.analyst, "application/json", case.to_string()).await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    assert_eq!(first["id"], "INC-1");
    assert_eq!(first["severity"], "high");
    assert!(first["opened_by"].as_str().unwrap().starts_with("test (token "), "{first}");
    let mut other = case.clone();
    other["site"] = json!("CHI");
    other["events"] = json!([]);
    let (st, _, second) = s.post("/api/v1/incidents", &s.admin, "application/json", other.to_string()).await;
    assert_eq!((st, second["id"].as_str()), (StatusCode::CREATED, Some("INC-2")), "{second}");

    let (st, _, mut got) = s.get("/api/v1/incidents/INC-1", Some(&s.analyst)).await;
    // No detection alert cites its event: nothing to link (an analyst's
    // citations are proven by seq).
    assert_eq!(got.as_object_mut().unwrap().remove("cited"), Some(json!([])));
    // Opened by hand: no case, so nothing joined it since.
    let since = got.as_object_mut().unwrap().remove("since_opened").unwrap();
    assert_eq!(since, json!({"alerts": [], "entities": [], "events": [], "from": null, "to": null}));
    // Nothing counted short yet: nothing at stake.
    let stake = got.as_object_mut().unwrap().remove("stake").unwrap();
    assert_eq!(stake, json!({"units": 0.0, "value": 0.0, "source": "counts"}));
    // What its playbook's open tasks offer to contain on what it names:
    // the cage location it names, the badge and account of the person.
    let offers = got.as_object_mut().unwrap().remove("containment_offers").unwrap();
    let offered: Vec<(&str, &str, &str)> = offers
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["task"].as_str().unwrap(), o["action"].as_str().unwrap(), o["target"].as_str().unwrap()))
        .collect();
    assert_eq!(
        offered,
        [
            ("isolate-cage", "quarantine_location", "LYS-CAGE-01"),
            ("revoke-credentials", "revoke_badge", "B-1003"),
            ("revoke-credentials", "disable_account", "lmorel")
        ],
        "{offers}"
    );
    // LYS's continuity plan, with what the book holds of each SKU to restore first.
    let continuity = got.as_object_mut().unwrap().remove("continuity").unwrap();
    assert_eq!(continuity[0]["site"], "LYS", "{continuity}");
    assert!(continuity[0]["backup_fulfilment"].as_str().unwrap().starts_with("Orders ship from CHI"));
    let skus: Vec<&str> =
        continuity[0]["recovery"].as_array().unwrap().iter().map(|l| l["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["SKU-PHONE-X", "SKU-TV-55"]);
    assert!(continuity[0]["recovery"][0]["on_hand"].as_f64().unwrap() > 0.0, "{continuity}");
    // Its response: nobody has looked yet; the playbook of its scenario
    // was instantiated and its automatic first step done.
    let response = got.as_object_mut().unwrap().remove("response").unwrap();
    assert_eq!((response["status"].as_str(), response["entries"].as_u64()), (Some("detected"), Some(3)), "{response}");
    assert_eq!(response["playbook"]["id"], "cage-theft", "{response}");
    assert_eq!((st, &got), (StatusCode::OK, &first));
    let (_, _, all) = s.get("/api/v1/incidents", Some(&s.analyst)).await;
    assert_eq!(all, json!([first, second]));
    let (_, _, chi) = s.get("/api/v1/incidents?site=CHI", Some(&s.analyst)).await;
    assert_eq!(chi, json!([second]));
    let (_, _, page) = s.get("/api/v1/incidents?after=1&limit=1", Some(&s.analyst)).await;
    assert_eq!(page, json!([second]));
    assert_eq!(s.get("/api/v1/incidents/INC-3", Some(&s.analyst)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/api/v1/incidents/nonsense", Some(&s.analyst)).await.0, StatusCode::NOT_FOUND);

    // The opening is in the audit trail, whole, with its leaf.
    let (_, _, trail) = s.get("/api/v1/audit", Some(&s.admin)).await;
    let opened: Vec<&Value> =
        trail.as_array().unwrap().iter().filter(|a| a["record"]["action"] == "incident_opened").collect();
    assert_eq!(opened.len(), 2);
    assert_eq!(opened[0]["record"]["detail"], first);

    // Refusals: each names the fault, and nothing is opened.
    let refuse = |body: Value, field: &'static str| {
        let s = &s;
        async move {
            let (st, ct, p) = s.post("/api/v1/incidents", &s.analyst, "application/json", body.to_string()).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
            assert_eq!(ct, "application/problem+json");
            assert_eq!(p["errors"][0]["field"], field, "{p}");
        }
    };
    let with = |k: &str, v: Value| {
        let mut c = case.clone();
        c[k] = v;
        c
    };
    refuse(with("site", json!("PAR")), "site").await;
    refuse(
        with("events", json!([{"source": "wms-lys", "id": "wms-1"}, {"source": "wms-lys", "id": "nope"}])),
        "events/1",
    )
    .await;
    refuse(with("to", json!("2026-11-02T20:00:00+01:00")), "to").await;
    refuse(with("title", json!("")), "title").await;
    for bad in [
        with("from", json!("2026-11-02T22:00:00")).to_string(),
        with("severity", json!("apocalyptic")).to_string(),
        with("id", json!("INC-99")).to_string(),
        "{not json".to_string(),
    ] {
        let (st, _, p) = s.post("/api/v1/incidents", &s.analyst, "application/json", bad).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
        assert!(p["detail"].as_str().unwrap().starts_with("incident: "), "{p}");
    }
    let (st, _, _) = s.post("/api/v1/incidents", &s.analyst, "text/plain", case.to_string()).await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        s.post("/api/v1/incidents", &s.ingest, "application/json", case.to_string()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        s.post("/api/v1/incidents", "wrong", "application/json", case.to_string()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(s.get("/api/v1/incidents", None).await.0, StatusCode::UNAUTHORIZED);
    let (_, _, all) = s.get("/api/v1/incidents", Some(&s.analyst)).await;
    assert_eq!(all.as_array().unwrap().len(), 2, "no refused incident was opened");
}

/// Polls until detection has stored `n` alerts (it runs as events commit).
async fn alerts_when(s: &Server, path: &str, n: usize) -> Value {
    for _ in 0..200 {
        let (st, _, v) = s.get(path, Some(&s.analyst)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        if v.as_array().is_some_and(|a| a.len() >= n) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("detection stored fewer than {n} alerts at {path}");
}

#[tokio::test]
async fn alerts_risk_and_incidents_explain_what_detection_found() {
    let s = start_detecting(|_| RuleSource::Builtin).await;
    s.load_examples().await;
    // Alerts are stored as soon as detection raises them; the incident
    // their case opens names them a moment later.
    let mut all = alerts_when(&s, "/api/v1/alerts", 1).await;
    for _ in 0..200 {
        if all.as_array().is_some_and(|a| a.iter().any(|a| a["incident"].is_string())) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        all = s.get("/api/v1/alerts", Some(&s.analyst)).await.2;
    }
    let first = &all[0];
    for k in ["n", "case", "rule", "title", "level", "site", "at", "seq", "event", "entities", "reason"] {
        assert!(!first[k].is_null(), "{k} missing: {first}");
    }
    // Every cited event links to its inclusion proof, which proves.
    let seq = first["event"]["seq"].as_i64().unwrap();
    let proof = first["event"]["proof"].as_str().unwrap();
    assert_eq!(proof, format!("/api/v1/ledger/events/{seq}/proof"));
    assert_eq!(s.get(proof, Some(&s.analyst)).await.0, StatusCode::OK);

    // Filters: by entity, rule, site, time and incident.
    let who = &first["entities"][0];
    let (kind, id) = (who["type"].as_str().unwrap(), who["id"].as_str().unwrap());
    let (_, _, by_entity) = s.get(&format!("/api/v1/alerts?entity={kind}:{id}"), Some(&s.analyst)).await;
    let by_entity = by_entity.as_array().unwrap();
    assert!(!by_entity.is_empty());
    assert!(by_entity.iter().all(|a| a["entities"].as_array().unwrap().contains(who)), "{by_entity:?}");
    let rule = first["rule"].as_str().unwrap();
    let (_, _, by_rule) = s.get(&format!("/api/v1/alerts?rule={rule}"), Some(&s.analyst)).await;
    assert!(by_rule.as_array().unwrap().iter().all(|a| a["rule"] == rule));
    let (_, _, nowhere) = s.get("/api/v1/alerts?site=NOWHERE", Some(&s.analyst)).await;
    assert_eq!(nowhere, json!([]));
    let (_, _, later) = s.get("/api/v1/alerts?from=2030-01-01T00:00:00Z", Some(&s.analyst)).await;
    assert_eq!(later, json!([]));
    let (_, _, none) = s.get("/api/v1/alerts?entity=person:NOBODY", Some(&s.analyst)).await;
    assert_eq!(none, json!([]));

    // Risk: the entities of the alerts, highest first, as of a time.
    let at = first["at"].as_str().unwrap().replace('+', "%2B");
    let (st, _, risk) = s.get(&format!("/api/v1/risk?at={at}"), Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK, "{risk}");
    let risk = risk.as_array().unwrap();
    assert!(risk.iter().any(|r| r["type"] == kind && r["id"] == id), "{risk:?}");
    assert!(risk.windows(2).all(|w| w[0]["risk"].as_f64() >= w[1]["risk"].as_f64()));
    let (_, _, before) = s.get("/api/v1/risk?at=2000-01-01T00:00:00Z", Some(&s.analyst)).await;
    assert_eq!(before, json!([]));

    // An incident detection opened cites its events with their proofs.
    if let Some(inc) = all.as_array().unwrap().iter().find_map(|a| a["incident"].as_str()) {
        let (_, _, i) = s.get(&format!("/api/v1/incidents/{inc}"), Some(&s.analyst)).await;
        // Cited: the events of the record, and those of alerts that joined
        // its case after it opened (`since_opened`), each with its proof.
        let cited = i["cited"].as_array().unwrap();
        let later = i["since_opened"]["events"].as_array().unwrap();
        assert_eq!(cited.len(), i["events"].as_array().unwrap().len() + later.len(), "{i}");
        let joined = i["since_opened"]["alerts"].as_array().unwrap();
        assert_eq!(joined.is_empty(), later.is_empty(), "{i}");
        for c in cited {
            assert_eq!(s.get(c["proof"].as_str().unwrap(), Some(&s.analyst)).await.0, StatusCode::OK);
        }
        let (_, _, of) = s.get(&format!("/api/v1/alerts?incident={inc}"), Some(&s.analyst)).await;
        assert!(of.as_array().unwrap().iter().all(|a| a["incident"] == inc), "{of}");
    } else {
        panic!("the example day opened no incident: {all}");
    }

    // Refusals: each names the parameter.
    for (q, needle) in [
        ("entity=person", "entity"),
        ("entity=planet:X", "entity"),
        ("incident=42", "incident"),
        ("from=yesterday", "from"),
        ("limit=0", "limit"),
    ] {
        let (st, ct, p) = s.get(&format!("/api/v1/alerts?{q}"), Some(&s.analyst)).await;
        assert_eq!((st, ct.as_str()), (StatusCode::BAD_REQUEST, "application/problem+json"), "{q}: {p}");
        assert!(p["detail"].as_str().unwrap().contains(needle), "{q}: {p}");
    }
    assert_eq!(s.get("/api/v1/risk?at=soon", Some(&s.analyst)).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.get("/api/v1/alerts", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/api/v1/alerts", Some(&s.ingest)).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn rules_are_listed_and_reloaded_by_an_admin_and_audited() {
    let rules = |dir: &std::path::Path| {
        let d = dir.join("rules");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("access.yml"), include_str!("../../../rules/access.yml")).unwrap();
        RuleSource::Dir(d)
    };
    let s = start_detecting(rules).await;
    let (st, _, listed) = s.get("/api/v1/rules", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK, "{listed}");
    let n = listed.as_array().unwrap().len();
    assert!(listed.as_array().unwrap().iter().any(|r| r["name"] == "access-cage-after-hours"), "{listed}");
    std::fs::write(s.dir.path().join("rules/video.yml"), include_str!("../../../rules/video.yml")).unwrap();
    assert_eq!(s.post("/api/v1/rules/reload", &s.analyst, "application/json", "").await.0, StatusCode::FORBIDDEN);
    let (st, _, r) = s.post("/api/v1/rules/reload", &s.admin, "application/json", "").await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let now = s.get("/api/v1/rules", Some(&s.analyst)).await.2.as_array().unwrap().len();
    assert!(now > n && r["rules"] == now, "{r} {now} {n}");
    let (_, _, trail) = s.get("/api/v1/audit", Some(&s.admin)).await;
    let reloads: Vec<&Value> =
        trail.as_array().unwrap().iter().filter(|a| a["record"]["action"] == "rules_reloaded").collect();
    assert_eq!(reloads.len(), 1);
    assert_eq!(reloads[0]["record"]["detail"]["sha256"], r["sha256"]);

    // A broken file: 422 naming file and line; the rules in force stay.
    std::fs::write(s.dir.path().join("rules/bad.yml"), "title: x\nid: nope\nlogsource: {}\n").unwrap();
    let (st, ct, p) = s.post("/api/v1/rules/reload", &s.admin, "application/json", "").await;
    assert_eq!((st, ct.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "application/problem+json"), "{p}");
    assert!(p["errors"][0]["field"].as_str().unwrap().ends_with("bad.yml"), "{p}");
    assert!(p["errors"][0]["line"].as_u64().unwrap() >= 1, "{p}");
    assert_eq!(s.get("/api/v1/rules", Some(&s.analyst)).await.2.as_array().unwrap().len(), now);
}

#[tokio::test]
async fn rules_without_detection_are_a_conflict() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    let (st, _, p) = s.get("/api/v1/rules", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(s.post("/api/v1/rules/reload", &s.admin, "application/json", "").await.0, StatusCode::CONFLICT);
}

#[tokio::test]
async fn incidents_are_worked_through_their_lifecycle_and_every_act_is_a_leaf() {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-03T08:00:00Z").unwrap().to_utc();
    let clock = Arc::new(ManualClock::new(t0));
    let s = start_clocked(UnknownEntities::Flag, ServerConfig::default(), clock.clone()).await;
    s.load_examples().await;
    let case = json!({
        "site": "LYS", "title": "phones left the cage after hours", "severity": "high",
        "from": "2026-11-02T22:00:00+01:00", "to": "2026-11-02T23:30:00+01:00",
        "entities": ["P-003", "LYS-CAGE-01", "B-1003"],
        "events": [{"source": "wms-lys", "id": "wms-2"}, {"source": "wms-lys", "id": "wms-1"}]
    });
    let (st, _, v) = s.post("/api/v1/incidents", &s.analyst, "application/json", case.to_string()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let act = |id: &'static str, body: Value| {
        let (s, clock) = (&s, clock.clone());
        async move {
            clock.advance(chrono::Duration::minutes(15));
            s.post(&format!("/api/v1/incidents/{id}/timeline"), &s.analyst, "application/json", body.to_string()).await
        }
    };
    let (st, _, v) = act("INC-1", json!({"act": "assign", "owner": "security:ana"})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["response"]["owner"], "security:ana");
    // An illegal move is refused with the way forward, and records nothing.
    let (st, ct, p) = act("INC-1", json!({"act": "transition", "to": "closed"})).await;
    assert_eq!((st, ct.as_str()), (StatusCode::CONFLICT, "application/problem+json"), "{p}");
    assert_eq!(
        p["detail"],
        "INC-1 is detected: it cannot move to closed; from detected it can move to triaged, contained, false_positive"
    );
    for body in [
        json!({"act": "transition", "to": "triaged"}),
        json!({"act": "transition", "to": "contained", "reason": "badge B-1003 revoked, cage locked"}),
        json!({"act": "note", "text": "CCTV export requested from the site"}),
        json!({"act": "transition", "to": "investigating"}),
    ] {
        let (st, _, v) = act("INC-1", body.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{body}: {v}");
    }
    // The stake, declared with its reason, stands over what counts found.
    let (st, _, v) = act(
        "INC-1",
        json!({"act": "stake", "units": 40, "value": 35960.0, "reason": "40 phones missing at the recount"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, _, one) = s.get("/api/v1/incidents/INC-1", Some(&s.analyst)).await;
    assert_eq!(one["stake"], json!({"units": 40.0, "value": 35960.0, "source": "declared"}));
    let (st, _, p) = act("INC-1", json!({"act": "stake", "units": -1, "value": 0, "reason": "x"})).await;
    assert_eq!(
        (st, p["detail"].as_str()),
        (StatusCode::CONFLICT, Some("`units` and `value` are numbers, zero or more"))
    );
    // Bad input: each refused with its reason; nothing recorded.
    for (body, want, why) in [
        (json!({"act": "transition", "to": "recovered"}), StatusCode::CONFLICT, "cannot move to recovered"),
        (json!({"act": "severity", "to": "high", "reason": "x"}), StatusCode::CONFLICT, "already of high severity"),
        (
            json!({"act": "link", "events": [{"source": "wms-lys", "id": "nope"}]}),
            StatusCode::CONFLICT,
            "no event \"nope\"",
        ),
        (json!({"act": "link", "sites": ["PAR"]}), StatusCode::CONFLICT, "no site \"PAR\""),
        (json!({"act": "transition", "to": "triaged", "by": "me"}), StatusCode::BAD_REQUEST, "unknown field `by`"),
        (json!({"act": "shout"}), StatusCode::BAD_REQUEST, "unknown variant `shout`"),
    ] {
        let (st, _, p) = act("INC-1", body.clone()).await;
        assert_eq!(st, want, "{body}: {p}");
        assert!(p["detail"].as_str().unwrap().contains(why), "{body}: {p}");
    }
    assert_eq!(act("INC-9", json!({"act": "note", "text": "x"})).await.0, StatusCode::NOT_FOUND);
    let (st, _, _) = s
        .post(
            "/api/v1/incidents/INC-1/timeline",
            &s.ingest,
            "application/json",
            json!({"act": "note", "text": "x"}).to_string(),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "the ingest role does not work incidents");
    let (st, _, _) = s.post("/api/v1/incidents/INC-1/timeline", &s.analyst, "text/plain", "note".to_string()).await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // The timeline: five entries in order, each an audit record and a leaf.
    let (st, _, w) = s.get("/api/v1/incidents/INC-1/timeline", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK);
    let timeline = w["timeline"].as_array().unwrap();
    let acts: Vec<&str> = timeline.iter().map(|e| e["act"].as_str().unwrap()).collect();
    assert_eq!(acts, ["playbook", "task", "task", "assign", "transition", "transition", "note", "transition", "stake"]);
    // Opened by hand with no rule or scenario: the default playbook, its
    // automatic first steps done by Stockade.
    assert_eq!(timeline[0]["id"], "security-incident");
    assert_eq!(
        (timeline[1]["actor"].as_str(), timeline[1]["task"].as_str()),
        (Some("stockade"), Some("open-incident-log"))
    );
    assert_eq!(timeline[2]["task"], "preserve-evidence");
    let why = timeline[2]["reason"].as_str().unwrap();
    assert!(why.contains("snapshots 2 cited events with inclusion proofs") && why.ends_with("legal hold set"), "{why}");
    // The snapshot: the cited events as stored, each with its inclusion proof.
    let (_, _, evidence) = s.get("/api/v1/incidents/INC-1/evidence", Some(&s.analyst)).await;
    let snap_id = evidence[0]["record"]["id"].as_str().unwrap().to_owned();
    assert_eq!(evidence[0]["held"], true);
    let (st, bytes) =
        s.bytes(&format!("/api/v1/evidence/{snap_id}/content?purpose=view&reason=check"), Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK);
    let snap: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!((snap["format"].as_str(), snap["incident"].as_str()), (Some("stockade-snapshot/1"), Some("INC-1")));
    let ids: Vec<&str> =
        snap["events"].as_array().unwrap().iter().map(|e| e["event"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["wms-2", "wms-1"], "cited before the span, found all the same");
    for e in snap["events"].as_array().unwrap() {
        assert!(!e["inclusion"]["proof"].as_array().unwrap().is_empty(), "{e}");
        assert_eq!(e["sha256"].as_str().unwrap().len(), 64);
    }
    assert!(snap["log"]["checkpoint"].as_str().unwrap().starts_with("stockade.test/ledger"), "{snap}");
    assert_eq!(w["response"]["status"], "investigating");
    assert_eq!(w["response"]["reached"]["contained"], "2026-11-03T09:00:00Z", "refusals advanced the clock too");
    let (_, _, trail) = s.get("/api/v1/audit", Some(&s.admin)).await;
    let entries: Vec<&Value> =
        trail.as_array().unwrap().iter().filter(|a| a["record"]["action"] == "incident_entry").collect();
    assert_eq!(entries.len(), 9);
    for (e, a) in timeline.iter().zip(&entries) {
        let mut listed = e.clone();
        let o = listed.as_object_mut().unwrap();
        let proof = o.remove("proof").unwrap();
        let leaf = o.remove("leaf_index").unwrap();
        assert_eq!(a["record"]["detail"], listed);
        assert_eq!(a["leaf_index"], leaf);
        let (st, _, _) = s.get(proof.as_str().unwrap(), Some(&s.analyst)).await;
        assert_eq!(st, StatusCode::OK, "{proof}");
    }

    // A second incident about the same night, merged into the first.
    let mut dup = case.clone();
    dup["entities"] = json!(["P-003", "LYS-D-CAGE"]);
    dup["events"] = json!([]);
    let (st, _, _) = s.post("/api/v1/incidents", &s.analyst, "application/json", dup.to_string()).await;
    assert_eq!(st, StatusCode::CREATED);
    let merge = |id: &str, body: Value| {
        let s = &s;
        let path = format!("/api/v1/incidents/{id}/merge");
        async move { s.post(&path, &s.analyst, "application/json", body.to_string()).await }
    };
    assert_eq!(merge("INC-2", json!({"into": "INC-2"})).await.0, StatusCode::CONFLICT);
    assert_eq!(merge("INC-2", json!({"into": "INC-7"})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(merge("INC-2", json!({"to": "INC-1"})).await.0, StatusCode::BAD_REQUEST);
    let (st, _, m) = merge("INC-2", json!({"into": "INC-1", "reason": "same night, same cage"})).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["merged"]["response"]["status"], "duplicate");
    assert_eq!(m["into"]["response"]["absorbed"], json!(["INC-2"]));
    assert!(m["into"]["response"]["entities"].as_array().unwrap().contains(&json!("LYS-D-CAGE")));
    let (st, _, p) = act("INC-2", json!({"act": "transition", "to": "triaged"})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(p["detail"], "INC-2 was merged into INC-1; work on it there");

    // Split the badge and one event off into their own incident.
    let split = json!({"title": "badge B-1003 lent out", "entities": ["B-1003"],
        "events": [{"source": "wms-lys", "id": "wms-1"}]});
    let (st, _, p) = s
        .post(
            "/api/v1/incidents/INC-1/split",
            &s.analyst,
            "application/json",
            json!({"title": "x", "entities": ["P-999"]}).to_string(),
        )
        .await;
    assert_eq!((st, p["detail"].as_str()), (StatusCode::CONFLICT, Some("INC-1 does not name \"P-999\"")));
    let (st, _, sp) = s.post("/api/v1/incidents/INC-1/split", &s.analyst, "application/json", split.to_string()).await;
    assert_eq!(st, StatusCode::CREATED, "{sp}");
    assert_eq!(sp["new"]["incident"]["id"], "INC-3");
    assert_eq!(sp["new"]["timeline"][0]["act"], "split_from");
    assert_eq!(
        sp["new"]["response"]["detected"], sp["source"]["response"]["detected"],
        "the clock runs from the first detection"
    );
    assert!(!sp["source"]["response"]["entities"].as_array().unwrap().contains(&json!("B-1003")));
    assert_eq!(sp["source"]["response"]["split_into"], json!(["INC-3"]));

    // Listed by where their response stands.
    let ids = |v: Value| v.as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(s.get("/api/v1/incidents?status=open", Some(&s.analyst)).await.2), ["INC-1", "INC-3"]);
    assert_eq!(ids(s.get("/api/v1/incidents?status=duplicate", Some(&s.analyst)).await.2), ["INC-2"]);
    assert_eq!(ids(s.get("/api/v1/incidents?status=investigating&limit=1", Some(&s.analyst)).await.2), ["INC-1"]);
    assert_eq!(ids(s.get("/api/v1/incidents?status=open&after=1", Some(&s.analyst)).await.2), ["INC-3"]);
    assert_eq!(s.get("/api/v1/incidents?status=solved", Some(&s.analyst)).await.0, StatusCode::BAD_REQUEST);
    // Finish INC-1 (its open tasks first), judge INC-3 a false positive; the KPIs follow.
    for to in ["remediating", "recovered"] {
        let (st, _, v) = act("INC-1", json!({"act": "transition", "to": to})).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let (st, _, p) = act("INC-1", json!({"act": "transition", "to": "closed"})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(p["detail"].as_str().unwrap().contains("still has open tasks (triage, notify-incident-team"), "{p}");
    let (_, _, queue) = s.get("/api/v1/tasks?open=true&site=LYS", Some(&s.analyst)).await;
    let mine: Vec<String> = queue
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["incident"] == "INC-1")
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(mine.len(), 6, "{queue}");
    for task in mine {
        let (st, _, v) =
            act("INC-1", json!({"act": "task", "task": task, "to": "skipped", "reason": "done on paper"})).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let (st, _, v) = act("INC-1", json!({"act": "transition", "to": "closed"})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, _, _) =
        act("INC-3", json!({"act": "transition", "to": "false_positive", "reason": "badge was lent with approval"}))
            .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _, k) = s.get("/api/v1/kpi?site=LYS&every=week", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK, "{k}");
    assert_eq!(
        (k["incidents"].as_u64(), k["duplicates"].as_u64(), k["false_positives"].as_u64()),
        (Some(3), Some(1), Some(1)),
        "{k}"
    );
    assert_eq!(k["open"], 0);
    // Opened by hand at 08:00Z for activity from 21:00Z: detected 11 h after the first signal.
    assert_eq!(k["time_to_detect"]["median_s"], 39_600.0);
    assert_eq!(k["time_to_contain"]["median_s"], 3600.0);
    assert!(k["time_to_recover"]["median_s"].as_f64().unwrap() > 3600.0);
    assert_eq!(k["trend"].as_array().unwrap().len(), 1);
    let (_, _, other) = s.get("/api/v1/kpi?site=CHI", Some(&s.analyst)).await;
    assert_eq!((other["incidents"].as_u64(), other["time_to_detect"]["count"].as_u64()), (Some(0), Some(0)), "{other}");
    let (_, _, later) = s.get("/api/v1/kpi?from=2026-11-04T00:00:00Z", Some(&s.analyst)).await;
    assert_eq!(later["incidents"], 0, "detected before the period");
    for bad in [
        "/api/v1/kpi?every=year",
        "/api/v1/kpi?from=yesterday",
        "/api/v1/kpi?from=2026-11-04T00:00:00Z&to=2026-11-03T00:00:00Z",
    ] {
        assert_eq!(s.get(bad, Some(&s.analyst)).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(s.get("/api/v1/kpi", None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn playbook_tasks_are_queued_by_role_worked_and_recorded_overdue() {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-03T08:00:00Z").unwrap().to_utc();
    let clock = Arc::new(ManualClock::new(t0));
    let config = ServerConfig {
        overdue_every: std::time::Duration::from_millis(50),
        webhook_every: std::time::Duration::from_millis(30),
        ..Default::default()
    };
    // A pager that is told of overdue tasks.
    let pager = Receiver::default();
    let pager_url = pager.clone().start().await;
    let hooks =
        format!("endpoints:\n  - {{name: pager, url: \"{pager_url}\", secret_env: T, actions: [task_overdue]}}\n");
    let env = |_: &str| Some(ACS_SECRET.to_owned());
    let targets = stockade_respond::webhook::Config::load(&hooks, &["task_overdue"], env).unwrap();
    let s = start_hooked(UnknownEntities::Flag, config, clock.clone(), None, targets).await;
    s.load_examples().await;
    let case = json!({"site": "LYS", "title": "badge of a leaver opened the cage", "severity": "high",
        "rules": ["access-cage-after-hours"],
        "from": "2026-11-03T07:30:00Z", "to": "2026-11-03T07:40:00Z", "entities": ["B-1003"]});
    let (st, _, v) = s.post("/api/v1/incidents", &s.analyst, "application/json", case.to_string()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, _, w) = s.get("/api/v1/incidents/INC-1/timeline", Some(&s.analyst)).await;
    assert_eq!(w["response"]["playbook"]["id"], "cage-theft", "chosen by its rule");
    let (st, _, queue) = s.get("/api/v1/tasks?role=it&open=true", Some(&s.analyst)).await;
    assert_eq!(st, StatusCode::OK);
    let ids: Vec<&str> = queue.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["revoke-credentials"]);
    assert_eq!(queue[0]["due"], "2026-11-03T09:00:00Z", "an hour after it was opened by hand");
    assert_eq!(queue[0]["late"], false);
    assert_eq!(s.get("/api/v1/tasks?role=janitor", Some(&s.analyst)).await.0, StatusCode::BAD_REQUEST);

    let task = |body: Value| {
        let s = &s;
        async move { s.post("/api/v1/incidents/INC-1/timeline", &s.analyst, "application/json", body.to_string()).await }
    };
    let (st, _, p) = task(json!({"act": "task", "task": "revoke-credentials", "to": "done"})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(p["detail"], "task \"revoke-credentials\" comes after \"isolate-cage\", which is still open");
    let (st, _, _) = task(json!({"act": "check", "task": "isolate-cage", "item": 0})).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _, w) = task(json!({"act": "task", "task": "isolate-cage", "to": "done"})).await;
    assert_eq!(st, StatusCode::CREATED);
    let isolate =
        w["response"]["tasks"].as_array().unwrap().iter().find(|t| t["id"] == "isolate-cage").unwrap().clone();
    assert_eq!((&isolate["status"], &isolate["checked"]), (&json!("done"), &json!([0])), "{isolate}");

    // Two hours on, the sweep records what is late, once.
    clock.advance(chrono::Duration::hours(2));
    let mut overdue = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let (_, _, w) = s.get("/api/v1/incidents/INC-1/timeline", Some(&s.analyst)).await;
        overdue = w["timeline"].as_array().unwrap().iter().filter(|e| e["act"] == "overdue").cloned().collect();
        if overdue.len() >= 2 {
            break;
        }
    }
    let late: Vec<&str> = overdue.iter().map(|e| e["task"].as_str().unwrap()).collect();
    assert_eq!(late, ["revoke-credentials", "notify-incident-team"], "{overdue:?}");
    assert!(overdue.iter().all(|e| e["actor"] == "stockade"));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (_, _, w) = s.get("/api/v1/incidents/INC-1/timeline", Some(&s.analyst)).await;
    assert_eq!(w["timeline"].as_array().unwrap().iter().filter(|e| e["act"] == "overdue").count(), 2, "once each");
    let (_, _, late) = s.get("/api/v1/tasks?late=true", Some(&s.analyst)).await;
    assert_eq!(late.as_array().unwrap().len(), 2, "{late}");
    assert!(late.as_array().unwrap().iter().all(|t| t["overdue"] == true && t["late"] == true));
    // The pager was told of each, once, signed.
    let told = deliveries_when(&s, "delivered", 2).await;
    assert_eq!(told.as_array().unwrap().len(), 2, "{told}");
    let got = pager.got.lock().unwrap().clone();
    let mut paged: Vec<(String, String)> = got
        .iter()
        .map(|(_, body)| {
            let b: Value = serde_json::from_str(body).unwrap();
            assert_eq!(
                (b["type"].as_str(), b["incident"].as_str(), b["site"].as_str()),
                (Some("task_overdue"), Some("INC-1"), Some("LYS")),
                "{b}"
            );
            (b["task"].as_str().unwrap().to_owned(), b["role"].as_str().unwrap().to_owned())
        })
        .collect();
    paged.sort();
    assert_eq!(paged, [("notify-incident-team".into(), "security".into()), ("revoke-credentials".into(), "it".into())]);
    for (headers, body) in &got {
        let ts: i64 = headers["stockade-timestamp"].to_str().unwrap().parse().unwrap();
        let sig = headers["stockade-signature"].to_str().unwrap();
        assert!(stockade_respond::webhook::verify(ACS_SECRET.as_bytes(), ts, body.as_bytes(), sig));
    }
    // Three done by their deadline (two by Stockade itself), two late.
    let (_, _, k) = s.get("/api/v1/kpi", Some(&s.analyst)).await;
    assert_eq!((k["tasks_on_time"].as_u64(), k["tasks_late"].as_u64()), (Some(3), Some(2)), "{k}");
    assert_eq!(k["tasks_on_time_rate"], 0.6);
}

/// A badge access at `at` (RFC 3339) through the cage door.
fn cage_access(id: &str, badge: &str, at: &str) -> String {
    json!({"id": id, "source": "acs", "site": "LYS", "occurred_at": at, "kind": "access.granted",
        "door": "LYS-D-CAGE", "badge": badge})
    .to_string()
}

#[tokio::test]
async fn containment_takes_effect_at_once_and_a_later_use_is_an_alert() {
    let s = start_detecting(|_| RuleSource::Builtin).await;
    s.load_examples().await;
    let case = json!({"site": "LYS", "title": "cage stock missing", "severity": "high",
        "from": "2026-11-02T20:00:00+01:00", "to": "2026-11-02T23:59:00+01:00",
        "entities": ["B-1003", "P-003", "LYS-D-CAGE", "key-7781"]});
    let (st, _, opened) = s.post("/api/v1/incidents", &s.analyst, "application/json", case.to_string()).await;
    assert_eq!(st, StatusCode::CREATED);
    // Its own id: detection may open others from the examples meanwhile.
    let id = opened["id"].as_str().unwrap().to_owned();
    let contain = |body: Value| {
        let (s, id) = (&s, id.clone());
        async move {
            s.post(&format!("/api/v1/incidents/{id}/containment"), &s.analyst, "application/json", body.to_string())
                .await
        }
    };
    let (st, _, w) =
        contain(json!({"action": "revoke_badge", "target": "B-1003", "reason": "badge used in the cage at night"}))
            .await;
    assert_eq!(st, StatusCode::CREATED, "{w}");
    let last = w["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["act"].as_str(), last["action"].as_str(), last["target"].as_str()),
        (Some("contain"), Some("revoke_badge"), Some("B-1003"))
    );
    assert_eq!(last["event"]["source"], "stockade");
    assert_eq!(w["response"]["contained"][0]["target"], "B-1003");
    // An API key the registry does not know, but the incident names.
    let (st, _, w) =
        contain(json!({"action": "revoke_api_key", "target": "key-7781", "reason": "called from outside"})).await;
    assert_eq!(st, StatusCode::CREATED, "{w}");
    let (_, _, held) = s.get("/api/v1/containment", Some(&s.analyst)).await;
    let mine = held.as_array().unwrap().iter().filter(|h| h["incident"] == id.as_str()).count();
    assert_eq!(mine, 2, "{held}");

    // Refusals, each with its reason; nothing recorded.
    for (body, status, why) in [
        (
            json!({"action": "revoke_badge", "target": "B-1003", "reason": "again"}),
            StatusCode::CONFLICT,
            "already holds revoke_badge",
        ),
        (
            json!({"action": "revoke_badge", "target": "B-9999", "reason": "x"}),
            StatusCode::CONFLICT,
            "no badge \"B-9999\" in the reference data",
        ),
        (
            json!({"action": "revoke_api_key", "target": "key-1", "reason": "x"}),
            StatusCode::CONFLICT,
            "no api key \"key-1\"",
        ),
        (
            json!({"action": "lock_door", "target": "LYS-D-CAGE", "reason": "x", "lift": true}),
            StatusCode::CONFLICT,
            "holds no lock_door",
        ),
        (
            json!({"action": "lock_door", "target": "LYS-D-CAGE", "reason": " "}),
            StatusCode::CONFLICT,
            "`reason` must say why",
        ),
        (
            json!({"action": "burn_it", "target": "LYS-D-CAGE", "reason": "x"}),
            StatusCode::BAD_REQUEST,
            "unknown variant `burn_it`",
        ),
        (json!({"action": "lock_door", "reason": "x"}), StatusCode::BAD_REQUEST, "missing field `target`"),
    ] {
        let (st, _, p) = contain(body.clone()).await;
        assert_eq!(st, status, "{body}: {p}");
        assert!(p["detail"].as_str().unwrap().contains(why), "{body}: {p}");
    }
    // Another incident cannot hold the same badge again.
    let (st, _, _) = s.post("/api/v1/incidents", &s.analyst, "application/json", case.to_string()).await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, _, all) = s.get("/api/v1/incidents", Some(&s.analyst)).await;
    let other = all.as_array().unwrap().last().unwrap()["id"].as_str().unwrap().to_owned();
    let (st, _, p) = s
        .post(
            &format!("/api/v1/incidents/{other}/containment"),
            &s.analyst,
            "application/json",
            json!({"action": "revoke_badge", "target": "B-1003", "reason": "x"}).to_string(),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(p["detail"].as_str().unwrap().contains(&format!("already held (revoke_badge) for {id}")), "{p}");
    assert_eq!(s.get("/api/v1/incidents/INC-99/timeline", Some(&s.analyst)).await.0, StatusCode::NOT_FOUND);

    // The revoked badge opens the cage door a minute later: an alert at once.
    let later = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let (st, _, v) =
        s.post("/api/v1/events", &s.ingest, "application/x-ndjson", cage_access("after-1", "B-1003", &later)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let breached = alerts_when(&s, "/api/v1/alerts?rule=containment-breached", 1).await;
    let a = &breached[0];
    assert_eq!(a["level"], "critical");
    assert_eq!(a["event"]["id"], "after-1");
    assert!(
        a["reason"].as_str().unwrap().contains(&format!("badge B-1003 was contained (revoke_badge) for {id}")),
        "{a}"
    );

    // Lifted, the badge is watched no more.
    let (st, _, w) = contain(
        json!({"action": "revoke_badge", "target": "B-1003", "reason": "reissued after the interview", "lift": true}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{w}");
    assert_eq!(w["response"]["contained"].as_array().unwrap().len(), 1, "only the key is still held");
    let later = (chrono::Utc::now() + chrono::Duration::minutes(2)).to_rfc3339();
    let key_call = json!({"id": "after-3", "source": "iam", "site": "LYS", "occurred_at": later,
        "kind": "identity.api_key_used", "system": "WMS", "api_key": "key-7781"});
    let lines = format!("{}\n{key_call}\n", cage_access("after-2", "B-1003", &later));
    let (st, _, v) = s.post("/api/v1/events", &s.ingest, "application/x-ndjson", lines).await;
    assert_eq!((st, v["accepted"].as_u64()), (StatusCode::OK, Some(2)), "{v}");
    let (_, _, held) = s.get("/api/v1/containment", Some(&s.analyst)).await;
    let mine = held.as_array().unwrap().iter().filter(|h| h["incident"] == id.as_str()).count();
    assert_eq!(mine, 1, "{held}");
    // The key is still held: its call is the second breach, and the badge's
    // access before it raised none.
    let breached = alerts_when(&s, "/api/v1/alerts?rule=containment-breached", 2).await;
    let ids: Vec<&str> = breached.as_array().unwrap().iter().map(|a| a["event"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["after-1", "after-3"], "{breached}");
}

/// A system that receives webhooks on loopback: it records each request,
/// fails the first `fail_first` with 503, and hangs while `hang` is set.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>,
    fail_first: Arc<std::sync::atomic::AtomicUsize>,
    hang: Arc<std::sync::atomic::AtomicBool>,
}

impl Receiver {
    async fn start(self) -> String {
        use axum::routing::post;
        let r = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let r = r.clone();
                async move {
                    if r.hang.load(std::sync::atomic::Ordering::SeqCst) {
                        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    }
                    r.got.lock().unwrap().push((headers, body));
                    let failing = r.fail_first.load(std::sync::atomic::Ordering::SeqCst);
                    if failing > 0 {
                        r.fail_first.store(failing - 1, std::sync::atomic::Ordering::SeqCst);
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }
}

const ACS_SECRET: &str = "acs-secret-of-more-than-thirty-two-bytes";

async fn deliveries_when(s: &Server, status: &str, n: usize) -> Value {
    for _ in 0..600 {
        let (_, _, v) = s.get(&format!("/api/v1/webhooks/deliveries?status={status}"), Some(&s.analyst)).await;
        if v.as_array().is_some_and(|a| a.len() >= n) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("fewer than {n} {status} deliveries");
}

#[tokio::test]
async fn containment_goes_out_signed_retried_and_dead_lettered_for_replay() {
    let (acs, wms) = (Receiver::default(), Receiver::default());
    acs.fail_first.store(2, std::sync::atomic::Ordering::SeqCst);
    wms.hang.store(true, std::sync::atomic::Ordering::SeqCst);
    let (acs_url, wms_url) = (acs.clone().start().await, wms.clone().start().await);
    let config = format!(
        "endpoints:\n  - {{name: acs-lys, url: \"{acs_url}\", secret_env: T_ACS, actions: [revoke_badge], sites: [LYS]}}\n  - {{name: wms, url: \"{wms_url}\", secret_env: T_WMS, actions: [lock_door, hold_dock]}}\n"
    );
    let env = |k: &str| match k {
        "T_ACS" => Some(ACS_SECRET.to_owned()),
        "T_WMS" => Some("wms-secret-of-more-than-thirty-two-bytes".to_owned()),
        _ => None,
    };
    let targets =
        stockade_respond::webhook::Config::load(&config, &["revoke_badge", "lock_door", "hold_dock"], env).unwrap();
    let fast = ServerConfig {
        webhook_every: std::time::Duration::from_millis(30),
        webhook_retry: std::time::Duration::from_millis(20),
        webhook_attempts: 4,
        // Loopback answers in microseconds; generous for a loaded machine,
        // short beside the hung endpoint's 5 s.
        webhook_timeout: std::time::Duration::from_millis(800),
        ..Default::default()
    };
    let s = start_hooked(UnknownEntities::Flag, fast, Arc::new(SystemClock), None, targets).await;
    s.load_examples().await;
    let case = json!({"site": "LYS", "title": "cage stock missing", "from": "2026-11-02T20:00:00+01:00",
        "to": "2026-11-02T23:59:00+01:00", "entities": ["B-1003", "LYS-D-CAGE"]});
    let (st, _, _) = s.post("/api/v1/incidents", &s.analyst, "application/json", case.to_string()).await;
    assert_eq!(st, StatusCode::CREATED);
    let contain = |body: Value| {
        let s = &s;
        async move { s.post("/api/v1/incidents/INC-1/containment", &s.analyst, "application/json", body.to_string()).await }
    };
    let (st, _, _) = contain(json!({"action": "revoke_badge", "target": "B-1003", "reason": "night access"})).await;
    assert_eq!(st, StatusCode::CREATED);

    // Two 503s, then delivered; every attempt signed, with one idempotency key.
    let delivered = deliveries_when(&s, "delivered", 1).await;
    let d = &delivered[0];
    assert_eq!((d["endpoint"].as_str(), d["attempts"].as_u64()), (Some("acs-lys"), Some(3)), "{d}");
    let got = acs.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    for (headers, body) in &got {
        let h = |k: &str| headers.get(k).unwrap().to_str().unwrap().to_owned();
        assert_eq!(h("idempotency-key"), d["idempotency_key"].as_str().unwrap());
        assert_eq!(h("stockade-webhook-id"), d["id"].as_str().unwrap());
        let ts: i64 = h("stockade-timestamp").parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
        assert!(stockade_respond::webhook::verify(
            ACS_SECRET.as_bytes(),
            ts,
            body.as_bytes(),
            &h("stockade-signature")
        ));
        assert!(!stockade_respond::webhook::verify(
            b"a-wrong-secret-of-thirty-two-bytes!!",
            ts,
            body.as_bytes(),
            &h("stockade-signature")
        ));
        assert_eq!(body, d["body"].as_str().unwrap());
    }
    let sent: Value = serde_json::from_str(&got[0].1).unwrap();
    assert_eq!(
        (sent["action"].as_str(), sent["target"].as_str(), sent["incident"].as_str()),
        (Some("revoke_badge"), Some("B-1003"), Some("INC-1"))
    );
    assert!(wms.got.lock().unwrap().is_empty(), "the WMS does not own badges");

    // An endpoint that never answers in time: retried, then dead-lettered.
    let (st, _, _) = contain(json!({"action": "lock_door", "target": "LYS-D-CAGE", "reason": "cage closed"})).await;
    assert_eq!(st, StatusCode::CREATED);
    let dead = deliveries_when(&s, "dead", 1).await;
    let d = dead[0].clone();
    assert_eq!(
        (d["endpoint"].as_str(), d["attempts"].as_u64(), d["last_error"].as_str()),
        (Some("wms"), Some(4), Some("timed out")),
        "{d}"
    );
    // Each settled delivery is recorded in the incident's timeline just
    // after its row settles.
    let mut outcomes: Vec<(String, String)> = Vec::new();
    for _ in 0..200 {
        let (_, _, w) = s.get("/api/v1/incidents/INC-1/timeline", Some(&s.analyst)).await;
        outcomes = w["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["act"] == "delivery")
            .map(|e| (e["endpoint"].as_str().unwrap().to_owned(), e["outcome"].as_str().unwrap().to_owned()))
            .collect();
        if outcomes.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(outcomes, [("acs-lys".to_owned(), "delivered".to_owned()), ("wms".to_owned(), "dead".to_owned())]);

    // An operator replays it once the system is back.
    let path = format!("/api/v1/webhooks/deliveries/{}/replay", d["id"].as_str().unwrap());
    assert_eq!(s.post(&path, &s.analyst, "application/json", "").await.0, StatusCode::FORBIDDEN);
    wms.hang.store(false, std::sync::atomic::Ordering::SeqCst);
    let (st, _, v) = s.post(&path, &s.admin, "application/json", "").await;
    assert_eq!((st, v["status"].as_str(), v["attempts"].as_u64()), (StatusCode::OK, Some("pending"), Some(0)), "{v}");
    let delivered = deliveries_when(&s, "delivered", 2).await;
    assert!(delivered.as_array().unwrap().iter().any(|x| x["id"] == d["id"]), "{delivered}");
    let (st, _, p) = s.post(&path, &s.admin, "application/json", "").await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("is delivered: only dead deliveries are replayed"), "{p}");
    assert_eq!(
        s.post("/api/v1/webhooks/deliveries/dlv_nope/replay", &s.admin, "application/json", "").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(s.get("/api/v1/webhooks/deliveries?status=lost", Some(&s.analyst)).await.0, StatusCode::BAD_REQUEST);
    let (_, _, trail) = s.get("/api/v1/audit", Some(&s.admin)).await;
    assert!(
        trail.as_array().unwrap().iter().any(|a| a["record"]["action"] == "webhook_replayed"),
        "the replay is audited"
    );
}

#[tokio::test]
async fn communications_are_filled_from_facts_approved_by_another_and_logged_when_sent() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let case = json!({"site": "LYS", "title": "phones missing from the cage", "severity": "high",
        "from": "2026-11-02T22:00:00+01:00", "to": "2026-11-02T23:30:00+01:00", "entities": ["B-1003"]});
    let (st, _, _) = s.post("/api/v1/incidents", &s.analyst, "application/json", case.to_string()).await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, _, ts) = s.get("/api/v1/communications/templates", Some(&s.analyst)).await;
    let ids: Vec<&str> = ts.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["customer-notice", "incident-briefing", "insurer-notice", "regulator-notice"]);
    let tl = |token: &str, body: Value| {
        let (s, token) = (&s, token.to_owned());
        async move { s.post("/api/v1/incidents/INC-1/timeline", &token, "application/json", body.to_string()).await }
    };
    let (st, _, _) = tl(&s.analyst, json!({"act": "stake", "units": 40, "value": 35960, "reason": "recount"})).await;
    assert_eq!(st, StatusCode::CREATED);
    let draft = json!({"template": "insurer-notice", "to": ["claims@insurer.example"]});
    let (st, _, w) =
        s.post("/api/v1/incidents/INC-1/communications", &s.analyst, "application/json", draft.to_string()).await;
    assert_eq!(st, StatusCode::CREATED, "{w}");
    let c = &w["response"]["communications"][0];
    assert_eq!((c["communication"].as_u64(), c["audience"].as_str()), (Some(1), Some("insurer")));
    assert_eq!(c["subject"], "Notice of possible loss at LYS (INC-1)");
    let body = c["body"].as_str().unwrap();
    assert!(body.contains("Inventory at stake: 40 units, value 35960.00"), "{body}");
    assert!(body.contains("Activity from 2026-11-02T22:00:00+01:00 to 2026-11-02T23:30:00+01:00"), "{body}");
    assert!(!body.contains("{{") && !body.contains("(unknown)"), "{body}");

    // Not sent before approval; not approved by its drafter.
    let (st, _, p) = tl(&s.analyst, json!({"act": "sent", "communication": 1, "channel": "email"})).await;
    assert_eq!((st, p["detail"].as_str()), (StatusCode::CONFLICT, Some("communication 1 is not approved yet")));
    let (st, _, p) = tl(&s.analyst, json!({"act": "approve", "communication": 1})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(p["detail"].as_str().unwrap().contains("someone else approves it"), "{p}");
    let (st, _, _) = tl(&s.admin, json!({"act": "approve", "communication": 1})).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _, w) = tl(&s.analyst, json!({"act": "sent", "communication": 1, "channel": "email"})).await;
    assert_eq!(st, StatusCode::CREATED, "{w}");
    let sent = &w["response"]["communications"][0]["sent"];
    assert_eq!((sent["channel"].as_str(), &sent["to"]), (Some("email"), &json!(["claims@insurer.example"])));
    assert!(sent["by"].as_str().unwrap().starts_with("test (token "), "{sent}");
    let (st, _, p) = tl(&s.analyst, json!({"act": "sent", "communication": 1, "channel": "email"})).await;
    assert_eq!((st, p["detail"].as_str()), (StatusCode::CONFLICT, Some("communication 1 is already logged as sent")));
    // Bad drafts.
    for (body, status, why) in [
        (
            json!({"template": "press-release", "to": ["x"]}),
            StatusCode::CONFLICT,
            "no template \"press-release\"; one of customer-notice",
        ),
        (json!({"template": "insurer-notice", "to": []}), StatusCode::CONFLICT, "`to` names 1-100 recipients"),
        (json!({"template": "insurer-notice"}), StatusCode::BAD_REQUEST, "missing field `to`"),
    ] {
        let (st, _, p) =
            s.post("/api/v1/incidents/INC-1/communications", &s.analyst, "application/json", body.to_string()).await;
        assert_eq!(st, status, "{body}: {p}");
        assert!(p["detail"].as_str().unwrap().contains(why), "{body}: {p}");
    }
    let (st, _, p) = tl(&s.admin, json!({"act": "approve", "communication": 7})).await;
    assert_eq!((st, p["detail"].as_str()), (StatusCode::CONFLICT, Some("INC-1 has no communication 7")));
}

/// People sign in with a password: a session cookie that scripts cannot
/// read and other sites cannot send, a CSRF token every change must carry,
/// failures audited and throttled, and nothing left working once signed
/// out or disabled.
#[tokio::test]
async fn people_sign_in_with_sessions_that_need_their_csrf_token_to_change_anything() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let clock = SystemClock;
    let new = |name: &str, role| stockade_app::users::NewUser {
        name: name.into(),
        role,
        sites: vec![],
        password: "correct horse battery".into(),
    };
    let ana = stockade_app::users::create_user(&*s.store, None, &clock, "test", new("ana", Role::Analyst)).await;
    let stored = ana.unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"), "only the hash is kept");
    // Refused: a short password, an ingest-only user, a taken name, an unknown site.
    for (user, says) in [
        (stockade_app::users::NewUser { password: "short".into(), ..new("bob", Role::Admin) }, "at least 12"),
        (new("bob", Role::Ingest), "give them an API token"),
        (new("ana", Role::Admin), "already exists"),
        (stockade_app::users::NewUser { sites: vec!["PAR".into()], ..new("bob", Role::Analyst) }, "no site \"PAR\""),
        (stockade_app::users::NewUser { sites: vec!["LYS".into()], ..new("bob", Role::Admin) }, "covers every site"),
    ] {
        let e = stockade_app::users::create_user(&*s.store, None, &clock, "test", user).await.unwrap_err();
        assert!(e.to_string().contains(says), "{says}: {e}");
    }
    let client = reqwest::Client::new();
    let sign_in = |name: &str, password: &str| {
        let (client, url) = (client.clone(), s.url.clone());
        let body = json!({"name": name, "password": password});
        async move { client.post(format!("{url}/api/v1/sessions")).json(&body).send().await.unwrap() }
    };
    let r = sign_in("ana", "correct horse battery").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let set = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(set.starts_with("stockade_session=sss_"), "{set}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(flag), "{flag}: {set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP here; TLS servers add Secure");
    let me: Value = r.json().await.unwrap();
    assert_eq!((me["user"].as_str(), me["role"].as_str()), (Some("ana"), Some("analyst")), "{me}");
    let csrf = me["csrf"].as_str().unwrap().to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    // Reads need the cookie only.
    let r = client.get(format!("{}/api/v1/incidents", s.url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client.get(format!("{}/api/v1/session", s.url)).header("cookie", &cookie).send().await.unwrap();
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["csrf"], csrf.as_str());
    // A change without the CSRF token, or with another, is refused; with it, done.
    let case =
        json!({"site": "LYS", "title": "tip", "from": "2026-11-02T20:00:00+01:00", "to": "2026-11-02T23:59:00+01:00"});
    let open = |token: Option<&str>| {
        let mut req = client.post(format!("{}/api/v1/incidents", s.url)).header("cookie", &cookie).json(&case);
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        req.send()
    };
    let r = open(None).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("CSRF"));
    assert_eq!(open(Some(&"0".repeat(64))).await.unwrap().status(), StatusCode::FORBIDDEN);
    let r = open(Some(&csrf)).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let opened: Value = r.json().await.unwrap();
    assert!(opened["opened_by"].as_str().unwrap().starts_with("ana (session ses_"), "{opened}");
    // A role's limits hold for sessions as for tokens.
    let r = client.get(format!("{}/api/v1/audit", s.url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Wrong password and unknown name: one answer, audited, never the password.
    let r = sign_in("ana", "wrong horse battery").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let wrong = r.text().await.unwrap();
    let r = sign_in("nobody", "wrong horse battery").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.text().await.unwrap(), wrong, "the same answer for an unknown name");
    let (_, _, trail) = s.get("/api/v1/audit", Some(&s.admin)).await;
    let failed: Vec<&Value> =
        trail.as_array().unwrap().iter().filter(|a| a["record"]["action"] == "login_failed").collect();
    assert_eq!(failed.len(), 2, "{trail}");
    assert!(!trail.to_string().contains("wrong horse"), "passwords are never recorded");
    // Malformed sign-ins are 400/415, and not counted as guesses.
    let r = client.post(format!("{}/api/v1/sessions", s.url)).body("name=ana").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = client.post(format!("{}/api/v1/sessions", s.url)).json(&json!({"name": "ana"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Repeated failures for a name (five) are throttled, even with the
    // right password.
    for _ in 0..4 {
        assert_eq!(sign_in("ana", "still wrong, sorry").await.status(), StatusCode::UNAUTHORIZED);
    }
    let r = sign_in("ana", "correct horse battery").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());

    // Signed out: the cookie works no more; signing out needs the token too.
    let out = |token: &str| {
        client
            .delete(format!("{}/api/v1/session", s.url))
            .header("cookie", &cookie)
            .header("x-csrf-token", token)
            .send()
    };
    assert_eq!(out("nope").await.unwrap().status(), StatusCode::FORBIDDEN);
    let r = out(&csrf).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.headers().get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"));
    let r = client.get(format!("{}/api/v1/incidents", s.url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = client.delete(format!("{}/api/v1/session", s.url)).bearer_auth(&s.admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT, "a token is revoked, not signed out");

    // Disabled: their open sessions end at once, and they cannot sign in.
    let bob = stockade_app::users::create_user(&*s.store, None, &clock, "test", new("bob", Role::Admin)).await;
    assert!(bob.is_ok());
    let r = sign_in("bob", "correct horse battery").await;
    let bob_cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
    let r = client.get(format!("{}/api/v1/audit", s.url)).header("cookie", &bob_cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "an admin's session");
    stockade_app::users::disable_user(&*s.store, None, &clock, "test", "bob").await.unwrap();
    let r = client.get(format!("{}/api/v1/audit", s.url)).header("cookie", &bob_cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in("bob", "correct horse battery").await.status(), StatusCode::UNAUTHORIZED);
    // A forged or oversized cookie is simply not a session.
    for forged in ["stockade_session=sss_00", &format!("stockade_session={}", "a".repeat(5000))] {
        let r = client.get(format!("{}/api/v1/incidents", s.url)).header("cookie", forged).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
}

/// A token or a user limited to some sites sees and acts on those sites
/// only: lists are theirs, another site's incident is as if absent, and
/// what spans every site is refused.
#[tokio::test]
async fn callers_limited_to_sites_see_and_act_on_those_sites_only() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let case = |site: &str| {
        json!({"site": site, "title": format!("stock missing at {site}"), "from": "2026-11-02T20:00:00+01:00",
            "to": "2026-11-02T23:59:00+01:00"})
        .to_string()
    };
    for site in ["LYS", "CHI", "LYS"] {
        let (st, _, v) = s.post("/api/v1/incidents", &s.admin, "application/json", case(site)).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let token = |role: &str, sites: Value| {
        let s = &s;
        let body = json!({"role": role, "name": "scoped", "sites": sites}).to_string();
        async move { s.post("/api/v1/tokens", &s.admin, "application/json", body).await }
    };
    // Refused scopes: an admin covers every site; sites must exist, once.
    for (role, sites, says) in [
        ("admin", json!(["LYS"]), "covers every site"),
        ("site_manager", json!(["PAR"]), "no site \"PAR\""),
        ("site_manager", json!(["LYS", "LYS"]), "named twice"),
    ] {
        let (st, _, p) = token(role, sites).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
        assert!(p["detail"].as_str().unwrap().contains(says), "{says}: {p}");
    }
    let (st, _, lys) = token("site_manager", json!(["LYS"])).await;
    assert_eq!(st, StatusCode::CREATED, "{lys}");
    assert_eq!(lys["sites"], json!(["LYS"]));
    let lys = lys["token"].as_str().unwrap().to_owned();

    // Lists hold its site only; asking for another is refused.
    let (_, _, incidents) = s.get("/api/v1/incidents", Some(&lys)).await;
    let ids: Vec<&str> = incidents.as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["INC-1", "INC-3"]);
    for path in
        ["/api/v1/incidents?site=CHI", "/api/v1/events?site=CHI", "/api/v1/kpi?site=CHI", "/api/v1/inventory?site=CHI"]
    {
        assert_eq!(s.get(path, Some(&lys)).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    let (_, _, events) = s.get("/api/v1/events?limit=100", Some(&lys)).await;
    let events = events["events"].as_array().unwrap();
    assert!(!events.is_empty() && events.iter().all(|e| e["event"]["site"] == "LYS"), "{events:?}");
    let (_, _, all) = s.get("/api/v1/events?limit=100", Some(&s.analyst)).await;
    assert!(all["events"].as_array().unwrap().len() > events.len(), "others see more");
    let (_, _, sites) = s.get("/api/v1/reference/sites", Some(&lys)).await;
    assert_eq!(sites.as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect::<Vec<_>>(), ["LYS"]);
    let (_, _, zones) = s.get("/api/v1/reference/zones", Some(&lys)).await;
    assert!(zones.as_array().unwrap().iter().all(|z| z["site"] == "LYS"), "{zones}");
    let (_, _, tasks) = s.get("/api/v1/tasks", Some(&lys)).await;
    assert!(!tasks.as_array().unwrap().is_empty() && tasks.as_array().unwrap().iter().all(|t| t["site"] == "LYS"));
    // Another site's incident is as if it did not exist, whatever is asked of it.
    assert_eq!(s.get("/api/v1/incidents/INC-2", Some(&lys)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/api/v1/incidents/INC-2/timeline", Some(&lys)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/api/v1/incidents/INC-2/evidence", Some(&lys)).await.0, StatusCode::NOT_FOUND);
    let note = json!({"act": "note", "text": "looking"}).to_string();
    let (st, _, _) = s.post("/api/v1/incidents/INC-2/timeline", &lys, "application/json", note.clone()).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let merge = json!({"into": "INC-2"}).to_string();
    let (st, _, _) = s.post("/api/v1/incidents/INC-1/merge", &lys, "application/json", merge).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "nor merged into");
    let (st, _, _) = s.post("/api/v1/incidents", &lys, "application/json", case("CHI")).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "nor opened there");
    // Its own are worked as usual.
    let (st, _, _) = s.post("/api/v1/incidents/INC-1/timeline", &lys, "application/json", note).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _, _) = s.post("/api/v1/incidents", &lys, "application/json", case("LYS")).await;
    assert_eq!(st, StatusCode::CREATED);

    // Limited to several sites, a list names the one it wants.
    let (_, _, both) = token("auditor", json!(["LYS", "CHI"])).await;
    let both = both["token"].as_str().unwrap().to_owned();
    let (st, _, p) = s.get("/api/v1/incidents", Some(&both)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(p["detail"].as_str().unwrap().contains("name one with `site=`"), "{p}");
    assert_eq!(s.get("/api/v1/incidents?site=CHI", Some(&both)).await.0, StatusCode::OK);
    // What spans every site is for callers that span them.
    let (st, _, p) = s.get("/api/v1/audit", Some(&both)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(p["detail"].as_str().unwrap().contains("spans every site"), "{p}");

    // A user limited to a site, signed in, sees the same.
    let user = stockade_app::users::NewUser {
        name: "lys.manager".into(),
        role: Role::SiteManager,
        sites: vec!["LYS".into()],
        password: "correct horse battery".into(),
    };
    stockade_app::users::create_user(&*s.store, None, &SystemClock, "test", user).await.unwrap();
    let r = s
        .client
        .post(format!("{}/api/v1/sessions", s.url))
        .json(&json!({"name": "lys.manager", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    let me = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let r = s.client.get(format!("{}/api/v1/incidents/INC-2", s.url)).header("cookie", &me).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s.client.get(format!("{}/api/v1/incidents/INC-1", s.url)).header("cookie", &me).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// The console, as a browser uses it: sign in with a form, read the
/// overview and the incidents, work one with forms that carry the
/// session's CSRF token; text from the data is escaped, foreign forms and
/// other sites' incidents refused.
#[tokio::test]
async fn the_console_is_worked_with_forms_by_signed_in_people() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    s.load_examples().await;
    let new = |name: &str, role, sites: &[&str]| stockade_app::users::NewUser {
        name: name.into(),
        role,
        sites: sites.iter().map(|x| x.to_string()).collect(),
        password: "correct horse battery".into(),
    };
    for (name, role, sites) in [
        ("ana", Role::Analyst, vec![]),
        ("chi.boss", Role::SiteManager, vec!["CHI"]),
        ("audrey", Role::Auditor, vec![]),
    ] {
        stockade_app::users::create_user(&*s.store, None, &SystemClock, "test", new(name, role, &sites)).await.unwrap();
    }
    let evil = "<script>alert(1)</script> & co";
    let case = json!({"site": "LYS", "title": evil, "severity": "high", "scenario": "after_hours_cage_removal",
        "from": "2026-11-02T20:00:00+01:00", "to": "2026-11-02T23:59:00+01:00", "entities": ["P-002", "LYS-CAGE-01"]});
    let (st, _, _) = s.post("/api/v1/incidents", &s.admin, "application/json", case.to_string()).await;
    assert_eq!(st, StatusCode::CREATED);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let url = s.url.clone();
    let get = |path: &str, cookie: Option<&str>| {
        let mut r = browser.get(format!("{url}{path}"));
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        r.send()
    };
    // Without a session, to the sign-in page; it forbids scripts and framing.
    let r = get("/console", None).await.unwrap();
    assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
    let r = get("/login", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.text().await.unwrap().contains("<form method=\"post\" action=\"/login\">"));
    let sign_in = |name: &str, password: &str, origin: &str| {
        browser
            .post(format!("{url}/login"))
            .header("origin", origin)
            .form(&[("name", name), ("password", password)])
            .send()
    };
    let r = sign_in("ana", "wrong horse battery", &url).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("wrong name or password"));
    let r = sign_in("ana", "correct horse battery", "https://evil.example").await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a sign-in posted from another site");
    let r = sign_in("ana", "correct horse battery", &url).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = stockade_app::users::csrf_token(cookie.trim_start_matches("stockade_session="));

    // The overview and the list; the incident's title is escaped everywhere.
    let html = get("/console", Some(&cookie)).await.unwrap().text().await.unwrap();
    assert!(html.contains("Open incidents") && html.contains("MTTD") && html.contains("ana · analyst"), "{html}");
    assert!(html.contains("<svg class=\"chart\"") && html.contains("Shrink by site and zone"), "{html}");
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; co") && !html.contains(evil), "{html}");
    let html = get("/console/incidents?status=open", Some(&cookie)).await.unwrap().text().await.unwrap();
    assert!(html.contains("/console/incidents/INC-1") && !html.contains("<script>"), "{html}");
    assert_eq!(
        get("/console/incidents?status=nonsense", Some(&cookie)).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    // A note and a communication with markup in them, shown as text.
    let note = json!({"act": "note", "text": "<img src=x onerror=alert(2)>"}).to_string();
    let (st, _, _) = s.post("/api/v1/incidents/INC-1/timeline", &s.analyst, "application/json", note).await;
    assert_eq!(st, StatusCode::CREATED);
    let draft = json!({"template": "insurer-notice", "to": ["claims@insurer.example"]}).to_string();
    let (st, _, d) = s.post("/api/v1/incidents/INC-1/communications", &s.analyst, "application/json", draft).await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    // The workspace: tasks with deadlines in the site's time, offers, the
    // evidence with its chain of custody, communications, the timeline with proofs.
    let html = get("/console/incidents/INC-1", Some(&cookie)).await.unwrap().text().await.unwrap();
    assert!(html.contains("&#60;img src=x onerror=alert(2)&#62;") && !html.contains("<img"), "{html}");
    for want in [
        "Chain of custody (2)",
        "collected by",
        "hold_set by",
        "insurer-notice to claims@insurer.example",
        "not approved yet",
    ] {
        assert!(html.contains(want), "{want}: {html}");
    }
    for want in [
        "Isolate the cage",
        "Europe/Paris",
        "revoke_badge",
        "B-1002",
        "quarantine_location",
        "playbook",
        "/api/v1/ledger/leaves/",
    ] {
        assert!(html.contains(want), "{want}: {html}");
    }
    assert_eq!(get("/console/incidents/INC-9", Some(&cookie)).await.unwrap().status(), StatusCode::NOT_FOUND);

    // Forms: without the CSRF token refused, nothing done; with it, done.
    let form = |path: &str, fields: Vec<(&str, &str)>, cookie: &str| {
        browser.post(format!("{url}{path}")).header("cookie", cookie).form(&fields).send()
    };
    let r =
        form("/console/incidents/INC-1/task", vec![("task", "isolate-cage"), ("csrf", "nope")], &cookie).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r =
        form("/console/incidents/INC-1/task", vec![("task", "isolate-cage"), ("csrf", &csrf)], &cookie).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with("/console/incidents/INC-1?done="), "{back}");
    let html = get(&back, Some(&cookie)).await.unwrap().text().await.unwrap();
    assert!(html.contains("task isolate-cage done"), "{html}");
    let contain = vec![
        ("task", "revoke-credentials"),
        ("action", "revoke_badge"),
        ("target", "B-1002"),
        ("reason", "seen on camera"),
        ("csrf", &csrf),
    ];
    let r = form("/console/incidents/INC-1/contain", contain, &cookie).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r =
        form("/console/incidents/INC-1/transition", vec![("to", "triaged"), ("csrf", &csrf)], &cookie).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, _, w) = s.get("/api/v1/incidents/INC-1", Some(&s.analyst)).await;
    assert_eq!(w["response"]["status"], "triaged", "{w}");
    assert_eq!(w["response"]["contained"][0]["target"], "B-1002");
    assert!(w["response"]["contained"][0]["by"].as_str().unwrap().starts_with("ana (session "));
    // A refused act comes back as a page saying why.
    let r =
        form("/console/incidents/INC-1/transition", vec![("to", "closed"), ("csrf", &csrf)], &cookie).await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("triaged"));

    // An auditor reads but changes nothing; a site manager of CHI does not see LYS.
    let r = sign_in("audrey", "correct horse battery", &url).await.unwrap();
    let audrey = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let audrey_csrf = stockade_app::users::csrf_token(audrey.trim_start_matches("stockade_session="));
    assert_eq!(get("/console/incidents/INC-1", Some(&audrey)).await.unwrap().status(), StatusCode::OK);
    let r =
        form("/console/incidents/INC-1/task", vec![("task", "notify-incident-team"), ("csrf", &audrey_csrf)], &audrey)
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The incident report: self-contained HTML, styles inline, no script.
    let r = get("/console/incidents/INC-1/report", Some(&cookie)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script"), "{csp}");
    let html = r.text().await.unwrap();
    for want in ["Incident report: INC-1", "Response times", "Actions taken", "revoke_badge on B-1002", "How to verify"]
    {
        assert!(html.contains(want), "{want}: {html}");
    }
    assert!(!html.contains(evil) && html.contains("&lt;script&gt;"), "the title escaped");
    let (_, _, ledger) = s.get("/api/v1/ledger", Some(&s.admin)).await;
    assert!(html.contains(ledger["verifier_key"].as_str().unwrap()));
    // The same report as a PDF download; each export is audited.
    let r = get("/console/incidents/INC-1/report?format=pdf", Some(&cookie)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.headers()["content-disposition"], "attachment; filename=\"INC-1-report.pdf\"");
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));
    let r = get("/console/incidents/INC-1/report?format=docx", Some(&cookie)).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "an unknown format");
    let (_, _, trail) = s.get("/api/v1/audit", Some(&s.admin)).await;
    let exports: Vec<_> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["record"]["action"] == "report_exported")
        .map(|a| (a["record"]["actor"].as_str().unwrap().to_owned(), a["record"]["detail"]["format"].clone()))
        .collect();
    assert_eq!(exports.len(), 2, "{exports:?}");
    assert!(exports[0].0.starts_with("ana (session ") && exports[1].1 == "pdf", "{exports:?}");
    // The executive scorecard: KPIs against targets, trends, risks, losses.
    let html =
        get("/console/scorecard?from=2026-01-01&to=2027-01-01", Some(&cookie)).await.unwrap().text().await.unwrap();
    for want in ["KPIs against targets", "Median time to detect (MTTD)", "Top risks by site", "<td>LYS</td>", "Losses"]
    {
        assert!(html.contains(want), "{want}: {html}");
    }
    let r = get("/console/scorecard?from=2026-01-01&to=2027-01-01&format=pdf", Some(&cookie)).await.unwrap();
    assert_eq!(r.headers()["content-disposition"], "attachment; filename=\"scorecard-2026-01-01-2027-01-01.pdf\"");
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));
    for bad in ["from=yesterday", "from=2026-05-01&to=2026-04-01"] {
        let r = get(&format!("/console/scorecard?{bad}"), Some(&cookie)).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    // People and access: who can enter where, what they did lately.
    let html = get("/console/people", Some(&cookie)).await.unwrap().text().await.unwrap();
    assert!(html.contains("/console/people/P-003") && html.contains("LYS-CAGE"), "{html}");
    let html = get("/console/people/P-003", Some(&cookie)).await.unwrap().text().await.unwrap();
    for want in ["B-1003", "LYS-CAGE (high_value_cage)", "access.granted", "lmorel"] {
        assert!(html.contains(want), "{want}: {html}");
    }
    assert_eq!(get("/console/people/P-999", Some(&cookie)).await.unwrap().status(), StatusCode::NOT_FOUND);
    let r = sign_in("chi.boss", "correct horse battery", &url).await.unwrap();
    let chi = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert_eq!(get("/console/people/P-003", Some(&chi)).await.unwrap().status(), StatusCode::NOT_FOUND, "a LYS person");
    assert_eq!(get("/console/incidents/INC-1/report", Some(&chi)).await.unwrap().status(), StatusCode::NOT_FOUND);
    let html = get("/console/people", Some(&chi)).await.unwrap().text().await.unwrap();
    assert!(!html.contains("P-003") && html.contains("P-004"), "CHI's people and those of no site: {html}");
    assert_eq!(get("/console/incidents/INC-1", Some(&chi)).await.unwrap().status(), StatusCode::NOT_FOUND);
    let html = get("/console/incidents?status=all", Some(&chi)).await.unwrap().text().await.unwrap();
    assert!(!html.contains("INC-1"), "{html}");
    // A site manager's scorecard covers their sites only.
    let html = get("/console/scorecard?from=2026-01-01&to=2027-01-01", Some(&chi)).await.unwrap().text().await.unwrap();
    assert!(html.contains("Sites CHI") && !html.contains("<td>LYS</td>") && !html.contains("INC-1"), "{html}");
    // An API token is not a console session.
    let r = browser.get(format!("{url}/console")).bearer_auth(&s.admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Signing out ends the session.
    let r = form("/console/logout", vec![("csrf", &csrf)], &cookie).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(get("/console", Some(&cookie)).await.unwrap().status(), StatusCode::SEE_OTHER);
}

/// The console's other pages: the alert queue with escalation into an
/// incident, the variance explorer and the ledger with how to verify it.
#[tokio::test]
async fn the_console_shows_alerts_variance_and_the_ledger() {
    let s = start_detecting(|_| RuleSource::Builtin).await;
    s.load_examples().await;
    let user = stockade_app::users::NewUser {
        name: "ana".into(),
        role: Role::Analyst,
        sites: vec![],
        password: "correct horse battery".into(),
    };
    stockade_app::users::create_user(&*s.store, None, &SystemClock, "test", user).await.unwrap();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = browser
        .post(format!("{}/login", s.url))
        .form(&[("name", "ana"), ("password", "correct horse battery")])
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = stockade_app::users::csrf_token(cookie.trim_start_matches("stockade_session="));
    let get = |path: String| browser.get(format!("{}{path}", s.url)).header("cookie", &cookie).send();
    // A door forced in working hours: a low alert, alone below the bar.
    let forced = json!({"id": "forced-1", "source": "acs", "site": "LYS", "occurred_at": "2026-11-04T10:00:00+01:00",
        "kind": "access.door_forced", "door": "LYS-D-CAGE"});
    let (st, _, v) = s.post("/api/v1/events", &s.ingest, "application/x-ndjson", forced.to_string()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // An alert no incident took yet, as the API lists it.
    let mut loose = None;
    for _ in 0..200 {
        let (_, _, alerts) = s.get("/api/v1/alerts?limit=1000", Some(&s.analyst)).await;
        loose = alerts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["event"]["id"] == "forced-1" && a["incident"].is_null())
            .cloned();
        if loose.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let loose = loose.expect("an alert without an incident");
    let n = loose["n"].as_u64().unwrap();
    let html = get("/console/alerts".into()).await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("/console/alerts/{n}/escalate")), "{html}");
    assert!(html.contains(loose["rule"].as_str().unwrap()), "{html}");
    let filtered = get(format!("/console/alerts?rule={}", loose["rule"].as_str().unwrap())).await.unwrap();
    let filtered = filtered.text().await.unwrap();
    assert!(filtered.matches("<tr>").count() >= 1 && filtered.contains(loose["rule"].as_str().unwrap()));
    // Triage through the API: taken, a dismissal needs a reason.
    let triage = |body: Value| {
        let s = &s;
        async move { s.post(&format!("/api/v1/alerts/{n}/triage"), &s.analyst, "application/json", body.to_string()).await }
    };
    let (st, _, a) = triage(json!({"act": "take"})).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!((a["triage"]["status"].as_str(), a["triage"]["owner"].as_str()), (Some("taken"), Some("test")), "{a}");
    let (st, _, p) = triage(json!({"act": "take"})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    let (st, _, p) = triage(json!({"act": "dismiss", "reason": " "})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(triage(json!({"act": "shred"})).await.0, StatusCode::BAD_REQUEST);
    let (st, _, _) = s
        .post("/api/v1/alerts/999999/triage", &s.analyst, "application/json", json!({"act": "take"}).to_string())
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Dismissed from the console: the triage queue no longer offers it.
    let r = browser
        .post(format!("{}/console/alerts/{n}/triage", s.url))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("act", "dismiss"), ("reason", "door sensor fault, ticket 4411")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let queue = get("/console/alerts?untaken=true".into()).await.unwrap().text().await.unwrap();
    assert!(!queue.contains(&format!("/console/alerts/{n}/escalate")), "{queue}");
    let all = get("/console/alerts".into()).await.unwrap().text().await.unwrap();
    assert!(all.contains("dismissed: door sensor fault, ticket 4411"), "{all}");
    let (_, _, listed) = s.get(&format!("/api/v1/alerts?limit=1&after={}", n - 1), Some(&s.analyst)).await;
    assert_eq!(listed[0]["triage"]["status"], "dismissed", "{listed}");
    assert!(listed[0]["triage"]["actor"].as_str().unwrap().starts_with("ana (session "));
    let (st, _, _) = triage(json!({"act": "reopen"})).await;
    assert_eq!(st, StatusCode::OK);
    let (_, _, trail) = s.get("/api/v1/audit?limit=1000", Some(&s.admin)).await;
    let acts: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["record"]["action"] == "alert_triaged")
        .map(|a| a["record"]["detail"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(acts, ["taken", "dismissed", "reopened"]);
    // Escalated: an incident opens with the alert's site, rule and events.
    let escalate = |token: &str| {
        browser
            .post(format!("{}/console/alerts/{n}/escalate", s.url))
            .header("cookie", &cookie)
            .form(&[("csrf", token)])
            .send()
    };
    assert_eq!(escalate("nope").await.unwrap().status(), StatusCode::FORBIDDEN);
    let r = escalate(&csrf).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let id = to.trim_start_matches("/console/incidents/").split('?').next().unwrap().to_owned();
    let (_, _, inc) = s.get(&format!("/api/v1/incidents/{id}"), Some(&s.analyst)).await;
    assert_eq!(inc["site"], loose["site"], "{inc}");
    assert_eq!(inc["rules"], json!([loose["rule"]]), "{inc}");
    assert_eq!(inc["events"][0]["id"], loose["event"]["id"], "{inc}");
    assert!(inc["opened_by"].as_str().unwrap().starts_with("ana (session "));
    let r = get(format!("/console/incidents/{id}")).await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'; connect-src 'self'") && !csp.contains("unsafe"), "{csp}");
    assert!(r.text().await.unwrap().contains("<script src=\"/console/static/verify.js\"></script>"));
    let (st, _, p) = triage(json!({"act": "dismiss", "reason": "too late"})).await;
    assert_eq!(st, StatusCode::CONFLICT, "worked in its incident now: {p}");
    // Variance and the ledger.
    let html = get("/console/inventory".into()).await.unwrap().text().await.unwrap();
    assert!(html.contains("Inventory variance") && html.contains("Shrink"), "{html}");
    let (_, _, variance) = s.get("/api/v1/inventory/variance", Some(&s.analyst)).await;
    // The example day holds a count: its line is on the page.
    let line = variance["lines"].as_array().and_then(|l| l.first()).expect("a counted line");
    assert!(html.contains(line["sku"].as_str().unwrap()), "{html}");
    // Narrowed to its SKU, it stays; to an unknown one, nothing matches.
    let sku = line["sku"].as_str().unwrap();
    let html = get(format!("/console/inventory?sku={sku}")).await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("<td>{sku}</td>")) && html.contains("By zone"), "{html}");
    let html = get("/console/inventory?sku=NO-SUCH-SKU".into()).await.unwrap().text().await.unwrap();
    assert!(html.contains("No counts match.") && html.contains("0 counted places"), "{html}");
    // The incident page may run this origin's one script, no other page any.
    let r = get("/console/static/verify.js".into()).await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(r.text().await.unwrap().contains("crypto.subtle.verify"));
    let r = get("/console/incidents?status=all".into()).await.unwrap();
    assert!(!r.headers()["content-security-policy"].to_str().unwrap().contains("script-src"));
    let (_, _, ledger) = s.get("/api/v1/ledger", Some(&s.analyst)).await;
    let html = get("/console/ledger".into()).await.unwrap().text().await.unwrap();
    assert!(html.contains(ledger["verifier_key"].as_str().unwrap()) && html.contains("stockade verify"), "{html}");
}

/// A refused request is audited (who tried what), and a caller refused
/// too often in a minute is held off.
#[tokio::test]
async fn permission_denials_are_audited_and_held_off() {
    let s = start(UnknownEntities::Flag, 1 << 20).await;
    for _ in 0..stockade_server::auth::MAX_DENIALS {
        assert_eq!(s.get("/api/v1/incidents", Some(&s.ingest)).await.0, StatusCode::FORBIDDEN);
    }
    let r = s.client.get(format!("{}/api/v1/incidents", s.url)).bearer_auth(&s.ingest).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    // Held off from what it may do too, for the minute.
    let (st, _, _) = s.post("/api/v1/events", &s.ingest, "application/x-ndjson", GOOD).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    // Others are not.
    assert_eq!(s.get("/api/v1/incidents", Some(&s.analyst)).await.0, StatusCode::OK);
    let (_, _, trail) = s.get("/api/v1/audit?limit=1000", Some(&s.admin)).await;
    let denied: Vec<&Value> =
        trail.as_array().unwrap().iter().filter(|a| a["record"]["action"] == "permission_denied").collect();
    assert_eq!(denied.len(), stockade_server::auth::MAX_DENIALS, "each refusal once, the held-off ones not");
    assert_eq!(denied[0]["record"]["detail"], json!({"method": "GET", "path": "/api/v1/incidents", "role": "ingest"}));
    assert!(denied[0]["record"]["actor"].as_str().unwrap().starts_with("test (token "));
}
