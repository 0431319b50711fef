//! SQLite WAL checkpoints off the commit path.
//!
//! In WAL mode SQLite copies committed pages back into the database file in a "checkpoint",
//! which by default the committing connection runs itself whenever the log passes 1,000 pages:
//! one in every few dozen group commits would then also write and fsync the database file, and
//! every request waiting on that batch would wait for it too. Instead the token writer's
//! connection checkpoints only as a safety net ([`WRITER_AUTOCHECKPOINT`] pages), and this task
//! runs a passive checkpoint every [`EVERY`] on a pooled connection. A passive checkpoint never
//! blocks the writer: it copies what is committed while new commits append to the log.

use std::sync::Weak;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::cache::RowCache;

/// How often the background checkpoint runs.
const EVERY: Duration = Duration::from_millis(500);

/// The writer connection's own automatic checkpoint threshold, in pages: reached only if the
/// background checkpoints stop keeping up (64 MiB of log with 4 KiB pages).
pub(crate) const WRITER_AUTOCHECKPOINT: &str = "16384";

/// Consecutive failures before a warning (a busy database is not worth one).
const WARN_AFTER: u32 = 10;

/// Starts the background checkpoints on the current runtime; they stop once `alive` (the
/// store's shared cache) is dropped with the store's last handle.
pub(crate) fn start(db: DatabaseConnection, alive: Weak<RowCache>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failures = 0u32;
        loop {
            ticks.tick().await;
            if alive.strong_count() == 0 {
                return;
            }
            match db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)").await {
                Ok(_) => failures = 0,
                Err(e) => {
                    failures += 1;
                    if failures == WARN_AFTER {
                        tracing::warn!(error = %e, "background WAL checkpoints are failing; the writer will checkpoint itself when the log grows");
                    }
                }
            }
        }
    });
}
