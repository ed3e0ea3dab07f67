//! Developer chores, run as `cargo xtask <task>`.
//!
//! - `ci`: everything CI checks, in the order that fails fastest: format,
//!   generated files, clippy, then every test (with cargo-nextest when present).
//! - `schema`: regenerates `docs/events.schema.json` and `docs/reference.schema.json`.
//! - `bench`: runs the ingest benchmarks recorded in `docs/BENCHMARKS.md`.
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
        _ => {
            eprintln!("usage: cargo xtask <ci|schema|bench>");
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

fn has_nextest() -> bool {
    cargo().args(["nextest", "--version"]).output().map(|o| o.status.success()).unwrap_or(false)
}

fn ci() -> Result<()> {
    install_test_tools()?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    check_schema(&root())?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    if has_nextest() {
        run(cargo().args(["nextest", "run", "--workspace", "--no-fail-fast"]))?;
    } else {
        eprintln!("cargo-nextest not found; using cargo test");
        run(cargo().args(["test", "--workspace", "--no-fail-fast"]))?;
    }
    // Doc tests are not run by nextest.
    run(cargo().args(["test", "--workspace", "--doc"]))?;
    Ok(())
}

/// Installs what the tests need and a fresh machine may lack: Go and its
/// x/mod sources (the independent verifier of the ledger's checkpoints and
/// proofs, `tests/interop/verify.go`), from Debian's packages.
fn install_test_tools() -> Result<()> {
    let have_go = Command::new("go").arg("version").output().is_ok_and(|o| o.status.success());
    let have_mod = Path::new("/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog").is_dir();
    if have_go && have_mod {
        return Ok(());
    }
    eprintln!("installing golang-go and golang-golang-x-mod-dev (for the ledger interop test)");
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
    run(&mut sudo(&["apt-get", "install", "-y", "-q", "golang-go", "golang-golang-x-mod-dev"]))
}

fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("docs/events.schema.json", stockade_model::schema::events_schema()),
        ("docs/reference.schema.json", stockade_model::schema::reference_schema()),
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
