//! Background pruning of expired and revoked records older than the retention period.

use std::time::Duration;

use portcullis_tenancy::MaintenanceStore;

use crate::Clock;

/// Rows deleted per table per statement: small enough that issuance never waits long.
pub const PRUNE_BATCH: u64 = 500;

/// Pause between two batches of one round, so a large backlog drains without hogging the
/// database.
const BETWEEN_BATCHES: Duration = Duration::from_millis(50);

/// One pruning round: deletes, batch by batch, every record that expired (or was revoked)
/// more than `retention` seconds ago. Returns how many rows went.
pub async fn prune_round<S: MaintenanceStore>(store: &S, clock: &Clock, retention: u32) -> u64 {
    let mut total = 0;
    loop {
        let cutoff = clock.now() - i64::from(retention);
        match store.prune(cutoff, PRUNE_BATCH).await {
            Ok(0) => return total,
            Ok(deleted) => {
                total += deleted;
                if deleted < PRUNE_BATCH {
                    return total;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "pruning expired token records failed; will retry next round");
                return total;
            }
        }
        tokio::time::sleep(BETWEEN_BATCHES).await;
    }
}

/// Runs [`prune_round`] every `every` until the task is dropped.
pub async fn prune_forever<S: MaintenanceStore>(store: S, clock: Clock, retention: u32, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let deleted = prune_round(&store, &clock, retention).await;
        if deleted > 0 {
            tracing::info!(deleted, "pruned expired token records");
        }
    }
}
