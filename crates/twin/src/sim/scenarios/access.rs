//! Scenarios at the doors: badges used where and when they should not be,
//! people through on one grant, doors held or forced, and their benign
//! look-alikes (rostered overtime, an emergency opening).

use super::*;

/// `terminated_badge_in_use`: HR terminates a picker; the badge is never revoked and is used at night.
pub(super) fn terminated_badge_in_use(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, terminated, rng, f, prm, date, tz, sid, events, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let candidates: Vec<usize> =
        (0..site.people.len()).filter(|i| site.people[*i].role == "picker" && !terminated.contains(i)).collect();
    let pi = *rng.pick(&candidates);
    terminated.push(pi);
    let p = &site.people[pi];
    let (pid, badge) = (p.id.clone(), p.badge.clone());
    // HR records the termination at 17:00 (the person worked that day); the
    // badge is never revoked. (With `days`, that many days earlier: the
    // process leaves the person out only from the day after the instance,
    // so the days between show a terminated person still at work.)
    let fired = local(&tz, date - Duration::days(i64::from(prm.days.unwrap_or(0))), 17, 0, 0);
    events.push(f.emit_ref(4, site, fired, terminated_body(&pid, Some("dismissal"))));
    let t = local(&tz, date, hour(23), rng.range(0, 30) as u32, 0);
    events.push(f.badge(site, t, "MAIN", &badge, None, Direction::In));
    events.push(f.badge(site, t + Duration::seconds(180), "DOCK1", &badge, None, Direction::In));
    events.push(f.badge(site, t + Duration::seconds(1500), "MAIN", &badge, None, Direction::Out));
    actors = vec![pid];
    entities = vec![badge, format!("{sid}-D-MAIN")];
    start = fired;
    first_signal = t;
    end = t + Duration::seconds(1500);
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `dock_door_held_at_night`: A dock door held open 25-50 minutes at 02:00, motion on the dock.
pub(super) fn dock_door_held_at_night(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, sid, events, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let t = local(&tz, date, hour(2), rng.range(0, 50) as u32, 0);
    let held = prm.minutes.map_or_else(|| rng.range(1500, 3000), |m| i64::from(m) * 60);
    events.push(f.emit_ref(0, site, t + Duration::seconds(held), door_held_open(&format!("{sid}-D-DOCK2"), held)));
    events.push(f.emit_ref(
        1,
        site,
        t + Duration::seconds(60),
        motion(&format!("{sid}-CAM-DOCK"), &format!("{sid}-DOCK")),
    ));
    actors = vec![];
    entities = vec![format!("{sid}-D-DOCK2"), format!("{sid}-DOCK")];
    start = t;
    first_signal = t + Duration::seconds(60);
    end = t + Duration::seconds(held);
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `tailgating`: One badge grant at the cage door, more people through it.
pub(super) fn tailgating(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, sid, events, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let ops: Vec<&Person> = site.people.iter().filter(|p| p.role == "cage_operator").collect();
    let p = *rng.pick(&ops);
    let (pid, badge) = (p.id.clone(), p.badge.clone());
    let t = local(&tz, date, hour(10), rng.range(0, 59) as u32, 0);
    events.push(f.badge(site, t, "CAGE", &badge, Some(&pid), Direction::In));
    let people = prm.people.unwrap_or(2);
    events.push(f.emit_ref(
        1,
        site,
        t + Duration::seconds(4),
        tailgating_body(&format!("{sid}-CAM-CAGE"), &format!("{sid}-D-CAGE"), Some(i64::from(people)), Some(&badge)),
    ));
    actors = vec![pid];
    entities = vec![badge, format!("{sid}-D-CAGE")];
    start = t;
    first_signal = t + Duration::seconds(4);
    end = t + Duration::seconds(4);
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `badge_sharing`: One badge at a dock door and at the main entrance seconds apart.
pub(super) fn badge_sharing(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, sid, events, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let who = pick_role(site, rng, "picker");
    let t = local(&tz, date, hour(11), rng.range(0, 50) as u32, 0);
    events.push(f.badge(site, t, "DOCK1", &who.1, Some(&who.0), Direction::In));
    // The same badge at the far end of the site seconds later: two people share it.
    let gap = Duration::seconds(i64::from(prm.seconds.unwrap_or(20)));
    events.push(f.badge(site, t + gap, "MAIN", &who.1, Some(&who.0), Direction::In));
    entities = vec![who.1.clone(), format!("{sid}-D-DOCK1"), format!("{sid}-D-MAIN")];
    actors = vec![who.0];
    (start, first_signal, end) = (t, t + gap, t + gap);
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `scheduled_overtime`: Benign: a supervisor works 22:00-00:00 on the roster.
pub(super) fn scheduled_overtime(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, events, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let who = pick_role(site, rng, "supervisor");
    let t = local(&tz, date, hour(22), rng.range(0, 30) as u32, 0);
    let shift = Duration::minutes(i64::from(prm.minutes.unwrap_or(120)));
    events.push(f.badge(site, t, "MAIN", &who.1, Some(&who.0), Direction::In));
    events.push(f.badge(site, t + shift, "MAIN", &who.1, Some(&who.0), Direction::Out));
    entities = vec![who.1.clone()];
    actors = vec![who.0];
    (start, first_signal, end) = (t, t, t + shift);
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `emergency_door_opening`: Benign: a fire drill; three doors forced open at once, people counted out.
pub(super) fn emergency_door_opening(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, sid, events, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    // Staff are in on working days only: an evacuation on a weekend would
    // have nobody to evacuate.
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return None;
    }
    let t = local(&tz, date, hour(14), rng.range(10, 40) as u32, 0);
    for door in ["MAIN", "DOCK1", "DOCK2"] {
        events.push(f.emit_ref(0, site, t + Duration::seconds(5), door_forced(&format!("{sid}-D-{door}"))));
    }
    events.push(f.emit_ref(
        1,
        site,
        t + Duration::seconds(60),
        people_count(
            &format!("{sid}-CAM-MAIN"),
            Some(&format!("{sid}-D-MAIN")),
            prm.people.map_or_else(|| rng.range(15, 30), i64::from),
            Some(Direction::Out),
        ),
    ));
    entities = vec![format!("{sid}-D-MAIN"), format!("{sid}-D-DOCK1"), format!("{sid}-D-DOCK2")];
    actors = vec![];
    (start, first_signal, end) = (t, t + Duration::seconds(5), t + Duration::seconds(60));
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `new_hire_cage`: HR hires a picker whose badge was cut with cage access;
/// on the first day the new hire walks into the cage and takes a few
/// units. Benign (`new_cage_operator`): a new cage operator, whose job is
/// the cage, works there on the first day.
pub(super) fn new_hire_in_cage(c: Ctx<'_, '_>, role: &str) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, sid, events, .. } = c;
    // HR hires on working days.
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return None;
    }
    let i = site.recruits.iter().position(|p| p.role == role)?;
    let mut p = site.recruits.remove(i);
    let (pid, badge) = (p.id.clone(), p.badge.clone());
    let t = local(&tz, date, 5, 0, 0);
    events.push(f.emit_ref(4, site, t, hired(&pid, role)));
    events.push(f.emit_ref(
        3,
        site,
        t + Duration::seconds(600),
        credential_issued(CredentialType::Badge, &badge, Some(&pid)),
    ));
    events.push(f.badge(site, local(&tz, date, 5, 50, 0), "MAIN", &badge, Some(&pid), Direction::In));
    let inside = local(&tz, date, prm.hour.unwrap_or(10).clamp(6, 13), rng.range(0, 50) as u32, 0);
    events.push(f.badge(site, inside, "CAGE", &badge, Some(&pid), Direction::In));
    if role == "picker"
        && let Some((loc, k)) = stocked(site, rng, true)
    {
        let q = site.physical(loc, k).min(rng.range(1, 3));
        site.lost[loc][k] += q;
    }
    events.push(f.badge(site, local(&tz, date, 14, 5, 0), "MAIN", &badge, Some(&pid), Direction::Out));
    // From the next day on, a member of staff like any other.
    p.from_day = 0;
    site.people.push(p);
    Some(Shape {
        actors: vec![pid],
        entities: vec![badge, format!("{sid}-D-CAGE")],
        start: t,
        first_signal: inside,
        end: inside,
    })
}
