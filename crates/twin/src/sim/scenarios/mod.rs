//! The scenario injections: one instance of a theft, misuse or benign
//! look-alike scenario, written into the feeds, and its truth. One module
//! per family: `access` (doors and badges), `theft` (stock leaving),
//! `records` (inventory records), `accounts` (system access).

use super::*;

/// One instance to inject: which, with what parameters, its number, its day.
pub(super) struct Injection<'a> {
    pub(super) scenario: Scenario,
    pub(super) params: &'a Params,
    pub(super) n: usize,
    pub(super) date: NaiveDate,
    /// The last simulated day.
    pub(super) last: NaiveDate,
}

mod access;
mod accounts;
mod devices;
mod records;
mod theft;

/// What an injection works with: the site, the people already terminated
/// there, the random source, the feeds, its parameters and day, and the
/// events it has written so far (its truth cites them).
pub(super) struct Ctx<'c, 'f> {
    pub(super) site: &'c mut Site,
    pub(super) terminated: &'c mut Vec<usize>,
    pub(super) rng: &'c mut Rng,
    pub(super) f: &'c mut Feeds<'f>,
    pub(super) prm: &'c Params,
    /// The instance's number in the run (in references it writes: ASN-X00007).
    pub(super) n: usize,
    pub(super) date: NaiveDate,
    /// The last simulated day.
    pub(super) last: NaiveDate,
    pub(super) tz: Tz,
    pub(super) sid: String,
    pub(super) events: &'c mut Vec<EventRef>,
}

/// Who and what an instance involves, and when.
pub(super) struct Shape {
    pub(super) actors: Vec<String>,
    pub(super) entities: Vec<String>,
    pub(super) start: DateTime<Utc>,
    pub(super) first_signal: DateTime<Utc>,
    pub(super) end: DateTime<Utc>,
}

/// Injects one instance of a scenario; returns its truth.
pub(super) fn inject(
    at: Injection<'_>,
    site: &mut Site,
    terminated: &mut Vec<usize>,
    rng: &mut Rng,
    f: &mut Feeds,
) -> Option<Instance> {
    let Injection { scenario, params: prm, n, date, last } = at;
    let tz = site.tz;
    let sid = site.id.clone();
    let mut events = Vec::new();
    let c = Ctx { site, terminated, rng, f, prm, n, date, last, tz, sid: sid.clone(), events: &mut events };
    let Shape { actors, entities, start, first_signal, end } = match scenario {
        Scenario::TerminatedBadgeInUse => access::terminated_badge_in_use(c)?,
        Scenario::AfterHoursCageRemoval => theft::after_hours_cage_removal(c)?,
        Scenario::DockDoorHeldAtNight => access::dock_door_held_at_night(c)?,
        Scenario::Tailgating => access::tailgating(c)?,
        Scenario::AuthorisedAfterHoursMove => theft::authorised_after_hours_move(c)?,
        Scenario::VendorOutsideWindow => accounts::vendor_outside_window(c)?,
        Scenario::CameraOfflineBeforeLoss => theft::camera_offline_before_loss(c)?,
        Scenario::BadgeSharing => access::badge_sharing(c)?,
        Scenario::PhantomReceipts => records::phantom_receipts(c)?,
        Scenario::RecordManipulation => records::record_manipulation(c)?,
        Scenario::SlowSkimming => records::slow_skimming(c)?,
        Scenario::DockCollusion => theft::dock_collusion(c)?,
        Scenario::PrivilegeEscalation => accounts::privilege_escalation(c)?,
        Scenario::ScheduledOvertime => access::scheduled_overtime(c)?,
        Scenario::EmergencyDoorOpening => access::emergency_door_opening(c)?,
        Scenario::SharedCredential => accounts::shared_credential(c, false)?,
        Scenario::MultiSiteLogin => accounts::shared_credential(c, true)?,
        Scenario::VendorBulkExport => accounts::bulk_export(c, false)?,
        Scenario::VendorResync => accounts::bulk_export(c, true)?,
        Scenario::DeviceReconfigured => devices::reconfigured(c, false)?,
        Scenario::MaintainerReconfig => devices::reconfigured(c, true)?,
        Scenario::SplitAdjustments => records::split_adjustments(c)?,
        Scenario::SmallWritedowns => records::small_writedowns(c)?,
        Scenario::UncountedLocation => records::overflow(c, false)?,
        Scenario::OverflowWorkOrder => records::overflow(c, true)?,
        Scenario::SkippedCounts => records::skipped_counts(c, false)?,
        Scenario::CountDeferred => records::skipped_counts(c, true)?,
        Scenario::NewHireCage => access::new_hire_in_cage(c, "picker")?,
        Scenario::PickDrift => theft::pick_drift(c)?,
        Scenario::NewCageOperator => access::new_hire_in_cage(c, "cage_operator")?,
    };
    Some(Instance {
        id: format!("t-{n:05}"),
        scenario,
        benign: scenario.is_benign(),
        site: sid,
        actors,
        entities,
        start: fixed(start, &tz),
        end: fixed(end, &tz),
        first_signal: fixed(first_signal, &tz),
        events,
    })
}
