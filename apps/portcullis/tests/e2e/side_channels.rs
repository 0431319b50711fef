//! No cross-tenant side channels on the admin listener: `/metrics` (every brand's counts) is
//! served only to the metrics token or a platform administrator, or on a listener of its own; and
//! the admin listener answers only the host names it is configured for, so that a web page cannot
//! reach it through a DNS name it controls.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use crate::fixture::Fixture;
use crate::http::{Auth, client, client_credentials};

/// A metrics token for the tests.
const SCRAPER: &str = "scraper-token-0123456789";

async fn metrics_status(url: &str, bearer: Option<&str>) -> u16 {
    let mut request = client().get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("a metrics answer").status().as_u16()
}

#[tokio::test]
async fn metrics_are_for_the_scraper_and_platform_administrators_only() {
    let fixture = Fixture::sqlite();
    fixture.create_brand("globex", &[]);
    let brand_admin = fixture.create_client("globex", &["--grant", "client_credentials", "--scope", "brand:admin"]);
    let free = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let metrics_address = free.local_addr().expect("its address").to_string();
    drop(free);
    let server = fixture
        .serve_with(&[("PORTCULLIS_METRICS__TOKEN", SCRAPER), ("PORTCULLIS_METRICS__LISTEN", metrics_address.as_str())])
        .await;
    let url = format!("{}/metrics", server.admin_url);
    let platform = server.revealed_admin().expect("the first start reveals the platform admin");
    let platform_token =
        client_credentials(&server.token_url("system"), Auth::Basic(&platform), &[]).await.access_token();
    let brand_token =
        client_credentials(&server.token_url("globex"), Auth::Basic(&brand_admin), &[("scope", "brand:admin")])
            .await
            .access_token();

    assert_eq!(metrics_status(&url, None).await, 401, "anonymous");
    assert_eq!(metrics_status(&url, Some("not-the-token-000000")).await, 401, "a wrong token");
    assert_eq!(metrics_status(&url, Some(&brand_token)).await, 401, "a brand admin sees only its brand");
    assert_eq!(metrics_status(&url, Some(&platform_token)).await, 200, "a platform admin");
    assert_eq!(metrics_status(&url, Some(SCRAPER)).await, 200, "the scraper");
    let challenge = client().get(&url).send().await.expect("answer");
    assert!(
        challenge.headers().get("www-authenticate").is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("Bearer")))
    );

    // The listener of its own asks for the token too, since one is configured.
    let own = format!("http://{metrics_address}/metrics");
    assert_eq!(metrics_status(&own, None).await, 401);
    assert_eq!(metrics_status(&own, Some(SCRAPER)).await, 200);
}

/// Sends a raw `GET path` naming `host`; the status code.
fn status_with_host(base: &str, path: &str, host: &str) -> u16 {
    raw_status(base, &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"))
}

/// Sends `request` as it is; the status code.
fn raw_status(base: &str, request: &str) -> u16 {
    let address = base.trim_start_matches("http://");
    let mut connection = TcpStream::connect(address).expect("connect");
    connection.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    connection.read_to_string(&mut answer).expect("an answer");
    answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn the_admin_listener_answers_only_its_own_host_names() {
    let fixture = Fixture::sqlite();
    let server = fixture.serve().await;
    let admin = &server.admin_url;
    let port = admin.rsplit(':').next().expect("a port");
    for allowed in [format!("127.0.0.1:{port}"), format!("localhost:{port}"), "LOCALHOST".to_owned()] {
        assert_eq!(status_with_host(admin, "/console/sign-in", &allowed), 200, "{allowed}");
    }
    for rebound in [format!("evil.example:{port}"), "evil.example".to_owned(), "127.0.0.1.evil.example".to_owned()] {
        assert_eq!(status_with_host(admin, "/console/sign-in", &rebound), 421, "{rebound}");
        assert_eq!(status_with_host(admin, "/graphql", &rebound), 421, "{rebound}");
    }
    assert_eq!(status_with_host(admin, "/healthz", "evil.example"), 200, "health checks are exempt");
    // The target's own authority wins over Host, and two Host headers are not one.
    let absolute = "GET http://evil.example/console/sign-in HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_status(admin, absolute), 421, "absolute-form target");
    let twice = "GET /console/sign-in HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n";
    assert_ne!(raw_status(admin, twice), 200, "two Host headers");
    assert_eq!(status_with_host(admin, "/console/sign-in", "localhost:99999"), 421, "not a port");
    // The public listener serves every host name its brands are reached by.
    assert_eq!(status_with_host(&server.public_url, "/healthz", "id.example"), 200);
    assert_eq!(status_with_host(&server.public_url, "/brands/system/jwks.json", "id.example"), 200);
}
