//! The scenario injections: one instance of a theft, misuse or benign
//! look-alike scenario, written into the feeds, and its truth.

use super::*;

/// One instance to inject: which, with what parameters, its number, its day.
pub(super) struct Injection<'a> {
    pub(super) scenario: Scenario,
    pub(super) params: &'a Params,
    pub(super) n: usize,
    pub(super) date: NaiveDate,
}

/// Injects one instance of a scenario; returns its truth.
pub(super) fn inject(
    at: Injection<'_>,
    site: &mut Site,
    terminated: &mut Vec<usize>,
    rng: &mut Rng,
    f: &mut Feeds,
) -> Option<Instance> {
    let Injection { scenario, params: prm, n, date } = at;
    // The scenario's usual start hour, unless a parameter says otherwise.
    let hour = |usual: u32| prm.hour.unwrap_or(usual);
    // Units: a parameter, or drawn from the usual range.
    let units = |rng: &mut Rng, lo: i64, hi: i64| prm.units.unwrap_or_else(|| rng.range(lo, hi));
    let tz = site.tz;
    let sid = site.id.clone();
    let mut events = Vec::new();
    let (actors, entities): (Vec<String>, Vec<String>);
    let (start, first_signal, end): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    match scenario {
        Scenario::TerminatedBadgeInUse => {
            let candidates: Vec<usize> = (0..site.people.len())
                .filter(|i| site.people[*i].role == "picker" && !terminated.contains(i))
                .collect();
            let pi = *rng.pick(&candidates);
            terminated.push(pi);
            let p = &site.people[pi];
            let (pid, badge) = (p.id.clone(), p.badge.clone());
            // HR records the termination the day before; the badge is never revoked.
            let fired = local(&tz, date - Duration::days(i64::from(prm.days.unwrap_or(1))), 17, 0, 0);
            events.push(f.emit_ref(
                4,
                site,
                fired,
                "hr.terminated",
                &format!(r#""person":"{pid}","reason":"dismissal""#),
            ));
            let t = local(&tz, date, hour(23), rng.range(0, 30) as u32, 0);
            events.push(f.badge(site, t, "MAIN", &badge, None, "in"));
            events.push(f.badge(site, t + Duration::seconds(180), "DOCK1", &badge, None, "in"));
            events.push(f.badge(site, t + Duration::seconds(1500), "MAIN", &badge, None, "out"));
            actors = vec![pid];
            entities = vec![badge, format!("{sid}-D-MAIN")];
            start = fired;
            first_signal = t;
            end = t + Duration::seconds(1500);
        }
        Scenario::AfterHoursCageRemoval => {
            let ops: Vec<&Person> = site.people.iter().filter(|p| p.role == "cage_operator").collect();
            let p = *rng.pick(&ops);
            let (pid, badge) = (p.id.clone(), p.badge.clone());
            let t = local(&tz, date, hour(23), rng.range(0, 40) as u32, 0);
            events.push(f.badge(site, t, "CAGE", &badge, Some(&pid), "in"));
            events.push(f.emit_ref(
                1,
                site,
                t + Duration::seconds(20),
                "video.motion",
                &format!(r#""camera":"{sid}-CAM-CAGE","zone":"{sid}-CAGE""#),
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
                "inventory.moved",
                &format!(
                    r#""sku":"{}","quantity":{q},"from_location":"{}","to_location":"{}","person":"{pid}""#,
                    sku_id(k),
                    site.locations[loc],
                    site.locations[site.dock_in()]
                ),
            ));
            events.push(f.badge(site, t + Duration::seconds(900), "DOCK2", &badge, Some(&pid), "in"));
            actors = vec![pid];
            entities = vec![badge, format!("{sid}-CAGE"), sku_id(k)];
            start = t;
            first_signal = t;
            end = t + Duration::seconds(900);
        }
        Scenario::DockDoorHeldAtNight => {
            let t = local(&tz, date, hour(2), rng.range(0, 50) as u32, 0);
            let held = prm.minutes.map_or_else(|| rng.range(1500, 3000), |m| i64::from(m) * 60);
            events.push(f.emit_ref(
                0,
                site,
                t + Duration::seconds(held),
                "access.door_held_open",
                &format!(r#""door":"{sid}-D-DOCK2","duration_s":{held}"#),
            ));
            events.push(f.emit_ref(
                1,
                site,
                t + Duration::seconds(60),
                "video.motion",
                &format!(r#""camera":"{sid}-CAM-DOCK","zone":"{sid}-DOCK""#),
            ));
            actors = vec![];
            entities = vec![format!("{sid}-D-DOCK2"), format!("{sid}-DOCK")];
            start = t;
            first_signal = t + Duration::seconds(60);
            end = t + Duration::seconds(held);
        }
        Scenario::Tailgating => {
            let ops: Vec<&Person> = site.people.iter().filter(|p| p.role == "cage_operator").collect();
            let p = *rng.pick(&ops);
            let (pid, badge) = (p.id.clone(), p.badge.clone());
            let t = local(&tz, date, hour(10), rng.range(0, 59) as u32, 0);
            events.push(f.badge(site, t, "CAGE", &badge, Some(&pid), "in"));
            let people = prm.people.unwrap_or(2);
            events.push(f.emit_ref(
                1,
                site,
                t + Duration::seconds(4),
                "video.tailgating",
                &format!(r#""camera":"{sid}-CAM-CAGE","door":"{sid}-D-CAGE","people":{people},"badge":"{badge}""#),
            ));
            actors = vec![pid];
            entities = vec![badge, format!("{sid}-D-CAGE")];
            start = t;
            first_signal = t + Duration::seconds(4);
            end = t + Duration::seconds(4);
        }
        Scenario::AuthorisedAfterHoursMove => {
            let sups: Vec<&Person> = site.people.iter().filter(|p| p.role == "supervisor").collect();
            let p = *rng.pick(&sups);
            let (pid, badge) = (p.id.clone(), p.badge.clone());
            let t = local(&tz, date, hour(21), 30 + rng.range(0, 20) as u32, 0);
            events.push(f.badge(site, t, "CAGE", &badge, Some(&pid), "in"));
            let cage: Vec<usize> = (AISLES as usize..(AISLES + CAGE_BINS) as usize).collect();
            let (loc, k) = cage
                .iter()
                .flat_map(|&l| (0..SKUS as usize).map(move |k| (l, k)))
                .find(|&(l, k)| site.stock[l][k] > 0)?;
            let q = site.stock[loc][k].min(prm.units.unwrap_or(2));
            let to = (loc + 1 - AISLES as usize) % CAGE_BINS as usize + AISLES as usize;
            site.stock[loc][k] -= q;
            site.stock[to][k] += q;
            events.push(f.emit_ref(2, site, t + Duration::seconds(300), "inventory.moved", &format!(
                r#""sku":"{}","quantity":{q},"from_location":"{}","to_location":"{}","person":"{pid}","work_order":"WO-{n:05}""#,
                sku_id(k), site.locations[loc], site.locations[to])));
            actors = vec![pid];
            entities = vec![badge, format!("{sid}-CAGE")];
            start = t;
            first_signal = t;
            end = t + Duration::seconds(300);
        }

        Scenario::VendorOutsideWindow => {
            let t = local(&tz, date, hour(3), rng.range(0, 40) as u32, 0);
            let (pid, badge) = (format!("{sid}-V01"), format!("{sid}-VB01"));
            events.push(f.badge(site, t, "IT", &badge, Some(&pid), "in"));
            events.push(f.emit_ref(3, site, t + Duration::seconds(240), "identity.login", &format!(
                r#""system":"wms","account":"vendor-hvac","result":"success","mfa":false,"source_ip":"203.0.113.{}""#, rng.range(2, 250))));
            let (loc, k) = stocked(site, rng, false)?;
            let q = site.stock[loc][k].min(units(rng, 5, 20));
            site.stock[loc][k] -= q;
            events.push(f.emit_ref(
                2,
                site,
                t + Duration::seconds(900),
                "inventory.adjusted",
                &format!(
                    r#""sku":"{}","location":"{}","delta":-{q},"reason":"count correction","account":"vendor-hvac""#,
                    sku_id(k),
                    site.locations[loc]
                ),
            ));
            actors = vec![pid];
            entities = vec![badge, "V-HVAC".into(), format!("{sid}-D-IT"), sku_id(k)];
            (start, first_signal, end) = (t, t, t + Duration::seconds(900));
        }
        Scenario::CameraOfflineBeforeLoss => {
            let who = pick_role(site, rng, "cage_operator");
            let t = local(&tz, date, hour(22), rng.range(30, 50) as u32, 0);
            events.push(f.emit_ref(
                1,
                site,
                t,
                "video.camera_offline",
                &format!(r#""camera":"{sid}-CAM-CAGE","detail":"no video signal""#),
            ));
            // Into the cage `minutes` after the camera went dark (15 by default), out 400 s later.
            let gap = i64::from(prm.minutes.unwrap_or(15)) * 60;
            events.push(f.badge(site, t + Duration::seconds(gap), "CAGE", &who.1, Some(&who.0), "in"));
            let (loc, k) = stocked(site, rng, true)?;
            let q = site.stock[loc][k].min(units(rng, 2, 6));
            site.stock[loc][k] -= q;
            let dock_in = site.dock_in();
            site.stock[dock_in][k] += q;
            events.push(f.emit_ref(
                2,
                site,
                t + Duration::seconds(gap + 400),
                "inventory.moved",
                &format!(
                    r#""sku":"{}","quantity":{q},"from_location":"{}","to_location":"{}","person":"{}""#,
                    sku_id(k),
                    site.locations[loc],
                    site.locations[dock_in],
                    who.0
                ),
            ));
            entities = vec![format!("{sid}-CAM-CAGE"), who.1.clone(), sku_id(k)];
            actors = vec![who.0];
            (start, first_signal, end) = (t, t, t + Duration::seconds(gap + 400));
        }
        Scenario::BadgeSharing => {
            let who = pick_role(site, rng, "picker");
            let t = local(&tz, date, hour(11), rng.range(0, 50) as u32, 0);
            events.push(f.badge(site, t, "DOCK1", &who.1, Some(&who.0), "in"));
            // The same badge at the far end of the site seconds later: two people share it.
            let gap = Duration::seconds(i64::from(prm.seconds.unwrap_or(20)));
            events.push(f.badge(site, t + gap, "MAIN", &who.1, Some(&who.0), "in"));
            entities = vec![who.1.clone(), format!("{sid}-D-DOCK1"), format!("{sid}-D-MAIN")];
            actors = vec![who.0];
            (start, first_signal, end) = (t, t + gap, t + gap);
        }
        Scenario::PhantomReceipts => {
            let t = local(&tz, date, hour(4), rng.range(0, 50) as u32, 0);
            events.push(f.emit_ref(3, site, t, "identity.api_key_used", &format!(
                r#""system":"wms","api_key":"key-carrier2-edi","operation":"POST /receipts","source_ip":"198.51.100.{}","vendor":"V-CARRIER-2""#,
                rng.range(2, 250))));
            let k =
                (0..SKUS as usize).filter(|k| sku_value(*k).1 == "critical").nth(rng.below(10) as usize).unwrap_or(0);
            let q = units(rng, 50, 150);
            let dock_in = site.dock_in();
            site.stock[dock_in][k] += q;
            events.push(f.emit_ref(2, site, t + Duration::seconds(30), "inventory.received", &format!(
                r#""sku":"{}","quantity":{q},"to_location":"{}","reference":"ASN-X{n:05}","vendor":"V-CARRIER-2","account":"api:key-carrier2-edi""#,
                sku_id(k), site.locations[dock_in])));
            entities = vec!["key-carrier2-edi".into(), "V-CARRIER-2".into(), sku_id(k)];
            actors = vec![];
            (start, first_signal, end) = (t, t, t + Duration::seconds(30));
        }
        Scenario::RecordManipulation => {
            let who = pick_role(site, rng, "cage_operator");
            let t = local(&tz, date, hour(21), rng.range(40, 58) as u32, 0);
            let (loc, k) = stocked(site, rng, true)?;
            let q = site.stock[loc][k].min(units(rng, 2, 8));
            site.stock[loc][k] -= q;
            events.push(f.emit_ref(
                2,
                site,
                t,
                "inventory.adjusted",
                &format!(
                    r#""sku":"{}","location":"{}","delta":-{q},"reason":"damaged","person":"{}""#,
                    sku_id(k),
                    site.locations[loc],
                    who.0
                ),
            ));
            // The next morning's count agrees with the edited book: the loss is hidden.
            let counted = local(&tz, date + Duration::days(1), 6, 31, 0);
            events.push(f.emit_ref(
                2,
                site,
                counted,
                "inventory.counted",
                &format!(
                    r#""sku":"{}","location":"{}","quantity":{},"count_type":"cycle","person":"{}""#,
                    sku_id(k),
                    site.locations[loc],
                    site.stock[loc][k],
                    who.0
                ),
            ));
            entities = vec![site.locations[loc].clone(), sku_id(k)];
            actors = vec![who.0];
            (start, first_signal, end) = (t, t, counted);
        }
        Scenario::SlowSkimming => {
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
                    "inventory.adjusted",
                    &format!(
                        r#""sku":"{}","location":"{}","delta":-{q},"reason":"count correction","person":"{}""#,
                        sku_id(k),
                        site.locations[loc],
                        who.0
                    ),
                ));
            }
            let last = t + Duration::days(events.len() as i64);
            entities = vec![site.locations[loc].clone(), sku_id(k)];
            actors = vec![who.0];
            (start, first_signal, end) = (t, t, last);
        }
        Scenario::DockCollusion => {
            let who = pick_role(site, rng, "shipper");
            let t = local(&tz, date, hour(19), rng.range(0, 50) as u32, 0);
            let (loc, k) = stocked(site, rng, false)?;
            let q = site.stock[loc][k].min(units(rng, 10, 40));
            site.stock[loc][k] -= q;
            events.push(f.emit_ref(2, site, t, "inventory.shipped", &format!(
                r#""sku":"{}","quantity":{q},"from_location":"{}","order":"SO-X{n:05}","carrier":"V-CARRIER-2","door":"{sid}-D-DOCK2","person":"{}""#,
                sku_id(k), site.locations[loc], who.0)));
            events.push(f.badge(site, t - Duration::seconds(120), "DOCK2", &who.1, Some(&who.0), "in"));
            entities = vec!["V-CARRIER-2".into(), format!("{sid}-D-DOCK2"), sku_id(k)];
            actors = vec![who.0];
            (start, first_signal, end) = (t - Duration::seconds(120), t, t);
        }
        Scenario::PrivilegeEscalation => {
            let who = pick_role(site, rng, "picker");
            let account = who.2.clone();
            let t = local(&tz, date, hour(2), rng.range(0, 40) as u32, 0);
            let failures = i64::from(prm.failures.unwrap_or(3));
            for i in 0..failures {
                events.push(f.emit_ref(3, site, t + Duration::seconds(i * 20), "identity.login", &format!(
                    r#""system":"wms","account":"{account}","result":"failure","mfa":false,"source_ip":"192.0.2.{}""#, 10 + i % 200)));
            }
            // The success comes 20 s after the last failure; privilege use and the adjustment follow.
            let ok = t + Duration::seconds(failures * 20 + 20);
            events.push(f.emit_ref(
                3,
                site,
                ok,
                "identity.login",
                &format!(
                    r#""system":"wms","account":"{account}","result":"success","mfa":false,"source_ip":"192.0.2.13""#
                ),
            ));
            events.push(f.emit_ref(
                3,
                site,
                ok + Duration::seconds(120),
                "identity.privilege_use",
                &format!(r#""system":"wms","account":"{account}","privilege":"admin""#),
            ));
            let (loc, k) = stocked(site, rng, true)?;
            let q = site.stock[loc][k].min(prm.units.unwrap_or(3));
            site.stock[loc][k] -= q;
            events.push(f.emit_ref(
                2,
                site,
                ok + Duration::seconds(320),
                "inventory.adjusted",
                &format!(
                    r#""sku":"{}","location":"{}","delta":-{q},"reason":"write-off","account":"{account}""#,
                    sku_id(k),
                    site.locations[loc]
                ),
            ));
            entities = vec![account, sku_id(k)];
            actors = vec![who.0];
            (start, first_signal, end) = (t, t, ok + Duration::seconds(320));
        }
        Scenario::ScheduledOvertime => {
            let who = pick_role(site, rng, "supervisor");
            let t = local(&tz, date, hour(22), rng.range(0, 30) as u32, 0);
            let shift = Duration::minutes(i64::from(prm.minutes.unwrap_or(120)));
            events.push(f.badge(site, t, "MAIN", &who.1, Some(&who.0), "in"));
            events.push(f.badge(site, t + shift, "MAIN", &who.1, Some(&who.0), "out"));
            entities = vec![who.1.clone()];
            actors = vec![who.0];
            (start, first_signal, end) = (t, t, t + shift);
        }
        Scenario::EmergencyDoorOpening => {
            let t = local(&tz, date, hour(14), rng.range(10, 40) as u32, 0);
            for door in ["MAIN", "DOCK1", "DOCK2"] {
                events.push(f.emit_ref(
                    0,
                    site,
                    t + Duration::seconds(5),
                    "access.door_forced",
                    &format!(r#""door":"{sid}-D-{door}""#),
                ));
            }
            events.push(f.emit_ref(
                1,
                site,
                t + Duration::seconds(60),
                "video.people_count",
                &format!(
                    r#""camera":"{sid}-CAM-MAIN","door":"{sid}-D-MAIN","people":{},"direction":"out""#,
                    prm.people.map_or_else(|| rng.range(15, 30), i64::from)
                ),
            ));
            entities = vec![format!("{sid}-D-MAIN"), format!("{sid}-D-DOCK1"), format!("{sid}-D-DOCK2")];
            actors = vec![];
            (start, first_signal, end) = (t, t + Duration::seconds(5), t + Duration::seconds(60));
        }
    }
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
