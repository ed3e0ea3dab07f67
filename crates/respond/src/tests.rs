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
        rules: vec!["access-cage-after-hours".into()],
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
        let act = self.state.decide(req, self.now, "ana")?;
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

const PLAYBOOK: &str = "\
id: cage
version: 2
title: Cage theft
applies_to:
  rules: [access-cage-*, inventory-count-shortage]
phases:
  - id: immediate
    title: Immediate steps
    tasks:
      - id: log
        title: Open the log
        role: security
        due: 5m
        auto: open_incident_log
      - id: isolate
        title: Isolate the cage
        role: security
        due: 30m
        checklist: [Lock the doors, Post a guard]
      - id: revoke
        title: Revoke badges
        role: it
        due: 1h
        after: [isolate]
";

const DEFAULT: &str = "\
id: default
version: 1
title: Security incident
applies_to: {default: true}
phases:
  - id: triage
    title: Triage
    tasks:
      - {id: triage, title: Triage it, role: security, due: 1h}
";

fn pack_of(files: &[(&str, &str)]) -> Result<Pack, Vec<PackError>> {
    Pack::parse(
        &files.iter().map(|(p, t)| PlaybookFile { path: p.to_string(), text: t.to_string() }).collect::<Vec<_>>(),
    )
}

#[test]
fn playbook_packs_refuse_what_cannot_run_naming_file_and_line() {
    assert_eq!(pack_of(&[("cage.yml", PLAYBOOK), ("default.yml", DEFAULT)]).unwrap().playbooks.len(), 2);
    let refused = |text: String, why: &str, line: usize| {
        let errors = pack_of(&[("bad.yml", &text), ("default.yml", DEFAULT)]).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].file, "bad.yml");
        assert!(errors[0].reason.contains(why), "{why}: {errors:?}");
        assert_eq!(errors[0].line, line, "{why}: {errors:?}");
    };
    refused(PLAYBOOK.replace("role: it", "role: janitor"), "unknown variant `janitor`", 22);
    refused(
        PLAYBOOK.replace("after: [isolate]", "after: [lunch]"),
        "comes after \"lunch\", which is not a task here",
        20,
    );
    refused(
        PLAYBOOK.replace("        checklist: [Lock the doors, Post a guard]", "        after: [revoke]"),
        "tasks isolate, revoke wait on each other in a cycle",
        15,
    );
    refused(PLAYBOOK.replace("due: 1h", "due: soon"), "due \"soon\" is not a duration", 23);
    refused(PLAYBOOK.replace("due: 1h", "due: 0m"), "is not a duration", 23);
    refused(PLAYBOOK.replace("id: revoke", "id: isolate"), "task id \"isolate\" is malformed or repeated", 15);
    refused(
        PLAYBOOK.replace("title: Revoke badges", "title: Revoke badges\n        owner: bob"),
        "unknown field `owner`",
        22,
    );
    refused(PLAYBOOK.replace("version: 2", "version: 0"), "`version` starts at 1", 2);
    refused(
        PLAYBOOK.replace("  rules: [access-cage-*, inventory-count-shortage]\n", "  rules: []\n"),
        "names no rules",
        4,
    );
    refused(
        PLAYBOOK.replace("auto: open_incident_log", "auto: call_the_police"),
        "unknown variant `call_the_police`",
        14,
    );
    refused(PLAYBOOK.replace("auto: open_incident_log", "auto: contain"), "lists no `contain` actions", 10);
    refused(
        PLAYBOOK.replace("auto: open_incident_log", "auto: open_incident_log\n        contain: [lock_zone]"),
        "its `auto` step does something else",
        10,
    );
    refused(
        PLAYBOOK.replace("after: [isolate]", "after: [isolate]\n        contain: [revoke_badge, revoke_badge]"),
        "lists revoke_badge twice",
        20,
    );
    refused(
        PLAYBOOK.replace("after: [isolate]", "after: [isolate]\n        contain: [call_the_police]"),
        "unknown variant `call_the_police`",
        25,
    );
    refused("id: [".into(), "", 1);
    // Pack-wide faults.
    let e = pack_of(&[("cage.yml", PLAYBOOK)]).unwrap_err();
    assert!(e[0].reason.contains("no playbook is the default"), "{e:?}");
    let e = pack_of(&[("a.yml", DEFAULT), ("b.yml", DEFAULT)]).unwrap_err();
    assert!(e.iter().any(|e| e.reason.contains("is also a.yml's")), "{e:?}");
    assert!(e.iter().any(|e| e.reason.contains("more than one default")), "{e:?}");
}

#[test]
fn an_incident_gets_the_playbook_naming_its_strongest_rule_most_closely() {
    let broad =
        PLAYBOOK.replace("id: cage", "id: broad").replace("[access-cage-*, inventory-count-shortage]", "[access-*]");
    let pack = pack_of(&[("broad.yml", &broad), ("cage.yml", PLAYBOOK), ("default.yml", DEFAULT)]).unwrap();
    let with = |rules: &[&str], scenario: Option<&str>| {
        let mut r = record(1, &["P-7"], &[]);
        r.incident.rules = rules.iter().map(|s| s.to_string()).collect();
        r.incident.scenario = scenario.map(str::to_owned);
        pack.choose(&r).unwrap().id.clone()
    };
    assert_eq!(with(&["access-cage-after-hours"], None), "cage", "the longer prefix wins over the earlier file");
    assert_eq!(with(&["access-door-forced"], None), "broad");
    assert_eq!(
        with(&["identity-login-failures", "inventory-count-shortage"], None),
        "cage",
        "the first rule any names"
    );
    assert_eq!(with(&["identity-login-failures"], None), "default");
    assert_eq!(with(&[], None), "default");
}

#[test]
fn tasks_run_in_order_with_their_checklists_and_deadlines() {
    let pack = pack_of(&[("cage.yml", PLAYBOOK), ("default.yml", DEFAULT)]).unwrap();
    let r = record(1, &["P-7"], &["a-1"]);
    let mut rec = Recorder::new(&r);
    let p = &pack.playbooks[0];
    rec.record(Act::Playbook {
        playbook: PlaybookRef { id: p.id.clone(), version: p.version, title: p.title.clone() },
        tasks: p.plan(rec.state.detected),
    });
    let s = &rec.state;
    assert_eq!(s.tasks.len(), 3);
    assert_eq!(s.tasks[1].task.due, t("2026-03-02T23:35:00+01:00"), "30 minutes after detection");
    let task = |id: &str, to: TaskStatus, reason: &str| Request::Task { task: id.into(), to, reason: reason.into() };
    assert_eq!(
        rec.ask(task("revoke", TaskStatus::Done, "")).unwrap_err().0,
        "task \"revoke\" comes after \"isolate\", which is still open"
    );
    assert!(rec.ask(task("isolate", TaskStatus::Skipped, "")).unwrap_err().0.contains("`reason` must say why"));
    assert!(rec.ask(task("lunch", TaskStatus::Done, "")).unwrap_err().0.contains("its tasks: log, isolate, revoke"));
    assert!(rec.ask(task("log", TaskStatus::Open, "")).unwrap_err().0.contains("finished (`done`) or skipped"));
    rec.ask(Request::Check { task: "isolate".into(), item: 1 }).unwrap();
    assert!(rec.ask(Request::Check { task: "isolate".into(), item: 1 }).unwrap_err().0.contains("already ticked"));
    assert!(
        rec.ask(Request::Check { task: "isolate".into(), item: 2 }).unwrap_err().0.contains("has 2 checklist items")
    );
    // Overdue: the open tasks past their deadline, once each.
    let late = rec.state.newly_overdue(t("2026-03-03T00:10:00+01:00"));
    let ids: Vec<&str> = late.iter().map(|t| t.task.id.as_str()).collect();
    assert_eq!(ids, ["log", "isolate", "revoke"]);
    rec.record(Act::Overdue { task: "isolate".into(), due: rec.state.tasks[1].task.due });
    assert_eq!(rec.state.newly_overdue(t("2026-03-03T00:10:00+01:00")).len(), 2, "recorded once");
    rec.ask(task("isolate", TaskStatus::Done, "")).unwrap();
    rec.ask(task("revoke", TaskStatus::Done, "badges B-7 and B-9")).unwrap();
    assert!(rec.ask(task("revoke", TaskStatus::Done, "")).unwrap_err().0.contains("already done"));
    // An incident is not closed with tasks open.
    for s in [Status::Triaged, Status::Contained, Status::Remediating, Status::Recovered] {
        rec.ask(go(s)).unwrap();
    }
    assert_eq!(
        rec.ask(go(Status::Closed)).unwrap_err().0,
        "INC-1 still has open tasks (log): finish or skip them before closing it"
    );
    rec.ask(task("log", TaskStatus::Skipped, "the timeline is the log")).unwrap();
    rec.ask(go(Status::Closed)).unwrap();
    assert!(rec.state.newly_overdue(t("2026-03-09T00:00:00Z")).is_empty());
    let isolate = &rec.state.tasks[1];
    assert_eq!((isolate.status, isolate.overdue, isolate.by.as_deref()), (TaskStatus::Done, true, Some("ana")));
    // Done the morning after a deadline of the night before: late; the log skipped.
    let c = rec.state.clocked();
    assert_eq!((c.tasks_on_time, c.tasks_late, c.tasks_skipped), (0, 2, 1));
    assert_eq!(figures([&c]).tasks_on_time_rate, Some(0.0));
    assert_eq!(Response::of(&r, &rec.entries).unwrap(), rec.state);
    // A second playbook is refused on replay.
    let mut twice = rec.entries.clone();
    let mut again = twice[0].clone();
    again.n = twice.len() as u64 + 1;
    twice.push(again);
    assert!(Response::of(&r, &twice).unwrap_err().0.contains("already runs a playbook"));
}

#[test]
fn exercises_score_from_their_start_with_each_tasks_allowance() {
    let pack = pack_of(&[("cage.yml", PLAYBOOK), ("default.yml", DEFAULT)]).unwrap();
    let r = record(1, &["P-7"], &["a-1"]);
    let mut rec = Recorder::new(&r);
    let p = &pack.playbooks[0];
    rec.record(Act::Playbook {
        playbook: PlaybookRef { id: p.id.clone(), version: p.version, title: p.title.clone() },
        tasks: p.plan(rec.state.detected),
    });
    // The team starts at 08:00Z; log (5 min allowance) done at once by Stockade.
    rec.record(Act::Task { task: "log".into(), to: TaskStatus::Done, reason: "auto".into() });
    let started = rec.now;
    rec.ask(go(Status::Triaged)).unwrap(); // 08:10
    rec.ask(Request::Task { task: "isolate".into(), to: TaskStatus::Done, reason: String::new() }).unwrap(); // 08:20, within 30 min
    rec.ask(go(Status::Contained)).unwrap(); // 08:30
    let s = exercise::score("EX-1", "after_hours_cage_removal", started, t("2026-03-03T09:30:00Z"), &[&rec.state]);
    assert_eq!((s.time_to_triage_s, s.time_to_contain_s), (Some(600.0), Some(1800.0)));
    // log: done before the start (the 5-minute allowance from the start holds); isolate on time; revoke (1 h) missed.
    assert_eq!((s.tasks_on_time, s.tasks_late, s.tasks_missed, s.tasks_open), (2, 0, 1, 0));
    assert_eq!(s.missed, ["INC-1: task revoke was not done by its deadline"]);
    assert_eq!(s.score, 30 + 15 + 20 + 23);
    let none = exercise::score("EX-2", "tailgating", started, started, &[]);
    assert_eq!((none.detected, none.score), (false, 0));
    assert_eq!(none.missed, ["detection raised no incident for the tailgating scenario"]);
}

const REFERENCE: &str = "
sites: [{id: S1, name: One, timezone: Europe/Paris}]
zones: [{id: S1-CAGE, site: S1, name: Cage, tier: high_value_cage}, {id: S1-DOCK, site: S1, name: Dock, tier: general}]
doors:
  - {id: S1-D-CAGE, site: S1, name: Cage door, to_zone: S1-CAGE}
  - {id: S1-D-DOCK, site: S1, name: Dock door, to_zone: S1-DOCK, dock: true}
people:
  - {id: P1, name: A, role: picker, status: terminated, accounts: [a1, a2]}
  - {id: P2, name: B, role: technician, status: active, vendor: V1}
badges:
  - {id: B1, person: P1, status: active}
  - {id: B2, person: P1, status: revoked}
  - {id: B3, person: P2, status: active}
vendors: [{id: V1, name: Fixit}]
locations:
  - {id: L-CAGE, site: S1, zone: S1-CAGE}
  - {id: L-DOCK, site: S1, zone: S1-DOCK}
skus: [{id: SKU-1, description: Phone, unit_value: 900.0, value_tier: critical}]
";

#[test]
fn tasks_offer_containment_on_what_the_incident_names_through_the_reference_data() {
    let reference: stockade_model::ReferenceData = serde_yaml_ng::from_str(REFERENCE).unwrap();
    let task = |id: &str, contain: &[&str], status: TaskStatus| TaskState {
        task: Task {
            id: id.into(),
            phase: "p".into(),
            title: id.into(),
            role: Role::It,
            due: t("2026-03-02T23:00:00+01:00"),
            after: Vec::new(),
            checklist: Vec::new(),
            contain: contain.iter().map(|a| serde_json::from_value(serde_json::json!(a)).unwrap()).collect(),
            auto: None,
        },
        status,
        at: None,
        by: None,
        checked: Default::default(),
        overdue: false,
    };
    let tasks = [
        task("creds", &["revoke_badge", "disable_account", "end_vendor_grant", "revoke_api_key"], TaskStatus::Open),
        task(
            "place",
            &["lock_door", "lock_zone", "hold_dock", "quarantine_location", "quarantine_sku", "revoke_badge"],
            TaskStatus::Open,
        ),
        task("done", &["quarantine_sku"], TaskStatus::Done),
    ];
    let entities: std::collections::BTreeSet<String> =
        ["P1", "P2", "S1-D-CAGE", "S1-CAGE", "L-CAGE", "L-DOCK", "SKU-1", "K-9", "nobody"].map(String::from).into();
    let keys: std::collections::BTreeSet<String> = ["K-9".to_owned()].into();
    let named = Named { entities: &entities, api_keys: &keys };
    let got = |held: &[(stockade_model::ContainmentAction, String)]| -> Vec<(String, String, String)> {
        offers(&tasks, named, &reference, held)
            .into_iter()
            .map(|o| (o.task, o.action.as_str().to_owned(), o.target))
            .collect()
    };
    let o = |t: &str, a: &str, x: &str| (t.to_owned(), a.to_owned(), x.to_owned());
    assert_eq!(
        got(&[]),
        [
            // A person: their active badges (not the revoked one), accounts, vendor.
            o("creds", "revoke_badge", "B1"),
            o("creds", "revoke_badge", "B3"),
            o("creds", "disable_account", "a1"),
            o("creds", "disable_account", "a2"),
            o("creds", "end_vendor_grant", "V1"),
            // An API key only as the incident's events used it.
            o("creds", "revoke_api_key", "K-9"),
            o("place", "lock_door", "S1-D-CAGE"),
            o("place", "lock_zone", "S1-CAGE"),
            // Only a location behind a dock door is a dock to hold.
            o("place", "hold_dock", "L-DOCK"),
            o("place", "quarantine_location", "L-CAGE"),
            o("place", "quarantine_location", "L-DOCK"),
            o("place", "quarantine_sku", "SKU-1"),
            // A done task offers nothing; B1 is offered once, by the first task.
        ]
    );
    // What is held already (here or by another incident) is not offered.
    let held = [(stockade_model::ContainmentAction::RevokeBadge, "B1".to_owned())];
    assert!(!got(&held).contains(&o("creds", "revoke_badge", "B1")));
    assert_eq!(got(&held).len(), 11);
}
