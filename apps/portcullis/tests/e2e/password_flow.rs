//! The password and refresh flows through the `oauth2` crate, against the real binary: a user
//! signs in, the refresh token rotates, and replaying a rotated one is refused and revokes the
//! family.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, ClientSecret, RefreshToken, RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername,
    Scope, TokenResponse, TokenUrl,
};

use crate::fixture::Fixture;
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
