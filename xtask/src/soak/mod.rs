//! `cargo xtask soak`: a mixed workload against one release `portcullis serve` for a long time,
//! to see whether memory grows or latency drifts, with the figures in `BENCHMARKS.md`.
//!
//! It reuses the bench's machinery ([`crate::bench`]): the copied release binary and its server
//! on a fresh SQLite file or, with `--postgres`, on the bench's throwaway PostgreSQL cluster; the
//! in-process HTTP/1.1 client's runtime and connections; the RSS sampler; the report helpers.
//!
//! * [`setup`]: the server, and the clients and user the workload acts as.
//! * [`mix`]: the operations and the cycle each connection repeats.
//! * [`workload`]: one connection's worker: the requests, their state and their checks.
//! * [`record`]: the shared tallies, cut every interval.
//! * [`run`]: the workers for the whole duration, an interval's figures at every cut.
//! * [`trend`]: RSS slope and p99 drift.
//! * [`report`]: the run's section of `BENCHMARKS.md`, one per length and database
//!   ([`Options::section_name`]: `soak-10min`, `soak-25min`, `soak-10min-postgres`, …).
//!
//! Every answer must be `200 OK` (GraphQL without `errors`); anything else, or a transport
//! error, is counted against its operation, and any error makes the task fail, after the section
//! has been written (a completed run is always reported). `--no-write` leaves `BENCHMARKS.md`
//! alone (for trial runs).

mod mix;
mod record;
mod report;
mod run;
mod setup;
mod trend;
mod workload;

use anyhow::{Context as _, bail};

use crate::bench::{self, load, postgres, server};
use crate::cargo;

/// Default duration: 10 minutes.
const DEFAULT_SECONDS: u64 = 600;
/// Default connections (workers).
const DEFAULT_CONNECTIONS: usize = 8;
/// Default interval between cuts, s.
const DEFAULT_INTERVAL: u64 = 30;

/// The soak's flags, for error messages and `cargo xtask` usage.
pub(crate) const USAGE: &str =
    "soak [--minutes N | --seconds N] [--connections N] [--interval-seconds N] [--postgres] [--no-write]";

/// What `cargo xtask soak` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// How long the workload runs, s.
    pub(crate) seconds: u64,
    /// Concurrent workers.
    pub(crate) connections: usize,
    /// Seconds between interval cuts.
    pub(crate) interval: u64,
    /// Postgres instead of SQLite.
    pub(crate) postgres: bool,
    /// Write the section into `BENCHMARKS.md`.
    pub(crate) write: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seconds: DEFAULT_SECONDS,
            connections: DEFAULT_CONNECTIONS,
            interval: DEFAULT_INTERVAL,
            postgres: false,
            write: true,
        }
    }
}

impl Options {
    /// Parses the arguments after `soak`.
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Self::default();
        let mut duration_given = false;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |flag: &str| crate::args::positive(flag, &mut args);
            match arg.as_str() {
                "--minutes" | "--seconds" if duration_given => bail!("give either --minutes or --seconds, once"),
                "--minutes" => {
                    options.seconds = number("--minutes")?.checked_mul(60).context("--minutes: too many")?;
                    duration_given = true;
                }
                "--seconds" => {
                    options.seconds = number("--seconds")?;
                    duration_given = true;
                }
                "--connections" => options.connections = usize::try_from(number("--connections")?)?,
                "--interval-seconds" => options.interval = number("--interval-seconds")?,
                "--postgres" => options.postgres = true,
                "--no-write" => options.write = false,
                other => bail!("unknown soak flag {other}; {USAGE}"),
            }
        }
        Ok(options)
    }

    /// The run's length in words: `10 minutes`, `90 s`.
    pub(crate) fn duration(&self) -> String {
        match self.seconds {
            60 => "1 minute".to_owned(),
            s if s.is_multiple_of(60) => format!("{} minutes", s / 60),
            s => format!("{s} s"),
        }
    }

    /// The section of `BENCHMARKS.md` this run writes: one per length and database
    /// (`soak-10min`, `soak-25min-postgres`, `soak-90s`), so that a run replaces only the
    /// previous run of its own kind.
    pub(crate) fn section_name(&self) -> String {
        let length = if self.seconds.is_multiple_of(60) {
            format!("{}min", self.seconds / 60)
        } else {
            format!("{}s", self.seconds)
        };
        let database = if self.postgres { "-postgres" } else { "" };
        format!("soak-{length}{database}")
    }

    /// The command line that reproduces this run, for the report (`--no-write` aside).
    pub(crate) fn command(&self) -> String {
        let mut command = String::from("cargo xtask soak");
        if self.seconds != DEFAULT_SECONDS {
            if self.seconds.is_multiple_of(60) {
                command.push_str(&format!(" --minutes {}", self.seconds / 60));
            } else {
                command.push_str(&format!(" --seconds {}", self.seconds));
            }
        }
        if self.connections != DEFAULT_CONNECTIONS {
            command.push_str(&format!(" --connections {}", self.connections));
        }
        if self.interval != DEFAULT_INTERVAL {
            command.push_str(&format!(" --interval-seconds {}", self.interval));
        }
        if self.postgres {
            command.push_str(" --postgres");
        }
        command
    }
}

/// Runs the soak, writes its section of `BENCHMARKS.md` and fails if any request failed.
pub(crate) fn soak(args: &[String]) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    if options.postgres {
        // Fail before building anything rather than after.
        postgres::binaries()?;
    }
    cargo(&["build", "--release", "--locked", "-p", "portcullis"])?;
    let binary = server::Binary::copy_release()?;
    let runtime = load::runtime(bench::DEFAULT_THREADS)?;
    let mut target = setup::Target::start(&binary, options.postgres)?;
    let accounts = setup::Accounts::provision(&target.server)?;
    let soak = run::run(&runtime, &mut target.server, accounts, &options)?;
    let section = report::section(
        &report::Context {
            machine: bench::report::machine(),
            commit: bench::report::commit(),
            command: options.command(),
            title: format!("{} on {}", options.duration(), if options.postgres { "Postgres" } else { "SQLite" }),
            database: target.database.clone(),
            connections: options.connections,
            interval: options.interval,
        },
        &soak,
    );
    drop(target);
    eprint!("{section}");
    if options.write {
        let name = options.section_name();
        bench::report::write_section(&name, &section)?;
        eprintln!("wrote the {name} section of BENCHMARKS.md");
    } else {
        eprintln!("--no-write: BENCHMARKS.md left alone");
    }
    if soak.overall.errors > 0 {
        bail!("{} request(s) failed during the soak; the first: {}", soak.overall.errors, soak.errors.join("; "));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::Options;

    fn parse(args: &[&str]) -> anyhow::Result<Options> {
        Options::parse(&crate::args::owned(args))
    }

    #[test]
    fn defaults_and_flags() {
        let defaults = parse(&[]).unwrap();
        assert_eq!(defaults, Options::default());
        assert_eq!((defaults.seconds, defaults.connections, defaults.interval), (600, 8, 30));
        assert_eq!(defaults.command(), "cargo xtask soak");
        let options = parse(&["--seconds", "60", "--interval-seconds", "10", "--no-write"]).unwrap();
        assert_eq!(options, Options { seconds: 60, interval: 10, write: false, ..Options::default() });
        assert_eq!(options.command(), "cargo xtask soak --minutes 1 --interval-seconds 10");
        let options = parse(&["--minutes", "30", "--connections", "4", "--postgres"]).unwrap();
        assert_eq!(options.seconds, 1800);
        assert_eq!(options.command(), "cargo xtask soak --minutes 30 --connections 4 --postgres");
        assert_eq!(parse(&["--seconds", "90"]).unwrap().command(), "cargo xtask soak --seconds 90");
    }

    #[test]
    fn each_length_and_database_has_a_section_of_its_own() {
        let named = |args: &[&str]| {
            let options = parse(args).unwrap();
            (options.section_name(), options.duration())
        };
        assert_eq!(named(&[]), ("soak-10min".to_owned(), "10 minutes".to_owned()));
        assert_eq!(named(&["--minutes", "25"]), ("soak-25min".to_owned(), "25 minutes".to_owned()));
        assert_eq!(named(&["--postgres"]), ("soak-10min-postgres".to_owned(), "10 minutes".to_owned()));
        assert_eq!(named(&["--seconds", "90"]), ("soak-90s".to_owned(), "90 s".to_owned()));
        assert_eq!(named(&["--seconds", "60"]), ("soak-1min".to_owned(), "1 minute".to_owned()));
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(parse(&["--seconds"]).is_err());
        assert!(parse(&["--seconds", "0"]).is_err());
        assert!(parse(&["--minutes", "1", "--seconds", "5"]).is_err());
        assert!(parse(&["--connections", "x"]).is_err());
        assert!(parse(&["--fast"]).is_err());
    }
}
