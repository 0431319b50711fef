//! Fresh databases for tests: a SQLite file in a temporary directory always, and a new
//! Postgres database when `PORTCULLIS_TEST_POSTGRES_URL` points at a server (CI sets it).

use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ConnectionTrait, Database};

use crate::{PoolSettings, SeaStore};

/// The variable naming a Postgres server for tests, e.g. `postgres://postgres@127.0.0.1:55432/postgres`.
pub const POSTGRES_ENV: &str = "PORTCULLIS_TEST_POSTGRES_URL";

/// A database that lives as long as this value (SQLite) or as the test server (Postgres).
#[derive(Debug)]
pub struct TestDatabase {
    /// Which backend.
    pub name: &'static str,
    /// Its URL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A migrated store on this database.
    pub async fn store(&self) -> SeaStore {
        let store = SeaStore::connect(&self.url, PoolSettings::default())
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", self.url));
        store.migrate().await.unwrap_or_else(|e| panic!("migrate {}: {e}", self.url));
        store
    }
}

/// A fresh SQLite database file.
pub fn sqlite() -> TestDatabase {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
    let url = format!("sqlite://{}", dir.path().join("portcullis.db").display());
    TestDatabase { name: "sqlite", url, _dir: Some(dir) }
}

/// A fresh, empty Postgres database, or `None` when no server is configured.
pub async fn postgres() -> Option<TestDatabase> {
    let admin_url = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())?;
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let name = format!("pc_test_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), nanos);
    let admin = Database::connect(admin_url.as_str()).await.unwrap_or_else(|e| panic!("{POSTGRES_ENV}: {e}"));
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| panic!("create test database: {e}"));
    drop(admin.close().await);
    let (base, _) = admin_url.rsplit_once('/').unwrap_or((admin_url.as_str(), ""));
    Some(TestDatabase { name: "postgres", url: format!("{base}/{name}"), _dir: None })
}

/// SQLite, plus Postgres when configured: run every storage-facing test on each.
pub async fn all() -> Vec<TestDatabase> {
    let mut databases = vec![sqlite()];
    databases.extend(postgres().await);
    databases
}
