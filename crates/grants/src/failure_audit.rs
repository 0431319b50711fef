//! Writing failed authentications to the audit log without letting a flood write a row each.
//!
//! [`FailureAudit::record`] folds a failure into its (brand, action, address) group
//! ([`crate::audit_fold`]): the first of a window is written at once, the others are counted and
//! written as one summary when the window ends, by the next failure of the group or by
//! [`FailureAudit::flush`], which the server runs every [`FLUSH_EVERY`]. State is per process
//! and bounded; what is still counted at shutdown is written by [`FailureAudit::flush_all`].
//! Successes do not come here: each is written on its own.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use portcullis_tenancy::{AuditEvent, AuditStore, BrandScope};

use crate::Clock;
use crate::audit_fold::Folds;

/// How often ended windows are summarised: a summary is written at most this long after its
/// window ends.
pub const FLUSH_EVERY: Duration = Duration::from_secs(10);

/// Failure folding shared by every request of a process. Cheap to clone.
#[derive(Clone, Default)]
pub struct FailureAudit(Arc<Mutex<Folds>>);

impl fmt::Debug for FailureAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FailureAudit").finish_non_exhaustive()
    }
}

impl FailureAudit {
    /// Folding in windows of `window` seconds, holding at most `max_groups` groups.
    pub fn new(window: i64, max_groups: usize) -> Self {
        Self(Arc::new(Mutex::new(Folds::new(window, max_groups))))
    }

    /// Records a failure of `scope`'s brand that happened at `event.at`: written at once when
    /// it opens a window, otherwise counted towards the window's summary.
    pub async fn record<S: AuditStore>(&self, store: &S, scope: &BrandScope, event: AuditEvent) {
        let noted = self.0.lock().unwrap_or_else(PoisonError::into_inner).note(scope, event);
        if let Some((ended_scope, summary)) = noted.ended {
            write(store, &ended_scope, summary).await;
        }
        if let Some(first) = noted.write {
            write(store, scope, first).await;
        }
    }

    /// Writes the summaries of the windows that ended by `now`; returns how many.
    pub async fn flush<S: AuditStore>(&self, store: &S, now: i64) -> usize {
        let ended = self.0.lock().unwrap_or_else(PoisonError::into_inner).take_ended(now);
        write_all(store, ended).await
    }

    /// Writes the summaries of every window, ended or not (at shutdown); returns how many.
    pub async fn flush_all<S: AuditStore>(&self, store: &S) -> usize {
        let all = self.0.lock().unwrap_or_else(PoisonError::into_inner).take_all();
        write_all(store, all).await
    }

    /// Runs [`FailureAudit::flush`] every `every` until the task is dropped.
    pub async fn flush_forever<S: AuditStore>(self, store: S, clock: Clock, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.flush(&store, clock.now()).await;
        }
    }
}

async fn write_all<S: AuditStore>(store: &S, events: Vec<(BrandScope, AuditEvent)>) -> usize {
    let count = events.len();
    for (scope, event) in events {
        write(store, &scope, event).await;
    }
    count
}

async fn write<S: AuditStore>(store: &S, scope: &BrandScope, event: AuditEvent) {
    if let Err(e) = store.record_event(scope, event).await {
        tracing::warn!(error = %e, "could not write the audit event for failed authentications");
    }
}
