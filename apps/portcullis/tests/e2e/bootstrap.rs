//! Scenario 1: the first `serve` on an empty database creates the `system` brand and reveals
//! its platform-admin client exactly once; `bootstrap` then refuses a second admin unless
//! forced.

use std::collections::BTreeSet;

use crate::fixture::{ClientCredentials, Fixture};
use crate::http::{Auth, Reply, client_credentials};

const ADMIN_SCOPE: &str = "platform:admin";

#[tokio::test]
async fn first_serve_reveals_the_platform_admin_once() {
    for fixture in Fixture::all().await {
        first_serve_reveals_the_platform_admin(&fixture).await;
    }
}

#[tokio::test]
async fn bootstrap_refuses_a_second_admin_unless_forced() {
    for fixture in Fixture::all().await {
        bootstrap_refuses_a_second_admin(&fixture).await;
    }
}

async fn first_serve_reveals_the_platform_admin(fixture: &Fixture) {
    let backend = fixture.name();
    let server = fixture.serve().await;
    let admin = server
        .revealed_admin()
        .unwrap_or_else(|| panic!("[{backend}] the first start revealed no admin: {:?}", server.banner()));
    assert_eq!(admin.brand, "system", "[{backend}]");
    assert!(admin.secret.starts_with("pcs_"), "[{backend}] unexpected secret format");
    let mentions = server.banner().iter().filter(|l| l.contains(&admin.secret)).count();
    assert_eq!(mentions, 1, "[{backend}] the secret must be printed exactly once");
    assert!(!server.stderr().contains(&admin.secret), "[{backend}] the secret must not appear in the logs");

    let token = admin_token(&server.token_url("system"), &admin).await;
    assert_eq!(token.assert_token()["scope"], ADMIN_SCOPE, "[{backend}]");

    // A restart finds the admin and reveals nothing; the revealed secret keeps working.
    drop(server);
    let server = fixture.serve().await;
    assert!(server.revealed_admin().is_none(), "[{backend}] a restart revealed a secret: {:?}", server.banner());
    assert!(!server.banner().iter().any(|l| l.contains("client_secret")), "[{backend}] {:?}", server.banner());
    admin_token(&server.token_url("system"), &admin).await.assert_token();
}

async fn bootstrap_refuses_a_second_admin(fixture: &Fixture) {
    let backend = fixture.name();
    let server = fixture.serve().await;
    let first = server.revealed_admin().unwrap_or_else(|| panic!("[{backend}] no admin revealed"));

    let refused = fixture.cli(&["bootstrap", "--json"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "[{backend}] a second bootstrap must fail");
    assert!(stderr.contains("a platform administrator already exists"), "[{backend}] unclear message: {stderr}");
    assert!(stderr.contains("--force-new-admin"), "[{backend}] the message must name the way out: {stderr}");
    assert!(refused.stdout.is_empty(), "[{backend}] a refused bootstrap printed: {:?}", refused.stdout);

    let forced = fixture.cli_json(&["bootstrap", "--json", "--force-new-admin"]);
    let keys: BTreeSet<&str> = forced.as_object().expect("an object").keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["brand_key", "client_id", "client_secret"]), "[{backend}] {forced}");
    let second = ClientCredentials::from_json(&forced);
    assert_eq!(second.brand, "system", "[{backend}]");
    assert_ne!(second.id, first.id, "[{backend}] a new admin needs a new id");
    assert_ne!(second.secret, first.secret, "[{backend}] a new admin needs a new secret");

    // Both admins work, on the running server, without a restart.
    for admin in [&first, &second] {
        let token = admin_token(&server.token_url("system"), admin).await;
        assert_eq!(token.assert_token()["scope"], ADMIN_SCOPE, "[{backend}]");
    }
}

/// A `platform:admin` token for `admin` at the `system` brand.
async fn admin_token(url: &str, admin: &ClientCredentials) -> Reply {
    client_credentials(url, Auth::Basic(admin), &[("scope", ADMIN_SCOPE)]).await
}
