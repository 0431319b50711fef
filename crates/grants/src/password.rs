//! The resource-owner password grants: `password` for a brand's users and `operator_password`
//! for its operators. Each accepts only its own kind of principal.

use portcullis_core::{ActType, GrantType};
use portcullis_tenancy::{
    AuditStore, BrandScope, Client, KeyStore, LoginThrottleStore, PrincipalKind, PrincipalStore, RefreshStore,
    TokenStore,
};

use crate::client_credentials::{requested_audience, requested_scopes};
use crate::login::{Attempt, authenticate_principal};
use crate::tokens::{IssuedPair, PairGrant, issue_pair, refresh_ttl};
use crate::{GrantContext, GrantError, GrantResult, TokenRequest, random_id};

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
    let attempt = Attempt {
        kind,
        username,
        password,
        source: request.source.as_deref(),
        channel: request.grant_type.as_deref().unwrap_or("password"),
    };
    let principal = authenticate_principal(ctx, scope, &attempt).await?;
    let now = ctx.clock.now();

    let scopes = requested_scopes(scope, client, request.scope.as_deref(), Some(&principal.permissions))?;
    let audience = requested_audience(scope, client, request, &scopes)?;
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
    Ok(issued)
}
