//! Helpers shared by the router tests: a router over a fresh database with two brands, each
//! with one client_credentials client, and request builders.
#![allow(dead_code, unreachable_pub, reason = "each test crate uses a different subset")]

use axum::Router;
use axum::body::Body;
pub use base64_helpers::basic;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use portcullis_core::{BrandKey, GrantType, ScopeSet};
use portcullis_credentials::master::MasterKey;
use portcullis_grants::keyring::KeyRing;
use portcullis_grants::provision::{Actor, CreatedClient, bootstrap, create_brand, create_client};
use portcullis_grants::{Clock, GrantContext, TokenDefaults};
use portcullis_store::SeaStore;
use portcullis_store::testing::{self, TestDatabase};
use portcullis_tenancy::{BrandScope, BrandSettings, ClientProfile};
use portcullis_token_server::{AppState, CursorCodec, FeedLimits, FeedState, Metrics, Shutdown, public_router};
use serde_json::Value;
use tower::ServiceExt;

pub const PUBLIC_URL: &str = "https://id.example.com";

pub mod base64_helpers {
    /// An HTTP Basic header value.
    pub fn basic(id: &str, secret: &str) -> String {
        use base64::Engine;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
    }
}

pub struct Fixture {
    pub db: TestDatabase,
    pub router: Router,
    pub acme: CreatedClient,
    pub globex: CreatedClient,
}

pub async fn brand_with_client(ctx: &GrantContext<SeaStore>, key: &str) -> CreatedClient {
    let actor = Actor::new("test");
    let brand = create_brand(
        &ctx.store,
        &ctx.keys,
        BrandKey::parse(key).unwrap(),
        key.into(),
        BrandSettings::default(),
        &actor,
        ctx.clock.now(),
    )
    .await
    .unwrap();
    let spec = ClientProfile {
        name: "svc".into(),
        grant_types: vec![GrantType::ClientCredentials],
        scopes: ScopeSet::parse_delimited("read write").unwrap(),
        default_scopes: ScopeSet::parse_delimited("read").unwrap(),
        audiences: vec![format!("https://api.{key}")],
        ..ClientProfile::default()
    };
    create_client(&ctx.store, &BrandScope::new(brand), spec, &actor, ctx.clock.now()).await.unwrap()
}

pub async fn fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    for db in testing::all().await {
        let ctx = context(db.store().await, KeyRing::new(MasterKey::generate().unwrap().0));
        // As `serve` does on first start.
        bootstrap(&ctx.store, &ctx.keys, false, &Actor::new("test"), ctx.clock.now()).await.unwrap();
        let acme = brand_with_client(&ctx, "acme").await;
        let globex = brand_with_client(&ctx, "globex").await;
        let router = router(ctx);
        out.push(Fixture { db, router, acme, globex });
    }
    out
}

/// A grant context over `store` with the signing keys of `keys`.
pub fn context(store: SeaStore, keys: KeyRing) -> GrantContext<SeaStore> {
    GrantContext {
        store,
        keys,
        defaults: TokenDefaults { access_ttl: 900, refresh_ttl: 3600, refresh_reuse_grace: 0, session_ttl: 3600 },
        public_url: PUBLIC_URL.into(),
        clock: Clock::system(),
        throttle: portcullis_grants::throttle::Throttle::new(),
        feed: portcullis_grants::feed::RevocationSignal::new(),
        failure_audit: portcullis_grants::failure_audit::FailureAudit::default(),
    }
}

/// The public router over `ctx`.
pub fn router(ctx: GrantContext<SeaStore>) -> Router {
    public_router(state(ctx))
}

/// The routers' state over `ctx`, with fresh metrics.
pub fn state(ctx: GrantContext<SeaStore>) -> AppState<SeaStore> {
    AppState {
        grants: ctx,
        max_body_bytes: 64 * 1024,
        shutdown: Shutdown::never(),
        metrics: Metrics::new(),
        feed: FeedState::new(FeedLimits::for_listener(4096), CursorCodec::new(&[7; 16]).unwrap()),
    }
}

pub async fn send(router: &Router, request: Request<Body>) -> (StatusCode, http::HeaderMap, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, json)
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

pub fn token_request(uri: &str, auth: Option<String>, body: &str) -> Request<Body> {
    let mut builder = Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(auth) = auth {
        builder = builder.header(header::AUTHORIZATION, auth);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

pub fn auth(c: &CreatedClient) -> Option<String> {
    Some(basic(c.client.client_id.as_str(), c.secret.as_ref().expect("secret").expose()))
}
