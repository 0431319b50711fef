//! `portcullis serve`: first-start bootstrap, listeners, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::middleware::from_fn_with_state;
use portcullis_admin::AdminState;
use portcullis_config::{IpNetwork, Settings, TlsSettings};
use portcullis_console::ConsoleState;
use portcullis_grants::maintenance::Retention;
use portcullis_grants::provision::{self, Actor};
use portcullis_grants::{failure_audit, feed, maintenance, rotation};
use portcullis_store::SeaStore;
use portcullis_tenancy::MetaStore;
use portcullis_tenancy::resolve_brand;
use portcullis_token_server::feed_cursor::{CURSOR_KEY_LEN, CURSOR_KEY_NAME};
use portcullis_token_server::{
    AppState, CursorCodec, FeedLimits, FeedState, Metrics, Shutdown, admin_router, metrics_router, public_router,
};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::admin_guard::{self, AllowedHosts, MetricsAccess};
use crate::cli::{Listeners, ServeArgs};
use crate::commands::reveal_client;
use crate::connections::{self, Limits};
use crate::per_address::PerAddress;
use crate::platform::Platform;
use crate::tls::{self, Certificate, TlsListener};

/// How long in-flight requests may take to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// How often brands are checked for a signing key due for rotation.
const ROTATION_CHECK_EVERY: Duration = Duration::from_secs(300);

/// How often expired and revoked token records, and audit events past their retention, are
/// pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Runs the server until SIGTERM or Ctrl-C.
pub async fn run(platform: Platform, args: ServeArgs) -> anyhow::Result<()> {
    let g = &platform.grants;
    if resolve_brand(&g.store, &provision::system_brand_key()).await?.is_none() {
        let created = provision::bootstrap(&g.store, &g.keys, false, &Actor::new("serve"), g.clock.now()).await?;
        crate::output::lines(&["First start: created the `system` brand and a platform-admin client.".into()]);
        reveal_client(portcullis_core::SYSTEM_BRAND, &created, false, false)?;
    }

    let cursors = feed_cursors(&g.store).await?;
    let (stop, shutdown) = Shutdown::new();
    let state = AppState {
        grants: platform.grants.clone(),
        max_body_bytes: platform.settings.http.max_body_bytes,
        shutdown,
        metrics: Metrics::new(),
        feed: FeedState::new(feed_limits(&platform.settings), cursors),
    };
    let mut background = start_background(&platform);
    let mut servers = JoinSet::new();
    let mut certificates = Vec::new();
    let proxies: Arc<[IpNetwork]> = platform.settings.http.trusted_proxies.clone().into();
    if args.listeners != Listeners::Admin {
        let http = &platform.settings.http;
        let limits = Limits {
            max_connections: http.max_connections,
            max_per_address: http.max_connections_per_address,
            header_read_timeout: http.header_read_timeout,
            body_read_timeout: http.body_read_timeout,
        };
        let listener =
            Endpoint { name: "public", tls_prefix: "http.tls", address: http.listen, tls: http.tls.as_ref() };
        let router = public_router(state.clone());
        certificates.extend(listener.start(&mut servers, router, limits, &proxies, &state.shutdown).await?);
    }
    if args.listeners != Listeners::Public {
        let admin = &platform.settings.admin;
        let graphql = portcullis_admin::router(AdminState::new(platform.grants.clone(), state.max_body_bytes));
        let console = portcullis_console::router(ConsoleState::new(platform.grants.clone(), state.max_body_bytes));
        let metrics = MetricsAccess::new(platform.settings.metrics.token.as_deref(), Some(platform.grants.clone()));
        let metrics =
            metrics_router(state.clone()).layer(from_fn_with_state(metrics, admin_guard::require_metrics_access));
        let hosts = AllowedHosts::new(&admin.allowed_hosts);
        let router = admin_router(state.clone(), graphql.merge(console).merge(metrics))
            .layer(from_fn_with_state(hosts, admin_guard::check_host));
        let http = &platform.settings.http;
        let limits = Limits {
            max_connections: admin.max_connections,
            max_per_address: http.max_connections_per_address.min(admin.max_connections),
            header_read_timeout: http.header_read_timeout,
            body_read_timeout: http.body_read_timeout,
        };
        let listener =
            Endpoint { name: "admin", tls_prefix: "admin.tls", address: admin.listen, tls: admin.tls.as_ref() };
        if admin.tls.is_none() && !admin.listen.ip().is_loopback() {
            tracing::warn!(
                address = %admin.listen,
                "the admin listener speaks plain HTTP on a non-loopback address: put it behind TLS (admin.tls.*)"
            );
        }
        certificates.extend(listener.start(&mut servers, router, limits, &proxies, &state.shutdown).await?);
    }
    if let Some(address) = platform.settings.metrics.listen {
        let access = MetricsAccess::new(platform.settings.metrics.token.as_deref(), None);
        let router =
            metrics_router(state.clone()).layer(from_fn_with_state(access, admin_guard::require_metrics_access));
        let http = &platform.settings.http;
        let limits = Limits {
            max_connections: 64,
            max_per_address: 64,
            header_read_timeout: http.header_read_timeout,
            body_read_timeout: http.body_read_timeout,
        };
        let listener = Endpoint { name: "metrics", tls_prefix: "metrics", address, tls: None };
        listener.start(&mut servers, router, limits, &proxies, &state.shutdown).await?;
    }
    background.spawn(tls::keep_fresh(certificates, tls::FILE_CHECK_EVERY));
    servers.spawn(async move {
        os_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        stop.trigger();
        tokio::spawn(async {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
            tracing::warn!("in-flight requests did not finish in time; exiting");
            crate::logging::finish();
            std::process::exit(1);
        });
    });
    while let Some(result) = servers.join_next().await {
        result.context("a listener task failed")?;
    }
    background.abort_all();
    // Failures still being counted are written before the process goes.
    platform.grants.failure_audit.flush_all(&platform.grants.store).await;
    tracing::info!("stopped");
    Ok(())
}

/// Background work of a serving process: following the revocation feed (so that revocations
/// committed elsewhere wake this process's followers), pruning old token records and audit
/// events, writing the summaries of folded authentication failures, and rotating signing keys
/// on schedule.
fn start_background(platform: &Platform) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    let g = platform.grants.clone();
    tasks.spawn(async move { g.feed.follow(&g.store, feed::DEFAULT_POLL).await });
    let g = platform.grants.clone();
    let retention =
        Retention { tokens: platform.settings.tokens.retention, audit_days: platform.settings.audit.retention_days };
    tasks.spawn(async move { maintenance::prune_forever(g.store, g.clock, retention, PRUNE_EVERY).await });
    let g = platform.grants.clone();
    tasks.spawn(async move { g.failure_audit.flush_forever(g.store, g.clock, failure_audit::FLUSH_EVERY).await });
    if let Some(interval) = platform.settings.keys.rotation_interval {
        let g = platform.grants.clone();
        tasks.spawn(async move { rotation::rotate_forever(g, interval, ROTATION_CHECK_EVERY).await });
    }
    tasks
}

/// The revocation feed's caps: as configured, and a quarter of the public listener's
/// connections in all, so that held feed requests always leave room for everything else.
fn feed_limits(settings: &Settings) -> FeedLimits {
    FeedLimits {
        per_client: settings.feed.max_streams_per_client,
        per_address: settings.feed.max_streams_per_address,
        max_stream: settings.feed.max_stream,
        ..FeedLimits::for_listener(settings.http.max_connections)
    }
}

/// The codec of revocation-feed cursors, under the deployment's cursor key: made at random by the
/// first server to start, then read from the database by every server, so all of them seal alike.
async fn feed_cursors(store: &SeaStore) -> anyhow::Result<CursorCodec> {
    let fresh = portcullis_credentials::random_bytes::<CURSOR_KEY_LEN>().context("generating the feed cursor key")?;
    let key = store.init_meta(CURSOR_KEY_NAME, fresh.to_vec()).await.context("storing the feed cursor key")?;
    CursorCodec::new(&key).context("the stored feed cursor key")
}

/// A listener to start: where, and with which TLS files if it terminates TLS itself.
struct Endpoint<'a> {
    name: &'static str,
    tls_prefix: &'static str,
    address: SocketAddr,
    tls: Option<&'a TlsSettings>,
}

impl Endpoint<'_> {
    /// Binds, announces and starts serving `router`; returns the certificate to keep fresh, if any.
    async fn start(
        self,
        servers: &mut JoinSet<()>,
        router: Router,
        limits: Limits,
        proxies: &Arc<[IpNetwork]>,
        shutdown: &Shutdown,
    ) -> anyhow::Result<Option<Arc<Certificate>>> {
        let tcp = TcpListener::bind(self.address)
            .await
            .with_context(|| format!("binding the {} listener to {}", self.name, self.address))?;
        let bound = tcp.local_addr()?;
        let per_address = PerAddress::new(limits.max_per_address, Arc::clone(proxies));
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        tracing::info!(listener = self.name, address = %bound, scheme, max_connections = limits.max_connections, "listening");
        crate::output::lines(&[format!("{} listener on {scheme}://{bound}", self.name)]);
        match self.tls {
            Some(files) => {
                let certificate = Certificate::load(self.tls_prefix, files)?;
                let listener = TlsListener::new(tcp, certificate.server_config()?, Arc::clone(proxies))?;
                servers.spawn(connections::serve(
                    listener,
                    router,
                    limits,
                    per_address,
                    Arc::clone(proxies),
                    shutdown.clone(),
                ));
                Ok(Some(certificate))
            }
            None => {
                servers.spawn(connections::serve(
                    tcp,
                    router,
                    limits,
                    per_address,
                    Arc::clone(proxies),
                    shutdown.clone(),
                ));
                Ok(None)
            }
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn os_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
