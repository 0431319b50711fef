//! Request ids and Prometheus metrics: every answer carries an `X-Request-Id`, and `GET
//! /metrics` on the admin router counts requests, issued tokens, OAuth errors and failed
//! authentications without letting junk input create series.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use portcullis_credentials::master::MasterKey;
use portcullis_grants::keyring::KeyRing;
use portcullis_grants::provision::{Actor, bootstrap};
use portcullis_token_server::{admin_router, metrics_router, public_router};
use tower::ServiceExt;

use common::*;

async fn text(router: &Router, request: Request<Body>) -> (StatusCode, http::HeaderMap, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn metrics_count_requests_tokens_and_failures() {
    for db in portcullis_store::testing::all().await {
        let ctx = context(db.store().await, KeyRing::new(MasterKey::generate().unwrap().0));
        bootstrap(&ctx.store, &ctx.keys, false, &Actor::new("test"), ctx.clock.now()).await.unwrap();
        let acme = brand_with_client(&ctx, "acme").await;
        let state = state(ctx);
        let public = public_router(state.clone());
        let admin = admin_router(state.clone(), metrics_router(state));

        let ok = token_request("/brands/acme/oauth/token", auth(&acme), "grant_type=client_credentials");
        assert_eq!(send(&public, ok).await.0, StatusCode::OK);
        let wrong = token_request(
            "/brands/acme/oauth/token",
            Some(basic(acme.client.client_id.as_str(), "wrong")),
            "grant_type=client_credentials",
        );
        assert_eq!(send(&public, wrong).await.0, StatusCode::UNAUTHORIZED);
        for junk in [
            "/brands/no-such-brand-1/jwks.json",
            "/brands/no-such-brand-2/jwks.json",
            "/etc/passwd",
            "/",
            "/brands",
            "/brands/acme",
            "/brands/acme/oauth/token/extra",
            "/x/../../etc",
        ] {
            assert_eq!(send(&public, get(junk)).await.0, StatusCode::NOT_FOUND, "{junk}");
        }

        let (status, headers, body) = text(&admin, get("/metrics")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
        for expected in [
            r#"portcullis_tokens_issued_total{brand="acme",grant="client_credentials"} 1"#,
            r#"portcullis_http_requests_total{listener="public",endpoint="/brands/{brand}/oauth/token",status="200",brand="acme"} 1"#,
            r#"portcullis_http_requests_total{listener="public",endpoint="/brands/{brand}/oauth/token",status="401",brand=""} 1"#,
            r#"portcullis_http_requests_total{listener="public",endpoint="/brands/{brand}/jwks.json",status="404",brand=""} 2"#,
            // Paths of no route share one label, whatever they are.
            r#"portcullis_http_requests_total{listener="public",endpoint="other",status="404",brand=""} 6"#,
            r#"portcullis_oauth_errors_total{endpoint="/brands/{brand}/oauth/token",error="invalid_client"} 1"#,
            r#"portcullis_authentication_failures_total{kind="client"} 1"#,
            r#"portcullis_http_request_duration_seconds_count{listener="public",endpoint="/brands/{brand}/oauth/token"} 2"#,
            r#"portcullis_db_pool_connections{state="open"}"#,
        ] {
            assert!(body.contains(expected), "[{}] missing {expected} in:\n{body}", db.name);
        }
        assert!(!body.contains("no-such-brand"), "unknown brands never become label values");
        assert!(body.trim_end().ends_with("# EOF"));
    }
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let f = fixtures().await.remove(0);
    let (_, headers, _) = send(&f.router, get("/healthz")).await;
    let made = headers["x-request-id"].to_str().unwrap().to_owned();
    assert!(made.len() > 8, "{made}");
    let (_, again, _) = send(&f.router, get("/healthz")).await;
    assert_ne!(again["x-request-id"], made.as_str(), "ids are unique");

    let with_id = |id: &str| Request::get("/healthz").header("x-request-id", id).body(Body::empty()).unwrap();
    let (_, headers, _) = send(&f.router, with_id("abc-123")).await;
    assert_eq!(headers["x-request-id"], "abc-123", "a caller's id is kept");
    let (_, headers, _) = send(&f.router, with_id("<script>")).await;
    assert_ne!(headers["x-request-id"], "<script>", "an unsafe id is replaced");
    let (status, headers, _) = send(&f.router, get("/nowhere")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers.contains_key("x-request-id"), "error answers too");
}
