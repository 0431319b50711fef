//! The verifier part (issue 6): verifications per second on one core, next to a bare
//! `jsonwebtoken::decode` of the same token and the crypto backend's raw signature check
//! (`crates/verifier/examples/verify_bench.rs`), with a token from a real server on SQLite.
//! Written to the `verifier` section of `BENCHMARKS.md`.

use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

use super::report::{commit, machine, write_section};
use super::server::{Binary, Database, Server};
use crate::root;

/// How long each measured loop runs.
const SECONDS: &str = "5";

/// Measures the verifier and rewrites its section.
pub(crate) fn run(binary: &Binary) -> anyhow::Result<()> {
    let server = Server::start(binary, &Database::Sqlite, "bench")?;
    let client = server.client("bench", "bench", &["client_credentials"], "read")?;
    let issuer = server.issuer("bench");
    eprintln!("$ verify_bench {issuer} … ({SECONDS} s per loop)");
    let output = Command::new(root().join("target/release/examples/verify_bench"))
        .args([issuer.as_str(), &client.id, &client.secret, SECONDS])
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
    eprintln!("wrote the verifier section of BENCHMARKS.md");
    Ok(())
}
