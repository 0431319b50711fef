//! Introspection, revocation, API tokens and cascades through the grant engine.

use portcullis_core::ActType;
use portcullis_tenancy::{PrincipalKind, PrincipalStore};

use super::password_and_refresh::{claims, login, refresh, setup};
use super::*;
use crate::api_access::{disable_api_access, enable_api_access};
use crate::introspect::{Introspection, introspect};
use crate::lifecycle::{TokenHolder, delete_client, revoke_all, set_client_enabled};
use crate::provision::ProvisionError;
use crate::revoke::{Revoked, revoke};

fn actor() -> Actor {
    Actor::new("test")
}

async fn active(ctx: &GrantContext<SeaStore>, scope: &BrandScope, token: &str) -> bool {
    let answer = introspect(ctx, scope, token, None).await.unwrap();
    if !answer.active {
        assert_eq!(answer, Introspection::INACTIVE, "an inactive answer says nothing else");
        assert_eq!(serde_json::to_value(&answer).unwrap(), serde_json::json!({"active": false}));
    }
    answer.active
}

async fn cc_token(ctx: &GrantContext<SeaStore>, scope: &BrandScope, c: &CreatedClient) -> String {
    exchange(ctx, scope, Some(&creds(c)), &cc_request(None, None)).await.unwrap().access_token
}

#[tokio::test]
async fn introspection_describes_live_access_tokens_and_nothing_else() {
    let (mut ctx, _db) = context().await;
    let acme = brand(&ctx, "acme", BrandSettings::default()).await;
    let globex = brand(&ctx, "globex", BrandSettings::default()).await;
    let c = client(&ctx, &acme, &["https://api.acme"]).await;
    let token = cc_token(&ctx, &acme, &c).await;

    let answer = serde_json::to_value(introspect(&ctx, &acme, &token, Some("access_token")).await.unwrap()).unwrap();
    let jti = claims(&token).jti;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["client_id"], c.client.client_id.as_str());
    assert_eq!(answer["sub"], c.client.client_id.as_str());
    assert_eq!(answer["scope"], "read");
    assert_eq!(answer["aud"], "https://api.acme");
    assert_eq!(answer["iss"], "https://id.example.com/brands/acme");
    assert_eq!(answer["jti"], jti.as_str());
    assert_eq!(answer["brand"], "acme");
    assert_eq!(answer["act_type"], "client");
    assert_eq!((answer["exp"].as_i64(), answer["iat"].as_i64()), (Some(NOW + 900), Some(NOW)));
    assert!(active(&ctx, &acme, &token).await, "a wrong hint does not matter");

    assert!(!active(&ctx, &globex, &token).await, "another brand knows nothing of it");
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(!active(&ctx, &acme, &tampered).await, "bad signature");
    for junk in ["", "x", "a.b.c", "pcr_nothing", "pca_nothing", "pcs_secret", "eyJhbGciOiJub25lIn0.e30."] {
        assert!(!active(&ctx, &acme, junk).await, "{junk}");
    }
    ctx.clock = Clock::from_fn(|| NOW + 900);
    assert!(!active(&ctx, &acme, &token).await, "expired");
}

#[tokio::test]
async fn a_client_revokes_its_own_tokens_only() {
    let (ctx, _db) = context().await;
    let acme = brand(&ctx, "acme", BrandSettings::default()).await;
    let (mine, theirs) = (client(&ctx, &acme, &[]).await, client(&ctx, &acme, &[]).await);
    let token = cc_token(&ctx, &acme, &mine).await;
    let mut signal = ctx.feed.subscribe();

    let refused = revoke(&ctx, &acme, &theirs.client, &token, None).await.unwrap_err();
    assert_eq!(refused.code(), OAuthErrorCode::UnauthorizedClient);
    assert!(active(&ctx, &acme, &token).await);
    assert!(!signal.has_changed().unwrap());

    assert_eq!(revoke(&ctx, &acme, &mine.client, &token, Some("10.0.0.1")).await.unwrap(), Revoked::AccessToken);
    assert!(!active(&ctx, &acme, &token).await);
    assert!(signal.has_changed().unwrap(), "followers are woken");
    signal.mark_unchanged();
    assert_eq!(revoke(&ctx, &acme, &mine.client, &token, None).await.unwrap(), Revoked::Nothing, "idempotent");
    assert_eq!(revoke(&ctx, &acme, &mine.client, "garbage", None).await.unwrap(), Revoked::Nothing);
    assert!(!signal.has_changed().unwrap());
    assert!(events(&ctx, &acme).await.iter().any(|e| e.action == "token.revoked" && e.source.is_some()));
    let api = revoke(&ctx, &acme, &mine.client, "pca_abc", None).await.unwrap_err();
    assert_eq!(api.code(), OAuthErrorCode::UnsupportedTokenType);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_whole_login() {
    let (ctx, acme, c, _db) = setup().await;
    let first =
        exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None)).await.unwrap();
    let r1 = first.refresh_token.unwrap();
    let second = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r1)).await.unwrap();
    let r2 = second.refresh_token.unwrap();
    assert!(active(&ctx, &acme, &r2).await);
    assert!(!active(&ctx, &acme, &r1).await, "rotated");
    let answer = serde_json::to_value(introspect(&ctx, &acme, &r2, None).await.unwrap()).unwrap();
    assert_eq!((answer["token_type"].as_str(), answer["act_type"].as_str()), (Some("refresh_token"), Some("user")));

    assert_eq!(revoke(&ctx, &acme, &c.client, &r2, None).await.unwrap(), Revoked::RefreshFamily);
    for token in [&r2, &first.access_token, &second.access_token] {
        assert!(!active(&ctx, &acme, token).await);
    }
    assert_eq!(
        exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r2)).await.unwrap_err().code(),
        OAuthErrorCode::InvalidGrant
    );
}

#[tokio::test]
async fn api_tokens_work_once_enabled_and_stop_when_replaced_or_disabled() {
    let (ctx, acme, _c, _db) = setup().await;
    let alice = ctx.store.find_principal(&acme, PrincipalKind::User, "alice").await.unwrap().unwrap();
    let olga = ctx.store.find_principal(&acme, PrincipalKind::Operator, "olga").await.unwrap().unwrap();

    let first = enable_api_access(&ctx, &acme, &alice.id, &actor()).await.unwrap();
    assert!(first.expose().starts_with("pca_"));
    let answer = serde_json::to_value(introspect(&ctx, &acme, first.expose(), None).await.unwrap()).unwrap();
    assert_eq!(answer["username"], "alice");
    assert_eq!(answer["sub"], alice.id.as_str());
    assert_eq!(answer["token_type"], "api_token");
    assert_eq!(answer["scope"], "read write");
    assert!(answer.get("exp").is_none() && answer.get("client_id").is_none());

    let second = enable_api_access(&ctx, &acme, &alice.id, &actor()).await.unwrap();
    assert!(!active(&ctx, &acme, first.expose()).await, "regenerating invalidates the old token");
    assert!(active(&ctx, &acme, second.expose()).await);
    crate::lifecycle::set_principal_enabled(&ctx, &acme, &alice.id, false, &actor()).await.unwrap();
    assert!(!active(&ctx, &acme, second.expose()).await, "a disabled user's token is dead");
    crate::lifecycle::set_principal_enabled(&ctx, &acme, &alice.id, true, &actor()).await.unwrap();
    disable_api_access(&ctx, &acme, &alice.id, &actor()).await.unwrap();
    assert!(!active(&ctx, &acme, second.expose()).await);

    assert!(matches!(enable_api_access(&ctx, &acme, &olga.id, &actor()).await, Err(ProvisionError::NotFound(_))));
    assert!(matches!(enable_api_access(&ctx, &acme, "nobody", &actor()).await, Err(ProvisionError::NotFound(_))));
    let actions: Vec<_> = events(&ctx, &acme).await.into_iter().map(|e| e.action).collect();
    assert!(actions.iter().any(|a| a == "user.api_access_enabled"));
    assert!(actions.iter().all(|a| !a.contains(first.expose())));
}

#[tokio::test]
async fn disabling_or_deleting_a_client_kills_its_tokens_and_tells_followers() {
    let (ctx, _db) = context().await;
    let acme = brand(&ctx, "acme", BrandSettings::default()).await;
    let (a, b) = (client(&ctx, &acme, &[]).await, client(&ctx, &acme, &[]).await);
    let (ta, tb) = (cc_token(&ctx, &acme, &a).await, cc_token(&ctx, &acme, &b).await);
    let signal = ctx.feed.subscribe();

    set_client_enabled(&ctx, &acme, &a.client.client_id, false, &actor()).await.unwrap();
    assert!(signal.has_changed().unwrap());
    assert!(!active(&ctx, &acme, &ta).await);
    assert!(active(&ctx, &acme, &tb).await);
    assert_eq!(
        exchange(&ctx, &acme, Some(&creds(&a)), &cc_request(None, None)).await.unwrap_err().code(),
        OAuthErrorCode::InvalidClient
    );
    set_client_enabled(&ctx, &acme, &a.client.client_id, true, &actor()).await.unwrap();
    assert!(!active(&ctx, &acme, &ta).await, "enabling again does not revive old tokens");

    delete_client(&ctx, &acme, &b.client.client_id, &actor()).await.unwrap();
    assert!(!active(&ctx, &acme, &tb).await);
    assert!(matches!(
        delete_client(&ctx, &acme, &b.client.client_id, &actor()).await,
        Err(ProvisionError::NotFound(_))
    ));
    let actions: Vec<_> = events(&ctx, &acme).await.into_iter().map(|e| e.action).collect();
    for action in ["client.disabled", "client.enabled", "client.deleted"] {
        assert!(actions.iter().any(|a| a == action), "{action} audited");
    }
}

#[tokio::test]
async fn revoking_all_of_a_user_spares_later_logins() {
    let (mut ctx, acme, c, _db) = setup().await;
    let before =
        exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None)).await.unwrap();
    let alice = claims(&before.access_token).sub;
    assert_eq!(claims(&before.access_token).act_type, ActType::User);
    let changed = revoke_all(&ctx, &acme, TokenHolder::Subject(&alice), &actor()).await.unwrap();
    assert_eq!(changed, 2, "the access token and the refresh token");
    assert!(!active(&ctx, &acme, &before.access_token).await);
    assert!(!active(&ctx, &acme, &before.refresh_token.unwrap()).await);

    ctx.clock = Clock::from_fn(|| NOW + 1);
    let after =
        exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None)).await.unwrap();
    assert!(active(&ctx, &acme, &after.access_token).await, "issued after the revocation");
}

#[tokio::test]
async fn pruning_rounds_drain_old_records() {
    let (mut ctx, _db) = context().await;
    let acme = brand(&ctx, "acme", BrandSettings::default()).await;
    let c = client(&ctx, &acme, &[]).await;
    for _ in 0..3 {
        cc_token(&ctx, &acme, &c).await;
    }
    assert_eq!(crate::maintenance::prune_round(&ctx.store, &ctx.clock, 0).await, 0, "nothing expired yet");
    ctx.clock = Clock::from_fn(|| NOW + 900 + 60);
    assert_eq!(crate::maintenance::prune_round(&ctx.store, &ctx.clock, 3600).await, 0, "within retention");
    assert_eq!(crate::maintenance::prune_round(&ctx.store, &ctx.clock, 30).await, 3);
    assert!(tokens(&ctx, &acme).await.is_empty());
}

#[tokio::test]
async fn audit_pruning_drains_events_past_the_retention_in_batches() {
    let (mut ctx, _db) = context().await;
    let acme = brand(&ctx, "acme", BrandSettings::default()).await;
    let day = 24 * 3600;
    let old = i64::try_from(crate::maintenance::PRUNE_BATCH * 2 + 7).unwrap();
    for i in 0..old {
        let event = portcullis_tenancy::AuditEvent {
            at: NOW - 401 * day + i,
            actor: "test".into(),
            action: "old".into(),
            target: None,
            source: None,
            detail: None,
        };
        ctx.store.record_event(&acme, event).await.unwrap();
    }
    let kept = events(&ctx, &acme).await.len();
    assert_eq!(crate::maintenance::prune_audit_round(&ctx.store, &ctx.clock, 400).await, u64::try_from(old).unwrap());
    let left = events(&ctx, &acme).await;
    assert_eq!(left.len(), kept - usize::try_from(old).unwrap());
    assert!(left.iter().all(|e| e.action != "old"), "brand.created and the like, recorded now, are kept");
    ctx.clock = Clock::from_fn(move || NOW + 401 * day);
    assert_eq!(
        crate::maintenance::prune_audit_round(&ctx.store, &ctx.clock, 400).await,
        u64::try_from(left.len()).unwrap()
    );
}
