//! Sending containment to the systems that own what was contained: each
//! due delivery POSTed, signed, with its idempotency key; retried with
//! backoff on a timeout or a non-2xx answer; dead-lettered after its last
//! attempt (an operator replays it: `POST
//! /api/v1/webhooks/deliveries/{id}/replay`). How each settles is recorded
//! in its incident's timeline.
//!
//! Headers: `Stockade-Webhook-Id` (the delivery), `Idempotency-Key` (the
//! same across retries and replays), `Stockade-Timestamp` (seconds) and
//! `Stockade-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`.

use crate::AppState;
use stockade_respond::webhook;
use stockade_store::{Delivery, DeliveryQuery, DeliveryStatus, StoreError};

/// Sends every delivery due now; answers how many were attempted.
pub async fn deliver_due(st: &AppState) -> Result<usize, StoreError> {
    let now = st.clock.now().timestamp_micros();
    let q =
        DeliveryQuery { status: Some(DeliveryStatus::Pending), due_by_us: Some(now), limit: 100, ..Default::default() };
    let due = st.store.deliveries(&q).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let targets = st.casebook.webhooks();
    let client = reqwest::Client::builder()
        .timeout(st.config.webhook_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| StoreError::Corrupt(format!("webhook client: {e}")))?;
    let n = due.len();
    for mut d in due {
        let outcome = match targets.iter().find(|t| t.endpoint.name == d.endpoint) {
            None => Err(format!("endpoint {:?} is no longer configured", d.endpoint)),
            Some(t) => send(&client, t, &d, st.clock.now().timestamp()).await,
        };
        d.attempts += 1;
        let settled = match outcome {
            Ok(()) => {
                d.status = DeliveryStatus::Delivered;
                d.delivered_us = Some(st.clock.now().timestamp_micros());
                d.last_error = None;
                tracing::info!(delivery = %d.id, endpoint = %d.endpoint, attempts = d.attempts, "webhook delivered");
                metrics::counter!("stockade_webhooks_delivered_total").increment(1);
                true
            }
            Err(e) => {
                d.last_error = Some(e.clone());
                if d.attempts >= st.config.webhook_attempts {
                    d.status = DeliveryStatus::Dead;
                    tracing::error!(delivery = %d.id, endpoint = %d.endpoint, attempts = d.attempts, error = %e, "webhook dead-lettered");
                    metrics::counter!("stockade_webhooks_dead_total").increment(1);
                    true
                } else {
                    let wait = webhook::backoff(st.config.webhook_retry, d.attempts - 1);
                    d.next_us = st.clock.now().timestamp_micros() + wait.as_micros() as i64;
                    tracing::warn!(delivery = %d.id, endpoint = %d.endpoint, attempts = d.attempts, error = %e, "webhook failed; retrying");
                    false
                }
            }
        };
        if settled {
            d.next_us = st.clock.now().timestamp_micros();
        }
        st.store.update_delivery(&d).await?;
        if settled && let Err(e) = st.casebook.settled(&*st.store, st.intake.ledger(), &*st.clock, &d).await {
            tracing::warn!(delivery = %d.id, error = %e, "could not record the delivery in its incident");
        }
    }
    Ok(n)
}

async fn send(client: &reqwest::Client, t: &webhook::Target, d: &Delivery, timestamp: i64) -> Result<(), String> {
    let signature = webhook::sign(&t.secret, timestamp, d.body.as_bytes());
    let r = client
        .post(&t.endpoint.url)
        .header("content-type", "application/json")
        .header("stockade-webhook-id", &d.id)
        .header("idempotency-key", &d.idempotency_key)
        .header("stockade-timestamp", timestamp.to_string())
        .header("stockade-signature", signature)
        .body(d.body.clone())
        .send()
        .await
        .map_err(|e| if e.is_timeout() { "timed out".to_owned() } else { format!("could not reach it: {e}") })?;
    let status = r.status();
    if status.is_success() { Ok(()) } else { Err(format!("answered {status}")) }
}
