//! `stockade evidence`: the evidence API of a running server from the
//! command line. Files stream both ways (multi-gigabyte clips), an upload
//! declares its SHA-256 so the server refuses one that changed on the way,
//! and a download is re-hashed as it arrives and only then put in place.

use crate::cli::{EvidenceCommand, RemoteArgs};
use anyhow::{Context, Result, bail};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::ExitCode;
use stockade_evidence::CustodyRecord;
use stockade_server::api::evidence::EvidenceView;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub async fn run(command: EvidenceCommand) -> Result<ExitCode> {
    match command {
        EvidenceCommand::Upload {
            file,
            incident,
            class,
            collected_from,
            reason,
            description,
            original_from,
            original_to,
            media_type,
            remote,
        } => {
            let (sha256, size) = hash_file(&file).await?;
            let mut query = vec![
                ("incident", incident),
                ("class", class),
                ("collected_from", collected_from),
                ("reason", reason),
                ("description", description),
                ("sha256", sha256.clone()),
            ];
            query.extend(original_from.map(|t| ("original_from", t)));
            query.extend(original_to.map(|t| ("original_to", t)));
            let body = reqwest::Body::wrap_stream(file_chunks(
                tokio::fs::File::open(&file).await.with_context(|| format!("opening {}", file.display()))?,
            ));
            let r = crate::http_client()?
                .post(url(&remote, "/api/v1/evidence"))
                .query(&query)
                .bearer_auth(&remote.token)
                .header(reqwest::header::CONTENT_TYPE, media_type)
                .header(reqwest::header::CONTENT_LENGTH, size)
                .body(body)
                .send()
                .await
                .with_context(|| format!("sending {} to {}", file.display(), remote.server))?;
            let v: EvidenceView = answer(r, "upload").await?.json().await.context("the server's evidence record")?;
            let id = &v.record.id;
            println!("{id}");
            eprintln!("collected {} as {id} ({size} bytes, sha256 {sha256})", file.display());
        }
        EvidenceCommand::Download { id, out, reason, remote } => {
            // Before asking: the server records the access when it answers.
            refuse_existing(&out).await?;
            let path = format!("/api/v1/evidence/{id}/content");
            let r = crate::http_client()?
                .get(url(&remote, &path))
                .query(&[("purpose", "download"), ("reason", reason.as_str())])
                .bearer_auth(&remote.token)
                .send()
                .await
                .with_context(|| format!("asking {} for {id}", remote.server))?;
            let r = answer(r, "download").await?;
            let expected = r
                .headers()
                .get("x-evidence-sha256")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .context("the server did not say the file's SHA-256 (x-evidence-sha256)")?;
            let (sha256, size) = save(r, &out, Some(&expected)).await.with_context(|| format!("downloading {id}"))?;
            eprintln!("downloaded {id} to {} ({size} bytes, sha256 {sha256} as recorded)", out.display());
        }
        EvidenceCommand::Show { id, remote } => {
            let r = crate::http_client()?
                .get(url(&remote, &format!("/api/v1/evidence/{id}")))
                .bearer_auth(&remote.token)
                .send()
                .await
                .with_context(|| format!("asking {} for {id}", remote.server))?;
            let v: EvidenceView = answer(r, "show").await?.json().await.context("the server's evidence record")?;
            let rec = &v.record;
            println!(
                "{} in {}: {} {} bytes, sha256 {}, from {}, collected by {}",
                rec.id, rec.incident, rec.class, rec.size, rec.sha256, rec.collected_from, rec.collected_by,
            );
            let state = [(v.held, "under legal hold"), (v.sealed, "sealed"), (v.expired, "expired (file deleted)")];
            for (_, words) in state.iter().filter(|(on, _)| *on) {
                println!("  {words}");
            }
            for c in &v.custody {
                let at = chrono::DateTime::from_timestamp_micros(c.at_us);
                println!(
                    "  #{} {} {} by {}: {}",
                    c.n,
                    at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    c.action.as_str(),
                    c.actor,
                    c.reason,
                );
            }
        }
        EvidenceCommand::Act { id, action, reason, party, remote } => {
            let body = serde_json::json!({ "action": action, "reason": reason, "party": party });
            let r = crate::http_client()?
                .post(url(&remote, &format!("/api/v1/evidence/{id}/custody")))
                .bearer_auth(&remote.token)
                .json(&body)
                .send()
                .await
                .with_context(|| format!("asking {} to record {action} on {id}", remote.server))?;
            let c: CustodyRecord = answer(r, &action).await?.json().await.context("the server's custody record")?;
            eprintln!("recorded {} on {id} (custody entry #{})", c.action.as_str(), c.n);
        }
        EvidenceCommand::Package { incident, out, reason, events, since, remote } => {
            refuse_existing(&out).await?;
            // The size of the checkpoint held: its second line (the server
            // proves from it; `stockade verify --since` checks its signature).
            let held = match &since {
                Some(p) => {
                    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
                    let size = text.lines().nth(1).and_then(|l| l.parse::<u64>().ok()).ok_or_else(|| {
                        anyhow::anyhow!("{} is not a checkpoint (origin, size, root, signatures)", p.display())
                    })?;
                    Some(size.to_string())
                }
                None => None,
            };
            let path = format!("/api/v1/incidents/{incident}/package");
            let mut query = vec![("reason", reason.as_str()), ("events", events.as_str())];
            if let Some(size) = &held {
                query.push(("since", size.as_str()));
            }
            let r = crate::http_client()?
                .get(url(&remote, &path))
                .query(&query)
                .bearer_auth(&remote.token)
                .send()
                .await
                .with_context(|| format!("asking {} for the package of {incident}", remote.server))?;
            let (_, size) = save(answer(r, "package").await?, &out, None).await?;
            eprintln!(
                "exported {incident} to {} ({size} bytes); check it with `stockade verify {} --key KEY`",
                out.display(),
                out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn url(remote: &RemoteArgs, path: &str) -> String {
    format!("{}{path}", remote.server.trim_end_matches('/'))
}

/// The response if it succeeded; otherwise an error with the server's words.
async fn answer(r: reqwest::Response, what: &str) -> Result<reqwest::Response> {
    if r.status().is_success() {
        return Ok(r);
    }
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["detail"].as_str().map(str::to_owned))
        .unwrap_or(text);
    bail!("{what} refused ({status}): {detail}")
}

/// SHA-256 and size of a file, read in 1 MiB chunks.
async fn hash_file(path: &Path) -> Result<(String, u64)> {
    let mut f = tokio::fs::File::open(path).await.with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).await.with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(h.finalize()), size))
}

/// A file as a stream of chunks.
fn file_chunks(file: tokio::fs::File) -> impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    futures::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; 1 << 20];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// Files are never overwritten: an export or a copy for court is kept as made.
async fn refuse_existing(out: &Path) -> Result<()> {
    if tokio::fs::try_exists(out).await.unwrap_or(false) {
        bail!("{} exists already: not overwritten", out.display());
    }
    Ok(())
}

/// Streams a response into `out` (never replacing a file), through a
/// temporary file beside it linked into place only when whole and, if
/// `expect` is given, of that SHA-256; returns (SHA-256, size). Nothing is
/// left behind on failure.
async fn save(r: reqwest::Response, out: &Path, expect: Option<&str>) -> Result<(String, u64)> {
    let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("download");
    let tmp = out.with_file_name(format!(".{name}.partial"));
    let result = async {
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .await
            .with_context(|| format!("creating {}", tmp.display()))?;
        let mut h = Sha256::new();
        let mut size = 0u64;
        let mut body = r.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.context("the transfer was cut off")?;
            h.update(&chunk);
            size += chunk.len() as u64;
            file.write_all(&chunk).await.with_context(|| format!("writing {}", tmp.display()))?;
        }
        file.sync_all().await?;
        let sha256 = hex::encode(h.finalize());
        if let Some(expected) = expect
            && sha256 != expected
        {
            bail!("it arrived with SHA-256 {sha256}, not its recorded {expected}: nothing kept");
        }
        Ok::<_, anyhow::Error>((sha256, size))
    }
    .await;
    // Put in place by a hard link, which (unlike a rename) never replaces a
    // file that appeared at `out` meanwhile.
    let placed = match result {
        Ok(done) => tokio::fs::hard_link(&tmp, out).await.map(|()| done).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                anyhow::anyhow!("{} exists already: not overwritten", out.display())
            } else {
                anyhow::Error::new(e).context(format!("putting the file at {}", out.display()))
            }
        }),
        Err(e) => Err(e),
    };
    let _ = tokio::fs::remove_file(&tmp).await;
    placed
}
