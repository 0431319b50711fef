//! Prometheus metrics (`GET /metrics` on the admin listener, OpenMetrics text).
//!
//! Label values come from fixed sets only (the routers' route templates, status codes, grant
//! types, error codes), and the `brand` label is set only on successful requests, whose brand exists: so no
//! client can grow the number of series by sending junk paths, brands or grant types.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use portcullis_tenancy::Storage;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;

/// The OAuth `error` code of an error response, left in its extensions for the metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorCode(pub(crate) &'static str);

/// The grant type a token request asked for (a supported one), left in the response's
/// extensions for the metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrantLabel(pub(crate) &'static str);

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    listener: &'static str,
    endpoint: String,
    status: u16,
    brand: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    listener: &'static str,
    endpoint: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IssueLabels {
    brand: String,
    grant: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    endpoint: String,
    error: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    // 100 µs to about 3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// What one finished request tells the metrics.
#[derive(Debug)]
pub(crate) struct Observation<'a> {
    pub(crate) listener: &'static str,
    /// A route template of the router, or `other`.
    pub(crate) endpoint: &'a str,
    pub(crate) status: u16,
    pub(crate) brand: Option<&'a str>,
    pub(crate) elapsed: Duration,
    pub(crate) error: Option<&'static str>,
    pub(crate) grant: Option<&'static str>,
}

/// The server's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram, fn() -> Histogram>,
    issued: Family<IssueLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    auth_failures: Family<FailureLabels, Counter>,
    pool: Family<PoolLabels, Gauge>,
    feed_poll_age: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every Portcullis metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("portcullis");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by listener, endpoint, status and brand", requests.clone());
        let latency = Family::<EndpointLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("http_request_duration_seconds", "Time to answer a request, by endpoint", latency.clone());
        let issued = Family::<IssueLabels, Counter>::default();
        registry.register("tokens_issued", "Access tokens issued, by brand and grant type", issued.clone());
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register("oauth_errors", "OAuth error responses, by endpoint and error code", errors.clone());
        let auth_failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "authentication_failures",
            "Failed authentications: client (invalid_client), password (bad user or operator credentials), throttled (429)",
            auth_failures.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register("db_pool_connections", "Database pool connections: open, idle", pool.clone());
        let feed_poll_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "revocation_feed_poll_age_seconds",
            "Seconds since this process last read the revocation feed's head (how stale its view of other processes' revocations may be)",
            feed_poll_age.clone(),
        );
        Self {
            inner: Arc::new(Inner { registry, requests, latency, issued, errors, auth_failures, pool, feed_poll_age }),
        }
    }

    /// Records one finished request.
    pub(crate) fn observe(&self, o: &Observation<'_>) {
        let m = &self.inner;
        let ok = (200..300).contains(&o.status);
        let brand = if ok { o.brand.unwrap_or_default().to_owned() } else { String::new() };
        m.requests
            .get_or_create(&RequestLabels {
                listener: o.listener,
                endpoint: o.endpoint.to_owned(),
                status: o.status,
                brand: brand.clone(),
            })
            .inc();
        m.latency
            .get_or_create(&EndpointLabels { listener: o.listener, endpoint: o.endpoint.to_owned() })
            .observe(o.elapsed.as_secs_f64());
        if let (true, Some(grant)) = (ok, o.grant) {
            m.issued.get_or_create(&IssueLabels { brand, grant }).inc();
        }
        if let Some(error) = o.error {
            m.errors.get_or_create(&ErrorLabels { endpoint: o.endpoint.to_owned(), error }).inc();
        }
        let password_grant = matches!(o.grant, Some("password" | "operator_password"));
        let failure = match (o.status, o.error) {
            (429, _) => Some("throttled"),
            (_, Some("invalid_client")) => Some("client"),
            (_, Some("invalid_grant")) if password_grant => Some("password"),
            _ => None,
        };
        if let Some(kind) = failure {
            m.auth_failures.get_or_create(&FailureLabels { kind }).inc();
        }
    }

    /// The OpenMetrics text of every metric, after reading the gauges from `state`.
    fn render<S: Storage>(&self, state: &AppState<S>) -> String {
        let m = &self.inner;
        if let Some(pool) = state.grants.store.pool_status() {
            m.pool.get_or_create(&PoolLabels { state: "open" }).set(i64::from(pool.open));
            m.pool.get_or_create(&PoolLabels { state: "idle" }).set(i64::from(pool.idle));
        }
        if let Some(age) = state.grants.feed.since_last_poll() {
            m.feed_poll_age.set(age.as_secs_f64());
        }
        let mut text = String::new();
        match prometheus_client::encoding::text::encode(&mut text, &m.registry) {
            Ok(()) => text,
            Err(e) => {
                tracing::error!(error = %e, "encoding metrics failed");
                String::new()
            }
        }
    }
}

/// `GET /metrics`.
pub(crate) async fn handle<S: Storage>(State(state): State<AppState<S>>) -> Response {
    let mut response = state.metrics.render(&state).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"));
    response
}
