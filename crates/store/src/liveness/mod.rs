//! Introspection's liveness check: is an access token's record active, and does no subject or
//! client revocation of its brand cover it?
//!
//! Every introspection of an access token asks this one question, so it is answered without
//! sea-orm's per-query overhead and with as few hand-offs as each database allows:
//!
//! * SQLite ([`sqlite`]): on the request's own thread, on a read-only connection. Through sqlx
//!   the lookup was a message to the connection's thread and an answer back, two wake-ups that
//!   cost more than the lookup itself (two index probes on a warm page cache).
//! * Postgres ([`postgres`]): concurrent lookups share one round trip ([`crate::batch`]), so
//!   that the database's processes are woken once per batch rather than once per request.
//!
//! Both answer exactly what one query per request would: a lookup is run after it was asked,
//! so it sees every revocation committed before the request.

mod postgres;
mod sqlite;

use std::time::Duration;

use portcullis_tenancy::{BrandScope, StoreResult};
use sea_orm::DatabaseConnection;

/// The token a lookup asks about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lookup<'a> {
    /// The scope's brand, whose record and feed alone are searched.
    pub(crate) scope: &'a BrandScope,
    pub(crate) jti: &'a str,
    pub(crate) subject: &'a str,
    pub(crate) client_id: &'a str,
    /// The token's `iat`: blanket revocations at or after it refuse the token.
    pub(crate) issued_at: i64,
}

/// The liveness check of a store.
#[derive(Debug)]
pub(crate) enum Liveness {
    Sqlite(sqlite::Readers),
    Postgres(postgres::Batcher),
}

impl Liveness {
    /// Lookups on the request's thread against the SQLite `file`, with `db` behind them.
    pub(crate) fn sqlite(file: std::path::PathBuf, db: DatabaseConnection) -> Self {
        Self::Sqlite(sqlite::Readers::new(file, db))
    }

    /// Batched lookups on `db` by `workers` tasks on the current runtime; a lookup waits at
    /// most `deadline`.
    pub(crate) fn postgres(db: DatabaseConnection, workers: usize, deadline: Duration) -> Self {
        Self::Postgres(postgres::Batcher::start(db, workers, deadline))
    }

    /// Whether the token is live.
    pub(crate) async fn access_token_live(&self, lookup: Lookup<'_>) -> StoreResult<bool> {
        match self {
            Self::Sqlite(readers) => readers.access_token_live(&lookup).await,
            Self::Postgres(batcher) => batcher.access_token_live(&lookup).await,
        }
    }
}
