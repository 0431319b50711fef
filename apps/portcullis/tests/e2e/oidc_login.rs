//! OpenID Connect login against the running binary: the `openidconnect` crate as the relying
//! party (discovery → authorization URL → the login form, posted as a browser would → code →
//! tokens → ID token verified with its nonce and `at_hash` → userinfo), every authorization
//! error, code binding and replay, CSRF, single sign-on with `prompt`/`max_age`, public
//! clients, the login throttle, and RP-initiated logout. On SQLite and Postgres.

use std::time::Duration;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::url::Url;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::fixture::{ClientCredentials, Fixture};
use crate::http::{Auth, Reply, request_token};
use crate::principals::create;

const CALLBACK: &str = "https://rp.example.com/callback";
const AFTER_LOGOUT: &str = "https://rp.example.com/signed-out";
const PASSWORD: &str = "correct horse battery";

/// A browser without JavaScript: follows no redirects by itself, keeps cookies by path.
struct UserAgent {
    http: reqwest::Client,
    /// (name, value, path)
    cookies: Vec<(String, String, String)>,
}

impl UserAgent {
    fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("HTTP client");
        Self { http, cookies: Vec::new() }
    }

    fn cookie_header(&self, url: &str) -> String {
        let path = Url::parse(url).expect("URL").path().to_owned();
        let sent: Vec<String> = self
            .cookies
            .iter()
            .filter(|(_, _, p)| path == *p || path.starts_with(&format!("{p}/")))
            .map(|(n, v, _)| format!("{n}={v}"))
            .collect();
        sent.join("; ")
    }

    fn keep_cookies(&mut self, reply: &Reply) {
        for header in reply.headers.get_all(SET_COOKIE) {
            let text = header.to_str().expect("ASCII cookie");
            let mut parts = text.split(';').map(str::trim);
            let (name, value) = parts.next().and_then(|p| p.split_once('=')).expect("name=value");
            let attributes: Vec<&str> = parts.collect();
            let path = attributes.iter().find_map(|a| a.strip_prefix("Path=")).unwrap_or("/").to_owned();
            assert!(attributes.contains(&"HttpOnly"), "cookie {name} must be HttpOnly: {text}");
            assert!(attributes.iter().any(|a| a.starts_with("SameSite=")), "cookie {name} needs SameSite: {text}");
            self.cookies.retain(|(n, _, p)| !(n == name && *p == path));
            if !attributes.contains(&"Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned(), path));
            }
        }
    }

    fn has_cookie(&self, name: &str) -> bool {
        self.cookies.iter().any(|(n, _, _)| n == name)
    }

    async fn get(&mut self, url: &str) -> Reply {
        let request = self.http.get(url).header(COOKIE, self.cookie_header(url));
        let reply = Reply::read(request.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"))).await;
        self.keep_cookies(&reply);
        reply
    }

    async fn post(&mut self, url: &str, form: &[(String, String)]) -> Reply {
        let request = self.http.post(url).header(COOKIE, self.cookie_header(url)).form(form);
        let reply = Reply::read(request.send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"))).await;
        self.keep_cookies(&reply);
        reply
    }

    /// Fills in and submits the login form of `page` (as a browser would: every hidden field,
    /// plus the credentials) and returns the answer.
    async fn submit_login(&mut self, base: &str, page: &Reply, username: &str, password: &str) -> Reply {
        let (action, mut fields) = form_of(&page.text);
        fields.retain(|(n, _)| n != "username" && n != "password");
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), password.into()));
        self.post(&format!("{base}{action}"), &fields).await
    }
}

/// The `action` and the hidden fields of the first form in `html`.
fn form_of(html: &str) -> (String, Vec<(String, String)>) {
    let action = attribute(html.split("<form").nth(1).expect("a form"), "action");
    let fields = html
        .split("<input type=\"hidden\"")
        .skip(1)
        .map(|input| (attribute(input, "name"), attribute(input, "value")))
        .collect();
    (action, fields)
}

fn attribute(tag: &str, name: &str) -> String {
    let start = tag.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name} in {tag}")) + name.len() + 2;
    let end = start + tag[start..].find('"').expect("closing quote");
    unescape(&tag[start..end])
}

fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').expect("entity end") + i;
        let entity = &rest[i + 1..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            numeric => {
                let code = numeric.strip_prefix('#').expect("numeric entity");
                char::from_u32(code.parse().expect("decimal")).expect("char")
            }
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The query parameters of a redirect's `Location`.
fn redirect_query(reply: &Reply) -> Vec<(String, String)> {
    assert_eq!(reply.status.as_u16(), 303, "expected a redirect: {} {}", reply.status, reply.text);
    let location = reply.header(LOCATION.as_str()).expect("Location");
    Url::parse(location).expect("absolute Location").query_pairs().into_owned().collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// A brand `key` with a web client (confidential) and a user alice.
fn brand_with_user(fixture: &Fixture, key: &str, colour: &str) -> ClientCredentials {
    fixture.create_brand(key, &["--display-name", &format!("{key} portal"), "--primary-color", colour]);
    let client = fixture.create_client(
        key,
        &[
            "--grant",
            "authorization_code",
            "refresh_token",
            "--scope",
            "openid profile email read",
            "--default-scope",
            "openid",
            "--redirect-uri",
            CALLBACK,
            "--post-logout-redirect-uri",
            AFTER_LOGOUT,
        ],
    );
    let out = create(
        fixture,
        "user",
        key,
        "alice",
        PASSWORD,
        &["--email", "alice@example.com", "--name", "Alice Example", "--permission", "read"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    client
}

/// An authorization URL by hand: `(url, state, verifier)`.
fn authorize_url(issuer: &str, client_id: &str, extra: &[(&str, &str)]) -> (String, String, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = CsrfToken::new_random().secret().clone();
    let mut url = Url::parse(&format!("{issuer}/oauth/authorize")).expect("URL");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("scope", "openid profile")
        .append_pair("state", &state)
        .append_pair("nonce", "n-0S6_WzA2Mj")
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    for (name, value) in extra {
        url.query_pairs_mut().append_pair(name, value);
    }
    (url.to_string(), state, verifier.secret().clone())
}

/// `url` with parameter `name` replaced (or removed when `value` is `None`).
fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut parsed = Url::parse(url).expect("URL");
    let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().filter(|(n, _)| n != name).collect();
    {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (n, v) in &pairs {
            query.append_pair(n, v);
        }
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    parsed.to_string()
}

/// Signs alice in through the form (or, when the agent is signed in already, through single
/// sign-on) and returns the code of the redirect.
async fn sign_in(agent: &mut UserAgent, base: &str, url: &str, state: &str) -> String {
    let page = agent.get(url).await;
    let answer = if page.status.as_u16() == 303 {
        page
    } else {
        assert_eq!(page.status.as_u16(), 200, "{}", page.text);
        agent.submit_login(base, &page, "alice", PASSWORD).await
    };
    let query = redirect_query(&answer);
    assert_eq!(param(&query, "state"), Some(state));
    param(&query, "code").unwrap_or_else(|| panic!("no code: {query:?}")).to_owned()
}

async fn redeem(token_url: &str, client: &ClientCredentials, code: &str, verifier: &str) -> Reply {
    let params =
        [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CALLBACK), ("code_verifier", verifier)];
    request_token(token_url, Auth::Basic(client), &params).await
}

#[tokio::test]
async fn openidconnect_relying_party_signs_users_in_at_two_brands() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        let clients = [
            ("acme", brand_with_user(&fixture, "acme", "#0b6e4f")),
            ("globex", brand_with_user(&fixture, "globex", "#7a1fa2")),
        ];
        let server = fixture.serve().await;
        let http = openidconnect::reqwest::Client::builder()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let mut agent = UserAgent::new();
        for (brand, credentials) in &clients {
            let issuer = fixture.issuer(brand);
            let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).unwrap(), &http)
                .await
                .unwrap_or_else(|e| panic!("[{backend}] discovery of {brand}: {e:?}"));
            let client = CoreClient::from_provider_metadata(
                metadata,
                ClientId::new(credentials.id.clone()),
                Some(ClientSecret::new(credentials.secret.clone())),
            )
            .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            let (url, state, nonce) = client
                .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
                .add_scope(Scope::new("profile".into()))
                .add_scope(Scope::new("email".into()))
                .set_pkce_challenge(challenge)
                .url();

            let page = agent.get(url.as_str()).await;
            assert_eq!(page.status.as_u16(), 200, "[{backend}] {}", page.text);
            assert!(page.header("content-type").unwrap().starts_with("text/html"));
            assert!(page.text.contains(&format!("{brand} portal")), "[{backend}] the page is branded");
            let csp = page.header("content-security-policy").expect("CSP on the login page");
            assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
            assert_eq!(page.header("cache-control"), Some("no-store"));

            let answer = agent.submit_login(&server.public_url, &page, "alice", PASSWORD).await;
            let query = redirect_query(&answer);
            assert_eq!(param(&query, "state"), Some(state.secret().as_str()), "[{backend}]");
            assert_eq!(param(&query, "iss"), Some(issuer.as_str()), "[{backend}] RFC 9207 iss");
            let code = param(&query, "code").expect("code");

            let token = client
                .exchange_code(AuthorizationCode::new(code.to_owned()))
                .expect("token endpoint")
                .set_pkce_verifier(verifier)
                .request_async(&http)
                .await
                .unwrap_or_else(|e| panic!("[{backend}] code exchange: {e:?}"));
            let id_token = token.id_token().expect("an ID token");
            let id_verifier = client.id_token_verifier().set_allowed_algs(vec![CoreJwsSigningAlgorithm::EdDsa]);
            let claims = id_token.claims(&id_verifier, &nonce).unwrap_or_else(|e| panic!("[{backend}] ID token: {e}"));
            assert_eq!(claims.issuer().as_str(), issuer);
            assert!(claims.auth_time().is_some(), "auth_time is present");
            let expected_hash = claims.access_token_hash().expect("at_hash");
            let actual_hash = AccessTokenHash::from_token(
                token.access_token(),
                id_token.signing_alg().unwrap(),
                id_token.signing_key(&id_verifier).unwrap(),
            )
            .unwrap();
            assert_eq!(&actual_hash, expected_hash, "[{backend}] at_hash matches the access token");
            assert!(token.refresh_token().is_some(), "the client may refresh");

            let info: CoreUserInfoClaims = client
                .user_info(token.access_token().to_owned(), Some(claims.subject().clone()))
                .expect("userinfo endpoint")
                .request_async(&http)
                .await
                .unwrap_or_else(|e| panic!("[{backend}] userinfo: {e:?}"));
            assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
            let name = info.name().and_then(|n| n.get(None)).map(|n| n.as_str());
            assert_eq!(name, Some("Alice Example"));
            assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));
        }
        // One session per brand: both cookies are held, each scoped to its brand's path.
        let paths: Vec<&str> =
            agent.cookies.iter().filter(|(n, _, _)| n == "portcullis_session").map(|(_, _, p)| p.as_str()).collect();
        assert_eq!(paths, ["/brands/acme", "/brands/globex"], "[{backend}]");
    }
}

#[tokio::test]
async fn authorization_errors_before_the_redirect_uri_is_trusted_never_redirect() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        let acme = brand_with_user(&fixture, "acme", "#0b6e4f");
        let globex = brand_with_user(&fixture, "globex", "#7a1fa2");
        let server = fixture.serve().await;
        let issuer = fixture.issuer("acme");
        let (url, state, _) = authorize_url(&issuer, &acme.id, &[]);
        let mut agent = UserAgent::new();

        // Shown as a page, never redirected: unknown brand, client, redirect URI.
        let page_cases = [
            (format!("{}/brands/nobody/oauth/authorize", server.public_url), 404),
            (with_param(&url, "redirect_uri", Some("https://evil.example/cb")), 400),
            (with_param(&url, "redirect_uri", Some("https://rp.example.com/callback/extra")), 400),
            (with_param(&url, "redirect_uri", None), 400),
            (with_param(&url, "client_id", Some("no-such-client")), 400),
            (with_param(&url, "client_id", None), 400),
            (with_param(&url, "client_id", Some(&globex.id)), 400),
            (format!("{url}&state=twice"), 400),
        ];
        for (case, status) in &page_cases {
            let reply = agent.get(case).await;
            assert_eq!(reply.status.as_u16(), *status, "[{backend}] {case}: {}", reply.text);
            assert!(reply.header("location").is_none(), "[{backend}] {case} must not redirect");
            assert!(reply.header("content-type").unwrap().starts_with("text/html"), "[{backend}] {case}");
        }

        // Redirected back with error, error_description and state once the client is known.
        let redirect_cases = [
            (with_param(&url, "code_challenge", None), "invalid_request"),
            (with_param(&url, "code_challenge_method", Some("plain")), "invalid_request"),
            (with_param(&url, "code_challenge_method", None), "invalid_request"),
            (with_param(&url, "code_challenge", Some("too-short")), "invalid_request"),
            (with_param(&url, "response_type", Some("token")), "unsupported_response_type"),
            (with_param(&url, "response_type", None), "invalid_request"),
            (with_param(&url, "scope", Some("openid admin")), "invalid_scope"),
            (with_param(&url, "prompt", Some("none")), "login_required"),
            (with_param(&url, "prompt", Some("none login")), "invalid_request"),
            (with_param(&url, "max_age", Some("-1")), "invalid_request"),
            (with_param(&url, "request", Some("eyJ")), "request_not_supported"),
        ];
        for (case, error) in &redirect_cases {
            let reply = agent.get(case).await;
            let query = redirect_query(&reply);
            assert!(reply.header("location").unwrap().starts_with(CALLBACK), "[{backend}] {case}");
            assert_eq!(param(&query, "error"), Some(*error), "[{backend}] {case}");
            assert!(param(&query, "error_description").is_some_and(|d| !d.is_empty()));
            assert_eq!(param(&query, "state"), Some(state.as_str()), "[{backend}] {case}");
            assert_eq!(param(&query, "iss"), Some(issuer.as_str()));
        }
    }
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_client_redirect_and_verifier() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        let acme = brand_with_user(&fixture, "acme", "#0b6e4f");
        let other = fixture
            .create_client("acme", &["--grant", "authorization_code", "--scope", "openid", "--redirect-uri", CALLBACK]);
        let server = fixture.serve().await;
        let issuer = fixture.issuer("acme");
        let token_url = format!("{issuer}/oauth/token");
        let globex_token_url = format!("{}/brands/globex/oauth/token", server.public_url);
        let mut agent = UserAgent::new();

        // A wrong verifier, another client, another redirect URI: each spends the code in vain.
        for attempt in ["verifier", "client", "redirect"] {
            let (url, state, verifier) = authorize_url(&issuer, &acme.id, &[]);
            let code = sign_in(&mut agent, &server.public_url, &url, &state).await;
            let reply = match attempt {
                "verifier" => redeem(&token_url, &acme, &code, &format!("{verifier}x")).await,
                "client" => redeem(&token_url, &other, &code, &verifier).await,
                _ => {
                    let params = [
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", "https://rp.example.com/other"),
                        ("code_verifier", verifier.as_str()),
                    ];
                    request_token(&token_url, Auth::Basic(&acme), &params).await
                }
            };
            reply.assert_oauth_error(400, "invalid_grant");
            redeem(&token_url, &acme, &code, &verifier).await.assert_oauth_error(400, "invalid_grant");
        }
        // Missing PKCE verifier: refused before the code is touched.
        let (url, state, verifier) = authorize_url(&issuer, &acme.id, &[]);
        let code = sign_in(&mut agent, &server.public_url, &url, &state).await;
        let params = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", CALLBACK)];
        request_token(&token_url, Auth::Basic(&acme), &params).await.assert_oauth_error(400, "invalid_request");
        // At an unknown brand nothing is redeemed.
        assert_eq!(redeem(&globex_token_url, &acme, &code, &verifier).await.status.as_u16(), 400);

        // The real redemption works once; a replay fails and revokes what the code issued.
        let first = redeem(&token_url, &acme, &code, &verifier).await;
        let tokens = first.assert_tokens().clone();
        assert!(tokens["id_token"].is_string(), "[{backend}] {tokens}");
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        redeem(&token_url, &acme, &code, &verifier).await.assert_oauth_error(400, "invalid_grant");
        let introspection =
            request_token(&format!("{issuer}/oauth/introspect"), Auth::Basic(&acme), &[("token", access.as_str())])
                .await;
        assert_eq!(introspection.body()["active"], false, "[{backend}] the replay revoked the access token");
        let refreshed = request_token(
            &token_url,
            Auth::Basic(&acme),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
        refreshed.assert_oauth_error(400, "invalid_grant");
        let userinfo =
            reqwest::Client::new().get(format!("{issuer}/userinfo")).bearer_auth(&access).send().await.unwrap();
        assert_eq!(userinfo.status().as_u16(), 401, "[{backend}] userinfo refuses the revoked token");
        assert!(userinfo.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    }
}

#[tokio::test]
async fn csrf_sso_prompt_max_age_and_the_login_throttle() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        let acme = brand_with_user(&fixture, "acme", "#0b6e4f");
        let server = fixture.serve().await;
        let base = server.public_url.clone();
        let issuer = fixture.issuer("acme");
        let mut agent = UserAgent::new();

        // CSRF: a form posted without the browser's CSRF cookie, or with another token, fails.
        let (url, state, _) = authorize_url(&issuer, &acme.id, &[("login_hint", "alice")]);
        let page = agent.get(&url).await;
        assert!(page.text.contains("value=\"alice\""), "[{backend}] login_hint pre-fills the username");
        assert!(agent.has_cookie("portcullis_csrf"));
        let (action, mut fields) = form_of(&page.text);
        fields.push(("username".into(), "alice".into()));
        fields.push(("password".into(), PASSWORD.into()));
        let mut stranger = UserAgent::new();
        let forged = stranger.post(&format!("{base}{action}"), &fields).await;
        assert_eq!(forged.status.as_u16(), 403, "[{backend}] no CSRF cookie: {}", forged.text);
        assert!(forged.header("location").is_none());
        let mut tampered = fields.clone();
        tampered.iter_mut().filter(|(n, _)| n == "csrf").for_each(|(_, v)| v.push('x'));
        assert_eq!(agent.post(&format!("{base}{action}"), &tampered).await.status.as_u16(), 403);

        // Sign in; then single sign-on: a new request gets a code without the form.
        let code = sign_in(&mut agent, &base, &url, &state).await;
        assert!(!code.is_empty());
        assert!(agent.has_cookie("portcullis_session"));
        let (again, again_state, _) = authorize_url(&issuer, &acme.id, &[]);
        let query = redirect_query(&agent.get(&again).await);
        assert_eq!(param(&query, "state"), Some(again_state.as_str()));
        assert!(param(&query, "code").is_some(), "[{backend}] SSO issues a code");
        let silent = redirect_query(&agent.get(&with_param(&again, "prompt", Some("none"))).await);
        assert!(param(&silent, "code").is_some(), "[{backend}] prompt=none with a session");
        let forced = agent.get(&with_param(&again, "prompt", Some("login"))).await;
        assert_eq!(forced.status.as_u16(), 200, "[{backend}] prompt=login shows the form");
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let stale = agent.get(&with_param(&again, "max_age", Some("0"))).await;
        assert_eq!(stale.status.as_u16(), 200, "[{backend}] an older login than max_age shows the form");
        let recent = redirect_query(&agent.get(&with_param(&again, "max_age", Some("3600"))).await);
        assert!(param(&recent, "code").is_some());

        // Wrong passwords: the same generic message, then the throttle.
        let (url, _, _) = authorize_url(&issuer, &acme.id, &[("prompt", "login")]);
        let page = agent.get(&url).await;
        let unknown = agent.submit_login(&base, &page, "mallory", "whatever-it-is").await;
        let wrong = agent.submit_login(&base, &page, "alice", "not the password").await;
        assert_eq!(wrong.status.as_u16(), 401, "[{backend}]");
        let message = |reply: &Reply| reply.text.split("role=\"alert\"").nth(1).map(|t| t[..80].to_owned());
        assert_eq!(message(&unknown), message(&wrong), "[{backend}] no user enumeration");
        assert!(!wrong.text.contains("not the password"), "the password is never echoed");
        let mut last = wrong;
        for _ in 0..8 {
            last = agent.submit_login(&base, &page, "alice", "still not it").await;
            if last.status.as_u16() == 429 {
                break;
            }
        }
        assert_eq!(last.status.as_u16(), 429, "[{backend}] repeated failures are throttled");
        assert!(last.header("retry-after").is_some());
        let right = agent.submit_login(&base, &page, "alice", PASSWORD).await;
        assert_eq!(right.status.as_u16(), 429, "[{backend}] even the right password waits out the lock-out");
    }
}

#[tokio::test]
async fn public_clients_use_pkce_without_a_secret() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        brand_with_user(&fixture, "acme", "#0b6e4f");
        let public = fixture.cli_json(&[
            "client",
            "create",
            "--brand",
            "acme",
            "--name",
            "spa",
            "--public",
            "--grant",
            "authorization_code",
            "refresh_token",
            "--scope",
            "openid",
            "--redirect-uri",
            CALLBACK,
            "--json",
        ]);
        assert!(public.get("client_secret").is_none(), "[{backend}] a public client has no secret: {public}");
        let refused = fixture.cli(&[
            "client",
            "create",
            "--brand",
            "acme",
            "--name",
            "bad",
            "--public",
            "--grant",
            "client_credentials",
            "--json",
        ]);
        assert!(!refused.status.success(), "[{backend}] a public client cannot use client_credentials");
        let id = public["client_id"].as_str().unwrap();
        let server = fixture.serve().await;
        let issuer = fixture.issuer("acme");
        let mut agent = UserAgent::new();
        let (url, state, verifier) = authorize_url(&issuer, id, &[]);
        let url = with_param(&url, "scope", Some("openid"));
        let code = sign_in(&mut agent, &server.public_url, &url, &state).await;
        let token_url = format!("{issuer}/oauth/token");
        let params = [
            ("grant_type", "authorization_code"),
            ("client_id", id),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier.as_str()),
        ];
        let reply = request_token(&token_url, Auth::None, &params).await;
        let tokens = reply.assert_tokens();
        assert!(tokens["id_token"].is_string() && tokens["refresh_token"].is_string(), "[{backend}] {tokens}");
        // A confidential client cannot skip its secret the same way.
        let confidential = fixture.create_client("acme", &["--grant", "client_credentials"]);
        let params = [("grant_type", "client_credentials"), ("client_id", confidential.id.as_str())];
        request_token(&token_url, Auth::None, &params).await.assert_oauth_error(401, "invalid_client");

        // At logout the public client revokes its own login by client_id (RFC 7009 §2.1); a
        // confidential client's id without its secret revokes nothing.
        let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token");
        let revoke_url = format!("{issuer}/oauth/revoke");
        let by_confidential = [("client_id", confidential.id.as_str()), ("token", refresh_token)];
        request_token(&revoke_url, Auth::None, &by_confidential).await.assert_oauth_error(401, "invalid_client");
        let revoked = request_token(&revoke_url, Auth::None, &[("client_id", id), ("token", refresh_token)]).await;
        assert_eq!(revoked.status.as_u16(), 200, "[{backend}] the public client revokes its refresh token");
        let params = [("grant_type", "refresh_token"), ("client_id", id), ("refresh_token", refresh_token)];
        request_token(&token_url, Auth::None, &params).await.assert_oauth_error(400, "invalid_grant");
    }
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_session() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        let acme = brand_with_user(&fixture, "acme", "#0b6e4f");
        let server = fixture.serve().await;
        let base = server.public_url.clone();
        let issuer = fixture.issuer("acme");
        let mut agent = UserAgent::new();
        let (url, state, verifier) = authorize_url(&issuer, &acme.id, &[]);
        let code = sign_in(&mut agent, &base, &url, &state).await;
        let tokens = redeem(&format!("{issuer}/oauth/token"), &acme, &code, &verifier).await;
        let id_token = tokens.assert_tokens()["id_token"].as_str().unwrap().to_owned();

        // An unregistered destination is refused on a page.
        let mut logout = Url::parse(&format!("{issuer}/logout")).unwrap();
        logout
            .query_pairs_mut()
            .append_pair("id_token_hint", &id_token)
            .append_pair("post_logout_redirect_uri", "https://evil.example/");
        let refused = agent.get(logout.as_str()).await;
        assert_eq!(refused.status.as_u16(), 400, "[{backend}] {}", refused.text);
        assert!(refused.header("location").is_none());
        assert!(agent.has_cookie("portcullis_session"), "[{backend}] the session survives a refused logout");

        // Without an id_token_hint the user confirms first.
        let confirm = agent.get(&format!("{issuer}/logout")).await;
        assert_eq!(confirm.status.as_u16(), 200, "[{backend}]");
        assert!(confirm.text.contains("Sign out"));
        assert!(agent.has_cookie("portcullis_session"), "[{backend}] a bare GET signs nobody out");

        // With the hint: signed out at once and sent back with state.
        let mut logout = Url::parse(&format!("{issuer}/logout")).unwrap();
        logout
            .query_pairs_mut()
            .append_pair("id_token_hint", &id_token)
            .append_pair("post_logout_redirect_uri", AFTER_LOGOUT)
            .append_pair("state", "bye-123");
        let done = agent.get(logout.as_str()).await;
        assert_eq!(done.status.as_u16(), 303, "[{backend}] {}", done.text);
        assert_eq!(done.header("location"), Some(format!("{AFTER_LOGOUT}?state=bye-123").as_str()));
        assert!(!agent.has_cookie("portcullis_session"), "[{backend}] the cookie is cleared");

        // The session is gone on the server too: prompt=none now fails.
        let (url, _, _) = authorize_url(&issuer, &acme.id, &[("prompt", "none")]);
        let silent = redirect_query(&agent.get(&url).await);
        assert_eq!(param(&silent, "error"), Some("login_required"), "[{backend}]");

        // The confirmation form works too (sign in again, then confirm).
        let (url, state, _) = authorize_url(&issuer, &acme.id, &[]);
        sign_in(&mut agent, &base, &url, &state).await;
        // The old ID token belongs to the earlier login: it does not end this one unasked.
        let mut stale = Url::parse(&format!("{issuer}/logout")).unwrap();
        stale.query_pairs_mut().append_pair("id_token_hint", &id_token);
        let asked = agent.get(stale.as_str()).await;
        assert_eq!(asked.status.as_u16(), 200, "[{backend}] an earlier login's hint asks first");
        assert!(agent.has_cookie("portcullis_session"));
        // A relying party's POST (no SameSite=Lax cookie comes with it) becomes a GET.
        let posted = agent.post(&format!("{issuer}/logout"), &[("state".to_owned(), "s1".to_owned())]).await;
        assert_eq!(posted.status.as_u16(), 303, "[{backend}] {}", posted.text);
        assert_eq!(posted.header("location"), Some(format!("{issuer}/logout?state=s1").as_str()));
        let confirm = agent.get(&format!("{issuer}/logout")).await;
        let (action, fields) = form_of(&confirm.text);
        let signed_out = agent.post(&format!("{base}{action}"), &fields).await;
        assert_eq!(signed_out.status.as_u16(), 200, "[{backend}] {}", signed_out.text);
        assert!(!agent.has_cookie("portcullis_session"));
    }
}
