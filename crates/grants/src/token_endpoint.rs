//! The token endpoint's logic: authenticate, check the grant type, dispatch.

use portcullis_core::GrantType;
use portcullis_tenancy::{
    AuditStore, BrandScope, ClientStore, KeyStore, LoginStore, LoginThrottleStore, PrincipalKind, PrincipalStore,
    RefreshStore, TokenStore,
};
use serde::Serialize;

use crate::client_auth::authenticate_or_identify;
use crate::tokens::IssuedPair;
use crate::{
    ClientCredentials, GrantContext, GrantError, GrantResult, TokenRequest, authorization_code, client_credentials,
    password, refresh,
};

/// The successful token response (RFC 6749 §5.1).
#[derive(Clone, Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: u32,
    /// Granted scopes, space-delimited.
    pub scope: String,
    /// A refresh token, for grants that issue one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// An ID token, for OpenID Connect requests (scope `openid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are bearer credentials: never in a log line.
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// Grant types this server implements today.
pub const SUPPORTED_GRANTS: &[GrantType] = &[
    GrantType::ClientCredentials,
    GrantType::Password,
    GrantType::OperatorPassword,
    GrantType::RefreshToken,
    GrantType::AuthorizationCode,
];

/// The grant types a public client (no secret) may use.
pub const PUBLIC_CLIENT_GRANTS: &[GrantType] = &[GrantType::AuthorizationCode, GrantType::RefreshToken];

/// Handles one token request at the scoped brand.
pub async fn exchange<S>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    credentials: Option<&ClientCredentials>,
    request: &TokenRequest,
) -> GrantResult<TokenResponse>
where
    S: ClientStore
        + PrincipalStore
        + LoginThrottleStore
        + LoginStore
        + AuditStore
        + KeyStore
        + TokenStore
        + RefreshStore,
{
    let grant_type = request
        .grant_type
        .as_deref()
        .filter(|g| !g.is_empty())
        .ok_or_else(|| GrantError::InvalidRequest("missing grant_type parameter".into()))?;
    let now = ctx.clock.now();
    let source = request.source.as_deref();
    let public_client_id = request.public_client_id.as_deref();
    let client = authenticate_or_identify(ctx, scope, credentials, public_client_id, now, source).await?;

    let grant = grant_type.parse::<GrantType>().ok().filter(|g| SUPPORTED_GRANTS.contains(g)).ok_or_else(|| {
        let shown: String = grant_type.chars().take(64).collect();
        GrantError::UnsupportedGrantType(format!("unsupported grant_type '{}'", shown.escape_default()))
    })?;
    let brand_allows = scope.brand().settings.allows_grant(grant);
    let kind_allows = !client.profile.public || PUBLIC_CLIENT_GRANTS.contains(&grant);
    if !client.profile.grant_types.contains(&grant) || !brand_allows || !kind_allows {
        return Err(GrantError::UnauthorizedClient(grant.to_string()));
    }

    let pair = match grant {
        GrantType::ClientCredentials => {
            let issued = client_credentials::grant(ctx, scope, &client, request).await?;
            return Ok(TokenResponse {
                access_token: issued.token,
                token_type: "Bearer",
                expires_in: issued.expires_in,
                scope: issued.claims.scope,
                refresh_token: None,
                id_token: None,
            });
        }
        GrantType::AuthorizationCode => return authorization_code::grant(ctx, scope, &client, request).await,
        GrantType::Password => password::grant(ctx, scope, &client, request, PrincipalKind::User).await?,
        GrantType::OperatorPassword => password::grant(ctx, scope, &client, request, PrincipalKind::Operator).await?,
        GrantType::RefreshToken => refresh::grant(ctx, scope, &client, request).await?,
    };
    let IssuedPair { access, refresh_value, .. } = pair;
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope: access.claims.scope,
        refresh_token: Some(refresh_value),
        id_token: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_token() {
        let response = TokenResponse {
            access_token: "eyJ.access.sig".into(),
            token_type: "Bearer",
            expires_in: 900,
            scope: "read".into(),
            refresh_token: Some("pcr_refresh_value".into()),
            id_token: Some("eyJ.id.sig".into()),
        };
        let shown = format!("{response:?}");
        for secret in ["eyJ.access.sig", "pcr_refresh_value", "eyJ.id.sig"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("read") && shown.contains("[redacted]"), "{shown}");
    }
}
