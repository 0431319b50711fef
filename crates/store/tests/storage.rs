//! The sea-orm store against real databases: SQLite always, Postgres when
//! `PORTCULLIS_TEST_POSTGRES_URL` is set. Every test runs on each backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_core::{ActType, BrandKey, ClientId, ScopeSet};
use portcullis_store::SeaStore;
use portcullis_store::testing;
use portcullis_tenancy::{
    AuditEvent, AuditStore, BrandScope, BrandSettings, BrandStore, ClientStore, KeyStore, LockoutPolicy,
    LoginReservation, LoginThrottleStore, MetaStore, NewBrand, NewPrincipal, PrincipalKind, PrincipalStore,
    RefreshStatus, RefreshStore, RefreshToken, RevokeAt, StoreError, TokenStatus, TokenStore,
};

mod common;

use common::{brand, client, each, key, token};

#[tokio::test]
async fn records_round_trip() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let found = store.find_brand(acme.key()).await.unwrap().unwrap();
        assert_eq!(&found, acme.brand(), "{}", db.name);
        assert_eq!(found.settings.scope_catalog.len(), 2);

        let created = store.create_client(&acme, client("c1")).await.unwrap();
        let loaded = store.find_client(&acme, &created.client_id).await.unwrap().unwrap();
        assert_eq!(loaded, created);
        assert_eq!(loaded.profile.access_ttl, Some(30));

        store.record_token(&acme, token("t1", "c1")).await.unwrap();
        assert_eq!(store.find_token(&acme, "t1").await.unwrap().unwrap(), token("t1", "c1"));

        let active = store.active_key(&acme).await.unwrap().unwrap();
        assert_eq!(active.kid.as_str(), "acme-k1");
        assert_eq!(active.sealed_private_key, vec![1, 2, 3]);
        assert_eq!(store.published_keys(&acme, 0).await.unwrap().len(), 1);

        let event =
            AuditEvent { at: 5, actor: "cli".into(), action: "x".into(), target: None, source: None, detail: None };
        store.record_event(&acme, event.clone()).await.unwrap();
        assert_eq!(store.recent_events(&acme, 10).await.unwrap(), vec![event]);

        assert_eq!(store.init_meta("m", vec![1]).await.unwrap(), vec![1]);
        assert_eq!(store.init_meta("m", vec![2]).await.unwrap(), vec![1], "first value wins");
        store.ping().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn brand_scopes_isolate_every_table() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        let c = store.create_client(&acme, client("shared-looking-id")).await.unwrap();
        store.record_token(&acme, token("jti-a", "shared-looking-id")).await.unwrap();
        let event =
            AuditEvent { at: 1, actor: "a".into(), action: "a".into(), target: None, source: None, detail: None };
        store.record_event(&acme, event).await.unwrap();

        assert!(store.find_client(&globex, &c.client_id).await.unwrap().is_none(), "{}", db.name);
        assert!(store.list_clients(&globex).await.unwrap().is_empty());
        assert!(store.find_token(&globex, "jti-a").await.unwrap().is_none());
        assert!(store.recent_events(&globex, 10).await.unwrap().is_empty());
        let globex_keys = store.published_keys(&globex, 0).await.unwrap();
        assert_eq!(globex_keys.len(), 1);
        assert_eq!(globex_keys[0].kid.as_str(), "globex-k1");
        assert_eq!(store.active_key(&globex).await.unwrap().unwrap().kid.as_str(), "globex-k1");

        // The same client id may exist in two brands without either seeing the other's.
        let g = store.create_client(&globex, client("shared-looking-id")).await.unwrap();
        assert_eq!(store.list_clients(&globex).await.unwrap(), vec![g]);
        assert_eq!(store.list_clients(&acme).await.unwrap(), vec![c]);
    })
    .await;
}

#[tokio::test]
async fn principals_are_scoped_by_brand_and_kind() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        let new = |id: &str, kind| NewPrincipal {
            id: id.into(),
            kind,
            username: "alice".into(),
            password_hash: "$argon2id$stub".into(),
            permissions: ScopeSet::parse_delimited("read write").unwrap(),
            email: Some("alice@example.com".into()),
            name: Some("Alice".into()),
        };
        let user = store.create_principal(&acme, new("u1", PrincipalKind::User)).await.unwrap();
        assert_eq!(store.find_principal(&acme, PrincipalKind::User, "alice").await.unwrap(), Some(user), "{}", db.name);
        assert!(store.find_principal(&acme, PrincipalKind::Operator, "alice").await.unwrap().is_none());
        assert!(store.find_principal(&globex, PrincipalKind::User, "alice").await.unwrap().is_none());
        store.create_principal(&acme, new("o1", PrincipalKind::Operator)).await.unwrap();
        store.create_principal(&globex, new("u2", PrincipalKind::User)).await.unwrap();
        let taken = store.create_principal(&acme, new("u3", PrincipalKind::User)).await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))));
    })
    .await;
}

fn refresh(hash: &str, family: &str) -> RefreshToken {
    RefreshToken {
        token_hash: hash.into(),
        family_id: family.into(),
        client_id: ClientId::parse("c1").unwrap(),
        subject: "u1".into(),
        act_type: ActType::User,
        scopes: ScopeSet::parse_delimited("read").unwrap(),
        audience: vec!["https://api".into()],
        issued_at: 100,
        expires_at: 5000,
        status: RefreshStatus::Active,
        rotated_at: None,
    }
}

#[tokio::test]
async fn refresh_rotation_is_a_compare_and_set_and_families_revoke_together() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        store.record_refresh(&acme, refresh("h1", "f1")).await.unwrap();
        assert_eq!(store.find_refresh(&acme, "h1").await.unwrap(), Some(refresh("h1", "f1")), "{}", db.name);
        assert!(store.find_refresh(&globex, "h1").await.unwrap().is_none(), "scoped by brand");
        assert!(!store.rotate_refresh(&globex, "h1", refresh("x", "f1"), 200).await.unwrap(), "not across brands");

        assert!(store.rotate_refresh(&acme, "h1", refresh("h2", "f1"), 200).await.unwrap());
        let old = store.find_refresh(&acme, "h1").await.unwrap().unwrap();
        assert_eq!((old.status, old.rotated_at), (RefreshStatus::Rotated, Some(200)));
        assert!(
            !store.rotate_refresh(&acme, "h1", refresh("h3", "f1"), 201).await.unwrap(),
            "a rotated token rotates once"
        );
        assert!(store.find_refresh(&acme, "h3").await.unwrap().is_none(), "the losing replacement is not stored");

        // The reuse grace's one retry: rotated → retried once, with its own successor.
        assert!(!store.retry_refresh(&globex, "h1", refresh("x", "f1")).await.unwrap(), "not across brands");
        assert!(store.retry_refresh(&acme, "h1", refresh("h1b", "f1")).await.unwrap());
        let old = store.find_refresh(&acme, "h1").await.unwrap().unwrap();
        assert_eq!((old.status, old.rotated_at), (RefreshStatus::Retried, Some(200)), "its rotation time stays");
        assert!(!store.retry_refresh(&acme, "h1", refresh("h1c", "f1")).await.unwrap(), "a retry is spent once");
        assert!(store.find_refresh(&acme, "h1c").await.unwrap().is_none(), "the losing replacement is not stored");
        assert!(!store.retry_refresh(&acme, "h2", refresh("h2b", "f1")).await.unwrap(), "an active token has no retry");

        let mut access = token("a1", "c1");
        access.family_id = Some("f1".into());
        store.record_token(&acme, access).await.unwrap();
        store.record_token(&acme, token("a2", "c1")).await.unwrap();
        store.record_refresh(&acme, refresh("other", "f2")).await.unwrap();
        assert_eq!(store.revoke_family(&acme, "f1", 300).await.unwrap(), 4, "h1, h1b, h2 and a1");
        assert_eq!(store.find_refresh(&acme, "h2").await.unwrap().unwrap().status, RefreshStatus::Revoked);
        assert_eq!(store.find_token(&acme, "a1").await.unwrap().unwrap().status, TokenStatus::Revoked);
        assert_eq!(store.find_token(&acme, "a2").await.unwrap().unwrap().status, TokenStatus::Active);
        assert_eq!(store.find_refresh(&acme, "other").await.unwrap().unwrap().status, RefreshStatus::Active);
        assert_eq!(store.revoke_family(&globex, "f2", 300).await.unwrap(), 0, "not across brands");
    })
    .await;
}

/// 100 attempts at once, spread over two connection pools (two processes' worth): exactly the
/// budget is admitted, whatever the interleaving.
#[tokio::test]
async fn concurrent_login_reservations_admit_exactly_the_budget() {
    let policy = LockoutPolicy { window: 60, limit: 5, max_lockout: 60 };
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let other_process = db.store().await;
        let mut attempts = tokio::task::JoinSet::new();
        for i in 0..100 {
            let store = if i % 2 == 0 { store.clone() } else { other_process.clone() };
            let acme = acme.clone();
            attempts.spawn(async move { store.reserve_login_attempt(&acme, "alice", 100, policy).await });
        }
        let results = attempts.join_all().await;
        let admitted = results.iter().filter(|r| matches!(r, Ok(LoginReservation::Admitted(_)))).count();
        let locked = results.iter().filter(|r| matches!(r, Ok(LoginReservation::Locked { .. }))).count();
        assert_eq!((admitted, locked), (5, 95), "{}: {results:?}", db.name);
    })
    .await;
}

#[tokio::test]
async fn login_failures_are_shared_between_connections_and_scoped() {
    let policy = LockoutPolicy { window: 60, limit: 3, max_lockout: 60 };
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        let other_process = db.store().await;
        for _ in 0..2 {
            store.reserve_login_attempt(&acme, "alice", 100, policy).await.unwrap();
        }
        let third = other_process.reserve_login_attempt(&acme, "alice", 100, policy).await.unwrap();
        let LoginReservation::Admitted(third) = third else { panic!("{}: the third is within the budget", db.name) };
        assert_eq!((third.failures, third.locked_until), (3, 102), "{}", db.name);
        let fourth = store.reserve_login_attempt(&acme, "alice", 101, policy).await.unwrap();
        assert_eq!(fourth, LoginReservation::Locked { until: 102 }, "{}: over budget", db.name);
        assert_eq!(store.login_locked_until(&acme, "alice").await.unwrap(), 102, "seen by the first connection");
        assert_eq!(store.login_locked_until(&globex, "alice").await.unwrap(), 0, "scoped by brand");
        other_process.clear_login_failures(&acme, "alice").await.unwrap();
        assert_eq!(store.login_locked_until(&acme, "alice").await.unwrap(), 0);
    })
    .await;
}

/// Waits (up to a generous bound, so a slow CI machine cannot fail it) until `check` holds.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what}: never happened");
}

#[tokio::test]
async fn cached_brands_clients_and_keys_follow_changes_from_any_process() {
    const AT: RevokeAt = RevokeAt { at: 500, keep_until: 600 };
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let id = ClientId::parse("c1").unwrap();
        store.create_client(&acme, client("c1")).await.unwrap();
        assert!(store.find_client(&acme, &id).await.unwrap().unwrap().enabled, "{}: cached enabled", db.name);
        assert_eq!(store.active_key(&acme).await.unwrap().unwrap().kid.as_str(), "acme-k1");

        store.set_client_enabled(&acme, &id, false, AT).await.unwrap();
        assert!(!store.find_client(&acme, &id).await.unwrap().unwrap().enabled, "this process's change: at once");

        let other = db.store().await;
        other.set_client_enabled(&acme, &id, true, AT).await.unwrap();
        eventually("another process's client change", async || {
            store.find_client(&acme, &id).await.unwrap().unwrap().enabled
        })
        .await;

        let mut settings = acme.brand().settings.clone();
        settings.access_ttl = Some(7);
        other.update_brand(&acme, "Renamed".into(), settings, 10).await.unwrap();
        eventually("another process's brand change", async || {
            store.find_brand(acme.key()).await.unwrap().unwrap().name == "Renamed"
        })
        .await;

        other.add_key(&acme, key("acme-k2"), 20).await.unwrap();
        eventually("another process's new key", async || store.list_keys(&acme).await.unwrap().len() == 2).await;

        other.delete_client(&acme, &id, AT).await.unwrap();
        eventually("another process's deletion", async || store.find_client(&acme, &id).await.unwrap().is_none()).await;
    })
    .await;
}

#[tokio::test]
async fn conflicts_are_reported_as_such() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let again = NewBrand { key: acme.key().clone(), name: "again".into(), settings: BrandSettings::default() };
        assert!(matches!(store.create_brand(again, key("other")).await, Err(StoreError::Conflict(_))), "{}", db.name);
        store.create_client(&acme, client("c1")).await.unwrap();
        assert!(matches!(store.create_client(&acme, client("c1")).await, Err(StoreError::Conflict(_))));
        store.record_token(&acme, token("t1", "c1")).await.unwrap();
        assert!(store.record_token(&acme, token("t1", "c1")).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn committed_records_survive_a_new_connection() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        store.record_token(&acme, token("durable", "c1")).await.unwrap();
        store.close().await.unwrap();
        let reopened = db.store().await;
        let scope = BrandScope::new(reopened.find_brand(&BrandKey::parse("acme").unwrap()).await.unwrap().unwrap());
        assert!(reopened.find_token(&scope, "durable").await.unwrap().is_some(), "{}", db.name);
    })
    .await;
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode() {
    let db = testing::sqlite();
    let store = db.store().await;
    brand(&store, "acme").await;
    let path = db.url.trim_start_matches("sqlite://");
    assert!(std::path::Path::new(&format!("{path}-wal")).exists(), "a WAL file exists next to {path}");
}

#[tokio::test]
async fn bad_urls_are_refused_clearly() {
    let err = SeaStore::connect("mysql://x", portcullis_store::PoolSettings::default()).await.unwrap_err();
    assert!(err.to_string().contains("sqlite: or postgres://"), "{err}");
    let unreachable = SeaStore::connect(
        "postgres://nobody@127.0.0.1:1/none",
        portcullis_store::PoolSettings {
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_secs(2),
            ..portcullis_store::PoolSettings::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(unreachable, StoreError::Unavailable(_)), "{unreachable:?}");
}

#[tokio::test]
async fn resealing_changes_every_key_and_the_check_value_or_nothing() {
    use portcullis_tenancy::{KeyStore, MetaStore};
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        store.init_meta("check", vec![0]).await.unwrap();

        // A failure half-way leaves everything as it was.
        let failing = store
            .reseal_signing_keys(
                |k| if k.brand == "globex" { Err("cannot open".into()) } else { Ok(vec![9]) },
                "check",
                vec![1],
            )
            .await;
        assert!(failing.is_err(), "{}", db.name);
        assert_eq!(store.active_key(&acme).await.unwrap().unwrap().sealed_private_key, vec![1, 2, 3], "{}", db.name);
        assert_eq!(store.meta("check").await.unwrap(), Some(vec![0]));

        // Every brand's keys, each sealed with its own brand and kid.
        let resealed = store
            .reseal_signing_keys(|k| Ok(format!("{}/{}", k.brand, k.kid).into_bytes()), "check", vec![2])
            .await
            .unwrap();
        assert_eq!(resealed, 2, "{}", db.name);
        assert_eq!(store.active_key(&acme).await.unwrap().unwrap().sealed_private_key, b"acme/acme-k1".to_vec());
        assert_eq!(store.active_key(&globex).await.unwrap().unwrap().sealed_private_key, b"globex/globex-k1".to_vec());
        assert_eq!(store.meta("check").await.unwrap(), Some(vec![2]));
    })
    .await;
}

/// Postgres only (SQLite has no statement timeout; its busy timeout is tested with the writer):
/// a statement stuck behind another session's lock is cancelled by the server after
/// `statement_timeout` and reported as unavailable (a 503 to the client), the store keeps working
/// once the lock is gone, and migrations are not subject to the timeout.
#[tokio::test]
async fn a_stuck_postgres_statement_is_cancelled_as_unavailable() {
    use sea_orm::{ConnectionTrait, TransactionTrait};

    let Some(db) = testing::postgres().await else { return };
    // A timeout far shorter than the migrations' statements: they run all the same.
    let hasty = portcullis_store::PoolSettings {
        statement_timeout: std::time::Duration::from_millis(1),
        ..portcullis_store::PoolSettings::default()
    };
    let store = SeaStore::connect(&db.url, hasty).await.unwrap();
    store.migrate().await.unwrap();
    drop(store.close().await);

    let pool = portcullis_store::PoolSettings { statement_timeout: std::time::Duration::from_secs(1), ..hasty };
    let store = SeaStore::connect(&db.url, pool).await.unwrap();
    let other = sea_orm::Database::connect(db.url.as_str()).await.unwrap();
    let holder = other.begin().await.unwrap();
    holder.execute_unprepared("LOCK TABLE brands IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let new =
        NewBrand { key: BrandKey::parse("stuck").unwrap(), name: "Stuck".into(), settings: BrandSettings::default() };
    let stuck = store.create_brand(new, key("stuck-k1")).await.unwrap_err();
    assert!(matches!(stuck, StoreError::Unavailable(_)), "{stuck:?}");
    holder.rollback().await.unwrap();
    let acme = brand(&store, "acme").await;
    assert!(store.find_brand(acme.key()).await.unwrap().is_some());
}
