//! Configuration tests, each in a `figment::Jail` (its own directory and environment).
#![allow(clippy::unwrap_used)]
#![allow(clippy::result_large_err, reason = "figment::Jail closures return figment::Error, which is large")]

use figment::Jail;

use crate::{ConfigError, LogFormat, load};

fn error_text(result: crate::Result<crate::Settings>) -> String {
    result.map(|_| ()).unwrap_err().to_string()
}

#[test]
fn defaults_run_on_embedded_sqlite_on_loopback() {
    Jail::expect_with(|_| {
        let s = load(None, false).unwrap();
        assert_eq!(s.database.url, "sqlite://portcullis.db");
        assert_eq!(s.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.admin.listen.to_string(), "127.0.0.1:8081");
        assert_eq!(s.http.public_url, "http://127.0.0.1:8080");
        assert_eq!(s.tokens.access_ttl, 900);
        assert_eq!(s.tokens.refresh_ttl, 30 * 24 * 3600);
        assert_eq!(s.tokens.session_ttl, 12 * 3600);
        assert_eq!(s.log.format, LogFormat::Text);
        assert!(s.secrets.master_key.is_none());
        assert_eq!((s.http.max_connections, s.admin.max_connections), (4096, 256));
        assert_eq!(s.http.header_read_timeout.as_secs(), 10);
        assert_eq!((s.database.acquire_timeout.as_secs(), s.database.statement_timeout.as_secs()), (5, 20));
        assert!(s.http.tls.is_none() && s.admin.tls.is_none());
        assert!(s.http.trusted_proxies.is_empty());
        Ok(())
    });
}

#[test]
fn file_then_environment_override() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "portcullis.toml",
            "[tokens]\naccess_ttl = 60\n[http]\npublic_url = \"https://id.example.com/\"\n",
        )?;
        jail.set_env("PORTCULLIS_TOKENS__ACCESS_TTL", "120");
        jail.set_env("PORTCULLIS_DATABASE__URL", "postgres://u@db/portcullis");
        let s = load(None, false).unwrap();
        assert_eq!(s.tokens.access_ttl, 120);
        assert_eq!(s.http.public_url, "https://id.example.com");
        assert_eq!(s.database.url, "postgres://u@db/portcullis");
        Ok(())
    });
}

#[test]
fn bad_values_name_their_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("PORTCULLIS_HTTP__LISTEN", "nowhere", "http.listen"),
        ("PORTCULLIS_ADMIN__LISTEN", "127.0.0.1:8080", "admin.listen"),
        ("PORTCULLIS_DATABASE__URL", "mysql://x", "database.url"),
        ("PORTCULLIS_TOKENS__ACCESS_TTL", "0", "tokens.access_ttl"),
        ("PORTCULLIS_TOKENS__ACCESS_TTL", "soon", "tokens.access_ttl"),
        ("PORTCULLIS_LOG__FORMAT", "xml", "log.format"),
        ("PORTCULLIS_TOKENS__REFRESH_REUSE_GRACE", "600", "tokens.refresh_reuse_grace"),
        ("PORTCULLIS_TOKENS__RETENTION", "99999999", "tokens.retention"),
        ("PORTCULLIS_TOKENS__RETENTION", "-1", "tokens.retention"),
        ("PORTCULLIS_TOKENS__SESSION_TTL", "0", "tokens.session_ttl"),
        ("PORTCULLIS_KEYS__ROTATION_INTERVAL", "60", "keys.rotation_interval"),
        ("PORTCULLIS_SECRETS__MASTER_KEY", "c2hvcnQ=", "secrets.master_key"),
        ("PORTCULLIS_HTTP__PUBLIC_URL", "ftp://x", "http.public_url"),
        ("PORTCULLIS_HTTP__PUBLIC_URL", "http://id.example.com", "http.public_url"),
        ("PORTCULLIS_HTTP__TLS__CERT_FILE", "/etc/cert.pem", "http.tls.key_file"),
        ("PORTCULLIS_ADMIN__TLS__KEY_FILE", "/etc/key.pem", "admin.tls.cert_file"),
        ("PORTCULLIS_HTTP__MAX_CONNECTIONS", "0", "http.max_connections"),
        ("PORTCULLIS_ADMIN__MAX_CONNECTIONS", "many", "admin.max_connections"),
        ("PORTCULLIS_HTTP__HEADER_READ_TIMEOUT_SECS", "0", "http.header_read_timeout_secs"),
        ("PORTCULLIS_HTTP__TRUSTED_PROXIES", "[\"10.0.0.0/33\"]", "http.trusted_proxies"),
        ("PORTCULLIS_DATABASE__STATEMENT_TIMEOUT_SECS", "0", "database.statement_timeout_secs"),
        ("PORTCULLIS_DATABASE__STATEMENT_TIMEOUT_SECS", "3601", "database.statement_timeout_secs"),
        ("PORTCULLIS_DATABASE__STATEMENT_TIMEOUT_SECS", "soon", "database.statement_timeout_secs"),
    ];
    for (var, value, key) in cases {
        Jail::expect_with(|jail| {
            jail.set_env(var, value);
            let text = error_text(load(None, false));
            assert!(text.contains(key), "{var}={value}: {text}");
            Ok(())
        });
    }
}

#[test]
fn secrets_are_not_echoed() {
    Jail::expect_with(|jail| {
        jail.set_env("PORTCULLIS_SECRETS__MASTER_KEY", "c2VjcmV0LXZhbHVl");
        let text = error_text(load(None, false));
        assert!(!text.contains("c2VjcmV0LXZhbHVl"), "{text}");
        Ok(())
    });
}

#[test]
fn unrelated_prefixed_variables_are_ignored_but_nested_typos_are_not() {
    Jail::expect_with(|jail| {
        jail.set_env("PORTCULLIS_TEST_POSTGRES_URL", "postgres://x");
        assert!(load(None, false).is_ok());
        jail.set_env("PORTCULLIS_DATABSE__URL", "postgres://x");
        assert!(error_text(load(None, false)).contains("databse"));
        Ok(())
    });
}

#[test]
fn tls_needs_both_files_and_they_must_exist() {
    Jail::expect_with(|jail| {
        jail.create_file("cert.pem", "x")?;
        jail.create_file("key.pem", "x")?;
        jail.set_env("PORTCULLIS_HTTP__TLS__CERT_FILE", "cert.pem");
        jail.set_env("PORTCULLIS_HTTP__TLS__KEY_FILE", "missing.pem");
        assert!(error_text(load(None, false)).contains("http.tls.key_file"));
        jail.set_env("PORTCULLIS_HTTP__TLS__KEY_FILE", "key.pem");
        let tls = load(None, false).unwrap().http.tls.unwrap();
        assert_eq!(tls.cert_file, std::path::PathBuf::from("cert.pem"));

        jail.set_env("PORTCULLIS_ADMIN__TLS__CERT_FILE", "cert.pem");
        jail.set_env("PORTCULLIS_ADMIN__TLS__KEY_FILE", "gone.pem");
        assert!(error_text(load(None, false)).contains("admin.tls.key_file"));
        jail.set_env("PORTCULLIS_ADMIN__TLS__KEY_FILE", "key.pem");
        let admin = load(None, false).unwrap().admin.tls.unwrap();
        assert_eq!(admin.key_file, std::path::PathBuf::from("key.pem"));
        Ok(())
    });
}

#[test]
fn dev_allows_plain_http_elsewhere() {
    Jail::expect_with(|jail| {
        jail.set_env("PORTCULLIS_HTTP__PUBLIC_URL", "http://portcullis:8080");
        assert!(load(None, true).is_ok());
        Ok(())
    });
}

#[test]
fn unknown_keys_and_missing_files_are_reported() {
    Jail::expect_with(|jail| {
        jail.create_file("portcullis.toml", "[http]\nlisten_on = \"x\"\n")?;
        let text = error_text(load(None, false));
        assert!(text.contains("listen_on"), "{text}");
        Ok(())
    });
    Jail::expect_with(|_| {
        let missing = load(Some(std::path::Path::new("nope.toml")), false);
        assert!(matches!(missing, Err(ConfigError::MissingFile(_))));
        Ok(())
    });
}

#[test]
fn trusted_proxies_are_address_blocks() {
    Jail::expect_with(|jail| {
        jail.set_env("PORTCULLIS_HTTP__TRUSTED_PROXIES", "[\"10.0.0.0/8\", \"2001:db8::1\"]");
        let proxies = load(None, false).unwrap().http.trusted_proxies;
        let shown: Vec<String> = proxies.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "2001:db8::1/128"]);
        Ok(())
    });
}

/// Nesting 100,000 deep, in the file or in an environment variable, is an error like any other
/// malformed value: the parsers behind figment bound their recursion (a stack overflow would
/// abort the process instead).
#[test]
fn deeply_nested_values_are_errors_not_crashes() {
    let deep = format!("{}\"10.0.0.0/8\"{}", "[".repeat(100_000), "]".repeat(100_000));
    Jail::expect_with(|jail| {
        jail.create_file("portcullis.toml", &format!("[http]\ntrusted_proxies = {deep}\n"))?;
        assert!(load(None, false).is_err());
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("PORTCULLIS_HTTP__TRUSTED_PROXIES", &deep);
        assert!(load(None, false).is_err());
        Ok(())
    });
    let inline_tables = format!("[http]\ntls = {}{}\n", "{a = ".repeat(100_000), "}".repeat(100_000));
    Jail::expect_with(|jail| {
        jail.create_file("portcullis.toml", &inline_tables)?;
        assert!(load(None, false).is_err());
        Ok(())
    });
}

#[test]
fn audit_retention_defaults_to_400_days_and_is_validated() {
    Jail::expect_with(|jail| {
        assert_eq!(load(None, false).unwrap().audit.retention_days, Some(400));
        jail.set_env("PORTCULLIS_AUDIT__RETENTION_DAYS", "0");
        assert_eq!(load(None, false).unwrap().audit.retention_days, None, "0 keeps events for ever");
        jail.set_env("PORTCULLIS_AUDIT__RETENTION_DAYS", "30");
        assert_eq!(load(None, false).unwrap().audit.retention_days, Some(30));
        for bad in ["36501", "-1", "soon"] {
            jail.set_env("PORTCULLIS_AUDIT__RETENTION_DAYS", bad);
            let text = error_text(load(None, false));
            assert!(text.contains("audit.retention_days"), "{bad}: {text}");
        }
        Ok(())
    });
}
