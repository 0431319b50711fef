//! Offline commands that end tokens: enabling, disabling and deleting clients, users and
//! operators, revoking one token, and withdrawing a signing key. Each change commits with its cascade (the revoked records
//! and the revocation-feed entry) in one transaction, and every running server sharing the
//! database refuses the revoked tokens at once and tells its feed followers within a second.

use anyhow::Context;
use portcullis_core::ClientId;
use portcullis_grants::lifecycle;
use portcullis_grants::provision::{Actor, ProvisionError};
use portcullis_tenancy::{PrincipalKind, PrincipalStore};
use serde_json::json;

use crate::cli::{Change, ClientChangeArgs, KeyWithdrawArgs, PrincipalChangeArgs, TokenRevokeArgs};
use crate::commands::brand_scope;
use crate::output;
use crate::platform::Platform;

fn actor() -> Actor {
    Actor::new("cli")
}

fn past_tense(change: Change) -> &'static str {
    match change {
        Change::Enable => "enabled",
        Change::Disable => "disabled",
        Change::Delete => "deleted",
    }
}

fn report(json: bool, value: &serde_json::Value, line: String) -> anyhow::Result<()> {
    if json {
        return output::json(value);
    }
    output::lines(&[line]);
    Ok(())
}

/// `client enable|disable|delete --brand K CLIENT_ID`
pub async fn change_client(platform: &Platform, change: Change, args: ClientChangeArgs) -> anyhow::Result<()> {
    let g = &platform.grants;
    let scope = brand_scope(platform, &args.brand).await?;
    let id = ClientId::parse(args.client_id.as_str()).context("CLIENT_ID")?;
    match change {
        Change::Enable => lifecycle::set_client_enabled(g, &scope, &id, true, &actor()).await?,
        Change::Disable => lifecycle::set_client_enabled(g, &scope, &id, false, &actor()).await?,
        Change::Delete => lifecycle::delete_client(g, &scope, &id, &actor()).await?,
    }
    let status = past_tense(change);
    let value = json!({"brand_key": scope.key().as_str(), "client_id": id.as_str(), "status": status});
    report(args.json, &value, format!("client {id} {status}"))
}

/// `user|operator enable|disable|delete --brand K --username NAME`
pub async fn change_principal(
    platform: &Platform,
    kind: PrincipalKind,
    change: Change,
    args: PrincipalChangeArgs,
) -> anyhow::Result<()> {
    let g = &platform.grants;
    let scope = brand_scope(platform, &args.brand).await?;
    let principal =
        g.store.find_principal(&scope, kind, &args.username).await?.ok_or_else(|| {
            ProvisionError::NotFound(format!("no {} '{}' in this brand", kind.as_str(), args.username))
        })?;
    match change {
        Change::Enable => lifecycle::set_principal_enabled(g, &scope, &principal.id, true, &actor()).await?,
        Change::Disable => lifecycle::set_principal_enabled(g, &scope, &principal.id, false, &actor()).await?,
        Change::Delete => lifecycle::delete_principal(g, &scope, &principal.id, &actor()).await?,
    }
    let status = past_tense(change);
    let id_field = match kind {
        PrincipalKind::User => "user_id",
        PrincipalKind::Operator => "operator_id",
    };
    let value = json!({
        "brand_key": scope.key().as_str(),
        id_field: principal.id,
        "username": principal.username,
        "status": status,
    });
    report(args.json, &value, format!("{} {} {status}", kind.as_str(), principal.username))
}

/// `token revoke --brand K JTI`
pub async fn revoke_token(platform: &Platform, args: TokenRevokeArgs) -> anyhow::Result<()> {
    let g = &platform.grants;
    let scope = brand_scope(platform, &args.brand).await?;
    let revoked = lifecycle::revoke_token(g, &scope, &args.jti, &actor()).await?;
    let value = json!({"brand_key": scope.key().as_str(), "jti": args.jti, "revoked": revoked});
    let line = if revoked {
        format!("token {} revoked", args.jti)
    } else {
        format!("token {} was not live (unknown, expired or already revoked)", args.jti)
    };
    report(args.json, &value, line)
}

/// `key withdraw --brand K KID`: after a key compromise (SECURITY.md F7). Every server sharing the
/// database stops publishing the key and refuses its tokens within a second; verifiers drop it at
/// their next JWKS refresh.
pub async fn withdraw_key(platform: &Platform, args: KeyWithdrawArgs) -> anyhow::Result<()> {
    let scope = brand_scope(platform, &args.brand).await?;
    let signing = portcullis_grants::rotation::withdraw_signing_key(&platform.grants, &scope, &args.kid, &actor())
        .await
        .map_err(|e| match e {
            ProvisionError::NotFound(_) => anyhow::anyhow!("no signing key '{}' in brand '{}'", args.kid, args.brand),
            other => anyhow::Error::new(other).context("withdrawing the signing key"),
        })?;
    let value =
        json!({"brand_key": scope.key().as_str(), "withdrawn_kid": args.kid, "active_kid": signing.kid.as_str()});
    report(args.json, &value, format!("key {} withdrawn; key {} signs from now on", args.kid, signing.kid.as_str()))
}
