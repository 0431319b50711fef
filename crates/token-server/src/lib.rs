//! The public listener's axum router: discovery (OIDC and RFC 8414), JWKS, the token endpoint
//! in both URL forms, introspection (RFC 7662), revocation (RFC 7009), the revocation feed,
//! OpenID Connect login (authorization endpoint, login page, userinfo, logout), and health
//! checks.
//!
//! Handlers are thin: they parse HTTP (form bodies, Basic headers, brand in path or query),
//! call `portcullis-grants`, and map results to RFC 6749 responses. Every error a client can
//! cause is a JSON body with `error` and `error_description`, never a 5xx or an HTML page.

mod brand;
mod client_auth;
mod cookies;
mod discovery;
mod error;
pub mod feed_cursor;
mod feed_holds;
mod feed_reads;
mod form;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod health;
mod html;
mod introspect;
mod login;
mod logout;
mod metrics;
mod observe;
mod pages;
mod revocations;
mod revoke;
mod shutdown;
mod state;
mod token;
mod userinfo;

use axum::Router;
use axum::routing::{get, post};
use portcullis_tenancy::Storage;
use std::time::Duration;

use http::StatusCode;
use tower_http::timeout::TimeoutLayer;

pub use error::OAuthError;
pub use feed_cursor::CursorCodec;
pub use feed_holds::FeedLimits;
pub use metrics::Metrics;
pub use observe::REQUEST_ID;
pub use shutdown::{Shutdown, ShutdownTrigger};
pub use state::{AppState, FeedState};

/// How long one request may take, body included, before it is answered 408: a slow client
/// cannot hold a connection and a task forever.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The router of the public listener.
pub fn public_router<S: Storage>(state: AppState<S>) -> Router {
    // What a browser application (a public client) calls from its own origin: metadata, keys,
    // the token endpoint and userinfo. None of them reads cookies, so any origin may call them;
    // the login and logout pages are not among them.
    let cross_origin = Router::new()
        .route("/brands/{brand}/.well-known/openid-configuration", get(discovery::openid_configuration::<S>))
        .route("/.well-known/oauth-authorization-server/brands/{brand}", get(discovery::authorization_server::<S>))
        .route("/brands/{brand}/jwks.json", get(discovery::jwks::<S>))
        .route("/brands/{brand}/oauth/token", post(token::token_at_path::<S>))
        .route("/oauth/token", post(token::token_by_query::<S>))
        .route("/brands/{brand}/userinfo", get(userinfo::handle::<S>).post(userinfo::handle::<S>))
        // Set before the CORS layer, so that the layer answers preflights (OPTIONS) first.
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(cors());
    let router = Router::new()
        .route("/brands/{brand}/oauth/introspect", post(introspect::handle::<S>))
        .route("/brands/{brand}/oauth/revoke", post(revoke::handle::<S>))
        .route("/brands/{brand}/revocations", get(revocations::handle::<S>))
        .route("/brands/{brand}/oauth/authorize", get(login::authorize::<S>).post(login::authorize::<S>))
        .route("/brands/{brand}/login", post(login::login::<S>))
        .route("/brands/{brand}/logout", get(logout::logout::<S>).post(logout::logout::<S>))
        .merge(health::routes::<S>())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .merge(cross_origin)
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .with_state(state.clone());
    let https = state.grants.public_url.starts_with("https://");
    observed(router, &state.metrics, "public", https)
}

/// CORS for the endpoints browser applications call: any origin, no credentials (cookies are
/// never sent), the `Authorization` and `Content-Type` request headers.
fn cors() -> tower_http::cors::CorsLayer {
    use http::{Method, header};
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600))
}

/// `GET /metrics` (Prometheus), unguarded: the caller decides who may read it (on the admin
/// listener, a metrics token or a platform administrator; or a listener of its own).
pub fn metrics_router<S: Storage>(state: AppState<S>) -> Router {
    Router::new().route("/metrics", get(metrics::handle::<S>)).with_state(state)
}

/// The router of the admin listener: health checks and `extra` (the management API, the console,
/// the metrics route behind its guard).
pub fn admin_router<S: Storage>(state: AppState<S>, extra: Router) -> Router {
    // The timeout wraps `extra` too (the GraphQL API, the console): it is layered after the merge.
    let router = health::routes::<S>()
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state.clone())
        .merge(extra)
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT));
    // The admin listener has no public URL of its own (it is often plain HTTP on loopback).
    observed(router, &state.metrics, "admin", false)
}

/// `router` with the request-id, logging, metrics and hygiene-header layer of a listener; `hsts`
/// when it is reached over HTTPS.
fn observed(router: Router, metrics: &Metrics, listener: &'static str, hsts: bool) -> Router {
    let observer = observe::Observer { metrics: metrics.clone(), listener, hsts };
    router.layer(axum::middleware::from_fn_with_state(observer, observe::observe))
}

/// Marks a response as not cacheable (RFC 6749 §5.1): it carries or describes credentials.
pub(crate) fn no_store(mut response: axum::response::Response) -> axum::response::Response {
    use http::HeaderValue;
    use http::header::{CACHE_CONTROL, PRAGMA};
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
