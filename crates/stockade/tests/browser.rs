//! The console in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `cargo xtask ci` installs where missing),
//! driven over WebDriver: the demo's data, served; an analyst signs in,
//! escalates an alert into an incident, completes a playbook task, applies
//! a containment and downloads an evidence package that `stockade verify`
//! accepts; an auditor cannot change anything; a site manager does not see
//! another site. Screenshots of the main pages are kept in
//! `target/tmp/browser-artefacts/`.

use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stockade"));
    c.env("RUST_LOG", "warn").env_remove("STOCKADE_DATA").env_remove("STOCKADE_TOKEN");
    c
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(port: u16) {
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("nothing listens on port {port}");
}

fn user(data: &str, name: &str, role: &str, sites: Option<&str>) {
    use std::io::Write;
    let mut args = vec!["user", "create", name, "--role", role, "--password-stdin", "--data", data];
    if let Some(s) = sites {
        args.extend(["--sites", s]);
    }
    let mut child =
        bin().args(&args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"correct horse battery\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn browser(driver: &str, profile: &Path) -> Client {
    // The WebDriver client's TLS stack needs a provider named (it only
    // speaks plain HTTP to the local chromedriver).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
    ]
    .iter()
    .map(|a| a.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    caps.insert("goog:chromeOptions".into(), serde_json::json!({ "args": args, "binary": "/usr/bin/chromium" }));
    ClientBuilder::rustls().unwrap().capabilities(caps).connect(driver).await.unwrap()
}

async fn sign_in(c: &Client, url: &str, name: &str) {
    c.goto(&format!("{url}/login")).await.unwrap();
    c.find(Locator::Css("input[name=name]")).await.unwrap().send_keys(name).await.unwrap();
    c.find(Locator::Css("input[name=password]")).await.unwrap().send_keys("correct horse battery").await.unwrap();
    c.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    // The form's navigation may still be under way when the click returns.
    for _ in 0..100 {
        if c.current_url().await.unwrap().path() == "/console" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("not signed in as {name}: {}", c.source().await.unwrap());
}

/// The page's source once it contains `want` (a click's navigation may
/// still be under way), or what it holds after 10 s.
async fn page_with(c: &Client, want: &str) -> String {
    let mut page = String::new();
    for _ in 0..100 {
        page = c.source().await.unwrap();
        if page.contains(want) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    page
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(artefacts().join(format!("{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("demo");
    let d = d.to_str().unwrap();
    let o = bin().args(["demo", "--no-serve", "--data", d]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let key = String::from_utf8(bin().args(["ledger", "key", "--data", d]).output().unwrap().stdout).unwrap();
    let key = key.trim().to_owned();
    user(d, "ana", "analyst", None);
    user(d, "audrey", "auditor", None);
    user(d, "lys.boss", "site_manager", Some("LYS"));
    let port = free_port();
    let _server = Killed(bin().args(["serve", "--data", d, "--listen", &format!("127.0.0.1:{port}")]).spawn().unwrap());
    wait_for(port);
    let url = format!("http://127.0.0.1:{port}");
    let driver_port = free_port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={driver_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian's chromium-driver; `cargo xtask ci` installs it)");
    let _driver = Killed(driver);
    wait_for(driver_port);
    let driver = format!("http://127.0.0.1:{driver_port}");

    // An analyst signs in and looks around.
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    sign_in(&c, &url, "ana").await;
    let overview = c.source().await.unwrap();
    assert!(overview.contains("Open incidents") && overview.contains("MTTD"), "{overview}");
    // The trend charts and the shrink heat map, drawn without a script.
    assert!(c.find_all(Locator::Css("svg.chart rect")).await.unwrap().len() > 3, "{overview}");
    assert!(!c.find_all(Locator::Css("table.heat td.heat-4")).await.unwrap().is_empty(), "{overview}");
    shot(&c, "overview").await;
    // Triage: an alert no incident took becomes one.
    c.goto(&format!("{url}/console/alerts?untaken=true")).await.unwrap();
    shot(&c, "alerts").await;
    let escalate = c.find(Locator::XPath("//button[text()='Open an incident']")).await.unwrap();
    escalate.click().await.unwrap();
    let page = page_with(&c, "opened from alert").await;
    assert!(page.contains("opened from alert"), "{page}");
    assert!(c.current_url().await.unwrap().path().starts_with("/console/incidents/INC-"));
    // A playbook task done.
    let done = c.find(Locator::XPath("//button[text()='Done']")).await.unwrap();
    done.click().await.unwrap();
    let page = page_with(&c, " done</p>").await;
    assert!(page.contains(" done</p>") && page.contains("role=\"status\""), "{page}");

    // A containment applied, on an incident whose playbook offers one.
    c.goto(&format!("{url}/console/incidents?status=open")).await.unwrap();
    shot(&c, "incidents").await;
    let links: Vec<String> = {
        let mut out = Vec::new();
        for a in c.find_all(Locator::Css("table.list a")).await.unwrap() {
            out.push(a.attr("href").await.unwrap().unwrap_or_default());
        }
        out
    };
    let mut contained = None;
    for link in &links {
        c.goto(&format!("{url}{link}")).await.unwrap();
        let Ok(form) = c.find(Locator::Css("form[action$='/contain']")).await else { continue };
        form.find(Locator::Css("input[name=reason]")).await.unwrap().send_keys("seen on camera").await.unwrap();
        form.find(Locator::Css("button")).await.unwrap().click().await.unwrap();
        let page = page_with(&c, "in force</p>").await;
        assert!(page.contains("in force</p>"), "{}: {page}", c.current_url().await.unwrap());
        contained = Some(link.clone());
        break;
    }
    let contained = contained.expect("an open incident with a containment offer");
    shot(&c, "incident").await;
    // Its evidence package, downloaded with the browser's session, verifies offline.
    let cookie = c.get_named_cookie("stockade_session").await.unwrap();
    let tar = reqwest::Client::new()
        .get(format!("{url}{contained}/package?reason=insurer%20claim"))
        .header("cookie", format!("stockade_session={}", cookie.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(tar.status(), 200);
    let pkg = dir.path().join("package.tar");
    std::fs::write(&pkg, tar.bytes().await.unwrap()).unwrap();
    let o = bin().args(["verify", pkg.to_str().unwrap(), "--key", &key]).output().unwrap();
    assert!(o.status.success() && text(&o).ends_with("VERIFIED\n"), "{}", text(&o));
    // The same evidence verified in the browser itself: WebCrypto checks
    // each item's ledger entry, audit path and signed checkpoint, and
    // hashes the files (each read recorded in its chain of custody).
    c.goto(&format!("{url}{contained}")).await.unwrap();
    c.find(Locator::Css("#verify-files")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#verify-reason")).await.unwrap().send_keys("checked in the browser").await.unwrap();
    c.find(Locator::Css("#verify-run")).await.unwrap().click().await.unwrap();
    let mut state = None;
    for _ in 0..100 {
        state = c.find(Locator::Css("#verify-result")).await.unwrap().attr("data-state").await.unwrap();
        if state.as_deref().is_some_and(|s| s != "running") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let said = c.find(Locator::Css("#verify-result")).await.unwrap().text().await.unwrap();
    assert_eq!(state.as_deref(), Some("verified"), "{said}: {}", c.source().await.unwrap());
    assert!(
        said.ends_with("evidence items verified against the ledger in this browser, files hashed.")
            && !said.starts_with("0 of"),
        "{said}"
    );
    shot(&c, "incident-verified").await;
    // And it refuses what was tampered with: the record, the audit path,
    // the checkpoint, the key, the file.
    let refusals = c
        .execute(
            r#"const id = arguments[0];
            return (async () => {
            const item = (await (await fetch(`/api/v1/incidents/${id}/evidence`)).json())[0];
            const proof = await (await fetch(`/api/v1/ledger/evidence/${item.record.id}/proof`)).json();
            const key = document.getElementById("verify-key").value;
            const flip = (s) => { const b = atob(s); return btoa(String.fromCharCode(b.charCodeAt(0) ^ 1) + b.slice(1)); };
            const out = {};
            const attempt = async (name, f) => { try { await f(); out[name] = "accepted"; } catch (e) { out[name] = e.message; } };
            const check = stockadeVerify.checkItem;
            await attempt("good", () => check(item, proof, key, null));
            await attempt("record", () => check({ ...item, record: { ...item.record, sha256: "0".repeat(64) } }, proof, key, null));
            await attempt("path", () => check(item, proof.proof.length
                ? { ...proof, proof: [flip(proof.proof[0]), ...proof.proof.slice(1)] }
                : { ...proof, root: flip(proof.root) }, key, null));
            await attempt("checkpoint", () => check(item, { ...proof, checkpoint: proof.checkpoint.replace(/\n(\d+)\n/, (m, n) => `\n${Number(n) + 1}\n`) }, key, null));
            await attempt("key", () => check(item, proof, key.replace(/\+[0-9a-f]{8}\+/, "+00000000+"), null));
            await attempt("file", () => check(item, proof, key, new Uint8Array(item.record.size).fill(7)));
            return out;
            })();"#,
            vec![serde_json::json!(contained.rsplit('/').next().unwrap())],
        )
        .await
        .unwrap();
    assert_eq!(refusals["good"], "accepted", "{refusals}");
    // Keys whose base64 holds '+' (half of them) are read whole.
    let key_plus = loop {
        let (k, _) = stockade_ledger::checkpoint::LogKey::generate("stockade.test/plus").unwrap();
        if k.verifier_key().rsplit('+').count() > 3 {
            break k;
        }
    };
    let note = key_plus.sign("stockade.test/plus", 7, stockade_ledger::Hash([9; 32])).unwrap();
    let size = c
        .execute(
            "return stockadeVerify.verifyCheckpoint(arguments[0], arguments[1]).then((cp) => cp.size);",
            vec![serde_json::json!(String::from_utf8(note).unwrap()), serde_json::json!(key_plus.verifier_key())],
        )
        .await
        .unwrap();
    assert_eq!(size, serde_json::json!(7));
    let expect = [
        ("record", "the record shown differs from the one the ledger holds"),
        ("path", "the audit path does not lead to the root"),
        ("checkpoint", "no signature by this key verifies the checkpoint"),
        ("key", "the verifier key's id does not match its key"),
        ("file", "the file's SHA-256 is not the one the ledger holds"),
    ];
    for (tamper, why) in expect {
        assert_eq!(refusals[tamper], why, "{tamper}: {refusals}");
    }
    // The scorecard, and its PDF with the browser's session.
    c.goto(&format!("{url}/console/scorecard")).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("KPIs against targets") && page.contains("Top risks by site"), "{page}");
    shot(&c, "scorecard").await;
    let pdf = reqwest::Client::new()
        .get(format!("{url}/console/scorecard?format=pdf"))
        .header("cookie", format!("stockade_session={}", cookie.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    std::fs::write(artefacts().join("scorecard.pdf"), pdf.bytes().await.unwrap()).unwrap();
    // The variance explorer names who could explain the demo's shortages.
    c.goto(&format!("{url}/console/inventory")).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("By zone") && page.contains("By SKU"), "{page}");
    assert!(
        page.contains("person P-") && page.contains("href=\"/console/incidents/INC-"),
        "attributed shortages: {page}"
    );
    for page in ["inventory", "ledger"] {
        c.goto(&format!("{url}/console/{page}")).await.unwrap();
        shot(&c, page).await;
    }
    c.close().await.unwrap();

    // An auditor reads, and changes nothing.
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    sign_in(&c, &url, "audrey").await;
    c.goto(&format!("{url}{contained}")).await.unwrap();
    let done = c.find(Locator::XPath("//button[text()='Done']")).await.unwrap();
    done.click().await.unwrap();
    let page = page_with(&c, "Not allowed").await;
    assert!(page.contains("Not allowed") && page.contains("auditor"), "{page}");
    c.close().await.unwrap();

    // A site manager of LYS does not see the simulated sites' incidents.
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    sign_in(&c, &url, "lys.boss").await;
    c.goto(&format!("{url}/console/incidents?status=all")).await.unwrap();
    let list = c.source().await.unwrap();
    assert!(!list.contains(&format!("href=\"{contained}\"")), "{list}");
    c.goto(&format!("{url}{contained}")).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("Not found"), "{page}");
    c.close().await.unwrap();
}
