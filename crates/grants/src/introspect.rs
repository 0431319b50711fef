//! Token introspection (RFC 7662) for a brand's authenticated clients.
//!
//! Any client of the brand may introspect any of the brand's tokens (resource servers check
//! tokens issued to others). The answer for anything that is not a live token of this brand —
//! unknown, malformed, expired, revoked, of another brand — is exactly `{"active":false}`.

use portcullis_core::{ActType, Audience};
use portcullis_credentials::secret::hash_secret;
use portcullis_tenancy::{
    BrandScope, KeyStore, PrincipalKind, PrincipalStore, RefreshStatus, RefreshStore, RevocationStore, TokenStore,
};
use serde::Serialize;

use crate::api_access::API_TOKEN_PREFIX;
use crate::tokens::REFRESH_TOKEN_PREFIX;
use crate::verify;
use crate::{GrantContext, GrantResult};

/// `token_type` of access tokens in introspection answers.
pub const ACCESS_TOKEN_TYPE: &str = "Bearer";
/// `token_type` of refresh tokens in introspection answers.
pub const REFRESH_TOKEN_TYPE: &str = "refresh_token";
/// `token_type` of users' API tokens in introspection answers.
pub const API_TOKEN_TYPE: &str = "api_token";

/// An introspection answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Introspection {
    /// Whether the token is live.
    pub active: bool,
    /// What a live token carries; absent when inactive.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub token: Option<ActiveToken>,
}

impl Introspection {
    /// `{"active":false}`.
    pub const INACTIVE: Self = Self { active: false, token: None };

    fn active(token: ActiveToken) -> Self {
        Self { active: true, token: Some(token) }
    }
}

/// The members of an active answer (RFC 7662 §2.2 plus `brand`, `act_type` and, for API
/// tokens, `username`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveToken {
    /// `Bearer`, `refresh_token` or `api_token`.
    pub token_type: &'static str,
    /// Space-separated scopes.
    pub scope: String,
    /// The client the token was issued to (absent for API tokens, which belong to a user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Subject.
    pub sub: String,
    /// The user's login name (API tokens, for checking HTTP Basic `username:api_token`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Expiry (absent for API tokens, which live until disabled or regenerated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time.
    pub iat: i64,
    /// Audiences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// The brand's issuer.
    pub iss: String,
    /// Token id (access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The brand key.
    pub brand: String,
    /// Who the token acts for.
    pub act_type: ActType,
}

/// The three kinds of token, told apart by their shape: refresh and API tokens carry their
/// prefix, access tokens are JWTs. A `token_type_hint` therefore never changes the answer (RFC
/// 7662 §2.1 lets a server look beyond the hint); it is accepted and not needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Access,
    Refresh,
    Api,
}

pub(crate) fn kind_of(token: &str) -> Kind {
    match token.split_once('_') {
        Some((REFRESH_TOKEN_PREFIX, _)) => Kind::Refresh,
        Some((API_TOKEN_PREFIX, _)) => Kind::Api,
        _ => Kind::Access,
    }
}

/// Introspects `token` at the scoped brand. The caller has authenticated the client.
pub async fn introspect<S>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    token: &str,
    _hint: Option<&str>,
) -> GrantResult<Introspection>
where
    S: KeyStore + TokenStore + RefreshStore + PrincipalStore + RevocationStore,
{
    if token.is_empty() {
        return Ok(Introspection::INACTIVE);
    }
    let found = match kind_of(token) {
        Kind::Access => access(ctx, scope, token).await?,
        Kind::Refresh => refresh(ctx, scope, token).await?,
        Kind::Api => api(ctx, scope, token).await?,
    };
    Ok(found.map_or(Introspection::INACTIVE, Introspection::active))
}

async fn access<S>(ctx: &GrantContext<S>, scope: &BrandScope, token: &str) -> GrantResult<Option<ActiveToken>>
where
    S: KeyStore + TokenStore + RevocationStore,
{
    let Some(claims) = verify::live_access_token(ctx, scope, token).await? else {
        return Ok(None);
    };
    Ok(Some(ActiveToken {
        token_type: ACCESS_TOKEN_TYPE,
        scope: claims.scope,
        client_id: Some(claims.client_id),
        sub: claims.sub,
        username: None,
        exp: Some(claims.exp),
        iat: claims.iat,
        aud: Some(claims.aud),
        iss: claims.iss,
        jti: Some(claims.jti),
        brand: claims.brand,
        act_type: claims.act_type,
    }))
}

async fn refresh<S>(ctx: &GrantContext<S>, scope: &BrandScope, token: &str) -> GrantResult<Option<ActiveToken>>
where
    S: RefreshStore + PrincipalStore,
{
    let now = ctx.clock.now();
    let Some(record) = ctx.store.find_refresh(scope, hash_secret(token).as_str()).await? else {
        return Ok(None);
    };
    if record.status != RefreshStatus::Active || record.expires_at <= now {
        return Ok(None);
    }
    if !crate::refresh::principal_active(ctx, scope, &record.subject, record.act_type).await? {
        return Ok(None);
    }
    Ok(Some(ActiveToken {
        token_type: REFRESH_TOKEN_TYPE,
        scope: record.scopes.to_string(),
        client_id: Some(record.client_id.to_string()),
        sub: record.subject,
        username: None,
        exp: Some(record.expires_at),
        iat: record.issued_at,
        aud: Some(Audience::from_list(record.audience)),
        iss: ctx.issuer(scope),
        jti: None,
        brand: scope.key().to_string(),
        act_type: record.act_type,
    }))
}

async fn api<S: PrincipalStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    token: &str,
) -> GrantResult<Option<ActiveToken>> {
    let Some(user) = ctx.store.find_principal_by_api_token(scope, hash_secret(token).as_str()).await? else {
        return Ok(None);
    };
    if !user.enabled || user.kind != PrincipalKind::User {
        return Ok(None);
    }
    Ok(Some(ActiveToken {
        token_type: API_TOKEN_TYPE,
        scope: user.permissions.to_string(),
        client_id: None,
        sub: user.id,
        username: Some(user.username),
        exp: None,
        iat: user.api_token_issued_at.unwrap_or(user.created_at),
        aud: None,
        iss: ctx.issuer(scope),
        jti: None,
        brand: scope.key().to_string(),
        act_type: ActType::User,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_apart_by_shape() {
        assert_eq!(kind_of("eyJhbGciOi.eyJpc3Mi.c2ln"), Kind::Access);
        assert_eq!(kind_of("pcr_abc"), Kind::Refresh);
        assert_eq!(kind_of("pca_abc"), Kind::Api);
        // Authorization codes have a prefix of their own (SECURITY.md F10): never taken for an
        // API token, and nothing introspectable.
        assert_eq!(kind_of(&format!("{}_abc", crate::authorize::CODE_PREFIX)), Kind::Access);
        assert_eq!(kind_of("pcs_abc"), Kind::Access, "a client secret is nothing introspectable");
        assert_eq!(kind_of(""), Kind::Access);
    }
}
