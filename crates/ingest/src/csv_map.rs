//! CSV exports to events, driven by a column-mapping file (YAML), so that an
//! export from an access-control, video, IAM, HR or WMS product loads without
//! code. The format is documented with examples in `docs/CSV-MAPPING.md`.
//!
//! ```yaml
//! delimiter: ","
//! kind: { column: result, map: { granted: access.granted, denied: access.denied } }
//! id: { template: "{time}|{door}|{badge}" }          # optional; default: hash of the row
//! occurred_at: { column: time, format: "%Y-%m-%d %H:%M:%S", timezone: Europe/Paris }
//! fields:
//!   source: { constant: lenel-lyon }
//!   site: { column: site }
//!   door: { column: door }
//!   badge: { column: badge }
//!   direction: { column: direction, map: { IN: in, OUT: out } }
//! ```

use crate::LineError;
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use stockade_model::Event;

/// A problem with the mapping file or the CSV as a whole (not one row).
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("mapping file is not valid: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("mapping: {0}")]
    Invalid(String),
    #[error("CSV header: {0}")]
    Header(String),
    #[error("CSV is missing column(s) the mapping uses: {}", .0.join(", "))]
    MissingColumns(Vec<String>),
    #[error("{} row(s) cannot be reference records; nothing was imported:\n  {}", .0.len(),
        .0.iter().take(50).map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Rows(Vec<LineError>),
}

/// Where a value comes from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Take the value of this column.
    #[serde(default)]
    pub column: Option<String>,
    /// Use this value for every row.
    #[serde(default)]
    pub constant: Option<String>,
    /// Build the value from columns: `"{site}-{door}"`.
    #[serde(default)]
    pub template: Option<String>,
    /// Translate values (after trimming and `case`); a value not in the map
    /// is an error, unless `otherwise` is given.
    #[serde(default)]
    pub map: Option<BTreeMap<String, String>>,
    /// The value for a cell that is not in `map`.
    #[serde(default)]
    pub otherwise: Option<String>,
    /// Change the value's case before `map`: `upper` or `lower`.
    #[serde(default)]
    pub case: Option<Case>,
    /// Put before the value, after `map` (`LYS-` turns `MAIN` into `LYS-MAIN`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Put after the value, after `map`.
    #[serde(default)]
    pub suffix: Option<String>,
    /// Used when the cell is empty.
    #[serde(default)]
    pub default: Option<String>,
    /// JSON type of the field: string, number, integer or boolean. Known
    /// numeric and boolean fields (quantity, delta, people, mfa...) need no hint.
    #[serde(default, rename = "type")]
    pub value_type: Option<ValueType>,
    /// Find the value in the reference data: the id of the record whose
    /// field `by` holds it (after `case`, `map`, `prefix` and `suffix`).
    #[serde(default)]
    pub lookup: Option<Lookup>,
}

/// A lookup against reference data: `door: { column: door_no, lookup:
/// { records: doors, by: name, within_site: true } }` turns a door numbered
/// per site into the door's id.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// The kind of record: `doors`, `people`, `badges`, `locations`...
    pub records: String,
    /// The record's field compared with the value: a text field (`name`,
    /// `sgln`...) or a list (`accounts`); `id` works too.
    pub by: String,
    /// Only the records of the row's site (the value of `fields.site`).
    #[serde(default)]
    pub within_site: bool,
    /// (site, or "" without `within_site`; value) to the ids of the records
    /// that match, built by [`CsvMapping::bind`].
    #[serde(skip)]
    table: Option<std::sync::Arc<LookupTable>>,
}

/// The kinds of record the fields' lookups search.
fn lookup_kinds(fields: &BTreeMap<String, FieldSpec>) -> Vec<String> {
    let mut kinds: Vec<String> = fields.values().filter_map(|f| f.lookup.as_ref()).map(|l| l.records.clone()).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

fn bind_lookups(fields: &mut BTreeMap<String, FieldSpec>, rows: &[stockade_model::RecordRow]) {
    for l in fields.values_mut().filter_map(|f| f.lookup.as_mut()) {
        l.bind(rows);
    }
}

/// (site scope, value) to the ids of the records holding it.
type LookupTable = std::collections::HashMap<(String, String), Vec<String>>;

impl Lookup {
    fn check(&self, name: &str, has_site: bool) -> Result<stockade_model::RecordKind, MappingError> {
        let kind = stockade_model::RecordKind::parse(&self.records).ok_or_else(|| {
            let kinds: Vec<&str> = stockade_model::RecordKind::ALL.iter().map(|k| k.plural()).collect();
            MappingError::Invalid(format!(
                "`{name}`: lookup `records: {}` is not a kind; use one of {}",
                self.records,
                kinds.join(", ")
            ))
        })?;
        if !reference_fields().contains(&self.by) {
            return Err(MappingError::Invalid(format!(
                "`{name}`: lookup `by: {}` is not a field of any reference record (see docs/reference.schema.json)",
                self.by
            )));
        }
        if self.within_site && !has_site {
            return Err(MappingError::Invalid(format!(
                "`{name}`: lookup `within_site: true` needs `site` under `fields`"
            )));
        }
        Ok(kind)
    }

    /// Indexes the records of its kind by its field.
    fn bind(&mut self, rows: &[stockade_model::RecordRow]) {
        let mut table = LookupTable::new();
        let kind = stockade_model::RecordKind::parse(&self.records);
        for r in rows.iter().filter(|r| Some(r.kind) == kind) {
            let site = if self.within_site { r.site.clone().unwrap_or_default() } else { String::new() };
            let values: Vec<&str> = match r.json.get(&self.by) {
                Some(Value::String(v)) => vec![v.as_str()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            for v in values {
                let ids = table.entry((site.clone(), v.to_owned())).or_default();
                if !ids.contains(&r.id) {
                    ids.push(r.id.clone());
                }
            }
        }
        self.table = Some(std::sync::Arc::new(table));
    }

    /// The id of the one record that holds `value`.
    fn find(&self, name: &str, value: &str, site: Option<&str>) -> Result<String, (String, String)> {
        let fail = |m: String| (name.to_owned(), m);
        let table = self.table.as_ref().ok_or_else(|| fail("the lookup was not given the reference data".into()))?;
        let scope = if self.within_site { site.unwrap_or("") } else { "" };
        let at = if self.within_site { format!(" at site {scope}") } else { String::new() };
        match table.get(&(scope.to_owned(), value.to_owned())).map(Vec::as_slice) {
            Some([id]) => Ok(id.clone()),
            Some(ids) if !ids.is_empty() => Err(fail(format!(
                "{value:?} names {} {}{at} ({}): the lookup needs one",
                ids.len(),
                self.records,
                ids.join(", ")
            ))),
            _ => Err(fail(format!("no {} record has {} {value:?}{at} in the reference data", self.records, self.by))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    Upper,
    Lower,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    String,
    Number,
    Integer,
    Boolean,
}

/// The event time: a field spec plus how to read it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSpec {
    #[serde(flatten)]
    pub field: FieldSpec,
    /// `rfc3339` (default), `unix` (seconds), `unix_ms`, or a chrono strftime
    /// format such as `%d/%m/%Y %H:%M:%S`.
    #[serde(default)]
    pub format: Option<String>,
    /// IANA zone for local times without an offset (`Europe/Paris`); DST-aware.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(skip)]
    compiled: std::sync::OnceLock<CompiledTime>,
}

/// A [`TimeSpec`] worked out once: its strftime format parsed into items
/// and its zone looked up (each row used to do both again).
#[derive(Debug, Clone, Default)]
struct CompiledTime {
    /// None when the format is not a strftime one or does not parse (the
    /// rows then take chrono's own path, with its error).
    items: Option<Vec<chrono::format::Item<'static>>>,
    timezone: Option<Tz>,
}

impl CompiledTime {
    fn parsed(&self, raw: &str, fmt: &str) -> chrono::ParseResult<chrono::format::Parsed> {
        let mut parsed = chrono::format::Parsed::new();
        match &self.items {
            Some(items) => chrono::format::parse(&mut parsed, raw, items.iter())?,
            None => chrono::format::parse(&mut parsed, raw, chrono::format::StrftimeItems::new(fmt))?,
        }
        Ok(parsed)
    }

    /// As `DateTime::parse_from_str(raw, fmt)`.
    fn parse(&self, raw: &str, fmt: &str) -> chrono::ParseResult<DateTime<FixedOffset>> {
        self.parsed(raw, fmt)?.to_datetime()
    }

    /// As `NaiveDateTime::parse_from_str(raw, fmt)`.
    fn parse_naive(&self, raw: &str, fmt: &str) -> chrono::ParseResult<NaiveDateTime> {
        self.parsed(raw, fmt)?.to_naive_datetime_with_offset(0)
    }
}

impl TimeSpec {
    fn compiled(&self) -> &CompiledTime {
        self.compiled.get_or_init(|| CompiledTime {
            items: self
                .format
                .as_deref()
                .filter(|f| !matches!(*f, "rfc3339" | "unix" | "unix_ms"))
                .and_then(|f| chrono::format::StrftimeItems::new(f).parse_to_owned().ok()),
            timezone: self.timezone.as_deref().and_then(|t| t.parse().ok()),
        })
    }
}

/// A whole mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvMapping {
    #[serde(default = "comma")]
    pub delimiter: char,
    /// The event kind (`family.kind`), usually chosen by a column's value.
    pub kind: FieldSpec,
    /// The producer's event id; without it the id is a hash of the row, so
    /// re-loading the same export creates no duplicates.
    #[serde(default)]
    pub id: Option<FieldSpec>,
    pub occurred_at: TimeSpec,
    /// Every other event field (`source`, `site`, `door`, `quantity`...).
    pub fields: BTreeMap<String, FieldSpec>,
    /// Rows to leave out (heartbeats, test swipes): a row that meets any of
    /// these is skipped, counted, and stores nothing.
    #[serde(default)]
    pub skip: Vec<Condition>,
    /// Rows to take: when given, a row is taken only if it meets one of
    /// these (the others are skipped and counted).
    #[serde(default)]
    pub keep: Vec<Condition>,
}

/// A condition on one cell of a row (its value trimmed).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub column: String,
    /// The cell is one of these values.
    #[serde(default, rename = "in")]
    pub values: Vec<String>,
    /// The cell is empty.
    #[serde(default)]
    pub empty: bool,
}

/// Whether a row is left out: it meets a `skip` condition, or `keep` is
/// given and it meets none of them.
fn left_out(skip: &[Condition], keep: &[Condition], row: &Row<'_>) -> bool {
    skip.iter().any(|c| c.holds(row)) || (!keep.is_empty() && !keep.iter().any(|c| c.holds(row)))
}

impl Condition {
    fn holds(&self, row: &Row<'_>) -> bool {
        let cell = row.get(&self.column).trim();
        (self.empty && cell.is_empty()) || self.values.iter().any(|v| v == cell)
    }
}

fn comma() -> char {
    ','
}

fn default_type(field: &str) -> ValueType {
    match field {
        "quantity" | "delta" | "duration_s" => ValueType::Number,
        "people" => ValueType::Integer,
        "mfa" | "dock" => ValueType::Boolean,
        _ => ValueType::String,
    }
}

/// What a template may name besides columns: the row's line number in the
/// file and the file's name (so two identical rows are two events).
const ROW_VARIABLES: [&str; 2] = ["_row", "_file"];

/// Columns a template names (its row variables left out).
fn template_columns(t: &str) -> Vec<String> {
    let mut names = template_names(t);
    names.retain(|n| !ROW_VARIABLES.contains(&n.as_str()));
    names
}

/// Everything a template names between braces.
fn template_names(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(i) = rest.find('{') {
        rest = &rest[i + 1..];
        if let Some(j) = rest.find('}') {
            out.push(rest[..j].to_owned());
            rest = &rest[j + 1..];
        } else {
            break;
        }
    }
    out
}

impl FieldSpec {
    fn check(&self, name: &str) -> Result<(), MappingError> {
        let sources = [self.column.is_some(), self.constant.is_some(), self.template.is_some()];
        if sources.iter().filter(|s| **s).count() != 1 {
            return Err(MappingError::Invalid(format!("`{name}` needs exactly one of column, constant or template")));
        }
        Ok(())
    }

    fn columns(&self) -> Vec<String> {
        let mut v: Vec<String> = self.column.iter().cloned().collect();
        if let Some(t) = &self.template {
            v.extend(template_columns(t));
        }
        v
    }

    /// The value for one row, looked up in the reference data when the
    /// spec says so (`site`: the row's site, for `within_site`).
    fn resolved(&self, name: &str, row: &Row<'_>, site: Option<&str>) -> Result<Option<String>, (String, String)> {
        let value = self.value(name, row)?;
        match (&self.lookup, value) {
            (Some(l), Some(v)) => l.find(name, &v, site).map(Some),
            (_, v) => Ok(v),
        }
    }

    /// The value for one row, or None if empty with no default.
    fn value(&self, name: &str, row: &Row<'_>) -> Result<Option<String>, (String, String)> {
        // Borrowed from the row or the mapping until the one copy returned.
        let raw: Cow<'_, str> = if let Some(c) = &self.constant {
            Cow::Borrowed(c)
        } else if let Some(col) = &self.column {
            Cow::Borrowed(row.get(col).trim())
        } else if let Some(t) = &self.template {
            let mut s = t.clone();
            for col in template_columns(t) {
                s = s.replace(&format!("{{{col}}}"), row.get(&col).trim());
            }
            Cow::Owned(s.replace("{_row}", &row.line.to_string()).replace("{_file}", row.file))
        } else {
            Cow::Borrowed("")
        };
        let raw = if raw.is_empty() {
            match &self.default {
                Some(d) => Cow::Borrowed(d.as_str()),
                None => return Ok(None),
            }
        } else {
            raw
        };
        let raw = match self.case {
            Some(Case::Upper) => Cow::Owned(raw.to_uppercase()),
            Some(Case::Lower) => Cow::Owned(raw.to_lowercase()),
            None => raw,
        };
        let value = match &self.map {
            Some(m) => match (m.get(raw.as_ref()), &self.otherwise) {
                (Some(v), _) => Cow::Borrowed(v.as_str()),
                (None, Some(otherwise)) => Cow::Borrowed(otherwise.as_str()),
                (None, None) => {
                    return Err((
                        name.to_owned(),
                        format!(
                            "value {raw:?} is not in the mapping's map (known: {}; `otherwise:` gives a value for the rest)",
                            m.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            },
            None => raw,
        };
        Ok(Some(match (&self.prefix, &self.suffix) {
            (None, None) => value.into_owned(),
            (prefix, suffix) => {
                format!("{}{value}{}", prefix.as_deref().unwrap_or(""), suffix.as_deref().unwrap_or(""))
            }
        }))
    }
}

struct Row<'a> {
    headers: &'a BTreeMap<String, usize>,
    record: &'a csv::StringRecord,
    /// The row's line number in the file (`{_row}`).
    line: usize,
    /// The file's name (`{_file}`).
    file: &'a str,
}

impl Row<'_> {
    fn get(&self, col: &str) -> &str {
        self.headers.get(col).and_then(|&i| self.record.get(i)).unwrap_or("")
    }
}

impl CsvMapping {
    pub fn from_yaml(text: &str) -> Result<CsvMapping, MappingError> {
        let m: CsvMapping = serde_yaml_ng::from_str(text)?;
        m.kind.check("kind")?;
        if let Some(id) = &m.id {
            id.check("id")?;
        }
        m.occurred_at.field.check("occurred_at")?;
        for (name, f) in &m.fields {
            f.check(name)?;
            if let Some(l) = &f.lookup {
                l.check(name, m.fields.contains_key("site"))?;
            }
            if matches!(name.as_str(), "kind" | "id" | "occurred_at") {
                return Err(MappingError::Invalid(format!("`{name}` belongs at the top level, not under fields")));
            }
        }
        for (what, conditions) in [("skip", &m.skip), ("keep", &m.keep)] {
            for c in conditions {
                if c.values.is_empty() && !c.empty {
                    return Err(MappingError::Invalid(format!(
                        "a `{what}` condition on column {:?} needs `in: [values]` or `empty: true`",
                        c.column
                    )));
                }
            }
        }
        let known = event_fields();
        for name in m.fields.keys() {
            if !known.contains(name.as_str()) {
                let near = known.iter().filter(|k| edit_distance(k, name) <= 2).cloned().collect::<Vec<_>>();
                let hint = if near.is_empty() {
                    String::from("see docs/events.schema.json for the fields of each kind")
                } else {
                    format!("did you mean {}?", near.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" or "))
                };
                return Err(MappingError::Invalid(format!(
                    "unknown field `{name}` under `fields`: no event has it; {hint}"
                )));
            }
        }
        if let Some(tz) = &m.occurred_at.timezone {
            tz.parse::<Tz>().map_err(|_| MappingError::Invalid(format!("unknown IANA time zone {tz:?}")))?;
        }
        if !m.delimiter.is_ascii() {
            return Err(MappingError::Invalid("delimiter must be one ASCII character".into()));
        }
        Ok(m)
    }

    /// The kinds of record its lookups search (then [`CsvMapping::bind`]
    /// must be given them before reading).
    pub fn needs_reference(&self) -> Vec<String> {
        lookup_kinds(&self.fields)
    }

    /// Gives the lookups the reference data they search.
    pub fn bind(&mut self, rows: &[stockade_model::RecordRow]) {
        bind_lookups(&mut self.fields, rows);
    }

    fn columns(&self) -> Vec<String> {
        let mut v = self.kind.columns();
        if let Some(id) = &self.id {
            v.extend(id.columns());
        }
        v.extend(self.occurred_at.field.columns());
        for f in self.fields.values() {
            v.extend(f.columns());
        }
        v.extend(self.skip.iter().chain(&self.keep).map(|c| c.column.clone()));
        v.sort();
        v.dedup();
        v
    }

    /// Reads a CSV export: checks the header against the mapping, then yields
    /// one result per data row (line numbers count the header as line 1).
    pub fn read<R: std::io::Read>(&self, input: R) -> Result<CsvEvents<'_, R>, MappingError> {
        self.read_file(input, "")
    }

    /// [`CsvMapping::read`] of a named file (its name is `{_file}` in templates).
    pub fn read_file<R: std::io::Read>(&self, input: R, file: &str) -> Result<CsvEvents<'_, R>, MappingError> {
        let records = self.read_records(input, file)?;
        Ok(CsvEvents { mapping: self, records, skipped: 0 })
    }

    /// Reads an export's rows without mapping them, so that a caller can
    /// map them elsewhere ([`CsvMapping::map_record`], on other threads):
    /// reading is sequential, mapping need not be.
    pub fn read_records<R: std::io::Read>(&self, input: R, file: &str) -> Result<CsvRecords<R>, MappingError> {
        let (rdr, headers) = open_csv(input, self.delimiter, self.columns())?;
        Ok(CsvRecords {
            source: Arc::new(RecordSource { headers, file: file.to_owned() }),
            records: rdr.into_records(),
        })
    }

    /// One row read by [`CsvMapping::read_records`]: (line, its event or why
    /// there is none), or None when the mapping's `skip` or `keep` leaves
    /// it out.
    pub fn map_record(&self, source: &RecordSource, record: Record) -> Option<(usize, Result<Event, LineError>)> {
        Some(match record {
            (line, Err(e)) => (line, Err(e)),
            (line, Ok(record)) => {
                let record = without_cr(record);
                let row = Row { headers: &source.headers, record: &record, line, file: &source.file };
                if self.skip.iter().any(|c| c.holds(&row))
                    || (!self.keep.is_empty() && !self.keep.iter().any(|c| c.holds(&row)))
                {
                    return None;
                }
                (line, self.event(line, &row))
            }
        })
    }

    fn time(&self, row: &Row<'_>) -> Result<Option<DateTime<FixedOffset>>, (String, String)> {
        let Some(raw) = self.occurred_at.field.value("occurred_at", row)? else {
            return Ok(None);
        };
        let err = |m: String| ("occurred_at".to_owned(), m);
        let compiled = self.occurred_at.compiled();
        let tz = compiled.timezone;
        let fmt = self.occurred_at.format.as_deref().unwrap_or("rfc3339");
        let t = match fmt {
            "rfc3339" => stockade_model::event::rfc3339::parse(&raw).map_err(err)?,
            "unix" | "unix_ms" => {
                let n: i64 = raw.parse().map_err(|_| err(format!("{raw:?} is not an integer")))?;
                let t = if fmt == "unix" { DateTime::from_timestamp(n, 0) } else { DateTime::from_timestamp_millis(n) };
                t.ok_or_else(|| err(format!("{raw:?} is out of range")))?.fixed_offset()
            }
            f => match compiled.parse(&raw, f) {
                Ok(t) => t,
                Err(_) => {
                    let naive = compiled
                        .parse_naive(&raw, f)
                        .map_err(|e| err(format!("{raw:?} does not match format {f:?}: {e}")))?;
                    let Some(tz) = tz else {
                        return Err(err(format!("{raw:?} has no UTC offset and the mapping gives no timezone")));
                    };
                    // In the autumn DST overlap take the earlier instant; in
                    // the spring gap the local time does not exist.
                    tz.from_local_datetime(&naive)
                        .earliest()
                        .ok_or_else(|| err(format!("{raw:?} does not exist in {tz} (DST gap)")))?
                        .fixed_offset()
                }
            },
        };
        Ok(Some(t))
    }

    fn event(&self, line: usize, row: &Row<'_>) -> Result<Event, LineError> {
        let fail = |(field, reason): (String, String)| LineError::new(line, Some(&field), reason);
        // Sized once: kind, the fields, occurred_at and id.
        let mut obj = Map::with_capacity(self.fields.len() + 3);
        let kind = self.kind.value("kind", row).map_err(fail)?;
        let kind = kind.ok_or_else(|| LineError::new(line, Some("kind"), "is empty"))?;
        obj.insert("kind".into(), Value::String(kind));
        let site = match self.fields.get("site") {
            Some(s) if self.fields.values().any(|f| f.lookup.as_ref().is_some_and(|l| l.within_site)) => {
                s.resolved("site", row, None).map_err(fail)?
            }
            _ => None,
        };
        for (name, spec) in &self.fields {
            let Some(v) = spec.resolved(name, row, site.as_deref()).map_err(fail)? else { continue };
            let ty = spec.value_type.unwrap_or_else(|| default_type(name));
            let value = match ty {
                ValueType::String => Value::String(v),
                ValueType::Number => v
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| LineError::new(line, Some(name), format!("{v:?} is not a number")))?,
                ValueType::Integer => v
                    .parse::<i64>()
                    .map(|n| Value::Number(n.into()))
                    .map_err(|_| LineError::new(line, Some(name), format!("{v:?} is not an integer")))?,
                ValueType::Boolean => match v.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "y" | "1" => Value::Bool(true),
                    "false" | "no" | "n" | "0" => Value::Bool(false),
                    _ => return Err(LineError::new(line, Some(name), format!("{v:?} is not a boolean"))),
                },
            };
            obj.insert(name.clone(), value);
        }
        let t = self.time(row).map_err(fail)?.ok_or_else(|| LineError::new(line, Some("occurred_at"), "is empty"))?;
        obj.insert("occurred_at".into(), Value::String(t.to_rfc3339()));
        let id = match &self.id {
            Some(spec) => {
                spec.value("id", row).map_err(fail)?.ok_or_else(|| LineError::new(line, Some("id"), "is empty"))?
            }
            None => {
                let mut h = Sha256::new();
                for f in row.record.iter() {
                    h.update(f.as_bytes());
                    h.update([0x1f]);
                }
                format!("csv-{}", &hex::encode(h.finalize())[..32])
            }
        };
        obj.insert("id".into(), Value::String(id));
        // Read as an NDJSON line would be (the same checks), from the object.
        Event::from_fields(&obj).map_err(|e| self.in_export_terms(LineError::from_event_error(line, e), &obj))
    }

    /// An event's error in the export's terms: the JSON it was parsed from
    /// was built here, so its byte columns mean nothing to the user; the
    /// field is named (found by the value the message quotes when the
    /// parser did not say), and so is the export's column it came from.
    fn in_export_terms(&self, mut e: LineError, obj: &Map<String, Value>) -> LineError {
        if let Some(i) = e.reason.find(" (column ") {
            e.reason.truncate(i);
        }
        if e.field.is_none() {
            let quoted = |v: &str| e.reason.contains(&format!("`{v}`")) || e.reason.contains(&format!("\"{v}\""));
            e.field = obj
                .iter()
                .find(|(_, v)| v.as_str().is_some_and(|v| !v.is_empty() && quoted(v)))
                .map(|(k, _)| k.clone());
        }
        let column = e.field.as_deref().and_then(|f| match f {
            "kind" => self.kind.column.as_ref(),
            "occurred_at" => self.occurred_at.field.column.as_ref(),
            "id" => self.id.as_ref().and_then(|i| i.column.as_ref()),
            other => self.fields.get(other).and_then(|s| s.column.as_ref()),
        });
        if let Some(column) = column {
            e.reason = format!("{} (the export's column `{column}`)", e.reason);
        }
        e
    }
}

/// Iterator over the rows of a CSV export: (line, event or why not), rows
/// the mapping skips left out and counted ([`CsvEvents::skipped`]).
pub struct CsvEvents<'m, R> {
    mapping: &'m CsvMapping,
    records: CsvRecords<R>,
    skipped: usize,
}

impl<R> CsvEvents<'_, R> {
    /// Rows the mapping's `skip` or `keep` left out so far.
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

/// A row as read, by its line: the record, or why it could not be read.
pub type Record = (usize, Result<csv::StringRecord, LineError>);

/// What mapping a file's rows needs besides the rows: its columns and its
/// name (`{_file}`).
#[derive(Debug)]
pub struct RecordSource {
    headers: BTreeMap<String, usize>,
    file: String,
}

/// An export's rows, read but not mapped ([`CsvMapping::read_records`]).
pub struct CsvRecords<R> {
    source: Arc<RecordSource>,
    records: csv::StringRecordsIntoIter<R>,
}

impl<R> CsvRecords<R> {
    /// The file's columns and name, for [`CsvMapping::map_record`].
    pub fn source(&self) -> &Arc<RecordSource> {
        &self.source
    }
}

impl<R: std::io::Read> Iterator for CsvRecords<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        Some(match self.records.next()? {
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                (line, Err(LineError::new(line, None, format!("unreadable CSV row: {e}"))))
            }
            Ok(record) => (record.position().map_or(0, |p| p.line() as usize), Ok(record)),
        })
    }
}

/// A record without the '\r' a CRLF line leaves at its end.
fn without_cr(record: csv::StringRecord) -> csv::StringRecord {
    match record.iter().next_back() {
        Some(last) if last.ends_with('\r') => {
            let n = record.len();
            record.iter().enumerate().map(|(i, f)| if i + 1 == n { f.trim_end_matches('\r') } else { f }).collect()
        }
        _ => record,
    }
}

impl<R: std::io::Read> Iterator for CsvEvents<'_, R> {
    type Item = (usize, Result<Event, LineError>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let record = self.records.next()?;
            match self.mapping.map_record(&self.records.source, record) {
                Some(mapped) => return Some(mapped),
                None => self.skipped += 1,
            }
        }
    }
}

/// A CSV export of reference records (a PACS's cardholders, an HR system's
/// staff list, a WMS's locations) and how its columns become records of one
/// kind: the same value language as events (`column`, `constant`,
/// `template`, `map`, `case`, `prefix`...), with `skip` and `keep`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceMapping {
    /// The kind of record each row is: `people`, `badges`, `doors`,
    /// `locations`... (as the sections of a reference file).
    pub records: String,
    #[serde(default = "comma")]
    pub delimiter: char,
    #[serde(default)]
    pub skip: Vec<Condition>,
    #[serde(default)]
    pub keep: Vec<Condition>,
    /// The record's fields (`id`, `name`, `site`, `accounts`...); list
    /// fields (`accounts`, `zones`, `doors`, `weekdays`) split a cell on `;`.
    pub fields: BTreeMap<String, FieldSpec>,
}

impl ReferenceMapping {
    pub fn from_yaml(text: &str) -> Result<ReferenceMapping, MappingError> {
        let m: ReferenceMapping = serde_yaml_ng::from_str(text)?;
        let kind = m.kind()?;
        let known = reference_fields();
        for (name, f) in &m.fields {
            f.check(name)?;
            if let Some(l) = &f.lookup {
                l.check(name, m.fields.contains_key("site"))?;
            }
            if !known.contains(name.as_str()) {
                return Err(MappingError::Invalid(format!(
                    "unknown field `{name}` under `fields`: no {} record has it (see docs/reference.schema.json)",
                    kind.as_str()
                )));
            }
        }
        if !m.fields.contains_key("id") {
            return Err(MappingError::Invalid("`fields` needs `id`".into()));
        }
        Ok(m)
    }

    /// The kinds of record its lookups search (see [`CsvMapping::needs_reference`]).
    pub fn needs_reference(&self) -> Vec<String> {
        lookup_kinds(&self.fields)
    }

    /// Gives the lookups the reference data they search.
    pub fn bind(&mut self, rows: &[stockade_model::RecordRow]) {
        bind_lookups(&mut self.fields, rows);
    }

    fn kind(&self) -> Result<stockade_model::RecordKind, MappingError> {
        stockade_model::RecordKind::parse(&self.records).ok_or_else(|| {
            let kinds: Vec<&str> = stockade_model::RecordKind::ALL.iter().map(|k| k.plural()).collect();
            MappingError::Invalid(format!("`records: {}` is not a kind; use one of {}", self.records, kinds.join(", ")))
        })
    }

    /// Reads an export whole: its records, and the rows `skip`/`keep` left
    /// out; any row that cannot be a record refuses the file (reference data
    /// is imported all or nothing), every such row named with its line.
    pub fn read<R: std::io::Read>(
        &self,
        input: R,
        file: &str,
    ) -> Result<(stockade_model::ReferenceData, usize), MappingError> {
        let kind = self.kind()?;
        let mut used: Vec<String> = self.fields.values().flat_map(FieldSpec::columns).collect();
        used.extend(self.skip.iter().chain(&self.keep).map(|c| c.column.clone()));
        let (rdr, headers) = open_csv(input, self.delimiter, used)?;
        let (mut all, mut problems, mut skipped) = (stockade_model::ReferenceData::default(), Vec::new(), 0);
        for rec in rdr.into_records() {
            let (line, record) = match rec {
                Ok(r) => (r.position().map_or(0, |p| p.line() as usize), without_cr(r)),
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line() as usize);
                    problems.push(LineError::new(line, None, format!("unreadable CSV row: {e}")));
                    continue;
                }
            };
            let row = Row { headers: &headers, record: &record, line, file };
            if left_out(&self.skip, &self.keep, &row) {
                skipped += 1;
                continue;
            }
            match self.record(kind, &row) {
                Ok(one) => all.extend(one),
                Err(e) => problems.push(e),
            }
        }
        if problems.is_empty() { Ok((all, skipped)) } else { Err(MappingError::Rows(problems)) }
    }

    fn record(
        &self,
        kind: stockade_model::RecordKind,
        row: &Row<'_>,
    ) -> Result<stockade_model::ReferenceData, LineError> {
        use crate::reference_files::{is_list, scalar};
        let mut obj = Map::new();
        let fail = |(f, m): (String, String)| LineError::new(row.line, Some(&f), m);
        let site = match self.fields.get("site") {
            Some(s) => s.resolved("site", row, None).map_err(fail)?,
            None => None,
        };
        for (name, spec) in &self.fields {
            let Some(v) = spec.resolved(name, row, site.as_deref()).map_err(fail)? else {
                continue;
            };
            let value = if is_list(kind, name) {
                Value::Array(v.split(';').map(str::trim).filter(|s| !s.is_empty()).map(|s| scalar(name, s)).collect())
            } else {
                scalar(name, &v)
            };
            obj.insert(name.clone(), value);
        }
        let section = Map::from_iter([(kind.plural().to_owned(), Value::Array(vec![Value::Object(obj)]))]);
        serde_json::from_value(Value::Object(section)).map_err(|e| {
            let msg = e.to_string();
            let field = ["missing field `", "unknown variant `", "invalid type"]
                .iter()
                .find_map(|p| {
                    msg.strip_prefix(p).and_then(|r| r.split('`').next()).filter(|f| self.fields.contains_key(*f))
                })
                .map(str::to_owned);
            LineError::new(row.line, field.as_deref(), msg)
        })
    }
}

/// Opens an export: its reader and header (column name to index, trimmed,
/// without a BOM), refused when it lacks a column the mapping uses.
/// Records end at '\n' only, so that line numbers count CRLF files' lines
/// right (the CSV reader's own CRLF handling counts one short); the '\r'
/// left at the end of a row is taken off each record ([`without_cr`]).
fn open_csv<R: std::io::Read>(
    input: R,
    delimiter: char,
    used: Vec<String>,
) -> Result<(csv::Reader<R>, BTreeMap<String, usize>), MappingError> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter as u8)
        .terminator(csv::Terminator::Any(b'\n'))
        .flexible(true)
        .from_reader(input);
    let headers: BTreeMap<String, usize> = rdr
        .headers()
        .map_err(|e| MappingError::Header(e.to_string()))?
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().trim_start_matches('\u{feff}').to_owned(), i))
        .collect();
    let missing: Vec<String> = used.into_iter().filter(|c| !headers.contains_key(c)).collect();
    if !missing.is_empty() {
        return Err(MappingError::MissingColumns(missing));
    }
    Ok((rdr, headers))
}

use stockade_model::schema::{event_fields, reference_fields};

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCESS: &str = r#"
kind: { column: result, map: { granted: access.granted, denied: access.denied } }
occurred_at: { column: time, format: "%Y-%m-%d %H:%M:%S", timezone: Europe/Paris }
fields:
  source: { constant: acs-lyon }
  site: { column: site }
  door: { column: door }
  badge: { column: badge }
  direction: { column: direction, map: { IN: in, OUT: out } }
"#;

    const DOORS: &str = r#"
kind: { column: state, map: { opened: access.door_opened, closed: access.door_closed, held: access.door_held_open } }
occurred_at: { column: time }
skip: [ { column: state, in: [heartbeat, test] } ]
fields:
  source: { constant: doors-lys }
  site: { constant: LYS }
  door: { column: door }
  duration_s: { column: seconds_open }
"#;

    /// Rows a filter leaves out are counted, not rejected; `keep` takes only
    /// the rows it names; door contacts are events of their own.
    #[test]
    fn filters_skip_and_keep_rows_and_count_them() {
        let csv = "time,door,state,seconds_open\n\
                   2026-11-02T23:40:00+01:00,D1,opened,\n\
                   2026-11-02T23:41:00+01:00,D1,heartbeat,\n\
                   2026-11-02T23:47:00+01:00,D1,closed,420\n\
                   2026-11-02T23:48:00+01:00,D1,test,\n";
        let m = CsvMapping::from_yaml(DOORS).unwrap();
        let mut rows = m.read(csv.as_bytes()).unwrap();
        let got: Vec<(usize, Event)> = rows.by_ref().map(|(l, r)| (l, r.unwrap())).collect();
        assert_eq!(rows.skipped(), 2);
        assert_eq!(got.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [2, 4], "the file's own line numbers");
        assert_eq!(got[0].1.kind().as_str(), "access.door_opened");
        assert_eq!(got[1].1.kind().as_str(), "access.door_closed");
        let keep = DOORS
            .replace("skip: [ { column: state, in: [heartbeat, test] } ]", "keep: [ { column: state, in: [closed] } ]");
        let m = CsvMapping::from_yaml(&keep).unwrap();
        let mut rows = m.read(csv.as_bytes()).unwrap();
        assert_eq!(rows.by_ref().count(), 1);
        assert_eq!(rows.skipped(), 3);
        let e = CsvMapping::from_yaml(&DOORS.replace("in: [heartbeat, test]", "equals: heartbeat")).unwrap_err();
        assert!(e.to_string().contains("unknown field `equals`"), "{e}");
        let e = CsvMapping::from_yaml(&DOORS.replace(", in: [heartbeat, test]", "")).unwrap_err();
        assert!(e.to_string().contains("needs `in: [values]` or `empty: true`"), "{e}");
    }

    /// Lookups find ids in the reference data: a door numbered per site by
    /// its name within the row's site, a person by one of their accounts;
    /// a value no record holds, or two records hold, rejects the row and
    /// says so; a mapping whose lookup cannot work is refused when it loads.
    #[test]
    fn lookups_find_ids_in_reference_data() {
        let reference = crate::reference_files::from_yaml(
            "doors:\n  - { id: D-0001, site: SIN, name: MAIN, to_zone: Z }\n  - { id: D-0002, site: KUL, name: MAIN, to_zone: Z }\n  \
             - { id: D-0003, site: KUL, name: DOCK, to_zone: Z }\n  - { id: D-0004, site: KUL, name: DOCK, to_zone: Z }\n\
             people:\n  - { id: P-7, site: SIN, role: picker, status: active, accounts: [u_sin_07, sin07] }\n",
        )
        .unwrap();
        let mapping = r#"
kind: { constant: access.granted }
occurred_at: { column: time }
id: { column: n }
fields:
  source: { constant: pacs }
  site: { column: site }
  door: { column: door, lookup: { records: doors, by: name, within_site: true } }
  badge: { column: badge }
  person: { column: login, lookup: { records: people, by: accounts } }
"#;
        let csv = "n,time,site,door,badge,login\n\
                   1,2026-11-02T22:00:00+08:00,SIN,MAIN,B1,sin07\n\
                   2,2026-11-02T22:00:00+08:00,KUL,MAIN,B2,\n\
                   3,2026-11-02T22:00:00+08:00,KUL,GATE,B3,\n\
                   4,2026-11-02T22:00:00+08:00,KUL,DOCK,B4,\n\
                   5,2026-11-02T22:00:00+08:00,SIN,MAIN,B5,nobody\n";
        let mut m = CsvMapping::from_yaml(mapping).unwrap();
        assert_eq!(m.needs_reference(), ["doors", "people"]);
        let unbound: Vec<_> = m.read(csv.as_bytes()).unwrap().collect();
        assert!(unbound[0].1.as_ref().unwrap_err().reason.contains("was not given the reference data"));
        m.bind(&reference.rows());
        let got: Vec<_> = m.read(csv.as_bytes()).unwrap().collect();
        let json = |i: usize| serde_json::to_value(got[i].1.as_ref().unwrap()).unwrap();
        assert_eq!((json(0)["door"].as_str(), json(0)["person"].as_str()), (Some("D-0001"), Some("P-7")));
        assert_eq!(json(1)["door"], "D-0002", "the same local number, the row's own site");
        let err = |i: usize| got[i].1.as_ref().unwrap_err().clone();
        assert_eq!(err(2).field.as_deref(), Some("door"));
        assert!(err(2).reason.contains("no doors record has name \"GATE\" at site KUL"), "{}", err(2).reason);
        assert!(err(3).reason.contains("\"DOCK\" names 2 doors at site KUL (D-0003, D-0004)"), "{}", err(3).reason);
        assert!(err(4).reason.contains("no people record has accounts \"nobody\""), "{}", err(4).reason);
        // Refused when it loads: a site scope with no site, an unknown kind or field.
        let e = CsvMapping::from_yaml(&mapping.replace("  site: { column: site }\n", "")).unwrap_err();
        assert!(e.to_string().contains("`within_site: true` needs `site` under `fields`"), "{e}");
        let e = CsvMapping::from_yaml(&mapping.replace("records: doors", "records: dors")).unwrap_err();
        assert!(e.to_string().contains("lookup `records: dors` is not a kind"), "{e}");
        let e = CsvMapping::from_yaml(&mapping.replace("by: name", "by: nmae")).unwrap_err();
        assert!(e.to_string().contains("lookup `by: nmae` is not a field"), "{e}");
    }

    /// A CRLF export gives the same lines, events and ids as the LF one.
    #[test]
    fn crlf_exports_number_lines_as_lf_ones() {
        let lf = "time,door,state,seconds_open\n2026-11-02T23:40:00+01:00,D1,opened,\n2026-11-02T23:47:00+01:00,D1,bogus,\n2026-11-02T23:49:00+01:00,D1,closed,9\n";
        let crlf = lf.replace('\n', "\r\n");
        let m = CsvMapping::from_yaml(DOORS).unwrap();
        let read = |text: &str| m.read(text.as_bytes()).unwrap().collect::<Vec<_>>();
        let (a, b) = (read(lf), read(&crlf));
        assert_eq!(a.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(b.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 3, 4], "CRLF lines count as LF ones");
        assert_eq!(b[1].1.as_ref().unwrap_err().line, 3);
        assert_eq!(a[0].1.as_ref().unwrap().id, b[0].1.as_ref().unwrap().id, "the same row, the same id");
        assert_eq!(a[2].1.as_ref().unwrap(), b[2].1.as_ref().unwrap());
    }

    /// Row variables in templates keep identical rows apart; `case`, `map`
    /// with `otherwise`, `prefix` and `suffix` shape values.
    #[test]
    fn row_variables_and_value_functions() {
        let mapping = r#"
kind: { constant: video.people_count }
id: { template: "{_file}:{_row}" }
occurred_at: { column: time }
fields:
  source: { constant: vms }
  site: { column: site, case: upper }
  camera: { column: cam, prefix: "LYS-CAM-" }
  door: { column: cam, case: lower, map: { dock: LYS-D-DOCK1 }, otherwise: LYS-D-MAIN }
  people: { column: n }
"#;
        let csv = "time,site,cam,n\n\
                   2026-11-02T22:00:00+01:00,lys,DOCK,1\n\
                   2026-11-02T22:00:00+01:00,lys,DOCK,1\n\
                   2026-11-02T22:00:00+01:00,lys,Main,2\n";
        let m = CsvMapping::from_yaml(mapping).unwrap();
        let got: Vec<Event> = m.read_file(csv.as_bytes(), "cams.csv").unwrap().map(|(_, r)| r.unwrap()).collect();
        let ids: Vec<&str> = got.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["cams.csv:2", "cams.csv:3", "cams.csv:4"], "identical rows are two events");
        let json = |e: &Event| serde_json::to_value(e).unwrap();
        assert_eq!(json(&got[0])["site"], "LYS");
        assert_eq!(json(&got[0])["camera"], "LYS-CAM-DOCK");
        assert_eq!(json(&got[0])["door"], "LYS-D-DOCK1");
        assert_eq!(json(&got[2])["door"], "LYS-D-MAIN", "not in the map: `otherwise`");
        let strict = mapping.replace(", otherwise: LYS-D-MAIN", "");
        let m = CsvMapping::from_yaml(&strict).unwrap();
        let third = m.read(csv.as_bytes()).unwrap().nth(2).unwrap().1.unwrap_err();
        assert!(
            third.reason.contains("\"main\" is not in the mapping's map") && third.reason.contains("otherwise"),
            "{third}"
        );
    }

    /// A reference export through its mapping: records of one kind, lists
    /// split on `;`, rows skipped and counted; a bad row refuses the whole
    /// file naming every bad line; unknown kinds and fields are refused
    /// when the mapping loads.
    #[test]
    fn reference_exports_load_through_a_mapping() {
        let mapping = r#"
records: people
skip: [ { column: title, in: [Test] } ]
fields:
  id: { column: emp, prefix: "P-" }
  role: { column: title, case: lower }
  status: { column: st, map: { A: active, T: terminated } }
  accounts: { column: logins }
"#;
        let m = ReferenceMapping::from_yaml(mapping).unwrap();
        let csv = "emp,title,st,logins\r\n1,Picker,A,a1;a2\r\n2,Test,A,t\r\n3,Receiver,T,\r\n";
        let (data, skipped) = m.read(csv.as_bytes(), "staff.csv").unwrap();
        assert_eq!((data.people.len(), skipped), (2, 1));
        assert_eq!(data.people[0].id.as_str(), "P-1");
        assert_eq!(data.people[0].accounts.iter().map(|a| a.as_str()).collect::<Vec<_>>(), ["a1", "a2"]);
        assert_eq!(data.people[1].status, stockade_model::EmploymentStatus::Terminated);
        let bad = "emp,title,st,logins\n1,Picker,X,\n2,Picker,A,\n3,Picker,Q,\n";
        let e = m.read(bad.as_bytes(), "staff.csv").unwrap_err().to_string();
        assert!(e.starts_with("2 row(s) cannot be reference records; nothing was imported"), "{e}");
        assert!(e.contains("line 2: field `status`") && e.contains("line 4: field `status`"), "{e}");
        let e = ReferenceMapping::from_yaml(&mapping.replace("records: people", "records: planets")).unwrap_err();
        assert!(e.to_string().contains("is not a kind"), "{e}");
        let e = ReferenceMapping::from_yaml(&mapping.replace("role:", "rôle:")).unwrap_err();
        assert!(e.to_string().contains("unknown field `rôle`"), "{e}");
        let e =
            ReferenceMapping::from_yaml(&mapping.replace("  id: { column: emp, prefix: \"P-\" }\n", "")).unwrap_err();
        assert!(e.to_string().contains("needs `id`"), "{e}");
    }

    /// An error in a value names the field and the export's column, never a
    /// byte column of JSON the user never saw.
    #[test]
    fn errors_name_the_field_and_the_exports_column() {
        let raw =
            ACCESS.replace("direction: { column: direction, map: { IN: in, OUT: out } }", "direction: { column: dir }");
        let csv = "time,site,door,badge,result,dir\n2026-11-02 22:14:07,LYS,D1,B1,granted,sideways\n";
        let m = CsvMapping::from_yaml(&raw).unwrap();
        let (line, r) = m.read(csv.as_bytes()).unwrap().next().unwrap();
        let e = r.unwrap_err();
        assert_eq!((line, e.field.as_deref()), (2, Some("direction")), "{e}");
        assert!(e.reason.contains("sideways") && e.reason.contains("(the export's column `dir`)"), "{e}");
        assert!(!e.reason.contains("(column "), "{e}");
    }

    /// A field no event has is refused when the mapping loads, naming it,
    /// with the near names as a hint.
    #[test]
    fn misspelled_fields_are_refused_with_a_hint() {
        let e =
            CsvMapping::from_yaml(&ACCESS.replace("badge: { column: badge }", "bagde: { column: badge }")).unwrap_err();
        assert!(e.to_string().contains("unknown field `bagde` under `fields`"), "{e}");
        assert!(e.to_string().contains("did you mean `badge`"), "{e}");
        let e =
            CsvMapping::from_yaml(&ACCESS.replace("door: { column: door }", "portal: { column: door }")).unwrap_err();
        assert!(
            e.to_string().contains("unknown field `portal`") && e.to_string().contains("events.schema.json"),
            "{e}"
        );
    }

    fn events(mapping: &str, csv: &str) -> Vec<Result<Event, LineError>> {
        let m = CsvMapping::from_yaml(mapping).unwrap();
        m.read(csv.as_bytes()).unwrap().map(|(_, r)| r).collect()
    }

    #[test]
    fn kind_chosen_by_column_and_local_time_converted_with_dst() {
        let csv = "time,site,door,badge,result,direction\n\
                   2026-07-01 09:00:00,LYS,D1,B1,granted,IN\n\
                   2026-12-01 09:00:00,LYS,D1,B2,denied,OUT\n";
        let evs: Vec<Event> = events(ACCESS, csv).into_iter().map(Result::unwrap).collect();
        assert_eq!(evs[0].kind().as_str(), "access.granted");
        assert_eq!(evs[0].offset_s(), 7200, "summer time in Paris");
        assert_eq!(evs[1].kind().as_str(), "access.denied");
        assert_eq!(evs[1].offset_s(), 3600, "winter time in Paris");
        assert_ne!(evs[0].id, evs[1].id, "row-hash ids differ per row");
        // The same row gives the same id, so a re-load is idempotent.
        let again: Vec<Event> = events(ACCESS, csv).into_iter().map(Result::unwrap).collect();
        assert_eq!(evs[0].id, again[0].id);
    }

    #[test]
    fn bad_rows_name_line_and_field_and_do_not_stop_the_file() {
        let csv = "time,site,door,badge,result,direction\n\
                   2026-07-01 09:00:00,LYS,D1,B1,granted,IN\n\
                   2026-07-01 09:00:00,LYS,D1,B1,teleported,IN\n\
                   yesterday,LYS,D1,B1,granted,IN\n\
                   2026-07-01 09:00:00,LYS,D1,,granted,IN\n\
                   2026-07-01 09:01:00,LYS,D1,B1,granted,SIDEWAYS\n\
                   2026-07-01 09:02:00,LYS,D2,B1,denied,OUT\n";
        let r = events(ACCESS, csv);
        assert_eq!(r.len(), 6);
        assert!(r[0].is_ok() && r[5].is_ok());
        let e = r[1].as_ref().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (3, Some("kind")));
        let e = r[2].as_ref().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (4, Some("occurred_at")));
        let e = r[3].as_ref().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (5, Some("badge")), "{e}");
        let e = r[4].as_ref().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (6, Some("direction")));
    }

    #[test]
    fn missing_columns_are_reported_before_any_row() {
        let m = CsvMapping::from_yaml(ACCESS).unwrap();
        let Err(MappingError::MissingColumns(cols)) = m.read("time,site,door\n".as_bytes()) else {
            panic!("expected missing columns")
        };
        assert_eq!(cols, ["badge", "direction", "result"]);
    }

    #[test]
    fn bad_mappings_are_refused() {
        assert!(CsvMapping::from_yaml("kind: {column: a, constant: b}\noccurred_at: {column: t}\nfields: {}").is_err());
        assert!(
            CsvMapping::from_yaml("kind: {column: a}\noccurred_at: {column: t, timezone: Mars/Olympus}\nfields: {}")
                .is_err()
        );
        assert!(CsvMapping::from_yaml("kind: {column: a}\noccurred_at: {column: t}\nfields: {}\nextra: 1").is_err());
    }

    #[test]
    fn numbers_and_templates() {
        let mapping = r#"
kind: { constant: inventory.adjusted }
id: { template: "{site}/{txn}" }
occurred_at: { column: at }
fields:
  source: { constant: wms }
  site: { column: site }
  location: { column: loc }
  sku: { column: sku }
  delta: { column: delta }
  reason: { column: reason }
  approver: { column: approver }
"#;
        let csv = "at,site,loc,sku,delta,reason,approver,txn\n\
                   2026-07-01T09:00:00Z,LYS,A-01,SKU1,-3,damage,,T1\n\
                   2026-07-01T09:00:00Z,LYS,A-01,SKU1,lots,damage,P9,T2\n";
        let r = events(mapping, csv);
        let ev = r[0].as_ref().unwrap();
        assert_eq!(ev.id.as_str(), "LYS/T1");
        match &ev.body {
            stockade_model::EventBody::InventoryAdjusted(a) => {
                assert_eq!(a.delta, -3.0);
                assert_eq!(a.approver, None, "an empty cell is an absent field");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r[1].as_ref().unwrap_err().field.as_deref(), Some("delta"));
    }
}
