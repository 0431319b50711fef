//! The authorization-code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636): redeems a code once,
//! for the client, redirect URI and verifier it was issued for, and issues an access token, a
//! refresh token (when the client may refresh) and, for `openid` requests, an ID token.

use portcullis_core::{ActType, GrantType};
use portcullis_credentials::oidc::verify_s256;
use portcullis_credentials::secret::hash_secret;
use portcullis_tenancy::{
    AuditStore, BrandScope, Client, CodeRedemption, KeyStore, LoginStore, PrincipalStore, RefreshStore, TokenStore,
};

use crate::authorize::is_openid;
use crate::client_credentials::requested_audience;
use crate::id_token::{IdTokenGrant, mint_id_token};
use crate::issue::{AccessGrant, issue_access_token};
use crate::refresh::principal_active;
use crate::tokens::{PairGrant, Replay, issue_pair, refresh_ttl, refuse_replay};
use crate::{GrantContext, GrantError, GrantResult, TokenRequest, TokenResponse};

const INVALID: &str = "the authorization code is invalid, expired or already used";

/// A redeemed code presented again.
const REPLAY: Replay = Replay {
    action: "code.replayed",
    detail: "an authorization code was redeemed twice; the tokens issued from it were revoked",
    answer: INVALID,
};

/// Redeems the code of `request` for `client`.
pub(crate) async fn grant<S>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    client: &Client,
    request: &TokenRequest,
) -> GrantResult<TokenResponse>
where
    S: LoginStore + PrincipalStore + KeyStore + TokenStore + RefreshStore + AuditStore,
{
    let required = |value: &Option<String>, name: &str| {
        value
            .as_deref()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| GrantError::InvalidRequest(format!("the {name} parameter is required")))
    };
    let presented = required(&request.code, "code")?;
    let redirect_uri = required(&request.redirect_uri, "redirect_uri")?;
    let verifier = required(&request.code_verifier, "code_verifier")?;
    let now = ctx.clock.now();
    let code_hash = hash_secret(&presented);
    let code = match ctx.store.redeem_code(scope, code_hash.as_str(), now).await? {
        None => return Err(GrantError::InvalidGrant(INVALID.into())),
        Some(CodeRedemption::First(code)) => code,
        Some(CodeRedemption::Replayed(code)) => {
            return Err(refuse_replay(ctx, scope, &REPLAY, &code.family_id, request.source.as_deref(), now).await);
        }
    };
    // Bound to its client, redirect URI and verifier; the code is spent whatever the outcome.
    let bound = code.client_id == client.client_id
        && code.redirect_uri == redirect_uri
        && code.expires_at > now
        && verify_s256(&verifier, &code.code_challenge);
    if !bound || !principal_active(ctx, scope, &code.subject, ActType::User).await? {
        return Err(GrantError::InvalidGrant(INVALID.into()));
    }
    let audience = requested_audience(scope, client, request, &code.scopes)?;
    let (access, refresh_token) = if client.profile.grant_types.contains(&GrantType::RefreshToken) {
        let pair = issue_pair(
            ctx,
            scope,
            PairGrant {
                client,
                subject: code.subject.clone(),
                act_type: ActType::User,
                grant_type: GrantType::AuthorizationCode,
                scopes: code.scopes.clone(),
                audience,
                family_id: code.family_id.clone(),
                refresh_expires_at: now + i64::from(refresh_ttl(ctx, scope, client)),
            },
        )
        .await?;
        ctx.store.record_refresh(scope, pair.refresh_record.clone()).await?;
        (pair.access, Some(pair.refresh_value))
    } else {
        let access = issue_access_token(
            ctx,
            scope,
            AccessGrant {
                client,
                subject: code.subject.clone(),
                act_type: ActType::User,
                grant_type: GrantType::AuthorizationCode,
                scopes: code.scopes.clone(),
                audience,
                family_id: Some(code.family_id.clone()),
            },
        )
        .await?;
        (access, None)
    };
    // A replay that came while these tokens were being recorded found nothing to revoke: if one
    // did, revoke them now (it marked the code before revoking, so one of us always sees both).
    if ctx.store.code_replayed(scope, code_hash.as_str()).await? {
        return Err(refuse_replay(ctx, scope, &REPLAY, &code.family_id, request.source.as_deref(), now).await);
    }
    let id_token = if is_openid(&code.scopes) {
        let grant = IdTokenGrant {
            client,
            subject: &code.subject,
            auth_time: code.auth_time,
            sid: &code.sid,
            nonce: code.nonce.as_deref(),
            access_token: &access.token,
            ttl: access.expires_in,
        };
        Some(mint_id_token(ctx, scope, grant).await?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope: access.claims.scope,
        refresh_token,
        id_token,
    })
}
