//! The password and refresh flows through the `oauth2` crate, against the real binary: a user
//! signs in, the refresh token rotates, and replaying a rotated one is refused and revokes the
//! family; a password-guessing run is locked out and the user gets back in afterwards.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, ClientSecret, RefreshToken, RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername,
    Scope, TokenResponse, TokenUrl,
};

use crate::fixture::Fixture;
use crate::http::{Auth, request_token};
use crate::principals::create;

#[tokio::test]
async fn oauth2_password_and_refresh_flows() {
    for fixture in Fixture::all().await {
        fixture.create_brand("acme", &[]);
        let client = fixture.create_client(
            "acme",
            &["--grant", "password", "refresh_token", "--scope", "read", "write", "--default-scope", "read"],
        );
        let created = create(&fixture, "user", "acme", "alice", "correct horse", &["--permission", "read", "write"]);
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        let server = fixture.serve().await;

        let oauth_client = BasicClient::new(ClientId::new(client.id.clone()))
            .set_client_secret(ClientSecret::new(client.secret.clone()))
            .set_token_uri(TokenUrl::new(server.token_url("acme")).expect("token URL"))
            .set_auth_type(AuthType::BasicAuth);
        let http = oauth2::reqwest::Client::builder()
            .redirect(oauth2::reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");

        let login = oauth_client
            .exchange_password(
                &ResourceOwnerUsername::new("alice".into()),
                &ResourceOwnerPassword::new("correct horse".into()),
            )
            .add_scope(Scope::new("write".into()))
            .request_async(&http)
            .await
            .expect("password grant");
        let first = login.refresh_token().expect("a refresh token").clone();
        assert!(first.secret().starts_with("pcr_"));
        assert_eq!(login.scopes().map(|s| s[0].as_str().to_owned()), Some("write".to_owned()));

        let refreshed = oauth_client.exchange_refresh_token(&first).request_async(&http).await.expect("refresh grant");
        let second = refreshed.refresh_token().expect("a rotated refresh token").clone();
        assert_ne!(first.secret(), second.secret());

        let wrong = oauth_client
            .exchange_password(&ResourceOwnerUsername::new("alice".into()), &ResourceOwnerPassword::new("nope".into()))
            .request_async(&http)
            .await;
        assert!(
            matches!(wrong, Err(RequestTokenError::ServerResponse(ref e)) if e.error().as_ref() == "invalid_grant")
        );

        let replay = oauth_client.exchange_refresh_token(&first).request_async(&http).await;
        assert!(
            matches!(replay, Err(RequestTokenError::ServerResponse(ref e)) if e.error().as_ref() == "invalid_grant"),
            "[{}] a rotated refresh token is refused: {replay:?}",
            fixture.name()
        );
        let after =
            oauth_client.exchange_refresh_token(&RefreshToken::new(second.secret().clone())).request_async(&http).await;
        assert!(after.is_err(), "[{}] reuse revoked the whole family", fixture.name());
    }
}

/// A password-guessing run meets a 429 with `Retry-After`, and the real user gets back in once
/// it has passed.
#[tokio::test]
async fn password_guessing_meets_a_429_then_the_user_gets_back_in() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    let client = fixture.create_client("acme", &["--grant", "password", "--scope", "read"]);
    let created = create(&fixture, "user", "acme", "alice", "correct horse", &["--permission", "read"]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let server = fixture.serve().await;
    let url = server.token_url("acme");
    let attempt = |password: &'static str| {
        let url = url.clone();
        let client = client.clone();
        async move {
            let params = [("grant_type", "password"), ("username", "alice"), ("password", password)];
            request_token(&url, Auth::Basic(&client), &params).await
        }
    };
    let mut failures = 0;
    let refused = loop {
        let reply = attempt("guess").await;
        if reply.status.as_u16() != 400 {
            break reply;
        }
        reply.assert_oauth_error(400, "invalid_grant");
        failures += 1;
        assert!(failures <= 8, "{failures} wrong passwords and still no lock-out");
    };
    refused.assert_oauth_error(429, "slow_down");
    let retry_after: u64 = refused.header("retry-after").and_then(|v| v.parse().ok()).expect("a numeric Retry-After");
    attempt("correct horse").await.assert_oauth_error(429, "slow_down");
    tokio::time::sleep(std::time::Duration::from_secs(retry_after + 1)).await;
    let back = attempt("correct horse").await;
    assert_eq!(back.status.as_u16(), 200, "{}", back.body());
    assert!(back.body()["refresh_token"].is_string(), "{}", back.body());
}
