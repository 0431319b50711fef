//! Read-through caches of the rows every token request reads and administrators rarely change:
//! brands by key, clients by brand and client id, and each brand's signing keys.
//!
//! Coherence:
//! - **This process.** Every `SeaStore` method that changes one of those tables calls
//!   [`RowCache::invalidate`] once its transaction is committed, so the next read here sees it.
//! - **Other processes** (a second server, the CLI). Database triggers increment
//!   `change_epoch.epoch` in the same transaction as any change to the three tables; a follower
//!   task polls that row every [`POLL`] and clears the cache when it moves (or when it cannot be
//!   read). Another process's change is therefore seen here within about [`POLL`].
//! - **Races.** A reader takes a [`Ticket`] before it queries the database and may only fill
//!   the cache if no invalidation happened since; so a row read before a change cannot be cached
//!   after the invalidation that change caused.
//!
//! Unknown keys are not cached (junk input cannot grow memory), and each map is bounded: when
//! full it is emptied and refilled by use.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use portcullis_tenancy::{Brand, Client, StoredKey};
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::entity::change_epoch;

/// How often the follower reads `change_epoch`.
pub(crate) const POLL: Duration = Duration::from_millis(250);

/// Consecutive failed reads of `change_epoch` before a warning (a blip is not worth one).
const WARN_AFTER: u32 = 4;

/// Most entries per map.
const CAPACITY: usize = 10_000;

/// The caches. Shared by every clone of a `SeaStore`.
#[derive(Debug, Default)]
pub(crate) struct RowCache {
    generation: AtomicU64,
    entries: RwLock<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    brands: HashMap<String, Brand>,
    clients: HashMap<(i64, String), Client>,
    keys: HashMap<i64, Arc<[StoredKey]>>,
}

/// The cache's generation when a database read began.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

/// Inserts into a bounded map, emptying it first when full.
fn bounded_insert<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= CAPACITY && !map.contains_key(&key) {
        map.clear();
    }
    map.insert(key, value);
}

impl RowCache {
    /// Takes a ticket; call before reading the database.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::Acquire))
    }

    /// Forgets everything. Call after committing a change to brands, clients or keys.
    pub(crate) fn invalidate(&self) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        *entries = Entries::default();
    }

    fn read<T>(&self, f: impl FnOnce(&Entries) -> Option<T>) -> Option<T> {
        f(&self.entries.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Fills the cache unless it was invalidated since `ticket` was taken.
    fn fill(&self, ticket: Ticket, f: impl FnOnce(&mut Entries)) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) == ticket.0 {
            f(&mut entries);
        }
    }

    pub(crate) fn brand(&self, key: &str) -> Option<Brand> {
        self.read(|e| e.brands.get(key).cloned())
    }

    pub(crate) fn put_brand(&self, ticket: Ticket, brand: &Brand) {
        self.fill(ticket, |e| bounded_insert(&mut e.brands, brand.key.to_string(), brand.clone()));
    }

    pub(crate) fn client(&self, brand_id: i64, client_id: &str) -> Option<Client> {
        // The map is keyed by owned strings; a lookup by borrowed parts would need a custom key
        // type, and this one allocation is far cheaper than the query it saves.
        self.read(|e| e.clients.get(&(brand_id, client_id.to_owned())).cloned())
    }

    pub(crate) fn put_client(&self, ticket: Ticket, brand_id: i64, client: &Client) {
        self.fill(ticket, |e| bounded_insert(&mut e.clients, (brand_id, client.client_id.to_string()), client.clone()));
    }

    /// All of a brand's keys, newest first.
    pub(crate) fn keys(&self, brand_id: i64) -> Option<Arc<[StoredKey]>> {
        self.read(|e| e.keys.get(&brand_id).cloned())
    }

    pub(crate) fn put_keys(&self, ticket: Ticket, brand_id: i64, keys: Arc<[StoredKey]>) {
        self.fill(ticket, |e| bounded_insert(&mut e.keys, brand_id, keys));
    }
}

/// Polls `change_epoch` every [`POLL`] and invalidates `cache` when it moves or cannot be read.
/// Ends when the cache is dropped.
pub(crate) fn follow_changes(db: DatabaseConnection, cache: Weak<RowCache>) {
    tokio::spawn(async move {
        // The first read waits one period: a process that has just connected may be migrating.
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + POLL, POLL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seen: Option<i64> = None;
        let mut failures = 0u32;
        loop {
            ticks.tick().await;
            let Some(cache) = cache.upgrade() else { return };
            let epoch = match change_epoch::Entity::find_by_id(1).one(&db).await {
                Ok(row) => row.map(|row| row.epoch),
                Err(e) => {
                    failures += 1;
                    if failures == WARN_AFTER {
                        tracing::warn!(error = %e, "cannot read change_epoch: the cache of brands, clients and keys is emptied on every poll until it can");
                    }
                    None
                }
            };
            if epoch.is_some() {
                failures = 0;
            }
            if epoch.is_none() || epoch != seen {
                cache.invalidate();
            }
            seen = epoch;
        }
    });
}
