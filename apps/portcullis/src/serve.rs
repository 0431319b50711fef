//! `portcullis serve`: first-start bootstrap, listeners, graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use portcullis_grants::provision::{self, Actor};
use portcullis_tenancy::resolve_brand;
use portcullis_token_server::{AppState, admin_router, public_router};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::cli::{Listeners, ServeArgs};
use crate::commands::reveal_client;
use crate::platform::Platform;

/// How long in-flight requests may take to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Runs the server until SIGTERM or Ctrl-C.
pub async fn run(platform: Platform, args: ServeArgs) -> anyhow::Result<()> {
    let g = &platform.grants;
    if resolve_brand(&g.store, &provision::system_brand_key()).await?.is_none() {
        let created = provision::bootstrap(&g.store, &g.keys, false, &Actor("serve".into()), g.clock.now()).await?;
        crate::output::lines(&["First start: created the `system` brand and a platform-admin client.".into()]);
        reveal_client(portcullis_core::SYSTEM_BRAND, &created, false, false)?;
    }

    let state = AppState { grants: platform.grants.clone(), max_body_bytes: platform.settings.http.max_body_bytes };
    let mut servers = JoinSet::new();
    if args.listeners != Listeners::Admin {
        spawn(&mut servers, "public", platform.settings.http.listen, public_router(state.clone())).await?;
    }
    if args.listeners != Listeners::Public {
        spawn(&mut servers, "admin", platform.settings.admin.listen, admin_router(state)).await?;
    }
    while let Some(result) = servers.join_next().await {
        result.context("a listener task failed")??;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn spawn(
    servers: &mut JoinSet<anyhow::Result<()>>,
    name: &'static str,
    addr: SocketAddr,
    router: Router,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await.with_context(|| format!("binding the {name} listener to {addr}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(listener = name, address = %bound, "listening");
    crate::output::lines(&[format!("{name} listener on http://{bound}")]);
    servers.spawn(async move {
        let app = router.into_make_service_with_connect_info::<SocketAddr>();
        let server = axum::serve(listener, app).with_graceful_shutdown(shutdown_signal(name));
        server.await.with_context(|| format!("the {name} listener failed"))
    });
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C; the process exits anyway after [`SHUTDOWN_GRACE`].
async fn shutdown_signal(name: &'static str) {
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
    tracing::info!(listener = name, "shutting down: finishing in-flight requests");
    tokio::spawn(async {
        tokio::time::sleep(SHUTDOWN_GRACE).await;
        tracing::warn!("in-flight requests did not finish in time; exiting");
        std::process::exit(1);
    });
}
