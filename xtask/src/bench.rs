//! `cargo xtask bench`: release builds, a real server over loopback on a fresh SQLite database,
//! and the figures written to `BENCHMARKS.md`.
//!
//! Today it measures the verifier (issue 6): verifications per second on one core, next to a
//! bare `jsonwebtoken::decode` of the same token and the crypto backend's raw signature check
//! (`crates/verifier/examples/verify_bench.rs`). Each measured part owns a section of
//! `BENCHMARKS.md` between `<!-- NAME:begin -->` and `<!-- NAME:end -->` markers, rewritten on
//! every run; the rest of the file is left alone.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::{cargo, root};

/// How long each measured loop runs.
const SECONDS: &str = "5";

/// The benchmarks' own installation: a directory, a SQLite database, free ports, the release
/// binary. The server is killed when dropped.
struct Server {
    dir: PathBuf,
    child: Child,
    public: u16,
    admin: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
        drop(std::fs::remove_dir_all(&self.dir));
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn portcullis(dir: &Path, public: u16, admin: u16) -> Command {
    let mut command = Command::new(root().join("target/release/portcullis"));
    command
        .current_dir(dir)
        .env("PORTCULLIS_DATABASE__URL", format!("sqlite://{}", dir.join("portcullis.db").display()))
        .env("PORTCULLIS_HTTP__LISTEN", format!("127.0.0.1:{public}"))
        .env("PORTCULLIS_ADMIN__LISTEN", format!("127.0.0.1:{admin}"))
        .env("PORTCULLIS_HTTP__PUBLIC_URL", format!("http://127.0.0.1:{public}"))
        .env("PORTCULLIS_SECRETS__MASTER_KEY_FILE", dir.join("master.key"))
        .stdin(Stdio::null());
    command
}

/// Runs an offline command and parses its one JSON object.
fn cli_json(dir: &Path, public: u16, admin: u16, args: &[&str]) -> anyhow::Result<Value> {
    let output = portcullis(dir, public, admin).args(args).output().context("running portcullis")?;
    if !output.status.success() {
        bail!("portcullis {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    }
    serde_json::from_slice(&output.stdout).context("portcullis printed no JSON")
}

impl Server {
    fn start() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("portcullis-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let (public, admin) = (free_port()?, free_port()?);
        cli_json(&dir, public, admin, &["brand", "create", "bench", "--json"])?;
        let mut child = portcullis(&dir, public, admin)
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting portcullis serve")?;
        let stdout = child.stdout.take().context("stdout")?;
        let server = Self { dir, child, public, admin };
        // Ready once both listeners are announced; the rest of stdout is drained in the background.
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut announced = 0;
        while announced < 2 {
            let line = lines.next().context("the server exited before announcing its listeners")??;
            if line.contains("listener on http://") {
                announced += 1;
            }
            if Instant::now() > deadline {
                bail!("the server did not start within a minute");
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Ok(server)
    }

    fn client(&self, brand: &str) -> anyhow::Result<(String, String)> {
        let created = cli_json(
            &self.dir,
            self.public,
            self.admin,
            &[
                "client",
                "create",
                "--brand",
                brand,
                "--name",
                "bench",
                "--grant",
                "client_credentials",
                "--scope",
                "read",
                "--json",
            ],
        )?;
        let field = |name: &str| created[name].as_str().map(str::to_owned).context("client create output");
        Ok((field("client_id")?, field("client_secret")?))
    }
}

fn machine() -> String {
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

fn commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".into(), |s| s.trim().to_owned())
}

/// Replaces the section `name` of `BENCHMARKS.md` (appending it when absent).
fn write_section(name: &str, body: &str) -> anyhow::Result<()> {
    let path = root().join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let (begin, end) = (format!("<!-- {name}:begin -->"), format!("<!-- {name}:end -->"));
    let section = format!("{begin}\n{body}{end}");
    let updated = match (text.find(&begin), text.find(&end)) {
        (Some(b), Some(e)) if b < e => format!("{}{section}{}", &text[..b], &text[e + end.len()..]),
        _ => format!("{}\n{section}\n", text.trim_end()),
    };
    std::fs::write(&path, updated).with_context(|| format!("writing {}", path.display()))
}

pub(crate) fn bench() -> anyhow::Result<()> {
    cargo(&["build", "--release", "--locked", "-p", "portcullis"])?;
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
    let server = Server::start()?;
    let (id, secret) = server.client("bench")?;
    let issuer = format!("http://127.0.0.1:{}/brands/bench", server.public);
    eprintln!("$ verify_bench {issuer} … ({SECONDS} s per loop)");
    let output = Command::new(root().join("target/release/examples/verify_bench"))
        .args([issuer.as_str(), &id, &secret, SECONDS])
        .output()
        .context("running verify_bench")?;
    if !output.status.success() {
        bail!("verify_bench failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let figures: Value = serde_json::from_slice(&output.stdout).context("verify_bench printed no JSON")?;
    let number = |name: &str| figures[name].as_f64().unwrap_or(0.0);
    let (verifier, decode, raw) =
        (number("verifier_per_s"), number("jsonwebtoken_decode_per_s"), number("raw_signature_verify_per_s"));
    let table = format!(
        "Machine: {machine}. Commit: `{commit}`. Command: `cargo xtask bench` (release build; the token comes from \
         a real server over loopback on SQLite; each loop runs {SECONDS} s on one thread, so the figures are per \
         core). Algorithm: {alg}.\n\n\
         | verification of one access token | per second, one core | vs. `jsonwebtoken::decode` |\n\
         |---|---:|---:|\n\
         | `Verifier::verify` (all RFC 9068 checks, cached keys) | {verifier:.0} | {r1:.2}× |\n\
         | bare `jsonwebtoken::decode` (same key, same checks) | {decode:.0} | 1.00× |\n\
         | raw signature check of the crypto backend (aws-lc-rs) | {raw:.0} | {r2:.2}× |\n\n",
        machine = machine(),
        commit = commit(),
        alg = figures["algorithm"].as_str().unwrap_or("?"),
        r1 = verifier / decode.max(1.0),
        r2 = raw / decode.max(1.0),
    );
    eprint!("{table}");
    write_section("verifier", &table)?;
    eprintln!("wrote BENCHMARKS.md");
    Ok(())
}
