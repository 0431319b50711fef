//! Pruning of audit events older than the retention, in batches, against real databases
//! (SQLite, and Postgres when `PORTCULLIS_TEST_POSTGRES_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_tenancy::{AuditEvent, AuditStore, MaintenanceStore};

mod common;

use common::{brand, each};

fn event(at: i64, action: &str) -> AuditEvent {
    AuditEvent {
        at,
        actor: "test".into(),
        action: action.into(),
        target: None,
        source: Some("10.0.0.9".into()),
        detail: None,
    }
}

#[tokio::test]
async fn audit_events_older_than_the_cutoff_are_pruned_in_batches_across_brands() {
    each(async |db, store| {
        let acme = brand(&store, "acme").await;
        let globex = brand(&store, "globex").await;
        // Seven old events over two brands, three recent ones; the cutoff is 1000.
        for (i, scope) in [&acme, &globex, &acme, &globex, &acme, &globex, &acme].into_iter().enumerate() {
            store.record_event(scope, event(100 + i64::try_from(i).unwrap(), "old")).await.unwrap();
        }
        store.record_event(&acme, event(999, "old")).await.unwrap();
        for at in [1000, 1500, 2000] {
            store.record_event(&globex, event(at, "recent")).await.unwrap();
        }
        let mut batches = Vec::new();
        loop {
            let deleted = store.prune_audit(1000, 3).await.unwrap();
            batches.push(deleted);
            if deleted < 3 {
                break;
            }
        }
        assert_eq!(batches, [3, 3, 2], "{}: batches of at most three", db.name);
        assert_eq!(store.count_events(&acme).await.unwrap(), 0, "{}", db.name);
        let kept = store.recent_events(&globex, 10).await.unwrap();
        assert_eq!(kept.iter().map(|e| e.at).collect::<Vec<_>>(), [2000, 1500, 1000], "{}", db.name);
        assert_eq!(store.prune_audit(1000, 3).await.unwrap(), 0, "{}: nothing older is left", db.name);
    })
    .await;
}
