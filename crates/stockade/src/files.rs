//! `stockade import` and `stockade ingest`: files into a local data directory
//! or a running server, in batches, with a progress bar on long files.

use crate::cli::{FileFormat, IngestArgs};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use stockade_ingest::LineError;
use stockade_ingest::csv_map::{CsvMapping, Record, RecordSource};
use stockade_ingest::reference_files;
use stockade_model::clock::Clock;
use stockade_model::{ReferenceData, SiteId, SourceId};
use stockade_server::{IngestReport, Intake, LineResult, Lines};
use tokio::task::JoinSet;

/// What the reader thread hands on, for the ingest tasks to parse or map
/// in parallel: rows of a CSV export as read, or raw NDJSON lines
/// (`first_line`, bytes).
enum Chunk {
    Rows(CsvRows),
    /// Raw NDJSON: its first line number, how many lines, and the bytes.
    Lines(usize, usize, Vec<u8>),
}

/// CSV rows read but not yet mapped, and what mapping them needs.
struct CsvRows {
    mapping: Arc<CsvMapping>,
    source: Arc<RecordSource>,
    rows: Vec<Record>,
    /// Rows of the file the mapping's `skip`/`keep` left out, over all chunks.
    skipped: Arc<AtomicUsize>,
}

impl Chunk {
    fn into_batch(self) -> Lines {
        match self {
            Chunk::Rows(CsvRows { mapping, source, rows, skipped }) => {
                let n = rows.len();
                let batch: Lines = rows.into_iter().filter_map(|r| mapping.map_record(&source, r)).collect();
                skipped.fetch_add(n - batch.len(), Ordering::Relaxed);
                batch
            }
            Chunk::Lines(first, _, bytes) => stockade_ingest::parse_ndjson(&bytes, first),
        }
    }
}

/// Reads reference files into one set (so files may refer to each other);
/// CSV exports go through `mapping` when one is given, whose lookups search
/// the reference data already `known`.
pub fn read_reference(files: &[PathBuf], mapping: Option<&Path>, known: &ReferenceData) -> Result<ReferenceData> {
    let mapping = match mapping {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let mut m = stockade_ingest::csv_map::ReferenceMapping::from_yaml(&text)
                .with_context(|| format!("in {}", p.display()))?;
            if !m.needs_reference().is_empty() {
                m.bind(&known.rows());
            }
            Some(m)
        }
        None => None,
    };
    let mut all = ReferenceData::default();
    for f in files {
        let name = f.display().to_string();
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
        let data = match ext.as_str() {
            "yaml" | "yml" | "json" => {
                let text = std::fs::read_to_string(f).with_context(|| format!("reading {name}"))?;
                reference_files::from_yaml(&text).with_context(|| format!("in {name}"))?
            }
            "csv" if mapping.is_some() => {
                let file = std::fs::File::open(f).with_context(|| format!("reading {name}"))?;
                let m =
                    mapping.as_ref().map(|m| m.read(file, &name)).transpose().with_context(|| format!("in {name}"))?;
                let Some((data, skipped)) = m else { bail!("{name}: no mapping") };
                if skipped > 0 {
                    eprintln!("{name}: {skipped} rows skipped by the mapping");
                }
                data
            }
            "csv" => {
                let kind = reference_files::kind_of_file(&name)?;
                let file = std::fs::File::open(f).with_context(|| format!("reading {name}"))?;
                reference_files::from_csv(kind, file).with_context(|| format!("in {name}"))?
            }
            _ => bail!("{name}: reference files are .yaml, .yml, .json or .csv"),
        };
        all.extend(data);
    }
    Ok(all)
}

pub async fn import(intake: &Intake, files: &[PathBuf], mapping: Option<&Path>) -> Result<usize> {
    let data = read_reference(files, mapping, &intake.reference().data)?;
    Ok(intake.import_reference(data).await?)
}

fn format_of(path: &Path, requested: FileFormat) -> Result<FileFormat> {
    if requested != FileFormat::Auto {
        return Ok(requested);
    }
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("ndjson" | "jsonl") => Ok(FileFormat::Ndjson),
        Some("csv") => Ok(FileFormat::Csv),
        Some("json" | "jsonld" | "xml") => Ok(FileFormat::Epcis),
        _ => {
            bail!("{}: cannot tell the format from the extension; pass --format ndjson, csv or epcis", path.display())
        }
    }
}

/// One rejected line, as `--rejected FILE` writes it (NDJSON).
#[derive(serde::Serialize)]
struct RejectedLine<'a> {
    file: String,
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    reason: &'a str,
    /// The line as the file has it (NDJSON and CSV; an EPCIS document's
    /// "lines" are its events, numbered from 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

/// Writes a file's rejections with the text of each rejected line, read
/// back from the file, so that they can be fixed and sent again.
fn write_rejections(
    out: &mut impl std::io::Write,
    path: &Path,
    format: FileFormat,
    rejections: &[LineError],
) -> Result<()> {
    let mut texts = std::collections::BTreeMap::new();
    if format != FileFormat::Epcis && !rejections.is_empty() {
        let wanted: std::collections::BTreeSet<usize> = rejections.iter().map(|e| e.line).collect();
        let file = std::fs::File::open(path).with_context(|| format!("reading {} again", path.display()))?;
        for (i, line) in std::io::BufRead::lines(std::io::BufReader::new(file)).enumerate() {
            let n = i + 1;
            if n > *wanted.last().unwrap_or(&0) {
                break;
            }
            if wanted.contains(&n) {
                texts.insert(n, line?.trim_end_matches('\r').to_owned());
            }
        }
    }
    for e in rejections {
        let row = RejectedLine {
            file: path.display().to_string(),
            line: e.line,
            field: e.field.as_deref(),
            reason: &e.reason,
            text: texts.get(&e.line).cloned(),
        };
        serde_json::to_writer(&mut *out, &row)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Where batches go.
#[derive(Clone)]
enum Sink {
    Local(Intake),
    Remote { client: reqwest::Client, url: String, token: String },
}

/// EPCIS documents parsed ahead of the one being stored.
const PARSED_AHEAD: usize = 2;

impl Sink {
    /// Sends one EPCIS document to a server's capture interface.
    async fn capture(&self, path: &Path, source: &SourceId, site: Option<&SiteId>) -> Result<IngestReport> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        match self {
            Sink::Local(_) => bail!("a local ingest parses and stores its documents itself"),
            Sink::Remote { client, url, token } => {
                let mut req = client
                    .post(format!("{}/epcis/capture", url.trim_end_matches('/')))
                    .bearer_auth(token)
                    .header(
                        "content-type",
                        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
                            "application/xml"
                        } else {
                            "application/ld+json"
                        },
                    )
                    .query(&[("source", source.as_str())]);
                if let Some(site) = site {
                    req = req.query(&[("site", site.as_str())]);
                }
                let resp = req.body(bytes).send().await.with_context(|| format!("sending to {url}"))?;
                let status = resp.status();
                let text = resp.text().await?;
                if !status.is_success() {
                    bail!("server answered {status}: {text}");
                }
                let job: stockade_server::api::epcis::CaptureJob =
                    serde_json::from_str(&text).context("the server's capture job")?;
                let mut report = job.report;
                // Only the rejections are kept for the summary, as locally.
                report.results.retain(|r| matches!(r, LineResult::Rejected { .. }));
                Ok(report)
            }
        }
    }

    async fn send(&self, batch: Lines) -> Result<IngestReport> {
        match self {
            Sink::Local(intake) => Ok(intake.ingest(batch).await?),
            Sink::Remote { client, url, token } => {
                let mut report = IngestReport::default();
                let mut body = Vec::new();
                let mut lines = Vec::new();
                for (line, item) in batch {
                    match item {
                        Ok(ev) => {
                            body.extend_from_slice(&ev.canonical_bytes());
                            body.push(b'\n');
                            lines.push(line);
                        }
                        Err(e) => {
                            report.rejected += 1;
                            report.results.push(LineResult::Rejected {
                                line: e.line,
                                field: e.field,
                                reason: e.reason,
                            });
                        }
                    }
                }
                if lines.is_empty() {
                    return Ok(report);
                }
                let resp = client
                    .post(format!("{}/api/v1/events", url.trim_end_matches('/')))
                    .bearer_auth(token)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await
                    .with_context(|| format!("sending to {url}"))?;
                let status = resp.status();
                let text = resp.text().await?;
                if !status.is_success() {
                    bail!("server answered {status}: {text}");
                }
                let answered: IngestReport = serde_json::from_str(&text).context("the server's ingest report")?;
                // The server numbers the lines it was sent; put back the file's line numbers.
                let orig = |n: usize| n.checked_sub(1).and_then(|i| lines.get(i)).copied().unwrap_or(0);
                report.accepted += answered.accepted;
                report.duplicates += answered.duplicates;
                report.rejected += answered.rejected;
                for (reason, n) in answered.flagged {
                    *report.flagged.entry(reason).or_default() += n;
                }
                report.results.extend(answered.results.into_iter().map(|r| match r {
                    LineResult::Accepted { line, seq } => LineResult::Accepted { line: orig(line), seq },
                    LineResult::Duplicate { line } => LineResult::Duplicate { line: orig(line) },
                    LineResult::Rejected { line, field, reason } => {
                        LineResult::Rejected { line: orig(line), field, reason }
                    }
                }));
                Ok(report)
            }
        }
    }
}

fn progress(len: u64, quiet: bool, name: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(name.to_owned());
    pb
}

/// Reads a file into batches on a blocking thread.
fn spawn_reader(
    path: PathBuf,
    format: FileFormat,
    mapping: Option<Arc<CsvMapping>>,
    batch: usize,
    pb: ProgressBar,
    tx: tokio::sync::mpsc::Sender<Chunk>,
    skipped: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<Result<()>> {
    std::thread::spawn(move || -> Result<()> {
        let file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let send = |c: Chunk| tx.blocking_send(c).map_err(|_| anyhow::anyhow!("ingest stopped"));
        match format {
            FileFormat::Csv => {
                let Some(mapping) = mapping else {
                    bail!("{}: CSV needs --mapping FILE (see docs/CSV-MAPPING.md)", path.display());
                };
                let reader = pb.wrap_read(file);
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                // Only read here; the rows are mapped in the ingest tasks,
                // on every core.
                let mut records = mapping.read_records(reader, &name).with_context(|| format!("{}", path.display()))?;
                let source = records.source().clone();
                let chunk = |rows: Vec<Record>| {
                    Chunk::Rows(CsvRows {
                        mapping: mapping.clone(),
                        source: source.clone(),
                        rows,
                        skipped: skipped.clone(),
                    })
                };
                loop {
                    let rows: Vec<Record> = records.by_ref().take(batch).collect();
                    if rows.is_empty() {
                        break;
                    }
                    send(chunk(rows))?;
                }
            }
            _ => {
                // Only split into lines here; parsing happens in the ingest
                // tasks, on every core.
                let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
                let mut buf: Vec<u8> = Vec::with_capacity(batch * 256);
                let (mut first, mut lines) = (1usize, 0usize);
                loop {
                    let read = reader.read_until(b'\n', &mut buf)?;
                    if read == 0 {
                        break;
                    }
                    pb.inc(read as u64);
                    lines += 1;
                    if lines >= batch {
                        let bytes = std::mem::replace(&mut buf, Vec::with_capacity(batch * 256));
                        send(Chunk::Lines(first, lines, bytes))?;
                        first += lines;
                        lines = 0;
                    }
                }
                if !buf.is_empty() {
                    send(Chunk::Lines(first, lines, buf))?;
                }
            }
        }
        Ok(())
    })
}

/// Which of a file's batches the sink acknowledged, so that a failure part
/// way can say what is stored and where to resume.
#[derive(Default)]
struct Acknowledged {
    /// (first line, last line, acknowledged) of every batch sent.
    batches: Vec<(usize, usize, bool)>,
    events: usize,
}

impl Acknowledged {
    /// Records a batch about to be sent (not yet parsed); returns its line range.
    fn sent(&mut self, chunk: &Chunk) -> (usize, usize) {
        let (first, last) = match chunk {
            Chunk::Rows(r) => {
                let lines = r.rows.iter().map(|(l, _)| *l);
                (lines.clone().min().unwrap_or(0), lines.max().unwrap_or(0))
            }
            // Lines as the reader counted them while cutting the chunk.
            Chunk::Lines(first, lines, _) => (*first, first + lines.saturating_sub(1)),
        };
        self.batches.push((first, last, false));
        (first, last)
    }

    /// Records a sink's answer for the batch with these lines.
    fn answered(&mut self, (lines, r): ((usize, usize), Result<IngestReport>)) -> Result<IngestReport> {
        let report = r?;
        if let Some(b) = self.batches.iter_mut().find(|b| (b.0, b.1) == lines) {
            b.2 = true;
        }
        self.events += report.accepted + report.duplicates;
        Ok(report)
    }

    /// What was stored before a failure, and where to resume.
    fn summary(&self, path: &Path) -> String {
        let mut sorted = self.batches.clone();
        sorted.sort_unstable();
        let through = sorted.iter().take_while(|b| b.2).map(|b| b.1).max();
        let resume = match through {
            Some(line) => format!("every line through {line} is stored; resume after line {line}"),
            None => "no line from its start is known to be stored; resume from its first line".to_owned(),
        };
        format!(
            "{}: stopped after {} events were acknowledged ({resume}); sending the file again is safe: what is \
             stored comes back as duplicates",
            path.display(),
            self.events
        )
    }
}

/// Ingests one file through a sink; returns its report and the rows the
/// mapping skipped.
async fn ingest_file(
    path: &Path,
    format: FileFormat,
    mapping: Option<Arc<CsvMapping>>,
    sink: &Sink,
    batch: usize,
    quiet: bool,
) -> Result<(IngestReport, usize)> {
    let len = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    let pb = progress(len, quiet || len < 8 << 20, &path.display().to_string());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    // Rows the mapping's `skip`/`keep` left out, counted as the tasks map them.
    let skipped = Arc::new(AtomicUsize::new(0));
    let reader = spawn_reader(path.to_owned(), format, mapping, batch, pb.clone(), tx, skipped.clone());
    let mut report = IngestReport::default();
    let mut inflight = JoinSet::new();
    let mut acks = Acknowledged::default();
    let failed = async {
        while let Some(b) = rx.recv().await {
            // A few batches in flight let the group commit gather them into one
            // transaction while the reader parses the next.
            while inflight.len() >= 8 {
                if let Some(r) = inflight.join_next().await {
                    report.merge_rejections(acks.answered(r?)?);
                }
            }
            let sink = sink.clone();
            let lines = acks.sent(&b);
            // Parsed in the task, on the runtime's workers: the loop only hands out.
            inflight.spawn(async move { (lines, sink.send(b.into_batch()).await) });
        }
        while let Some(r) = inflight.join_next().await {
            report.merge_rejections(acks.answered(r?)?);
        }
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = failed {
        inflight.abort_all();
        drop(rx);
        let _ = reader.join();
        pb.finish_and_clear();
        return Err(e.context(acks.summary(path)));
    }
    reader.join().map_err(|_| anyhow::anyhow!("reader thread panicked"))??;
    let skipped = skipped.load(Ordering::Relaxed);
    pb.finish_and_clear();
    Ok((report, skipped))
}

/// The reference records of some kinds, from a server (for a mapping's lookups).
async fn remote_reference(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    kinds: &[String],
) -> Result<Vec<stockade_model::RecordRow>> {
    let mut rows = Vec::new();
    for kind in kinds {
        let Some(k) = stockade_model::RecordKind::parse(kind) else { continue };
        let resp = client
            .get(format!("{}/api/v1/reference/{kind}", url.trim_end_matches('/')))
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("reading the {kind} the mapping looks up from {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            bail!(
                "the mapping looks up {kind}, and the server answered {status} when asked for them                  (the token needs the analyst role to read reference data): {}",
                resp.text().await.unwrap_or_default()
            );
        }
        let records: Vec<serde_json::Value> = resp.json().await.context("the server's reference records")?;
        rows.extend(records.into_iter().map(|json| stockade_model::RecordRow {
            kind: k,
            id: json.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
            site: json.get("site").and_then(|v| v.as_str()).map(str::to_owned),
            json,
        }));
    }
    Ok(rows)
}

/// Stores a run of EPCIS documents in order through
/// [`Intake::ingest_documents`], a few captured ahead on blocking threads
/// (validated, hashed, mapped and prepared for the store: CPU work that
/// both cores share while the writer stores). Each document's report, holding
/// its rejections only, and the SHA-256 of its bytes come back in order.
fn store_documents(
    intake: Intake,
    paths: Vec<PathBuf>,
    source: SourceId,
    site: Option<SiteId>,
) -> tokio::sync::mpsc::Receiver<Result<(String, IngestReport)>> {
    use futures::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::channel(paths.len().max(1));
    tokio::spawn(async move {
        let parse = |path: PathBuf| {
            let (intake, source, site) = (intake.clone(), source.clone(), site.clone());
            tokio::spawn(async move {
                let read = path.clone();
                let (bytes, digest) = tokio::task::spawn_blocking(move || -> Result<_> {
                    let bytes = std::fs::read(&read).with_context(|| format!("reading {}", read.display()))?;
                    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
                    Ok((bytes, digest))
                })
                .await??;
                let prepared = intake.capture_epcis(bytes, &source, site.as_ref()).await?;
                Ok::<_, anyhow::Error>((digest, prepared))
            })
        };
        let parsed = futures::stream::iter(paths)
            .map(parse)
            .buffered(PARSED_AHEAD + 1)
            .map(|joined| joined.map_err(anyhow::Error::from).and_then(|parsed| parsed));
        let mut reports = std::pin::pin!(intake.ingest_documents(parsed));
        while let Some(stored) = reports.next().await {
            let failed = stored.is_err();
            let stored = stored.map(|(digest, mut report)| {
                report.results.retain(|r| matches!(r, LineResult::Rejected { .. }));
                (digest, report)
            });
            if tx.send(stored).await.is_err() || failed {
                break;
            }
        }
    });
    rx
}

/// A run of EPCIS documents stored through one pipeline ([`store_documents`]).
struct DocumentRun {
    /// Each document's digest and report, in order.
    reports: tokio::sync::mpsc::Receiver<Result<(String, IngestReport)>>,
    /// The indices of its first and last files.
    first: usize,
    last: usize,
    started: std::time::Instant,
    /// Events of its documents reported so far.
    events: usize,
}

/// The record of a file's load: its digest (read from the file unless
/// given) and its mapping's, and the seqs of the events it added.
async fn load_record(
    path: &Path,
    sha256: Option<String>,
    mapping: Option<&Path>,
    report: &IngestReport,
) -> Result<stockade_model::Load> {
    let digest = |p: PathBuf| async move {
        tokio::task::spawn_blocking(move || -> Result<String> {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            let mut f = std::fs::File::open(&p).with_context(|| format!("reading {}", p.display()))?;
            std::io::copy(&mut f, &mut h).with_context(|| format!("reading {}", p.display()))?;
            Ok(hex::encode(h.finalize()))
        })
        .await?
    };
    Ok(stockade_model::Load {
        file: path.display().to_string(),
        sha256: match sha256 {
            Some(d) => d,
            None => digest(path.to_owned()).await?,
        },
        mapping: mapping.map(|m| m.display().to_string()),
        mapping_sha256: match mapping {
            Some(m) => Some(digest(m.to_owned()).await?),
            None => None,
        },
        accepted: report.accepted as u64,
        runs: report.runs.iter().map(|&(a, b)| [a, b]).collect(),
    })
}

/// Ingests one file into a local pipeline, without progress output.
pub async fn ingest_local(intake: &Intake, path: &Path, format: FileFormat, batch: usize) -> Result<IngestReport> {
    Ok(ingest_file(path, format, None, &Sink::Local(intake.clone()), batch, true).await?.0)
}

pub async fn ingest(a: IngestArgs, clock: Arc<dyn Clock>) -> Result<ExitCode> {
    let mut mapping = match &a.mapping {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Some(CsvMapping::from_yaml(&text).with_context(|| format!("in {}", p.display()))?)
        }
        None => None,
    };
    let (sink, local_store) = match &a.server {
        Some(url) => {
            let Some(token) = a.token.clone() else {
                bail!("--server needs --token (or STOCKADE_TOKEN) with the ingest role");
            };
            (Sink::Remote { client: crate::http_client()?, url: url.clone(), token }, None)
        }
        None => {
            crate::check_rules(&a.pipeline.detection)?;
            let opened = crate::open(&a.data).await?;
            let intake = crate::intake(&opened, clock, a.pipeline.unknown_entities.into()).await?;
            (Sink::Local(intake), Some(opened.store))
        }
    };
    // Lookups search the reference data the events go to.
    if let Some(m) = &mut mapping
        && !m.needs_reference().is_empty()
    {
        let rows = match &sink {
            Sink::Local(intake) => intake.reference().data.rows(),
            Sink::Remote { client, url, token } => remote_reference(client, url, token, &m.needs_reference()).await?,
        };
        m.bind(&rows);
    }
    let mapping = mapping.map(Arc::new);
    let batch = a.batch.clamp(1, 100_000);
    let epcis_source = SourceId::new(a.epcis_source.clone()).context("--epcis-source")?;
    let site = a.site.clone().map(SiteId::new).transpose().context("--site")?;
    let mut any_rejected = false;
    let mut rejected_out = match &a.rejected {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating --rejected {}", p.display()))?,
        )),
        None => None,
    };
    // Runs of EPCIS documents stored locally go through one pipeline each
    // (`store_documents`): parsed ahead, stored in the order given (so the
    // book sees a feed's events in the order it sent them), with no drain
    // between documents. The reports come back here in order.
    let mut documents: Option<DocumentRun> = None;
    for (i, path) in a.files.iter().enumerate() {
        let format = format_of(path, a.format)?;
        let started = std::time::Instant::now();
        let (mut report, skipped, digest) = match (&sink, format) {
            (Sink::Local(intake), FileFormat::Epcis) => {
                // A run starts here and ends before the next file that is not EPCIS.
                let run = documents.get_or_insert_with(|| {
                    let end = (i..a.files.len())
                        .find(|&j| format_of(&a.files[j], a.format).ok() != Some(FileFormat::Epcis))
                        .unwrap_or(a.files.len());
                    DocumentRun {
                        reports: store_documents(
                            intake.clone(),
                            a.files[i..end].to_vec(),
                            epcis_source.clone(),
                            site.clone(),
                        ),
                        first: i,
                        last: end - 1,
                        started,
                        events: 0,
                    }
                });
                let (digest, report) = run
                    .reports
                    .recv()
                    .await
                    .with_context(|| format!("{}: the document pipeline stopped", path.display()))?
                    .with_context(|| format!("{}", path.display()))?;
                (report, 0, Some(digest))
            }
            (Sink::Remote { .. }, FileFormat::Epcis) => {
                let report = sink
                    .capture(path, &epcis_source, site.as_ref())
                    .await
                    .with_context(|| format!("{}", path.display()))?;
                (report, 0, None)
            }
            _ => {
                // Any run of EPCIS documents before this file is stored and reported.
                documents = None;
                let (report, skipped) = ingest_file(path, format, mapping.clone(), &sink, batch, a.quiet).await?;
                (report, skipped, None)
            }
        };
        // The rate is the load's; recording it (below) may read the file once more.
        let secs = started.elapsed().as_secs_f64();
        if let Sink::Local(intake) = &sink {
            // What the file added, so that it can be withdrawn (`stockade retract`).
            let load = load_record(path, digest, a.mapping.as_deref(), &report).await?;
            intake.record_load(load).await.with_context(|| format!("recording the load of {}", path.display()))?;
        }
        let total = report.accepted + report.duplicates + report.rejected;
        // Rows a mapping's filter left out are said, never silently dropped.
        let skipped =
            if format == FileFormat::Csv { format!(", {skipped} skipped by the mapping") } else { String::new() };
        // A document of a run is stored while the next ones are parsed: its
        // own time is not its load's, so the run's rate is given at its end.
        let timing = match documents.as_mut().filter(|_| format == FileFormat::Epcis) {
            Some(run) => {
                run.events += total;
                String::new()
            }
            None => format!(" in {secs:.2}s, {:.0} events/s", total as f64 / secs.max(1e-9)),
        };
        eprintln!(
            "{}: {} accepted, {} duplicates, {} rejected{skipped} ({total}{timing})",
            path.display(),
            report.accepted,
            report.duplicates,
            report.rejected,
        );
        if let Some(run) = documents.as_ref().filter(|r| r.last == i) {
            let (n, secs) = (run.last + 1 - run.first, run.started.elapsed().as_secs_f64());
            eprintln!(
                "  {n} EPCIS document{} stored: {} events in {secs:.2}s, {:.0} events/s",
                if n == 1 { "" } else { "s" },
                run.events,
                run.events as f64 / secs.max(1e-9)
            );
        }
        let mut rejections: Vec<_> = report
            .results
            .drain(..)
            .filter_map(|r| match r {
                LineResult::Rejected { line, field, reason } => Some(LineError { line, field, reason }),
                _ => None,
            })
            .collect();
        rejections.sort_by_key(|e| e.line);
        if !report.flagged.is_empty() {
            let flagged: Vec<String> = report.flagged.iter().map(|(reason, n)| format!("{n} {reason}")).collect();
            eprintln!(
                "  {}: flagged for review (accepted, with the flag on the event): {}",
                path.display(),
                flagged.join(", ")
            );
        }
        // An event at no site cannot be placed in any book or rule: said, and the exit is 2.
        if let Some(n) = report.flagged.get(stockade_epcis::UNRESOLVED_SITE) {
            eprintln!(
                "  {}: {n} events landed on no site (flag {}): give the site its `gln`, register the \
                 locations' `sgln` in the reference data, or pass --site",
                path.display(),
                stockade_epcis::UNRESOLVED_SITE
            );
            any_rejected = true;
        }
        if let Some(out) = &mut rejected_out {
            write_rejections(out, path, format, &rejections)?;
        }
        for e in rejections.iter().take(50) {
            eprintln!("  {}: {e}", path.display());
        }
        if rejections.len() > 50 {
            let all = match &a.rejected {
                Some(p) => format!("all of them are in {}", p.display()),
                None => "--rejected FILE writes all of them".to_owned(),
            };
            eprintln!("  ... and {} more rejected lines ({all})", rejections.len() - 50);
        }
        any_rejected |= !rejections.is_empty();
    }
    if let Some(mut out) = rejected_out {
        std::io::Write::flush(&mut out).context("writing --rejected")?;
    }
    // Detection over what the files added, once they are all in, in
    // event-time order: files of different systems cover the same days, and
    // read one after another they would reach detection a month apart.
    if let Sink::Local(intake) = &sink {
        let p = crate::start_detection(intake, &a.pipeline.detection, !a.quiet).await?;
        if !a.quiet && p.events > 0 {
            eprintln!("detection: {} events examined, {} alerts, {} incidents opened", p.events, p.alerts, p.incidents);
        }
    }
    // Exit 2: everything valid was stored, but some lines were rejected.
    // What was ingested locally is covered by a signed checkpoint before we exit.
    if let Sink::Local(intake) = &sink
        && let Some(ledger) = intake.ledger()
    {
        let cp = ledger.sign_checkpoint()?;
        eprintln!("ledger checkpoint signed over {} leaves", cp.size);
    }
    if let (Sink::Local(intake), Some(store)) = (&sink, local_store) {
        // The derived state is saved, so that the next start need not read the events again.
        crate::close(intake.stage(), &*store).await;
    }
    Ok(if any_rejected { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
