//! Asking witnesses to cosign the ledger's checkpoints: the client side of
//! C2SP tlog-witness (`stockade serve --witness URL=KEY`,
//! `docs/WITNESS.md`). Each new checkpoint is sent to every witness with a
//! consistency proof from the size that witness last cosigned; the lines
//! that come back are kept only when they verify with that witness's key.

use async_trait::async_trait;
use base64::Engine;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use stockade_ledger::cosign::CosignatureVerifier;
use stockade_store::Ledger;

/// One witness the log submits to.
struct Endpoint {
    url: String,
    verifier: CosignatureVerifier,
    /// The size it last cosigned, as far as this server knows (0: unknown;
    /// a 409 tells the truth).
    known: AtomicU64,
}

/// The witnesses a server asks.
pub struct Witnesses {
    list: Vec<Endpoint>,
    http: reqwest::Client,
}

impl Witnesses {
    /// From `URL=VERIFIER_KEY` specifications (URL: the witness's
    /// submission prefix, http or https).
    pub fn parse(specs: &[String]) -> Result<Witnesses, String> {
        let mut list = Vec::new();
        for spec in specs {
            let (url, key) = spec.split_once('=').ok_or_else(|| format!("witness {spec:?}: write URL=VERIFIER_KEY"))?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("witness {spec:?}: the URL must be http:// or https://"));
            }
            let verifier = CosignatureVerifier::new(key).map_err(|e| e.to_string())?;
            if list.iter().any(|e: &Endpoint| e.verifier.name() == verifier.name()) {
                return Err(format!("witness {:?} named twice", verifier.name()));
            }
            list.push(Endpoint { url: url.trim_end_matches('/').to_owned(), verifier, known: AtomicU64::new(0) });
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Witnesses { list, http })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// One witness's cosignature line on the checkpoint of `size` whose
    /// signed note is `note` and body `body`.
    async fn ask(
        &self,
        w: &Endpoint,
        ledger: &Arc<Ledger>,
        size: u64,
        note: &[u8],
        body: &[u8],
    ) -> Result<String, String> {
        for _ in 0..2 {
            let old = w.known.load(Ordering::Acquire);
            if old > size {
                return Err(format!("it cosigned a larger tree ({old}) than this checkpoint ({size})"));
            }
            let proof = if old > 0 && old < size {
                ledger.with_tree(|t| t.consistency_proof(old, size)).map_err(|e| e.to_string())?
            } else {
                Vec::new()
            };
            let mut req = format!("old {old}\n").into_bytes();
            for h in proof {
                req.extend(format!("{}\n", base64::engine::general_purpose::STANDARD.encode(h.0)).into_bytes());
            }
            req.push(b'\n');
            req.extend_from_slice(note);
            let r = self
                .http
                .post(format!("{}/add-checkpoint", w.url))
                .body(req)
                .send()
                .await
                .map_err(|e| format!("unreachable: {e}"))?;
            let status = r.status();
            let text = r.text().await.map_err(|e| format!("reading its answer: {e}"))?;
            match status.as_u16() {
                200 => {
                    let line = text
                        .lines()
                        .find(|l| w.verifier.verify_line(body, l).is_some())
                        .ok_or_else(|| "it answered no cosignature that verifies with its key".to_owned())?;
                    w.known.store(size, Ordering::Release);
                    return Ok(format!("{line}\n"));
                }
                409 => {
                    let latest = text.trim().parse::<u64>().map_err(|_| format!("409 without a size: {text}"))?;
                    w.known.store(latest, Ordering::Release);
                }
                _ => return Err(format!("{status}: {}", text.trim())),
            }
        }
        Err("its latest cosigned size keeps changing".into())
    }
}

#[async_trait]
impl stockade_app::custody::Cosigning for Witnesses {
    async fn cosign_latest(&self, ledger: &Arc<Ledger>) {
        let Some(cp) = ledger.checkpoint() else { return };
        let Ok(body) = stockade_ledger::cosign::body(&cp.note) else { return };
        let asks = self.list.iter().map(|w| self.ask(w, ledger, cp.size, &cp.note, &body));
        let answers = futures::future::join_all(asks).await;
        let mut lines = Vec::new();
        for (w, a) in self.list.iter().zip(answers) {
            match a {
                Ok(line) => lines.push(line.into_bytes()),
                Err(e) => tracing::warn!(witness = %w.url, size = cp.size, error = %e, "checkpoint not cosigned"),
            }
        }
        if lines.is_empty() {
            return;
        }
        let l = ledger.clone();
        let added = tokio::task::spawn_blocking(move || l.add_cosignatures(cp.size, &lines)).await;
        match added {
            Ok(Ok(Some(_))) => tracing::debug!(size = cp.size, "checkpoint cosigned"),
            Ok(Ok(None)) => tracing::debug!(size = cp.size, "a newer checkpoint was signed meanwhile"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not keep the cosignatures"),
            Err(e) => tracing::warn!(error = %e, "cosignature task failed"),
        }
    }
}
