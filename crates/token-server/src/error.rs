//! RFC 6749 §5.2 error responses.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use portcullis_core::OAuthErrorCode;
use portcullis_grants::GrantError;
use serde::Serialize;

/// An OAuth error response: status, `error`, `error_description`, and whether to challenge
/// for HTTP Basic.
#[derive(Debug, Clone)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    basic_challenge: bool,
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    /// A 400 `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, OAuthErrorCode::InvalidRequest.as_str(), description)
    }

    /// A 401 `invalid_client` with `WWW-Authenticate: Basic`.
    pub fn invalid_client() -> Self {
        Self {
            basic_challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed")
        }
    }

    /// A 404 for an unknown brand or path.
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    /// A 413 for an oversized body.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            OAuthErrorCode::InvalidRequest.as_str(),
            format!("request body larger than {limit} bytes"),
        )
    }

    /// A 429 `slow_down` with `Retry-After`: the caller holds as much as it may.
    pub fn too_many(description: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, OAuthErrorCode::SlowDown.as_str(), description)
        }
    }

    /// A 503 when storage is unreachable.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            OAuthErrorCode::TemporarilyUnavailable.as_str(),
            "the service is temporarily unavailable; retry later",
        )
    }

    /// A 500 whose cause goes to the log only.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, OAuthErrorCode::ServerError.as_str(), "internal server error")
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `error_description`.
    pub fn description(&self) -> &str {
        &self.description
    }

    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, description: description.into(), basic_challenge: false, retry_after: None }
    }
}

impl From<GrantError> for OAuthError {
    fn from(e: GrantError) -> Self {
        if e.is_internal() {
            tracing::error!(error = %e, "token request failed on the server side");
        }
        let retry_after = match e {
            GrantError::Throttled { retry_after } => Some(retry_after),
            _ => None,
        };
        let status = match e.code() {
            OAuthErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            OAuthErrorCode::SlowDown => StatusCode::TOO_MANY_REQUESTS,
            OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        // A challenge tells a client which scheme to use; send it unless the client used the
        // body, which RFC 6749 §5.2 leaves to a plain 401.
        let basic_challenge = matches!(e, GrantError::InvalidClient { challenge: true });
        Self { status, error: e.code().as_str(), description: e.description(), basic_challenge, retry_after }
    }
}

impl From<portcullis_tenancy::StoreError> for OAuthError {
    fn from(e: portcullis_tenancy::StoreError) -> Self {
        match e {
            portcullis_tenancy::StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Self::unavailable()
            }
            other => Self::internal(&other),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = Body { error: self.error, error_description: &self.description };
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(crate::metrics::ErrorCode(self.error));
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.basic_challenge {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"portcullis\", charset=\"UTF-8\""));
        }
        response
    }
}

/// The fallback for a known path with the wrong method.
pub(crate) async fn method_not_allowed() -> OAuthError {
    OAuthError::new(StatusCode::METHOD_NOT_ALLOWED, OAuthErrorCode::InvalidRequest.as_str(), "method not allowed")
}

/// The fallback for unknown paths.
pub(crate) async fn not_found() -> OAuthError {
    OAuthError::not_found("no such endpoint")
}
