//! The conformance suite on PostgreSQL (the scale-out engine), against the
//! server every Stockade machine and CI runs at 127.0.0.1:5432.
//! Override with STOCKADE_TEST_POSTGRES=postgres://user@host:port.
//! Each check gets its own throw-away database.

use sqlx::Executor;
use std::sync::atomic::{AtomicUsize, Ordering};
use stockade_store::{SqlStore, Store, conformance};

fn server() -> String {
    std::env::var("STOCKADE_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

async fn fresh_database(n: usize) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("stockade_conf_{}_{n}", std::process::id());
    let admin = sqlx::AnyPool::connect(&format!("{}/postgres", server()))
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (set STOCKADE_TEST_POSTGRES to use another)");
    admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await.unwrap();
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    admin.close().await;
    format!("{}/{name}", server())
}

#[tokio::test]
async fn postgres_passes_conformance() {
    let n = AtomicUsize::new(0);
    conformance::run_all(|| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        async move {
            let url = fresh_database(i).await;
            Box::new(SqlStore::open(&url).await.unwrap()) as Box<dyn Store>
        }
    })
    .await;
    let admin = sqlx::AnyPool::connect(&format!("{}/postgres", server())).await.unwrap();
    for i in 0..n.load(Ordering::SeqCst) {
        let name = format!("stockade_conf_{}_{i}", std::process::id());
        admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await.unwrap();
    }
}
