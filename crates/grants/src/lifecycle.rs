//! Administrative changes that end tokens: disabling or deleting a client, user or operator,
//! and revoking tokens by id, subject or client. Shared by the CLI and the admin API.
//!
//! Every change and its cascade commit together in storage (the token records and the feed
//! entry in one transaction), then the local feed waiters are woken and the change is audited.

use portcullis_core::ClientId;
use portcullis_tenancy::{
    AuditStore, BrandScope, ClientStore, LoginStore, PrincipalStore, RevocationStore, RevokeAt, TokenAttribute,
    TokenStatus, TokenStore,
};

use crate::GrantContext;
use crate::provision::{Actor, ProvisionError, ProvisionResult, audit};

/// The longest access-token lifetime any token of the brand can have: how long a blanket
/// feed entry must be kept at least.
pub(crate) async fn longest_access_ttl<S: ClientStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
) -> ProvisionResult<i64> {
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

/// Ends one access token for good, at its holder's request (a console sign-out): unlike
/// [`revoke_token`], nobody can approve it again. Returns whether it was live.
pub async fn end_token<S: RevocationStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    jti: &str,
    actor: &Actor,
) -> ProvisionResult<bool> {
    let now = ctx.clock.now();
    let changed = ctx.store.end_token(scope, jti, now).await?;
    if changed {
        ctx.feed.notify();
    }
    audit(&ctx.store, scope, actor, "token.ended", Some(format!("token:{jti}")), now).await;
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

/// Ends every login of a user or operator: revokes its tokens and refresh tokens (with a blanket
/// feed entry) and ends its browser sessions. Returns how many tokens and sessions ended.
pub async fn end_logins<S: ClientStore + RevocationStore + LoginStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    subject: &str,
    actor: &Actor,
) -> ProvisionResult<u64> {
    let revoked = revoke_all(ctx, scope, TokenHolder::Subject(subject), actor).await?;
    let sessions = ctx.store.end_sessions_of(scope, subject).await?;
    Ok(revoked + sessions)
}

/// Most attributes one token may carry.
pub const MAX_ATTRIBUTES: usize = 32;

/// Replaces the name/value attributes of a token record. Names are 1–64 printable characters
/// and unique; values at most 1,024 characters.
pub async fn set_token_attributes<S: TokenStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    jti: &str,
    attributes: Vec<TokenAttribute>,
    actor: &Actor,
) -> ProvisionResult<()> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(ProvisionError::Invalid(format!("at most {MAX_ATTRIBUTES} attributes per token")));
    }
    let mut names = std::collections::HashSet::new();
    for a in &attributes {
        let printable = |t: &str| !t.chars().any(char::is_control);
        if a.name.is_empty() || a.name.chars().count() > 64 || !printable(&a.name) {
            return Err(ProvisionError::Invalid("attribute names are 1 to 64 printable characters".into()));
        }
        if a.value.chars().count() > 1024 || !printable(&a.value) {
            return Err(ProvisionError::Invalid("attribute values are at most 1024 printable characters".into()));
        }
        if !names.insert(a.name.as_str()) {
            return Err(ProvisionError::Invalid(format!("attribute '{}' is given twice", a.name)));
        }
    }
    if !ctx.store.set_token_attributes(scope, jti, attributes).await? {
        return Err(missing("token", jti));
    }
    audit(&ctx.store, scope, actor, "token.attributes_set", Some(format!("token:{jti}")), ctx.clock.now()).await;
    Ok(())
}

/// Accepts a revoked access token again (and tells feed followers). A token revoked together
/// with all of its user's or client's tokens cannot be approved on its own, and a token its
/// holder ended (see [`end_token`]) cannot be approved at all: storage never changes it back.
pub async fn approve_token<S: TokenStore + RevocationStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    jti: &str,
    actor: &Actor,
) -> ProvisionResult<()> {
    let record = ctx.store.find_token(scope, jti).await?.ok_or_else(|| missing("token", jti))?;
    if record.status == TokenStatus::Ended {
        return Err(ProvisionError::Invalid(
            "the token was ended by its holder (a sign-out or its client's own revocation); it cannot be approved"
                .into(),
        ));
    }
    if ctx.store.blanket_revoked(scope, &record.subject, record.client_id.as_str(), record.issued_at).await? {
        return Err(ProvisionError::Invalid(
            "the token was revoked with every token of its user or client; it cannot be approved alone".into(),
        ));
    }
    let now = ctx.clock.now();
    if ctx.store.approve_token(scope, jti, now).await? {
        ctx.feed.notify();
        audit(&ctx.store, scope, actor, "token.approved", Some(format!("token:{jti}")), now).await;
    }
    Ok(())
}
