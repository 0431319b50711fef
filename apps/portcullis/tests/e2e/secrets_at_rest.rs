//! Scenario 5: secrets at rest. After clients are created and tokens issued, neither a client
//! secret nor an access token appears anywhere in the SQLite database files, and the generated
//! master key file is private to its owner.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::fixture::{ClientCredentials, Fixture};
use crate::http::{Auth, client_credentials};

#[tokio::test]
async fn client_secrets_and_tokens_are_not_stored_in_clear() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    let mut clients = vec![
        fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read", "--default-scope", "read"]),
        fixture.create_client("acme", &["--grant", "client_credentials", "--audience", "https://api.example.com"]),
    ];
    let server = fixture.serve().await;
    clients.push(server.revealed_admin().expect("the first start reveals the admin"));
    clients.push(ClientCredentials::from_json(&fixture.cli_json(&["bootstrap", "--json", "--force-new-admin"])));

    let mut tokens = Vec::new();
    for client in &clients {
        for auth in [Auth::Basic(client), Auth::Post(client)] {
            tokens.push(client_credentials(&server.token_url(&client.brand), auth, &[]).await.access_token());
        }
    }
    drop(server);

    let files = fixture.sqlite_files();
    assert!(files.iter().any(|f| f.ends_with("portcullis.db")), "no database file among {files:?}");
    let stored: Vec<u8> = files.iter().flat_map(|f| read(f)).collect();

    for client in &clients {
        // The client is there (so these are the right bytes), its secret is not.
        assert!(contains(&stored, client.id.as_bytes()), "client {} is not in the database", client.id);
        let random_part = client.secret.strip_prefix("pcs_").expect("a prefixed secret");
        assert!(!contains(&stored, client.secret.as_bytes()), "the secret of {} is stored in clear", client.id);
        assert!(!contains(&stored, random_part.as_bytes()), "the secret of {} is stored without prefix", client.id);
    }
    for token in &tokens {
        let jti = jti_of(token);
        assert!(contains(&stored, jti.as_bytes()), "token {jti} was not recorded");
        assert!(!contains(&stored, token.as_bytes()), "access token {jti} is stored in clear");
        let signature = token.rsplit('.').next().expect("a signature");
        assert!(!contains(&stored, signature.as_bytes()), "the signature of {jti} is stored");
    }

    let key_file = fixture.master_key_file();
    assert_private(&key_file);
    let encoded = String::from_utf8(read(&key_file)).expect("a base64 key file");
    let raw = STANDARD.decode(encoded.trim()).expect("standard base64");
    assert_eq!(raw.len(), 32, "the master key is 32 bytes");
    assert!(!contains(&stored, encoded.trim().as_bytes()), "the master key is stored in the database");
    assert!(!contains(&stored, &raw), "the raw master key is stored in the database");
    warns_when_others_may_read(&fixture, &key_file);
}

/// SECURITY.md F24: a key file that group or others may read is used, with a warning.
#[cfg(unix)]
fn warns_when_others_may_read(fixture: &crate::fixture::Fixture, key_file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let quiet = fixture.cli(&["brand", "create", "quiet", "--json"]);
    assert!(quiet.status.success() && !String::from_utf8_lossy(&quiet.stderr).contains("chmod 600"), "{quiet:?}");
    std::fs::set_permissions(key_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let warned = fixture.cli(&["brand", "create", "warned", "--json"]);
    assert!(warned.status.success(), "{warned:?}");
    assert!(String::from_utf8_lossy(&warned.stderr).contains("has mode 644"), "{warned:?}");
}

#[cfg(not(unix))]
fn warns_when_others_may_read(_: &crate::fixture::Fixture, _: &Path) {}

#[cfg(unix)]
fn assert_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(metadata.is_file(), "{} is not a file", path.display());
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600, "{} must be readable by its owner only", path.display());
}

#[cfg(not(unix))]
fn assert_private(path: &Path) {
    assert!(path.is_file(), "{} is not a file", path.display());
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}

/// The `jti` claim of a token, unverified.
fn jti_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("a compact JWS");
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims");
    claims["jti"].as_str().expect("jti").to_owned()
}

/// Introspects `token` at `server` with `client`; returns `active`.
async fn active(server: &crate::fixture::Server, client: &ClientCredentials, token: &str) -> bool {
    let url = format!("{}/brands/{}/oauth/introspect", server.public_url, client.brand);
    let reply = crate::http::request_token(&url, Auth::Basic(client), &[("token", token)]).await;
    reply.body()["active"] == true
}

#[tokio::test]
async fn the_master_key_rotates_without_invalidating_tokens() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        fixture.create_brand("acme", &[]);
        let app = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
        let server = fixture.serve().await;
        let before = client_credentials(&server.token_url("acme"), Auth::Basic(&app), &[]).await.access_token();
        drop(server); // every server stops first

        let mut random = [0_u8; 32];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").expect("urandom"), &mut random)
            .expect("random bytes");
        let new_key = fixture.master_key_file().with_file_name("new.master.key");
        std::fs::write(&new_key, STANDARD.encode(random)).expect("write the new key");
        let new_key_path = new_key.to_string_lossy().into_owned();

        let refused =
            fixture.cli(&["master-key", "rotate", "--new-key-file", &fixture.master_key_file().to_string_lossy()]);
        assert!(!refused.status.success(), "[{backend}] rotating to the same key is refused");
        let missing = fixture.cli(&["master-key", "rotate", "--new-key-file", "/nonexistent/key"]);
        assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/key"), "[{backend}] names the file");

        let rotated = fixture.cli_json(&["master-key", "rotate", "--new-key-file", &new_key_path, "--json"]);
        // system and acme, each with an active and a next key.
        assert_eq!(rotated["resealed_keys"], 4, "[{backend}] {rotated}");

        let old = fixture.cli(&["brand", "create", "globex", "--json"]);
        assert!(!old.status.success(), "[{backend}] the old key no longer opens the database");
        assert!(String::from_utf8_lossy(&old.stderr).contains("master key"), "[{backend}] says why");

        let server = fixture.serve_with(&[("PORTCULLIS_SECRETS__MASTER_KEY_FILE", &new_key_path)]).await;
        assert!(active(&server, &app, &before).await, "[{backend}] a token from before the rotation is still valid");
        let after = client_credentials(&server.token_url("acme"), Auth::Basic(&app), &[]).await.access_token();
        assert!(active(&server, &app, &after).await, "[{backend}] new tokens are signed and verified");
        let ready = crate::http::get(&format!("{}/readyz", server.public_url)).await;
        assert_eq!(ready.status, 200, "[{backend}] {}", ready.text);
    }
}
