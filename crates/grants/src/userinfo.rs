//! The UserInfo endpoint's logic (OpenID Connect Core §5.3): the claims about the signed-in
//! user that the access token's scopes allow.

use portcullis_core::ActType;
use portcullis_tenancy::{BrandScope, KeyStore, PrincipalKind, PrincipalStore, RevocationStore, TokenStore};
use serde::Serialize;

use crate::verify::live_access_token;
use crate::{GrantContext, GrantResult};

/// The claims returned (`sub` always; the others by scope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    /// The user's id, as in the ID token.
    pub sub: String,
    /// `profile`: full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `profile`: the username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// `email`: the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The brand key.
    pub brand: String,
}

/// What the presented access token gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserInfoOutcome {
    /// The user's claims.
    Claims(UserInfo),
    /// The token is not a live access token of this brand for a user (RFC 6750 `invalid_token`).
    InvalidToken,
    /// The token lacks the `openid` scope (RFC 6750 `insufficient_scope`).
    InsufficientScope,
}

/// The claims for a Bearer access token presented at the scoped brand.
pub async fn userinfo<S: KeyStore + TokenStore + RevocationStore + PrincipalStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    token: &str,
) -> GrantResult<UserInfoOutcome> {
    let Some(claims) = live_access_token(ctx, scope, token).await? else {
        return Ok(UserInfoOutcome::InvalidToken);
    };
    if claims.act_type != ActType::User {
        return Ok(UserInfoOutcome::InvalidToken);
    }
    let scopes: Vec<&str> = claims.scope.split(' ').collect();
    if !scopes.contains(&"openid") {
        return Ok(UserInfoOutcome::InsufficientScope);
    }
    let Some(user) = ctx.store.find_principal_by_id(scope, &claims.sub).await? else {
        return Ok(UserInfoOutcome::InvalidToken);
    };
    if user.kind != PrincipalKind::User || !user.enabled {
        return Ok(UserInfoOutcome::InvalidToken);
    }
    let profile = scopes.contains(&"profile");
    let email = scopes.contains(&"email");
    Ok(UserInfoOutcome::Claims(UserInfo {
        sub: user.id,
        name: user.name.filter(|_| profile),
        preferred_username: profile.then_some(user.username),
        email: user.email.filter(|_| email),
        brand: claims.brand,
    }))
}
