//! The listeners themselves, on a real process: TLS on both listeners with the certificate
//! reloaded on SIGHUP, the headers of every kind of response, the connection limit, and the
//! deadline for a request head.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::fixture::{ClientCredentials, Fixture, Server};
use crate::http::{self, Reply};

type Generated = rcgen::CertifiedKey<rcgen::KeyPair>;

/// A freshly generated self-signed certificate for `localhost`.
fn generate() -> Generated {
    rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("generate a certificate")
}

/// Writes `generated` as `cert.pem` and `key.pem` in `dir`; returns their paths.
fn write_pair(dir: &Path, generated: &Generated) -> (String, String) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).expect("write the certificate");
    std::fs::write(&key, generated.signing_key.serialize_pem()).expect("write the key");
    (cert.display().to_string(), key.display().to_string())
}

/// An HTTPS-only client that trusts `generated` and nothing else, with no connection reuse (so
/// that every request makes a new handshake).
fn trusting(generated: &Generated) -> reqwest::Client {
    let root = reqwest::Certificate::from_der(generated.cert.der()).expect("a DER certificate");
    reqwest::Client::builder()
        .tls_certs_only([root])
        .https_only(true)
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTPS client")
}

async fn healthy(client: &reqwest::Client, base: &str) -> bool {
    client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == 200)
}

#[tokio::test]
async fn both_listeners_terminate_tls_and_reload_their_certificate_on_sighup() {
    let fixture = Fixture::sqlite();
    let dir = tempfile::tempdir().expect("temporary directory");
    let (old, new) = (generate(), generate());
    let (cert, key) = write_pair(dir.path(), &old);
    let public_url = fixture.listen_url().replace("http://127.0.0.1", "https://localhost");
    let env = [
        ("PORTCULLIS_HTTP__PUBLIC_URL", public_url.as_str()),
        ("PORTCULLIS_HTTP__TLS__CERT_FILE", cert.as_str()),
        ("PORTCULLIS_HTTP__TLS__KEY_FILE", key.as_str()),
        ("PORTCULLIS_ADMIN__TLS__CERT_FILE", cert.as_str()),
        ("PORTCULLIS_ADMIN__TLS__KEY_FILE", key.as_str()),
    ];
    let mut server = fixture.serve_tls(&env, trusting(&old)).await;
    for listener in ["public", "admin"] {
        let announced = format!("{listener} listener on https://");
        assert!(server.banner().iter().any(|l| l.starts_with(&announced)), "{:?}", server.banner());
    }

    // A token over TLS, from a client that verified the certificate.
    let admin = server.revealed_admin().expect("the first start reveals the platform admin");
    let reply = Reply::read(
        trusting(&old)
            .post(server.token_url(&admin.brand))
            .basic_auth(&admin.id, Some(&admin.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request over https"),
    )
    .await;
    reply.assert_token();
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    // An https issuer tells browsers never to use plain HTTP (RFC 6797).
    assert_eq!(reply.header("strict-transport-security"), Some("max-age=31536000"));
    let discovery = Reply::read(
        trusting(&old)
            .get(format!("{}/brands/system/.well-known/openid-configuration", server.public_url))
            .send()
            .await
            .expect("discovery over https"),
    )
    .await;
    assert_eq!(discovery.body()["issuer"], format!("{public_url}/brands/system"));

    // Plain HTTP to a TLS port gets no answer; a client that trusts another certificate refuses.
    let plain = server.public_url.replace("https://localhost", "http://127.0.0.1");
    assert!(!healthy(&http::client(), &plain).await);
    assert!(!healthy(&trusting(&new), &server.public_url).await);

    // New files, then SIGHUP: both listeners present the new certificate, the process lives on.
    write_pair(dir.path(), &new);
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(30);
    for base in [server.public_url.clone(), server.admin_url.clone()] {
        while !healthy(&trusting(&new), &base).await {
            assert!(server.is_running(), "SIGHUP ended the server: {}", server.stderr());
            assert!(Instant::now() < deadline, "{base} never presented the new certificate: {}", server.stderr());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!healthy(&trusting(&old), &base).await, "{base} still presents the old certificate");
    }
    assert!(server.is_running());
    // Log lines reach stderr a few milliseconds after they happen (written in batches).
    loop {
        let log = server.stderr();
        if log.contains("TLS certificate reloaded") && log.contains("SIGHUP") {
            break;
        }
        assert!(Instant::now() < deadline, "the reload was not logged: {log}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A raw HTTP/1.1 exchange on `stream`: sends `request`, reads one response head and body
/// (`Content-Length` bodies only), returns the status.
fn exchange(stream: &mut TcpStream, request: &str) -> u16 {
    stream.write_all(request.as_bytes()).expect("send");
    let mut received = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let n = stream.read(&mut buf).expect("read the response");
        assert!(n > 0, "closed before a whole response: {:?}", String::from_utf8_lossy(&received));
        received.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&received);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
            }
        }
    }
}

const HEALTH: &str = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.public_url.trim_start_matches("http://")).expect("connect")
}

// Multi-threaded, so that the start-up health check's client closes its connections while this
// test blocks on plain sockets; idle connections are kept a minute, longer than the test.
#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_limit_wait_until_a_slot_frees() {
    let fixture = Fixture::sqlite();
    let env = [("PORTCULLIS_HTTP__MAX_CONNECTIONS", "2"), ("PORTCULLIS_HTTP__HEADER_READ_TIMEOUT_SECS", "60")];
    let server = fixture.serve_with(&env).await;
    let (mut first, mut second) = (connect(&server), connect(&server));
    assert_eq!(exchange(&mut first, HEALTH), 200);
    assert_eq!(exchange(&mut second, HEALTH), 200);

    // A third connection is accepted by the kernel, but not served while two are open.
    let mut third = connect(&server);
    third.write_all(HEALTH.as_bytes()).expect("send");
    third.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    let waiting = third.read(&mut [0; 64]).map_err(|e| e.kind());
    assert!(matches!(waiting, Err(ErrorKind::WouldBlock | ErrorKind::TimedOut)), "{waiting:?}: {}", server.stderr());

    // Closing one serves it; the open ones still work.
    drop(first);
    third.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    assert_eq!(exchange(&mut third, ""), 200);
    assert_eq!(exchange(&mut second, HEALTH), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_and_idle_connections_are_closed_at_the_header_deadline() {
    let fixture = Fixture::sqlite();
    let server = fixture.serve_with(&[("PORTCULLIS_HTTP__HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let closed_within = |stream: &mut TcpStream, limit: Duration| {
        stream.set_read_timeout(Some(limit)).expect("timeout");
        let mut rest = Vec::new();
        // A clean close (or a reset) ends the read; a timeout means the server kept it open.
        match stream.read_to_end(&mut rest) {
            Ok(_) => true,
            Err(e) => e.kind() == ErrorKind::ConnectionReset,
        }
    };

    // A request head that never ends.
    let mut slow = connect(&server);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").expect("send");
    assert!(closed_within(&mut slow, Duration::from_secs(15)), "a never-ending request head kept its connection");

    // An idle keep-alive connection after a response.
    let mut idle = connect(&server);
    assert_eq!(exchange(&mut idle, HEALTH), 200);
    assert!(closed_within(&mut idle, Duration::from_secs(15)), "an idle keep-alive connection was kept");

    // The server still serves.
    assert_eq!(exchange(&mut connect(&server), HEALTH), 200);
}

/// Every kind of response of both listeners carries `nosniff` and no version banner; token,
/// introspection and userinfo responses are never cached; HTML pages have a strict CSP.
#[tokio::test]
async fn every_response_carries_the_hygiene_headers() {
    let fixture = Fixture::sqlite();
    let server = fixture.serve().await;
    let admin = server.revealed_admin().expect("the first start reveals the platform admin");
    let client = http::client();
    let (public, admin_url) = (server.public_url.clone(), server.admin_url.clone());
    let token = format!("{public}/brands/system/oauth/token");
    let form = [("grant_type", "client_credentials")];
    let brand = format!("{public}/brands/system");
    let requests = [
        ("token", client.post(&token).basic_auth(&admin.id, Some(&admin.secret)).form(&form), Some(200)),
        ("token error", client.post(&token).basic_auth(&admin.id, Some("wrong")).form(&form), Some(401)),
        ("introspection", client.post(format!("{brand}/oauth/introspect")).form(&[("token", "x")]), Some(401)),
        ("revocation", client.post(format!("{brand}/oauth/revoke")).form(&[("token", "x")]), Some(401)),
        ("userinfo", client.get(format!("{brand}/userinfo")), Some(401)),
        ("discovery", client.get(format!("{brand}/.well-known/openid-configuration")), Some(200)),
        ("jwks", client.get(format!("{brand}/jwks.json")), Some(200)),
        ("authorize page", client.get(format!("{brand}/oauth/authorize")), None),
        ("unknown brand", client.get(format!("{public}/brands/nope/jwks.json")), Some(404)),
        ("not found", client.get(format!("{public}/nothing-here")), Some(404)),
        ("health", client.get(format!("{public}/readyz")), Some(200)),
        ("metrics", client.get(format!("{admin_url}/metrics")), Some(401)),
        (
            "graphql",
            client.post(format!("{admin_url}/graphql")).json(&serde_json::json!({"query": "{brands{totalCount}}"})),
            Some(401),
        ),
        ("graphiql", client.get(format!("{admin_url}/graphql")), Some(200)),
        ("console", client.get(format!("{admin_url}/console/sign-in")), Some(200)),
        ("admin not found", client.get(format!("{admin_url}/nothing-here")), Some(404)),
    ];
    for (name, request, expected) in requests {
        let reply = Reply::read(request.send().await.expect(name)).await;
        if let Some(status) = expected {
            assert_eq!(reply.status, status, "{name}: {}", reply.text);
        }
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{name}");
        assert_eq!(reply.header("server"), None, "{name}: no version banner");
        assert_eq!(reply.header("x-powered-by"), None, "{name}");
        assert_eq!(reply.header("strict-transport-security"), None, "{name}: no HSTS for an http:// issuer");
        if matches!(name, "token" | "token error" | "introspection" | "userinfo") {
            assert_eq!(reply.header("cache-control"), Some("no-store"), "{name}");
        }
        if reply.header("content-type").is_some_and(|t| t.starts_with("text/html")) {
            let csp = reply.header("content-security-policy").unwrap_or_default();
            for directive in ["default-src 'none'", "frame-ancestors 'none'"] {
                assert!(csp.contains(directive), "{name}: CSP {csp:?} lacks {directive}");
            }
            assert!(!csp.contains("script-src 'unsafe-inline'") && !csp.contains("'unsafe-eval'"), "{name}: {csp}");
        }
    }
}

/// A client_credentials request through a proxy that says it came from `forwarded`.
async fn attempt(server: &Server, app: &ClientCredentials, forwarded: &str, secret: &str) -> u16 {
    http::client()
        .post(server.token_url(&app.brand))
        .header("x-forwarded-for", forwarded)
        .basic_auth(&app.id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request")
        .status()
        .as_u16()
}

/// As many failures from `forwarded` as the per-client-and-address limit allows.
async fn fail_from(server: &Server, app: &ClientCredentials, forwarded: &str) {
    for _ in 0..portcullis_grants::throttle::PER_CLIENT_AND_SOURCE {
        assert_eq!(attempt(server, app, forwarded, "wrong").await, 401);
    }
}

/// Behind a trusted proxy, throttling keys on the client named by `X-Forwarded-For`: one
/// client's failures lock out that client only. From an untrusted peer the header is ignored.
#[tokio::test]
async fn trusted_proxies_name_the_client_that_throttling_sees() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    let app = fixture.create_client("acme", &["--grant", "client_credentials"]);
    let server = fixture.serve_with(&[("PORTCULLIS_HTTP__TRUSTED_PROXIES", "[\"127.0.0.0/8\"]")]).await;
    // The leftmost entry is the client's own claim, which is never believed.
    fail_from(&server, &app, "203.0.113.250, 198.51.100.7").await;
    let locked = attempt(&server, &app, "198.51.100.7", &app.secret).await;
    assert_ne!(locked, 200, "the failing client is not locked out");
    let other = attempt(&server, &app, "203.0.113.250, 198.51.100.8", &app.secret).await;
    assert_eq!(other, 200, "another client behind the proxy is locked out");
    drop(server);

    // Without trust, every request is the proxy's: the header changes nothing.
    let app = fixture.create_client("acme", &["--grant", "client_credentials"]);
    let server = fixture.serve().await;
    fail_from(&server, &app, "198.51.100.7").await;
    let other = attempt(&server, &app, "198.51.100.8", &app.secret).await;
    assert_ne!(other, 200, "an untrusted X-Forwarded-For was believed");
}
