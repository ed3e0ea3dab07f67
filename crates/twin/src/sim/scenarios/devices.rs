//! Scenarios on devices: a camera or reader reconfigured at night outside
//! its maintainer's window, and its benign look-alike inside the window.

use super::*;

/// `device_reconfigured`: at 23:00 the cage camera's recording is turned
/// off with the IT administrator's account, and the camera drops off the
/// network. Benign (`maintainer_reconfig`): the security integrator's
/// technician pushes new settings to the cameras on the next Sunday night,
/// inside the integrator's window.
pub(super) fn reconfigured(c: Ctx<'_, '_>, benign: bool) -> Option<Shape> {
    let Ctx { site, rng, f, prm, date, tz, sid, events, .. } = c;
    if benign {
        let sunday = date + Duration::days(i64::from((7 - date.weekday().number_from_monday()) % 7));
        let t = local(&tz, sunday, prm.hour.unwrap_or(1).clamp(1, 3), rng.range(10, 40) as u32, 0);
        let who = format!("{sid}-V02");
        let mut at = t;
        let assets = ["CAM-MAIN", "CAM-CAGE", "CAM-DOCK"].map(|a| format!("{sid}-{a}"));
        for a in &assets {
            let body = config_changed(a, Some("firmware 4.3.0, settings restored"), Some(&who), Some("vendor-secsys"));
            events.push(f.emit_ref(5, site, at, body));
            at += Duration::seconds(rng.range(300, 600));
        }
        return Some(Shape { actors: vec![who], entities: assets.to_vec(), start: t, first_signal: t, end: at });
    }
    let admin = pick_role(site, rng, "it_admin");
    let t = local(&tz, date, prm.hour.unwrap_or(23), rng.range(0, 40) as u32, 0);
    let camera = format!("{sid}-CAM-CAGE");
    let body = config_changed(&camera, Some("recording schedule: off"), Some(&admin.0), Some(&admin.2));
    events.push(f.emit_ref(5, site, t, body));
    events.push(f.emit_ref(5, site, t + Duration::seconds(240), asset_offline(&camera)));
    Some(Shape {
        actors: vec![admin.0],
        entities: vec![camera, admin.2],
        start: t,
        first_signal: t,
        end: t + Duration::seconds(240),
    })
}
