//! `portcullis check`: silent and successful on a clean database; on one holding rows made
//! under older rules (a brand key that is not lowercase, a username with a zero-width
//! character), it names each, as text or JSON, and exits non-zero.

use portcullis_core::{BrandKey, KeyId, ScopeSet, SigningAlgorithm};
use portcullis_store::{PoolSettings, SeaStore};
use portcullis_tenancy::{
    BrandScope, BrandSettings, BrandStore, KeyStatus, NewBrand, NewPrincipal, NewSigningKey, PrincipalKind,
    PrincipalStore,
};
use serde_json::Value;

use crate::fixture::Fixture;
use crate::principals::create;

#[tokio::test]
async fn check_reports_look_alike_identifiers() {
    let fixture = Fixture::sqlite();
    fixture.cli_json(&["brand", "create", "acme", "--json"]);
    assert!(create(&fixture, "user", "acme", "alice", "correct horse", &[]).status.success());
    let clean = fixture.cli(&["check"]);
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    assert_eq!(String::from_utf8_lossy(&clean.stdout).trim(), "no problems found");
    assert_eq!(fixture.cli_json(&["check", "--json"]), serde_json::json!({"findings": []}));

    // Rows as older versions could write them, straight through the store.
    let file = fixture.sqlite_files().into_iter().next().expect("the SQLite file");
    let store = SeaStore::connect(&format!("sqlite://{}", file.display()), PoolSettings::default()).await.unwrap();
    let key = NewSigningKey {
        kid: KeyId::parse("legacy-k1").unwrap(),
        algorithm: SigningAlgorithm::EdDSA,
        status: KeyStatus::Active,
        sealed_private_key: vec![1],
        public_jwk: "{}".into(),
    };
    let legacy = NewBrand {
        key: BrandKey::parse_existing("ACME").unwrap(),
        name: "Legacy".into(),
        settings: BrandSettings::default(),
    };
    let legacy = BrandScope::new(store.create_brand(legacy, key).await.unwrap());
    let hidden = NewPrincipal {
        id: "u-hidden".into(),
        kind: PrincipalKind::User,
        username: "bob\u{200b}".into(),
        password_hash: "$argon2id$stub".into(),
        permissions: ScopeSet::parse_delimited("read").unwrap(),
        email: None,
        name: None,
    };
    store.create_principal(&legacy, hidden).await.unwrap();
    drop(store.close().await);

    let text = fixture.cli(&["check"]);
    assert!(!text.status.success(), "problems make the exit code non-zero");
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("brand key 'ACME'"), "{stdout}");
    assert!(stdout.contains("U+200B") && stdout.contains("u-hidden"), "{stdout}");
    let json = fixture.cli(&["check", "--json"]);
    assert!(!json.status.success());
    let report: Value = serde_json::from_slice(&json.stdout).expect("one JSON object");
    let problems: Vec<&str> =
        report["findings"].as_array().unwrap().iter().map(|f| f["problem"].as_str().unwrap()).collect();
    assert_eq!(problems, ["brand_key", "username_invalid"], "{report}");
}
