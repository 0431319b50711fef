//! axum and tower integration (feature `axum`): a [`VerifyLayer`] that verifies every request's
//! Bearer token or Basic API token (and brand header, and the route's scopes) before the
//! handler runs, and the
//! [`Verified`] extractor that hands the claims to the handler. Refusals are RFC 6750 answers:
//! 401 with `WWW-Authenticate: Bearer error="invalid_token"`, 403 with
//! `error="insufficient_scope", scope="…"`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderValue, Request, StatusCode};
use tower::{Layer, Service};

use crate::error::BASIC_CHALLENGE;
use crate::{Verified, Verifier, VerifyError};

impl IntoResponse for VerifyError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        let body = serde_json::json!({"error": self.code(), "error_description": self.to_string()});
        let mut response = (status, axum::Json(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&self.www_authenticate()) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self == VerifyError::Unavailable {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// Verifies a request's credentials (Bearer token, or Basic API token when accepted) and its
/// brand header.
async fn verify_parts(verifier: &Verifier, parts: &Parts) -> Result<Verified, VerifyError> {
    let authorization = match parts.headers.get(AUTHORIZATION) {
        None => None,
        Some(value) => Some(value.to_str().map_err(|_| VerifyError::Malformed)?),
    };
    let verified = verifier.authenticate(authorization).await?;
    let header = verifier.brand_header().and_then(|name| parts.headers.get(name)).and_then(|v| v.to_str().ok());
    verifier.check_brand_header(&verified, header)?;
    Ok(verified)
}

/// The refusal for `error`; a request with no credentials at a verifier that accepts API
/// tokens is offered both schemes.
fn refusal(verifier: &Verifier, error: VerifyError) -> Response {
    let offer_basic = error == VerifyError::Missing && verifier.accepts_api_tokens();
    let mut response = error.into_response();
    if offer_basic {
        response.headers_mut().append(WWW_AUTHENTICATE, HeaderValue::from_static(BASIC_CHALLENGE));
    }
    response
}

/// Verifies requests before they reach the inner service; the [`Verified`] claims are put in
/// the request's extensions for the extractor.
#[derive(Debug, Clone)]
pub struct VerifyLayer {
    verifier: Verifier,
    scopes: Arc<[String]>,
}

impl VerifyLayer {
    /// Requires a valid token (and brand header, when configured).
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier, scopes: Arc::from(Vec::new()) }
    }

    /// Also requires every scope of `scopes` (403 `insufficient_scope` otherwise).
    #[must_use]
    pub fn require_scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

impl<S> Layer<S> for VerifyLayer {
    type Service = VerifyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyService { inner, layer: self.clone() }
    }
}

/// The service [`VerifyLayer`] makes.
#[derive(Debug, Clone)]
pub struct VerifyService<S> {
    inner: S,
    layer: VerifyLayer,
}

impl<S> Service<Request<Body>> for VerifyService<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let checked = async {
                let verified = verify_parts(&layer.verifier, &parts).await?;
                let required: Vec<&str> = layer.scopes.iter().map(String::as_str).collect();
                verified.require_scopes(&required)?;
                Ok::<_, VerifyError>(verified)
            };
            match checked.await {
                Ok(verified) => {
                    parts.extensions.insert(verified);
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(e) => Ok(refusal(&layer.verifier, e)),
            }
        })
    }
}

/// The claims of a verified request: from [`VerifyLayer`] when it ran, else verified here with
/// the [`Verifier`] found in the request extensions (add it with `axum::Extension`).
impl<S: Send + Sync> FromRequestParts<S> for Verified {
    type Rejection = VerifyError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(verified) = parts.extensions.get::<Verified>() {
            return Ok(verified.clone());
        }
        let verifier = parts.extensions.get::<Verifier>().cloned().ok_or(VerifyError::Unavailable)?;
        verify_parts(&verifier, parts).await
    }
}
