//! Brute-force defence for client authentication: failures are counted per
//! (brand, client id, source), per (brand, client id) and per source address; past a threshold
//! within a window, further attempts are refused for a while (429 with `Retry-After`).
//!
//! The per-(client, source) limit is tight and the per-client limit loose, so an attacker
//! guessing one client's secret from one address is stopped quickly, while the legitimate holder,
//! calling from elsewhere, is only refused under a distributed attack, and then for at most
//! [`MAX_LOCKOUT`] seconds. A success clears its (client, source) counter.
//!
//! A secret's check and the counting of its outcome happen together under the throttle's lock
//! ([`Throttle::guarded`]), and a password check reserves its address's attempt before Argon2
//! runs ([`Throttle::reserve_source`]): concurrency cannot buy more checks than the budget.
//!
//! State is per process
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
    /// The counters this attempt is checked against, with their limits: made once per attempt
    /// and handed to [`Throttle::locked`] and [`Throttle::guarded`].
    pub fn keys(&self) -> AttemptKeys {
        let mut keys = vec![(Key::Client(self.brand, self.client_id.to_owned()), PER_CLIENT)];
        if let Some(source) = self.source {
            keys.push((
                Key::ClientAndSource(self.brand, self.client_id.to_owned(), source.to_owned()),
                PER_CLIENT_AND_SOURCE,
            ));
            keys.push((Key::Source(source.to_owned()), PER_SOURCE));
        }
        AttemptKeys(keys)
    }
}

/// The counters of one [`Attempt`] ([`Attempt::keys`]).
#[derive(Debug, Clone)]
pub struct AttemptKeys(Vec<(Key, u32)>);

impl AttemptKeys {
    fn iter(&self) -> impl Iterator<Item = &Key> {
        self.0.iter().map(|(key, _)| key)
    }
}

impl Throttle {
    /// A new, empty throttle.
    pub fn new() -> Self {
        Self::default()
    }

    /// `Some(seconds)` to wait when this attempt would be refused now: a cheap look before
    /// the client is looked up. [`Self::guarded`] decides.
    pub fn locked(&self, keys: &AttemptKeys, now: i64) -> Option<u64> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        longest_wait(&map, keys.iter(), now)
    }

    /// Runs `check` (a client secret's comparison: microseconds, no I/O) unless the attempt is
    /// locked out, and counts its outcome, all under the throttle's lock: concurrent attempts
    /// are checked one after the other, so no burst gets more checks than the budget.
    /// `Err(seconds)` to wait when refused (`check` did not run); otherwise whether it passed.
    /// A failure counts towards every key of the attempt; a success clears its
    /// (client, source) counter.
    pub fn guarded(&self, keys: &AttemptKeys, now: i64, check: impl FnOnce() -> bool) -> Result<bool, u64> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(wait) = longest_wait(&map, keys.iter(), now) {
            return Err(wait);
        }
        let passed = check();
        if passed {
            for key in keys.iter().filter(|key| matches!(key, Key::ClientAndSource(..))) {
                map.remove(key);
            }
        } else {
            count(&mut map, &keys.0, now);
        }
        Ok(passed)
    }

    /// Reserves a password check for `source` before it runs (Argon2 takes tens of
    /// milliseconds, too long to hold a lock over): refused while the address is locked out,
    /// otherwise counted as a failure at once, so that concurrent logins from one address get
    /// no more checks than its budget. [`Self::release_source`] gives it back after a success.
    /// `Err(seconds)` to wait when refused.
    pub fn reserve_source(&self, source: &str, now: i64) -> Result<(), u64> {
        let key = Key::Source(source.to_owned());
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(wait) = longest_wait(&map, std::iter::once(&key), now) {
            return Err(wait);
        }
        count(&mut map, &[(key, PER_SOURCE)], now);
        Ok(())
    }

    /// Gives back a reservation of [`Self::reserve_source`] whose check passed.
    pub fn release_source(&self, source: &str) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = map.get_mut(&Key::Source(source.to_owned())) {
            entry.failures = entry.failures.saturating_sub(1);
        }
    }
}

/// The longest lock-out still running among `keys`, in seconds.
fn longest_wait<'k>(map: &HashMap<Key, Entry>, keys: impl Iterator<Item = &'k Key>, now: i64) -> Option<u64> {
    keys.filter_map(|key| map.get(key))
        .map(|e| e.locked_until - now)
        .filter(|wait| *wait > 0)
        .max()
        .map(|wait| u64::try_from(wait).unwrap_or(1))
}

/// Counts one failure at `now` for each key, under its limit.
fn count(map: &mut HashMap<Key, Entry>, keys: &[(Key, u32)], now: i64) {
    if map.len() >= MAX_ENTRIES {
        map.retain(|_, e| now - e.window_start < WINDOW || e.locked_until > now);
    }
    for (key, limit) in keys {
        if map.len() >= MAX_ENTRIES && !map.contains_key(key) {
            continue;
        }
        let limit = *limit;
        let entry = map.entry(key.clone()).or_insert(Entry { window_start: now, failures: 0, locked_until: 0 });
        if now - entry.window_start >= WINDOW {
            *entry = Entry { window_start: now, failures: 0, locked_until: entry.locked_until };
        }
        entry.failures = entry.failures.saturating_add(1);
        if entry.failures >= limit {
            // 1 s at the limit, doubling with every further failure, capped; counted from the
            // end of this whole second, so that it lasts at least that long.
            let excess = entry.failures - limit;
            let lockout = 1i64.checked_shl(excess).unwrap_or(MAX_LOCKOUT).min(MAX_LOCKOUT);
            entry.locked_until = now + lockout + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt<'a>(client: &'a str, source: &'a str) -> Attempt<'a> {
        Attempt { brand: BrandId(1), client_id: client, source: Some(source) }
    }

    impl Throttle {
        fn failure(&self, attempt: Attempt<'_>, now: i64) {
            let _ = self.guarded(&attempt.keys(), now, || false);
        }

        fn success(&self, attempt: Attempt<'_>, now: i64) {
            let _ = self.guarded(&attempt.keys(), now, || true);
        }

        fn check(&self, attempt: Attempt<'_>, now: i64) -> Option<u64> {
            self.locked(&attempt.keys(), now)
        }
    }

    #[test]
    fn locks_after_the_threshold_and_backs_off() {
        let t = Throttle::new();
        let a = attempt("c1", "10.0.0.1");
        for _ in 0..PER_CLIENT_AND_SOURCE - 1 {
            t.failure(a, 100);
            assert_eq!(t.check(a, 100), None);
        }
        // A lock of 1 s, from wherever in second 100 it began: to the start of 102.
        t.failure(a, 100);
        assert_eq!(t.check(a, 100), Some(2));
        assert_eq!(t.check(a, 101), Some(1), "a whole second later, still locked");
        assert_eq!(t.guarded(&a.keys(), 101, || unreachable!("no check while locked")), Err(1));
        // Each failure after a lock ends doubles the next: 2, 4, 8 s.
        let mut now = 102;
        for lockout in [2, 4, 8] {
            t.failure(a, now);
            assert_eq!(t.check(a, now), Some(lockout + 1));
            now += i64::try_from(lockout).unwrap_or(0) + 1;
            assert_eq!(t.check(a, now), None, "the lock expires");
        }
    }

    #[test]
    fn lockouts_are_capped() {
        let mut map = HashMap::new();
        for _ in 0..20 {
            count(&mut map, &[(Key::Source("s".into()), 1)], 100);
        }
        let entry = map.get(&Key::Source("s".into())).map(|e| e.locked_until);
        assert_eq!(entry, Some(100 + MAX_LOCKOUT + 1));
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
        t.success(a, 100);
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

    /// A burst of wrong secrets, all in flight at once, gets at most the budget of checks.
    #[test]
    fn concurrent_failures_get_at_most_the_budget_of_checks() {
        let t = Throttle::new();
        let checks = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..100 {
                s.spawn(|| {
                    let _ = t.guarded(&attempt("c1", "10.0.0.1").keys(), 100, || {
                        checks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        false
                    });
                });
            }
        });
        assert_eq!(checks.into_inner(), PER_CLIENT_AND_SOURCE);
    }

    #[test]
    fn source_reservations_count_first_and_successes_give_them_back() {
        let t = Throttle::new();
        for _ in 0..PER_SOURCE - 1 {
            assert_eq!(t.reserve_source("10.0.0.1", 100), Ok(()));
        }
        t.release_source("10.0.0.1");
        assert_eq!(t.reserve_source("10.0.0.1", 100), Ok(()), "the released one is free again");
        assert_eq!(t.reserve_source("10.0.0.1", 100), Ok(()), "the last of the budget; it locks");
        assert!(t.reserve_source("10.0.0.1", 100).is_err(), "over budget");
        assert!(
            t.locked(&attempt("any", "10.0.0.1").keys(), 100).is_some(),
            "client authentication shares the counter"
        );
    }
}
