//! demo-api in front of a stand-in issuer: a bad credential (absurdly long, or one the
//! issuer's introspection refuses as malformed or too large) is the caller's 401 with an RFC
//! 6750 or RFC 7617 challenge, never a 503 "issuer unavailable"; only a refusal of demo-api's
//! own client is a 503.

#![allow(clippy::unwrap_used)]

#[path = "../../../crates/verifier/tests/support/mock_issuer.rs"]
mod mock_issuer;

use axum::body::Body;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mock_issuer::{Answers, BRAND, MockIssuer};
use portcullis_verifier::Verifier;
use tower::ServiceExt;

async fn demo_api(mock: &MockIssuer) -> axum::Router {
    let vars = [
        ("DEMO_API_ISSUER", mock.issuer.as_str()),
        ("DEMO_API_AUDIENCE", "https://api.acme.example"),
        ("DEMO_API_CLIENT_ID", "demo-api"),
        ("DEMO_API_CLIENT_SECRET", "its secret"),
    ];
    let env = move |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
    let config = demo_api::config::Config::from_env(&env).expect("config");
    demo_api::router(Verifier::discover(config.verifier()).await.expect("discovery"))
}

/// `GET /whoami` with these credentials: the status and the `WWW-Authenticate` challenges.
async fn whoami(router: &axum::Router, authorization: &str) -> (StatusCode, Vec<String>) {
    let request = Request::get("/whoami")
        .header(AUTHORIZATION, authorization)
        .header("X-Brand-Key", BRAND)
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let challenges = response.headers().get_all(WWW_AUTHENTICATE).iter().map(|v| v.to_str().unwrap().to_owned());
    (response.status(), challenges.collect())
}

fn basic(username: &str, token: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{username}:{token}")))
}

const INVALID_TOKEN: &str = r#"Bearer error="invalid_token", error_description="the token is too long""#;

#[tokio::test]
async fn a_70_kb_token_is_401_invalid_token_and_never_reaches_the_issuer() {
    let mock = MockIssuer::start(Answers::default()).await;
    // The issuer would refuse such a request as too large.
    mock.answer(|a| a.introspection = Some((413, String::new())));
    let router = demo_api(&mock).await;
    let long = "x".repeat(70 * 1024);
    for authorization in [basic("alice", &long), format!("Bearer {long}")] {
        let (status, challenges) = whoami(&router, &authorization).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(challenges, [INVALID_TOKEN]);
    }
    assert_eq!(mock.introspections(), 0);
}

#[tokio::test]
async fn an_api_token_the_issuer_refuses_as_malformed_is_401() {
    let mock = MockIssuer::start(Answers::default()).await;
    let router = demo_api(&mock).await;
    for status in [413, 400, 414, 431] {
        mock.answer(|a| a.introspection = Some((status, String::new())));
        let (answer, challenges) = whoami(&router, &basic("alice", &format!("pca_{status}"))).await;
        assert_eq!(answer, StatusCode::UNAUTHORIZED, "issuer answered {status}");
        assert_eq!(challenges, [r#"Basic realm="api", charset="UTF-8""#]);
    }
    // demo-api's own client refused: an outage for the caller, who may retry.
    mock.answer(|a| a.introspection = Some((401, r#"{"error":"invalid_client"}"#.into())));
    let (answer, challenges) = whoami(&router, &basic("alice", "pca_own_client")).await;
    assert_eq!(answer, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(challenges, ["Bearer"]);
}
