//! HTTP Basic `username:api_token`: checked through the issuer's introspection endpoint (RFC
//! 7662) and cached briefly, both ways.
//!
//! The cache is keyed by a SHA-256 of the credentials, so the verifier keeps no API token in
//! clear; accepted answers are forgotten early when the revocation feed says that the user's
//! API token changed or the user was disabled.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use serde::Deserialize;

use crate::body;
use crate::config::{ApiTokenCache, ClientCredentials};
use crate::error::VerifyError;
use crate::limits::MAX_INTROSPECTION_BODY;

/// A user authenticated by an API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenIdentity {
    /// The user's id.
    pub sub: String,
    /// The user's login name.
    pub username: String,
    /// The user's permissions, space-delimited.
    pub scope: String,
    /// The brand key.
    pub brand: String,
}

/// The members of an introspection answer that matter here.
#[derive(Debug, Deserialize)]
pub(crate) struct Introspection {
    active: bool,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    brand: Option<String>,
}

/// `token_type` of API tokens in Portcullis introspection answers.
const API_TOKEN_TYPE: &str = "api_token";

/// Who an introspection refusal (a non-2xx answer) is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The presented token: the request carrying it was refused as malformed or too large
    /// (400, 413, 414, 422, 431). The caller gets a 401, like for any other bad API token.
    Token,
    /// The resource server's own client (401, 403, or a 400 `invalid_client` or
    /// `unauthorized_client`): a misconfiguration of this verifier, not the caller's fault.
    OwnClient,
    /// Anything else (404, 429, 5xx…): the issuer can't judge the token now.
    Issuer,
}

/// The RFC 6749 §5.2 `error` member of a refusal.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
}

/// The largest error body read to tell a client refusal from a token refusal, bytes.
const MAX_ERROR_BODY: usize = 4 * 1024;

/// What a refusal of status `status`, with the `error` code of its body if any, is about.
fn classify(status: reqwest::StatusCode, error: Option<&str>) -> Refusal {
    match status.as_u16() {
        401 | 403 => Refusal::OwnClient,
        400 if matches!(error, Some("invalid_client" | "unauthorized_client")) => Refusal::OwnClient,
        400 | 413 | 414 | 422 | 431 => Refusal::Token,
        _ => Refusal::Issuer,
    }
}

/// Reads enough of a refused introspection answer to classify it.
async fn judge_refusal(response: reqwest::Response) -> Refusal {
    let status = response.status();
    let error = if status == reqwest::StatusCode::BAD_REQUEST {
        body::json::<ErrorBody>(response, MAX_ERROR_BODY).await.ok().and_then(|body| body.error)
    } else {
        None
    };
    classify(status, error.as_deref())
}

type Key = [u8; 32];

struct Cached {
    at: Instant,
    answer: Option<ApiTokenIdentity>,
}

/// Checks API tokens, with the cache.
pub(crate) struct ApiTokens {
    http: reqwest::Client,
    introspection_endpoint: String,
    client: ClientCredentials,
    brand: String,
    settings: ApiTokenCache,
    timeout: Duration,
    cache: Mutex<HashMap<Key, Cached>>,
    /// Bumped by every [`ApiTokens::forget_user`]: an answer fetched across a bump may be stale
    /// and is not cached.
    generation: AtomicU64,
}

fn key_of(username: &str, token: &str) -> Key {
    let mut input = Vec::with_capacity(username.len() + token.len() + 1);
    input.extend_from_slice(username.as_bytes());
    input.push(0);
    input.extend_from_slice(token.as_bytes());
    let mut key = [0; 32];
    key.copy_from_slice(digest(&SHA256, &input).as_ref());
    key
}

impl ApiTokens {
    pub(crate) fn new(
        http: reqwest::Client,
        introspection_endpoint: String,
        client: ClientCredentials,
        brand: String,
        settings: ApiTokenCache,
        timeout: Duration,
    ) -> Self {
        Self {
            http,
            introspection_endpoint,
            client,
            brand,
            settings,
            timeout,
            cache: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// The user whose API token `token` is, when `username` names that user.
    pub(crate) async fn check(&self, username: &str, token: &str) -> Result<ApiTokenIdentity, VerifyError> {
        let key = key_of(username, token);
        if let Some(answer) = self.cached(&key) {
            return answer.ok_or(VerifyError::BadApiToken);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let answer = self.introspect(username, token).await?;
        if self.generation.load(Ordering::Acquire) == generation {
            self.remember(key, answer.clone());
        }
        answer.ok_or(VerifyError::BadApiToken)
    }

    fn cached(&self, key: &Key) -> Option<Option<ApiTokenIdentity>> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = cache.get(key)?;
        let ttl = if entry.answer.is_some() { self.settings.positive_ttl } else { self.settings.negative_ttl };
        (entry.at.elapsed() < ttl).then(|| entry.answer.clone())
    }

    fn remember(&self, key: Key, answer: Option<ApiTokenIdentity>) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= self.settings.capacity {
            // Expired answers first, then refused ones (cheap to learn again), then everything.
            let (positive, negative) = (self.settings.positive_ttl, self.settings.negative_ttl);
            cache.retain(|_, c| c.at.elapsed() < if c.answer.is_some() { positive } else { negative });
            if cache.len() >= self.settings.capacity {
                cache.retain(|_, c| c.answer.is_some());
            }
            if cache.len() >= self.settings.capacity {
                cache.clear();
            }
        }
        cache.insert(key, Cached { at: Instant::now(), answer });
    }

    /// Forgets every accepted answer for the user `sub` (its API token changed, or the user
    /// was disabled).
    pub(crate) fn forget_user(&self, sub: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.retain(|_, c| c.answer.as_ref().is_none_or(|identity| identity.sub != sub));
    }

    /// `Ok(None)`: not a live API token of this username and brand.
    async fn introspect(&self, username: &str, token: &str) -> Result<Option<ApiTokenIdentity>, VerifyError> {
        let response = self
            .client
            .authorize(self.http.post(&self.introspection_endpoint))
            .timeout(self.timeout)
            .form(&[("token", token), ("token_type_hint", API_TOKEN_TYPE)])
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %crate::error::describe(e), "introspection failed");
                VerifyError::Unavailable
            })?;
        let status = response.status();
        if !status.is_success() {
            return match judge_refusal(response).await {
                Refusal::Token => {
                    // The presented token itself (too long, malformed): the caller's mistake.
                    tracing::debug!(%status, "introspection refused the presented API token");
                    Ok(None)
                }
                Refusal::OwnClient => {
                    tracing::warn!(%status, "introspection refused the resource server's client");
                    Err(VerifyError::Unavailable)
                }
                Refusal::Issuer => {
                    tracing::warn!(%status, "introspection failed");
                    Err(VerifyError::Unavailable)
                }
            };
        }
        let answer: Introspection = body::json(response, MAX_INTROSPECTION_BODY).await.map_err(|e| {
            tracing::warn!(error = %e, "unreadable introspection answer");
            VerifyError::Unavailable
        })?;
        if !answer.active || answer.token_type.as_deref() != Some(API_TOKEN_TYPE) {
            return Ok(None);
        }
        let (Some(sub), Some(found), Some(brand)) = (answer.sub, answer.username, answer.brand) else {
            return Ok(None);
        };
        if found != username || brand != self.brand {
            return Ok(None);
        }
        Ok(Some(ApiTokenIdentity { sub, username: found, scope: answer.scope.unwrap_or_default(), brand }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(settings: ApiTokenCache) -> ApiTokens {
        ApiTokens::new(
            reqwest::Client::new(),
            "http://127.0.0.1:9/introspect".into(),
            ClientCredentials::new("c", "s"),
            "acme".into(),
            settings,
            Duration::from_secs(1),
        )
    }

    fn alice() -> ApiTokenIdentity {
        ApiTokenIdentity { sub: "u1".into(), username: "alice".into(), scope: "read".into(), brand: "acme".into() }
    }

    #[test]
    fn keys_separate_username_and_token() {
        assert_ne!(key_of("ab", "c"), key_of("a", "bc"));
        assert_eq!(key_of("a", "b"), key_of("a", "b"));
    }

    #[test]
    fn answers_live_for_their_ttl_and_users_can_be_forgotten() {
        let cache = tokens(ApiTokenCache {
            positive_ttl: Duration::from_secs(60),
            negative_ttl: Duration::ZERO,
            capacity: 100,
        });
        cache.remember(key_of("alice", "t1"), Some(alice()));
        cache.remember(key_of("alice", "bad"), None);
        assert_eq!(cache.cached(&key_of("alice", "t1")), Some(Some(alice())));
        assert_eq!(cache.cached(&key_of("alice", "bad")), None, "negative answers expired at once");
        cache.forget_user("u2");
        assert!(cache.cached(&key_of("alice", "t1")).is_some(), "another user's change");
        cache.forget_user("u1");
        assert_eq!(cache.cached(&key_of("alice", "t1")), None);
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = tokens(ApiTokenCache {
            positive_ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(60),
            capacity: 3,
        });
        for i in 0..10 {
            cache.remember(key_of("u", &i.to_string()), None);
        }
        assert!(cache.cache.lock().expect("lock").len() <= 3);
    }

    #[test]
    fn refusals_of_the_token_are_told_from_refusals_of_the_client() {
        use reqwest::StatusCode as S;
        for status in [S::BAD_REQUEST, S::PAYLOAD_TOO_LARGE, S::URI_TOO_LONG, S::REQUEST_HEADER_FIELDS_TOO_LARGE] {
            assert_eq!(classify(status, None), Refusal::Token, "{status}");
        }
        assert_eq!(classify(S::BAD_REQUEST, Some("invalid_request")), Refusal::Token);
        assert_eq!(classify(S::BAD_REQUEST, Some("invalid_client")), Refusal::OwnClient);
        assert_eq!(classify(S::UNAUTHORIZED, None), Refusal::OwnClient);
        assert_eq!(classify(S::FORBIDDEN, None), Refusal::OwnClient);
        for status in [S::NOT_FOUND, S::TOO_MANY_REQUESTS, S::INTERNAL_SERVER_ERROR, S::SERVICE_UNAVAILABLE] {
            assert_eq!(classify(status, None), Refusal::Issuer, "{status}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_issuer_is_unavailable_not_a_refusal() {
        let cache = tokens(ApiTokenCache::default());
        assert_eq!(cache.check("alice", "pca_x").await, Err(VerifyError::Unavailable));
    }
}
