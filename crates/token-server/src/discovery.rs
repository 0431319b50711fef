//! Discovery (OIDC and RFC 8414) and JWKS.
//!
//! One document serves both: `openidconnect`'s [`ProviderMetadata`] with the fields of OpenID
//! Connect Discovery, plus RFC 8414 / RFC 7662 / RFC 7009 / RP-Initiated Logout fields as its
//! additional metadata. It lists only what works.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::CACHE_CONTROL;
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthUrl, IssuerUrl, JsonWebKeySetUrl, ProviderMetadata, ResponseTypes, Scope, TokenUrl,
    UserInfoUrl,
};
use portcullis_core::{GrantType, SigningAlgorithm};
use portcullis_grants::authorize::OIDC_SCOPES;
use portcullis_tenancy::{BrandScope, Storage};
use serde::{Deserialize, Serialize};

use crate::brand::{BrandParam, scope_or_404};
use crate::{AppState, OAuthError};

/// The fields beyond OpenID Connect Discovery.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Extra {
    /// RFC 7662.
    introspection_endpoint: String,
    introspection_endpoint_auth_methods_supported: Vec<CoreClientAuthMethod>,
    /// RFC 7009.
    revocation_endpoint: String,
    revocation_endpoint_auth_methods_supported: Vec<CoreClientAuthMethod>,
    /// RP-Initiated Logout 1.0.
    end_session_endpoint: String,
    /// RFC 7636: PKCE, `S256` only.
    code_challenge_methods_supported: Vec<String>,
    /// RFC 9207: the `iss` parameter in authorization responses.
    authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for Extra {}

type Metadata = ProviderMetadata<
    Extra,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

fn secret_methods() -> Vec<CoreClientAuthMethod> {
    vec![CoreClientAuthMethod::ClientSecretBasic, CoreClientAuthMethod::ClientSecretPost]
}

fn jws_algorithm(algorithm: SigningAlgorithm) -> CoreJwsSigningAlgorithm {
    match algorithm {
        SigningAlgorithm::EdDSA => CoreJwsSigningAlgorithm::EdDsa,
        SigningAlgorithm::ES256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        SigningAlgorithm::RS256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    }
}

fn metadata<S>(state: &AppState<S>, scope: &BrandScope) -> Result<Metadata, OAuthError> {
    let issuer = state.grants.issuer(scope);
    let url_error = |e: openidconnect::url::ParseError| OAuthError::internal(&e);
    let settings = &scope.brand().settings;
    let grants: Vec<GrantType> =
        portcullis_grants::SUPPORTED_GRANTS.iter().copied().filter(|g| settings.allows_grant(*g)).collect();
    let login = grants.contains(&GrantType::AuthorizationCode);
    let mut scopes: Vec<Scope> = OIDC_SCOPES.iter().map(|s| Scope::new((*s).to_owned())).collect();
    for s in &settings.scope_catalog {
        if !OIDC_SCOPES.contains(&s.as_str()) {
            scopes.push(Scope::new(s.to_string()));
        }
    }
    let mut token_auth = secret_methods();
    if login {
        // Public clients of the authorization-code flow present only their client_id.
        token_auth.push(CoreClientAuthMethod::None);
    }
    let claims = [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "at_hash",
        "brand",
        "sid",
        "name",
        "preferred_username",
        "email",
    ];
    let extra = Extra {
        introspection_endpoint: format!("{issuer}/oauth/introspect"),
        introspection_endpoint_auth_methods_supported: secret_methods(),
        revocation_endpoint: format!("{issuer}/oauth/revoke"),
        // Public clients revoke their own tokens by client_id (RFC 7009 §2.1).
        revocation_endpoint_auth_methods_supported: [secret_methods(), vec![CoreClientAuthMethod::None]].concat(),
        end_session_endpoint: format!("{issuer}/logout"),
        code_challenge_methods_supported: vec!["S256".into()],
        authorization_response_iss_parameter_supported: true,
    };
    let metadata = Metadata::new(
        IssuerUrl::new(issuer.clone()).map_err(url_error)?,
        AuthUrl::new(format!("{issuer}/oauth/authorize")).map_err(url_error)?,
        JsonWebKeySetUrl::new(format!("{issuer}/jwks.json")).map_err(url_error)?,
        if login { vec![ResponseTypes::new(vec![CoreResponseType::Code])] } else { Vec::new() },
        vec![CoreSubjectIdentifierType::Public],
        vec![jws_algorithm(settings.signing_algorithm)],
        extra,
    )
    .set_token_endpoint(Some(TokenUrl::new(format!("{issuer}/oauth/token")).map_err(url_error)?))
    .set_userinfo_endpoint(Some(UserInfoUrl::new(format!("{issuer}/userinfo")).map_err(url_error)?))
    .set_scopes_supported(Some(scopes))
    .set_response_modes_supported(Some(vec![CoreResponseMode::Query]))
    .set_grant_types_supported(Some(
        grants
            .iter()
            .map(|g| match g {
                GrantType::ClientCredentials => CoreGrantType::ClientCredentials,
                GrantType::AuthorizationCode => CoreGrantType::AuthorizationCode,
                GrantType::RefreshToken => CoreGrantType::RefreshToken,
                GrantType::Password => CoreGrantType::Password,
                other => CoreGrantType::Extension(other.as_str().to_owned()),
            })
            .collect(),
    ))
    .set_token_endpoint_auth_methods_supported(Some(token_auth))
    .set_claims_supported(Some(claims.iter().map(|c| CoreClaimName::new((*c).to_owned())).collect()))
    .set_claims_parameter_supported(Some(false))
    .set_request_parameter_supported(Some(false))
    .set_request_uri_parameter_supported(Some(false));
    Ok(metadata)
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
