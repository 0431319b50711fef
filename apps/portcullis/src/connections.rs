//! Serving HTTP/1.1 connections on a listener: at most `max_connections` open at once and at most
//! `max_per_address` from one address (past it, a 429 and the connection is closed), a deadline
//! for every request head (which also closes idle keep-alive connections) and for every request
//! body, so that neither a slow client nor an idle one holds a slot for good; the client's address
//! for handlers, and a graceful shutdown that lets requests in flight finish.

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
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::body_deadline::Deadline;
use crate::client_address;
use crate::per_address::{AddressSlot, PerAddress};

/// What an address over its cap is told before its connection is closed.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\nConnection: close\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 45\r\n\r\ntoo many open connections from this address\r\n";

/// Longest spent telling an address over its cap so.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// What a listener allows its clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; further clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// Connections open at once from one address (trusted proxies exempt).
    pub max_per_address: usize,
    /// Longest a client may take to send a request head, counted from the end of the previous
    /// response on a keep-alive connection.
    pub header_read_timeout: Duration,
    /// Longest a client may take to send a request body, counted from the end of its head.
    pub body_read_timeout: Duration,
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
    per_address: PerAddress,
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
        let Some(address_slot) = per_address.take(peer.ip()) else {
            tokio::spawn(refuse(io, peer));
            continue;
        };
        let (router, trusted_proxies) = (router.clone(), Arc::clone(&trusted_proxies));
        let body_read_timeout = limits.body_read_timeout;
        let service = service_fn(move |mut request: hyper::Request<Incoming>| {
            let client = client_address::resolve(peer, request.headers(), &trusted_proxies);
            request.extensions_mut().insert(ConnectInfo(client));
            let router = router.clone();
            let request = request.map(|body| Body::new(Deadline::new(body, body_read_timeout)));
            async move { Ok::<_, Infallible>(router.oneshot(request).await.unwrap_or_else(|e| match e {})) }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(io), service));
        tokio::spawn(async move {
            let _slots: (_, AddressSlot) = (slot, address_slot);
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Tells a client whose address holds too many connections so (429), then closes the connection.
async fn refuse<I: tokio::io::AsyncWrite + Unpin>(mut io: I, peer: SocketAddr) {
    tracing::debug!(%peer, "refused a connection: its address holds too many");
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
        io.write_all(TOO_MANY_CONNECTIONS).await?;
        io.shutdown().await
    })
    .await;
}
