//! `POST /graphql` (the API) and `GET /graphql` (GraphiQL) on the admin listener.
//!
//! The caller is authenticated before anything executes: without a valid admin token the answer
//! is an `UNAUTHENTICATED` (401) or `FORBIDDEN` (403) error and no data. Bodies are capped, must be
//! JSON, and are one GraphQL request each.

use std::net::SocketAddr;

use async_graphql::http::GraphiQLSource;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, WWW_AUTHENTICATE,
    X_FRAME_OPTIONS,
};
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, Limited};
use portcullis_grants::GrantContext;
use portcullis_store::SeaStore;
use serde_json::json;

use crate::auth::authenticate;
use crate::error::AdminError;
use crate::schema::{self, AdminSchema};

/// What the handlers share.
#[derive(Clone)]
pub struct AdminState {
    grants: GrantContext<SeaStore>,
    schema: AdminSchema,
    max_body_bytes: usize,
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState").field("max_body_bytes", &self.max_body_bytes).finish_non_exhaustive()
    }
}

impl AdminState {
    /// State over the grant engine, accepting bodies up to `max_body_bytes`.
    pub fn new(grants: GrantContext<SeaStore>, max_body_bytes: usize) -> Self {
        let schema = schema::build(Some(grants.clone()));
        Self { grants, schema, max_body_bytes }
    }
}

/// The `/graphql` routes, with their state applied.
pub fn router(state: AdminState) -> Router {
    Router::new().route("/graphql", get(graphiql).post(graphql)).with_state(state)
}

async fn graphiql() -> impl IntoResponse {
    static PAGE: std::sync::LazyLock<(String, String)> = std::sync::LazyLock::new(|| {
        let html = GraphiQLSource::build().endpoint("/graphql").title("Portcullis management API").finish();
        let policy = graphiql_policy(&html);
        (html, policy)
    });
    let (html, policy) = &*PAGE;
    let mut response = Html(html.as_str()).into_response();
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(policy) {
        headers.insert(CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The Content-Security-Policy of the GraphiQL page: its scripts and styles come from unpkg.com
/// (as async-graphql's page is written), its one inline script is allowed by its hash, and it
/// may talk to this origin only; no framing, no forms, no `<base>`.
fn graphiql_policy(html: &str) -> String {
    use base64::Engine;
    let hashes: String = html
        .split("<script>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</script>").map(|(script, _)| script))
        .map(|script| {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, script.as_bytes());
            format!(" 'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest.as_ref()))
        })
        .collect();
    format!(
        "default-src 'none'; script-src https://unpkg.com{hashes}; style-src https://unpkg.com 'unsafe-inline'; \
         img-src https://graphql.org data:; font-src https://unpkg.com data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
}

/// A GraphQL error response outside execution (no `data`).
fn refusal(status: StatusCode, error: &AdminError) -> Response {
    let body = json!({"errors": [{"message": error.to_string(), "extensions": {"code": error.code()}}]});
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"portcullis-admin\""));
    }
    response
}

fn bad_request(message: &str) -> Response {
    refusal(StatusCode::BAD_REQUEST, &AdminError::BadUserInput(message.to_owned()))
}

async fn graphql(State(state): State<AdminState>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let source =
        ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, &state).await.ok().map(|c| c.0.ip().to_string());
    let json = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return bad_request("the body must be a GraphQL request in JSON (Content-Type: application/json)");
    }
    let bytes = match Limited::new(body, state.max_body_bytes).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let limit = state.max_body_bytes;
            return refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                &AdminError::BadUserInput(format!("the request body exceeds {limit} bytes")),
            );
        }
    };
    let caller =
        match authenticate(&state.grants, parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes), source).await {
            Ok(caller) => caller,
            Err(e @ AdminError::Unauthenticated(_)) => return refusal(StatusCode::UNAUTHORIZED, &e),
            Err(e @ AdminError::Forbidden(_)) => return refusal(StatusCode::FORBIDDEN, &e),
            Err(e @ AdminError::Unavailable) => return refusal(StatusCode::SERVICE_UNAVAILABLE, &e),
            Err(e) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, &e),
        };
    let request: async_graphql::Request = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(e) => return bad_request(&format!("not a GraphQL request: {e}")),
    };
    let mut response = state.schema.execute(request.data(caller)).await;
    // Parse and validation errors (unknown field, bad argument type, too deep) carry no code of
    // their own; give them one, so every error has `extensions.code`.
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "GRAPHQL_VALIDATION_FAILED");
        }
    }
    let mut response = axum::Json(response).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
