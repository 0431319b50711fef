//! Token revocation (RFC 7009) by the client the token was issued to.
//!
//! Unknown, malformed, expired and already-revoked tokens are answered with success (§2.2):
//! the token is unusable either way, and the answer reveals nothing. An access token its own
//! client revokes is ended for good: an administrator cannot approve it again. A token issued to another
//! client is refused; administrators revoke anything through [`crate::lifecycle`].

use portcullis_credentials::secret::hash_secret;
use portcullis_tenancy::{
    AuditEvent, AuditStore, BrandScope, Client, KeyStore, RefreshStore, RevocationStore, TokenStore,
};

use crate::introspect::{Kind, kind_of};
use crate::verify::{self, Expiry};
use crate::{GrantContext, GrantError, GrantResult};

/// What a revocation request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// An access token was revoked.
    AccessToken,
    /// A refresh token and its whole family (every refresh and access token of that login).
    RefreshFamily,
    /// Nothing needed revoking (unknown, expired or already revoked).
    Nothing,
}

/// Revokes `token` for the authenticated `client`.
pub async fn revoke<S>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    client: &Client,
    token: &str,
    source: Option<&str>,
) -> GrantResult<Revoked>
where
    S: KeyStore + TokenStore + RefreshStore + RevocationStore + AuditStore,
{
    let now = ctx.clock.now();
    let (revoked, target) = match kind_of(token) {
        Kind::Api => {
            return Err(GrantError::UnsupportedTokenType(
                "API tokens are disabled or regenerated through the management API".into(),
            ));
        }
        Kind::Refresh => {
            let Some(record) = ctx.store.find_refresh(scope, hash_secret(token).as_str()).await? else {
                return Ok(Revoked::Nothing);
            };
            if record.client_id != client.client_id {
                return Err(GrantError::ForeignToken);
            }
            // The holder ends its login: none of its tokens can be approved back.
            let changed = ctx.store.end_family(scope, &record.family_id, now).await?;
            let outcome = if changed > 0 { Revoked::RefreshFamily } else { Revoked::Nothing };
            (outcome, format!("family:{}", record.family_id))
        }
        Kind::Access => {
            // The signature is checked so that a forged token cannot name a real jti.
            let Some(claims) = verify::access_token(ctx, scope, token, Expiry::Ignore).await? else {
                return Ok(Revoked::Nothing);
            };
            if claims.client_id != client.client_id.as_str() {
                return Err(GrantError::ForeignToken);
            }
            let outcome = if ctx.store.end_token(scope, &claims.jti, now).await? {
                Revoked::AccessToken
            } else {
                Revoked::Nothing
            };
            (outcome, format!("token:{}", claims.jti))
        }
    };
    if revoked != Revoked::Nothing {
        ctx.feed.notify();
        let event = AuditEvent {
            at: now,
            actor: format!("client:{}", client.client_id),
            action: "token.revoked".into(),
            target: Some(target),
            source: source.map(str::to_owned),
            detail: Some("revoked by its client (RFC 7009)".into()),
        };
        if let Err(e) = ctx.store.record_event(scope, event).await {
            tracing::warn!(error = %e, "could not write the audit event for a revocation");
        }
    }
    Ok(revoked)
}
