//! Communications: a template (`communications/`) filled from an
//! incident's facts is drafted into its timeline; someone other than the
//! drafter approves it; sending it is logged (channel, recipients, who,
//! when). Each step is a timeline entry and a ledger leaf.

use crate::casebook::Casebook;
use crate::response::{ResponseError, Worked, worked};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use stockade_model::clock::Clock;
use stockade_respond::comms::Templates;
use stockade_respond::{Act, Refused};
use stockade_store::{Ledger, Store};

/// The templates built into the binary.
pub const BUILTIN: &[(&str, &str)] = &[
    ("communications/customer-notice.yml", include_str!("../../../communications/customer-notice.yml")),
    ("communications/incident-briefing.yml", include_str!("../../../communications/incident-briefing.yml")),
    ("communications/insurer-notice.yml", include_str!("../../../communications/insurer-notice.yml")),
    ("communications/regulator-notice.yml", include_str!("../../../communications/regulator-notice.yml")),
];

/// The built-in templates, checked.
pub fn builtin() -> Result<Templates, Vec<String>> {
    Templates::parse(&BUILTIN.iter().map(|(p, t)| ((*p).to_owned(), (*t).to_owned())).collect::<Vec<_>>())
}

/// What a caller asks: draft from this template to these recipients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    pub template: String,
    pub to: Vec<String>,
}

fn when(t: chrono::DateTime<chrono::FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The facts a template may name, from an incident as it stands.
pub fn facts(w: &Worked, stake: &crate::alerts::Stake) -> BTreeMap<&'static str, String> {
    let r = &w.response;
    let i = &w.record.incident;
    let severity =
        serde_json::to_value(r.severity).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let (units, value) = match r.stake {
        Some(d) => (d.units, d.value),
        None => (stake.units, stake.value),
    };
    let contained = if r.contained.is_empty() {
        "none yet".to_owned()
    } else {
        r.contained.iter().map(|c| format!("{} {}", c.action, c.target)).collect::<Vec<_>>().join(", ")
    };
    BTreeMap::from([
        ("incident", w.record.id.clone()),
        ("title", i.title.clone()),
        ("site", i.site.clone()),
        ("sites", r.sites.join(", ")),
        ("severity", severity),
        ("status", r.status.to_string()),
        ("detected", when(r.detected)),
        ("first_signal", when(r.first_signal)),
        ("from", when(i.from)),
        ("to", when(i.to)),
        ("stake_units", format!("{units}")),
        ("stake_value", format!("{value:.2}")),
        ("owner", r.owner.clone().unwrap_or_else(|| "not assigned yet".into())),
        ("contained", contained),
    ])
}

impl Casebook {
    /// Drafts a communication for incident `id` from a template, filled
    /// from its facts now. Answers the incident as it now stands.
    pub async fn draft(
        &self,
        store: &dyn Store,
        ledger: Option<&Arc<Ledger>>,
        clock: &dyn Clock,
        actor: &str,
        id: &str,
        draft: Draft,
    ) -> Result<Worked, ResponseError> {
        let Some(template) = self.templates().get(&draft.template).cloned() else {
            let ids: Vec<&str> = self.templates().templates.iter().map(|t| t.id.as_str()).collect();
            return Err(Refused(format!("no template {:?}; one of {}", draft.template, ids.join(", "))).into());
        };
        let to: Vec<String> = draft.to.iter().map(|t| t.trim().to_owned()).collect();
        if to.is_empty() || to.len() > 100 || to.iter().any(|t| t.is_empty() || t.len() > 200) {
            return Err(Refused("`to` names 1-100 recipients, each in 1-200 characters".into()).into());
        }
        let stake = crate::alerts::stake(&crate::alerts::of_incident(store, id).await?);
        let _one = self.hold().await;
        let mut w = worked(store, id).await?;
        w.response.refuse_if_merged()?;
        let (subject, body) = template.fill(&facts(&w, &stake));
        let audience = serde_json::to_value(template.audience)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let act = Act::Drafted {
            communication: w.response.next_communication(),
            template: template.id.clone(),
            version: template.version,
            audience,
            to,
            subject,
            body,
        };
        crate::response::record_act(store, ledger, clock, actor, &mut w, act).await?;
        Ok(w)
    }
}
