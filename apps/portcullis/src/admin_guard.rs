//! What the admin listener checks before its routes: the `Host` a request names, and who may
//! read `/metrics`.
//!
//! * **Host.** A web page can reach a listener on loopback through a DNS name it controls
//!   (DNS rebinding): the browser then sends that name as `Host`. Requests naming a host outside
//!   `admin.allowed_hosts` are refused with 421, before any route runs. The host is the
//!   authority of an absolute-form target when there is one, else the one `Host` header; two
//!   `Host` headers are refused too. Health checks are exempt:
//!   they reveal nothing and probes often address a container by a name of their own.
//! * **Metrics.** `/metrics` lists every brand; it is served to a Bearer `metrics.token` or to a
//!   `platform:admin` access token, and to nobody else (401 with a challenge). A listener of its
//!   own (`metrics.listen`) serves it to the token, or to anyone when no token is configured.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, HOST, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portcullis_admin::auth::{Authority, authenticate, bearer_token};
use portcullis_credentials::secret::{SecretHash, hash_secret, verify_secret};
use portcullis_grants::GrantContext;
use portcullis_store::SeaStore;

/// Paths answered whatever the `Host`.
const HOST_EXEMPT: [&str; 2] = ["/healthz", "/readyz"];

/// The host names the admin listener answers to (lowercase, without port).
#[derive(Debug, Clone)]
pub struct AllowedHosts(Arc<[String]>);

impl AllowedHosts {
    /// From `admin.allowed_hosts`.
    pub fn new(hosts: &[String]) -> Self {
        Self(hosts.iter().map(|h| h.to_ascii_lowercase()).collect())
    }

    fn allows(&self, host: &str) -> bool {
        self.0.iter().any(|allowed| allowed == host)
    }
}

/// The host name of a `Host` header value or a request target's authority: without its port
/// (which must be a port number), without the brackets of an IPv6 literal, lowercase. `None`
/// when it is not one (user information included).
fn host_name(value: &str) -> Option<String> {
    let value = value.trim();
    if value.contains('@') {
        return None;
    }
    let port_ok = |port: &str| port.parse::<u16>().is_ok_and(|p| p > 0);
    let name = if let Some(rest) = value.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(port_ok)) {
            return None;
        }
        inside
    } else {
        match value.rsplit_once(':') {
            Some((name, port)) if port_ok(port) => name,
            Some(_) => return None,
            None => value,
        }
    };
    (!name.is_empty()).then(|| name.to_ascii_lowercase())
}

/// The host a request is for: the authority of an absolute-form target, which a server must
/// prefer to `Host` (RFC 9112 §3.2.2), or else the one `Host` header. `None` when there is none,
/// or more than one `Host` header (RFC 9112 §3.2: a 400 in any case).
fn requested_host(request: &Request) -> Option<String> {
    if let Some(authority) = request.uri().authority() {
        return host_name(authority.as_str());
    }
    let mut hosts = request.headers().get_all(HOST).iter();
    let (Some(host), None) = (hosts.next(), hosts.next()) else {
        return None;
    };
    host_name(host.to_str().ok()?)
}

/// Refuses requests whose `Host` is not allowed (421 Misdirected Request).
pub async fn check_host(State(allowed): State<AllowedHosts>, request: Request, next: Next) -> Response {
    if HOST_EXEMPT.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    match requested_host(&request) {
        Some(name) if allowed.allows(&name) => next.run(request).await,
        _ => (
            StatusCode::MISDIRECTED_REQUEST,
            "this listener does not answer to that host name; add it to admin.allowed_hosts\n",
        )
            .into_response(),
    }
}

/// Who may read `/metrics`.
#[derive(Clone)]
pub struct MetricsAccess {
    token: Option<SecretHash>,
    /// Platform administrators may too (on the admin listener).
    admins: Option<GrantContext<SeaStore>>,
}

impl std::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsAccess").field("token", &self.token.is_some()).finish_non_exhaustive()
    }
}

impl MetricsAccess {
    /// The bearer of `token` (kept only as its hash), and platform administrators when
    /// `admins` is given.
    pub fn new(token: Option<&str>, admins: Option<GrantContext<SeaStore>>) -> Self {
        Self { token: token.map(hash_secret), admins }
    }

    /// Whether anyone may read the metrics (a listener of their own, without a token).
    pub fn is_open(&self) -> bool {
        self.token.is_none() && self.admins.is_none()
    }
}

/// Serves the request to a caller [`MetricsAccess`] admits; 401 with a Bearer challenge otherwise.
pub async fn require_metrics_access(State(access): State<MetricsAccess>, request: Request, next: Next) -> Response {
    if access.is_open() {
        return next.run(request).await;
    }
    let header = request.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes);
    let bearer = header.and_then(bearer_token);
    if let (Some(expected), Some(presented)) = (&access.token, bearer)
        && verify_secret(presented, expected)
    {
        return next.run(request).await;
    }
    if let (Some(grants), Some(header)) = (&access.admins, header) {
        let source = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        if let Ok(caller) = authenticate(grants, Some(header), source).await
            && caller.authority == Authority::Platform
        {
            return next.run(request).await;
        }
    }
    let mut response =
        (StatusCode::UNAUTHORIZED, "a metrics token or a platform administrator's access token is required\n")
            .into_response();
    response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"portcullis-metrics\""));
    response
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_names_lose_their_port_and_brackets() {
        assert_eq!(host_name("LocalHost:8081").as_deref(), Some("localhost"));
        assert_eq!(host_name("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(host_name("[::1]:8081").as_deref(), Some("::1"));
        assert_eq!(host_name("[::1]").as_deref(), Some("::1"));
        for bad in [
            "",
            ":8081",
            "evil.example:x",
            "[::1]x",
            "[::1",
            "localhost:99999",
            "localhost:0",
            "localhost@evil.example",
        ] {
            assert_eq!(host_name(bad), None, "{bad}");
        }
    }
}
