//! What the verifier makes of bad credentials and of bad answers from the issuer: a bad
//! credential is the caller's 401 (never forwarded when absurdly long), a failure of the issuer
//! or of the resource server's own client is a 503, and no answer is read past its size bound.

#![allow(clippy::unwrap_used)]

#[path = "support/mock_issuer.rs"]
mod mock_issuer;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mock_issuer::{Answers, MockIssuer};
use portcullis_verifier::{
    ApiTokenCache, MAX_TOKEN_LENGTH, MAX_USERNAME_LENGTH, SetupError, Verifier, VerifierConfig, VerifyError,
};

/// No caching, so that every check asks the stand-in.
fn uncached() -> ApiTokenCache {
    ApiTokenCache { positive_ttl: Duration::ZERO, negative_ttl: Duration::ZERO, ..ApiTokenCache::default() }
}

async fn verifier(mock: &MockIssuer) -> Verifier {
    let config = VerifierConfig::accepting_any_audience(&mock.issuer).client("rs", "secret").api_tokens(uncached());
    Verifier::discover(config).await.expect("discovery")
}

fn basic(username: &str, token: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{username}:{token}")))
}

/// A token longer than the bound is refused as the caller's (401 `invalid_token`) before it is
/// parsed or sent to the issuer, whichever way it is presented.
#[tokio::test]
async fn an_overlong_token_is_refused_without_asking_the_issuer() {
    let mock = MockIssuer::start(Answers::default()).await;
    let verifier = verifier(&mock).await;
    let long = "a".repeat(70 * 1024);
    for header in [format!("Bearer {long}"), basic("alice", &long), basic(&"u".repeat(MAX_USERNAME_LENGTH + 1), "t")] {
        let refused = verifier.authenticate(Some(&header)).await.expect_err("too long");
        assert_eq!(refused, VerifyError::TooLong, "{}", &header[..20]);
        assert_eq!((refused.status(), refused.code()), (401, "invalid_token"));
        assert_eq!(
            refused.www_authenticate(),
            r#"Bearer error="invalid_token", error_description="the token is too long""#
        );
    }
    assert_eq!(verifier.verify(&"a".repeat(MAX_TOKEN_LENGTH + 1)).await, Err(VerifyError::TooLong));
    assert_eq!(verifier.verify_api_token("alice", &"a".repeat(MAX_TOKEN_LENGTH + 1)).await, Err(VerifyError::TooLong));
    assert_eq!(mock.introspections(), 0, "nothing was forwarded");
    // At the bound the token is judged as usual (here: not a live API token).
    let at_bound = "a".repeat(MAX_TOKEN_LENGTH);
    assert_eq!(verifier.authenticate(Some(&basic("alice", &at_bound))).await, Err(VerifyError::BadApiToken));
    assert_eq!(mock.introspections(), 1);
}

/// An introspection answer that refuses the presented token itself is the caller's 401; one
/// that refuses the resource server's own client, or a failing issuer, is a 503.
#[tokio::test]
async fn refusals_of_the_token_are_401_and_refusals_of_the_client_503() {
    let mock = MockIssuer::start(Answers::default()).await;
    let verifier = verifier(&mock).await;
    let error = |code: &str| format!(r#"{{"error":"{code}","error_description":"…"}}"#);
    let cases = [
        (413, String::new(), VerifyError::BadApiToken),
        (400, error("invalid_request"), VerifyError::BadApiToken),
        (414, String::new(), VerifyError::BadApiToken),
        (431, String::new(), VerifyError::BadApiToken),
        (401, error("invalid_client"), VerifyError::Unavailable),
        (400, error("invalid_client"), VerifyError::Unavailable),
        (403, String::new(), VerifyError::Unavailable),
        (500, String::new(), VerifyError::Unavailable),
        (503, String::new(), VerifyError::Unavailable),
    ];
    for (status, body, expected) in cases {
        mock.answer(|a| a.introspection = Some((status, body.clone())));
        let answer = verifier.authenticate(Some(&basic("alice", "pca_token"))).await;
        assert_eq!(answer, Err(expected.clone()), "issuer answered {status} {body}");
    }
    assert_eq!(VerifyError::BadApiToken.status(), 401);
}

/// Introspection answers beyond their bound, or nested beyond serde_json's recursion limit, are
/// unreadable (503), not buffered or recursed into.
#[tokio::test]
async fn oversized_or_deep_introspection_answers_are_unreadable() {
    let mock = MockIssuer::start(Answers::default()).await;
    let verifier = verifier(&mock).await;
    let padded = format!(r#"{{"active":false,"pad":"{}"}}"#, "x".repeat(1024 * 1024));
    let deep = format!(r#"{{"active":false,"username":{}{}}}"#, "[".repeat(50_000), "]".repeat(50_000));
    for body in [padded, deep] {
        mock.answer(|a| a.introspection = Some((200, body)));
        assert_eq!(verifier.authenticate(Some(&basic("alice", "pca_token"))).await, Err(VerifyError::Unavailable));
    }
}

/// A discovery document or a JWKS beyond its bound is refused at set-up.
#[tokio::test]
async fn oversized_discovery_documents_and_key_sets_are_refused() {
    let huge = format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(4 * 1024 * 1024));
    for answers in [
        Answers { discovery: Some(huge.clone()), ..Answers::default() },
        Answers { jwks: Some(huge.clone()), ..Answers::default() },
    ] {
        let mock = MockIssuer::start(answers).await;
        match Verifier::discover(VerifierConfig::accepting_any_audience(&mock.issuer)).await {
            Err(SetupError::Fetch { reason, .. }) => assert!(reason.contains("larger than"), "{reason}"),
            other => panic!("expected a fetch error, got {other:?}"),
        }
    }
}
