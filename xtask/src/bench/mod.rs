//! `cargo xtask bench`: release builds, a real `portcullis serve` over loopback, and the figures
//! written to `BENCHMARKS.md`.
//!
//! Two parts, each owning a section of `BENCHMARKS.md` between `<!-- NAME:begin -->` and
//! `<!-- NAME:end -->` markers, rewritten on every run (the rest of the file is left alone):
//!
//! * `verifier` (issue 6, [`verifier`]): verifications per second on one core, next to a bare
//!   `jsonwebtoken::decode` of the same token and the crypto backend's raw signature check
//!   (`crates/verifier/examples/verify_bench.rs`).
//! * `server` (issue 8, [`suite`]): the token server on SQLite (a fresh file) and on Postgres (a
//!   throwaway cluster from `.ci/start-postgres.sh`, removed at the end even on error), each
//!   with a brand `bench`, a `client_credentials` client, a `password` client and a user.
//!   Measured for a fixed time per point after a 1 s warm-up: `client_credentials` tokens at 1,
//!   16 and 64 connections; introspection, JWKS, discovery and `password` tokens at 16; requests
//!   per second, p50 and p99 latency, and the server's resident memory (`VmRSS`, sampled every
//!   100 ms). Any non-2xx answer or transport error fails the bench. Besides the section it
//!   draws `docs/bench-tokens.svg` ([`chart`]).
//!
//! The load comes from [`load`], an HTTP/1.1 client inside this process: one task per keep-alive
//! connection, requests built once, latencies in an HDR histogram, on a tokio runtime of
//! [`DEFAULT_THREADS`] worker thread(s) so that the server keeps the rest of the machine; each
//! point's line on stderr also shows how many cores the generator itself used. Every server of a
//! run, and every CLI call, runs one copy of the release binary taken after the build
//! ([`server::Binary`]), so a concurrent rebuild cannot change the binary under test half-way.
//!
//! Flags: `--seconds N` (per point, default 8), `--threads N` (load generator threads),
//! `--sqlite-only` (skip Postgres), `--no-verifier` (skip the verifier part).

mod chart;
pub(crate) mod load;
pub(crate) mod postgres;
pub(crate) mod report;
pub(crate) mod rss;
pub(crate) mod server;
mod suite;
mod verifier;

use anyhow::bail;
pub(crate) use suite::WARMUP;

use crate::cargo;

/// Worker threads of the load generator's runtime. Measured on the 2-core bench machine
/// (`client_credentials` on SQLite at 16 connections, four alternating 3 s rounds, the machine
/// shared with other work): one thread gave 7,839 / 6,130 / 5,920 / 8,351 tokens/s, two threads
/// 7,835 / 5,801 / 5,866 / 7,826. One is as fast or slightly faster, and it is far from saturated
/// (about 0.25 of a core at 16 connections, 0.35 at 64), so a second thread buys nothing and
/// only competes with the server for the two cores. `--threads N` overrides it.
pub(crate) const DEFAULT_THREADS: usize = 1;

/// Default measured seconds per point (after the warm-up).
const DEFAULT_SECONDS: u64 = 8;

/// What `cargo xtask bench` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// Measured seconds per point, after the warm-up.
    pub(crate) seconds: u64,
    /// Worker threads of the load generator.
    pub(crate) threads: usize,
    /// Skip the Postgres backend.
    pub(crate) sqlite_only: bool,
    /// Skip the verifier part.
    pub(crate) no_verifier: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { seconds: DEFAULT_SECONDS, threads: DEFAULT_THREADS, sqlite_only: false, no_verifier: false }
    }
}

impl Options {
    /// Parses the arguments after `bench`.
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |flag: &str| crate::args::positive(flag, &mut args);
            match arg.as_str() {
                "--seconds" => options.seconds = number("--seconds")?,
                "--threads" => options.threads = usize::try_from(number("--threads")?)?,
                "--sqlite-only" => options.sqlite_only = true,
                "--no-verifier" => options.no_verifier = true,
                other => bail!("unknown bench flag {other}; {USAGE}"),
            }
        }
        Ok(options)
    }

    /// The command line that reproduces this run, for the report.
    pub(crate) fn command(&self) -> String {
        let mut command = String::from("cargo xtask bench");
        if self.seconds != DEFAULT_SECONDS {
            command.push_str(&format!(" --seconds {}", self.seconds));
        }
        if self.threads != DEFAULT_THREADS {
            command.push_str(&format!(" --threads {}", self.threads));
        }
        if self.sqlite_only {
            command.push_str(" --sqlite-only");
        }
        command
    }
}

/// The bench's flags, for error messages and `cargo xtask` usage.
pub(crate) const USAGE: &str = "bench [--seconds N] [--threads N] [--sqlite-only] [--no-verifier]";

/// Runs the benchmarks and rewrites their sections of `BENCHMARKS.md`.
pub(crate) fn bench(args: &[String]) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    let mut backends = vec![suite::Backend::Sqlite];
    if !options.sqlite_only {
        // Fail before building and measuring anything rather than half-way.
        postgres::binaries()?;
        backends.push(suite::Backend::Postgres);
    }
    cargo(&["build", "--release", "--locked", "-p", "portcullis"])?;
    let binary = server::Binary::copy_release()?;
    if !options.no_verifier {
        cargo(&[
            "build",
            "--release",
            "--locked",
            "-p",
            "portcullis-verifier",
            "--features",
            "client",
            "--example",
            "verify_bench",
        ])?;
        verifier::run(&binary)?;
    }
    let runtime = load::runtime(options.threads)?;
    let mut runs = Vec::new();
    for backend in backends {
        runs.push(suite::run(&binary, backend, &options, &runtime)?);
    }
    let chart = chart::draw(&runs)?;
    let section = report::server_section(
        &report::Context {
            machine: report::machine(),
            commit: report::commit(),
            command: options.command(),
            seconds: options.seconds,
            threads: options.threads,
        },
        &runs,
    );
    eprint!("{section}");
    report::write_section("server", &section)?;
    eprintln!("wrote BENCHMARKS.md and {}", chart.display());
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::{DEFAULT_SECONDS, DEFAULT_THREADS, Options};

    fn parse(args: &[&str]) -> anyhow::Result<Options> {
        Options::parse(&crate::args::owned(args))
    }

    #[test]
    fn defaults_and_flags() {
        let defaults = parse(&[]).unwrap();
        assert_eq!(defaults, Options::default());
        assert_eq!((defaults.seconds, defaults.threads), (DEFAULT_SECONDS, DEFAULT_THREADS));
        assert_eq!(defaults.command(), "cargo xtask bench");
        let options = parse(&["--seconds", "3", "--sqlite-only", "--threads", "2", "--no-verifier"]).unwrap();
        assert_eq!(options, Options { seconds: 3, threads: 2, sqlite_only: true, no_verifier: true });
        assert_eq!(options.command(), "cargo xtask bench --seconds 3 --threads 2 --sqlite-only");
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(parse(&["--seconds"]).is_err());
        assert!(parse(&["--seconds", "0"]).is_err());
        assert!(parse(&["--seconds", "2.5"]).is_err());
        assert!(parse(&["--fast"]).is_err());
    }
}
