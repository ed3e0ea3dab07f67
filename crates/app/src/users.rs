//! People who sign in to the console: local users with Argon2id password
//! hashes, and their sessions.
//!
//! Invariants:
//! - Passwords are never stored or logged: only their Argon2id PHC string
//!   (default parameters, a random salt each). A session's secret lives in
//!   the cookie only; the store keeps its SHA-256.
//! - There is no default user or password: the first admin is created on
//!   the command line (`stockade user create`).
//! - A wrong password and an unknown name are answered alike, after the
//!   same Argon2id work, and audited (`login_failed`, naming the user and
//!   where from, never what was typed); after [`MAX_FAILURES`] failures in
//!   [`FAILURE_WINDOW_S`] for one name or one address, further attempts
//!   are refused until the window passes.
//! - A disabled user cannot sign in, and their sessions end at once.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use stockade_model::clock::Clock;
use stockade_store::{Ledger, Role, SessionRecord, Store, StoreError, UserRecord};

/// How long a session lasts without signing in again.
pub const SESSION_HOURS: i64 = 12;
/// Failed sign-ins allowed per name in the window.
pub const MAX_FAILURES: usize = 5;
/// ... and per address (higher: a site's people may share one address).
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;
pub const FAILURE_WINDOW_S: i64 = 15 * 60;
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// Why a user was not created or changed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error("user {0:?} already exists")]
    Exists(String),
    #[error("no user {0:?}")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong name or password (which one is not said), or a disabled user.
    #[error("wrong name or password")]
    Refused,
    /// Too many failures lately, for this name or from this address.
    #[error("too many failed sign-ins; try again in {0} s")]
    Throttled(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn check_name(name: &str) -> Result<(), UserError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(UserError::Invalid(format!("user name {name:?}: 1-64 of a-z, 0-9, `.`, `_`, `-`"))) }
}

fn check_password(password: &str) -> Result<(), UserError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(UserError::Invalid(format!("a password needs at least {MIN_PASSWORD} characters")));
    }
    if password.len() > 1024 {
        return Err(UserError::Invalid("a password is at most 1024 bytes".into()));
    }
    Ok(())
}

/// The Argon2id PHC string of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, UserError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| UserError::Invalid(format!("hashing the password: {e}")))
}

/// Whether `password` matches the PHC string (false for a malformed one).
pub fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash no password matches, verified against for unknown names so that
/// they cost what a wrong password does.
fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let random = hex::encode(rand::random::<[u8; 32]>());
        hash_password(&random).unwrap_or_default()
    })
}

/// A generated password: 20 characters from an alphabet without
/// look-alikes (about 114 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..20).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect()
}

/// A new user as asked on the command line or by an admin.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub sites: Vec<String>,
    pub password: String,
}

/// Creates a user (refused if the name is taken), audited as `user_created`.
pub async fn create_user(
    store: &dyn Store,
    ledger: Option<&Arc<Ledger>>,
    clock: &dyn Clock,
    actor: &str,
    new: NewUser,
) -> Result<UserRecord, UserError> {
    check_name(&new.name)?;
    check_password(&new.password)?;
    if new.role == Role::Ingest {
        return Err(UserError::Invalid("ingest is for integrations: give them an API token, not a user".into()));
    }
    check_scope(store, new.role, &new.sites).await?;
    if store.user(&new.name).await?.is_some() {
        return Err(UserError::Exists(new.name));
    }
    let password = new.password;
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| UserError::Invalid(format!("hashing the password: {e}")))??;
    let user = UserRecord {
        name: new.name,
        password_hash,
        role: new.role,
        sites: new.sites,
        created_us: clock.now().timestamp_micros(),
        disabled_us: None,
    };
    if let Some(l) = ledger {
        let detail = serde_json::json!({"name": user.name, "role": user.role.as_str(), "sites": user.sites});
        crate::audit::record(store, l, clock, "user_created", actor, detail).await?;
    }
    store.put_user(&user).await?;
    Ok(user)
}

/// Whether `role` may be limited to `sites`: each a site of the reference
/// data, named once; never an admin (who manages every site). An
/// integration limited to sites may send events of those sites only
/// ([`crate::intake::within_sites`]).
pub async fn check_scope(store: &dyn Store, role: Role, sites: &[String]) -> Result<(), UserError> {
    if sites.is_empty() {
        return Ok(());
    }
    if role == Role::Admin {
        return Err(UserError::Invalid(format!("the {} role covers every site: it cannot be limited", role.as_str())));
    }
    if let Some(s) = sites.iter().find(|s| s.trim().is_empty() || s.len() > 100) {
        return Err(UserError::Invalid(format!("site {s:?} is not a site id")));
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(s) = sites.iter().find(|s| !seen.insert(s.as_str())) {
        return Err(UserError::Invalid(format!("site {s:?} is named twice")));
    }
    let known: Vec<String> =
        store.reference(Some(stockade_model::RecordKind::Site)).await?.into_iter().map(|r| r.id).collect();
    if let Some(s) = sites.iter().find(|s| !known.contains(s)) {
        return Err(UserError::Invalid(format!("no site {s:?} in the reference data")));
    }
    Ok(())
}

/// Disables a user and ends their sessions, audited as `user_disabled`.
pub async fn disable_user(
    store: &dyn Store,
    ledger: Option<&Arc<Ledger>>,
    clock: &dyn Clock,
    actor: &str,
    name: &str,
) -> Result<UserRecord, UserError> {
    let mut user = store.user(name).await?.ok_or_else(|| UserError::Unknown(name.to_owned()))?;
    if user.disabled_us.is_some() {
        return Err(UserError::Invalid(format!("user {name:?} is already disabled")));
    }
    let now = clock.now().timestamp_micros();
    if let Some(l) = ledger {
        crate::audit::record(store, l, clock, "user_disabled", actor, serde_json::json!({"name": name})).await?;
    }
    user.disabled_us = Some(now);
    store.put_user(&user).await?;
    store.end_sessions(name, now).await?;
    Ok(user)
}

/// The secret a session cookie carries, and its record.
#[derive(Debug, Clone)]
pub struct Opened {
    pub secret: String,
    pub session: SessionRecord,
    pub user: UserRecord,
}

/// The SHA-256 of a session secret: what the store keeps.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(secret.as_bytes())).into()
}

/// The CSRF token of a session: a browser's page carries it in a header
/// or form field on every change; another site cannot read it.
pub fn csrf_token(secret: &str) -> String {
    let mut h = <sha2::Sha256 as sha2::Digest>::new_with_prefix(b"stockade-csrf/1:");
    sha2::Digest::update(&mut h, secret.as_bytes());
    hex::encode(sha2::Digest::finalize(h))
}

/// Failed sign-ins lately, by name and by address.
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, Vec<i64>>>,
}

impl Throttle {
    fn keys(name: &str, from: &str) -> [String; 2] {
        [format!("user:{name}"), format!("from:{from}")]
    }

    /// Seconds until another attempt is allowed, if refused now.
    fn wait(&self, name: &str, from: &str, now_s: i64) -> Option<i64> {
        let mut f = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut wait = None;
        for (k, max) in Self::keys(name, from).into_iter().zip([MAX_FAILURES, MAX_FAILURES_PER_ADDRESS]) {
            if let Some(times) = f.get_mut(&k) {
                times.retain(|t| now_s - t < FAILURE_WINDOW_S);
                if times.len() >= max {
                    let w = times[0] + FAILURE_WINDOW_S - now_s;
                    wait = Some(wait.map_or(w, |x: i64| x.max(w)));
                }
            }
        }
        wait
    }

    fn fail(&self, name: &str, from: &str, now_s: i64) {
        let mut f = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if f.len() > 100_000 {
            f.retain(|_, times| times.iter().any(|t| now_s - t < FAILURE_WINDOW_S));
        }
        for k in Self::keys(name, from) {
            f.entry(k).or_default().push(now_s);
        }
    }

    fn clear(&self, name: &str) {
        let mut f = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f.remove(&format!("user:{name}"));
    }
}

/// Signs `name` in with `password`, from address `from`: a new session.
pub async fn login(
    store: &dyn Store,
    ledger: Option<&Arc<Ledger>>,
    clock: &dyn Clock,
    throttle: &Throttle,
    name: &str,
    password: &str,
    from: &str,
) -> Result<Opened, LoginError> {
    let now = clock.now();
    if let Some(wait) = throttle.wait(name, from, now.timestamp()) {
        return Err(LoginError::Throttled(wait.max(1)));
    }
    let user = if name.len() <= 64 { store.user(name).await? } else { None };
    let phc = user.as_ref().map_or_else(|| decoy().to_owned(), |u| u.password_hash.clone());
    let typed = password.to_owned();
    let matches = password.len() <= 1024
        && tokio::task::spawn_blocking(move || password_matches(&typed, &phc)).await.unwrap_or(false);
    let user = match user {
        Some(u) if matches && u.disabled_us.is_none() => u,
        _ => {
            throttle.fail(name, from, now.timestamp());
            let shown: String = name.chars().take(64).collect();
            tracing::warn!(user = %shown, %from, "failed sign-in");
            metrics::counter!("stockade_login_failures_total").increment(1);
            if let Some(l) = ledger {
                let detail = serde_json::json!({"name": shown, "from": from});
                crate::audit::record(store, l, clock, "login_failed", &format!("anonymous ({from})"), detail).await?;
            }
            return Err(LoginError::Refused);
        }
    };
    throttle.clear(name);
    let secret = format!("sss_{}", hex::encode(rand::random::<[u8; 32]>()));
    let session = SessionRecord {
        id: format!("ses_{}", hex::encode(rand::random::<[u8; 6]>())),
        secret_hash: secret_hash(&secret),
        user: user.name.clone(),
        created_us: now.timestamp_micros(),
        expires_us: (now + chrono::Duration::hours(SESSION_HOURS)).timestamp_micros(),
        revoked_us: None,
    };
    store.put_session(&session).await?;
    tracing::info!(user = %user.name, session = %session.id, %from, "signed in");
    Ok(Opened { secret, session, user })
}

/// The live session a cookie's secret opens, and its user (None when
/// unknown, ended, expired, or its user is disabled).
pub async fn session_of(
    store: &dyn Store,
    secret: &str,
    now_us: i64,
) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
    if secret.len() > 200 {
        return Ok(None);
    }
    let Some(session) = store.session_by_hash(&secret_hash(secret)).await? else { return Ok(None) };
    if !session.live_at(now_us) {
        return Ok(None);
    }
    match store.user(&session.user).await? {
        Some(u) if u.disabled_us.is_none() => Ok(Some((session, u))),
        _ => Ok(None),
    }
}

/// Ends a session (signing out).
pub async fn logout(store: &dyn Store, session: &SessionRecord, now_us: i64) -> Result<(), StoreError> {
    let mut ended = session.clone();
    ended.revoked_us = Some(now_us);
    store.put_session(&ended).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_a_fresh_salt() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(password_matches("correct horse battery", &a));
        assert!(!password_matches("correct horse batterY", &a));
        assert!(!password_matches("anything", "not a phc string"));
        assert!(!password_matches("anything", decoy()));
    }

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(check_name("ana.duval").is_ok());
        for bad in ["", "Ana", "ana duval", "<script>", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_password("short").is_err());
        assert!(check_password(&"x".repeat(1025)).is_err());
        assert!(check_password("twelve chars").is_ok());
    }

    #[test]
    fn failures_throttle_by_name_and_by_address_for_a_window() {
        let t = Throttle::default();
        for i in 0..MAX_FAILURES as i64 {
            assert_eq!(t.wait("ana", "10.0.0.1", 100 + i), None);
            t.fail("ana", "10.0.0.1", 100 + i);
        }
        assert_eq!(t.wait("ana", "10.0.0.9", 200), Some(100 + FAILURE_WINDOW_S - 200), "the name is throttled");
        assert_eq!(t.wait("bob", "10.0.0.1", 200), None, "not yet the address");
        for i in MAX_FAILURES..MAX_FAILURES_PER_ADDRESS {
            t.fail(&format!("user{i}"), "10.0.0.1", 200);
        }
        assert!(t.wait("bob", "10.0.0.1", 201).is_some(), "now the address");
        assert_eq!(t.wait("bob", "10.0.0.2", 201), None);
        assert_eq!(t.wait("ana", "10.0.0.9", 100 + FAILURE_WINDOW_S + 10), None, "until the window passes");
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_from_the_secret() {
        let (a, b) = (csrf_token("sss_a"), csrf_token("sss_b"));
        assert_ne!(a, b);
        assert_eq!(a, csrf_token("sss_a"));
        assert_ne!(hex::encode(secret_hash("sss_a")), a);
    }
}
