//! The console's style sheet and script, compiled into the binary and served from
//! `/console/static/` (the CSP allows only these: nothing inline).

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};

use crate::page;

const CSS: &str = include_str!("../static/console.css");
const JS: &str = include_str!("../static/console.js");

/// `GET /console/static/{file}`.
pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return page::message(StatusCode::NOT_FOUND, "Not found", "There is no such file."),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    // Small, and changed only by an upgrade: an hour of caching is plenty.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
