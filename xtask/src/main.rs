//! `cargo xtask <task>`: project automation that needs more than one cargo command.
//!
//! * `ci`: formatting check, the compose checks, clippy with `-D warnings`, the whole test suite,
//!   and a short run of every fuzz target, as CI runs them.
//! * `schema`: writes the management API's SDL to `schema.graphql` (a test fails when it is stale).
//! * `compose-check`: validates `docker-compose.yml`, `.env.example` and the `Dockerfile` without
//!   a Docker engine (`.ci/compose-check.sh`).
//! * `pg start|stop [DIR] [PORT]`: a throwaway local PostgreSQL for the tests (`.ci/start-postgres.sh`,
//!   `.ci/stop-postgres.sh`); `start` prints the `PORTCULLIS_TEST_POSTGRES_URL` to export.
//! * `bench [--seconds N] [--threads N] [--sqlite-only] [--no-verifier]`: release builds against a
//!   real server on SQLite and on a throwaway Postgres: the verifier's rate per core, then the token
//!   server's throughput, latency and memory under an in-process load generator; figures into
//!   `BENCHMARKS.md` and `docs/bench-tokens.svg` (see `bench/mod.rs`).
//! * `peer [--seconds N] [--no-write]`: the bench's load generator against Portcullis (SQLite) and
//!   node-oidc-provider (installed with npm from `xtask/peer/`) on the same machine, point by point;
//!   the side-by-side table into `BENCHMARKS.md` (see `peer/mod.rs`).
//! * `soak [--minutes N | --seconds N] [--connections N] [--interval-seconds N] [--postgres]
//!   [--no-write]`: a mixed workload (`client_credentials`, `password`, rotating `refresh_token`,
//!   introspection, revocation, admin GraphQL reads) against one release server for a long time
//!   (default 10 minutes, SQLite); per interval the rates, latencies and the server's RSS, then
//!   the RSS slope and p99 drift, into `BENCHMARKS.md`; fails on any error (see `soak/mod.rs`).
//! * `fuzz [--seconds N] [--quick] [TARGET…]`: builds the `cargo fuzz` targets of `fuzz/` on the
//!   stable compiler and runs each for a fixed time; CI runs `--quick --seconds 10` (see `fuzz.rs`).
#![allow(clippy::print_stderr, reason = "xtask reports progress on stderr")]

mod args;
mod bench;
mod fuzz;
mod peer;
mod soak;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "ci" => ci(),
        "schema" => schema(),
        "compose-check" => compose_check(),
        "pg" => pg(&std::env::args().skip(2).collect::<Vec<_>>()),
        "bench" => bench::bench(&std::env::args().skip(2).collect::<Vec<_>>()),
        "peer" => peer::peer(&std::env::args().skip(2).collect::<Vec<_>>()),
        "soak" => soak::soak(&std::env::args().skip(2).collect::<Vec<_>>()),
        "fuzz" => fuzz::fuzz(&std::env::args().skip(2).collect::<Vec<_>>()),
        _ => bail!(
            "usage: cargo xtask ci | schema | compose-check | pg start|stop [DIR] [PORT] | {} | {} | {} | {}",
            bench::USAGE,
            peer::USAGE,
            soak::USAGE,
            fuzz::USAGE
        ),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(env!("CARGO")).args(args).current_dir(root()).status().context("running cargo")?;
    if !status.success() {
        bail!("cargo {} failed with {status}", args.join(" "));
    }
    Ok(())
}

/// The committed SDL of the management API.
const SCHEMA_FILE: &str = "schema.graphql";

fn schema() -> anyhow::Result<()> {
    let path = root().join(SCHEMA_FILE);
    std::fs::write(&path, portcullis_admin::schema::sdl()).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Where `cargo xtask pg` keeps its cluster unless told otherwise.
const PG_DIR: &str = "/tmp/portcullis-pg";
const PG_PORT: &str = "55432";

fn pg(args: &[String]) -> anyhow::Result<()> {
    let dir = args.get(1).map_or(PG_DIR, String::as_str);
    match args.first().map(String::as_str) {
        Some("start") => {
            let url = start_postgres(Path::new(dir), args.get(2).map_or(PG_PORT, String::as_str))?;
            eprintln!("PostgreSQL runs in {dir}; to run the tests on it as well:");
            eprintln!("export PORTCULLIS_TEST_POSTGRES_URL={url}");
            Ok(())
        }
        Some("stop") => stop_postgres(Path::new(dir)),
        _ => bail!("usage: cargo xtask pg start [DIR] [PORT] | cargo xtask pg stop [DIR]"),
    }
}

/// Starts a throwaway cluster in `dir` on `port` (`.ci/start-postgres.sh`); returns its URL.
pub(crate) fn start_postgres(dir: &Path, port: &str) -> anyhow::Result<String> {
    let output = Command::new(root().join(".ci/start-postgres.sh"))
        .arg(dir)
        .arg(port)
        .current_dir(root())
        .output()
        .context("running .ci/start-postgres.sh")?;
    if !output.status.success() {
        bail!("starting PostgreSQL failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Stops the cluster in `dir` and removes it (`.ci/stop-postgres.sh`).
pub(crate) fn stop_postgres(dir: &Path) -> anyhow::Result<()> {
    let status = Command::new(root().join(".ci/stop-postgres.sh"))
        .arg(dir)
        .current_dir(root())
        .status()
        .context("running .ci/stop-postgres.sh")?;
    if !status.success() {
        bail!("stopping PostgreSQL failed with {status}");
    }
    Ok(())
}

fn compose_check() -> anyhow::Result<()> {
    eprintln!("$ sh .ci/compose-check.sh");
    let status = Command::new("sh").arg(".ci/compose-check.sh").current_dir(root()).status().context("running sh")?;
    if !status.success() {
        bail!("compose-check failed with {status}");
    }
    Ok(())
}

fn ci() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--check"])?;
    compose_check()?;
    cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])?;
    cargo(&["test", "--workspace", "--locked"])?;
    fuzz::fuzz(&["--quick".into(), "--seconds".into(), "10".into()])
}

#[cfg(test)]
mod tests {
    use super::root;

    /// ARCHITECTURE.md has a section for every crate and app, so the map stays true.
    #[test]
    fn architecture_doc_names_every_crate() {
        let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
        let mut missing = Vec::new();
        for dir in ["crates", "apps"] {
            for entry in std::fs::read_dir(root().join(dir)).expect("folder").flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !doc.contains(&format!("### `{dir}/{name}`")) {
                    missing.push(format!("{dir}/{name}"));
                }
            }
        }
        for other in ["migrations", "xtask"] {
            if !doc.contains(&format!("### `{other}`")) {
                missing.push(other.to_owned());
            }
        }
        assert!(missing.is_empty(), "ARCHITECTURE.md lacks a `### `path`` section for: {missing:?}");
    }
}
