//! demo-api's configuration, read from `DEMO_API_…` environment variables.

use std::net::SocketAddr;
use std::time::Duration;

use portcullis_verifier::{
    ApiTokenCache, ClientCredentials, DEFAULT_BRAND_HEADER, FeedOutage, RevocationFeed, VerifierConfig,
};

/// A variable that is missing or malformed, named with the form it should have.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem} (expected {expected})")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong with it.
    pub problem: String,
    /// The form it must have.
    pub expected: &'static str,
}

/// Everything demo-api is told by its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DEMO_API_LISTEN` (default `127.0.0.1:8090`).
    pub listen: SocketAddr,
    /// `DEMO_API_ISSUER`: the brand's issuer URL.
    pub issuer: String,
    /// `DEMO_API_AUDIENCE` (required): the audience tokens must name, e.g. one given to
    /// `portcullis client create --audience` (RFC 9068 §4: a resource server must check `aud`).
    pub audience: String,
    /// `DEMO_API_CLIENT_ID` and `DEMO_API_CLIENT_SECRET` (or `…_FILE`): the demo's own client,
    /// for API tokens and the revocation feed; unset: Bearer tokens only, no feed. Its `Debug`
    /// never shows the secret.
    pub client: Option<ClientCredentials>,
    /// `DEMO_API_BRAND_HEADER` (default `X-Brand-Key`).
    pub brand_header: String,
    /// `DEMO_API_FEED_OUTAGE` (`keep-serving`, the default, or `fail-closed`) and
    /// `DEMO_API_FEED_GRACE_SECS` (default 30).
    pub on_outage: FeedOutage,
}

/// Where variables come from (the process environment, or a map in tests).
pub trait Env {
    /// The value of `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

fn bad(name: &'static str, problem: impl Into<String>, expected: &'static str) -> ConfigError {
    ConfigError { name, problem: problem.into(), expected }
}

/// A set, non-blank variable.
fn value(env: &impl Env, name: &'static str) -> Option<String> {
    env.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `NAME`, or the trimmed contents of the file `NAME_FILE` names (Docker/Compose secrets).
fn value_or_file(env: &impl Env, name: &'static str, file_name: &'static str) -> Result<Option<String>, ConfigError> {
    match (value(env, name), value(env, file_name)) {
        (Some(_), Some(_)) => Err(bad(name, format!("both {name} and {file_name} are set"), "only one of them")),
        (Some(v), None) => Ok(Some(v)),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| bad(file_name, format!("cannot read {path}: {e}"), "a readable file"))?;
            Ok(Some(text.trim().to_owned()).filter(|v| !v.is_empty()))
        }
        (None, None) => Ok(None),
    }
}

impl Config {
    /// Reads the configuration from `env`.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let listen = match value(env, "DEMO_API_LISTEN") {
            None => SocketAddr::from(([127, 0, 0, 1], 8090)),
            Some(text) => text.parse().map_err(|_| bad("DEMO_API_LISTEN", format!("'{text}'"), "HOST:PORT"))?,
        };
        let issuer = value(env, "DEMO_API_ISSUER").ok_or_else(|| {
            bad("DEMO_API_ISSUER", "not set", "the brand's issuer URL, e.g. http://127.0.0.1:8080/brands/acme")
        })?;
        let audience = value(env, "DEMO_API_AUDIENCE").ok_or_else(|| {
            bad(
                "DEMO_API_AUDIENCE",
                "not set; a resource server must check that tokens are meant for it (RFC 9068 §4), or it \
                 accepts tokens issued for every other resource server of the brand",
                "the audience this API answers to, which its callers' tokens carry in aud (an audience \
                 allowed with `portcullis client create --audience`), e.g. https://api.acme.example",
            )
        })?;
        let id = value_or_file(env, "DEMO_API_CLIENT_ID", "DEMO_API_CLIENT_ID_FILE")?;
        let secret = value_or_file(env, "DEMO_API_CLIENT_SECRET", "DEMO_API_CLIENT_SECRET_FILE")?;
        let client = match (id, secret) {
            (Some(id), Some(secret)) => Some(ClientCredentials::new(id, secret)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(bad("DEMO_API_CLIENT_SECRET", "not set", "the secret of DEMO_API_CLIENT_ID"));
            }
            (None, Some(_)) => return Err(bad("DEMO_API_CLIENT_ID", "not set", "the client whose secret is given")),
        };
        let grace = match value(env, "DEMO_API_FEED_GRACE_SECS") {
            None => Duration::from_secs(30),
            Some(text) => Duration::from_secs(
                text.parse().map_err(|_| bad("DEMO_API_FEED_GRACE_SECS", format!("'{text}'"), "whole seconds"))?,
            ),
        };
        let on_outage = match value(env, "DEMO_API_FEED_OUTAGE").as_deref() {
            None | Some("keep-serving") => FeedOutage::KeepServing,
            Some("fail-closed") => FeedOutage::FailClosed { grace },
            Some(other) => {
                return Err(bad("DEMO_API_FEED_OUTAGE", format!("'{other}'"), "keep-serving or fail-closed"));
            }
        };
        Ok(Self {
            listen,
            issuer,
            audience,
            client,
            brand_header: value(env, "DEMO_API_BRAND_HEADER").unwrap_or_else(|| DEFAULT_BRAND_HEADER.to_owned()),
            on_outage,
        })
    }

    /// The verifier's configuration: the audience and the brand header always; with the demo's
    /// client, API tokens and the revocation feed as well.
    pub fn verifier(&self) -> VerifierConfig {
        let mut config = VerifierConfig::new(self.issuer.as_str(), self.audience.as_str())
            .require_brand_header(self.brand_header.as_str());
        if let Some(client) = &self.client {
            config.client = Some(client.clone());
            config = config
                .api_tokens(ApiTokenCache::default())
                .revocation_feed(RevocationFeed { on_outage: self.on_outage, ..RevocationFeed::default() });
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Env {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name: &str| map.get(name).cloned()
    }

    const ISSUER: (&str, &str) = ("DEMO_API_ISSUER", "http://127.0.0.1:8080/brands/acme");
    const AUDIENCE: (&str, &str) = ("DEMO_API_AUDIENCE", "https://api.acme.example");

    #[test]
    fn the_issuer_and_the_audience_are_enough() {
        let config = Config::from_env(&env(&[ISSUER, AUDIENCE])).expect("ok");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8090");
        assert_eq!(config.brand_header, "X-Brand-Key");
        assert_eq!(config.audience, "https://api.acme.example");
        assert!(config.client.is_none());
        assert_eq!(config.on_outage, FeedOutage::KeepServing);
        let verifier = config.verifier();
        assert_eq!(verifier.audiences(), Some(&["https://api.acme.example".to_owned()][..]));
        assert!(verifier.api_tokens.is_none() && verifier.revocation_feed.is_none());
    }

    /// F5: without an audience demo-api does not start (it would accept every token of the brand).
    #[test]
    fn the_audience_is_required() {
        for pairs in [&[ISSUER][..], &[ISSUER, ("DEMO_API_AUDIENCE", "  ")]] {
            let error = Config::from_env(&env(pairs)).expect_err("no audience");
            assert_eq!(error.name, "DEMO_API_AUDIENCE");
            let message = error.to_string();
            assert!(message.starts_with("DEMO_API_AUDIENCE: not set") && message.contains("RFC 9068 §4"), "{message}");
        }
    }

    #[test]
    fn every_variable_is_read() {
        let dir = std::env::temp_dir().join(format!("demo-api-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let secret_file = dir.join("secret");
        std::fs::write(&secret_file, "s3cret\n").expect("write");
        let secret_path = secret_file.to_string_lossy().into_owned();
        let config = Config::from_env(&env(&[
            ("DEMO_API_LISTEN", "0.0.0.0:9000"),
            ("DEMO_API_ISSUER", "https://id.example.com/brands/acme"),
            ("DEMO_API_AUDIENCE", "https://api.example"),
            ("DEMO_API_CLIENT_ID", "abc"),
            ("DEMO_API_CLIENT_SECRET_FILE", &secret_path),
            ("DEMO_API_BRAND_HEADER", "X-RATOR-brand-key"),
            ("DEMO_API_FEED_OUTAGE", "fail-closed"),
            ("DEMO_API_FEED_GRACE_SECS", "5"),
        ]))
        .expect("ok");
        assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.client.as_ref().map(|c| c.id.as_str()), Some("abc"));
        assert!(!format!("{config:?}").contains("s3cret"), "Debug never shows the secret");
        let read = value_or_file(&env(&[("X_FILE", &secret_path)]), "X", "X_FILE").expect("readable");
        assert_eq!(read.as_deref(), Some("s3cret"), "trimmed file contents");
        assert_eq!(config.on_outage, FeedOutage::FailClosed { grace: Duration::from_secs(5) });
        let verifier = config.verifier();
        assert!(verifier.api_tokens.is_some() && verifier.revocation_feed.is_some());
        assert_eq!(verifier.brand_header.as_deref(), Some("X-RATOR-brand-key"));
        assert_eq!(verifier.audiences(), Some(&["https://api.example".to_owned()][..]));
        drop(std::fs::remove_dir_all(dir));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let (issuer, audience) = (ISSUER, AUDIENCE);
        let cases: [(&[(&str, &str)], &str); 9] = [
            (&[], "DEMO_API_ISSUER"),
            (&[audience], "DEMO_API_ISSUER"),
            (&[issuer], "DEMO_API_AUDIENCE"),
            (&[issuer, audience, ("DEMO_API_LISTEN", "nowhere")], "DEMO_API_LISTEN"),
            (&[issuer, audience, ("DEMO_API_CLIENT_ID", "abc")], "DEMO_API_CLIENT_SECRET"),
            (&[issuer, audience, ("DEMO_API_CLIENT_SECRET", "x")], "DEMO_API_CLIENT_ID"),
            (
                &[issuer, audience, ("DEMO_API_CLIENT_SECRET", "x"), ("DEMO_API_CLIENT_SECRET_FILE", "/x")],
                "DEMO_API_CLIENT_SECRET",
            ),
            (&[issuer, audience, ("DEMO_API_CLIENT_ID_FILE", "/nonexistent/id")], "DEMO_API_CLIENT_ID_FILE"),
            (&[issuer, audience, ("DEMO_API_FEED_OUTAGE", "maybe")], "DEMO_API_FEED_OUTAGE"),
        ];
        for (pairs, name) in cases {
            let error = Config::from_env(&env(pairs)).expect_err(name);
            assert_eq!(error.name, name, "{error}");
        }
    }
}
