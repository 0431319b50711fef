//! Operations on the real binary: JSON log lines name the request id, brand and client of
//! every request and never a secret; `/metrics` on the admin listener is scraped during a token
//! run.

use serde_json::Value;

use crate::fixture::Fixture;
use crate::http::{Auth, client, client_credentials};

/// The scraper's token (`metrics.token`).
const SCRAPER: &str = "scraper-token-0123456789";

#[tokio::test]
async fn json_logs_and_metrics_describe_a_token_run() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    let app = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
    let server = fixture
        .serve_with(&[("PORTCULLIS_LOG__FORMAT", "json"), ("RUST_LOG", "info"), ("PORTCULLIS_METRICS__TOKEN", SCRAPER)])
        .await;
    let url = server.token_url("acme");
    for _ in 0..20 {
        client_credentials(&url, Auth::Basic(&app), &[]).await.assert_token();
    }
    let wrong = crate::fixture::ClientCredentials { secret: "not-the-secret".into(), ..app.clone() };
    assert_eq!(client_credentials(&url, Auth::Basic(&wrong), &[]).await.status, 401);

    let response =
        client().get(format!("{}/metrics", server.admin_url)).bearer_auth(SCRAPER).send().await.expect("scrape");
    assert_eq!(response.status(), 200);
    let metrics = response.text().await.expect("text");
    for expected in [
        r#"portcullis_tokens_issued_total{brand="acme",grant="client_credentials"} 20"#,
        r#"portcullis_authentication_failures_total{kind="client"} 1"#,
        "portcullis_http_request_duration_seconds_bucket",
        "portcullis_revocation_feed_poll_age_seconds",
        r#"portcullis_db_pool_connections{state="open"}"#,
    ] {
        assert!(metrics.contains(expected), "missing {expected} in:\n{metrics}");
    }

    // Give the log writer a moment, then read what the server wrote.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let logs = server.stderr();
    assert!(!logs.contains(&app.secret), "a client secret was logged");
    assert!(!logs.contains(SCRAPER), "the metrics token was logged");
    let lines: Vec<Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!lines.is_empty(), "JSON log lines: {logs}");
    let token_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "request" && l["span"]["endpoint"] == "/brands/{brand}/oauth/token")
        .collect();
    assert_eq!(token_lines.len(), 21, "one closing line per token request: {logs}");
    for line in token_lines {
        let span = &line["span"];
        assert_eq!(
            (span["brand"].as_str(), span["client_id"].as_str()),
            (Some("acme"), Some(app.id.as_str())),
            "{line}"
        );
        assert!(span["id"].as_str().is_some_and(|id| !id.is_empty()), "{line}");
    }
}
