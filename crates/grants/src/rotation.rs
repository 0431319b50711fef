//! Signing-key rotation, on demand and on a schedule.
//!
//! A brand always publishes a `next` key besides the active one. Rotating promotes `next` to
//! active (verifiers already have it from the JWKS), retires the old active key — it stays
//! published until every token it signed has expired — and publishes a fresh `next`. The storage
//! step is a compare-and-set on the active key, so two processes rotating at once rotate once.

use std::time::Duration;

use portcullis_tenancy::{
    Activation, AuditStore, BrandScope, BrandStore, ClientStore, KeyRotation, KeyStatus, KeyStore, StoredKey,
};

use crate::GrantContext;
use crate::lifecycle::longest_access_ttl;
use crate::provision::{Actor, ProvisionError, ProvisionResult, audit};

/// Extra seconds a retired key stays published beyond the longest token lifetime, for clock skew.
pub const RETIRED_KEY_SLACK: i64 = 300;

/// Rotates the brand's signing key now; returns the key that signs from now on.
pub async fn rotate_signing_key<S: KeyStore + ClientStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    actor: &Actor,
) -> ProvisionResult<StoredKey> {
    let now = ctx.clock.now();
    let keys = ctx.store.list_keys(scope).await?;
    let Some(active) = keys.iter().find(|k| k.status == KeyStatus::Active) else {
        return Err(ProvisionError::Invalid(format!("brand '{}' has no active signing key", scope.key())));
    };
    let algorithm = scope.brand().settings.signing_algorithm;
    // A next key of another algorithm (the brand's setting changed) is skipped.
    let next = keys.iter().find(|k| k.status == KeyStatus::Next && k.algorithm == algorithm);
    let (activate, new_kid) = match next {
        Some(next) => (Activation::Promote(next.kid.clone()), next.kid.clone()),
        None => {
            let key = ctx.keys.generate(scope.key(), algorithm, KeyStatus::Active)?;
            let kid = key.kid.clone();
            (Activation::Insert(key), kid)
        }
    };
    let rotation = KeyRotation {
        retire: active.kid.clone(),
        publish_until: now + longest_access_ttl(ctx, scope).await? + RETIRED_KEY_SLACK,
        activate,
        next: ctx.keys.generate(scope.key(), algorithm, KeyStatus::Next)?,
    };
    if !ctx.store.rotate_keys(scope, rotation, now).await? {
        return Err(ProvisionError::Conflict("another rotation of this brand's keys happened at the same time".into()));
    }
    audit(&ctx.store, scope, actor, "key.rotated", Some(format!("key:{new_kid}")), now).await;
    let keys = ctx.store.list_keys(scope).await?;
    keys.into_iter()
        .find(|k| k.kid == new_kid)
        .ok_or_else(|| ProvisionError::Invalid("the new signing key vanished after rotation".into()))
}

/// Withdraws a signing key at once, after a compromise (SECURITY.md F7): the key leaves the
/// brand's JWKS now, where a retired key normally stays published until its tokens expire, so
/// every token it signed is refused by this server at once and by verifiers at their next JWKS
/// refresh. The active key is rotated out first; a withdrawn next key is replaced by a fresh one.
/// Returns the key that signs afterwards.
pub async fn withdraw_signing_key<S: KeyStore + ClientStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    kid: &str,
    actor: &Actor,
) -> ProvisionResult<StoredKey> {
    let keys = ctx.store.list_keys(scope).await?;
    let Some(status) = keys.iter().find(|k| k.kid.as_str() == kid).map(|k| k.status) else {
        return Err(ProvisionError::NotFound(format!("no signing key '{kid}' in this brand")));
    };
    if status == KeyStatus::Active {
        rotate_signing_key(ctx, scope, actor).await?;
    }
    let now = ctx.clock.now();
    if !ctx.store.withdraw_key(scope, kid, now).await? {
        return Err(ProvisionError::Conflict("the brand's keys changed at the same time; try again".into()));
    }
    if status == KeyStatus::Next {
        let algorithm = scope.brand().settings.signing_algorithm;
        ctx.store.add_key(scope, ctx.keys.generate(scope.key(), algorithm, KeyStatus::Next)?, now).await?;
    }
    audit(&ctx.store, scope, actor, "key.withdrawn", Some(format!("key:{kid}")), now).await;
    ctx.store
        .active_key(scope)
        .await?
        .ok_or_else(|| ProvisionError::Invalid(format!("brand '{}' has no active signing key", scope.key())))
}

/// Rotates every brand whose active key has signed for `interval` seconds or more. Returns how
/// many brands were rotated.
pub async fn rotate_due<S: BrandStore + KeyStore + ClientStore + AuditStore>(
    ctx: &GrantContext<S>,
    interval: u32,
) -> ProvisionResult<u64> {
    let now = ctx.clock.now();
    let (mut after, mut rotated) = (None, 0);
    loop {
        let brands = ctx.store.list_brands(after, 200).await?;
        let Some(last) = brands.last() else {
            return Ok(rotated);
        };
        after = Some(last.id);
        for brand in brands {
            let scope = BrandScope::new(brand);
            let Some(active) = ctx.store.active_key(&scope).await? else {
                continue;
            };
            if active.activated_at.unwrap_or(active.created_at) + i64::from(interval) > now {
                continue;
            }
            match rotate_signing_key(ctx, &scope, &Actor::new("system:key-rotation")).await {
                Ok(key) => {
                    rotated += 1;
                    tracing::info!(brand = %scope.key(), kid = %key.kid, "rotated the signing key on schedule");
                }
                // Another process rotated it first.
                Err(ProvisionError::Conflict(_)) => {}
                Err(e) => tracing::warn!(brand = %scope.key(), error = %e, "scheduled key rotation failed"),
            }
        }
    }
}

/// Runs [`rotate_due`] every `every` until the task is dropped.
pub async fn rotate_forever<S: BrandStore + KeyStore + ClientStore + AuditStore>(
    ctx: GrantContext<S>,
    interval: u32,
    every: Duration,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = rotate_due(&ctx, interval).await {
            tracing::warn!(error = %e, "scheduled key rotation failed");
        }
    }
}
