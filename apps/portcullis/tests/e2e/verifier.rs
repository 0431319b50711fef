//! `portcullis-verifier` against the real server: what it accepts and what it refuses, and a
//! key rotation under concurrent verifications with no failure.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use portcullis_verifier::{Verifier, VerifierConfig, VerifyError};
use serde_json::{Value, json};

use crate::fixture::{ClientCredentials, Fixture, Server};
use crate::http::{Auth, client, client_credentials};

const AUDIENCE: &str = "https://api.acme.example";

async fn token(server: &Server, client: &ClientCredentials, extra: &[(&str, &str)]) -> String {
    client_credentials(&server.token_url(&client.brand), Auth::Basic(client), extra).await.access_token()
}

/// `token` with its header replaced (the signature no longer matches, unless re-signed).
fn with_header(token: &str, header: &Value) -> String {
    let mut parts = token.splitn(2, '.');
    let (_, rest) = (parts.next(), parts.next().expect("payload and signature"));
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

fn header_of(token: &str) -> Value {
    let encoded = token.split('.').next().expect("header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).expect("base64url")).expect("JSON")
}

fn payload_of(token: &str) -> Value {
    let encoded = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).expect("base64url")).expect("JSON")
}

#[tokio::test]
async fn the_verifier_accepts_real_tokens_and_refuses_everything_else() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    fixture.create_brand("globex", &[]);
    let flags = [
        "--grant",
        "client_credentials",
        "--scope",
        "read",
        "write",
        "--default-scope",
        "read",
        "--audience",
        AUDIENCE,
    ];
    let acme = fixture.create_client("acme", &flags);
    let globex = fixture.create_client("globex", &flags);
    let short = fixture.create_client("acme", &[&flags[..], &["--access-ttl", "1"]].concat());
    let server = fixture.serve().await;
    let issuer = fixture.issuer("acme");
    let verifier = Verifier::discover(
        VerifierConfig::new(issuer.as_str(), AUDIENCE).leeway(Duration::ZERO).require_brand_header("X-Brand-Key"),
    )
    .await
    .expect("discovery");
    assert_eq!(verifier.brand(), "acme");

    let good = token(&server, &acme, &[("audience", AUDIENCE)]).await;
    let verified = verifier.verify(&good).await.expect("a real token verifies");
    assert_eq!((verified.sub(), verified.brand()), (acme.id.as_str(), "acme"));
    verifier.check_brand_header(&verified, Some("acme")).expect("matching brand header");
    assert_eq!(verifier.check_brand_header(&verified, Some("globex")), Err(VerifyError::BrandHeaderMismatch));
    assert_eq!(verifier.check_brand_header(&verified, None), Err(VerifyError::BrandHeaderMismatch));
    assert!(verified.require_scopes(&["read"]).is_ok());
    let missing = verified.require_scopes(&["write"]).unwrap_err();
    assert_eq!((missing.status(), missing.code()), (403, "insufficient_scope"));
    assert!(missing.www_authenticate().contains("scope=\"write\""));

    // Another brand's token, and one for another audience.
    let foreign = token(&server, &globex, &[("audience", AUDIENCE)]).await;
    assert!(verifier.verify(&foreign).await.is_err(), "another brand's token");
    let elsewhere = Verifier::discover(VerifierConfig::new(issuer.as_str(), "https://other.example")).await.unwrap();
    assert_eq!(elsewhere.verify(&good).await, Err(VerifyError::WrongAudience));
    // Only the explicit opt-out accepts it (F5: no audience check is never the default).
    let anywhere = Verifier::discover(VerifierConfig::accepting_any_audience(issuer.as_str())).await.unwrap();
    assert!(anywhere.verify(&good).await.is_ok(), "accepting any audience");

    // Tampering.
    // One character well inside the signature (the last one also carries padding bits).
    let mut tampered = good.clone().into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII");
    assert_eq!(verifier.verify(&tampered).await, Err(VerifyError::BadSignature));
    let mut header = header_of(&good);
    header["typ"] = "JWT".into();
    assert_eq!(
        verifier.verify(&with_header(&good, &header)).await,
        Err(VerifyError::WrongType),
        "an ID token or plain JWT"
    );
    let mut none = header_of(&good);
    none["alg"] = "none".into();
    let unsigned = format!("{}.", with_header(&good, &none).rsplit_once('.').unwrap().0);
    assert!(verifier.verify(&unsigned).await.is_err(), "alg none");
    for garbage in ["", "abc", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30.c2ln"] {
        assert!(verifier.verify(garbage).await.is_err(), "{garbage}");
    }

    // alg confusion: HS256 keyed with the public key the JWKS publishes.
    let jwks: Value = client().get(format!("{issuer}/jwks.json")).send().await.unwrap().json().await.unwrap();
    let kid = header_of(&good)["kid"].as_str().unwrap().to_owned();
    let public = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).unwrap()["x"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut hs = Header::new(jsonwebtoken::Algorithm::HS256);
    hs.typ = Some("at+jwt".into());
    hs.kid = Some(kid);
    let forged = jsonwebtoken::encode(&hs, &payload_of(&good), &EncodingKey::from_secret(public.as_bytes())).unwrap();
    assert_eq!(verifier.verify(&forged).await, Err(VerifyError::WrongAlgorithm));

    // Expiry, with no leeway.
    let brief = token(&server, &short, &[("audience", AUDIENCE)]).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(verifier.verify(&brief).await, Err(VerifyError::Expired));
}

#[tokio::test]
async fn a_key_rotation_under_traffic_fails_no_verification() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    let app =
        fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read", "--audience", AUDIENCE]);
    let server = fixture.serve().await;
    let admin = server.revealed_admin().expect("admin");
    let admin_token = token(&server, &admin, &[]).await;
    // Two rotations in quick succession: the second promotes a key published by the first. One
    // verifier learns it by refetching on the unknown kid (allowed every 100 ms here), the other
    // by refreshing its JWKS when it gets old (every 100 ms here; unknown kids not refetched).
    let refetching =
        VerifierConfig::new(fixture.issuer("acme"), AUDIENCE).min_refetch_interval(Duration::from_millis(100));
    let refreshing = VerifierConfig::new(fixture.issuer("acme"), AUDIENCE)
        .min_refetch_interval(Duration::from_secs(600))
        .jwks_max_age(Duration::from_millis(100));
    let verifiers = [
        Verifier::discover(refetching).await.expect("discovery"),
        Verifier::discover(refreshing).await.expect("discovery"),
    ];

    // Traffic runs from before the first rotation until after the second.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (server_url, app, verifiers, stop) =
            (server.token_url("acme"), app.clone(), verifiers.clone(), std::sync::Arc::clone(&stop));
        tasks.spawn(async move {
            let mut kids = std::collections::BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let token = client_credentials(&server_url, Auth::Basic(&app), &[]).await.access_token();
                for verifier in &verifiers {
                    verifier.verify(&token).await.expect("no verification fails across the rotation");
                }
                kids.insert(header_of(&token)["kid"].as_str().expect("kid").to_owned());
            }
            kids
        });
    }
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let rotate = json!({"query": "mutation { rotateSigningKey(brandKey: \"acme\") { kid } }"});
        let response = client()
            .post(format!("{}/graphql", server.admin_url))
            .bearer_auth(&admin_token)
            .json(&rotate)
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert!(body["data"]["rotateSigningKey"]["kid"].is_string(), "{body}");
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut kids = std::collections::BTreeSet::new();
    while let Some(done) = tasks.join_next().await {
        kids.extend(done.expect("task"));
    }
    assert_eq!(kids.len(), 3, "tokens of all three keys were verified: {kids:?}");
}

/// A resource server built on the verifier's layer and extractor, on a free loopback port.
async fn resource_server(verifier: Verifier) -> String {
    use axum::routing::{get, post};
    use portcullis_verifier::{Verified, VerifyLayer};

    async fn whoami(verified: Verified) -> axum::Json<Value> {
        axum::Json(json!({"sub": verified.sub(), "brand": verified.brand(), "scope": verified.scope()}))
    }
    let app = axum::Router::new()
        .route("/whoami", get(whoami).layer(VerifyLayer::new(verifier.clone())))
        .route("/notes", post(whoami).layer(VerifyLayer::new(verifier).require_scopes(["write"])));
    serve_router(app).await
}

/// Serves `app` on a free loopback port for the rest of the test; returns its base URL.
pub(crate) async fn serve_router(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn the_layer_and_extractor_answer_per_rfc_6750() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    let reader =
        fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read", "--audience", AUDIENCE]);
    let writer =
        fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "write", "--audience", AUDIENCE]);
    let server = fixture.serve().await;
    let verifier = Verifier::discover(
        VerifierConfig::new(fixture.issuer("acme"), AUDIENCE).require_brand_header("X-RATOR-brand-key"),
    )
    .await
    .expect("discovery");
    let api = resource_server(verifier).await;
    let read_token = token(&server, &reader, &[("scope", "read")]).await;
    let write_token = token(&server, &writer, &[("scope", "write")]).await;
    let call = async |method: reqwest::Method, path: &str, bearer: Option<&str>, brand: Option<&str>| {
        let mut request = client().request(method, format!("{api}{path}"));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(brand) = brand {
            request = request.header("X-RATOR-brand-key", brand);
        }
        let response = request.send().await.expect("resource server");
        let challenge = response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (response.status().as_u16(), challenge, response.json::<Value>().await.unwrap_or(Value::Null))
    };
    use reqwest::Method;

    let (status, challenge, body) = call(Method::GET, "/whoami", Some(&read_token), Some("acme")).await;
    assert_eq!((status, body["sub"].as_str()), (200, Some(reader.id.as_str())), "{body}");
    assert!(challenge.is_none());

    let (status, challenge, _) = call(Method::GET, "/whoami", None, Some("acme")).await;
    assert_eq!((status, challenge.as_deref()), (401, Some("Bearer")), "no token: a bare challenge");
    let (status, challenge, body) = call(Method::GET, "/whoami", Some("garbage"), Some("acme")).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));
    assert_eq!(body["error"], "invalid_token");
    let (status, _, _) = call(Method::GET, "/whoami", Some(&read_token), None).await;
    assert_eq!(status, 401, "the brand header is required");
    let (status, _, _) = call(Method::GET, "/whoami", Some(&read_token), Some("globex")).await;
    assert_eq!(status, 401, "and must name the token's brand");

    let (status, challenge, body) = call(Method::POST, "/notes", Some(&read_token), Some("acme")).await;
    assert_eq!(status, 403, "{body}");
    let challenge = challenge.unwrap();
    assert!(challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"write\""), "{challenge}");
    let (status, _, _) = call(Method::POST, "/notes", Some(&write_token), Some("acme")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn every_signing_algorithm_verifies_and_tampering_fails() {
    let fixture = Fixture::sqlite();
    let mut brands = Vec::new();
    for (brand, algorithm) in [("ed", "EdDSA"), ("ec", "ES256"), ("rsa", "RS256")] {
        fixture.create_brand(brand, &["--algorithm", algorithm]);
        brands.push((
            brand,
            algorithm,
            fixture.create_client(brand, &["--grant", "client_credentials", "--scope", "read", "--audience", AUDIENCE]),
        ));
    }
    let server = fixture.serve().await;
    for (brand, algorithm, app) in &brands {
        let verifier =
            Verifier::discover(VerifierConfig::new(fixture.issuer(brand), AUDIENCE)).await.expect("discovery");
        let good = token(&server, app, &[]).await;
        assert_eq!(header_of(&good)["alg"], *algorithm);
        let verified = verifier.verify(&good).await.unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        assert_eq!(verified.sub(), app.id, "{algorithm}");
        let mut tampered = good.clone().into_bytes();
        let at = tampered.len() - 10;
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ASCII");
        assert_eq!(verifier.verify(&tampered).await, Err(VerifyError::BadSignature), "{algorithm}");
        // The same claims under another brand's algorithm name.
        let mut header = header_of(&good);
        header["alg"] = if *algorithm == "RS256" { "ES256" } else { "RS256" }.into();
        assert_eq!(
            verifier.verify(&with_header(&good, &header)).await,
            Err(VerifyError::WrongAlgorithm),
            "{algorithm}"
        );
    }
}
