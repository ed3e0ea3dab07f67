//! Containment offered by a playbook: each open task that lists `contain`
//! actions offers them on what the incident names, resolved through the
//! reference data (a person named offers their active badges, their
//! accounts and their vendor's grant; a location in a dock zone offers
//! holding the dock). An analyst applies one with one click; a task with
//! `auto: contain` has Stockade apply them all when the incident opens.
//!
//! Invariants:
//! - Only what the reference data knows as the action's kind of entity is
//!   offered (API keys, which have no registry, only when the incident's
//!   own events name them as keys); badges only while active.
//! - Nothing already held (by this incident or another) is offered, and
//!   each (action, target) is offered once, by the first task listing it.

use crate::timeline::{TaskState, TaskStatus};
use serde::Serialize;
use std::collections::BTreeSet;
use stockade_model::{BadgeStatus, ContainmentAction, ReferenceData};

/// One containment a task offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offer {
    /// The task that offers it (applying it with this task named marks the
    /// task done once the task offers nothing more).
    pub task: String,
    pub action: ContainmentAction,
    pub target: String,
    /// What in the incident it comes from.
    pub because: String,
}

/// What an incident names, for [`offers`].
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    pub entities: &'a BTreeSet<String>,
    /// Ids the incident's events name as API keys.
    pub api_keys: &'a BTreeSet<String>,
}

/// The targets of `action` that the entity `id` stands for, each with why.
fn targets(action: ContainmentAction, id: &str, named: Named<'_>, r: &ReferenceData) -> Vec<(String, String)> {
    let person = r.people.iter().find(|p| p.id.as_str() == id);
    let this = |why: &str| vec![(id.to_owned(), why.to_owned())];
    match action {
        ContainmentAction::RevokeBadge => {
            let active = |b: &&stockade_model::Badge| b.status == BadgeStatus::Active;
            if r.badges.iter().filter(active).any(|b| b.id.as_str() == id) {
                return this("the incident names the badge");
            }
            match person {
                Some(p) => r
                    .badges
                    .iter()
                    .filter(active)
                    .filter(|b| b.person == p.id)
                    .map(|b| (b.id.as_str().to_owned(), format!("a badge of {id}, whom the incident names")))
                    .collect(),
                None => Vec::new(),
            }
        }
        ContainmentAction::DisableAccount => {
            if r.people.iter().any(|p| p.accounts.iter().any(|a| a.as_str() == id)) {
                return this("the incident names the account");
            }
            match person {
                Some(p) => p
                    .accounts
                    .iter()
                    .map(|a| (a.as_str().to_owned(), format!("an account of {id}, whom the incident names")))
                    .collect(),
                None => Vec::new(),
            }
        }
        ContainmentAction::RevokeApiKey => {
            if named.api_keys.contains(id) {
                this("the incident's events use the API key")
            } else {
                Vec::new()
            }
        }
        ContainmentAction::EndVendorGrant => {
            if r.vendors.iter().any(|v| v.id.as_str() == id) {
                return this("the incident names the vendor");
            }
            match person.and_then(|p| p.vendor.as_ref()) {
                Some(v) => vec![(v.as_str().to_owned(), format!("the vendor of {id}, whom the incident names"))],
                None => Vec::new(),
            }
        }
        ContainmentAction::LockDoor => {
            if r.doors.iter().any(|d| d.id.as_str() == id) {
                this("the incident names the door")
            } else {
                Vec::new()
            }
        }
        ContainmentAction::LockZone => {
            if r.zones.iter().any(|z| z.id.as_str() == id) {
                this("the incident names the zone")
            } else {
                Vec::new()
            }
        }
        ContainmentAction::QuarantineLocation => {
            if r.locations.iter().any(|l| l.id.as_str() == id) {
                this("the incident names the location")
            } else {
                Vec::new()
            }
        }
        ContainmentAction::HoldDock => {
            let dock_zone = |zone: &stockade_model::ZoneId| {
                r.doors.iter().any(|d| d.dock && (d.to_zone == *zone || d.from_zone.as_ref() == Some(zone)))
            };
            match r.locations.iter().find(|l| l.id.as_str() == id) {
                Some(l) if dock_zone(&l.zone) => this("the incident names the dock location"),
                _ => Vec::new(),
            }
        }
        ContainmentAction::QuarantineSku => {
            if r.skus.iter().any(|s| s.id.as_str() == id) {
                this("the incident names the SKU")
            } else {
                Vec::new()
            }
        }
    }
}

/// The containment each open task offers on what the incident names, in
/// task order, leaving out what is already `held` (action, target) anywhere.
pub fn offers(
    tasks: &[TaskState],
    named: Named<'_>,
    reference: &ReferenceData,
    held: &[(ContainmentAction, String)],
) -> Vec<Offer> {
    let mut seen: BTreeSet<(ContainmentAction, String)> = held.iter().cloned().collect();
    let mut out = Vec::new();
    for t in tasks.iter().filter(|t| t.status == TaskStatus::Open) {
        for &action in &t.task.contain {
            for id in named.entities.iter().chain(named.api_keys.iter()) {
                for (target, because) in targets(action, id, named, reference) {
                    if seen.insert((action, target.clone())) {
                        out.push(Offer { task: t.task.id.clone(), action, target, because });
                    }
                }
            }
        }
    }
    out
}
