//! The conformance suite every [`Store`] driver must pass. Each check takes a
//! fresh, empty store; driver tests call [`run_all`].

use crate::*;
use stockade_model::{RecordKind, RecordRow};

fn ev(source: &str, id: &str, site: &str, occurred_us: i64) -> NewEvent {
    let payload = format!(r#"{{"id":"{id}","source":"{source}"}}"#);
    NewEvent {
        source: source.into(),
        event_id: id.into(),
        kind: "access.granted",
        site: site.into(),
        occurred_us,
        offset_s: 3600,
        received_us: occurred_us + 5,
        hash: stockade_model::Event::digest(payload.as_bytes()),
        payload,
        movements: vec![],
        observation: None,
        epcis_hash: None,
    }
}

/// Runs every check, each on a store from `fresh`.
pub async fn run_all<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Box<dyn Store>>,
{
    append_is_idempotent(&*fresh().await).await;
    append_preserves_order_and_payload(&*fresh().await).await;
    large_batches_span_chunks(&*fresh().await).await;
    book_snapshots_round_trip(&*fresh().await).await;
    reference_upserts(&*fresh().await).await;
    tokens_hash_only_and_revoke(&*fresh().await).await;
    users_and_sessions(&*fresh().await).await;
    alert_triage(&*fresh().await).await;
    event_queries_filter(&*fresh().await).await;
    evidence_and_custody(&*fresh().await).await;
    audit_trail(&*fresh().await).await;
    incidents(&*fresh().await).await;
    consumer_state_and_alerts(&*fresh().await).await;
    timelines(&*fresh().await).await;
    deliveries(&*fresh().await).await;
}

/// Webhook deliveries: one per id and per (endpoint, idempotency key);
/// listed by status and due time; updated in place.
pub async fn deliveries(s: &dyn Store) {
    let d = |id: &str, endpoint: &str, key: &str, next_us: i64| Delivery {
        id: id.into(),
        endpoint: endpoint.into(),
        idempotency_key: key.into(),
        incident: "INC-1".into(),
        body: r#"{"action":"revoke_badge","target":"B-7"}"#.into(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_us,
        created_us: 100,
        last_error: None,
        delivered_us: None,
    };
    let all = |status| DeliveryQuery { status, limit: 100, ..Default::default() };
    assert!(s.deliveries(&all(None)).await.unwrap().is_empty());
    s.add_delivery(&d("d1", "acs", "k1", 500)).await.unwrap();
    s.add_delivery(&d("d2", "wms", "k1", 300)).await.unwrap();
    s.add_delivery(&d("d3", "acs", "k2", 900)).await.unwrap();
    assert!(matches!(s.add_delivery(&d("d1", "x", "y", 1)).await, Err(StoreError::Conflict(_))));
    assert!(matches!(s.add_delivery(&d("d9", "acs", "k1", 1)).await, Err(StoreError::Conflict(_))));
    let ids = |v: Vec<Delivery>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(ids(s.deliveries(&all(None)).await.unwrap()), ["d2", "d1", "d3"]);
    let due =
        DeliveryQuery { status: Some(DeliveryStatus::Pending), due_by_us: Some(500), limit: 10, ..Default::default() };
    assert_eq!(ids(s.deliveries(&due).await.unwrap()), ["d2", "d1"]);
    let mut done = d("d1", "acs", "k1", 600);
    done.status = DeliveryStatus::Dead;
    done.attempts = 8;
    done.last_error = Some("503 Service Unavailable".into());
    s.update_delivery(&done).await.unwrap();
    assert_eq!(s.deliveries(&all(Some(DeliveryStatus::Dead))).await.unwrap(), vec![done]);
    assert_eq!(ids(s.deliveries(&due).await.unwrap()), ["d2"]);
    let one = DeliveryQuery { id: Some("d3".into()), limit: 1, ..Default::default() };
    assert_eq!(ids(s.deliveries(&one).await.unwrap()), ["d3"]);
    assert!(matches!(s.update_delivery(&d("d7", "acs", "k7", 1)).await, Err(StoreError::NotFound(_))));
}

/// Incident timelines: one entry per number per incident, read back in
/// order, by a range of incidents.
pub async fn timelines(s: &dyn Store) {
    use stockade_respond::{Act, Entry, Status};
    let at = chrono::DateTime::parse_from_rfc3339("2026-03-03T08:00:00+01:00").unwrap();
    let e = |incident: u64, n: u64, leaf: Option<u64>| StoredEntry {
        incident,
        entry: Entry {
            incident: stockade_incident::incident_id(incident),
            n,
            at,
            actor: "ana (token t)".into(),
            act: if n == 1 {
                Act::Transition { from: Status::Detected, to: Status::Triaged, reason: String::new(), effective: at }
            } else {
                Act::Note { text: format!("note {n}: café") }
            },
        },
        leaf_index: leaf,
    };
    assert!(s.timelines(1, u64::MAX).await.unwrap().is_empty());
    for (i, n, leaf) in [(2, 1, Some(7)), (1, 1, Some(5)), (2, 2, None), (3, 1, Some(9))] {
        s.add_timeline(&e(i, n, leaf)).await.unwrap();
    }
    let err = s.add_timeline(&e(2, 2, Some(10))).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m == "entry 2 of incident INC-2 exists"), "{err}");
    let all = s.timelines(1, u64::MAX).await.unwrap();
    assert_eq!(all, vec![e(1, 1, Some(5)), e(2, 1, Some(7)), e(2, 2, None), e(3, 1, Some(9))]);
    assert_eq!(s.timelines(2, 2).await.unwrap(), vec![e(2, 1, Some(7)), e(2, 2, None)]);
    assert!(s.timelines(4, 9).await.unwrap().is_empty());
}

/// Incidents: numbered, one per number, listed in order and by site; cited
/// events can be checked against the store.
/// A consumer's state round-trips and is replaced whole; alerts are
/// numbered, filtered, paged and linked to the incident their case opened.
pub async fn consumer_state_and_alerts(s: &dyn Store) {
    assert_eq!(s.load_state("detect").await.unwrap(), None);
    s.save_state("detect", 10, "{\"a\":1}").await.unwrap();
    s.save_state("detect", 42, "{\"a\":2}").await.unwrap();
    assert_eq!(s.load_state("detect").await.unwrap(), Some((42, "{\"a\":2}".to_owned())));
    assert_eq!(s.load_state("other").await.unwrap(), None);

    let alert = |n: u64, site: &str, rule: &str, at_us: i64, case_n: u64| StoredAlert {
        n,
        seq: n as i64 * 10,
        site: site.into(),
        rule: rule.into(),
        at_us,
        case_n,
        record: format!("{{\"n\":{n}}}"),
        // Sorted by kind then id, as they are read back.
        entities: [("door", format!("D{}", n % 2)), ("person", format!("P{n}"))]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    };
    assert_eq!(s.last_alert().await.unwrap(), 0);
    s.add_alerts(&[alert(1, "S1", "r1", 100, 1), alert(2, "S2", "r2", 200, 2)], &[]).await.unwrap();
    s.add_alerts(&[alert(3, "S1", "r2", 300, 1)], &[(1, "INC-4".into())]).await.unwrap();
    assert_eq!(s.last_alert().await.unwrap(), 3);
    let conflict = s.add_alerts(&[alert(3, "S1", "r2", 300, 1)], &[]).await;
    assert!(matches!(conflict, Err(StoreError::Conflict(_))), "{conflict:?}");
    let q = |f: fn(&mut AlertQuery)| {
        let mut q = AlertQuery { limit: 10, ..Default::default() };
        f(&mut q);
        q
    };
    let all = s.alerts(&q(|_| {})).await.unwrap();
    assert_eq!(all.iter().map(|(a, _)| a.n).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(all[0].1.as_deref(), Some("INC-4"));
    assert_eq!(all[1].1, None);
    assert_eq!(all[2].0, alert(3, "S1", "r2", 300, 1));
    let n = |v: Vec<(StoredAlert, Option<String>)>| v.iter().map(|(a, _)| a.n).collect::<Vec<_>>();
    assert_eq!(n(s.alerts(&q(|q| q.site = Some("S1".into()))).await.unwrap()), vec![1, 3]);
    assert_eq!(n(s.alerts(&q(|q| q.rule = Some("r2".into()))).await.unwrap()), vec![2, 3]);
    assert_eq!(n(s.alerts(&q(|q| (q.from_us, q.to_us) = (Some(150), Some(300)))).await.unwrap()), vec![2]);
    assert_eq!(n(s.alerts(&q(|q| q.case = Some(1))).await.unwrap()), vec![1, 3]);
    assert_eq!(n(s.alerts(&q(|q| (q.after, q.limit) = (1, 1))).await.unwrap()), vec![2]);
    assert_eq!(n(s.alerts(&q(|q| q.entity = Some(("door".into(), "D1".into())))).await.unwrap()), vec![1, 3]);
    assert_eq!(n(s.alerts(&q(|q| q.entity = Some(("person".into(), "P2".into())))).await.unwrap()), vec![2]);
    assert_eq!(n(s.alerts(&q(|q| q.entity = Some(("badge".into(), "P2".into())))).await.unwrap()), Vec::<u64>::new());
    assert_eq!(n(s.alerts(&q(|q| q.incident = Some("INC-4".into()))).await.unwrap()), vec![1, 3]);
    assert_eq!(n(s.alerts(&q(|q| q.incident = Some("INC-5".into()))).await.unwrap()), Vec::<u64>::new());
    let paged = s.alerts(&q(|q| (q.after, q.limit) = (1, 1))).await.unwrap();
    assert_eq!(paged[0].0.entities, alert(2, "S2", "r2", 200, 2).entities);
    // Many at once (a replay's day): several statements' worth of alerts and
    // entities, each stored once; a batch holding one that exists stores none.
    let many: Vec<StoredAlert> = (4..=303).map(|n| alert(n, "S3", "r3", n as i64 * 100, 9)).collect();
    s.add_alerts(&many, &[]).await.unwrap();
    assert_eq!(s.last_alert().await.unwrap(), 303);
    let mut clashing: Vec<StoredAlert> = (304..=310).map(|n| alert(n, "S3", "r3", 0, 9)).collect();
    clashing.push(alert(303, "S3", "r3", 0, 9));
    assert!(matches!(s.add_alerts(&clashing, &[]).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.last_alert().await.unwrap(), 303, "nothing of a refused batch is stored");
    let wide = |f: fn(&mut AlertQuery)| {
        let mut q = AlertQuery { limit: 1000, ..Default::default() };
        f(&mut q);
        q
    };
    let stored = s.alerts(&wide(|q| q.case = Some(9))).await.unwrap();
    assert_eq!(n(stored.clone()), (4..=303).collect::<Vec<_>>());
    assert!(stored.iter().all(|(a, _)| *a == alert(a.n, "S3", "r3", a.n as i64 * 100, 9)));
    assert_eq!(n(s.alerts(&wide(|q| q.entity = Some(("person".into(), "P250".into())))).await.unwrap()), vec![250]);
    let doors = s.alerts(&wide(|q| (q.entity, q.case) = (Some(("door".into(), "D0".into())), Some(9)))).await.unwrap();
    assert_eq!(n(doors), (4..=303).filter(|n| n % 2 == 0).collect::<Vec<_>>());
}

pub async fn incidents(s: &dyn Store) {
    use stockade_incident::{EventRef, NewIncident, Severity};
    let t = |h: u32| chrono::DateTime::parse_from_rfc3339(&format!("2026-03-02T{h:02}:00:00+01:00")).unwrap();
    let inc = |n: u64, site: &str| {
        NewIncident {
            site: site.into(),
            title: format!("case {n}"),
            severity: Severity::High,
            scenario: None,
            summary: String::new(),
            from: t(1),
            to: t(2),
            entities: vec!["P-1".into()],
            events: vec![EventRef { source: "acs".into(), id: format!("e{n}") }],
            rules: vec![],
            detected_at: None,
        }
        .open(n, t(3), "analyst (token t)")
        .unwrap()
    };
    assert_eq!(s.last_incident().await.unwrap(), 0);
    for (n, site) in [(1, "S1"), (2, "S2"), (3, "S1")] {
        s.add_incident(&inc(n, site)).await.unwrap();
    }
    assert!(matches!(s.add_incident(&inc(2, "S1")).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.last_incident().await.unwrap(), 3);
    assert_eq!(s.incident("INC-2").await.unwrap(), Some(inc(2, "S2")));
    assert_eq!(s.incident("INC-9").await.unwrap(), None);
    assert_eq!(s.incident("2").await.unwrap(), None);
    let all = s.incidents(&IncidentQuery { site: None, after: 0, limit: 10 }).await.unwrap();
    assert_eq!(all.iter().map(|i| i.n).collect::<Vec<_>>(), vec![1, 2, 3]);
    let s1 = s.incidents(&IncidentQuery { site: Some("S1".into()), after: 1, limit: 10 }).await.unwrap();
    assert_eq!(s1, vec![inc(3, "S1")]);
    assert_eq!(s.incidents(&IncidentQuery { site: None, after: 0, limit: 1 }).await.unwrap().len(), 1);

    s.append(&[ev("acs", "e1", "S1", 1_000)]).await.unwrap();
    assert_eq!(s.has_events(&[("acs", "e1"), ("acs", "e2"), ("vms", "e1")]).await.unwrap(), vec![true, false, false]);
    // Many keys at once (more than one query's worth), found ones among them.
    let batch: Vec<NewEvent> = (0..900).map(|i| ev("wms", &format!("w{i}"), "S1", 2_000 + i)).collect();
    s.append(&batch).await.unwrap();
    let ids: Vec<String> = (0..1200).map(|i| format!("w{}", i * 2)).collect();
    let keys: Vec<(&str, &str)> = ids.iter().map(|i| ("wms", i.as_str())).collect();
    let found = s.has_events(&keys).await.unwrap();
    assert_eq!(found.len(), 1200);
    assert!(found.iter().enumerate().all(|(k, f)| *f == (k * 2 < 900)));
}

/// The audit trail: in order, one record per position.
pub async fn audit_trail(s: &dyn Store) {
    use stockade_evidence::AuditRecord;
    assert_eq!(s.last_audit().await.unwrap(), 0);
    let rec = |n: u64| StoredAudit {
        record: AuditRecord {
            n,
            action: "token_created".into(),
            actor: "cli".into(),
            at_us: n as i64,
            detail: serde_json::json!({"role": "admin"}),
        },
        leaf_index: 100 + n,
    };
    for n in 1..=3 {
        s.add_audit(&rec(n)).await.unwrap();
    }
    assert!(matches!(s.add_audit(&rec(2)).await, Err(StoreError::Conflict(_))));
    let all = s.audit(0, 10).await.unwrap();
    assert_eq!(all, vec![rec(1), rec(2), rec(3)]);
    assert_eq!(s.audit(1, 1).await.unwrap(), vec![rec(2)]);
    assert_eq!(s.last_audit().await.unwrap(), 3);
}

/// Evidence records and custody chains: stored whole, in order, one entry per position.
pub async fn evidence_and_custody(s: &dyn Store) {
    use stockade_evidence::{Action, CustodyRecord, EvidenceRecord};
    let record = |id: &str, incident: &str| EvidenceRecord {
        id: id.into(),
        incident: incident.into(),
        class: "video".into(),
        sha256: "ab".repeat(32),
        size: 10,
        media_type: "video/mp4".into(),
        collected_by: "alice".into(),
        collected_from: "camera:CAM-1".into(),
        original_from: None,
        original_to: None,
        description: "clip".into(),
        collected_us: 1,
        retain_until_us: 2,
    };
    let custody = |id: &str, n: u64, action: Action, leaf: u64| StoredCustody {
        record: CustodyRecord {
            evidence: id.into(),
            n,
            action,
            actor: "alice".into(),
            at_us: 5 + n as i64,
            reason: "why".into(),
            party: None,
        },
        leaf_index: leaf,
    };
    let e1 = StoredEvidence { record: record("ev_1", "INC-1"), leaf_index: 10, expired_us: None };
    let e2 = StoredEvidence { record: record("ev_2", "INC-1"), leaf_index: 12, expired_us: None };
    s.add_evidence(&e1, &custody("ev_1", 0, Action::Collected, 11)).await.unwrap();
    s.add_evidence(&e2, &custody("ev_2", 0, Action::Collected, 13)).await.unwrap();
    assert!(
        matches!(s.add_evidence(&e1, &custody("ev_1", 0, Action::Collected, 14)).await, Err(StoreError::Conflict(_))),
        "an id is collected once"
    );
    assert_eq!(s.evidence("ev_1").await.unwrap(), Some(e1.clone()));
    assert_eq!(s.evidence("nope").await.unwrap(), None);
    let listed = s.incident_evidence("INC-1").await.unwrap();
    assert_eq!(listed.iter().map(|e| e.record.id.as_str()).collect::<Vec<_>>(), ["ev_1", "ev_2"]);
    assert!(s.incident_evidence("INC-2").await.unwrap().is_empty());
    assert_eq!(s.live_evidence_with_file(&"ab".repeat(32)).await.unwrap(), 2, "both items share the file");
    assert_eq!(s.evidence_due(1).await.unwrap().len(), 0);
    assert_eq!(s.evidence_due(2).await.unwrap().len(), 2);
    s.add_custody(&custody("ev_1", 1, Action::Viewed, 15)).await.unwrap();
    assert!(
        matches!(s.add_custody(&custody("ev_1", 1, Action::Downloaded, 16)).await, Err(StoreError::Conflict(_))),
        "two actions cannot take the same place in a chain"
    );
    s.add_custody(&custody("ev_1", 2, Action::Expired, 17)).await.unwrap();
    let chain = s.custody("ev_1").await.unwrap();
    assert_eq!(
        chain.iter().map(|c| (c.record.n, c.record.action)).collect::<Vec<_>>(),
        [(0, Action::Collected), (1, Action::Viewed), (2, Action::Expired)]
    );
    assert_eq!(chain[1].leaf_index, 15);
    assert_eq!(s.evidence("ev_1").await.unwrap().unwrap().expired_us, Some(7), "expiry marks the record");
    assert_eq!(s.live_evidence_with_file(&"ab".repeat(32)).await.unwrap(), 1);
    assert_eq!(s.evidence_due(2).await.unwrap().len(), 1, "expired items are not due again");
}

pub async fn append_is_idempotent(s: &dyn Store) {
    let a = ev("acs", "1", "S", 1_000);
    let b = ev("acs", "2", "S", 2_000);
    let other_source = ev("vms", "1", "S", 3_000);
    let r = s.append(&[a.clone(), b.clone(), a.clone()]).await.unwrap();
    assert!(matches!(r[0], Appended::Accepted(_)));
    assert!(matches!(r[1], Appended::Accepted(_)));
    assert_eq!(r[2], Appended::Duplicate, "a repeat inside one batch is a duplicate");
    let r = s.append(&[b, other_source]).await.unwrap();
    assert_eq!(r[0], Appended::Duplicate, "a repeat across batches is a duplicate");
    assert!(matches!(r[1], Appended::Accepted(_)), "ids are unique per source only");
    assert_eq!(s.event_count().await.unwrap(), 3);
}

pub async fn append_preserves_order_and_payload(s: &dyn Store) {
    let batch: Vec<_> = (0..5).map(|i| ev("wms", &format!("e{i}"), "S", i * 10)).collect();
    let r = s.append(&batch).await.unwrap();
    let seqs: Vec<i64> = r
        .iter()
        .map(|a| match a {
            Appended::Accepted(s) => *s,
            Appended::Duplicate => panic!("unexpected duplicate"),
        })
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "sequence numbers follow input order: {seqs:?}");
    let back = s.events(&EventQuery { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(back.len(), 5);
    for (b, e) in back.iter().zip(&batch) {
        assert_eq!(b.event_id, e.event_id);
        assert_eq!(b.payload, e.payload);
        assert_eq!(b.hash, e.hash);
        assert_eq!(b.offset_s, 3600);
        assert_eq!(b.received_us, e.received_us);
    }
}

pub async fn large_batches_span_chunks(s: &dyn Store) {
    let batch: Vec<_> = (0..1000).map(|i| ev("wms", &format!("e{i}"), "S", i)).collect();
    let r = s.append(&batch).await.unwrap();
    assert_eq!(r.iter().filter(|a| matches!(a, Appended::Accepted(_))).count(), 1000);
    let again = s.append(&batch[500..]).await.unwrap();
    assert!(again.iter().all(|a| *a == Appended::Duplicate));
    assert_eq!(s.event_count().await.unwrap(), 1000);
}

/// The inventory book's snapshot: places saved with the seq they reflect
/// read back as saved, later saves replace only the places they name, and
/// clearing forgets it all.
pub async fn book_snapshots_round_trip(s: &dyn Store) {
    use stockade_model::book::{CountState, InventoryBook, Place, PlaceState, Pool};
    let (empty, through) = s.load_book().await.unwrap();
    assert_eq!((empty.len(), through), (0, 0));
    let place = |loc: &str| Place { site: "S".into(), location: loc.into(), sku: "K".into() };
    let counted = PlaceState {
        quantity: 4.0,
        recent: vec![(100, 10.0), (200, -6.0)],
        count: Some(CountState {
            seq: 7,
            occurred_us: 300,
            counted: 3.5,
            book_at: 4.0,
            approximate: true,
            correction: Some(-0.5),
        }),
        opened_us: Some(250),
        holds: Some(Pool::Received),
        corrected: -1.5,
        first_us: Some(100),
        settled_us: Some(200),
    };
    let plain = PlaceState { quantity: 6.0, recent: vec![(200, 6.0)], ..Default::default() };
    s.save_book(&[(place("DOCK"), counted.clone()), (place("BIN"), plain.clone())], 9).await.unwrap();
    let (book, through): (InventoryBook, i64) = s.load_book().await.unwrap();
    assert_eq!(through, 9);
    assert_eq!(book.get(&place("DOCK")), Some(&counted));
    assert_eq!(book.get(&place("BIN")), Some(&plain));
    let moved = PlaceState { quantity: 5.0, holds: Some(Pool::Picked), ..Default::default() };
    s.save_book(&[(place("BIN"), moved.clone())], 12).await.unwrap();
    let (book, through) = s.load_book().await.unwrap();
    assert_eq!((through, book.len()), (12, 2));
    assert_eq!(book.get(&place("BIN")), Some(&moved));
    assert_eq!(book.get(&place("DOCK")), Some(&counted), "a place not saved again keeps its state");
    s.clear_book().await.unwrap();
    let (book, through) = s.load_book().await.unwrap();
    assert_eq!((book.len(), through), (0, 0));
}

pub async fn reference_upserts(s: &dyn Store) {
    let row = |id: &str, name: &str| RecordRow {
        kind: RecordKind::Site,
        id: id.into(),
        site: Some(id.into()),
        json: serde_json::json!({"id": id, "name": name, "timezone": "Europe/Paris"}),
    };
    s.put_reference(&[row("A", "old"), row("B", "b")], 1).await.unwrap();
    s.put_reference(&[row("A", "new")], 2).await.unwrap();
    let all = s.reference(None).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].json["name"], "new");
    assert!(s.reference(Some(RecordKind::Door)).await.unwrap().is_empty());
}

pub async fn tokens_hash_only_and_revoke(s: &dyn Store) {
    let mut t = TokenRecord {
        id: "tok1".into(),
        secret_hash: [7; 32],
        role: Role::Ingest,
        name: "edge gateway".into(),
        created_us: 1,
        revoked_us: None,
        expires_us: Some(1_000),
        sites: vec!["LYS".into()],
    };
    s.put_token(&t).await.unwrap();
    assert_eq!(s.token_by_hash(&[7; 32]).await.unwrap(), Some(t.clone()));
    assert_eq!(s.token_by_hash(&[8; 32]).await.unwrap(), None);
    let other = TokenRecord {
        id: "tok0".into(),
        secret_hash: [9; 32],
        role: Role::Admin,
        created_us: 1,
        expires_us: None,
        sites: vec![],
        ..t.clone()
    };
    s.put_token(&other).await.unwrap();
    t.revoked_us = Some(2);
    s.put_token(&t).await.unwrap();
    assert_eq!(s.token_by_hash(&[7; 32]).await.unwrap(), None, "revoked tokens do not authenticate");
    assert_eq!(s.tokens().await.unwrap(), vec![other, t], "all of them, revoked too, by creation then id");
}

/// Users are kept by name and updated in place (never their creation
/// time); sessions are found by their secret's hash until they end, and a
/// user's sessions end together.
pub async fn users_and_sessions(s: &dyn Store) {
    let mut ana = UserRecord {
        name: "ana".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role: Role::Analyst,
        sites: vec!["LYS".into(), "CHI".into()],
        created_us: 10,
        disabled_us: None,
    };
    assert_eq!(s.user("ana").await.unwrap(), None);
    s.put_user(&ana).await.unwrap();
    let bob = UserRecord { name: "bob".into(), role: Role::Admin, sites: vec![], ..ana.clone() };
    s.put_user(&bob).await.unwrap();
    assert_eq!(s.user("ana").await.unwrap(), Some(ana.clone()));
    ana.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI".into();
    ana.disabled_us = Some(20);
    s.put_user(&UserRecord { created_us: 99, ..ana.clone() }).await.unwrap();
    assert_eq!(s.user("ana").await.unwrap(), Some(ana.clone()), "updated; created_us kept");
    assert_eq!(s.users().await.unwrap(), vec![ana, bob]);

    let session = |id: &str, hash: u8, user: &str| SessionRecord {
        id: id.into(),
        secret_hash: [hash; 32],
        user: user.into(),
        created_us: 100,
        expires_us: 1_000,
        revoked_us: None,
    };
    s.put_session(&session("s1", 1, "ana")).await.unwrap();
    s.put_session(&session("s2", 2, "ana")).await.unwrap();
    s.put_session(&session("s3", 3, "bob")).await.unwrap();
    let found = s.session_by_hash(&[1; 32]).await.unwrap().unwrap();
    assert_eq!(found, session("s1", 1, "ana"));
    assert!(found.live_at(999) && !found.live_at(1_000), "expires at expires_us");
    assert_eq!(s.session_by_hash(&[9; 32]).await.unwrap(), None);
    let mut ended = session("s3", 3, "bob");
    ended.revoked_us = Some(200);
    s.put_session(&ended).await.unwrap();
    assert_eq!(s.session_by_hash(&[3; 32]).await.unwrap(), None, "an ended session does not authenticate");
    assert_eq!(s.end_sessions("ana", 300).await.unwrap(), 2);
    assert_eq!(s.session_by_hash(&[2; 32]).await.unwrap(), None);
    assert_eq!(s.end_sessions("ana", 400).await.unwrap(), 0);
}

/// An alert's triage is its latest act, found by number range.
pub async fn alert_triage(s: &dyn Store) {
    assert!(s.triage(0, u64::MAX).await.unwrap().is_empty());
    let t = |n: u64, status, owner: Option<&str>, reason: &str| AlertTriage {
        n,
        status,
        owner: owner.map(str::to_owned),
        reason: reason.into(),
        actor: "ana (session ses_1)".into(),
        at_us: 10 * n as i64,
        incident: None,
    };
    s.put_triage(&t(7, TriageStatus::Taken, Some("ana"), "")).await.unwrap();
    s.put_triage(&t(3, TriageStatus::Dismissed, None, "fire drill")).await.unwrap();
    s.put_triage(&t(9, TriageStatus::Taken, Some("bob"), "")).await.unwrap();
    s.put_triage(&t(7, TriageStatus::Dismissed, None, "known vendor visit")).await.unwrap();
    let all = s.triage(0, u64::MAX).await.unwrap();
    assert_eq!(
        all.iter().map(|x| (x.n, x.status)).collect::<Vec<_>>(),
        [(3, TriageStatus::Dismissed), (7, TriageStatus::Dismissed), (9, TriageStatus::Taken)]
    );
    assert_eq!(all[1], t(7, TriageStatus::Dismissed, None, "known vendor visit"));
    assert_eq!(s.triage(4, 8).await.unwrap().len(), 1);
    let up = AlertTriage { incident: Some("INC-4".into()), ..t(3, TriageStatus::Escalated, None, "") };
    s.put_triage(&up).await.unwrap();
    assert_eq!(s.triage(3, 3).await.unwrap(), vec![up]);
}

pub async fn event_queries_filter(s: &dyn Store) {
    let mut batch = vec![ev("a", "1", "S1", 100), ev("a", "2", "S2", 200), ev("a", "3", "S1", 300)];
    batch[2].kind = "access.denied";
    s.append(&batch).await.unwrap();
    let q =
        |q: EventQuery| async move { s.events(&q).await.unwrap().into_iter().map(|e| e.event_id).collect::<Vec<_>>() };
    assert_eq!(q(EventQuery { site: Some("S1".into()), limit: 10, ..Default::default() }).await, ["1", "3"]);
    assert_eq!(q(EventQuery { kind: Some("access.denied".into()), limit: 10, ..Default::default() }).await, ["3"]);
    assert_eq!(q(EventQuery { from_us: Some(150), to_us: Some(300), limit: 10, ..Default::default() }).await, ["2"]);
    let first = s.events(&EventQuery { limit: 1, ..Default::default() }).await.unwrap();
    assert_eq!(first.len(), 1);
    let rest = q(EventQuery { after_seq: Some(first[0].seq), limit: 10, ..Default::default() }).await;
    assert_eq!(rest, ["2", "3"]);
    // The times of what each query matches, without the events.
    for query in [
        EventQuery { site: Some("S1".into()), limit: 10, ..Default::default() },
        EventQuery { kind: Some("access.denied".into()), limit: 10, ..Default::default() },
        EventQuery { from_us: Some(150), to_us: Some(300), limit: 10, ..Default::default() },
        EventQuery { after_seq: Some(first[0].seq), limit: 1, ..Default::default() },
    ] {
        let times = s.event_times(&query).await.unwrap();
        let events: Vec<(i64, i64)> =
            s.events(&query).await.unwrap().into_iter().map(|e| (e.seq, e.occurred_us)).collect();
        assert!(!times.is_empty());
        assert_eq!(times, events, "{query:?}");
    }
    let times = s.event_times(&EventQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(times.iter().map(|t| t.1).collect::<Vec<_>>(), [100, 200, 300]);
}
