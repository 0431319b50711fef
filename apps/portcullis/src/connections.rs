//! Serving HTTP/1.1 connections on a listener: at most `max_connections` open at once, a deadline
//! for every request head (which also closes idle keep-alive connections, so neither a slow
//! client nor an idle one holds a slot for good), the client's address for handlers, and a graceful
//! shutdown that lets requests in flight finish.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use portcullis_config::IpNetwork;
use portcullis_token_server::Shutdown;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::client_address;

/// What a listener allows its clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; further clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// Longest a client may take to send a request head, counted from the end of the previous
    /// response on a keep-alive connection.
    pub header_read_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown`, then waits for open connections to finish
/// their requests (the caller bounds that wait).
///
/// Handlers see the peer as `ConnectInfo<SocketAddr>`: the client's address as
/// [`client_address::resolve`] finds it behind `trusted_proxies`.
pub async fn serve<L>(
    listener: L,
    router: Router,
    limits: Limits,
    trusted_proxies: Arc<[IpNetwork]>,
    shutdown: Shutdown,
) where
    L: Listener<Addr = SocketAddr>,
{
    let mut listener = listener;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    loop {
        let accepted = tokio::select! {
            () = shutdown.wait() => break,
            accepted = async {
                // A closed semaphore is impossible: it is never closed.
                let slot = Arc::clone(&slots).acquire_owned().await.ok()?;
                let (io, peer) = listener.accept().await;
                Some((slot, io, peer))
            } => accepted,
        };
        let Some((slot, io, peer)) = accepted else { break };
        let (router, trusted_proxies) = (router.clone(), Arc::clone(&trusted_proxies));
        let service = service_fn(move |mut request: hyper::Request<Incoming>| {
            let client = client_address::resolve(peer, request.headers(), &trusted_proxies);
            request.extensions_mut().insert(ConnectInfo(client));
            let router = router.clone();
            async move { Ok::<_, Infallible>(router.oneshot(request.map(Body::new)).await.unwrap_or_else(|e| match e {})) }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(io), service));
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
