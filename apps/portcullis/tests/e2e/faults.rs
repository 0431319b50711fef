//! Fault injection: the database goes away, is locked by another process, or stalls, while the
//! server serves. Token requests must then answer promptly with an RFC 6749 §5.2
//! `temporarily_unavailable` (503, JSON), never a 500 or a hang; readiness must say so; and once
//! the fault is gone the same server process recovers by itself, with every token it
//! acknowledged before the fault still on record.
//!
//! The Postgres scenarios start a throwaway cluster of their own with `.ci/start-postgres.sh`
//! (so stopping it disturbs no other test) and skip when the PostgreSQL binaries are missing;
//! the SQLite scenario needs `python3` with its `sqlite3` module to hold the lock, and skips
//! without it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::fixture::{ClientCredentials, Fixture, Server};
use crate::http::{Auth, Reply, client_credentials, get, request_token};

/// The database timeout the servers under test are configured with
/// (`database.acquire_timeout_secs`: the pool's wait for a connection, SQLite's busy timeout,
/// and the longest a request waits for its token record to be committed).
const DB_TIMEOUT_SECS: u64 = 2;

/// The most a request may take while the database is faulty: the configured timeout twice (one
/// read and one write may each wait it out), plus slack for a loaded machine. Well below the
/// HTTP client's own 20 s timeout and the server's 30 s request timeout, so a hang shows.
const FAIL_FAST: Duration = Duration::from_secs(2 * DB_TIMEOUT_SECS + 4);

/// How long recovery may take once the fault is gone.
const RECOVERY: Duration = Duration::from_secs(30);

/// How long a fault injector may take to get hold of its lock.
const LOCK_DEADLINE: Duration = Duration::from_secs(20);

/// How often a waiting loop looks again.
const POLL: Duration = Duration::from_millis(100);

/// Tokens acknowledged before each fault.
const BEFORE_FAULT: usize = 12;

/// Concurrent requests while the fault lasts.
const DURING_FAULT: usize = 8;

/// The server's configuration for these tests.
fn server_env() -> [(&'static str, String); 1] {
    [("PORTCULLIS_DATABASE__ACQUIRE_TIMEOUT_SECS", DB_TIMEOUT_SECS.to_string())]
}

async fn serve(fixture: &Fixture) -> Server {
    let env = server_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fixture.serve_with(&env).await
}

#[tokio::test]
async fn postgres_stopped_and_restarted_while_serving() {
    let Some(cluster) = Cluster::start("stop-restart") else { return };
    let fixture = Fixture::on_database(&cluster.url);
    fixture.create_brand("acme", &[]);
    let app = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
    let server = serve(&fixture).await;
    let ready_url = format!("{}/readyz", server.admin_url);
    assert_eq!(get(&ready_url).await.status.as_u16(), 200, "ready before the outage");
    let acknowledged = acknowledge_tokens(&server, &app).await;

    cluster.stop();
    // Each of several concurrent requests fails fast with a 503 `temporarily_unavailable`.
    let replies = concurrent_requests(&server, &app, DURING_FAULT).await;
    for (elapsed, reply) in &replies {
        assert_unavailable(reply, *elapsed, &server, "while Postgres is stopped");
    }
    let started = Instant::now();
    let ready = get(&ready_url).await;
    assert!(
        ready.status.as_u16() == 503 && started.elapsed() < FAIL_FAST,
        "readyz while Postgres is stopped: {} after {:?}: {}",
        ready.status,
        started.elapsed(),
        ready.text
    );
    assert_eq!(ready.body()["status"], "unavailable", "{}", ready.text);

    // The same cluster comes back on the same port; the server was never restarted.
    cluster.restart();
    let ready = poll_until(RECOVERY, || async { get(&ready_url).await.status.as_u16() == 200 }).await;
    assert!(ready, "readyz did not turn 200 within {RECOVERY:?} of the restart; stderr:\n{}", server.stderr());
    let fresh = token_once_recovered(&server, &app).await;
    let lost = not_active(&server, &app, acknowledged.iter().chain([&fresh])).await;
    assert!(lost.is_empty(), "tokens acknowledged before the outage are gone: {lost:?}");
}

#[tokio::test]
async fn sqlite_locked_by_another_process() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    let app = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
    let server = serve(&fixture).await;
    let acknowledged = acknowledge_tokens(&server, &app).await;
    let database = fixture.sqlite_files().into_iter().next().expect("the SQLite database file");

    let Some(lock) = hold_sqlite_lock(&database) else { return };
    let replies = concurrent_requests(&server, &app, DURING_FAULT).await;
    for (elapsed, reply) in &replies {
        assert_unavailable(reply, *elapsed, &server, "while another process holds the SQLite lock");
    }
    lock.release();

    let fresh = token_once_recovered(&server, &app).await;
    let lost = not_active(&server, &app, acknowledged.iter().chain([&fresh])).await;
    assert!(lost.is_empty(), "tokens acknowledged before the lock are gone: {lost:?}");
}

#[tokio::test]
async fn postgres_token_table_locked_stalls_no_request() {
    let Some(cluster) = Cluster::start("table-lock") else { return };
    let fixture = Fixture::on_database(&cluster.url);
    fixture.create_brand("acme", &[]);
    let app = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
    let server = serve(&fixture).await;
    let acknowledged = acknowledge_tokens(&server, &app).await;

    let lock = cluster.lock_table("issued_tokens");
    // Two waves: the second arrives while the first's writes may still be stuck in the
    // database, and must not queue behind them.
    for wave in ["first", "second"] {
        let replies = concurrent_requests(&server, &app, DURING_FAULT).await;
        for (elapsed, reply) in &replies {
            assert_unavailable(reply, *elapsed, &server, &format!("{wave} wave, token table locked"));
        }
    }
    let ready = get(&format!("{}/readyz", server.admin_url)).await;
    assert_eq!(ready.status.as_u16(), 200, "only one table is locked; the database answers: {}", ready.text);
    lock.release();

    let fresh = token_once_recovered(&server, &app).await;
    let lost = not_active(&server, &app, acknowledged.iter().chain([&fresh])).await;
    assert!(lost.is_empty(), "tokens acknowledged before the lock are gone: {lost:?}");
    // The writes stuck behind the lock did not wedge the server: it keeps issuing.
    for _ in 0..DURING_FAULT {
        client_credentials(&server.token_url("acme"), Auth::Basic(&app), &[]).await.assert_token();
    }
}

/// [`BEFORE_FAULT`] tokens answered with 200.
async fn acknowledge_tokens(server: &Server, app: &ClientCredentials) -> Vec<String> {
    let mut tokens = Vec::new();
    for _ in 0..BEFORE_FAULT {
        tokens.push(client_credentials(&server.token_url(&app.brand), Auth::Basic(app), &[]).await.access_token());
    }
    tokens
}

/// `count` client_credentials requests at once; each reply with how long it took.
async fn concurrent_requests(server: &Server, app: &ClientCredentials, count: usize) -> Vec<(Duration, Reply)> {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let (url, app) = (server.token_url(&app.brand), app.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let reply = client_credentials(&url, Auth::Basic(&app), &[]).await;
                (started.elapsed(), reply)
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.expect("request task"));
    }
    let times: Vec<Duration> = replies.iter().map(|(elapsed, _)| *elapsed).collect();
    eprintln!("{count} concurrent requests answered after {times:?}");
    replies
}

/// A prompt 503 `temporarily_unavailable` with an RFC 6749 §5.2 body.
fn assert_unavailable(reply: &Reply, elapsed: Duration, server: &Server, when: &str) {
    assert!(
        reply.status.as_u16() == 503,
        "{when}: expected 503, got {} after {elapsed:?}: {}\nstderr:\n{}",
        reply.status,
        reply.text,
        server.stderr()
    );
    reply.assert_oauth_error(503, "temporarily_unavailable");
    assert!(elapsed < FAIL_FAST, "{when}: the 503 took {elapsed:?}, more than {FAIL_FAST:?}");
}

/// Asks for a token until one is issued, within [`RECOVERY`]; returns it.
async fn token_once_recovered(server: &Server, app: &ClientCredentials) -> String {
    let deadline = Instant::now() + RECOVERY;
    loop {
        let reply = client_credentials(&server.token_url(&app.brand), Auth::Basic(app), &[]).await;
        if reply.status.as_u16() == 200 {
            return reply.access_token();
        }
        assert!(
            reply.status.as_u16() == 503,
            "while recovering, a failure is a 503, not {}: {}",
            reply.status,
            reply.text
        );
        assert!(
            Instant::now() < deadline,
            "no token within {RECOVERY:?} of the fault's end; last: {} {}\nstderr:\n{}",
            reply.status,
            reply.text,
            server.stderr()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// The tokens that do not introspect as active, with what the server said.
async fn not_active<'a>(
    server: &Server,
    app: &ClientCredentials,
    tokens: impl Iterator<Item = &'a String>,
) -> Vec<String> {
    let url = format!("{}/brands/{}/oauth/introspect", server.public_url, app.brand);
    let mut lost = Vec::new();
    for token in tokens {
        let reply = request_token(&url, Auth::Basic(app), &[("token", token)]).await;
        if reply.status.as_u16() != 200 || reply.json.as_ref().map(|j| &j["active"]) != Some(&Value::Bool(true)) {
            lost.push(format!("{}: {}", reply.status, reply.text));
        }
    }
    lost
}

/// Calls `check` every [`POLL`] until it holds or `within` has passed; whether it held.
async fn poll_until<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The repository's `.ci` directory.
fn ci_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci").join(name)
}

/// The PostgreSQL binaries directory the `.ci` scripts use, when it holds `initdb`, `pg_ctl`
/// and `psql`.
fn postgres_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| ["initdb", "pg_ctl", "psql"].iter().all(|tool| bin.join(tool).is_file()))
        .collect();
    // The newest, as the scripts pick it (`sort -V`); versions are plain numbers since 10.
    dirs.sort_by_key(|bin| {
        bin.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok())
    });
    dirs.pop()
}

/// Whether this process runs as root (the scripts then run PostgreSQL as `postgres`).
fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A throwaway PostgreSQL cluster of this test's own, removed when dropped.
struct Cluster {
    /// Holds the cluster's directory; traversable by the `postgres` user.
    _parent: TempDir,
    data: PathBuf,
    port: u16,
    bin: PathBuf,
    url: String,
}

impl Cluster {
    /// Starts a cluster, or `None` (after saying why) when PostgreSQL is not installed.
    fn start(test: &str) -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            eprintln!("{test}: skipped, no initdb/pg_ctl/psql under /usr/lib/postgresql");
            return None;
        };
        let parent = tempfile::tempdir().expect("temporary directory");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // The scripts run PostgreSQL as `postgres` when we are root: it must reach its directory.
            std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let data = parent.path().join("data");
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut cluster = Self { _parent: parent, data, port, bin, url: String::new() };
        cluster.url = cluster.run_start_script();
        Some(cluster)
    }

    /// `.ci/start-postgres.sh DIR PORT`: creates the cluster the first time, starts it, and
    /// returns its URL.
    fn run_start_script(&self) -> String {
        let output = Command::new(ci_script("start-postgres.sh"))
            .arg(&self.data)
            .arg(self.port.to_string())
            .stdin(Stdio::null())
            .output()
            .expect("run start-postgres.sh");
        assert!(
            output.status.success(),
            "start-postgres.sh failed: {}{}",
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
        );
        String::from_utf8(output.stdout).expect("UTF-8").trim().to_owned()
    }

    /// Stops the server (`pg_ctl stop -m fast`: sessions are disconnected), keeping its data.
    fn stop(&self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let command = format!("'{}' -D '{}' -m fast -w stop", pg_ctl.display(), self.data.display());
        let status = if is_root() {
            Command::new("su").args(["postgres", "-s", "/bin/sh", "-c", &command]).stdout(Stdio::null()).status()
        } else {
            Command::new("sh").args(["-c", &command]).stdout(Stdio::null()).status()
        };
        assert!(status.expect("run pg_ctl stop").success(), "pg_ctl stop failed");
    }

    /// Starts the stopped server again, on the same directory and port.
    fn restart(&self) {
        let url = self.run_start_script();
        assert_eq!(url, self.url, "the restarted cluster has the same URL");
    }

    /// Another session that takes an `ACCESS EXCLUSIVE` lock on `table` and keeps its
    /// transaction open until released; returns once the lock is granted.
    fn lock_table(&self, table: &str) -> Held {
        let mut child = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", &self.url])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start psql");
        let mut stdin = child.stdin.take().expect("piped stdin");
        writeln!(stdin, "BEGIN;\nLOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;").expect("send the lock");
        stdin.flush().expect("flush");
        let held = Held { child, stdin: Some(stdin) };
        let query = format!(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = '{table}' AND l.mode = 'AccessExclusiveLock' AND l.granted"
        );
        let deadline = Instant::now() + LOCK_DEADLINE;
        loop {
            let output = Command::new(self.bin.join("psql"))
                .args(["-X", "-tA", "-c", &query, &self.url])
                .stdin(Stdio::null())
                .output()
                .expect("run psql");
            if String::from_utf8_lossy(&output.stdout).trim() == "1" {
                return held;
            }
            assert!(Instant::now() < deadline, "the lock on {table} was not granted within {LOCK_DEADLINE:?}");
            thread::sleep(POLL);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        drop(Command::new(ci_script("stop-postgres.sh")).arg(&self.data).stdout(Stdio::null()).status());
    }
}

/// A process holding a database lock in an open transaction. Releasing (or dropping) closes
/// its stdin, on which it ends its transaction and exits.
struct Held {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Held {
    /// Ends the transaction and waits for the process to exit.
    fn release(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + LOCK_DEADLINE;
        while self.child.try_wait().expect("poll the lock holder").is_none() {
            assert!(Instant::now() < deadline, "the lock holder did not exit within {LOCK_DEADLINE:?}");
            thread::sleep(POLL);
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

/// Another process, `python3`, holding SQLite's write lock (`BEGIN EXCLUSIVE`) on a database
/// file; returns once it holds it. `None` (after saying why) without `python3` and its `sqlite3`
/// module.
fn hold_sqlite_lock(database: &Path) -> Option<Held> {
    const SCRIPT: &str = "import sqlite3, sys\n\
        db = sqlite3.connect(sys.argv[1], timeout=20, isolation_level=None)\n\
        db.execute('BEGIN EXCLUSIVE')\n\
        print('locked', flush=True)\n\
        sys.stdin.read()\n\
        db.execute('ROLLBACK')\n";
    let probe = Command::new("python3").args(["-c", "import sqlite3"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("sqlite_locked_by_another_process: skipped, no python3 with sqlite3");
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-u", "-c", SCRIPT])
        .arg(database)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python3");
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            drop(sender.send(line));
        }
    });
    let held = Held { child, stdin };
    match receiver.recv_timeout(LOCK_DEADLINE) {
        Ok(line) if line == "locked" => Some(held),
        other => panic!("the SQLite lock was not taken within {LOCK_DEADLINE:?}: {other:?}"),
    }
}
