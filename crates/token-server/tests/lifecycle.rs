//! Introspection, revocation and the revocation feed through the public router, including the
//! bad inputs each endpoint must answer in protocol shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use common::*;

async fn issue(f: &Fixture) -> String {
    let (status, _, body) =
        send(&f.router, token_request("/brands/acme/oauth/token", auth(&f.acme), "grant_type=client_credentials"))
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn introspect(f: &Fixture, brand: &str, who: Option<String>, token: &str) -> (StatusCode, Value) {
    let (status, headers, body) =
        send(&f.router, token_request(&format!("/brands/{brand}/oauth/introspect"), who, &format!("token={token}")))
            .await;
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    (status, body)
}

fn feed(uri: &str, who: Option<String>) -> Request<Body> {
    let mut builder = Request::get(uri);
    if let Some(who) = who {
        builder = builder.header(header::AUTHORIZATION, who);
    }
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn introspection_needs_a_client_and_answers_only_for_its_brand() {
    for f in fixtures().await {
        let token = issue(&f).await;
        let (status, body) = introspect(&f, "acme", auth(&f.acme), &token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((body["active"].as_bool(), body["brand"].as_str()), (Some(true), Some("acme")), "{body}");

        let (status, body) = introspect(&f, "globex", auth(&f.globex), &token).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"active": false})), "cross-brand");
        let (status, body) = introspect(&f, "acme", auth(&f.globex), &token).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        let (status, body) = introspect(&f, "acme", None, &token).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        let (status, body) = introspect(&f, "nobody", auth(&f.acme), &token).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));

        let (status, _, body) =
            send(&f.router, token_request("/brands/acme/oauth/introspect", auth(&f.acme), "")).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "no token");
        let json_body = Request::post("/brands/acme/oauth/introspect")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, auth(&f.acme).unwrap())
            .body(Body::from(format!("{{\"token\":\"{token}\"}}")))
            .unwrap();
        let (status, _, body) = send(&f.router, json_body).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
        let huge = format!("token={}", "a".repeat(200_000));
        let (status, _, body) =
            send(&f.router, token_request("/brands/acme/oauth/introspect", auth(&f.acme), &huge)).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("invalid_request")));
        let (status, _, _) = send(&f.router, get("/brands/acme/oauth/introspect")).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }
}

#[tokio::test]
async fn revocation_is_idempotent_and_limited_to_the_owner() {
    for f in fixtures().await {
        let token = issue(&f).await;
        let revoke = |who: Option<String>, body: String| token_request("/brands/acme/oauth/revoke", who, &body);

        let (status, _, body) = send(&f.router, revoke(auth(&f.globex), format!("token={token}"))).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        let (status, _, body) = send(&f.router, revoke(auth(&f.acme), String::new())).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));

        for _ in 0..2 {
            let response = f.router.clone().oneshot(revoke(auth(&f.acme), format!("token={token}"))).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert!(response.into_body().collect().await.unwrap().to_bytes().is_empty());
        }
        let (status, _, _) = send(&f.router, revoke(auth(&f.acme), "token=not-a-token".into())).await;
        assert_eq!(status, StatusCode::OK, "unknown tokens are answered 200");
        let (status, _, body) = send(&f.router, revoke(auth(&f.acme), "token=pca_abc".into())).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_token_type")));
        let (_, body) = introspect(&f, "acme", auth(&f.acme), &token).await;
        assert_eq!(body, json!({"active": false}));
    }
}

#[tokio::test]
async fn the_feed_pages_by_cursor_and_refuses_bad_input() {
    for f in fixtures().await {
        let token = issue(&f).await;
        let (status, _, empty) = send(&f.router, feed("/brands/acme/revocations", auth(&f.acme))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(empty["revocations"], json!([]));
        let start = empty["cursor"].as_str().unwrap().to_owned();

        send(&f.router, token_request("/brands/acme/oauth/revoke", auth(&f.acme), &format!("token={token}"))).await;
        let (_, _, page) =
            send(&f.router, feed(&format!("/brands/acme/revocations?after={start}"), auth(&f.acme))).await;
        let entries = page["revocations"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{page}");
        assert_eq!(entries[0]["kind"], "token");
        assert_eq!(page["cursor"], entries[0]["cursor"]);
        let (_, _, after) = send(
            &f.router,
            feed(&format!("/brands/acme/revocations?after={}", page["cursor"].as_str().unwrap()), auth(&f.acme)),
        )
        .await;
        assert_eq!(after["revocations"], json!([]));
        let (_, _, other) = send(&f.router, feed("/brands/globex/revocations", auth(&f.globex))).await;
        assert_eq!(other["revocations"], json!([]), "another brand's feed is its own");
        // Cursors are opaque (no platform-wide count shows through) and open at their brand only.
        let sealed = page["cursor"].as_str().unwrap();
        assert!(sealed.len() == 22 && sealed.parse::<i64>().is_err(), "{sealed}");
        let (got, _, body) =
            send(&f.router, feed(&format!("/brands/globex/revocations?after={sealed}"), auth(&f.globex))).await;
        assert_eq!(got, StatusCode::BAD_REQUEST, "another brand's cursor: {body}");
        let (got, _, _) = send(&f.router, feed("/brands/acme/revocations?after=1", auth(&f.acme))).await;
        assert_eq!(got, StatusCode::BAD_REQUEST, "a position named by number");

        for (uri, who, status) in [
            ("/brands/acme/revocations", None, StatusCode::UNAUTHORIZED),
            ("/brands/acme/revocations", auth(&f.globex), StatusCode::UNAUTHORIZED),
            ("/brands/acme/revocations", Some("Basic !!!".into()), StatusCode::UNAUTHORIZED),
            ("/brands/acme/revocations?after=-1", auth(&f.acme), StatusCode::BAD_REQUEST),
            ("/brands/acme/revocations?after=abc", auth(&f.acme), StatusCode::BAD_REQUEST),
            ("/brands/acme/revocations?wait=999", auth(&f.acme), StatusCode::BAD_REQUEST),
            ("/brands/acme/revocations?after=1&after=2", auth(&f.acme), StatusCode::BAD_REQUEST),
            ("/brands/nobody/revocations", auth(&f.acme), StatusCode::BAD_REQUEST),
        ] {
            let (got, _, body) = send(&f.router, feed(uri, who)).await;
            assert_eq!(got, status, "{uri}: {body}");
            assert!(body["error"].is_string(), "{uri}: {body}");
        }
    }
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_a_revocation_commits() {
    for f in fixtures().await {
        let token = issue(&f).await;
        let waiting = tokio::spawn({
            let router = f.router.clone();
            let who = auth(&f.acme);
            async move { send(&router, feed("/brands/acme/revocations?after=0&wait=20", who)).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "nothing to report yet: the request waits");
        send(&f.router, token_request("/brands/acme/oauth/revoke", auth(&f.acme), &format!("token={token}"))).await;
        let (status, _, page) = tokio::time::timeout(Duration::from_secs(10), waiting).await.unwrap().unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["revocations"].as_array().map(Vec::len), Some(1), "{page}");
    }
}

#[tokio::test]
async fn the_event_stream_replays_then_follows() {
    for f in fixtures().await {
        let (first, second) = (issue(&f).await, issue(&f).await);
        send(&f.router, token_request("/brands/acme/oauth/revoke", auth(&f.acme), &format!("token={first}"))).await;
        let request = Request::get("/brands/acme/revocations")
            .header(header::AUTHORIZATION, auth(&f.acme).unwrap())
            .header(header::ACCEPT, "text/event-stream")
            .body(Body::empty())
            .unwrap();
        let response = f.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/event-stream"));
        let mut body = response.into_body();
        let mut text = String::new();
        let mut read_until = async |needle: usize| {
            while text.matches("event: revocation").count() < needle {
                let frame =
                    tokio::time::timeout(Duration::from_secs(10), body.frame()).await.unwrap().unwrap().unwrap();
                if let Ok(data) = frame.into_data() {
                    text.push_str(std::str::from_utf8(&data).unwrap());
                }
            }
            text.clone()
        };
        let replayed = read_until(1).await;
        assert!(replayed.contains("id: "), "{replayed}");
        send(&f.router, token_request("/brands/acme/oauth/revoke", auth(&f.acme), &format!("token={second}"))).await;
        let followed = read_until(2).await;
        assert_eq!(followed.matches("\"kind\":\"token\"").count(), 2, "{followed}");
    }
}
