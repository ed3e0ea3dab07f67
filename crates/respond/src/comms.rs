//! Communications: templates for customers, insurers, regulators and the
//! incident team, filled from an incident's facts; drafted, approved by a
//! second person, and logged when sent (`docs/RESPONSE.md`).
//!
//! Templates are plain text with `{{name}}` placeholders from a closed
//! list ([`FACTS`]); a template naming any other is refused when the pack
//! loads, with its file and line. Filling never evaluates anything.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The facts a template may name.
pub const FACTS: [&str; 14] = [
    "incident",
    "title",
    "site",
    "sites",
    "severity",
    "status",
    "detected",
    "first_signal",
    "from",
    "to",
    "stake_units",
    "stake_value",
    "owner",
    "contained",
];

/// Who a communication is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Customer,
    Insurer,
    Regulator,
    LawEnforcement,
    Internal,
}

/// A template as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub id: String,
    pub version: u32,
    pub audience: Audience,
    pub title: String,
    pub subject: String,
    pub body: String,
}

/// The checked templates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Templates {
    pub templates: Vec<Template>,
}

/// The placeholders of a text, with the byte offset of each.
fn placeholders(text: &str) -> Result<Vec<(usize, &str)>, (usize, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut at = 0;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}").filter(|c| !after[..*c].contains("{{")) else {
            return Err((at + open, "`{{` without its `}}`".into()));
        };
        out.push((at + open, after[..close].trim()));
        let consumed = open + 2 + close + 2;
        at += consumed;
        rest = &rest[consumed..];
    }
    Ok(out)
}

fn line_at(text: &str, field: &str, offset_in_field: usize) -> usize {
    // The field's value starts somewhere after its key; count lines up to
    // the key, then the newlines inside the value before the fault.
    let key = text.lines().position(|l| l.trim_start().starts_with(&format!("{field}:"))).unwrap_or(0);
    key + 1 + usize::from(text.lines().nth(key).is_some_and(|l| l.trim_end().ends_with('|'))) + offset_in_field
}

impl Templates {
    /// Parses and checks templates, one per file; any refusal refuses the
    /// pack, each reported as `file:line: reason`.
    pub fn parse(files: &[(String, String)]) -> Result<Templates, Vec<String>> {
        let mut errors = Vec::new();
        let mut out: Vec<Template> = Vec::new();
        for (path, text) in files {
            let t: Template = match serde_yaml_ng::from_str(text) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(format!("{path}:{}: {e}", e.location().map_or(1, |l| l.line())));
                    continue;
                }
            };
            let named = !t.id.is_empty()
                && t.id.len() <= 100
                && t.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !named || out.iter().any(|o| o.id == t.id) {
                errors.push(format!("{path}:1: template id {:?} is malformed or repeated", t.id));
            }
            if t.version == 0 {
                errors.push(format!("{path}:1: `version` starts at 1"));
            }
            for (field, value) in [("subject", &t.subject), ("body", &t.body)] {
                if value.trim().is_empty() {
                    errors.push(format!("{path}:1: `{field}` must not be empty"));
                }
                match placeholders(value) {
                    Err((off, why)) => {
                        let line = line_at(text, field, value[..off].matches('\n').count());
                        errors.push(format!("{path}:{line}: {field}: {why}"));
                    }
                    Ok(names) => {
                        for (off, name) in names {
                            if !FACTS.contains(&name) {
                                let line = line_at(text, field, value[..off].matches('\n').count());
                                errors.push(format!(
                                    "{path}:{line}: {field}: unknown placeholder {{{{{name}}}}}; one of {}",
                                    FACTS.join(", ")
                                ));
                            }
                        }
                    }
                }
            }
            out.push(t);
        }
        if errors.is_empty() { Ok(Templates { templates: out }) } else { Err(errors) }
    }

    pub fn get(&self, id: &str) -> Option<&Template> {
        self.templates.iter().find(|t| t.id == id)
    }
}

impl Template {
    /// The subject and body with every placeholder replaced by its fact
    /// (a fact not given is left as `(unknown)`).
    pub fn fill(&self, facts: &BTreeMap<&str, String>) -> (String, String) {
        let fill = |text: &str| {
            let mut out = String::with_capacity(text.len());
            let mut rest = text;
            while let Some(open) = rest.find("{{") {
                out.push_str(&rest[..open]);
                let after = &rest[open + 2..];
                match after.find("}}") {
                    Some(close) => {
                        let name = after[..close].trim();
                        out.push_str(facts.get(name).map_or("(unknown)", String::as_str));
                        rest = &after[close + 2..];
                    }
                    None => {
                        out.push_str(&rest[open..]);
                        rest = "";
                    }
                }
            }
            out.push_str(rest);
            out
        };
        (fill(&self.subject), fill(&self.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTICE: &str = "id: insurer-notice\nversion: 1\naudience: insurer\ntitle: Notice\nsubject: \"Loss at {{site}}: {{incident}}\"\nbody: |\n  Dear claims team,\n  {{stake_units}} units worth {{stake_value}} are missing.\n";

    #[test]
    fn templates_fill_from_facts_and_refuse_unknown_placeholders_by_line() {
        let t = Templates::parse(&[("n.yml".into(), NOTICE.into())]).unwrap();
        let facts = BTreeMap::from([
            ("site", "LYS".to_owned()),
            ("incident", "INC-3".to_owned()),
            ("stake_units", "40".to_owned()),
        ]);
        let (subject, body) = t.get("insurer-notice").unwrap().fill(&facts);
        assert_eq!(subject, "Loss at LYS: INC-3");
        assert_eq!(body, "Dear claims team,\n40 units worth (unknown) are missing.\n");
        let bad = NOTICE.replace("{{stake_value}}", "{{ password }}");
        let e = Templates::parse(&[("n.yml".into(), bad)]).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("n.yml:8: body: unknown placeholder {{password}}"), "{e:?}");
        let open = NOTICE.replace("{{site}}", "{{site");
        assert!(Templates::parse(&[("n.yml".into(), open)]).unwrap_err()[0].contains("without its `}}`"));
        let e = Templates::parse(&[("a.yml".into(), NOTICE.into()), ("b.yml".into(), NOTICE.into())]).unwrap_err();
        assert!(e[0].starts_with("b.yml:1: template id \"insurer-notice\" is malformed or repeated"), "{e:?}");
        let e = Templates::parse(&[("n.yml".into(), NOTICE.replace("insurer\n", "press\n"))]).unwrap_err();
        assert!(e[0].contains("unknown variant `press`"), "{e:?}");
    }
}
