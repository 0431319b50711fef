//! Issuing an access token together with a refresh token of a family (password grants and
//! refresh), shared by [`crate::password`] and [`crate::refresh`].

use portcullis_core::{ActType, GrantType, ScopeSet};
use portcullis_credentials::secret::generate_secret;
use portcullis_tenancy::{
    AuditEvent, AuditStore, BrandScope, Client, KeyStore, RefreshStatus, RefreshStore, RefreshToken, TokenStore,
};

use crate::issue::{AccessGrant, IssuedAccessToken, issue_access_token};
use crate::{GrantContext, GrantError, GrantResult};

/// The prefix of refresh tokens, so that leaked ones are recognisable.
pub const REFRESH_TOKEN_PREFIX: &str = "pcr";

/// An access token and the refresh token that goes with it (value in clear, record to store).
pub(crate) struct IssuedPair {
    pub(crate) access: IssuedAccessToken,
    pub(crate) refresh_value: String,
    pub(crate) refresh_record: RefreshToken,
}

impl std::fmt::Debug for IssuedPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedPair")
            .field("access", &self.access)
            .field("refresh_record", &self.refresh_record)
            .finish_non_exhaustive()
    }
}

/// What the pair grants.
pub(crate) struct PairGrant<'a> {
    pub(crate) client: &'a Client,
    pub(crate) subject: String,
    pub(crate) act_type: ActType,
    pub(crate) grant_type: GrantType,
    pub(crate) scopes: ScopeSet,
    pub(crate) audience: Vec<String>,
    pub(crate) family_id: String,
    /// When the refresh token expires (a login's refresh tokens share its absolute expiry).
    pub(crate) refresh_expires_at: i64,
}

/// Mints and records the access token; returns it with a fresh refresh token whose record the
/// caller stores (first of a family, or a rotation).
pub(crate) async fn issue_pair<S: KeyStore + TokenStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    grant: PairGrant<'_>,
) -> GrantResult<IssuedPair> {
    let access = issue_access_token(
        ctx,
        scope,
        AccessGrant {
            client: grant.client,
            subject: grant.subject.clone(),
            act_type: grant.act_type,
            grant_type: grant.grant_type,
            scopes: grant.scopes.clone(),
            audience: grant.audience.clone(),
            family_id: Some(grant.family_id.clone()),
        },
    )
    .await?;
    let (value, hash) = generate_secret(REFRESH_TOKEN_PREFIX)?;
    let refresh_record = RefreshToken {
        token_hash: hash.as_str().to_owned(),
        family_id: grant.family_id,
        client_id: grant.client.client_id.clone(),
        subject: grant.subject,
        act_type: grant.act_type,
        scopes: grant.scopes,
        audience: grant.audience,
        issued_at: ctx.clock.now(),
        expires_at: grant.refresh_expires_at,
        status: RefreshStatus::Active,
        rotated_at: None,
    };
    Ok(IssuedPair { access, refresh_value: value.expose().to_owned(), refresh_record })
}

/// The refresh lifetime: the client's, else the brand's, else the configuration's.
pub(crate) fn refresh_ttl<S>(ctx: &GrantContext<S>, scope: &BrandScope, client: &Client) -> u32 {
    client.profile.refresh_ttl.or(scope.brand().settings.refresh_ttl).unwrap_or(ctx.defaults.refresh_ttl)
}

/// A credential presented again after it was spent (a rotated refresh token, a redeemed
/// authorization code): a sign that it leaked.
pub(crate) struct Replay {
    /// The audit action, e.g. `refresh.reused`.
    pub(crate) action: &'static str,
    /// The audit detail.
    pub(crate) detail: &'static str,
    /// The `error_description` of the `invalid_grant` answer.
    pub(crate) answer: &'static str,
}

/// Revokes every token of the replayed credential's family (RFC 9700 §4.14.2, RFC 6749
/// §4.1.2), wakes the revocation feed, audits the replay, and returns the error to answer with.
pub(crate) async fn refuse_replay<S: RefreshStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    replay: &Replay,
    family_id: &str,
    source: Option<&str>,
    now: i64,
) -> GrantError {
    let revoked = match ctx.store.revoke_family(scope, family_id, now).await {
        Ok(revoked) => revoked,
        Err(e) => return e.into(),
    };
    ctx.feed.notify();
    tracing::warn!(brand = %scope.key(), revoked, action = replay.action, "replayed credential: family revoked");
    let event = AuditEvent {
        at: now,
        actor: "system".into(),
        action: replay.action.into(),
        target: Some(format!("family:{family_id}")),
        source: source.map(str::to_owned),
        detail: Some(replay.detail.into()),
    };
    if let Err(e) = ctx.store.record_event(scope, event).await {
        tracing::warn!(error = %e, "could not write the audit event for a replayed credential");
    }
    GrantError::InvalidGrant(replay.answer.into())
}
