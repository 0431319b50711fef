//! Validated, typed settings.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use url::{Host, Url};

use crate::network::IpNetwork;
use crate::raw::{RawSettings, RawTls};
use crate::{ConfigError, Result};

/// The longest token lifetime accepted in configuration (one year).
const MAX_TTL: u32 = 366 * 24 * 3600;

/// The most connections a listener may be configured to hold open.
const MAX_CONNECTIONS: usize = 1_000_000;

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `database.*`
    pub database: DatabaseSettings,
    /// `http.*`
    pub http: HttpSettings,
    /// `admin.*`
    pub admin: AdminSettings,
    /// `secrets.*`
    pub secrets: SecretsSettings,
    /// `tokens.*`
    pub tokens: TokenSettings,
    /// `keys.*`
    pub keys: KeySettings,
    /// `feed.*`
    pub feed: FeedSettings,
    /// `metrics.*`
    pub metrics: MetricsSettings,
    /// `log.*`
    pub log: LogSettings,
    /// `audit.*`
    pub audit: AuditSettings,
}

/// `database.*`
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// How long to wait for a connection (and, on SQLite, for the write lock).
    pub acquire_timeout: Duration,
    /// On Postgres, the longest one statement may run before the server cancels it.
    pub statement_timeout: Duration,
}

/// `http.*`: the public listener.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Base of issuer URLs, without a trailing slash.
    pub public_url: String,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Open connections at most; further clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// Longest a client may take to send a request's head, and longest an idle keep-alive
    /// connection is kept (both listeners).
    pub header_read_timeout: Duration,
    /// Longest a client may take to send a request's body, from the end of its head (both
    /// listeners); a slower body is refused.
    pub body_read_timeout: Duration,
    /// Connections one address may hold open at once, TLS handshakes included (both listeners);
    /// trusted proxies are exempt, since every client behind them shares their address.
    pub max_connections_per_address: usize,
    /// Peers whose `X-Forwarded-For` names the client (TLS-terminating proxies, load
    /// balancers); from any other peer the header is ignored. Applies to both listeners.
    pub trusted_proxies: Vec<IpNetwork>,
    /// When set, the public listener terminates TLS itself.
    pub tls: Option<TlsSettings>,
}

/// `http.tls.*` or `admin.tls.*`: PEM files of a listener that terminates TLS itself.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// Certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// `feed.*`: the revocation feed's held requests (event streams and long-polls).
#[derive(Debug, Clone, Copy)]
pub struct FeedSettings {
    /// Held at once by one client.
    pub max_streams_per_client: usize,
    /// Held at once from one address.
    pub max_streams_per_address: usize,
    /// Longest an event stream lives before the follower must reconnect.
    pub max_stream: Duration,
}

/// `metrics.*`: who may read the Prometheus metrics, and where.
#[derive(Clone)]
pub struct MetricsSettings {
    /// A Bearer token that may read `/metrics` (besides a `platform:admin` access token).
    pub token: Option<String>,
    /// A listener of its own for `/metrics` (plain HTTP; open unless `token` is set).
    pub listen: Option<SocketAddr>,
}

impl fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("listen", &self.listen)
            .finish()
    }
}

/// The shortest `metrics.token` accepted.
const MIN_METRICS_TOKEN: usize = 16;

/// `admin.*`: the admin listener.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Open connections at most.
    pub max_connections: usize,
    /// Host names (without port) the admin listener answers to: a request naming any other
    /// `Host` is refused, so that a web page cannot reach it through a rebound DNS name. By
    /// default: `localhost`, `127.0.0.1`, `::1` and the listen address.
    pub allowed_hosts: Vec<String>,
    /// When set, the admin listener terminates TLS itself.
    pub tls: Option<TlsSettings>,
}

/// `secrets.*`
#[derive(Clone)]
pub struct SecretsSettings {
    /// The base64 master key, when configured (validated to decode to 32 bytes).
    pub master_key: Option<String>,
    /// Where a generated master key is kept when none is configured.
    pub master_key_file: PathBuf,
}

impl fmt::Debug for SecretsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsSettings")
            .field("master_key", &self.master_key.as_ref().map(|_| "[redacted]"))
            .field("master_key_file", &self.master_key_file)
            .finish()
    }
}

/// `tokens.*`
#[derive(Debug, Clone, Copy)]
pub struct TokenSettings {
    /// Default access-token lifetime, seconds.
    pub access_ttl: u32,
    /// Default refresh-token lifetime, seconds.
    pub refresh_ttl: u32,
    /// Seconds during which a just-rotated refresh token is tolerated once more (0: never).
    pub refresh_reuse_grace: u32,
    /// Seconds that expired or revoked token records (and expired revocation-feed entries) are
    /// kept before background pruning deletes them (0: as soon as they expire).
    pub retention: u32,
    /// How long a browser stays signed in at a brand (single sign-on), seconds.
    pub session_ttl: u32,
}

/// `keys.*`
#[derive(Debug, Clone, Copy)]
pub struct KeySettings {
    /// Seconds a brand's key signs before it is rotated automatically; `None` disables
    /// automatic rotation (`keys.rotation_interval = 0`).
    pub rotation_interval: Option<u32>,
}

/// The longest audit retention accepted in configuration, days (a hundred years).
const MAX_AUDIT_RETENTION_DAYS: u32 = 36_500;

/// `audit.*`
#[derive(Debug, Clone, Copy)]
pub struct AuditSettings {
    /// Days an audit event is kept before background pruning deletes it; `None` keeps events
    /// for ever (`audit.retention_days = 0`).
    pub retention_days: Option<u32>,
}

/// `log.format`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `log.*`
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Line format.
    pub format: LogFormat,
    /// A tracing filter directive, e.g. `info` or `portcullis=debug,info`.
    pub level: String,
}

/// `text` with its control characters escaped (`\u{1b}`), so that a value echoed in an error
/// cannot drive the operator's terminal; `lines` keeps line feeds.
pub(crate) fn printable(text: &str, lines: bool) -> String {
    text.chars()
        .map(|c| if c.is_control() && !(lines && c == '\n') { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

fn invalid(key: &str, expected: &str, found: impl fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        expected: expected.into(),
        found: format!("'{}'", printable(&found.to_string(), false)),
    }
}

fn socket(key: &str, value: &str) -> Result<SocketAddr> {
    value.parse().map_err(|_| invalid(key, "an address and port such as 127.0.0.1:8080", value))
}

fn ttl(key: &str, value: u32) -> Result<u32> {
    if value == 0 || value > MAX_TTL {
        return Err(invalid(key, &format!("a number of seconds from 1 to {MAX_TTL}"), value));
    }
    Ok(value)
}

/// The admin listener's default host names: loopback by name and address, and the address it
/// listens on when that is a specific one.
fn default_allowed_hosts(listen: SocketAddr) -> Vec<String> {
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    let ip = listen.ip();
    if !ip.is_unspecified() && !hosts.contains(&ip.to_string()) {
        hosts.push(ip.to_string());
    }
    hosts
}

fn connections(key: &str, value: usize) -> Result<usize> {
    if !(1..=MAX_CONNECTIONS).contains(&value) {
        return Err(invalid(key, &format!("a number from 1 to {MAX_CONNECTIONS}"), value));
    }
    Ok(value)
}

/// Both files or neither; each must exist (whether they form a usable pair is checked when the
/// listener loads them).
fn tls_settings(prefix: &str, raw: Option<RawTls>) -> Result<Option<TlsSettings>> {
    let (cert_key, key_key) = (format!("{prefix}.cert_file"), format!("{prefix}.key_file"));
    match raw.map(|t| (t.cert_file, t.key_file)) {
        None | Some((None, None)) => Ok(None),
        Some((Some(cert), Some(key))) => {
            for (name, path) in [(&cert_key, &cert), (&key_key, &key)] {
                if !std::path::Path::new(path).is_file() {
                    return Err(invalid(name, "the path of a readable PEM file", path));
                }
            }
            Ok(Some(TlsSettings { cert_file: PathBuf::from(cert), key_file: PathBuf::from(key) }))
        }
        Some((Some(_), None)) => Err(invalid(&key_key, "a PEM private key to go with cert_file", "nothing")),
        Some((None, Some(_))) => Err(invalid(&cert_key, "a PEM certificate chain to go with key_file", "nothing")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl RawSettings {
    /// Validates every key. `dev` allows a plain-HTTP public URL on a non-loopback host.
    pub fn validate(self, dev: bool) -> Result<Settings> {
        let db = self.database;
        if !(db.url.starts_with("sqlite:") || db.url.starts_with("postgres://") || db.url.starts_with("postgresql://"))
        {
            let scheme = db.url.split(':').next().unwrap_or_default();
            return Err(invalid("database.url", "a sqlite://FILE or postgres://… URL", format!("{scheme}:…")));
        }
        if db.max_connections == 0 || db.max_connections > 1000 {
            return Err(invalid("database.max_connections", "a number from 1 to 1000", db.max_connections));
        }
        if db.acquire_timeout_secs == 0 || db.acquire_timeout_secs > 300 {
            return Err(invalid(
                "database.acquire_timeout_secs",
                "a number of seconds from 1 to 300",
                db.acquire_timeout_secs,
            ));
        }
        if db.statement_timeout_secs == 0 || db.statement_timeout_secs > 3600 {
            return Err(invalid(
                "database.statement_timeout_secs",
                "a number of seconds from 1 to 3600",
                db.statement_timeout_secs,
            ));
        }

        let listen = socket("http.listen", &self.http.listen)?;
        let admin_listen = socket("admin.listen", &self.admin.listen)?;
        if listen == admin_listen {
            return Err(invalid("admin.listen", "an address different from http.listen", admin_listen));
        }
        let public = Url::parse(&self.http.public_url)
            .map_err(|_| invalid("http.public_url", "an absolute http:// or https:// URL", &self.http.public_url))?;
        if !matches!(public.scheme(), "http" | "https") || public.host().is_none() {
            return Err(invalid("http.public_url", "an absolute http:// or https:// URL", &self.http.public_url));
        }
        if public.query().is_some() || public.fragment().is_some() || !public.username().is_empty() {
            return Err(invalid(
                "http.public_url",
                "a URL without query, fragment or credentials",
                &self.http.public_url,
            ));
        }
        if public.scheme() == "http" && !is_loopback(&public) && !dev {
            return Err(invalid(
                "http.public_url",
                "an https:// URL (plain http is allowed only on loopback, or with --dev)",
                &self.http.public_url,
            ));
        }
        let tls = tls_settings("http.tls", self.http.tls)?;
        let admin_tls = tls_settings("admin.tls", self.admin.tls)?;
        if self.http.max_body_bytes < 1024 || self.http.max_body_bytes > 16 * 1024 * 1024 {
            return Err(invalid("http.max_body_bytes", "a size from 1024 to 16777216 bytes", self.http.max_body_bytes));
        }
        let trusted_proxies = self
            .http
            .trusted_proxies
            .iter()
            .map(|block| {
                block
                    .parse()
                    .map_err(|_| invalid("http.trusted_proxies", "addresses or CIDR blocks such as 10.0.0.0/8", block))
            })
            .collect::<Result<Vec<IpNetwork>>>()?;
        let max_connections = connections("http.max_connections", self.http.max_connections)?;
        let admin_max_connections = connections("admin.max_connections", self.admin.max_connections)?;
        if !(1..=300).contains(&self.http.header_read_timeout_secs) {
            return Err(invalid(
                "http.header_read_timeout_secs",
                "a number of seconds from 1 to 300",
                self.http.header_read_timeout_secs,
            ));
        }

        if !(1..=300).contains(&self.http.body_read_timeout_secs) {
            return Err(invalid(
                "http.body_read_timeout_secs",
                "a number of seconds from 1 to 300",
                self.http.body_read_timeout_secs,
            ));
        }
        let per_address = connections("http.max_connections_per_address", self.http.max_connections_per_address)?;
        let feed = &self.feed;
        let per_client = connections("feed.max_streams_per_client", feed.max_streams_per_client)?;
        let streams_per_address = connections("feed.max_streams_per_address", feed.max_streams_per_address)?;
        if !(10..=86_400).contains(&feed.max_stream_secs) {
            return Err(invalid("feed.max_stream_secs", "a number of seconds from 10 to 86400", feed.max_stream_secs));
        }

        let metrics_token = match self.metrics.token {
            Some(token) if token.trim().len() < MIN_METRICS_TOKEN => {
                return Err(ConfigError::Invalid {
                    key: "metrics.token".into(),
                    expected: format!("a random string of at least {MIN_METRICS_TOKEN} characters"),
                    found: "a shorter value (not shown)".into(),
                });
            }
            token => token.map(|t| t.trim().to_owned()),
        };
        let metrics_listen = match &self.metrics.listen {
            None => None,
            Some(address) => Some(
                address
                    .parse::<SocketAddr>()
                    .map_err(|_| invalid("metrics.listen", "an address and port such as 127.0.0.1:9090", address))?,
            ),
        };
        let mut allowed_hosts = Vec::new();
        for host in &self.admin.allowed_hosts {
            let host = host.trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
            if host.is_empty() || (host.contains(['/', ' ', ':']) && host.parse::<IpAddr>().is_err()) {
                return Err(invalid("admin.allowed_hosts", "host names or addresses without a port", &host));
            }
            allowed_hosts.push(host);
        }
        if allowed_hosts.is_empty() {
            allowed_hosts = default_allowed_hosts(admin_listen);
        }

        if let Some(key) = &self.secrets.master_key {
            let decoded = base64::engine::general_purpose::STANDARD.decode(key.trim());
            if decoded.map(|d| d.len()) != Ok(32) {
                return Err(ConfigError::Invalid {
                    key: "secrets.master_key".into(),
                    expected: "32 random bytes in standard base64 (e.g. `openssl rand -base64 32`)".into(),
                    found: "a value of another length or encoding (not shown)".into(),
                });
            }
        }
        if self.secrets.master_key_file.trim().is_empty() {
            return Err(invalid("secrets.master_key_file", "a file path", ""));
        }

        let format = match self.log.format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(invalid("log.format", "text or json", other)),
        };

        Ok(Settings {
            database: DatabaseSettings {
                url: db.url,
                max_connections: db.max_connections,
                acquire_timeout: Duration::from_secs(db.acquire_timeout_secs),
                statement_timeout: Duration::from_secs(db.statement_timeout_secs),
            },
            http: HttpSettings {
                listen,
                public_url: public.as_str().trim_end_matches('/').to_owned(),
                max_body_bytes: self.http.max_body_bytes,
                max_connections,
                header_read_timeout: Duration::from_secs(self.http.header_read_timeout_secs),
                body_read_timeout: Duration::from_secs(self.http.body_read_timeout_secs),
                max_connections_per_address: per_address,
                trusted_proxies,
                tls,
            },
            admin: AdminSettings {
                listen: admin_listen,
                max_connections: admin_max_connections,
                allowed_hosts,
                tls: admin_tls,
            },
            metrics: MetricsSettings { token: metrics_token, listen: metrics_listen },
            secrets: SecretsSettings {
                master_key: self.secrets.master_key,
                master_key_file: PathBuf::from(self.secrets.master_key_file),
            },
            tokens: TokenSettings {
                access_ttl: ttl("tokens.access_ttl", self.tokens.access_ttl)?,
                refresh_ttl: ttl("tokens.refresh_ttl", self.tokens.refresh_ttl)?,
                session_ttl: ttl("tokens.session_ttl", self.tokens.session_ttl)?,
                refresh_reuse_grace: match self.tokens.refresh_reuse_grace {
                    grace @ 0..=60 => grace,
                    other => {
                        return Err(invalid("tokens.refresh_reuse_grace", "a number of seconds from 0 to 60", other));
                    }
                },
                retention: match self.tokens.retention {
                    retention @ 0..=MAX_TTL => retention,
                    other => {
                        return Err(invalid(
                            "tokens.retention",
                            &format!("a number of seconds from 0 to {MAX_TTL}"),
                            other,
                        ));
                    }
                },
            },
            keys: KeySettings {
                rotation_interval: match self.keys.rotation_interval {
                    0 => None,
                    interval @ 3600..=MAX_TTL => Some(interval),
                    other => {
                        return Err(invalid(
                            "keys.rotation_interval",
                            &format!("0 (never) or a number of seconds from 3600 to {MAX_TTL}"),
                            other,
                        ));
                    }
                },
            },
            feed: FeedSettings {
                max_streams_per_client: per_client,
                max_streams_per_address: streams_per_address,
                max_stream: Duration::from_secs(feed.max_stream_secs),
            },
            log: LogSettings { format, level: self.log.level },
            audit: AuditSettings {
                retention_days: match self.audit.retention_days {
                    0 => None,
                    days @ 1..=MAX_AUDIT_RETENTION_DAYS => Some(days),
                    other => {
                        return Err(invalid(
                            "audit.retention_days",
                            &format!("0 (keep for ever) or a number of days from 1 to {MAX_AUDIT_RETENTION_DAYS}"),
                            other,
                        ));
                    }
                },
            },
        })
    }
}
