//! The login page in a real browser: headless Chromium, driven over WebDriver by fantoccini,
//! signs a user in through the authorization code flow with PKCE on two brands with different
//! branding, then comes back with the login session (single sign-on); sees the error page of a
//! request with an unregistered redirect URI; signs out through the confirmation page, and with
//! an `id_token_hint` straight to the post-logout redirect URI without touching the other brand's
//! session; and lays the login page out at phone width. Screenshots land in
//! `target/screenshots/`. [`Browser`] and its helpers serve the console's browser test
//! (`console.rs`) too.
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

/// The login session cookie (`crates/token-server/src/cookies.rs`).
const SESSION_COOKIE: &str = "portcullis_session";

/// Set to `1` to let the browser test pass on a machine without `chromedriver`.
const SKIP_VARIABLE: &str = "PORTCULLIS_SKIP_BROWSER_TESTS";

/// Debian's Chromium launcher; when it is absent, chromedriver looks for a browser itself.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The browser window's size, as `--window-size` in [`CHROMIUM_FLAGS`] sets it.
pub(crate) const WINDOW_WIDTH: u32 = 1024;
pub(crate) const WINDOW_HEIGHT: u32 = 800;

/// A phone's viewport (an iPhone 12 to 15), for narrow layouts.
pub(crate) const PHONE_WIDTH: u32 = 390;
pub(crate) const PHONE_HEIGHT: u32 = 844;

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

/// A redirect URI no client registered; the browser must never be sent there.
const EVIL_REDIRECT_URI: &str = "https://evil.example/cb";

/// The HTTP status of the current document (Navigation Timing Level 2 `responseStatus`).
const NAVIGATION_STATUS: &str = "return performance.getEntriesByType('navigation')[0].responseStatus;";

/// Whether the page fits the viewport's width: the element `arguments[0]` (a CSS selector)
/// within it, and no horizontal scrolling.
const PHONE_LAYOUT: &str = "
    const element = document.querySelector(arguments[0]).getBoundingClientRect();
    return {
        innerWidth: window.innerWidth,
        elementLeft: element.left,
        elementRight: element.right,
        scrollWidth: document.documentElement.scrollWidth,
        elementFits: element.left >= 0 && element.right <= window.innerWidth,
        noSideScroll: document.documentElement.scrollWidth <= window.innerWidth,
    };";

/// The height of the page's content and of the viewport, in CSS pixels.
const PAGE_HEIGHTS: &str = "return [document.documentElement.scrollHeight, window.innerHeight];";

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
                "--post-logout-redirect-uri",
                &callback.signed_out_url,
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

        // The login page, in the brand's colours.
        let request = AuthorizationRequest::new(&issuer, client, &callback.url, &[]);
        browser.goto(&request.url).await.unwrap_or_else(|e| panic!("open {}: {e}", request.url));
        browser.wait_for_login_page(brand.key).await;
        let heading = browser.find(Locator::Css("h1")).await.expect("an <h1>").text().await.expect("<h1> text");
        assert!(heading.contains(brand.display_name), "[{}] <h1> is {heading:?}", brand.key);
        browser.assert_branded(brand, "login page").await;
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
        let again = AuthorizationRequest::new(&issuer, client, &callback.url, &[]);
        browser.goto(&again.url).await.unwrap_or_else(|e| panic!("open {}: {e}", again.url));
        let second = browser.wait_for_callback(&callback, &again, brand.key).await;
        assert_ne!(code, second, "[{}] a code is issued once", brand.key);
        again.redeem(&second, client, brand.key).await;

        // An unregistered redirect URI: an error page on the server, in the brand's look, and
        // no way to the unregistered address (even with a session, which could issue a code).
        let evil = AuthorizationRequest::new(&issuer, client, EVIL_REDIRECT_URI, &[]);
        browser.goto(&evil.url).await.unwrap_or_else(|e| panic!("open {}: {e}", evil.url));
        browser.wait_for_heading(&format!("{}-error-page", brand.key), "This sign-in link is not valid").await;
        let url = browser.current_url().await.expect("current URL");
        assert_eq!(url.as_str(), evil.url, "[{}] the browser left the authorization request", brand.key);
        assert_eq!(browser.status().await, 400, "[{}] the error page's HTTP status", brand.key);
        browser.assert_branded(brand, "error page").await;
        let links = browser.find_all(Locator::Css("a[href*='evil.example'], form")).await.expect("links");
        assert!(links.is_empty(), "[{}] the error page links or posts somewhere", brand.key);
        assert!(
            browser.find(Locator::Css("[role=alert]")).await.is_ok(),
            "[{}] the error page's message is not an alert",
            brand.key
        );
        browser.screenshot(&format!("error-{}", brand.key)).await;

        // Signing out without an id_token_hint: the user confirms on a page first.
        let logout = format!("{issuer}/logout");
        browser.goto(&logout).await.unwrap_or_else(|e| panic!("open {logout}: {e}"));
        browser.wait_for_heading(&format!("{}-logout-confirmation", brand.key), "Sign out").await;
        browser.assert_branded(brand, "sign-out confirmation").await;
        assert!(browser.has_session().await, "[{}] a bare GET of the logout page signed the user out", brand.key);
        let form = browser.find(Locator::Css("form")).await.expect("a sign-out <form>");
        let method = form.attr("method").await.expect("method").map(|m| m.to_lowercase());
        assert_eq!(method.as_deref(), Some("post"), "[{}] the sign-out form posts", brand.key);
        let action = form.attr("action").await.expect("action").unwrap_or_default();
        assert_eq!(action, format!("/brands/{}/logout", brand.key), "[{}] the sign-out form's action", brand.key);
        let button = browser.find(Locator::Css("form button[type=submit]")).await.expect("a submit button");
        assert_eq!(button.text().await.expect("button text"), "Sign out", "[{}] the button", brand.key);
        browser.screenshot(&format!("logout-confirm-{}", brand.key)).await;
        browser.submit(&format!("{}-sign-out", brand.key), "").await;
        browser.wait_for_heading(&format!("{}-signed-out", brand.key), "Signed out").await;
        browser.assert_branded(brand, "signed-out page").await;
        assert!(!browser.has_session().await, "[{}] the session cookie survived signing out", brand.key);
        browser.screenshot(&format!("signed-out-{}", brand.key)).await;

        // The session is gone on the server too: `prompt=none` comes back with login_required.
        let silent = AuthorizationRequest::new(&issuer, client, &callback.url, &[("prompt", "none")]);
        browser.goto(&silent.url).await.unwrap_or_else(|e| panic!("open {}: {e}", silent.url));
        let error = browser.wait_for_callback_error(&callback, &silent, brand.key).await;
        assert_eq!(error, "login_required", "[{}] prompt=none after signing out", brand.key);
    }

    // Both brands signed in again, each with its own session.
    let [(acme, acme_client), (globex, globex_client)] = [0, 1].map(|i| (&BRANDS[i], &clients[i]));
    let globex_issuer = fixture.issuer(globex.key);
    let request = AuthorizationRequest::new(&globex_issuer, globex_client, &callback.url, &[]);
    browser.goto(&request.url).await.unwrap_or_else(|e| panic!("open {}: {e}", request.url));
    browser.wait_for_login_page(globex.key).await;
    browser.sign_in("alice", globex.password).await;
    let code = browser.wait_for_callback(&callback, &request, globex.key).await;
    let globex_id_token = request.redeem(&code, globex_client, globex.key).await;

    // The login page at phone width (with `prompt=login`, which shows the form even to a
    // signed-in user; acme has no session here): nothing sticks out sideways. Then acme is
    // signed in again.
    browser.set_window_size(PHONE_WIDTH, PHONE_HEIGHT).await.expect("a phone-sized window");
    let acme_issuer = fixture.issuer(acme.key);
    let request = AuthorizationRequest::new(&acme_issuer, acme_client, &callback.url, &[("prompt", "login")]);
    browser.goto(&request.url).await.unwrap_or_else(|e| panic!("open {}: {e}", request.url));
    browser.wait_for_login_page(acme.key).await;
    browser.screenshot(&format!("login-{}-phone", acme.key)).await;
    browser.assert_fits_phone(&format!("[{}] the login page", acme.key), "button[type=submit]").await;
    browser.sign_in("alice", acme.password).await;
    let code = browser.wait_for_callback(&callback, &request, acme.key).await;
    request.redeem(&code, acme_client, acme.key).await;
    browser.set_window_size(WINDOW_WIDTH, WINDOW_HEIGHT).await.expect("restore the window size");

    // Signing out of globex with an id_token_hint for the signed-in user: no confirmation page,
    // straight to the registered post-logout redirect URI with the state.
    let mut logout = reqwest::Url::parse(&format!("{globex_issuer}/logout")).expect("logout URL");
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", &globex_id_token)
        .append_pair("post_logout_redirect_uri", &callback.signed_out_url)
        .append_pair("state", "bye");
    browser.goto(logout.as_str()).await.unwrap_or_else(|e| panic!("open {logout}: {e}"));
    let url = browser.current_url().await.expect("current URL");
    assert_eq!(
        url.as_str(),
        format!("{}?state=bye", callback.signed_out_url),
        "[{}] a logout with id_token_hint did not go straight to the post-logout redirect URI",
        globex.key
    );
    assert_eq!(callback.signed_out(), ["state=bye"], "[{}] the post-logout redirect URI's requests", globex.key);

    // globex's session is gone; acme's is not.
    let silent = AuthorizationRequest::new(&globex_issuer, globex_client, &callback.url, &[("prompt", "none")]);
    browser.goto(&silent.url).await.unwrap_or_else(|e| panic!("open {}: {e}", silent.url));
    let error = browser.wait_for_callback_error(&callback, &silent, globex.key).await;
    assert_eq!(error, "login_required", "[{}] prompt=none after the hinted logout", globex.key);
    let silent = AuthorizationRequest::new(&acme_issuer, acme_client, &callback.url, &[("prompt", "none")]);
    browser.goto(&silent.url).await.unwrap_or_else(|e| panic!("open {}: {e}", silent.url));
    let code = browser.wait_for_callback(&callback, &silent, acme.key).await;
    silent.redeem(&code, acme_client, acme.key).await;
    drop(server);
}

/// An authorization request with fresh `state`, `nonce` and PKCE verifier, and `extra`
/// parameters (e.g. `prompt`).
struct AuthorizationRequest {
    url: String,
    issuer: String,
    redirect_uri: String,
    state: String,
    nonce: String,
    verifier: String,
}

impl AuthorizationRequest {
    fn new(issuer: &str, client: &ClientCredentials, redirect_uri: &str, extra: &[(&str, &str)]) -> Self {
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
            .append_pair("code_challenge_method", "S256")
            .extend_pairs(extra);
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

    /// Exchanges `code` at the token endpoint, checks the ID token's `nonce`, `aud` and `iss`,
    /// and returns the ID token.
    async fn redeem(&self, code: &str, client: &ClientCredentials, brand: &str) -> String {
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
        id_token.to_owned()
    }
}

/// The relying party's redirect URI (`/callback`: answers "signed in") and post-logout redirect
/// URI (`/signed-out`); each remembers the query strings it received.
struct Callback {
    url: String,
    signed_out_url: String,
    queries: Requests,
    signed_out: Requests,
    task: JoinHandle<()>,
}

/// The query strings one path of [`Callback`] received, in order.
type Requests = Arc<Mutex<Vec<String>>>;

impl Callback {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the callback listener");
        let port = listener.local_addr().expect("callback address").port();
        let queries = Requests::default();
        let signed_out = Requests::default();
        let app = Router::new()
            .route("/callback", get(record_callback).with_state(Arc::clone(&queries)))
            .route("/signed-out", get(record_signed_out).with_state(Arc::clone(&signed_out)));
        let task = tokio::spawn(async move {
            drop(axum::serve(listener, app).await);
        });
        Self {
            url: format!("http://127.0.0.1:{port}/callback"),
            signed_out_url: format!("http://127.0.0.1:{port}/signed-out"),
            queries,
            signed_out,
            task,
        }
    }

    /// The query strings `/callback` received so far.
    fn queries(&self) -> Vec<String> {
        self.queries.lock().map(|q| q.clone()).unwrap_or_default()
    }

    /// The query strings `/signed-out` received so far.
    fn signed_out(&self) -> Vec<String> {
        self.signed_out.lock().map(|q| q.clone()).unwrap_or_default()
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record_callback(State(queries): State<Requests>, RawQuery(query): RawQuery) -> Html<&'static str> {
    record(&queries, query);
    Html("<!doctype html><title>signed in</title><h1>signed in</h1>")
}

async fn record_signed_out(State(queries): State<Requests>, RawQuery(query): RawQuery) -> Html<&'static str> {
    record(&queries, query);
    Html("<!doctype html><title>signed out</title><h1>signed out</h1>")
}

fn record(queries: &Requests, query: Option<String>) {
    if let Ok(mut queries) = queries.lock() {
        queries.push(query.unwrap_or_default());
    }
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

    /// Saves a PNG of the whole page at the window's width (the window made as tall as the
    /// content for the shot) as `target/screenshots/{name}.png` and returns its path.
    pub(crate) async fn screenshot_page(&self, name: &str) -> PathBuf {
        let (_, _, width, height) = self.client.get_window_rect().await.expect("the window's size");
        let heights = self.client.execute(PAGE_HEIGHTS, vec![]).await.expect("the page's height");
        let [content, viewport] = [0, 1].map(|i| heights[i].as_u64().unwrap_or_else(|| panic!("heights {heights}")));
        let tall = height + content.saturating_sub(viewport);
        let size = |pixels: u64| u32::try_from(pixels).expect("a window size");
        if tall > height {
            self.client.set_window_size(size(width), size(tall)).await.expect("a window as tall as the page");
        }
        let path = self.screenshot(name).await;
        if tall > height {
            self.client.set_window_size(size(width), size(height)).await.expect("the window's size back");
        }
        path
    }

    /// The HTTP status of the current document.
    pub(crate) async fn status(&self) -> u64 {
        let status = self.client.execute(NAVIGATION_STATUS, vec![]).await.expect("the navigation's status");
        status.as_u64().unwrap_or_else(|| panic!("no navigation status: {status}"))
    }

    /// Checks, in a phone-sized window, that nothing on the page scrolls sideways and that the
    /// element `selector` fits the width (`what` names the page in messages).
    pub(crate) async fn assert_fits_phone(&self, what: &str, selector: &str) {
        let layout = self.client.execute(PHONE_LAYOUT, vec![json!(selector)]).await.expect("the layout at phone width");
        assert_eq!(layout["innerWidth"], json!(PHONE_WIDTH), "{what}: the viewport is not phone-sized: {layout}");
        assert_eq!(layout["elementFits"], json!(true), "{what}: {selector} sticks out: {layout}");
        assert_eq!(layout["noSideScroll"], json!(true), "{what}: the page scrolls sideways: {layout}");
    }

    /// Types `value` into the (emptied) field `selector`.
    pub(crate) async fn fill(&self, selector: &str, value: &str) {
        let input = self.client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("{selector}: {e}"));
        input.clear().await.unwrap_or_else(|e| panic!("clear {selector}: {e}"));
        input.send_keys(value).await.unwrap_or_else(|e| panic!("type into {selector}: {e}"));
    }

    /// Fills the login form and submits it, then waits until a new document has loaded.
    async fn sign_in(&self, username: &str, password: &str) {
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        // Chromium applies a `form-action` CSP to the redirects that follow the POST too, so
        // `form-action 'self'` leaves the browser on the form instead of at the client.
        let hint = "If the form stayed put, does a Content-Security-Policy `form-action` block the redirect?";
        self.submit(&format!("page-after-signing-in-as-{username}"), hint).await;
    }

    /// Clicks the page's (first) submit button, then waits until a new document has loaded
    /// (`name` and `hint` as in [`Self::eventually`]).
    async fn submit(&self, name: &str, hint: &str) {
        self.click_and_wait(Locator::Css("button[type=submit]"), name, hint).await;
    }

    /// Clicks `target` (a link or a submit button), then waits until a new document has loaded
    /// (`name` and `hint` as in [`Self::eventually`]).
    pub(crate) async fn click_and_wait(&self, target: Locator<'_>, name: &str, hint: &str) {
        self.mark_and_click(target, name).await;
        self.wait_for_new_page(name, hint).await;
    }

    /// Clicks `target`, a submit button whose form asks `window.confirm` first, accepts the
    /// dialog, waits until a new document has loaded, and returns the dialog's text.
    pub(crate) async fn confirm_and_wait(&self, target: Locator<'_>, name: &str) -> String {
        self.mark_and_click(target, name).await;
        let hint = "Expected a confirmation dialog (form[data-confirm] and console.js).";
        // Only alert commands here: any other command would dismiss the dialog.
        let text =
            self.eventually(&format!("{name}-dialog"), hint, async |client| client.get_alert_text().await.ok()).await;
        self.client.accept_alert().await.unwrap_or_else(|e| panic!("{name}: accept the dialog: {e}"));
        self.wait_for_new_page(name, "").await;
        text
    }

    /// Marks the current document, so that [`Self::wait_for_new_page`] tells it apart from the
    /// next one, and clicks `target`.
    async fn mark_and_click(&self, target: Locator<'_>, name: &str) {
        self.client.execute("window.portcullisOldPage = true;", vec![]).await.expect("mark the page");
        let element = self.client.find(target).await.unwrap_or_else(|e| panic!("{name}: no {target:?} to click: {e}"));
        element.click().await.unwrap_or_else(|e| panic!("{name}: click {target:?}: {e}"));
    }

    /// Waits until a document without [`Self::mark_and_click`]'s marker has loaded.
    async fn wait_for_new_page(&self, name: &str, hint: &str) {
        self.eventually(name, hint, async |client| {
            let script = "return window.portcullisOldPage !== true && document.readyState === 'complete';";
            client.execute(script, vec![]).await.is_ok_and(|loaded| loaded == Value::Bool(true)).then_some(())
        })
        .await;
    }

    /// Waits for an `<h1>` reading `expected`.
    pub(crate) async fn wait_for_heading(&self, name: &str, expected: &str) {
        let hint = format!("Expected an <h1> {expected:?}.");
        self.eventually(name, &hint, async |client| {
            let text = client.find(Locator::Css("h1")).await.ok()?.text().await.ok()?;
            (text.trim() == expected).then_some(())
        })
        .await;
    }

    /// Checks that the page is in `brand`'s look (its display name in the title, its primary
    /// colour in the style sheet) and does not name the other brand.
    async fn assert_branded(&self, brand: &BrandCase, what: &str) {
        let key = brand.key;
        let title = self.client.title().await.expect("the page title");
        assert!(title.contains(brand.display_name), "[{key}] the {what}'s title is {title:?}");
        let source = self.client.source().await.expect("page source");
        assert!(
            source.to_lowercase().contains(brand.primary_color),
            "[{key}] the primary colour {} is not in the {what}:\n{source}",
            brand.primary_color
        );
        for other in BRANDS.iter().filter(|b| b.key != key) {
            assert!(!source.contains(other.display_name), "[{key}] the {what} names brand {}", other.key);
        }
    }

    /// Whether the browser sends a login session cookie to the current page.
    async fn has_session(&self) -> bool {
        let cookies = self.client.get_all_cookies().await.expect("the cookies");
        cookies.iter().any(|c| c.name() == SESSION_COOKIE)
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
        let (url, query) = self.wait_for_callback_query(callback, request, brand).await;
        assert!(!query.contains_key("error"), "[{brand}] the callback got an error: {url}");
        let code = query.get("code").filter(|c| !c.is_empty());
        code.unwrap_or_else(|| panic!("[{brand}] no code: {url}")).clone()
    }

    /// Waits until the browser is at the callback; checks `state`, that there is no `code`, and
    /// returns the `error`.
    async fn wait_for_callback_error(
        &self,
        callback: &Callback,
        request: &AuthorizationRequest,
        brand: &str,
    ) -> String {
        let (url, query) = self.wait_for_callback_query(callback, request, brand).await;
        assert!(!query.contains_key("code"), "[{brand}] the callback got a code: {url}");
        query.get("error").unwrap_or_else(|| panic!("[{brand}] no error: {url}")).clone()
    }

    /// Waits until the browser is at the callback, checks `state`, and returns the URL and its
    /// query parameters.
    async fn wait_for_callback_query(
        &self,
        callback: &Callback,
        request: &AuthorizationRequest,
        brand: &str,
    ) -> (reqwest::Url, HashMap<String, String>) {
        let url = self
            .eventually(&format!("{brand}-callback"), "", async |client| {
                let url = client.current_url().await.ok()?;
                url.as_str().starts_with(&callback.url).then_some(url)
            })
            .await;
        let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(query.get("state"), Some(&request.state), "[{brand}] state: {url}");
        (url, query)
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
