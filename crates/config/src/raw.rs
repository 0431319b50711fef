//! The configuration as layered, before validation.

use serde::{Deserialize, Serialize};

/// Every key with its default, as strings and numbers straight from the layers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "the fields mirror the documented configuration keys one to one")]
pub struct RawSettings {
    pub database: RawDatabase,
    pub http: RawHttp,
    pub admin: RawAdmin,
    pub secrets: RawSecrets,
    pub tokens: RawTokens,
    pub keys: RawKeys,
    pub feed: RawFeed,
    pub metrics: RawMetrics,
    pub log: RawLog,
    pub audit: RawAudit,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "see RawSettings")]
pub struct RawMetrics {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub listen: Option<String>,
}

impl std::fmt::Debug for RawMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawMetrics")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("listen", &self.listen)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "see RawSettings")]
pub struct RawFeed {
    pub max_streams_per_client: usize,
    pub max_streams_per_address: usize,
    pub max_stream_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "see RawSettings")]
pub struct RawKeys {
    pub rotation_interval: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "see RawSettings")]
pub struct RawDatabase {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
    pub statement_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "see RawSettings")]
pub struct RawHttp {
    pub listen: String,
    pub public_url: String,
    pub max_body_bytes: usize,
    pub max_connections: usize,
    pub header_read_timeout_secs: u64,
    pub body_read_timeout_secs: u64,
    pub max_connections_per_address: usize,
    pub trusted_proxies: Vec<String>,
    #[serde(default)]
    pub tls: Option<RawTls>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "see RawSettings")]
pub struct RawTls {
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "see RawSettings")]
pub struct RawAdmin {
    pub listen: String,
    pub max_connections: usize,
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub tls: Option<RawTls>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "see RawSettings")]
pub struct RawSecrets {
    #[serde(default)]
    pub master_key: Option<String>,
    pub master_key_file: String,
}

impl std::fmt::Debug for RawSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSecrets")
            .field("master_key", &self.master_key.as_ref().map(|_| "[redacted]"))
            .field("master_key_file", &self.master_key_file)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "see RawSettings")]
pub struct RawTokens {
    pub access_ttl: u32,
    pub refresh_ttl: u32,
    pub refresh_reuse_grace: u32,
    pub retention: u32,
    pub session_ttl: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "see RawSettings")]
pub struct RawAudit {
    pub retention_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs, reason = "see RawSettings")]
pub struct RawLog {
    pub format: String,
    pub level: String,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            database: RawDatabase {
                url: "sqlite://portcullis.db".into(),
                max_connections: 16,
                acquire_timeout_secs: 5,
                statement_timeout_secs: 20,
            },
            http: RawHttp {
                listen: "127.0.0.1:8080".into(),
                public_url: "http://127.0.0.1:8080".into(),
                max_body_bytes: 64 * 1024,
                max_connections: 4096,
                header_read_timeout_secs: 10,
                body_read_timeout_secs: 10,
                max_connections_per_address: 256,
                trusted_proxies: Vec::new(),
                tls: None,
            },
            admin: RawAdmin {
                listen: "127.0.0.1:8081".into(),
                max_connections: 256,
                allowed_hosts: Vec::new(),
                tls: None,
            },
            secrets: RawSecrets { master_key: None, master_key_file: "portcullis.master.key".into() },
            tokens: RawTokens {
                access_ttl: 900,
                refresh_ttl: 30 * 24 * 3600,
                refresh_reuse_grace: 0,
                retention: 7 * 24 * 3600,
                session_ttl: 12 * 3600,
            },
            keys: RawKeys { rotation_interval: 90 * 24 * 3600 },
            metrics: RawMetrics { token: None, listen: None },
            feed: RawFeed { max_streams_per_client: 8, max_streams_per_address: 32, max_stream_secs: 300 },
            log: RawLog { format: "text".into(), level: "info,sea_orm_migration=warn".into() },
            audit: RawAudit { retention_days: 400 },
        }
    }
}
