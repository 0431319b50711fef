//! The change signal behind the revocation feed's long-polls and event streams.
//!
//! Waiters subscribe to a [`RevocationSignal`] and re-read their brand's feed whenever it
//! fires. It fires when this process commits a revocation ([`RevocationSignal::notify`]) and
//! when [`RevocationSignal::follow`] sees the feed's highest cursor move, which is how a
//! revocation committed by another process (another server, the CLI) reaches this one's
//! followers within one polling interval.

use std::sync::Arc;
use std::time::Duration;

use portcullis_tenancy::RevocationStore;
use tokio::sync::watch;

/// How often [`RevocationSignal::follow`] polls the database by default.
pub const DEFAULT_POLL: Duration = Duration::from_millis(200);

/// A cheap-to-clone broadcast of "the feed may have changed".
#[derive(Debug, Clone)]
pub struct RevocationSignal(Arc<watch::Sender<i64>>);

impl Default for RevocationSignal {
    fn default() -> Self {
        Self::new()
    }
}

impl RevocationSignal {
    /// A signal nobody has fired yet.
    pub fn new() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }

    /// A receiver that wakes on the next change.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.0.subscribe()
    }

    /// Wakes every waiter: this process has just committed a revocation.
    pub fn notify(&self) {
        self.0.send_modify(|_| {});
    }

    /// Polls the feed's highest cursor every `every` and wakes waiters when it moves. Runs
    /// until the task is dropped; storage errors are logged and retried.
    pub async fn follow<S: RevocationStore>(&self, store: &S, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.latest_revocation().await {
                Ok(latest) => {
                    self.0.send_if_modified(|seen| {
                        let moved = *seen != latest;
                        *seen = latest;
                        moved
                    });
                }
                Err(e) => tracing::warn!(error = %e, "could not poll the revocation feed"),
            }
        }
    }
}
