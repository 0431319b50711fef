//! Several instances, one database: two `serve` processes of the same deployment (same
//! database, master key and public URL, their own ports) agree on every token. A token issued
//! by one introspects active at the other; a revocation made at one reaches a long-poll
//! follower of the other's revocation feed within its database polling interval, and the other
//! then introspects the token as inactive.
//!
//! Production runs several instances on Postgres; two on one SQLite file (WAL mode) work too.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fixture::{ClientCredentials, Fixture, Server};
use crate::http::{self, Auth, Reply, client_credentials, request_token};

/// How long the follower's long-poll may wait, seconds.
const WAIT: u64 = 20;

/// A sanity bound on how long a revocation takes to reach the other instance's follower (the
/// feed is polled every 200 ms): generous, not a performance requirement.
const PROPAGATION_BOUND: Duration = Duration::from_secs(5);

#[tokio::test]
async fn two_servers_share_one_postgres_database() {
    let Some(fixture) = Fixture::postgres().await else {
        eprintln!("no Postgres test server configured: skipped");
        return;
    };
    two_servers_share_one_database(&fixture).await;
}

#[tokio::test]
async fn two_servers_share_one_sqlite_file() {
    two_servers_share_one_database(&Fixture::sqlite()).await;
}

async fn two_servers_share_one_database(fixture: &Fixture) {
    let backend = fixture.name();
    fixture.create_brand("acme", &[]);
    let app = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
    let api = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
    let a = fixture.serve().await;
    assert!(a.revealed_admin().is_some(), "[{backend}] the first instance bootstraps");
    let sibling = fixture.sibling();
    let b = sibling.serve().await;
    assert!(b.revealed_admin().is_none(), "[{backend}] the second instance found the admin: {:?}", b.banner());
    assert_ne!(a.public_url, b.public_url, "[{backend}] two listeners");

    // Tokens from either instance are active at the other, with the same issuer.
    let token = client_credentials(&a.token_url("acme"), Auth::Basic(&app), &[]).await.access_token();
    let seen = introspect(&b, &api, &token).await;
    assert_eq!(seen.body()["active"], true, "[{backend}] A's token at B: {}", seen.text);
    assert_eq!(seen.body()["client_id"], app.id.as_str(), "[{backend}]");
    assert_eq!(seen.body()["iss"], fixture.issuer("acme").as_str(), "[{backend}]");
    let jti = seen.body()["jti"].as_str().expect("jti").to_owned();
    let from_b = client_credentials(&b.token_url("acme"), Auth::Basic(&app), &[]).await.access_token();
    let seen = introspect(&a, &api, &from_b).await;
    assert_eq!(seen.body()["active"], true, "[{backend}] B's token at A: {}", seen.text);

    // A follower of B, waiting from the current end of the feed, hears of a revocation at A.
    let cursor = feed_page(&b, &api, "0", 0).await["cursor"].as_str().expect("cursor").to_owned();
    let follower = {
        let (b, api, cursor) = (b.public_url.clone(), api.clone(), cursor.clone());
        tokio::spawn(async move {
            let page = feed_page_at(&b, &api, &cursor, WAIT).await;
            (page, Instant::now())
        })
    };
    // Let the long-poll reach B and start waiting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!follower.is_finished(), "[{backend}] the long-poll answered before any revocation");
    let revoking = Instant::now();
    let revoked = request_token(&revoke_url(&a), Auth::Basic(&app), &[("token", &token)]).await;
    let acknowledged = Instant::now();
    assert_eq!(revoked.status.as_u16(), 200, "[{backend}] revocation at A: {}", revoked.text);
    let (page, heard) = tokio::time::timeout(Duration::from_secs(WAIT + 10), follower)
        .await
        .expect("the long-poll ends")
        .expect("follower task");
    let latency = heard.saturating_duration_since(acknowledged);
    eprintln!(
        "[{backend}] a revocation at A ({:?} to its 200) reached a long-poll follower of B {latency:?} after the 200",
        acknowledged - revoking
    );
    let entries = page["revocations"].as_array().unwrap_or_else(|| panic!("[{backend}] not a page: {page}"));
    assert!(!entries.is_empty(), "[{backend}] the long-poll ended without the revocation: {page}");
    assert_eq!(entries[0]["kind"], "token", "[{backend}] {page}");
    assert_eq!(entries[0]["value"], jti.as_str(), "[{backend}] {page}");
    assert_ne!(page["cursor"], cursor.as_str(), "[{backend}] the cursor moves on: {page}");
    assert!(latency < PROPAGATION_BOUND, "[{backend}] the revocation took {latency:?} to reach B's follower");

    // Both instances now refuse the token; the other one is untouched.
    for (name, server) in [("B", &b), ("A", &a)] {
        let seen = introspect(server, &api, &token).await;
        assert_eq!(seen.status.as_u16(), 200, "[{backend}] {}", seen.text);
        assert_eq!(seen.body(), &json!({"active": false}), "[{backend}] the revoked token at {name}");
    }
    assert_eq!(introspect(&b, &api, &from_b).await.body()["active"], true, "[{backend}] B's own token");
}

/// An introspection request by `creds` at `server`.
pub(crate) async fn introspect(server: &Server, creds: &ClientCredentials, token: &str) -> Reply {
    let url = format!("{}/brands/{}/oauth/introspect", server.public_url, creds.brand);
    request_token(&url, Auth::Basic(creds), &[("token", token)]).await
}

/// The revocation endpoint of `acme` at `server`.
fn revoke_url(server: &Server) -> String {
    format!("{}/brands/acme/oauth/revoke", server.public_url)
}

/// One page of `server`'s revocation feed after `after`, waiting up to `wait` seconds.
async fn feed_page(server: &Server, creds: &ClientCredentials, after: &str, wait: u64) -> Value {
    feed_page_at(&server.public_url, creds, after, wait).await
}

/// [`feed_page`] by base URL.
async fn feed_page_at(base: &str, creds: &ClientCredentials, after: &str, wait: u64) -> Value {
    let url = format!("{base}/brands/{}/revocations?after={after}&wait={wait}", creds.brand);
    let response = http::client()
        .get(&url)
        .basic_auth(&creds.id, Some(&creds.secret))
        .timeout(Duration::from_secs(wait + 10))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let page = Reply::read(response).await;
    assert_eq!(page.status.as_u16(), 200, "GET {url}: {}", page.text);
    page.body().clone()
}
