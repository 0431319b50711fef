//! HTTP helpers: a plain client, token requests with either client authentication method, and
//! the checks every OAuth response shares (status, JSON `error`, `Cache-Control: no-store`).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap};
use serde_json::Value;

use crate::fixture::ClientCredentials;

/// The only content type the token endpoint accepts.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// A client that never follows redirects (a token endpoint must not redirect) and never hangs.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("HTTP client")
}

/// A response read to its end: status, headers, body text and, when it parses, its JSON.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub text: String,
    /// The body as JSON, when it is JSON.
    pub json: Option<Value>,
}

impl Reply {
    /// Reads `response` to its end.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        let json = serde_json::from_str(&text).ok();
        Self { status, headers, text, json }
    }

    /// A header's value, when present and printable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The JSON body, or a failed test.
    pub fn body(&self) -> &Value {
        self.json.as_ref().unwrap_or_else(|| panic!("not JSON ({}): {}", self.status, self.text))
    }

    /// The `error` field of a JSON body.
    pub fn error_code(&self) -> Option<&str> {
        self.json.as_ref().and_then(|j| j["error"].as_str())
    }

    /// Asserts an RFC 6749 §5.2 error: this status and code, a description, JSON, no caching.
    pub fn assert_oauth_error(&self, status: u16, code: &str) -> &Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        assert_eq!(self.error_code(), Some(code), "unexpected error code; body: {}", self.text);
        assert!(self.body()["error_description"].is_string(), "no error_description: {}", self.text);
        assert!(self.header(CONTENT_TYPE.as_str()).is_some_and(|t| t.starts_with("application/json")));
        assert_eq!(self.header(CACHE_CONTROL.as_str()), Some("no-store"), "error responses must not be cached");
        self
    }

    /// Asserts a successful RFC 6749 §5.1 client_credentials response and returns its body.
    pub fn assert_token(&self) -> &Value {
        let body = self.assert_tokens();
        assert!(body.get("refresh_token").is_none(), "client_credentials must not issue a refresh token");
        body
    }

    /// Asserts a successful RFC 6749 §5.1 token response of any grant and returns its body.
    pub fn assert_tokens(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "token request failed: {}", self.text);
        assert_eq!(self.header(CACHE_CONTROL.as_str()), Some("no-store"), "token responses must not be cached");
        assert_eq!(self.header("pragma"), Some("no-cache"));
        let body = self.body();
        assert!(body["access_token"].as_str().is_some_and(|t| t.split('.').count() == 3), "not a JWS: {body}");
        assert_eq!(body["token_type"], "Bearer");
        assert!(body["expires_in"].as_u64().is_some_and(|s| s > 0), "no expires_in: {body}");
        body
    }

    /// The access token of a successful response.
    pub fn access_token(&self) -> String {
        self.assert_token()["access_token"].as_str().expect("access_token").to_owned()
    }
}

/// How a token request authenticates the client.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// `client_secret_basic`.
    Basic(&'a ClientCredentials),
    /// `client_secret_post`.
    Post(&'a ClientCredentials),
    /// Both at once (a malformed request).
    Both(&'a ClientCredentials),
    /// No credentials.
    None,
}

/// `GET url`.
pub async fn get(url: &str) -> Reply {
    Reply::read(client().get(url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"))).await
}

/// A form-encoded `POST` to a token endpoint.
pub async fn request_token(url: &str, auth: Auth<'_>, params: &[(&str, &str)]) -> Reply {
    let mut form: Vec<(&str, &str)> = params.to_vec();
    let mut request = client().post(url);
    match auth {
        Auth::Basic(c) => request = request.basic_auth(&c.id, Some(&c.secret)),
        Auth::Post(c) => form.extend([("client_id", c.id.as_str()), ("client_secret", c.secret.as_str())]),
        Auth::Both(c) => {
            request = request.basic_auth(&c.id, Some(&c.secret));
            form.extend([("client_id", c.id.as_str()), ("client_secret", c.secret.as_str())]);
        }
        Auth::None => {}
    }
    let response = request.form(&form).send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"));
    Reply::read(response).await
}

/// A client_credentials request at `url` with optional extra parameters.
pub async fn client_credentials(url: &str, auth: Auth<'_>, extra: &[(&str, &str)]) -> Reply {
    request_token(url, auth, &[&[("grant_type", "client_credentials")], extra].concat()).await
}
