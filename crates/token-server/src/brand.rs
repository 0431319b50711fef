//! Resolving the brand of a request into a [`BrandScope`].

use portcullis_core::BrandKey;
use portcullis_tenancy::{BrandScope, BrandStore, resolve_brand};

use crate::OAuthError;

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
    let Ok(key) = BrandKey::parse(key) else {
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
