//! Reference data files: one YAML document with a section per kind, or one
//! CSV file per kind (named after it: `doors.csv`). In CSV, list cells
//! (`zones`, `doors`, `weekdays`) separate items with `;`, and an empty cell
//! is an absent field. Schema: `docs/reference.schema.json`.

use serde_json::{Map, Value};
use stockade_model::{RecordKind, ReferenceData};

#[derive(Debug, thiserror::Error)]
pub enum ReferenceFileError {
    #[error("{0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("{at}: {source}")]
    Field {
        /// Section and record (`vendors[2]`), or `reference data` when the
        /// fault is not in one record.
        at: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("line {line}: {reason}")]
    Row { line: usize, reason: String },
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error(
        "cannot tell the record kind of {0:?}: name CSV files after a kind (sites.csv, zones.csv, doors.csv, readers.csv, cameras.csv, people.csv, badges.csv, vendors.csv, skus.csv, locations.csv, shifts.csv)"
    )]
    UnknownKind(String),
}

/// Parses a YAML reference file.
///
/// YAML's plain scalars are read as the types they spell (`null`, `~`,
/// `true`, `1e3` are not strings), so a field that wants text refuses them
/// as the same request in JSON would; quote them to mean the text.
pub fn from_yaml(text: &str) -> Result<ReferenceData, ReferenceFileError> {
    let value: Value = serde_yaml_ng::from_str(text)?;
    match serde_json::from_value::<ReferenceData>(value.clone()) {
        Ok(data) => Ok(data),
        Err(source) => Err(ReferenceFileError::Field { at: locate(&value), source }),
    }
}

/// The first record that does not read as its kind, as `section[index]`.
fn locate(value: &Value) -> String {
    let Some(sections) = value.as_object() else { return "reference data".into() };
    for (name, items) in sections {
        let Some(items) = items.as_array() else { return name.clone() };
        for (i, item) in items.iter().enumerate() {
            let one = Value::Object(Map::from_iter([(name.clone(), Value::Array(vec![item.clone()]))]));
            if serde_json::from_value::<ReferenceData>(one).is_err() {
                return format!("{name}[{i}]");
            }
        }
    }
    "reference data".into()
}

/// The record kind a CSV file holds, from its file name.
pub fn kind_of_file(name: &str) -> Result<RecordKind, ReferenceFileError> {
    let stem = std::path::Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    RecordKind::parse(stem).ok_or_else(|| ReferenceFileError::UnknownKind(name.to_owned()))
}

pub(crate) fn is_list(kind: RecordKind, col: &str) -> bool {
    matches!(
        (kind, col),
        (RecordKind::Camera, "doors" | "zones")
            | (RecordKind::Badge, "zones")
            | (RecordKind::Shift, "weekdays")
            | (RecordKind::Person, "accounts" | "shifts")
            | (RecordKind::Door, "schedule")
            | (RecordKind::Site, "networks")
    )
}

pub(crate) fn scalar(col: &str, v: &str) -> Value {
    match col {
        "unit_value" | "weekdays" => v.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or_else(
            || Value::String(v.to_owned()),
            |n| {
                // Whole numbers stay integers so that integer fields accept them.
                if v.parse::<i64>().is_ok() {
                    Value::Number(v.parse::<i64>().unwrap_or_default().into())
                } else {
                    Value::Number(n)
                }
            },
        ),
        // Booleans as exports write them; anything else stays text, which
        // the record refuses, naming the field (never a silent `false`).
        "dock" => match v.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Value::Bool(true),
            "false" | "no" | "n" | "0" => Value::Bool(false),
            _ => Value::String(v.to_owned()),
        },
        _ => Value::String(v.to_owned()),
    }
}

/// Parses a CSV reference file of one kind.
pub fn from_csv<R: std::io::Read>(kind: RecordKind, input: R) -> Result<ReferenceData, ReferenceFileError> {
    let mut rdr = csv::Reader::from_reader(input);
    let headers: Vec<String> = rdr.headers()?.iter().map(|h| h.trim().to_owned()).collect();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let mut obj = Map::new();
        for (h, v) in headers.iter().zip(rec.iter()) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let value = if is_list(kind, h) {
                Value::Array(v.split(';').map(str::trim).filter(|s| !s.is_empty()).map(|s| scalar(h, s)).collect())
            } else {
                scalar(h, v)
            };
            obj.insert(h.clone(), value);
        }
        let mut section = Map::new();
        section.insert(kind.plural().into(), Value::Array(vec![Value::Object(obj)]));
        let one: ReferenceData = serde_json::from_value(Value::Object(section))
            .map_err(|e| ReferenceFileError::Row { line, reason: e.to_string() })?;
        rows.push(one);
    }
    let mut all = ReferenceData::default();
    for r in rows {
        all.extend(r);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lists_numbers_and_errors() {
        let d = from_csv(RecordKind::Camera, "id,site,doors,zones\nCAM1,LYS,D1;D2,\n".as_bytes()).unwrap();
        assert_eq!(d.cameras[0].doors.len(), 2);
        assert!(d.cameras[0].zones.is_empty());
        let d = from_csv(RecordKind::Sku, "id,description,unit_value,value_tier\nK1,Phone,799.5,high\n".as_bytes())
            .unwrap();
        assert_eq!(d.skus[0].unit_value, 799.5);
        let e = from_csv(RecordKind::Sku, "id,description,unit_value,value_tier\nK1,Phone,799,priceless\n".as_bytes())
            .unwrap_err();
        assert!(e.to_string().starts_with("line 2:"), "{e}");
        assert!(e.to_string().contains("priceless"), "{e}");
    }

    #[test]
    fn kinds_from_file_names() {
        assert_eq!(kind_of_file("ref/people.csv").unwrap(), RecordKind::Person);
        assert!(kind_of_file("stuff.csv").is_err());
    }

    #[test]
    fn yaml_rejects_unknown_sections_and_zones() {
        assert!(from_yaml("sites:\n- {id: A, name: A, timezone: Europe/Paris}\n").is_ok());
        assert!(from_yaml("planets: []\n").is_err());
        let e = from_yaml("sites:\n- {id: A, name: A, timezone: Europe/Lyon}\n").unwrap_err();
        assert!(e.to_string().contains("unknown IANA time zone"), "{e}");
    }

    /// A site's own networks are CIDR blocks; anything else is refused.
    #[test]
    fn site_networks_are_cidr_blocks() {
        let d =
            from_yaml("sites:\n- {id: A, name: A, timezone: Europe/Paris, networks: [10.1.0.0/19, \"fd00::/48\"]}\n")
                .unwrap();
        assert_eq!(d.sites[0].networks.len(), 2);
        for bad in ["10.1.0.0/33", "10.1.0.0", "site-a-lan"] {
            let e =
                from_yaml(&format!("sites:\n- {{id: A, name: A, timezone: Europe/Paris, networks: [\"{bad}\"]}}\n"))
                    .unwrap_err();
            assert!(e.to_string().contains(&format!("network \"{bad}\" is not a CIDR block")), "{bad}: {e}");
        }
        let csv = "id,name,timezone,networks\nA,A,Europe/Paris,10.1.0.0/19; 10.9.0.0/16\n";
        assert_eq!(from_csv(RecordKind::Site, csv.as_bytes()).unwrap().sites[0].networks.len(), 2);
        let e = from_csv(RecordKind::Site, "id,name,timezone,networks\nA,A,Europe/Paris,10.1.0.0/40\n".as_bytes())
            .unwrap_err();
        assert!(e.to_string().starts_with("line 2:"), "{e}");
    }

    /// Reference data as exports come: people and SKUs without names, a
    /// GTIN given as the SGTIN or LGTIN a WMS reads (kept as the GTIN-14),
    /// a GTIN that is none refused.
    #[test]
    fn names_are_optional_and_gtins_come_from_epcs() {
        let empty = stockade_model::ReferenceIndex::new(&ReferenceData::default());
        let yaml = |gtin: &str| {
            format!(
                "people:\n- {{id: P1, role: picker, status: active}}\nskus:\n- {{id: K1, unit_value: 5, value_tier: low, gtin: \"{gtin}\"}}\n"
            )
        };
        for given in [
            "urn:epc:id:sgtin:0614141.107346.2017",
            "urn:epc:class:lgtin:0614141.107346.LOT1",
            "https://id.gs1.org/01/10614141073464/21/2017",
            "10614141073464",
        ] {
            let mut d = from_yaml(&yaml(given)).unwrap();
            d.normalize();
            assert!(d.check(&empty).is_empty(), "{given}: {:?}", d.check(&empty));
            assert_eq!(d.skus[0].gtin.as_deref(), Some("10614141073464"), "{given}");
            assert_eq!((d.people[0].name.as_str(), d.skus[0].description.as_str()), ("", ""));
        }
        assert_eq!(
            from_yaml(&yaml("614141073467"))
                .map(|mut d| {
                    d.normalize();
                    d.skus[0].gtin.clone()
                })
                .unwrap()
                .as_deref(),
            Some("00614141073467"),
            "GTIN-12 padded"
        );
        for bad in ["10614141073465", "urn:epc:id:sgln:0614141.00001.0", "abc"] {
            let mut d = from_yaml(&yaml(bad)).unwrap();
            d.normalize();
            assert!(d.check(&empty).iter().any(|p| p.contains("is neither a GTIN")), "{bad}");
        }
    }

    /// A site's GLN must be one: 13 digits ending in their check digit.
    #[test]
    fn a_sites_gln_is_checked() {
        let site = |gln: &str| format!("sites:\n- {{id: A, name: A, timezone: Europe/Paris, gln: \"{gln}\"}}\n");
        let empty = stockade_model::ReferenceIndex::new(&ReferenceData::default());
        assert!(from_yaml(&site("0012345111112")).unwrap().check(&empty).is_empty());
        for bad in ["0012345111113", "001234511111", "00123451111AB"] {
            let problems = from_yaml(&site(bad)).unwrap().check(&empty);
            assert!(problems.iter().any(|p| p.contains("is not a GLN")), "{bad}: {problems:?}");
        }
    }

    /// People's shifts and doors' schedules name shifts that exist (in the
    /// same set or already stored); a CSV cell lists them split on `;`.
    #[test]
    fn shifts_of_people_and_schedules_of_doors_are_checked() {
        let data = |shift: &str| {
            format!(
                "sites:\n- {{id: A, name: A, timezone: Europe/Paris}}\nzones:\n- {{id: Z, site: A, name: Z, tier: dock}}\n\
                 shifts:\n- {{id: DAY, site: A, name: Day, start: \"06:00\", end: \"14:00\", weekdays: [1]}}\n\
                 people:\n- {{id: P1, role: picker, status: active, shifts: [{shift}]}}\n\
                 doors:\n- {{id: D1, site: A, name: Dock, to_zone: Z, dock: true, schedule: [{shift}]}}\n"
            )
        };
        let empty = stockade_model::ReferenceIndex::new(&ReferenceData::default());
        assert!(from_yaml(&data("DAY")).unwrap().check(&empty).is_empty());
        let problems = from_yaml(&data("NIGHT")).unwrap().check(&empty);
        assert!(problems.contains(&"person P1 refers to unknown shift \"NIGHT\"".to_string()), "{problems:?}");
        assert!(problems.contains(&"door D1 refers to unknown shift \"NIGHT\"".to_string()), "{problems:?}");
        let csv = "id,role,status,shifts\nP2,picker,active,DAY; LATE\n";
        let people = from_csv(RecordKind::Person, csv.as_bytes()).unwrap().people;
        assert_eq!(people[0].shifts.iter().map(|s| s.as_str()).collect::<Vec<_>>(), ["DAY", "LATE"]);
    }

    /// A site's continuity plan names SKUs that exist and says where orders
    /// go meanwhile; unknown fields in it are refused.
    #[test]
    fn continuity_plans_name_known_skus() {
        let data = |plan: &str| {
            format!(
                "sites:\n- {{id: A, name: A, timezone: Europe/Paris, continuity: {plan}}}\n\
                 skus:\n- {{id: S1, unit_value: 5, value_tier: high}}\n"
            )
        };
        let empty = stockade_model::ReferenceIndex::new(&ReferenceData::default());
        let ok = from_yaml(&data("{backup_fulfilment: \"site B\", recovery: [S1]}")).unwrap();
        assert!(ok.check(&empty).is_empty());
        assert_eq!(ok.sites[0].continuity.as_ref().unwrap().recovery[0].as_str(), "S1");
        let problems = from_yaml(&data("{backup_fulfilment: \" \", recovery: [S9]}")).unwrap().check(&empty);
        assert!(problems.contains(&"site A: continuity needs a `backup_fulfilment`".to_string()), "{problems:?}");
        assert!(problems.contains(&"site A continuity refers to unknown sku \"S9\"".to_string()), "{problems:?}");
        let e = from_yaml(&data("{backup_fulfilment: x, plan_b: y}")).unwrap_err();
        assert!(e.to_string().contains("unknown field `plan_b`"), "{e}");
    }

    /// Plain YAML scalars that are not text are refused where text is
    /// wanted, as in JSON, naming the record; quoted, they are text.
    #[test]
    fn yaml_does_not_turn_nulls_booleans_and_numbers_into_ids() {
        let vendor = |id: &str| {
            format!(
                "sites:\n- {{id: A, name: A, timezone: Europe/Paris}}\nvendors:\n- {{id: V1, name: One}}\n- {{id: {id}, name: Two}}\n"
            )
        };
        for id in ["null", "~", "true", "1e3", "12", ""] {
            let e = from_yaml(&vendor(id)).unwrap_err();
            assert!(e.to_string().starts_with("vendors[1]: invalid type"), "{id:?}: {e}");
        }
        for id in ["\"null\"", "'~'", "\"true\"", "'1e3'"] {
            let d = from_yaml(&vendor(id)).unwrap();
            assert_eq!(d.vendors[1].id.as_str(), id.trim_matches(['"', '\'']), "{id}");
        }
    }
}
