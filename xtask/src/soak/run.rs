//! The soak itself: the connections' workers on the load generator's runtime for the whole
//! duration, and every interval a cut: each operation's [`Tally`] since the last cut and the
//! server's resident memory, printed on stderr as it happens.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::runtime::Runtime;

use super::Options;
use super::mix::{self, Operation};
use super::record::{Recorder, Tally, tallies};
use super::setup::Accounts;
use super::workload;
use crate::bench::report::megabytes;
use crate::bench::rss::{self, Sampler};
use crate::bench::server::Server;

/// The figures of one interval.
#[derive(Debug, Clone)]
pub(crate) struct Interval {
    /// Seconds from the start to the interval's end.
    pub(crate) end_s: f64,
    /// The interval's length, s.
    pub(crate) seconds: f64,
    /// Per operation, in [`Operation::ALL`] order.
    pub(crate) tallies: Vec<Tally>,
    /// Every operation together.
    pub(crate) overall: Tally,
    /// The server's `VmRSS` at the interval's end, KiB.
    pub(crate) rss_kib: u64,
    /// The server's peak `VmRSS` during the interval (sampled every 100 ms), KiB.
    pub(crate) rss_peak_kib: u64,
}

impl Interval {
    /// Requests per second of `tally` over the interval.
    pub(crate) fn per_second(&self, tally: &Tally) -> f64 {
        tally.requests as f64 / self.seconds.max(f64::EPSILON)
    }
}

/// The figures of a whole soak.
#[derive(Debug, Clone)]
pub(crate) struct Soak {
    pub(crate) intervals: Vec<Interval>,
    /// Per operation over the whole run.
    pub(crate) totals: Vec<Tally>,
    /// Every operation over the whole run.
    pub(crate) overall: Tally,
    /// The first few distinct error messages.
    pub(crate) errors: Vec<String>,
    /// The whole run's length, s.
    pub(crate) seconds: f64,
    /// The kernel's high-water mark of the server's resident memory (`VmHWM`), KiB.
    pub(crate) rss_hwm_kib: Option<u64>,
}

/// Merges `tallies` into one.
fn merged(tallies: &[Tally]) -> anyhow::Result<Tally> {
    let mut all = tallies.first().cloned().context("no operations")?;
    for tally in &tallies[1..] {
        all.add(tally)?;
    }
    Ok(all)
}

/// Closes the interval that began at `from`.
fn cut(recorder: &Recorder, sampler: &Sampler, pid: u32, start: Instant, from: Instant) -> anyhow::Result<Interval> {
    let tallies = recorder.take()?;
    let now = Instant::now();
    let interval = Interval {
        end_s: now.duration_since(start).as_secs_f64(),
        seconds: now.duration_since(from).as_secs_f64(),
        overall: merged(&tallies)?,
        tallies,
        rss_kib: rss::read_kib(pid, "VmRSS").unwrap_or(0),
        rss_peak_kib: sampler.window_peak(),
    };
    sampler.begin_window();
    let per_op: Vec<String> = Operation::ALL
        .iter()
        .zip(&interval.tallies)
        .map(|(op, tally)| format!("{} {:.0}/s", op.short(), interval.per_second(tally)))
        .collect();
    eprintln!(
        "[{:>5.0} s] {:>6.0}/s  p50 {:>6.2} ms  p99 {:>7.2} ms  errors {}  RSS {:>5.1} MB  | {}",
        interval.end_s,
        interval.per_second(&interval.overall),
        interval.overall.quantile_ms(0.50),
        interval.overall.quantile_ms(0.99),
        interval.overall.errors,
        megabytes(interval.rss_kib),
        per_op.join("  "),
    );
    Ok(interval)
}

/// Runs the mixed workload against `server` for the configured time.
pub(crate) fn run(
    runtime: &Runtime,
    server: &mut Server,
    accounts: Accounts,
    options: &Options,
) -> anyhow::Result<Soak> {
    let (duration, every) = (Duration::from_secs(options.seconds), Duration::from_secs(options.interval));
    eprintln!(
        "== soak: {} s on {} connection(s), an interval every {} s; mix: {}",
        options.seconds,
        options.connections,
        options.interval,
        mix::describe()
    );
    let pid = server.pid();
    let sampler = Sampler::start(pid);
    let recorder = Arc::new(Recorder::new()?);
    let accounts = Arc::new(accounts);
    let cycle = mix::cycle().len();
    let intervals = runtime.block_on(async {
        let start = Instant::now();
        let end = start + duration;
        let workers: Vec<_> = (0..options.connections)
            .map(|i| {
                let offset = i * cycle / options.connections;
                tokio::spawn(workload::run(Arc::clone(&accounts), Arc::clone(&recorder), end, offset))
            })
            .collect();
        let mut intervals = Vec::new();
        let (mut boundary, mut from) = (start + every, start);
        while boundary < end {
            tokio::time::sleep_until(boundary.into()).await;
            let interval = cut(&recorder, &sampler, pid, start, from)?;
            from = start + Duration::from_secs_f64(interval.end_s);
            intervals.push(interval);
            boundary += every;
            if let Some(status) = server.exited() {
                bail!("the server exited ({status}) during the soak; its log ends with:\n{}", server.log_tail());
            }
        }
        for worker in workers {
            worker.await.context("a connection task failed")?;
        }
        // The last interval also holds the requests that were in flight at the end.
        intervals.push(cut(&recorder, &sampler, pid, start, from)?);
        anyhow::Ok(intervals)
    })?;
    let mut totals = tallies()?;
    for interval in &intervals {
        for (total, tally) in totals.iter_mut().zip(&interval.tallies) {
            total.add(tally)?;
        }
    }
    Ok(Soak {
        seconds: intervals.last().map_or(0.0, |i| i.end_s),
        overall: merged(&totals)?,
        totals,
        intervals,
        errors: recorder.errors(),
        rss_hwm_kib: rss::read_kib(pid, "VmHWM"),
    })
}
