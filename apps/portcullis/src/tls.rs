//! TLS termination (rustls on aws-lc-rs) for a listener whose `*.tls` files are configured.
//!
//! Handshakes run in their own tasks with a deadline, so a slow or silent client cannot hold up
//! the accept loop; finished connections are handed to axum through a channel. The certificate
//! is held by a [`Certificate`], which [`keep_fresh`] reloads on SIGHUP and when its files change,
//! without dropping a connection; a reload that fails keeps the certificate in use.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use axum::serve::Listener;
use portcullis_config::{IpNetwork, TlsSettings};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::{CryptoProvider, aws_lc_rs};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{ServerConfig, version};
use tokio_rustls::server::TlsStream;

use crate::per_address::PerAddress;

/// Longest a client may take to complete the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at most; further connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 1024;
/// Handshakes in progress at most from one address (trusted proxies exempt); further
/// connections from it are closed at once, so that one host's silent connections cannot hold
/// the handshake slots that everyone else needs.
const MAX_HANDSHAKES_PER_ADDRESS: usize = 16;
/// How often [`keep_fresh`] looks at the certificate files for a change.
pub const FILE_CHECK_EVERY: Duration = Duration::from_secs(5);

/// The certificate and key a listener presents, replaceable while it serves.
pub struct Certificate {
    /// The configuration prefix (`http.tls`, `admin.tls`), for messages.
    prefix: &'static str,
    files: TlsSettings,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' modification times and sizes when last read.
    stamp: Mutex<Option<Stamp>>,
}

type Stamp = [(SystemTime, u64); 2];

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate").field("prefix", &self.prefix).field("files", &self.files).finish_non_exhaustive()
    }
}

impl Certificate {
    /// Reads the certificate chain and key named by `files`; an error names `prefix`'s keys.
    pub fn load(prefix: &'static str, files: &TlsSettings) -> anyhow::Result<Arc<Self>> {
        let provider = Arc::new(aws_lc_rs::default_provider());
        let stamp = stamp(files);
        let key = read(prefix, files, &provider)?;
        Ok(Arc::new(Self {
            prefix,
            files: files.clone(),
            provider,
            current: RwLock::new(Arc::new(key)),
            stamp: Mutex::new(stamp),
        }))
    }

    /// Reads the files again and, when they hold a usable pair, presents it from the next
    /// handshake on. On error the certificate in use stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        *self.stamp.lock().unwrap_or_else(PoisonError::into_inner) = stamp(&self.files);
        let key = read(self.prefix, &self.files, &self.provider)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        Ok(())
    }

    /// Whether either file's modification time or size differs from when it was last read.
    fn changed_on_disk(&self) -> bool {
        *self.stamp.lock().unwrap_or_else(PoisonError::into_inner) != stamp(&self.files)
    }

    /// A server configuration presenting this certificate: TLS 1.3 and 1.2 (rustls offers only
    /// forward-secret AEAD suites for 1.2), HTTP/1.1 over ALPN.
    pub fn server_config(self: &Arc<Self>) -> anyhow::Result<Arc<ServerConfig>> {
        let mut config = ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(&[&version::TLS13, &version::TLS12])
            .context("the TLS provider supports neither TLS 1.3 nor 1.2")?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner)))
    }
}

fn stamp(files: &TlsSettings) -> Option<Stamp> {
    let of = |path: &Path| std::fs::metadata(path).and_then(|m| Ok((m.modified()?, m.len()))).ok();
    Some([of(&files.cert_file)?, of(&files.key_file)?])
}

fn read(prefix: &str, files: &TlsSettings, provider: &CryptoProvider) -> anyhow::Result<CertifiedKey> {
    let certs = CertificateDer::pem_file_iter(&files.cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading {prefix}.cert_file {}", files.cert_file.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{prefix}.cert_file {} holds no certificate", files.cert_file.display());
    }
    let key = PrivateKeyDer::from_pem_file(&files.key_file)
        .with_context(|| format!("reading {prefix}.key_file {}", files.key_file.display()))?;
    CertifiedKey::from_der(certs, key, provider)
        .with_context(|| format!("{prefix}: the certificate and key do not form a usable pair"))
}

/// Reloads every certificate on SIGHUP, and each one whose files changed (checked every `every`),
/// until the task is dropped. Failures are logged and leave the certificate in use.
pub async fn keep_fresh(certificates: Vec<Arc<Certificate>>, every: Duration) {
    let mut hangup = hangups();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let everything = tokio::select! {
            () = next_hangup(&mut hangup) => true,
            _ = tick.tick() => false,
        };
        if everything && certificates.is_empty() {
            tracing::info!("SIGHUP: no TLS certificate is configured; nothing to reload");
        }
        for certificate in &certificates {
            if !everything && !certificate.changed_on_disk() {
                continue;
            }
            let trigger = if everything { "SIGHUP" } else { "file change" };
            match certificate.reload() {
                Ok(()) => tracing::info!(listener = certificate.prefix, trigger, "TLS certificate reloaded"),
                Err(e) => tracing::error!(
                    listener = certificate.prefix,
                    trigger,
                    error = format!("{e:#}"),
                    "TLS certificate reload failed; still presenting the previous one"
                ),
            }
        }
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = ();

#[cfg(unix)]
fn hangups() -> Hangups {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; certificates reload on file change only");
            None
        }
    }
}

#[cfg(unix)]
async fn next_hangup(hangup: &mut Hangups) {
    let received = match hangup {
        Some(signal) => signal.recv().await.is_some(),
        None => false,
    };
    if !received {
        std::future::pending::<()>().await;
    }
}

#[cfg(not(unix))]
fn hangups() -> Hangups {}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangups) {
    std::future::pending().await
}

/// A listener that yields TLS streams whose handshake has completed.
#[derive(Debug)]
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp`; the accept loop ends when this listener is dropped. Peers in
    /// `trusted_proxies` are exempt from the per-address cap on handshakes.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>, trusted_proxies: Arc<[IpNetwork]>) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        let permits = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        let per_address = PerAddress::new(MAX_HANDSHAKES_PER_ADDRESS, trusted_proxies);
        tokio::spawn(async move {
            loop {
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { return };
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a TCP connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                let Some(handshaking) = per_address.take(peer.ip()) else {
                    tracing::debug!(%peer, "refused a connection: its address has too many TLS handshakes in progress");
                    continue;
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let _permits = (permit, handshaking);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => drop(tx.send((tls, peer)).await),
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when this listener is gone; never reached while serving.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::PathBuf;

    use axum::Router;
    use axum::routing::get;
    use axum::serve::ListenerExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::TlsConnector;
    use tokio_rustls::client::TlsStream as ClientStream;
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    use super::*;

    /// A freshly generated self-signed certificate for `localhost`.
    fn generate() -> rcgen::CertifiedKey<rcgen::KeyPair> {
        rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap()
    }

    fn write(dir: &Path, generated: &rcgen::CertifiedKey<rcgen::KeyPair>) -> TlsSettings {
        let files = TlsSettings { cert_file: dir.join("cert.pem"), key_file: dir.join("key.pem") };
        std::fs::write(&files.cert_file, generated.cert.pem()).unwrap();
        std::fs::write(&files.key_file, generated.signing_key.serialize_pem()).unwrap();
        files
    }

    async fn serve(certificate: &Arc<Certificate>) -> SocketAddr {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listener = TlsListener::new(tcp, certificate.server_config().unwrap(), Arc::from([])).unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/healthz", get(|| async { "ok" }));
        tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener.tap_io(|_| {}), service).await.unwrap();
        });
        addr
    }

    /// Connects trusting only `trusted`, verifying the server's certificate for `localhost`.
    async fn connect(
        addr: SocketAddr,
        trusted: &rcgen::CertifiedKey<rcgen::KeyPair>,
    ) -> io::Result<ClientStream<TcpStream>> {
        let mut roots = RootCertStore::empty();
        roots.add(trusted.cert.der().clone()).unwrap();
        let client = ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        let tcp = TcpStream::connect(addr).await?;
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        TlsConnector::from(Arc::new(client)).connect(name, tcp).await
    }

    /// One request on an open connection; the response head and body.
    async fn ask(tls: &mut ClientStream<TcpStream>, close: bool) -> String {
        let connection = if close { "close" } else { "keep-alive" };
        let request = format!("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: {connection}\r\n\r\n");
        tls.write_all(request.as_bytes()).await.unwrap();
        let mut response = vec![0; 4096];
        let mut read = 0;
        while !response[..read].ends_with(b"ok") {
            let n = tls.read(&mut response[read..]).await.unwrap();
            assert!(n > 0, "connection closed after {:?}", String::from_utf8_lossy(&response[..read]));
            read += n;
        }
        String::from_utf8_lossy(&response[..read]).into_owned()
    }

    #[tokio::test]
    async fn serves_https_and_survives_a_bad_handshake() {
        let dir = tempfile::tempdir().unwrap();
        let generated = generate();
        let addr = serve(&Certificate::load("http.tls", &write(dir.path(), &generated)).unwrap()).await;

        // A client that speaks plain HTTP to the TLS port gets nowhere, and harms no one.
        let mut plain = TcpStream::connect(addr).await.unwrap();
        plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();

        let mut tls = connect(addr, &generated).await.unwrap();
        let response = ask(&mut tls, true).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");

        // A client that trusts another certificate refuses this server.
        assert!(connect(addr, &generate()).await.is_err());
    }

    #[tokio::test]
    async fn a_changed_certificate_is_presented_without_dropping_connections() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (generate(), generate());
        let files = write(dir.path(), &old);
        let certificate = Certificate::load("admin.tls", &files).unwrap();
        let addr = serve(&certificate).await;
        let mut open = connect(addr, &old).await.unwrap();
        assert!(ask(&mut open, false).await.starts_with("HTTP/1.1 200"));

        let watcher = tokio::spawn(keep_fresh(vec![Arc::clone(&certificate)], Duration::from_millis(20)));
        // Modification times can be coarse: a different size tells the change apart as well.
        std::fs::write(&files.cert_file, format!("{}\n", new.cert.pem())).unwrap();
        std::fs::write(&files.key_file, new.signing_key.serialize_pem()).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while connect(addr, &new).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "the new certificate was never presented");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        watcher.abort();

        assert!(connect(addr, &old).await.is_err(), "the old certificate is still presented");
        assert!(ask(&mut open, true).await.starts_with("HTTP/1.1 200"), "the open connection was dropped");
    }

    #[tokio::test]
    async fn a_broken_replacement_keeps_the_certificate_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let generated = generate();
        let files = write(dir.path(), &generated);
        let certificate = Certificate::load("http.tls", &files).unwrap();
        let addr = serve(&certificate).await;

        std::fs::write(&files.key_file, generate().signing_key.serialize_pem()).unwrap();
        let err = format!("{:#}", certificate.reload().unwrap_err());
        assert!(err.contains("http.tls") && err.contains("usable pair"), "{err}");
        std::fs::write(&files.key_file, "not a key").unwrap();
        let err = format!("{:#}", certificate.reload().unwrap_err());
        assert!(err.contains("http.tls.key_file"), "{err}");

        let mut tls = connect(addr, &generated).await.unwrap();
        assert!(ask(&mut tls, true).await.starts_with("HTTP/1.1 200"));
    }

    #[test]
    fn unusable_files_are_reported_with_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let files = write(dir.path(), &generate());
        let swapped = TlsSettings { cert_file: files.key_file.clone(), key_file: files.cert_file.clone() };
        let err = format!("{:#}", Certificate::load("http.tls", &swapped).unwrap_err());
        assert!(err.contains("http.tls"), "{err}");
        let missing = TlsSettings { cert_file: PathBuf::from("/nonexistent/cert.pem"), key_file: files.key_file };
        let err = format!("{:#}", Certificate::load("admin.tls", &missing).unwrap_err());
        assert!(err.contains("admin.tls.cert_file"), "{err}");
    }
}
