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

/// How long each measured loop runs in all (in five rounds, taking turns with the others).
const SECONDS: &str = "5";

/// The brands measured: the default algorithm, and RSA, whose keys are the costliest to parse.
const BRANDS: [(&str, &str); 2] = [("bench", "EdDSA"), ("bench-rsa", "RS256")];

/// Measures the verifier and rewrites its section.
pub(crate) fn run(binary: &Binary) -> anyhow::Result<()> {
    let server = Server::start(binary, &Database::Sqlite, BRANDS[0].0)?;
    let mut rows = String::new();
    for (brand, algorithm) in BRANDS {
        if brand != BRANDS[0].0 {
            server.brand(brand, algorithm)?;
            // Created by another process: the server sees it at its next change poll (≤ 1 s).
            std::thread::sleep(std::time::Duration::from_secs(2));
        }
        let client = server.client(brand, "bench", &["client_credentials"], "read")?;
        let issuer = server.issuer(brand);
        eprintln!("$ verify_bench {issuer} … ({SECONDS} s per loop)");
        let output = Command::new(root().join("target/release/examples/verify_bench"))
            .args([issuer.as_str(), &client.id, &client.secret, SECONDS])
            .output()
            .context("running verify_bench")?;
        if !output.status.success() {
            bail!("verify_bench failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let figures: Value = serde_json::from_slice(&output.stdout).context("verify_bench printed no JSON")?;
        let measured = figures["algorithm"].as_str().unwrap_or("?");
        if measured != algorithm {
            bail!("brand {brand} signed with {measured}, not {algorithm}");
        }
        let number = |name: &str| figures[name].as_f64().unwrap_or(0.0);
        let (verifier, decode, raw) =
            (number("verifier_per_s"), number("jsonwebtoken_decode_per_s"), number("raw_signature_verify_per_s"));
        rows.push_str(&format!(
            "| {algorithm} | `Verifier::verify` (all RFC 9068 checks, cached keys) | {verifier:.0} | {r1:.2}× | \
             {r3:.0} % |\n\
             | {algorithm} | bare `jsonwebtoken::decode` (same key, same checks) | {decode:.0} | 1.00× | {r4:.0} % |\n\
             | {algorithm} | raw signature check of the crypto backend (aws-lc-rs, key parsed once) | {raw:.0} | \
             {r2:.2}× | 100 % |\n",
            r1 = verifier / decode.max(1.0),
            r2 = raw / decode.max(1.0),
            r3 = 100.0 * verifier / raw.max(1.0),
            r4 = 100.0 * decode / raw.max(1.0),
        ));
    }
    let table = format!(
        "Machine: {machine}. Commit: `{commit}`. Command: `cargo xtask bench` (release build; each token comes \
         from a real server over loopback on SQLite, from a brand whose keys use the algorithm named; the three \
         loops run {SECONDS} s each on one thread, taking turns in five rounds; each figure is per second of \
         the thread's own CPU time, its median round, so it is per core whatever else the machine runs).\n\n\
         | algorithm | verification of one access token | per second, one core | vs. `jsonwebtoken::decode` | \
         of the raw rate |\n\
         |---|---|---:|---:|---:|\n{rows}\n",
        machine = machine(),
        commit = commit(),
    );
    eprint!("{table}");
    write_section("verifier", &table)?;
    eprintln!("wrote the verifier section of BENCHMARKS.md");
    Ok(())
}
