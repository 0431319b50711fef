//! Minting ID tokens (OpenID Connect Core §2, §3.1.3.6).

use portcullis_core::IdTokenClaims;
use portcullis_credentials::jwt::mint;
use portcullis_credentials::oidc::{ID_TOKEN_TYP, at_hash};
use portcullis_tenancy::{BrandScope, Client, KeyStore};

use crate::{GrantContext, GrantResult};

/// Who signed in, for whom, and with which access token.
#[derive(Debug)]
pub(crate) struct IdTokenGrant<'a> {
    pub(crate) client: &'a Client,
    pub(crate) subject: &'a str,
    pub(crate) auth_time: i64,
    pub(crate) sid: &'a str,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) access_token: &'a str,
    /// Lifetime, seconds.
    pub(crate) ttl: u32,
}

/// Signs an ID token (`typ: JWT`) with the brand's active key, the key that signed the access
/// token it carries the `at_hash` of.
pub(crate) async fn mint_id_token<S: KeyStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    grant: IdTokenGrant<'_>,
) -> GrantResult<String> {
    let now = ctx.clock.now();
    let key = ctx.keys.active(&ctx.store, scope).await?;
    let claims = IdTokenClaims {
        iss: ctx.issuer(scope),
        sub: grant.subject.to_owned(),
        aud: grant.client.client_id.to_string(),
        exp: now + i64::from(grant.ttl),
        iat: now,
        auth_time: grant.auth_time,
        nonce: grant.nonce.map(str::to_owned),
        at_hash: Some(at_hash(key.algorithm(), grant.access_token)),
        sid: Some(grant.sid.to_owned()),
        brand: scope.key().to_string(),
    };
    Ok(mint(&key, ID_TOKEN_TYP, &claims)?)
}
