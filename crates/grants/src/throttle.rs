//! Brute-force defence for client authentication (SPEC §2): failures are counted per
//! (brand, client id, source), per (brand, client id) and per source address; past a threshold
//! within a window, further attempts are refused for a while (429 with `Retry-After`).
//!
//! The per-(client, source) limit is tight and the per-client limit loose, so an attacker
//! guessing one client's secret from one address is stopped quickly, while the legitimate holder,
//! calling from elsewhere, is only refused under a distributed attack, and then for at most
//! [`MAX_LOCKOUT`] seconds. A success clears its (client, source) counter. State is per process
//! and bounded in size: client secrets are 256-bit random values that no number of processes can
//! guess, so this throttle sheds abusive load rather than protecting a guessable secret, and it
//! stays off the database on the hot path. Human passwords are throttled per username in the
//! database instead (see [`crate::login::LOGIN_LOCKOUT`]), shared by every process.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use portcullis_tenancy::BrandId;

/// Seconds over which failures are counted.
pub const WINDOW: i64 = 60;
/// Longest refusal, seconds.
pub const MAX_LOCKOUT: i64 = 60;
/// Failures tolerated per (brand, client, source) within [`WINDOW`].
pub const PER_CLIENT_AND_SOURCE: u32 = 5;
/// Failures tolerated per (brand, client) from all sources within [`WINDOW`].
pub const PER_CLIENT: u32 = 50;
/// Failures tolerated per source address, across clients and brands, within [`WINDOW`].
pub const PER_SOURCE: u32 = 100;
/// Entries kept at most; expired ones are dropped first.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    ClientAndSource(BrandId, String, String),
    Client(BrandId, String),
    Source(String),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    window_start: i64,
    failures: u32,
    locked_until: i64,
}

/// Shared failure counters. Cheap to clone.
#[derive(Clone, Default)]
pub struct Throttle(Arc<Mutex<HashMap<Key, Entry>>>);

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

/// One authentication attempt's identity.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The brand.
    pub brand: BrandId,
    /// The presented client id.
    pub client_id: &'a str,
    /// The source address, when known.
    pub source: Option<&'a str>,
}

impl Attempt<'_> {
    fn keys(&self) -> Vec<(Key, u32)> {
        let mut keys = vec![(Key::Client(self.brand, self.client_id.to_owned()), PER_CLIENT)];
        if let Some(source) = self.source {
            keys.push((
                Key::ClientAndSource(self.brand, self.client_id.to_owned(), source.to_owned()),
                PER_CLIENT_AND_SOURCE,
            ));
            keys.push((Key::Source(source.to_owned()), PER_SOURCE));
        }
        keys
    }
}

impl Throttle {
    /// A new, empty throttle.
    pub fn new() -> Self {
        Self::default()
    }

    /// `Some(seconds)` to wait when this attempt must be refused now.
    pub fn check(&self, attempt: Attempt<'_>, now: i64) -> Option<u64> {
        self.longest_wait(attempt.keys().iter().map(|(key, _)| key), now)
    }

    /// Counts a failed attempt.
    pub fn failure(&self, attempt: Attempt<'_>, now: i64) {
        self.count(attempt.keys(), now);
    }

    /// `Some(seconds)` to wait when `source` must be refused now (its failures of any kind:
    /// client authentication and password logins).
    pub fn check_source(&self, source: &str, now: i64) -> Option<u64> {
        self.longest_wait([&Key::Source(source.to_owned())].into_iter(), now)
    }

    /// The longest lock-out still running among `keys`, in seconds.
    fn longest_wait<'k>(&self, keys: impl Iterator<Item = &'k Key>, now: i64) -> Option<u64> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        keys.filter_map(|key| map.get(key))
            .map(|e| e.locked_until - now)
            .filter(|wait| *wait > 0)
            .max()
            .map(|wait| u64::try_from(wait).unwrap_or(1))
    }

    /// Counts a failed password login from `source`, so that one address spraying passwords
    /// across many usernames is held back too.
    pub fn source_failure(&self, source: &str, now: i64) {
        self.count(vec![(Key::Source(source.to_owned()), PER_SOURCE)], now);
    }

    fn count(&self, keys: Vec<(Key, u32)>, now: i64) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| now - e.window_start < WINDOW || e.locked_until > now);
        }
        for (key, limit) in keys {
            if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
                continue;
            }
            let entry = map.entry(key).or_insert(Entry { window_start: now, failures: 0, locked_until: 0 });
            if now - entry.window_start >= WINDOW {
                *entry = Entry { window_start: now, failures: 0, locked_until: entry.locked_until };
            }
            entry.failures = entry.failures.saturating_add(1);
            if entry.failures >= limit {
                // 1 s at the limit, doubling with every further failure, capped; counted from
                // the end of this whole second, so that it lasts at least that long.
                let excess = entry.failures - limit;
                let lockout = 1i64.checked_shl(excess).unwrap_or(MAX_LOCKOUT).min(MAX_LOCKOUT);
                entry.locked_until = now + lockout + 1;
            }
        }
    }

    /// Clears the (client, source) counter after a success.
    pub fn success(&self, attempt: Attempt<'_>) {
        if let Some(source) = attempt.source {
            let key = Key::ClientAndSource(attempt.brand, attempt.client_id.to_owned(), source.to_owned());
            self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt<'a>(client: &'a str, source: &'a str) -> Attempt<'a> {
        Attempt { brand: BrandId(1), client_id: client, source: Some(source) }
    }

    #[test]
    fn locks_after_the_threshold_and_backs_off() {
        let t = Throttle::new();
        let a = attempt("c1", "10.0.0.1");
        for _ in 0..PER_CLIENT_AND_SOURCE - 1 {
            t.failure(a, 100);
            assert_eq!(t.check(a, 100), None);
        }
        // Locks of 1 s, then 2 s, from wherever in second 100 they began: to the start of 102, 103.
        t.failure(a, 100);
        assert_eq!(t.check(a, 100), Some(2));
        assert_eq!(t.check(a, 101), Some(1), "a whole second later, still locked");
        t.failure(a, 100);
        assert_eq!(t.check(a, 100), Some(3));
        assert_eq!(t.check(a, 103), None, "the lock expires");
        for _ in 0..20 {
            t.failure(a, 104);
        }
        assert_eq!(t.check(a, 104), Some(u64::try_from(MAX_LOCKOUT + 1).unwrap_or(0)), "capped");
    }

    #[test]
    fn the_holder_elsewhere_is_not_locked_out_by_one_attacker() {
        let t = Throttle::new();
        for _ in 0..PER_CLIENT_AND_SOURCE + 3 {
            t.failure(attempt("c1", "attacker"), 100);
        }
        assert!(t.check(attempt("c1", "attacker"), 100).is_some());
        assert_eq!(t.check(attempt("c1", "holder"), 100), None);
        assert_eq!(t.check(attempt("c2", "elsewhere"), 100), None);
    }

    #[test]
    fn success_resets_and_windows_expire() {
        let t = Throttle::new();
        let a = attempt("c1", "10.0.0.1");
        for _ in 0..PER_CLIENT_AND_SOURCE - 1 {
            t.failure(a, 100);
        }
        t.success(a);
        t.failure(a, 100);
        assert_eq!(t.check(a, 100), None);
        for _ in 0..PER_CLIENT_AND_SOURCE - 1 {
            t.failure(a, 100 + WINDOW);
        }
        assert_eq!(t.check(a, 100 + WINDOW), None, "failures from an old window do not add up");
    }

    #[test]
    fn one_source_spraying_many_clients_is_stopped() {
        let t = Throttle::new();
        let ids: Vec<String> = (0..PER_SOURCE).map(|i| format!("c{i}")).collect();
        for id in &ids {
            t.failure(attempt(id, "sprayer"), 100);
        }
        assert!(t.check(attempt("fresh", "sprayer"), 100).is_some());
    }
}
