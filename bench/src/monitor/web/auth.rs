//! Users, passwords, sessions, CSRF tokens and the login rate limit of the monitor's page.
//!
//! - Passwords are stored as Argon2id PHC strings (`argon2` defaults: 19 MiB, 2 passes, one
//!   lane, 16-octet random salt), never in clear; [`hash_password`] and [`verify_password`].
//! - A successful login creates a [`Session`]: a 256-bit random token sent as the cookie
//!   [`SESSION_COOKIE`] (`HttpOnly; SameSite=Strict; Path=/`, plus `Secure` behind a TLS proxy),
//!   valid [`SESSION_TTL`] after its last use, kept in memory (a restart of the monitor logs
//!   everybody out). Each session has its own 256-bit CSRF token, which every state-changing
//!   request must carry (form field `csrf` or header `X-CSRF-Token`); it is compared in
//!   constant time.
//! - [`LoginLimiter`]: at most [`MAX_FAILURES`] failed logins per client address and per user
//!   name within [`FAILURE_WINDOW`]; past that, logins are refused (HTTP 429) until the
//!   oldest failure leaves the window, right password or not.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use super::data::Role;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "eic_monitor_session";
/// A session ends this long after its last request.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Failed logins allowed per address and per user name within [`FAILURE_WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// The window of [`MAX_FAILURES`].
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// `n` random octets from the kernel, as lowercase hex.
///
/// # Errors
/// When `/dev/urandom` cannot be read.
pub fn random_hex(n: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("reading /dev/urandom for a random token")?;
    Ok(hex::encode(buf))
}

/// Hashes `password` with Argon2id and a random salt into a PHC string.
///
/// # Errors
/// When no random salt can be had or hashing fails.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = hex::decode(random_hex(16)?).context("salt")?;
    let hash = Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc` (false for a malformed string).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// Equality of two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A logged-in user's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// User name.
    pub user: String,
    /// Role at login.
    pub role: Role,
    /// The token every state-changing request of this session must carry.
    pub csrf: String,
}

#[derive(Debug)]
struct Entry {
    session: Session,
    last_use: Instant,
}

/// The live sessions, by cookie token.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
}

impl Sessions {
    /// Starts a session for `user`; returns its cookie token.
    ///
    /// # Errors
    /// When no random token can be had.
    pub fn create(&self, user: &str, role: Role) -> anyhow::Result<String> {
        let token = random_hex(32)?;
        let csrf = random_hex(32)?;
        let session = Session { user: user.to_owned(), role, csrf };
        let mut map = self.map.lock().map_err(|_| anyhow::anyhow!("session table poisoned"))?;
        let now = Instant::now();
        map.retain(|_, e| now.duration_since(e.last_use) < SESSION_TTL);
        map.insert(token.clone(), Entry { session, last_use: now });
        Ok(token)
    }

    /// The session of `token`, if live (its idle time restarts).
    pub fn get(&self, token: &str) -> Option<Session> {
        let mut map = self.map.lock().ok()?;
        let now = Instant::now();
        let e = map.get_mut(token)?;
        if now.duration_since(e.last_use) >= SESSION_TTL {
            map.remove(token);
            return None;
        }
        e.last_use = now;
        Some(e.session.clone())
    }

    /// Ends the session of `token`.
    pub fn remove(&self, token: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(token);
        }
    }

    /// Ends every session of `user` (after a role change or removal).
    pub fn remove_user(&self, user: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, e| e.session.user != user);
        }
    }
}

/// Failed-login bookkeeping per client address and per user name.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    by_ip: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
    by_user: Mutex<HashMap<String, VecDeque<Instant>>>,
}

fn wait_for(q: &mut VecDeque<Instant>, now: Instant) -> Option<Duration> {
    while q.front().is_some_and(|t| now.duration_since(*t) >= FAILURE_WINDOW) {
        q.pop_front();
    }
    if q.len() >= MAX_FAILURES {
        q.front().map(|t| FAILURE_WINDOW.saturating_sub(now.duration_since(*t)))
    } else {
        None
    }
}

impl LoginLimiter {
    /// `Some(wait)` when a login from `ip` for `user` must be refused now.
    pub fn blocked(&self, ip: IpAddr, user: &str, now: Instant) -> Option<Duration> {
        let a =
            self.by_ip.lock().ok().and_then(|mut m| m.get_mut(&ip).and_then(|q| wait_for(q, now)));
        let b = self
            .by_user
            .lock()
            .ok()
            .and_then(|mut m| m.get_mut(user).and_then(|q| wait_for(q, now)));
        match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Records a failed login.
    pub fn failed(&self, ip: IpAddr, user: &str, now: Instant) {
        if let Ok(mut m) = self.by_ip.lock() {
            if m.len() > 10_000 {
                m.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < FAILURE_WINDOW));
            }
            m.entry(ip).or_default().push_back(now);
        }
        if let Ok(mut m) = self.by_user.lock() {
            if m.len() > 10_000 {
                m.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < FAILURE_WINDOW));
            }
            m.entry(user.to_owned()).or_default().push_back(now);
        }
    }

    /// Forgets the failures of `user` after a successful login (the address keeps its own).
    pub fn succeeded(&self, user: &str) {
        if let Ok(mut m) = self.by_user.lock() {
            m.remove(user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hash_verifies_only_the_right_password() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(!verify_password("correct horse", "not a phc string"));
        // Two hashes of one password differ (random salt).
        assert_ne!(h, hash_password("correct horse").unwrap());
    }

    #[test]
    fn sessions_have_distinct_tokens_and_end() {
        let s = Sessions::default();
        let t1 = s.create("ana", Role::Operator).unwrap();
        let t2 = s.create("ana", Role::Operator).unwrap();
        assert_ne!(t1, t2);
        assert_eq!(t1.len(), 64);
        let a = s.get(&t1).unwrap();
        assert_eq!(a.role, Role::Operator);
        assert_ne!(a.csrf, s.get(&t2).unwrap().csrf);
        s.remove(&t1);
        assert!(s.get(&t1).is_none());
        s.remove_user("ana");
        assert!(s.get(&t2).is_none());
    }

    #[test]
    fn limiter_blocks_after_max_failures_per_ip_and_per_user() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(l.blocked(ip, "ana", t0).is_none(), "attempt {i}");
            l.failed(ip, "ana", t0);
        }
        assert!(l.blocked(ip, "bob", t0).is_some(), "same address, other user");
        assert!(l.blocked(other, "ana", t0).is_some(), "same user, other address");
        assert!(l.blocked(other, "bob", t0).is_none());
        let later = t0 + FAILURE_WINDOW;
        assert!(l.blocked(ip, "ana", later).is_none(), "failures leave the window");
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
