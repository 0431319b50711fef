//! Opening the database: SQLite in WAL mode with a busy timeout, or a Postgres pool.

use std::time::Duration;

use portcullis_tenancy::{StoreError, StoreResult};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, TransactionTrait};

use crate::SeaStore;
use crate::error::map_err;
use crate::liveness::Liveness;
use crate::{direct, writer};

use portcullis_migrations::{Migrator, MigratorTrait};

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl DatabaseKind {
    /// Recognises `sqlite:` and `postgres:`/`postgresql:` URLs.
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// Pool tuning.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Maximum connections in the pool.
    pub max_connections: u32,
    /// How long a query waits for a connection before failing, a SQLite writer for the lock,
    /// and a request for its token record to be committed.
    pub acquire_timeout: Duration,
    /// On Postgres, the longest one statement may run, waiting for locks included, before the
    /// server cancels it (`statement_timeout`; the caller gets [`StoreError::Unavailable`]), so
    /// that a stuck statement cannot hold a pooled connection for ever. Migrations are exempt
    /// ([`SeaStore::migrate`]). SQLite has no such limit; its busy timeout is `acquire_timeout`.
    pub statement_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(20),
        }
    }
}

/// Pool options for `url`: SQLite in WAL mode with `synchronous=FULL`, a busy timeout and
/// foreign keys on; Postgres with a statement timeout.
fn connect_options(url: &str, kind: DatabaseKind, pool: PoolSettings, connections: u32) -> StoreResult<ConnectOptions> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(connections)
        .min_connections(1)
        .acquire_timeout(pool.acquire_timeout)
        .connect_timeout(pool.acquire_timeout)
        .sqlx_logging(false);
    if kind == DatabaseKind::Sqlite {
        // Validate the URL up front so a typo is reported as such, not as a pool error.
        direct::file_of(url)?;
        let busy = pool.acquire_timeout;
        options.map_sqlx_sqlite_opts(move |opts| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(busy)
                .foreign_keys(true)
        });
    } else {
        // A connection parameter, so it holds for every statement on every pooled connection.
        let millis = pool.statement_timeout.as_millis().to_string();
        options.map_sqlx_postgres_opts(move |opts| opts.options([("statement_timeout", millis.as_str())]));
    }
    Ok(options)
}

impl SeaStore {
    /// Connects to `url` and starts the token-record writer on the current runtime. SQLite files are created when missing and put in WAL mode with
    /// `synchronous=FULL` (a commit is on disk before it is acknowledged) and a busy timeout.
    pub async fn connect(url: &str, pool: PoolSettings) -> StoreResult<Self> {
        let kind = DatabaseKind::from_url(url)
            .ok_or_else(|| StoreError::Backend("database URL must start with sqlite: or postgres://".into()))?;
        let db = Database::connect(connect_options(url, kind, pool, pool.max_connections)?).await.map_err(map_err)?;
        // SQLite commits one writer at a time, best on a connection of its own (its page cache
        // stays valid between commits), and answers lookups on the request's thread; Postgres
        // gains from a few batches of each in flight.
        let (writer, liveness) = match kind {
            DatabaseKind::Sqlite => {
                let file = direct::file_of(url)?;
                (writer::start_sqlite(file.clone(), pool.acquire_timeout)?, Liveness::sqlite(file, db.clone()))
            }
            DatabaseKind::Postgres => {
                // Two of each for the default 16 connections: with four, batches were smaller and
                // Postgres committed more often (`wrk`, 16 connections, 2 cores: 7,300–8,200
                // tokens/s with four writers, 9,600–11,000 with two).
                let workers = usize::try_from(pool.max_connections / 8).unwrap_or(1).clamp(1, 4);
                (
                    writer::start_postgres(db.clone(), workers, pool.acquire_timeout),
                    Liveness::postgres(db.clone(), workers, pool.acquire_timeout),
                )
            }
        };
        let cache = std::sync::Arc::default();
        crate::cache::follow_changes(db.clone(), std::sync::Arc::downgrade(&cache));
        if kind == DatabaseKind::Sqlite {
            crate::checkpoint::start(db.clone(), std::sync::Arc::downgrade(&cache));
        }
        let liveness = std::sync::Arc::new(liveness);
        Ok(Self { db, writer, cache, liveness })
    }

    /// Applies pending migrations. On Postgres they run in one transaction without the statement
    /// timeout: an index built on a large table may take longer than any request should, and a
    /// failure leaves the schema as it was.
    pub async fn migrate(&self) -> StoreResult<()> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return Migrator::up(&self.db, None).await.map_err(map_err);
        }
        let transaction = self.db.begin().await.map_err(map_err)?;
        transaction.execute_unprepared("SET LOCAL statement_timeout = 0").await.map_err(map_err)?;
        Migrator::up(&transaction, None).await.map_err(map_err)?;
        transaction.commit().await.map_err(map_err)
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(self) -> StoreResult<()> {
        self.db.close().await.map_err(map_err)
    }
}
