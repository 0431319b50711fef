//! Scenario 4: garbage input never gives a 5xx. Wrong content types, oversized and random
//! bodies, repeated parameters, malformed `Authorization` headers, bad percent escapes, odd
//! brand keys and wrong methods all get a 4xx, and every 4xx of an OAuth endpoint is a JSON body
//! with an `error` field. The server stays healthy afterwards.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};

use crate::fixture::{ClientCredentials, Fixture, Server};
use crate::http::{Auth, FORM, Reply, client, client_credentials};

/// The token endpoint of the brand the probes target.
const TOKEN_PATH: &str = "/brands/acme/oauth/token";

/// What a probe must get back.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Exactly this status.
    Status(u16),
    /// Any 4xx.
    ClientError,
}

/// One hostile request.
#[derive(Debug)]
struct Probe {
    name: String,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    authorization: Option<HeaderValue>,
    body: Vec<u8>,
    expect: Expect,
}

impl Probe {
    /// A form `POST` to the token endpoint with `body`.
    fn token(name: &str, body: impl Into<Vec<u8>>, expect: Expect) -> Self {
        Self {
            name: name.to_owned(),
            method: Method::POST,
            path: TOKEN_PATH.to_owned(),
            content_type: Some(FORM),
            authorization: None,
            body: body.into(),
            expect,
        }
    }

    /// A bodiless request.
    fn at(name: &str, method: Method, path: String, expect: Expect) -> Self {
        Self { method, path, content_type: None, ..Self::token(name, Vec::new(), expect) }
    }

    fn with_path(self, path: String) -> Self {
        Self { path, ..self }
    }

    fn content_type(self, content_type: Option<&'static str>) -> Self {
        Self { content_type, ..self }
    }

    fn authorization(self, value: &[u8]) -> Self {
        Self { authorization: Some(HeaderValue::from_bytes(value).expect("a sendable header")), ..self }
    }

    async fn send(&self, base: &str) -> Reply {
        let url = format!("{base}{}", self.path);
        let mut request = client().request(self.method.clone(), &url).body(self.body.clone());
        if let Some(content_type) = self.content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{}: {e}", self.name));
        Reply::read(response).await
    }

    /// Why `reply` is not an acceptable answer, if it is not.
    fn problem(&self, reply: &Reply) -> Option<String> {
        let status = reply.status.as_u16();
        let expected = match self.expect {
            Expect::Status(expected) => status == expected,
            Expect::ClientError => (400..500).contains(&status),
        };
        if status >= 500 || !expected {
            return Some(format!("{}: status {status}, expected {:?}: {}", self.name, self.expect, reply.text));
        }
        if reply.error_code().is_none() {
            return Some(format!("{}: a {status} without a JSON `error`: {:?}", self.name, reply.text));
        }
        None
    }
}

#[tokio::test]
async fn garbage_input_never_gives_a_server_error() {
    for fixture in Fixture::all().await {
        fixture.create_brand("acme", &[]);
        let client = fixture.create_client("acme", &["--grant", "client_credentials"]);
        let server = fixture.serve().await;
        eprintln!("backend: {}", fixture.name());
        let mut problems = Vec::new();
        for probe in probes(&client) {
            problems.extend(probe.problem(&probe.send(&server.public_url).await));
        }
        for (name, request, expected) in raw_requests() {
            let (status, body) = raw_exchange(&server, &request);
            if status != expected || !body.contains("\"error\"") {
                problems.push(format!("{name}: status {status}, expected {expected}: {body}"));
            }
        }
        assert!(problems.is_empty(), "[{}] unacceptable answers:\n{}", fixture.name(), problems.join("\n"));
        // Nothing above hurt the server.
        client_credentials(&server.token_url("acme"), Auth::Basic(&client), &[]).await.assert_token();
    }
}

/// A brand key whose percent escapes decode to invalid UTF-8 must get the same JSON errors as
/// any other unknown brand (400 `invalid_request` at the token endpoint, a JSON 4xx elsewhere).
#[tokio::test]
async fn non_utf8_brand_keys_get_oauth_errors() {
    for fixture in Fixture::all().await {
        fixture.create_brand("acme", &[]);
        let client = fixture.create_client("acme", &["--grant", "client_credentials"]);
        let server = fixture.serve().await;
        let authorization = format!("Basic {}", STANDARD.encode(format!("{}:{}", client.id, client.secret)));
        let mut problems = Vec::new();
        for key in ["%FF%FE", "acme%C0%AF", "%ED%A0%80"] {
            for probe in brand_key_probes(key, authorization.as_bytes()) {
                problems.extend(probe.problem(&probe.send(&server.public_url).await));
            }
        }
        assert!(problems.is_empty(), "[{}] unacceptable answers:\n{}", fixture.name(), problems.join("\n"));
    }
}

/// Every hostile request sent with `reqwest`.
fn probes(client: &ClientCredentials) -> Vec<Probe> {
    use Expect::{ClientError, Status};
    let basic = |text: &[u8]| format!("Basic {}", STANDARD.encode(text)).into_bytes();
    let valid_basic = basic(format!("{}:{}", client.id, client.secret).as_bytes());
    let grant = "grant_type=client_credentials";

    let mut probes = vec![
        Probe::token("JSON body", r#"{"grant_type":"client_credentials"}"#, Status(400))
            .content_type(Some("application/json")),
        Probe::token("no content type", grant, Status(400)).content_type(None),
        Probe::token("text/plain", grant, Status(400)).content_type(Some("text/plain")),
        Probe::token("multipart", grant, Status(400)).content_type(Some("multipart/form-data; boundary=x")),
        Probe::token("3 MB body", vec![b'a'; 3 * 1024 * 1024], Status(413)),
        Probe::token("grant_type twice", format!("{grant}&{grant}"), Status(400)).authorization(&valid_basic),
        Probe::token("client_id twice", format!("{grant}&client_id=a&client_id=b&client_secret=s"), Status(400)),
        Probe::token("empty body", "", Status(400)).authorization(&valid_basic),
        Probe::token("Basic with bad base64", grant, Status(401)).authorization(b"Basic !!!not*base64!!!"),
        Probe::token("Basic without colon", grant, Status(401)).authorization(&basic(b"just-an-id")),
        Probe::token("Basic with empty id", grant, Status(401)).authorization(&basic(b":secret")),
        Probe::token("Basic with non-UTF-8", grant, Status(401)).authorization(&basic(&[0xff, b':', 0xfe])),
        Probe::token("Basic with bad escape", grant, Status(401)).authorization(&basic(b"a%zz:b")),
        Probe::token("Basic scheme alone", grant, Status(401)).authorization(b"Basic"),
        Probe::token("Bearer authorization", grant, Status(401)).authorization(b"Bearer xyz"),
        Probe::token("obs-text header", grant, Status(401)).authorization(b"Basic \xff\xfe\xfd"),
        Probe::token(
            "non-UTF-8 escapes in credentials",
            format!("{grant}&client_id=%FF%FE&client_secret=%C0%AF"),
            Status(401),
        ),
        Probe::token("non-UTF-8 grant_type", "grant_type=%FF%FE", Status(400)).authorization(&valid_basic),
        Probe::token("broken escapes", "grant_type=%zz%&scope=%", Status(400)).authorization(&valid_basic),
        Probe::token("NUL bytes", "grant_type=client%00credentials&scope=a%00b", Status(400))
            .authorization(&valid_basic),
        Probe::token("only separators", "&&&===&&", Status(400)).authorization(&valid_basic),
        Probe::token("many distinct parameters", many_parameters(60 * 1024), Status(400)).authorization(&valid_basic),
        Probe::token("random bytes", random_bytes(1, 4096), ClientError),
        Probe::token("random bytes, authenticated", random_bytes(2, 4096), ClientError).authorization(&valid_basic),
        Probe::token("random bytes, octet-stream", random_bytes(3, 4096), ClientError)
            .content_type(Some("application/octet-stream")),
        Probe::at("GET on the token endpoint", Method::GET, TOKEN_PATH.into(), Status(405)),
        Probe::at("PUT on the token endpoint", Method::PUT, TOKEN_PATH.into(), Status(405)),
        Probe::at(
            "POST on discovery",
            Method::POST,
            "/brands/acme/.well-known/openid-configuration".into(),
            Status(405),
        ),
        Probe::at("DELETE on the JWKS", Method::DELETE, "/brands/acme/jwks.json".into(), Status(405)),
        Probe::token("query token endpoint with non-UTF-8 brand", grant, Status(400))
            .with_path("/oauth/token?brand_key=%FF%FE".into()),
        Probe::token("query token endpoint with broken query", grant, Status(400))
            .with_path("/oauth/token?%%%&brand_key".into()),
    ];

    let long_key = "k".repeat(8 * 1024);
    let odd_keys = [
        long_key.as_str(),
        "%2e%2e",
        "..%2fsystem",
        "acme%2F..%2Fsystem",
        "a%00b",
        "%20acme",
        "acme%3Fbrand_key%3Dacme",
        "%F0%9F%92%A9",
        "%25",
        "-acme",
    ];
    probes.extend(odd_keys.into_iter().flat_map(|key| brand_key_probes(key, &valid_basic)));
    probes
}

/// A token request at brand `key` (a path segment, percent-encoded as needed) and `GET`s of its
/// discovery document and JWKS.
fn brand_key_probes(key: &str, authorization: &[u8]) -> Vec<Probe> {
    let shown: String = key.chars().take(24).collect();
    let grant = "grant_type=client_credentials";
    let mut probes = vec![
        Probe::token(&format!("token endpoint of brand '{shown}'"), grant, Expect::Status(400))
            .with_path(format!("/brands/{key}/oauth/token"))
            .authorization(authorization),
    ];
    for path in [
        format!("/brands/{key}/.well-known/openid-configuration"),
        format!("/.well-known/oauth-authorization-server/brands/{key}"),
        format!("/brands/{key}/jwks.json"),
    ] {
        probes.push(Probe::at(&format!("GET of brand '{shown}'"), Method::GET, path, Expect::ClientError));
    }
    probes
}

/// Requests `reqwest` cannot send: a lying `Content-Length` and an oversized chunked body.
fn raw_requests() -> Vec<(&'static str, Vec<u8>, u16)> {
    let head = |extra: &str| {
        format!(
            "POST {TOKEN_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\nConnection: close\r\n{extra}\r\n"
        )
        .into_bytes()
    };
    let declared_huge = [head("Content-Length: 1099511627776\r\n"), b"grant_type=x".to_vec()].concat();
    let mut chunked = head("Transfer-Encoding: chunked\r\n");
    let chunk = vec![b'a'; 64 * 1024];
    for _ in 0..3 {
        chunked.extend(format!("{:x}\r\n", chunk.len()).into_bytes());
        chunked.extend(&chunk);
        chunked.extend(b"\r\n");
    }
    chunked.extend(b"0\r\n\r\n");
    vec![("declared 1 TiB body", declared_huge, 413), ("192 KiB chunked body", chunked, 413)]
}

/// Sends raw bytes and reads the whole response: the status and the (de-chunked) body.
fn raw_exchange(server: &Server, request: &[u8]) -> (u16, String) {
    let address = server.public_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    // The server may answer before reading everything; a failed write is then expected.
    drop(stream.write_all(request));
    let mut response = Vec::new();
    drop(stream.read_to_end(&mut response));
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP response: {text:?}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status: {head}"));
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.into() };
    (status, body)
}

/// Joins the chunks of a chunked body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// `p0=v&p1=v&…`, about `size` bytes of distinct names.
fn many_parameters(size: usize) -> String {
    let mut body = String::with_capacity(size + 16);
    let mut i = 0;
    while body.len() < size {
        body.push_str(&format!("p{i}=v&"));
        i += 1;
    }
    body
}

/// Reproducible noise (xorshift64).
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}
