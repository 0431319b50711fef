//! JSON bodies read from the network with a size bound: an issuer, or whatever answers in its
//! place, cannot make the verifier buffer more than the bound of what it asked for.

use serde::de::DeserializeOwned;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// The connection failed while the body was read.
    #[error("{0}")]
    Transport(String),
    /// The body is larger than its bound (announced by `Content-Length`, or found on reading).
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The bound, bytes.
        limit: usize,
    },
    /// The body is not the JSON document expected (including nesting deeper than serde_json's
    /// recursion limit).
    #[error("the body is not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads `response`'s body, at most `limit` bytes, and parses it as JSON.
pub(crate) async fn json<T: DeserializeOwned>(mut response: reqwest::Response, limit: usize) -> Result<T, BodyError> {
    let announced = response.content_length();
    if announced.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let capacity = announced.and_then(|length| usize::try_from(length).ok()).unwrap_or(0).min(limit);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(|e| BodyError::Transport(crate::error::describe(e)))? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(serde_json::from_slice(&body)?)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::jwk::JwkSet;
    use portcullis_core::AccessTokenClaims;

    use super::*;

    fn response(body: impl Into<Vec<u8>>) -> reqwest::Response {
        reqwest::Response::from(axum::http::Response::new(body.into()))
    }

    #[tokio::test]
    async fn bodies_within_the_bound_are_parsed_and_larger_ones_refused() {
        let parsed: serde_json::Value = json(response(r#"{"a":1}"#), 7).await.expect("seven bytes");
        assert_eq!(parsed["a"], 1);
        let refused = json::<serde_json::Value>(response(r#"{"a":10}"#), 7).await;
        assert!(matches!(refused, Err(BodyError::TooLarge { limit: 7 })), "{refused:?}");
    }

    /// A document nested far deeper than serde_json's recursion limit: refused by every parser
    /// of untrusted input with an error, never a stack overflow (which is what a disabled limit
    /// would give on a test thread's stack).
    fn deep(depth: usize) -> String {
        format!(r#"{{"keys":{}{}}}"#, "[".repeat(depth), "]".repeat(depth))
    }

    #[tokio::test]
    async fn deep_nesting_is_refused_by_every_parser() {
        let depth = 100_000;
        let limit = 4 * depth;
        assert!(json::<serde_json::Value>(response(deep(depth)), limit).await.is_err());
        assert!(json::<crate::verifier::Discovery>(response(deep(depth)), limit).await.is_err());
        assert!(json::<JwkSet>(response(deep(depth)), limit).await.is_err());
        assert!(json::<crate::api_tokens::Introspection>(response(deep(depth)), limit).await.is_err());
        assert!(json::<crate::revocations::Page>(response(deep(depth)), limit).await.is_err());
        assert!(serde_json::from_str::<AccessTokenClaims>(&deep(depth)).is_err());
        // Within the limit, nesting is only refused where the shape is wrong.
        assert!(json::<serde_json::Value>(response(deep(100)), limit).await.is_ok());
    }
}
