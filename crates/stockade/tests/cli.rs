//! The `stockade` binary as a user runs it.

mod common;
use common::{Running, bin, listening, run, text, wait_for};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// `run`, with the store's and the stage's info logs (a stage that reads
/// stored events back on start says so).
fn run_logged(args: &[&str]) -> Output {
    bin().env("RUST_LOG", "warn,stockade_store=info,stockade_app=info").args(args).output().unwrap()
}

/// `run`, with `input` on standard input.
fn run_input(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = bin()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn serve(data: &str) -> Running {
    serve_with(data, &[])
}

fn serve_with(data: &str, flags: &[&str]) -> Running {
    listening(&[&["serve", "--data", data], flags].concat())
}

#[test]
fn token_create_prints_the_token_last() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = run(&["token", "create", "--role", "ingest", "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("stk_") && last.len() > 70, "{last}");
    let o = run(&["token", "create", "--role", "root", "--data", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("unknown role \"root\""), "{}", text(&o));
}

/// Every command the top-level help lists says what it does, in its own
/// words (a doc comment once slid from one command onto the next).
#[test]
fn every_command_in_the_help_has_its_own_description() {
    let o = run(&["--help"]);
    assert!(o.status.success(), "{}", text(&o));
    let help = stdout(&o);
    let commands: Vec<(&str, &str)> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().split_once(char::is_whitespace))
        .map(|(name, about)| (name, about.trim()))
        .collect();
    assert!(commands.len() > 15, "{help}");
    for (name, about) in &commands {
        assert!(!about.is_empty(), "`{name}` has no description:\n{help}");
    }
    let about = |n: &str| commands.iter().find(|(name, _)| *name == n).map(|(_, a)| *a).unwrap();
    assert!(about("detect").starts_with("Run detection over the stored events"), "{}", about("detect"));
    assert!(!about("detect").contains("numeric series"), "{}", about("detect"));
    assert!(about("series-detect").starts_with("Score a numeric series"), "{}", about("series-detect"));
}

/// Serves `data` until it answers, then stops it with SIGTERM; its output.
fn serve_and_stop(data: &str) -> Output {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = bin()
        .args(["serve", "--data", data, "--listen", &format!("127.0.0.1:{port}")])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(port);
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    child.wait_with_output().unwrap()
}

#[test]
fn serving_without_a_token_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = serve_and_stop(d);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no live API token") && err.contains(&format!("token create --role admin --data {d}")),
        "{err}"
    );
    // With a token, no such warning.
    assert!(run(&["token", "create", "--role", "admin", "--data", d]).status.success());
    let out = serve_and_stop(d);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("no live API token"));
}

/// HTTPS end to end: `serve --tls-cert/--tls-key`, a client trusting the
/// server's self-signed certificate with `--ca-cert`, and plain HTTP refused
/// where tokens would cross a network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_and_refuses_plain_http_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let d = d.to_str().unwrap();
    let tls = dir.path();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    std::fs::write(tls.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(tls.join("key.pem"), signing_key.serialize_pem()).unwrap();
    let (cert_pem, key_pem) = (tls.join("cert.pem"), tls.join("key.pem"));
    let (cert_pem, key_pem) = (cert_pem.to_str().unwrap(), key_pem.to_str().unwrap());
    let o = run(&["token", "create", "--role", "ingest", "--data", d]);
    let token = String::from_utf8(o.stdout).unwrap().lines().last().unwrap().to_owned();
    let o = run_input(
        &["user", "create", "ana", "--role", "analyst", "--password-stdin", "--data", d],
        "correct horse battery\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    let server = serve_with(d, &["--tls-cert", cert_pem, "--tls-key", key_pem]);
    let https = server.1.replace("http://", "https://");
    let events = examples().join("events.ndjson");
    let events = events.to_str().unwrap();
    let o = run(&["ingest", events, "--server", &https, "--token", &token, "--ca-cert", cert_pem]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("14 accepted"), "{}", text(&o));
    // Browsers are told to come back over HTTPS only.
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = trusting.get(format!("{https}/healthz")).send().await.unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    // Session cookies are Secure over TLS.
    let r = trusting
        .post(format!("{https}/api/v1/sessions"))
        .json(&serde_json::json!({"name": "ana", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let set = r.headers()["set-cookie"].to_str().unwrap();
    assert!(set.contains("; Secure") && set.contains("HttpOnly"), "{set}");
    // Without trusting the certificate, the client refuses the server.
    let o = run(&["ingest", events, "--server", &https, "--token", &token]);
    assert!(!o.status.success(), "{}", text(&o));
    // The TLS port speaks no plain HTTP.
    let o = run(&["ingest", events, "--server", &server.1, "--token", &token]);
    assert!(!o.status.success(), "{}", text(&o));
    drop(server);

    // Plain HTTP on an address other machines reach: refused, unless a TLS
    // proxy in front is declared.
    let o = run(&["serve", "--data", d, "--listen", "0.0.0.0:0"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("in clear: give --tls-cert and --tls-key, or --insecure-http"), "{}", text(&o));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let insecure =
        bin().args(["serve", "--data", d, "--listen", &format!("0.0.0.0:{port}"), "--insecure-http"]).spawn().unwrap();
    let insecure = Running(insecure, format!("http://127.0.0.1:{port}"));
    wait_for(port);
    let o = run(&["ingest", events, "--server", &insecure.1, "--token", &token]);
    assert!(o.status.success(), "declared behind a TLS proxy, it serves: {}", text(&o));
    drop(insecure);
    let o = run(&["serve", "--data", d, "--tls-cert", cert_pem]);
    assert!(!o.status.success() && text(&o).contains("--tls-key"), "{}", text(&o));
    let o = run(&["serve", "--data", d, "--tls-cert", key_pem, "--tls-key", key_pem, "--listen", "127.0.0.1:0"]);
    assert!(!o.status.success() && text(&o).contains("loading the TLS certificate"), "{}", text(&o));
    let o = run(&["ingest", events, "--server", &https, "--token", &token, "--ca-cert", key_pem]);
    assert!(!o.status.success() && text(&o).contains("--ca-cert"), "{}", text(&o));
}

/// A server over a data directory with the example reference data and
/// incident INC-1 open; its admin token and the log's verifier key.
async fn serving_with_an_incident(d: &str) -> (Running, String, String) {
    let o = run(&["token", "create", "--role", "admin", "--data", d]);
    let token = String::from_utf8(o.stdout).unwrap().lines().last().unwrap().to_owned();
    let key = String::from_utf8(run(&["ledger", "key", "--data", d]).stdout).unwrap().trim().to_owned();
    let server = serving_an_incident(d, &token, &[]).await;
    (server, token, key)
}

/// Imports the example reference data, serves `d` with `flags`, and opens INC-1.
async fn serving_an_incident(d: &str, token: &str, flags: &[&str]) -> Running {
    assert!(run(&["import", examples().join("reference.yaml").to_str().unwrap(), "--data", d]).status.success());
    let server = serve_with(d, flags);
    let case = r#"{"site":"LYS","title":"cage stock missing","from":"2026-11-02T20:00:00+01:00","to":"2026-11-02T23:59:00+01:00"}"#;
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/incidents", server.1))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(case)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    server
}

/// Waits (up to 60 s) until the server's detection has applied every
/// stored event, as `GET /api/v1/status` reports it.
async fn detection_settles(url: &str, token: &str) {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        let s: serde_json::Value =
            client.get(format!("{url}/api/v1/status")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        if s["detected_through"].as_i64().is_some_and(|d| Some(d) == s["book_through"].as_i64()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("detection did not catch up with the stored events in 60 s");
}

/// Evidence from the command line: a streamed upload that declares its
/// hash, a download checked as it arrives, a package that verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let d = d.to_str().unwrap();
    let (server, token, key) = serving_with_an_incident(d).await;
    let url = server.1.clone();
    let clip = dir.path().join("dock.mp4");
    let bytes: Vec<u8> = (0..3u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&clip, &bytes).unwrap();
    let clip = clip.to_str().unwrap();
    let remote = ["--server", &url, "--token", &token];
    let upload = |from: &str| {
        let mut args = vec!["evidence", "upload", clip, "--incident", "INC-1", "--class", "video", "--from", from];
        args.extend(["--reason", "shrink review", "--media-type", "video/mp4"]);
        args.extend(remote);
        run(&args)
    };
    let o = upload("camera:LYS-CAM-DOCK");
    assert!(o.status.success(), "{}", text(&o));
    let id = stdout(&o).trim().to_owned();
    assert!(id.starts_with("ev_") && text(&o).contains("3145728 bytes"), "{}", text(&o));
    let o = upload("camera:NOPE");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("upload refused (422") && text(&o).contains("no camera \"NOPE\""), "{}", text(&o));

    let out = dir.path().join("copy.mp4");
    let out_s = out.to_str().unwrap();
    let download = |id: &str| {
        let mut args = vec!["evidence", "download", id, "--out", out_s, "--reason", "court copy"];
        args.extend(remote);
        run(&args)
    };
    let o = download(&id);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    assert!(text(&o).contains("as recorded"), "{}", text(&o));
    let o = download(&id);
    assert!(!o.status.success() && text(&o).contains("exists already: not overwritten"), "{}", text(&o));
    std::fs::remove_file(&out).unwrap();
    let o = download("ev_0000000000000000");
    assert!(!o.status.success() && text(&o).contains("download refused (404"), "{}", text(&o));
    assert!(!out.exists(), "nothing kept");

    // Custody acts, and the chain as the CLI shows it.
    let act = |extra: &[&str]| {
        let mut args = vec!["evidence", "act", id.as_str()];
        args.extend(extra);
        args.extend(remote);
        run(&args)
    };
    let o = act(&["transferred", "--reason", "claim 42"]);
    assert!(!o.status.success() && text(&o).contains("names the receiving `party`"), "{}", text(&o));
    let o = act(&["transferred", "--party", "Allianz claims", "--reason", "claim 42"]);
    assert!(o.status.success() && text(&o).contains("recorded transferred on ev_"), "{}", text(&o));
    // The entry's number as the server recorded it (after `collected` #0 and the download #1).
    assert!(text(&o).contains("(custody entry #2)"), "{}", text(&o));
    assert!(act(&["hold_set", "--reason", "lawsuit"]).status.success());
    let mut args = vec!["evidence", "show", id.as_str()];
    args.extend(remote);
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o).contains("in INC-1: video 3145728 bytes") && stdout(&o).contains("under legal hold"),
        "{}",
        text(&o)
    );
    assert!(stdout(&o).contains(" transferred by cli (token ") && stdout(&o).contains(": claim 42"), "{}", text(&o));

    let pkg = dir.path().join("INC-1.tar");
    let pkg_s = pkg.to_str().unwrap();
    let mut args = vec!["evidence", "package", "INC-1", "--out", pkg_s, "--reason", "insurer"];
    args.extend(remote);
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o));
    let r = reqwest::Client::new().get(format!("{url}/api/v1/evidence/{id}")).bearer_auth(&token).send().await.unwrap();
    let item: serde_json::Value = r.json().await.unwrap();
    let acts: Vec<_> =
        item["custody"].as_array().unwrap().iter().map(|c| c["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(acts, ["collected", "downloaded", "transferred", "hold_set", "exported"], "{item}");
    drop(server);
    let o = run(&["verify", pkg_s, "--key", &key]);
    assert!(o.status.success() && stdout(&o).ends_with("VERIFIED\n"), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = run(&["token", "create", "--role", "analyst", "--name", "night desk", "--data", d]);
    let secret = String::from_utf8(o.stdout).unwrap().lines().last().unwrap().to_owned();
    let id = secret.split('_').nth(1).unwrap().to_owned();
    let o = run(&["token", "list", "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    let line = text(&o).lines().find(|l| l.starts_with(&id)).unwrap_or_default().to_owned();
    assert!(line.contains("analyst") && line.contains("night desk") && line.ends_with(" -"), "{}", text(&o));
    assert!(!text(&o).contains(&secret[8..]), "no secret is listed");
    // Revoked by id, or by the whole token pasted.
    let o = run(&["token", "revoke", &secret, "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("revoked analyst token {id} (night desk)")), "{}", text(&o));
    let o = run(&["token", "list", "--data", d]);
    let line = text(&o).lines().find(|l| l.starts_with(&id)).unwrap_or_default().to_owned();
    assert!(!line.ends_with(" -") && line.ends_with('Z'), "revoked, with its time: {line}");
    let o = run(&["token", "revoke", &id, "--data", d]);
    assert!(!o.status.success() && text(&o).contains("already revoked"), "{}", text(&o));
    let o = run(&["token", "revoke", "000000000000", "--data", d]);
    assert!(!o.status.success() && text(&o).contains("no token 000000000000"), "{}", text(&o));
    // A vendor's token, time-boxed.
    let o = run(&["token", "create", "--role", "ingest", "--name", "hvac", "--expires-in-days", "0.5", "--data", d]);
    assert!(o.status.success() && text(&o).contains("(hvac, valid until 20"), "{}", text(&o));
    let o = run(&["token", "list", "--data", d]);
    let line = text(&o).lines().find(|l| l.contains(" hvac ")).unwrap_or_default().to_owned();
    assert_eq!(line.matches('Z').count(), 2, "created and expires: {line}");
    for bad in ["0", "-1", "x", "4000"] {
        let o = run(&["token", "create", "--role", "ingest", &format!("--expires-in-days={bad}"), "--data", d]);
        assert!(!o.status.success() && text(&o).contains("days"), "{bad}: {}", text(&o));
    }
    // Two created, one revoked: three acts in the audit trail, all in the signed log.
    assert!(run(&["ingest", examples().join("events.ndjson").to_str().unwrap(), "--data", d]).status.success());
    let o = run(&["ledger", "verify", "--data", d]);
    assert!(text(&o).contains("audit: 3 records match their leaves"), "{}", text(&o));
    assert!(text(&o).contains("tokens: 2 created, and revoked if they are, as the audit trail says"), "{}", text(&o));
    assert!(o.status.success(), "{}", text(&o));

    // Behind Stockade's back, straight into its store: a token nobody
    // created, and the revoked one working again. The log finds both.
    {
        use stockade_store::{EmbeddedStore, Role, Store, TokenRecord};
        let store = EmbeddedStore::open_dir(Path::new(d)).await.unwrap();
        let revoked = store.tokens().await.unwrap().into_iter().find(|t| t.id == id).unwrap();
        store.put_token(&TokenRecord { revoked_us: None, ..revoked }).await.unwrap();
        let backdoor = TokenRecord {
            id: "b4cd00r00000".into(),
            secret_hash: [0xbd; 32],
            role: Role::Admin,
            name: "maintenance".into(),
            created_us: 1,
            revoked_us: None,
            expires_us: None,
            sites: vec![],
        };
        store.put_token(&backdoor).await.unwrap();
        store.close().await;
    }
    let o = run(&["ledger", "verify", "--data", d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("FAIL token b4cd00r00000 (admin, \"maintenance\") has no creation record in the audit trail"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o)
            .contains(&format!("FAIL token {id} (analyst, \"night desk\") was revoked in the audit trail but works")),
        "{}",
        text(&o)
    );
}

#[test]
fn import_and_ingest_every_sample_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let ex = examples();
    let o = run(&["import", ex.join("reference.yaml").to_str().unwrap(), "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("imported 44 reference records"), "{}", text(&o));
    let o = run(&["ingest", ex.join("events.ndjson").to_str().unwrap(), "--data", d, "--unknown-entities", "reject"]);
    assert!(text(&o).contains("14 accepted, 0 duplicates, 0 rejected"), "{}", text(&o));
    // A reference export in its own shape loads through a reference mapping.
    let staff = ex.join("exports/hr-staff.csv");
    let map = ex.join("mappings/hr-staff.yaml");
    let o = run(&["import", staff.to_str().unwrap(), "--mapping", map.to_str().unwrap(), "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("1 rows skipped by the mapping") && text(&o).contains("imported 3 reference records"),
        "{}",
        text(&o)
    );
    // Every documented CSV export loads through its mapping.
    for (name, rows) in [
        ("access-control", 3),
        ("door-sensors", 4),
        ("camera-line-crossing", 2),
        ("logins", 2),
        ("api-keys", 1),
        ("hr-changes", 2),
        ("wms-adjustments", 2),
        ("opening-balance", 3),
    ] {
        let csv = ex.join(format!("exports/{name}.csv"));
        let map = ex.join(format!("mappings/{name}.yaml"));
        let o = run(&["ingest", csv.to_str().unwrap(), "--mapping", map.to_str().unwrap(), "--data", d]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        assert!(text(&o).contains(&format!("{rows} accepted, 0 duplicates, 0 rejected")), "{name}: {}", text(&o));
        // Rows a mapping leaves out are said (the door sensors' heartbeat).
        let skipped = if name == "door-sensors" { 1 } else { 0 };
        assert!(text(&o).contains(&format!(", {skipped} skipped by the mapping")), "{name}: {}", text(&o));
        // Loading the same export again creates nothing new.
        let o = run_logged(&["ingest", csv.to_str().unwrap(), "--mapping", map.to_str().unwrap(), "--data", d]);
        assert!(text(&o).contains(&format!("0 accepted, {rows} duplicates")), "{name}: {}", text(&o));
        // Each run saved the book as it exited: the next start reads nothing back.
        assert!(!text(&o).contains("caught up with the stored events"), "{name}: {}", text(&o));
    }
}

#[test]
fn epcis_documents_ingest_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let doc = examples().join("../tests/data/epcis/gs1/JSON/Example_9.6.3-AggregationEvent.jsonld");
    let o = run(&["ingest", doc.to_str().unwrap(), "--data", d, "--site", "LYS"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(" accepted, 0 duplicates, 0 rejected"), "{}", text(&o));
    let o = run(&["ingest", doc.to_str().unwrap(), "--data", d, "--site", "LYS"]);
    assert!(text(&o).contains("0 accepted, "), "{}", text(&o));
    // Without --site, nothing places its events: stored at no site, said, exit 2.
    let o = run(&["ingest", doc.to_str().unwrap(), "--data", dir.path().join("nosite").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("events landed on no site (flag unresolved_site)"), "{}", text(&o));
    let bad = examples()
        .join("../tests/data/epcis/openepcis/2.0/EPCIS/JSON/Capture/Invalid/ObjectEvent_with_quantity_as_text.json");
    let o = run(&["ingest", bad.to_str().unwrap(), "--data", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("not a valid EPCIS 2.0 document"), "{}", text(&o));
    assert!(text(&o).contains("quantity"), "{}", text(&o));
}

#[test]
fn bad_lines_are_reported_with_line_numbers_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let file = dir.path().join("mixed.ndjson");
    let good = r#"{"id":"1","source":"s","site":"S","occurred_at":"2026-01-01T00:00:00Z","kind":"hr.leave_started","person":"P"}"#;
    std::fs::write(&file, format!("{good}\n{{oops\n{}\n", good.replace(r#""id":"1""#, r#""id":"2""#))).unwrap();
    let o = run(&["ingest", file.to_str().unwrap(), "--data", d]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("2 accepted, 0 duplicates, 1 rejected"), "{}", text(&o));
    assert!(text(&o).contains("line 2: malformed JSON"), "{}", text(&o));
}

#[test]
fn clear_errors_for_unusable_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let ex = examples();
    let csv = ex.join("exports/access-control.csv");
    let o = run(&["ingest", csv.to_str().unwrap(), "--data", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("CSV needs --mapping"), "{}", text(&o));
    let o = run(&["ingest", "/nonexistent/x.ndjson", "--data", d]);
    assert!(text(&o).contains("/nonexistent/x.ndjson"), "{}", text(&o));
    let o = run(&["ingest", ex.join("reference.yaml").to_str().unwrap(), "--data", d]);
    assert!(text(&o).contains("cannot tell the format"), "{}", text(&o));
    // A mapping that uses a column the export lacks.
    let wrong = ex.join("mappings/logins.yaml");
    let o = run(&["ingest", csv.to_str().unwrap(), "--mapping", wrong.to_str().unwrap(), "--data", d]);
    assert!(text(&o).contains("missing column(s)"), "{}", text(&o));
    let o = run(&["ingest", ex.join("events.ndjson").to_str().unwrap(), "--server", "http://127.0.0.1:9"]);
    assert!(text(&o).contains("--server needs --token"), "{}", text(&o));
}

/// The summary says which accepted events were flagged and why, and
/// `--rejected FILE` keeps every rejected line with its text and reason.
#[test]
fn ingest_reports_flags_and_writes_rejected_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let file = dir.path().join("events.ndjson");
    let good = |id: &str| {
        format!(
            r#"{{"id":"{id}","source":"acs","site":"LYS","occurred_at":"2026-11-02T22:14:07+01:00","kind":"access.granted","door":"LYS-D-NOWHERE","badge":"B-1003"}}"#
        )
    };
    let lines =
        [good("a"), "{not json".to_owned(), good("b").replace("access.granted", "access.teleported"), good("c")];
    std::fs::write(&file, lines.join("\r\n")).unwrap();
    let out = dir.path().join("rejected.ndjson");
    let o =
        run(&["ingest", file.to_str().unwrap(), "--data", d.to_str().unwrap(), "--rejected", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("2 accepted, 0 duplicates, 2 rejected"), "{}", text(&o));
    assert!(text(&o).contains("flagged for review"), "{}", text(&o));
    assert!(text(&o).contains("2 unknown_door") && text(&o).contains("2 unknown_site"), "{}", text(&o));
    let written: Vec<serde_json::Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(written.len(), 2);
    assert_eq!((written[0]["line"].as_u64(), written[0]["text"].as_str()), (Some(2), Some("{not json")));
    assert_eq!(written[1]["line"], 3);
    assert_eq!(written[1]["text"].as_str(), Some(lines[2].as_str()), "the line as the file has it, without its CR");
    assert!(written[1]["reason"].as_str().unwrap().contains("unknown kind"), "{}", written[1]);
}

/// A server that answers `good` ingest requests and then drops every
/// connection, as a server that died would; returns its URL.
fn dying_server(good: usize) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let answered = answered.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                loop {
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    if answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= good {
                        return; // the connection drops with the request unanswered
                    }
                    let n = body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
                    let results: Vec<String> =
                        (1..=n).map(|i| format!(r#"{{"status":"accepted","line":{i},"seq":{i}}}"#)).collect();
                    let reply =
                        format!(r#"{{"accepted":{n},"duplicates":0,"rejected":0,"results":[{}]}}"#, results.join(","));
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        reply.len()
                    );
                    conn.write_all(head.as_bytes()).unwrap();
                    conn.write_all(reply.as_bytes()).unwrap();
                }
            });
        }
    });
    url
}

/// A connection that fails part way through a file: the user is told how
/// many events were acknowledged, up to which line the file is stored, and
/// that sending it again is safe.
#[test]
fn ingest_says_what_was_acknowledged_when_the_server_goes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.ndjson");
    let lines: Vec<String> = (0..40)
        .map(|i| {
            format!(
                r#"{{"id":"e{i}","source":"acs","site":"LYS","occurred_at":"2026-11-02T22:14:07+01:00","kind":"access.granted","door":"LYS-D-CAGE","badge":"B-1003"}}"#
            )
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let url = dying_server(2);
    let o = run(&["ingest", file.to_str().unwrap(), "--server", &url, "--token", "stk_x_y", "--batch", "4"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("events were acknowledged"), "{out}");
    assert!(out.contains("resume"), "{out}");
    assert!(out.contains("sending the file again is safe"), "{out}");
}

#[test]
fn ingest_into_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = run(&["token", "create", "--role", "ingest", "--data", d]);
    let token = String::from_utf8(o.stdout).unwrap().lines().last().unwrap().to_owned();
    // No periodic checkpoint in the test's time: only the one signed on shutdown.
    let server = serve_with(d, &["--checkpoint-interval", "3600"]);
    let url = server.1.clone();
    let ex = examples();
    let csv = ex.join("exports/access-control.csv");
    let map = ex.join("mappings/access-control.yaml");
    let o = run(&[
        "ingest",
        csv.to_str().unwrap(),
        "--mapping",
        map.to_str().unwrap(),
        "--server",
        &url,
        "--token",
        &token,
    ]);
    let o2 = run(&["ingest", ex.join("events.ndjson").to_str().unwrap(), "--server", &url, "--token", "stk_bad"]);
    // Stopped as a service manager stops it (SIGTERM): it shuts down
    // cleanly, signing a checkpoint over everything logged and saving the
    // book, so the next start replays nothing.
    let mut server = server;
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let stopped = server.0.wait().unwrap();
    assert!(stopped.success(), "{stopped:?}");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("3 accepted"), "{}", text(&o));
    assert!(!o2.status.success());
    assert!(text(&o2).contains("401"), "{}", text(&o2));
    // The server saved the book's cursor as it stopped: the next start reads nothing back.
    let o = run_logged(&["import", ex.join("reference.yaml").to_str().unwrap(), "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("caught up with the stored events"), "{}", text(&o));
    let o = run_logged(&["ledger", "verify", "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    // The token's audit record, the three events and the import: all five signed.
    assert!(text(&o).contains(": 5 leaves\ncheckpoint: 5 leaves,"), "{}", text(&o));
}

#[test]
fn demo_loads_sample_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("demo");
    let o = run(&["demo", "--no-serve", "--data", d.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    // The sample day (40 records, 14 events) and the simulated network (seed 1).
    assert!(out.contains("759 reference records, 194550 events accepted (27 scenario instances"), "{out}");
    assert!(out.contains("admin token: stk_"), "{out}");
    let password = out.lines().find_map(|l| l.strip_prefix("console user: admin, password: ")).unwrap_or("");
    assert_eq!(password.split(' ').next().unwrap().len(), 20, "a generated password, shown once: {out}");
    // Detection ran over the loaded history and opened incidents.
    let opened: u64 = out
        .split(" incidents opened")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(opened >= 10, "{out}");
    // Playbooks worked them: each has its playbook and the two automatic
    // steps every built-in playbook starts with (opening the incident log,
    // preserving its evidence), and the departed people's credentials were
    // revoked at once.
    let number = |after: &str| -> u64 {
        out.split(after).next().and_then(|s| s.rsplit(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    let (entries, held) = (number(" timeline entries recorded"), number(" containments applied at once"));
    assert!(entries >= 3 * opened && held >= 1, "{out}");
    // Its log is signed and whole; the import, the token, each incident
    // detection opened and each entry of their timelines are audited (the
    // evidence kept: one snapshot each, with its custody).
    let o = run_logged(&["ledger", "verify", "--data", d.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // (the import, the token, the console's first admin)
    let audited = format!("audit: {} records match their leaves", 3 + opened + entries);
    assert!(text(&o).contains(&audited), "{audited}: {}", text(&o));
    let kept = format!("evidence: {opened} items match their leaves and their files; {} custody entries", 2 * opened);
    assert!(text(&o).contains(&kept), "{}", text(&o));
    // The incidents are scored against the simulation's truth: most thefts found.
    let scores = d.join("scores.json");
    let o = run(&[
        "eval",
        "--truth",
        d.join("truth.json").to_str().unwrap(),
        "--data",
        d.to_str().unwrap(),
        "--json",
        scores.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let scores: serde_json::Value = serde_json::from_slice(&std::fs::read(&scores).unwrap()).unwrap();
    assert!(scores["recall"].as_f64().unwrap() >= 0.8, "{scores}");
    // The incident report for insurers, from the command line: one file.
    let report = dir.path().join("INC-1.html");
    let o = run(&["report", "incident", "INC-1", "--data", d.to_str().unwrap(), "--out", report.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&report).unwrap();
    for want in ["Incident report: INC-1", "<h2>Timeline</h2>", "<h2>Evidence</h2>", "stockade verify INC-1.tar --key"]
    {
        assert!(html.contains(want), "{want}");
    }
    assert!(!html.contains("<script"), "no script in a report");
    let o = run(&["report", "incident", "INC-999", "--data", d.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("INC-999"), "{}", text(&o));
    // The same as a PDF, read back by another reader (Poppler).
    let pdf = dir.path().join("INC-1.pdf");
    let o = run(&[
        "report",
        "incident",
        "INC-1",
        "--format",
        "pdf",
        "--data",
        d.to_str().unwrap(),
        "--out",
        pdf.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let read = pdftotext(&pdf);
    for want in ["Incident report: INC-1", "Timeline", "Evidence", "How to verify this report", "page 1 of"] {
        assert!(read.contains(want), "{want}: {read}");
    }
    // The executive scorecard of the demo's weeks: every incident detection
    // opened is counted in it, the sites ranked, the charts captioned.
    let sc = dir.path().join("scorecard.pdf");
    let o =
        run(&["report", "scorecard", "--format", "pdf", "--data", d.to_str().unwrap(), "--out", sc.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let read = pdftotext(&sc);
    for want in [
        "Executive scorecard: 2026-".to_owned(),
        format!("{opened} incidents detected"),
        "KPIs against targets".into(),
        "Median time to detect (MTTD)".into(),
        "Incidents detected per week".into(),
        "Top risks by site".into(),
        "Top risks by entity".into(),
        "Losses".into(),
    ] {
        assert!(read.contains(&want), "{want}: {read}");
    }
    let o = run(&["report", "scorecard", "--site", "S01", "--data", d.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let html = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(html.contains("Sites S01") && !html.contains("<td>S02</td>"), "{html}");
    // Bad periods and targets are refused with the reason.
    let o = run(&["report", "scorecard", "--from", "2026-11-20", "--to", "2026-11-01", "--data", d.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("--to must be after --from"), "{}", text(&o));
    let o = run(&["report", "scorecard", "--from", "last week", "--data", d.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("--from \"last week\""), "{}", text(&o));
    let targets = dir.path().join("targets.yaml");
    std::fs::write(&targets, "record_acuracy: 0.99\n").unwrap();
    let o = run(&["report", "scorecard", "--targets", targets.to_str().unwrap(), "--data", d.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("unknown field `record_acuracy`"), "{}", text(&o));
    // A server is not started on them either.
    let o = run(&[
        "serve",
        "--targets",
        targets.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--data",
        d.to_str().unwrap(),
    ]);
    assert!(!o.status.success() && text(&o).contains("unknown field `record_acuracy`"), "{}", text(&o));
    // The demo saved its book on the way out: a start reads nothing back.
    let o = run_logged(&["rebuild", "--data", d.to_str().unwrap(), "--only", "book"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("caught up with the stored events"), "{}", text(&o));
    // The loaded events and the containments' records.
    let through = format!("rebuilt book through event {}", 194_550 + held);
    assert!(text(&o).contains(&through), "{through}: {}", text(&o));
    let o = run(&["rebuild", "--data", d.to_str().unwrap(), "--only", "detections"]);
    assert!(!o.status.success() && text(&o).contains("consumers: book"), "{}", text(&o));
}

/// The demo prints an admin token and serves plain HTTP: it refuses any
/// address other machines could reach, before it loads or writes anything.
#[test]
fn demo_serves_loopback_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("demo");
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let o = run(&["demo", "--listen", listen, "--data", d.to_str().unwrap()]);
        assert!(!o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("reachable from other machines"), "{}", text(&o));
        assert!(text(&o).contains("stockade serve"), "{}", text(&o));
        assert!(!d.exists(), "nothing was created");
    }
}

/// Rewrites ledger entry `index` in `DIR/ledger/entries` with a valid checksum.
fn rewrite_entry(dir: &Path, index: usize, edit: impl Fn(&mut Vec<u8>)) {
    let path = dir.join("ledger/entries");
    let bytes = std::fs::read(&path).unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let mut body = bytes[at + 8..at + 8 + len].to_vec();
        if i == index {
            edit(&mut body);
        }
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        at += 8 + len;
        i += 1;
    }
    std::fs::write(&path, out).unwrap();
}

#[test]
fn the_ledger_key_prints_and_verify_finds_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = run(&["ledger", "verify", "--data", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("holds no Stockade data directory"), "{}", text(&o));
    let o = run(&["ledger", "key", "--data", d]);
    assert!(!o.status.success() && text(&o).contains("holds no Stockade data directory"), "{}", text(&o));
    // A store without a ledger (`token list` opens the store alone).
    assert!(run(&["token", "list", "--data", d]).status.success());
    let o = run(&["ledger", "verify", "--data", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("holds no evidence ledger"), "{}", text(&o));
    assert!(!dir.path().join("ledger").exists(), "verify creates no ledger");
    let missing = dir.path().join("nowhere");
    let o = run(&["ledger", "verify", "--data", missing.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("is not a data directory"), "{}", text(&o));
    assert!(!missing.exists(), "verify creates nothing");
    // A token's audit record is synced and signed over when it is appended.
    let fresh = tempfile::tempdir().unwrap();
    let f = fresh.path().to_str().unwrap();
    assert!(run(&["token", "create", "--role", "admin", "--data", f]).status.success());
    let o = run(&["ledger", "verify", "--data", f]);
    assert!(o.status.success() && text(&o).contains("checkpoint: 1 leaves"), "{}", text(&o));
    // A ledger with leaves but no signed checkpoint yet (as a crash before
    // the first one would leave it).
    std::fs::remove_file(fresh.path().join("ledger/checkpoint")).unwrap();
    let o = run(&["ledger", "verify", "--data", f]);
    assert!(!o.status.success() && text(&o).contains("no signed checkpoint yet"), "{}", text(&o));
    let events = examples().join("events.ndjson");
    let o =
        run(&["ingest", "--quiet", "--data", d, "--ledger-origin", "lys.example/stockade", events.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["ledger", "key", "--data", d]);
    let key = String::from_utf8(o.stdout).unwrap();
    assert!(key.starts_with("lys.example/stockade+") && key.trim().splitn(3, '+').count() == 3, "{key}");
    let o = run(&["ledger", "verify", "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("signature and root verified") && stdout(&o).ends_with("OK\n"), "{}", text(&o));

    // A leaf rewritten with a valid checksum: rehashed, it is not the
    // tree's leaf (and without the stored hashes, the signed root no
    // longer matches).
    let saved = std::fs::read(dir.path().join("ledger/entries")).unwrap();
    rewrite_entry(dir.path(), 2, |b| {
        let n = b.len();
        b[n - 1] = if b[n - 1] == b'0' { b'1' } else { b'0' };
    });
    let o = run(&["ledger", "verify", "--data", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("FAIL tree: ") && text(&o).contains("from leaf 2 on"), "{}", text(&o));
    assert!(text(&o).contains("FAIL event 3 (leaf 2): its leaf commits to other content"), "{}", text(&o));
    let hashes = std::fs::read(dir.path().join("ledger/hashes")).unwrap();
    std::fs::remove_file(dir.path().join("ledger/hashes")).unwrap();
    let o = run(&["ledger", "verify", "--data", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("not the one its signed checkpoint names"), "{}", text(&o));
    std::fs::write(dir.path().join("ledger/hashes"), hashes).unwrap();
    // A flipped byte without a fixed checksum is caught before that.
    let mut bad = saved.clone();
    bad[20] ^= 1;
    std::fs::write(dir.path().join("ledger/entries"), &bad).unwrap();
    let o = run(&["ledger", "verify", "--data", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("checksum"), "{}", text(&o));
    // The same checkpoint signed by another key (same origin) is refused.
    std::fs::write(dir.path().join("ledger/entries"), &saved).unwrap();
    assert!(run(&["ledger", "verify", "--data", d]).status.success());
    let note = std::fs::read_to_string(dir.path().join("ledger/checkpoint")).unwrap();
    let mut lines = note.lines();
    let (size, root) = (lines.nth(1).unwrap().parse().unwrap(), lines.next().unwrap());
    let root = stockade_ledger::Hash::parse_hash(root).unwrap();
    let (other, _) = stockade_ledger::checkpoint::LogKey::generate("lys.example/stockade").unwrap();
    std::fs::write(dir.path().join("ledger/checkpoint"), other.sign("lys.example/stockade", size, root).unwrap())
        .unwrap();
    let o = run(&["ledger", "verify", "--data", d]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("checkpoint"), "{}", text(&o));
}

/// The path an insurer takes: a package from a running server, checked
/// offline with `stockade verify`, which names what a tampered copy breaks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packages_from_a_server_verify_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_owned();
    let (server, token, key) = serving_with_an_incident(&d).await;
    let url = server.1.clone();
    let client = reqwest::Client::new();
    let events = std::fs::read_to_string(examples().join("events.ndjson")).unwrap();
    let r = client
        .post(format!("{url}/api/v1/events"))
        .bearer_auth(&token)
        .header("content-type", "application/x-ndjson")
        .body(events)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    // The incidents detection opens take their snapshots as they open.
    detection_settles(&url, &token).await;
    let r = client
        .post(format!(
            "{url}/api/v1/evidence?incident=INC-1&class=photo&collected_from=camera:LYS-CAM-CAGE&reason=review"
        ))
        .bearer_auth(&token)
        .header("content-type", "image/jpeg")
        .body(vec![0xffu8, 0xd8, 0xff, 0xe0, 1, 2, 3])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let uploaded: serde_json::Value = r.json().await.unwrap();
    let evidence_id = uploaded["record"]["id"].as_str().unwrap().to_owned();
    // While the server holds the data directory, no other process writes to it.
    let o = run(&["ingest", "--quiet", "--data", &d, examples().join("events.ndjson").to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("in use by another stockade process"), "{}", text(&o));
    // Nor does `ledger verify` open the ledger under the server (opening
    // cuts what a crash left unsynced: here, what the server is writing).
    let o = run(&["ledger", "verify", "--data", &d]);
    assert!(!o.status.success() && text(&o).contains("in use by another stockade process"), "{}", text(&o));
    // An auditor's monitor: through /tlog/ only, with the key it holds.
    let state = dir.path().join("monitor.json");
    let st = state.to_str().unwrap();
    let monitor =
        |key: &str| run(&["ledger", "monitor", "--server", &url, "--key", key, "--state", st, "--token", &token]);
    let r = client.post(format!("{url}/api/v1/ledger/checkpoint")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200, "a checkpoint signed now covers the events and the evidence");
    let o = monitor(&key);
    assert!(o.status.success(), "{}", text(&o));
    // The upload, and the snapshot each incident's playbook took on opening.
    let incidents: serde_json::Value =
        client.get(format!("{url}/api/v1/incidents")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let items = format!("{} evidence items", incidents.as_array().unwrap().len() + 1);
    assert!(text(&o).contains("signature verified") && text(&o).contains(&items), "{items}: {}", text(&o));
    let seen: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let tar = client
        .get(format!("{url}/api/v1/incidents/INC-1/package?events=1,5&reason=claim"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    // The package's export grew the log (and signed it); the monitor finds it consistent.
    let o = monitor(&key);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("entries seen before are unchanged"), "{}", text(&o));
    assert!(text(&o).contains(" new fetched in 1 bundles; with the "), "only what was added: {}", text(&o));
    // Had the log been rewritten (the root it had differs), or the key not
    // been the log's, the monitor says so and fails.
    let mut forged = seen.clone();
    forged["root"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    std::fs::write(&state, forged.to_string()).unwrap();
    let o = monitor(&key);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("FAIL  consistency: the log was rewritten"), "{}", text(&o));
    let (other, _) = stockade_ledger::checkpoint::LogKey::generate("lys.example/stockade").unwrap();
    let o = monitor(other.verifier_key());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("FAIL  checkpoint"), "{}", text(&o));
    assert!(!monitor("not a key").status.success());
    // Proofs to keep beside the evidence: C2SP tlog-proof files.
    let mut proofs = Vec::new();
    for path in ["events/5/proof".to_owned(), format!("evidence/{evidence_id}/proof")] {
        let r = client
            .get(format!("{url}/api/v1/ledger/{path}?format=tlog-proof"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
        proofs.push(r.bytes().await.unwrap().to_vec());
    }
    drop(server);
    let proof = dir.path().join("event-5.tlog-proof");
    let pf = proof.to_str().unwrap();
    std::fs::write(&proof, &proofs[0]).unwrap();
    let o = run(&["ledger", "check-proof", pf, "--key", &key]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("entry stockade/event seq=5 ") && stdout(&o).ends_with("VERIFIED\n"), "{}", text(&o));
    std::fs::write(&proof, &proofs[1]).unwrap();
    let o = run(&["ledger", "check-proof", pf, "--key", &key]);
    assert!(o.status.success() && text(&o).contains(&evidence_id), "{}", text(&o));
    let mut bad = proofs[0].clone();
    let at = bad.iter().position(|&b| b == b'\n').unwrap() + 8;
    bad[at] ^= 1;
    std::fs::write(&proof, &bad).unwrap();
    let o = run(&["ledger", "check-proof", pf, "--key", &key]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("FAIL  ") && text(&o).contains("NOT VERIFIED"), "{}", text(&o));
    std::fs::write(&proof, &proofs[0]).unwrap();
    let o = run(&["ledger", "check-proof", pf, "--key", other.verifier_key()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("FAIL  ") && text(&o).contains("checkpoint"), "{}", text(&o));
    assert!(text(&run(&["ledger", "check-proof", pf, "--key", "not a key"])).contains("not a verifier key"));
    assert!(!run(&["ledger", "check-proof", "/nonexistent.tlog-proof", "--key", &key]).status.success());
    let pkg = dir.path().join("INC-1.tar");
    std::fs::write(&pkg, &tar).unwrap();
    let p = pkg.to_str().unwrap();
    let o = run(&["verify", p, "--key", &key]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).ends_with("VERIFIED\n"), "{}", text(&o));
    assert!(text(&o).contains("incident INC-1 (audit record #"), "the incident itself is proven: {}", text(&o));
    // One flipped byte in the event's bytes: named, and the exit code says so.
    let mut bad = tar.to_vec();
    let at = tar.windows(9).position(|w| w == b"\"source\":").unwrap();
    bad[at + 2] ^= 1;
    std::fs::write(&pkg, &bad).unwrap();
    let o = run(&["verify", p, "--key", &key]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("FAIL  events/"), "{}", text(&o));
    // A wrong or malformed key.
    std::fs::write(&pkg, &tar).unwrap();
    let o = run(&["verify", p, "--key", "stockade.local/x+00000000+AAAA"]);
    assert!(!o.status.success());
    let o = run(&["verify", p, "--key", "not a key"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("not a verifier key"), "{}", text(&o));
    let o = run(&["verify", "/nonexistent.tar", "--key", &key]);
    assert!(!o.status.success());

    // The whole data directory re-checks, evidence files included.
    let o = run(&["ledger", "verify", "--data", &d]);
    assert!(o.status.success(), "{}", text(&o));
    // The upload and the openings' snapshots.
    let items =
        format!("evidence: {} items match their leaves and their files", incidents.as_array().unwrap().len() + 1);
    assert!(text(&o).contains(&items), "{items}: {}", text(&o));
    let objects = dir.path().join("vault/objects");
    let sub = std::fs::read_dir(&objects).unwrap().next().unwrap().unwrap().path();
    let file = std::fs::read_dir(sub).unwrap().next().unwrap().unwrap().path();
    std::fs::write(&file, b"swapped photo").unwrap();
    let o = run(&["ledger", "verify", "--data", &d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("its file in the vault no longer matches its SHA-256"), "{}", text(&o));
}

#[test]
fn eval_scores_hand_written_incidents_and_refuses_bad_documents() {
    let dir = tempfile::tempdir().unwrap();
    let ex = examples().join("eval");
    let truth = ex.join("truth.json");
    let incidents = ex.join("incidents.json");
    let json = dir.path().join("scores.json");
    let (t, i, j) = (truth.to_str().unwrap(), incidents.to_str().unwrap(), json.to_str().unwrap());
    let o = run(&["eval", "--truth", t, "--incidents", i, "--json", j]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("recall                    33.3%"), "{out}");
    assert!(out.contains("precision                 33.3% (1 of 3 incidents true)"), "{out}");
    assert!(out.contains("authorised_after_hours_move (benign)"), "{out}");
    let scores: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(scores["instances"][0]["detected_by"], "INC-1");
    assert_eq!(scores["instances"][0]["time_to_detect_s"], 353.0);
    assert_eq!(scores["false_incidents"], 2);

    let original = std::fs::read_to_string(&truth).unwrap();
    let bad = |name: &str, content: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        let o = run(&["eval", "--truth", p.to_str().unwrap(), "--incidents", i]);
        assert!(!o.status.success(), "{name} accepted");
        text(&o)
    };
    let e = bad("unknown.json", original.replace("dock_door_held_at_night", "dock_door_left_ajar"));
    assert!(e.contains("unknown variant `dock_door_left_ajar`"), "{e}");
    let e = bad(
        "signal.json",
        original.replace(
            "\"first_signal\": \"2026-11-09T02:05:00+01:00\"",
            "\"first_signal\": \"2026-11-09T03:05:00+01:00\"",
        ),
    );
    assert!(e.contains("t-0003") && e.contains("first_signal must lie between start and end"), "{e}");
    let e = bad(
        "site.json",
        original.replace("\"site\": \"ROT\",\n      \"actors\": []", "\"site\": \"PAR\",\n      \"actors\": []"),
    );
    assert!(e.contains("site PAR is not one of the truth's sites"), "{e}");
    let e = bad("benign.json", original.replace("\"benign\": true", "\"benign\": false"));
    assert!(e.contains("authorised_after_hours_move is benign"), "{e}");
    let e = bad("format.json", original.replace("stockade-truth/1", "stockade-truth/9"));
    assert!(e.contains("format"), "{e}");
    let e = bad(
        "period.json",
        original.replace("\"to\": \"2026-11-16T00:00:00+01:00\"", "\"to\": \"2026-11-01T00:00:00+01:00\""),
    );
    assert!(e.contains("`to` must be after `from`"), "{e}");
    let o = run(&["eval", "--truth", "/nonexistent/truth.json", "--incidents", i]);
    assert!(!o.status.success() && text(&o).contains("reading /nonexistent/truth.json"), "{}", text(&o));
    let o = run(&["eval", "--truth", t, "--incidents", i, "--json", "/nonexistent/dir/scores.json"]);
    assert!(!o.status.success() && text(&o).contains("writing /nonexistent/dir/scores.json"), "{}", text(&o));
}

/// A simulated network loads through the same paths as customer data, with
/// nothing rejected even when unknown entities are refused, and the same
/// seed writes the same bytes.
#[test]
fn simulated_networks_ingest_cleanly_and_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, data) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("data"));
    for out in [&a, &b] {
        let o = run(&["simulate", "--sites", "2", "--days", "5", "--seed", "42", "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let files = [
        "reference.yaml",
        "acs.ndjson",
        "vms.ndjson",
        "wms.ndjson",
        "iam.ndjson",
        "hr.ndjson",
        "nac.ndjson",
        "truth.json",
    ];
    for f in files {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f} differs");
    }
    let d = data.to_str().unwrap();
    let o = run(&["import", a.join("reference.yaml").to_str().unwrap(), "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    let feeds: Vec<String> = files[1..7].iter().map(|f| a.join(f).to_str().unwrap().to_owned()).collect();
    let mut args = vec!["ingest", "--quiet", "--unknown-entities", "reject", "--data", d];
    args.extend(feeds.iter().map(String::as_str));
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(text(&o).matches(" 0 rejected").count(), 6, "{}", text(&o));
    // The truth names events that exist, and scores.
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("truth.json")).unwrap()).unwrap();
    // Two of each of the 29 types, but for the two that need a full count
    // on a Monday after their day, which five days from a Monday lack.
    let instances = truth["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 54, "two of each of 27 scenario types");
    assert!(!instances.iter().any(|i| i["scenario"] == "skipped_counts" || i["scenario"] == "count_deferred"));
    let empty = dir.path().join("none.json");
    std::fs::write(&empty, r#"{"format":"stockade-incidents/1","incidents":[]}"#).unwrap();
    let o = run(&["eval", "--truth", a.join("truth.json").to_str().unwrap(), "--incidents", empty.to_str().unwrap()]);
    assert!(o.status.success() && text(&o).contains("recall                    0.0%"), "{}", text(&o));
    // Against the data it describes, the truth checks out; against other data it is refused.
    let t = a.join("truth.json");
    let o = run(&["eval", "--truth", t.to_str().unwrap(), "--incidents", empty.to_str().unwrap(), "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    let other = dir.path().join("other");
    let o = run(&["simulate", "--sites", "1", "--days", "1", "--seed", "7", "--out", other.to_str().unwrap()]);
    assert!(o.status.success());
    let t = other.join("truth.json");
    let o = run(&["eval", "--truth", t.to_str().unwrap(), "--incidents", empty.to_str().unwrap(), "--data", d]);
    assert!(!o.status.success() && text(&o).contains("the truth does not match"), "{}", text(&o));
    let e = empty.to_str().unwrap();
    let o = run(&["eval", "--truth", t.to_str().unwrap(), "--incidents", e, "--data", other.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("holds no data directory"), "{}", text(&o));
    // Bad parameters and an unwritable directory.
    let o = run(&["simulate", "--sites", "0", "--out", dir.path().join("x").to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("--sites must be between 1 and 500"), "{}", text(&o));
    let o = run(&["simulate", "--days", "-3", "--out", dir.path().join("x").to_str().unwrap()]);
    assert!(!o.status.success());
    let o = run(&["simulate", "--scenario", "teleportation=2", "--out", dir.path().join("x").to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("unknown scenario \"teleportation\""), "{}", text(&o));
    let o = run(&["simulate", "--scenario", "tailgating=many", "--out", dir.path().join("x").to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("whole number"), "{}", text(&o));
    let x = dir.path().join("x");
    let o = run(&["simulate", "--scenario", "slow_skimming=1,colour=red", "--out", x.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("unknown parameter `colour`"), "{}", text(&o));
    let o = run(&["simulate", "--days", "5", "--scenario", "tailgating=1,day=6", "--out", x.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("day 6 is past the 5-day period"), "{}", text(&o));
    // Parameters reach the output: twelve days of skimming two units a day.
    let p = dir.path().join("p");
    let spec = "slow_skimming=1,days=12,units=2";
    let o = run(&["simulate", "--days", "3", "--per-scenario", "0", "--scenario", spec, "--out", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(p.join("truth.json")).unwrap()).unwrap();
    assert_eq!(truth["instances"].as_array().unwrap().len(), 1);
    assert_eq!(truth["instances"][0]["events"].as_array().unwrap().len(), 12, "{truth}");
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let o = run(&["simulate", "--out", file.join("sub").to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("creating"), "{}", text(&o));
}

/// The body of `GET path` on a server at `url` (`http://host:port`).
fn http_get(url: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let host = url.trim_start_matches("http://");
    let mut c = std::net::TcpStream::connect(host).unwrap();
    c.write_all(format!("GET {path} HTTP/1.0\r\nhost: {host}\r\n\r\n").as_bytes()).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default()
}

/// `simulate --to URL` feeds a live server in accelerated time.
#[test]
fn simulations_stream_into_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let d = d.to_str().unwrap();
    let o = run(&["token", "create", "--role", "ingest", "--data", d]);
    let token = String::from_utf8(o.stdout).unwrap().lines().last().unwrap().to_owned();
    let server = serve(d);
    let url = server.1.clone();
    let out = dir.path().join("sim");
    // Two days at 200,000 simulated seconds per second: under a second of wall time.
    let o = run(&[
        "simulate",
        "--sites",
        "1",
        "--days",
        "2",
        "--to",
        &url,
        "--token",
        &token,
        "--speed",
        "200000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("streamed "), "{}", text(&o));
    assert!(out.join("truth.json").exists(), "--out writes the files too");
    // Every line of every feed was sent, and the server accepted each batch.
    let streamed: usize =
        text(&o).split("streamed ").nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok()).unwrap();
    let lines: usize = ["acs", "vms", "wms", "iam", "hr", "nac"]
        .iter()
        .map(|f| std::fs::read_to_string(out.join(format!("{f}.ndjson"))).unwrap().lines().count())
        .sum();
    assert_eq!(streamed, lines);
    assert!(streamed > 300, "{streamed}");
    // EPCIS documents go to the capture interface as their day comes.
    let o = run(&[
        "simulate", "--sites", "1", "--days", "1", "--seed", "5", "--epcis", "--to", &url, "--token", &token,
        "--speed", "1e9",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(" and 1 EPCIS documents"), "{}", text(&o));
    // A steady load: --rate events a second, whatever their times; the
    // server measures each live event's receipt-to-detection time, and of
    // those that raised alerts, as Prometheus summaries.
    let o = run(&[
        "simulate", "--sites", "1", "--days", "2", "--seed", "6", "--to", &url, "--token", &token, "--rate", "20000",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(" events/s, 20000 asked)"), "{}", text(&o));
    let metric = |page: &str, name: &str| -> Option<f64> {
        page.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
    };
    let mut page = String::new();
    for _ in 0..300 {
        page = http_get(&url, "/metrics");
        if metric(&page, "stockade_event_detected_seconds_count").is_some_and(|n| n >= streamed as f64) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Histograms (cumulative buckets): every event under 60 s here.
    let within_a_minute = metric(&page, "stockade_event_detected_seconds_bucket{le=\"60\"}");
    assert_eq!(within_a_minute, metric(&page, "stockade_event_detected_seconds_count"), "{page}");
    assert!(metric(&page, "stockade_event_to_alert_seconds_count").is_some_and(|n| n >= 1.0), "{page}");
    // Refusals before anything is sent.
    let o = run(&["simulate", "--to", &url, "--token", &token, "--rate", "0"]);
    assert!(!o.status.success() && text(&o).contains("--rate must be at least 1 event per second"), "{}", text(&o));
    let o = run(&["simulate", "--to", &url, "--token", &token, "--rate", "5", "--speed", "3"]);
    assert!(!o.status.success() && text(&o).contains("cannot be used with"), "{}", text(&o));
    let o = run(&["simulate", "--to", &url, "--token", &token, "--speed", "0"]);
    assert!(!o.status.success() && text(&o).contains("--speed must be a positive number"), "{}", text(&o));
    let o = bin().args(["simulate", "--to", &url]).env_remove("STOCKADE_TOKEN").output().unwrap();
    assert!(!o.status.success() && text(&o).contains("--to needs --token"), "{}", text(&o));
    let o = run(&["simulate", "--sites", "1", "--days", "1", "--to", &url, "--token", "stk_wrong", "--speed", "1e9"]);
    assert!(!o.status.success() && text(&o).contains("401"), "{}", text(&o));
    let o = run(&["simulate", "--csv", "--to", &url, "--token", &token]);
    assert!(!o.status.success() && text(&o).contains("--csv writes export files"), "{}", text(&o));
}

/// With --epcis the routine inventory flows arrive as GS1 EPCIS 2.0
/// documents, which ingest through the EPCIS path with nothing rejected.
#[test]
fn simulated_epcis_documents_ingest_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (out, data) = (dir.path().join("sim"), dir.path().join("data"));
    let o = run(&["simulate", "--sites", "1", "--days", "1", "--epcis", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let docs: Vec<String> =
        std::fs::read_dir(out.join("epcis")).unwrap().map(|e| e.unwrap().path().to_str().unwrap().to_owned()).collect();
    assert_eq!(docs.len(), 1, "{docs:?}");
    let d = data.to_str().unwrap();
    assert!(run(&["import", out.join("reference.yaml").to_str().unwrap(), "--data", d]).status.success());
    let mut args = vec!["ingest", "--quiet", "--unknown-entities", "reject", "--data", d];
    let feeds: Vec<String> = ["acs", "wms", "iam", "nac"]
        .iter()
        .map(|f| out.join(format!("{f}.ndjson")).to_str().unwrap().to_owned())
        .collect();
    args.extend(feeds.iter().map(String::as_str));
    args.extend(docs.iter().map(String::as_str));
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(text(&o).matches(" 0 rejected").count(), 5, "{}", text(&o));
    assert!(text(&o).contains(".jsonld: ") && !text(&o).contains(".jsonld: 0 accepted"), "{}", text(&o));
    // Routine movements travel only as EPCIS.
    let wms = std::fs::read_to_string(out.join("wms.ndjson")).unwrap();
    assert!(!wms.contains("inventory.put_away"), "put-aways travel as EPCIS");
}

/// With --csv, badge reads arrive as each site's access-control export, and
/// door sensors, camera line crossings, logins, API-key use, stock
/// adjustments and HR changes as their systems' exports; each loads through
/// the column mapping written beside it, ids intact for the truth.
#[test]
fn simulated_csv_exports_load_through_their_mappings() {
    let dir = tempfile::tempdir().unwrap();
    let (out, data) = (dir.path().join("sim"), dir.path().join("data"));
    let o = run(&["simulate", "--sites", "2", "--days", "3", "--csv", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let d = data.to_str().unwrap();
    assert!(run(&["import", out.join("reference.yaml").to_str().unwrap(), "--data", d]).status.success());
    let truth = std::fs::read_to_string(out.join("truth.json")).unwrap();
    let mut exports: Vec<String> = std::fs::read_dir(out.join("csv"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().to_owned())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    exports.sort();
    assert_eq!(
        exports,
        [
            "acs-S01.csv",
            "acs-S02.csv",
            "door-sensors.csv",
            "hr-changes.csv",
            "iam-api-keys.csv",
            "iam-logins.csv",
            "vms-line-crossings.csv",
            "wms-adjustments.csv"
        ]
    );
    let acs = std::fs::read_to_string(out.join("csv/acs-S01.csv")).unwrap();
    assert!(acs.starts_with("event_no,time,site,door,badge,result,direction,reason,cardholder\n"));
    let mut rows = 0;
    for name in &exports {
        let csv = out.join("csv").join(name);
        let map = out.join("csv").join(name.replace(".csv", ".mapping.yaml"));
        let o = run(&[
            "ingest",
            "--quiet",
            "--unknown-entities",
            "reject",
            "--data",
            d,
            "--mapping",
            map.to_str().unwrap(),
            csv.to_str().unwrap(),
        ]);
        assert!(o.status.success() && text(&o).contains(" 0 rejected"), "{name}: {}", text(&o));
        rows += std::fs::read_to_string(&csv).unwrap().lines().count() - 1;
    }
    // The feeds' remaining lines load too, and every event the truth names is there.
    let feeds: Vec<String> = ["acs", "vms", "wms", "iam", "hr", "nac"]
        .iter()
        .map(|f| out.join(format!("{f}.ndjson")).display().to_string())
        .collect();
    let mut args = vec!["ingest", "--quiet", "--unknown-entities", "reject", "--data", d];
    args.extend(feeds.iter().map(String::as_str));
    assert!(run(&args).status.success());
    let empty = dir.path().join("none.json");
    std::fs::write(&empty, r#"{"format":"stockade-incidents/1","incidents":[]}"#).unwrap();
    let t = out.join("truth.json");
    let o = run(&["eval", "--truth", t.to_str().unwrap(), "--incidents", empty.to_str().unwrap(), "--data", d]);
    assert!(o.status.success(), "the truth's events all arrived: {}", text(&o));
    assert!(rows > 500, "{rows}");
    assert!(truth.contains("\"source\": \"iam-s0"), "scenario logins are named by the truth");
}

/// One simulated site over `days` (seed `seed`), its reference data imported
/// and its feeds stored without detection: the directory, the simulation's
/// output and the data directory.
fn simulated_and_stored(days: u32, seed: u32) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (sim, data) = (dir.path().join("sim"), dir.path().join("data"));
    let (days, seed) = (days.to_string(), seed.to_string());
    let o = run(&["simulate", "--sites", "1", "--days", &days, "--seed", &seed, "--out", sim.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let d = data.to_str().unwrap();
    assert!(run(&["import", sim.join("reference.yaml").to_str().unwrap(), "--data", d]).status.success());
    let feeds: Vec<String> = ["acs", "vms", "wms", "iam", "hr", "nac"]
        .iter()
        .map(|f| sim.join(format!("{f}.ndjson")).display().to_string())
        .collect();
    let mut args = vec!["ingest", "--quiet", "--no-detect", "--data", d];
    args.extend(feeds.iter().map(String::as_str));
    assert!(run(&args).status.success());
    (dir, sim, data)
}

/// Incidents opened on a running server are scored from the server and,
/// once it stops, from its data directory, with the same result.
#[tokio::test]
async fn eval_reads_incidents_from_a_server_and_a_data_directory() {
    // Detection off: this test scores the incidents an analyst opens.
    let (dir, sim, data) = simulated_and_stored(3, 9);
    let d = data.to_str().unwrap();
    let o = run(&["token", "create", "--role", "analyst", "--data", d]);
    let token = String::from_utf8(o.stdout).unwrap().lines().last().unwrap().to_owned();

    let truth_path = sim.join("truth.json");
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(&truth_path).unwrap()).unwrap();
    let theft = truth["instances"].as_array().unwrap().iter().find(|i| i["benign"] == false).unwrap();
    let server = serve_with(d, &["--no-detect"]);
    let client = reqwest::Client::new();
    let cases = [
        serde_json::json!({"site": theft["site"], "title": "found it", "from": theft["start"], "to": theft["end"],
            "events": [theft["events"][0]]}),
        serde_json::json!({"site": theft["site"], "title": "false alarm", "from": truth["from"], "to": truth["from"],
            "entities": ["nobody"]}),
    ];
    for case in cases {
        let r =
            client.post(format!("{}/api/v1/incidents", server.1)).bearer_auth(&token).json(&case).send().await.unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    let t = truth_path.to_str().unwrap();
    let (from_server, from_data) = (dir.path().join("server.json"), dir.path().join("data.json"));
    let o =
        run(&["eval", "--truth", t, "--server", &server.1, "--token", &token, "--json", from_server.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["eval", "--truth", t, "--server", &server.1, "--token", "stk_wrong"]);
    assert!(!o.status.success() && text(&o).contains("401"), "{}", text(&o));
    let kpi_server = run(&["kpi", "--server", &server.1, "--token", &token, "--json", "--every", "day"]);
    assert!(kpi_server.status.success(), "{}", text(&kpi_server));
    let plain = run(&["kpi", "--server", &server.1, "--token", &token]);
    assert!(plain.status.success() && stdout(&plain).contains("time to detect"), "{}", text(&plain));
    drop(server);
    // The KPIs from the server and from its data directory agree.
    let kpi_data = run(&["kpi", "--data", d, "--json", "--every", "day"]);
    assert_eq!(stdout(&kpi_data), stdout(&kpi_server));
    let k: serde_json::Value = serde_json::from_str(&stdout(&kpi_data)).unwrap();
    assert_eq!((k["incidents"].as_u64(), k["open"].as_u64()), (Some(2), Some(2)), "{k}");
    let o = run(&["eval", "--truth", t, "--data", d, "--json", from_data.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let scores: serde_json::Value = serde_json::from_slice(&std::fs::read(&from_data).unwrap()).unwrap();
    assert_eq!(scores, serde_json::from_slice::<serde_json::Value>(&std::fs::read(&from_server).unwrap()).unwrap());
    assert_eq!((scores["incidents"].as_u64(), scores["true_incidents"].as_u64()), (Some(2), Some(1)), "{scores}");
    let detected: Vec<&serde_json::Value> =
        scores["instances"].as_array().unwrap().iter().filter(|i| !i["detected_by"].is_null()).collect();
    assert_eq!(detected.len(), 1, "{scores}");
    assert_eq!((&detected[0]["id"], &detected[0]["detected_by"]), (&theft["id"], &serde_json::json!("INC-1")));
    // Where the incidents are must be said, once.
    let o = run(&["eval", "--truth", t]);
    assert!(!o.status.success() && text(&o).contains("--incidents"), "{}", text(&o));
    let o = run(&["eval", "--truth", t, "--data", d, "--server", "http://127.0.0.1:9", "--token", "x"]);
    assert!(!o.status.success() && text(&o).contains("cannot be used with"), "{}", text(&o));
}

/// `stockade serve` killed before its ledger's next sync, and the event
/// records written since then torn as a power cut leaves them: `ledger
/// verify` says which events wait for their leaves, and the next start
/// writes the records again byte for byte from the journal.
#[test]
fn a_crash_before_the_ledgers_sync_is_rebuilt_on_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = run(&["token", "create", "--role", "ingest", "--data", d]);
    let token = stdout(&o).lines().last().unwrap().to_owned();
    let server = serve_with(d, &["--checkpoint-interval", "3600"]);
    let events = examples().join("events.ndjson");
    let o = run(&["ingest", events.to_str().unwrap(), "--server", &server.1, "--token", &token]);
    assert!(o.status.success(), "{}", text(&o));
    drop(server); // SIGKILL: no closing checkpoint
    let entries = dir.path().join("ledger/entries");
    let written = std::fs::read(&entries).unwrap();
    std::fs::write(&entries, &written[..written.len() - 30]).unwrap();

    let o = run(&["ledger", "verify", "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("checkpoint: 1 leaves")
            && text(&o).contains("events: 1 stored but not yet in the log (a crash before the ledger's sync)"),
        "{}",
        text(&o)
    );
    assert!(serve_and_stop(d).status.success());
    assert!(std::fs::read(&entries).unwrap() == written, "the same records, byte for byte");
    let o = run(&["ledger", "verify", "--data", d]);
    assert!(o.status.success() && text(&o).contains("events: 14 match their leaves"), "{}", text(&o));
    assert!(!text(&o).contains("not yet in the log"), "{}", text(&o));
}

/// A load that went wrong (a mapping booking adjustments at the wrong bin)
/// is withdrawn and the file loaded again, in the same data directory:
/// each withdrawal is an event and a ledger leaf, the book leaves the
/// withdrawn events out, the log still verifies, and a source cannot forge
/// a retraction.
#[test]
fn a_wrong_load_is_retracted_and_loaded_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let d = d.to_str().unwrap();
    let o = run(&["import", examples().join("reference.yaml").to_str().unwrap(), "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    let csv = dir.path().join("adjust.csv");
    std::fs::write(
        &csv,
        "time,site,bin,sku,qty,txn\r\n2026-11-02T09:00:00+01:00,LYS,LYS-A-01-01,SKU-CABLE,5,T1\r\n\
         2026-11-02T10:00:00+01:00,LYS,LYS-A-01-01,SKU-CABLE,-2,T2\r\n",
    )
    .unwrap();
    let mapping = |bin: &str| {
        format!(
            "kind: {{ constant: inventory.adjusted }}\noccurred_at: {{ column: time }}\nid: {{ column: txn }}\n\
             fields:\n  source: {{ constant: wms-lys }}\n  site: {{ column: site }}\n  location: {bin}\n  \
             sku: {{ column: sku }}\n  delta: {{ column: qty }}\n  reason: {{ constant: count }}\n"
        )
    };
    let (wrong, fixed) = (dir.path().join("wrong.yaml"), dir.path().join("fixed.yaml"));
    std::fs::write(&wrong, mapping("{ constant: LYS-CAGE-01 }")).unwrap();
    std::fs::write(&fixed, mapping("{ column: bin }")).unwrap();
    let ingest = |m: &Path| run(&["ingest", csv.to_str().unwrap(), "--mapping", m.to_str().unwrap(), "--data", d]);
    let book = || -> serde_json::Value {
        let o = run(&["book", "--data", d, "--sku", "SKU-CABLE", "--json"]);
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let at = |b: &serde_json::Value, loc: &str| {
        b["lines"].as_array().unwrap().iter().find(|l| l["location"] == loc).map(|l| l["quantity"].as_f64().unwrap())
    };
    assert!(text(&ingest(&wrong)).contains("2 accepted, 0 duplicates"));
    assert_eq!(at(&book(), "LYS-CAGE-01"), Some(3.0));
    // Fixed mapping, same ids: nothing new until the first load is withdrawn.
    assert!(text(&ingest(&fixed)).contains("0 accepted, 2 duplicates"));

    let o = run(&["retract", "adjust.csv", "--reason", "booked at the cage, not the bin", "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2 events withdrawn from 2 load(s) (0 withdrawn before)"), "{}", text(&o));
    assert!(text(&o).contains("ledger checkpoint signed"), "{}", text(&o));
    assert_eq!(at(&book(), "LYS-CAGE-01"), None, "the book left them out");
    let o = ingest(&fixed);
    assert!(text(&o).contains("2 accepted, 0 duplicates"), "{}", text(&o));
    assert_eq!((at(&book(), "LYS-CAGE-01"), at(&book(), "LYS-A-01-01")), (None, Some(3.0)));
    // Loading it again stores nothing new; withdrawn again, it loads as a second revision.
    assert!(text(&ingest(&fixed)).contains("0 accepted, 2 duplicates"));
    let o = run(&["retract", csv.to_str().unwrap(), "--reason", "second thoughts", "--data", d]);
    assert!(text(&o).contains("2 events withdrawn from 3 load(s) (2 withdrawn before)"), "{}", text(&o));
    assert_eq!(at(&book(), "LYS-A-01-01"), None);
    assert!(text(&ingest(&fixed)).contains("2 accepted, 0 duplicates"));
    assert_eq!(at(&book(), "LYS-A-01-01"), Some(3.0));
    // Every withdrawal is in the log, which still verifies end to end.
    let o = run(&["ledger", "verify", "--data", d]);
    assert!(o.status.success(), "{}", text(&o));

    // Refusals: an unknown file (the loaded ones are named), no reason.
    let o = run(&["retract", "nope.csv", "--reason", "x", "--data", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("no load of \"nope.csv\" is recorded; loaded files:"), "{}", text(&o));
    assert!(text(&o).contains("adjust.csv"), "{}", text(&o));
    let o = run(&["retract", "adjust.csv", "--reason", " ", "--data", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("a retraction needs a reason"), "{}", text(&o));
    // A source cannot send Stockade's own records.
    let forged = dir.path().join("forged.ndjson");
    std::fs::write(
        &forged,
        r#"{"id":"f1","source":"wms-lys","site":"LYS","occurred_at":"2026-11-02T11:00:00+01:00","kind":"record.retracted","retracted_seq":1,"retracted_source":"wms-lys","retracted_id":"T1","retracted_hash":"00","reason":"x"}"#,
    )
    .unwrap();
    let o = run(&["ingest", forged.to_str().unwrap(), "--data", d]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("record.retracted events are written by Stockade only"), "{}", text(&o));
}

/// `stockade series-detect` scores a series as a user runs it: the output
/// keeps every row with a score in [0, 1], the spike scores high, and bad
/// input is refused with its line and exit 1.
#[test]
fn series_detect_scores_a_csv_and_refuses_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cpu.csv");
    let mut csv = String::from("timestamp,value\r\n");
    // Past the likelihood's warm-up (300 rows, docs/DETECTION.md).
    for i in 0..400 {
        let v = if i == 350 { 95.0 } else { 40.0 + (i * 7919 % 101) as f64 / 20.0 };
        csv.push_str(&format!("2026-11-02 {:02}:{:02}:00,{v}\r\n", i / 60, i % 60));
    }
    std::fs::write(&input, csv).unwrap();
    let o = run(&["series-detect", input.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows[0], "timestamp,value,anomaly_score");
    assert_eq!(rows.len(), 401);
    let score = |i: usize| rows[i + 1].rsplit(',').next().unwrap().parse::<f64>().unwrap();
    assert!((0..400).all(|i| (0.0..=1.0).contains(&score(i))));
    // The alarm comes with the spike or on the row after (the likelihood
    // averages the last five rows' surprise).
    assert!(score(350).max(score(351)) > 0.9 && score(349) < 0.1, "{} {} {}", score(349), score(350), score(351));
    assert_eq!(rows[351], format!("2026-11-02 05:50:00,95,{}", rows[351].rsplit(',').next().unwrap()));
    // To a file.
    let scored = dir.path().join("scored.csv");
    let o = run(&["series-detect", input.to_str().unwrap(), "--out", scored.to_str().unwrap()]);
    assert!(text(&o).contains("scored 400 rows"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&scored).unwrap(), out);
    // Refused: no header, a bad value, time going back.
    for (body, says) in [
        ("2026-11-02 00:00:00,1\n", "line 1: the header must be `timestamp,value`"),
        ("timestamp,value\n2026-11-02 00:00:00,x\n", "line 2: value \"x\" is not a finite number"),
        (
            "timestamp,value\n2026-11-02 00:01:00,1\n2026-11-02 00:00:00,1\n",
            "line 3: timestamp \"2026-11-02 00:00:00\" goes back in time",
        ),
    ] {
        std::fs::write(&input, body).unwrap();
        let o = run(&["series-detect", input.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains(says), "{}", text(&o));
    }
}

/// Rejections of the onboarding commands: `sample-exports` refuses a
/// period out of range and never overwrites a file; a mapping that looks
/// values up cannot ingest to a server with a token that may not read the
/// reference data, and says which role it needs.
#[test]
fn onboarding_commands_refuse_what_they_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exports");
    let o = run(&["sample-exports", "--out", out.to_str().unwrap(), "--days", "0"]);
    assert!(!o.status.success() && text(&o).contains("--days must be between 1 and 366"), "{}", text(&o));
    assert!(run(&["sample-exports", "--out", out.to_str().unwrap(), "--days", "2"]).status.success());
    let o = run(&["sample-exports", "--out", out.to_str().unwrap(), "--days", "2"]);
    assert!(!o.status.success() && text(&o).contains("existing files are not overwritten"), "{}", text(&o));

    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let o = run(&["token", "create", "--role", "ingest", "--data", d]);
    let token = stdout(&o).lines().last().unwrap().to_owned();
    let csv = dir.path().join("doors.csv");
    std::fs::write(&csv, "time,site,door,badge\n2026-11-02T08:00:00+01:00,LYS,MAIN,B-1001\n").unwrap();
    let mapping = dir.path().join("doors.yaml");
    std::fs::write(
        &mapping,
        "kind: { constant: access.granted }\noccurred_at: { column: time }\nfields:\n  source: { constant: pacs }\n  \
         site: { column: site }\n  door: { column: door, lookup: { records: doors, by: code, within_site: true } }\n  \
         badge: { column: badge }\n",
    )
    .unwrap();
    let server = serve(d);
    let o = run(&[
        "ingest",
        csv.to_str().unwrap(),
        "--mapping",
        mapping.to_str().unwrap(),
        "--server",
        &server.1,
        "--token",
        &token,
    ]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("the mapping looks up doors") && text(&o).contains("analyst role"), "{}", text(&o));
}

/// `stockade rules` checks a pack: the built-in one loads whole; a
/// directory with a bad rule is refused with its file and line, and
/// `--rules` with it refuses to run.
#[test]
fn rules_are_checked_before_they_run() {
    let o = run(&["rules"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).contains("rules load ("), "{}", text(&o));
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("pack");
    std::fs::create_dir(&pack).unwrap();
    std::fs::write(
        pack.join("bad.yml"),
        "title: bad\nid: 00000000-0000-4000-8000-000000000001\nname: bad\nlogsource:\n  product: stockade\n  category: access\ndetection:\n  s:\n    kind: access.granted\n  condition: s and (\n",
    )
    .unwrap();
    let o = run(&["rules", pack.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("bad.yml:10:"), "{}", text(&o));
    let data = dir.path().join("data");
    let o = run(&["detect", "--data", data.to_str().unwrap(), "--rules", pack.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("1 rule(s) refused"), "{}", text(&o));
    // A load that would detect with it is refused before it stores anything.
    let events = dir.path().join("events.ndjson");
    std::fs::write(
        &events,
        r#"{"id":"a1","source":"acs","site":"S1","occurred_at":"2026-11-02T10:00:00+01:00","kind":"access.granted","door":"D1","badge":"B1"}"#,
    )
    .unwrap();
    let loaded = dir.path().join("loaded");
    let l = loaded.to_str().unwrap();
    let o = run(&["ingest", events.to_str().unwrap(), "--data", l, "--rules", pack.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("bad.yml:10:"), "{}", text(&o));
    assert!(!loaded.exists(), "nothing stored");
    let o = run(&["ingest", events.to_str().unwrap(), "--data", l, "--rules", pack.to_str().unwrap(), "--no-detect"]);
    assert!(o.status.success(), "without detection the pack is not read: {}", text(&o));
}

/// Playbook packs are checked whole, before anything is stored; a good one
/// chooses the playbook every incident detection opens.
#[tokio::test]
async fn playbooks_are_checked_before_they_are_used() {
    let o = run(&["playbooks"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).starts_with("7 playbooks load"), "{}", text(&o));
    assert!(stdout(&o).contains("security-incident v2: Security incident"), "{}", text(&o));
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("pack");
    std::fs::create_dir(&pack).unwrap();
    let one = "id: one\nversion: 1\ntitle: Everything\napplies_to: {default: true}\nphases:\n  - id: p\n    title: P\n    tasks:\n      - {id: look, title: Look, role: security, due: 10m}\n";
    std::fs::write(pack.join("one.yml"), one.replace("role: security", "role: guard")).unwrap();
    let o = run(&["playbooks", pack.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("one.yml:9: ") && text(&o).contains("unknown variant `guard`"), "{}", text(&o));
    let (_sim_dir, _, data) = simulated_and_stored(2, 3);
    let d = data.to_str().unwrap();
    let o = run(&["detect", "--data", d, "--playbooks", pack.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("one.yml:9:"), "{}", text(&o));
    std::fs::write(pack.join("one.yml"), one).unwrap();
    let o = run(&["detect", "--data", d, "--playbooks", pack.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // Every incident it opened runs the one playbook of the pack: its one
    // task is in the work queue once per incident.
    let o = run(&["kpi", "--data", d, "--json"]);
    let k: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let incidents = k["incidents"].as_u64().unwrap();
    assert!(incidents > 0, "{k}");
    let o = run(&["token", "create", "--role", "analyst", "--data", d]);
    let token = String::from_utf8(o.stdout).unwrap().lines().last().unwrap().to_owned();
    let server = serve_with(d, &["--no-detect"]);
    let queue: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/v1/tasks", server.1))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tasks = queue.as_array().unwrap();
    assert_eq!(tasks.len() as u64, incidents, "{queue}");
    assert!(tasks.iter().all(|t| t["id"] == "look" && t["role"] == "security"), "{queue}");
}

/// Events stored without detection are examined by `stockade detect`,
/// which opens incidents once: a second run finds nothing new.
#[test]
fn detect_examines_what_was_stored_once() {
    let (_dir, _, data) = simulated_and_stored(7, 5);
    let d = data.to_str().unwrap();
    let o = run(&["detect", "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    let opened: u64 = stdout(&o)
        .split(" incidents opened")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", text(&o)));
    assert!(opened > 0, "{}", text(&o));
    let o = run(&["detect", "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.starts_with("detection: 0 events examined"), "{out}");
    assert!(out.trim_end().ends_with(", 0 alerts, 0 incidents opened"), "{out}");

    // The response KPIs of what detection opened: nobody has worked them yet.
    let o = run(&["kpi", "--data", d, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let k: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(k["incidents"].as_u64(), Some(opened), "{k}");
    assert_eq!((k["open"].as_u64(), k["uncontained"].as_u64()), (Some(opened), Some(opened)), "{k}");
    assert_eq!(k["time_to_detect"]["count"].as_u64(), Some(opened), "{k}");
    assert!(k["time_to_detect"]["median_s"].as_f64().unwrap() >= 0.0, "{k}");
    assert_eq!(k["time_to_contain"]["count"], 0, "{k}");
    assert!(k["inventory"]["counted_lines"].as_u64().unwrap() > 0, "{k}");
    let o = run(&["kpi", "--data", d, "--every", "week"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).contains("time to detect") && stdout(&o).contains("median detect"), "{}", stdout(&o));
    let o = run(&["kpi", "--data", d, "--site", "NOWHERE", "--json"]);
    let k: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!((k["incidents"].as_u64(), k["inventory"]["counted_lines"].as_u64()), (Some(0), Some(0)), "{k}");
    for (bad, says) in [
        (vec!["--from", "yesterday"], "--from \"yesterday\""),
        (vec!["--from", "2026-03-02T00:00:00Z", "--to", "2026-03-01T00:00:00Z"], "--to must be after --from"),
        (vec!["--every", "year"], "invalid value 'year'"),
    ] {
        let mut args = vec!["kpi", "--data", d];
        args.extend(bad);
        let o = run(&args);
        assert!(!o.status.success() && text(&o).contains(says), "{}", text(&o));
    }
}

/// `stockade detect --from`: what happened before the period's start
/// teaches detection and opens nothing; bad bounds are refused before
/// anything is examined.
#[test]
fn detect_from_opens_only_what_the_period_shows() {
    let (_dir, _, data) = simulated_and_stored(7, 5);
    let d = data.to_str().unwrap();
    for (bad, says) in [
        (vec!["--from", "monday"], "--from \"monday\""),
        (vec!["--from", "2026-11-05T00:00:00Z", "--to", "2026-11-04T00:00:00Z"], "--to must be after --from"),
    ] {
        let mut args = vec!["detect", "--data", d];
        args.extend(bad);
        let o = run(&args);
        assert!(!o.status.success() && text(&o).contains(says), "{}", text(&o));
    }
    let from = "2026-11-05T00:00:00Z";
    let o = run(&["detect", "--data", d, "--from", from]);
    assert!(o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    let learned: u64 = out
        .split(" of those events happened before --from")
        .next()
        .and_then(|s| s.rsplit('\n').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(learned > 1_000, "{out}");
    let kpi = |extra: &[&str]| {
        let o = run(&[&["kpi", "--data", d, "--json"], extra].concat());
        assert!(o.status.success(), "{}", text(&o));
        let k: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        k["incidents"].as_u64().unwrap()
    };
    assert!(kpi(&[]) > 0, "the period opened incidents");
    assert_eq!(kpi(&["--to", from]), 0, "none detected before the period");
}

/// Live and batch give the same answers: a simulated month (one site, 28
/// days, every scenario type) streamed to a running server in time order
/// (detection as events commit) opens the same incidents, detected at the
/// same event times, as the same month loaded without detection and
/// examined afterwards by `stockade detect`, and as its files loaded one
/// after another with detection on.
#[test]
fn live_and_batch_detection_open_the_same_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let (live, batch, sim) = (dir.path().join("live"), dir.path().join("batch"), dir.path().join("sim"));
    let (l, b) = (live.to_str().unwrap(), batch.to_str().unwrap());
    let o = run(&["token", "create", "--role", "ingest", "--data", l]);
    let token = String::from_utf8(o.stdout).unwrap().lines().last().unwrap().to_owned();
    let o = run(&["token", "create", "--role", "analyst", "--data", l]);
    let analyst = String::from_utf8(o.stdout).unwrap().lines().last().unwrap().to_owned();
    let mut server = serve(l);
    let url = server.1.clone();
    let month = ["simulate", "--sites", "1", "--days", "28", "--seed", "3", "--per-scenario", "1"];
    let mut args = month.to_vec();
    args.extend(["--to", &url, "--token", &token, "--speed", "1e9", "--out", sim.to_str().unwrap()]);
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o));
    // Stopped as a service manager stops it: detection catches up and saves.
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(server.0.wait().unwrap().success());

    assert!(run(&["import", sim.join("reference.yaml").to_str().unwrap(), "--data", b]).status.success());
    let feeds: Vec<String> = ["acs", "vms", "wms", "iam", "hr", "nac"]
        .iter()
        .map(|f| sim.join(format!("{f}.ndjson")).display().to_string())
        .collect();
    let mut args = vec!["ingest", "--quiet", "--no-detect", "--data", b];
    args.extend(feeds.iter().map(String::as_str));
    assert!(run(&args).status.success());
    let o = run(&["detect", "--data", b]);
    assert!(o.status.success(), "{}", text(&o));
    // A third way: the files loaded one after another with detection on
    // (the default), each system's whole month before the next one's.
    let files = dir.path().join("files");
    let f = files.to_str().unwrap();
    assert!(run(&["import", sim.join("reference.yaml").to_str().unwrap(), "--data", f]).status.success());
    let mut args = vec!["ingest", "--data", f];
    args.extend(feeds.iter().map(String::as_str));
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("detection: ") && text(&o).contains(" incidents opened"), "{}", text(&o));

    // The same scores, instance by instance: detected or not, and when.
    let truth = sim.join("truth.json");
    let scores = |data: &str, name: &str| {
        let out = dir.path().join(name);
        let args = ["eval", "--truth", truth.to_str().unwrap(), "--data", data, "--json", out.to_str().unwrap()];
        let o = run(&args);
        assert!(o.status.success(), "{}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
        let instances: Vec<(String, bool, Option<f64>)> = v["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (i["id"].as_str().unwrap().to_owned(), !i["detected_by"].is_null(), i["time_to_detect_s"].as_f64())
            })
            .collect();
        (v["incidents"].as_u64().unwrap(), v["false_incidents"].as_u64().unwrap(), instances)
    };
    let (live_scores, batch_scores) = (scores(l, "live.json"), scores(b, "batch.json"));
    assert!(live_scores.0 > 0, "the month opened incidents: {live_scores:?}");
    assert!(live_scores.2.iter().any(|i| i.1), "and detected something: {live_scores:?}");
    assert_eq!(live_scores, batch_scores);
    assert_eq!(scores(f, "files.json"), batch_scores, "file by file, the same answers");
    // A fourth: the stored month examined in three periods, each run
    // stopping at an event time (one mid-afternoon, one in the night) and
    // the last going on to the end.
    let parts = dir.path().join("parts");
    let p = parts.to_str().unwrap();
    assert!(run(&["import", sim.join("reference.yaml").to_str().unwrap(), "--data", p]).status.success());
    let mut args = vec!["ingest", "--quiet", "--no-detect", "--data", p];
    args.extend(feeds.iter().map(String::as_str));
    assert!(run(&args).status.success());
    for to in ["2026-11-09T13:37:00Z", "2026-11-20T02:00:00+01:00"] {
        let o = run(&["detect", "--data", p, "--to", to]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(stdout(&o).contains("held at 2026-11-"), "{}", text(&o));
    }
    let o = run(&["detect", "--data", p, "--to", "2026-11-15T00:00:00Z"]);
    assert!(!o.status.success(), "a period ending before one examined: {}", text(&o));
    assert!(text(&o).contains("cannot end earlier"), "{}", text(&o));
    let o = run(&["detect", "--data", p]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!stdout(&o).contains("held at"), "{}", text(&o));
    assert_eq!(scores(p, "parts.json"), batch_scores, "period by period, the same answers");
    // Read through a server's API (incidents with what joined their case
    // since, as `since_opened`), the same scores as from its directory.
    let server = serve(l);
    let out = dir.path().join("api.json");
    let args = ["eval", "--truth", truth.to_str().unwrap(), "--server", &server.1, "--token", &analyst];
    let o = run(&[&args[..], &["--json", out.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", text(&o));
    let from_api: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let from_dir: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("live.json")).unwrap()).unwrap();
    assert_eq!(from_api, from_dir);
}

/// A tabletop exercise: a scenario simulated into its own workspace,
/// worked through the API by the team, scored, and kept for trends.
#[tokio::test]
async fn exercises_run_in_their_own_workspace_and_are_scored_for_trends() {
    let dir = tempfile::tempdir().unwrap();
    let (main, ws) = (dir.path().join("main"), dir.path().join("ws"));
    let (m, w) = (main.to_str().unwrap(), ws.to_str().unwrap());
    assert!(run(&["import", examples().join("reference.yaml").to_str().unwrap(), "--data", m]).status.success());
    // Refusals first: nothing is prepared.
    for (args, says) in [
        (vec!["--scenario", "moon_landing"], "moon_landing"),
        (vec!["--scenario", "scheduled_overtime"], "is a benign look-alike"),
        (vec!["--scenario", "tailgating", "--days", "40"], "--days must be between 1 and 14"),
    ] {
        let mut a = vec!["exercise", "start", "--data", m, "--workspace", w];
        a.extend(args);
        let o = run(&a);
        assert!(!o.status.success() && text(&o).contains(says), "{says}: {}", text(&o));
        assert!(!ws.exists(), "nothing prepared");
    }
    let o = run(&["exercise", "start", "--data", m, "--workspace", w, "--scenario", "after_hours_cage_removal"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("detection opened") && out.contains(&format!("stockade serve --data {w}")), "{out}");
    let token = out.lines().find_map(|l| l.trim().strip_prefix("admin token: ")).unwrap().to_owned();
    let o = run(&["exercise", "start", "--data", m, "--workspace", w, "--scenario", "tailgating"]);
    assert!(!o.status.success() && text(&o).contains("is not empty"), "{}", text(&o));

    // The team works the incident through the API.
    let server = serve_with(w, &["--no-detect"]);
    let client = reqwest::Client::new();
    let incidents: serde_json::Value = client
        .get(format!("{}/api/v1/incidents", server.1))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = incidents[0]["id"].as_str().unwrap().to_owned();
    for body in [
        serde_json::json!({"act": "transition", "to": "triaged"}),
        serde_json::json!({"act": "transition", "to": "contained", "reason": "cage locked"}),
        serde_json::json!({"act": "task", "task": "isolate-cage", "to": "done"}),
    ] {
        let r = client
            .post(format!("{}/api/v1/incidents/{id}/timeline", server.1))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{body}: {}", r.text().await.unwrap());
    }
    drop(server);
    let o = run(&["exercise", "score", "--data", m, "--workspace", w, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (s["detected"].as_bool(), s["scenario"].as_str()),
        (Some(true), Some("after_hours_cage_removal")),
        "{s}"
    );
    assert!(s["time_to_triage_s"].as_f64().unwrap() < 600.0, "{s}");
    assert!(s["tasks_on_time"].as_u64().unwrap() >= 3, "two automatic steps and the cage: {s}");
    assert_eq!(s["tasks_late"], 0, "{s}");
    assert_eq!(s["score"], 100, "triaged, contained, nothing due missed yet: {s}");
    // Kept in the main data directory: the KPIs count it.
    let o = run(&["kpi", "--data", m, "--json"]);
    let k: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!((k["exercises"]["run"].as_u64(), k["exercises"]["mean_score"].as_f64()), (Some(1), Some(100.0)), "{k}");
    let o = run(&["exercise", "score", "--data", m, "--workspace", m]);
    assert!(!o.status.success() && text(&o).contains("is not an exercise workspace"), "{}", text(&o));

    // While a server holds the main directory, exercises are kept through it.
    let admin = String::from_utf8(run(&["token", "create", "--role", "admin", "--data", m]).stdout).unwrap();
    let admin = admin.lines().last().unwrap().to_owned();
    let analyst = String::from_utf8(run(&["token", "create", "--role", "analyst", "--data", m]).stdout).unwrap();
    let analyst = analyst.lines().last().unwrap().to_owned();
    let server = serve(m);
    let o = run(&["exercise", "score", "--data", m, "--workspace", w]);
    assert!(!o.status.success() && text(&o).contains("in use by another stockade process"), "{}", text(&o));
    let o = run(&["exercise", "score", "--server", &server.1, "--token", &admin, "--workspace", w, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let again: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let o = run(&["kpi", "--server", &server.1, "--token", &admin, "--json"]);
    let k: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(k["exercises"]["run"].as_u64(), Some(2), "{k}");
    // Refused by the server: kept by admins only, and only well-formed.
    let post = |token: &str, body: serde_json::Value| {
        let (url, token) = (format!("{}/api/v1/exercises", server.1), token.to_owned());
        async move { reqwest::Client::new().post(url).bearer_auth(token).json(&body).send().await.unwrap() }
    };
    let mut inflated = again.clone();
    inflated["score"] = 150.into();
    let mut early = again.clone();
    early["scored"] = "2000-01-01T00:00:00Z".into();
    for (token, body, status, says) in [
        (&analyst, serde_json::json!({"action": "exercise_scored", "detail": again}), 403, ""),
        (&admin, serde_json::json!({"action": "exercise_scored", "detail": inflated}), 422, "more than 100"),
        (&admin, serde_json::json!({"action": "exercise_scored", "detail": early}), 422, "scored before it started"),
        (&admin, serde_json::json!({"action": "exercise_won", "detail": {}}), 400, "unknown variant"),
        (
            &admin,
            serde_json::json!({"action": "exercise_started", "detail": {"exercise": "nope", "scenario": "tailgating", "seed": 1, "workspace": "/x"}}),
            422,
            "is not EX-",
        ),
    ] {
        let r = post(token, body).await;
        assert_eq!(r.status(), status);
        assert!(r.text().await.unwrap().contains(says), "{says}");
    }
    let started = serde_json::json!({"action": "exercise_started", "detail": {"exercise": "EX-1", "scenario": "tailgating", "seed": 1, "workspace": "/x"}});
    let r = post(&admin, started).await;
    assert_eq!(r.status(), 201);
    let kept: serde_json::Value = r.json().await.unwrap();
    assert_eq!(kept["record"]["action"], "exercise_started", "{kept}");
    assert!(kept["leaf_index"].as_u64().is_some(), "{kept}");
    let o = run(&["kpi", "--server", &server.1, "--token", &admin, "--json"]);
    let k: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(k["exercises"]["run"].as_u64(), Some(2), "nothing refused was kept: {k}");
}

/// The console's people are created on the command line, never with a
/// default password: a generated one shown once, or one read from
/// standard input; listed without hashes; disabled with their sessions.
#[tokio::test]
async fn users_are_created_listed_and_disabled_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let d = d.to_str().unwrap();
    assert!(run(&["import", examples().join("reference.yaml").to_str().unwrap(), "--data", d]).status.success());
    // A generated password: printed once, on stdout's last line.
    let o = run(&["user", "create", "ana", "--role", "admin", "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("created admin user ana (every site); the password is shown only once"), "{}", text(&o));
    let password = stdout(&o).trim().to_owned();
    assert_eq!(password.len(), 20, "{password}");
    let o = run_input(
        &["user", "create", "lys.guard", "--role", "analyst", "--sites", "LYS", "--password-stdin", "--data", d],
        "a long enough passphrase\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(stdout(&o), "", "a password given is not echoed");
    // Refusals: nothing created.
    for (args, input, says) in [
        (vec!["user", "create", "bob", "--role", "ingest"], "", "integrations get an ingest token"),
        (vec!["user", "create", "bob", "--role", "analyst", "--password-stdin"], "short\n", "at least 12 characters"),
        (vec!["user", "create", "Bob", "--role", "analyst"], "", "1-64 of a-z"),
        (vec!["user", "create", "ana", "--role", "analyst"], "", "already exists"),
        (vec!["user", "create", "bob", "--role", "analyst", "--sites", "PAR"], "", "no site \"PAR\""),
        (vec!["user", "disable", "nobody"], "", "no user \"nobody\""),
        (vec!["user", "create", "bob", "--role", "admin", "--sites", "LYS"], "", "covers every site"),
        (vec!["token", "create", "--role", "admin", "--sites", "LYS"], "", "covers every site"),
        (vec!["token", "create", "--role", "auditor", "--sites", "PAR"], "", "no site \"PAR\""),
    ] {
        let mut a = args.clone();
        a.extend(["--data", d]);
        let o = run_input(&a, input);
        assert!(!o.status.success() && text(&o).contains(says), "{says}: {}", text(&o));
    }
    let o = run(&["user", "list", "--data", d]);
    let list = stdout(&o);
    assert!(list.contains("ana ") && list.contains("lys.guard") && list.contains(" LYS "), "{list}");
    assert!(!list.contains("argon2") && !list.contains("bob"), "{list}");
    let o = run(&["token", "create", "--role", "auditor", "--sites", "LYS", "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["token", "list", "--data", d]);
    assert!(!stdout(&o).contains("ingest"), "the refused ingest token was not created: {}", stdout(&o));
    // Signed in on a server with what was printed; disabled, the session ends.
    let server = serve(d);
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/api/v1/sessions", server.1))
        .json(&serde_json::json!({"name": "ana", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    drop(server);
    let o = run(&["user", "disable", "ana", "--data", d]);
    assert!(o.status.success() && text(&o).contains("their sessions have ended"), "{}", text(&o));
    let o = run(&["user", "disable", "ana", "--data", d]);
    assert!(!o.status.success() && text(&o).contains("already disabled"), "{}", text(&o));
    // The acts are audited, the password nowhere.
    let o = run(&["ledger", "verify", "--data", d]);
    assert!(o.status.success(), "{}", text(&o));
    let raw: Vec<u8> = walk(dir.path());
    assert!(!raw.windows(password.len()).any(|w| w == password.as_bytes()), "the password is stored nowhere");
}

/// Every byte of every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.extend(b);
        }
    }
    out
}

/// The text of a PDF as Poppler's `pdftotext` reads it (Debian's
/// poppler-utils, which `cargo xtask ci` installs where missing).
fn pdftotext(pdf: &std::path::Path) -> String {
    let o = Command::new("pdftotext")
        .args(["-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils; `cargo xtask ci` installs it)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn a_witness_is_created_once_and_serves_only_with_valid_log_keys() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w");
    let o = run(&["witness", "init", "--dir", w.to_str().unwrap(), "--name", "witness.test/w1"]);
    assert!(o.status.success(), "{}", text(&o));
    let key = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(key.starts_with("witness.test/w1+") && key.split('+').count() >= 3, "{key}");
    let o = run(&["witness", "init", "--dir", w.to_str().unwrap(), "--name", "witness.test/w1"]);
    assert!(!o.status.success() && text(&o).contains("it is never replaced"), "{}", text(&o));
    let o = run(&["witness", "serve", "--dir", w.to_str().unwrap(), "--log", "not-a-key"]);
    assert!(!o.status.success() && text(&o).contains("log key \"not-a-key\""), "{}", text(&o));
    let o = run(&["witness", "serve", "--dir", w.to_str().unwrap(), "--log", &key]);
    assert!(!o.status.success() && text(&o).contains("log key"), "a witness key is no log key: {}", text(&o));
    let o = run(&["witness", "init", "--dir", dir.path().join("x").to_str().unwrap(), "--name", "has space"]);
    assert!(!o.status.success() && text(&o).contains("witness name"), "{}", text(&o));
}

/// Two independent witnesses cosign the server's checkpoints; a package
/// carries their cosignatures and verifies with a quorum of both; a fork
/// of the log, signed with the log's own key, is refused by both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packages_carry_the_cosignatures_of_two_witnesses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let d = d.to_str().unwrap();
    let o = run(&["token", "create", "--role", "admin", "--data", d]);
    let token = String::from_utf8(o.stdout).unwrap().lines().last().unwrap().to_owned();
    let key = String::from_utf8(run(&["ledger", "key", "--data", d]).stdout).unwrap().trim().to_owned();
    let mut witnesses = Vec::new();
    for name in ["witness.test/a", "witness.test/b"] {
        let w = dir.path().join(name.replace('/', "-"));
        let o = run(&["witness", "init", "--dir", w.to_str().unwrap(), "--name", name]);
        let wkey = String::from_utf8(o.stdout).unwrap().trim().to_owned();
        witnesses.push((listening(&["witness", "serve", "--dir", w.to_str().unwrap(), "--log", &key]), wkey));
    }
    let flags: Vec<String> =
        witnesses.iter().flat_map(|(r, k)| ["--witness".to_owned(), format!("{}={k}", r.1)]).collect();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = serving_an_incident(d, &token, &flags).await;
    let url = server.1.clone();
    let client = reqwest::Client::new();
    // A checkpoint an insurer keeps from before the evidence arrives.
    let r = client.post(format!("{url}/api/v1/ledger/checkpoint")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let held =
        client.get(format!("{url}/tlog/checkpoint")).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
    let held_file = dir.path().join("held.checkpoint");
    std::fs::write(&held_file, &held).unwrap();
    let r = client
        .post(format!(
            "{url}/api/v1/evidence?incident=INC-1&class=photo&collected_from=camera:LYS-CAM-CAGE&reason=review"
        ))
        .bearer_auth(&token)
        .header("content-type", "image/jpeg")
        .body(vec![0xffu8, 0xd8, 0xff, 0xe0, 9, 9])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let tar = client
        .get(format!("{url}/api/v1/incidents/INC-1/package?reason=claim"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let pkg = dir.path().join("INC-1.tar");
    std::fs::write(&pkg, &tar).unwrap();
    let (a, b) = (witnesses[0].1.clone(), witnesses[1].1.clone());
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", pkg.to_str().unwrap(), "--key", &key];
        args.extend(extra);
        run(&args)
    };
    let o = verify(&["--witness", &a, "--witness", &b]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("cosigned by 2 of 2 witnesses named"), "{}", text(&o));
    assert!(text(&o).contains("2 witnesses you trust cosigned that checkpoint"), "{}", text(&o));
    // A witness the package's checkpoint never saw: a quorum of two fails.
    let stranger = dir.path().join("stranger");
    let o = run(&["witness", "init", "--dir", stranger.to_str().unwrap(), "--name", "witness.test/c"]);
    let c = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    let o = verify(&["--witness", &a, "--witness", &c]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("cosigned by 1 of the witnesses named, 2 required"), "{}", text(&o));
    assert!(verify(&["--witness", &a, "--witness", &c, "--quorum", "1"]).status.success());
    assert!(!verify(&["--witness", &a, "--quorum", "2"]).status.success(), "a quorum beyond those named");
    // Without witness keys it still verifies, and says what it did not check.
    let o = verify(&[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("give the witnesses' keys (--witness KEY) to check them"), "{}", text(&o));
    // A later package proves the log only grew from the checkpoint held.
    let hf = held_file.to_str().unwrap();
    let o = verify(&["--since", hf]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("carries no consistency proof from your checkpoint"), "{}", text(&o));
    let grown = dir.path().join("INC-1-since.tar");
    let o = run(&[
        "evidence",
        "package",
        "INC-1",
        "--out",
        grown.to_str().unwrap(),
        "--reason",
        "claim",
        "--since",
        hf,
        "--server",
        &url,
        "--token",
        &token,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["verify", grown.to_str().unwrap(), "--key", &key, "--since", hf]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("the log was only appended to between your checkpoint"), "{}", text(&o));
    assert!(!text(&o).contains("that the log was only ever appended to"), "{}", text(&o));
    // Without --since, it says what it would need.
    let o = run(&["verify", grown.to_str().unwrap(), "--key", &key]);
    assert!(text(&o).contains("give that checkpoint with --since"), "{}", text(&o));
    // A checkpoint of another log's key, or a size no checkpoint has: refused.
    let (stranger_log, _) = stockade_ledger::checkpoint::LogKey::generate("stockade.test/else").unwrap();
    let foreign = dir.path().join("foreign.checkpoint");
    std::fs::write(&foreign, stranger_log.sign("stockade.test/else", 3, stockade_ledger::Hash([1; 32])).unwrap())
        .unwrap();
    let o = run(&["verify", grown.to_str().unwrap(), "--key", &key, "--since", foreign.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("FAIL  --since"), "{}", text(&o));
    for bad in ["0", "99999999"] {
        let r = client
            .get(format!("{url}/api/v1/incidents/INC-1/package?reason=x&since={bad}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "since={bad}");
    }
    // So does a tlog-proof, checked offline with the witnesses' keys.
    let proof = client
        .get(format!("{url}/api/v1/ledger/leaves/0/proof?format=tlog-proof"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let proof_file = dir.path().join("leaf-0.tlog-proof");
    std::fs::write(&proof_file, &proof).unwrap();
    let pf = proof_file.to_str().unwrap();
    let o = run(&["ledger", "check-proof", pf, "--key", &key, "--witness", &a, "--witness", &b]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("cosigned by 2 of the 2 witnesses named"), "{}", text(&o));
    let o = run(&["ledger", "check-proof", pf, "--key", &key, "--witness", &a, "--witness", &c]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("cosigned by 1 of the witnesses named, 2 required"), "{}", text(&o));
    // The log's checkpoint as served carries the cosignatures too.
    let note =
        client.get(format!("{url}/tlog/checkpoint")).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
    let got = stockade_ledger::cosign::verify_witnessed(note.as_bytes(), &key, &[a.clone(), b.clone()], 2);
    assert!(got.is_ok(), "{note}");
    // A fork: the log's own key signs another tree of the same size. Both
    // witnesses refuse it (409: same size, other root), and a larger forked
    // tree with no proof that holds (422).
    let private = std::fs::read_to_string(dir.path().join("data/ledger/log.key")).unwrap();
    let log = stockade_ledger::checkpoint::LogKey::from_private(&private).unwrap();
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    let forged = log.sign(note.lines().next().unwrap(), size, stockade_ledger::Hash([7; 32])).unwrap();
    let larger = log.sign(note.lines().next().unwrap(), size + 5, stockade_ledger::Hash([8; 32])).unwrap();
    for (w, _) in &witnesses {
        let mut same = format!("old {size}\n\n").into_bytes();
        same.extend(&forged);
        let r = client.post(format!("{}/add-checkpoint", w.1)).body(same).send().await.unwrap();
        assert_eq!(r.status(), 409, "{}", r.text().await.unwrap());
        let mut grown = format!("old {size}\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n").into_bytes();
        grown.extend(&larger);
        let r = client.post(format!("{}/add-checkpoint", w.1)).body(grown).send().await.unwrap();
        assert_eq!(r.status(), 422, "{}", r.text().await.unwrap());
    }
}

/// An EPCIS document is stored in slices, several in flight: its events,
/// and those of the documents after it, still take their seqs in the order
/// the documents list them (the book sees a feed as it was sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epcis_documents_store_their_events_in_document_order() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut paths = Vec::new();
    let mut sent = Vec::new();
    for doc in 0..3 {
        let events: Vec<String> = (0..2_500)
            .map(|i| {
                let id = format!("urn:uuid:00000000-0000-4000-8000-{:012}", doc * 10_000 + i);
                sent.push(id.clone());
                format!(
                    r#"{{"type":"ObjectEvent","eventID":"{id}","action":"OBSERVE","bizStep":"inspecting","eventTime":"2026-11-02T05:{:02}:{:02}+01:00","eventTimeZoneOffset":"+01:00","quantityList":[{{"epcClass":"urn:epc:class:lgtin:0614141.100035.L1","quantity":1}}]}}"#,
                    (i / 60) % 60,
                    i % 60
                )
            })
            .collect();
        let body = format!(
            r#"{{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-02T22:59:59Z","epcisBody":{{"eventList":[{}]}}}}"#,
            events.join(",")
        );
        let path = dir.path().join(format!("doc-{doc}.jsonld"));
        std::fs::write(&path, body).unwrap();
        paths.push(path.to_str().unwrap().to_owned());
        if doc == 0 {
            // A feed of another format between documents: the documents
            // before it are stored before it, the ones after it after.
            let lines: Vec<String> = (0..300)
                .map(|i| {
                    sent.push(format!("g{i}"));
                    format!(
                        r#"{{"id":"g{i}","source":"acs","site":"S01","occurred_at":"2026-11-02T10:00:00+01:00","kind":"access.granted","door":"D1","badge":"B1"}}"#
                    )
                })
                .collect();
            let path = dir.path().join("between.ndjson");
            std::fs::write(&path, lines.join("\n")).unwrap();
            paths.push(path.to_str().unwrap().to_owned());
        }
    }
    let d = data.to_str().unwrap();
    let mut args = vec!["ingest", "--quiet", "--site", "S01", "--data", d];
    args.extend(paths.iter().map(String::as_str));
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(text(&o).matches("2500 accepted").count(), 3, "{}", text(&o));
    // A document's own time is not its load's (the next ones parse while it
    // is stored): each run of documents gets one rate, at its end.
    assert_eq!(text(&o).matches("(2500)").count(), 3, "{}", text(&o));
    assert!(text(&o).contains("  1 EPCIS document stored: 2500 events in "), "{}", text(&o));
    assert!(text(&o).contains("  2 EPCIS documents stored: 5000 events in "), "{}", text(&o));
    assert!(text(&o).contains("(300 in "), "the NDJSON file keeps its rate: {}", text(&o));

    use stockade_store::{EmbeddedStore, EventQuery, Store};
    let store = EmbeddedStore::open_dir(Path::new(d)).await.unwrap();
    let mut stored = Vec::new();
    let mut after = None;
    loop {
        let page = store.events(&EventQuery { after_seq: after, limit: 1_000, ..EventQuery::default() }).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        stored.extend(page.into_iter().filter(|e| e.source == "epcis" || e.source == "acs").map(|e| e.event_id));
    }
    store.close().await;
    assert_eq!(stored.len(), sent.len());
    let first_out_of_order = stored.iter().zip(&sent).position(|(s, w)| s != w);
    assert_eq!(first_out_of_order, None, "events stored out of the documents' order");
}
