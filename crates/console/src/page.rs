//! The console's layout, rendering with the headers every page carries, and value formatting.

use askama::Template;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, PRAGMA, REFERRER_POLICY};
use http::{HeaderValue, StatusCode};

use crate::session::Session;

/// The console's CSP: its own style sheet and script, nothing inline, no framing, forms only to
/// itself.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The tabs of a brand's pages: path segment and label.
const TABS: [(&str, &str); 7] = [
    ("", "Overview"),
    ("clients", "Clients"),
    ("users", "Users"),
    ("operators", "Operators"),
    ("tokens", "Tokens"),
    ("keys", "Signing keys"),
    ("audit", "Audit log"),
];

/// The `tab` of pages that are none of the brand's tabs (error pages).
pub const NO_TAB: &str = "-";

/// A message at the top of a page: the outcome of the last action.
#[derive(Debug, Clone)]
pub struct Notice {
    /// What to say.
    pub text: String,
    /// Whether it reports a failure (`role="alert"`) rather than a success (`role="status"`).
    pub error: bool,
}

impl Notice {
    /// A success message.
    pub fn done(text: impl Into<String>) -> Self {
        Self { text: text.into(), error: false }
    }

    /// A failure message.
    pub fn failed(text: impl Into<String>) -> Self {
        Self { text: text.into(), error: true }
    }
}

/// Who is signed in, as the header shows it.
#[derive(Debug, Clone)]
pub struct Who {
    /// `client-id @ brand`.
    pub label: String,
    /// `Platform administrator` or `Administrator of {brand}`.
    pub role: String,
    /// When the session ends (its admin token expires).
    pub until: String,
    /// The CSRF token of this session's forms.
    pub csrf: String,
    /// Whether the caller sees every brand.
    pub platform: bool,
}

/// What every page's frame shows: title, who is signed in, the brand and tab, a notice.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The page's title (also its `<h1>`).
    pub title: String,
    /// The signed-in administrator; `None` on the sign-in page.
    pub who: Option<Who>,
    /// The brand whose pages these are.
    pub brand: Option<String>,
    /// The current tab's path segment (`""` for the overview).
    pub tab: &'static str,
    /// The outcome of the last action.
    pub notice: Option<Notice>,
}

/// One tab link.
#[derive(Debug)]
pub struct TabLink {
    /// Where it goes.
    pub href: String,
    /// What it says.
    pub label: &'static str,
    /// Whether it is the current page.
    pub current: bool,
}

impl Layout {
    /// The frame of a signed-in page.
    pub fn signed_in(session: &Session, title: impl Into<String>, brand: Option<&str>, tab: &'static str) -> Self {
        let caller = &session.caller;
        let platform = caller.is_platform_admin();
        let role =
            if platform { "Platform administrator".to_owned() } else { format!("Administrator of {}", caller.brand) };
        Self {
            title: title.into(),
            who: Some(Who {
                label: format!("{} @ {}", caller.client_id, caller.brand),
                role,
                until: utc(caller.expires_at),
                csrf: session.csrf.clone(),
                platform,
            }),
            brand: brand.map(str::to_owned),
            tab,
            notice: None,
        }
    }

    /// The frame of a page outside a session.
    pub fn anonymous(title: impl Into<String>) -> Self {
        Self { title: title.into(), who: None, brand: None, tab: "", notice: None }
    }

    /// The same frame with a notice.
    pub fn with_notice(mut self, notice: Option<Notice>) -> Self {
        self.notice = notice;
        self
    }

    /// The CSRF token for the page's forms (empty outside a session).
    pub fn csrf(&self) -> &str {
        self.who.as_ref().map_or("", |w| w.csrf.as_str())
    }

    /// The current brand's overview path (empty outside a brand).
    pub fn brand_path(&self) -> String {
        self.brand.as_deref().map(brand_href).unwrap_or_default()
    }

    /// The brand's tabs.
    pub fn tabs(&self) -> Vec<TabLink> {
        let Some(brand) = &self.brand else { return Vec::new() };
        let base = brand_href(brand);
        TABS.iter()
            .map(|(segment, label)| TabLink {
                href: if segment.is_empty() { base.clone() } else { format!("{base}/{segment}") },
                label,
                current: *segment == self.tab,
            })
            .collect()
    }
}

/// `/console/brands/{brand}`, with the key percent-encoded.
pub fn brand_href(brand: &str) -> String {
    format!("/console/brands/{}", encode(brand))
}

/// A path segment or query value, percent-encoded.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A message page.
#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    l: Layout,
    message: &'a str,
}

/// Renders `page` with `status` and the headers of every console page: no caching (pages show
/// credentials and personal data), no framing, no sniffing, no referrer, and [`CSP`].
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    let body = match page.render() {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "a console template failed to render");
            let mut response = (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response();
            secure_headers(response.headers_mut());
            return response;
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    secure_headers(headers);
    response
}

/// The headers every console response carries.
pub(crate) fn secure_headers(headers: &mut http::HeaderMap) {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
}

/// A page with a heading and a message, in `layout`'s frame.
pub fn message_in(status: StatusCode, layout: Layout, message: &str) -> Response {
    render(status, &MessagePage { l: layout, message })
}

/// A page with a heading and a message, outside any session's frame.
pub fn message(status: StatusCode, heading: &str, message: &str) -> Response {
    message_in(status, Layout::anonymous(heading), message)
}

/// The page of a database that cannot answer.
pub fn unavailable() -> Response {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "The console cannot reach its database right now. Try again in a moment.",
    )
}

/// A `303 See Other` to a console path.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(LOCATION, value);
            secure_headers(response.headers_mut());
            response
        }
        Err(_) => message(StatusCode::BAD_REQUEST, "This request is not valid", "The address is not valid."),
    }
}

/// Seconds since the epoch as `2026-12-02 16:30 UTC`.
pub fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", of_day / 3600, of_day % 3600 / 60)
}

/// An optional timestamp, or a dash.
pub fn utc_or_dash(seconds: Option<i64>) -> String {
    seconds.map_or_else(|| "—".to_owned(), utc)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A list as one line, or a dash when empty.
pub fn list_or_dash(items: &[String]) -> String {
    if items.is_empty() { "—".to_owned() } else { items.join(" ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamps_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_796_229_059), "2026-12-02 16:30 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59 UTC");
        assert_eq!(utc_or_dash(None), "—");
    }

    #[test]
    fn brand_keys_are_encoded_in_links() {
        assert_eq!(brand_href("acme"), "/console/brands/acme");
        assert_eq!(encode("a b/c"), "a+b%2Fc");
    }
}
