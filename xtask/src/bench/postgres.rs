//! A throwaway PostgreSQL cluster for the bench: started with `.ci/start-postgres.sh` in a
//! temporary directory on a free port, with a fresh database; stopped and removed (through
//! `.ci/stop-postgres.sh`) when the guard is dropped, also when the bench fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::server::free_port;
use crate::{root, start_postgres, stop_postgres};

/// Where Debian's PostgreSQL packages put their binaries, one directory per major version.
const PG_LIB: &str = "/usr/lib/postgresql";

/// The database the bench's server uses.
const DATABASE: &str = "portcullis_bench";

/// The major version and binary directory of the newest installed PostgreSQL (as
/// `.ci/start-postgres.sh` picks it). When there is none, `.ci/install-postgres.sh` installs the
/// distribution's (as root on Debian or Ubuntu); failing that, a clear error.
pub(crate) fn binaries() -> anyhow::Result<(u32, PathBuf)> {
    if let Some(found) = newest_in(Path::new(PG_LIB)) {
        return Ok(found);
    }
    // As root on Debian or Ubuntu, `.ci/install-postgres.sh` installs them, as CI does; elsewhere
    // it says on stderr what is missing.
    drop(Command::new(root().join(".ci/install-postgres.sh")).current_dir(root()).status());
    match newest_in(Path::new(PG_LIB)) {
        Some(found) => Ok(found),
        None => bail!(
            "the Postgres run needs PostgreSQL's server binaries under {PG_LIB}/*/bin (Debian: apt-get install \
             postgresql); install them, or pass --sqlite-only to measure SQLite alone"
        ),
    }
}

/// The highest `MAJOR/bin` under `lib` that holds a `pg_ctl`.
fn newest_in(lib: &Path) -> Option<(u32, PathBuf)> {
    std::fs::read_dir(lib)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major)
}

/// A running cluster with a fresh database; stopped and deleted when dropped.
#[derive(Debug)]
pub(crate) struct Cluster {
    dir: PathBuf,
    url: String,
    major: u32,
}

impl Cluster {
    /// Starts a cluster and creates the bench's database in it.
    pub(crate) fn start() -> anyhow::Result<Self> {
        let (major, bin) = binaries()?;
        let port = free_port()?.to_string();
        let dir = std::env::temp_dir().join(format!("portcullis-bench-pg-{}", std::process::id()));
        // The guard exists before the cluster does, so a failure half-way still cleans up.
        let mut cluster = Self { dir, url: String::new(), major };
        eprintln!("$ .ci/start-postgres.sh {} {port}", cluster.dir.display());
        let admin_url = start_postgres(&cluster.dir, &port)?;
        let output = Command::new(bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", port.as_str(), "-U", "postgres", DATABASE])
            .output()
            .context("running createdb")?;
        if !output.status.success() {
            bail!("createdb {DATABASE} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        cluster.url = database_url(&admin_url, DATABASE)?;
        Ok(cluster)
    }

    /// The URL of the fresh database.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// PostgreSQL's major version.
    pub(crate) fn major(&self) -> u32 {
        self.major
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(e) = stop_postgres(&self.dir) {
            eprintln!("warning: {e:#}; stop the cluster in {} by hand", self.dir.display());
        }
        drop(std::fs::remove_dir_all(&self.dir));
    }
}

/// `url` (ending in `/DATABASE`) with its database replaced by `database`.
fn database_url(url: &str, database: &str) -> anyhow::Result<String> {
    let (server, _) = url
        .rsplit_once('/')
        .filter(|(server, _)| server.contains("://"))
        .with_context(|| format!(".ci/start-postgres.sh printed {url:?}, not a postgres:// URL"))?;
    Ok(format!("{server}/{database}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::{database_url, newest_in};

    #[test]
    fn the_newest_installed_version_is_found() {
        let lib = std::env::temp_dir().join(format!("portcullis-bench-test-pg-{}", std::process::id()));
        drop(std::fs::remove_dir_all(&lib));
        assert_eq!(newest_in(&lib), None, "no directory");
        for (version, with_pg_ctl) in [("9", true), ("15", true), ("16", false), ("latest", true)] {
            let bin = lib.join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            if with_pg_ctl {
                std::fs::write(bin.join("pg_ctl"), "").unwrap();
            }
        }
        assert_eq!(newest_in(&lib), Some((15, lib.join("15/bin"))));
        std::fs::remove_dir_all(&lib).unwrap();
    }

    #[test]
    fn the_database_is_replaced() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "bench").unwrap(),
            "postgres://postgres@127.0.0.1:5432/bench"
        );
        assert!(database_url("nothing", "bench").is_err());
        assert!(database_url("", "bench").is_err());
    }
}
