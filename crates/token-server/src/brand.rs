//! Resolving the brand of a request into a [`BrandScope`].

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Path};
use http::request::Parts;
use portcullis_core::BrandKey;
use portcullis_tenancy::{BrandScope, BrandStore, resolve_brand};

use crate::OAuthError;

/// The `{brand}` path segment. A segment that does not decode (invalid percent-escapes or
/// UTF-8) cannot name a brand; it becomes the empty key, which no brand has, so the endpoint
/// answers with its usual unknown-brand error instead of axum's plain-text rejection.
pub(crate) struct BrandParam(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for BrandParam {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let brand = Path::<String>::from_request_parts(parts, state).await.map(|Path(b)| b).unwrap_or_default();
        Ok(Self(brand))
    }
}

/// Why a brand could not be resolved; the caller picks the response (400 at the token
/// endpoint, 404 on discovery).
pub(crate) enum BrandLookup {
    /// No such brand (or not a valid key).
    Unknown,
    /// Storage failed.
    Failed(OAuthError),
}

/// Resolves `key` to a scope.
pub(crate) async fn scope_for<S: BrandStore>(store: &S, key: &str) -> Result<BrandScope, BrandLookup> {
    let Ok(key) = BrandKey::parse_existing(key) else {
        return Err(BrandLookup::Unknown);
    };
    match resolve_brand(store, &key).await {
        Ok(Some(scope)) => Ok(scope),
        Ok(None) => Err(BrandLookup::Unknown),
        Err(e) => Err(BrandLookup::Failed(e.into())),
    }
}

/// Resolution for discovery and JWKS: unknown brands are 404.
pub(crate) async fn scope_or_404<S: BrandStore>(store: &S, key: &str) -> Result<BrandScope, OAuthError> {
    scope_for(store, key).await.map_err(|e| match e {
        BrandLookup::Unknown => OAuthError::not_found("unknown brand"),
        BrandLookup::Failed(e) => e,
    })
}

/// Resolution for the token endpoint: unknown brands are 400 `invalid_request`.
pub(crate) async fn scope_or_400<S: BrandStore>(store: &S, key: &str) -> Result<BrandScope, OAuthError> {
    scope_for(store, key).await.map_err(|e| match e {
        BrandLookup::Unknown => OAuthError::invalid_request("unknown brand"),
        BrandLookup::Failed(e) => e,
    })
}
