//! Playbooks as data: one YAML file per playbook in a pack (`playbooks/`,
//! `docs/PLAYBOOKS.md`), phases of tasks assigned to roles, with deadlines
//! relative to detection, dependencies, checklists and automatic steps.
//!
//! A pack is checked whole when it loads: every refusal names the file, the
//! line where it can and the reason; a pack with any refusal is refused.
//! When an incident opens, [`Pack::choose`] picks its playbook and
//! [`Playbook::plan`] turns it into the tasks recorded in the incident's
//! timeline (the version the incident runs on stays with it).

use chrono::{DateTime, Duration, FixedOffset};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use stockade_incident::IncidentRecord;
use stockade_model::ContainmentAction;

/// Who a task is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operations,
    Security,
    Legal,
    Communications,
    Hr,
    It,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operations => "operations",
            Role::Security => "security",
            Role::Legal => "legal",
            Role::Communications => "communications",
            Role::Hr => "hr",
            Role::It => "it",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        serde_json::from_value(serde_json::Value::String(s.to_owned()))
            .map_err(|_| format!("unknown role {s:?}; one of operations, security, legal, communications, hr, it"))
    }
}

/// A step Stockade does itself when the playbook is instantiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auto {
    /// The incident's timeline is its log: done on opening.
    OpenIncidentLog,
    /// Snapshot the incident's events with their proofs into its evidence
    /// set and place a legal hold on it.
    PreserveEvidence,
    /// Apply every containment the task offers (its `contain` actions on
    /// what the incident names) at once.
    Contain,
}

/// Which incidents a playbook is for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    /// Rule or model names behind the incident; `prefix-*` matches a prefix.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Suspected scenarios (an analyst's `scenario`).
    #[serde(default)]
    pub scenarios: Vec<String>,
    /// The playbook for incidents no other matches (one per pack).
    #[serde(default)]
    pub default: bool,
}

/// A task as written in the playbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub id: String,
    pub title: String,
    pub role: Role,
    /// Deadline after detection: `30s`, `15m`, `4h`, `2d`.
    pub due: String,
    /// Tasks to finish (or skip) first.
    #[serde(default)]
    pub after: Vec<String>,
    #[serde(default)]
    pub checklist: Vec<String>,
    /// Containment actions the task offers on what the incident names
    /// (one click each; all at once with `auto: contain`).
    #[serde(default)]
    pub contain: Vec<ContainmentAction>,
    #[serde(default)]
    pub auto: Option<Auto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub id: String,
    pub title: String,
    pub tasks: Vec<TaskSpec>,
}

/// A playbook as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub id: String,
    pub version: u32,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub applies_to: AppliesTo,
    pub phases: Vec<Phase>,
}

/// A task of an incident's plan: the playbook's, with its deadline fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub phase: String,
    pub title: String,
    pub role: Role,
    pub due: DateTime<FixedOffset>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checklist: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contain: Vec<ContainmentAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto: Option<Auto>,
}

/// One playbook file's text and the path its messages name.
#[derive(Debug, Clone)]
pub struct PlaybookFile {
    pub path: String,
    pub text: String,
}

/// Why (part of) a pack was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct PackError {
    pub file: String,
    /// 1-based; 0 when the fault is the pack's, not a line's.
    pub line: usize,
    pub reason: String,
}

/// The checked playbooks, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pack {
    pub playbooks: Vec<Playbook>,
}

/// `30s`, `15m`, `4h`, `2d` (a positive whole number and a unit).
pub fn parse_due(s: &str) -> Result<Duration, String> {
    let bad = || format!("due {s:?} is not a duration like 30s, 15m, 4h or 2d");
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    if n <= 0 || n > 366 * 86_400 {
        return Err(bad());
    }
    match unit {
        "s" => Ok(Duration::seconds(n)),
        "m" => Ok(Duration::minutes(n)),
        "h" => Ok(Duration::hours(n)),
        "d" => Ok(Duration::days(n)),
        _ => Err(bad()),
    }
}

fn well_named(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The 1-based line of the first line of `text` that mentions `needle` as
/// a YAML key or value, else 1.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map_or(1, |i| i + 1)
}

impl Playbook {
    /// Every rule a playbook must keep; the first broken one, with its line.
    fn check(&self, text: &str) -> Result<(), (usize, String)> {
        let at = |needle: &str, reason: String| (line_of(text, needle), reason);
        if !well_named(&self.id) {
            return Err(at("id:", "`id`: 1-100 letters, digits, `_` or `-`".into()));
        }
        if self.version == 0 {
            return Err(at("version:", "`version` starts at 1".into()));
        }
        if self.title.trim().is_empty() {
            return Err(at("title:", "`title` must not be empty".into()));
        }
        let a = &self.applies_to;
        if !a.default && a.rules.is_empty() && a.scenarios.is_empty() {
            return Err(at("applies_to", "`applies_to` names no rules or scenarios and is not the default".into()));
        }
        if let Some(r) = a.rules.iter().find(|r| !well_named(r.strip_suffix('*').unwrap_or(r))) {
            return Err(at(r, format!("`applies_to.rules`: {r:?} is not a rule name or `prefix-*`")));
        }
        if self.phases.is_empty() {
            return Err(at("phases", "a playbook needs at least one phase".into()));
        }
        let mut phases = BTreeSet::new();
        let mut tasks: BTreeMap<&str, &TaskSpec> = BTreeMap::new();
        for p in &self.phases {
            if !well_named(&p.id) || !phases.insert(p.id.as_str()) {
                return Err(at(&format!("id: {}", p.id), format!("phase id {:?} is malformed or repeated", p.id)));
            }
            if p.tasks.is_empty() {
                return Err(at(&format!("id: {}", p.id), format!("phase {:?} has no tasks", p.id)));
            }
            for t in &p.tasks {
                let here = format!("id: {}", t.id);
                if !well_named(&t.id) || tasks.insert(t.id.as_str(), t).is_some() {
                    return Err(at(&here, format!("task id {:?} is malformed or repeated", t.id)));
                }
                if t.title.trim().is_empty() {
                    return Err(at(&here, format!("task {:?} has no title", t.id)));
                }
                parse_due(&t.due).map_err(|e| at(&format!("due: {}", t.due), format!("task {:?}: {e}", t.id)))?;
                if t.checklist.iter().any(|c| c.trim().is_empty()) {
                    return Err(at(&here, format!("task {:?} has an empty checklist item", t.id)));
                }
                if t.auto == Some(Auto::Contain) && t.contain.is_empty() {
                    return Err(at(
                        &here,
                        format!("task {:?} is `auto: contain` but lists no `contain` actions", t.id),
                    ));
                }
                if t.auto.is_some_and(|a| a != Auto::Contain) && !t.contain.is_empty() {
                    return Err(at(
                        &here,
                        format!("task {:?} lists `contain` actions but its `auto` step does something else", t.id),
                    ));
                }
                let mut seen = BTreeSet::new();
                if let Some(a) = t.contain.iter().find(|a| !seen.insert(**a)) {
                    return Err(at(&here, format!("task {:?} lists {} twice", t.id, a.as_str())));
                }
            }
        }
        for t in tasks.values() {
            if let Some(missing) = t.after.iter().find(|d| !tasks.contains_key(d.as_str())) {
                return Err(at(
                    &format!("id: {}", t.id),
                    format!("task {:?} comes after {missing:?}, which is not a task here", t.id),
                ));
            }
        }
        // Dependencies form no cycle: every task can be reached by finishing
        // the ones it comes after first (Kahn's order).
        let mut done: BTreeSet<&str> = BTreeSet::new();
        while done.len() < tasks.len() {
            let ready: Vec<&str> = tasks
                .values()
                .filter(|t| !done.contains(t.id.as_str()) && t.after.iter().all(|d| done.contains(d.as_str())))
                .map(|t| t.id.as_str())
                .collect();
            if ready.is_empty() {
                let stuck: Vec<&str> = tasks.keys().filter(|k| !done.contains(*k)).copied().collect();
                return Err(at(
                    &format!("id: {}", stuck[0]),
                    format!("tasks {} wait on each other in a cycle", stuck.join(", ")),
                ));
            }
            done.extend(ready);
        }
        Ok(())
    }

    /// How closely it names `rule`: an exact name beats any prefix, a longer
    /// prefix a shorter one; None when it does not name it.
    fn specificity(&self, rule: &str) -> Option<usize> {
        self.applies_to
            .rules
            .iter()
            .filter_map(|p| match p.strip_suffix('*') {
                Some(prefix) => rule.starts_with(prefix).then_some(prefix.len()),
                None => (rule == p).then_some(usize::MAX),
            })
            .max()
    }

    /// The tasks of an incident detected at `detected`.
    pub fn plan(&self, detected: DateTime<FixedOffset>) -> Vec<Task> {
        let mut out = Vec::new();
        for p in &self.phases {
            for t in &p.tasks {
                out.push(Task {
                    id: t.id.clone(),
                    phase: p.id.clone(),
                    title: t.title.clone(),
                    role: t.role,
                    due: detected + parse_due(&t.due).unwrap_or_else(|_| Duration::zero()),
                    after: t.after.clone(),
                    checklist: t.checklist.clone(),
                    contain: t.contain.clone(),
                    auto: t.auto,
                });
            }
        }
        out
    }
}

impl Pack {
    /// Parses and checks a pack: one playbook per file. Any refusal refuses
    /// the pack; every refusal is reported.
    pub fn parse(files: &[PlaybookFile]) -> Result<Pack, Vec<PackError>> {
        let mut errors = Vec::new();
        let mut playbooks: Vec<(Playbook, &str)> = Vec::new();
        for f in files {
            let err = |line: usize, reason: String| PackError { file: f.path.clone(), line, reason };
            match serde_yaml_ng::from_str::<Playbook>(&f.text) {
                Err(e) => {
                    let line = e.location().map_or(1, |l| l.line());
                    errors.push(err(line, e.to_string()));
                }
                Ok(p) => match p.check(&f.text) {
                    Err((line, reason)) => errors.push(err(line, reason)),
                    Ok(()) => playbooks.push((p, f.path.as_str())),
                },
            }
        }
        let mut ids: BTreeMap<&str, &str> = BTreeMap::new();
        for (p, path) in &playbooks {
            if let Some(first) = ids.insert(p.id.as_str(), path) {
                errors.push(PackError {
                    file: path.to_string(),
                    line: line_of(
                        &files.iter().find(|f| f.path == *path).map_or(String::new(), |f| f.text.clone()),
                        "id:",
                    ),
                    reason: format!("playbook id {:?} is also {first}'s", p.id),
                });
            }
        }
        let defaults: Vec<&str> = playbooks.iter().filter(|(p, _)| p.applies_to.default).map(|(_, f)| *f).collect();
        match defaults.len() {
            1 => {}
            0 if !playbooks.is_empty() => errors.push(PackError {
                file: "(pack)".into(),
                line: 0,
                reason: "no playbook is the default (`applies_to: {default: true}`) for incidents no other matches"
                    .into(),
            }),
            0 => {}
            _ => errors.push(PackError {
                file: "(pack)".into(),
                line: 0,
                reason: format!("more than one default playbook: {}", defaults.join(", ")),
            }),
        }
        if errors.is_empty() {
            Ok(Pack { playbooks: playbooks.into_iter().map(|(p, _)| p).collect() })
        } else {
            Err(errors)
        }
    }

    /// The playbook for an incident: the one naming its strongest rule
    /// most closely (rules are listed strongest first; an exact name beats
    /// a prefix, a longer prefix a shorter one; ties go to the first in the
    /// pack), else the one naming its scenario, else the default.
    pub fn choose(&self, incident: &IncidentRecord) -> Option<&Playbook> {
        let i = &incident.incident;
        i.rules
            .iter()
            .find_map(|r| {
                let mut best: Option<(usize, &Playbook)> = None;
                for p in &self.playbooks {
                    if let Some(s) = p.specificity(r)
                        && best.is_none_or(|(b, _)| s > b)
                    {
                        best = Some((s, p));
                    }
                }
                best.map(|(_, p)| p)
            })
            .or_else(|| {
                let s = i.scenario.as_deref()?;
                self.playbooks.iter().find(|p| p.applies_to.scenarios.iter().any(|x| x == s))
            })
            .or_else(|| self.playbooks.iter().find(|p| p.applies_to.default))
    }
}
