//! Signing keys (list, rotate now, rotate on schedule) and the audit log through the management
//! API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use jsonwebtoken::decode_header;
use portcullis_core::BrandKey;
use portcullis_grants::Clock;
use portcullis_grants::introspect::introspect;
use portcullis_grants::rotation::rotate_due;
use portcullis_tenancy::{AuditStore, KeyStore, resolve_brand};
use serde_json::{Value, json};

use common::*;

const KEYS: &str = "query($b: String!) { signingKeys(brandKey: $b) { kid status algorithm publicJwk publishUntil } }";
const ROTATE: &str = "mutation($b: String!) { rotateSigningKey(brandKey: $b) { kid status activatedAt } }";

async fn keys(api: &Api, brand: &str) -> Vec<Value> {
    let (_, body) = call(api, Some(&api.admin), KEYS, json!({"b": brand})).await;
    body["data"]["signingKeys"].as_array().unwrap_or_else(|| panic!("{body}")).clone()
}

fn with_status<'a>(keys: &'a [Value], status: &str) -> Vec<&'a Value> {
    keys.iter().filter(|k| k["status"] == status).collect()
}

#[tokio::test]
async fn rotation_promotes_the_published_next_key_and_keeps_old_tokens_valid() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        let (id, secret) = create_client(&api, &api.admin, "acme", &["read"]).await;
        let before = token(&api.grants, "acme", &id, &secret, None).await;
        let initial = keys(&api, "acme").await;
        assert_eq!((with_status(&initial, "active").len(), with_status(&initial, "next").len()), (1, 1), "{initial:?}");
        assert!(!initial.iter().any(|k| k["publicJwk"].as_str().unwrap().contains("\"d\"")), "public parts only");
        let next_kid = with_status(&initial, "next")[0]["kid"].clone();
        let scope = resolve_brand(&api.grants.store, &BrandKey::parse("acme").unwrap()).await.unwrap().unwrap();
        let published = api.grants.store.published_keys(&scope, api.grants.clock.now()).await.unwrap();
        assert_eq!(published.len(), 2, "the next key is in the JWKS before it signs");

        let (_, body) = call(&api, Some(&api.admin), ROTATE, json!({"b": "acme"})).await;
        let rotated = &body["data"]["rotateSigningKey"];
        assert_eq!((&rotated["kid"], rotated["status"].as_str()), (&next_kid, Some("active")), "{body}");
        let after = keys(&api, "acme").await;
        assert_eq!(with_status(&after, "retired").len(), 1);
        assert!(with_status(&after, "retired")[0]["publishUntil"].as_i64().unwrap() > api.grants.clock.now() + 900);
        assert_eq!(with_status(&after, "next").len(), 1);

        assert!(introspect(&api.grants, &scope, &before, None).await.unwrap().active, "old tokens stay valid");
        let fresh = token(&api.grants, "acme", &id, &secret, None).await;
        assert_eq!(decode_header(&fresh).unwrap().kid.as_deref(), next_kid.as_str(), "signed by the promoted key");
        assert_eq!(api.grants.store.published_keys(&scope, api.grants.clock.now()).await.unwrap().len(), 3);

        let (_, body) = call(&api, Some(&api.admin), ROTATE, json!({"b": "nobody"})).await;
        assert_eq!(code(&body), Some("NOT_FOUND"));
    }
}

const WITHDRAW: &str =
    "mutation($b: String!, $k: String!) { withdrawSigningKey(brandKey: $b, kid: $k) { kid status } }";

/// SECURITY.md F7: a compromised key leaves the JWKS at once and its tokens stop verifying,
/// whether it was the active key, a retired one or the published next one.
#[tokio::test]
async fn a_withdrawn_key_is_unpublished_at_once_and_its_tokens_refused() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        let (id, secret) = create_client(&api, &api.admin, "acme", &["read"]).await;
        let scope = resolve_brand(&api.grants.store, &BrandKey::parse("acme").unwrap()).await.unwrap().unwrap();
        let published = async || {
            let keys = api.grants.store.published_keys(&scope, api.grants.clock.now()).await.unwrap();
            keys.into_iter().map(|k| k.kid.as_str().to_owned()).collect::<Vec<_>>()
        };
        let signed = token(&api.grants, "acme", &id, &secret, None).await;
        let compromised = decode_header(&signed).unwrap().kid.unwrap();
        // Introspected once before: its checked signature is remembered, not its key's standing.
        assert!(introspect(&api.grants, &scope, &signed, None).await.unwrap().active);

        // The active key: rotated out, then unpublished; its tokens are refused from now on.
        let (_, body) = call(&api, Some(&api.admin), WITHDRAW, json!({"b": "acme", "k": compromised})).await;
        let now_signing = body["data"]["withdrawSigningKey"]["kid"].as_str().unwrap_or_else(|| panic!("{body}"));
        assert_ne!(now_signing, compromised);
        assert!(!published().await.contains(&compromised), "left the JWKS");
        assert!(!introspect(&api.grants, &scope, &signed, None).await.unwrap().active, "its tokens are refused");
        let fresh = token(&api.grants, "acme", &id, &secret, None).await;
        assert_eq!(decode_header(&fresh).unwrap().kid.as_deref(), Some(now_signing));
        assert!(introspect(&api.grants, &scope, &fresh, None).await.unwrap().active);

        // The next key: unpublished and replaced, so a next key is always published.
        let next = with_status(&keys(&api, "acme").await, "next")[0]["kid"].as_str().unwrap().to_owned();
        let (_, body) = call(&api, Some(&api.admin), WITHDRAW, json!({"b": "acme", "k": next})).await;
        assert_eq!(body["data"]["withdrawSigningKey"]["kid"], now_signing, "{body}");
        let after = keys(&api, "acme").await;
        assert!(!published().await.contains(&next));
        assert_eq!(with_status(&after, "next").len(), 1, "a fresh next key: {after:?}");
        assert_ne!(with_status(&after, "next")[0]["kid"], next.as_str());

        // Twice, or an unknown key: nothing to withdraw.
        let (_, body) = call(&api, Some(&api.admin), WITHDRAW, json!({"b": "acme", "k": "no-such-key"})).await;
        assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
        let (_, body) = call(&api, Some(&api.admin), WITHDRAW, json!({"b": "acme", "k": compromised})).await;
        assert!(body["data"]["withdrawSigningKey"]["kid"].is_string(), "withdrawing again is harmless: {body}");
        let events = api.grants.store.recent_events(&scope, 50).await.unwrap();
        assert!(events.iter().any(|e| e.action == "key.withdrawn"));
    }
}

#[tokio::test]
async fn keys_rotate_on_schedule_once_per_interval() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        assert_eq!(rotate_due(&api.grants, 3600).await.unwrap(), 0, "nothing is due yet");
        let mut later = api.grants.clone();
        let future = later.clock.now() + 7200;
        later.clock = Clock::from_fn(move || future);
        assert_eq!(rotate_due(&later, 3600).await.unwrap(), 2, "the system brand and acme");
        assert_eq!(rotate_due(&later, 3600).await.unwrap(), 0, "just rotated");
        let after = keys(&api, "acme").await;
        assert_eq!(with_status(&after, "retired").len(), 1);
    }
}

#[tokio::test]
async fn the_audit_log_records_changes_and_failures_without_secrets() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        let (id, secret) = create_client(&api, &api.admin, "acme", &["read"]).await;
        let plain = token(&api.grants, "acme", &id, &secret, None).await;
        let (status, _) = call(&api, Some(&plain), "{ brands { totalCount } }", json!({})).await;
        assert_eq!(status.as_u16(), 403);
        call(&api, Some(&api.admin), ROTATE, json!({"b": "acme"})).await;

        let page = "query($after: String) { auditEvents(brandKey: \"acme\", first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { at actor action target source detail } } }";
        let (mut after, mut events) = (Value::Null, Vec::new());
        loop {
            let (_, body) = call(&api, Some(&api.admin), page, json!({"after": after})).await;
            let log = &body["data"]["auditEvents"];
            events.extend(log["nodes"].as_array().unwrap_or_else(|| panic!("{body}")).iter().cloned());
            if log["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = log["pageInfo"]["endCursor"].clone();
        }
        let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
        for expected in ["brand.created", "client.created", "admin.auth_failed", "key.rotated"] {
            assert!(actions.contains(&expected), "{expected} in {actions:?}");
        }
        assert_eq!(actions[0], "key.rotated", "newest first");
        let created = events.iter().find(|e| e["action"] == "client.created").unwrap();
        assert!(created["actor"].as_str().unwrap().starts_with("client:"), "{created}");
        assert_eq!(created["source"], "10.0.0.7", "the admin's address is recorded");
        let failed = events.iter().find(|e| e["action"] == "admin.auth_failed").unwrap();
        assert_eq!(failed["source"], "10.0.0.7");
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains(&secret) && !text.contains(&plain), "no secret or token in the log");
    }
}

#[tokio::test]
async fn a_brand_admin_cannot_see_or_rotate_another_brands_keys_or_log() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        create_brand(&api, "globex").await;
        let (admin_id, admin_secret) = create_client(&api, &api.admin, "acme", &["brand:admin"]).await;
        let acme_admin = token(&api.grants, "acme", &admin_id, &admin_secret, Some("brand:admin")).await;
        let before = keys(&api, "globex").await;
        for query in [KEYS, ROTATE, "query($b: String!) { auditEvents(brandKey: $b) { totalCount } }"] {
            let (_, body) = call(&api, Some(&acme_admin), query, json!({"b": "globex"})).await;
            assert_eq!(code(&body), Some("FORBIDDEN"), "{query}: {body}");
            assert!(body["data"].is_null());
        }
        assert_eq!(keys(&api, "globex").await, before, "nothing rotated");
        let (_, own) = call(&api, Some(&acme_admin), ROTATE, json!({"b": "acme"})).await;
        assert_eq!(own["data"]["rotateSigningKey"]["status"], "active", "its own brand: {own}");
    }
}
