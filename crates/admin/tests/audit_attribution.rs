//! Failed admin authentications in the audit log: attributed to a brand only by a verified
//! token, and folded so that a flood of junk tokens writes few rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::BrandKey;
use portcullis_tenancy::{AuditEvent, AuditStore, BrandScope, resolve_brand};
use serde_json::json;

use common::*;

/// Failed admin authentications of `brand`'s log.
async fn failures(api: &Api, brand: &str) -> Vec<AuditEvent> {
    let scope = scope(api, brand).await;
    let events = api.grants.store.recent_events(&scope, 10_000).await.unwrap();
    events.into_iter().filter(|e| e.action == "admin.auth_failed").collect()
}

async fn scope(api: &Api, brand: &str) -> BrandScope {
    resolve_brand(&api.grants.store, &BrandKey::parse(brand).unwrap()).await.unwrap().unwrap()
}

/// The failures a row stands for (`failures=N` in its detail).
fn count(event: &AuditEvent) -> u64 {
    let detail = event.detail.as_deref().unwrap_or_default();
    let (_, rest) = detail.split_once("failures=").unwrap_or_else(|| panic!("no count in {detail:?}"));
    rest.split(';').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn junk_bearer_tokens_naming_a_brand_write_nothing_to_it_and_few_rows_anywhere() {
    for api in apis().await {
        create_brand(&api, "globex").await;
        let globex = scope(&api, "globex").await;
        let before = api.grants.store.count_events(&globex).await.unwrap();
        for i in 0..100 {
            // Half name globex in an unsigned payload, half are not tokens at all.
            let junk = if i % 2 == 0 {
                let payload = URL_SAFE_NO_PAD.encode(json!({"brand": "globex", "sub": format!("x{i}")}).to_string());
                format!("eyJhbGciOiJFZERTQSJ9.{payload}.c2lnbmF0dXJl{i}")
            } else {
                format!("junk-{i}")
            };
            let (status, _) = call(&api, Some(&junk), "{ brands { totalCount } }", json!({})).await;
            assert_eq!(status.as_u16(), 401);
        }
        assert_eq!(api.grants.store.count_events(&globex).await.unwrap(), before, "nothing in globex's log");
        let at_once = failures(&api, "system").await;
        assert_eq!(at_once.len(), 1, "the first failure is written at once, the rest counted: {at_once:?}");
        assert_eq!(at_once[0].source.as_deref(), Some("10.0.0.7"));
        assert_eq!(api.grants.failure_audit.flush_all(&api.grants.store).await, 1);
        let rows = failures(&api, "system").await;
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows.iter().map(count).sum::<u64>(), 100, "the rows count every failure: {rows:?}");
        assert!(rows.iter().all(|e| !e.detail.as_deref().unwrap_or_default().contains("globex")));
        assert_eq!(api.grants.store.count_events(&globex).await.unwrap(), before);
    }
}

#[tokio::test]
async fn a_verified_token_without_admin_scope_is_audited_in_its_own_brand() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        let (id, secret) = create_client(&api, &api.admin, "acme", &["read"]).await;
        let plain = token(&api.grants, "acme", &id, &secret, None).await;
        for _ in 0..5 {
            let (status, _) = call(&api, Some(&plain), "{ brands { totalCount } }", json!({})).await;
            assert_eq!(status.as_u16(), 403);
        }
        api.grants.failure_audit.flush_all(&api.grants.store).await;
        let rows = failures(&api, "acme").await;
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows.iter().map(count).sum::<u64>(), 5);
        assert!(failures(&api, "system").await.is_empty());
    }
}
