//! Configuration, loaded once at start and passed explicitly (no globals).
//!
//! Layers, later wins: built-in defaults < `portcullis.toml` (or the file given with
//! `--config`) < environment variables `PORTCULLIS_…` with `__` between levels
//! (`PORTCULLIS_DATABASE__URL=postgres://…`). [`load`] extracts the layers into [`RawSettings`]
//! and [`RawSettings::validate`] turns them into typed [`Settings`]; every error names the key
//! and the expected form.

mod env_values;
mod network;
mod raw;
mod settings;

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};

pub use network::{InvalidNetwork, IpNetwork};
pub use raw::RawSettings;
pub use settings::{
    AdminSettings, AuditSettings, DatabaseSettings, FeedSettings, HttpSettings, KeySettings, LogFormat, LogSettings,
    MetricsSettings, SecretsSettings, Settings, TlsSettings, TokenSettings,
};

/// The configuration file read when `--config` is not given (ignored when missing).
pub const DEFAULT_FILE: &str = "portcullis.toml";

/// The environment prefix.
pub const ENV_PREFIX: &str = "PORTCULLIS_";

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value has the wrong form.
    #[error("configuration key `{key}`: expected {expected}, got {found}")]
    Invalid {
        /// Dotted key, e.g. `http.listen`.
        key: String,
        /// What would be accepted.
        expected: String,
        /// What was found (never a secret's value).
        found: String,
    },
    /// The explicitly named file does not exist.
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    /// A layer could not be read or a value has the wrong type.
    #[error("configuration: {0}")]
    Figment(String),
}

/// Result alias of this crate.
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;

/// The figment of every layer; `file` is the `--config` argument, if any. An environment
/// variable nested deeper than figment's parser can take is refused here.
pub fn figment(file: Option<&Path>) -> Result<Figment> {
    let mut figment = Figment::from(Serialized::defaults(RawSettings::default()));
    match file {
        Some(path) if !path.is_file() => return Err(ConfigError::MissingFile(path.display().to_string())),
        Some(path) => figment = figment.merge(Toml::file_exact(path)),
        None if Path::new(DEFAULT_FILE).is_file() => figment = figment.merge(Toml::file_exact(DEFAULT_FILE)),
        None => {}
    }
    // Every key is nested (`PORTCULLIS_HTTP__LISTEN`), so a prefixed variable without `__`, such
    // as the test suite's `PORTCULLIS_TEST_POSTGRES_URL`, is not configuration and is ignored;
    // a misspelt nested key is still refused as unknown.
    env_values::check_all(ENV_PREFIX)?;
    let env = Env::prefixed(ENV_PREFIX).filter(|key| key.as_str().contains("__")).split("__");
    Ok(figment.merge(env))
}

/// Loads and validates the configuration. `dev` relaxes the rule against plain-HTTP public
/// URLs on non-loopback hosts.
pub fn load(file: Option<&Path>, dev: bool) -> Result<Settings> {
    validated(figment(file)?, dev)
}

/// Validates one TOML document over the built-in defaults, without reading a file or the
/// environment (for tools and tests that hold a configuration in memory).
pub fn from_toml_str(text: &str, dev: bool) -> Result<Settings> {
    validated(Figment::from(Serialized::defaults(RawSettings::default())).merge(Toml::string(text)), dev)
}

fn validated(figment: Figment, dev: bool) -> Result<Settings> {
    let raw: RawSettings = figment.extract().map_err(|e| ConfigError::Figment(describe(&e)))?;
    raw.validate(dev)
}

/// A figment error, naming the key, with the input's control characters escaped (a TOML syntax
/// error quotes the offending line, under which a caret points at the column).
fn describe(error: &figment::Error) -> String {
    let mut out = String::new();
    for e in error.clone() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        let key = e.path.join(".");
        if key.is_empty() {
            out.push_str(&e.kind.to_string());
        } else {
            out.push_str(&format!("key `{key}`: {}", e.kind));
        }
    }
    settings::printable(&out, true)
}

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(test)]
mod tests;
