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

/// `shared_credential`: a picker's WMS account logs in at its own site and,
/// minutes later, from another site's network: the password is shared.
/// Benign (`multi_site_login`): a site manager logs in at one site, then at
/// another after the drive there, hours later.
pub(super) fn shared_credential(c: Ctx<'_, '_>, benign: bool) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, events, .. } = c;
    if site.sites < 2 {
        return None;
    }
    let other = site.num % site.sites + 1;
    let who = pick_role(site, rng, if benign { "site_manager" } else { "picker" });
    let t = local(&tz, date, prm.hour.unwrap_or(if benign { 7 } else { 10 }), rng.range(0, 40) as u32, 0);
    let gap = prm.minutes.map_or_else(|| if benign { rng.range(150, 300) } else { rng.range(2, 20) }, i64::from) * 60;
    let here =
        login("wms", &who.2, Outcome::Success, benign, site_address(site.num, rng.range(256, 2303)), Some(&who.0));
    events.push(f.emit_ref(3, site, t, here));
    let there = login("wms", &who.2, Outcome::Success, benign, site_address(other, rng.range(256, 2303)), Some(&who.0));
    let second = t + Duration::seconds(gap);
    events.push(f.emit_ref(3, site, second, there));
    Some(Shape { actors: vec![who.0], entities: vec![who.2], start: t, first_signal: second, end: second })
}

/// `vendor_bulk_export`: the reporting partner's API key pages through the
/// whole inventory in the afternoon, outside its nightly window. Benign
/// (`vendor_resync`): the same volume inside the window, a resynchronisation.
pub(super) fn bulk_export(c: Ctx<'_, '_>, benign: bool) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, events, .. } = c;
    let calls = prm.calls.map_or_else(|| rng.range(150, 400), i64::from);
    let t = if benign {
        local(&tz, date, prm.hour.unwrap_or(0), rng.range(25, 35) as u32, 0)
    } else {
        local(&tz, date, prm.hour.unwrap_or(14), rng.range(0, 30) as u32, 0)
    };
    let operation = if benign { "GET /inventory/snapshot" } else { "GET /inventory/items" };
    let mut at = t;
    for _ in 0..calls {
        let call = api_key_used("wms", "key-bi-sync", Some(operation), ip(198, 51, 100, 77), Some("V-BI"));
        events.push(f.emit_ref(3, site, at, call));
        at += Duration::seconds(rng.range(2, 5));
    }
    // The hundredth call is where volume alone tells it apart.
    let first_signal = t + (at - t) * 100 / calls.max(100) as i32;
    Some(Shape { actors: vec![], entities: vec!["key-bi-sync".into(), "V-BI".into()], start: t, first_signal, end: at })
}
