//! Scenario 2: real client libraries against the running server. Discovery documents in both
//! forms, a client_credentials token through `oauth2` with both client authentication methods,
//! and the token's signature checked against the published JWKS with `openidconnect` and with
//! `jsonwebtoken`, for every signing algorithm a brand may use.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::basic::{BasicClient, BasicTokenType};
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use openidconnect::JsonWebKey;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use serde_json::Value;

use crate::fixture::{ClientCredentials, Fixture};
use crate::http::get;

/// The audience the `acme` client may address.
const AUDIENCE: &str = "https://api.example.com";

/// The default access-token lifetime (`tokens.access_ttl`).
const DEFAULT_TTL: u64 = 900;

/// What a verified access token must say.
struct Expected<'a> {
    algorithm: &'a str,
    issuer: String,
    brand: &'a str,
    client: &'a ClientCredentials,
    audience: &'a str,
    scope: &'a str,
}

#[tokio::test]
async fn discovery_documents_agree_and_describe_the_brand() {
    for fixture in Fixture::all().await {
        fixture.create_brand("acme", &[]);
        let server = fixture.serve().await;
        let metadata = discover(&server.public_url, "acme").await;
        let issuer = fixture.issuer("acme");
        let backend = fixture.name();
        assert_eq!(metadata["issuer"], issuer.as_str(), "[{backend}] {metadata}");
        assert_eq!(metadata["token_endpoint"], format!("{issuer}/oauth/token"), "[{backend}]");
        assert_eq!(metadata["jwks_uri"], format!("{issuer}/jwks.json"), "[{backend}]");
        assert_eq!(metadata["authorization_endpoint"], format!("{issuer}/oauth/authorize"), "[{backend}]");
        assert_eq!(metadata["userinfo_endpoint"], format!("{issuer}/userinfo"), "[{backend}]");
        assert_eq!(metadata["end_session_endpoint"], format!("{issuer}/logout"), "[{backend}]");
        assert_eq!(
            metadata["grant_types_supported"],
            serde_json::json!([
                "client_credentials",
                "password",
                "operator_password",
                "refresh_token",
                "authorization_code"
            ]),
            "[{backend}]"
        );
        assert_eq!(
            metadata["token_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post", "none"]),
            "[{backend}]"
        );
        // openidconnect's own types read the document.
        let typed: openidconnect::core::CoreProviderMetadata =
            serde_json::from_value(metadata.clone()).unwrap_or_else(|e| panic!("[{backend}] {e}"));
        assert_eq!(typed.issuer().as_str(), issuer);

        let jwks = get(metadata["jwks_uri"].as_str().expect("jwks_uri")).await;
        assert_eq!(jwks.status.as_u16(), 200, "[{backend}] {}", jwks.text);
        let keys = jwks.body()["keys"].as_array().expect("keys");
        assert!(!keys.is_empty(), "[{backend}] the brand publishes no key");
        for key in keys {
            assert!(key["kid"].is_string(), "[{backend}] a key without kid: {key}");
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(key.get(private).is_none(), "[{backend}] the JWKS leaks private member `{private}`");
            }
        }
    }
}

#[tokio::test]
async fn oauth2_client_gets_verifiable_tokens_with_both_auth_methods() {
    for fixture in Fixture::all().await {
        fixture.create_brand("acme", &[]);
        let client = fixture.create_client(
            "acme",
            &["--grant", "client_credentials", "--scope", "read write", "--default-scope", "read"],
        );
        let client_with_audience = fixture
            .create_client("acme", &["--grant", "client_credentials", "--scope", "read", "--audience", AUDIENCE]);
        let server = fixture.serve().await;
        let metadata = discover(&server.public_url, "acme").await;
        let expected = |client| Expected {
            algorithm: "EdDSA",
            issuer: fixture.issuer("acme"),
            brand: "acme",
            client,
            audience: AUDIENCE,
            scope: "read",
        };

        let mut jtis = Vec::new();
        for method in [AuthType::BasicAuth, AuthType::RequestBody] {
            let token = oauth2_token(&metadata, &client_with_audience, &method, &["read"], Some(AUDIENCE)).await;
            let claims = verify_access_token(&metadata, &token, &expected(&client_with_audience)).await;
            jtis.push(claims["jti"].clone());

            // Without an audience parameter and without configured audiences, the token is
            // addressed to the client itself; both scopes are granted when asked for.
            let token = oauth2_token(&metadata, &client, &method, &["read", "write"], None).await;
            let claims = verify_access_token(
                &metadata,
                &token,
                &Expected { audience: &client.id, scope: "read write", ..expected(&client) },
            )
            .await;
            jtis.push(claims["jti"].clone());
        }
        jtis.sort_by_key(Value::to_string);
        jtis.dedup();
        assert_eq!(jtis.len(), 4, "[{}] every token needs its own jti", fixture.name());
    }
}

#[tokio::test]
async fn every_signing_algorithm_verifies_against_the_jwks() {
    for fixture in Fixture::all().await {
        let brands = [("ed-brand", "EdDSA"), ("ec-brand", "ES256"), ("rsa-brand", "RS256")];
        let clients: Vec<ClientCredentials> = brands
            .iter()
            .map(|(brand, algorithm)| {
                let created = fixture.create_brand(brand, &["--algorithm", algorithm]);
                assert_eq!(created["signing_algorithm"], *algorithm, "[{}] {created}", fixture.name());
                assert_eq!(created["issuer"], fixture.issuer(brand), "[{}]", fixture.name());
                fixture.create_client(
                    brand,
                    &["--grant", "client_credentials", "--scope", "read", "--default-scope", "read"],
                )
            })
            .collect();
        let server = fixture.serve().await;
        for ((brand, algorithm), client) in brands.iter().zip(&clients) {
            let metadata = discover(&server.public_url, brand).await;
            let token = oauth2_token(&metadata, client, &AuthType::BasicAuth, &[], None).await;
            let expected = Expected {
                algorithm,
                issuer: fixture.issuer(brand),
                brand,
                client,
                audience: &client.id,
                scope: "read",
            };
            verify_access_token(&metadata, &token, &expected).await;
        }
    }
}

/// Fetches both discovery documents of `brand`, checks that they are identical, and returns one.
async fn discover(public_url: &str, brand: &str) -> Value {
    let rfc8414 = get(&format!("{public_url}/.well-known/oauth-authorization-server/brands/{brand}")).await;
    let oidc = get(&format!("{public_url}/brands/{brand}/.well-known/openid-configuration")).await;
    for reply in [&rfc8414, &oidc] {
        assert_eq!(reply.status.as_u16(), 200, "discovery failed: {}", reply.text);
        assert!(reply.header("cache-control").is_some_and(|c| c.starts_with("public")), "{:?}", reply.headers);
    }
    assert_eq!(rfc8414.body(), oidc.body(), "both discovery documents must say the same");
    oidc.body().clone()
}

/// A client_credentials token obtained through `oauth2`'s `BasicClient`.
async fn oauth2_token(
    metadata: &Value,
    client: &ClientCredentials,
    auth_type: &AuthType,
    scopes: &[&str],
    audience: Option<&str>,
) -> String {
    let token_endpoint = metadata["token_endpoint"].as_str().expect("token_endpoint");
    let oauth_client = BasicClient::new(ClientId::new(client.id.clone()))
        .set_client_secret(ClientSecret::new(client.secret.clone()))
        .set_token_uri(TokenUrl::new(token_endpoint.to_owned()).expect("token URL"))
        .set_auth_type(auth_type.clone());
    let http_client = oauth2::reqwest::Client::builder()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    let mut request = oauth_client.exchange_client_credentials();
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    if let Some(audience) = audience {
        request = request.add_extra_param("audience", audience);
    }
    let response = request
        .request_async(&http_client)
        .await
        .unwrap_or_else(|e| panic!("client_credentials with {auth_type:?} failed: {e:?}"));
    assert_eq!(response.token_type(), &BasicTokenType::Bearer);
    assert_eq!(response.expires_in(), Some(Duration::from_secs(DEFAULT_TTL)));
    assert!(response.refresh_token().is_none());
    response.access_token().secret().clone()
}

/// Verifies `token`'s signature against the brand's JWKS with both libraries, checks its claims,
/// and returns them.
async fn verify_access_token(metadata: &Value, token: &str, expected: &Expected<'_>) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("JWS header");
    let (jwt_algorithm, jws_algorithm) = algorithms(expected.algorithm);
    assert_eq!(header.alg, jwt_algorithm, "signed with the wrong algorithm");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1 typ");
    let kid = header.kid.expect("a kid in the header");

    let jwks = get(metadata["jwks_uri"].as_str().expect("jwks_uri")).await;
    assert_eq!(jwks.status.as_u16(), 200, "{}", jwks.text);
    verify_with_openidconnect(&jwks.text, &kid, &jws_algorithm, token);
    let claims = verify_with_jsonwebtoken(&jwks.text, &kid, jwt_algorithm, token, expected);
    check_claims(&claims, expected);
    claims
}

/// The signature, checked by `openidconnect`'s JWK implementation; a changed message fails.
fn verify_with_openidconnect(jwks: &str, kid: &str, algorithm: &CoreJwsSigningAlgorithm, token: &str) {
    let set: CoreJsonWebKeySet = serde_json::from_str(jwks).expect("a JWKS openidconnect understands");
    let key = set
        .keys()
        .iter()
        .find(|k| k.key_id().is_some_and(|id| id.as_str() == kid))
        .unwrap_or_else(|| panic!("kid {kid} is not in the JWKS: {jwks}"));
    let (signing_input, signature) = token.rsplit_once('.').expect("a compact JWS");
    let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url signature");
    key.verify_signature(algorithm, signing_input.as_bytes(), &signature)
        .unwrap_or_else(|e| panic!("openidconnect rejects the signature: {e:?}"));
    let tampered = format!("{signing_input}A");
    assert!(
        key.verify_signature(algorithm, tampered.as_bytes(), &signature).is_err(),
        "a changed message must not verify"
    );
}

/// The signature and registered claims, checked by `jsonwebtoken`; returns the claims.
fn verify_with_jsonwebtoken(
    jwks: &str,
    kid: &str,
    algorithm: Algorithm,
    token: &str,
    expected: &Expected<'_>,
) -> Value {
    let set: JwkSet = serde_json::from_str(jwks).expect("a JWKS jsonwebtoken understands");
    let jwk = set.find(kid).unwrap_or_else(|| panic!("kid {kid} is not in the JWKS"));
    let key = DecodingKey::from_jwk(jwk).expect("a usable JWK");
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&[expected.audience]);
    validation.set_issuer(&[expected.issuer.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.sub = Some(expected.client.id.clone());
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("jsonwebtoken rejects the token: {e}"));

    let mut wrong_audience = validation.clone();
    wrong_audience.set_audience(&["https://elsewhere.example"]);
    assert!(jsonwebtoken::decode::<Value>(token, &key, &wrong_audience).is_err(), "another audience must fail");
    let mut wrong_issuer = validation;
    wrong_issuer.set_issuer(&["https://elsewhere.example/brands/acme"]);
    assert!(jsonwebtoken::decode::<Value>(token, &key, &wrong_issuer).is_err(), "another issuer must fail");
    data.claims
}

/// RFC 9068 claims plus `brand` and `act_type`.
fn check_claims(claims: &Value, expected: &Expected<'_>) {
    assert_eq!(claims["iss"], expected.issuer.as_str(), "{claims}");
    assert_eq!(claims["sub"], expected.client.id.as_str(), "{claims}");
    assert_eq!(claims["aud"], expected.audience, "{claims}");
    assert_eq!(claims["client_id"], expected.client.id.as_str(), "{claims}");
    assert_eq!(claims["scope"], expected.scope, "{claims}");
    assert_eq!(claims["brand"], expected.brand, "{claims}");
    assert_eq!(claims["act_type"], "client", "{claims}");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()), "{claims}");
    let iat = claims["iat"].as_u64().expect("iat");
    let exp = claims["exp"].as_u64().expect("exp");
    assert_eq!(exp - iat, DEFAULT_TTL, "{claims}");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    assert!(iat.abs_diff(now) < 120, "iat {iat} is far from now {now}");
}

/// The JOSE algorithm name as each library spells it.
fn algorithms(name: &str) -> (Algorithm, CoreJwsSigningAlgorithm) {
    match name {
        "EdDSA" => (Algorithm::EdDSA, CoreJwsSigningAlgorithm::EdDsa),
        "ES256" => (Algorithm::ES256, CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        "RS256" => (Algorithm::RS256, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
        other => panic!("no such brand algorithm: {other}"),
    }
}
