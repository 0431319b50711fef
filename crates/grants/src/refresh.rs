//! The refresh-token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2):
//! every use returns a new refresh token; presenting one that was already rotated revokes the
//! whole family (every refresh token and access-token record of that login). Each refresh applies
//! today's policy: scopes, permissions and audiences withdrawn since the login are not renewed.

use portcullis_core::{ActType, Scope, ScopeSet, has_admin_scope};
use portcullis_credentials::secret::hash_secret;
use portcullis_policy::retained_audience;
use portcullis_tenancy::{
    AuditStore, BrandScope, Client, KeyStore, PrincipalKind, PrincipalStore, RefreshStatus, RefreshStore, TokenStore,
};

use crate::authorize::OIDC_SCOPES;
use crate::tokens::{IssuedPair, PairGrant, Replay, issue_pair, refuse_replay};
use crate::{GrantContext, GrantError, GrantResult, TokenRequest};

const INVALID: &str = "the refresh token is invalid, expired or revoked";

/// A rotated refresh token presented again.
const REUSE: Replay = Replay {
    action: "refresh.reused",
    detail: "a rotated refresh token was presented again; its family was revoked",
    answer: INVALID,
};

/// Exchanges a refresh token for a new access token and a new refresh token.
pub(crate) async fn grant<S>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    client: &Client,
    request: &TokenRequest,
) -> GrantResult<IssuedPair>
where
    S: PrincipalStore + KeyStore + TokenStore + RefreshStore + AuditStore,
{
    let presented = request
        .refresh_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| GrantError::InvalidRequest("the refresh_token parameter is required".into()))?;
    let now = ctx.clock.now();
    let hash = hash_secret(presented);
    let Some(record) = ctx.store.find_refresh(scope, hash.as_str()).await? else {
        return Err(GrantError::InvalidGrant(INVALID.into()));
    };
    // Bound to its client: another client presenting it learns nothing.
    if record.client_id != client.client_id {
        return Err(GrantError::InvalidGrant(INVALID.into()));
    }
    let grace = i64::from(ctx.defaults.refresh_reuse_grace);
    let tolerated_retry = match record.status {
        RefreshStatus::Revoked => return Err(GrantError::InvalidGrant(INVALID.into())),
        _ if record.expires_at <= now => return Err(GrantError::InvalidGrant(INVALID.into())),
        RefreshStatus::Rotated if record.rotated_at.is_some_and(|at| now - at < grace) => true,
        RefreshStatus::Rotated | RefreshStatus::Retried => {
            return Err(refuse_replay(ctx, scope, &REUSE, &record.family_id, request.source.as_deref(), now).await);
        }
        RefreshStatus::Active => false,
    };
    // A disabled or deleted user or operator gets nothing more from an old login.
    let Some(permissions) = current_permissions(ctx, scope, &record.subject, record.act_type).await? else {
        return Err(GrantError::InvalidGrant(INVALID.into()));
    };
    // What the login was granted, as far as today's policy still allows it: a permission, client
    // scope or audience withdrawn since is withdrawn from the next token too.
    let still_allowed = |s: &Scope| {
        client.profile.scopes.contains(s)
            && permissions.as_ref().is_none_or(|p| p.contains(s) || OIDC_SCOPES.contains(&s.as_str()))
    };
    let granted: ScopeSet = record.scopes.iter().filter(|s| still_allowed(s)).cloned().collect();
    // A refresh may narrow the scopes, never widen them.
    let scopes = match request.scope.as_deref().filter(|s| !s.trim().is_empty()) {
        None => granted,
        Some(text) => {
            let asked = ScopeSet::parse_delimited(text).map_err(|e| GrantError::InvalidScope(e.to_string()))?;
            let beyond = asked.difference(&granted);
            if !beyond.is_empty() {
                return Err(GrantError::InvalidScope(format!("scope not granted to this refresh token: {beyond}")));
            }
            granted.iter().filter(|s| asked.contains(s)).cloned().collect()
        }
    };
    let audience = retained_audience(
        &record.audience,
        &client.profile.audiences,
        client.client_id.as_str(),
        has_admin_scope(&scopes),
    );
    if audience.is_empty() {
        return Err(GrantError::InvalidGrant("the client may no longer address this token's audience".into()));
    }
    let issued = issue_pair(
        ctx,
        scope,
        PairGrant {
            client,
            subject: record.subject.clone(),
            act_type: record.act_type,
            grant_type: portcullis_core::GrantType::RefreshToken,
            scopes,
            audience,
            family_id: record.family_id.clone(),
            refresh_expires_at: record.expires_at,
        },
    )
    .await?;
    if tolerated_retry {
        // Within the grace period a client's concurrent retry gets its own successor, once: the
        // presented token becomes retried, and whoever presents it next is replaying it.
        if !ctx.store.retry_refresh(scope, hash.as_str(), issued.refresh_record.clone()).await? {
            return Err(refuse_replay(ctx, scope, &REUSE, &record.family_id, request.source.as_deref(), now).await);
        }
        return Ok(issued);
    }
    if !ctx.store.rotate_refresh(scope, hash.as_str(), issued.refresh_record.clone(), now).await? {
        // A concurrent request rotated it first: the same token was used twice.
        return Err(refuse_replay(ctx, scope, &REUSE, &record.family_id, request.source.as_deref(), now).await);
    }
    Ok(issued)
}

/// Whether the user or operator behind a refresh token still exists and is enabled.
pub(crate) async fn principal_active<S: PrincipalStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    subject: &str,
    act_type: ActType,
) -> GrantResult<bool> {
    Ok(current_permissions(ctx, scope, subject, act_type).await?.is_some())
}

/// `None` when the subject is a user or operator that no longer exists or is disabled;
/// otherwise its current permissions (`Some(None)` for a client, which has no permissions of
/// its own).
async fn current_permissions<S: PrincipalStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    subject: &str,
    act_type: ActType,
) -> GrantResult<Option<Option<ScopeSet>>> {
    let kind = match act_type {
        ActType::User => PrincipalKind::User,
        ActType::Operator => PrincipalKind::Operator,
        ActType::Client => return Ok(Some(None)),
    };
    let principal = ctx.store.find_principal_by_id(scope, subject).await?;
    Ok(principal.filter(|p| p.kind == kind && p.enabled).map(|p| Some(p.permissions)))
}
