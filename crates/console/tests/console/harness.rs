//! A console over a fresh database (SQLite, and Postgres when `PORTCULLIS_TEST_POSTGRES_URL` is
//! set), and a minimal browser: a cookie jar, GET and form POST, and the CSRF token of the page
//! it last read.

use axum::Router;
use axum::body::Body;
use http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use portcullis_console::{ConsoleState, router};
use portcullis_credentials::master::MasterKey;
use portcullis_grants::keyring::KeyRing;
use portcullis_grants::provision::{Actor, bootstrap};
use portcullis_grants::{ClientAuthMethod, ClientCredentials, Clock, GrantContext, TokenDefaults, TokenRequest};
use portcullis_store::SeaStore;
use portcullis_store::testing::{self, TestDatabase};
use portcullis_tenancy::resolve_brand;
use tower::ServiceExt;

/// A console and the platform administrator's credentials.
pub struct Console {
    pub _db: TestDatabase,
    pub grants: GrantContext<SeaStore>,
    pub router: Router,
    pub admin_id: String,
    pub admin_secret: String,
}

/// One console per test database.
pub async fn consoles() -> Vec<Console> {
    let mut out = Vec::new();
    for db in testing::all().await {
        let grants = GrantContext {
            store: db.store().await,
            keys: KeyRing::new(MasterKey::generate().expect("randomness").0),
            defaults: TokenDefaults { access_ttl: 900, refresh_ttl: 3600, refresh_reuse_grace: 0, session_ttl: 3600 },
            public_url: "https://id.example.com".into(),
            clock: Clock::system(),
            throttle: portcullis_grants::throttle::Throttle::new(),
            feed: portcullis_grants::feed::RevocationSignal::new(),
            failure_audit: portcullis_grants::failure_audit::FailureAudit::default(),
        };
        let created = bootstrap(&grants.store, &grants.keys, false, &Actor::new("test"), 0).await.expect("bootstrap");
        let router = router(ConsoleState::new(grants.clone(), 64 * 1024));
        out.push(Console {
            _db: db,
            admin_id: created.client.client_id.to_string(),
            admin_secret: created.secret.expect("a confidential client").expose().to_owned(),
            grants,
            router,
        });
    }
    out
}

/// A response as the browser sees it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The value of the first `<input … id="{id}" … value="…">` (or `name=`) on the page.
    pub fn input(&self, id: &str) -> Option<String> {
        for marker in [format!("id=\"{id}\""), format!("name=\"{id}\"")] {
            if let Some(tag) = self.body.split('<').find(|t| t.starts_with("input") && t.contains(&marker)) {
                return tag.split("value=\"").nth(1).and_then(|v| v.split('"').next()).map(unescape);
            }
        }
        None
    }

    /// The text of the element with `id`.
    pub fn text_of(&self, id: &str) -> Option<String> {
        let start = self.body.find(&format!("id=\"{id}\""))?;
        let rest = &self.body[start..];
        let text = rest.split_once('>')?.1.split('<').next()?;
        Some(unescape(text.trim()))
    }

    /// Asserts a successful page with the console's security headers.
    pub fn assert_page(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "{}", self.body);
        let header = |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(header("content-security-policy").contains("default-src 'none'"), "CSP on every page");
        assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
        assert_eq!(header("cache-control"), "no-store");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert!(header("content-type").starts_with("text/html"));
        self
    }
}

fn unescape(text: &str) -> String {
    text.replace("&#38;", "&")
        .replace("&#43;", "+")
        .replace("&#x2b;", "+")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A browser: cookies and the CSRF token of the last page.
pub struct Browser<'a> {
    console: &'a Console,
    cookies: Vec<(String, String)>,
    pub csrf: String,
}

impl<'a> Browser<'a> {
    pub fn new(console: &'a Console) -> Self {
        Self { console, cookies: Vec::new(), csrf: String::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// Sends a request built by `build`, keeps its cookies and the page's CSRF token.
    pub async fn send(&mut self, request: http::request::Builder, body: Body) -> Page {
        let request = request.header(COOKIE, self.cookie_header()).body(body).expect("request");
        let response = self.console.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all(SET_COOKIE) {
            let text = set.to_str().expect("ascii cookie");
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            self.cookies.retain(|(k, _)| k != name);
            if !attributes.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let page = Page { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() };
        if let Some(csrf) = page.input("csrf") {
            self.csrf = csrf;
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Request::get(path), Body::empty()).await
    }

    /// Posts `fields` and this browser's CSRF token as a form.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly `fields`.
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let request = Request::post(path).header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.send(request, Body::from(body)).await
    }

    /// Follows a redirect.
    pub async fn follow(&mut self, page: &Page) -> Page {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let location = page.location().to_owned();
        self.get(&location).await
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Forgets every cookie.
    pub fn clear_cookies(&mut self) {
        self.cookies.clear();
    }

    /// Signs in with a client of `brand`; returns the page the sign-in redirected to.
    pub async fn sign_in(&mut self, brand: &str, id: &str, secret: &str) -> Page {
        self.get("/console/sign-in").await.assert_page(StatusCode::OK);
        let done =
            self.post("/console/sign-in", &[("brand", brand), ("client_id", id), ("client_secret", secret)]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/console?signed-in=1");
        let home = self.follow(&done).await;
        self.follow(&home).await
    }
}

/// Signs in as the platform administrator.
pub async fn platform_admin(console: &Console) -> Browser<'_> {
    let mut browser = Browser::new(console);
    let brands = browser.sign_in("system", &console.admin_id, &console.admin_secret).await;
    brands.assert_page(StatusCode::OK);
    browser
}

/// A `client_credentials` token request at `brand`.
pub async fn token(
    console: &Console,
    brand: &str,
    id: &str,
    secret: &str,
) -> Result<portcullis_grants::TokenResponse, portcullis_grants::GrantError> {
    let key = portcullis_core::BrandKey::parse(brand).expect("brand key");
    let scope = resolve_brand(&console.grants.store, &key).await.expect("store").expect("brand");
    let credentials = ClientCredentials { client_id: id.into(), secret: secret.into(), method: ClientAuthMethod::Post };
    let request = TokenRequest { grant_type: Some("client_credentials".into()), ..TokenRequest::default() };
    portcullis_grants::exchange(&console.grants, &scope, Some(&credentials), &request).await
}

/// Whether `token` introspects as active at `brand`.
pub async fn active(console: &Console, brand: &str, token: &str) -> bool {
    let key = portcullis_core::BrandKey::parse(brand).expect("brand key");
    let scope = resolve_brand(&console.grants.store, &key).await.expect("store").expect("brand");
    portcullis_grants::introspect::introspect(&console.grants, &scope, token, None).await.expect("introspect").active
}

/// Creates brand `key` and, in it, a client with `scopes` through the console; returns
/// (client id, secret).
pub async fn brand_with_client(browser: &mut Browser<'_>, key: &str, scopes: &str) -> (String, String) {
    let created = browser.post("/console/brands", &[("key", key), ("name", &format!("{key} Inc"))]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    browser.follow(&created).await.assert_page(StatusCode::OK);
    create_client(browser, key, "svc", scopes).await
}

/// Creates a `client_credentials` client in `brand`; returns (client id, secret) from the
/// reveal page.
pub async fn create_client(browser: &mut Browser<'_>, brand: &str, name: &str, scopes: &str) -> (String, String) {
    browser.get(&format!("/console/brands/{brand}/clients/new")).await.assert_page(StatusCode::OK);
    let reveal = browser
        .post(
            &format!("/console/brands/{brand}/clients"),
            &[("name", name), ("grant_types", "client_credentials"), ("scopes", scopes), ("default_scopes", scopes)],
        )
        .await;
    reveal.assert_page(StatusCode::OK);
    let secret = reveal.input("secret").expect("the reveal page shows the secret");
    let id = reveal.text_of("revealed-for").expect("the reveal page names the client");
    (id, secret)
}
