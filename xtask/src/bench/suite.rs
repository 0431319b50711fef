//! The measured points against one backend: set up a server with a brand, clients and a user,
//! then run each point of [`POINTS`] in turn and keep its figures and the server's memory.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::runtime::Runtime;

use super::Options;
use super::load::{self, Template};
use super::postgres::Cluster;
use super::rss;
use super::server::{Binary, Database, Server};

/// The brand every request goes to.
const BRAND: &str = "bench";
/// The scope of the bench's clients and user.
const SCOPE: &str = "read";
/// The user of the password grant.
const USERNAME: &str = "bench-user";
/// Their password (a throwaway database).
const PASSWORD: &str = "bench password, not a secret";
/// Distinct tokens of the "each token new" introspection point: four times as many as the server
/// remembers verified tokens (`crates/grants/src/verified.rs`), and each connection cycles through
/// a slice of its own, so that no token is remembered when it comes round again.
const FRESH_TOKENS: usize = 16_384;
/// Sent before each point and not counted.
pub(crate) const WARMUP: Duration = Duration::from_secs(1);

/// Where the server keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh database in a throwaway PostgreSQL cluster.
    Postgres,
}

impl Backend {
    /// The backend's name in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "Postgres",
        }
    }
}

/// A measured endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /brands/bench/oauth/token`, `grant_type=client_credentials`.
    ClientCredentials,
    /// `POST /brands/bench/oauth/introspect` of a live access token, the same one every time
    /// (as a resource server asks about a token on each call it receives).
    Introspection,
    /// `POST /brands/bench/oauth/introspect` of live access tokens the server has not verified
    /// lately ([`FRESH_TOKENS`] of them in turn): the signature is checked on every request.
    FreshIntrospection,
    /// `GET /brands/bench/jwks.json`.
    Jwks,
    /// `GET /brands/bench/.well-known/openid-configuration`.
    Discovery,
    /// `POST /brands/bench/oauth/token`, `grant_type=password` (an Argon2id check each).
    Password,
}

impl Endpoint {
    /// The endpoint's name in reports.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::ClientCredentials => "`client_credentials` token",
            Self::Introspection => "introspection (the same token)",
            Self::FreshIntrospection => "introspection (each token new)",
            Self::Jwks => "JWKS",
            Self::Discovery => "discovery",
            Self::Password => "`password` token",
        }
    }
}

/// The most connections: the `client_credentials` point whose memory has a target.
pub(crate) const BUSIEST: usize = 64;

/// The connection counts of the `client_credentials` points (the chart's x axis).
pub(crate) const TOKEN_CONNECTIONS: [usize; 3] = [1, 16, BUSIEST];

/// Every point, in the order they run: endpoint and concurrent connections.
pub(crate) const POINTS: [(Endpoint, usize); 8] = [
    (Endpoint::ClientCredentials, TOKEN_CONNECTIONS[0]),
    (Endpoint::ClientCredentials, TOKEN_CONNECTIONS[1]),
    (Endpoint::ClientCredentials, TOKEN_CONNECTIONS[2]),
    (Endpoint::Introspection, 16),
    (Endpoint::FreshIntrospection, 16),
    (Endpoint::Jwks, 16),
    (Endpoint::Discovery, 16),
    (Endpoint::Password, 16),
];

/// The figures of one point.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub(crate) endpoint: Endpoint,
    pub(crate) connections: usize,
    pub(crate) per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) errors: u64,
    /// The server's peak `VmRSS` during the point, KiB.
    pub(crate) rss_kib: u64,
}

/// The figures of one backend.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub(crate) backend: Backend,
    /// What the database was, in words.
    pub(crate) database: String,
    pub(crate) points: Vec<Point>,
    /// The server's peak `VmRSS` from start to end (sampled), KiB.
    pub(crate) rss_run_kib: u64,
    /// The kernel's high-water mark of the server's resident memory (`VmHWM`), KiB.
    pub(crate) rss_hwm_kib: Option<u64>,
}

impl Run {
    /// The point of `endpoint` at `connections`, if measured.
    pub(crate) fn point(&self, endpoint: Endpoint, connections: usize) -> Option<&Point> {
        self.points.iter().find(|p| p.endpoint == endpoint && p.connections == connections)
    }
}

/// The prepared request of each endpoint.
struct Requests {
    client_credentials: Template,
    introspection: Template,
    fresh_introspection: Template,
    jwks: Template,
    discovery: Template,
    password: Template,
}

impl Requests {
    fn of(&self, endpoint: Endpoint) -> &Template {
        match endpoint {
            Endpoint::ClientCredentials => &self.client_credentials,
            Endpoint::Introspection => &self.introspection,
            Endpoint::FreshIntrospection => &self.fresh_introspection,
            Endpoint::Jwks => &self.jwks,
            Endpoint::Discovery => &self.discovery,
            Endpoint::Password => &self.password,
        }
    }

    /// Creates the clients and the user, and obtains the tokens to introspect.
    fn prepare(server: &Server, runtime: &Runtime) -> anyhow::Result<Self> {
        let addr = server.public_addr();
        let machine = server.client(BRAND, "bench-machine", &["client_credentials"], SCOPE)?;
        let web = server.client(BRAND, "bench-web", &["password"], SCOPE)?;
        server.user(BRAND, USERNAME, PASSWORD, SCOPE)?;
        let token_path = format!("/brands/{BRAND}/oauth/token");
        let client_credentials =
            Template::post_form(addr, &token_path, &machine, &[("grant_type", "client_credentials")])?;
        let issued: Value = serde_json::from_slice(&load::once(runtime, addr, &client_credentials)?)
            .context("the token endpoint answered no JSON")?;
        let token = issued["access_token"].as_str().context("the token endpoint answered no access_token")?;
        let introspect_path = format!("/brands/{BRAND}/oauth/introspect");
        let introspection =
            Template::post_form(addr, &introspect_path, &machine, &[("token", token)])?.expecting(r#""active":true"#);
        let fresh_bodies = load::collect(runtime, addr, &client_credentials, FRESH_TOKENS, 16)?
            .iter()
            .map(|answer| {
                let issued: Value = serde_json::from_slice(answer).context("the token endpoint answered no JSON")?;
                let token = issued["access_token"].as_str().context("the token endpoint answered no access_token")?;
                Ok(form_urlencoded::Serializer::new(String::new()).append_pair("token", token).finish().into())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            fresh_introspection: introspection.clone().with_bodies(fresh_bodies)?,
            introspection,
            jwks: Template::get(addr, &format!("/brands/{BRAND}/jwks.json"))?,
            discovery: Template::get(addr, &format!("/brands/{BRAND}/.well-known/openid-configuration"))?,
            password: Template::post_form(
                addr,
                &token_path,
                &web,
                &[("grant_type", "password"), ("username", USERNAME), ("password", PASSWORD)],
            )?,
            client_credentials,
        })
    }
}

/// Measures every point against a fresh server on `backend`.
pub(crate) fn run(binary: &Binary, backend: Backend, options: &Options, runtime: &Runtime) -> anyhow::Result<Run> {
    eprintln!("== {}: {} s per point after a {} s warm-up", backend.name(), options.seconds, WARMUP.as_secs());
    // Dropped in reverse: the sampler, the server, then the cluster it uses.
    let cluster = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(Cluster::start()?),
    };
    let (database, description) = match &cluster {
        None => (Database::Sqlite, "a fresh SQLite file".to_owned()),
        Some(cluster) => (
            Database::Postgres(cluster.url().to_owned()),
            format!("a fresh database in a throwaway PostgreSQL {} cluster on the same machine", cluster.major()),
        ),
    };
    let mut server = Server::start(binary, &database, BRAND)?;
    let sampler = rss::Sampler::start(server.pid());
    let requests = Requests::prepare(&server, runtime)?;
    let measured = Duration::from_secs(options.seconds);
    let mut points = Vec::new();
    for (endpoint, connections) in POINTS {
        sampler.begin_window();
        let outcome = load::run(runtime, server.public_addr(), requests.of(endpoint), connections, WARMUP, measured)?;
        let point = Point {
            endpoint,
            connections,
            per_second: outcome.per_second(),
            p50_ms: outcome.quantile_ms(0.50),
            p99_ms: outcome.quantile_ms(0.99),
            errors: outcome.errors,
            rss_kib: sampler.window_peak(),
        };
        eprintln!(
            "{:<26} c={:<3} {:>8.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}  RSS {:>6.1} MB  generator {:.2} cores",
            endpoint.label().replace('`', ""),
            connections,
            point.per_second,
            point.p50_ms,
            point.p99_ms,
            point.errors,
            super::report::megabytes(point.rss_kib),
            outcome.generator_cores.unwrap_or(f64::NAN),
        );
        if let Some(first) = outcome.first_error {
            let exited =
                server.exited().map(|status| format!(" (the server has exited: {status})")).unwrap_or_default();
            bail!(
                "{} at {connections} connections on {}: {} error(s){exited}; the first: {first}\nthe server's log \
                 ends with:\n{}",
                endpoint.label(),
                backend.name(),
                outcome.errors,
                server.log_tail()
            );
        }
        points.push(point);
    }
    Ok(Run {
        backend,
        database: description,
        points,
        rss_run_kib: sampler.run_peak(),
        rss_hwm_kib: rss::read_kib(server.pid(), "VmHWM"),
    })
}
