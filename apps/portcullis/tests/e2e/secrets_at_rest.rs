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
}

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
