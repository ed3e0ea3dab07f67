//! The CSV encoders: each site's access-control export with its column
//! mapping, and the shared exports of the other source systems.

use super::*;

/// The access-control CSV export's header.
pub(super) const CSV_HEADER: &str = "event_no,time,site,door,badge,result,direction,reason,cardholder\n";

/// How a column of a shared export is filled from an event's JSON: a field
/// by name, or `@utc` (the time in UTC), `@unix_ms` (the time in epoch
/// milliseconds), `@kind` (the kind after its family), `@upper:FIELD`.
pub(super) type Column = (&'static str, &'static str);

/// A CSV export of one source system, one file for all sites, as
/// customers' systems write them: each its own time format and columns.
pub(super) struct ExportSpec {
    pub(super) name: &'static str,
    /// The source system (index into [`SOURCES`]).
    pub(super) source: u8,
    pub(super) kinds: &'static [&'static str],
    pub(super) columns: &'static [Column],
    pub(super) mapping: &'static str,
}

pub(super) const EXPORTS: [ExportSpec; 6] = [
    ExportSpec {
        name: "iam-logins",
        source: 3,
        kinds: &["identity.login"],
        columns: &[
            ("timestamp", "@utc"),
            ("app", "system"),
            ("user", "account"),
            ("employee_id", "person"),
            ("ip", "source_ip"),
            ("mfa", "mfa"),
            ("outcome", "@upper:result"),
            ("request_id", "id"),
            ("site", "site"),
            ("source", "source"),
        ],
        mapping: "# Login export of the identity provider: UTC timestamps, all sites.
kind: { constant: identity.login }
occurred_at: { column: timestamp }
id: { column: request_id }
fields:
  source: { column: source }
  site: { column: site }
  system: { column: app }
  account: { column: user }
  person: { column: employee_id }
  source_ip: { column: ip }
  mfa: { column: mfa }
  result: { column: outcome, map: { SUCCESS: success, FAILURE: failure } }
",
    },
    ExportSpec {
        name: "iam-api-keys",
        source: 3,
        kinds: &["identity.api_key_used"],
        columns: &[
            ("time", "occurred_at"),
            ("site", "site"),
            ("system", "system"),
            ("key_id", "api_key"),
            ("operation", "operation"),
            ("ip", "source_ip"),
            ("vendor", "vendor"),
            ("event_id", "id"),
            ("source", "source"),
        ],
        mapping: "# API-key use at the API gateway: time with offset, system, key, operation, source IP, vendor.
kind: { constant: identity.api_key_used }
occurred_at: { column: time }
id: { column: event_id }
fields:
  source: { column: source }
  site: { column: site }
  system: { column: system }
  api_key: { column: key_id }
  operation: { column: operation }
  source_ip: { column: ip }
  vendor: { column: vendor }
",
    },
    ExportSpec {
        name: "door-sensors",
        source: 0,
        kinds: &["access.door_forced", "access.door_held_open", "access.door_unlocked_manually"],
        columns: &[
            ("time", "occurred_at"),
            ("site", "site"),
            ("door", "door"),
            ("state", "@kind"),
            ("seconds_open", "duration_s"),
            ("event_id", "id"),
            ("source", "source"),
        ],
        mapping: "# Door sensors: time with offset, door, state, seconds open. The state picks the kind.
kind:
  column: state
  map:
    door_forced: access.door_forced
    door_held_open: access.door_held_open
    door_unlocked_manually: access.door_unlocked_manually
occurred_at: { column: time }
id: { column: event_id }
fields:
  source: { column: source }
  site: { column: site }
  door: { column: door }
  duration_s: { column: seconds_open }
",
    },
    ExportSpec {
        name: "vms-line-crossings",
        source: 1,
        kinds: &["video.people_count"],
        columns: &[
            ("ts_ms", "@unix_ms"),
            ("camera", "camera"),
            ("door", "door"),
            ("people", "people"),
            ("direction", "direction"),
            ("site", "site"),
            ("event_id", "id"),
            ("source", "source"),
        ],
        mapping: "# Camera line crossings of the video platform: epoch milliseconds, all sites.
kind: { constant: video.people_count }
occurred_at: { column: ts_ms, format: unix_ms }
id: { column: event_id }
fields:
  source: { column: source }
  site: { column: site }
  camera: { column: camera }
  door: { column: door }
  people: { column: people }
  direction: { column: direction }
",
    },
    ExportSpec {
        name: "wms-adjustments",
        source: 2,
        kinds: &["inventory.adjusted"],
        columns: &[
            ("time", "occurred_at"),
            ("site", "site"),
            ("location", "location"),
            ("sku", "sku"),
            ("delta", "delta"),
            ("reason", "reason"),
            ("employee", "person"),
            ("user", "account"),
            ("approver", "approver"),
            ("txn", "id"),
            ("source", "source"),
        ],
        mapping: "# WMS stock adjustments: time with offset, site, location, SKU, delta, reason, employee or system user, approver.
kind: { constant: inventory.adjusted }
occurred_at: { column: time }
id: { column: txn }
fields:
  source: { column: source }
  site: { column: site }
  location: { column: location }
  sku: { column: sku }
  delta: { column: delta }
  reason: { column: reason }
  person: { column: employee }
  account: { column: user }
  approver: { column: approver }
",
    },
    ExportSpec {
        name: "hr-changes",
        source: 4,
        kinds: &["hr.hired", "hr.role_changed", "hr.terminated", "hr.leave_started", "hr.leave_ended"],
        columns: &[
            ("effective", "occurred_at"),
            ("site", "site"),
            ("employee", "person"),
            ("change", "@kind"),
            ("role", "role"),
            ("reason", "reason"),
            ("event_id", "id"),
            ("source", "source"),
        ],
        mapping: "# HR changes: effective time with offset, employee, change, new role, reason. The change picks the kind.
kind:
  column: change
  map:
    hired: hr.hired
    role_changed: hr.role_changed
    terminated: hr.terminated
    leave_started: hr.leave_started
    leave_ended: hr.leave_ended
occurred_at: { column: effective }
id: { column: event_id }
fields:
  source: { column: source }
  site: { column: site }
  person: { column: employee }
  role: { column: role }
  reason: { column: reason }
",
    },
];

/// The CSV exports being written: each site's access-control export, and
/// the shared ones of [`EXPORTS`].
pub(super) struct Exports {
    pub(super) acs: Vec<String>,
    pub(super) shared: Vec<csv::Writer<Vec<u8>>>,
}

impl Exports {
    pub(super) fn new(sites: usize) -> Exports {
        let shared = EXPORTS
            .iter()
            .map(|x| {
                let mut w = csv::Writer::from_writer(Vec::new());
                let _ = w.write_record(x.columns.iter().map(|c| c.0));
                w
            })
            .collect();
        Exports { acs: vec![CSV_HEADER.to_owned(); sites], shared }
    }

    /// Takes an event into its export; false if no export carries it.
    pub(super) fn take(&mut self, line: &[u8], source: u8) -> bool {
        if source == 0
            && let Some((site, row)) = acs_row(line)
        {
            self.acs[site].push_str(&row);
            return true;
        }
        let kind = kind_of(line);
        let Some(i) = EXPORTS.iter().position(|x| x.source == source && kind.is_some_and(|k| x.kinds.contains(&k)))
        else {
            return false;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else { return false };
        let Some(record) = EXPORTS[i].columns.iter().map(|c| cell(&v, c.1)).collect::<Option<Vec<String>>>() else {
            return false;
        };
        let _ = self.shared[i].write_record(&record);
        true
    }
}

/// The kind of an NDJSON event line, without parsing all of it.
pub(super) fn kind_of(line: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(line).ok()?;
    let at = text.find(r#""kind":""#)? + 8;
    text[at..].split('"').next()
}

/// One cell of a shared export; None if the event cannot be written there.
pub(super) fn cell(v: &serde_json::Value, fill: &str) -> Option<String> {
    let time = || chrono::DateTime::parse_from_rfc3339(v["occurred_at"].as_str()?).ok();
    Some(match fill {
        "@utc" => time()?.with_timezone(&Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "@unix_ms" => time()?.timestamp_millis().to_string(),
        "@kind" => v["kind"].as_str()?.split_once('.')?.1.to_owned(),
        _ => match fill.strip_prefix("@upper:") {
            Some(field) => v[field].as_str()?.to_ascii_uppercase(),
            None => match &v[fill] {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            },
        },
    })
}

/// A badge read as a row of its site's access-control export, with the site's number.
pub(super) fn acs_row(line: &[u8]) -> Option<(usize, String)> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    let result = match v["kind"].as_str()? {
        "access.granted" => "granted",
        "access.denied" => "denied",
        _ => return None,
    };
    let site = v["site"].as_str()?;
    let index = site.strip_prefix('S')?.parse::<usize>().ok()?.checked_sub(1)?;
    // The export writes the site's local time without an offset; the mapping names the zone.
    let time = v["occurred_at"].as_str()?.get(..19)?.replace('T', " ");
    let row = format!(
        "{},{time},{site},{},{},{result},{},{},{}\n",
        v["id"].as_str()?,
        v["door"].as_str()?,
        v["badge"].as_str()?,
        v["direction"].as_str().unwrap_or("").to_ascii_uppercase(),
        v["reason"].as_str().unwrap_or(""),
        v["person"].as_str().unwrap_or("")
    );
    Some((index, row))
}

/// The column mapping of a site's access-control export.
pub(super) fn csv_mapping(site: &Site) -> String {
    format!(
        "# Access-control export of site {id}: local times in {tz}.\n\
         kind: {{ column: result, map: {{ granted: access.granted, denied: access.denied }} }}\n\
         occurred_at: {{ column: time, format: \"%Y-%m-%d %H:%M:%S\", timezone: {tz} }}\n\
         id: {{ column: event_no }}\n\
         fields:\n  source: {{ constant: {source} }}\n  site: {{ column: site }}\n  door: {{ column: door }}\n  \
         badge: {{ column: badge }}\n  direction: {{ column: direction, map: {{ IN: in, OUT: out }} }}\n  reason: {{ column: reason }}\n  \
         person: {{ column: cardholder }}\n",
        id = site.id,
        tz = site.tz.name(),
        source = site.sources[0]
    )
}
