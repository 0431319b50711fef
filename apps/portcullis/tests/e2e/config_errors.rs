//! Scenario 6: configuration errors. `serve` with an invalid value exits non-zero before
//! touching anything, and its message names the configuration key at fault.

use std::process::Output;

use crate::fixture::{Fixture, run_to_completion};

#[tokio::test]
async fn invalid_environment_values_name_their_key() {
    let cases = [
        ("PORTCULLIS_HTTP__LISTEN", "garbage", "http.listen"),
        ("PORTCULLIS_TOKENS__ACCESS_TTL", "0", "tokens.access_ttl"),
        ("PORTCULLIS_TOKENS__ACCESS_TTL", "soon", "tokens.access_ttl"),
        ("PORTCULLIS_TOKENS__REFRESH_TTL", "99999999", "tokens.refresh_ttl"),
        ("PORTCULLIS_ADMIN__LISTEN", "127.0.0.1:99999", "admin.listen"),
        ("PORTCULLIS_HTTP__PUBLIC_URL", "ftp://example.com", "http.public_url"),
        ("PORTCULLIS_HTTP__PUBLIC_URL", "http://auth.example.com", "http.public_url"),
        ("PORTCULLIS_DATABASE__URL", "mysql://localhost/portcullis", "database.url"),
        ("PORTCULLIS_LOG__FORMAT", "xml", "log.format"),
        ("PORTCULLIS_SECRETS__MASTER_KEY", "c2hvcnQ=", "secrets.master_key"),
    ];
    for fixture in Fixture::all().await {
        for (variable, value, key) in cases {
            let mut command = fixture.command(&["serve"]);
            command.env(variable, value);
            let what = format!("[{}] {variable}={value}", fixture.name());
            assert_refused(&run_to_completion(command), key, &what);
        }
        assert!(!fixture.master_key_file().exists(), "[{}] a refused start generated a master key", fixture.name());
    }
}

#[tokio::test]
async fn invalid_configuration_files_are_refused() {
    let fixture = Fixture::sqlite();
    let file = tempfile::NamedTempFile::new().expect("a configuration file");
    std::fs::write(file.path(), "[tokens]\naccess_ttl = 0\n").expect("write the configuration file");
    let path = file.path().to_str().expect("a UTF-8 path");
    assert_refused(&fixture.cli(&["--config", path, "serve"]), "tokens.access_ttl", "access_ttl = 0 in --config");
    assert_refused(
        &fixture.cli(&["--config", "/nonexistent/portcullis.toml", "serve"]),
        "/nonexistent/portcullis.toml",
        "a missing --config file",
    );
}

/// The command failed without starting, and its error names `key`.
fn assert_refused(output: &Output, key: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{what}: the server started; stdout: {stdout}");
    assert!(stderr.contains(key), "{what}: the error does not name `{key}`: {stderr}");
    assert!(stderr.starts_with("error: "), "{what}: not an error message: {stderr}");
    assert!(!stdout.contains("listener on"), "{what}: a listener started: {stdout}");
}
