//! The permission table of `docs/PERMISSIONS.md`, walked: every route with
//! a token of every role, through a real server. A route missing from the
//! table, or a role let through (or refused) against it, fails.

use reqwest::{Method, StatusCode};
use std::collections::BTreeSet;
use std::sync::Arc;
use stockade_app::custody::Custodian;
use stockade_model::clock::{Clock, SystemClock};
use stockade_server::{AppState, Intake, ServerConfig};
use stockade_store::{EmbeddedStore, Ledger, Role, Store};

const TABLE: &str = include_str!("../../../docs/PERMISSIONS.md");

/// One route's row: method, path, and per role (in the header's order)
/// whether it may.
struct Row {
    method: Method,
    path: String,
    needs: String,
    allowed: Vec<bool>,
}

fn table() -> (Vec<Role>, Vec<Row>) {
    let mut roles = Vec::new();
    let mut rows = Vec::new();
    for line in TABLE.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if cells.first() == Some(&"endpoint") {
            roles = cells[2..].iter().map(|r| Role::parse(r).unwrap_or_else(|| panic!("role {r}"))).collect();
            continue;
        }
        let Some(route) = cells.first().and_then(|c| c.strip_prefix('`')).and_then(|c| c.strip_suffix('`')) else {
            continue;
        };
        let (method, path) = route.split_once(' ').unwrap();
        let allowed: Vec<bool> = cells[2..]
            .iter()
            .map(|c| match *c {
                "✓" => true,
                "·" => false,
                other => panic!("{route}: {other:?} is neither ✓ nor ·"),
            })
            .collect();
        assert_eq!(allowed.len(), roles.len(), "{route}");
        rows.push(Row { method: method.parse().unwrap(), path: path.to_owned(), needs: cells[1].to_owned(), allowed });
    }
    assert_eq!(roles.len(), Role::ALL.len(), "every role has a column");
    (roles, rows)
}

/// A concrete URL path for a route's template.
fn concrete(path: &str) -> String {
    path.replace("{id}", if path.contains("/evidence/") { "ev_00000000" } else { "INC-1" })
        .replace("{incident}", "INC-1")
        .replace("{captureID}", "1")
        .replace("{kind}", "sites")
        .replace("{seq}", "1")
        .replace("{index}", "0")
        .replace("{path}", "0/000")
        .replace("{n}", "1")
        .replace("/webhooks/deliveries/INC-1", "/webhooks/deliveries/dlv_0")
        .replace("/tokens/INC-1", "/tokens/nonexistent")
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_permission_table_says() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open_dir(dir.path()).await.unwrap());
    let ledger = Arc::new(Ledger::open(&dir.path().join("ledger"), "stockade.test/ledger").unwrap());
    let intake = Intake::start(store.clone(), Some(ledger.clone()), clock.clone(), Default::default()).await.unwrap();
    let vault = stockade_store::vault::Vault::open(&dir.path().join("vault")).unwrap();
    let custodian = Custodian::new(store.clone(), ledger, vault, Default::default(), clock.clone(), 1 << 20);
    let state = AppState::new(store.clone(), intake, clock.clone(), ServerConfig::default())
        .with_custodian(Arc::new(custodian));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(stockade_server::serve(state, listener));
    let client = reqwest::Client::new();
    let (roles, rows) = table();

    // Every route the server documents is in the table, and nothing else.
    let doc: serde_json::Value =
        client.get(format!("{url}/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let listed: BTreeSet<String> = rows.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(listed.len(), rows.len(), "a route is listed twice");
    assert_eq!(documented, listed, "docs/PERMISSIONS.md lists exactly the OpenAPI document's routes");

    let send = |method: Method, path: String, token: Option<String>| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let mut req = client.request(method.clone(), format!("{url}{path}"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if method != Method::GET && method != Method::DELETE {
                req = req.header("content-type", "application/json").body("{}");
            }
            req.send().await.unwrap().status()
        }
    };
    let mut wrong = Vec::new();
    for row in &rows {
        let path = concrete(&row.path);
        if row.needs == "open" {
            let st = send(row.method.clone(), path.clone(), None).await;
            if matches!(st, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                wrong.push(format!("{} {path} without a token: {st}", row.method));
            }
        } else {
            let st = send(row.method.clone(), path.clone(), None).await;
            if st != StatusCode::UNAUTHORIZED {
                wrong.push(format!("{} {path} without a token: {st}, not 401", row.method));
            }
        }
        for (role, may) in roles.iter().zip(&row.allowed) {
            // A fresh token each time: refusals are counted per caller, and
            // a caller refused too often is held off (429).
            let (_, token) = stockade_app::tokens::create_token(&*store, &*clock, *role, "walk", None).await.unwrap();
            let st = send(row.method.clone(), path.clone(), Some(token)).await;
            let refused = matches!(st, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
            if refused == *may {
                wrong.push(format!(
                    "{} {path} as {}: {st}, the table says {}",
                    row.method,
                    role.as_str(),
                    if *may { "✓" } else { "·" }
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{} answers against docs/PERMISSIONS.md:\n{}", wrong.len(), wrong.join("\n"));
}
