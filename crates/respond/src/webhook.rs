//! Signed webhooks: how containment reaches the systems that own what was
//! contained (the access-control system revokes the badge, the WMS holds
//! the dock). Endpoints as configured (`docs/WEBHOOKS.md`), the signature a
//! receiver checks, and the retry schedule. Pure: the server sends.
//!
//! Invariants:
//! - A delivery is signed over its timestamp and its exact body:
//!   `v1=hex(HMAC-SHA256(secret, "<timestamp>.<body>"))`; the receiver
//!   recomputes it, refuses stale timestamps, and deduplicates on the
//!   idempotency key, which stays the same across retries and replays.
//! - Secrets are never in the configuration file: it names the environment
//!   variable that holds each one.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One receiving system, as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// A name for it (letters, digits, `-`, `_`).
    pub name: String,
    /// `https://…`; `http://` only to a loopback address.
    pub url: String,
    /// The environment variable holding its signing secret (at least 32 bytes).
    pub secret_env: String,
    /// The containment actions it carries out (`revoke_badge`, `lock_door`...).
    pub actions: Vec<String>,
    /// Only containments at these sites (all when empty).
    #[serde(default)]
    pub sites: Vec<String>,
}

/// The configuration file: `endpoints: [...]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub endpoints: Vec<Endpoint>,
}

/// An endpoint ready to send: its secret read from the environment.
#[derive(Clone)]
pub struct Target {
    pub endpoint: Endpoint,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("endpoint", &self.endpoint).field("secret", &"(hidden)").finish()
    }
}

/// The least a secret may hold.
pub const MIN_SECRET: usize = 32;

fn loopback(url: &str) -> bool {
    let rest = url.trim_start_matches("http://");
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]") || host.starts_with("127.")
}

impl Config {
    /// Parses and checks a configuration; `known` are the containment
    /// actions there are, `env` reads an environment variable. Every fault
    /// is reported, with the endpoint it is in.
    pub fn load(text: &str, known: &[&str], env: impl Fn(&str) -> Option<String>) -> Result<Vec<Target>, Vec<String>> {
        let config: Config = serde_yaml_ng::from_str(text).map_err(|e| vec![e.to_string()])?;
        let mut errors = Vec::new();
        let mut out = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for (i, e) in config.endpoints.iter().enumerate() {
            let at = format!("endpoints[{i}] ({})", e.name);
            let named = !e.name.is_empty()
                && e.name.len() <= 100
                && e.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !named || !names.insert(e.name.clone()) {
                errors.push(format!("{at}: `name` is malformed or repeated"));
            }
            if !(e.url.starts_with("https://") || (e.url.starts_with("http://") && loopback(&e.url))) {
                errors.push(format!(
                    "{at}: `url` must be https:// (http:// only to a loopback address), got {:?}",
                    e.url
                ));
            }
            if e.actions.is_empty() {
                errors.push(format!("{at}: `actions` names none"));
            }
            if let Some(a) = e.actions.iter().find(|a| !known.contains(&a.as_str())) {
                errors.push(format!("{at}: unknown action {a:?}; one of {}", known.join(", ")));
            }
            match env(&e.secret_env) {
                None => errors.push(format!("{at}: the environment variable {} (its secret) is not set", e.secret_env)),
                Some(s) if s.len() < MIN_SECRET => {
                    errors.push(format!("{at}: the secret in {} is shorter than {MIN_SECRET} bytes", e.secret_env))
                }
                Some(s) => out.push(Target { endpoint: e.clone(), secret: s.into_bytes() }),
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }
}

impl Endpoint {
    /// Whether it carries out `action` at `site`.
    pub fn wants(&self, action: &str, site: &str) -> bool {
        self.actions.iter().any(|a| a == action) && (self.sites.is_empty() || self.sites.iter().any(|s| s == site))
    }
}

/// The signature header's value for a body sent at `timestamp` (seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length: the fallback is never taken.
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| <Hmac<sha2::Sha256> as Mac>::new(&Default::default()));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a signature as a receiver would: same secret, same timestamp and
/// body, compared in constant time.
pub fn verify(secret: &[u8], timestamp: i64, body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.strip_prefix("v1=") else { return false };
    let Ok(given) = hex::decode(hex_sig) else { return false };
    let Ok(mut mac) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret) else { return false };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// How long to wait before attempt `attempts + 1`, after `attempts`
/// failures: `base` doubled each time, at most an hour.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(1u32 << attempts.min(20)).min(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIONS: [&str; 3] = ["revoke_badge", "lock_door", "hold_dock"];

    fn env(k: &str) -> Option<String> {
        match k {
            "GOOD" => Some("s".repeat(40)),
            "SHORT" => Some("tiny".into()),
            _ => None,
        }
    }

    #[test]
    fn signatures_cover_the_timestamp_and_the_exact_body() {
        let s = sign(b"secret-of-at-least-thirty-two-bytes!", 1_700_000_000, b"{\"a\":1}");
        assert!(s.starts_with("v1=") && s.len() == 3 + 64, "{s}");
        assert!(verify(b"secret-of-at-least-thirty-two-bytes!", 1_700_000_000, b"{\"a\":1}", &s));
        assert!(!verify(b"secret-of-at-least-thirty-two-bytes!", 1_700_000_001, b"{\"a\":1}", &s));
        assert!(!verify(b"secret-of-at-least-thirty-two-bytes!", 1_700_000_000, b"{\"a\":2}", &s));
        assert!(!verify(b"another-secret-of-thirty-two-bytes!!", 1_700_000_000, b"{\"a\":1}", &s));
        assert!(!verify(b"x", 1, b"", "v2=00"));
        // RFC 4231 test case 2, through the same construction's primitive.
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retries_back_off_doubling_to_an_hour() {
        let b = Duration::from_secs(2);
        assert_eq!(backoff(b, 0), Duration::from_secs(2));
        assert_eq!(backoff(b, 3), Duration::from_secs(16));
        assert_eq!(backoff(b, 30), Duration::from_secs(3600));
    }

    #[test]
    fn configurations_name_every_fault() {
        let ok = "endpoints:\n  - {name: acs, url: \"https://acs.example/hook\", secret_env: GOOD, actions: [revoke_badge, lock_door]}\n  - {name: wms, url: \"http://127.0.0.1:9000/h\", secret_env: GOOD, actions: [hold_dock], sites: [LYS]}\n";
        let t = Config::load(ok, &ACTIONS, env).unwrap();
        assert_eq!(t.len(), 2);
        assert!(t[1].endpoint.wants("hold_dock", "LYS") && !t[1].endpoint.wants("hold_dock", "CHI"));
        assert!(!format!("{:?}", t[0]).contains("ssss"), "secrets are not printed");
        let bad = "endpoints:\n  - {name: acs, url: \"http://acs.example/hook\", secret_env: SHORT, actions: [burn]}\n  - {name: acs, url: \"https://x\", secret_env: NONE, actions: []}\n";
        let errors = Config::load(bad, &ACTIONS, env).unwrap_err();
        for want in [
            "endpoints[0] (acs): `url` must be https://",
            "endpoints[0] (acs): unknown action \"burn\"",
            "endpoints[0] (acs): the secret in SHORT is shorter than 32 bytes",
            "endpoints[1] (acs): `name` is malformed or repeated",
            "endpoints[1] (acs): `actions` names none",
            "endpoints[1] (acs): the environment variable NONE (its secret) is not set",
        ] {
            assert!(errors.iter().any(|e| e.starts_with(want)), "{want}: {errors:?}");
        }
        assert!(
            Config::load("endpoints: [{name: a, url: x}]", &ACTIONS, env).unwrap_err()[0].contains("missing field")
        );
        assert!(Config::load("hooks: []", &ACTIONS, env).unwrap_err()[0].contains("unknown field `hooks`"));
    }
}
