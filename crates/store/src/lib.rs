//! The sea-orm implementation of the storage traits in `portcullis-tenancy`, for SQLite
//! (embedded default, WAL mode) and Postgres (production, pooled).
//!
//! This is the only crate that names sea-orm. Tenant tables are read and written through
//! [`scoped`], which applies the brand filter from a [`portcullis_tenancy::BrandScope`]; no
//! query in this crate filters by brand any other way. The two statements that bypass sea-orm
//! on SQLite's hot paths ([`direct`]: the token insert and introspection's liveness lookup)
//! take the brand from the `BrandScope` just the same, as a bound parameter.

mod audit;
mod batch;
mod brands;
mod cache;
mod checkpoint;
mod clients;
mod connect;
mod convert;
mod direct;
mod entity;
mod error;
mod keys;
mod liveness;
mod login;
mod login_throttle;
mod maintenance;
mod master_key;
mod meta;
mod principals;
mod refresh;
mod revocations;
mod scoped;
mod tokens;
mod writer;

#[cfg(feature = "testing")]
pub mod testing;

pub use connect::{DatabaseKind, PoolSettings};
pub use master_key::SealedKey;

use portcullis_tenancy::StoreResult;
use sea_orm::{DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions, TransactionTrait};

/// Storage backed by a sea-orm connection pool. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
    writer: writer::TokenWriter,
    cache: std::sync::Arc<cache::RowCache>,
    /// Introspection's liveness check.
    liveness: std::sync::Arc<liveness::Liveness>,
}

impl SeaStore {
    /// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: the write lock
    /// is taken up front, waiting out the busy timeout. A deferred transaction that reads first
    /// and then writes while another connection commits cannot upgrade its lock and fails at
    /// once with "database is locked", whatever the timeout. Postgres ignores the mode.
    pub(crate) async fn write_txn(&self) -> StoreResult<DatabaseTransaction> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        self.db.begin_with_options(options).await.map_err(error::map_err)
    }

    /// Runs `change` (a change to brands, clients or signing keys, committed when it returns),
    /// then forgets the cached rows of those tables, whatever the outcome: a failed commit may
    /// still have happened.
    pub(crate) async fn changed<T>(&self, change: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        let result = change.await;
        self.cache.invalidate();
        result
    }
}

/// The current time in seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
