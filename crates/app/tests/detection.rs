//! Detection as a stage consumer, through the ingest pipeline as the server
//! and the CLI run it: history replayed in event-time order whatever order
//! it was loaded in, incidents opened through the casebook with their
//! detection time, live events detected as they commit, a restart that
//! opens nothing twice, and a damaged saved state refused by name.

use std::sync::Arc;
use stockade_app::Intake;
use stockade_app::detection::{DetectError, RuleSource};
use stockade_model::clock::{Clock, SystemClock};
use stockade_store::{AlertQuery, IncidentQuery, SqlStore, Store};

const REFERENCE: &str = r#"
sites: [{ id: S1, name: "Site 1", timezone: Europe/Paris }]
zones:
  - { id: S1-FLOOR, site: S1, name: Floor, tier: general }
  - { id: S1-CAGE, site: S1, name: Cage, tier: high_value_cage }
doors:
  - { id: S1-D-CAGE, site: S1, name: Cage, from_zone: S1-FLOOR, to_zone: S1-CAGE }
people:
  - { id: P1, name: "One", role: picker, status: active, site: S1 }
badges:
  - { id: B1, person: P1, status: active, zones: [S1-FLOOR, S1-CAGE] }
shifts:
  - { id: S1-DAY, site: S1, name: Day, start: "06:00", end: "14:00", weekdays: [1, 2, 3, 4, 5] }
"#;

async fn intake(store: &Arc<dyn Store>) -> Intake {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let i = Intake::start(store.clone(), None, clock, Default::default()).await.unwrap();
    i.import_reference(stockade_ingest::reference_files::from_yaml(REFERENCE).unwrap()).await.unwrap();
    i
}

fn badge(id: &str, at: &str) -> String {
    format!(
        r#"{{"id":"{id}","source":"acs","site":"S1","occurred_at":"2026-03-02T{at}:00+01:00","kind":"access.granted","door":"S1-D-CAGE","badge":"B1","direction":"in"}}"#
    )
}

fn fired(at: &str) -> String {
    format!(
        r#"{{"id":"hr-1","source":"hr","site":"S1","occurred_at":"2026-03-02T{at}:00+01:00","kind":"hr.terminated","person":"P1"}}"#
    )
}

async fn send(intake: &Intake, lines: &[String]) {
    let report = intake.ingest_ndjson(lines.join("\n").as_bytes()).await.unwrap();
    assert_eq!(report.rejected, 0, "{:?}", report.results);
}

async fn store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(SqlStore::open_file(&dir.path().join("sql/test.db")).await.unwrap())
}

/// A morning and an evening cage entry loaded, then the HR export that
/// terminates their badge's holder in the afternoon; detection started.
async fn loaded_out_of_order(dir: &tempfile::TempDir) -> (Arc<dyn Store>, Intake, stockade_app::detection::Detection) {
    let store = store(dir).await;
    let intake = intake(&store).await;
    send(&intake, &[badge("a1", "09:00"), badge("a2", "23:10")]).await;
    send(&intake, &[fired("17:00")]).await;
    let d = intake.start_detection(RuleSource::Builtin).await.unwrap();
    (store, intake, d)
}

#[tokio::test]
async fn history_is_judged_in_event_time_and_nothing_opens_twice() {
    let dir = tempfile::tempdir().unwrap();
    // The badge export is loaded before the HR export that terminates its
    // holder in the afternoon: the evening read is still a terminated
    // person's, the morning one is not.
    let (store, intake, d) = loaded_out_of_order(&dir).await;
    let p = d.replay().await.unwrap();
    // The three events, and the containment INC-1's playbook applied.
    assert_eq!((p.events, p.incidents), (4, 1), "{p:?}");
    let alerts = store.alerts(&AlertQuery { limit: 100, ..Default::default() }).await.unwrap();
    let rules: Vec<&str> = alerts.iter().map(|(a, _)| a.rule.as_str()).collect();
    assert!(rules.contains(&"access-terminated-person"), "{rules:?}");
    assert!(rules.contains(&"access-cage-after-hours"), "{rules:?}");
    assert!(alerts.iter().all(|(a, inc)| a.seq == 2 && inc.as_deref() == Some("INC-1")), "{alerts:?}");
    let incidents = store.incidents(&IncidentQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(incidents.len(), 1);
    let inc = &incidents[0];
    assert_eq!(inc.opened_by, "stockade-detect");
    assert_eq!(inc.incident.detected_at.map(|t| t.to_rfc3339()).as_deref(), Some("2026-03-02T23:10:00+01:00"));
    assert!(inc.incident.entities.contains(&"P1".to_owned()) && inc.incident.entities.contains(&"B1".to_owned()));
    assert_eq!(inc.incident.events.len(), 1);

    // Its playbook revoked the departed person's badge at once: a
    // `record.containment` event, seq 4, in force from now.
    let held = stockade_app::containment::in_force(&*store).await.unwrap();
    assert_eq!(
        held.iter().map(|h| (h.action.as_str(), h.target.as_str())).collect::<Vec<_>>(),
        [("revoke_badge", "B1")]
    );
    // Live: an event committed now is detected without a replay.
    send(&intake, &[badge("a3", "23:40")]).await;
    intake.close().await.unwrap();
    let alerts = store.alerts(&AlertQuery { limit: 100, after: 2, ..Default::default() }).await.unwrap();
    assert!(!alerts.is_empty() && alerts.iter().all(|(a, _)| a.seq == 5), "{alerts:?}");
    // They joined INC-1's case: its timeline says so, once, with what they name.
    let w = stockade_app::response::worked(&*store, "INC-1").await.unwrap();
    let joined: Vec<_> = w.timeline.iter().filter(|e| e.entry.act.name() == "joined").collect();
    assert_eq!(joined.len(), 1, "{:?}", w.timeline);
    let numbers: Vec<u64> = alerts.iter().map(|(a, _)| a.n).collect();
    match &joined[0].entry.act {
        stockade_respond::Act::Joined { alerts: got, rules, events, .. } => {
            assert_eq!(got, &numbers);
            assert!(rules.contains(&"access-terminated-person".to_owned()), "{rules:?}");
            assert_eq!(events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a3"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(joined[0].entry.actor, "stockade-detect");
    assert!(w.response.events.iter().any(|e| e.id == "a3"), "the incident now cites it");
    let stored = store.last_alert().await.unwrap();

    // A restart resumes from the saved cursor: nothing is examined, stored or opened again.
    let again = Intake::start(store.clone(), None, Arc::new(SystemClock), Default::default()).await.unwrap();
    let d = again.start_detection(RuleSource::Builtin).await.unwrap();
    assert_eq!(d.replay().await.unwrap(), Default::default());
    again.close().await.unwrap();
    assert_eq!(store.last_alert().await.unwrap(), stored);
    assert_eq!(store.incidents(&IncidentQuery { limit: 10, ..Default::default() }).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_crash_before_the_save_replays_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let intake = intake(&store).await;
    send(&intake, &[fired("17:00"), badge("a2", "23:10")]).await;
    let d = intake.start_detection(RuleSource::Builtin).await.unwrap();
    d.replay().await.unwrap();
    let stored = store.last_alert().await.unwrap();
    // The saved state is forgotten (as if the process died before saving):
    // the replay (of the two events and the containment INC-1's playbook
    // applied) raises the same alerts, stores none again, and the case
    // that opened INC-1 opens nothing.
    store.save_state(stockade_app::detection::NAME, 0, r#"{"alerts":0,"detector":{}}"#).await.unwrap();
    let again = Intake::start(store.clone(), None, Arc::new(SystemClock), Default::default()).await.unwrap();
    let p = again.start_detection(RuleSource::Builtin).await.unwrap().replay().await.unwrap();
    assert_eq!((p.events, p.alerts, p.incidents), (3, 0, 0), "{p:?}");
    assert_eq!(store.last_alert().await.unwrap(), stored);
    assert_eq!(store.incidents(&IncidentQuery { limit: 10, ..Default::default() }).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_damaged_saved_state_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let intake = intake(&store).await;
    store.save_state(stockade_app::detection::NAME, 5, "{not json").await.unwrap();
    match intake.start_detection(RuleSource::Builtin).await {
        Err(DetectError::State(why)) => assert!(!why.is_empty()),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a damaged state was accepted"),
    }
}

const ONE_RULE: &str = "title: Cage entered
id: 3f0c2d4e-8a11-4c55-9a57-0d7b6d2a6a01
name: test-cage-entered
logsource:
  product: stockade
  category: access
detection:
  selection:
    kind: access.granted
    ctx.zone_tier: high_value_cage
  condition: selection
level: low
";

#[tokio::test]
async fn rules_reload_without_a_restart_and_a_bad_pack_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("a.yml"), ONE_RULE).unwrap();
    let store = store(&dir).await;
    let intake = intake(&store).await;
    let d = intake.start_detection(RuleSource::Dir(rules.clone())).await.unwrap();
    assert_eq!(d.rules().await.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["test-cage-entered"]);
    send(&intake, &[badge("a1", "09:00")]).await;
    d.catch_up().await.unwrap();
    let rules_of = |v: Vec<(stockade_store::StoredAlert, Option<String>)>| {
        v.into_iter().map(|(a, _)| (a.seq, a.rule)).collect::<Vec<_>>()
    };
    let all = AlertQuery { limit: 100, ..Default::default() };
    assert_eq!(rules_of(store.alerts(&all).await.unwrap()), [(1, "test-cage-entered".to_owned())]);

    // A second rule is added: both in force from the next event on, with
    // no restart.
    let second = ONE_RULE
        .replace("3f0c2d4e-8a11-4c55-9a57-0d7b6d2a6a01", "3f0c2d4e-8a11-4c55-9a57-0d7b6d2a6a02")
        .replace("test-cage-entered", "test-cage-entered-too");
    std::fs::write(rules.join("b.yml"), second).unwrap();
    let r = d.reload("test").await.unwrap();
    assert_eq!((r.rules, r.sha256.len()), (2, 64), "{r:?}");
    assert!(r.source.contains("rules"), "{r:?}");
    send(&intake, &[badge("a2", "09:30")]).await;
    d.catch_up().await.unwrap();
    let got = rules_of(store.alerts(&all).await.unwrap());
    assert_eq!(got[1..], [(2, "test-cage-entered".to_owned()), (2, "test-cage-entered-too".to_owned())]);

    // A broken file: the reload is refused with file, line and reason, and
    // the two rules in force keep running.
    std::fs::write(rules.join("b.yml"), "title: broken\nid: [unclosed\n").unwrap();
    match d.reload("test").await {
        Err(DetectError::Refused(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(errors[0].file.ends_with("b.yml") && errors[0].line >= 1, "{}", errors[0]);
        }
        other => panic!("a broken pack was not refused: {other:?}"),
    }
    // A directory that has gone: refused by name, nothing changes either.
    std::fs::remove_dir_all(&rules).unwrap();
    assert!(matches!(d.reload("test").await, Err(DetectError::ReadRules(m)) if m.contains("rules")));
    send(&intake, &[badge("a3", "10:00")]).await;
    d.catch_up().await.unwrap();
    assert_eq!(rules_of(store.alerts(&all).await.unwrap()).iter().filter(|(seq, _)| *seq == 3).count(), 2);
    assert_eq!(d.rules().await.len(), 2);
}

#[tokio::test]
async fn a_pack_with_a_refused_rule_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yml"), ONE_RULE.replace("ctx.zone_tier", "ctx.zone_colour")).unwrap();
    let store = store(&dir).await;
    let intake = intake(&store).await;
    match intake.start_detection(RuleSource::Dir(dir.path().to_owned())).await {
        Err(DetectError::Refused(e)) => assert!(e[0].reason.contains("ctx.zone_colour"), "{}", e[0]),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a pack with an unknown field started"),
    }
}

fn at(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&format!("2026-03-02T{t}:00+01:00")).unwrap().timestamp_micros()
}

/// `stockade detect --to`: a replay bounded in event time examines what
/// happened before the bound and holds there, across a restart; events
/// that commit meanwhile wait; a bound earlier than the one reached is
/// refused and changes nothing; the next unbounded replay goes on in
/// event-time order and judges the rest as one run would have.
#[tokio::test]
async fn a_replay_held_at_a_bound_goes_on_from_it() {
    use stockade_app::detection::Period;
    let dir = tempfile::tempdir().unwrap();
    let (store, intake, d) = loaded_out_of_order(&dir).await;
    // Watched, as `stockade detect` draws its progress bar.
    let (tx, rx) = tokio::sync::watch::channel(stockade_app::detection::Replaying::default());
    let p = d.replay_watched(Period { from_us: None, to_us: Some(at("18:00")) }, Some(&tx)).await.unwrap();
    assert_eq!((p.events, p.alerts, p.incidents), (2, 0, 0), "the morning read and the termination: {p:?}");
    let seen = *rx.borrow();
    assert_eq!((seen.total, seen.done, seen.at_us, seen.alerts), (2, 2, at("17:00"), 0), "{seen:?}");
    assert_eq!(d.held_at().await, Some(at("18:00")));
    assert_eq!(d.through(), 0, "not every stored event is examined");
    // Committed while held: it waits for the replay to go on.
    send(&intake, &[badge("a3", "23:40")]).await;
    assert_eq!(d.catch_up().await.unwrap(), Default::default());
    intake.close().await.unwrap();
    assert_eq!(store.last_alert().await.unwrap(), 0);

    let again = Intake::start(store.clone(), None, Arc::new(SystemClock), Default::default()).await.unwrap();
    let d = again.start_detection(RuleSource::Builtin).await.unwrap();
    assert_eq!(d.held_at().await, Some(at("18:00")), "held across a restart");
    match d.replay_period(Period { from_us: None, to_us: Some(at("12:00")) }).await {
        Err(DetectError::Period(why)) => assert!(why.contains("2026-03-02T17:00:00+00:00"), "{why}"),
        other => panic!("an earlier bound was accepted: {other:?}"),
    }
    match d.replay_period(Period { from_us: Some(at("20:00")), to_us: Some(at("19:00")) }).await {
        Err(DetectError::Period(why)) => assert!(why.contains("after its start"), "{why}"),
        other => panic!("an empty period was accepted: {other:?}"),
    }
    assert_eq!(d.held_at().await, Some(at("18:00")), "refusals change nothing");
    let p = d.replay().await.unwrap();
    assert_eq!((p.events, p.incidents), (3, 1), "the two evening reads, the containment: {p:?}");
    assert_eq!(d.held_at().await, None);
    let alerts = store.alerts(&AlertQuery { limit: 100, ..Default::default() }).await.unwrap();
    let seqs: std::collections::BTreeSet<i64> = alerts.iter().map(|(a, _)| a.seq).collect();
    assert_eq!(seqs, [2, 4].into(), "both evening reads are a terminated person's: {alerts:?}");
    assert!(alerts.iter().any(|(a, _)| a.rule == "access-terminated-person"), "{alerts:?}");
    // Held no more: what commits now is examined as it commits.
    assert!(d.through() >= 4, "{}", d.through());
    send(&again, &[badge("a4", "23:50")]).await;
    again.close().await.unwrap();
    let later = store.alerts(&AlertQuery { limit: 100, after: alerts.len() as u64, ..Default::default() }).await;
    assert!(later.unwrap().iter().any(|(a, _)| a.rule == "access-terminated-person"));
}

/// `stockade detect --from`: what happened before the period's start is
/// learned from (a termination) and raises nothing (an after-hours cage
/// entry); what happened from then on is judged with it.
#[tokio::test]
async fn history_before_a_period_teaches_and_raises_nothing() {
    use stockade_app::detection::Period;
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let intake = intake(&store).await;
    send(&intake, &[fired("17:00"), badge("a1", "19:30"), badge("a2", "23:10")]).await;
    let d = intake.start_detection(RuleSource::Builtin).await.unwrap();
    let p = d.replay_period(Period { from_us: Some(at("20:00")), to_us: None }).await.unwrap();
    assert_eq!((p.events, p.learned, p.incidents), (4, 2, 1), "the containment too: {p:?}");
    let alerts = store.alerts(&AlertQuery { limit: 100, ..Default::default() }).await.unwrap();
    assert!(!alerts.is_empty() && alerts.iter().all(|(a, _)| a.seq == 3), "{alerts:?}");
    let rules: Vec<&str> = alerts.iter().map(|(a, _)| a.rule.as_str()).collect();
    assert!(rules.contains(&"access-terminated-person"), "the termination was learned: {rules:?}");
    assert!(rules.contains(&"access-cage-after-hours"), "{rules:?}");
    let incidents = store.incidents(&IncidentQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].incident.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a2"]);
    intake.close().await.unwrap();
}
