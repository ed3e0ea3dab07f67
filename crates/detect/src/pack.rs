//! A rule pack: Sigma rules and correlations over canonical events, with
//! Stockade's one addition, `absence`, checked document by document.
//!
//! Every document of every file is parsed and checked on its own; a bad
//! document is refused with its file, line and reason and the others load.
//! Checks beyond the Sigma parser's: `logsource` is `product: stockade` with
//! an event family as `category`; every field a rule names is a canonical
//! event field or a `ctx.*` field ([`crate::context::CONTEXT_FIELDS`]); a
//! correlation has a `timespan` and names rules of the pack; a regular
//! expression has no nested quantifier (it would backtrack catastrophically
//! in the backtracking engines other Sigma tools use); ids are unique.
//!
//! Invariant: a pack holds only documents that passed every check, so the
//! engine built from it never refuses one.

use crate::context::CONTEXT_FIELDS;
use rsigma_parser::{CorrelationRule, Level, SigmaCollection, SigmaRule, Timespan};
use serde_yaml_ng::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};

/// One rule file's text, with the path its messages name.
#[derive(Debug, Clone)]
pub struct RuleFile {
    pub path: String,
    pub text: String,
}

/// Why a document of a rule file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct RuleError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// "A without B within T": the extension Sigma lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct Absence {
    /// The rules whose match is B.
    pub rules: Vec<String>,
    /// Fields that must be equal on A and B (`order`, `ctx.person`...).
    pub matching: Vec<String>,
    /// T, in seconds.
    pub within: i64,
    /// Where B must be: before A, after it, or either.
    pub look: Look,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    Before,
    After,
    Around,
}

/// What Stockade keeps of a rule beside the engine's copy.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    /// Its `name` (what correlations and absences cite), else its id.
    pub id: String,
    /// Its Sigma `id`, a UUID.
    pub uuid: String,
    pub title: String,
    pub description: String,
    pub level: Level,
    pub file: String,
    pub line: usize,
    pub correlation: bool,
    pub absence: Option<Absence>,
    /// Referenced by a correlation or an absence and `generate`d by none:
    /// its matches feed others and raise no alert of their own.
    pub building_block: bool,
    /// Named by a correlation: the events it matches are remembered, to
    /// name a correlation's contributors (no other event can be one).
    pub correlated: bool,
}

/// The rules that passed, ready for the engine.
#[derive(Debug, Clone, Default)]
pub struct Pack {
    pub collection: SigmaCollection,
    /// By name (else id).
    pub rules: BTreeMap<String, RuleInfo>,
    /// Sigma id (UUID) to name.
    pub names: BTreeMap<String, String>,
}

const FAMILIES: [&str; 6] = ["inventory", "access", "video", "identity", "hr", "asset"];

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(
            |(i, c)| {
                if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() }
            },
        )
}

/// The lines at which each YAML document of `text` starts (1-based), and its text.
fn documents(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut start = 1;
    let mut cur = String::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_end() == "---" {
            if !cur.trim().is_empty() {
                out.push((start, std::mem::take(&mut cur)));
            }
            cur.clear();
            start = i + 2;
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    if !cur.trim().is_empty() {
        out.push((start, cur));
    }
    out
}

/// The line (1-based, within the document) where `needle` first appears, else 1.
fn line_of(doc: &str, needle: &str) -> usize {
    doc.lines().position(|l| l.contains(needle)).map_or(1, |i| i + 1)
}

/// A regular expression's first nested quantifier: a quantified group that
/// itself holds a quantifier (`(a+)+`, `(\w*)*`, `(x+y)*`).
pub fn nested_quantifier(re: &str) -> Option<String> {
    let b = re.as_bytes();
    // For each open group: whether a quantifier appeared inside it.
    let mut stack: Vec<(usize, bool)> = Vec::new();
    let mut i = 0;
    let quantifier = |b: &[u8], i: usize| matches!(b.get(i), Some(b'+' | b'*')) || b.get(i) == Some(&b'{');
    let mut in_class = false;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            _ if in_class => {}
            b'(' => stack.push((i, false)),
            b')' => {
                if let Some((open, inner)) = stack.pop() {
                    if inner && quantifier(b, i + 1) {
                        return Some(re[open..(i + 2).min(re.len())].to_owned());
                    }
                    if inner && let Some(top) = stack.last_mut() {
                        top.1 = true;
                    }
                }
            }
            b'+' | b'*' | b'{' => {
                if let Some(top) = stack.last_mut() {
                    top.1 = true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

struct Checker<'a> {
    fields: &'a BTreeSet<String>,
    file: &'a str,
    start: usize,
    doc: &'a str,
}

impl Checker<'_> {
    fn err(&self, needle: &str, reason: impl Into<String>) -> RuleError {
        RuleError {
            file: self.file.to_owned(),
            line: self.start + line_of(self.doc, needle) - 1,
            reason: reason.into(),
        }
    }

    fn known(&self, field: &str) -> bool {
        self.fields.contains(field) || CONTEXT_FIELDS.contains(&field)
    }

    fn field(&self, name: &str, what: &str) -> Result<(), RuleError> {
        if self.known(name) {
            return Ok(());
        }
        let hint = if name.starts_with("ctx.") {
            "see docs/RULES.md for the ctx fields"
        } else {
            "see docs/events.schema.json for the fields of each kind"
        };
        Err(self.err(name, format!("unknown field `{name}` in {what}; {hint}")))
    }

    /// Checks a detection rule's raw YAML: logsource, fields, regexes.
    fn detection(&self, y: &Yaml) -> Result<(), RuleError> {
        let ls = y.get("logsource");
        let product = ls.and_then(|l| l.get("product")).and_then(Yaml::as_str);
        if product != Some("stockade") {
            return Err(self.err("logsource", "logsource must say `product: stockade`"));
        }
        let category = ls.and_then(|l| l.get("category")).and_then(Yaml::as_str);
        if !category.is_some_and(|c| FAMILIES.contains(&c)) {
            return Err(
                self.err("category", format!("logsource category must be an event family: {}", FAMILIES.join(", ")))
            );
        }
        let Some(Yaml::Mapping(det)) = y.get("detection") else { return Ok(()) };
        for (name, sel) in det {
            if name.as_str() == Some("condition") || name.as_str() == Some("timeframe") {
                continue;
            }
            let maps: Vec<&serde_yaml_ng::Mapping> = match sel {
                Yaml::Mapping(m) => vec![m],
                Yaml::Sequence(s) => s.iter().filter_map(Yaml::as_mapping).collect(),
                _ => vec![],
            };
            for m in maps {
                for (k, v) in m {
                    let Some(spec) = k.as_str() else { continue };
                    let mut parts = spec.split('|');
                    let field = parts.next().unwrap_or_default();
                    self.field(field, "a selection")?;
                    if parts.any(|m| m == "re") {
                        let values: Vec<&str> = match v {
                            Yaml::String(s) => vec![s.as_str()],
                            Yaml::Sequence(s) => s.iter().filter_map(Yaml::as_str).collect(),
                            _ => vec![],
                        };
                        for re in values {
                            if let Some(part) = nested_quantifier(re) {
                                return Err(self.err(
                                    spec,
                                    format!(
                                        "regular expression {re:?} nests quantifiers ({part}): it would backtrack catastrophically in backtracking engines; write it without the nesting"
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn absence(&self, y: &Yaml) -> Result<Option<Absence>, RuleError> {
        let Some(a) = y.get("absence") else { return Ok(None) };
        let rules: Vec<String> = match a.get("rules") {
            Some(Yaml::Sequence(s)) => s.iter().filter_map(Yaml::as_str).map(str::to_owned).collect(),
            Some(Yaml::String(s)) => vec![s.clone()],
            _ => vec![],
        };
        if rules.is_empty() {
            return Err(self.err("absence", "absence needs `rules`: the rules whose match is the awaited event"));
        }
        let within = a
            .get("within")
            .and_then(Yaml::as_str)
            .ok_or_else(|| self.err("absence", "absence needs `within` (a timespan: 30m, 12h, 7d)"))?;
        let within =
            Timespan::parse(within).map_err(|e| self.err("within", format!("absence `within`: {e}")))?.seconds as i64;
        let matching: Vec<String> = match a.get("match") {
            Some(Yaml::Sequence(s)) => s.iter().filter_map(Yaml::as_str).map(str::to_owned).collect(),
            Some(Yaml::String(s)) => vec![s.clone()],
            None => vec![],
            Some(_) => return Err(self.err("match", "absence `match` is a list of field names")),
        };
        for f in &matching {
            self.field(f, "absence `match`")?;
        }
        let look = match a.get("look").and_then(Yaml::as_str).unwrap_or("after") {
            "before" => Look::Before,
            "after" => Look::After,
            "around" => Look::Around,
            other => return Err(self.err("look", format!("absence `look` is before, after or around, not {other:?}"))),
        };
        for k in a.as_mapping().into_iter().flat_map(|m| m.keys()) {
            let k = k.as_str().unwrap_or_default();
            if !["rules", "within", "match", "look"].contains(&k) {
                return Err(self.err(k, format!("unknown key `{k}` under absence (rules, within, match, look)")));
            }
        }
        Ok(Some(Absence { rules, matching, within, look }))
    }

    fn correlation(&self, y: &Yaml) -> Result<(), RuleError> {
        let Some(c) = y.get("correlation") else { return Ok(()) };
        if c.get("timespan").is_none() {
            return Err(self.err("correlation", "a correlation needs a `timespan` (30s, 10m, 1h, 7d)"));
        }
        if let Some(Yaml::Sequence(g)) = c.get("group-by") {
            for f in g.iter().filter_map(Yaml::as_str) {
                self.field(f, "group-by")?;
            }
        }
        if let Some(f) = c.get("condition").and_then(|c| c.get("field")).and_then(Yaml::as_str) {
            self.field(f, "the correlation's condition")?;
        }
        Ok(())
    }
}

fn rule_level(l: Option<Level>) -> Level {
    l.unwrap_or(Level::Medium)
}

impl Pack {
    /// Parses and checks every document of every file. Returns the pack of
    /// what passed and one error per document refused.
    pub fn parse(files: &[RuleFile]) -> (Pack, Vec<RuleError>) {
        let fields = stockade_model::schema::event_fields();
        let mut errors = Vec::new();
        let mut pack = Pack::default();
        let mut correlations: Vec<(CorrelationRule, RuleInfo)> = Vec::new();
        let mut detections: Vec<(SigmaRule, RuleInfo)> = Vec::new();
        for file in files {
            for (start, doc) in documents(&file.text) {
                let ck = Checker { fields: &fields, file: &file.path, start, doc: &doc };
                match Self::document(&ck, &doc) {
                    Ok(Parsed::Detection(rule, info)) => detections.push((*rule, info)),
                    Ok(Parsed::Correlation(rule, info)) => correlations.push((*rule, info)),
                    Err(e) => errors.push(e),
                }
            }
        }
        // Unique ids, first come first kept.
        let mut seen: BTreeMap<String, (String, usize)> = BTreeMap::new();
        let mut unique = |info: &RuleInfo, errors: &mut Vec<RuleError>| {
            if let Some((f, l)) = seen.get(&info.id) {
                errors.push(RuleError {
                    file: info.file.clone(),
                    line: info.line,
                    reason: format!("duplicate rule name {:?}: first defined at {f}:{l}", info.id),
                });
                return false;
            }
            seen.insert(info.id.clone(), (info.file.clone(), info.line));
            true
        };
        let mut uuids: BTreeMap<String, (String, usize)> = BTreeMap::new();
        let mut unique = |info: &RuleInfo, errors: &mut Vec<RuleError>| {
            if !unique(info, errors) {
                return false;
            }
            if let Some((f, l)) = uuids.get(&info.uuid) {
                errors.push(RuleError {
                    file: info.file.clone(),
                    line: info.line,
                    reason: format!("duplicate rule id {:?}: first defined at {f}:{l}", info.uuid),
                });
                return false;
            }
            uuids.insert(info.uuid.clone(), (info.file.clone(), info.line));
            true
        };
        detections.retain(|(_, info)| unique(info, &mut errors));
        correlations.retain(|(_, info)| unique(info, &mut errors));
        let ids: BTreeSet<String> = detections.iter().map(|(_, i)| i.id.clone()).collect();
        let mut fed: BTreeSet<String> = BTreeSet::new();
        let mut correlated: BTreeSet<String> = BTreeSet::new();
        detections.retain(|(_, info)| {
            let Some(a) = &info.absence else { return true };
            match a.rules.iter().find(|r| !ids.contains(*r)) {
                Some(missing) => {
                    errors.push(RuleError {
                        file: info.file.clone(),
                        line: info.line,
                        reason: format!("absence names rule {missing:?}, which is not a detection rule of the pack"),
                    });
                    false
                }
                None => {
                    fed.extend(a.rules.iter().cloned());
                    true
                }
            }
        });
        correlations.retain(|(c, info)| match c.rules.iter().find(|r| !ids.contains(*r)) {
            Some(missing) => {
                errors.push(RuleError {
                    file: info.file.clone(),
                    line: info.line,
                    reason: format!("correlation names rule {missing:?}, which is not a detection rule of the pack"),
                });
                false
            }
            None => {
                if !c.generate {
                    fed.extend(c.rules.iter().cloned());
                }
                correlated.extend(c.rules.iter().cloned());
                true
            }
        });
        for (rule, mut info) in detections {
            pack.names.insert(info.uuid.clone(), info.id.clone());
            info.building_block = fed.contains(&info.id) || info.level == Level::Informational;
            info.correlated = correlated.contains(&info.id);
            pack.rules.insert(info.id.clone(), info);
            pack.collection.rules.push(rule);
        }
        for (rule, info) in correlations {
            pack.names.insert(info.uuid.clone(), info.id.clone());
            pack.rules.insert(info.id.clone(), info);
            pack.collection.correlations.push(rule);
        }
        (pack, errors)
    }

    fn document(ck: &Checker<'_>, doc: &str) -> Result<Parsed, RuleError> {
        let raw: Yaml = serde_yaml_ng::from_str(doc).map_err(|e| {
            let line = e.location().map_or(1, |l| l.line());
            RuleError { file: ck.file.to_owned(), line: ck.start + line - 1, reason: format!("not YAML: {e}") }
        })?;
        if !raw.is_mapping() {
            return Err(ck.err("", "a rule is a YAML mapping (title, id, logsource, detection...)"));
        }
        let Some(uuid) = raw.get("id").and_then(Yaml::as_str).map(str::to_owned) else {
            return Err(ck.err("title", "every rule needs an `id`, a UUID (as Sigma tools require)"));
        };
        if !is_uuid(&uuid) {
            return Err(ck.err("id", format!("`id` {uuid:?} is not a UUID (Sigma tools such as pySigma refuse it)")));
        }
        // Rules are named by `name` (what correlations and absences cite), else by id.
        let id = raw.get("name").and_then(Yaml::as_str).map_or_else(|| uuid.clone(), str::to_owned);
        let absence = if raw.get("correlation").is_some() {
            ck.correlation(&raw)?;
            None
        } else {
            ck.detection(&raw)?;
            ck.absence(&raw)?
        };
        let parsed = rsigma_parser::parse_sigma_yaml(doc).map_err(|e| ck.err("", e.to_string()))?;
        if let Some(e) = parsed.errors.first() {
            let needle = if e.contains("ondition") { "condition" } else { "" };
            return Err(ck.err(needle, e.clone()));
        }
        let info = |title: &str, description: Option<&String>, level: Option<Level>, correlation: bool| RuleInfo {
            id: id.clone(),
            uuid: uuid.clone(),
            title: title.to_owned(),
            description: description.cloned().unwrap_or_default(),
            level: rule_level(level),
            file: ck.file.to_owned(),
            line: ck.start,
            correlation,
            absence: absence.clone(),
            building_block: false,
            correlated: false,
        };
        if let Some(c) = parsed.correlations.into_iter().next() {
            let i = info(&c.title, c.description.as_ref(), c.level, true);
            return Ok(Parsed::Correlation(Box::new(c), i));
        }
        if let Some(r) = parsed.rules.into_iter().next() {
            let i = info(&r.title, r.description.as_ref(), r.level, false);
            return Ok(Parsed::Detection(Box::new(r), i));
        }
        Err(ck.err("", "neither a detection rule nor a correlation"))
    }
}

enum Parsed {
    Detection(Box<SigmaRule>, RuleInfo),
    Correlation(Box<CorrelationRule>, RuleInfo),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> RuleFile {
        RuleFile { path: "rules/t.yml".into(), text: text.into() }
    }

    const GOOD: &str = "title: Forced door\nid: 5f1d1c9e-0b7a-4d0e-9a51-2f4f4f7d0c01\nname: door-forced\nlogsource:\n  product: stockade\n  category: access\ndetection:\n  sel:\n    kind: access.door_forced\n  condition: sel\nlevel: high\n";

    #[test]
    fn a_good_rule_loads() {
        let (pack, errors) = Pack::parse(&[file(GOOD)]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(pack.rules["door-forced"].level, Level::High);
        assert_eq!(pack.collection.rules.len(), 1);
    }

    fn refused(text: &str) -> RuleError {
        let (_, errors) = Pack::parse(&[file(text)]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors[0].clone()
    }

    #[test]
    fn refusals_name_file_line_and_reason() {
        let bad_yaml = format!("{GOOD}---\ntitle: x\n  id: [\n");
        let e = refused(&bad_yaml);
        assert_eq!(e.file, "rules/t.yml");
        assert!(e.line >= 12, "{e}");
        assert!(e.reason.contains("not YAML"), "{e}");

        let unknown = GOOD.replace("kind: access.door_forced", "portal: x");
        let e = refused(&unknown);
        assert_eq!(e.line, 9, "{e}");
        assert!(e.reason.contains("unknown field `portal`"), "{e}");

        let ctx = GOOD.replace("kind: access.door_forced", "ctx.afterhours: true");
        assert!(refused(&ctx).reason.contains("docs/RULES.md"));

        let family = GOOD.replace("category: access", "category: windows");
        assert!(refused(&family).reason.contains("event family"));

        let syntax = GOOD.replace("condition: sel", "condition: sel and (");
        let e = refused(&syntax);
        assert_eq!(e.line, 10, "{e}");

        let regex = GOOD.replace("kind: access.door_forced", "door|re: '(a+)+b'");
        let e = refused(&regex);
        assert!(e.reason.contains("nests quantifiers"), "{e}");
        assert_eq!(e.line, 9);

        let dup = format!("{GOOD}---\n{GOOD}");
        let e = refused(&dup);
        assert!(e.reason.contains("duplicate rule name \"door-forced\""), "{e}");
        assert_eq!(e.line, 13);
        let dup_id = format!("{GOOD}---\n{}", GOOD.replace("name: door-forced", "name: other"));
        assert!(refused(&dup_id).reason.contains("duplicate rule id \"5f1d1c9e"), "dup id");

        let no_id = GOOD.replace("id: 5f1d1c9e-0b7a-4d0e-9a51-2f4f4f7d0c01\n", "");
        assert!(refused(&no_id).reason.contains("needs an `id`"));
        let not_uuid = GOOD.replace("5f1d1c9e-0b7a-4d0e-9a51-2f4f4f7d0c01", "door-forced");
        assert!(refused(&not_uuid).reason.contains("not a UUID"));
    }

    #[test]
    fn correlations_need_a_timespan_and_known_rules() {
        let corr = "title: many\nid: 5f1d1c9e-0b7a-4d0e-9a51-2f4f4f7d0c02\nname: many-forced\ncorrelation:\n  type: event_count\n  rules: [door-forced]\n  group-by: [door]\n  condition:\n    gte: 3\nlevel: high\n";
        let (_, errors) = Pack::parse(&[file(&format!("{GOOD}---\n{corr}"))]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].reason.contains("timespan"), "{errors:?}");
        assert_eq!(errors[0].line, 16);

        let ok = corr.replace("  group-by", "  timespan: 10m\n  group-by");
        let (pack, errors) = Pack::parse(&[file(&format!("{GOOD}---\n{ok}"))]);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(pack.rules["many-forced"].correlation);
        assert!(pack.rules["door-forced"].correlated, "its events are remembered to name the contributors");

        let unknown = ok.replace("rules: [door-forced]", "rules: [door-opened]");
        let (_, errors) = Pack::parse(&[file(&format!("{GOOD}---\n{unknown}"))]);
        assert!(errors[0].reason.contains("\"door-opened\""), "{errors:?}");

        let bad_group = ok.replace("group-by: [door]", "group-by: [portal]");
        let (_, errors) = Pack::parse(&[file(&format!("{GOOD}---\n{bad_group}"))]);
        assert!(errors[0].reason.contains("unknown field `portal` in group-by"), "{errors:?}");
    }

    #[test]
    fn absence_is_checked() {
        let a = format!(
            "{GOOD}---\ntitle: shipped unpicked\nid: 5f1d1c9e-0b7a-4d0e-9a51-2f4f4f7d0c03\nname: unpicked\nlogsource:\n  product: stockade\n  category: inventory\ndetection:\n  s:\n    kind: inventory.shipped\n  condition: s\nabsence:\n  rules: [door-forced]\n  match: [order]\n  within: 12h\n  look: before\n"
        );
        let (pack, errors) = Pack::parse(&[file(&a)]);
        assert!(errors.is_empty(), "{errors:?}");
        let abs = pack.rules["unpicked"].absence.clone().unwrap();
        assert_eq!(abs.within, 43_200);
        assert_eq!(abs.look, Look::Before);
        assert!(pack.rules["door-forced"].building_block);
        assert!(!pack.rules["door-forced"].correlated, "no correlation names it");
        for (from, to, why) in [
            ("within: 12h", "within: soon", "within"),
            ("look: before", "look: later", "before, after or around"),
            ("rules: [door-forced]", "rules: [nope]", "\"nope\""),
            ("match: [order]", "match: [ordr]", "unknown field `ordr`"),
            ("look: before", "look: before\n  until: 3", "unknown key `until`"),
        ] {
            let (_, errors) = Pack::parse(&[file(&a.replace(from, to))]);
            assert_eq!(errors.len(), 1, "{to}: {errors:?}");
            assert!(errors[0].reason.contains(why), "{to}: {errors:?}");
        }
    }

    #[test]
    fn nested_quantifiers_are_found() {
        assert!(nested_quantifier("(a+)+").is_some());
        assert!(nested_quantifier("(\\w*)*x").is_some());
        assert!(nested_quantifier("((ab)+c)*").is_some());
        assert!(nested_quantifier("(a|b)+").is_none());
        assert!(nested_quantifier("a+b*").is_none());
        assert!(nested_quantifier("[(+)]+").is_none());
        assert!(nested_quantifier("\\(a+\\)+").is_none());
    }
}
