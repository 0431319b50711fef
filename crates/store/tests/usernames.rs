//! Usernames that look alike are one username: the store keeps one principal per brand, kind
//! and `username_key`, finds it by any spelling with that key, and the migration that added
//! the key left clashing rows of older databases apart rather than merging or refusing them.
//! Runs on SQLite, and on Postgres when `PORTCULLIS_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use portcullis_core::ScopeSet;
use portcullis_migrations::{Migrator, MigratorTrait};
use portcullis_store::{PoolSettings, SeaStore, testing};
use portcullis_tenancy::{NewPrincipal, PrincipalKind, PrincipalStore, StoreError};
use sea_orm::{ConnectionTrait, Database};

use common::{brand, each};

fn principal(id: &str, kind: PrincipalKind, username: &str) -> NewPrincipal {
    NewPrincipal {
        id: id.into(),
        kind,
        username: username.into(),
        password_hash: "$argon2id$stub".into(),
        permissions: ScopeSet::parse_delimited("read").unwrap(),
        email: None,
        name: None,
    }
}

/// Every look-alike of `alice` (and of `José`) clashes with the first spelling, which stays the
/// one shown and is found by any spelling.
#[tokio::test]
async fn look_alike_usernames_clash_and_any_spelling_finds_the_first() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        let alice = store.create_principal(&acme, principal("u1", PrincipalKind::User, "alice")).await.unwrap();
        let jose = store.create_principal(&acme, principal("u2", PrincipalKind::User, "Jos\u{e9}")).await.unwrap();
        for (n, look_alike) in
            ["Alice", "ALICE", "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}", "Jose\u{301}", "JOS\u{c9}"]
                .into_iter()
                .enumerate()
        {
            let taken =
                store.create_principal(&acme, principal(&format!("x{n}"), PrincipalKind::User, look_alike)).await;
            assert!(matches!(taken, Err(StoreError::Conflict(_))), "[{}] {look_alike:?}: {taken:?}", db.name);
        }
        for spelling in ["alice", "Alice", "ALICE", "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}"] {
            let found = store.find_principal(&acme, PrincipalKind::User, spelling).await.unwrap();
            assert_eq!(found.as_ref(), Some(&alice), "[{}] {spelling:?}", db.name);
        }
        for spelling in ["Jos\u{e9}", "Jose\u{301}", "jos\u{e9}"] {
            let found = store.find_principal(&acme, PrincipalKind::User, spelling).await.unwrap().unwrap();
            assert_eq!((found.id.as_str(), found.username.as_str()), ("u2", "Jos\u{e9}"), "[{}]", db.name);
        }
        assert_eq!(jose.username, "Jos\u{e9}");
        assert!(store.find_principal(&acme, PrincipalKind::User, "\u{430}lice").await.unwrap().is_none(), "Cyrillic а");
        // Other kinds and other brands have their own names.
        store.create_principal(&acme, principal("o1", PrincipalKind::Operator, "ALICE")).await.unwrap();
        store.create_principal(&globex, principal("u9", PrincipalKind::User, "Alice")).await.unwrap();
    })
    .await;
}

/// A database with clashing usernames from before the key column: the migration keeps every
/// row, keys the first of each clash, leaves the later ones without a key (found only by their
/// own spelling), and from then on no new clash can be made.
#[tokio::test]
async fn the_migration_keeps_existing_clashes_apart() {
    for db in testing::all().await {
        // The store's connection creates the SQLite file; the raw one migrates to the version
        // before username keys and writes rows as that version's code did.
        let store = SeaStore::connect(&db.url, PoolSettings::default()).await.unwrap();
        let raw = Database::connect(db.url.as_str()).await.unwrap();
        Migrator::up(&raw, Some(7)).await.unwrap();
        let acme = brand(&store, "acme").await;
        let brand_id = acme.brand_id().0;
        for (id, kind, username) in [
            ("u1", "user", "alice"),
            ("u2", "user", "Alice"),
            ("u3", "user", "\u{ff41}lice"),
            ("u4", "user", "bob"),
            ("o1", "operator", "Alice"),
        ] {
            raw.execute_unprepared(&format!(
                "INSERT INTO principals (brand_id, principal_id, kind, username, password_hash, permissions, \
                 enabled, created_at, updated_at) VALUES ({brand_id}, '{id}', '{kind}', '{username}', 'h', '[]', \
                 TRUE, 1, 1)"
            ))
            .await
            .unwrap();
        }
        store.migrate().await.unwrap();
        let user = async |name: &str| store.find_principal(&acme, PrincipalKind::User, name).await.unwrap().unwrap().id;
        assert_eq!(user("alice").await, "u1", "[{}]", db.name);
        assert_eq!(user("Alice").await, "u2", "[{}] the exact spelling still signs in", db.name);
        assert_eq!(user("\u{ff41}lice").await, "u3", "[{}]", db.name);
        assert_eq!(user("ALICE").await, "u1", "[{}] other spellings find the first", db.name);
        assert_eq!(user("BOB").await, "u4", "[{}]", db.name);
        let operator = store.find_principal(&acme, PrincipalKind::Operator, "alice").await.unwrap().unwrap();
        assert_eq!(operator.id, "o1");
        let keys = raw
            .query_all_raw(sea_orm::Statement::from_string(
                raw.get_database_backend(),
                "SELECT principal_id, username_key FROM principals ORDER BY principal_id",
            ))
            .await
            .unwrap()
            .into_iter()
            .map(|row| {
                (
                    row.try_get::<String>("", "principal_id").unwrap(),
                    row.try_get::<Option<String>>("", "username_key").unwrap(),
                )
            })
            .collect::<Vec<_>>();
        let expected = [("o1", Some("alice")), ("u1", Some("alice")), ("u2", None), ("u3", None), ("u4", Some("bob"))];
        let expected: Vec<_> = expected.iter().map(|(id, key)| ((*id).to_owned(), key.map(str::to_owned))).collect();
        assert_eq!(keys, expected, "[{}]", db.name);
        let taken = store.create_principal(&acme, principal("u5", PrincipalKind::User, "ALICE")).await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "[{}]", db.name);
        drop(raw.close().await);
    }
}
