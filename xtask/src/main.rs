//! Developer chores, run as `cargo xtask <task>`.
//!
//! - `ci`: everything CI checks, in the order that fails fastest: format,
//!   generated files, clippy, then every test (with cargo-nextest when present).
//! - `schema`: regenerates `docs/events.schema.json` and `docs/reference.schema.json`.
//! - `bench`: runs the ingest benchmarks recorded in `docs/BENCHMARKS.md`.
//! - `api-fuzz`: the HTTP API against its OpenAPI document (schemathesis),
//!   the last step of `ci`.
#![forbid(unsafe_code)]

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() -> Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    let root = root();
    std::env::set_current_dir(&root)?;
    match task.as_str() {
        "ci" => ci(),
        "schema" => schema(&root),
        "bench" => bench(std::env::args().skip(2).collect()),
        "api-fuzz" => api_fuzz(&root),
        _ => {
            eprintln!("usage: cargo xtask <ci|schema|bench|api-fuzz>");
            bail!("unknown task {task:?}")
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {cmd:?}");
    let status = cmd.status().with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Tests passed and failed over the whole run.
struct Totals {
    passed: u64,
    failed: u64,
    /// Every command exited successfully (a build error fails no test).
    succeeded: bool,
}

impl Totals {
    fn add(&mut self, step: &Step) {
        self.passed += step.passed;
        self.failed += step.failed;
        self.succeeded &= step.success;
    }
}

/// What one test command reported.
struct Step {
    passed: u64,
    failed: u64,
    success: bool,
}

/// The number before `word` in `line` ("182 passed" -> 182).
fn count_before(line: &str, word: &str) -> Option<u64> {
    let at = line.find(word)?;
    line[..at].trim_end().rsplit(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Runs a test command, passing its output through, and counts what it
/// says it ran: nextest's `Summary` line, or every libtest `test result:`.
fn run_counting(cmd: &mut Command) -> Result<Step> {
    use std::io::{BufRead, Write};
    eprintln!("$ {cmd:?}");
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {cmd:?}"))?;
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        bail!("no output pipes from {cmd:?}");
    };
    // Both streams are read at once, so that neither pipe fills and blocks the child.
    let scan = |reader: Box<dyn std::io::Read + Send>, to_stderr: bool| {
        std::thread::spawn(move || {
            let (mut passed, mut failed, mut summary) = (0, 0, None);
            for line in std::io::BufReader::new(reader).lines().map_while(Result::ok) {
                if to_stderr {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                    let _ = std::io::stdout().flush();
                }
                if line.trim_start().starts_with("Summary [") {
                    summary = Some((
                        count_before(&line, " passed").unwrap_or(0),
                        count_before(&line, " failed").unwrap_or(0),
                    ));
                } else if line.starts_with("test result:") {
                    passed += count_before(&line, " passed").unwrap_or(0);
                    failed += count_before(&line, " failed").unwrap_or(0);
                }
            }
            summary.unwrap_or((passed, failed))
        })
    };
    let (a, b) = (scan(Box::new(out), false), scan(Box::new(err), true));
    let status = child.wait()?;
    let (pa, fa) = a.join().map_err(|_| anyhow::anyhow!("reading the test output failed"))?;
    let (pb, fb) = b.join().map_err(|_| anyhow::anyhow!("reading the test output failed"))?;
    Ok(Step { passed: pa + pb, failed: fa + fb, success: status.success() })
}

/// Library crates of the workspace whose documentation holds a Rust code
/// block (a doc test): a fence with no info string, or one naming Rust or a
/// rustdoc attribute.
fn crates_with_doc_tests(root: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root.join("crates"))? {
        let dir = entry?.path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else { continue };
        let Some(name) =
            manifest.lines().find_map(|l| l.strip_prefix("name = ").map(|n| n.trim().trim_matches('"').to_owned()))
        else {
            continue;
        };
        if dir.join("src/lib.rs").is_file() && has_doc_test(&dir.join("src"))? {
            found.push(name);
        }
    }
    found.sort();
    Ok(found)
}

fn has_doc_test(dir: &Path) -> Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if has_doc_test(&path)? {
                return Ok(true);
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let mut open = false;
        for line in std::fs::read_to_string(&path)?.lines() {
            let text = line.trim_start();
            let Some(doc) = text.strip_prefix("///").or_else(|| text.strip_prefix("//!")) else { continue };
            let Some(info) = doc.trim().strip_prefix("```") else { continue };
            if open {
                open = false;
                continue;
            }
            open = true;
            let rust = info.split(',').all(|a| {
                matches!(a.trim(), "" | "rust" | "no_run" | "should_panic" | "compile_fail")
                    || a.trim().starts_with("edition")
            });
            if rust {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn has_nextest() -> bool {
    cargo().args(["nextest", "--version"]).output().map(|o| o.status.success()).unwrap_or(false)
}

fn ci() -> Result<()> {
    install_test_tools()?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    check_schema(&root())?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    let mut totals = Totals { passed: 0, failed: 0, succeeded: true };
    if has_nextest() {
        totals.add(&run_counting(cargo().args(["nextest", "run", "--workspace", "--no-fail-fast"]))?);
    } else {
        eprintln!("cargo-nextest not found; using cargo test");
        totals.add(&run_counting(cargo().args(["test", "--workspace", "--no-fail-fast"]))?);
    }
    // Doc tests are not run by nextest; only crates that have some are run,
    // so that no "0 passed" closes the log.
    for krate in crates_with_doc_tests(&root())? {
        totals.add(&run_counting(cargo().args(["test", "--doc", "-p", &krate]))?);
    }
    // The HTTP API against its own OpenAPI document, fuzzed (counted as one test).
    let fuzzed = api_fuzz(&root());
    if let Err(e) = &fuzzed {
        eprintln!("the API fuzz test failed: {e:#}");
    }
    totals.add(&Step { passed: u64::from(fuzzed.is_ok()), failed: u64::from(fuzzed.is_err()), success: true });
    // The last line of the run: its totals, alone, doc tests included.
    println!("{} passed, {} failed", totals.passed, totals.failed);
    if totals.failed > 0 || !totals.succeeded {
        // Nothing after the totals: the exit status says the rest.
        std::process::exit(1);
    }
    Ok(())
}

/// Installs what the tests need and a fresh machine may lack, from
/// Debian's packages: Go and its x/mod sources (the independent verifier of
/// the ledger's checkpoints and proofs, `tests/interop/verify.go`), and
/// Chromium with its WebDriver (the console's browser test,
/// `crates/stockade/tests/browser.rs`), and Poppler's `pdftotext` (reading
/// the reports' PDFs back, `crates/report/tests/poppler.rs`).
fn install_test_tools() -> Result<()> {
    let have_go = Command::new("go").arg("version").output().is_ok_and(|o| o.status.success());
    let have_mod = Path::new("/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog").is_dir();
    let have_chromium = Command::new("chromedriver").arg("--version").output().is_ok_and(|o| o.status.success())
        && Path::new("/usr/bin/chromium").exists();
    let have_poppler = Command::new("pdftotext").arg("-v").output().is_ok_and(|o| o.status.success());
    let mut missing = Vec::new();
    if !have_poppler {
        missing.push("poppler-utils");
    }
    if !(have_go && have_mod) {
        missing.extend(["golang-go", "golang-golang-x-mod-dev"]);
    }
    if !have_chromium {
        missing.extend(["chromium", "chromium-driver"]);
    }
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing {} (for the ledger interop, browser and report tests)", missing.join(", "));
    let sudo = |args: &[&str]| -> Command {
        let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let mut c = if root { Command::new(args[0]) } else { Command::new("sudo") };
        if root {
            c.args(&args[1..]);
        } else {
            c.args(args);
        }
        c.env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut sudo(&["apt-get", "update", "-q"]))?;
    let mut install = vec!["apt-get", "install", "-y", "-q"];
    install.extend(missing);
    run(&mut sudo(&install))
}

/// The schemathesis release the API test runs (pinned: a new release may
/// generate new cases; update it on purpose).
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// Fuzzes the HTTP API from its OpenAPI document: a server over a small
/// data directory, schemathesis (installed into `target/schemathesis` from
/// PyPI when missing) generating requests for every operation, failing on
/// any 5xx, any status or content type the document does not list, and any
/// response that breaks its schema.
fn api_fuzz(root: &Path) -> Result<()> {
    let venv = root.join("target/schemathesis");
    let st = venv.join("bin/schemathesis");
    let pinned = venv.join(SCHEMATHESIS);
    if !pinned.exists() {
        eprintln!("installing {SCHEMATHESIS} into {}", venv.display());
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", SCHEMATHESIS]))?;
        std::fs::write(&pinned, b"")?;
    }
    run(cargo().args(["build", "--quiet", "-p", "stockade"]))?;
    let bin = root.join("target/debug/stockade");
    let data = tempfile_dir(root)?;
    let data_s = data.to_string_lossy().into_owned();
    let stockade = |args: &[&str]| -> Result<String> {
        let out = Command::new(&bin).args(args).env("RUST_LOG", "warn").output()?;
        if !out.status.success() {
            bail!("stockade {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let token = stockade(&["token", "create", "--role", "admin", "--data", &data_s])?.trim().to_owned();
    stockade(&["import", "examples/reference.yaml", "--data", &data_s])?;
    stockade(&["ingest", "examples/events.ndjson", "--data", &data_s, "--quiet"])?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let listen = format!("127.0.0.1:{port}");
    let server = Command::new(&bin)
        .args(["serve", "--data", &data_s, "--listen", &listen])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("starting stockade serve")?;
    let server = KillOnDrop(server);
    let url = format!("http://{listen}");
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(&listen).is_err() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            bail!("the server did not listen on {listen} within a minute");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let result = run(Command::new(&st)
        .args(["run", &format!("{url}/api/openapi.json"), "-H", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        // One worker: hypothesis describes filters by parsing their source
        // with `ast` (CPython 3.11 can fail that with "AST constructor
        // recursion depth mismatch" in a worker thread's smaller stack).
        .args(["--phases", "examples,coverage,fuzzing", "--max-examples", "30", "--workers", "1"])
        .args(["--seed", "20261206", "--no-color", "--request-timeout", "30"])
        .env("SCHEMATHESIS_HOOKS", ""));
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    result
}

/// A fresh directory under `target/` for a test's data.
fn tempfile_dir(root: &Path) -> Result<PathBuf> {
    let dir = root.join(format!("target/api-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(dir)
}

/// A child process stopped when its owner goes, however the owner ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("docs/events.schema.json", stockade_model::schema::events_schema()),
        ("docs/reference.schema.json", stockade_model::schema::reference_schema()),
        ("docs/evidence-manifest.schema.json", stockade_evidence::package::manifest_schema()),
    ]
}

fn schema(root: &Path) -> Result<()> {
    for (path, value) in schemas() {
        std::fs::write(root.join(path), serde_json::to_string_pretty(&value)? + "\n")?;
        eprintln!("wrote {path}");
    }
    Ok(())
}

fn check_schema(root: &Path) -> Result<()> {
    for (path, value) in schemas() {
        let on_disk = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        if on_disk != serde_json::to_string_pretty(&value)? + "\n" {
            bail!("{path} is stale: run `cargo xtask schema` and commit it");
        }
    }
    Ok(())
}

fn bench(args: Vec<String>) -> Result<()> {
    run(cargo().args(["run", "--release", "--quiet", "-p", "stockade", "--", "bench"]).args(args))
}
