//! Scenario 3: every error the token endpoint can answer, as plain HTTP: status, RFC 6749 §5.2
//! `error` code and headers; and the brand resolution of discovery, JWKS and both token URLs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::fixture::{ClientCredentials, Fixture, Server};
use crate::http::{Auth, Reply, client_credentials, get, request_token};

const AUDIENCE: &str = "https://api.example.com";

/// The brands and clients every case here uses.
struct Tenants {
    /// `acme`: `read write`, default `read`, audience [`AUDIENCE`].
    service: ClientCredentials,
    /// `acme`: only the password grant.
    password_only: ClientCredentials,
    /// `acme`: 60-second tokens.
    short_lived: ClientCredentials,
    /// `beta`: a client of another brand.
    other_brand: ClientCredentials,
    /// `strict` (requires an audience): audience [`AUDIENCE`].
    strict: ClientCredentials,
}

impl Tenants {
    fn create(fixture: &Fixture) -> Self {
        fixture.create_brand("acme", &[]);
        fixture.create_brand("beta", &[]);
        let strict = fixture.create_brand("strict", &["--require-audience"]);
        assert_eq!(strict["require_audience"], true, "[{}] {strict}", fixture.name());
        let cc = "client_credentials";
        Self {
            service: fixture.create_client(
                "acme",
                &["--grant", cc, "--scope", "read write", "--default-scope", "read", "--audience", AUDIENCE],
            ),
            password_only: fixture.create_client("acme", &["--grant", "password", "--scope", "read"]),
            short_lived: fixture.create_client("acme", &["--grant", cc, "--access-ttl", "60"]),
            other_brand: fixture.create_client("beta", &["--grant", cc]),
            strict: fixture.create_client("strict", &["--grant", cc, "--audience", AUDIENCE]),
        }
    }
}

/// Runs `scenario` on every backend with the tenants created and the server running.
async fn with_tenants(scenario: impl AsyncFn(&Server, &Tenants)) {
    for fixture in Fixture::all().await {
        let tenants = Tenants::create(&fixture);
        let server = fixture.serve().await;
        eprintln!("backend: {}", fixture.name());
        scenario(&server, &tenants).await;
    }
}

#[tokio::test]
async fn successful_responses_are_not_cacheable() {
    with_tenants(successful_responses).await;
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client() {
    with_tenants(authentication_failures).await;
}

#[tokio::test]
async fn malformed_and_unauthorized_requests_have_their_codes() {
    with_tenants(request_failures).await;
}

#[tokio::test]
async fn scope_and_audience_are_enforced() {
    with_tenants(scope_and_audience).await;
}

#[tokio::test]
async fn brands_are_resolved_from_path_or_query() {
    with_tenants(brand_resolution).await;
}

#[tokio::test]
async fn repeated_authentication_failures_are_throttled() {
    with_tenants(throttling).await;
}

async fn successful_responses(server: &Server, t: &Tenants) {
    let url = server.token_url("acme");
    for auth in [Auth::Basic(&t.service), Auth::Post(&t.service)] {
        let reply = client_credentials(&url, auth, &[]).await;
        let body = reply.assert_token();
        assert_eq!(body["expires_in"], 900);
        assert_eq!(body["scope"], "read", "the default scope is granted when none is asked for");
    }
    let reply = client_credentials(&server.token_url("acme"), Auth::Basic(&t.short_lived), &[]).await;
    assert_eq!(reply.assert_token()["expires_in"], 60, "the client's own access_ttl wins");
    let claims = unverified_claims(&reply.access_token());
    assert_eq!(claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"), 60);
}

async fn authentication_failures(server: &Server, t: &Tenants) {
    let url = server.token_url("acme");
    let wrong_secret = ClientCredentials { secret: format!("{}x", t.service.secret), ..t.service.clone() };
    let unknown = ClientCredentials { id: "no-such-client".into(), ..t.service.clone() };

    for (what, auth) in [
        ("wrong secret (Basic)", Auth::Basic(&wrong_secret)),
        ("unknown client (Basic)", Auth::Basic(&unknown)),
        ("no credentials", Auth::None),
        ("client of brand beta at brand acme", Auth::Basic(&t.other_brand)),
    ] {
        let reply = client_credentials(&url, auth, &[]).await;
        reply.assert_oauth_error(401, "invalid_client");
        assert_basic_challenge(&reply, what);
    }
    // With credentials in the body, RFC 6749 §5.2 leaves the 401 without a challenge.
    for (what, auth) in
        [("wrong secret (post)", Auth::Post(&wrong_secret)), ("unknown client (post)", Auth::Post(&unknown))]
    {
        let reply = client_credentials(&url, auth, &[]).await;
        reply.assert_oauth_error(401, "invalid_client");
        assert!(reply.header("www-authenticate").is_none(), "{what}: {:?}", reply.headers);
    }
    // And the other way round: a client of acme is unknown at beta.
    client_credentials(&server.token_url("beta"), Auth::Basic(&t.service), &[])
        .await
        .assert_oauth_error(401, "invalid_client");
}

async fn request_failures(server: &Server, t: &Tenants) {
    let url = server.token_url("acme");
    let service = &t.service;
    client_credentials(&url, Auth::Both(service), &[]).await.assert_oauth_error(400, "invalid_request");
    request_token(&url, Auth::Basic(service), &[]).await.assert_oauth_error(400, "invalid_request");
    request_token(&url, Auth::Basic(service), &[("grant_type", "")]).await.assert_oauth_error(400, "invalid_request");
    request_token(&url, Auth::None, &[("grant_type", "client_credentials"), ("client_secret", "s")])
        .await
        .assert_oauth_error(400, "invalid_request");
    for unknown_grant in ["urn:example:params:oauth:grant-type:magic", "implicit"] {
        request_token(&url, Auth::Basic(service), &[("grant_type", unknown_grant)])
            .await
            .assert_oauth_error(400, "unsupported_grant_type");
    }
    client_credentials(&url, Auth::Basic(&t.password_only), &[]).await.assert_oauth_error(400, "unauthorized_client");
}

async fn scope_and_audience(server: &Server, t: &Tenants) {
    let url = server.token_url("acme");
    let service = Auth::Basic(&t.service);
    for scope in ["admin", "read admin", "bad\"scope"] {
        client_credentials(&url, service, &[("scope", scope)]).await.assert_oauth_error(400, "invalid_scope");
    }
    let granted = client_credentials(&url, service, &[("scope", "write read")]).await;
    assert_eq!(unverified_claims(&granted.access_token())["scope"], "read write", "granted in the client's order");

    for (name, value) in [("audience", "https://evil.example"), ("resource", "https://evil.example/api")] {
        client_credentials(&url, service, &[(name, value)]).await.assert_oauth_error(400, "invalid_target");
    }
    client_credentials(&url, service, &[("resource", "not a uri")]).await.assert_oauth_error(400, "invalid_target");
    client_credentials(&url, service, &[("audience", "")]).await.assert_oauth_error(400, "invalid_request");

    let strict_url = server.token_url("strict");
    let strict = Auth::Basic(&t.strict);
    let refused = client_credentials(&strict_url, strict, &[]).await;
    refused.assert_oauth_error(400, "invalid_request");
    assert!(refused.body()["error_description"].as_str().is_some_and(|d| d.contains("audience")), "{}", refused.text);
    for (name, value) in [("audience", AUDIENCE), ("resource", AUDIENCE)] {
        let reply = client_credentials(&strict_url, strict, &[(name, value)]).await;
        assert_eq!(unverified_claims(&reply.access_token())["aud"], AUDIENCE);
    }
}

async fn brand_resolution(server: &Server, t: &Tenants) {
    let base = &server.public_url;
    client_credentials(&server.token_url("nope"), Auth::Basic(&t.service), &[])
        .await
        .assert_oauth_error(400, "invalid_request");
    for path in [
        "/brands/nope/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/brands/nope",
        "/brands/nope/jwks.json",
        "/no/such/endpoint",
    ] {
        let reply = get(&format!("{base}{path}")).await;
        assert_eq!(reply.status.as_u16(), 404, "{path}: {}", reply.text);
        assert_eq!(reply.error_code(), Some("not_found"), "{path}: {}", reply.text);
    }

    let by_query =
        client_credentials(&format!("{base}/oauth/token?brand_key=acme"), Auth::Basic(&t.service), &[]).await;
    let claims = unverified_claims(&by_query.access_token());
    assert_eq!(claims["brand"], "acme");
    assert_eq!(claims["iss"], format!("{base}/brands/acme"));
    for query in ["", "?brand_key=nope", "?brand_key=", "?brand_key=acme&brand_key=acme", "?brand=acme"] {
        client_credentials(&format!("{base}/oauth/token{query}"), Auth::Basic(&t.service), &[])
            .await
            .assert_oauth_error(400, "invalid_request");
    }
}

async fn throttling(server: &Server, t: &Tenants) {
    let url = server.token_url("acme");
    let wrong_secret = ClientCredentials { secret: "pcs_guess".into(), ..t.service.clone() };
    // Lockouts are whole seconds from the last failure, so a guess may land just after one
    // ends and count again; a refusal must come soon after the fifth failure all the same.
    let mut failures = 0;
    let refused = loop {
        let reply = client_credentials(&url, Auth::Basic(&wrong_secret), &[]).await;
        if reply.status.as_u16() != 401 {
            break reply;
        }
        reply.assert_oauth_error(401, "invalid_client");
        failures += 1;
        assert!(failures <= 8, "{failures} failed guesses and still no throttling");
    };
    assert!(failures >= 5, "throttled after only {failures} failures");
    refused.assert_oauth_error(429, "slow_down");
    let retry_after: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("429 without a numeric Retry-After: {:?}", refused.headers));
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");

    // Other clients are not affected, and the right secret works once the lockout is over.
    client_credentials(&url, Auth::Basic(&t.short_lived), &[]).await.assert_token();
    tokio::time::sleep(std::time::Duration::from_secs(retry_after + 1)).await;
    client_credentials(&url, Auth::Basic(&t.service), &[]).await.assert_token();
}

fn assert_basic_challenge(reply: &Reply, what: &str) {
    let challenge = reply.header("www-authenticate").unwrap_or_else(|| panic!("{what}: no WWW-Authenticate"));
    assert!(challenge.starts_with("Basic "), "{what}: {challenge}");
}

/// The payload of a JWS, not verified (scenario 2 verifies signatures).
fn unverified_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a compact JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}
