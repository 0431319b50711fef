//! The browser cookies of the login flow: the login session (single sign-on) and the CSRF
//! token of the login and logout forms. Both are scoped to the brand's path, `HttpOnly`, and
//! `Secure` when the public URL is `https`.

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

/// The login session cookie (`SameSite=Lax`: it must come along when a relying party sends the
/// browser to the authorization endpoint).
pub(crate) const SESSION: &str = "portcullis_session";

/// The CSRF cookie of the login form (`SameSite=Strict`: the form is always posted from the
/// brand's own page); the form carries the same value in a hidden field.
pub(crate) const CSRF: &str = "portcullis_csrf";

/// The value of cookie `name` in the request, if it is present once with a sane value.
pub(crate) fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            let Some((key, value)) = pair.trim().split_once('=') else { continue };
            if key == name {
                if found.is_some() {
                    // Two cookies of one name (e.g. one planted for a wider path): trust neither.
                    return None;
                }
                found = Some(value.to_owned());
            }
        }
    }
    found.filter(|v| !v.is_empty() && v.len() <= 256 && v.bytes().all(|b| b.is_ascii_graphic()))
}

/// Where a brand's cookies live.
#[derive(Debug, Clone)]
pub(crate) struct CookieJar {
    /// `/brands/{key}`.
    pub(crate) path: String,
    /// Whether to mark cookies `Secure`.
    pub(crate) secure: bool,
}

impl CookieJar {
    /// A `Set-Cookie` value.
    pub(crate) fn set(&self, name: &str, value: &str, max_age: i64, same_site: &str) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        let text =
            format!("{name}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}", self.path);
        HeaderValue::from_str(&text).ok()
    }

    /// A `Set-Cookie` value that deletes cookie `name`.
    pub(crate) fn clear(&self, name: &str) -> Option<HeaderValue> {
        self.set(name, "", 0, "Lax")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_and_refuses_duplicates() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; portcullis_session=pss_abc; b=2"));
        assert_eq!(read(&headers, SESSION).as_deref(), Some("pss_abc"));
        assert_eq!(read(&headers, CSRF), None);
        headers.append(COOKIE, HeaderValue::from_static("portcullis_session=pss_other"));
        assert_eq!(read(&headers, SESSION), None, "two values: neither is trusted");
    }

    #[test]
    fn cookies_are_http_only_path_scoped_and_secure_on_https() {
        let jar = CookieJar { path: "/brands/acme".into(), secure: true };
        let value = jar.set(SESSION, "pss_x", 60, "Lax").expect("header");
        assert_eq!(
            value.to_str().expect("ascii"),
            "portcullis_session=pss_x; Path=/brands/acme; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        let plain = CookieJar { path: "/brands/acme".into(), secure: false };
        assert!(!plain.clear(SESSION).expect("header").to_str().expect("ascii").contains("Secure"));
    }
}
