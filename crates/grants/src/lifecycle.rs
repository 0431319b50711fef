//! Administrative changes that end tokens: disabling or deleting a client, user or operator,
//! and revoking tokens by id, subject or client. Shared by the CLI and the admin API.
//!
//! Every change and its cascade commit together in storage (the token records and the feed
//! entry in one transaction), then the local feed waiters are woken and the change is audited.

use portcullis_core::ClientId;
use portcullis_tenancy::{AuditStore, BrandScope, ClientStore, PrincipalStore, RevocationStore, RevokeAt};

use crate::GrantContext;
use crate::provision::{Actor, ProvisionError, ProvisionResult, audit};

/// The longest access-token lifetime any token of the brand can have: how long a blanket
/// feed entry must be kept at least.
async fn longest_access_ttl<S: ClientStore>(ctx: &GrantContext<S>, scope: &BrandScope) -> ProvisionResult<i64> {
    let clients = ctx.store.list_clients(scope).await?;
    let longest = clients
        .iter()
        .filter_map(|c| c.profile.access_ttl)
        .chain(scope.brand().settings.access_ttl)
        .chain([ctx.defaults.access_ttl])
        .max()
        .unwrap_or(ctx.defaults.access_ttl);
    Ok(i64::from(longest))
}

async fn revoke_at<S: ClientStore>(ctx: &GrantContext<S>, scope: &BrandScope) -> ProvisionResult<RevokeAt> {
    let at = ctx.clock.now();
    Ok(RevokeAt { at, keep_until: at + longest_access_ttl(ctx, scope).await? })
}

fn missing(what: &str, id: &str) -> ProvisionError {
    ProvisionError::NotFound(format!("no {what} '{id}' in this brand"))
}

/// Enables or disables a client; disabling revokes its live tokens.
pub async fn set_client_enabled<S: ClientStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    client_id: &ClientId,
    enabled: bool,
    actor: &Actor,
) -> ProvisionResult<()> {
    let at = revoke_at(ctx, scope).await?;
    if !ctx.store.set_client_enabled(scope, client_id, enabled, at).await? {
        return Err(missing("client", client_id.as_str()));
    }
    if !enabled {
        ctx.feed.notify();
    }
    let action = if enabled { "client.enabled" } else { "client.disabled" };
    audit(&ctx.store, scope, actor, action, Some(client_id.to_string()), at.at).await;
    Ok(())
}

/// Deletes a client and revokes its tokens.
pub async fn delete_client<S: ClientStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    client_id: &ClientId,
    actor: &Actor,
) -> ProvisionResult<()> {
    let at = revoke_at(ctx, scope).await?;
    if !ctx.store.delete_client(scope, client_id, at).await? {
        return Err(missing("client", client_id.as_str()));
    }
    ctx.feed.notify();
    audit(&ctx.store, scope, actor, "client.deleted", Some(client_id.to_string()), at.at).await;
    Ok(())
}

/// Enables or disables a user or operator; disabling revokes the tokens issued to them.
pub async fn set_principal_enabled<S: ClientStore + PrincipalStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    principal_id: &str,
    enabled: bool,
    actor: &Actor,
) -> ProvisionResult<()> {
    let kind = principal_kind(ctx, scope, principal_id).await?;
    let at = revoke_at(ctx, scope).await?;
    if !ctx.store.set_principal_enabled(scope, principal_id, enabled, at).await? {
        return Err(missing("user or operator", principal_id));
    }
    if !enabled {
        ctx.feed.notify();
    }
    let action = format!("{kind}.{}", if enabled { "enabled" } else { "disabled" });
    audit(&ctx.store, scope, actor, &action, Some(principal_id.to_owned()), at.at).await;
    Ok(())
}

/// Deletes a user or operator and revokes the tokens issued to them.
pub async fn delete_principal<S: ClientStore + PrincipalStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    principal_id: &str,
    actor: &Actor,
) -> ProvisionResult<()> {
    let kind = principal_kind(ctx, scope, principal_id).await?;
    let at = revoke_at(ctx, scope).await?;
    if !ctx.store.delete_principal(scope, principal_id, at).await? {
        return Err(missing("user or operator", principal_id));
    }
    ctx.feed.notify();
    audit(&ctx.store, scope, actor, &format!("{kind}.deleted"), Some(principal_id.to_owned()), at.at).await;
    Ok(())
}

async fn principal_kind<S: PrincipalStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    principal_id: &str,
) -> ProvisionResult<&'static str> {
    let principal = ctx.store.find_principal_by_id(scope, principal_id).await?;
    principal.map(|p| p.kind.as_str()).ok_or_else(|| missing("user or operator", principal_id))
}

/// Revokes one access token by id. Returns whether it was live.
pub async fn revoke_token<S: RevocationStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    jti: &str,
    actor: &Actor,
) -> ProvisionResult<bool> {
    let now = ctx.clock.now();
    let changed = ctx.store.revoke_token(scope, jti, now).await?;
    if changed {
        ctx.feed.notify();
        audit(&ctx.store, scope, actor, "token.revoked", Some(format!("token:{jti}")), now).await;
    }
    Ok(changed)
}

/// Whose tokens [`revoke_all`] ends.
#[derive(Debug, Clone, Copy)]
pub enum TokenHolder<'a> {
    /// Every token whose subject is this user or operator id.
    Subject(&'a str),
    /// Every token of this client.
    Client(&'a ClientId),
}

/// Revokes every live token of a subject or client; tokens issued from now on are unaffected.
/// Returns how many records changed.
pub async fn revoke_all<S: ClientStore + RevocationStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    holder: TokenHolder<'_>,
    actor: &Actor,
) -> ProvisionResult<u64> {
    let at = revoke_at(ctx, scope).await?;
    let (changed, target) = match holder {
        TokenHolder::Subject(subject) => {
            (ctx.store.revoke_subject(scope, subject, at).await?, format!("subject:{subject}"))
        }
        TokenHolder::Client(client) => {
            (ctx.store.revoke_client_tokens(scope, client, at).await?, format!("client:{client}"))
        }
    };
    ctx.feed.notify();
    audit(&ctx.store, scope, actor, "tokens.revoked", Some(target), at.at).await;
    Ok(changed)
}
