//! Users' API access: a personal token for HTTP Basic `username:api_token`, off until enabled.
//! Enabling (or regenerating) returns a new token exactly once and invalidates the previous
//! one; disabling invalidates it. Only the hash is stored.

use portcullis_credentials::secret::{RevealedSecret, generate_secret};
use portcullis_tenancy::{AuditStore, BrandScope, PrincipalKind, PrincipalStore};

use crate::GrantContext;
use crate::provision::{Actor, ProvisionError, ProvisionResult, audit};

/// The prefix of API tokens, so that leaked ones are recognisable.
pub const API_TOKEN_PREFIX: &str = "pca";

async fn require_user<S: PrincipalStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    user_id: &str,
) -> ProvisionResult<()> {
    match ctx.store.find_principal_by_id(scope, user_id).await? {
        Some(p) if p.kind == PrincipalKind::User => Ok(()),
        _ => Err(ProvisionError::NotFound(format!("no user '{user_id}' in this brand"))),
    }
}

/// Enables API access for a user, or regenerates the token: returns the new token, once.
pub async fn enable_api_access<S: PrincipalStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    user_id: &str,
    actor: &Actor,
) -> ProvisionResult<RevealedSecret> {
    require_user(ctx, scope, user_id).await?;
    let (token, hash) = generate_secret(API_TOKEN_PREFIX)?;
    let now = ctx.clock.now();
    if !ctx.store.set_api_token(scope, user_id, Some(hash.as_str().to_owned()), now).await? {
        return Err(ProvisionError::NotFound(format!("no user '{user_id}' in this brand")));
    }
    ctx.feed.notify();
    audit(&ctx.store, scope, actor, "user.api_access_enabled", Some(user_id.to_owned()), now).await;
    Ok(token)
}

/// Disables a user's API access; the token stops working at once.
pub async fn disable_api_access<S: PrincipalStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    user_id: &str,
    actor: &Actor,
) -> ProvisionResult<()> {
    require_user(ctx, scope, user_id).await?;
    let now = ctx.clock.now();
    ctx.store.set_api_token(scope, user_id, None, now).await?;
    ctx.feed.notify();
    audit(&ctx.store, scope, actor, "user.api_access_disabled", Some(user_id.to_owned()), now).await;
    Ok(())
}
