//! Minting access tokens and recording them.

use portcullis_core::{AccessTokenClaims, ActType, Audience, ClientId, GrantType, Jti, ScopeSet};
use portcullis_credentials::jwt::{ACCESS_TOKEN_TYP, mint};
use portcullis_tenancy::{BrandScope, Client, IssuedToken, KeyStore, TokenStatus, TokenStore};

use crate::{GrantContext, GrantError, GrantResult, time_ordered_id};

/// What to put in an access token.
#[derive(Debug, Clone)]
pub struct AccessGrant<'a> {
    /// The authenticated client.
    pub client: &'a Client,
    /// The `sub` claim.
    pub subject: String,
    /// Who the token acts for.
    pub act_type: ActType,
    /// The grant that produced it.
    pub grant_type: GrantType,
    /// Granted scopes.
    pub scopes: ScopeSet,
    /// Audiences.
    pub audience: Vec<String>,
    /// The refresh-token family (login) this token descends from, if any.
    pub family_id: Option<String>,
}

/// A minted, recorded access token.
#[derive(Clone)]
pub struct IssuedAccessToken {
    /// The JWT.
    pub token: String,
    /// Lifetime in seconds.
    pub expires_in: u32,
    /// Its claims.
    pub claims: AccessTokenClaims,
}

impl std::fmt::Debug for IssuedAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The JWT is a bearer credential: never in a log line.
        f.debug_struct("IssuedAccessToken")
            .field("expires_in", &self.expires_in)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// Signs an RFC 9068 access token with the brand's active key and records it. Returns only
/// after the record is committed: an acknowledged token is never lost.
pub async fn issue_access_token<S: KeyStore + TokenStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    grant: AccessGrant<'_>,
) -> GrantResult<IssuedAccessToken> {
    let now = ctx.clock.now();
    let ttl = grant.client.profile.access_ttl.or(scope.brand().settings.access_ttl).unwrap_or(ctx.defaults.access_ttl);
    let jti = Jti::parse(time_ordered_id()?).map_err(|e| GrantError::Misconfigured(e.to_string()))?;
    let claims = AccessTokenClaims {
        iss: ctx.issuer(scope),
        sub: grant.subject.clone(),
        aud: Audience::from_list(grant.audience.clone()),
        exp: now + i64::from(ttl),
        iat: now,
        jti: jti.to_string(),
        client_id: grant.client.client_id.to_string(),
        scope: grant.scopes.to_string(),
        brand: scope.key().to_string(),
        act_type: grant.act_type,
    };
    let key = ctx.keys.active(&ctx.store, scope).await?;
    let token = mint(&key, ACCESS_TOKEN_TYP, &claims)?;
    let record = IssuedToken {
        jti,
        client_id: ClientId::clone(&grant.client.client_id),
        subject: grant.subject,
        act_type: grant.act_type,
        grant_type: grant.grant_type,
        scopes: grant.scopes,
        audience: grant.audience,
        issued_at: now,
        expires_at: claims.exp,
        status: TokenStatus::Active,
        family_id: grant.family_id,
        attributes: Vec::new(),
    };
    ctx.store.record_token(scope, record).await?;
    Ok(IssuedAccessToken { token, expires_in: ttl, claims })
}
