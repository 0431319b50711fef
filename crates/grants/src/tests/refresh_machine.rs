//! The refresh-token rotation and reuse state machine as a property (proptest).
//!
//! Two logins of the same user and client (two families) go through a generated sequence of
//! refreshes with any token they were ever given, and revocations (RFC 7009) of any of their
//! refresh or access tokens. A plain model says what each step must answer:
//!
//! * refreshing with a family's newest refresh token rotates it: a new pair, the old one dead;
//! * refreshing with an older one (a replay, no grace period) fails and kills the whole family;
//! * refreshing or revoking anything of a dead family changes nothing and fails or does nothing;
//! * revoking a refresh token kills its family; revoking an access token kills that token only;
//! * the other family never notices.
//!
//! After every step, introspection must agree with the model on every token ever issued.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};

use super::password_and_refresh::{login, refresh, setup};
use super::*;
use crate::introspect::introspect;
use crate::revoke::{Revoked, revoke};

/// One step; `token` picks among the family's tokens so far (modulo their number).
#[derive(Debug, Clone)]
enum Step {
    Refresh { family: usize, token: usize },
    RevokeRefresh { family: usize, token: usize },
    RevokeAccess { family: usize, token: usize },
}

fn step() -> impl Strategy<Value = Step> {
    let pick = (0..2usize, 0..8usize);
    prop_oneof![
        4 => pick.clone().prop_map(|(family, token)| Step::Refresh { family, token }),
        1 => pick.clone().prop_map(|(family, token)| Step::RevokeRefresh { family, token }),
        1 => pick.prop_map(|(family, token)| Step::RevokeAccess { family, token }),
    ]
}

/// One login as the model sees it.
#[derive(Debug, Default)]
struct Family {
    /// Every refresh token issued, oldest first; only the last can be live.
    refresh: Vec<String>,
    /// Every access token issued, with whether it was revoked on its own.
    access: Vec<(String, bool)>,
    alive: bool,
}

impl Family {
    fn refresh_live(&self, index: usize) -> bool {
        self.alive && index + 1 == self.refresh.len()
    }
}

#[test]
fn refresh_rotation_and_reuse_follow_the_model() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (ctx, acme, c, _db) = runtime.block_on(setup());
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let outcome = runner.run(&proptest::collection::vec(step(), 1..24), |steps| {
        runtime.block_on(async {
            let mut families = Vec::new();
            for _ in 0..2 {
                let first = exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None))
                    .await
                    .unwrap();
                families.push(Family {
                    refresh: vec![first.refresh_token.unwrap()],
                    access: vec![(first.access_token, false)],
                    alive: true,
                });
            }
            for step in steps {
                apply(&ctx, &acme, &c, &mut families, &step).await?;
                check(&ctx, &acme, &families).await?;
            }
            Ok(())
        })
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

async fn apply(
    ctx: &GrantContext<SeaStore>,
    acme: &BrandScope,
    c: &CreatedClient,
    families: &mut [Family],
    step: &Step,
) -> TestCaseResult {
    match *step {
        Step::Refresh { family, token } => {
            let f = &mut families[family];
            let index = token % f.refresh.len();
            let answer = exchange(ctx, acme, Some(&creds(c)), &refresh(&f.refresh[index])).await;
            if f.refresh_live(index) {
                let pair = answer.map_err(|e| TestCaseError::fail(format!("{step:?}: {e}")))?;
                f.refresh.push(pair.refresh_token.unwrap());
                f.access.push((pair.access_token, false));
            } else {
                let code = answer.err().map(|e| e.code());
                prop_assert_eq!(code, Some(OAuthErrorCode::InvalidGrant), "{:?}", step);
                // A replay of a rotated token ends the login; a dead one stays dead.
                f.alive = false;
            }
        }
        Step::RevokeRefresh { family, token } => {
            let f = &mut families[family];
            let index = token % f.refresh.len();
            let done = revoke(ctx, acme, &c.client, &f.refresh[index], None).await.unwrap();
            let expected = if f.alive { Revoked::RefreshFamily } else { Revoked::Nothing };
            prop_assert_eq!(done, expected, "{:?}", step);
            f.alive = false;
        }
        Step::RevokeAccess { family, token } => {
            let f = &mut families[family];
            let index = token % f.access.len();
            let done = revoke(ctx, acme, &c.client, &f.access[index].0, None).await.unwrap();
            let live = f.alive && !f.access[index].1;
            prop_assert_eq!(done, if live { Revoked::AccessToken } else { Revoked::Nothing }, "{:?}", step);
            f.access[index].1 = true;
        }
    }
    Ok(())
}

async fn active(ctx: &GrantContext<SeaStore>, scope: &BrandScope, token: &str) -> bool {
    introspect(ctx, scope, token, None).await.unwrap().active
}

/// Introspection agrees with the model on every token of both families.
async fn check(ctx: &GrantContext<SeaStore>, acme: &BrandScope, families: &[Family]) -> TestCaseResult {
    for (n, f) in families.iter().enumerate() {
        for (i, token) in f.refresh.iter().enumerate() {
            prop_assert_eq!(active(ctx, acme, token).await, f.refresh_live(i), "family {} refresh token {}", n, i);
        }
        for (i, (token, revoked)) in f.access.iter().enumerate() {
            prop_assert_eq!(active(ctx, acme, token).await, f.alive && !revoked, "family {} access token {}", n, i);
        }
    }
    Ok(())
}
