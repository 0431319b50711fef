//! The login page in a real browser: headless Chromium, driven over WebDriver by fantoccini,
//! signs a user in through the authorization code flow with PKCE on two brands with different
//! branding, then comes back with the login session (single sign-on). Screenshots land in
//! `target/screenshots/`.
//!
//! The browser is Chromium with its `chromedriver` (Debian: `apt-get install chromium
//! chromium-driver`, which `.ci/run` does). Without `chromedriver` on `PATH` the test fails, unless
//! `PORTCULLIS_SKIP_BROWSER_TESTS=1` says to skip it on this machine.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener as StdTcpListener, TcpStream};
use std::ops::Deref;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fantoccini::{Client, ClientBuilder, Locator};
use oauth2::{CsrfToken, PkceCodeChallenge};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::fixture::{ClientCredentials, Fixture};
use crate::http::{self, Auth};
use crate::principals::create;

/// Set to `1` to let the browser test pass on a machine without `chromedriver`.
const SKIP_VARIABLE: &str = "PORTCULLIS_SKIP_BROWSER_TESTS";

/// Debian's Chromium launcher; when it is absent, chromedriver looks for a browser itself.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Headless, offline and quiet: no sandbox (CI runs as root), no GPU, no calls home.
const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1024,800",
];

/// How long chromedriver may take to answer `/status`.
const DRIVER_DEADLINE: Duration = Duration::from_secs(20);

/// How long a page may take to show what the test waits for.
const PAGE_DEADLINE: Duration = Duration::from_secs(20);

/// How often a waiting loop looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A brand of the test, with its own look and its own user.
struct BrandCase {
    key: &'static str,
    name: &'static str,
    display_name: &'static str,
    primary_color: &'static str,
    password: &'static str,
}

const BRANDS: [BrandCase; 2] = [
    BrandCase {
        key: "acme",
        name: "Acme",
        display_name: "Acme Rocket Works",
        primary_color: "#0b6e4f",
        password: "acme: correct horse battery",
    },
    BrandCase {
        key: "globex",
        name: "Globex",
        display_name: "Globex Staff Portal",
        primary_color: "#7a1fa2",
        password: "globex: staple tornado lamp",
    },
];

#[tokio::test]
async fn login_page_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let fixture = Fixture::sqlite();
    let callback = Callback::start().await;
    let mut clients = Vec::new();
    for brand in &BRANDS {
        fixture.create_brand(
            brand.key,
            &[
                "--name",
                brand.name,
                "--display-name",
                brand.display_name,
                "--primary-color",
                brand.primary_color,
                "--logo-url",
                "https://assets.example.com/logo.png",
            ],
        );
        clients.push(fixture.create_client(
            brand.key,
            &[
                "--grant",
                "authorization_code",
                "--grant",
                "refresh_token",
                "--scope",
                "openid",
                "--scope",
                "profile",
                "--scope",
                "email",
                "--redirect-uri",
                &callback.url,
            ],
        ));
        let user = create(
            &fixture,
            "user",
            brand.key,
            "alice",
            brand.password,
            &["--email", "alice@example.com", "--name", "Alice Example"],
        );
        assert!(user.status.success(), "user create on {}: {}", brand.key, String::from_utf8_lossy(&user.stderr));
    }
    let server = fixture.serve().await;

    // One browser for both brands: when the second brand's login page shows, the first
    // brand's session cookie (on the same host) did not sign the user in there.
    for (brand, client) in BRANDS.iter().zip(&clients) {
        let issuer = fixture.issuer(brand.key);
        let other = BRANDS.iter().find(|b| b.key != brand.key).expect("two brands");

        // The login page, in the brand's colours.
        let request = AuthorizationRequest::new(&issuer, client, &callback.url);
        browser.goto(&request.url).await.unwrap_or_else(|e| panic!("open {}: {e}", request.url));
        browser.wait_for_login_page(brand.key).await;
        let heading = browser.find(Locator::Css("h1")).await.expect("an <h1>").text().await.expect("<h1> text");
        assert!(heading.contains(brand.display_name), "[{}] <h1> is {heading:?}", brand.key);
        let source = browser.source().await.expect("page source");
        assert!(
            source.to_lowercase().contains(brand.primary_color),
            "[{}] the primary colour {} is not in the page:\n{source}",
            brand.key,
            brand.primary_color
        );
        assert!(!source.contains(other.display_name), "[{}] the page names brand {}", brand.key, other.key);
        let method = browser.find(Locator::Css("form")).await.expect("a <form>").attr("method").await.expect("method");
        assert_eq!(method.map(|m| m.to_lowercase()).as_deref(), Some("post"), "[{}] the form posts", brand.key);
        for (id, kind) in [("username", None), ("password", Some("password"))] {
            let input = browser.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("[{}] #{id}: {e}", brand.key));
            assert_eq!(input.attr("name").await.expect("name").as_deref(), Some(id), "[{}] #{id}", brand.key);
            if let Some(kind) = kind {
                assert_eq!(input.attr("type").await.expect("type").as_deref(), Some(kind), "[{}] #{id}", brand.key);
            }
        }
        browser.screenshot(&format!("login-{}", brand.key)).await;

        // A wrong password and an unknown user get the same generic message, the form again,
        // and no echo of the password.
        browser.sign_in("alice", "not the password").await;
        let wrong_password = browser.wait_for_alert(brand.key).await;
        browser.screenshot(&format!("login-{}-error", brand.key)).await;
        let field = browser.find(Locator::Id("password")).await.expect("#password after a failure");
        assert_eq!(field.prop("value").await.expect("value").unwrap_or_default(), "", "[{}] password kept", brand.key);
        assert!(!browser.source().await.expect("page source").contains("not the password"), "[{}] echoed", brand.key);
        browser.sign_in("mallory", "not the password").await;
        let unknown_user = browser.wait_for_alert(brand.key).await;
        assert_eq!(wrong_password, unknown_user, "[{}] the message tells users apart", brand.key);

        // The right password ends at the callback with a code and the state sent.
        browser.sign_in("alice", brand.password).await;
        let code = browser.wait_for_callback(&callback, &request, brand.key).await;
        assert!(
            callback.queries().iter().any(|q| q.contains(&format!("code={code}"))),
            "[{}] the callback listener did not see the code; it saw {:?}",
            brand.key,
            callback.queries()
        );
        request.redeem(&code, client, brand.key).await;

        // Again, with the session: straight to the callback, no form.
        let again = AuthorizationRequest::new(&issuer, client, &callback.url);
        browser.goto(&again.url).await.unwrap_or_else(|e| panic!("open {}: {e}", again.url));
        let second = browser.wait_for_callback(&callback, &again, brand.key).await;
        assert_ne!(code, second, "[{}] a code is issued once", brand.key);
        again.redeem(&second, client, brand.key).await;
    }
    drop(server);
}

/// An authorization request with fresh `state`, `nonce` and PKCE verifier.
struct AuthorizationRequest {
    url: String,
    issuer: String,
    redirect_uri: String,
    state: String,
    nonce: String,
    verifier: String,
}

impl AuthorizationRequest {
    fn new(issuer: &str, client: &ClientCredentials, redirect_uri: &str) -> Self {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random().secret().clone();
        let nonce = CsrfToken::new_random().secret().clone();
        let mut url = reqwest::Url::parse(&format!("{issuer}/oauth/authorize")).expect("authorize URL");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid profile email")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", "S256");
        // The form encoder writes a space as `+` (and a `+` as `%2B`); write spaces as `%20`.
        let url = url.as_str().replace('+', "%20");
        Self {
            url,
            issuer: issuer.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            state,
            nonce,
            verifier: verifier.secret().clone(),
        }
    }

    /// Exchanges `code` at the token endpoint and checks the ID token's `nonce`, `aud` and `iss`.
    async fn redeem(&self, code: &str, client: &ClientCredentials, brand: &str) {
        let params = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", self.verifier.as_str()),
        ];
        let reply = http::request_token(&format!("{}/oauth/token", self.issuer), Auth::Basic(client), &params).await;
        assert_eq!(reply.status.as_u16(), 200, "[{brand}] code exchange: {}", reply.text);
        let body = reply.body();
        assert!(body["access_token"].as_str().is_some_and(|t| t.split('.').count() == 3), "[{brand}] {body}");
        let id_token = body["id_token"].as_str().unwrap_or_else(|| panic!("[{brand}] no id_token: {body}"));
        let payload = id_token.split('.').nth(1).unwrap_or_else(|| panic!("[{brand}] not a JWS: {id_token}"));
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload")).expect("JSON claims");
        assert_eq!(claims["nonce"].as_str(), Some(self.nonce.as_str()), "[{brand}] {claims}");
        let audience_ok = match &claims["aud"] {
            Value::String(aud) => *aud == client.id,
            Value::Array(auds) => auds.iter().any(|a| *a == client.id.as_str()),
            _ => false,
        };
        assert!(audience_ok, "[{brand}] aud is not {}: {claims}", client.id);
        assert_eq!(claims["iss"].as_str(), Some(self.issuer.as_str()), "[{brand}] {claims}");
        assert!(claims["sub"].as_str().is_some_and(|s| !s.is_empty()), "[{brand}] no sub: {claims}");
    }
}

/// The relying party's redirect URI: answers "signed in" and remembers each query string.
struct Callback {
    url: String,
    queries: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Callback {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the callback listener");
        let port = listener.local_addr().expect("callback address").port();
        let queries = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new().route("/callback", get(record_callback)).with_state(Arc::clone(&queries));
        let task = tokio::spawn(async move {
            drop(axum::serve(listener, app).await);
        });
        Self { url: format!("http://127.0.0.1:{port}/callback"), queries, task }
    }

    /// The query strings received so far.
    fn queries(&self) -> Vec<String> {
        self.queries.lock().map(|q| q.clone()).unwrap_or_default()
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record_callback(
    State(queries): State<Arc<Mutex<Vec<String>>>>,
    RawQuery(query): RawQuery,
) -> Html<&'static str> {
    if let Ok(mut queries) = queries.lock() {
        queries.push(query.unwrap_or_default());
    }
    Html("<!doctype html><title>signed in</title><h1>signed in</h1>")
}

/// A headless Chromium session through a chromedriver child process of its own.
pub struct Browser {
    client: Client,
    /// Held for its `Drop`; declared after `client`, so it is dropped after it.
    _driver: Driver,
}

impl Browser {
    /// Starts chromedriver and a browser session; `None` when there is no chromedriver and
    /// [`SKIP_VARIABLE`] allows skipping. Fails the test when there is none otherwise.
    pub async fn start() -> Option<Self> {
        let driver = Driver::start()?;
        driver.wait_ready().await;
        let mut options = json!({ "args": CHROMIUM_FLAGS });
        if Path::new(CHROMIUM).exists() {
            options["binary"] = json!(CHROMIUM);
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "timeouts": { "pageLoad": 30_000, "script": 10_000, "implicit": 0 },
        });
        let capabilities = capabilities.as_object().expect("a JSON object").clone();
        let mut builder = ClientBuilder::rustls().unwrap_or_else(|e| {
            panic!("fantoccini's HTTP client (it loads the system CA certificates: is ca-certificates installed?): {e}")
        });
        let client = builder
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("a Chromium session through chromedriver at {}: {e}", driver.url));
        Some(Self { client, _driver: driver })
    }

    /// Saves a PNG of the viewport as `target/screenshots/{name}.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let directory = screenshot_directory();
        std::fs::create_dir_all(&directory).unwrap_or_else(|e| panic!("create {}: {e}", directory.display()));
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let path = directory.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Polls `probe` until it returns something, or fails the test with a screenshot
    /// (`failure-{name}.png`), the current URL, `hint` and the page source.
    pub async fn eventually<T>(&self, name: &str, hint: &str, mut probe: impl AsyncFnMut(&Client) -> Option<T>) -> T {
        let deadline = Instant::now() + PAGE_DEADLINE;
        loop {
            if let Some(found) = probe(&self.client).await {
                return found;
            }
            if Instant::now() >= deadline {
                let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| e.to_string());
                let source = self.client.source().await.unwrap_or_else(|e| e.to_string());
                let shot = self.screenshot(&format!("failure-{name}")).await;
                panic!(
                    "waited {PAGE_DEADLINE:?} for {name}; the browser is at {url} (screenshot {}). {hint}\npage:\n{source}",
                    shot.display()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits for the login form, and fails at once if the browser went on to the callback.
    async fn wait_for_login_page(&self, brand: &str) {
        self.eventually(&format!("{brand}-login-page"), "", async |client| {
            let url = client.current_url().await.ok()?;
            assert!(
                url.path() != "/callback",
                "[{brand}] the browser was signed in without the login form (a session of another brand?): {url}"
            );
            client.find(Locator::Id("password")).await.is_ok().then_some(())
        })
        .await;
    }

    /// Fills the login form and submits it, then waits until a new document has loaded.
    async fn sign_in(&self, username: &str, password: &str) {
        for (id, value) in [("username", username), ("password", password)] {
            let input = self.client.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}"));
            input.clear().await.unwrap_or_else(|e| panic!("clear #{id}: {e}"));
            input.send_keys(value).await.unwrap_or_else(|e| panic!("type into #{id}: {e}"));
        }
        // A marker on the old document tells it apart from the one the submission loads.
        self.client.execute("window.portcullisOldPage = true;", vec![]).await.expect("mark the page");
        let submit = self.client.find(Locator::Css("button[type=submit]")).await.expect("a submit button");
        submit.click().await.expect("click the submit button");
        // Chromium applies a `form-action` CSP to the redirects that follow the POST too, so
        // `form-action 'self'` leaves the browser on the form instead of at the client.
        let hint = "If the form stayed put, does a Content-Security-Policy `form-action` block the redirect?";
        self.eventually(&format!("page-after-signing-in-as-{username}"), hint, async |client| {
            let script = "return window.portcullisOldPage !== true && document.readyState === 'complete';";
            client.execute(script, vec![]).await.is_ok_and(|loaded| loaded == Value::Bool(true)).then_some(())
        })
        .await;
    }

    /// Waits for the login form's `[role=alert]` and returns its text (not empty).
    async fn wait_for_alert(&self, brand: &str) -> String {
        let text = self
            .eventually(&format!("{brand}-alert"), "", async |client| {
                client.find(Locator::Css("[role=alert]")).await.ok()?.text().await.ok()
            })
            .await;
        assert!(!text.trim().is_empty(), "[{brand}] an empty alert");
        let url = self.client.current_url().await.expect("current URL");
        assert_ne!(url.path(), "/callback", "[{brand}] a failed sign-in reached the callback");
        self.client.find(Locator::Id("password")).await.unwrap_or_else(|e| panic!("[{brand}] no form again: {e}"));
        text
    }

    /// Waits until the browser is at the callback; checks `state` and returns the `code`.
    async fn wait_for_callback(&self, callback: &Callback, request: &AuthorizationRequest, brand: &str) -> String {
        let url = self
            .eventually(&format!("{brand}-callback"), "", async |client| {
                let url = client.current_url().await.ok()?;
                url.as_str().starts_with(&callback.url).then_some(url)
            })
            .await;
        let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert!(!query.contains_key("error"), "[{brand}] the callback got an error: {url}");
        assert_eq!(query.get("state"), Some(&request.state), "[{brand}] state: {url}");
        let code = query.get("code").filter(|c| !c.is_empty());
        code.unwrap_or_else(|| panic!("[{brand}] no code: {url}")).clone()
    }
}

impl Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// `<workspace>/target/screenshots`.
fn screenshot_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
}

/// A chromedriver child process in a process group of its own; on drop it quits its browsers
/// and the group is killed.
struct Driver {
    child: Child,
    port: u16,
    url: String,
}

impl Driver {
    fn start() -> Option<Self> {
        let port = {
            let listener = StdTcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
            listener.local_addr().expect("local address").port()
        };
        let spawned = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if std::env::var(SKIP_VARIABLE).is_ok_and(|v| v == "1") {
                    eprintln!("note: no chromedriver on PATH and {SKIP_VARIABLE}=1: the browser test is skipped");
                    return None;
                }
                panic!(
                    "chromedriver is not on PATH, so the login page cannot be tested in a browser. Install \
                     Chromium and its driver (Debian: `apt-get install chromium chromium-driver`, as .ci/run \
                     does), or set {SKIP_VARIABLE}=1 to skip the browser test on this machine."
                );
            }
            Err(e) => panic!("start chromedriver: {e}"),
        };
        Some(Self { child, port, url: format!("http://127.0.0.1:{port}") })
    }

    /// Waits until `/status` says the driver is ready for sessions.
    async fn wait_ready(&self) {
        let client = http::client();
        let status_url = format!("{}/status", self.url);
        let deadline = Instant::now() + DRIVER_DEADLINE;
        loop {
            let reply = client.get(&status_url).send().await;
            if let Ok(reply) = reply
                && let Ok(status) = reply.json::<Value>().await
                && status["value"]["ready"] == true
            {
                return;
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer {status_url} within {DRIVER_DEADLINE:?}");
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// chromedriver's `GET /shutdown`: it closes its sessions (and their browsers) and exits.
    fn request_shutdown(&self) -> std::io::Result<()> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        let request = format!("GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n", self.port);
        stream.write_all(request.as_bytes())?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply)?;
        Ok(())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Errors mean the driver is already gone; the group kill below cleans up after it.
        drop(self.request_shutdown());
        // Browser processes chromedriver left behind are in its process group; the group id
        // (its pid) cannot be reused until the child is reaped below.
        let group = format!("-{}", self.child.id());
        drop(Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status());
        drop(self.child.kill());
        drop(self.child.wait());
    }
}
