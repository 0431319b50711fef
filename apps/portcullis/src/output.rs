//! Everything the CLI prints. Secrets are printed only here, by the command that created them.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "this module is the CLI's output")]

use serde::Serialize;

/// Prints one JSON object on stdout.
pub fn json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// Prints lines on stdout.
pub fn lines(lines: &[String]) {
    for line in lines {
        println!("{line}");
    }
}

/// Prints an error on stderr.
pub fn error(message: &str) {
    eprintln!("error: {message}");
}

/// Prints a warning on stderr (for things an operator must see even without logs).
pub fn warning(message: &str) {
    eprintln!("WARNING: {message}");
}
