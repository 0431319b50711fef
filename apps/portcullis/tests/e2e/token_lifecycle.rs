//! Introspection, revocation and the revocation feed against the real binary, driven the way
//! third parties do: the `oauth2` crate's RFC 7662 support, plain RFC 7009 requests (`oauth2`
//! refuses a revocation URL that is not https, and these servers listen on loopback http), and
//! a plain HTTP follower of the event stream.

use std::time::{Duration, Instant};

use oauth2::basic::{BasicClient, BasicTokenIntrospectionResponse};
use oauth2::{
    AuthType, ClientId, ClientSecret, IntrospectionUrl, ResourceOwnerPassword, ResourceOwnerUsername,
    StandardRevocableToken, TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use serde_json::json;

use crate::fixture::{ClientCredentials, Fixture, Server};
use crate::http::{Auth, client_credentials, request_token};
use crate::principals::create;

/// An `oauth2` client for `creds` with the brand's token, introspection and revocation URLs.
fn oauth_client(
    server: &Server,
    creds: &ClientCredentials,
) -> oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    let base = format!("{}/brands/{}/oauth", server.public_url, creds.brand);
    BasicClient::new(ClientId::new(creds.id.clone()))
        .set_client_secret(ClientSecret::new(creds.secret.clone()))
        .set_auth_type(AuthType::BasicAuth)
        .set_token_uri(TokenUrl::new(format!("{base}/token")).expect("token URL"))
        .set_introspection_url(IntrospectionUrl::new(format!("{base}/introspect")).expect("introspection URL"))
}

/// An RFC 7009 request by `creds` for `token`; returns the status.
async fn revoke(server: &Server, creds: &ClientCredentials, token: &str, hint: &str) -> u16 {
    let url = format!("{}/brands/{}/oauth/revoke", server.public_url, creds.brand);
    let reply = request_token(&url, Auth::Basic(creds), &[("token", token), ("token_type_hint", hint)]).await;
    if reply.status.is_success() {
        assert!(reply.text.is_empty(), "a revocation answers with an empty body: {}", reply.text);
    } else {
        reply.assert_oauth_error(reply.status.as_u16(), reply.error_code().unwrap_or("?"));
    }
    reply.status.as_u16()
}

/// The HTTP client of the `oauth2` crate (its own reqwest version).
fn http() -> oauth2::reqwest::Client {
    oauth2::reqwest::Client::builder()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// A plain client for the feed, with a timeout above the longest long-poll.
fn feed_http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("HTTP client")
}

#[tokio::test]
async fn third_party_clients_introspect_and_revoke() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        fixture.create_brand("acme", &[]);
        fixture.create_brand("globex", &[]);
        let app = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read", "write"]);
        let api = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
        let outsider = fixture.create_client("globex", &["--grant", "client_credentials", "--scope", "read"]);
        let server = fixture.serve().await;
        let (app_client, api_client, http) = (oauth_client(&server, &app), oauth_client(&server, &api), http());

        let token = app_client
            .exchange_client_credentials()
            .add_scope(oauth2::Scope::new("write".into()))
            .request_async(&http)
            .await
            .expect("token");
        let access = token.access_token().clone();

        // A resource server (another client of the brand) introspects the app's token.
        let seen = api_client.introspect(&access).request_async(&http).await.expect("introspection");
        assert!(seen.active(), "[{backend}]");
        assert_eq!(seen.client_id().map(|c| c.as_str()), Some(app.id.as_str()));
        assert_eq!(seen.sub(), Some(app.id.as_str()));
        assert_eq!(seen.scopes().map(|s| s[0].as_str()), Some("write"));
        assert_eq!(seen.iss(), Some(fixture.issuer("acme").as_str()));
        assert!(seen.jti().is_some() && seen.exp().is_some() && seen.iat().is_some());

        // The same token means nothing at another brand.
        let elsewhere = oauth_client(&server, &outsider).introspect(&access).request_async(&http).await.expect("200");
        assert!(!elsewhere.active(), "[{backend}] cross-brand introspection");

        // Only the token's own client may revoke it.
        assert_eq!(revoke(&server, &api, access.secret(), "access_token").await, 400, "[{backend}] not its token");
        assert!(api_client.introspect(&access).request_async(&http).await.expect("200").active());
        assert_eq!(revoke(&server, &app, access.secret(), "access_token").await, 200);
        let after = api_client.introspect(&access).request_async(&http).await.expect("200");
        assert!(!after.active(), "[{backend}] revoked");

        // The raw answer for a dead token is exactly {"active":false}.
        let raw = request_token(
            &format!("{}/brands/acme/oauth/introspect", server.public_url),
            Auth::Post(&api),
            &[("token", access.secret()), ("token_type_hint", "access_token")],
        )
        .await;
        assert_eq!(raw.body(), &json!({"active": false}), "[{backend}]");
        assert_eq!(revoke(&server, &app, "no-such-token", "refresh_token").await, 200, "unknown tokens too");
    }
}

#[tokio::test]
async fn revoking_a_refresh_token_signs_the_user_out() {
    for fixture in Fixture::all().await {
        fixture.create_brand("acme", &[]);
        let app = fixture.create_client("acme", &["--grant", "password", "refresh_token", "--scope", "read"]);
        let created = create(&fixture, "user", "acme", "alice", "correct horse", &["--permission", "read"]);
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        let server = fixture.serve().await;
        let (client, http) = (oauth_client(&server, &app), http());
        let login = client
            .exchange_password(
                &ResourceOwnerUsername::new("alice".into()),
                &ResourceOwnerPassword::new("correct horse".into()),
            )
            .request_async(&http)
            .await
            .expect("password grant");
        let refresh = login.refresh_token().expect("refresh token").clone();
        let seen = client.introspect(login.access_token()).request_async(&http).await.expect("200");
        assert_eq!(seen.username(), None);
        assert!(seen.active());

        assert_eq!(revoke(&server, &app, refresh.secret(), "refresh_token").await, 200);
        assert!(!client.introspect(login.access_token()).request_async(&http).await.expect("200").active());
        assert!(client.exchange_refresh_token(&refresh).request_async(&http).await.is_err(), "[{}]", fixture.name());
    }
}

/// Reads an event stream until `count` revocation events have arrived.
async fn read_events(response: &mut reqwest::Response, text: &mut String, count: usize) {
    while text.matches("event: revocation").count() < count {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("an event within 10 s")
            .expect("stream")
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn a_follower_hears_of_revocations_through_the_event_stream() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    let app = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
    let server = fixture.serve().await;
    let token_url = server.token_url("acme");
    let first = client_credentials(&token_url, Auth::Basic(&app), &[]).await.access_token();
    let second = client_credentials(&token_url, Auth::Basic(&app), &[]).await.access_token();
    let revoke_url = format!("{}/brands/acme/oauth/revoke", server.public_url);
    request_token(&revoke_url, Auth::Basic(&app), &[("token", &first)]).await;

    let mut stream = feed_http()
        .get(format!("{}/brands/acme/revocations", server.public_url))
        .basic_auth(&app.id, Some(&app.secret))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("event stream");
    assert_eq!(stream.status(), 200);
    let mut text = String::new();
    read_events(&mut stream, &mut text, 1).await;

    let revoked_at = Instant::now();
    request_token(&revoke_url, Auth::Basic(&app), &[("token", &second)]).await;
    read_events(&mut stream, &mut text, 2).await;
    eprintln!("event stream delivered a revocation {:?} after the 200", revoked_at.elapsed());

    let ids: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("id: ")).collect();
    assert_eq!(ids.len(), 2, "{text}");
    // Resuming after the first event replays only the second.
    let resumed = feed_http()
        .get(format!("{}/brands/acme/revocations?after={}", server.public_url, ids[0]))
        .basic_auth(&app.id, Some(&app.secret))
        .send()
        .await
        .expect("page")
        .json::<serde_json::Value>()
        .await
        .expect("JSON");
    assert_eq!(resumed["revocations"].as_array().map(Vec::len), Some(1), "{resumed}");
    assert_eq!(resumed["cursor"], ids[1]);
}

/// `GET …/revocations?after=CURSOR&wait=20`, as a task.
fn long_poll(server: &Server, creds: &ClientCredentials, after: &str) -> tokio::task::JoinHandle<serde_json::Value> {
    let url = format!("{}/brands/{}/revocations?after={after}&wait=20", server.public_url, creds.brand);
    let (id, secret) = (creds.id.clone(), creds.secret.clone());
    tokio::spawn(async move {
        let response = feed_http().get(url).basic_auth(id, Some(secret)).send().await.expect("long-poll");
        assert_eq!(response.status(), 200);
        response.json().await.expect("JSON page")
    })
}

#[tokio::test]
async fn cli_changes_reach_a_running_server_and_its_followers() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        fixture.create_brand("acme", &[]);
        let app = fixture.create_client("acme", &["--grant", "client_credentials", "password", "--scope", "read"]);
        let watcher = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
        let created = create(&fixture, "user", "acme", "alice", "correct horse", &["--permission", "read"]);
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        let server = fixture.serve().await;
        let (watch, http) = (oauth_client(&server, &watcher), http());
        let token_url = server.token_url("acme");
        let alive = async |token: &str| {
            let token = oauth2::AccessToken::new(token.to_owned());
            watch.introspect(&token).request_async(&http).await.expect("introspection").active()
        };

        // Disabling a client from the CLI: a follower of the running server hears of it.
        let app_token = client_credentials(&token_url, Auth::Basic(&app), &[]).await.access_token();
        let follower = long_poll(&server, &watcher, "0");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let out = fixture.cli_json(&["client", "disable", "--brand", "acme", &app.id, "--json"]);
        assert_eq!(out["status"], "disabled", "[{backend}] {out}");
        let page = tokio::time::timeout(Duration::from_secs(15), follower).await.expect("in time").expect("task");
        eprintln!("[{backend}] a CLI revocation reached a long-poll follower in {:?}", started.elapsed());
        let entry = &page["revocations"][0];
        assert_eq!((entry["kind"].as_str(), entry["value"].as_str()), (Some("client"), Some(app.id.as_str())));
        assert!(!alive(&app_token).await, "[{backend}] its token died with it");
        client_credentials(&token_url, Auth::Basic(&app), &[]).await.assert_oauth_error(401, "invalid_client");
        fixture.cli_json(&["client", "enable", "--brand", "acme", &app.id, "--json"]);
        // Blanket entries refuse tokens issued at or before the revocation's second (JWT times
        // are whole seconds), so a token from the same second would be refused too.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let fresh = client_credentials(&token_url, Auth::Basic(&app), &[]).await.access_token();
        assert!(alive(&fresh).await, "[{backend}] enabled again");

        // Disabling a user revokes the tokens issued to them.
        let login = request_token(
            &token_url,
            Auth::Basic(&app),
            &[("grant_type", "password"), ("username", "alice"), ("password", "correct horse")],
        )
        .await;
        let user_token = login.body()["access_token"].as_str().expect("user token").to_owned();
        assert!(alive(&user_token).await);
        let out = fixture.cli_json(&["user", "disable", "--brand", "acme", "--username", "alice", "--json"]);
        assert_eq!(out["status"], "disabled");
        assert!(!alive(&user_token).await, "[{backend}] the user's token died");

        // One token by jti.
        let jti = watch.introspect(&oauth2::AccessToken::new(fresh.clone())).request_async(&http).await.expect("200");
        let jti = jti.jti().expect("jti").to_owned();
        let out = fixture.cli_json(&["token", "revoke", "--brand", "acme", &jti, "--json"]);
        assert_eq!(out["revoked"], true);
        assert!(!alive(&fresh).await);
        let again = fixture.cli_json(&["token", "revoke", "--brand", "acme", &jti, "--json"]);
        assert_eq!(again["revoked"], false);

        // Mistakes are clear.
        let missing = fixture.cli(&["client", "delete", "--brand", "acme", "no-such-client"]);
        assert!(!missing.status.success());
        assert!(String::from_utf8_lossy(&missing.stderr).contains("no client 'no-such-client'"), "{missing:?}");
        let nobody = fixture.cli(&["user", "disable", "--brand", "acme", "--username", "bob"]);
        assert!(String::from_utf8_lossy(&nobody.stderr).contains("no user 'bob'"), "{nobody:?}");
    }
}

/// The key id in a JWT's header.
fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().expect("a JWT");
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).expect("base64url header");
    let header: serde_json::Value = serde_json::from_slice(&header).expect("JSON header");
    header["kid"].as_str().expect("kid").to_owned()
}

/// SECURITY.md F7 from the command line: a running server stops publishing a withdrawn key and
/// refuses its tokens, and the next key signs.
#[tokio::test]
async fn a_key_withdrawn_from_the_cli_leaves_a_running_server() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        fixture.create_brand("acme", &[]);
        let app = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
        let server = fixture.serve().await;
        let (watch, http) = (oauth_client(&server, &app), http());
        let token_url = server.token_url("acme");
        let jwks_url = format!("{}/brands/acme/jwks.json", server.public_url);
        let published = async || -> Vec<String> {
            let body = http.get(&jwks_url).send().await.expect("JWKS").bytes().await.expect("body");
            let jwks: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            jwks["keys"].as_array().expect("keys").iter().map(|k| k["kid"].as_str().expect("kid").to_owned()).collect()
        };
        let alive = async |token: &str| {
            let token = oauth2::AccessToken::new(token.to_owned());
            watch.introspect(&token).request_async(&http).await.expect("introspection").active()
        };

        let old = client_credentials(&token_url, Auth::Basic(&app), &[]).await.access_token();
        let kid = kid_of(&old);
        assert!(published().await.contains(&kid), "[{backend}]");
        let out = fixture.cli_json(&["key", "withdraw", "--brand", "acme", &kid, "--json"]);
        assert_eq!(out["withdrawn_kid"].as_str(), Some(kid.as_str()), "[{backend}] {out}");
        let active = out["active_kid"].as_str().expect("the key that signs now").to_owned();
        assert_ne!(active, kid);

        // Another process changed the keys: the server notices within about a second.
        let deadline = Instant::now() + Duration::from_secs(15);
        while published().await.contains(&kid) || alive(&old).await {
            assert!(Instant::now() < deadline, "[{backend}] the withdrawn key is still in use");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let new = client_credentials(&token_url, Auth::Basic(&app), &[]).await.access_token();
        assert_eq!(kid_of(&new), active, "[{backend}]");
        assert!(alive(&new).await, "[{backend}]");

        let unknown = fixture.cli(&["key", "withdraw", "--brand", "acme", "no-such-kid"]);
        assert!(!unknown.status.success());
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("no signing key 'no-such-kid'"), "{unknown:?}");
    }
}
