//! Usernames that could be mistaken for another are refused or clash when provisioned; the
//! stored spelling is NFC; the helpers sign-in uses agree with what the store keeps.

use portcullis_tenancy::{PrincipalKind, PrincipalStore};

use super::*;
use crate::provision::{PrincipalSpec, ProvisionError, create_principal, normalise_username, username_key};

fn spec(kind: PrincipalKind, username: &str) -> PrincipalSpec {
    PrincipalSpec {
        kind,
        username: username.into(),
        password: "correct horse".into(),
        permissions: scopes("read"),
        email: None,
        name: None,
    }
}

#[tokio::test]
async fn look_alike_usernames_are_refused_or_clash() {
    let (ctx, _db) = context().await;
    let acme = brand(&ctx, "acme", BrandSettings::default()).await;
    let actor = Actor::new("test");
    for kind in [PrincipalKind::User, PrincipalKind::Operator] {
        let create = |name: &str| create_principal(&ctx.store, &acme, spec(kind, name), &actor, NOW);
        let alice = create("alice").await.unwrap();
        let jose = create("Jose\u{301}").await.unwrap();
        assert_eq!(jose.username, "Jos\u{e9}", "stored in NFC");
        for clash in ["Alice", "ALICE", "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}", "Jos\u{e9}", "jos\u{c9}"] {
            let refused = create(clash).await;
            assert!(matches!(refused, Err(ProvisionError::Conflict(_))), "{kind:?} {clash:?}: {refused:?}");
        }
        for invalid in ["\u{430}lice", "alice\u{200b}", "\u{202e}ecila", "al\u{200d}ice", "alice\u{7}", " alice"] {
            let refused = create(invalid).await;
            assert!(matches!(refused, Err(ProvisionError::Invalid(_))), "{kind:?} {invalid:?}: {refused:?}");
        }
        // Sign-in looks the name up by any spelling that folds the same.
        let found = ctx.store.find_principal(&acme, kind, &normalise_username("\u{ff21}LICE")).await.unwrap();
        assert_eq!(found.map(|p| p.id), Some(alice.id));
    }
    assert_eq!(username_key("ALICE"), username_key("alice"));
    assert_eq!(normalise_username("Jose\u{301}"), "Jos\u{e9}");
}
