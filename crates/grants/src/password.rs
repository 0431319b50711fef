//! The resource-owner password grants: `password` for a brand's users and `operator_password`
//! for its operators. Each accepts only its own kind of principal.

use portcullis_core::{ActType, GrantType};
use portcullis_credentials::password::{verify_password, verify_password_of_unknown_user};
use portcullis_tenancy::{
    AuditEvent, AuditStore, BrandScope, Client, KeyStore, LockoutPolicy, LoginThrottleStore, PrincipalKind,
    PrincipalStore, RefreshStore, TokenStore,
};

use crate::client_credentials::{requested_audience, requested_scopes};
use crate::tokens::{IssuedPair, PairGrant, issue_pair, refresh_ttl};
use crate::{GrantContext, GrantError, GrantResult, TokenRequest, random_id};

/// Failed logins per (brand, username): 5 a minute, then a lock-out of 1 s doubling to 60 s.
/// The counters live in the database, so every server process enforces the same lock-out.
pub const LOGIN_LOCKOUT: LockoutPolicy = LockoutPolicy { window: 60, limit: 5, max_lockout: 60 };

/// The one answer to a failed login, whatever failed: no user enumeration.
const BAD_LOGIN: &str = "invalid username or password";

/// Signs in a user (`PrincipalKind::User`) or operator and issues an access and refresh token.
pub(crate) async fn grant<S>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    client: &Client,
    request: &TokenRequest,
    kind: PrincipalKind,
) -> GrantResult<IssuedPair>
where
    S: PrincipalStore + LoginThrottleStore + KeyStore + TokenStore + RefreshStore + AuditStore,
{
    let username = request.username.as_deref().filter(|u| !u.is_empty());
    let password = request.password.as_deref();
    let (Some(username), Some(password)) = (username, password) else {
        return Err(GrantError::InvalidRequest("the username and password parameters are required".into()));
    };
    let now = ctx.clock.now();
    if let Some(retry_after) = request.source.as_deref().and_then(|s| ctx.throttle.check_source(s, now)) {
        return Err(GrantError::Throttled { retry_after });
    }
    let locked_until = ctx.store.login_locked_until(scope, username).await?;
    if locked_until > now {
        audit(ctx, scope, username, "login.throttled", request, now).await;
        return Err(GrantError::Throttled { retry_after: u64::try_from(locked_until - now).unwrap_or(1) });
    }
    let principal = ctx.store.find_principal(scope, kind, username).await?;
    let stored_hash = principal.as_ref().map(|p| p.password_hash.clone());
    let presented = password.to_owned();
    // Argon2id takes tens of milliseconds: keep it off the runtime's worker threads. Unknown
    // users cost the same work as wrong passwords.
    let verified = crate::password_work::run(move || match stored_hash {
        Some(hash) => verify_password(&presented, &hash),
        None => verify_password_of_unknown_user(&presented),
    })
    .await?;
    let principal = match principal {
        Some(p) if verified && p.enabled => p,
        _ => {
            ctx.store.record_login_failure(scope, username, now, LOGIN_LOCKOUT).await?;
            if let Some(source) = request.source.as_deref() {
                ctx.throttle.source_failure(source, now);
            }
            audit(ctx, scope, username, "login.failed", request, now).await;
            return Err(GrantError::InvalidGrant(BAD_LOGIN.into()));
        }
    };
    ctx.store.clear_login_failures(scope, username).await?;

    let scopes = requested_scopes(scope, client, request.scope.as_deref(), Some(&principal.permissions))?;
    let audience = requested_audience(scope, client, request)?;
    let (act_type, grant_type) = match kind {
        PrincipalKind::User => (ActType::User, GrantType::Password),
        PrincipalKind::Operator => (ActType::Operator, GrantType::OperatorPassword),
    };
    let issued = issue_pair(
        ctx,
        scope,
        PairGrant {
            client,
            subject: principal.id.clone(),
            act_type,
            grant_type,
            scopes,
            audience,
            family_id: random_id()?,
            refresh_expires_at: now + i64::from(refresh_ttl(ctx, scope, client)),
        },
    )
    .await?;
    ctx.store.record_refresh(scope, issued.refresh_record.clone()).await?;
    audit(ctx, scope, username, "login.succeeded", request, now).await;
    Ok(issued)
}

async fn audit<S: AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    username: &str,
    action: &str,
    request: &TokenRequest,
    now: i64,
) {
    let event = AuditEvent {
        at: now,
        actor: format!("username:{}", username.chars().filter(|c| !c.is_control()).take(64).collect::<String>()),
        action: action.into(),
        target: None,
        source: request.source.clone(),
        detail: request.grant_type.clone(),
    };
    if let Err(e) = ctx.store.record_event(scope, event).await {
        tracing::warn!(error = %e, action, "could not write an audit event");
    }
}
