//! Caps on the revocation-feed requests held open (event streams and long-polls), so that no
//! client and no address can take the listener's connections from everyone else.
//!
//! A held request takes a [`Hold`] for its client, its address and the process as a whole;
//! past any of the three caps of [`FeedLimits`] it is refused with 429 and `Retry-After`. The
//! hold is given back when the request ends, however it ends (the guard's `Drop`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use portcullis_tenancy::BrandId;

use crate::OAuthError;

/// Seconds a refused follower is asked to wait before it tries again.
const RETRY_AFTER: u64 = 5;

/// How many feed requests may be held open, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedLimits {
    /// Held at once by one client (all its followers, e.g. one per replica of a resource server).
    pub per_client: usize,
    /// Held at once from one address, whatever the clients.
    pub per_address: usize,
    /// Held at once by the whole process: keep it well below the listener's connection cap.
    pub total: usize,
    /// Longest an event stream lives; the follower then reconnects with `Last-Event-ID`, and is
    /// authenticated again.
    pub max_stream: Duration,
}

impl FeedLimits {
    /// The defaults for a listener of `max_connections`: 8 per client, 32 per address, a
    /// quarter of the connections in all, streams of at most 5 minutes.
    pub fn for_listener(max_connections: usize) -> Self {
        Self {
            per_client: 8,
            per_address: 32,
            total: (max_connections / 4).max(1),
            max_stream: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client(BrandId, String),
    Address(String),
    Total,
}

/// The holds of one process. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct FeedHolds {
    limits: FeedLimits,
    held: Arc<Mutex<HashMap<Key, usize>>>,
}

/// One held feed request; dropping it gives its place back.
#[derive(Debug)]
pub(crate) struct Hold {
    held: Arc<Mutex<HashMap<Key, usize>>>,
    keys: Vec<Key>,
}

impl FeedHolds {
    pub(crate) fn new(limits: FeedLimits) -> Self {
        Self { limits, held: Arc::default() }
    }

    /// The limits in force.
    pub(crate) fn limits(&self) -> FeedLimits {
        self.limits
    }

    /// Takes a place for a feed request of `client_id` at `brand` from `source`, or refuses it
    /// (429) when the client, the address or the process holds as many as it may.
    pub(crate) fn take(&self, brand: BrandId, client_id: &str, source: Option<&str>) -> Result<Hold, OAuthError> {
        let mut keys =
            vec![(Key::Total, self.limits.total), (Key::Client(brand, client_id.to_owned()), self.limits.per_client)];
        if let Some(source) = source {
            keys.push((Key::Address(source.to_owned()), self.limits.per_address));
        }
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((key, limit)) = keys.iter().find(|(key, limit)| held.get(key).copied().unwrap_or(0) >= *limit) {
            let whose = match key {
                Key::Client(..) => "this client",
                Key::Address(_) => "this address",
                Key::Total => "the server",
            };
            return Err(OAuthError::too_many(
                format!("{whose} already holds {limit} revocation-feed requests open; close one or retry later"),
                RETRY_AFTER,
            ));
        }
        for (key, _) in &keys {
            *held.entry(key.clone()).or_insert(0) += 1;
        }
        Ok(Hold { held: Arc::clone(&self.held), keys: keys.into_iter().map(|(key, _)| key).collect() })
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        for key in &self.keys {
            if let Some(count) = held.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    held.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds() -> FeedHolds {
        FeedHolds::new(FeedLimits { per_client: 2, per_address: 3, total: 5, max_stream: Duration::from_secs(1) })
    }

    #[test]
    fn each_cap_refuses_with_429_and_dropping_gives_the_place_back() {
        let holds = holds();
        let a = holds.take(BrandId(1), "c1", Some("10.0.0.1")).expect("first");
        let _b = holds.take(BrandId(1), "c1", Some("10.0.0.2")).expect("second");
        let refused = holds.take(BrandId(1), "c1", Some("10.0.0.3")).expect_err("per client");
        assert_eq!(refused.status(), http::StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.description().contains("this client"));
        // The same client id at another brand is another client.
        let _c = holds.take(BrandId(2), "c1", Some("10.0.0.1")).expect("another brand");
        let _d = holds.take(BrandId(2), "c2", Some("10.0.0.1")).expect("third from the address");
        let refused = holds.take(BrandId(3), "c3", Some("10.0.0.1")).expect_err("per address");
        assert!(refused.description().contains("this address"));
        let _e = holds.take(BrandId(3), "c3", Some("10.0.0.9")).expect("the fifth");
        let refused = holds.take(BrandId(4), "c4", Some("10.0.0.8")).expect_err("in all");
        assert!(refused.description().contains("the server"));
        drop(a);
        holds.take(BrandId(1), "c1", Some("10.0.0.3")).expect("a place was given back");
    }

    #[test]
    fn nothing_is_left_behind() {
        let holds = holds();
        drop(holds.take(BrandId(1), "c1", Some("10.0.0.1")).expect("taken"));
        assert!(holds.held.lock().map(|h| h.is_empty()).unwrap_or(false));
    }
}
