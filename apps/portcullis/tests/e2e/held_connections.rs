//! No client and no address can hold the listener: revocation-feed streams and long-polls are
//! capped per client and per address (429 with `Retry-After` beyond), a stream ends when its
//! lifetime is over or its client is disabled, connections are capped per address, and a body
//! that does not arrive in time is refused instead of holding its connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::fixture::{ClientCredentials, Fixture, Server};
use crate::http::{Auth, client_credentials};

/// A client for held requests: its own connections, a long timeout.
fn held_http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("HTTP client")
}

/// Opens the event stream of `creds`' brand.
async fn open_stream(http: &reqwest::Client, server: &Server, creds: &ClientCredentials) -> reqwest::Response {
    http.get(format!("{}/brands/{}/revocations", server.public_url, creds.brand))
        .basic_auth(&creds.id, Some(&creds.secret))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("a feed answer")
}

/// Reads the stream until the server ends it; how long that took.
async fn until_closed(mut stream: reqwest::Response, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        match tokio::time::timeout_at((started + within).into(), stream.chunk()).await {
            Err(_) => panic!("the stream was still open after {within:?}"),
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None) | Err(_)) => return started.elapsed(),
        }
    }
}

/// The 99th percentile of `n` sequential token requests at `url`.
async fn token_p99(url: &str, creds: &ClientCredentials, n: usize) -> Duration {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        client_credentials(url, Auth::Basic(creds), &[]).await.assert_token();
        times.push(started.elapsed());
    }
    times.sort_unstable();
    times[(n * 99 / 100).min(n - 1)]
}

/// One client of `globex` opens ten times its cap of event streams and keeps them; it gets its
/// cap and 429s, while `acme`'s token requests and the health check go on as before.
#[tokio::test]
async fn one_client_cannot_hold_more_feed_requests_than_its_cap() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    fixture.create_brand("globex", &[]);
    let acme = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
    let hog = fixture.create_client("globex", &["--grant", "client_credentials"]);
    let server = fixture.serve_with(&[("PORTCULLIS_FEED__MAX_STREAMS_PER_CLIENT", "4")]).await;
    let token_url = server.token_url("acme");
    let idle = token_p99(&token_url, &acme, 200).await;

    let http = held_http();
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..40 {
        let stream = open_stream(&http, &server, &hog).await;
        match stream.status().as_u16() {
            200 => held.push(stream),
            429 => {
                assert!(stream.headers().contains_key("retry-after"), "a 429 says when to retry");
                let body: serde_json::Value = stream.json().await.expect("a JSON error");
                assert_eq!(body["error"], "slow_down", "{body}");
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((held.len(), refused), (4, 36));
    // Long-polls count against the same cap.
    let poll = http
        .get(format!("{}/brands/globex/revocations?wait=20", server.public_url))
        .basic_auth(&hog.id, Some(&hog.secret))
        .send()
        .await
        .expect("a long-poll answer");
    assert_eq!(poll.status().as_u16(), 429);

    let loaded = token_p99(&token_url, &acme, 200).await;
    eprintln!("acme's token p99: {idle:?} idle, {loaded:?} while globex holds its streams");
    // Generous: the point is that nothing waits behind the held streams (before the caps,
    // every request timed out).
    assert!(loaded <= (idle * 2).max(idle + Duration::from_millis(50)), "{loaded:?} against {idle:?} idle");
    let health = reqwest::get(format!("{}/healthz", server.public_url)).await.expect("health");
    assert_eq!(health.status().as_u16(), 200);

    // A place is given back when a stream closes.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(open_stream(&http, &server, &hog).await.status().as_u16(), 200);
}

/// Disabling a client ends the streams it holds; every stream ends at its lifetime anyway.
#[tokio::test]
async fn streams_end_when_their_client_is_disabled_or_their_time_is_up() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    let follower = fixture.create_client("acme", &["--grant", "client_credentials"]);
    let other = fixture.create_client("acme", &["--grant", "client_credentials"]);
    let server = fixture.serve_with(&[("PORTCULLIS_FEED__MAX_STREAM_SECS", "10")]).await;
    let http = held_http();
    let doomed = open_stream(&http, &server, &follower).await;
    assert_eq!(doomed.status().as_u16(), 200);
    let lasting = open_stream(&http, &server, &other).await;
    assert_eq!(lasting.status().as_u16(), 200);

    let disabled = fixture.cli(&["client", "disable", "--brand", "acme", &follower.id, "--json"]);
    assert!(disabled.status.success(), "{}", String::from_utf8_lossy(&disabled.stderr));
    let ended = until_closed(doomed, Duration::from_secs(9)).await;
    eprintln!("the disabled client's stream ended {ended:?} after the change");
    let refused = open_stream(&http, &server, &follower).await;
    assert_eq!(refused.status().as_u16(), 401, "a disabled client cannot reconnect");

    let lived = until_closed(lasting, Duration::from_secs(30)).await;
    eprintln!("a stream ended at its lifetime, {lived:?} after the disabled one");
}

/// Connections from one address beyond its cap are told 429 and closed; a freed place is
/// usable again.
#[tokio::test]
async fn one_address_cannot_hold_every_connection() {
    let fixture = Fixture::sqlite();
    let server = fixture.serve_with(&[("PORTCULLIS_HTTP__MAX_CONNECTIONS_PER_ADDRESS", "8")]).await;
    let address = server.public_url.trim_start_matches("http://").to_owned();
    let held: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(&address).expect("connect")).collect();
    // Let the server accept them all before the ninth.
    std::thread::sleep(Duration::from_millis(300));
    let mut ninth = TcpStream::connect(&address).expect("connect");
    ninth.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut answer = String::new();
    ninth.read_to_string(&mut answer).expect("an answer, then the end of the connection");
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("Retry-After:"), "{answer}");
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let health = reqwest::get(format!("{}/healthz", server.public_url)).await.expect("health");
    assert_eq!(health.status().as_u16(), 200, "the places were given back");
}

/// A body announced at 60,000 bytes of which 28 arrive is refused when the body deadline
/// passes, not held to the request timeout; on both listeners.
#[tokio::test]
async fn a_slow_body_is_refused_at_its_deadline() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("acme", &[]);
    let server = fixture.serve_with(&[("PORTCULLIS_HTTP__BODY_READ_TIMEOUT_SECS", "1")]).await;
    for (base, path) in [(&server.public_url, "/brands/acme/oauth/token"), (&server.admin_url, "/graphql")] {
        let address = base.trim_start_matches("http://").to_owned();
        let mut connection = TcpStream::connect(&address).expect("connect");
        connection.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        let content_type = if path == "/graphql" { "application/json" } else { "application/x-www-form-urlencoded" };
        write!(
            connection,
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\nContent-Length: 60000\r\n\r\ngrant_type=client_credentials"
        )
        .expect("send");
        let started = Instant::now();
        let mut answer = [0u8; 256];
        let read = connection.read(&mut answer).expect("an answer before the request timeout");
        let head = String::from_utf8_lossy(&answer[..read]).into_owned();
        assert!(head.starts_with("HTTP/1.1 4"), "{path}: {head}");
        assert!(started.elapsed() < Duration::from_secs(15), "{path}: answered after {:?}", started.elapsed());
    }
}
