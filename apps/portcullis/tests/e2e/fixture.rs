//! The fixture: a temporary working directory, a fresh database, two free loopback ports, and
//! the `portcullis` binary run as a subprocess with that configuration. [`Fixture::sibling`]
//! makes a second installation of the same deployment (same directory, database, master key and
//! public URL) listening on its own ports, for tests that run several servers at once.
//!
//! The child gets its configuration from `PORTCULLIS_…` environment variables only; variables
//! of that prefix inherited from the test runner (such as `PORTCULLIS_TEST_POSTGRES_URL`) are
//! removed, since the server refuses unknown configuration keys.

use std::io::{self, BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use portcullis_store::testing::{self, TestDatabase};
use serde_json::Value;
use tempfile::TempDir;

use crate::http;

/// The binary under test, built by Cargo for this test target.
const BINARY: &str = env!("CARGO_BIN_EXE_portcullis");

/// How long `serve` may take to print its listeners and answer `/healthz`.
const STARTUP_DEADLINE: Duration = Duration::from_secs(30);

/// How long an offline command may run.
const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

/// How often a waiting loop looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// The prefix of the server's configuration variables.
const ENV_PREFIX: &str = "PORTCULLIS_";

/// Where a fresh database lives.
enum Database {
    /// A SQLite file inside the fixture's directory.
    Sqlite(PathBuf),
    /// A new database on the Postgres test server (left for the server's owner to drop).
    Postgres(TestDatabase),
    /// A database the test manages itself (such as its own throwaway Postgres cluster), by URL.
    External(String),
}

/// One isolated installation of Portcullis: directory, database and ports.
///
/// The directory and the database are shared with the fixture's siblings and live as long as
/// the last of them.
pub struct Fixture {
    dir: Arc<TempDir>,
    database: Arc<Database>,
    /// The port of the public listener.
    http_port: u16,
    admin_port: u16,
    /// The port named by `http.public_url` (the first fixture's public port, which its siblings
    /// share the way instances behind one load balancer share one public URL).
    public_port: u16,
}

/// A client's credentials as a CLI command revealed them.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The brand the client belongs to.
    pub brand: String,
    /// The client id.
    pub id: String,
    /// The client secret, in clear.
    pub secret: String,
}

impl ClientCredentials {
    /// Reads `{"brand_key", "client_id", "client_secret", …}`.
    pub fn from_json(value: &Value) -> Self {
        let field =
            |name: &str| value[name].as_str().unwrap_or_else(|| panic!("no string `{name}` in {value}")).to_owned();
        Self { brand: field("brand_key"), id: field("client_id"), secret: field("client_secret") }
    }
}

impl Fixture {
    /// A fixture on SQLite, plus one on Postgres when the test server is configured.
    pub async fn all() -> Vec<Self> {
        let mut fixtures = vec![Self::sqlite()];
        fixtures.extend(Self::postgres().await);
        fixtures
    }

    /// A fixture on a SQLite file in its own directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("portcullis.db");
        Self::new(dir, Database::Sqlite(file))
    }

    /// A fixture on a fresh Postgres database, or `None` when no server is configured.
    pub async fn postgres() -> Option<Self> {
        let database = testing::postgres().await?;
        Some(Self::new(tempfile::tempdir().expect("temporary directory"), Database::Postgres(database)))
    }

    /// A fixture on the database at `url`, which the caller set up and keeps running (the
    /// server migrates it on first start, as always).
    pub fn on_database(url: &str) -> Self {
        Self::new(tempfile::tempdir().expect("temporary directory"), Database::External(url.to_owned()))
    }

    fn new(dir: TempDir, database: Database) -> Self {
        let [http_port, admin_port] = free_ports();
        Self { dir: Arc::new(dir), database: Arc::new(database), http_port, admin_port, public_port: http_port }
    }

    /// Another instance of the same deployment: the same directory (so the same master key
    /// file), the same database and the same `http.public_url` (so the same issuers), but its
    /// own listeners on new free ports. Its servers run beside this fixture's.
    pub fn sibling(&self) -> Self {
        let [http_port, admin_port] = free_ports();
        Self {
            dir: Arc::clone(&self.dir),
            database: Arc::clone(&self.database),
            http_port,
            admin_port,
            public_port: self.public_port,
        }
    }

    /// `sqlite` or `postgres`, for assertion messages.
    pub fn name(&self) -> &'static str {
        match self.database.as_ref() {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(db) => db.name,
            Database::External(url) if url.starts_with("sqlite:") => "sqlite",
            Database::External(_) => "postgres",
        }
    }

    /// The configured `http.public_url`.
    pub fn public_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.public_port)
    }

    /// The base URL of this fixture's own public listener; the same as [`Self::public_url`]
    /// except on a sibling.
    pub fn listen_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The issuer of `brand`.
    pub fn issuer(&self, brand: &str) -> String {
        format!("{}/brands/{brand}", self.public_url())
    }

    /// The master key file the server generates on first use.
    pub fn master_key_file(&self) -> PathBuf {
        self.dir.path().join("portcullis.master.key")
    }

    /// The SQLite database file and its `-wal` and `-shm` companions that exist; empty on
    /// Postgres.
    pub fn sqlite_files(&self) -> Vec<PathBuf> {
        let Database::Sqlite(file) = self.database.as_ref() else {
            return Vec::new();
        };
        let companion = |suffix: &str| PathBuf::from(format!("{}{suffix}", file.display()));
        [file.clone(), companion("-wal"), companion("-shm")].into_iter().filter(|p| p.exists()).collect()
    }

    fn database_url(&self) -> String {
        match self.database.as_ref() {
            Database::Sqlite(file) => format!("sqlite://{}", file.display()),
            Database::Postgres(db) => db.url.clone(),
            Database::External(url) => url.clone(),
        }
    }

    /// The binary with `args`, configured for this fixture and run in its directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command.args(args).current_dir(self.dir.path()).stdin(Stdio::null());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with(ENV_PREFIX) {
                command.env_remove(name);
            }
        }
        command
            .env("PORTCULLIS_DATABASE__URL", self.database_url())
            .env("PORTCULLIS_HTTP__LISTEN", format!("127.0.0.1:{}", self.http_port))
            .env("PORTCULLIS_ADMIN__LISTEN", format!("127.0.0.1:{}", self.admin_port))
            .env("PORTCULLIS_HTTP__PUBLIC_URL", self.public_url())
            .env("PORTCULLIS_SECRETS__MASTER_KEY_FILE", self.master_key_file());
        command
    }

    /// Runs an offline command to completion, whatever its outcome.
    pub fn cli(&self, args: &[&str]) -> Output {
        run_to_completion(self.command(args))
    }

    /// Runs an offline command that must succeed and print one JSON object.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let output = self.cli(args);
        assert!(
            output.status.success(),
            "[{}] `portcullis {}` failed with {}: {}",
            self.name(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!("[{}] `portcullis {}` printed no JSON ({e}): {stdout}", self.name(), args.join(" "))
        })
    }

    /// `brand create KEY --json` with extra flags; returns the printed brand.
    pub fn create_brand(&self, key: &str, flags: &[&str]) -> Value {
        let brand = self.cli_json(&[&["brand", "create", key, "--json"], flags].concat());
        assert_eq!(brand["brand_key"], key, "[{}] {brand}", self.name());
        brand
    }

    /// `client create --brand BRAND --name NAME --json` with grant, scope and audience flags.
    pub fn create_client(&self, brand: &str, flags: &[&str]) -> ClientCredentials {
        let args = [&["client", "create", "--brand", brand, "--name", "e2e client", "--json"], flags].concat();
        let client = ClientCredentials::from_json(&self.cli_json(&args));
        assert_eq!(client.brand, brand, "[{}]", self.name());
        client
    }

    /// Starts `serve` and waits until both listeners are announced and `/healthz` answers.
    pub async fn serve(&self) -> Server {
        self.serve_with(&[]).await
    }

    /// [`Self::serve`] with extra environment variables (e.g. `PORTCULLIS_LOG__FORMAT`).
    pub async fn serve_with(&self, env: &[(&str, &str)]) -> Server {
        self.start(env, "http://127.0.0.1", http::client()).await
    }

    /// [`Self::serve_with`] for a server whose listeners both terminate TLS (`env` names the
    /// files): its URLs are `https://localhost:…`, and `client` (which must trust the
    /// certificate) checks that they answer.
    pub async fn serve_tls(&self, env: &[(&str, &str)], client: reqwest::Client) -> Server {
        self.start(env, "https://localhost", client).await
    }

    async fn start(&self, env: &[(&str, &str)], base: &str, client: reqwest::Client) -> Server {
        let mut child = self
            .command(&["serve"])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start `portcullis serve`");
        let stdout = lines_of(child.stdout.take().expect("piped stdout"));
        let stderr = collect_into_shared(child.stderr.take().expect("piped stderr"));
        let mut server = Server {
            child,
            backend: self.name(),
            public_url: format!("{base}:{}", self.http_port),
            admin_url: format!("{base}:{}", self.admin_port),
            banner: Vec::new(),
            stderr,
        };
        let deadline = Instant::now() + STARTUP_DEADLINE;
        server.read_banner(&stdout, deadline).await;
        server.wait_healthy(&client, deadline).await;
        server
    }
}

/// A running `portcullis serve`, killed when dropped.
pub struct Server {
    child: Child,
    backend: &'static str,
    /// The public listener's base URL.
    pub public_url: String,
    /// The admin listener's base URL.
    pub admin_url: String,
    banner: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// The stdout lines printed before and including the listener announcements.
    pub fn banner(&self) -> &[String] {
        &self.banner
    }

    /// The platform-admin client revealed on first start, if the banner shows one.
    pub fn revealed_admin(&self) -> Option<ClientCredentials> {
        let value = |label: &str| {
            self.banner.iter().find_map(|line| line.strip_prefix(label)).map(|rest| rest.trim().to_owned())
        };
        Some(ClientCredentials {
            brand: value("brand_key:")?,
            id: value("client_id:")?,
            secret: value("client_secret:")?,
        })
    }

    /// The token endpoint of `brand`.
    pub fn token_url(&self, brand: &str) -> String {
        format!("{}/brands/{brand}/oauth/token", self.public_url)
    }

    /// Everything the server logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Kills the process with SIGKILL, no graceful shutdown, and reaps it: a crash such as the
    /// OOM killer causes (what the kernel already holds, such as written but unsynced files,
    /// survives it: this is not a power cut). Returns how it ended.
    pub fn kill9(mut self) -> ExitStatus {
        // `Child::kill` is SIGKILL on Unix. An error means it already exited, which `wait` reports.
        drop(self.child.kill());
        self.child.wait().expect("reap the killed server")
    }

    /// Sends SIGTERM (a graceful shutdown) and waits for the process to exit, at most
    /// `deadline`. Returns how it ended.
    pub fn terminate(mut self, deadline: Duration) -> ExitStatus {
        self.signal("TERM");
        let until = Instant::now() + deadline;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server") {
                return status;
            }
            assert!(
                Instant::now() < until,
                "[{}] the server did not exit within {deadline:?} of SIGTERM; stderr:\n{}",
                self.backend,
                self.stderr()
            );
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Sends a signal by name (`HUP`, `TERM`, …) to the process.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([&format!("-{name}"), &pid]).status().expect("run kill");
        assert!(sent.success(), "[{}] kill -{name} {pid} failed", self.backend);
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll the server").is_none()
    }

    /// Fails the test with the server's stderr when it exited.
    fn check_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("poll the server") {
            panic!("[{}] `portcullis serve` exited with {status}; stderr:\n{}", self.backend, self.stderr());
        }
    }

    async fn read_banner(&mut self, stdout: &Receiver<String>, deadline: Instant) {
        let announced =
            |banner: &[String], name: &str| banner.iter().any(|l| l.starts_with(&format!("{name} listener on ")));
        while !(announced(&self.banner, "public") && announced(&self.banner, "admin")) {
            match stdout.try_recv() {
                Ok(line) => {
                    self.banner.push(line);
                    continue;
                }
                Err(TryRecvError::Disconnected) => {
                    // Closed stdout: the process is gone or going; report its status.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    self.check_running();
                    panic!("[{}] the server closed stdout before announcing its listeners", self.backend);
                }
                Err(TryRecvError::Empty) => {}
            }
            self.check_running();
            assert!(
                Instant::now() < deadline,
                "[{}] the server did not announce its listeners within {STARTUP_DEADLINE:?}; stdout: {:?}; stderr:\n{}",
                self.backend,
                self.banner,
                self.stderr()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn wait_healthy(&mut self, client: &reqwest::Client, deadline: Instant) {
        for base in [self.public_url.clone(), self.admin_url.clone()] {
            let url = format!("{base}/healthz");
            loop {
                let status = client.get(&url).send().await.map(|r| r.status());
                if status.as_ref().is_ok_and(|s| s.as_u16() == 200) {
                    break;
                }
                self.check_running();
                assert!(
                    Instant::now() < deadline,
                    "[{}] {url} did not answer 200 within {STARTUP_DEADLINE:?} (last: {status:?}); stderr:\n{}",
                    self.backend,
                    self.stderr()
                );
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Errors mean the process is already gone, which is what we want.
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

/// Two distinct ports that were free a moment ago (both bound at once, then released).
fn free_ports() -> [u16; 2] {
    let bind = || TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let (first, second) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().expect("local address").port();
    [port(&first), port(&second)]
}

/// Runs `command` with captured output, failing the test if it outlives [`COMMAND_DEADLINE`].
pub fn run_to_completion(mut command: Command) -> Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start the binary");
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + COMMAND_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the command") {
            break status;
        }
        if Instant::now() >= deadline {
            drop(child.kill());
            drop(child.wait());
            panic!("{command:?} did not finish within {COMMAND_DEADLINE:?}");
        }
        thread::sleep(POLL_INTERVAL);
    };
    let join = |h: JoinHandle<Vec<u8>>| h.join().expect("output reader");
    Output { status, stdout: join(stdout), stderr: join(stderr) }
}

/// Reads a stream to its end on a thread.
fn read_all(mut stream: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        drop(stream.read_to_end(&mut bytes));
        bytes
    })
}

/// Sends a stream's lines over a channel, from a thread that drains it to its end.
fn lines_of(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        for line in reader.by_ref().lines().map_while(Result::ok) {
            // The receiver is gone once the banner is read; keep draining so the child never
            // blocks on a full pipe.
            drop(sender.send(line));
        }
        drop(io::copy(&mut reader, &mut io::sink()));
    });
    receiver
}

/// Appends a stream's text to a shared string, from a thread that drains it to its end.
fn collect_into_shared(stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let shared = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&shared);
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut chunk = Vec::new();
        while reader.read_until(b'\n', &mut chunk).is_ok_and(|n| n > 0) {
            if let Ok(mut text) = sink.lock() {
                text.push_str(&String::from_utf8_lossy(&chunk));
            }
            chunk.clear();
        }
    });
    shared
}
