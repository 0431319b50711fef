//! The change signal behind the revocation feed's long-polls and event streams.
//!
//! Waiters subscribe to a [`RevocationSignal`] and re-read their brand's feed whenever it
//! fires. It fires when this process commits a revocation ([`RevocationSignal::notify`]) and
//! when [`RevocationSignal::follow`] sees the feed's highest cursor move, which is how a
//! revocation committed by another process (another server, the CLI) reaches this one's
//! followers within one polling interval.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use portcullis_tenancy::RevocationStore;
use tokio::sync::watch;

/// How often [`RevocationSignal::follow`] polls the database by default.
pub const DEFAULT_POLL: Duration = Duration::from_millis(200);

/// A cheap-to-clone broadcast of "the feed may have changed". Its value is a generation that
/// grows by one with every change it announces, so that waiters woken by the same change can
/// recognise each other and share one read of the feed.
#[derive(Debug, Clone)]
pub struct RevocationSignal {
    sender: Arc<watch::Sender<u64>>,
    /// When [`RevocationSignal::follow`] last read the feed's head.
    last_poll: Arc<Mutex<Option<Instant>>>,
}

impl Default for RevocationSignal {
    fn default() -> Self {
        Self::new()
    }
}

impl RevocationSignal {
    /// A signal nobody has fired yet.
    pub fn new() -> Self {
        Self { sender: Arc::new(watch::channel(0).0), last_poll: Arc::default() }
    }

    /// How long ago [`RevocationSignal::follow`] last read the feed's head; `None` before its
    /// first read (or when nothing follows it). A growing value means this process no longer
    /// hears of revocations made by others.
    pub fn since_last_poll(&self) -> Option<Duration> {
        self.last_poll.lock().unwrap_or_else(PoisonError::into_inner).map(|at| at.elapsed())
    }

    /// A receiver that wakes on the next change; its value is the change's generation.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }

    /// Wakes every waiter: this process has just committed a revocation.
    pub fn notify(&self) {
        self.sender.send_modify(|generation| *generation += 1);
    }

    /// Polls the feed's highest cursor every `every` and wakes waiters when it moves. Runs
    /// until the task is dropped; storage errors are logged and retried.
    pub async fn follow<S: RevocationStore>(&self, store: &S, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seen = None;
        loop {
            ticks.tick().await;
            match store.latest_revocation().await {
                Ok(latest) => {
                    *self.last_poll.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                    // The first read wakes waiters too: a change made before it but after a
                    // waiter's own read would otherwise go unannounced.
                    if seen.replace(latest) != Some(latest) {
                        self.notify();
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not poll the revocation feed"),
            }
        }
    }
}
