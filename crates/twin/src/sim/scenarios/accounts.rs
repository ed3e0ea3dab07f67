//! Scenarios in accounts and system access: a vendor outside its window, and
//! privilege escalation on a WMS account.

use super::*;

/// `vendor_outside_window`: The maintenance technician badges into the server room at 03:00, logs in
/// to the WMS from outside, and adjusts stock.
pub(super) fn vendor_outside_window(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, date, tz, sid, events, prm, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    // Units: a parameter, or drawn from the usual range.
    let units = |rng: &mut Rng, lo: i64, hi: i64| prm.units.unwrap_or_else(|| rng.range(lo, hi));
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let t = local(&tz, date, hour(3), rng.range(0, 40) as u32, 0);
    let (pid, badge) = (format!("{sid}-V01"), format!("{sid}-VB01"));
    events.push(f.badge(site, t, "IT", &badge, Some(&pid), Direction::In));
    events.push(f.emit_ref(
        3,
        site,
        t + Duration::seconds(240),
        login("wms", "vendor-hvac", Outcome::Success, false, ip(203, 0, 113, rng.range(2, 250)), None),
    ));
    let (loc, k) = stocked(site, rng, false)?;
    let q = site.stock[loc][k].min(units(rng, 5, 20));
    site.stock[loc][k] -= q;
    events.push(f.emit_ref(
        2,
        site,
        t + Duration::seconds(900),
        adjusted(&sku_id(k), &site.locations[loc], -q, "count correction", None, None, Some("vendor-hvac")),
    ));
    actors = vec![pid];
    entities = vec![badge, "V-HVAC".into(), format!("{sid}-D-IT"), sku_id(k)];
    (start, first_signal, end) = (t, t, t + Duration::seconds(900));
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `privilege_escalation`: Failed logins, a success without MFA, an admin privilege used, an adjustment.
pub(super) fn privilege_escalation(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, events, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let who = pick_role(site, rng, "picker");
    let account = who.2.clone();
    let t = local(&tz, date, hour(2), rng.range(0, 40) as u32, 0);
    let failures = i64::from(prm.failures.unwrap_or(3));
    for i in 0..failures {
        events.push(f.emit_ref(
            3,
            site,
            t + Duration::seconds(i * 20),
            login("wms", &account, Outcome::Failure, false, ip(192, 0, 2, 10 + i % 200), None),
        ));
    }
    // The success comes 20 s after the last failure; privilege use and the adjustment follow.
    let ok = t + Duration::seconds(failures * 20 + 20);
    events.push(f.emit_ref(3, site, ok, login("wms", &account, Outcome::Success, false, ip(192, 0, 2, 13), None)));
    events.push(f.emit_ref(3, site, ok + Duration::seconds(120), privilege_use("wms", &account, "admin", None)));
    let (loc, k) = stocked(site, rng, true)?;
    let q = site.stock[loc][k].min(prm.units.unwrap_or(3));
    site.stock[loc][k] -= q;
    events.push(f.emit_ref(
        2,
        site,
        ok + Duration::seconds(320),
        adjusted(&sku_id(k), &site.locations[loc], -q, "write-off", None, None, Some(&account)),
    ));
    entities = vec![account, sku_id(k)];
    actors = vec![who.0];
    (start, first_signal, end) = (t, t, ok + Duration::seconds(320));
    Some(Shape { actors, entities, start, first_signal, end })
}
