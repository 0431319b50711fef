//! Helpers shared by the management-API tests.
#![allow(dead_code, unreachable_pub, reason = "each test crate uses a different subset")]

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use portcullis_admin::{AdminState, router};
use portcullis_credentials::master::MasterKey;
use portcullis_grants::keyring::KeyRing;
use portcullis_grants::provision::{Actor, bootstrap};
use portcullis_grants::{ClientAuthMethod, ClientCredentials, Clock, GrantContext, TokenDefaults, TokenRequest};
use portcullis_store::SeaStore;
use portcullis_store::testing::{self, TestDatabase};
use portcullis_tenancy::resolve_brand;
use serde_json::{Value, json};
use tower::ServiceExt;

pub struct Api {
    pub _db: TestDatabase,
    pub grants: GrantContext<SeaStore>,
    pub router: Router,
    /// A platform administrator's access token.
    pub admin: String,
}

pub async fn apis() -> Vec<Api> {
    let mut out = Vec::new();
    for db in testing::all().await {
        let grants = GrantContext {
            store: db.store().await,
            keys: KeyRing::new(MasterKey::generate().unwrap().0),
            defaults: TokenDefaults { access_ttl: 900, refresh_ttl: 3600, refresh_reuse_grace: 0, session_ttl: 3600 },
            public_url: "https://id.example.com".into(),
            clock: Clock::system(),
            throttle: portcullis_grants::throttle::Throttle::new(),
            feed: portcullis_grants::feed::RevocationSignal::new(),
            failure_audit: portcullis_grants::failure_audit::FailureAudit::default(),
        };
        let created = bootstrap(&grants.store, &grants.keys, false, &Actor::new("test"), 0).await.unwrap();
        let admin = token(
            &grants,
            "system",
            created.client.client_id.as_str(),
            created.secret.as_ref().expect("a confidential client has a secret").expose(),
            None,
        )
        .await;
        // Requests appear to come from 10.0.0.7, as the audit log should record.
        let peer = std::net::SocketAddr::from(([10, 0, 0, 7], 40_000));
        let router = router(AdminState::new(grants.clone(), 64 * 1024))
            .layer(axum::extract::connect_info::MockConnectInfo(peer));
        out.push(Api { _db: db, grants, router, admin });
    }
    out
}

/// A client_credentials access token.
pub async fn token(
    grants: &GrantContext<SeaStore>,
    brand: &str,
    id: &str,
    secret: &str,
    scope: Option<&str>,
) -> String {
    let key = portcullis_core::BrandKey::parse(brand).unwrap();
    let scope_of_brand = resolve_brand(&grants.store, &key).await.unwrap().unwrap();
    let credentials = ClientCredentials { client_id: id.into(), secret: secret.into(), method: ClientAuthMethod::Post };
    let request = TokenRequest {
        grant_type: Some("client_credentials".into()),
        scope: scope.map(str::to_owned),
        ..TokenRequest::default()
    };
    portcullis_grants::exchange(grants, &scope_of_brand, Some(&credentials), &request).await.unwrap().access_token
}

pub async fn call(api: &Api, bearer: Option<&str>, query: &str, variables: Value) -> (StatusCode, Value) {
    let mut builder = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = json!({"query": query, "variables": variables}).to_string();
    let response = api.router.clone().oneshot(builder.body(Body::from(body)).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The `extensions.code` of the first error.
pub fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

pub const CREATE_BRAND: &str =
    "mutation($key: String!) { createBrand(input: {key: $key, name: $key}) { brand { key issuer } } }";
pub const CREATE_CLIENT: &str = r#"mutation($b: String!, $scopes: [String!]!) {
  createClient(input: {brandKey: $b, name: "svc", grantTypes: ["client_credentials"], scopes: $scopes,
                       defaultScopes: [], audiences: ["https://api"]}) { client { clientId scopes } clientSecret } }"#;

pub async fn create_brand(api: &Api, key: &str) {
    let (status, body) = call(api, Some(&api.admin), CREATE_BRAND, json!({"key": key})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["createBrand"]["brand"]["key"], key, "{body}");
}

/// Creates a client in `brand` with `scopes`; returns (id, secret).
pub async fn create_client(api: &Api, bearer: &str, brand: &str, scopes: &[&str]) -> (String, String) {
    let (_, body) = call(api, Some(bearer), CREATE_CLIENT, json!({"b": brand, "scopes": scopes})).await;
    let created = &body["data"]["createClient"];
    let id = created["client"]["clientId"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    (id, created["clientSecret"].as_str().unwrap().to_owned())
}
