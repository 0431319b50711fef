//! Redirect and post-logout redirect URIs stored before the registration rules refused them
//! (written here straight through the store): the authorization and logout endpoints answer
//! with an error page and never redirect to them, nor fail with a 500.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::{brand_with_client, context, get, router, send};
use http::{StatusCode, header};
use portcullis_core::{BrandKey, GrantType, ScopeSet};
use portcullis_credentials::master::MasterKey;
use portcullis_grants::keyring::KeyRing;
use portcullis_grants::provision::{Actor, create_client};
use portcullis_store::testing;
use portcullis_tenancy::{ClientProfile, ClientStore, resolve_brand};

const GOOD: &str = "https://app.example/cb";

/// Stored URIs that the registration rules now refuse.
const BAD: [&str; 5] = [
    "https://app.example/cb\r\nSet-Cookie: x=1",
    "https://evil.example\\@app.example/cb",
    "https:/evil.example",
    "https://evil.example/../cb",
    "https://app.example/cb%0d%0aSet-Cookie:%20x=1",
];

/// A valid PKCE S256 challenge.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn query(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    serializer.extend_pairs(pairs);
    serializer.finish()
}

#[tokio::test]
async fn stored_bad_redirect_uris_get_an_error_page_never_a_redirect_or_a_500() {
    for db in testing::all().await {
        let ctx = context(db.store().await, KeyRing::new(MasterKey::generate().unwrap().0));
        brand_with_client(&ctx, "acme").await;
        let scope = resolve_brand(&ctx.store, &BrandKey::parse("acme").unwrap()).await.unwrap().unwrap();
        let mut profile = ClientProfile {
            name: "spa".into(),
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: ScopeSet::parse_delimited("openid").unwrap(),
            redirect_uris: vec![GOOD.into()],
            post_logout_redirect_uris: vec![GOOD.into()],
            public: true,
            ..ClientProfile::default()
        };
        let created = create_client(&ctx.store, &scope, profile.clone(), &Actor::new("test"), 0).await.unwrap();
        let client_id = created.client.client_id.clone();
        // Rows written before the rules applied: straight through the store, unchecked.
        profile.redirect_uris.extend(BAD.map(str::to_owned));
        profile.post_logout_redirect_uris.extend(BAD.map(str::to_owned));
        assert!(ctx.store.update_client(&scope, &client_id, profile, 1).await.unwrap());
        let router = router(ctx);

        let authorize = |redirect_uri: &str| {
            let pairs = [
                ("client_id", client_id.as_str()),
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
                ("prompt", "none"),
                ("state", "s1"),
            ];
            get(&format!("/brands/acme/oauth/authorize?{}", query(&pairs)))
        };
        let logout = |redirect_uri: &str| {
            let pairs = [("client_id", client_id.as_str()), ("post_logout_redirect_uri", redirect_uri)];
            get(&format!("/brands/acme/logout?{}", query(&pairs)))
        };

        // The registered, valid URI still works: the flows redirect to it.
        let (status, headers, _) = send(&router, authorize(GOOD)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let location = headers[header::LOCATION].to_str().unwrap();
        assert!(location.starts_with(&format!("{GOOD}?error=login_required")), "{location}");
        let (status, headers, _) = send(&router, logout(GOOD)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], GOOD);

        for bad in BAD {
            for (endpoint, request) in [("authorize", authorize(bad)), ("logout", logout(bad))] {
                let (status, headers, _) = send(&router, request).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{endpoint} {bad:?}");
                assert!(headers.get(header::LOCATION).is_none(), "{endpoint} {bad:?}: never redirected");
                assert!(headers.get(header::SET_COOKIE).is_none(), "{endpoint} {bad:?}");
                assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8", "{endpoint} {bad:?}");
            }
        }
    }
}
