//! `POST /graphql` (the API), `GET /graphql` (GraphiQL) and GraphiQL's assets under `/graphql/assets/`
//! on the admin listener.
//!
//! The caller is authenticated before anything executes: without a valid admin token the answer
//! is an `UNAUTHENTICATED` (401) or `FORBIDDEN` (403) error and no data. Bodies are capped, must be
//! JSON, and are one GraphQL request each.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Request, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, WWW_AUTHENTICATE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
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

/// The `/graphql` routes, with their state applied: the API, the GraphiQL page and its assets.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/assets/{name}", get(graphiql_asset))
        .with_state(state)
}

/// A vendored GraphiQL file, compiled into the binary (see `static/graphiql/README.md`).
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The GraphiQL page's scripts and stylesheet. They are served from this origin, never a CDN:
/// the page shares its origin with the admin console, so a third-party script could act as a
/// signed-in administrator. Each name carries its version, so the files can be cached forever.
const ASSETS: [Asset; 4] = [
    Asset {
        name: "react-18.3.1.production.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../static/graphiql/react-18.3.1.production.min.js"),
    },
    Asset {
        name: "react-dom-18.3.1.production.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../static/graphiql/react-dom-18.3.1.production.min.js"),
    },
    Asset {
        name: "graphiql-3.9.0.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../static/graphiql/graphiql-3.9.0.min.js"),
    },
    Asset {
        name: "graphiql-3.9.0.min.css",
        content_type: CSS,
        bytes: include_bytes!("../static/graphiql/graphiql-3.9.0.min.css"),
    },
];

/// The GraphiQL page. Its one inline script renders GraphiQL against `/graphql` (no
/// subscriptions) with the headers editor open, where the caller puts `Authorization: Bearer …`.
/// GraphiQL keeps nothing in `localStorage` (`storage: null`): its history would store each
/// request's headers, the token among them, even with `shouldPersistHeaders: false` (which keeps
/// them out of the saved tabs and hides that setting). The page's sizing is set from the script
/// (through the CSSOM), so the page itself has no inline style.
const GRAPHIQL_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portcullis management API</title>
<link rel="stylesheet" href="/graphql/assets/graphiql-3.9.0.min.css">
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="/graphql/assets/react-18.3.1.production.min.js"></script>
<script src="/graphql/assets/react-dom-18.3.1.production.min.js"></script>
<script src="/graphql/assets/graphiql-3.9.0.min.js"></script>
<script>
document.body.style.margin = "0";
const container = document.getElementById("graphiql");
container.style.height = "100vh";
ReactDOM.createRoot(container).render(
  React.createElement(GraphiQL, {
    fetcher: GraphiQL.createFetcher({ url: "/graphql" }),
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    storage: null,
    defaultEditorToolsVisibility: "headers",
    defaultHeaders: '{\n  "Authorization": "Bearer "\n}',
  }),
);
</script>
</body>
</html>
"#;

async fn graphiql() -> impl IntoResponse {
    // The policy hashes the page's inline script: computed once.
    static POLICY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| graphiql_policy(GRAPHIQL_PAGE));
    let mut response = Html(GRAPHIQL_PAGE).into_response();
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&POLICY) {
        headers.insert(CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// `GET /graphql/assets/{name}`: a vendored GraphiQL file, or 404.
async fn graphiql_asset(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        // Safe because a new version is a new name.
        (CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
    ];
    (headers, asset.bytes).into_response()
}

/// The Content-Security-Policy of the GraphiQL page: scripts, styles and fonts from this origin
/// only (the fonts and icons are `data:` URLs in GraphiQL's stylesheet), its inline script
/// allowed by its hash, requests to this origin only; no framing, no forms, no `<base>`.
///
/// Styles also allow `'unsafe-inline'`: GraphiQL's dialogs (settings, shortcuts) lock scrolling
/// with a `<style>` element they write at run time, sized to the scrollbar, so it has no fixed
/// hash. Scripts stay strict and images and fonts come from this origin only, so a style can
/// restyle the page but neither run code nor send anything elsewhere.
fn graphiql_policy(html: &str) -> String {
    let hashes: String = inline_scripts(html).map(|script| format!(" 'sha256-{}'", sha256_base64(script))).collect();
    format!(
        "default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
}

/// The bodies of the `<script>` elements without attributes (those with a `src` are not inline).
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script>").skip(1).filter_map(|rest| rest.split_once("</script>").map(|(script, _)| script))
}

/// SHA-256 in standard base64, as a CSP hash source spells it.
fn sha256_base64(text: &str) -> String {
    use base64::Engine;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
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
        // The connection failed, or the body did not arrive in time.
        Err(e) if !e.is::<http_body_util::LengthLimitError>() => {
            return bad_request("the request body could not be read in full");
        }
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
    // The parser recurses per bracket: bound the nesting before it runs (see `nesting`).
    if let Err(e) = crate::nesting::check(&request.query) {
        return bad_request(&e.to_string());
    }
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
