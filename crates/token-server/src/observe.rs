//! Every request's request id, log span, closing log line and metrics.
//!
//! The request id is the caller's `X-Request-Id` when it is a short token (letters, digits,
//! `.`, `_`, `-`; at most 64), else one made here; it is echoed in the response. The `request`
//! span carries the id, the endpoint (the router's route template), the brand of the path and (recorded by client
//! authentication) the client id, so every log line of the request names them. Nothing secret is
//! ever a field: not the Authorization header, the body or the query.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use http::header::{STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS};
use tracing::Instrument;

use crate::metrics::{ErrorCode, GrantLabel, Metrics, Observation};

/// The request-id header.
pub const REQUEST_ID: &str = "x-request-id";

/// Longest brand written into a log line (a junk path can be long).
const MAX_LOGGED_BRAND: usize = 64;

/// What the middleware needs: the metrics and the listener's name.
#[derive(Debug, Clone)]
pub(crate) struct Observer {
    pub(crate) metrics: Metrics,
    pub(crate) listener: &'static str,
    /// Send `Strict-Transport-Security`: the listener's public URL is `https://`.
    pub(crate) hsts: bool,
}

/// One year, the usual HSTS lifetime; subdomains are not claimed (they may be other services).
const HSTS: &str = "max-age=31536000";

/// Requests that matched no route: one label for all of them.
const UNMATCHED: &str = "other";

/// The brand of `/oauth/token?brand_key=…`.
fn brand_in_query(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == "brand_key").map(|(_, v)| v.into_owned())
}

fn acceptable_id(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let ok = !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    ok.then_some(text)
}

/// A new request id: a per-process random prefix and a counter.
fn new_id() -> String {
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let prefix = *PREFIX.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
        );
        #[allow(clippy::cast_possible_truncation, reason = "32 bits of the hash are enough")]
        let short = hasher.finish() as u32;
        short
    });
    format!("{prefix:08x}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The middleware.
pub(crate) async fn observe(State(observer): State<Observer>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request.headers().get(REQUEST_ID).and_then(acceptable_id).map_or_else(new_id, str::to_owned);
    // The router's own route template (the layer wraps each route, so routing has happened):
    // a fixed set of values, whatever the path.
    let endpoint = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str).to_owned();
    let (mut parts, body) = request.into_parts();
    let path_brand = RawPathParams::from_request_parts(&mut parts, &())
        .await
        .ok()
        .and_then(|params| params.iter().find(|(name, _)| *name == "brand").map(|(_, value)| value.to_owned()));
    let brand =
        path_brand.or_else(|| (endpoint == "/oauth/token").then(|| brand_in_query(parts.uri.query())).flatten());
    let request = Request::from_parts(parts, body);
    let logged_brand: String = brand.as_deref().unwrap_or("-").chars().take(MAX_LOGGED_BRAND).collect();
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        endpoint = %endpoint,
        brand = %logged_brand,
        client_id = tracing::field::Empty,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let error = response.extensions().get::<ErrorCode>().map(|e| e.0);
    let grant = response.extensions().get::<GrantLabel>().map(|g| g.0);
    span.in_scope(|| {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        match status {
            500.. => tracing::error!(status, micros, error, "request failed"),
            _ => tracing::info!(status, micros, error, "request"),
        }
    });
    observer.metrics.observe(&Observation {
        listener: observer.listener,
        endpoint: &endpoint,
        status,
        brand: brand.as_deref(),
        elapsed,
        error,
        grant,
    });
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, value);
    }
    // Every response, whatever produced it: a browser never guesses another content type.
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // RFC 6797: once a browser has seen the issuer over HTTPS, it never tries plain HTTP again
    // (RFC 9700 §4.1.1 asks that credentials never travel in clear).
    if observer.hsts {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_request_ids_are_kept_only_when_harmless() {
        assert_eq!(acceptable_id(&HeaderValue::from_static("abc-123_x.y")), Some("abc-123_x.y"));
        assert_eq!(acceptable_id(&HeaderValue::from_static("has space")), None);
        assert_eq!(acceptable_id(&HeaderValue::from_static("")), None);
        let long = "a".repeat(65);
        assert_eq!(acceptable_id(&HeaderValue::from_str(&long).expect("ASCII")), None);
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn the_query_form_names_its_brand() {
        assert_eq!(brand_in_query(Some("brand_key=acme&x=1")).as_deref(), Some("acme"));
        assert_eq!(brand_in_query(Some("x=1")), None);
        assert_eq!(brand_in_query(None), None);
    }
}
