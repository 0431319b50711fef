//! The soak's section of `BENCHMARKS.md`: how the run was made, the interval tables (rates,
//! latency, memory), the whole run per operation, the errors and the trends.

use super::mix::{self, Operation};
use super::run::Soak;
use super::trend;
use crate::bench::report::{megabytes, thousands};

/// Where and how a soak was made.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) machine: String,
    pub(crate) commit: String,
    pub(crate) command: String,
    /// The heading after `Soak: `, e.g. `10 minutes on SQLite`.
    pub(crate) title: String,
    /// What the database was, in words.
    pub(crate) database: String,
    pub(crate) connections: usize,
    pub(crate) interval: u64,
}

/// A rate: grouped thousands from 100/s up, one decimal below.
fn rate(per_second: f64) -> String {
    if per_second >= 100.0 { thousands(per_second) } else { format!("{per_second:.1}") }
}

/// The trends of `soak`: RSS slope (MB/min) and p99 drift (ratio).
pub(crate) fn trends(soak: &Soak) -> (Option<f64>, Option<f64>) {
    let rss: Vec<(f64, f64)> = soak.intervals.iter().map(|i| (i.end_s / 60.0, megabytes(i.rss_kib))).collect();
    let p99s: Vec<f64> = soak.intervals.iter().map(|i| i.overall.quantile_ms(0.99)).collect();
    (trend::rss_slope(&rss), trend::p99_drift(&p99s))
}

/// Rates, overall latency, errors and memory per interval.
fn interval_table(soak: &Soak) -> String {
    let mut out = String::from("| # | end s | requests/s |");
    let mut rule = String::from("|---:|---:|---:|");
    for op in Operation::ALL {
        out.push_str(&format!(" {}/s |", op.short()));
        rule.push_str("---:|");
    }
    out.push_str(" p50 ms | p99 ms | errors | RSS MB | peak RSS MB |\n");
    rule.push_str("---:|---:|---:|---:|---:|\n");
    out.push_str(&rule);
    for (n, interval) in soak.intervals.iter().enumerate() {
        out.push_str(&format!(
            "| {} | {:.0} | {} |",
            n + 1,
            interval.end_s,
            rate(interval.per_second(&interval.overall))
        ));
        for tally in &interval.tallies {
            out.push_str(&format!(" {} |", rate(interval.per_second(tally))));
        }
        out.push_str(&format!(
            " {:.2} | {:.2} | {} | {:.1} | {:.1} |\n",
            interval.overall.quantile_ms(0.50),
            interval.overall.quantile_ms(0.99),
            interval.overall.errors,
            megabytes(interval.rss_kib),
            megabytes(interval.rss_peak_kib),
        ));
    }
    out
}

/// p50 / p99 per operation and interval.
fn latency_table(soak: &Soak) -> String {
    let mut out = String::from("| # |");
    let mut rule = String::from("|---:|");
    for op in Operation::ALL {
        out.push_str(&format!(" {} p50 / p99 ms |", op.short()));
        rule.push_str("---:|");
    }
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    for (n, interval) in soak.intervals.iter().enumerate() {
        out.push_str(&format!("| {} |", n + 1));
        for tally in &interval.tallies {
            out.push_str(&format!(" {:.2} / {:.2} |", tally.quantile_ms(0.50), tally.quantile_ms(0.99)));
        }
        out.push('\n');
    }
    out
}

/// The whole run per operation.
fn totals_table(soak: &Soak) -> String {
    let mut out = String::from("| operation | requests | errors | requests/s | p50 ms | p99 ms |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|\n");
    let seconds = soak.seconds.max(f64::EPSILON);
    let rows = Operation::ALL.iter().map(|op| (format!("`{}`", op.label()), &soak.totals[op.index()]));
    for (label, tally) in rows.chain([("all".to_owned(), &soak.overall)]) {
        out.push_str(&format!(
            "| {label} | {} | {} | {} | {:.2} | {:.2} |\n",
            thousands(tally.requests as f64),
            tally.errors,
            rate(tally.requests as f64 / seconds),
            tally.quantile_ms(0.50),
            tally.quantile_ms(0.99),
        ));
    }
    out
}

/// The run's section of `BENCHMARKS.md`.
pub(crate) fn section(context: &Context, soak: &Soak) -> String {
    let (slope, drift) = trends(soak);
    let mut out = format!("## Soak: {}\n\n", context.title);
    out.push_str(&format!(
        "Machine: {machine}. Commit: `{commit}`. Command: `{command}` (release build of `portcullis serve` with \
         its default configuration on {database}, over loopback). Duration: {seconds:.0} s on {connections} \
         connection(s), each a worker with one keep-alive connection to the public listener and one to the admin \
         listener, sending requests back to back; figures every {interval} s. Mix: {mix}. Each worker starts a \
         refresh chain with a `password` grant and keeps refreshing it with the newest refresh token; each \
         `password` grant after that revokes the chain's refresh token first (counted as a revocation); \
         introspection asks about the worker's newest `client_credentials` token and must find it active, \
         revocation revokes its oldest; an admin read is the GraphQL query `clients(brandKey)` with a \
         `brand:admin` token (renewed at half its lifetime, counted as `client_credentials`). Any status other \
         than 200, malformed answer or transport error is an error. Latencies are the client's, in ms; RSS is \
         the server's `VmRSS` at the interval's end (peak: sampled every 100 ms), in MB (10^6 bytes).\n\n",
        machine = context.machine,
        commit = context.commit,
        command = context.command,
        database = context.database,
        seconds = soak.seconds,
        connections = context.connections,
        interval = context.interval,
        mix = mix::describe(),
    ));
    out.push_str(&interval_table(soak));
    out.push_str("\nLatency per operation:\n\n");
    out.push_str(&latency_table(soak));
    out.push_str("\nWhole run:\n\n");
    out.push_str(&totals_table(soak));
    out.push('\n');
    out.push_str(&format!("Errors: {}", soak.overall.errors));
    if !soak.errors.is_empty() {
        out.push_str(&format!(" (first: {})", soak.errors.join("; ").replace('|', "\\|")));
    }
    out.push_str(".\n\n");
    let slope = slope.map_or_else(|| "n/a (fewer than three intervals)".to_owned(), |s| format!("{s:+.3} MB/min"));
    let drift = drift.map_or_else(|| "n/a".to_owned(), |d| format!("{d:.2}×"));
    out.push_str(&format!(
        "Trends: RSS slope {slope} (least squares over the intervals' end RSS, the first interval left out as \
         warm-up); p99 drift {drift} (median p99 of the last third of the intervals over that of the first \
         third)."
    ));
    if let Some(hwm) = soak.rss_hwm_kib {
        out.push_str(&format!(
            " The kernel's high-water mark of the server's RSS (`VmHWM`): {:.1} MB.",
            megabytes(hwm)
        ));
    }
    out.push_str("\n\n");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::time::Duration;

    use super::{Context, section, trends};
    use crate::soak::mix::Operation;
    use crate::soak::record::Recorder;
    use crate::soak::run::{Interval, Soak};

    fn interval(end_s: f64, rss_mb: u64, p99_us: u64, recorder: &Recorder) -> Interval {
        recorder.success(Operation::ClientCredentials, Duration::from_micros(p99_us));
        recorder.success(Operation::AdminRead, Duration::from_micros(p99_us));
        let tallies = recorder.take().unwrap();
        let mut overall = tallies[0].clone();
        for t in &tallies[1..] {
            overall.add(t).unwrap();
        }
        Interval { end_s, seconds: 10.0, tallies, overall, rss_kib: rss_mb * 1_000_000 / 1024, rss_peak_kib: 0 }
    }

    #[test]
    fn the_section_has_the_tables_and_trends() {
        let recorder = Recorder::new().unwrap();
        let intervals: Vec<Interval> =
            (1..=6).map(|n| interval(n as f64 * 10.0, 30 + n, 1000 * n, &recorder)).collect();
        let mut totals = recorder.take().unwrap();
        for i in &intervals {
            for (t, x) in totals.iter_mut().zip(&i.tallies) {
                t.add(x).unwrap();
            }
        }
        let mut overall = totals[0].clone();
        overall.add(&totals[5]).unwrap();
        let soak = Soak { intervals, totals, overall, errors: vec![], seconds: 60.0, rss_hwm_kib: None };
        let (slope, drift) = trends(&soak);
        // 1 MB per 10 s: 6 MB per minute (rounding of KiB aside).
        assert!((slope.unwrap() - 6.0).abs() < 0.01, "{slope:?}");
        // Thirds: p99 1,2 ms against 5,6 ms.
        assert!((drift.unwrap() - 5.5 / 1.5).abs() < 0.01, "{drift:?}");
        let context = Context {
            machine: "2 cores".into(),
            commit: "abc".into(),
            command: "cargo xtask soak --seconds 60".into(),
            title: "1 minute on SQLite".into(),
            database: "a fresh SQLite file".into(),
            connections: 8,
            interval: 10,
        };
        let text = section(&context, &soak);
        assert!(text.starts_with("## Soak: 1 minute on SQLite\n\n"), "{text}");
        assert!(text.contains("| # | end s | requests/s | cc/s | pw/s |"), "{text}");
        assert!(text.contains("| 6 | 60 | 0.2 | 0.1 | 0.0 |"), "{text}");
        assert!(text.contains("| `admin read` | 6 | 0 | 0.1 |"), "{text}");
        assert!(text.contains("Errors: 0."), "{text}");
        assert!(text.contains("RSS slope +6.000 MB/min"), "{text}");
    }
}
