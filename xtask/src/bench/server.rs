//! The benchmarks' own installation of the release server: a copy of the binary taken once per
//! bench ([`Binary`]), a temporary directory per server (master key, SQLite file), free ports,
//! the offline CLI to create brands, clients and users, and `portcullis serve`, killed and
//! cleaned up when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::root;

/// How much of the server's log (stderr) is kept, to explain a failure.
const LOG_TAIL: usize = 4096;

/// How long a server (ours or the peer) may take to announce its listeners.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A port that was free a moment ago.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A new, empty temporary directory, `portcullis-bench-PID-N-what`.
fn fresh_dir(what: &str) -> anyhow::Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("portcullis-bench-{}-{n}-{what}", std::process::id()));
    drop(std::fs::remove_dir_all(&dir));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// The release binary under test, copied once so that every server and CLI call of the bench
/// runs the same build even if `target/release/portcullis` is rebuilt meanwhile. Its name,
/// `portcullis-bench`, also keeps a `pkill -f 'portcullis serve'` aimed at other servers away
/// from the bench's. Removed when dropped.
#[derive(Debug)]
pub(crate) struct Binary {
    dir: PathBuf,
    path: PathBuf,
}

impl Binary {
    /// Copies `target/release/portcullis`.
    pub(crate) fn copy_release() -> anyhow::Result<Self> {
        let built = root().join("target/release/portcullis");
        let dir = fresh_dir("bin")?;
        let path = dir.join("portcullis-bench");
        let binary = Self { dir, path };
        std::fs::copy(&built, &binary.path)
            .with_context(|| format!("copying {} to {}", built.display(), binary.path.display()))?;
        Ok(binary)
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        drop(std::fs::remove_dir_all(&self.dir));
    }
}

/// Where the server keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Database {
    /// A fresh SQLite file in the server's directory.
    Sqlite,
    /// This Postgres URL (a fresh database).
    Postgres(String),
}

/// A client's id and secret.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) id: String,
    pub(crate) secret: String,
}

/// One installation: the binary, its directory, database and ports. The directory is removed
/// when dropped.
#[derive(Debug)]
struct Install {
    binary: PathBuf,
    dir: PathBuf,
    database_url: String,
    public: u16,
    admin: u16,
}

impl Drop for Install {
    fn drop(&mut self) {
        drop(std::fs::remove_dir_all(&self.dir));
    }
}

impl Install {
    /// A `portcullis` command configured for this installation.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .current_dir(&self.dir)
            .env("PORTCULLIS_DATABASE__URL", &self.database_url)
            .env("PORTCULLIS_HTTP__LISTEN", format!("127.0.0.1:{}", self.public))
            .env("PORTCULLIS_ADMIN__LISTEN", format!("127.0.0.1:{}", self.admin))
            .env("PORTCULLIS_HTTP__PUBLIC_URL", format!("http://127.0.0.1:{}", self.public))
            .env("PORTCULLIS_SECRETS__MASTER_KEY_FILE", self.dir.join("master.key"));
        command
    }

    /// Runs an offline command with `stdin` as its input and parses its one JSON object.
    fn cli_json(&self, args: &[&str], stdin: &str) -> anyhow::Result<Value> {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("running portcullis {}", args.join(" ")))?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes()).context("writing to portcullis")?;
        }
        let output = child.wait_with_output().context("waiting for portcullis")?;
        if !output.status.success() {
            bail!("portcullis {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
        }
        serde_json::from_slice(&output.stdout).with_context(|| format!("portcullis {} printed no JSON", args.join(" ")))
    }
}

/// The last [`LOG_TAIL`] bytes a child wrote to stderr, kept by a thread of its own until the
/// stream ends, to explain a failure.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogTail(Arc<Mutex<Vec<u8>>>);

impl LogTail {
    /// Starts keeping the tail of `stderr` (an empty log when there is none).
    pub(crate) fn keep(stderr: Option<ChildStderr>) -> Self {
        let tail = Self::default();
        if let Some(mut stderr) = stderr {
            let log = Arc::clone(&tail.0);
            std::thread::spawn(move || {
                let mut chunk = vec![0; 64 * 1024];
                while let Ok(n @ 1..) = stderr.read(&mut chunk) {
                    let Ok(mut log) = log.lock() else { return };
                    log.extend_from_slice(&chunk[..n]);
                    let excess = log.len().saturating_sub(LOG_TAIL);
                    log.drain(..excess);
                }
            });
        }
        tail
    }

    /// What it holds, as text.
    pub(crate) fn text(&self) -> String {
        self.0.lock().map(|log| String::from_utf8_lossy(&log).into_owned()).unwrap_or_default()
    }
}

/// Whether `count` lines of a starting child's `stdout` for which `announces` holds arrive within
/// [`START_TIMEOUT`] (false at once if the stream ends first). The rest of `stdout` is drained by
/// a thread of its own, so the child never blocks on a full pipe.
pub(crate) fn announced(stdout: Option<ChildStdout>, count: usize, announces: fn(&str) -> bool) -> bool {
    let Some(stdout) = stdout else { return false };
    let (announcement, announcements) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if announces(&line) {
                // Nobody listens once all are announced.
                let _ = announcement.send(());
            }
        }
    });
    let deadline = Instant::now() + START_TIMEOUT;
    (0..count).all(|_| announcements.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_ok())
}

/// A running `portcullis serve` with its directory; killed and removed when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    log: LogTail,
    // Dropped after the child is killed (fields drop in order, after `Drop::drop`).
    install: Install,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

impl Server {
    /// Creates the brand `brand`, then starts `portcullis serve` and waits until both listeners
    /// are announced.
    pub(crate) fn start(binary: &Binary, database: &Database, brand: &str) -> anyhow::Result<Self> {
        let dir = fresh_dir("server")?;
        let database_url = match database {
            Database::Sqlite => format!("sqlite://{}", dir.join("portcullis.db").display()),
            Database::Postgres(url) => url.clone(),
        };
        let install =
            Install { binary: binary.path.clone(), dir, database_url, public: free_port()?, admin: free_port()? };
        install.cli_json(&["brand", "create", brand, "--json"], "")?;
        let mut child = install
            .command()
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting portcullis serve")?;
        let log = LogTail::keep(child.stderr.take());
        let stdout = child.stdout.take();
        let server = Self { child, log, install };
        if !announced(stdout, 2, |line| line.contains("listener on http://")) {
            bail!(
                "the server exited or did not announce its listeners within {} s; its log ends with:\n{}",
                START_TIMEOUT.as_secs(),
                server.log_tail()
            );
        }
        Ok(server)
    }

    /// How the server ended, if it did (so a failed run can say that the server went away).
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The server's process id, for its memory figures.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The public listener's address.
    pub(crate) fn public_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.install.public))
    }

    /// The admin listener's address (the management API).
    pub(crate) fn admin_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.install.admin))
    }

    /// The issuer URL of `brand`.
    pub(crate) fn issuer(&self, brand: &str) -> String {
        format!("http://127.0.0.1:{}/brands/{brand}", self.install.public)
    }

    /// The last lines the server logged.
    pub(crate) fn log_tail(&self) -> String {
        self.log.text()
    }

    /// Creates another brand, whose keys use `algorithm` (`EdDSA`, `ES256` or `RS256`).
    pub(crate) fn brand(&self, brand: &str, algorithm: &str) -> anyhow::Result<()> {
        self.install.cli_json(&["brand", "create", brand, "--algorithm", algorithm, "--json"], "")?;
        Ok(())
    }

    /// Creates a client of `brand` with `grants`, allowed and by default granted `scope`.
    pub(crate) fn client(&self, brand: &str, name: &str, grants: &[&str], scope: &str) -> anyhow::Result<Credentials> {
        let mut args = vec!["client", "create", "--brand", brand, "--name", name, "--grant"];
        args.extend_from_slice(grants);
        args.extend(["--scope", scope, "--default-scope", scope, "--json"]);
        let created = self.install.cli_json(&args, "")?;
        let field = |name: &str| {
            created[name].as_str().map(str::to_owned).with_context(|| format!("client create printed no {name}"))
        };
        Ok(Credentials { id: field("client_id")?, secret: field("client_secret")? })
    }

    /// Creates a user of `brand` with `password` and `permission`.
    pub(crate) fn user(&self, brand: &str, username: &str, password: &str, permission: &str) -> anyhow::Result<()> {
        let args = ["user", "create", "--brand", brand, "--username", username, "--password-stdin", "--permission"];
        self.install.cli_json(&[&args[..], &[permission, "--json"]].concat(), &format!("{password}\n"))?;
        Ok(())
    }
}
