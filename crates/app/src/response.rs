//! Working incidents: acts on one (a transition, an owner, a severity, a
//! note, a link), merging two, splitting one, each recorded in the
//! incident's timeline; and the response KPIs computed from the timelines
//! (`docs/KPI.md`).
//!
//! Invariants:
//! - Every act is decided by `stockade_respond` against the state replayed
//!   from the stored timeline, then recorded: its `incident_entry` audit
//!   record (and so its ledger leaf) is durable before its timeline row is
//!   written, as for openings. A refused act records nothing.
//! - One act at a time in this process: the casebook is held from the
//!   replay to the row, so entries are numbered without gaps.
//! - A merge records the absorbing incident's entry before the duplicate's;
//!   a split opens the new incident, then records its `split_from`, then
//!   the source's `split_off`.

use crate::casebook::{CaseError, Casebook};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use stockade_incident::{EventRef, IncidentRecord, Invalid, NewIncident, Severity};
use stockade_model::clock::Clock;
use stockade_respond::{
    Act, Auto, Entry, Every, Figures, Pack, PackError, PlaybookFile, PlaybookRef, Point, Refused, Request, Response,
    TaskState, TaskStatus,
};
use stockade_store::{IncidentQuery, Ledger, Store, StoreError, StoredEntry};

/// The audit trail's action for a timeline entry.
pub const INCIDENT_ENTRY: &str = "incident_entry";

/// The audit trail's action for a scored tabletop exercise.
pub const EXERCISE_SCORED: &str = "exercise_scored";

/// Who records what Stockade does by itself.
pub const SYSTEM: &str = "stockade";

/// The playbook pack built into the binary (`playbooks/`).
pub const BUILTIN_PLAYBOOKS: &[(&str, &str)] = &[
    ("playbooks/cage-theft.yml", include_str!("../../../playbooks/cage-theft.yml")),
    ("playbooks/credential-misuse.yml", include_str!("../../../playbooks/credential-misuse.yml")),
    ("playbooks/default.yml", include_str!("../../../playbooks/default.yml")),
    ("playbooks/dock-cargo.yml", include_str!("../../../playbooks/dock-cargo.yml")),
    ("playbooks/physical-intrusion.yml", include_str!("../../../playbooks/physical-intrusion.yml")),
    ("playbooks/records-fraud.yml", include_str!("../../../playbooks/records-fraud.yml")),
    ("playbooks/terminated-credential.yml", include_str!("../../../playbooks/terminated-credential.yml")),
];

/// The built-in playbook pack, checked.
pub fn builtin_playbooks() -> Result<Pack, Vec<PackError>> {
    let files: Vec<PlaybookFile> =
        BUILTIN_PLAYBOOKS.iter().map(|(p, t)| PlaybookFile { path: (*p).to_owned(), text: (*t).to_owned() }).collect();
    Pack::parse(&files)
}

/// Why a playbook pack could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    #[error("reading the playbooks: {0}")]
    Read(String),
    #[error("{} playbook refusals:\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Refused(Vec<PackError>),
}

/// Reads and checks every `*.yml` / `*.yaml` file of a directory (sorted
/// by name) as one pack; any refusal refuses the pack.
pub fn load_playbooks(dir: &std::path::Path) -> Result<Pack, PlaybookError> {
    let read = |e: std::io::Error| PlaybookError::Read(format!("{}: {e}", dir.display()));
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(read)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(PlaybookError::Read(format!("{}: no .yml or .yaml files", dir.display())));
    }
    let mut files = Vec::with_capacity(paths.len());
    for p in paths {
        let text = std::fs::read_to_string(&p).map_err(|e| PlaybookError::Read(format!("{}: {e}", p.display())))?;
        files.push(PlaybookFile { path: p.display().to_string(), text });
    }
    Pack::parse(&files).map_err(PlaybookError::Refused)
}

/// Why an act on an incident was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("no incident {0:?}")]
    NotFound(String),
    #[error("{0}")]
    Refused(#[from] Refused),
    #[error("{0}")]
    Case(#[from] CaseError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Invalid> for ResponseError {
    fn from(i: Invalid) -> ResponseError {
        ResponseError::Case(CaseError::Invalid(i))
    }
}

/// An incident being worked: as opened, as it stands, and its timeline.
#[derive(Debug, Clone)]
pub struct Worked {
    pub record: IncidentRecord,
    pub response: Response,
    pub timeline: Vec<StoredEntry>,
}

/// What webhook endpoints name to be told of tasks that go overdue.
pub const TASK_OVERDUE: &str = "task_overdue";

/// Which incident to merge one into, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    /// The incident it duplicates (`INC-<n>`).
    pub into: String,
    #[serde(default)]
    pub reason: String,
}

/// What to split off an incident into a new one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The new incident's title.
    pub title: String,
    /// Its severity (the source's when absent).
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub summary: String,
    /// Entities of the source that move to the new incident.
    #[serde(default)]
    pub entities: Vec<String>,
    /// Events of the source that move to the new incident.
    #[serde(default)]
    pub events: Vec<EventRef>,
}

/// An incident with its timeline replayed.
pub async fn worked(store: &dyn Store, id: &str) -> Result<Worked, ResponseError> {
    let record = store.incident(id).await?.ok_or_else(|| ResponseError::NotFound(id.to_owned()))?;
    let timeline = store.timelines(record.n, record.n).await?;
    let entries: Vec<Entry> = timeline.iter().map(|e| e.entry.clone()).collect();
    let response =
        Response::of(&record, &entries).map_err(|r| StoreError::Corrupt(format!("timeline of {}: {r}", record.id)))?;
    Ok(Worked { record, response, timeline })
}

/// Records several acts of one actor on a worked incident together: their
/// audit records' leaves in one ledger append, then their rows in order
/// (the casebook held).
pub(crate) async fn record_acts(
    store: &dyn Store,
    ledger: Option<&Arc<Ledger>>,
    clock: &dyn Clock,
    actor: &str,
    w: &mut Worked,
    acts: Vec<Act>,
) -> Result<(), ResponseError> {
    let at = clock.now().fixed_offset();
    let mut next = w.response.clone();
    let mut entries = Vec::with_capacity(acts.len());
    for act in acts {
        let entry = Entry { incident: w.record.id.clone(), n: next.entries + 1, at, actor: actor.to_owned(), act };
        next.apply(&entry)?;
        entries.push(entry);
    }
    let leaves: Vec<Option<u64>> = match ledger {
        Some(l) => {
            let details = entries
                .iter()
                .map(|e| serde_json::to_value(e).map_err(|x| StoreError::Corrupt(x.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            crate::audit::record_many(store, l, clock, INCIDENT_ENTRY, actor, details)
                .await?
                .into_iter()
                .map(|a| Some(a.leaf_index))
                .collect()
        }
        None => vec![None; entries.len()],
    };
    for (entry, leaf_index) in entries.into_iter().zip(leaves) {
        let stored = StoredEntry { incident: w.record.n, entry, leaf_index };
        store.add_timeline(&stored).await?;
        w.timeline.push(stored);
    }
    w.response = next;
    Ok(())
}

/// Records one act on a worked incident (the casebook held).
pub(crate) async fn record_act(
    store: &dyn Store,
    ledger: Option<&Arc<Ledger>>,
    clock: &dyn Clock,
    actor: &str,
    w: &mut Worked,
    act: Act,
) -> Result<(), ResponseError> {
    record_acts(store, ledger, clock, actor, w, vec![act]).await
}

impl Casebook {
    /// Does what `request` asks to incident `id`, as `actor`.
    pub async fn act(
        &self,
        store: &dyn Store,
        ledger: Option<&Arc<Ledger>>,
        clock: &dyn Clock,
        actor: &str,
        id: &str,
        request: Request,
    ) -> Result<Worked, ResponseError> {
        if let Request::Link { events, sites, .. } = &request {
            check_links(store, events, sites).await?;
        }
        let _one = self.hold().await;
        let mut w = worked(store, id).await?;
        let act = w.response.decide(request, clock.now().fixed_offset(), actor)?;
        record_act(store, ledger, clock, actor, &mut w, act).await?;
        Ok(w)
    }

    /// Merges incident `id` into `into`: `id` becomes its duplicate and
    /// `into` takes on what `id` named. Answers both, `id` first.
    pub async fn merge(
        &self,
        store: &dyn Store,
        ledger: Option<&Arc<Ledger>>,
        clock: &dyn Clock,
        actor: &str,
        id: &str,
        merge: Merge,
    ) -> Result<(Worked, Worked), ResponseError> {
        let _one = self.hold().await;
        let mut dup = worked(store, id).await?;
        let mut main = worked(store, &merge.into).await?;
        let (merged, absorbed) = dup.response.decide_merge(&main.response, merge.reason)?;
        record_act(store, ledger, clock, actor, &mut main, absorbed).await?;
        record_act(store, ledger, clock, actor, &mut dup, merged).await?;
        Ok((dup, main))
    }

    /// Splits part of incident `id` off into a new incident. Answers the
    /// new incident and the source as they now stand.
    pub async fn split(
        &self,
        store: &dyn Store,
        ledger: Option<&Arc<Ledger>>,
        clock: &dyn Clock,
        actor: &str,
        id: &str,
        split: Split,
    ) -> Result<(Worked, Worked), ResponseError> {
        let _one = self.hold().await;
        let mut source = worked(store, id).await?;
        source.response.check_split(&split.entities, &split.events)?;
        let s = &source.record.incident;
        let new = NewIncident {
            site: s.site.clone(),
            title: split.title,
            severity: split.severity.unwrap_or(source.response.severity),
            scenario: s.scenario.clone(),
            summary: split.summary,
            from: s.from,
            to: s.to,
            entities: split.entities.clone(),
            events: split.events.clone(),
            // Detected when the source was: the response clock runs from there.
            rules: s.rules.clone(),
            detected_at: Some(source.response.detected),
        };
        crate::casebook::check(store, &new).await?;
        let opened = crate::casebook::open_held(store, ledger, clock, actor, new).await?;
        let mut part = Worked { response: Response::opened(&opened), record: opened, timeline: Vec::new() };
        record_act(store, ledger, clock, actor, &mut part, Act::SplitFrom { from: source.record.id.clone() }).await?;
        instantiate(self, store, ledger, clock, &mut part, &Default::default()).await?;
        let off = Act::SplitOff { into: part.record.id.clone(), entities: split.entities, events: split.events };
        record_act(store, ledger, clock, actor, &mut source, off).await?;
        Ok((part, source))
    }
}

/// An alert that joined an open incident's case, as detection raised it.
#[derive(Debug, Clone)]
pub struct JoinedAlert {
    pub n: u64,
    pub rule: String,
    pub entities: Vec<String>,
    pub events: Vec<EventRef>,
}

impl Casebook {
    /// Records, in incident `id`'s timeline as `actor`, the alerts that
    /// joined its case after it opened (one entry for them all).
    pub async fn joined(
        &self,
        store: &dyn Store,
        ledger: Option<&Arc<Ledger>>,
        clock: &dyn Clock,
        actor: &str,
        id: &str,
        alerts: &[JoinedAlert],
    ) -> Result<(), ResponseError> {
        let _one = self.hold().await;
        let mut w = worked(store, id).await?;
        let act = w
            .response
            .joined(alerts.iter().map(|a| (a.n, a.rule.as_str(), a.entities.as_slice(), a.events.as_slice())));
        match act {
            Some(act) => record_act(store, ledger, clock, actor, &mut w, act).await,
            None => Ok(()),
        }
    }
}

/// Gives a newly opened incident (as worked so far) its playbook (when the pack has one for
/// it) and does the automatic steps Stockade can do at once. The casebook
/// is held.
pub(crate) async fn instantiate(
    casebook: &Casebook,
    store: &dyn Store,
    ledger: Option<&Arc<Ledger>>,
    clock: &dyn Clock,
    w: &mut Worked,
    seen: &std::collections::HashMap<(String, String), i64>,
) -> Result<(), StoreError> {
    let pack = casebook.playbooks();
    let Some(playbook) = pack.choose(&w.record) else { return Ok(()) };
    let record = w.record.clone();
    let act = Act::Playbook {
        playbook: PlaybookRef { id: playbook.id.clone(), version: playbook.version, title: playbook.title.clone() },
        tasks: playbook.plan(w.response.detected),
    };
    let system = |e: ResponseError| match e {
        ResponseError::Store(s) => s,
        other => StoreError::Corrupt(format!("playbook {} on {}: {other}", playbook.id, record.id)),
    };
    // The playbook and the steps done at once go to the ledger together.
    let autos: Vec<(String, Auto)> = match &act {
        Act::Playbook { tasks, .. } => tasks.iter().filter_map(|t| Some((t.id.clone(), t.auto?))).collect(),
        _ => Vec::new(),
    };
    // The steps that need no timeline go first, so that the playbook and
    // what they did reach the ledger in one append.
    let mut first = vec![act];
    for (task, auto) in &autos {
        match auto {
            Auto::OpenIncidentLog => first.push(Act::Task {
                task: task.clone(),
                to: TaskStatus::Done,
                reason: "automatic: the incident's timeline is its log, each entry a ledger leaf".into(),
            }),
            // Where the instance keeps a vault; else the task waits for a person.
            Auto::PreserveEvidence => {
                let Some(custodian) = casebook.custodian() else { continue };
                let why = format!("playbook {} v{}: {task}", playbook.id, playbook.version);
                first.push(match custodian.preserve(&record, seen, SYSTEM, &why).await {
                    Ok(p) => Act::Task {
                        task: task.clone(),
                        to: TaskStatus::Done,
                        reason: format!(
                            "automatic: evidence {} snapshots {} cited events with inclusion proofs at tree size {}{} and {} camera, reader and device references; legal hold set",
                            p.evidence,
                            p.events,
                            p.tree_size,
                            if p.missing > 0 {
                                format!(" ({} cited events not found in its span)", p.missing)
                            } else {
                                String::new()
                            },
                            p.references
                        ),
                    },
                    Err(e) => {
                        tracing::warn!(incident = %record.id, error = %e, "automatic evidence preservation failed");
                        Act::Note {
                            text: format!(
                                "automatic evidence preservation failed ({e}); task {task} is left to a person"
                            ),
                        }
                    }
                });
            }
            Auto::Contain => {}
        }
    }
    record_acts(store, ledger, clock, SYSTEM, w, first).await.map_err(system)?;
    // Containment offers come from the tasks: after the playbook is in.
    for (task, auto) in autos {
        if auto == Auto::Contain {
            contain_at_once(casebook, store, ledger, clock, w, &task, &playbook.id, playbook.version).await?;
        }
    }
    Ok(())
}

/// A playbook's `auto: contain` task: every containment it offers on what
/// the incident names, applied as Stockade (the last one marks the task
/// done). One refused (held meanwhile, say) is noted and the rest go on;
/// with nothing to offer, the task waits for a person.
#[allow(clippy::too_many_arguments)]
async fn contain_at_once(
    casebook: &Casebook,
    store: &dyn Store,
    ledger: Option<&Arc<Ledger>>,
    clock: &dyn Clock,
    w: &mut Worked,
    task: &str,
    playbook: &str,
    version: u32,
) -> Result<(), StoreError> {
    let Some(recorder) = casebook.recorder() else { return Ok(()) };
    let env = crate::containment::Env { store, ledger, clock, recorder };
    let reference = recorder.reference();
    let offers = casebook.offers(store, &reference.data, w).await?;
    let mine: Vec<_> = offers.into_iter().filter(|o| o.task == task).collect();
    if mine.is_empty() {
        let text =
            format!("automatic containment ({task}): the incident names nothing it applies to; left to a person");
        return record_act(store, ledger, clock, SYSTEM, w, Act::Note { text }).await.map_err(into_store);
    }
    for o in mine {
        let request = crate::containment::ContainRequest {
            action: o.action,
            target: o.target.clone(),
            reason: format!("automatic: playbook {playbook} v{version}, task {task} ({})", o.because),
            lift: false,
            task: Some(task.to_owned()),
        };
        match casebook.contain_held(&env, SYSTEM, w, request).await {
            Ok(()) => {}
            Err(ResponseError::Store(e)) => return Err(e),
            Err(e) => {
                tracing::warn!(incident = %w.record.id, action = o.action.as_str(), target = %o.target, error = %e, "automatic containment refused");
                let text = format!("automatic containment {} on {} refused: {e}", o.action.as_str(), o.target);
                record_act(store, ledger, clock, SYSTEM, w, Act::Note { text }).await.map_err(into_store)?;
            }
        }
    }
    Ok(())
}

fn into_store(e: ResponseError) -> StoreError {
    match e {
        ResponseError::Store(s) => s,
        other => StoreError::Corrupt(other.to_string()),
    }
}

/// A task of an open incident, for the work queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuedTask {
    pub incident: String,
    pub site: String,
    pub severity: Severity,
    pub status: stockade_respond::Status,
    #[serde(flatten)]
    pub task: TaskState,
    /// Past its deadline and still open, now.
    pub late: bool,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub role: Option<stockade_respond::Role>,
    pub site: Option<String>,
    /// Only open tasks (of incidents still being worked).
    pub open: bool,
    /// Only open tasks past their deadline.
    pub late: bool,
}

/// The tasks of every incident that pass `q`, soonest deadline first.
pub async fn tasks(store: &dyn Store, q: &TaskQuery, now: DateTime<Utc>) -> Result<Vec<QueuedTask>, ResponseError> {
    let mut out = Vec::new();
    for r in all_worked(store).await? {
        if q.site.as_ref().is_some_and(|s| !r.sites.contains(s)) {
            continue;
        }
        let working = r.status.is_open() && r.merged_into.is_none();
        for t in &r.tasks {
            let open = working && t.status == TaskStatus::Open;
            let late = open && t.task.due < now;
            if q.role.is_some_and(|role| role != t.task.role) || (q.open && !open) || (q.late && !late) {
                continue;
            }
            out.push(QueuedTask {
                incident: r.incident.clone(),
                site: r.sites.first().cloned().unwrap_or_default(),
                severity: r.severity,
                status: r.status,
                task: t.clone(),
                late,
            });
        }
    }
    out.sort_by(|a, b| a.task.task.due.cmp(&b.task.task.due).then(a.incident.cmp(&b.incident)));
    Ok(out)
}

impl Casebook {
    /// Records every open task now past its deadline as overdue (once per
    /// task), in the incident's timeline, and logs it. Answers (incident,
    /// task) for each.
    pub async fn sweep_overdue(
        &self,
        store: &dyn Store,
        ledger: Option<&Arc<Ledger>>,
        clock: &dyn Clock,
    ) -> Result<Vec<(String, String)>, ResponseError> {
        let now = clock.now().fixed_offset();
        let late: Vec<(String, String, DateTime<chrono::FixedOffset>)> = all_worked(store)
            .await?
            .iter()
            .flat_map(|r| r.newly_overdue(now).into_iter().map(|t| (r.incident.clone(), t.task.id.clone(), t.task.due)))
            .collect();
        let mut out = Vec::new();
        for (incident, task, due) in late {
            let _one = self.hold().await;
            let mut w = worked(store, &incident).await?;
            // Looked at again under the lock: someone may have finished it.
            if !w.response.newly_overdue(now).iter().any(|t| t.task.id == task) {
                continue;
            }
            record_act(store, ledger, clock, SYSTEM, &mut w, Act::Overdue { task: task.clone(), due }).await?;
            tracing::warn!(%incident, %task, due = %due.to_rfc3339(), "task overdue");
            metrics::counter!("stockade_tasks_overdue_total").increment(1);
            // And out to the endpoints that page people about it.
            let t = w.response.tasks.iter().find(|t| t.task.id == task);
            let body = serde_json::json!({
                "type": TASK_OVERDUE,
                "incident": incident,
                "site": w.record.incident.site,
                "severity": w.response.severity,
                "task": task,
                "title": t.map(|t| t.task.title.clone()),
                "role": t.map(|t| t.task.role.as_str()),
                "due": due.to_rfc3339(),
            });
            let key = format!("overdue:{incident}:{task}");
            self.notify(store, clock, TASK_OVERDUE, &w.record.incident.site, &incident, &key, body).await?;
            out.push((incident, task));
        }
        Ok(out)
    }
}

/// Events linked must be stored and sites known, as for an opening.
async fn check_links(store: &dyn Store, events: &[EventRef], sites: &[String]) -> Result<(), ResponseError> {
    if let Some(i) = crate::casebook::first_unstored(store, events).await? {
        let e = &events[i];
        return Err(Refused(format!("`events/{i}`: no event {:?} from source {:?} is stored", e.id, e.source)).into());
    }
    if !sites.is_empty() {
        let known = store.reference(Some(stockade_model::RecordKind::Site)).await?;
        if let Some((i, s)) = sites.iter().enumerate().find(|(_, s)| !known.iter().any(|k| &k.id == *s)) {
            return Err(Refused(format!("`sites/{i}`: no site {s:?} in the reference data")).into());
        }
    }
    Ok(())
}

/// Every incident with its response replayed, in number order.
pub async fn all_worked(store: &dyn Store) -> Result<Vec<Response>, ResponseError> {
    let mut records = Vec::new();
    let mut after = 0;
    loop {
        let page = store.incidents(&IncidentQuery { site: None, after, limit: 10_000 }).await?;
        let Some(last) = page.last() else { break };
        after = last.n;
        records.extend(page);
    }
    let Some(last) = records.last().map(|r| r.n) else { return Ok(Vec::new()) };
    let mut entries = store.timelines(1, last).await?.into_iter().peekable();
    let mut out = Vec::with_capacity(records.len());
    for r in &records {
        let mut mine = Vec::new();
        while let Some(e) = entries.next_if(|e| e.incident <= r.n) {
            if e.incident == r.n {
                mine.push(e.entry);
            }
        }
        out.push(Response::of(r, &mine).map_err(|x| StoreError::Corrupt(format!("timeline of {}: {x}", r.id)))?);
    }
    Ok(out)
}

/// Which incidents the KPIs cover, and how the trend is cut.
#[derive(Debug, Clone, Default)]
pub struct KpiQuery {
    /// Only incidents affecting this site (and counts at it).
    pub site: Option<String>,
    /// Incidents detected (counts made) at or after this...
    pub from: Option<DateTime<Utc>>,
    /// ...and before this.
    pub to: Option<DateTime<Utc>>,
    pub every: Option<Every>,
}

/// Inventory accuracy over the counts of a period: the latest count of
/// each counted place made in it, against the book as of that count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Accuracy {
    /// Places (location, SKU) whose latest count fell in the period.
    pub counted_lines: u64,
    /// Those whose count matched the book.
    pub accurate_lines: u64,
    /// accurate / counted (inventory record accuracy); absent with no counts.
    pub record_accuracy: Option<f64>,
    /// Sum of |counted - book| × unit value over book value at those places.
    pub value_variance_rate: Option<f64>,
    /// Value of missing stock (sum of negative variances) as a positive number.
    pub shrink_value: f64,
    pub net_variance_units: f64,
    pub net_variance_value: f64,
}

impl Accuracy {
    /// Accuracy over counts `(counted, book, unit value)`.
    pub fn of(counts: impl IntoIterator<Item = (f64, f64, Option<f64>)>) -> Accuracy {
        let mut a = Accuracy::default();
        let (mut book_value, mut gross) = (0.0, 0.0);
        for (counted, book, value) in counts {
            let v = counted - book;
            a.counted_lines += 1;
            // Quantities are sums of f64; sub-micro-unit differences are equal.
            a.accurate_lines += u64::from(v.abs() < 1e-6);
            a.net_variance_units += v;
            if let Some(unit) = value {
                a.net_variance_value += v * unit;
                gross += v.abs() * unit;
                book_value += book.max(0.0) * unit;
                if v < 0.0 {
                    a.shrink_value -= v * unit;
                }
            }
        }
        a.record_accuracy = (a.counted_lines > 0).then(|| a.accurate_lines as f64 / a.counted_lines as f64);
        a.value_variance_rate = (book_value > 0.0).then(|| gross / book_value);
        a
    }
}

/// The KPIs over a period (`docs/KPI.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpi {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub figures: Figures,
    pub inventory: Accuracy,
    /// Tabletop exercises scored in the period (network-wide: not filtered
    /// by site).
    pub exercises: Exercises,
    /// The same figures per bucket of detection time, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every: Option<Every>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trend: Vec<Point>,
}

/// Tabletop exercises run, from their scores in the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exercises {
    pub run: u64,
    pub mean_score: Option<f64>,
    /// Each exercise's score in the order they were scored: the trend.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<ExercisePoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExercisePoint {
    pub exercise: String,
    pub scenario: String,
    pub scored: DateTime<chrono::FixedOffset>,
    pub score: u32,
}

/// The exercises scored in `q`'s period, from the audit trail.
pub async fn exercises(store: &dyn Store, q: &KpiQuery) -> Result<Exercises, StoreError> {
    let mut out = Exercises::default();
    let mut after = 0;
    loop {
        let page = store.audit(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.record.n;
        for a in page.iter().filter(|a| a.record.action == EXERCISE_SCORED) {
            let Ok(s) = serde_json::from_value::<stockade_respond::exercise::ExerciseScore>(a.record.detail.clone())
            else {
                continue;
            };
            let t = s.scored.with_timezone(&Utc);
            if q.from.is_none_or(|f| t >= f) && q.to.is_none_or(|to| t < to) {
                out.scores.push(ExercisePoint {
                    exercise: s.exercise,
                    scenario: s.scenario,
                    scored: s.scored,
                    score: s.score,
                });
            }
        }
    }
    out.run = out.scores.len() as u64;
    out.mean_score =
        (!out.scores.is_empty()).then(|| out.scores.iter().map(|p| f64::from(p.score)).sum::<f64>() / out.run as f64);
    Ok(out)
}

/// The KPIs of the incidents in `responses` and the latest `counts` that
/// `q` covers, valued at `unit_values` (per SKU).
pub fn kpi(
    responses: &[Response],
    counts: &[crate::book::CountLine],
    unit_values: &std::collections::HashMap<String, f64>,
    q: &KpiQuery,
) -> Kpi {
    let within = |t: DateTime<Utc>| q.from.is_none_or(|f| t >= f) && q.to.is_none_or(|to| t < to);
    let clocks: Vec<_> = responses
        .iter()
        .filter(|r| q.site.as_ref().is_none_or(|s| r.sites.contains(s)))
        .filter(|r| within(r.detected.with_timezone(&Utc)))
        .map(Response::clocked)
        .collect();
    let inventory = Accuracy::of(
        counts
            .iter()
            .filter(|c| q.site.as_ref().is_none_or(|s| *s == c.site))
            .filter(|c| DateTime::from_timestamp_micros(c.counted_us).is_some_and(within))
            .map(|c| (c.counted, c.book, unit_values.get(&c.sku).copied())),
    );
    Kpi {
        site: q.site.clone(),
        from: q.from,
        to: q.to,
        figures: stockade_respond::figures(&clocks),
        inventory,
        exercises: Exercises::default(),
        every: q.every,
        trend: q.every.map(|e| stockade_respond::trend(&clocks, e)).unwrap_or_default(),
    }
}

/// The KPIs of a store's incidents and of these counts (the stage's), SKUs
/// valued from the reference data.
pub async fn report(store: &dyn Store, counts: &[crate::book::CountLine], q: &KpiQuery) -> Result<Kpi, ResponseError> {
    let responses = all_worked(store).await?;
    let rows = store.reference(Some(stockade_model::RecordKind::Sku)).await?;
    let reference = stockade_model::ReferenceData::from_rows(rows).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let values = reference.skus.iter().map(|s| (s.id.as_str().to_owned(), s.unit_value)).collect();
    let mut k = kpi(&responses, counts, &values, q);
    k.exercises = exercises(store, q).await?;
    Ok(k)
}

/// A site's continuity plan as an incident shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContinuityView {
    pub site: String,
    pub backup_fulfilment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The SKUs to restore first, in order, with what the book holds of
    /// each at the site now.
    pub recovery: Vec<RecoveryLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecoveryLine {
    pub sku: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub on_hand: f64,
    pub unit_value: Option<f64>,
}

/// The continuity plans of the sites an incident affects (those that have
/// one), with the book's quantity of each recovery SKU at the site.
pub fn continuity(
    reference: &stockade_model::ReferenceData,
    sites: &[String],
    book: &[crate::book::BookLine],
) -> Vec<ContinuityView> {
    sites
        .iter()
        .filter_map(|id| {
            let site = reference.sites.iter().find(|s| s.id.as_str() == id)?;
            let plan = site.continuity.as_ref()?;
            let recovery = plan
                .recovery
                .iter()
                .map(|sku| {
                    let known = reference.skus.iter().find(|k| &k.id == sku);
                    RecoveryLine {
                        sku: sku.as_str().to_owned(),
                        description: known.map(|k| k.description.clone()).unwrap_or_default(),
                        on_hand: book
                            .iter()
                            .filter(|l| &l.site == id && l.sku == sku.as_str() && l.in_transit.is_none())
                            .map(|l| l.quantity)
                            .sum(),
                        unit_value: known.map(|k| k.unit_value),
                    }
                })
                .collect();
            Some(ContinuityView {
                site: id.clone(),
                backup_fulfilment: plan.backup_fulfilment.clone(),
                contact: plan.contact.clone(),
                recovery,
            })
        })
        .collect()
}
