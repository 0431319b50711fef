//! The report: the token server's section of `BENCHMARKS.md` (tables with the targets next to
//! the figures), the section writer shared with the verifier part, and the machine and commit
//! that every section names.

use std::process::Command;

use anyhow::Context as _;

use super::suite::{BUSIEST, Backend, Endpoint, Point, Run};
use crate::root;

/// Resident memory the server must stay under, MB (10^6 bytes).
const RSS_TARGET_MB: f64 = 100.0;

/// The chart, relative to the repository root (and to `BENCHMARKS.md`).
pub(crate) const CHART_PATH: &str = "docs/bench-tokens.svg";

/// Where and how a run was made.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) machine: String,
    pub(crate) commit: String,
    pub(crate) command: String,
    pub(crate) seconds: u64,
    pub(crate) threads: usize,
}

impl Context {
    /// The load generator's threads, in words: `one thread`, `2 threads`.
    pub(crate) fn threads_in_words(&self) -> String {
        match self.threads {
            1 => "one thread".to_owned(),
            n => format!("{n} threads"),
        }
    }
}

/// A bound a figure must keep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Bound {
    /// The figure must be at least this.
    AtLeast(f64),
    /// The figure must be at most this.
    AtMost(f64),
}

/// `met`, or by how much of the target the figure falls short: `missed by 12.5 %`.
pub(crate) fn verdict(value: f64, bound: Bound) -> String {
    let shortfall = match bound {
        Bound::AtLeast(target) => (target - value) / target,
        Bound::AtMost(target) => (value - target) / target,
    } * 100.0;
    if shortfall <= 0.0 {
        "met".to_owned()
    } else if shortfall < 0.05 {
        "missed by < 0.1 %".to_owned()
    } else {
        format!("missed by {shortfall:.1} %")
    }
}

/// A whole number with thousands separators: `20,000`.
pub(crate) fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value <= -0.5 { format!("-{grouped}") } else { grouped }
}

/// KiB (as `/proc` counts) in MB (10^6 bytes).
pub(crate) fn megabytes(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// The figure a target is about.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Metric {
    PerSecond,
    P99,
}

/// Issue 8's targets for a point.
fn targets(backend: Backend, endpoint: Endpoint, connections: usize) -> &'static [(Metric, Bound)] {
    match (backend, endpoint, connections) {
        (Backend::Sqlite, Endpoint::ClientCredentials, 16) => {
            &[(Metric::PerSecond, Bound::AtLeast(20_000.0)), (Metric::P99, Bound::AtMost(5.0))]
        }
        (Backend::Postgres, Endpoint::ClientCredentials, 16) => &[(Metric::PerSecond, Bound::AtLeast(10_000.0))],
        (_, Endpoint::Introspection | Endpoint::FreshIntrospection, _) => {
            &[(Metric::PerSecond, Bound::AtLeast(20_000.0))]
        }
        _ => &[],
    }
}

/// The target column of a point: each target and whether it was met.
fn target_cell(backend: Backend, point: &Point) -> String {
    targets(backend, point.endpoint, point.connections)
        .iter()
        .map(|&(metric, bound)| {
            let (label, value) = match (metric, bound) {
                (Metric::PerSecond, Bound::AtLeast(t)) => (format!("≥ {}/s", thousands(t)), point.per_second),
                (Metric::PerSecond, Bound::AtMost(t)) => (format!("≤ {}/s", thousands(t)), point.per_second),
                (Metric::P99, Bound::AtLeast(t)) => (format!("p99 ≥ {t} ms"), point.p99_ms),
                (Metric::P99, Bound::AtMost(t)) => (format!("p99 ≤ {t} ms"), point.p99_ms),
            };
            format!("{label}: {}", verdict(value, bound))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `X MB (< 100 MB: met)`.
fn rss_figure(kib: u64) -> String {
    let mb = megabytes(kib);
    format!("{mb:.1} MB (target < {RSS_TARGET_MB:.0} MB: {})", verdict(mb, Bound::AtMost(RSS_TARGET_MB)))
}

/// One backend's table and memory figures.
fn backend_table(run: &Run) -> String {
    let mut out = format!("**{}** ({})\n\n", run.backend.name(), run.database);
    out.push_str("| endpoint | connections | requests/s | p50 ms | p99 ms | errors | peak RSS MB | target |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---|\n");
    for point in &run.points {
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.2} | {} | {:.1} | {} |\n",
            point.endpoint.label(),
            point.connections,
            thousands(point.per_second),
            point.p50_ms,
            point.p99_ms,
            point.errors,
            megabytes(point.rss_kib),
            target_cell(run.backend, point),
        ));
    }
    out.push('\n');
    let mut memory = Vec::new();
    if let Some(point) = run.point(Endpoint::ClientCredentials, BUSIEST) {
        memory.push(format!(
            "peak RSS during the {BUSIEST}-connection `client_credentials` run {}",
            rss_figure(point.rss_kib)
        ));
    }
    let mut whole = format!("over the whole run {}", rss_figure(run.rss_run_kib));
    if let Some(point) = run.points.iter().max_by_key(|p| p.rss_kib) {
        whole.push_str(&format!(", highest during {} at {} connections", point.endpoint.label(), point.connections));
    }
    if let Some(hwm) = run.rss_hwm_kib {
        whole.push_str(&format!(" (the kernel's high-water mark `VmHWM`: {:.1} MB)", megabytes(hwm)));
    }
    memory.push(whole);
    out.push_str(&format!("Server memory: {}", memory.join("; ")));
    out.push_str(".\n\n");
    out
}

/// The `server` section of `BENCHMARKS.md`.
pub(crate) fn server_section(context: &Context, runs: &[Run]) -> String {
    let threads = context.threads_in_words();
    let mut out = String::from("## Token server: throughput, latency and memory\n\n");
    out.push_str(&format!(
        "Machine: {machine}. Commit: `{commit}`. Command: `{command}` (release build of `portcullis serve` \
         with its default configuration, over loopback; the load comes from the xtask's own HTTP/1.1 client on \
         the same machine, {threads}, one keep-alive connection per task sending requests back to back, \
         {seconds} s per point after a 1 s warm-up). Latencies are the client's, in ms. Peak RSS is the \
         server's `VmRSS` sampled every 100 ms, in MB (10^6 bytes). Any non-2xx answer, introspection \
         answer without `\"active\":true` or transport error fails the bench. Introspection asks about the \
         same token every time (its signature verified once, then remembered; its record is read every \
         time), or about each of 16,384 tokens in turn, more than the server remembers, so that every \
         signature is checked. A `password` token checks an Argon2id hash (m = 19 MiB, t = 2) each time, by design \
         far slower.\n\n",
        machine = context.machine,
        commit = context.commit,
        command = context.command,
        seconds = context.seconds,
    ));
    out.push_str(&format!("![client_credentials tokens/s and p99 against connections]({CHART_PATH})\n\n"));
    for run in runs {
        out.push_str(&backend_table(run));
    }
    out
}

/// `text` with the section `name` replaced by `body` (appended when absent).
pub(crate) fn replace_section(text: &str, name: &str, body: &str) -> String {
    let (begin, end) = (format!("<!-- {name}:begin -->"), format!("<!-- {name}:end -->"));
    let section = format!("{begin}\n{body}{end}");
    match text.find(&begin).and_then(|b| text[b..].find(&end).map(|e| (b, b + e))) {
        Some((b, e)) => format!("{}{section}{}", &text[..b], &text[e + end.len()..]),
        None => format!("{}\n\n{section}\n", text.trim_end()),
    }
}

/// Replaces the section `name` of `BENCHMARKS.md` (appending it when absent).
pub(crate) fn write_section(name: &str, body: &str) -> anyhow::Result<()> {
    let path = root().join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    std::fs::write(&path, replace_section(&text, name, body)).with_context(|| format!("writing {}", path.display()))
}

/// Core count and CPU model.
pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{cores} cores, {cpu}")
}

/// The short hash of `HEAD`, marked `-dirty` when tracked files other than the bench's own output
/// differ from it.
pub(crate) fn commit() -> String {
    let git = |args: &[&str]| Command::new("git").args(args).current_dir(root()).output().ok();
    let hash = git(&["rev-parse", "--short", "HEAD"])
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".into(), |s| s.trim().to_owned());
    // The files the bench itself writes do not count: the verifier's section is written before
    // the server's is made.
    let dirty = git(&["diff", "--quiet", "HEAD", "--", ".", ":!BENCHMARKS.md", ":!docs/bench-tokens.svg"])
        .is_some_and(|o| o.status.code() == Some(1));
    if dirty { format!("{hash}-dirty") } else { hash }
}

#[cfg(test)]
mod tests {
    use super::{Bound, Context, replace_section, server_section, thousands, verdict};
    use crate::bench::suite::{Backend, Endpoint, Point, Run};

    #[test]
    fn verdicts() {
        assert_eq!(verdict(20_000.0, Bound::AtLeast(20_000.0)), "met");
        assert_eq!(verdict(25_000.0, Bound::AtLeast(20_000.0)), "met");
        assert_eq!(verdict(9_700.0, Bound::AtLeast(20_000.0)), "missed by 51.5 %");
        assert_eq!(verdict(19_999.0, Bound::AtLeast(20_000.0)), "missed by < 0.1 %");
        assert_eq!(verdict(4.2, Bound::AtMost(5.0)), "met");
        assert_eq!(verdict(5.0, Bound::AtMost(5.0)), "met");
        assert_eq!(verdict(7.5, Bound::AtMost(5.0)), "missed by 50.0 %");
        assert_eq!(verdict(310.0, Bound::AtMost(100.0)), "missed by 210.0 %");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1_812.6), "1,813");
        assert_eq!(thousands(20_000.0), "20,000");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(thousands(-1_500.0), "-1,500");
    }

    #[test]
    fn sections_are_replaced_in_place_or_appended() {
        let text = "# Benchmarks\n\nprose\n<!-- a:begin -->\nold\n<!-- a:end -->\nmore prose\n";
        assert_eq!(
            replace_section(text, "a", "new\n"),
            "# Benchmarks\n\nprose\n<!-- a:begin -->\nnew\n<!-- a:end -->\nmore prose\n"
        );
        let appended = replace_section(text, "b", "fresh\n");
        assert!(appended.starts_with(text.trim_end()), "{appended}");
        assert!(appended.ends_with("more prose\n\n<!-- b:begin -->\nfresh\n<!-- b:end -->\n"), "{appended}");
        // Replacing twice changes nothing more.
        assert_eq!(replace_section(&appended, "b", "fresh\n"), appended);
        // A stray end marker before the begin marker does not swallow the text between them.
        let odd = "<!-- c:end -->\nkeep\n<!-- c:begin -->\nold\n<!-- c:end -->\n";
        assert_eq!(replace_section(odd, "c", "new\n"), "<!-- c:end -->\nkeep\n<!-- c:begin -->\nnew\n<!-- c:end -->\n");
    }

    fn point(endpoint: Endpoint, connections: usize, per_second: f64, p99_ms: f64, rss_kib: u64) -> Point {
        Point { endpoint, connections, per_second, p50_ms: p99_ms / 2.0, p99_ms, errors: 0, rss_kib }
    }

    #[test]
    fn the_section_puts_targets_next_to_figures() {
        let run = Run {
            backend: Backend::Sqlite,
            database: "a fresh SQLite file".into(),
            points: vec![
                point(Endpoint::ClientCredentials, 1, 1_800.0, 0.8, 30_000),
                point(Endpoint::ClientCredentials, 16, 9_700.0, 3.1, 40_000),
                point(Endpoint::ClientCredentials, 64, 13_400.0, 9.0, 50_000),
                point(Endpoint::Introspection, 16, 21_000.0, 1.5, 45_000),
                point(Endpoint::Password, 16, 60.0, 400.0, 300_000),
            ],
            rss_run_kib: 300_000,
            rss_hwm_kib: Some(310_000),
        };
        let context = Context {
            machine: "2 cores, test CPU".into(),
            commit: "abc1234".into(),
            command: "cargo xtask bench".into(),
            seconds: 8,
            threads: 1,
        };
        let section = server_section(&context, &[run]);
        assert!(section.contains("Machine: 2 cores, test CPU. Commit: `abc1234`. Command: `cargo xtask bench`"));
        assert!(section.contains("![client_credentials tokens/s and p99 against connections](docs/bench-tokens.svg)"));
        assert!(
            section.contains(
                "| `client_credentials` token | 16 | 9,700 | 1.55 | 3.10 | 0 | 41.0 | ≥ 20,000/s: missed by 51.5 %; \
             p99 ≤ 5 ms: met |"
            ),
            "{section}"
        );
        assert!(
            section.contains("| `client_credentials` token | 1 | 1,800 | 0.40 | 0.80 | 0 | 30.7 |  |"),
            "{section}"
        );
        assert!(
            section.contains(
                "| introspection (the same token) | 16 | 21,000 | 0.75 | 1.50 | 0 | 46.1 | ≥ 20,000/s: met |"
            ),
            "{section}"
        );
        assert!(section.contains("64-connection `client_credentials` run 51.2 MB (target < 100 MB: met)"), "{section}");
        assert!(section.contains(
            "over the whole run 307.2 MB (target < 100 MB: missed by 207.2 %), highest during `password` token at 16"
        ), "{section}");
        assert!(section.contains("`VmHWM`: 317.4 MB"), "{section}");
    }
}
