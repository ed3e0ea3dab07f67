//! Scenarios where stock leaves: from the cage after hours, behind a camera
//! gone dark, through a dock to a colluding carrier, and the benign after-hours
//! move with a work order.

use super::*;

/// `after_hours_cage_removal`: A cage operator enters the cage at 23:00 (motion on the cage camera) and
/// moves the cage's most valuable stock to the dock.
pub(super) fn after_hours_cage_removal(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, date, tz, sid, events, prm, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    // Units: a parameter, or drawn from the usual range.
    let units = |rng: &mut Rng, lo: i64, hi: i64| prm.units.unwrap_or_else(|| rng.range(lo, hi));
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let ops: Vec<&Person> = site.people.iter().filter(|p| p.role == "cage_operator").collect();
    let p = *rng.pick(&ops);
    let (pid, badge) = (p.id.clone(), p.badge.clone());
    let t = local(&tz, date, hour(23), rng.range(0, 40) as u32, 0);
    events.push(f.badge(site, t, "CAGE", &badge, Some(&pid), Direction::In));
    events.push(f.emit_ref(
        1,
        site,
        t + Duration::seconds(20),
        motion(&format!("{sid}-CAM-CAGE"), &format!("{sid}-CAGE")),
    ));
    // Take what the cage holds of its most valuable SKU.
    let cage: Vec<usize> = (AISLES as usize..(AISLES + CAGE_BINS) as usize).collect();
    let (loc, k) = cage
        .iter()
        .flat_map(|&l| (0..SKUS as usize).map(move |k| (l, k)))
        .filter(|&(l, k)| site.stock[l][k] > 0)
        .max_by(|a, b| sku_value(a.1).0.total_cmp(&sku_value(b.1).0).then(b.cmp(a)))?;
    let q = site.stock[loc][k].min(units(rng, 3, 10));
    site.stock[loc][k] -= q;
    let dock_in = site.dock_in();
    site.stock[dock_in][k] += q;
    events.push(f.emit_ref(
        2,
        site,
        t + Duration::seconds(600),
        moved(&sku_id(k), q, &site.locations[loc], &site.locations[site.dock_in()], None, Some(&pid), None),
    ));
    events.push(f.badge(site, t + Duration::seconds(900), "DOCK2", &badge, Some(&pid), Direction::In));
    actors = vec![pid];
    entities = vec![badge, format!("{sid}-CAGE"), sku_id(k)];
    start = t;
    first_signal = t;
    end = t + Duration::seconds(900);
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `authorised_after_hours_move`: Benign: a supervisor moves cage stock in the evening under a work order.
pub(super) fn authorised_after_hours_move(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { n, site, rng, f, prm, date, tz, sid, events, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let sups: Vec<&Person> = site.people.iter().filter(|p| p.role == "supervisor").collect();
    let p = *rng.pick(&sups);
    let (pid, badge) = (p.id.clone(), p.badge.clone());
    let t = local(&tz, date, hour(21), 30 + rng.range(0, 20) as u32, 0);
    events.push(f.badge(site, t, "CAGE", &badge, Some(&pid), Direction::In));
    let cage: Vec<usize> = (AISLES as usize..(AISLES + CAGE_BINS) as usize).collect();
    let (loc, k) =
        cage.iter().flat_map(|&l| (0..SKUS as usize).map(move |k| (l, k))).find(|&(l, k)| site.stock[l][k] > 0)?;
    let q = site.stock[loc][k].min(prm.units.unwrap_or(2));
    let to = (loc + 1 - AISLES as usize) % CAGE_BINS as usize + AISLES as usize;
    site.stock[loc][k] -= q;
    site.stock[to][k] += q;
    let work_order = format!("WO-{n:05}");
    let body = moved(&sku_id(k), q, &site.locations[loc], &site.locations[to], Some(&work_order), Some(&pid), None);
    events.push(f.emit_ref(2, site, t + Duration::seconds(300), body));
    actors = vec![pid];
    entities = vec![badge, format!("{sid}-CAGE")];
    start = t;
    first_signal = t;
    end = t + Duration::seconds(300);
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `camera_offline_before_loss`: The cage camera goes offline; minutes later stock leaves the cage.
pub(super) fn camera_offline_before_loss(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, sid, events, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    // Units: a parameter, or drawn from the usual range.
    let units = |rng: &mut Rng, lo: i64, hi: i64| prm.units.unwrap_or_else(|| rng.range(lo, hi));
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let who = pick_role(site, rng, "cage_operator");
    let t = local(&tz, date, hour(22), rng.range(30, 50) as u32, 0);
    events.push(f.emit_ref(1, site, t, camera_offline(&format!("{sid}-CAM-CAGE"), Some("no video signal"))));
    // Into the cage `minutes` after the camera went dark (15 by default), out 400 s later.
    let gap = i64::from(prm.minutes.unwrap_or(15)) * 60;
    events.push(f.badge(site, t + Duration::seconds(gap), "CAGE", &who.1, Some(&who.0), Direction::In));
    let (loc, k) = stocked(site, rng, true)?;
    let q = site.stock[loc][k].min(units(rng, 2, 6));
    site.stock[loc][k] -= q;
    let dock_in = site.dock_in();
    site.stock[dock_in][k] += q;
    events.push(f.emit_ref(
        2,
        site,
        t + Duration::seconds(gap + 400),
        moved(&sku_id(k), q, &site.locations[loc], &site.locations[dock_in], None, Some(&who.0), None),
    ));
    entities = vec![format!("{sid}-CAM-CAGE"), who.1.clone(), sku_id(k)];
    actors = vec![who.0];
    (start, first_signal, end) = (t, t, t + Duration::seconds(gap + 400));
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `dock_collusion`: A shipper ships stock with no pick or order line to the second carrier
/// through dock door 2 in the evening.
pub(super) fn dock_collusion(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { n, site, rng, f, date, tz, sid, events, prm, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    // Units: a parameter, or drawn from the usual range.
    let units = |rng: &mut Rng, lo: i64, hi: i64| prm.units.unwrap_or_else(|| rng.range(lo, hi));
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let who = pick_role(site, rng, "shipper");
    let t = local(&tz, date, hour(19), rng.range(0, 50) as u32, 0);
    let (loc, k) = stocked(site, rng, false)?;
    let q = site.stock[loc][k].min(units(rng, 10, 40));
    site.stock[loc][k] -= q;
    let (order, door) = (format!("SO-X{n:05}"), format!("{sid}-D-DOCK2"));
    let body =
        shipped(&sku_id(k), q, &site.locations[loc], Some(&order), Some("V-CARRIER-2"), Some(&door), Some(&who.0));
    events.push(f.emit_ref(2, site, t, body));
    events.push(f.badge(site, t - Duration::seconds(120), "DOCK2", &who.1, Some(&who.0), Direction::In));
    entities = vec!["V-CARRIER-2".into(), format!("{sid}-D-DOCK2"), sku_id(k)];
    actors = vec![who.0];
    (start, first_signal, end) = (t - Duration::seconds(120), t, t);
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `pick_drift`: from this day on, one picker of the day shift steers more
/// and more of their lines to the cage's high-value stock (from none to
/// three lines in five by the end, over `days`, two weeks by default), and
/// pockets a unit on some of them: the book moves what the scan says, the
/// shelf loses one more. Nothing in any one pick stands out.
pub(super) fn pick_drift(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, last, tz, sid, events, .. } = c;
    let days = i64::from(prm.days.unwrap_or(14));
    let until = (date + Duration::days(days)).min(last);
    if (until - date).num_days() < 7 || site.drift.is_some() {
        return None;
    }
    let pickers: Vec<usize> =
        (0..site.people.len()).filter(|&i| site.people[i].role == "picker" && site.people[i].shift == 0).collect();
    let i = *rng.pick(&pickers);
    site.drift = Some((i, date, until));
    let p = &site.people[i];
    let (pid, account) = (p.id.clone(), p.account.clone());
    // The first steered line, today: a critical SKU from the cage.
    let (loc, k) = stocked(site, rng, true)?;
    let t = local(&tz, date, prm.hour.unwrap_or(12), rng.range(0, 50) as u32, 0);
    let q = site.stock[loc][k].min(2);
    let order = format!("SO-{sid}-{}-D-{:03}", date.format("%m%d"), rng.below(1000));
    let pack = site.pack();
    let body = picked(&sku_id(k), q, &site.locations[loc], Some(&site.locations[pack]), Some(&order), Some(&pid));
    events.push(f.emit_ref(2, site, t, body));
    site.stock[loc][k] -= q;
    site.stock[pack][k] += q;
    site.lost[pack][k] += q;
    Some(Shape {
        actors: vec![pid.clone()],
        entities: vec![pid, account],
        start: t,
        first_signal: t,
        end: local(&tz, until, 0, 0, 0),
    })
}
