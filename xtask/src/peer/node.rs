//! The peer: node-oidc-provider, installed with `npm ci` from the lock file in `xtask/peer/` into
//! `target/peer/`, and run as `node server.mjs` with one or more processes.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::bench::server::{Credentials, LogTail, START_TIMEOUT, announced, free_port};
use crate::root;

/// The files of `xtask/peer/` the installation is made of.
const FILES: [&str; 3] = ["package.json", "package-lock.json", "server.mjs"];

/// The first line of `program --version`.
fn version_of(program: &str) -> anyhow::Result<String> {
    let output = Command::new(program)
        .arg("--version")
        .output()
        .with_context(|| format!("running {program} --version: the peer needs Node.js 20 or later and npm"))?;
    if !output.status.success() {
        bail!("{program} --version failed with {}", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or_default().trim().to_owned())
}

/// The installed peer: its directory and what it runs on.
#[derive(Debug)]
pub(crate) struct Install {
    dir: PathBuf,
    /// The version of `oidc-provider` that `npm ci` installed.
    pub(crate) version: String,
    /// `node --version`.
    pub(crate) node: String,
}

impl Install {
    /// Copies `xtask/peer/` to `target/peer/` and runs `npm ci` there (the lock file pins every
    /// package and its hash).
    pub(crate) fn prepare() -> anyhow::Result<Self> {
        let node = version_of("node")?;
        version_of("npm")?;
        let dir = root().join("target/peer");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for file in FILES {
            let from = root().join("xtask/peer").join(file);
            std::fs::copy(&from, dir.join(file)).with_context(|| format!("copying {}", from.display()))?;
        }
        eprintln!("$ npm ci (in {})", dir.display());
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .context("running npm ci")?;
        if !status.success() {
            bail!("npm ci in {} failed with {status}", dir.display());
        }
        let manifest = dir.join("node_modules/oidc-provider/package.json");
        let manifest: Value = serde_json::from_slice(
            &std::fs::read(&manifest).with_context(|| format!("reading {}", manifest.display()))?,
        )
        .context("oidc-provider's package.json is not JSON")?;
        let version = manifest["version"].as_str().context("oidc-provider's package.json has no version")?.to_owned();
        Ok(Self { dir, version, node })
    }
}

/// A running peer on a loopback port; it and its worker processes are killed when dropped.
#[derive(Debug)]
pub(crate) struct Peer {
    child: Child,
    port: u16,
    log: LogTail,
}

impl Drop for Peer {
    fn drop(&mut self) {
        // The peer leads a process group of its own, workers included.
        drop(Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status());
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

impl Peer {
    /// Starts `workers` processes serving one client, `client`, and waits until they listen.
    pub(crate) fn start(install: &Install, workers: usize, client: &Credentials) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(&install.dir)
            .env("NODE_ENV", "production")
            .env("PEER_PORT", port.to_string())
            .env("PEER_WORKERS", workers.to_string())
            .env("PEER_CLIENT_ID", &client.id)
            .env("PEER_CLIENT_SECRET", &client.secret)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting node server.mjs")?;
        let log = LogTail::keep(child.stderr.take());
        let stdout = child.stdout.take();
        let peer = Self { child, port, log };
        if !announced(stdout, 1, |line| line.starts_with("listening on ")) {
            bail!(
                "node-oidc-provider ({workers} process(es)) exited or did not listen within {} s; its log ends \
                 with:\n{}",
                START_TIMEOUT.as_secs(),
                peer.log_tail()
            );
        }
        Ok(peer)
    }

    /// Its address.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The last lines it logged.
    pub(crate) fn log_tail(&self) -> String {
        self.log.text()
    }
}
