//! `stockade kpi`: the response KPIs of a data directory or a running
//! server, as a table or JSON (definitions: docs/KPI.md).

use crate::cli::KpiArgs;
use anyhow::{Context, Result, bail};
use stockade_app::book::BookQuery;
use stockade_app::response::{Kpi, KpiQuery};
use stockade_respond::Spread;
use stockade_respond::kpi::readable as human;
use stockade_store::DataDir;

/// An optional RFC 3339 argument, named in its error.
pub fn time(name: &str, v: &Option<String>) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    v.as_deref()
        .map(|s| {
            stockade_model::event::rfc3339::parse(s)
                .map(|t| t.to_utc())
                .map_err(|e| anyhow::anyhow!("--{name} {s:?}: {e}"))
        })
        .transpose()
}

pub async fn run(a: KpiArgs) -> Result<()> {
    let q = KpiQuery {
        site: a.site.clone(),
        from: time("from", &a.from)?,
        to: time("to", &a.to)?,
        every: a.every.as_deref().map(str::parse).transpose().map_err(|e: String| anyhow::anyhow!(e))?,
    };
    if let (Some(f), Some(t)) = (q.from, q.to)
        && f >= t
    {
        bail!("--to must be after --from");
    }
    let kpi = match (&a.main.server, &a.main.token) {
        (Some(url), Some(token)) => from_server(url, token, &a).await?,
        _ => {
            let dir = a.main.data.clone().unwrap_or_else(|| "stockade-data".into());
            let opened = DataDir::new(&dir)
                .open_existing()
                .await
                .with_context(|| format!("opening the data directory {}", dir.display()))?;
            let stage = stockade_app::stage::Stage::start(opened.store.clone()).await?;
            let counts = stage.counts(&BookQuery::default()).await;
            let kpi = match counts {
                Ok(c) => stockade_app::response::report(&*opened.store, &c, &q).await.map_err(anyhow::Error::from),
                Err(e) => Err(e.into()),
            };
            crate::close(&stage, &*opened.store).await;
            kpi?
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&kpi)?);
    } else {
        print!("{}", table(&kpi));
    }
    Ok(())
}

async fn from_server(url: &str, token: &str, a: &KpiArgs) -> Result<Kpi> {
    let base = url.trim_end_matches('/');
    let params: Vec<(&str, &str)> = [("site", &a.site), ("from", &a.from), ("to", &a.to), ("every", &a.every)]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect();
    let r = crate::http_client()?
        .get(format!("{base}/api/v1/kpi"))
        .query(&params)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("reaching {base}"))?;
    let status = r.status();
    let body = r.bytes().await.with_context(|| format!("reading the KPIs from {base}"))?;
    if !status.is_success() {
        bail!("{base}: {status}: {}", String::from_utf8_lossy(&body));
    }
    serde_json::from_slice(&body).with_context(|| format!("{base} answered with something other than KPIs"))
}

fn row(name: &str, s: &Spread) -> String {
    format!(
        "{name:<16} {:>6} {:>10} {:>10} {:>10} {:>10}\n",
        s.count,
        human(s.median_s),
        human(s.mean_s),
        human(s.p90_s),
        human(s.max_s)
    )
}

fn table(k: &Kpi) -> String {
    let f = &k.figures;
    let scope = k.site.as_deref().map_or("all sites".to_owned(), |s| format!("site {s}"));
    let period = match (k.from, k.to) {
        (None, None) => "any time".to_owned(),
        (Some(f), None) => format!("from {}", f.to_rfc3339()),
        (None, Some(t)) => format!("before {}", t.to_rfc3339()),
        (Some(f), Some(t)) => format!("from {} to {}", f.to_rfc3339(), t.to_rfc3339()),
    };
    let mut out = format!("{scope}, incidents detected {period}\n");
    out += &format!(
        "incidents {}  open {}  uncontained {}  false positives {}  duplicates {}\n\n",
        f.incidents, f.open, f.uncontained, f.false_positives, f.duplicates
    );
    out += &format!("{:<16} {:>6} {:>10} {:>10} {:>10} {:>10}\n", "", "n", "median", "mean", "p90", "max");
    out += &row("time to detect", &f.time_to_detect);
    out += &row("time to triage", &f.time_to_triage);
    out += &row("time to contain", &f.time_to_contain);
    out += &row("time to recover", &f.time_to_recover);
    out += &format!(
        "\ntasks: {} on time, {} late, {} skipped (on time: {})\n",
        f.tasks_on_time,
        f.tasks_late,
        f.tasks_skipped,
        f.tasks_on_time_rate.map_or("-".to_owned(), |r| format!("{:.1}%", 100.0 * r))
    );
    let e = &k.exercises;
    out += &format!(
        "exercises: {} run, mean score {}\n",
        e.run,
        e.mean_score.map_or("-".to_owned(), |m| format!("{m:.0}/100"))
    );
    let i = &k.inventory;
    let pct = |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{:.2}%", 100.0 * x));
    out += &format!(
        "\ninventory: {} counted lines, record accuracy {}, value variance rate {}, shrink {:.2}\n",
        i.counted_lines,
        pct(i.record_accuracy),
        pct(i.value_variance_rate),
        i.shrink_value
    );
    if !k.trend.is_empty() {
        out += &format!(
            "\n{:<12} {:>9} {:>5} {:>14} {:>16} {:>16}\n",
            "from", "incidents", "open", "median detect", "median contain", "median recover"
        );
        for p in &k.trend {
            let g = &p.figures;
            out += &format!(
                "{:<12} {:>9} {:>5} {:>14} {:>16} {:>16}\n",
                p.from.date_naive(),
                g.incidents,
                g.open,
                human(g.time_to_detect.median_s),
                human(g.time_to_contain.median_s),
                human(g.time_to_recover.median_s)
            );
        }
    }
    out
}
