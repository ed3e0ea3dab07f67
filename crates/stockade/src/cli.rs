//! Every command and flag of `stockade`, with its help text, in one place.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "stockade", version, about = "Loss prevention and security operations for warehouses")]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text", env = "STOCKADE_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Origin (a schema-less URL naming the log) given to the evidence ledger
    /// when a data directory is first created; an existing log keeps its own.
    #[arg(long, global = true, env = "STOCKADE_LEDGER_ORIGIN")]
    pub ledger_origin: Option<String>,
    /// CA certificates (PEM) to trust, besides the system's, for a server
    /// reached over HTTPS (`--server`, `--to`): a private CA or a
    /// self-signed certificate.
    #[arg(long, global = true, env = "STOCKADE_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the demo: a fresh embedded instance with sample data, served on HTTP.
    Demo(DemoArgs),
    /// Serve the HTTP API over a data directory.
    Serve(ServeArgs),
    /// Ingest event files (NDJSON, EPCIS 2.0 JSON, or CSV with --mapping) locally or into a running server.
    Ingest(IngestArgs),
    /// Import reference data files (YAML, or CSV named after their kind: doors.csv).
    Import(ImportArgs),
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Reports generated from the records, as HTML or PDF (docs/REPORTS.md).
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Run an independent witness of a Stockade evidence ledger (C2SP
    /// tlog-witness): it cosigns a log's checkpoints only when consistent
    /// with the latest it cosigned, never a fork (docs/WITNESS.md).
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
    /// Manage the people who sign in to the console (there is no default
    /// user: create the first admin here).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Check an evidence package offline: signatures, every file's hash, every
    /// leaf's inclusion proof, custody chains. Exit 0 when it verifies, 1 when not.
    Verify {
        /// The package (a .tar from GET /api/v1/incidents/{incident}/package).
        package: PathBuf,
        /// The log's verifier key (`stockade ledger key` prints it).
        #[arg(long)]
        key: String,
        /// A witness you trust, by its verifier key; repeat
        /// (docs/WITNESS.md).
        #[arg(long = "witness", value_name = "KEY")]
        witnesses: Vec<String>,
        /// How many of them must have cosigned the package's checkpoint
        /// (default: all those named).
        #[arg(long)]
        quorum: Option<usize>,
        /// A checkpoint of the log you held before (a signed note file):
        /// the package must prove the log only grew from it.
        #[arg(long, value_name = "CHECKPOINT_FILE")]
        since: Option<PathBuf>,
    },
    /// Simulate a network of warehouses (normal operations with theft
    /// scenarios and benign look-alikes) into files that `stockade import`
    /// and `stockade ingest` load, plus truth.json for `stockade eval`.
    Simulate(SimulateArgs),
    /// Score a detector's incidents against a simulation's ground truth
    /// (recall per scenario, precision, false incidents per site-week, time to detect).
    Eval(EvalArgs),
    /// The evidence ledger: its verifier key, and a full re-check.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Evidence on a running server: upload, download, export a package.
    Evidence {
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// Measure ingest throughput (figures for docs/BENCHMARKS.md).
    Bench(BenchArgs),
    /// Write a customer's own exports to try onboarding on (docs/ONBOARDING.md):
    /// two distribution centres' EPCIS documents and CSV exports, from a
    /// generator apart from `simulate`, with the book they should give
    /// (`truth-book.json`).
    SampleExports {
        /// Directory to write (created; existing files are not overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Days of operations.
        #[arg(long, default_value_t = 28)]
        days: u32,
        /// Seed: the same seed gives the same bytes.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Run detection over the stored events it has not seen yet (all of
    /// them the first time), opening the incidents it finds in the data
    /// directory, as the server does live (docs/DETECTION.md).
    Detect {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        detection: DetectionArgs,
        /// Events that happened before this (RFC 3339) teach detection
        /// (context, the book, baselines) but raise nothing.
        #[arg(long)]
        from: Option<String>,
        /// Stop at this event time (RFC 3339): what happened from then on
        /// is examined by the next run without --to (or a server).
        #[arg(long)]
        to: Option<String>,
    },
    /// Check a rule pack: every file, every document; print what loads and
    /// each refusal with its file, line and reason (exit 1 if any).
    Rules {
        /// The pack's directory (default: the built-in pack).
        dir: Option<PathBuf>,
    },
    /// Check a playbook pack: print each playbook, its version, what it
    /// applies to and its tasks by role; each refusal with its file, line
    /// and reason (exit 1 if any).
    Playbooks {
        /// The pack's directory (default: the built-in pack).
        dir: Option<PathBuf>,
    },
    /// Score a numeric series for anomalies, online: reads `timestamp,value`
    /// rows (header included) and writes `timestamp,value,anomaly_score`,
    /// each row scored in [0, 1] from the rows before it only.
    SeriesDetect {
        /// The series (CSV); `-` reads standard input.
        file: PathBuf,
        /// Where to write the scored series (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Show the inventory book: quantity per site, location and SKU (with
    /// the in-transit states), and the latest counts against it.
    Book(BookArgs),
    /// Tabletop exercises (docs/EXERCISES.md): a simulated scenario in an
    /// isolated workspace, worked by the team, then scored.
    Exercise {
        #[command(subcommand)]
        command: ExerciseCommand,
    },
    /// Response KPIs (docs/KPI.md): time to detect, triage, contain and
    /// recover, incidents open, false positives, inventory record accuracy
    /// and value variance rate, per site or overall, over a period.
    Kpi(KpiArgs),
    /// Withdraw the events a file loaded, so that a corrected export (or the
    /// same file through a fixed mapping) can be loaded again. Each event
    /// withdrawn is recorded as a `record.retracted` event and a ledger leaf;
    /// nothing is deleted, and the book is rebuilt without them.
    Retract {
        #[command(flatten)]
        data: DataArgs,
        /// The file as it was loaded: its path, or its name alone.
        file: String,
        /// Why (recorded with every event withdrawn).
        #[arg(long)]
        reason: String,
    },
    /// Rebuild derived state (the inventory book) from the stored events,
    /// from zero: what a consumer derives is forgotten, every stored event
    /// applied again in order, and the result saved.
    Rebuild {
        #[command(flatten)]
        data: DataArgs,
        /// Only this consumer (book); all of them when absent.
        #[arg(long, value_name = "NAME")]
        only: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct BookArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Only this site.
    #[arg(long)]
    pub site: Option<String>,
    /// Only this location (`@received`, `@picked`: the in-transit states).
    #[arg(long)]
    pub location: Option<String>,
    /// Only this SKU.
    #[arg(long)]
    pub sku: Option<String>,
    /// Print JSON (`lines`, `counts`, `summary`) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Number of sites.
    #[arg(long, default_value_t = 3)]
    pub sites: u32,
    /// Days to simulate.
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    /// Seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First day (YYYY-MM-DD).
    #[arg(long, default_value = "2026-11-02")]
    pub start: chrono::NaiveDate,
    /// Instances of each scenario type to inject.
    #[arg(long, default_value_t = 2)]
    pub per_scenario: u32,
    /// Instances of one scenario type and their parameters,
    /// NAME=COUNT[,KEY=VALUE...] (repeatable; a type named here gets these
    /// instead of --per-scenario), e.g. --scenario slow_skimming=2,days=12,units=3
    /// --scenario tailgating=0. Parameters: docs/SIMULATOR.md.
    #[arg(long, value_name = "NAME=COUNT")]
    pub scenario: Vec<String>,
    /// Deliver routine inventory movements as GS1 EPCIS 2.0 documents
    /// (DIR/epcis/SITE-DATE.jsonld) instead of the WMS NDJSON feed.
    #[arg(long)]
    pub epcis: bool,
    /// Deliver badge reads as each site's access-control CSV export with its
    /// column mapping (DIR/csv/acs-SITE.csv and .mapping.yaml) instead of NDJSON.
    #[arg(long)]
    pub csv: bool,
    /// Output directory (created if missing).
    #[arg(long, required_unless_present = "to")]
    pub out: Option<PathBuf>,
    /// Feed a running server (reference data first, then the events in time
    /// order, paced by --speed); with --out, the files are written too.
    #[arg(long)]
    pub to: Option<String>,
    /// API token (role ingest) for --to.
    #[arg(long, env = "STOCKADE_TOKEN")]
    pub token: Option<String>,
    /// With --to: simulated seconds per wall-clock second.
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,
    /// With --to: send at this many events per second instead, whatever
    /// their times (still in time order): a steady load, to measure
    /// event-to-alert latency under it (docs/BENCHMARKS.md).
    #[arg(long, conflicts_with = "speed", value_name = "EVENTS_PER_SECOND")]
    pub rate: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum ExerciseCommand {
    /// Simulate one theft or misuse scenario into a fresh exercise
    /// workspace (its own data directory), detect it and open its incidents
    /// with their playbooks; the exercise clock starts now. Recorded in the
    /// main data directory's audit trail (or the server's that holds it).
    Start {
        #[command(flatten)]
        main: MainArgs,
        /// The exercise workspace to create (must not exist or be empty).
        #[arg(long)]
        workspace: PathBuf,
        /// The scenario (docs/SIMULATOR.md), e.g. after_hours_cage_removal.
        #[arg(long)]
        scenario: String,
        #[arg(long, default_value_t = 1)]
        seed: u32,
        /// Simulated days before the handover (1-14).
        #[arg(long, default_value_t = 2)]
        days: u32,
    },
    /// Score how the team worked the exercise (time to triage and contain
    /// from its start, playbook tasks on time, what was missed) and keep
    /// the score in the main data directory (or through the server that
    /// holds it) for trends (`stockade kpi`).
    Score {
        #[command(flatten)]
        main: MainArgs,
        #[arg(long)]
        workspace: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The main data directory, or the running server that holds it (for
/// exercises, with an admin token: `POST /api/v1/exercises`).
#[derive(Debug, Args)]
pub struct MainArgs {
    /// The data directory (default: STOCKADE_DATA, else stockade-data).
    #[arg(long, env = "STOCKADE_DATA", conflicts_with = "server")]
    pub data: Option<PathBuf>,
    /// Use this running server instead.
    #[arg(long, requires = "token")]
    pub server: Option<String>,
    /// API token for --server.
    #[arg(long, env = "STOCKADE_TOKEN")]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct KpiArgs {
    #[command(flatten)]
    pub main: MainArgs,
    /// Only incidents affecting this site, and counts made there.
    #[arg(long)]
    pub site: Option<String>,
    /// Incidents detected (counts made) at or after this (RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    /// ...and before this (RFC 3339).
    #[arg(long)]
    pub to: Option<String>,
    /// Also the trend: the figures per day, week or month of detection time.
    #[arg(long, value_parser = ["day", "week", "month"])]
    pub every: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The simulation's truth.json.
    #[arg(long)]
    pub truth: PathBuf,
    /// Score the incidents in this file, in the stockade-incidents/1 format
    /// (docs/EVAL.md), whatever detector wrote them.
    #[arg(long, required_unless_present_any = ["data", "server"], conflicts_with = "server")]
    pub incidents: Option<PathBuf>,
    /// Score the incidents of this data directory (unless --incidents names
    /// a file), after checking that every event the truth names was ingested
    /// there (a truth file from another simulation is refused).
    #[arg(long, conflicts_with = "server")]
    pub data: Option<PathBuf>,
    /// Score the incidents of this running server.
    #[arg(long, requires = "token")]
    pub server: Option<String>,
    /// API token (role analyst or admin) for --server.
    #[arg(long, env = "STOCKADE_TOKEN")]
    pub token: Option<String>,
    /// Also write the scores as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// A running server and a token for it.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// The server's base URL, e.g. https://stockade.example:8443.
    #[arg(long, env = "STOCKADE_SERVER")]
    pub server: String,
    /// API token (the analyst or admin role for evidence).
    #[arg(long, env = "STOCKADE_TOKEN")]
    pub token: String,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Upload a file as evidence, streamed (any size). Its SHA-256 is
    /// computed first and declared, so the server refuses a file that
    /// changed on the way; prints the evidence id.
    Upload {
        file: PathBuf,
        /// The incident it belongs to (INC-n).
        #[arg(long)]
        incident: String,
        /// Retention class: video, photo, export, document, other (or as configured).
        #[arg(long)]
        class: String,
        /// Where it came from: camera:ID, reader:ID, device:ID, person:ID, system:NAME or external:NAME.
        #[arg(long = "from")]
        collected_from: String,
        /// Why it is collected (recorded).
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Start of the time range the file covers (RFC 3339).
        #[arg(long)]
        original_from: Option<String>,
        /// End of that range (RFC 3339).
        #[arg(long)]
        original_to: Option<String>,
        /// Media type; default application/octet-stream.
        #[arg(long, default_value = "application/octet-stream")]
        media_type: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Download an evidence file (recorded in its chain of custody), checking
    /// its SHA-256 as it arrives; never overwrites a file.
    Download {
        id: String,
        #[arg(long)]
        out: PathBuf,
        /// Why it is opened (recorded).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// An item's record and its chain of custody (reading them is not an
    /// access to the evidence).
    Show {
        id: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Record a custody action: transferred (to --party), sealed, hold_set,
    /// hold_lifted (admin) or expired (admin, once retention allows).
    Act {
        id: String,
        /// transferred, sealed, hold_set, hold_lifted or expired.
        action: String,
        /// Why (recorded).
        #[arg(long)]
        reason: String,
        /// The receiving party of a transfer.
        #[arg(long)]
        party: Option<String>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Export an incident's evidence package (recorded on each item); check
    /// it offline with `stockade verify`. Never overwrites a file.
    Package {
        incident: String,
        #[arg(long)]
        out: PathBuf,
        /// Why it is exported (recorded).
        #[arg(long)]
        reason: String,
        /// Related events to include, by seq, comma-separated.
        #[arg(long, default_value = "")]
        events: String,
        /// A checkpoint of this log you already hold (the file
        /// `/tlog/checkpoint` served, or an earlier package's): the package
        /// then proves the log only grew from it (`stockade verify --since`).
        #[arg(long, value_name = "CHECKPOINT_FILE")]
        since: Option<PathBuf>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Print the key that verifies the ledger's checkpoints (C2SP signed-note form).
    Key {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Re-check the whole local log and store against the latest signed
    /// checkpoint: every entry's checksum, the tree, the checkpoint's
    /// signature and root, and every stored event against its leaf.
    Verify {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Check a C2SP tlog-proof offline (a `.tlog-proof` file from a proof
    /// endpoint with `?format=tlog-proof`): the checkpoint's signature with
    /// your key, and the entry it carries proven in the signed tree. Prints
    /// the entry; exit 0 when it verifies, 1 when not.
    CheckProof {
        /// The proof file.
        proof: PathBuf,
        /// The log's verifier key, obtained out of band (`stockade ledger key`).
        #[arg(long)]
        key: String,
        /// A witness you trust, by its verifier key; repeat (docs/WITNESS.md).
        #[arg(long = "witness", value_name = "KEY")]
        witnesses: Vec<String>,
        /// How many of them must have cosigned the proof's checkpoint
        /// (default: all those named).
        #[arg(long)]
        quorum: Option<usize>,
    },
    /// Check a running Stockade's log from outside, as an insurer or auditor
    /// would, through the public C2SP tlog-tiles API only: the checkpoint's
    /// signature (with a key you hold, not one the server offers), every
    /// entry rebuilt into the signed root, and, with --state, that the log
    /// seen last time is unchanged at its start (no rewrite, fork or shrink).
    Monitor {
        /// The server's base URL, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// The log's verifier key, obtained out of band (`stockade ledger key` on the server's machine).
        #[arg(long)]
        key: String,
        /// File that remembers the last verified checkpoint between runs (created if missing).
        #[arg(long)]
        state: Option<PathBuf>,
        /// API token, unless the server serves /tlog/ publicly (--public-tlog).
        #[arg(long, env = "STOCKADE_TOKEN")]
        token: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// Data directory of the embedded store (created if missing).
    #[arg(long, env = "STOCKADE_DATA", default_value = "stockade-data")]
    pub data: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UnknownEntitiesArg {
    /// Accept events that name unknown entities, and flag them.
    Flag,
    /// Reject them.
    Reject,
}

impl From<UnknownEntitiesArg> for stockade_ingest::UnknownEntities {
    fn from(a: UnknownEntitiesArg) -> Self {
        match a {
            UnknownEntitiesArg::Flag => stockade_ingest::UnknownEntities::Flag,
            UnknownEntitiesArg::Reject => stockade_ingest::UnknownEntities::Reject,
        }
    }
}

#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// What to do with events naming sites, doors, badges... not in the reference data.
    #[arg(long, value_enum, default_value = "flag", env = "STOCKADE_UNKNOWN_ENTITIES")]
    pub unknown_entities: UnknownEntitiesArg,
    #[command(flatten)]
    pub detection: DetectionArgs,
}

/// Which rules detection runs, if it runs.
#[derive(Debug, Args, Default, Clone)]
pub struct DetectionArgs {
    /// A rule pack directory (Sigma YAML, docs/RULES.md) instead of the built-in pack.
    #[arg(long, value_name = "DIR", env = "STOCKADE_RULES")]
    pub rules: Option<PathBuf>,
    /// A playbook pack directory (YAML, docs/PLAYBOOKS.md) instead of the
    /// built-in pack: the playbook each new incident is opened with.
    #[arg(long, value_name = "DIR", env = "STOCKADE_PLAYBOOKS")]
    pub playbooks: Option<PathBuf>,
    /// Store events without detecting (`stockade detect` examines them later; by default a load is examined once its files are in, in event-time order).
    #[arg(long)]
    pub no_detect: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Address to listen on.
    #[arg(long, env = "STOCKADE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Webhook endpoints that containment is sent to (YAML; each names the
    /// environment variable holding its signing secret; docs/WEBHOOKS.md).
    #[arg(long, value_name = "FILE", env = "STOCKADE_WEBHOOKS")]
    pub webhooks: Option<PathBuf>,
    /// What the executive scorecard holds the KPIs to (YAML;
    /// docs/SCORECARD.md); default: the built-in targets.
    #[arg(long, value_name = "FILE", env = "STOCKADE_TARGETS")]
    pub targets: Option<PathBuf>,
    /// A witness to send each new checkpoint to, as URL=VERIFIER_KEY (its
    /// submission prefix and key); repeat. Packages then carry their
    /// cosignatures (docs/WITNESS.md).
    #[arg(long = "witness", value_name = "URL=KEY")]
    pub witnesses: Vec<String>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "STOCKADE_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Serve the evidence ledger's tlog-tiles read API (/tlog/) without a
    /// token, for auditors and mirrors. Entries hold only salted commitments.
    #[arg(long, env = "STOCKADE_PUBLIC_TLOG")]
    pub public_tlog: bool,
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Seconds between ledger checkpoints while new leaves arrive.
    #[arg(long, env = "STOCKADE_CHECKPOINT_INTERVAL", default_value = "2", value_parser = seconds)]
    pub checkpoint_interval: std::time::Duration,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "STOCKADE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "STOCKADE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other machines can reach, where bearer
    /// tokens and evidence would cross the network in clear: only behind a
    /// proxy that terminates TLS. (Loopback addresses need no flag.)
    #[arg(long, env = "STOCKADE_INSECURE_HTTP")]
    pub insecure_http: bool,
}

#[derive(Debug, Args)]
pub struct VaultArgs {
    /// Retention window of an evidence class, CLASS=DAYS (repeatable); adds
    /// to or overrides the defaults: video=90 photo=365 export=365 document=2555 other=365.
    #[arg(long = "retention", value_name = "CLASS=DAYS")]
    pub retention: Vec<String>,
    /// Largest evidence file accepted, in bytes.
    #[arg(long, env = "STOCKADE_MAX_EVIDENCE_BYTES", default_value_t = 64 << 30)]
    pub max_evidence_bytes: u64,
}

/// A token's lifetime in days (see `auth::lifetime_in_days`).
fn days(s: &str) -> Result<std::time::Duration, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of days"))?;
    stockade_app::tokens::lifetime_in_days(v)
}

/// A positive number of seconds.
fn seconds(s: &str) -> Result<std::time::Duration, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(v.is_finite() && (0.01..=86_400.0).contains(&v)) {
        return Err(format!("{s} seconds: use a value between 0.01 and 86400"));
    }
    Ok(std::time::Duration::from_secs_f64(v))
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, env = "STOCKADE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Webhook endpoints that containment is sent to (YAML; each names the
    /// environment variable holding its signing secret; docs/WEBHOOKS.md).
    #[arg(long, value_name = "FILE", env = "STOCKADE_WEBHOOKS")]
    pub webhooks: Option<PathBuf>,
    /// Keep the demo's data here instead of a fresh temporary directory.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Load the sample data, print what was loaded, and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
    /// Seed of the simulated network.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FileFormat {
    /// Decide from the extension: .ndjson/.jsonl, .csv, .json/.jsonld/.xml (EPCIS).
    Auto,
    Ndjson,
    Csv,
    /// A GS1 EPCIS 2.0 capture document, JSON / JSON-LD or XML.
    Epcis,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files to ingest.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Column mapping for CSV files (see docs/CSV-MAPPING.md).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FileFormat,
    /// Send to a running server instead of a local data directory.
    #[arg(long, env = "STOCKADE_SERVER")]
    pub server: Option<String>,
    /// API token (role ingest) for --server.
    #[arg(long, env = "STOCKADE_TOKEN")]
    pub token: Option<String>,
    /// Data directory, when not sending to a server.
    #[arg(long, env = "STOCKADE_DATA", default_value = "stockade-data")]
    pub data: PathBuf,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Source recorded on events captured from EPCIS documents.
    #[arg(long, default_value = "epcis")]
    pub epcis_source: String,
    /// Site for EPCIS events whose location is not in the reference data.
    #[arg(long)]
    pub site: Option<String>,
    /// Events per batch.
    #[arg(long, default_value_t = 4096)]
    pub batch: usize,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Write every rejected line (file, line, field, reason and the line's
    /// text) to this file as NDJSON, besides the first 50 printed.
    #[arg(long, value_name = "FILE")]
    pub rejected: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// YAML files (all kinds) or CSV files named after their kind.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// A reference mapping (YAML: `records: people`, `fields: {id: {column: ...}}`)
    /// for CSV exports in another shape (a PACS's cardholders, an HR staff list):
    /// see docs/CSV-MAPPING.md.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once, on the last line.
    Create {
        /// admin, analyst, investigator, site_manager, hr, vendor_manager,
        /// auditor or ingest (docs/PERMISSIONS.md).
        #[arg(long)]
        role: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Stops working by itself after this many days (0.5 is twelve hours):
        /// for a vendor's or a contractor's access. Default: until revoked.
        #[arg(long, value_name = "DAYS", value_parser = days)]
        expires_in_days: Option<std::time::Duration>,
        /// Limit it to these sites (comma-separated); default: every site.
        /// Not for admin or ingest tokens.
        #[arg(long, value_delimiter = ',')]
        sites: Vec<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the tokens (id, role, name, created, expires, revoked); never their secrets.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Revoke a token by id (recorded in the audit trail and the ledger).
    /// On a running server, use `DELETE /api/v1/tokens/{id}` instead: it
    /// holds the data directory, and revokes at once.
    Revoke {
        /// The token's id: the part after `stk_` in the token, as `token list` shows it.
        id: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The incident report for insurers and regulators: facts, losses,
    /// response times, actions, the timeline with ledger leaves, evidence
    /// with hashes, and how to verify it offline.
    Incident {
        /// INC-<n>.
        id: String,
        #[arg(long, value_enum, default_value_t)]
        format: ReportFormat,
        /// Write it here (default: standard output, HTML only).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// The executive scorecard of a period: KPIs against targets and the
    /// period before, weekly trends, top risks by site and entity, losses
    /// (docs/SCORECARD.md).
    Scorecard {
        /// First day (2026-11-02, UTC) or RFC 3339 time; default: 28 days
        /// before --to.
        #[arg(long)]
        from: Option<String>,
        /// End, not included (a day or an RFC 3339 time); default: the UTC
        /// midnight after the latest recorded activity.
        #[arg(long)]
        to: Option<String>,
        /// Only these sites (repeat, or separate with commas); default: all.
        #[arg(long, value_delimiter = ',')]
        site: Vec<String>,
        /// Targets (YAML, docs/SCORECARD.md); default: the built-in ones.
        #[arg(long, value_name = "FILE")]
        targets: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: ReportFormat,
        /// Write it here (default: standard output, HTML only).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained HTML file.
    #[default]
    Html,
    /// A PDF with the same text, tables and charts.
    Pdf,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input with
    /// --password-stdin (one line); otherwise a strong one is generated
    /// and printed once, on the last line. Only its Argon2id hash is kept.
    Create {
        /// 1-64 of a-z, 0-9, `.`, `_`, `-`.
        name: String,
        /// admin, analyst, investigator, site_manager, hr, vendor_manager or
        /// auditor (docs/PERMISSIONS.md; integrations get an ingest token).
        #[arg(long)]
        role: String,
        /// Limit the user to these sites (comma-separated); default: every site.
        #[arg(long, value_delimiter = ',')]
        sites: Vec<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the users (name, role, sites, created, disabled); never their hashes.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Disable a user: they cannot sign in, and their sessions end now.
    Disable {
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Events to ingest per run.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// Events per HTTP request.
    #[arg(long, default_value_t = 1000)]
    pub http_batch: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Runs of each measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Share of events that are stock moves (each moves the book twice); the
    /// rest are badge reads.
    #[arg(long, default_value_t = 0.2)]
    pub inventory_share: f64,
    /// Ingest with the evidence ledger on, off, or both interleaved (to measure its cost).
    #[arg(long, value_enum, default_value = "both")]
    pub ledger: LedgerMode,
    /// Which ingest path to measure: a file (`stockade ingest`), HTTP, or both.
    #[arg(long, value_enum, default_value = "both")]
    pub path: IngestPath,
    /// Measure inclusion proofs instead of ingest: build a ledger of this
    /// many leaves, then prove leaves in process and over HTTP.
    #[arg(long)]
    pub proofs: Option<u64>,
    /// Measure incident response instead of ingest: build a store of this
    /// many events, open incidents with their playbooks and evidence
    /// snapshots in it, then run the KPI query over a year of 100 sites.
    #[arg(long)]
    pub response: Option<usize>,
    /// Instead: a witness cosigning this many checkpoints of a growing log,
    /// each with its consistency proof, its state synced each time
    /// (docs/WITNESS.md); reports checkpoints per second.
    #[arg(long)]
    pub witness: Option<u64>,
    /// Instead: verify offline an evidence package carrying this many
    /// events (each with its inclusion proof) and the incident's opening;
    /// reports the time `stockade verify` takes.
    #[arg(long)]
    pub verify_package: Option<u64>,
    /// Proof requests per HTTP measurement.
    #[arg(long, default_value_t = 200_000)]
    pub requests: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum IngestPath {
    File,
    Http,
    Both,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LedgerMode {
    On,
    Off,
    Both,
}

#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Create a witness directory with a new Ed25519 cosigning key; prints
    /// its verifier key (give it to the logs and verifiers that trust you).
    Init {
        /// Where the witness keeps its key and state.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The witness's name, a schema-less URL (witness.insurer.example/w1).
        #[arg(long)]
        name: String,
    },
    /// Serve the witness (POST /add-checkpoint).
    Serve {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// A log to witness, by its verifier key (origin+id+key); repeat.
        #[arg(long = "log", value_name = "VERIFIER_KEY", required = true)]
        logs: Vec<String>,
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// TLS certificate chain (PEM); needed beyond loopback.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
}
