//! Scenarios in the inventory records: receipts of goods that never came,
//! adjustments that hide a theft, and skimming a unit at a time.

use super::*;

/// `phantom_receipts`: A carrier's EDI API key is used at 04:00 from outside, and a receipt with
/// no truck or ASN follows.
pub(super) fn phantom_receipts(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { n, site, rng, f, date, tz, events, prm, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    // Units: a parameter, or drawn from the usual range.
    let units = |rng: &mut Rng, lo: i64, hi: i64| prm.units.unwrap_or_else(|| rng.range(lo, hi));
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let t = local(&tz, date, hour(4), rng.range(0, 50) as u32, 0);
    let used = api_key_used(
        "wms",
        "key-carrier2-edi",
        Some("POST /receipts"),
        ip(198, 51, 100, rng.range(2, 250)),
        Some("V-CARRIER-2"),
    );
    events.push(f.emit_ref(3, site, t, used));
    let k = (0..SKUS as usize).filter(|k| sku_value(*k).1 == "critical").nth(rng.below(10) as usize).unwrap_or(0);
    let q = units(rng, 50, 150);
    let dock_in = site.dock_in();
    site.stock[dock_in][k] += q;
    let receipt = received(
        &sku_id(k),
        q,
        &site.locations[dock_in],
        Some(&format!("ASN-X{n:05}")),
        Some("V-CARRIER-2"),
        None,
        Some("api:key-carrier2-edi"),
    );
    events.push(f.emit_ref(2, site, t + Duration::seconds(30), receipt));
    entities = vec!["key-carrier2-edi".into(), "V-CARRIER-2".into(), sku_id(k)];
    actors = vec![];
    (start, first_signal, end) = (t, t, t + Duration::seconds(30));
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `record_manipulation`: An unapproved "damaged" adjustment in the cage; the next morning's count
/// agrees with the edited book.
pub(super) fn record_manipulation(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, date, tz, events, prm, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    // Units: a parameter, or drawn from the usual range.
    let units = |rng: &mut Rng, lo: i64, hi: i64| prm.units.unwrap_or_else(|| rng.range(lo, hi));
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let who = pick_role(site, rng, "cage_operator");
    let t = local(&tz, date, hour(21), rng.range(40, 58) as u32, 0);
    let (loc, k) = stocked(site, rng, true)?;
    let q = site.stock[loc][k].min(units(rng, 2, 8));
    site.stock[loc][k] -= q;
    events.push(f.emit_ref(
        2,
        site,
        t,
        adjusted(&sku_id(k), &site.locations[loc], -q, "damaged", None, Some(&who.0), None),
    ));
    // The next morning's count agrees with the edited book: the loss is hidden.
    let counted = local(&tz, date + Duration::days(1), 6, 31, 0);
    events.push(f.emit_ref(
        2,
        site,
        counted,
        counted_at(&sku_id(k), &site.locations[loc], site.stock[loc][k], CountType::Cycle, Some(&who.0)),
    ));
    entities = vec![site.locations[loc].clone(), sku_id(k)];
    actors = vec![who.0];
    (start, first_signal, end) = (t, t, counted);
    Some(Shape { actors, entities, start, first_signal, end })
}

/// `slow_skimming`: One unit a day written off at the same place by the same picker, for days.
pub(super) fn slow_skimming(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, events, .. } = c;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let who = pick_role(site, rng, "picker");
    let per_day = prm.units.unwrap_or(1);
    let days = i64::from(prm.days.unwrap_or(8));
    let (loc, k) = stocked_with(site, rng, false, per_day * days)?;
    let t = local(&tz, date, hour(13), 50, 0);
    for day in 0..days {
        let q = site.stock[loc][k].min(per_day);
        if q <= 0 {
            break;
        }
        site.stock[loc][k] -= q;
        events.push(f.emit_ref(
            2,
            site,
            t + Duration::days(day) + Duration::seconds(rng.range(0, 300)),
            adjusted(&sku_id(k), &site.locations[loc], -q, "count correction", None, Some(&who.0), None),
        ));
    }
    let last = t + Duration::days(events.len() as i64);
    entities = vec![site.locations[loc].clone(), sku_id(k)];
    actors = vec![who.0];
    (start, first_signal, end) = (t, t, last);
    Some(Shape { actors, entities, start, first_signal, end })
}
