//! Helpers shared by the store's integration tests.
#![allow(dead_code, reason = "each test crate uses a different subset")]

use portcullis_core::{ActType, BrandKey, ClientId, GrantType, Jti, KeyId, ScopeSet, SigningAlgorithm};
use portcullis_store::SeaStore;
use portcullis_store::testing::{self, TestDatabase};
use portcullis_tenancy::{
    BrandScope, BrandSettings, BrandStore, ClientProfile, IssuedToken, KeyStatus, NewBrand, NewClient, NewSigningKey,
    TokenStatus,
};

pub fn key(kid: &str) -> NewSigningKey {
    NewSigningKey {
        kid: KeyId::parse(kid).unwrap(),
        algorithm: SigningAlgorithm::EdDSA,
        status: KeyStatus::Active,
        sealed_private_key: vec![1, 2, 3],
        public_jwk: format!("{{\"kid\":\"{kid}\"}}"),
    }
}

pub async fn brand(store: &SeaStore, name: &str) -> BrandScope {
    let settings = BrandSettings {
        require_audience: true,
        access_ttl: Some(60),
        allowed_grants: Some(vec![GrantType::ClientCredentials]),
        scope_catalog: ScopeSet::parse_delimited("b a").unwrap().iter().cloned().collect(),
        branding: portcullis_tenancy::Branding {
            display_name: Some(format!("{name} Inc.")),
            logo_url: Some(format!("https://{name}.example/logo.png")),
            primary_color: Some("#0b6e4f".into()),
        },
        ..BrandSettings::default()
    };
    let new = NewBrand { key: BrandKey::parse(name).unwrap(), name: name.to_uppercase(), settings };
    BrandScope::new(store.create_brand(new, key(&format!("{name}-k1"))).await.unwrap())
}

pub fn client(id: &str) -> NewClient {
    NewClient {
        client_id: ClientId::parse(id).unwrap(),
        profile: ClientProfile {
            name: format!("client {id}"),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: ScopeSet::parse_delimited("read write").unwrap(),
            default_scopes: ScopeSet::parse_delimited("read").unwrap(),
            audiences: vec!["https://api".into()],
            access_ttl: Some(30),
            refresh_ttl: None,
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec!["https://app.example/bye".into()],
            public: false,
        },
        secret_hash: "sha256:abc".into(),
    }
}

pub fn token(jti: &str, client: &str) -> IssuedToken {
    IssuedToken {
        jti: Jti::parse(jti).unwrap(),
        client_id: ClientId::parse(client).unwrap(),
        subject: client.into(),
        act_type: ActType::Client,
        grant_type: GrantType::ClientCredentials,
        scopes: ScopeSet::parse_delimited("read").unwrap(),
        audience: vec!["https://api".into()],
        issued_at: 100,
        expires_at: 1000,
        status: TokenStatus::Active,
        family_id: None,
        attributes: Vec::new(),
    }
}

pub async fn each(test: impl AsyncFn(&TestDatabase, SeaStore)) {
    for db in testing::all().await {
        let store = db.store().await;
        test(&db, store).await;
    }
}
