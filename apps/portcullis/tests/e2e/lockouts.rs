//! Lock-outs hold under concurrency: a burst of guesses, all sent at once, reaches the password
//! or secret check at most the budget's number of times; the rest are refused with 429 before
//! any check. For usernames the budget is the deployment's, across server processes sharing the
//! database; client secrets are throttled per process.

use std::collections::BTreeMap;

use tokio::task::JoinSet;

use crate::fixture::{ClientCredentials, Fixture, Server};
use crate::http::{Auth, client_credentials, request_token};
use crate::principals::create;

/// Guesses in a burst.
const BURST: usize = 100;

/// Failed logins per username the server allows in a minute.
const USERNAME_BUDGET: usize = 5;

/// Failed client authentications per (client, address) the server allows in a minute.
const CLIENT_BUDGET: usize = 5;

/// How many replies had each status.
fn tally(statuses: impl IntoIterator<Item = u16>) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for status in statuses {
        *counts.entry(status).or_insert(0) += 1;
    }
    counts
}

/// 99 wrong passwords and the right one, at once, through the password grant, spread over
/// `servers`: at most the budget is checked (400 for a wrong one, 200 for the right one), every
/// other attempt is refused with 429.
async fn password_burst(backend: &str, servers: &[&Server], client: &ClientCredentials) {
    let mut guesses = JoinSet::new();
    for i in 0..BURST {
        let url = servers[i % servers.len()].token_url("acme");
        let password = if i == BURST / 2 { "correct horse".to_owned() } else { format!("guess {i}") };
        let client = client.clone();
        guesses.spawn(async move {
            let params = [("grant_type", "password"), ("username", "alice"), ("password", password.as_str())];
            request_token(&url, Auth::Basic(&client), &params).await
        });
    }
    let replies = guesses.join_all().await;
    for reply in &replies {
        assert!(matches!(reply.status.as_u16(), 200 | 400 | 429), "[{backend}] {}: {}", reply.status, reply.text);
        if reply.status.as_u16() == 429 {
            assert!(reply.header("retry-after").is_some(), "[{backend}] a 429 says when to retry");
        }
    }
    let counts = tally(replies.iter().map(|r| r.status.as_u16()));
    let checked = counts.get(&200).unwrap_or(&0) + counts.get(&400).unwrap_or(&0);
    assert!(checked <= USERNAME_BUDGET, "[{backend}] {checked} guesses reached the check: {counts:?}");
    assert!(checked >= 1, "[{backend}] the budget is not zero: {counts:?}");
}

#[tokio::test]
async fn concurrent_password_guesses_get_at_most_the_budget_of_checks() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        fixture.create_brand("acme", &[]);
        let client = fixture.create_client("acme", &["--grant", "password", "--scope", "read"]);
        let created = create(&fixture, "user", "acme", "alice", "correct horse", &["--permission", "read"]);
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        let first = fixture.serve().await;
        if backend == "postgres" {
            // Two processes on one database share the username's budget.
            let sibling = fixture.sibling();
            let second = sibling.serve().await;
            password_burst(backend, &[&first, &second], &client).await;
        } else {
            password_burst(backend, &[&first], &client).await;
        }
    }
}

#[tokio::test]
async fn concurrent_client_secret_guesses_get_at_most_the_budget_of_checks() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        fixture.create_brand("acme", &[]);
        let client = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
        let server = fixture.serve().await;
        let url = server.token_url("acme");
        let mut guesses = JoinSet::new();
        for i in 0..BURST {
            let wrong = ClientCredentials { secret: format!("pcs_guess{i}"), ..client.clone() };
            let url = url.clone();
            guesses.spawn(async move { client_credentials(&url, Auth::Basic(&wrong), &[]).await });
        }
        let counts = tally(guesses.join_all().await.iter().map(|r| r.status.as_u16()));
        let checked = counts.get(&401).copied().unwrap_or(0);
        assert!((1..=CLIENT_BUDGET).contains(&checked), "[{backend}] {checked} secrets were checked: {counts:?}");
        assert_eq!(counts.get(&429).copied().unwrap_or(0), BURST - checked, "[{backend}] {counts:?}");
    }
}
