//! An incident's timeline: every act on it (a transition, an owner, a
//! severity, a note, entities linked, a merge or a split), numbered from 1,
//! and the response state replayed from the opening record and the entries.
//!
//! A caller asks with a [`Request`]; [`Response::decide`] checks it against
//! the current state and answers the [`Act`] to record (or why not); the
//! recorder stamps it into an [`Entry`] and [`Response::apply`] folds it in.
//! Replaying the stored entries ([`Response::of`]) gives the same state.

use crate::lifecycle::Status;
use crate::playbook::Task;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use stockade_incident::{EventRef, IncidentRecord, MAX_ENTITIES, MAX_EVENTS, Severity};

const MAX_TEXT: usize = 10_000;
const MAX_OWNER: usize = 100;

/// What a caller asks to do to one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "act", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Move to another state (`docs/RESPONSE.md`).
    Transition {
        to: Status,
        /// Required for a false positive and for reopening.
        #[serde(default)]
        reason: String,
        /// When it happened, if earlier than now (a door locked by phone,
        /// recorded later); never in the future, never before the state
        /// it leaves was reached.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        happened_at: Option<DateTime<FixedOffset>>,
    },
    /// Give it an owner (a person or a team).
    Assign { owner: String },
    /// Change its severity, with the reason.
    Severity { to: Severity, reason: String },
    /// A note for the record.
    Note { text: String },
    /// Add entities, events or affected sites to it.
    Link {
        #[serde(default)]
        entities: Vec<String>,
        #[serde(default)]
        events: Vec<EventRef>,
        #[serde(default)]
        sites: Vec<String>,
    },
    /// Finish or skip a task of its playbook (skipping needs a reason).
    Task {
        task: String,
        to: TaskStatus,
        #[serde(default)]
        reason: String,
    },
    /// Tick an item of a task's checklist (0 is the first).
    Check { task: String, item: usize },
    /// Declare the inventory at stake (units and value), with the reason:
    /// it stands over what the counts found.
    Stake { units: f64, value: f64, reason: String },
    /// Approve a drafted communication (someone other than its drafter).
    Approve { communication: u32 },
    /// Log that an approved communication was sent, how and to whom (its
    /// draft's recipients when `to` is empty).
    Sent {
        communication: u32,
        channel: String,
        #[serde(default)]
        to: Vec<String>,
    },
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Done,
    Skipped,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Done => "done",
            TaskStatus::Skipped => "skipped",
        }
    }
}

/// The playbook an incident runs on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookRef {
    pub id: String,
    pub version: u32,
    pub title: String,
}

/// A task of the incident's plan and how it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskState {
    #[serde(flatten)]
    pub task: Task,
    pub status: TaskStatus,
    /// When it was finished or skipped, and by whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Checklist items ticked (by position).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub checked: BTreeSet<usize>,
    /// Whether it was recorded overdue (open past its deadline).
    pub overdue: bool,
}

/// What was done, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "act", rename_all = "snake_case")]
pub enum Act {
    Transition {
        from: Status,
        to: Status,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
        /// When it took effect (the recording time unless the caller said
        /// earlier).
        effective: DateTime<FixedOffset>,
    },
    Assign {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        owner: String,
    },
    Severity {
        from: Severity,
        to: Severity,
        reason: String,
    },
    Note {
        text: String,
    },
    Link {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        entities: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        events: Vec<EventRef>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sites: Vec<String>,
    },
    /// This incident was merged into another: it is now its duplicate.
    Merged {
        into: String,
        from: Status,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
    /// Another incident was merged into this one, bringing what it named.
    Absorbed {
        from: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        entities: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        events: Vec<EventRef>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sites: Vec<String>,
    },
    /// Part of this incident became a new one: these entities and events
    /// left it.
    SplitOff {
        into: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        entities: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        events: Vec<EventRef>,
    },
    /// This incident was split off another.
    SplitFrom {
        from: String,
    },
    /// Its playbook, instantiated: the tasks with their deadlines.
    Playbook {
        #[serde(flatten)]
        playbook: PlaybookRef,
        tasks: Vec<Task>,
    },
    /// A task finished or skipped.
    Task {
        task: String,
        to: TaskStatus,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
    /// A checklist item ticked.
    Check {
        task: String,
        item: usize,
    },
    /// A task still open past its deadline.
    Overdue {
        task: String,
        due: DateTime<FixedOffset>,
    },
    /// A containment applied (or lifted) for it: what, on what, and the
    /// `record.containment` event that put it in force.
    Contain {
        action: String,
        target: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        lifted: bool,
        reason: String,
        event: EventRef,
    },
    /// A communication drafted from a template, filled from the incident's
    /// facts.
    Drafted {
        communication: u32,
        template: String,
        version: u32,
        audience: String,
        to: Vec<String>,
        subject: String,
        body: String,
    },
    Approved {
        communication: u32,
    },
    Sent {
        communication: u32,
        channel: String,
        to: Vec<String>,
    },
    /// The inventory at stake, as declared.
    Stake {
        units: f64,
        value: f64,
        reason: String,
    },
    /// Alerts that joined the incident's case after it opened (detection's
    /// numbers and rules), with the entities and events they named that
    /// the incident did not.
    Joined {
        alerts: Vec<u64>,
        rules: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        entities: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        events: Vec<EventRef>,
    },
    /// A webhook delivery settled: delivered to the owning system, or out
    /// of attempts (dead-lettered), or replayed by an operator.
    Delivery {
        delivery: String,
        endpoint: String,
        outcome: String,
        attempts: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// A communication and how far it went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Communication {
    pub communication: u32,
    pub template: String,
    pub version: u32,
    pub audience: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub drafted_by: String,
    pub drafted_at: DateTime<FixedOffset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<SentLog>,
}

/// What was sent to whom, how and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentLog {
    pub channel: String,
    pub to: Vec<String>,
    pub by: String,
    pub at: DateTime<FixedOffset>,
}

/// Inventory at stake, as declared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Declared {
    pub units: f64,
    pub value: f64,
}

/// A containment in force for an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainmentState {
    pub action: String,
    pub target: String,
    pub since: DateTime<FixedOffset>,
    pub by: String,
}

impl Act {
    /// Its name, as spelled in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Act::Transition { .. } => "transition",
            Act::Assign { .. } => "assign",
            Act::Severity { .. } => "severity",
            Act::Note { .. } => "note",
            Act::Link { .. } => "link",
            Act::Merged { .. } => "merged",
            Act::Absorbed { .. } => "absorbed",
            Act::SplitOff { .. } => "split_off",
            Act::SplitFrom { .. } => "split_from",
            Act::Playbook { .. } => "playbook",
            Act::Task { .. } => "task",
            Act::Check { .. } => "check",
            Act::Overdue { .. } => "overdue",
            Act::Contain { .. } => "contain",
            Act::Delivery { .. } => "delivery",
            Act::Joined { .. } => "joined",
            Act::Stake { .. } => "stake",
            Act::Drafted { .. } => "drafted",
            Act::Approved { .. } => "approved",
            Act::Sent { .. } => "sent",
        }
    }
}

/// One act on one incident, numbered in its timeline and stamped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub incident: String,
    /// Position in the incident's timeline, from 1 (the opening is 0).
    pub n: u64,
    /// When it was recorded.
    pub at: DateTime<FixedOffset>,
    /// Who: an analyst's token, a detector, a playbook.
    pub actor: String,
    #[serde(flatten)]
    pub act: Act,
}

/// Why an act was refused, in words a caller can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refuse<T>(why: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(why.into()))
}

/// An incident's response state: the opening record with every entry
/// folded in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    pub incident: String,
    pub status: Status,
    pub severity: Severity,
    pub owner: Option<String>,
    /// The site it was opened at first, then the others it affects.
    pub sites: Vec<String>,
    pub entities: BTreeSet<String>,
    pub events: BTreeSet<EventRef>,
    /// The first observable signal (the start of its activity).
    pub first_signal: DateTime<FixedOffset>,
    /// When it was detected (a detector's event time; an analyst's opening).
    pub detected: DateTime<FixedOffset>,
    /// When each state was first reached (effective times).
    pub reached: BTreeMap<Status, DateTime<FixedOffset>>,
    /// When the current state was entered.
    pub since: DateTime<FixedOffset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub absorbed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_from: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub split_into: Vec<String>,
    /// The playbook it runs on, and its tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub playbook: Option<PlaybookRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskState>,
    /// Containments in force for it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contained: Vec<ContainmentState>,
    /// Communications drafted, approved and sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub communications: Vec<Communication>,
    /// The inventory at stake as an analyst declared it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stake: Option<Declared>,
    /// The number of entries folded in (the next entry is this plus one).
    pub entries: u64,
}

fn text(field: &str, s: &str, required: bool) -> Result<(), Refused> {
    if required && s.trim().is_empty() {
        return refuse(format!("`{field}` must say why"));
    }
    if s.len() > MAX_TEXT {
        return refuse(format!("`{field}` is longer than {MAX_TEXT} bytes"));
    }
    Ok(())
}

impl Response {
    /// The state of a newly opened incident.
    pub fn opened(record: &IncidentRecord) -> Response {
        let i = &record.incident;
        let detected = i.detected_at.unwrap_or(record.opened_at);
        Response {
            incident: record.id.clone(),
            status: Status::Detected,
            severity: i.severity,
            owner: None,
            sites: vec![i.site.clone()],
            entities: i.entities.iter().cloned().collect(),
            events: i.events.iter().cloned().collect(),
            first_signal: i.from.min(detected),
            detected,
            reached: BTreeMap::from([(Status::Detected, detected)]),
            since: detected,
            merged_into: None,
            absorbed: Vec::new(),
            split_from: None,
            split_into: Vec::new(),
            playbook: None,
            tasks: Vec::new(),
            contained: Vec::new(),
            stake: None,
            communications: Vec::new(),
            entries: 0,
        }
    }

    /// Replays a timeline (entries in order) over the opening record.
    pub fn of(record: &IncidentRecord, entries: &[Entry]) -> Result<Response, Refused> {
        let mut r = Response::opened(record);
        for e in entries {
            r.apply(e)?;
        }
        Ok(r)
    }

    /// Refuses work on an incident merged into another, naming it.
    pub fn refuse_if_merged(&self) -> Result<(), Refused> {
        match &self.merged_into {
            Some(into) => refuse(format!("{} was merged into {into}; work on it there", self.incident)),
            None => Ok(()),
        }
    }

    fn refuse_if_finished(&self, what: &str) -> Result<(), Refused> {
        self.refuse_if_merged()?;
        if !self.status.is_open() {
            return refuse(format!("{} is {}; reopen it before you {what}", self.incident, self.status));
        }
        Ok(())
    }

    /// The act a request makes of this incident now, or why it may not.
    pub fn decide(&self, request: Request, now: DateTime<FixedOffset>, actor: &str) -> Result<Act, Refused> {
        match request {
            Request::Transition { to, reason, happened_at } => {
                self.refuse_if_merged()?;
                if to == Status::Duplicate {
                    return refuse("an incident becomes a duplicate by being merged into the one it duplicates");
                }
                if !self.status.next().contains(&to) {
                    let next: Vec<&str> = self.status.next().iter().map(|s| s.as_str()).collect();
                    return refuse(format!(
                        "{} is {}: it cannot move to {to}; from {} it can move to {}",
                        self.incident,
                        self.status,
                        self.status,
                        next.join(", ")
                    ));
                }
                if to == Status::Closed {
                    let open: Vec<&str> = self
                        .tasks
                        .iter()
                        .filter(|t| t.status == TaskStatus::Open)
                        .map(|t| t.task.id.as_str())
                        .collect();
                    if !open.is_empty() {
                        return refuse(format!(
                            "{} still has open tasks ({}): finish or skip them before closing it",
                            self.incident,
                            open.join(", ")
                        ));
                    }
                }
                let why_needed = to == Status::FalsePositive || self.status.reopens(to);
                text("reason", &reason, why_needed)?;
                let effective = happened_at.unwrap_or(now);
                if effective > now {
                    return refuse(format!("`happened_at` {} is in the future", effective.to_rfc3339()));
                }
                if effective < self.since {
                    return refuse(format!(
                        "`happened_at` {} is before {} became {} ({})",
                        effective.to_rfc3339(),
                        self.incident,
                        self.status,
                        self.since.to_rfc3339()
                    ));
                }
                Ok(Act::Transition { from: self.status, to, reason, effective })
            }
            Request::Assign { owner } => {
                self.refuse_if_finished("assign it")?;
                let owner = owner.trim().to_owned();
                if owner.is_empty() || owner.chars().count() > MAX_OWNER {
                    return refuse(format!("`owner` must name someone in 1-{MAX_OWNER} characters"));
                }
                if self.owner.as_deref() == Some(owner.as_str()) {
                    return refuse(format!("{} is already owned by {owner}", self.incident));
                }
                Ok(Act::Assign { from: self.owner.clone(), owner })
            }
            Request::Severity { to, reason } => {
                self.refuse_if_finished("change its severity")?;
                if to == self.severity {
                    return refuse(format!("{} is already of {} severity", self.incident, severity_name(to)));
                }
                text("reason", &reason, true)?;
                Ok(Act::Severity { from: self.severity, to, reason })
            }
            Request::Note { text: t } => {
                text("text", &t, true)?;
                Ok(Act::Note { text: t })
            }
            Request::Link { entities, events, sites } => {
                self.refuse_if_finished("link more to it")?;
                if let Some(i) = entities.iter().position(|e| e.trim().is_empty()) {
                    return refuse(format!("`entities/{i}` is empty"));
                }
                if let Some(i) = events.iter().position(|e| e.source.is_empty() || e.id.is_empty()) {
                    return refuse(format!("`events/{i}` needs `source` and `id`"));
                }
                if let Some(i) = sites.iter().position(|s| s.trim().is_empty()) {
                    return refuse(format!("`sites/{i}` is empty"));
                }
                let entities = new_only(entities, |e| self.entities.contains(e));
                let events = new_only(events, |e| self.events.contains(e));
                let sites = new_only(sites, |s| self.sites.contains(s));
                if entities.is_empty() && events.is_empty() && sites.is_empty() {
                    return refuse(format!("nothing new to link: {} already names all of it", self.incident));
                }
                if self.entities.len() + entities.len() > MAX_ENTITIES {
                    return refuse(format!("an incident names at most {MAX_ENTITIES} entities"));
                }
                if self.events.len() + events.len() > MAX_EVENTS {
                    return refuse(format!("an incident cites at most {MAX_EVENTS} events"));
                }
                Ok(Act::Link { entities, events, sites })
            }
            Request::Task { task, to, reason } => {
                self.refuse_if_finished("work its tasks")?;
                let t = self.task(&task)?;
                if t.status != TaskStatus::Open {
                    return refuse(format!("task {task:?} is already {}", status_name(t.status)));
                }
                match to {
                    TaskStatus::Open => return refuse("a task is finished (`done`) or skipped (`skipped`)"),
                    TaskStatus::Skipped => text("reason", &reason, true)?,
                    TaskStatus::Done => {
                        text("reason", &reason, false)?;
                        if let Some(first) = t
                            .task
                            .after
                            .iter()
                            .find(|d| self.tasks.iter().any(|x| &x.task.id == *d && x.status == TaskStatus::Open))
                        {
                            return refuse(format!("task {task:?} comes after {first:?}, which is still open"));
                        }
                    }
                }
                Ok(Act::Task { task, to, reason })
            }
            Request::Stake { units, value, reason } => {
                self.refuse_if_merged()?;
                if !(units.is_finite() && value.is_finite() && units >= 0.0 && value >= 0.0) {
                    return refuse("`units` and `value` are numbers, zero or more");
                }
                text("reason", &reason, true)?;
                if self.stake == Some(Declared { units, value }) {
                    return refuse(format!("{} already has that stake", self.incident));
                }
                Ok(Act::Stake { units, value, reason })
            }
            Request::Approve { communication } => {
                self.refuse_if_merged()?;
                let c = self.communication(communication)?;
                if c.approved_by.is_some() {
                    return refuse(format!("communication {communication} is already approved"));
                }
                if c.drafted_by == actor {
                    return refuse(format!(
                        "communication {communication} was drafted by {actor}: someone else approves it"
                    ));
                }
                Ok(Act::Approved { communication })
            }
            Request::Sent { communication, channel, to } => {
                self.refuse_if_merged()?;
                let c = self.communication(communication)?;
                if c.approved_by.is_none() {
                    return refuse(format!("communication {communication} is not approved yet"));
                }
                if c.sent.is_some() {
                    return refuse(format!("communication {communication} is already logged as sent"));
                }
                let channel = channel.trim().to_owned();
                if channel.is_empty() || channel.len() > 100 {
                    return refuse("`channel` says how it went (email, letter, portal...) in 1-100 characters");
                }
                let to = if to.is_empty() { c.to.clone() } else { to };
                if to.is_empty() || to.iter().any(|t| t.trim().is_empty() || t.len() > 200) {
                    return refuse("`to` names each recipient in 1-200 characters");
                }
                Ok(Act::Sent { communication, channel, to })
            }
            Request::Check { task, item } => {
                self.refuse_if_finished("work its tasks")?;
                let t = self.task(&task)?;
                if t.status != TaskStatus::Open {
                    return refuse(format!("task {task:?} is already {}", status_name(t.status)));
                }
                if item >= t.task.checklist.len() {
                    return refuse(format!(
                        "task {task:?} has {} checklist items (0 to {})",
                        t.task.checklist.len(),
                        t.task.checklist.len().saturating_sub(1)
                    ));
                }
                if t.checked.contains(&item) {
                    return refuse(format!("item {item} of task {task:?} is already ticked"));
                }
                Ok(Act::Check { task, item })
            }
        }
    }

    fn communication(&self, k: u32) -> Result<&Communication, Refused> {
        self.communications
            .iter()
            .find(|c| c.communication == k)
            .ok_or_else(|| Refused(format!("{} has no communication {k}", self.incident)))
    }

    /// The number the next drafted communication gets.
    pub fn next_communication(&self) -> u32 {
        self.communications.len() as u32 + 1
    }

    fn task(&self, id: &str) -> Result<&TaskState, Refused> {
        self.tasks.iter().find(|t| t.task.id == id).ok_or_else(|| {
            let ids: Vec<&str> = self.tasks.iter().map(|t| t.task.id.as_str()).collect();
            if ids.is_empty() {
                Refused(format!("{} runs no playbook: it has no tasks", self.incident))
            } else {
                Refused(format!("{} has no task {id:?}; its tasks: {}", self.incident, ids.join(", ")))
            }
        })
    }

    /// Checks that this incident may apply (or lift) `action` on `target`:
    /// it is not merged; applying needs it open and not already held here;
    /// lifting needs it held here.
    pub fn check_contain(&self, action: &str, target: &str, lift: bool) -> Result<(), Refused> {
        self.refuse_if_merged()?;
        let held = self.contained.iter().any(|c| c.action == action && c.target == target);
        match (lift, held) {
            (true, false) => refuse(format!("{} holds no {action} on {target:?} to lift", self.incident)),
            (true, true) => Ok(()),
            (false, true) => refuse(format!("{} already holds {action} on {target:?}", self.incident)),
            (false, false) => self.refuse_if_finished("contain more for it"),
        }
    }

    /// Open tasks past their deadline at `now` not yet recorded overdue.
    pub fn newly_overdue(&self, now: DateTime<FixedOffset>) -> Vec<&TaskState> {
        if !self.status.is_open() || self.merged_into.is_some() {
            return Vec::new();
        }
        self.tasks.iter().filter(|t| t.status == TaskStatus::Open && !t.overdue && t.task.due < now).collect()
    }

    /// The two acts that merge this incident into `into`: this one's (it
    /// becomes a duplicate) and `into`'s (it absorbs what this one named).
    pub fn decide_merge(&self, into: &Response, reason: String) -> Result<(Act, Act), Refused> {
        if self.incident == into.incident {
            return refuse(format!("{} cannot be merged into itself", self.incident));
        }
        self.refuse_if_merged()?;
        if self.status == Status::Closed {
            return refuse(format!("{} is closed; reopen it before merging it", self.incident));
        }
        into.refuse_if_finished("merge into it")?;
        text("reason", &reason, false)?;
        let entities = self.entities.iter().filter(|e| !into.entities.contains(*e)).cloned().collect();
        let events = self.events.iter().filter(|e| !into.events.contains(*e)).cloned().collect();
        let sites = self.sites.iter().filter(|s| !into.sites.contains(*s)).cloned().collect();
        Ok((
            Act::Merged { into: into.incident.clone(), from: self.status, reason },
            Act::Absorbed { from: self.incident.clone(), entities, events, sites },
        ))
    }

    /// Checks that `entities` and `events` can be split off this incident
    /// into a new one: each is named here, and something stays behind.
    pub fn check_split(&self, entities: &[String], events: &[EventRef]) -> Result<(), Refused> {
        self.refuse_if_finished("split it")?;
        if entities.is_empty() && events.is_empty() {
            return refuse("a split takes at least one entity or event");
        }
        if let Some(e) = entities.iter().find(|e| !self.entities.contains(*e)) {
            return refuse(format!("{} does not name {e:?}", self.incident));
        }
        if let Some(e) = events.iter().find(|e| !self.events.contains(*e)) {
            return refuse(format!("{} does not cite event {:?} from {:?}", self.incident, e.id, e.source));
        }
        let left_entities = self.entities.iter().filter(|e| !entities.contains(e)).count();
        let left_events = self.events.iter().filter(|e| !events.contains(e)).count();
        if left_entities == 0 && left_events == 0 {
            return refuse(format!("that is all of {}: a split must leave something behind", self.incident));
        }
        Ok(())
    }

    /// The entry for alerts that joined the incident's case after it
    /// opened: their numbers and rules (each rule once), and what they
    /// name that it does not, within its limits. Recorded whatever state
    /// the incident is in: it is what detection saw, not a decision.
    pub fn joined<'a>(
        &self,
        alerts: impl IntoIterator<Item = (u64, &'a str, &'a [String], &'a [EventRef])>,
    ) -> Option<Act> {
        let (mut numbers, mut rules, mut entities, mut events) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (n, rule, named, cited) in alerts {
            numbers.push(n);
            if !rules.iter().any(|r| r == rule) {
                rules.push(rule.to_owned());
            }
            for e in named {
                if !self.entities.contains(e)
                    && !entities.contains(e)
                    && self.entities.len() + entities.len() < MAX_ENTITIES
                {
                    entities.push(e.clone());
                }
            }
            for e in cited {
                if !self.events.contains(e) && !events.contains(e) && self.events.len() + events.len() < MAX_EVENTS {
                    events.push(e.clone());
                }
            }
        }
        (!numbers.is_empty()).then_some(Act::Joined { alerts: numbers, rules, entities, events })
    }

    /// Folds in the next entry of the timeline.
    pub fn apply(&mut self, e: &Entry) -> Result<(), Refused> {
        if e.incident != self.incident || e.n != self.entries + 1 {
            return refuse(format!(
                "entry {} of {} does not follow entry {} of {}",
                e.n, e.incident, self.entries, self.incident
            ));
        }
        match &e.act {
            Act::Transition { from, to, effective, .. } => {
                if *from != self.status || !from.next().contains(to) {
                    return refuse(format!("entry {}: {from} to {to}, but {} is {}", e.n, self.incident, self.status));
                }
                self.status = *to;
                self.since = *effective;
                self.reached.entry(*to).or_insert(*effective);
            }
            Act::Assign { owner, .. } => self.owner = Some(owner.clone()),
            Act::Severity { to, .. } => self.severity = *to,
            Act::Note { .. } => {}
            Act::Joined { entities, events, .. } => {
                self.entities.extend(entities.iter().cloned());
                self.events.extend(events.iter().cloned());
            }
            Act::Link { entities, events, sites } | Act::Absorbed { entities, events, sites, .. } => {
                self.entities.extend(entities.iter().cloned());
                self.events.extend(events.iter().cloned());
                for s in sites {
                    if !self.sites.contains(s) {
                        self.sites.push(s.clone());
                    }
                }
                if let Act::Absorbed { from, .. } = &e.act {
                    self.absorbed.push(from.clone());
                }
            }
            Act::Merged { into, .. } => {
                self.status = Status::Duplicate;
                self.since = e.at;
                self.reached.entry(Status::Duplicate).or_insert(e.at);
                self.merged_into = Some(into.clone());
            }
            Act::SplitOff { into, entities, events } => {
                for x in entities {
                    self.entities.remove(x);
                }
                for x in events {
                    self.events.remove(x);
                }
                self.split_into.push(into.clone());
            }
            Act::SplitFrom { from } => self.split_from = Some(from.clone()),
            Act::Playbook { playbook, tasks } => {
                if self.playbook.is_some() {
                    return refuse(format!("entry {}: {} already runs a playbook", e.n, self.incident));
                }
                self.playbook = Some(playbook.clone());
                self.tasks = tasks
                    .iter()
                    .map(|t| TaskState {
                        task: t.clone(),
                        status: TaskStatus::Open,
                        at: None,
                        by: None,
                        checked: BTreeSet::new(),
                        overdue: false,
                    })
                    .collect();
            }
            Act::Task { task, to, .. } => {
                let t = self.task_mut(e.n, task)?;
                t.status = *to;
                t.at = Some(e.at);
                t.by = Some(e.actor.clone());
            }
            Act::Check { task, item } => {
                self.task_mut(e.n, task)?.checked.insert(*item);
            }
            Act::Overdue { task, .. } => self.task_mut(e.n, task)?.overdue = true,
            Act::Delivery { .. } => {}
            Act::Drafted { communication, template, version, audience, to, subject, body } => {
                self.communications.push(Communication {
                    communication: *communication,
                    template: template.clone(),
                    version: *version,
                    audience: audience.clone(),
                    to: to.clone(),
                    subject: subject.clone(),
                    body: body.clone(),
                    drafted_by: e.actor.clone(),
                    drafted_at: e.at,
                    approved_by: None,
                    approved_at: None,
                    sent: None,
                });
            }
            Act::Approved { communication } => {
                let c = self.communication_mut(e.n, *communication)?;
                c.approved_by = Some(e.actor.clone());
                c.approved_at = Some(e.at);
            }
            Act::Sent { communication, channel, to } => {
                let c = self.communication_mut(e.n, *communication)?;
                c.sent = Some(SentLog { channel: channel.clone(), to: to.clone(), by: e.actor.clone(), at: e.at });
            }
            Act::Stake { units, value, .. } => self.stake = Some(Declared { units: *units, value: *value }),
            Act::Contain { action, target, lifted, .. } => {
                self.contained.retain(|c| !(c.action == *action && c.target == *target));
                if !lifted {
                    self.contained.push(ContainmentState {
                        action: action.clone(),
                        target: target.clone(),
                        since: e.at,
                        by: e.actor.clone(),
                    });
                }
            }
        }
        self.entries = e.n;
        Ok(())
    }
}

impl Response {
    fn communication_mut(&mut self, n: u64, k: u32) -> Result<&mut Communication, Refused> {
        let incident = self.incident.clone();
        self.communications
            .iter_mut()
            .find(|c| c.communication == k)
            .ok_or_else(|| Refused(format!("entry {n}: {incident} has no communication {k}")))
    }

    fn task_mut(&mut self, n: u64, id: &str) -> Result<&mut TaskState, Refused> {
        let incident = self.incident.clone();
        self.tasks
            .iter_mut()
            .find(|t| t.task.id == id)
            .ok_or_else(|| Refused(format!("entry {n}: {incident} has no task {id:?}")))
    }
}

fn status_name(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Open => "open",
        TaskStatus::Done => "done",
        TaskStatus::Skipped => "skipped",
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

fn new_only<T: Ord + Clone>(items: Vec<T>, known: impl Fn(&T) -> bool) -> Vec<T> {
    let mut seen = BTreeSet::new();
    items.into_iter().filter(|x| !known(x) && seen.insert(x.clone())).collect()
}
