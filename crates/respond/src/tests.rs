use crate::*;
use chrono::{DateTime, Duration, FixedOffset};
use stockade_incident::{EventRef, IncidentRecord, NewIncident, Severity};

fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

fn ev(id: &str) -> EventRef {
    EventRef { source: "acs".into(), id: id.into() }
}

fn record(n: u64, entities: &[&str], events: &[&str]) -> IncidentRecord {
    NewIncident {
        site: "S1".into(),
        title: "cage stock left after hours".into(),
        severity: Severity::High,
        scenario: None,
        summary: String::new(),
        from: t("2026-03-02T23:00:00+01:00"),
        to: t("2026-03-02T23:40:00+01:00"),
        entities: entities.iter().map(|s| s.to_string()).collect(),
        events: events.iter().map(|s| ev(s)).collect(),
        detected_at: Some(t("2026-03-02T23:05:00+01:00")),
    }
    .open(n, t("2026-03-03T08:00:00Z"), "stockade-detect")
    .unwrap()
}

/// Records acts the way `app::response` does: decide, stamp, apply.
struct Recorder {
    state: Response,
    entries: Vec<Entry>,
    now: DateTime<FixedOffset>,
}

impl Recorder {
    fn new(r: &IncidentRecord) -> Recorder {
        Recorder { state: Response::opened(r), entries: vec![], now: t("2026-03-03T08:00:00Z") }
    }
    fn record(&mut self, act: Act) {
        let e = Entry {
            incident: self.state.incident.clone(),
            n: self.state.entries + 1,
            at: self.now,
            actor: "ana".into(),
            act,
        };
        self.state.apply(&e).unwrap();
        self.entries.push(e);
    }
    fn ask(&mut self, req: Request) -> Result<(), Refused> {
        self.now += Duration::minutes(10);
        let act = self.state.decide(req, self.now)?;
        self.record(act);
        Ok(())
    }
}

fn go(to: Status) -> Request {
    Request::Transition { to, reason: String::new(), happened_at: None }
}

fn go_because(to: Status, why: &str) -> Request {
    Request::Transition { to, reason: why.into(), happened_at: None }
}

#[test]
fn a_response_runs_from_detection_to_closure_and_replays_to_the_same_state() {
    let r = record(1, &["P-7", "D-CAGE"], &["a-1"]);
    let mut rec = Recorder::new(&r);
    rec.ask(Request::Assign { owner: "security:ana".into() }).unwrap();
    rec.ask(go(Status::Triaged)).unwrap();
    rec.ask(go(Status::Contained)).unwrap();
    rec.ask(Request::Note { text: "badge B-7 revoked by phone".into() }).unwrap();
    rec.ask(go(Status::Investigating)).unwrap();
    rec.ask(Request::Severity { to: Severity::Critical, reason: "two more pallets missing".into() }).unwrap();
    rec.ask(Request::Link { entities: vec!["P-9".into(), "P-7".into()], events: vec![ev("a-2")], sites: vec![] })
        .unwrap();
    for s in [Status::Remediating, Status::Recovered, Status::Closed] {
        rec.ask(go(s)).unwrap();
    }
    let s = &rec.state;
    assert_eq!(s.status, Status::Closed);
    assert_eq!(s.severity, Severity::Critical);
    assert_eq!(s.owner.as_deref(), Some("security:ana"));
    assert_eq!(s.entities.len(), 3, "P-7 was named already; P-9 joined");
    assert_eq!(s.entries, 10);
    assert_eq!(Response::of(&r, &rec.entries).unwrap(), rec.state);

    // Stored as JSON and read back, the timeline replays the same.
    let json: Vec<String> = rec.entries.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
    assert!(json[1].contains(r#""act":"transition","from":"detected","to":"triaged""#), "{}", json[1]);
    let back: Vec<Entry> = json.iter().map(|j| serde_json::from_str(j).unwrap()).collect();
    assert_eq!(back, rec.entries);

    let c = s.clocked();
    assert_eq!(c.detected, t("2026-03-02T23:05:00+01:00"));
    assert_eq!(c.triaged, Some(t("2026-03-03T08:20:00Z")));
    assert_eq!(c.contained, Some(t("2026-03-03T08:30:00Z")));
    assert_eq!(c.recovered, Some(t("2026-03-03T09:30:00Z")));
    let f = figures([&c]);
    assert_eq!(f.time_to_detect.median_s, Some(300.0));
    assert_eq!(f.time_to_contain.median_s, Some(37_500.0), "22:05Z to 08:30Z");
    assert_eq!(f.time_to_recover.median_s, Some(41_100.0), "22:05Z to 09:30Z");
    assert_eq!((f.incidents, f.open, f.uncontained), (1, 0, 0));
}

#[test]
fn illegal_moves_are_refused_with_the_way_forward() {
    let r = record(1, &["P-7"], &["a-1"]);
    let mut rec = Recorder::new(&r);
    let e = rec.ask(go(Status::Closed)).unwrap_err();
    assert_eq!(
        e.0,
        "INC-1 is detected: it cannot move to closed; from detected it can move to triaged, contained, false_positive"
    );
    assert!(rec.ask(go(Status::Duplicate)).unwrap_err().0.contains("merged"));
    assert!(rec.ask(go(Status::Detected)).is_err(), "no move to itself");
    assert_eq!(rec.ask(go(Status::FalsePositive)).unwrap_err().0, "`reason` must say why");
    rec.ask(go_because(Status::FalsePositive, "night shift stock-take, announced")).unwrap();
    assert!(rec.ask(Request::Assign { owner: "x".into() }).unwrap_err().0.contains("reopen it"));
    assert!(rec.ask(Request::Note { text: "checked the rota".into() }).is_ok(), "notes are always welcome");
    assert!(rec.ask(go(Status::Triaged)).unwrap_err().0.contains("why"), "reopening needs a reason");
    rec.ask(go_because(Status::Triaged, "the stock-take was the next night")).unwrap();
    assert_eq!(rec.state.status, Status::Triaged);
    assert_eq!(rec.entries.len(), 3, "refusals record nothing");
    assert_eq!(Response::of(&r, &rec.entries).unwrap(), rec.state);
}

#[test]
fn other_acts_that_change_nothing_or_say_nothing_are_refused() {
    let mut rec = Recorder::new(&record(1, &["P-7"], &["a-1"]));
    rec.ask(Request::Assign { owner: "ana".into() }).unwrap();
    for (req, why) in [
        (Request::Assign { owner: " ana ".into() }, "already owned by ana"),
        (Request::Assign { owner: " ".into() }, "`owner` must name someone"),
        (Request::Severity { to: Severity::High, reason: "x".into() }, "already of high severity"),
        (Request::Severity { to: Severity::Low, reason: "".into() }, "`reason` must say why"),
        (Request::Note { text: "x".repeat(10_001) }, "longer than 10000 bytes"),
        (Request::Note { text: "\n".into() }, "`text` must say why"),
        (
            Request::Link { entities: vec!["P-7".into()], events: vec![ev("a-1")], sites: vec!["S1".into()] },
            "nothing new",
        ),
        (Request::Link { entities: vec!["".into()], events: vec![], sites: vec![] }, "`entities/0` is empty"),
        (
            Request::Link {
                entities: vec![],
                events: vec![EventRef { source: "".into(), id: "x".into() }],
                sites: vec![],
            },
            "`events/0` needs",
        ),
    ] {
        let e = rec.ask(req.clone()).unwrap_err();
        assert!(e.0.contains(why), "{req:?}: {e}");
    }
    assert_eq!(rec.entries.len(), 1);
}

#[test]
fn requests_refuse_unknown_acts_and_fields() {
    let ok: Request = serde_json::from_str(r#"{"act":"transition","to":"triaged"}"#).unwrap();
    assert_eq!(ok, go(Status::Triaged));
    for bad in [
        r#"{"act":"transition","to":"triaged","by":"me"}"#,
        r#"{"act":"escalate"}"#,
        r#"{"act":"transition","to":"solved"}"#,
        r#"{"act":"merged","into":"INC-2"}"#,
        r#"{"to":"triaged"}"#,
    ] {
        assert!(serde_json::from_str::<Request>(bad).is_err(), "{bad}");
    }
}

#[test]
fn effective_times_are_neither_in_the_future_nor_before_the_state_they_leave() {
    let mut rec = Recorder::new(&record(1, &["P-7"], &["a-1"]));
    let ask = |rec: &mut Recorder, at: &str| {
        rec.ask(Request::Transition { to: Status::Contained, reason: String::new(), happened_at: Some(t(at)) })
    };
    assert!(ask(&mut rec, "2026-03-04T00:00:00Z").unwrap_err().0.contains("in the future"));
    assert!(ask(&mut rec, "2026-03-02T21:00:00Z").unwrap_err().0.contains("before INC-1 became detected"));
    ask(&mut rec, "2026-03-02T23:35:00+01:00").unwrap();
    let c = rec.state.clocked();
    assert_eq!(c.contained, Some(t("2026-03-02T23:35:00+01:00")), "the effective time, not the recording");
    assert_eq!(figures([&c]).time_to_contain.median_s, Some(1800.0));
    assert_eq!(c.triaged, c.contained, "triage skipped: containment implies it");
}

#[test]
fn merging_makes_a_duplicate_and_brings_what_it_named() {
    let a = record(1, &["P-7", "D-CAGE"], &["a-1", "a-2"]);
    let b = record(2, &["P-7"], &["a-1"]);
    let (mut ra, mut rb) = (Recorder::new(&a), Recorder::new(&b));
    assert!(ra.state.decide_merge(&ra.state.clone(), String::new()).unwrap_err().0.contains("itself"));
    let (dup, absorbed) = ra.state.decide_merge(&rb.state, "same night, same cage".into()).unwrap();
    assert_eq!(
        absorbed,
        Act::Absorbed { from: "INC-1".into(), entities: vec!["D-CAGE".into()], events: vec![ev("a-2")], sites: vec![] }
    );
    ra.record(dup);
    rb.record(absorbed);
    assert_eq!(ra.state.status, Status::Duplicate);
    assert_eq!(ra.state.merged_into.as_deref(), Some("INC-2"));
    assert_eq!(rb.state.entities.len(), 2);
    assert_eq!(rb.state.absorbed, vec!["INC-1".to_string()]);
    assert!(ra.ask(go(Status::Triaged)).unwrap_err().0.contains("merged into INC-2"));
    assert!(ra.state.decide_merge(&rb.state, String::new()).is_err(), "merged once only");
    let f = figures([&ra.state.clocked(), &rb.state.clocked()]);
    assert_eq!((f.incidents, f.duplicates, f.time_to_detect.count), (2, 1, 1));

    // Nothing merges into a finished incident.
    rb.ask(go_because(Status::FalsePositive, "drill")).unwrap();
    let c = record(3, &["P-1"], &[]);
    assert!(Response::opened(&c).decide_merge(&rb.state, String::new()).unwrap_err().0.contains("reopen"));
}

#[test]
fn a_split_takes_what_the_incident_names_and_leaves_something() {
    let a = record(1, &["P-7", "P-9", "D-CAGE"], &["a-1", "a-2"]);
    let s = Response::opened(&a);
    assert!(s.check_split(&["P-9".into()], &[ev("a-2")]).is_ok());
    assert!(s.check_split(&[], &[]).unwrap_err().0.contains("at least one"));
    assert!(s.check_split(&["P-1".into()], &[]).unwrap_err().0.contains("does not name \"P-1\""));
    assert!(s.check_split(&[], &[ev("zz")]).unwrap_err().0.contains("does not cite event \"zz\""));
    let all: Vec<String> = s.entities.iter().cloned().collect();
    assert!(s.check_split(&all, &[ev("a-1"), ev("a-2")]).unwrap_err().0.contains("leave something"));
    let mut rec = Recorder::new(&a);
    rec.record(Act::SplitOff { into: "INC-4".into(), entities: vec!["P-9".into()], events: vec![ev("a-2")] });
    assert_eq!(rec.state.entities.len(), 2);
    assert_eq!(rec.state.events.len(), 1);
    assert_eq!(rec.state.split_into, vec!["INC-4".to_string()]);
}

#[test]
fn replay_refuses_entries_out_of_order_or_that_do_not_follow() {
    let a = record(1, &["P-7"], &["a-1"]);
    let mut rec = Recorder::new(&a);
    rec.ask(go(Status::Triaged)).unwrap();
    rec.ask(go(Status::Contained)).unwrap();
    let mut swapped = rec.entries.clone();
    swapped.swap(0, 1);
    assert!(Response::of(&a, &swapped).unwrap_err().0.contains("does not follow"));
    let mut renumbered = rec.entries.clone();
    renumbered[1].n = 1;
    renumbered.remove(0);
    assert!(Response::of(&a, &renumbered).unwrap_err().0.contains("triaged to contained, but INC-1 is detected"));
    let mut other = rec.entries.clone();
    other[0].incident = "INC-2".into();
    assert!(Response::of(&a, &other).is_err());
}

#[test]
fn figures_leave_false_positives_out_of_durations_and_trends_bucket_by_detection() {
    let mut clocks = vec![];
    for (n, fp) in [(1, false), (2, true), (3, false)] {
        let mut rec = Recorder::new(&record(n, &["P-7"], &["a-1"]));
        if fp {
            rec.ask(go_because(Status::FalsePositive, "drill")).unwrap();
        } else {
            rec.ask(go(Status::Triaged)).unwrap();
        }
        clocks.push(rec.state.clocked());
    }
    let f = figures(&clocks);
    assert_eq!((f.incidents, f.false_positives, f.open, f.uncontained), (3, 1, 2, 2));
    assert_eq!(f.time_to_triage.count, 2);
    assert_eq!(f.time_to_contain.count, 0);
    assert_eq!(f.time_to_contain.median_s, None);
    let points = trend(&clocks, Every::Week);
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].figures, f);
    assert_eq!(points[0].from.to_rfc3339(), "2026-03-02T00:00:00+00:00");
}
