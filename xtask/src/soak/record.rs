//! The figures of a soak as it runs. Every connection reports each request to one shared
//! [`Recorder`] (successes with their latency, errors with a message); [`Recorder::take`] closes
//! an interval, handing over its [`Tally`] per operation and starting fresh ones.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::anyhow;
use hdrhistogram::Histogram;

use super::mix::Operation;
use crate::bench::load::{histogram, quantile_ms};

/// How many distinct error messages are kept for the report.
const KEPT_ERRORS: usize = 5;

/// One operation's requests over some span.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    /// Answered with the expected status (and a well-formed body).
    pub(crate) requests: u64,
    /// Unexpected statuses, malformed bodies and transport errors.
    pub(crate) errors: u64,
    /// Latencies of the successful requests, µs.
    pub(crate) latencies: Histogram<u64>,
}

impl Tally {
    fn new() -> anyhow::Result<Self> {
        Ok(Self { requests: 0, errors: 0, latencies: histogram()? })
    }

    /// Adds `other`'s counts and latencies.
    pub(crate) fn add(&mut self, other: &Self) -> anyhow::Result<()> {
        self.requests += other.requests;
        self.errors += other.errors;
        self.latencies.add(&other.latencies).map_err(|e| anyhow!("merging histograms: {e}"))
    }

    /// The latency at quantile `q`, ms (0 when nothing succeeded).
    pub(crate) fn quantile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies, q)
    }
}

/// A fresh tally per operation, in [`Operation::ALL`] order.
pub(crate) fn tallies() -> anyhow::Result<Vec<Tally>> {
    Operation::ALL.iter().map(|_| Tally::new()).collect()
}

/// What the connections report into.
#[derive(Debug)]
struct Shared {
    current: Vec<Tally>,
    /// The first few distinct error messages of the whole run.
    errors: Vec<String>,
}

/// The shared sink of every connection's results.
#[derive(Debug)]
pub(crate) struct Recorder {
    shared: Mutex<Shared>,
}

impl Recorder {
    /// An empty recorder.
    pub(crate) fn new() -> anyhow::Result<Self> {
        Ok(Self { shared: Mutex::new(Shared { current: tallies()?, errors: Vec::new() }) })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Shared) -> T) -> T {
        // A panicking connection cannot leave a tally half-updated: keep going with it.
        f(&mut self.shared.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A request of `op` that succeeded after `latency`.
    pub(crate) fn success(&self, op: Operation, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1);
        self.with(|shared| {
            let tally = &mut shared.current[op.index()];
            tally.requests += 1;
            tally.latencies.saturating_record(micros);
        });
    }

    /// A request of `op` that failed, and why.
    pub(crate) fn error(&self, op: Operation, message: String) {
        self.with(|shared| {
            shared.current[op.index()].errors += 1;
            let message = format!("{}: {message}", op.label());
            if shared.errors.len() < KEPT_ERRORS && !shared.errors.contains(&message) {
                shared.errors.push(message);
            }
        });
    }

    /// Closes the interval: its tallies, in [`Operation::ALL`] order.
    pub(crate) fn take(&self) -> anyhow::Result<Vec<Tally>> {
        let fresh = tallies()?;
        Ok(self.with(|shared| std::mem::replace(&mut shared.current, fresh)))
    }

    /// The first few distinct error messages.
    pub(crate) fn errors(&self) -> Vec<String> {
        self.with(|shared| shared.errors.clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::time::Duration;

    use super::Recorder;
    use crate::soak::mix::Operation;

    #[test]
    fn intervals_start_fresh_and_errors_are_kept_once() {
        let recorder = Recorder::new().unwrap();
        recorder.success(Operation::Refresh, Duration::from_micros(1500));
        recorder.success(Operation::Refresh, Duration::from_micros(2500));
        recorder.error(Operation::AdminRead, "answered 401".into());
        recorder.error(Operation::AdminRead, "answered 401".into());
        let first = recorder.take().unwrap();
        assert_eq!(first[Operation::Refresh.index()].requests, 2);
        assert!((first[Operation::Refresh.index()].quantile_ms(1.0) - 2.5).abs() < 0.01);
        assert_eq!(first[Operation::AdminRead.index()].errors, 2);
        let second = recorder.take().unwrap();
        assert!(second.iter().all(|t| t.requests == 0 && t.errors == 0));
        assert_eq!(recorder.errors(), vec!["admin read: answered 401".to_owned()]);
    }
}
