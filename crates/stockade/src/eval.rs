//! `stockade eval`: scores incidents (from a file, a data directory or a
//! running server) against a simulation's truth.

use crate::cli::EvalArgs;
use anyhow::{Context, Result, bail};
use std::path::Path;
use stockade_incident::IncidentRecord;
use stockade_store::{IncidentQuery, Store};
use stockade_twin::Truth;
use stockade_twin::truth::{Development, EventRef, Incident, Incidents};

pub async fn run(a: &EvalArgs) -> Result<()> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let truth = Truth::from_json(&read(&a.truth)?).with_context(|| format!("in {}", a.truth.display()))?;
    let incidents = match (&a.incidents, &a.data, &a.server) {
        (Some(file), data, _) => {
            if let Some(data) = data {
                check_truth_against(&truth, &*open_data(data).await?, data).await?;
            }
            Incidents::from_json(&read(file)?).with_context(|| format!("in {}", file.display()))?
        }
        (None, Some(data), _) => {
            // One open of the data directory serves both the check and the incidents.
            let store = open_data(data).await?;
            check_truth_against(&truth, &*store, data).await?;
            from_store(&*store).await?
        }
        (None, None, Some(url)) => from_server(url, a.token.as_deref().unwrap_or_default()).await?,
        (None, None, None) => bail!("say where the incidents are: --incidents FILE, --data DIR or --server URL"),
    };
    let scores = stockade_twin::score(&truth, &incidents);
    print!("{}", stockade_twin::score::render(&scores));
    if let Some(out) = &a.json {
        std::fs::write(out, serde_json::to_vec_pretty(&scores)?)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

/// An incident as the scorer sees it.
fn scored((r, developments): (IncidentRecord, Vec<Development>)) -> Incident {
    let i = r.incident;
    Incident {
        id: r.id,
        site: i.site,
        // A detector's incident is scored at its detection time (event
        // time), so that a replay scores as the live run would.
        opened_at: i.detected_at.unwrap_or(r.opened_at),
        scenario: i.scenario,
        entities: i.entities,
        from: i.from,
        to: i.to,
        events: i.events.into_iter().map(|e| EventRef { source: e.source, id: e.id }).collect(),
        developments,
    }
}

/// Each alert that joined an incident's case after it opened, as a development.
fn developments<'a>(alerts: impl IntoIterator<Item = &'a stockade_detect::Alert>) -> Vec<Development> {
    alerts
        .into_iter()
        .map(|a| Development {
            at: a.at,
            from: a.at,
            to: a.at,
            entities: a.entities.iter().filter(|e| e.kind != "site").map(|e| e.id.clone()).collect(),
            events: std::iter::once(&a.event)
                .chain(&a.related)
                .map(|k| EventRef { source: k.source.clone(), id: k.id.clone() })
                .collect(),
        })
        .collect()
}

fn incidents(records: Vec<(IncidentRecord, Vec<Development>)>) -> Incidents {
    Incidents { format: "stockade-incidents/1".into(), incidents: records.into_iter().map(scored).collect() }
}

async fn open_data(data: &Path) -> Result<std::sync::Arc<dyn Store>> {
    if !stockade_store::DataDir::is_data_dir(data) {
        bail!("{} holds no data directory", data.display());
    }
    crate::open_store(data).await
}

/// Refuses a truth whose events are not in the data directory.
async fn check_truth_against(truth: &Truth, store: &dyn Store, data: &Path) -> Result<()> {
    let wanted: Vec<(&stockade_twin::truth::Instance, &EventRef)> =
        truth.instances.iter().flat_map(|i| i.events.iter().map(move |e| (i, e))).collect();
    let keys: Vec<(&str, &str)> = wanted.iter().map(|(_, e)| (e.source.as_str(), e.id.as_str())).collect();
    let found = store.has_events(&keys).await?;
    let missing: Vec<String> = wanted
        .iter()
        .zip(found)
        .filter(|(_, f)| !f)
        .map(|((i, e), _)| format!("{} ({}): {}/{}", i.id, i.scenario.as_str(), e.source, e.id))
        .collect();
    if !missing.is_empty() {
        bail!(
            "the truth does not match {}: {} of its events were never ingested there, e.g. {}",
            data.display(),
            missing.len(),
            missing.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        );
    }
    Ok(())
}

/// The incidents of a data directory as they stand: each with what joined
/// its case after it opened (the API's `since_opened`), as developments.
pub(crate) async fn from_store(store: &dyn Store) -> Result<Incidents> {
    let mut all = Vec::new();
    loop {
        let q = IncidentQuery { site: None, after: all.last().map_or(0, |i: &IncidentRecord| i.n), limit: 10_000 };
        let page = store.incidents(&q).await?;
        if page.is_empty() {
            break;
        }
        all.extend(page);
    }
    let mut grown = Vec::with_capacity(all.len());
    for r in all {
        let since = stockade_app::alerts::since_opened(&r, stockade_app::alerts::of_incident(store, &r.id).await?);
        let devs = developments(since.alerts.iter().map(|a| &a.alert));
        grown.push((r, devs));
    }
    Ok(incidents(grown))
}

async fn from_server(url: &str, token: &str) -> Result<Incidents> {
    let client = crate::http_client()?;
    let base = url.trim_end_matches('/');
    let mut all: Vec<IncidentRecord> = Vec::new();
    loop {
        let after = all.last().map_or(0, |i| i.n);
        let r = client
            .get(format!("{base}/api/v1/incidents?after={after}&limit=10000"))
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("reaching {base}"))?;
        let status = r.status();
        let body = r.bytes().await.with_context(|| format!("reading the incidents from {base}"))?;
        if !status.is_success() {
            bail!("{base}: {status}: {}", String::from_utf8_lossy(&body));
        }
        let page: Vec<IncidentRecord> = serde_json::from_slice(&body)
            .with_context(|| format!("{base} answered with something other than incidents"))?;
        if page.is_empty() {
            break;
        }
        all.extend(page);
    }
    // Each as it stands: what joined its case since it opened.
    let mut grown = Vec::with_capacity(all.len());
    for rec in all {
        let r = client
            .get(format!("{base}/api/v1/incidents/{}", rec.id))
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("reaching {base}"))?;
        let status = r.status();
        let body = r.bytes().await.with_context(|| format!("reading incident {} from {base}", rec.id))?;
        if !status.is_success() {
            bail!("{base}: {status}: {}", String::from_utf8_lossy(&body));
        }
        #[derive(serde::Deserialize, Default)]
        struct View {
            #[serde(default)]
            since_opened: Since,
        }
        #[derive(serde::Deserialize, Default)]
        struct Since {
            #[serde(default)]
            alerts: Vec<stockade_detect::Alert>,
        }
        let v: View = serde_json::from_slice(&body)
            .with_context(|| format!("{base} answered with something other than incident {}", rec.id))?;
        let devs = developments(&v.since_opened.alerts);
        grown.push((rec, devs));
    }
    Ok(incidents(grown))
}
