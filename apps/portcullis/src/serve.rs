//! `portcullis serve`: first-start bootstrap, listeners, graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener, ListenerExt};
use portcullis_admin::AdminState;
use portcullis_console::ConsoleState;
use portcullis_grants::provision::{self, Actor};
use portcullis_grants::{feed, maintenance, rotation};
use portcullis_tenancy::resolve_brand;
use portcullis_token_server::{AppState, Metrics, Shutdown, admin_router, public_router};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::cli::{Listeners, ServeArgs};
use crate::commands::reveal_client;
use crate::platform::Platform;
use crate::tls::{self, TlsListener};

/// How long in-flight requests may take to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// How often brands are checked for a signing key due for rotation.
const ROTATION_CHECK_EVERY: Duration = Duration::from_secs(300);

/// How often expired and revoked token records are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Runs the server until SIGTERM or Ctrl-C.
pub async fn run(platform: Platform, args: ServeArgs) -> anyhow::Result<()> {
    let g = &platform.grants;
    if resolve_brand(&g.store, &provision::system_brand_key()).await?.is_none() {
        let created = provision::bootstrap(&g.store, &g.keys, false, &Actor::new("serve"), g.clock.now()).await?;
        crate::output::lines(&["First start: created the `system` brand and a platform-admin client.".into()]);
        reveal_client(portcullis_core::SYSTEM_BRAND, &created, false, false)?;
    }

    let (stop, shutdown) = Shutdown::new();
    let state = AppState {
        grants: platform.grants.clone(),
        max_body_bytes: platform.settings.http.max_body_bytes,
        shutdown,
        metrics: Metrics::new(),
    };
    let mut background = start_background(&platform);
    let mut servers = JoinSet::new();
    if args.listeners != Listeners::Admin {
        let http = &platform.settings.http;
        let tcp = bind("public", http.listen).await?;
        let router = public_router(state.clone());
        match &http.tls {
            Some(tls) => {
                let listener = TlsListener::new(tcp, tls::server_config(tls)?)?;
                announce("public", "https", listener.local_addr()?);
                servers.spawn(serve_on("public", listener.tap_io(|_| {}), router, state.shutdown.clone()));
            }
            None => {
                announce("public", "http", tcp.local_addr()?);
                servers.spawn(serve_on("public", tcp, router, state.shutdown.clone()));
            }
        }
    }
    if args.listeners != Listeners::Public {
        let tcp = bind("admin", platform.settings.admin.listen).await?;
        announce("admin", "http", tcp.local_addr()?);
        let graphql = portcullis_admin::router(AdminState::new(platform.grants.clone(), state.max_body_bytes));
        let console = portcullis_console::router(ConsoleState::new(platform.grants.clone(), state.max_body_bytes));
        let admin = admin_router(state.clone(), graphql.merge(console));
        servers.spawn(serve_on("admin", tcp, admin, state.shutdown.clone()));
    }
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
        Ok(())
    });
    while let Some(result) = servers.join_next().await {
        result.context("a listener task failed")??;
    }
    background.abort_all();
    tracing::info!("stopped");
    Ok(())
}

/// Background work of a serving process: following the revocation feed (so that revocations
/// committed elsewhere wake this process's followers), pruning old token records, and rotating
/// signing keys on schedule.
fn start_background(platform: &Platform) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    let g = platform.grants.clone();
    tasks.spawn(async move { g.feed.follow(&g.store, feed::DEFAULT_POLL).await });
    let g = platform.grants.clone();
    let retention = platform.settings.tokens.retention;
    tasks.spawn(async move { maintenance::prune_forever(g.store, g.clock, retention, PRUNE_EVERY).await });
    if let Some(interval) = platform.settings.keys.rotation_interval {
        let g = platform.grants.clone();
        tasks.spawn(async move { rotation::rotate_forever(g, interval, ROTATION_CHECK_EVERY).await });
    }
    tasks
}

async fn bind(name: &str, addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("binding the {name} listener to {addr}"))
}

fn announce(name: &str, scheme: &str, bound: SocketAddr) {
    tracing::info!(listener = name, address = %bound, scheme, "listening");
    crate::output::lines(&[format!("{name} listener on {scheme}://{bound}")]);
}

/// Serves `router` on `listener` until the shutdown signal, with the peer address available to
/// handlers as `ConnectInfo<SocketAddr>`.
async fn serve_on<L>(name: &'static str, listener: L, router: Router, shutdown: Shutdown) -> anyhow::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    SocketAddr: for<'a> Connected<IncomingStream<'a, L>>,
{
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
        .with_context(|| format!("the {name} listener failed"))
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
