//! The admin console: the back office in the browser, at `/console` on the admin
//! listener.
//!
//! An administrator signs in with an admin client's id and secret; the console exchanges them
//! at the brand's token endpoint logic for a short-lived access token (`platform:admin` of the
//! `system` brand, or `brand:admin`), which becomes the session. Every page and action then runs
//! a GraphQL document against the management API's own schema ([`portcullis_admin::schema`]),
//! in process, as that caller: the console can do nothing the API can't, and the API's
//! capability checks keep a brand administrator inside its brand.
//!
//! * [`session`]: the session cookie, the signed-in [`session::Session`] and the CSRF rules.
//! * [`api`]: running GraphQL documents and turning their errors into pages.
//! * [`page`]: the layout, rendering with the security headers, and value formatting.
//! * [`form`]: reading query strings and form bodies.
//! * [`sign_in`]: signing in and out.
//! * `pages::*`: one module per area (brands, clients, principals, tokens, keys, audit).
//!
//! Pages are server-rendered HTML (askama templates in `templates/`) that work without
//! JavaScript; one small script (`static/console.js`) adds copy buttons and confirmations.

pub mod api;
mod assets;
pub mod form;
pub mod page;
mod pages;
pub mod session;
pub mod sign_in;

use axum::Router;
use axum::routing::{get, post};
use portcullis_admin::schema::{self, AdminSchema};
use portcullis_grants::GrantContext;
use portcullis_store::SeaStore;

/// What the console's handlers share.
#[derive(Clone)]
pub struct ConsoleState {
    grants: GrantContext<SeaStore>,
    schema: AdminSchema,
    max_body_bytes: usize,
}

impl std::fmt::Debug for ConsoleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleState").field("max_body_bytes", &self.max_body_bytes).finish_non_exhaustive()
    }
}

impl ConsoleState {
    /// State over the grant engine, accepting form bodies up to `max_body_bytes`.
    pub fn new(grants: GrantContext<SeaStore>, max_body_bytes: usize) -> Self {
        let schema = schema::build(Some(grants.clone()));
        Self { grants, schema, max_body_bytes }
    }
}

/// The `/console` routes, with their state applied. Unknown paths under `/console` get the
/// console's own 404 page.
pub fn router(state: ConsoleState) -> Router {
    use pages::{audit, brands, clients, keys, principals, tokens};
    Router::new()
        .route("/console", get(pages::home))
        .route("/console/", get(pages::home))
        .route("/console/static/{file}", get(assets::serve))
        .route("/console/sign-in", get(sign_in::page).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/brands", get(brands::list).post(brands::create))
        .route("/console/brands/{brand}", get(brands::show).post(brands::update))
        .route("/console/brands/{brand}/clients", get(clients::list).post(clients::create))
        .route("/console/brands/{brand}/clients/new", get(clients::new_form))
        .route("/console/brands/{brand}/clients/{id}", get(clients::show).post(clients::update))
        .route("/console/brands/{brand}/clients/{id}/{action}", post(clients::act))
        .route("/console/brands/{brand}/tokens", get(tokens::list))
        .route("/console/brands/{brand}/tokens/revoke-all", post(tokens::revoke_all))
        .route("/console/brands/{brand}/tokens/{jti}", get(tokens::show))
        .route("/console/brands/{brand}/tokens/{jti}/{action}", post(tokens::act))
        .route("/console/brands/{brand}/keys", get(keys::list).post(keys::rotate))
        .route("/console/brands/{brand}/audit", get(audit::list))
        .route("/console/brands/{brand}/{kind}", get(principals::list).post(principals::create))
        .route("/console/brands/{brand}/{kind}/{id}", get(principals::show).post(principals::update))
        .route("/console/brands/{brand}/{kind}/{id}/{action}", post(principals::act))
        .route("/console/{*rest}", get(pages::not_found).post(pages::not_found))
        .method_not_allowed_fallback(pages::wrong_method)
        .with_state(state)
}
