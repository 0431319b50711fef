//! The verifier's live features against the real server: HTTP Basic API tokens through
//! introspection (and their regeneration), the revocation feed (revocations seen within about a
//! second, outages degrading as configured), the client token source, and demo-api.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use portcullis_verifier::{
    ApiTokenCache, FeedOutage, RevocationFeed, TokenSource, Verified, Verifier, VerifierConfig, VerifyError,
};
use serde_json::{Value, json};

use crate::admin_api::graphql;
use crate::fixture::{ClientCredentials, Fixture, Server};
use crate::http::{Auth, client, client_credentials, request_token};
use crate::principals::create;
use crate::verifier::serve_router;

/// How long a revocation may take to reach a verifier before the test fails. A verifier following
/// the feed should hear of a revocation within "about a second"; the measured time is printed.
const PROPAGATION: Duration = Duration::from_secs(2);

/// The audience the resource servers of these tests answer to, allowed to every client.
const AUDIENCE: &str = "https://api.acme.example";

/// A `client_credentials` client with scope `read`, allowed [`AUDIENCE`] (so its tokens carry it).
const CLIENT: [&str; 6] = ["--grant", "client_credentials", "--scope", "read", "--audience", AUDIENCE];

/// The resource server's own client, as `VerifierConfig::client` wants it.
fn with_client(config: VerifierConfig, rs: &ClientCredentials) -> VerifierConfig {
    config.client(rs.id.as_str(), rs.secret.as_str())
}

/// Polls `check` every 10 ms until it holds; returns how long that took, or fails after
/// `within`.
async fn until<F: AsyncFn() -> bool>(what: &str, within: Duration, check: F) -> Duration {
    let start = Instant::now();
    loop {
        if check().await {
            let took = start.elapsed();
            eprintln!("{what}: {took:?}");
            return took;
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn access_token(server: &Server, client: &ClientCredentials) -> String {
    client_credentials(&server.token_url(&client.brand), Auth::Basic(client), &[]).await.access_token()
}

async fn admin_token(server: &Server) -> String {
    access_token(server, &server.revealed_admin().expect("first start reveals the admin")).await
}

/// Runs a GraphQL operation as the platform admin; returns `data`.
async fn admin(server: &Server, token: &str, query: &str) -> Value {
    let (status, body) = graphql(&server.admin_url, Some(token), query).await;
    assert!(status == 200 && body.get("errors").is_none(), "{query}: {status} {body}");
    body["data"].clone()
}

/// Creates a user with `permissions` and returns its id.
fn user(fixture: &Fixture, brand: &str, username: &str, permissions: &[&str]) -> String {
    let output = create(fixture, "user", brand, username, "correct horse", &[&["--permission"], permissions].concat());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let created: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    created["user_id"].as_str().expect("user_id").to_owned()
}

async fn enable_api_access(server: &Server, admin_token: &str, brand: &str, user_id: &str) -> String {
    let data = admin(
        server,
        admin_token,
        &format!(r#"mutation {{ enableApiAccess(brandKey: "{brand}", userId: "{user_id}") {{ apiToken }} }}"#),
    )
    .await;
    data["enableApiAccess"]["apiToken"].as_str().expect("apiToken").to_owned()
}

fn basic(username: &str, token: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{username}:{token}")))
}

fn jti_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
            .expect("JSON");
    claims["jti"].as_str().expect("jti").to_owned()
}

#[tokio::test]
async fn api_tokens_are_checked_by_introspection_and_regeneration_invalidates_the_old_one() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    fixture.create_brand("globex", &[]);
    let rs = fixture.create_client("acme", &CLIENT);
    let alice = user(&fixture, "acme", "alice", &["read", "write"]);
    let mallory = user(&fixture, "globex", "alice", &["read"]);
    let server = fixture.serve().await;
    let admin_token = admin_token(&server).await;
    // A long positive cache: only the feed can make the verifier forget a regenerated token.
    let cache = ApiTokenCache { positive_ttl: Duration::from_secs(600), ..ApiTokenCache::default() };
    let verifier = Verifier::discover(
        with_client(VerifierConfig::new(fixture.issuer("acme"), AUDIENCE), &rs)
            .api_tokens(cache)
            .revocation_feed(RevocationFeed::default()),
    )
    .await
    .expect("discovery");

    let first = enable_api_access(&server, &admin_token, "acme", &alice).await;
    let verified = verifier.authenticate(Some(&basic("alice", &first))).await.expect("a live API token");
    let Verified::ApiToken(identity) = &verified else { panic!("{verified:?}") };
    assert_eq!(
        (identity.sub.as_str(), identity.username.as_str(), identity.brand.as_str()),
        (alice.as_str(), "alice", "acme")
    );
    assert!(verified.require_scopes(&["read", "write"]).is_ok(), "an API token carries its user's permissions");

    for (username, token, why) in [
        ("bob", first.as_str(), "another username"),
        ("alice", "pca_not-a-token", "a wrong token"),
        ("alice", "", "an empty token"),
    ] {
        assert_eq!(verifier.verify_api_token(username, token).await, Err(VerifyError::BadApiToken), "{why}");
    }
    assert_eq!(verifier.authenticate(Some("Basic %%%")).await, Err(VerifyError::BadApiToken), "bad base64");
    let foreign = enable_api_access(&server, &admin_token, "globex", &mallory).await;
    assert_eq!(
        verifier.verify_api_token("alice", &foreign).await,
        Err(VerifyError::BadApiToken),
        "another brand's alice"
    );

    // Regenerating: the old token is refused (the feed evicts the cached answer), the new works.
    let second = enable_api_access(&server, &admin_token, "acme", &alice).await;
    until("regenerated API token refused", PROPAGATION, async || {
        verifier.verify_api_token("alice", &first).await == Err(VerifyError::BadApiToken)
    })
    .await;
    assert!(verifier.verify_api_token("alice", &second).await.is_ok());

    // Disabling API access.
    let query =
        format!(r#"mutation {{ disableApiAccess(brandKey: "acme", userId: "{alice}") {{ principal {{ id }} }} }}"#);
    admin(&server, &admin_token, &query).await;
    until("disabled API token refused", PROPAGATION, async || {
        verifier.verify_api_token("alice", &second).await == Err(VerifyError::BadApiToken)
    })
    .await;

    // Without API-token support, Basic credentials are no credentials at all.
    let bearer_only =
        Verifier::discover(VerifierConfig::new(fixture.issuer("acme"), AUDIENCE)).await.expect("discovery");
    assert_eq!(bearer_only.authenticate(Some(&basic("alice", &second))).await, Err(VerifyError::Missing));
}

#[tokio::test]
async fn revocations_reach_a_following_verifier_within_about_a_second() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        fixture.create_brand("acme", &[]);
        let rs = fixture.create_client("acme", &CLIENT);
        let app = fixture.create_client("acme", &CLIENT);
        let server = fixture.serve().await;
        let admin_token = admin_token(&server).await;
        let verifier = Verifier::discover(
            with_client(VerifierConfig::new(fixture.issuer("acme"), AUDIENCE), &rs)
                .revocation_feed(RevocationFeed::default()),
        )
        .await
        .expect("discovery");

        // One token revoked by its client (RFC 7009): its holder ended it, for good.
        let (ended, revoked, kept) =
            (access_token(&server, &app).await, access_token(&server, &app).await, access_token(&server, &app).await);
        verifier.verify(&ended).await.expect("live");
        let revoke_url = format!("{}/brands/acme/oauth/revoke", server.public_url);
        assert_eq!(request_token(&revoke_url, Auth::Basic(&app), &[("token", &ended)]).await.status, 200);
        until(&format!("[{backend}] ended token refused"), PROPAGATION, async || {
            verifier.verify(&ended).await == Err(VerifyError::Revoked)
        })
        .await;
        let approve = |jti: String| format!(r#"mutation {{ approveToken(brandKey: "acme", jti: "{jti}") {{ jti }} }}"#);
        let (_, refused) = graphql(&server.admin_url, Some(&admin_token), &approve(jti_of(&ended))).await;
        assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "[{backend}] {refused}");

        // One token revoked by an admin.
        let jti = jti_of(&revoked);
        admin(
            &server,
            &admin_token,
            &format!(r#"mutation {{ revokeToken(brandKey: "acme", jti: "{jti}") {{ jti }} }}"#),
        )
        .await;
        until(&format!("[{backend}] revoked token refused"), PROPAGATION, async || {
            verifier.verify(&revoked).await == Err(VerifyError::Revoked)
        })
        .await;
        assert!(verifier.verify(&kept).await.is_ok(), "[{backend}] only that token");

        // Approved again by an admin.
        admin(&server, &admin_token, &approve(jti)).await;
        until(&format!("[{backend}] approved token accepted"), PROPAGATION, async || {
            verifier.verify(&revoked).await.is_ok()
        })
        .await;

        // The whole client disabled by another process (the CLI).
        let disabled = fixture.cli(&["client", "disable", "--brand", "acme", &app.id]);
        assert!(disabled.status.success(), "{}", String::from_utf8_lossy(&disabled.stderr));
        until(&format!("[{backend}] disabled client's tokens refused"), PROPAGATION, async || {
            verifier.verify(&kept).await == Err(VerifyError::Revoked)
        })
        .await;

        // A verifier started afterwards reads the backlog.
        let late = Verifier::discover(
            with_client(VerifierConfig::new(fixture.issuer("acme"), AUDIENCE), &rs)
                .revocation_feed(RevocationFeed::default()),
        )
        .await
        .expect("discovery");
        assert_eq!(late.verify(&kept).await, Err(VerifyError::Revoked), "[{backend}]");
    }
}

#[tokio::test]
async fn a_feed_outage_degrades_as_configured() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    let rs = fixture.create_client("acme", &CLIENT);
    let server = fixture.serve().await;
    let token = access_token(&server, &rs).await;
    let follow = |on_outage| {
        with_client(VerifierConfig::new(fixture.issuer("acme"), AUDIENCE), &rs)
            .http_timeout(Duration::from_secs(2))
            .revocation_feed(RevocationFeed { on_outage, wait: Duration::from_secs(1) })
    };
    let lenient = Verifier::discover(follow(FeedOutage::KeepServing)).await.expect("discovery");
    let strict = Verifier::discover(follow(FeedOutage::FailClosed { grace: Duration::ZERO })).await.expect("discovery");
    assert!(lenient.verify(&token).await.is_ok() && strict.verify(&token).await.is_ok());

    server.kill9();
    until("fail-closed verifier refuses during the outage", Duration::from_secs(10), async || {
        strict.verify(&token).await == Err(VerifyError::Unavailable)
    })
    .await;
    assert!(lenient.verify(&token).await.is_ok(), "keep-serving verifier goes on with what it knows");
    assert_eq!(VerifyError::Unavailable.status(), 503);

    let _restarted = fixture.serve().await;
    until("fail-closed verifier recovers with the feed", Duration::from_secs(15), async || {
        strict.verify(&token).await.is_ok()
    })
    .await;

    // Configured to fail closed, a verifier whose feed is down cannot even start.
    let elsewhere =
        with_client(VerifierConfig::new(fixture.issuer("acme"), AUDIENCE), &rs).revocation_feed(RevocationFeed {
            on_outage: FeedOutage::FailClosed { grace: Duration::ZERO },
            ..Default::default()
        });
    assert!(Verifier::discover(elsewhere.client("unknown", "secret")).await.is_err(), "the feed refuses the client");
}

/// demo-api on a free loopback port, configured the way its binary reads the environment.
async fn demo_api(vars: &[(&str, &str)]) -> String {
    let map: std::collections::HashMap<String, String> =
        vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let config = demo_api::config::Config::from_env(&move |name: &str| map.get(name).cloned()).expect("config");
    let verifier = Verifier::discover(config.verifier()).await.expect("discovery");
    serve_router(demo_api::router(verifier)).await
}

#[tokio::test]
async fn the_token_source_caches_shares_one_refresh_and_retries_once_on_401() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    let rs = fixture.create_client("acme", &CLIENT);
    let app = fixture.create_client("acme", &CLIENT);
    let server = fixture.serve().await;
    let issuer = fixture.issuer("acme");
    let api = demo_api(&[
        ("DEMO_API_ISSUER", &issuer),
        ("DEMO_API_AUDIENCE", AUDIENCE),
        ("DEMO_API_CLIENT_ID", &rs.id),
        ("DEMO_API_CLIENT_SECRET", &rs.secret),
    ])
    .await;

    let source = TokenSource::discover(issuer.as_str(), app.id.as_str(), app.secret.as_str()).await.expect("discovery");
    let concurrent: Vec<_> =
        (0..16).map(|_| source.clone()).map(|s| tokio::spawn(async move { s.token().await })).collect();
    let mut tokens = std::collections::BTreeSet::new();
    for task in concurrent {
        tokens.insert(task.await.expect("task").expect("token").to_string());
    }
    assert_eq!(tokens.len(), 1, "sixteen concurrent callers share one token request");
    let first = tokens.pop_first().expect("token");
    assert_eq!(&*source.token().await.expect("token"), first, "cached");

    let http = client();
    let whoami = format!("{api}/whoami");
    let call = || http.get(&whoami).header("X-Brand-Key", "acme");
    let response = source.send(call).await.expect("call");
    assert_eq!(response.status(), 200);

    // The resource server learns that the cached token is revoked; the source notices the 401,
    // fetches a fresh token and retries once.
    let revoke_url = format!("{}/brands/acme/oauth/revoke", server.public_url);
    assert_eq!(request_token(&revoke_url, Auth::Basic(&app), &[("token", &first)]).await.status, 200);
    until("the API refuses the revoked token", PROPAGATION, async || {
        call().bearer_auth(&first).send().await.expect("call").status() == 401
    })
    .await;
    let response = source.send(call).await.expect("call");
    assert_eq!(response.status(), 200, "retried with a fresh token");
    let fresh = source.token().await.expect("token");
    assert_ne!(&*fresh, first);

    // A refused client gets the token endpoint's error, not a panic or a hang.
    let wrong = TokenSource::new(server.token_url("acme"), app.id.as_str(), "wrong secret");
    match wrong.token().await {
        Err(portcullis_verifier::TokenSourceError::Refused { status, error, .. }) => {
            assert_eq!((status, error.as_str()), (401, "invalid_client"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn demo_api_answers_as_its_readme_section_says() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    fixture.create_brand("globex", &[]);
    let audience = "https://demo-api.example";
    let flags = |scope: &'static str| {
        ["--grant", "client_credentials", "--scope", scope, "--default-scope", scope, "--audience", audience]
    };
    let rs = fixture.create_client("acme", &flags("read"));
    let reader = fixture.create_client("acme", &flags("read"));
    let writer = fixture.create_client("acme", &flags("write"));
    let foreign = fixture.create_client("globex", &flags("write"));
    let alice = user(&fixture, "acme", "alice", &["read", "write"]);
    let server = fixture.serve().await;
    let admin_token = admin_token(&server).await;
    let api_token = enable_api_access(&server, &admin_token, "acme", &alice).await;
    let api = demo_api(&[
        ("DEMO_API_ISSUER", &fixture.issuer("acme")),
        ("DEMO_API_AUDIENCE", audience),
        ("DEMO_API_CLIENT_ID", &rs.id),
        ("DEMO_API_CLIENT_SECRET", &rs.secret),
    ])
    .await;
    let token = async |c: &ClientCredentials| {
        client_credentials(&server.token_url(&c.brand), Auth::Basic(c), &[("audience", audience)]).await.access_token()
    };
    let (read, write, other) = (token(&reader).await, token(&writer).await, token(&foreign).await);
    let http = client();
    let call = async |method: reqwest::Method, path: &str, authorization: Option<&str>, brand: Option<&str>| {
        let mut request = http.request(method, format!("{api}{path}")).json(&json!({"text": "hello"}));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        if let Some(brand) = brand {
            request = request.header("X-Brand-Key", brand);
        }
        let response = request.send().await.expect("demo-api");
        let challenges: Vec<String> = response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().expect("ASCII").to_owned())
            .collect();
        (response.status().as_u16(), challenges, response.json::<Value>().await.unwrap_or(Value::Null))
    };
    use reqwest::Method;
    let bearer = |t: &str| format!("Bearer {t}");

    let (status, _, body) = call(Method::GET, "/whoami", Some(&bearer(&read)), Some("acme")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"sub": reader.id, "brand": "acme", "scope": "read", "act_type": "client"}));
    let (status, _, body) = call(Method::GET, "/whoami", Some(&basic("alice", &api_token)), Some("acme")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"sub": alice, "brand": "acme", "scope": "read write", "act_type": "user"}));

    let (status, challenges, _) = call(Method::GET, "/whoami", None, Some("acme")).await;
    assert_eq!(status, 401);
    assert!(
        challenges.iter().any(|c| c == "Bearer") && challenges.iter().any(|c| c.starts_with("Basic ")),
        "{challenges:?}"
    );
    for (authorization, brand, why) in [
        (bearer(&read), None, "no brand header"),
        (bearer(&read), Some("globex"), "another brand in the header"),
        (bearer(&other), Some("globex"), "another brand's token"),
        (bearer("not.a.token"), Some("acme"), "garbage"),
    ] {
        let (status, challenges, body) = call(Method::GET, "/whoami", Some(&authorization), brand).await;
        assert_eq!(status, 401, "{why}: {body}");
        assert_eq!(body["error"], "invalid_token", "{why}");
        assert!(challenges[0].starts_with("Bearer error=\"invalid_token\""), "{why}: {challenges:?}");
    }
    let (status, challenges, _) = call(Method::GET, "/whoami", Some(&basic("alice", "pca_wrong")), Some("acme")).await;
    assert_eq!(status, 401);
    assert!(challenges[0].starts_with("Basic realm="), "{challenges:?}");

    let (status, challenges, body) = call(Method::POST, "/notes", Some(&bearer(&read)), Some("acme")).await;
    assert_eq!(status, 403, "{body}");
    assert!(challenges[0].contains("error=\"insufficient_scope\"") && challenges[0].contains("scope=\"write\""));
    let (status, _, body) = call(Method::POST, "/notes", Some(&bearer(&write)), Some("acme")).await;
    assert_eq!((status, body["author"].as_str()), (201, Some(writer.id.as_str())), "{body}");
    let (status, _, body) = call(Method::POST, "/notes", Some(&basic("alice", &api_token)), Some("acme")).await;
    assert_eq!((status, body["author"].as_str()), (201, Some(alice.as_str())), "{body}");
    let bad_body = http
        .post(format!("{api}/notes"))
        .bearer_auth(&write)
        .header("X-Brand-Key", "acme")
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("demo-api");
    assert_eq!(bad_body.status(), 400);
}
