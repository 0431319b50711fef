//! Entry point of the `config_toml` fuzz target in `fuzz/` (feature `fuzzing`; not a public
//! API). The unit test replays every file under `fuzz/seeds/config_toml/` and
//! `fuzz/regressions/config_toml/`, so a crash the fuzzer once found stays fixed in `cargo test`.
//!
//! Invariants checked, for any bytes read as a configuration file:
//! * loading never panics, with or without `--dev`;
//! * `--dev` only relaxes: what loads without it loads with it, to the same settings;
//! * every error is printable text of bounded length (it reaches an operator's terminal): no
//!   control character but the line feeds of a TOML syntax error's excerpt, which point at the
//!   offending column.

use crate::{ConfigError, from_toml_str};

/// Longest error message loading may produce: a figment error names every bad key, so allow a
/// few lines' worth.
const MAX_MESSAGE: usize = 8 * 1024;

/// A configuration file's contents.
pub fn config_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let strict = from_toml_str(text, false);
    let dev = from_toml_str(text, true);
    for error in [strict.as_ref().err(), dev.as_ref().err()].into_iter().flatten() {
        check_message(error);
    }
    if let Ok(settings) = &strict {
        let relaxed = dev.as_ref().expect("--dev refused a configuration that loads without it");
        assert_eq!(format!("{settings:?}"), format!("{relaxed:?}"), "--dev changed a valid configuration");
    }
}

fn check_message(error: &ConfigError) {
    let message = error.to_string();
    assert!(!message.is_empty() && message.len() <= MAX_MESSAGE, "message of {} bytes", message.len());
    let multi_line_allowed = matches!(error, ConfigError::Figment(_));
    let control = |c: char| c.is_control() && !(c == '\n' && multi_line_allowed);
    assert!(!message.chars().any(control), "control characters in {message:?}");
}

/// The committed inputs' replay, shared by every crate with fuzz targets.
#[cfg(test)]
#[path = "../../../fuzz/replay.rs"]
mod replay;

#[cfg(test)]
mod tests {
    use super::replay::replay;
    use super::*;

    /// Every committed seed and regression input passes the target's invariants.
    #[test]
    fn fuzz_seeds_and_regressions_replay() {
        replay(&[("config_toml", config_toml)]);
    }
}
