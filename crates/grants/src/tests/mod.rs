//! Grant-engine tests over a real (SQLite) store, without HTTP.
#![allow(clippy::unwrap_used)]

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation, decode};
use portcullis_core::{AccessTokenClaims, BrandKey, GrantType, OAuthErrorCode, ScopeSet, SigningAlgorithm};
use portcullis_credentials::master::MasterKey;
use portcullis_tenancy::{AuditStore, BrandScope, BrandSettings, ClientProfile, KeyStore, TokenStore};

use crate::provision::{Actor, CreatedClient, bootstrap, create_brand, create_client};
use crate::{
    ClientAuthMethod, ClientCredentials, Clock, GrantContext, GrantError, TokenDefaults, TokenRequest, exchange,
};
use portcullis_store::SeaStore;
use portcullis_store::testing::{self, TestDatabase};

const NOW: i64 = 1_800_000_000;

/// A grant engine over a fresh SQLite database, which lives as long as the returned guard.
async fn context() -> (GrantContext<SeaStore>, TestDatabase) {
    let db = testing::sqlite();
    let ctx = GrantContext {
        store: db.store().await,
        keys: crate::keyring::KeyRing::new(MasterKey::generate().unwrap().0),
        defaults: TokenDefaults { access_ttl: 900, refresh_ttl: 86_400, refresh_reuse_grace: 0, session_ttl: 3600 },
        public_url: "https://id.example.com".into(),
        clock: Clock::from_fn(|| NOW),
        throttle: crate::throttle::Throttle::new(),
        feed: crate::feed::RevocationSignal::new(),
        failure_audit: crate::failure_audit::FailureAudit::default(),
    };
    (ctx, db)
}

async fn tokens(ctx: &GrantContext<SeaStore>, scope: &BrandScope) -> Vec<portcullis_tenancy::IssuedToken> {
    ctx.store.list_tokens(scope, &portcullis_tenancy::TokenFilter::default(), None, 10_000).await.unwrap()
}

async fn events(ctx: &GrantContext<SeaStore>, scope: &BrandScope) -> Vec<portcullis_tenancy::AuditEvent> {
    ctx.store.recent_events(scope, 10_000).await.unwrap()
}

async fn brand(ctx: &GrantContext<SeaStore>, key: &str, settings: BrandSettings) -> BrandScope {
    let brand = create_brand(
        &ctx.store,
        &ctx.keys,
        BrandKey::parse(key).unwrap(),
        key.into(),
        settings,
        &Actor::new("test"),
        NOW,
    )
    .await
    .unwrap();
    BrandScope::new(brand)
}

fn scopes(text: &str) -> ScopeSet {
    ScopeSet::parse_delimited(text).unwrap()
}

async fn client(ctx: &GrantContext<SeaStore>, scope: &BrandScope, audiences: &[&str]) -> CreatedClient {
    let spec = ClientProfile {
        name: "svc".into(),
        grant_types: vec![GrantType::ClientCredentials],
        scopes: scopes("read write"),
        default_scopes: scopes("read"),
        audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
        ..ClientProfile::default()
    };
    create_client(&ctx.store, scope, spec, &Actor::new("test"), NOW).await.unwrap()
}

fn creds(c: &CreatedClient) -> ClientCredentials {
    ClientCredentials {
        client_id: c.client.client_id.to_string(),
        secret: c.secret.as_ref().expect("secret").expose().to_owned(),
        method: ClientAuthMethod::Post,
    }
}

fn cc_request(scope: Option<&str>, audience: Option<&str>) -> TokenRequest {
    TokenRequest {
        grant_type: Some("client_credentials".into()),
        scope: scope.map(str::to_owned),
        audience: audience.map(str::to_owned),
        ..TokenRequest::default()
    }
}

#[tokio::test]
async fn client_credentials_issues_a_verifiable_recorded_token() {
    let (ctx, _db) = context().await;
    let acme = brand(&ctx, "acme", BrandSettings::default()).await;
    let c = client(&ctx, &acme, &["https://api.acme"]).await;
    let response = exchange(&ctx, &acme, Some(&creds(&c)), &cc_request(None, None)).await.unwrap();
    assert_eq!(response.scope, "read", "defaults when no scope is requested");
    assert_eq!(response.expires_in, 900);

    let key = ctx.store.active_key(&acme).await.unwrap().unwrap();
    let jwk: Jwk = serde_json::from_str(&key.public_jwk).unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["https://api.acme"]);
    validation.set_issuer(&["https://id.example.com/brands/acme"]);
    validation.validate_exp = false;
    let claims =
        decode::<AccessTokenClaims>(&response.access_token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
            .unwrap()
            .claims;
    assert_eq!(claims.sub, c.client.client_id.as_str());
    assert_eq!(claims.brand, "acme");
    assert_eq!(claims.exp, NOW + 900);

    let records = tokens(&ctx, &acme).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].jti.as_str(), claims.jti);
}

#[tokio::test]
async fn every_algorithm_signs() {
    for alg in SigningAlgorithm::ALL {
        let (ctx, _db) = context().await;
        let settings = BrandSettings { signing_algorithm: alg, ..BrandSettings::default() };
        let b = brand(&ctx, "algo", settings).await;
        let c = client(&ctx, &b, &[]).await;
        let response = exchange(&ctx, &b, Some(&creds(&c)), &cc_request(Some("write"), None)).await.unwrap();
        let header = jsonwebtoken::decode_header(&response.access_token).unwrap();
        assert_eq!(header.alg, portcullis_credentials::signing::jws_algorithm(alg));
    }
}

#[tokio::test]
async fn errors_have_the_right_codes() {
    let (ctx, _db) = context().await;
    let acme = brand(&ctx, "acme", BrandSettings { require_audience: true, ..BrandSettings::default() }).await;
    let c = client(&ctx, &acme, &["https://api.acme"]).await;
    let code = |r: Result<_, GrantError>| r.map(|_: crate::TokenResponse| ()).unwrap_err().code();

    let mut wrong = creds(&c);
    wrong.secret.push('x');
    assert_eq!(
        code(exchange(&ctx, &acme, Some(&wrong), &cc_request(None, Some("https://api.acme"))).await),
        OAuthErrorCode::InvalidClient
    );
    assert_eq!(
        code(exchange(&ctx, &acme, None, &cc_request(None, Some("https://api.acme"))).await),
        OAuthErrorCode::InvalidClient
    );
    let missing = TokenRequest::default();
    assert_eq!(code(exchange(&ctx, &acme, Some(&creds(&c)), &missing).await), OAuthErrorCode::InvalidRequest);
    let mut password = cc_request(None, Some("https://api.acme"));
    password.grant_type = Some("urn:unknown".into());
    assert_eq!(code(exchange(&ctx, &acme, Some(&creds(&c)), &password).await), OAuthErrorCode::UnsupportedGrantType);
    assert_eq!(
        code(exchange(&ctx, &acme, Some(&creds(&c)), &cc_request(None, None)).await),
        OAuthErrorCode::InvalidRequest
    );
    assert_eq!(
        code(exchange(&ctx, &acme, Some(&creds(&c)), &cc_request(None, Some("https://other"))).await),
        OAuthErrorCode::InvalidTarget
    );
    assert_eq!(
        code(exchange(&ctx, &acme, Some(&creds(&c)), &cc_request(Some("admin"), Some("https://api.acme"))).await),
        OAuthErrorCode::InvalidScope
    );
    let mut bad_resource = cc_request(None, None);
    bad_resource.resource = vec!["not a uri".into()];
    assert_eq!(code(exchange(&ctx, &acme, Some(&creds(&c)), &bad_resource).await), OAuthErrorCode::InvalidTarget);

    let failures = events(&ctx, &acme).await.iter().filter(|e| e.action == "auth.failed").count();
    assert_eq!(failures, 1, "a failed authentication is audited; a request without credentials is not an attempt");
    assert!(
        events(&ctx, &acme)
            .await
            .iter()
            .all(|e| !format!("{e:?}").contains(c.secret.as_ref().expect("secret").expose()))
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_then_forgiven() {
    let (ctx, _db) = context().await;
    let acme = brand(&ctx, "acme", BrandSettings::default()).await;
    let c = client(&ctx, &acme, &[]).await;
    let mut wrong = creds(&c);
    wrong.secret = "guess".into();
    let mut request = cc_request(None, None);
    request.source = Some("192.0.2.7".into());
    for _ in 0..crate::throttle::PER_CLIENT_AND_SOURCE {
        let err = exchange(&ctx, &acme, Some(&wrong), &request).await.unwrap_err();
        assert_eq!(err.code(), OAuthErrorCode::InvalidClient);
    }
    let err = exchange(&ctx, &acme, Some(&creds(&c)), &request).await.unwrap_err();
    assert!(matches!(err, GrantError::Throttled { retry_after: 2 }), "even the right secret waits: {err:?}");
    let mut elsewhere = request.clone();
    elsewhere.source = Some("198.51.100.1".into());
    assert!(
        exchange(&ctx, &acme, Some(&creds(&c)), &elsewhere).await.is_ok(),
        "the holder elsewhere is not locked out"
    );
}

#[tokio::test]
async fn a_client_of_one_brand_is_unknown_at_another() {
    let (ctx, _db) = context().await;
    let acme = brand(&ctx, "acme", BrandSettings::default()).await;
    let globex = brand(&ctx, "globex", BrandSettings::default()).await;
    let c = client(&ctx, &acme, &[]).await;
    let err = exchange(&ctx, &globex, Some(&creds(&c)), &cc_request(None, None)).await.unwrap_err();
    assert_eq!(err.code(), OAuthErrorCode::InvalidClient);
    assert!(tokens(&ctx, &globex).await.is_empty());
}

#[tokio::test]
async fn bootstrap_refuses_a_second_admin_unless_forced() {
    let (ctx, _db) = context().await;
    let actor = Actor::new("test");
    let first = bootstrap(&ctx.store, &ctx.keys, false, &actor, NOW).await.unwrap();
    assert!(first.client.profile.scopes.to_string().contains("platform:admin"));
    assert!(matches!(
        bootstrap(&ctx.store, &ctx.keys, false, &actor, NOW).await,
        Err(crate::provision::ProvisionError::AdminExists)
    ));
    let second = bootstrap(&ctx.store, &ctx.keys, true, &actor, NOW).await.unwrap();
    assert_ne!(first.client.client_id, second.client.client_id);
}

#[tokio::test]
async fn provisioning_validates_input() {
    let (ctx, _db) = context().await;
    let acme = brand(&ctx, "acme", BrandSettings::default()).await;
    let actor = Actor::new("test");
    let bad_default = ClientProfile {
        name: "x".into(),
        grant_types: vec![GrantType::ClientCredentials],
        scopes: scopes("read"),
        default_scopes: scopes("write"),
        ..ClientProfile::default()
    };
    assert!(create_client(&ctx.store, &acme, bad_default, &actor, NOW).await.is_err());
    let no_grants = ClientProfile { name: "x".into(), ..ClientProfile::default() };
    assert!(create_client(&ctx.store, &acme, no_grants, &actor, NOW).await.is_err());
    let dup = create_brand(
        &ctx.store,
        &ctx.keys,
        BrandKey::parse("acme").unwrap(),
        "again".into(),
        BrandSettings::default(),
        &actor,
        NOW,
    )
    .await;
    assert!(matches!(dup, Err(crate::provision::ProvisionError::Conflict(_))));
}

#[tokio::test]
async fn principals_are_created_with_argon2id_hashes_per_brand_and_kind() {
    use crate::provision::{PrincipalSpec, create_principal};
    use portcullis_tenancy::{PrincipalKind, PrincipalStore};
    let (ctx, _db) = context().await;
    let acme = brand(&ctx, "acme", BrandSettings::default()).await;
    let globex = brand(&ctx, "globex", BrandSettings::default()).await;
    let actor = Actor::new("test");
    let spec = |kind, password: &str| PrincipalSpec {
        kind,
        username: "alice".into(),
        password: password.into(),
        permissions: scopes("read"),
        email: None,
        name: None,
    };
    let user =
        create_principal(&ctx.store, &acme, spec(PrincipalKind::User, "correct horse"), &actor, NOW).await.unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"));
    assert!(portcullis_credentials::password::verify_password("correct horse", &user.password_hash));
    assert!(!format!("{:?}", spec(PrincipalKind::User, "correct horse")).contains("correct horse"));

    let again = create_principal(&ctx.store, &acme, spec(PrincipalKind::User, "another pw"), &actor, NOW).await;
    assert!(
        matches!(again, Err(crate::provision::ProvisionError::Conflict(_))),
        "usernames are unique per brand and kind"
    );
    create_principal(&ctx.store, &acme, spec(PrincipalKind::Operator, "correct horse"), &actor, NOW).await.unwrap();
    create_principal(&ctx.store, &globex, spec(PrincipalKind::User, "correct horse"), &actor, NOW).await.unwrap();
    let short = create_principal(
        &ctx.store,
        &acme,
        PrincipalSpec { username: "bob".into(), ..spec(PrincipalKind::User, "short") },
        &actor,
        NOW,
    )
    .await;
    assert!(matches!(short, Err(crate::provision::ProvisionError::Invalid(_))));

    let found = ctx.store.find_principal(&acme, PrincipalKind::User, "alice").await.unwrap().unwrap();
    assert_eq!(found.id, user.id);
    let elsewhere = ctx.store.find_principal(&globex, PrincipalKind::User, "alice").await.unwrap().unwrap();
    assert_ne!(elsewhere.id, user.id, "brand B's alice is another person");
    assert!(events(&ctx, &acme).await.iter().any(|e| e.action == "user.created"));
}

mod audit_floods;
mod lifecycle;
mod refresh_machine;
mod usernames;

mod password_and_refresh {
    use portcullis_tenancy::{PrincipalKind, RefreshStore};

    use super::*;
    use crate::provision::{PrincipalSpec, create_principal};

    pub(super) async fn setup() -> (GrantContext<SeaStore>, BrandScope, CreatedClient, TestDatabase) {
        let (ctx, db) = context().await;
        let acme = brand(&ctx, "acme", BrandSettings::default()).await;
        let profile = ClientProfile {
            name: "app".into(),
            grant_types: vec![GrantType::Password, GrantType::OperatorPassword, GrantType::RefreshToken],
            scopes: scopes("read write admin"),
            default_scopes: scopes("read"),
            ..ClientProfile::default()
        };
        let c = create_client(&ctx.store, &acme, profile, &Actor::new("test"), NOW).await.unwrap();
        for (kind, name, perms) in
            [(PrincipalKind::User, "alice", "read write"), (PrincipalKind::Operator, "olga", "read admin")]
        {
            let spec = PrincipalSpec {
                kind,
                username: name.into(),
                password: "correct horse".into(),
                permissions: scopes(perms),
                email: None,
                name: None,
            };
            create_principal(&ctx.store, &acme, spec, &Actor::new("test"), NOW).await.unwrap();
        }
        (ctx, acme, c, db)
    }

    pub(super) fn login(grant: &str, username: &str, password: &str, scope: Option<&str>) -> TokenRequest {
        TokenRequest {
            grant_type: Some(grant.into()),
            username: Some(username.into()),
            password: Some(password.into()),
            scope: scope.map(str::to_owned),
            ..TokenRequest::default()
        }
    }

    pub(super) fn refresh(token: &str) -> TokenRequest {
        TokenRequest {
            grant_type: Some("refresh_token".into()),
            refresh_token: Some(token.into()),
            ..TokenRequest::default()
        }
    }

    pub(super) fn claims(token: &str) -> AccessTokenClaims {
        let payload = token.split('.').nth(1).unwrap();
        use base64::Engine;
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn each_password_grant_accepts_only_its_own_kind() {
        let (ctx, acme, c, _db) = setup().await;
        let user = exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", Some("write")))
            .await
            .unwrap();
        assert!(user.refresh_token.as_deref().is_some_and(|r| r.starts_with("pcr_")));
        let user_claims = claims(&user.access_token);
        assert_eq!((user_claims.act_type, user_claims.scope.as_str()), (portcullis_core::ActType::User, "write"));
        assert_ne!(user_claims.sub, c.client.client_id.as_str(), "sub is the user");

        let operator = exchange(
            &ctx,
            &acme,
            Some(&creds(&c)),
            &login("operator_password", "olga", "correct horse", Some("admin")),
        )
        .await
        .unwrap();
        assert_eq!(claims(&operator.access_token).act_type, portcullis_core::ActType::Operator);

        for (grant, name) in [("operator_password", "alice"), ("password", "olga")] {
            let err =
                exchange(&ctx, &acme, Some(&creds(&c)), &login(grant, name, "correct horse", None)).await.unwrap_err();
            assert_eq!(err.code(), OAuthErrorCode::InvalidGrant, "{grant} {name}");
        }
        let wrong = exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "wrong horse", None))
            .await
            .unwrap_err();
        let unknown = exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "nobody", "wrong horse", None))
            .await
            .unwrap_err();
        assert_eq!(wrong.description(), unknown.description(), "no user enumeration");
        let beyond =
            exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", Some("admin")))
                .await
                .unwrap_err();
        assert_eq!(beyond.code(), OAuthErrorCode::InvalidScope, "capped by the user's permissions");
        let missing = TokenRequest { password: None, ..login("password", "alice", "x", None) };
        assert_eq!(
            exchange(&ctx, &acme, Some(&creds(&c)), &missing).await.unwrap_err().code(),
            OAuthErrorCode::InvalidRequest
        );
        assert!(events(&ctx, &acme).await.iter().any(|e| e.action == "login.failed"));
        assert!(!format!("{:?}", login("password", "alice", "correct horse", None)).contains("correct horse"));
    }

    #[tokio::test]
    async fn refresh_rotates_and_reuse_revokes_the_family() {
        let (ctx, acme, c, _db) = setup().await;
        let first =
            exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", Some("read write")))
                .await
                .unwrap();
        let r1 = first.refresh_token.unwrap();
        let second = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r1)).await.unwrap();
        let r2 = second.refresh_token.clone().unwrap();
        assert_ne!(r1, r2, "rotation");
        assert_eq!(second.scope, "read write");
        let narrowed = TokenRequest { scope: Some("read".into()), ..refresh(&r2) };
        let third = exchange(&ctx, &acme, Some(&creds(&c)), &narrowed).await.unwrap();
        assert_eq!(third.scope, "read");
        let r3 = third.refresh_token.unwrap();
        let widened = TokenRequest { scope: Some("admin".into()), ..refresh(&r3) };
        assert_eq!(
            exchange(&ctx, &acme, Some(&creds(&c)), &widened).await.unwrap_err().code(),
            OAuthErrorCode::InvalidScope
        );

        // r1 was rotated long ago: presenting it again revokes everything from that login.
        let reuse = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r1)).await.unwrap_err();
        assert_eq!(reuse.code(), OAuthErrorCode::InvalidGrant);
        assert_eq!(
            exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r3)).await.unwrap_err().code(),
            OAuthErrorCode::InvalidGrant
        );
        let tokens = tokens(&ctx, &acme).await;
        assert_eq!(tokens.len(), 3);
        assert!(
            tokens.iter().all(|t| t.status == portcullis_tenancy::TokenStatus::Revoked),
            "access records revoked too"
        );
        let stored = ctx
            .store
            .find_refresh(&acme, portcullis_credentials::secret::hash_secret(&r3).as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, portcullis_tenancy::RefreshStatus::Revoked);
        assert!(events(&ctx, &acme).await.iter().any(|e| e.action == "refresh.reused"));
    }

    #[tokio::test]
    async fn refresh_tokens_are_bound_to_client_and_brand() {
        let (ctx, acme, c, _db) = setup().await;
        let other = create_client(
            &ctx.store,
            &acme,
            ClientProfile {
                name: "other".into(),
                grant_types: vec![GrantType::RefreshToken],
                ..ClientProfile::default()
            },
            &Actor::new("test"),
            NOW,
        )
        .await
        .unwrap();
        let r = exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None))
            .await
            .unwrap()
            .refresh_token
            .unwrap();
        assert_eq!(
            exchange(&ctx, &acme, Some(&creds(&other)), &refresh(&r)).await.unwrap_err().code(),
            OAuthErrorCode::InvalidGrant
        );
        let globex = brand(&ctx, "globex", BrandSettings::default()).await;
        let g = create_client(
            &ctx.store,
            &globex,
            ClientProfile {
                name: "g".into(),
                grant_types: vec![GrantType::RefreshToken, GrantType::Password],
                ..ClientProfile::default()
            },
            &Actor::new("test"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(
            exchange(&ctx, &globex, Some(&creds(&g)), &refresh(&r)).await.unwrap_err().code(),
            OAuthErrorCode::InvalidGrant
        );
        let alice_at_globex =
            exchange(&ctx, &globex, Some(&creds(&g)), &login("password", "alice", "correct horse", None))
                .await
                .unwrap_err();
        assert_eq!(alice_at_globex.code(), OAuthErrorCode::InvalidGrant, "a user of brand A is unknown at brand B");
        assert!(exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r)).await.is_ok(), "still good for its own client");
    }

    #[tokio::test]
    async fn a_grace_period_tolerates_one_concurrent_retry() {
        let (mut ctx, acme, c, _db) = setup().await;
        ctx.defaults.refresh_reuse_grace = 5;
        let r1 = exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None))
            .await
            .unwrap()
            .refresh_token
            .unwrap();
        let r2 = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r1)).await.unwrap().refresh_token.unwrap();
        let retry = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r1)).await.unwrap();
        assert_ne!(retry.refresh_token.as_deref(), Some(r2.as_str()));
        let r3 = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r2)).await.unwrap().refresh_token.unwrap();

        // SECURITY.md F9: one retry, not any number: the next replay within the grace is reuse
        // and ends the login, the tokens from the tolerated retry included.
        let replay = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r1)).await.unwrap_err();
        assert_eq!(replay.code(), OAuthErrorCode::InvalidGrant);
        let retried = retry.refresh_token.unwrap();
        for dead in [&r3, &retried] {
            let refused = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(dead)).await.unwrap_err();
            assert_eq!(refused.code(), OAuthErrorCode::InvalidGrant, "the family was revoked");
        }
        let stored = ctx
            .store
            .find_refresh(&acme, portcullis_credentials::secret::hash_secret(&r1).as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, portcullis_tenancy::RefreshStatus::Revoked);
    }

    #[tokio::test]
    async fn refresh_errors() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicI64, Ordering};
        let (mut ctx, acme, c, _db) = setup().await;
        let now = Arc::new(AtomicI64::new(NOW));
        let clock = Arc::clone(&now);
        ctx.clock = Clock::from_fn(move || clock.load(Ordering::SeqCst));
        let code = |r: Result<crate::TokenResponse, GrantError>| r.unwrap_err().code();

        let missing = TokenRequest { refresh_token: None, ..refresh("") };
        assert_eq!(code(exchange(&ctx, &acme, Some(&creds(&c)), &missing).await), OAuthErrorCode::InvalidRequest);
        assert_eq!(
            code(exchange(&ctx, &acme, Some(&creds(&c)), &refresh("pcr_unknown")).await),
            OAuthErrorCode::InvalidGrant
        );

        let r = exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None))
            .await
            .unwrap()
            .refresh_token
            .unwrap();
        now.store(NOW + 86_400, Ordering::SeqCst);
        assert_eq!(
            code(exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r)).await),
            OAuthErrorCode::InvalidGrant,
            "expired"
        );
        assert!(events(&ctx, &acme).await.iter().all(|e| e.action != "refresh.reused"), "expiry is not reuse");
    }

    /// RFC 9700 §4.14 / SECURITY.md F2: a refresh token is not a snapshot of yesterday's
    /// policy. What an administrator withdrew since the login (a permission of the user, a scope
    /// or an audience of the client) is not in the next token.
    #[tokio::test]
    async fn refresh_applies_the_policy_of_today() {
        let (ctx, acme, c, _db) = setup().await;
        let first =
            exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", Some("read write")))
                .await
                .unwrap();
        let alice = claims(&first.access_token).sub;
        let actor = Actor::new("test");

        let change = crate::provision::PrincipalChange { permissions: Some(scopes("read")), ..Default::default() };
        crate::provision::update_principal(&ctx, &acme, &alice, change, &actor).await.unwrap();
        let second = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&first.refresh_token.unwrap())).await.unwrap();
        assert_eq!(second.scope, "read", "the withdrawn permission is not renewed");
        let r2 = second.refresh_token.unwrap();
        let asked = TokenRequest { scope: Some("write".into()), ..refresh(&r2) };
        assert_eq!(
            exchange(&ctx, &acme, Some(&creds(&c)), &asked).await.unwrap_err().code(),
            OAuthErrorCode::InvalidScope,
            "nor can it be asked for"
        );

        let mut profile = c.client.profile.clone();
        profile.scopes = scopes("read");
        crate::provision::update_client(&ctx.store, &acme, &c.client.client_id, profile.clone(), &actor, NOW)
            .await
            .unwrap();
        let third = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r2)).await.unwrap();
        assert_eq!(third.scope, "read");
        assert_eq!(claims(&third.access_token).aud, portcullis_core::Audience::One(c.client.client_id.to_string()));

        profile.audiences = vec!["https://api.acme.example".into()];
        crate::provision::update_client(&ctx.store, &acme, &c.client.client_id, profile, &actor, NOW).await.unwrap();
        let moved = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&third.refresh_token.unwrap())).await;
        assert_eq!(
            moved.unwrap_err().code(),
            OAuthErrorCode::InvalidGrant,
            "a token for an audience the client no longer has is not renewed"
        );
    }

    /// SECURITY.md F4: a login granted an admin scope gets tokens for the management API alone,
    /// and its refreshes keep them there.
    #[tokio::test]
    async fn admin_logins_are_addressed_to_the_management_api_alone() {
        use portcullis_core::{ADMIN_AUDIENCE, Audience};

        let (ctx, acme, c, _db) = setup().await;
        let actor = Actor::new("test");
        let mut profile = c.client.profile.clone();
        profile.scopes = scopes("read write brand:admin");
        profile.audiences = vec!["https://api.acme.example".into()];
        crate::provision::update_client(&ctx.store, &acme, &c.client.client_id, profile, &actor, NOW).await.unwrap();
        let plain =
            exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None)).await.unwrap();
        let alice = claims(&plain.access_token).sub;
        assert_eq!(claims(&plain.access_token).aud, Audience::One("https://api.acme.example".into()));

        let change =
            crate::provision::PrincipalChange { permissions: Some(scopes("read brand:admin")), ..Default::default() };
        crate::provision::update_principal(&ctx, &acme, &alice, change, &actor).await.unwrap();
        let admin = exchange(
            &ctx,
            &acme,
            Some(&creds(&c)),
            &login("password", "alice", "correct horse", Some("read brand:admin")),
        )
        .await
        .unwrap();
        assert_eq!(claims(&admin.access_token).aud, Audience::One(ADMIN_AUDIENCE.into()));
        let renewed = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&admin.refresh_token.unwrap())).await.unwrap();
        assert_eq!(
            (renewed.scope.as_str(), claims(&renewed.access_token).aud),
            ("read brand:admin", Audience::One(ADMIN_AUDIENCE.into()))
        );
        // Narrowed to a resource server's scope, the login still can't address a resource server.
        let narrowed = TokenRequest { scope: Some("read".into()), ..refresh(&renewed.refresh_token.unwrap()) };
        assert_eq!(
            exchange(&ctx, &acme, Some(&creds(&c)), &narrowed).await.unwrap_err().code(),
            OAuthErrorCode::InvalidGrant
        );
        let elsewhere = TokenRequest {
            audience: Some("https://api.acme.example".into()),
            ..login("password", "alice", "correct horse", Some("brand:admin"))
        };
        assert_eq!(
            exchange(&ctx, &acme, Some(&creds(&c)), &elsewhere).await.unwrap_err().code(),
            OAuthErrorCode::InvalidTarget
        );
    }

    /// SECURITY.md F3: a new password ends every login made with the old one (refresh tokens,
    /// access tokens, browser sessions); other users keep theirs.
    #[tokio::test]
    async fn a_new_password_ends_the_logins_of_the_old_one() {
        use portcullis_tenancy::{LoginSession, LoginStore};

        let (ctx, acme, c, _db) = setup().await;
        let first =
            exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None)).await.unwrap();
        let other = exchange(&ctx, &acme, Some(&creds(&c)), &login("operator_password", "olga", "correct horse", None))
            .await
            .unwrap();
        let alice = claims(&first.access_token).sub;
        let olga = claims(&other.access_token).sub;
        for (hash, subject) in [("alice-session", &alice), ("olga-session", &olga)] {
            let session = LoginSession {
                session_hash: hash.into(),
                subject: subject.clone(),
                auth_time: NOW,
                sid: format!("sid-{hash}"),
                expires_at: NOW + 3600,
            };
            ctx.store.create_session(&acme, session).await.unwrap();
        }

        let change =
            crate::provision::PrincipalChange { password: Some("battery staple".into()), ..Default::default() };
        crate::provision::update_principal(&ctx, &acme, &alice, change, &Actor::new("test")).await.unwrap();

        let refreshed = exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&first.refresh_token.unwrap())).await;
        assert_eq!(refreshed.unwrap_err().code(), OAuthErrorCode::InvalidGrant);
        let answer = crate::introspect::introspect(&ctx, &acme, &first.access_token, None).await.unwrap();
        assert!(!answer.active, "the access token of the old login is revoked");
        assert!(ctx.store.find_session(&acme, "alice-session").await.unwrap().is_none(), "the session ended");
        assert!(ctx.store.find_session(&acme, "olga-session").await.unwrap().is_some(), "olga's did not");
        assert!(crate::introspect::introspect(&ctx, &acme, &other.access_token, None).await.unwrap().active);

        let old = exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None)).await;
        assert_eq!(old.unwrap_err().code(), OAuthErrorCode::InvalidGrant);
        let new = exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "battery staple", None)).await;
        assert!(new.is_ok(), "a login with the new password works");
    }

    /// SECURITY.md F12: a username no principal can have is refused like a wrong password,
    /// without leaving a failure counter or an audit event behind.
    #[tokio::test]
    async fn overlong_usernames_leave_nothing_behind() {
        let (ctx, acme, c, _db) = setup().await;
        let long = "a".repeat(crate::provision::MAX_USERNAME + 1);
        let answer = exchange(&ctx, &acme, Some(&creds(&c)), &login("password", &long, "guess", None)).await;
        assert_eq!(answer.unwrap_err().code(), OAuthErrorCode::InvalidGrant);
        assert!(!events(&ctx, &acme).await.iter().any(|e| e.action == "login.failed"));
        assert_eq!(portcullis_tenancy::MaintenanceStore::prune(&ctx.store, i64::MAX, 100).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_disabled_user_cannot_refresh() {
        let (ctx, acme, c, _db) = setup().await;
        let first =
            exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None)).await.unwrap();
        let r = first.refresh_token.unwrap();
        let alice = claims(&first.access_token).sub;
        crate::lifecycle::set_principal_enabled(&ctx, &acme, &alice, false, &Actor::new("test")).await.unwrap();
        assert_eq!(
            exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r)).await.unwrap_err().code(),
            OAuthErrorCode::InvalidGrant
        );
        // Disabling revoked the login for good: enabling again does not bring it back.
        crate::lifecycle::set_principal_enabled(&ctx, &acme, &alice, true, &Actor::new("test")).await.unwrap();
        assert_eq!(
            exchange(&ctx, &acme, Some(&creds(&c)), &refresh(&r)).await.unwrap_err().code(),
            OAuthErrorCode::InvalidGrant
        );
        assert!(
            exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None)).await.is_ok(),
            "a fresh login works again"
        );
    }

    #[tokio::test]
    async fn one_address_spraying_passwords_is_held_back() {
        let (ctx, acme, c, _db) = setup().await;
        for i in 0..crate::throttle::PER_SOURCE {
            let mut req = login("password", &format!("user{i}"), "guess", None);
            req.source = Some("203.0.113.5".into());
            assert_eq!(
                exchange(&ctx, &acme, Some(&creds(&c)), &req).await.unwrap_err().code(),
                OAuthErrorCode::InvalidGrant
            );
        }
        let mut req = login("password", "alice", "correct horse", None);
        req.source = Some("203.0.113.5".into());
        assert!(matches!(exchange(&ctx, &acme, Some(&creds(&c)), &req).await, Err(GrantError::Throttled { .. })));
        req.source = Some("198.51.100.7".into());
        assert!(exchange(&ctx, &acme, Some(&creds(&c)), &req).await.is_ok(), "alice elsewhere gets in");
    }

    /// Guessing an operator's password locks out that operator only, not a user of the same name.
    #[tokio::test]
    async fn users_and_operators_have_lock_outs_of_their_own() {
        let (ctx, acme, c, _db) = setup().await;
        for _ in 0..=crate::login::LOGIN_LOCKOUT.limit {
            let guess = login("operator_password", "alice", "guess", None);
            assert!(exchange(&ctx, &acme, Some(&creds(&c)), &guess).await.is_err());
        }
        let user = exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None)).await;
        assert!(user.is_ok(), "{user:?}");
    }

    #[tokio::test]
    async fn password_guessing_is_throttled_per_username() {
        let (ctx, acme, c, _db) = setup().await;
        for _ in 0..crate::login::LOGIN_LOCKOUT.limit {
            let err =
                exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "guess", None)).await.unwrap_err();
            assert_eq!(err.code(), OAuthErrorCode::InvalidGrant);
        }
        let held = exchange(&ctx, &acme, Some(&creds(&c)), &login("password", "alice", "correct horse", None))
            .await
            .unwrap_err();
        assert!(matches!(held, GrantError::Throttled { .. }), "{held:?}");
        assert!(events(&ctx, &acme).await.iter().any(|e| e.action == "login.throttled"));
    }
}
