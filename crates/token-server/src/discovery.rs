//! Discovery (OIDC and RFC 8414) and JWKS.
//!
//! The metadata lists only what works today: no authorization or userinfo endpoint is named
//! until it exists.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::CACHE_CONTROL;
use openidconnect::core::{CoreClientAuthMethod, CoreGrantType, CoreResponseType};
use openidconnect::{IssuerUrl, JsonWebKeySetUrl, ResponseTypes, Scope, TokenUrl};
use portcullis_tenancy::{BrandScope, Storage};
use serde::Serialize;

use crate::brand::{BrandParam, scope_or_404};
use crate::{AppState, OAuthError};

/// Authorization-server metadata, built from `openidconnect`'s typed fields.
#[derive(Debug, Serialize)]
struct Metadata {
    issuer: IssuerUrl,
    token_endpoint: TokenUrl,
    jwks_uri: JsonWebKeySetUrl,
    /// Required by RFC 8414; empty until the authorization endpoint exists.
    response_types_supported: Vec<ResponseTypes<CoreResponseType>>,
    grant_types_supported: Vec<CoreGrantType>,
    token_endpoint_auth_methods_supported: Vec<CoreClientAuthMethod>,
    /// RFC 7662.
    introspection_endpoint: String,
    introspection_endpoint_auth_methods_supported: Vec<CoreClientAuthMethod>,
    /// RFC 7009.
    revocation_endpoint: String,
    revocation_endpoint_auth_methods_supported: Vec<CoreClientAuthMethod>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<Scope>,
}

fn client_auth_methods() -> Vec<CoreClientAuthMethod> {
    vec![CoreClientAuthMethod::ClientSecretBasic, CoreClientAuthMethod::ClientSecretPost]
}

fn metadata<S>(state: &AppState<S>, scope: &BrandScope) -> Result<Metadata, OAuthError> {
    let issuer = state.grants.issuer(scope);
    let url_error = |e: openidconnect::url::ParseError| OAuthError::internal(&e);
    let supported = portcullis_grants::SUPPORTED_GRANTS;
    let allowed = scope.brand().settings.allowed_grants.as_ref();
    Ok(Metadata {
        token_endpoint: TokenUrl::new(format!("{issuer}/oauth/token")).map_err(url_error)?,
        jwks_uri: JsonWebKeySetUrl::new(format!("{issuer}/jwks.json")).map_err(url_error)?,
        issuer: IssuerUrl::new(issuer.clone()).map_err(url_error)?,
        response_types_supported: Vec::new(),
        grant_types_supported: supported
            .iter()
            .filter(|g| allowed.is_none_or(|a| a.contains(g)))
            .map(|g| match g {
                portcullis_core::GrantType::ClientCredentials => CoreGrantType::ClientCredentials,
                portcullis_core::GrantType::AuthorizationCode => CoreGrantType::AuthorizationCode,
                portcullis_core::GrantType::RefreshToken => CoreGrantType::RefreshToken,
                portcullis_core::GrantType::Password => CoreGrantType::Password,
                other => CoreGrantType::Extension(other.as_str().to_owned()),
            })
            .collect(),
        token_endpoint_auth_methods_supported: client_auth_methods(),
        introspection_endpoint: format!("{issuer}/oauth/introspect"),
        introspection_endpoint_auth_methods_supported: client_auth_methods(),
        revocation_endpoint: format!("{issuer}/oauth/revoke"),
        revocation_endpoint_auth_methods_supported: client_auth_methods(),
        scopes_supported: scope.brand().settings.scope_catalog.iter().map(|s| Scope::new(s.to_string())).collect(),
    })
}

fn cacheable(body: impl Serialize, seconds: u32) -> Response {
    let mut response = Json(body).into_response();
    // A number always makes a valid header value; the fallback is never taken.
    let value =
        HeaderValue::from_str(&format!("public, max-age={seconds}")).unwrap_or(HeaderValue::from_static("no-cache"));
    response.headers_mut().insert(CACHE_CONTROL, value);
    response
}

/// `GET /brands/{k}/.well-known/openid-configuration`
pub(crate) async fn openid_configuration<S: Storage>(
    State(state): State<AppState<S>>,
    BrandParam(brand): BrandParam,
) -> Result<Response, OAuthError> {
    let scope = scope_or_404(&state.grants.store, &brand).await?;
    Ok(cacheable(metadata(&state, &scope)?, 300))
}

/// `GET /.well-known/oauth-authorization-server/brands/{k}` (RFC 8414 §3: the well-known
/// segment is inserted between host and the issuer's path).
pub(crate) async fn authorization_server<S: Storage>(
    State(state): State<AppState<S>>,
    BrandParam(brand): BrandParam,
) -> Result<Response, OAuthError> {
    openid_configuration(State(state), BrandParam(brand)).await
}

#[derive(Serialize)]
struct Jwks {
    keys: Vec<serde_json::Value>,
}

/// `GET /brands/{k}/jwks.json`: next, active and still-published retired keys.
pub(crate) async fn jwks<S: Storage>(
    State(state): State<AppState<S>>,
    BrandParam(brand): BrandParam,
) -> Result<Response, OAuthError> {
    let scope = scope_or_404(&state.grants.store, &brand).await?;
    let now = state.grants.clock.now();
    let keys = state.grants.store.published_keys(&scope, now).await?;
    let keys = keys
        .iter()
        .map(|k| serde_json::from_str(&k.public_jwk))
        .collect::<Result<Vec<serde_json::Value>, _>>()
        .map_err(|e| OAuthError::internal(&e))?;
    // Short caching: verifiers refetch on an unknown kid anyway, and a next key is published
    // well before it signs.
    Ok(cacheable(Jwks { keys }, 60))
}
