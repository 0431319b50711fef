//! Background pruning of expired and revoked records older than the token retention, and of
//! audit events older than the audit retention.

use std::time::Duration;

use portcullis_tenancy::{MaintenanceStore, StoreResult};

use crate::Clock;

/// Rows deleted per table per statement: small enough that issuance never waits long.
pub const PRUNE_BATCH: u64 = 500;

/// Pause between two batches of one round, so a large backlog drains without hogging the
/// database.
const BETWEEN_BATCHES: Duration = Duration::from_millis(50);

/// Seconds in a day, for the audit retention.
const DAY: i64 = 24 * 3600;

/// How long pruned records are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Seconds expired or revoked token records are kept.
    pub tokens: u32,
    /// Days audit events are kept; `None` keeps them for ever.
    pub audit_days: Option<u32>,
}

/// One pruning round: deletes, batch by batch, every record that expired (or was revoked)
/// more than `retention` seconds ago. Returns how many rows went.
pub async fn prune_round<S: MaintenanceStore>(store: &S, clock: &Clock, retention: u32) -> u64 {
    drain("expired token records", || store.prune(clock.now() - i64::from(retention), PRUNE_BATCH)).await
}

/// One audit pruning round: deletes, batch by batch, every audit event of any brand recorded
/// more than `days` days ago. Returns how many rows went.
pub async fn prune_audit_round<S: MaintenanceStore>(store: &S, clock: &Clock, days: u32) -> u64 {
    drain("audit events", || store.prune_audit(clock.now() - i64::from(days) * DAY, PRUNE_BATCH)).await
}

/// Runs `batch` until it deletes fewer than [`PRUNE_BATCH`] rows (or fails), pausing between
/// batches. Returns how many rows went.
async fn drain<F, Fut>(what: &str, mut batch: F) -> u64
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<u64>>,
{
    let mut total = 0;
    loop {
        match batch().await {
            Ok(0) => return total,
            Ok(deleted) => {
                total += deleted;
                if deleted < PRUNE_BATCH {
                    return total;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, what, "pruning failed; will retry next round");
                return total;
            }
        }
        tokio::time::sleep(BETWEEN_BATCHES).await;
    }
}

/// Runs [`prune_round`] and, unless audit events are kept for ever, [`prune_audit_round`]
/// every `every` until the task is dropped.
pub async fn prune_forever<S: MaintenanceStore>(store: S, clock: Clock, retention: Retention, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let deleted = prune_round(&store, &clock, retention.tokens).await;
        if deleted > 0 {
            tracing::info!(deleted, "pruned expired token records");
        }
        if let Some(days) = retention.audit_days {
            let deleted = prune_audit_round(&store, &clock, days).await;
            if deleted > 0 {
                tracing::info!(deleted, days, "pruned audit events older than the audit retention");
            }
        }
    }
}
