//! The derived-state stage through the ingest pipeline, as the server and
//! the CLI run it: the book kept live equals the book rebuilt from zero,
//! a crash loses nothing and applies nothing twice, and reads see every
//! acknowledged write.

use std::sync::Arc;
use stockade_app::Intake;
use stockade_app::book::{BookLine, BookQuery, CountLine};
use stockade_app::stage::{Stage, StageError};
use stockade_model::clock::{Clock, SystemClock};
use stockade_model::{Event, NewEvent};
use stockade_store::{DataDir, SqlStore, Store};

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

async fn intake(store: &Arc<dyn Store>) -> Intake {
    Intake::start(store.clone(), None, clock(), Default::default()).await.unwrap()
}

fn inv(id: &str, at: &str, body: &str) -> String {
    format!(r#"{{"id":"{id}","source":"wms","site":"S","occurred_at":"2026-03-02T{at}:00+01:00",{body}}}"#)
}

fn receipt(id: &str, at: &str, qty: u32, loc: &str) -> String {
    inv(id, at, &format!(r#""kind":"inventory.received","sku":"K","quantity":{qty},"to_location":"{loc}""#))
}

fn moved(id: &str, at: &str, qty: u32, from: &str, to: &str) -> String {
    inv(
        id,
        at,
        &format!(
            r#""kind":"inventory.moved","sku":"K","quantity":{qty},"from_location":"{from}","to_location":"{to}""#
        ),
    )
}

fn picked(id: &str, at: &str, qty: u32, from: &str) -> String {
    inv(id, at, &format!(r#""kind":"inventory.picked","sku":"K","quantity":{qty},"from_location":"{from}""#))
}

fn counted(id: &str, at: &str, qty: u32, loc: &str) -> String {
    inv(
        id,
        at,
        &format!(r#""kind":"inventory.counted","sku":"K","quantity":{qty},"location":"{loc}","count_type":"cycle""#),
    )
}

async fn send(intake: &Intake, lines: &[String]) {
    let report = intake.ingest_ndjson(lines.join("\n").as_bytes()).await.unwrap();
    assert_eq!(report.rejected, 0, "{:?}", report.results);
}

async fn state(stage: &Stage) -> (Vec<BookLine>, Vec<CountLine>) {
    (stage.book(&BookQuery::default()).await.unwrap(), stage.counts(&BookQuery::default()).await.unwrap())
}

/// The book's semantics through the stage, on every store: movements add
/// up, duplicates move nothing, and a count is compared with the book as of
/// its own time, whenever the movements before it arrive.
async fn book_semantics(store: Arc<dyn Store>) {
    let intake = intake(&store).await;
    let stage = intake.stage().clone();
    send(&intake, &[receipt("r1", "08:00", 10, "DOCK"), moved("m1", "08:10", 6, "DOCK", "BIN")]).await;
    // A duplicate must not move the book again.
    send(&intake, &[receipt("r1", "08:00", 10, "DOCK")]).await;
    let book = stage.book(&BookQuery::default()).await.unwrap();
    let q = |loc: &str| book.iter().find(|b| b.location == loc).map(|b| b.quantity);
    assert_eq!((q("DOCK"), q("BIN")), (Some(4.0), Some(6.0)));
    let only_bin = stage.book(&BookQuery { location: Some("BIN".into()), ..Default::default() }).await.unwrap();
    assert_eq!(only_bin.len(), 1);

    // A pick before the count that arrives after it, and one after the count.
    send(&intake, &[counted("c1", "09:00", 3, "BIN")]).await;
    send(&intake, &[picked("p1", "08:30", 2, "BIN"), picked("p2", "09:30", 1, "BIN")]).await;
    let counts = stage.counts(&BookQuery::default()).await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!((counts[0].counted, counts[0].book), (3.0, 4.0), "book as of the count: 6 - 2");
    // A newer count replaces the older one.
    send(&intake, &[counted("c2", "10:00", 3, "BIN")]).await;
    let counts = stage.counts(&BookQuery::default()).await.unwrap();
    assert_eq!((counts.len(), counts[0].book), (1, 3.0));
    intake.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_book_behaves_alike_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    book_semantics(DataDir::new(dir.path().join("embedded")).open_store().await.unwrap()).await;
    let sql: Arc<dyn Store> = Arc::new(SqlStore::open_file(&dir.path().join("sql/test.db")).await.unwrap());
    book_semantics(sql).await;
}

/// Opens a data directory again once the tasks of a dropped pipeline have
/// let go of it (they end a moment after their handles are dropped).
async fn reopen(path: &std::path::Path) -> Arc<dyn Store> {
    for _ in 0..100 {
        match DataDir::new(path).open_store().await {
            Ok(store) => return store,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    panic!("the data directory stayed locked: a task of the dropped pipeline still holds the store");
}

/// Events stored past the last snapshot (a crash before it was saved) are
/// read back on start; a stage that saved, restarted, applies nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loses_no_book_effect_and_a_restart_applies_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let store = DataDir::new(dir.path()).open_store().await.unwrap();
        let intake = intake(&store).await;
        send(&intake, &[receipt("r1", "08:00", 5, "BIN")]).await;
        intake.close().await.unwrap();
        send(&intake, &[receipt("r2", "08:05", 3, "BIN"), receipt("r3", "08:06", 2, "BIN")]).await;
        // Dropped without saving again: the snapshot says 5, the store holds 10.
        state(intake.stage()).await
    };
    assert_eq!(expected.0[0].quantity, 10.0);
    let store = reopen(dir.path()).await;
    let (_, saved_through) = store.load_book().await.unwrap();
    assert_eq!(saved_through, 1, "the crash left the snapshot at the first event");
    let stage = Stage::start(store.clone()).await.unwrap();
    assert_eq!(state(&stage).await, expected, "read back after the snapshot");
    stage.close().await.unwrap();
    drop(stage);
    let stage = Stage::start(store.clone()).await.unwrap();
    assert_eq!(state(&stage).await, expected, "a saved stage replays nothing twice");
}

/// Events stored by someone else than this pipeline (another process on
/// a shared database, a group never acknowledged) are read back at the
/// next read, in seq order, before a later group is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_the_queue_did_not_bring_are_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = DataDir::new(dir.path()).open_store().await.unwrap();
    let intake = intake(&store).await;
    send(&intake, &[receipt("r1", "08:00", 5, "BIN")]).await;
    let now = chrono::Utc::now();
    let behind = |line: String| NewEvent::prepare(Event::from_json(line.as_bytes()).unwrap(), now);
    store.append(&[behind(moved("m1", "08:10", 4, "BIN", "CAGE"))]).await.unwrap();
    // The next acknowledged group does not follow the book's cursor: the gap is read first.
    send(&intake, &[picked("p1", "08:20", 1, "CAGE")]).await;
    let book = intake.stage().book(&BookQuery::default()).await.unwrap();
    let q = |loc: &str| book.iter().find(|b| b.location == loc).map(|b| b.quantity);
    assert_eq!((q("BIN"), q("CAGE")), (Some(1.0), Some(3.0)));
    store.append(&[behind(receipt("r9", "08:30", 7, "DOCK"))]).await.unwrap();
    let book = intake.stage().book(&BookQuery::default()).await.unwrap();
    assert_eq!(book.iter().find(|b| b.location == "DOCK").map(|b| b.quantity), Some(7.0), "read at the barrier");
}

/// A simulated month of a network, ingested as the CLI does: the book kept
/// live equals the book rebuilt from zero, line for line and count for count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_book_rebuilt_from_zero_equals_the_book_kept_live() {
    let cfg = stockade_twin::sim::Config {
        sites: 2,
        days: 28,
        seed: 11,
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        per_scenario: 1,
        epcis: false,
        csv: false,
        scenarios: Vec::new(),
    };
    let sim = stockade_twin::sim::simulate(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = DataDir::new(dir.path()).open_store().await.unwrap();
    let intake = intake(&store).await;
    let reference = stockade_ingest::reference_files::from_yaml(&sim.reference_yaml).unwrap();
    intake.import_reference(reference).await.unwrap();
    for (_, feed) in &sim.feeds {
        let report = intake.ingest_ndjson(feed.as_bytes()).await.unwrap();
        assert_eq!(report.rejected, 0);
    }
    let live = state(intake.stage()).await;
    assert!(live.0.len() > 100 && live.1.len() > 10, "a month moves and counts stock: {} lines", live.0.len());
    intake.close().await.unwrap();

    intake.stage().rebuild(Some("book")).await.unwrap();
    let rebuilt = state(intake.stage()).await;
    assert_eq!(rebuilt, live);
    // And from a cold start on the rebuilt snapshot.
    let stage = Stage::start(store.clone()).await.unwrap();
    assert_eq!(state(&stage).await, live);
    let err = stage.rebuild(Some("ledger")).await.unwrap_err();
    assert!(matches!(err, StageError::UnknownConsumer { .. }), "{err}");
    assert!(err.to_string().contains("consumers: book"), "{err}");
}

/// A WMS feed that names no place for receipts and shipments, puts away
/// without a source and picks to no station, through the pipeline: each
/// unit is booked once (the in-transit states show what is between places),
/// and under a site's count-correction policy (imported as reference data)
/// a count corrects the book and keeps its variance; rebuilt, the same.
async fn stock_flow_and_count_policy(store: Arc<dyn Store>) {
    let intake = intake(&store).await;
    let reference = stockade_ingest::reference_files::from_yaml(
        "sites:\n  - { id: S, name: Site, timezone: Europe/Paris, counts_correct_book_from: \"2026-03-02T10:00:00+01:00\" }\n",
    )
    .unwrap();
    intake.import_reference(reference).await.unwrap();
    let body = |kind: &str, rest: &str| format!(r#""kind":"inventory.{kind}","sku":"K",{rest}"#);
    send(
        &intake,
        &[
            inv("r", "08:00", &body("received", r#""quantity":10"#)),
            inv("p", "08:10", &body("put_away", r#""quantity":10,"to_location":"BIN""#)),
            inv("k", "08:20", &body("picked", r#""quantity":4,"from_location":"BIN""#)),
            inv("s", "08:30", &body("shipped", r#""quantity":3,"from_location":"DOCK""#)),
            // Before the policy: reports only. After: corrects.
            counted("c1", "09:00", 5, "BIN"),
            counted("c2", "11:00", 5, "BIN"),
        ],
    )
    .await;
    let stage = intake.stage().clone();
    let (book, counts) = state(&stage).await;
    let line = |loc: &str| book.iter().find(|b| b.location == loc).cloned().unwrap();
    assert_eq!(line("@received").quantity, 0.0);
    assert_eq!((line("@picked").quantity, line("@picked").in_transit), (1.0, Some("picked")));
    assert!(book.iter().all(|b| b.location != "DOCK"), "nothing was at the dock: {book:?}");
    // BIN: 10 put away, 4 picked = 6; c1 (before the policy) finds 5 and
    // reports -1; c2 finds 5 against a book of 6 and corrects it by -1.
    assert_eq!((line("BIN").quantity, line("BIN").corrected, line("BIN").in_transit), (5.0, -1.0, None));
    let c = counts.iter().find(|c| c.location == "BIN").unwrap();
    assert_eq!((c.counted, c.book, c.correction), (5.0, 6.0, Some(-1.0)), "the variance is kept");
    let live = state(&stage).await;
    stage.rebuild(Some("book")).await.unwrap();
    assert_eq!(state(&stage).await, live, "rebuilt under the same policy");
    // The policy withdrawn: a rebuild shows the counts as reports only.
    let reference =
        stockade_ingest::reference_files::from_yaml("sites:\n  - { id: S, name: Site, timezone: Europe/Paris }\n")
            .unwrap();
    intake.import_reference(reference).await.unwrap();
    stage.rebuild(Some("book")).await.unwrap();
    let (book, counts) = state(&stage).await;
    let bin = book.iter().find(|b| b.location == "BIN").unwrap();
    assert_eq!((bin.quantity, bin.corrected), (6.0, 0.0));
    assert_eq!(counts.iter().find(|c| c.location == "BIN").unwrap().correction, None);
    intake.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_flow_and_count_policy_alike_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    stock_flow_and_count_policy(DataDir::new(dir.path().join("embedded")).open_store().await.unwrap()).await;
    let sql: Arc<dyn Store> = Arc::new(SqlStore::open_file(&dir.path().join("sql/test.db")).await.unwrap());
    stock_flow_and_count_policy(sql).await;
}

/// A load withdrawn and loaded again, on every store: the book leaves the
/// withdrawn events out (live, after a restart, and rebuilt), and the
/// events load again as a revision.
async fn retraction(store: Arc<dyn Store>) {
    let intake = intake(&store).await;
    let lines = [receipt("r1", "08:00", 10, "BIN"), moved("m1", "08:10", 4, "BIN", "CAGE")];
    let report = intake.ingest_ndjson(lines.join("\n").as_bytes()).await.unwrap();
    assert_eq!(report.runs.len(), 1, "{:?}", report.runs);
    let load = |report: &stockade_app::IngestReport| stockade_model::Load {
        file: "exports/wms.ndjson".into(),
        sha256: "ab".repeat(32),
        mapping: None,
        mapping_sha256: None,
        accepted: report.accepted as u64,
        runs: report.runs.iter().map(|&(a, b)| [a, b]).collect(),
    };
    intake.record_load(load(&report)).await.unwrap();
    let done = intake.retract_file("wms.ndjson", "wrong site").await.unwrap();
    assert_eq!((done.loads, done.retracted, done.already), (1, 2, 0));
    let (book, _) = state(intake.stage()).await;
    assert!(book.iter().all(|l| l.quantity == 0.0), "{book:?}");
    // Loaded again: stored anew (a revision), booked once.
    let again = intake.ingest_ndjson(lines.join("\n").as_bytes()).await.unwrap();
    assert_eq!((again.accepted, again.duplicates), (2, 0));
    let (book, _) = state(intake.stage()).await;
    let q = |loc: &str| book.iter().find(|b| b.location == loc).map(|b| b.quantity);
    assert_eq!((q("BIN"), q("CAGE")), (Some(6.0), Some(4.0)));
    let live = state(intake.stage()).await;
    intake.close().await.unwrap();
    let stage = Stage::start(store.clone()).await.unwrap();
    assert_eq!(state(&stage).await, live, "after a restart");
    stage.rebuild(None).await.unwrap();
    assert_eq!(state(&stage).await, live, "rebuilt");
    // Withdrawing the same load again finds nothing new to withdraw.
    drop(stage);
    let done = intake.retract_file("exports/wms.ndjson", "again").await.unwrap();
    assert_eq!((done.retracted, done.already), (0, 2));
    intake.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retracted_load_leaves_the_book_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    retraction(DataDir::new(dir.path().join("embedded")).open_store().await.unwrap()).await;
    let sql: Arc<dyn Store> = Arc::new(SqlStore::open_file(&dir.path().join("sql/test.db")).await.unwrap());
    retraction(sql).await;
}
