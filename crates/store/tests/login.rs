//! Authorization codes and login sessions against real databases (SQLite, and Postgres when
//! `PORTCULLIS_TEST_POSTGRES_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_core::{ClientId, ScopeSet};
use portcullis_tenancy::{
    AuthorizationCode, CodeRedemption, LockoutPolicy, LoginReservation, LoginSession, LoginStore, LoginThrottleStore,
    MaintenanceStore,
};

mod common;

use common::{brand, each};

fn code(hash: &str) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: hash.into(),
        client_id: ClientId::parse("web").unwrap(),
        subject: "u1".into(),
        redirect_uri: "https://app.example/cb".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        scopes: ScopeSet::parse_delimited("openid profile").unwrap(),
        auth_time: 100,
        sid: "sid1".into(),
        family_id: "fam1".into(),
        issued_at: 100,
        expires_at: 160,
    }
}

#[tokio::test]
async fn a_code_is_redeemed_once_then_recognised_as_a_replay() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        store.create_code(&acme, code("h1")).await.unwrap();
        assert_eq!(
            store.redeem_code(&acme, "h1", 110).await.unwrap(),
            Some(CodeRedemption::First(code("h1"))),
            "{}",
            db.name
        );
        assert!(!store.code_replayed(&acme, "h1").await.unwrap(), "one redemption is no replay");
        assert_eq!(store.redeem_code(&acme, "h1", 111).await.unwrap(), Some(CodeRedemption::Replayed(code("h1"))));
        assert!(store.code_replayed(&acme, "h1").await.unwrap(), "the second redemption marks it");
        assert_eq!(store.redeem_code(&acme, "unknown", 111).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn concurrent_redemptions_have_exactly_one_winner() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        store.create_code(&acme, code("h2")).await.unwrap();
        let attempts = (0..8).map(|_| {
            let (store, acme) = (store.clone(), acme.clone());
            tokio::spawn(async move { store.redeem_code(&acme, "h2", 110).await.unwrap() })
        });
        let mut first = 0;
        for attempt in attempts {
            if let Some(CodeRedemption::First(_)) = attempt.await.unwrap() {
                first += 1;
            }
        }
        assert_eq!(first, 1, "{}", db.name);
    })
    .await;
}

#[tokio::test]
async fn codes_and_sessions_of_one_brand_are_invisible_to_another() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        store.create_code(&acme, code("h3")).await.unwrap();
        assert_eq!(store.redeem_code(&globex, "h3", 110).await.unwrap(), None, "{}", db.name);
        assert!(matches!(store.redeem_code(&acme, "h3", 110).await.unwrap(), Some(CodeRedemption::First(_))));

        let session = LoginSession {
            session_hash: "s1".into(),
            subject: "u1".into(),
            auth_time: 100,
            sid: "sid1".into(),
            expires_at: 200,
        };
        store.create_session(&acme, session.clone()).await.unwrap();
        assert_eq!(store.find_session(&globex, "s1").await.unwrap(), None);
        assert!(!store.end_session(&globex, "s1").await.unwrap(), "another brand cannot end it");
        assert_eq!(store.find_session(&acme, "s1").await.unwrap(), Some(session));
        assert!(store.end_session(&acme, "s1").await.unwrap());
        assert_eq!(store.find_session(&acme, "s1").await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn pruning_removes_expired_codes_and_sessions() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        store.create_code(&acme, code("h4")).await.unwrap();
        let session = LoginSession {
            session_hash: "s2".into(),
            subject: "u1".into(),
            auth_time: 100,
            sid: "sid1".into(),
            expires_at: 200,
        };
        store.create_session(&acme, session).await.unwrap();
        store.prune(150, 100).await.unwrap();
        assert!(store.find_session(&acme, "s2").await.unwrap().is_some(), "{}: not expired yet", db.name);
        store.prune(1_000, 100).await.unwrap();
        assert_eq!(store.find_session(&acme, "s2").await.unwrap(), None);
        assert_eq!(store.redeem_code(&acme, "h4", 1_000).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn pruning_forgets_failure_counters_once_their_window_and_lockout_passed() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let policy = LockoutPolicy { window: 60, limit: 1, max_lockout: 60 };
        store.reserve_login_attempt(&acme, "made-up", 100, policy).await.unwrap();
        let LoginReservation::Admitted(locked) =
            store.reserve_login_attempt(&acme, "made-up", 102, policy).await.unwrap()
        else {
            panic!("{}: admitted once the first lock-out ended", db.name);
        };
        assert!(locked.locked_until > 101, "{}: locked", db.name);
        assert_eq!(store.prune(locked.locked_until, 100).await.unwrap(), 0, "{}: still locked at the cutoff", db.name);
        assert_eq!(store.login_locked_until(&acme, "made-up").await.unwrap(), locked.locked_until);
        assert_eq!(store.prune(locked.locked_until + 1, 100).await.unwrap(), 1, "{}: forgotten", db.name);
        let fresh = store.reserve_login_attempt(&acme, "made-up", 1_000, policy).await.unwrap();
        assert!(
            matches!(fresh, LoginReservation::Admitted(c) if c.failures == 1),
            "{}: counting starts again",
            db.name
        );
    })
    .await;
}
