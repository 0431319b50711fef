//! The public router through `tower::ServiceExt::oneshot`, on SQLite and (when configured)
//! Postgres: discovery, JWKS, the token endpoint in both URL forms, brand isolation, health.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use http::{Request, StatusCode, header};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use portcullis_core::AccessTokenClaims;

use common::*;

#[tokio::test]
async fn discovery_documents_agree_and_name_only_working_endpoints() {
    for f in fixtures().await {
        let (status, headers, oidc) = send(&f.router, get("/brands/acme/.well-known/openid-configuration")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::CACHE_CONTROL].to_str().unwrap().contains("max-age"));
        let (_, _, rfc8414) = send(&f.router, get("/.well-known/oauth-authorization-server/brands/acme")).await;
        assert_eq!(oidc, rfc8414);
        assert_eq!(oidc["issuer"], format!("{PUBLIC_URL}/brands/acme"));
        assert_eq!(oidc["token_endpoint"], format!("{PUBLIC_URL}/brands/acme/oauth/token"));
        assert_eq!(oidc["jwks_uri"], format!("{PUBLIC_URL}/brands/acme/jwks.json"));
        assert_eq!(
            oidc["grant_types_supported"],
            serde_json::json!([
                "client_credentials",
                "password",
                "operator_password",
                "refresh_token",
                "authorization_code"
            ])
        );
        let issuer = format!("{PUBLIC_URL}/brands/acme");
        assert_eq!(oidc["authorization_endpoint"], format!("{issuer}/oauth/authorize"));
        assert_eq!(oidc["userinfo_endpoint"], format!("{issuer}/userinfo"));
        assert_eq!(oidc["end_session_endpoint"], format!("{issuer}/logout"));
        assert_eq!(oidc["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(oidc["response_modes_supported"], serde_json::json!(["query"]));
        assert_eq!(oidc["subject_types_supported"], serde_json::json!(["public"]));
        assert_eq!(oidc["id_token_signing_alg_values_supported"], serde_json::json!(["EdDSA"]));
        assert_eq!(oidc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(oidc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            oidc["token_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
        );
        assert_eq!(
            oidc["introspection_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post"])
        );
        for scope in ["openid", "profile", "email"] {
            assert!(oidc["scopes_supported"].as_array().unwrap().contains(&serde_json::json!(scope)), "{scope}");
        }
        assert!(oidc.get("registration_endpoint").is_none(), "no dynamic registration is offered");
        assert_eq!(oidc["introspection_endpoint"], format!("{PUBLIC_URL}/brands/acme/oauth/introspect"));
        assert_eq!(oidc["revocation_endpoint"], format!("{PUBLIC_URL}/brands/acme/oauth/revoke"));
        assert_eq!(
            oidc["revocation_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post", "none"]),
            "public clients revoke by client_id"
        );
        let (status, _, body) = send(&f.router, get("/brands/nobody/.well-known/openid-configuration")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], "not_found");
    }
}

#[tokio::test]
async fn tokens_verify_against_their_brand_only() {
    for f in fixtures().await {
        let (status, headers, body) =
            send(&f.router, token_request("/brands/acme/oauth/token", auth(&f.acme), "grant_type=client_credentials"))
                .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "read");
        assert_eq!(body["expires_in"], 900);
        let token = body["access_token"].as_str().unwrap();

        let header = decode_header(token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let (_, _, acme_jwks) = send(&f.router, get("/brands/acme/jwks.json")).await;
        let (_, _, globex_jwks) = send(&f.router, get("/brands/globex/jwks.json")).await;
        let acme_jwks: JwkSet = serde_json::from_value(acme_jwks).unwrap();
        let globex_jwks: JwkSet = serde_json::from_value(globex_jwks).unwrap();
        let kid = header.kid.unwrap();
        assert!(globex_jwks.find(&kid).is_none(), "brand B does not publish brand A's key");

        let mut validation = Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.set_audience(&["https://api.acme"]);
        validation.set_issuer(&[format!("{PUBLIC_URL}/brands/acme")]);
        let key = DecodingKey::from_jwk(acme_jwks.find(&kid).unwrap()).unwrap();
        let claims = decode::<AccessTokenClaims>(token, &key, &validation).unwrap().claims;
        assert_eq!(claims.sub, f.acme.client.client_id.as_str());
        assert_eq!(claims.client_id, f.acme.client.client_id.as_str());
        assert_eq!(claims.brand, "acme");
        assert_eq!(claims.exp - claims.iat, 900);

        let globex_key = DecodingKey::from_jwk(&globex_jwks.keys[0]).unwrap();
        assert!(decode::<AccessTokenClaims>(token, &globex_key, &validation).is_err());
    }
}

#[tokio::test]
async fn both_url_forms_and_both_auth_methods_work() {
    for f in fixtures().await {
        let id = f.acme.client.client_id.as_str();
        let secret = f.acme.secret.as_ref().expect("secret").expose();
        let post_body = format!(
            "grant_type=client_credentials&scope=write&audience=https%3A%2F%2Fapi.acme&client_id={id}&client_secret={secret}"
        );
        let (status, _, body) = send(&f.router, token_request("/oauth/token?brand_key=acme", None, &post_body)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["scope"], "write");

        let (status, _, body) =
            send(&f.router, token_request("/oauth/token", auth(&f.acme), "grant_type=client_credentials")).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    }
}

#[tokio::test]
async fn errors_follow_rfc_6749() {
    for f in fixtures().await {
        let cases: Vec<(&str, Option<String>, String, StatusCode, &str)> = vec![
            (
                "/brands/acme/oauth/token",
                auth(&f.globex),
                "grant_type=client_credentials".into(),
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                "/brands/acme/oauth/token",
                Some(basic(f.acme.client.client_id.as_str(), "wrong")),
                "grant_type=client_credentials".into(),
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                "/brands/acme/oauth/token",
                None,
                "grant_type=client_credentials".into(),
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            ("/brands/acme/oauth/token", auth(&f.acme), String::new(), StatusCode::BAD_REQUEST, "invalid_request"),
            (
                "/brands/acme/oauth/token",
                auth(&f.acme),
                "grant_type=implicit".into(),
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
            ),
            (
                "/brands/acme/oauth/token",
                auth(&f.acme),
                "grant_type=client_credentials&scope=admin".into(),
                StatusCode::BAD_REQUEST,
                "invalid_scope",
            ),
            (
                "/brands/acme/oauth/token",
                auth(&f.acme),
                "grant_type=client_credentials&audience=https://api.globex".into(),
                StatusCode::BAD_REQUEST,
                "invalid_target",
            ),
            (
                "/brands/acme/oauth/token",
                auth(&f.acme),
                "grant_type=client_credentials&grant_type=client_credentials".into(),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
            (
                "/brands/acme/oauth/token",
                auth(&f.acme),
                format!(
                    "grant_type=client_credentials&client_secret={}",
                    f.acme.secret.as_ref().expect("secret").expose()
                ),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
            (
                "/brands/nobody/oauth/token",
                auth(&f.acme),
                "grant_type=client_credentials".into(),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
            (
                "/brands/acme/oauth/token",
                Some("Basic %%%".into()),
                "grant_type=client_credentials".into(),
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
        ];
        for (uri, authorization, body, status, error) in cases {
            let (got, headers, json) = send(&f.router, token_request(uri, authorization.clone(), &body)).await;
            assert_eq!((got, json["error"].as_str()), (status, Some(error)), "{uri} {body}: {json}");
            assert!(json["error_description"].is_string());
            assert_eq!(headers[header::CACHE_CONTROL], "no-store");
            if status == StatusCode::UNAUTHORIZED {
                assert!(headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic"));
            }
            assert!(
                !json.to_string().contains(f.acme.secret.as_ref().expect("secret").expose()),
                "no secret is echoed"
            );
        }
    }
}

#[tokio::test]
async fn oversized_and_mistyped_bodies_are_refused_without_5xx() {
    for f in fixtures().await {
        let big = format!("grant_type=client_credentials&pad={}", "a".repeat(3 * 1024 * 1024));
        let (status, _, body) = send(&f.router, token_request("/brands/acme/oauth/token", auth(&f.acme), &big)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"], "invalid_request");

        let json = Request::post("/brands/acme/oauth/token")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, auth(&f.acme).unwrap())
            .body(Body::from("{\"grant_type\":\"client_credentials\"}"))
            .unwrap();
        let (status, _, body) = send(&f.router, json).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));

        let (status, _, body) = send(&f.router, get("/no/such/path")).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    }
}

#[tokio::test]
async fn repeated_failures_from_one_address_get_429_with_retry_after() {
    for f in fixtures().await {
        let from = |auth: Option<String>| {
            let mut request = token_request("/brands/acme/oauth/token", auth, "grant_type=client_credentials");
            let peer: std::net::SocketAddr = "192.0.2.9:4000".parse().unwrap();
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            request
        };
        let wrong = Some(basic(f.acme.client.client_id.as_str(), "guess"));
        for _ in 0..portcullis_grants::throttle::PER_CLIENT_AND_SOURCE {
            let (status, _, _) = send(&f.router, from(wrong.clone())).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, headers, body) = send(&f.router, from(auth(&f.acme))).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["error"], "slow_down");
        assert!(headers[header::RETRY_AFTER].to_str().unwrap().parse::<u64>().unwrap() >= 1);
        let (status, _, _) =
            send(&f.router, token_request("/brands/acme/oauth/token", auth(&f.acme), "grant_type=client_credentials"))
                .await;
        assert_eq!(status, StatusCode::OK, "another address is not held back");
    }
}

#[tokio::test]
async fn wrong_methods_get_json_405() {
    for f in fixtures().await {
        let (status, _, body) = send(&f.router, get("/brands/acme/oauth/token")).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("invalid_request")));
    }
}

#[tokio::test]
async fn health_endpoints_answer() {
    for f in fixtures().await {
        let (status, _, body) = send(&f.router, get("/healthz")).await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));
        let (status, _, body) = send(&f.router, get("/readyz")).await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ready")));
        assert_eq!((body["database"].as_str(), body["signing_keys"].as_str()), (Some("ok"), Some("ok")));
    }
}

#[tokio::test]
async fn readiness_needs_signing_keys_the_master_key_opens() {
    use portcullis_credentials::master::MasterKey;
    use portcullis_grants::keyring::KeyRing;
    for f in fixtures().await {
        // Another process on the same database with the wrong master key.
        let wrong = router(context(f.db.store().await, KeyRing::new(MasterKey::generate().unwrap().0)));
        let (status, _, body) = send(&wrong, get("/readyz")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(
            (body["status"].as_str(), body["reason"].as_str()),
            (Some("unavailable"), Some("signing keys unusable"))
        );
        // And on an empty database (no `system` brand yet).
        let empty = portcullis_store::testing::all().await.remove(0);
        let fresh = router(context(empty.store().await, KeyRing::new(MasterKey::generate().unwrap().0)));
        let (status, _, _) = send(&fresh, get("/readyz")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
}

#[tokio::test]
async fn browser_applications_may_call_the_token_endpoint_but_not_the_login_pages_cross_origin() {
    for f in fixtures().await {
        let preflight = Request::builder()
            .method("OPTIONS")
            .uri("/brands/acme/oauth/token")
            .header(header::ORIGIN, "https://spa.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(Body::empty())
            .unwrap();
        let (status, headers, _) = send(&f.router, preflight).await;
        assert!(status.is_success(), "{status}");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(headers.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none(), "cookies never cross origins");

        let mut request = token_request("/brands/acme/oauth/token", auth(&f.acme), "grant_type=client_credentials");
        request.headers_mut().insert(header::ORIGIN, "https://spa.example".parse().unwrap());
        let (status, headers, _) = send(&f.router, request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");

        let mut page = get("/brands/acme/oauth/authorize?client_id=x");
        page.headers_mut().insert(header::ORIGIN, "https://spa.example".parse().unwrap());
        let (_, headers, _) = send(&f.router, page).await;
        assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "the login pages are same-origin only");
    }
}

#[tokio::test]
async fn a_stalled_request_body_is_answered_408_once_the_request_timeout_passes() {
    use futures_util::StreamExt;
    use tower::ServiceExt;

    let f = fixtures().await.remove(0);
    // Virtual time from the moment the handler reads the body (after any database work, which
    // virtual time would time out): the runtime then jumps to the next timer as soon as nothing
    // else can run.
    let first = futures_util::stream::once(async {
        tokio::time::pause();
        Ok::<_, std::io::Error>("grant_type=client_cre")
    });
    let request = Request::post("/brands/acme/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from_stream(first.chain(futures_util::stream::pending())))
        .unwrap();
    let started = tokio::time::Instant::now();
    let response = f.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert!(started.elapsed() >= portcullis_token_server::REQUEST_TIMEOUT);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}
