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

/// The threshold above which a write-down needs an approver, in value.
const APPROVAL_VALUE: f64 = 2500.0;

/// An aisle place holding a high-value SKU with at least `min` units.
fn valuable_aisle(site: &Site, rng: &mut Rng, min: i64) -> Option<(usize, usize)> {
    let offset = rng.below(u64::from(AISLES)) as usize;
    (0..AISLES as usize).map(|i| (i + offset) % AISLES as usize).find_map(|l| {
        (0..SKUS as usize)
            .find(|&k| matches!(sku_value(k).1, "critical" | "high") && site.stock[l][k] >= min)
            .map(|k| (l, k))
    })
}

/// `split_adjustments`: a receiver writes one high-value SKU down as
/// damaged three to five times in an afternoon, each just under the
/// approval threshold, and takes the units.
pub(super) fn split_adjustments(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, events, .. } = c;
    let who = pick_role(site, rng, "receiver");
    let pieces = rng.range(3, 5);
    let (loc, k) = valuable_aisle(site, rng, 30)?;
    let unit = sku_value(k).0;
    let each = prm.units.unwrap_or(((APPROVAL_VALUE - 100.0) / unit).floor().max(1.0) as i64);
    let t = local(&tz, date, prm.hour.unwrap_or(15), rng.range(0, 30) as u32, 0);
    let (mut at, mut total, mut first_signal, mut end) = (t, 0.0, None, t);
    for _ in 0..pieces {
        let q = site.stock[loc][k].min(each);
        if q <= 0 {
            break;
        }
        site.stock[loc][k] -= q;
        total += q as f64 * unit;
        let body = adjusted(&sku_id(k), &site.locations[loc], -q, "damaged", None, Some(&who.0), None);
        events.push(f.emit_ref(2, site, at, body));
        // Until the sum passes the threshold, each looks like any small write-down.
        if total >= APPROVAL_VALUE && first_signal.is_none() {
            first_signal = Some(at);
        }
        end = at;
        at += Duration::seconds(rng.range(600, 1800));
    }
    Some(Shape {
        actors: vec![who.0],
        entities: vec![site.locations[loc].clone(), sku_id(k)],
        start: t,
        first_signal: first_signal.unwrap_or(end),
        end,
    })
}

/// `small_writedowns` (benign): a pallet falls; the receiver writes down a
/// few units of four to six SKUs at one aisle, each under the approval
/// threshold, with no approver, as policy allows.
pub(super) fn small_writedowns(c: Ctx<'_, '_>) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, events, .. } = c;
    // Receivers work on working days.
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return None;
    }
    let who = pick_role(site, rng, "receiver");
    let loc = rng.below(u64::from(AISLES)) as usize;
    let t = local(&tz, date, prm.hour.unwrap_or(11), rng.range(0, 30) as u32, 0);
    let skus: Vec<usize> =
        (0..SKUS as usize).filter(|&k| site.stock[loc][k] > 3).take(rng.range(4, 6) as usize).collect();
    if skus.len() < 2 {
        return None;
    }
    let mut at = t;
    let mut entities = vec![site.locations[loc].clone()];
    for k in skus {
        let most = ((APPROVAL_VALUE - 100.0) / sku_value(k).0).floor() as i64;
        let q = rng.range(1, 3).min(most).min(site.stock[loc][k]);
        if q <= 0 {
            continue;
        }
        site.stock[loc][k] -= q;
        let body = adjusted(&sku_id(k), &site.locations[loc], -q, "damaged", None, Some(&who.0), None);
        events.push(f.emit_ref(2, site, at, body));
        entities.push(sku_id(k));
        at += Duration::seconds(rng.range(30, 120));
    }
    Some(Shape { actors: vec![who.0], entities, start: t, first_signal: t, end: at })
}

/// `uncounted_location`: a picker moves a high-value SKU from its aisle to
/// the overflow shelf, which no count plan covers, with no work order; the
/// units then leave the shelf unrecorded. Benign (`overflow_work_order`): a
/// supervisor parks stock there under a work order and moves it back two
/// days later.
pub(super) fn overflow(c: Ctx<'_, '_>, benign: bool) -> Option<Shape> {
    let Ctx { n, site, rng, f, prm, date, tz, events, .. } = c;
    let who = pick_role(site, rng, if benign { "supervisor" } else { "picker" });
    let (loc, k) = valuable_aisle(site, rng, 10)?;
    let ovf = site.overflow();
    let least = (2000.0 / sku_value(k).0).ceil() as i64;
    let q = site.stock[loc][k].min(prm.units.unwrap_or_else(|| rng.range(least.max(3), (least * 3).max(10))));
    let t = local(&tz, date, prm.hour.unwrap_or(if benign { 10 } else { 16 }), rng.range(0, 50) as u32, 0);
    let order = benign.then(|| format!("WO-OVF-{n:05}"));
    let body = moved(&sku_id(k), q, &site.locations[loc], &site.locations[ovf], order.as_deref(), Some(&who.0), None);
    events.push(f.emit_ref(2, site, t, body));
    site.stock[loc][k] -= q;
    site.stock[ovf][k] += q;
    let mut end = t;
    if benign {
        end = t + Duration::days(2);
        let body =
            moved(&sku_id(k), q, &site.locations[ovf], &site.locations[loc], order.as_deref(), Some(&who.0), None);
        events.push(f.emit_ref(2, site, end, body));
        site.stock[ovf][k] -= q;
        site.stock[loc][k] += q;
    } else {
        // Gone from the shelf; the book still shows them there.
        site.lost[ovf][k] += q;
    }
    Some(Shape {
        actors: vec![who.0],
        entities: vec![site.locations[ovf].clone(), sku_id(k)],
        start: t,
        first_signal: t,
        end,
    })
}

/// `skipped_counts`: a cage operator takes units from a cage place, and the
/// next two weekly full counts leave that line out. Benign
/// (`count_deferred`): a line left out of the next full count once (the
/// bin was blocked) and counted twenty minutes later.
pub(super) fn skipped_counts(c: Ctx<'_, '_>, benign: bool) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, last, tz, sid, events, .. } = c;
    // The next Monday's full count, with a day after it in the period.
    let monday = date + Duration::days(i64::from(8 - date.weekday().number_from_monday()));
    if monday >= last {
        return None;
    }
    let (loc, k) = stocked_with(site, rng, true, 20)?;
    if site.skip.iter().any(|s| (s.0, s.1) == (loc, k)) {
        return None;
    }
    let sweep = local(&tz, monday, 5, 30, 0);
    if benign {
        site.skip.push((loc, k, 1, true));
        return Some(Shape {
            actors: vec![],
            entities: vec![site.locations[loc].clone(), sku_id(k)],
            start: sweep,
            first_signal: sweep,
            end: sweep + Duration::seconds(1200),
        });
    }
    site.skip.push((loc, k, 2, false));
    let who = pick_role(site, rng, "cage_operator");
    let t = local(&tz, date, prm.hour.unwrap_or(12), rng.range(0, 50) as u32, 0);
    events.push(f.badge(site, t, "CAGE", &who.1, Some(&who.0), Direction::In));
    let q = site.physical(loc, k).min(prm.units.unwrap_or_else(|| rng.range(3, 8)));
    site.lost[loc][k] += q;
    // The episode lasts until the day after the second full count it
    // skips (or the end of the period).
    let second = local(&tz, (monday + Duration::days(8)).min(last), 5, 30, 0);
    Some(Shape {
        actors: vec![who.0],
        entities: vec![site.locations[loc].clone(), sku_id(k), format!("{sid}-CAGE")],
        start: t,
        first_signal: sweep,
        end: second,
    })
}
