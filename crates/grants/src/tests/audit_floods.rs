//! Floods of failed sign-ins and client authentications write a bounded number of audit rows
//! per window, which count every failure; successes are still written one by one.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use portcullis_tenancy::{AuditEvent, PrincipalKind};

use super::password_and_refresh::setup;
use super::*;
use crate::login::{Attempt, authenticate_principal};

const ATTACKER: &str = "203.0.113.9";

/// A clock the test moves.
fn movable(ctx: &mut GrantContext<SeaStore>) -> Arc<AtomicI64> {
    let now = Arc::new(AtomicI64::new(NOW));
    let read = Arc::clone(&now);
    ctx.clock = Clock::from_fn(move || read.load(Ordering::SeqCst));
    now
}

/// The failures a row stands for (`failures=N` in its detail).
fn count(event: &AuditEvent) -> u64 {
    let detail = event.detail.as_deref().unwrap_or_default();
    let (_, rest) = detail.split_once("failures=").unwrap_or_else(|| panic!("no count in {detail:?}"));
    rest.split(';').next().unwrap().parse().unwrap()
}

async fn rows(ctx: &GrantContext<SeaStore>, scope: &BrandScope, action: &str) -> Vec<AuditEvent> {
    events(ctx, scope).await.into_iter().filter(|e| e.action == action).collect()
}

async fn sign_in(ctx: &GrantContext<SeaStore>, scope: &BrandScope, username: &str, password: &str) -> bool {
    let attempt =
        Attempt { kind: PrincipalKind::User, username, password, source: Some(ATTACKER), channel: "password" };
    authenticate_principal(ctx, scope, &attempt).await.is_ok()
}

#[tokio::test]
async fn a_flood_of_failed_logins_from_one_address_writes_two_rows_a_window_counting_them_all() {
    let (mut ctx, acme, _, _db) = setup().await;
    let now = movable(&mut ctx);
    // 60 made-up usernames, one a second: one window.
    for i in 0..60 {
        now.store(NOW + i, Ordering::SeqCst);
        assert!(!sign_in(&ctx, &acme, &format!("random-{i}-{}", i * 7919), "guess").await);
    }
    assert_eq!(rows(&ctx, &acme, "login.failed").await.len(), 1, "only the first is written at once");
    // The window ends: its summary is written by the next flush.
    now.store(NOW + 60, Ordering::SeqCst);
    assert_eq!(ctx.failure_audit.flush(&ctx.store, NOW + 60).await, 1);
    let first_window = rows(&ctx, &acme, "login.failed").await;
    assert_eq!(first_window.len(), 2, "{first_window:?}");
    assert_eq!(first_window.iter().map(count).sum::<u64>(), 60);
    let summary = &first_window[0];
    assert_eq!(summary.source.as_deref(), Some(ATTACKER));
    assert_eq!(summary.actor, crate::audit_fold::SEVERAL_ACTORS);
    assert_eq!(summary.detail.as_deref(), Some(&*format!("password; failures=59; from={}; to={}", NOW + 1, NOW + 59)));

    // A success is written on its own, at once.
    assert!(sign_in(&ctx, &acme, "alice", "correct horse").await);
    assert!(sign_in(&ctx, &acme, "alice", "correct horse").await);
    assert_eq!(rows(&ctx, &acme, "login.succeeded").await.len(), 2);

    // The next window: 30 more, its first written at once, the rest when the process stops.
    for i in 0..30 {
        now.store(NOW + 120 + i, Ordering::SeqCst);
        assert!(!sign_in(&ctx, &acme, &format!("other-{i}"), "guess").await);
    }
    assert_eq!(rows(&ctx, &acme, "login.failed").await.len(), 3);
    assert_eq!(ctx.failure_audit.flush_all(&ctx.store).await, 1);
    let all = rows(&ctx, &acme, "login.failed").await;
    assert_eq!(all.len(), 4, "two rows per window: {all:?}");
    assert_eq!(all.iter().map(count).sum::<u64>(), 90, "every failure is counted");
}

#[tokio::test]
async fn a_flood_of_failed_client_authentications_is_folded_per_address() {
    let (mut ctx, acme, _, _db) = setup().await;
    let now = movable(&mut ctx);
    for i in 0..40 {
        now.store(NOW + i / 2, Ordering::SeqCst);
        let credentials = ClientCredentials {
            client_id: format!("made-up-{i}"),
            secret: "pcs_guess".into(),
            method: ClientAuthMethod::Basic,
        };
        let outcome =
            crate::client_auth::authenticate(&ctx, &acme, Some(&credentials), NOW + i / 2, Some(ATTACKER)).await;
        assert!(matches!(outcome, Err(GrantError::InvalidClient { .. })), "{outcome:?}");
    }
    assert_eq!(rows(&ctx, &acme, "auth.failed").await.len(), 1);
    assert_eq!(ctx.failure_audit.flush(&ctx.store, NOW + 60).await, 1);
    let all = rows(&ctx, &acme, "auth.failed").await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all.iter().map(count).sum::<u64>(), 40);
}
