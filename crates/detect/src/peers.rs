//! Peer baselines: what share of a person's picks goes to high-value stock,
//! against the people of the same role at the same site over the same days.
//!
//! Each pick counts, per person and per peer group (site and role), in
//! daily buckets over a trailing [`WINDOW_DAYS`]. A person's share of
//! valuable picks (SKU tier `high` or `critical`) is compared with the
//! share of their peers (the group without them) as a one-sided binomial
//! test: `z = (k - n p) / sqrt(n p (1 - p))` for `k` valuable picks of `n`
//! against the peers' share `p`. A person stands out when `n` is at least
//! [`MIN_PICKS`], the peers made at least [`MIN_PEER_PICKS`], `z` is at
//! least [`Z`] and the share is at least [`RATIO`] times the peers'. Each
//! person is reported at most once per [`WINDOW_DAYS`].
//!
//! The same drift by a whole team moves the peers' share with it: this
//! finds one person apart from their peers, not a change in the work.
//!
//! Invariants: pure and deterministic (the same events in the same order
//! give the same findings); state is bounded by the window (per person and
//! group, at most [`WINDOW_DAYS`] + 1 buckets); serde round-trips it, so a
//! restart resumes the baselines where they were.

use crate::alert::{Alert, Entity, EventKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use stockade_model::event::{Event, EventBody};

/// The model's name, as alerts cite it in place of a rule.
pub const MODEL: &str = "picks-high-value-drift";
/// Days of picks a baseline looks at.
pub const WINDOW_DAYS: i64 = 7;
/// Picks a person needs in the window before their share means anything.
pub const MIN_PICKS: u64 = 100;
/// Picks the peers need in the window.
pub const MIN_PEER_PICKS: u64 = 300;
/// Standard deviations above the peers' share.
pub const Z: f64 = 5.0;
/// ...and at least this many times the peers' share.
pub const RATIO: f64 = 1.5;
/// A reported person is watched again once their z falls below this.
pub const REARM_Z: f64 = 2.0;

/// Picks and valuable picks per day (days since the epoch, UTC).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Tally {
    days: VecDeque<(i64, u64, u64)>,
    picks: u64,
    valuable: u64,
}

impl Tally {
    fn add(&mut self, day: i64, valuable: bool) {
        match self.days.iter_mut().find(|d| d.0 == day) {
            Some(d) => {
                d.1 += 1;
                d.2 += u64::from(valuable);
            }
            None => {
                self.days.push_back((day, 1, u64::from(valuable)));
                self.days.make_contiguous().sort_by_key(|d| d.0);
            }
        }
        self.picks += 1;
        self.valuable += u64::from(valuable);
    }

    /// Drops the days before `from`.
    fn trim(&mut self, from: i64) {
        while self.days.front().is_some_and(|d| d.0 < from) {
            if let Some((_, p, v)) = self.days.pop_front() {
                self.picks -= p;
                self.valuable -= v;
            }
        }
    }
}

/// One person apart from their peers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub site: String,
    pub person: String,
    pub role: String,
    pub picks: u64,
    pub valuable: u64,
    pub share: f64,
    pub peer_share: f64,
    pub z: f64,
}

/// The baselines' state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Peers {
    /// Per `site\x1fperson`: the person's role and tally.
    people: BTreeMap<String, (String, Tally)>,
    /// Per `site\x1frole`.
    groups: BTreeMap<String, Tally>,
    /// `site\x1fperson` reported and not back to normal since.
    reported: std::collections::BTreeSet<String>,
}

impl Peers {
    /// Counts a pick (others pass by); a person who now stands out from
    /// their peers comes back.
    pub fn observe(&mut self, event: &Event, ctx: &crate::context::Facts<'_>) -> Option<Drift> {
        if !matches!(event.body, EventBody::InventoryPicked(_)) {
            return None;
        }
        let person = ctx.str("person")?;
        let role = ctx.str("person_role")?;
        let tier = ctx.str("sku_tier")?;
        let valuable = matches!(tier, "high" | "critical");
        let site = event.site.as_str();
        let day = event.occurred_at.timestamp().div_euclid(86_400);
        let from = day - WINDOW_DAYS + 1;
        let pkey = format!("{site}\x1f{person}");
        let gkey = format!("{site}\x1f{role}");
        let (_, mine) = self.people.entry(pkey.clone()).or_insert_with(|| (role.to_owned(), Tally::default()));
        mine.add(day, valuable);
        mine.trim(from);
        let (n, k) = (mine.picks, mine.valuable);
        let group = self.groups.entry(gkey).or_default();
        group.add(day, valuable);
        group.trim(from);
        let (pn, pk) = (group.picks.saturating_sub(n), group.valuable.saturating_sub(k));
        if n < MIN_PICKS || pn < MIN_PEER_PICKS {
            return None;
        }
        // The peers' share, kept off 0 and 1 so that one valuable pick
        // among peers who make none is not infinitely surprising.
        let p = ((pk as f64 + 0.5) / (pn as f64 + 1.0)).clamp(1e-3, 1.0 - 1e-3);
        let share = k as f64 / n as f64;
        let z = (k as f64 - n as f64 * p) / (n as f64 * p * (1.0 - p)).sqrt();
        if z < REARM_Z {
            self.reported.remove(&pkey);
        }
        if z < Z || share < RATIO * p || !self.reported.insert(pkey) {
            return None;
        }
        Some(Drift {
            site: site.to_owned(),
            person: person.to_owned(),
            role: role.to_owned(),
            picks: n,
            valuable: k,
            share,
            peer_share: p,
            z,
        })
    }
}

/// The alert of a drift, raised on the pick that made it stand out.
pub fn alert(d: &Drift, event: &Event, seq: i64) -> Alert {
    let reason = format!(
        "{} of {}'s {} picks over the last {} days went to high-value stock ({:.1}%), against {:.1}% for the other people with role {} at {} ({:.1} standard deviations above them).",
        d.valuable,
        d.person,
        d.picks,
        WINDOW_DAYS,
        d.share * 100.0,
        d.peer_share * 100.0,
        d.role,
        d.site,
        d.z
    );
    Alert {
        rule: MODEL.into(),
        title: format!("Picks drifting to high-value stock: {}", d.person),
        level: "high".into(),
        site: d.site.clone(),
        at: event.occurred_at,
        seq,
        event: EventKey::of(event, seq),
        related: Vec::new(),
        entities: vec![Entity { kind: "person".into(), id: d.person.clone() }],
        reason,
        attribution: None,
    }
}
