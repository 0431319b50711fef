//! `cargo xtask fuzz [--seconds N] [--quick] [TARGET…]`: builds the `cargo fuzz` targets of
//! `fuzz/` and runs each for a fixed time (all of them unless some are named).
//!
//! Each target starts from its committed inputs (`fuzz/seeds/<target>/` and
//! `fuzz/regressions/<target>/`, read only) and grows a local corpus in `fuzz/corpus/<target>/`
//! (not committed) that later runs resume from. A crash leaves its input in
//! `fuzz/artifacts/<target>/`; every target still runs, then the task fails naming them all.
//!
//! The build is instrumented for coverage but without a sanitizer (`-s none`): sanitizers need
//! a nightly compiler, and the code under test is safe Rust. `--quick` (CI) builds without
//! optimisation, which compiles in a fraction of the time and still finds shallow crashes; the
//! default is an optimised build for long runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::root;

/// The cargo-fuzz release the task installs when another (or none) is found.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 120;

pub const USAGE: &str = "fuzz [--seconds N] [--quick] [TARGET…]";

/// What to run.
struct Options {
    seconds: u64,
    quick: bool,
    targets: Vec<String>,
}

fn options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options { seconds: DEFAULT_SECONDS, quick: false, targets: Vec::new() };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => options.seconds = crate::args::positive("--seconds", &mut args)?,
            "--quick" => options.quick = true,
            flag if flag.starts_with('-') => bail!("unknown option {flag}; usage: cargo xtask {USAGE}"),
            target => options.targets.push(target.to_owned()),
        }
    }
    Ok(options)
}

pub fn fuzz(args: &[String]) -> anyhow::Result<()> {
    let options = options(args)?;
    install_cargo_fuzz()?;
    let dir = root().join("fuzz");
    let profile: &[&str] = if options.quick { &["--dev"] } else { &[] };

    let mut build = cargo_fuzz(&dir, &["build", "-s", "none"]);
    build.args(profile);
    run(build, "cargo fuzz build")?;

    let known = list_targets(&dir)?;
    let targets = if options.targets.is_empty() { known.clone() } else { options.targets.clone() };
    if let Some(unknown) = targets.iter().find(|t| !known.contains(t)) {
        bail!("no fuzz target {unknown}; the targets are {}", known.join(", "));
    }

    let mut crashed = Vec::new();
    for target in &targets {
        eprintln!("\n== fuzzing {target} for {} s", options.seconds);
        let corpus = dir.join("corpus").join(target);
        let artifacts = dir.join("artifacts").join(target);
        for d in [&corpus, &artifacts] {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        let mut command = cargo_fuzz(&dir, &["run", "-s", "none"]);
        command.args(profile).arg(target).arg(&corpus);
        command.args(committed_inputs(&dir, target));
        command
            .arg("--")
            .arg(format!("-max_total_time={}", options.seconds))
            .arg(format!("-artifact_prefix={}/", artifacts.display()));
        command.arg("-print_final_stats=1");
        let status = command.status().context("running cargo fuzz")?;
        if !status.success() {
            crashed.push(format!("{target} (inputs in {})", artifacts.display()));
        }
    }
    if !crashed.is_empty() {
        bail!(
            "fuzzing found crashes in: {}\nReproduce with `cd fuzz && cargo fuzz run -s none TARGET INPUT`; once fixed, \
             keep the input as fuzz/regressions/TARGET/<what it shows> so that `cargo test` replays it",
            crashed.join(", ")
        );
    }
    eprintln!("\nfuzzing: {} targets, {} s each, no crash", targets.len(), options.seconds);
    Ok(())
}

/// The committed input directories of `target` that exist.
fn committed_inputs(dir: &Path, target: &str) -> Vec<PathBuf> {
    ["seeds", "regressions"].iter().map(|kind| dir.join(kind).join(target)).filter(|d| d.is_dir()).collect()
}

fn cargo_fuzz(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO"));
    command.arg("fuzz").args(args).current_dir(dir);
    command
}

fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("running {what}"))?;
    if !status.success() {
        bail!("{what} failed with {status}");
    }
    Ok(())
}

fn list_targets(dir: &Path) -> anyhow::Result<Vec<String>> {
    let output = cargo_fuzz(dir, &["list"]).output().context("running cargo fuzz list")?;
    if !output.status.success() {
        bail!("cargo fuzz list failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

fn install_cargo_fuzz() -> anyhow::Result<()> {
    let found = Command::new(env!("CARGO")).args(["fuzz", "--version"]).output();
    let version = found.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default();
    if version == format!("cargo-fuzz {CARGO_FUZZ_VERSION}") {
        return Ok(());
    }
    eprintln!("installing cargo-fuzz {CARGO_FUZZ_VERSION}");
    let mut install = Command::new(env!("CARGO"));
    install.args(["install", "cargo-fuzz", "--locked", "--version", CARGO_FUZZ_VERSION]);
    run(install, "cargo install cargo-fuzz")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn options_read_seconds_quick_and_targets() {
        let o = options(&args(&["--seconds", "5", "--quick", "jwt", "jwks"])).unwrap();
        assert_eq!((o.seconds, o.quick, o.targets), (5, true, args(&["jwt", "jwks"])));
        let o = options(&[]).unwrap();
        assert_eq!((o.seconds, o.quick, o.targets.len()), (DEFAULT_SECONDS, false, 0));
        assert!(options(&args(&["--seconds", "0"])).is_err());
        assert!(options(&args(&["--seconds"])).is_err());
        assert!(options(&args(&["--minutes", "3"])).is_err());
    }
}
