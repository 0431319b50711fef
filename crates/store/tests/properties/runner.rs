//! Runs a proptest property on each test database (SQLite, and Postgres when configured).
//!
//! proptest drives synchronous closures, and the store is async: one tokio runtime per property
//! owns the store (its group-commit writer and cache follower run on it), and each case is
//! `block_on`'d there. The database lives for the whole property; cases stay independent by
//! creating fresh brands (see [`unique`]), which also leaves earlier cases' brands in the
//! database as extra neighbours that no scoped read may return.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU32, Ordering};

use portcullis_store::SeaStore;
use portcullis_store::testing::{self, TestDatabase};
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};

/// How many cases a property runs: `default`, or `PROPTEST_CASES` when set.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A number no other case (or shrinking step) of this process has had: for brand keys, jtis and
/// hashes that must be unique across the whole database.
pub fn unique() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Checks `property` on `cases` generated values on every test database; panics with the
/// shrunk counterexample and the backend's name when it fails.
pub fn check<S>(
    name: &str,
    cases: u32,
    strategy: S,
    property: impl AsyncFn(&TestDatabase, &SeaStore, S::Value) -> TestCaseResult,
) where
    S: Strategy,
    S::Value: Debug,
{
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for db in runtime.block_on(testing::all()) {
        let store = runtime.block_on(db.store());
        // No persistence file: a failure prints its minimal input, which a plain regression test
        // then pins.
        let config = Config { cases, failure_persistence: None, ..Config::default() };
        let mut runner = TestRunner::new(config);
        let outcome = runner.run(&strategy, |value| runtime.block_on(property(&db, &store, value)));
        if let Err(failure) = outcome {
            panic!("property `{name}` failed on {}: {failure}", db.name);
        }
        runtime.block_on(store.close()).unwrap();
    }
}
