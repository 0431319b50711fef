//! Revocation, cascades, the feed, API tokens, group commit and pruning, against SQLite and
//! (when configured) Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use portcullis_core::{ActType, ClientId, ScopeSet};
use portcullis_store::SeaStore;
use portcullis_tenancy::{
    BrandScope, ClientStore, IssuedToken, MaintenanceStore, NewPrincipal, PrincipalKind, PrincipalStore, RefreshStatus,
    RefreshStore, RefreshToken, RevocationKind, RevocationStore, RevokeAt, TokenFilter, TokenStatus, TokenStore,
};

mod common;

use common::{brand, client, each, token};

fn refresh(hash: &str, family: &str, client: &str, subject: &str) -> RefreshToken {
    RefreshToken {
        token_hash: hash.into(),
        family_id: family.into(),
        client_id: ClientId::parse(client).unwrap(),
        subject: subject.into(),
        act_type: ActType::User,
        scopes: ScopeSet::parse_delimited("read").unwrap(),
        audience: vec![],
        issued_at: 100,
        expires_at: 5000,
        status: RefreshStatus::Active,
        rotated_at: None,
    }
}

fn user_token(jti: &str, client: &str, subject: &str, expires_at: i64) -> IssuedToken {
    IssuedToken { subject: subject.into(), act_type: ActType::User, expires_at, ..token(jti, client) }
}

async fn status(store: &SeaStore, scope: &BrandScope, jti: &str) -> TokenStatus {
    store.find_token(scope, jti).await.unwrap().unwrap().status
}

async fn principal(store: &SeaStore, scope: &BrandScope, id: &str, username: &str) {
    let new = NewPrincipal {
        id: id.into(),
        kind: PrincipalKind::User,
        username: username.into(),
        password_hash: "$argon2id$x".into(),
        permissions: ScopeSet::parse_delimited("read").unwrap(),
        email: None,
        name: None,
    };
    store.create_principal(scope, new).await.unwrap();
}

const AT: RevokeAt = RevokeAt { at: 500, keep_until: 600 };

#[tokio::test]
async fn revoking_a_token_marks_it_and_appends_to_its_brands_feed_only() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        store.record_token(&acme, token("t1", "c1")).await.unwrap();

        assert!(!store.revoke_token(&globex, "t1", 200).await.unwrap(), "{}: another brand cannot revoke it", db.name);
        assert_eq!(status(&store, &acme, "t1").await, TokenStatus::Active);

        assert!(store.revoke_token(&acme, "t1", 200).await.unwrap());
        assert!(!store.revoke_token(&acme, "t1", 201).await.unwrap(), "already revoked");
        assert!(!store.revoke_token(&acme, "unknown", 201).await.unwrap());
        assert_eq!(status(&store, &acme, "t1").await, TokenStatus::Revoked);

        let feed = store.revocations_after(&acme, 0, 100).await.unwrap();
        assert_eq!(feed.len(), 1, "{}: one entry, not one per call", db.name);
        assert_eq!((feed[0].kind, feed[0].value.as_str()), (RevocationKind::Token, "t1"));
        assert_eq!((feed[0].revoked_at, feed[0].expires_at), (200, 1000), "kept until the token expires");
        assert!(store.revocations_after(&globex, 0, 100).await.unwrap().is_empty());
        assert!(store.revocations_after(&acme, feed[0].cursor, 100).await.unwrap().is_empty());
        assert_eq!(store.latest_revocation().await.unwrap(), feed[0].cursor);
    })
    .await;
}

#[tokio::test]
async fn access_token_liveness_is_one_scoped_read_of_record_and_blankets() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        store.create_client(&acme, client("c1")).await.unwrap();
        store.record_token(&acme, token("t1", "c1")).await.unwrap();
        assert!(store.access_token_live(&acme, "t1", "c1", "c1", 100).await.unwrap(), "{}", db.name);
        assert!(!store.access_token_live(&globex, "t1", "c1", "c1", 100).await.unwrap(), "another brand's token");
        assert!(!store.access_token_live(&acme, "unknown", "c1", "c1", 100).await.unwrap());
        store.revoke_token(&acme, "t1", 200).await.unwrap();
        assert!(!store.access_token_live(&acme, "t1", "c1", "c1", 100).await.unwrap(), "revoked record");

        // A blanket entry refuses a token issued up to its instant even if the record is active.
        let c1 = ClientId::parse("c1").unwrap();
        store.set_client_enabled(&acme, &c1, false, AT).await.unwrap();
        store.record_token(&acme, token("late", "c1")).await.unwrap();
        assert!(!store.access_token_live(&acme, "late", "s", "c1", 100).await.unwrap(), "client blanket");
        assert!(store.access_token_live(&acme, "late", "s", "other", 100).await.unwrap(), "another client");
        assert!(store.access_token_live(&acme, "late", "c1", "c1", AT.at + 1).await.unwrap(), "issued afterwards");
    })
    .await;
}

#[tokio::test]
async fn disabling_or_deleting_a_client_revokes_its_tokens_in_one_step() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        for scope in [&acme, &globex] {
            store.create_client(scope, client("c1")).await.unwrap();
        }
        store.create_client(&acme, client("c2")).await.unwrap();
        store.record_token(&acme, user_token("a1", "c1", "u1", 900)).await.unwrap();
        store.record_token(&acme, user_token("a2", "c1", "u2", 2000)).await.unwrap();
        store.record_token(&acme, token("other-client", "c2")).await.unwrap();
        store.record_token(&globex, token("g1", "c1")).await.unwrap();
        store.record_refresh(&acme, refresh("h1", "f1", "c1", "u1")).await.unwrap();

        let c1 = ClientId::parse("c1").unwrap();
        assert!(store.set_client_enabled(&acme, &c1, false, AT).await.unwrap());
        assert!(!store.find_client(&acme, &c1).await.unwrap().unwrap().enabled);
        assert_eq!(status(&store, &acme, "a1").await, TokenStatus::Revoked, "{}", db.name);
        assert_eq!(status(&store, &acme, "a2").await, TokenStatus::Revoked);
        assert_eq!(status(&store, &acme, "other-client").await, TokenStatus::Active);
        assert_eq!(status(&store, &globex, "g1").await, TokenStatus::Active, "the same id in another brand");
        assert_eq!(store.find_refresh(&acme, "h1").await.unwrap().unwrap().status, RefreshStatus::Revoked);

        let feed = store.revocations_after(&acme, 0, 100).await.unwrap();
        assert_eq!(feed.len(), 1);
        assert_eq!((feed[0].kind, feed[0].value.as_str(), feed[0].revoked_at), (RevocationKind::Client, "c1", 500));
        assert_eq!(feed[0].expires_at, 2000, "kept until the latest affected token expires");
        assert!(store.blanket_revoked(&acme, "someone", "c1", 500).await.unwrap(), "issued at the instant");
        assert!(!store.blanket_revoked(&acme, "someone", "c1", 501).await.unwrap(), "issued afterwards");
        assert!(!store.blanket_revoked(&globex, "someone", "c1", 100).await.unwrap());

        assert!(store.set_client_enabled(&acme, &c1, true, AT).await.unwrap());
        assert_eq!(store.revocations_after(&acme, 0, 100).await.unwrap().len(), 1, "enabling revokes nothing");

        let c2 = ClientId::parse("c2").unwrap();
        assert!(store.delete_client(&acme, &c2, AT).await.unwrap());
        assert!(store.find_client(&acme, &c2).await.unwrap().is_none());
        assert_eq!(status(&store, &acme, "other-client").await, TokenStatus::Revoked, "records stay, revoked");
        assert!(!store.delete_client(&acme, &c2, AT).await.unwrap(), "already gone");
        let missing = ClientId::parse("missing").unwrap();
        assert!(!store.set_client_enabled(&acme, &missing, false, AT).await.unwrap());
        assert_eq!(store.revocations_after(&acme, 0, 100).await.unwrap().len(), 2, "no entry for a missing client");
    })
    .await;
}

#[tokio::test]
async fn disabling_or_deleting_a_principal_revokes_what_was_issued_to_it() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        principal(&store, &acme, "u1", "alice").await;
        principal(&store, &acme, "u2", "bob").await;
        store.record_token(&acme, user_token("a1", "c1", "u1", 900)).await.unwrap();
        store.record_token(&acme, user_token("b1", "c1", "u2", 900)).await.unwrap();
        store.record_refresh(&acme, refresh("h1", "f1", "c1", "u1")).await.unwrap();

        assert!(store.set_principal_enabled(&acme, "u1", false, AT).await.unwrap());
        assert!(!store.find_principal_by_id(&acme, "u1").await.unwrap().unwrap().enabled, "{}", db.name);
        assert_eq!(status(&store, &acme, "a1").await, TokenStatus::Revoked);
        assert_eq!(status(&store, &acme, "b1").await, TokenStatus::Active);
        assert_eq!(store.find_refresh(&acme, "h1").await.unwrap().unwrap().status, RefreshStatus::Revoked);
        assert!(store.blanket_revoked(&acme, "u1", "c1", 400).await.unwrap());

        assert!(store.delete_principal(&acme, "u2", AT).await.unwrap());
        assert!(store.find_principal_by_id(&acme, "u2").await.unwrap().is_none());
        assert_eq!(status(&store, &acme, "b1").await, TokenStatus::Revoked);
        let kinds: Vec<_> = store.revocations_after(&acme, 0, 100).await.unwrap().into_iter().map(|r| r.kind).collect();
        assert_eq!(kinds, vec![RevocationKind::Subject, RevocationKind::Subject]);
        assert!(!store.delete_principal(&acme, "u2", AT).await.unwrap());
    })
    .await;
}

/// A login its holder ended (an RFC 7009 revocation of its refresh token): every access token of
/// the family is ended, those an administrator had revoked before too, and none is approved back.
#[tokio::test]
async fn a_family_its_holder_ended_cannot_be_approved_back() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let family = |jti: &str| IssuedToken { family_id: Some("f1".into()), ..user_token(jti, "c1", "u1", 900) };
        store.record_token(&acme, family("e-a")).await.unwrap();
        store.record_token(&acme, family("e-b")).await.unwrap();
        store.record_refresh(&acme, refresh("h1", "f1", "c1", "u1")).await.unwrap();
        assert!(store.revoke_token(&acme, "e-b", 200).await.unwrap(), "{}: an administrator's revocation", db.name);
        assert_eq!(store.end_family(&acme, "f1", 300).await.unwrap(), 2, "{}: h1 and e-a were live", db.name);
        for jti in ["e-a", "e-b"] {
            assert_eq!(status(&store, &acme, jti).await, TokenStatus::Ended, "{}: {jti}", db.name);
            assert!(!store.approve_token(&acme, jti, 400).await.unwrap(), "{}: {jti} approved", db.name);
        }
        assert_eq!(store.find_refresh(&acme, "h1").await.unwrap().unwrap().status, RefreshStatus::Revoked);
    })
    .await;
}

#[tokio::test]
async fn family_and_bulk_revocations_feed_every_token() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let family = |jti: &str| IssuedToken { family_id: Some("f1".into()), ..user_token(jti, "c1", "u1", 900) };
        store.record_token(&acme, family("f-a")).await.unwrap();
        store.record_token(&acme, family("f-b")).await.unwrap();
        store.record_refresh(&acme, refresh("h1", "f1", "c1", "u1")).await.unwrap();
        assert_eq!(store.revoke_family(&acme, "f1", 300).await.unwrap(), 3, "{}", db.name);
        let values: BTreeSet<_> =
            store.revocations_after(&acme, 0, 100).await.unwrap().into_iter().map(|r| r.value).collect();
        assert_eq!(values, BTreeSet::from(["f-a".to_owned(), "f-b".to_owned()]));

        store.record_token(&acme, user_token("s1", "c1", "u9", 900)).await.unwrap();
        assert_eq!(store.revoke_subject(&acme, "u9", AT).await.unwrap(), 1);
        store.record_token(&acme, token("c1-token", "c9")).await.unwrap();
        assert_eq!(store.revoke_client_tokens(&acme, &ClientId::parse("c9").unwrap(), AT).await.unwrap(), 1);
        let revoked = TokenFilter { status: Some(TokenStatus::Revoked), ..TokenFilter::default() };
        assert_eq!(store.list_tokens(&acme, &revoked, None, 100).await.unwrap().len(), 4);
        let of_u9 = TokenFilter { subject: Some("u9".into()), ..TokenFilter::default() };
        assert_eq!(store.list_tokens(&acme, &of_u9, None, 100).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_feed_never_skips_an_entry_under_concurrent_revocations() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        const WRITERS: usize = 6;
        const EACH: usize = 15;
        for w in 0..WRITERS {
            for i in 0..EACH {
                store.record_token(&acme, token(&format!("t{w}-{i}"), "c1")).await.unwrap();
            }
        }
        let mut writers = tokio::task::JoinSet::new();
        for w in 0..WRITERS {
            let (store, acme) = (store.clone(), acme.clone());
            writers.spawn(async move {
                for i in 0..EACH {
                    store.revoke_token(&acme, &format!("t{w}-{i}"), 300).await.unwrap();
                }
            });
        }
        // A follower reading while the writers commit must see every entry exactly once.
        let mut cursor = 0;
        let mut seen = Vec::new();
        while seen.len() < WRITERS * EACH {
            let page = store.revocations_after(&acme, cursor, 7).await.unwrap();
            if let Some(last) = page.last() {
                cursor = last.cursor;
            } else if writers.is_empty() {
                break;
            }
            seen.extend(page.into_iter().map(|r| r.value));
            while writers.try_join_next().is_some() {}
            tokio::task::yield_now().await;
        }
        while writers.join_next().await.is_some() {}
        let unique: BTreeSet<_> = seen.iter().collect();
        assert_eq!((seen.len(), unique.len()), (WRITERS * EACH, WRITERS * EACH), "{}", db.name);
    })
    .await;
}

#[tokio::test]
async fn concurrent_liveness_checks_each_get_their_own_answer() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        for i in 0..60 {
            store.record_token(&acme, token(&format!("a{i}"), "c1")).await.unwrap();
        }
        for i in (0..60).step_by(3) {
            store.revoke_token(&acme, &format!("a{i}"), 200).await.unwrap();
        }
        // Lookups asked at once (batched together on Postgres), mixing brands, live tokens,
        // revoked ones and unknown ones: each is answered as if it were asked alone.
        let mut tasks = tokio::task::JoinSet::new();
        for round in 0..4 {
            for i in 0..60 {
                let (store, acme, globex) = (store.clone(), acme.clone(), globex.clone());
                tasks.spawn(async move {
                    let scope = if round == 3 { &globex } else { &acme };
                    let jti = if round == 2 { format!("unknown{i}") } else { format!("a{i}") };
                    let live = store.access_token_live(scope, &jti, "c1", "c1", 100).await.unwrap();
                    (round, i, live)
                });
            }
        }
        while let Some(answer) = tasks.join_next().await {
            let (round, i, live) = answer.unwrap();
            let expected = round < 2 && i % 3 != 0;
            assert_eq!(live, expected, "{}: round {round}, token {i}", db.name);
        }
    })
    .await;
}

#[tokio::test]
async fn concurrent_records_are_committed_in_groups_and_all_acknowledged() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..300 {
            let (store, acme) = (store.clone(), acme.clone());
            tasks.spawn(async move { store.record_token(&acme, token(&format!("g{i}"), "c1")).await });
        }
        // One duplicate among them fails alone.
        let (dup_store, dup_acme) = (store.clone(), acme.clone());
        tasks.spawn(async move { dup_store.record_token(&dup_acme, token("g0", "c1")).await });
        let mut failures = 0;
        while let Some(result) = tasks.join_next().await {
            failures += usize::from(result.unwrap().is_err());
        }
        assert_eq!(failures, 1, "{}: exactly the duplicate fails", db.name);
        let all = store.list_tokens(&acme, &TokenFilter::default(), None, 1000).await.unwrap();
        assert_eq!(all.len(), 300);
    })
    .await;
}

#[tokio::test]
async fn api_tokens_are_set_found_replaced_and_cleared_per_brand() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        principal(&store, &acme, "u1", "alice").await;
        assert!(store.find_principal_by_id(&acme, "u1").await.unwrap().unwrap().api_token_issued_at.is_none());
        assert!(store.set_api_token(&acme, "u1", Some("sha256:one".into()), 10).await.unwrap());
        let found = store.find_principal_by_api_token(&acme, "sha256:one").await.unwrap().unwrap();
        assert_eq!((found.id.as_str(), found.api_token_issued_at), ("u1", Some(10)), "{}", db.name);
        assert!(store.find_principal_by_api_token(&globex, "sha256:one").await.unwrap().is_none());
        assert!(!store.set_api_token(&globex, "u1", Some("sha256:x".into()), 10).await.unwrap());

        assert!(store.set_api_token(&acme, "u1", Some("sha256:two".into()), 20).await.unwrap());
        assert!(store.find_principal_by_api_token(&acme, "sha256:one").await.unwrap().is_none(), "replaced");
        assert!(store.set_api_token(&acme, "u1", None, 30).await.unwrap());
        assert!(store.find_principal_by_api_token(&acme, "sha256:two").await.unwrap().is_none(), "cleared");
        assert!(store.find_principal_by_id(&acme, "u1").await.unwrap().unwrap().api_token_issued_at.is_none());

        // Every change is announced on acme's feed (the refused change at globex is not).
        let feed = store.revocations_after(&acme, 0, 10).await.unwrap();
        let entries: Vec<_> = feed.iter().map(|e| (e.kind, e.value.as_str(), e.revoked_at)).collect();
        let expected = [10, 20, 30].map(|at| (RevocationKind::ApiToken, "u1", at));
        assert_eq!(entries, expected, "{}", db.name);
        assert!(store.revocations_after(&globex, 0, 10).await.unwrap().is_empty(), "{}", db.name);
    })
    .await;
}

#[tokio::test]
async fn pruning_removes_only_old_dead_records_in_batches() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        for i in 0..7 {
            store
                .record_token(&acme, IssuedToken { expires_at: 100 + i, ..token(&format!("old{i}"), "c1") })
                .await
                .unwrap();
        }
        store.record_token(&acme, IssuedToken { expires_at: 10_000, ..token("live", "c1") }).await.unwrap();
        store.record_token(&acme, IssuedToken { expires_at: 10_000, ..token("revoked-early", "c1") }).await.unwrap();
        store.revoke_token(&acme, "revoked-early", 150).await.unwrap();
        store
            .record_refresh(&acme, RefreshToken { expires_at: 120, ..refresh("old-r", "f1", "c1", "u1") })
            .await
            .unwrap();
        let rotated =
            RefreshToken { status: RefreshStatus::Rotated, rotated_at: Some(110), ..refresh("rot", "f2", "c1", "u1") };
        store.record_refresh(&acme, rotated).await.unwrap();

        // Cutoff 200: seven old tokens, the early-revoked one, the old refresh token and the
        // expired feed entry? (its token lives until 10 000, so the entry stays).
        let mut total = 0;
        loop {
            let deleted = store.prune(200, 3).await.unwrap();
            assert!(deleted <= 9, "{}: at most a batch per table", db.name);
            total += deleted;
            if deleted == 0 {
                break;
            }
        }
        assert_eq!(total, 7 + 1 + 1, "{}", db.name);
        assert!(store.find_token(&acme, "live").await.unwrap().is_some());
        assert!(store.find_token(&acme, "revoked-early").await.unwrap().is_none());
        assert!(store.find_refresh(&acme, "rot").await.unwrap().is_some(), "rotated, not expired: reuse detection");
        assert_eq!(store.revocations_after(&acme, 0, 10).await.unwrap().len(), 1);
        assert_eq!(store.prune(20_000, 100).await.unwrap(), 3, "live token, rotated refresh, feed entry");
    })
    .await;
}

#[tokio::test]
async fn principals_are_searched_by_username_prefix_within_their_brand() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        for (id, username) in
            [("u1", "Alice"), ("u2", "alina"), ("u3", "bob"), ("u4", "al_x"), ("u5", "alZx"), ("u6", "a%b")]
        {
            principal(&store, &acme, id, username).await;
        }
        principal(&store, &globex, "g1", "alfred").await;
        // Sorted here: the order of mixed-case names is the database's collation.
        let page = async |search: Option<&str>, after: Option<&str>, limit: u64| -> Vec<String> {
            let found = store.list_principals(&acme, PrincipalKind::User, search, after, limit).await.unwrap();
            found.into_iter().map(|p| p.username).collect()
        };
        let names = async |search: Option<&str>, after: Option<&str>| -> Vec<String> {
            let mut found = page(search, after, 10).await;
            found.sort();
            found
        };
        let count =
            async |search: Option<&str>| store.count_principals(&acme, PrincipalKind::User, search).await.unwrap();
        assert_eq!(names(Some("AL"), None).await, ["Alice", "alZx", "al_x", "alina"], "{}", db.name);
        assert_eq!(count(Some("al")).await, 4, "{}", db.name);
        assert_eq!(names(Some("al_"), None).await, ["al_x"], "`_` is literal: {}", db.name);
        assert_eq!(names(Some("a%"), None).await, ["a%b"], "`%` is literal: {}", db.name);
        assert_eq!(names(Some("alf"), None).await, Vec::<String>::new(), "another brand's user: {}", db.name);
        let first = page(Some("al"), None, 2).await;
        let rest = page(Some("al"), first.last().map(String::as_str), 10).await;
        let mut all: Vec<String> = first.into_iter().chain(rest).collect();
        all.sort();
        assert_eq!(all, ["Alice", "alZx", "al_x", "alina"], "paging within a search: {}", db.name);
        assert_eq!(count(None).await, 6);
        assert_eq!(names(Some(""), None).await.len(), 6, "a blank search is no search");
    })
    .await;
}
