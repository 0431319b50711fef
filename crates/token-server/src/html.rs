//! Server-rendered pages (login, errors, logout) and the headers every page carries.
//!
//! Templates live in `templates/` (askama: compiled, HTML-escaped by default). Pages need no
//! JavaScript; their only style sheet is inline with a per-response CSP nonce, and branding
//! values are validated when set (`https` logo URL, `#rrggbb` colour), so nothing a brand
//! administrator types can inject markup or script.

use askama::Template;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, PRAGMA, REFERRER_POLICY};
use http::{HeaderValue, StatusCode};
use portcullis_tenancy::BrandScope;

/// The colour of pages of brands that chose none, and of pages outside any brand.
const DEFAULT_COLOR: &str = "#1a56db";

/// How a brand's pages look.
#[derive(Debug, Clone)]
pub(crate) struct Look {
    pub(crate) name: String,
    pub(crate) logo_url: Option<String>,
    pub(crate) color: String,
    /// Black or white, whichever contrasts more with `color` (WCAG relative luminance).
    pub(crate) on_color: &'static str,
}

impl Look {
    /// The brand's look, or the neutral one outside any brand.
    pub(crate) fn of(scope: Option<&BrandScope>) -> Self {
        let (name, logo_url, color) = match scope {
            Some(scope) => {
                let brand = scope.brand();
                let branding = &brand.settings.branding;
                (
                    branding.display_name.clone().unwrap_or_else(|| brand.name.clone()),
                    branding.logo_url.clone(),
                    branding.primary_color.clone(),
                )
            }
            None => ("Sign-in service".to_owned(), None, None),
        };
        let color = color.filter(|c| parse_hex(c).is_some()).unwrap_or_else(|| DEFAULT_COLOR.to_owned());
        let on_color = parse_hex(&color).map_or("#ffffff", text_on);
        Self { name, logo_url, color, on_color }
    }
}

fn parse_hex(color: &str) -> Option<[u8; 3]> {
    let hex = color.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// The text colour with the higher WCAG 2 contrast ratio against `rgb`.
fn text_on(rgb: [u8; 3]) -> &'static str {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.040_45 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    let luminance = 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2]);
    // Contrast with white: 1.05 / (L + 0.05); with near-black #111111 (L ≈ 0.0056): (L + 0.05) / 0.0556.
    if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.0556 { "#ffffff" } else { "#111111" }
}

/// The login form.
#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage<'a> {
    pub(crate) title: &'a str,
    pub(crate) look: &'a Look,
    pub(crate) nonce: &'a str,
    pub(crate) action: &'a str,
    pub(crate) csrf: &'a str,
    /// The authorization request's parameters, carried through the form.
    pub(crate) hidden: Vec<(&'a str, &'a str)>,
    pub(crate) username: &'a str,
    pub(crate) error: Option<&'a str>,
}

/// A form with one button (e.g. "Sign out").
pub(crate) struct Confirm<'a> {
    pub(crate) action: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) hidden: Vec<(&'a str, &'a str)>,
    pub(crate) button: &'a str,
}

/// A heading and a message, optionally with a confirmation form.
#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage<'a> {
    pub(crate) title: &'a str,
    pub(crate) look: &'a Look,
    pub(crate) nonce: &'a str,
    pub(crate) heading: &'a str,
    pub(crate) message: &'a str,
    /// Shown as an error (`role="alert"`).
    pub(crate) alert: bool,
    pub(crate) confirm: Option<Confirm<'a>>,
}

/// A fresh CSP nonce for one response.
pub(crate) fn nonce() -> String {
    // The system RNG failing is fatal for much more than this; a fixed nonce would only
    // weaken the CSP of this one page, so the fallback is an empty (never matching) nonce.
    portcullis_credentials::random_bytes::<16>().map(|b| URL_SAFE_NO_PAD.encode(b)).unwrap_or_default()
}

/// Renders `page` with `status` and the page headers: no caching, no framing, no sniffing, no
/// referrer, and a CSP that allows only the page's own inline style (by nonce), `https`
/// images, and nothing else.
pub(crate) fn render(status: StatusCode, page: &impl Template, nonce: &str) -> Response {
    let body = match page.render() {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "a page template failed to render");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response();
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; img-src https:; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// A page with a heading and a message.
pub(crate) fn message(status: StatusCode, scope: Option<&BrandScope>, heading: &str, message: &str) -> Response {
    let look = Look::of(scope);
    let nonce = nonce();
    let page = MessagePage {
        title: heading,
        look: &look,
        nonce: &nonce,
        heading,
        message,
        alert: status.is_client_error() || status.is_server_error(),
        confirm: None,
    };
    render(status, &page, &nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_colour_keeps_contrast() {
        assert_eq!(text_on([0x0b, 0x6e, 0x4f]), "#ffffff", "dark green takes white text");
        assert_eq!(text_on([0xff, 0xd7, 0x00]), "#111111", "gold takes dark text");
        assert_eq!(text_on([0xff, 0xff, 0xff]), "#111111");
        assert_eq!(text_on([0, 0, 0]), "#ffffff");
    }

    #[test]
    fn pages_escape_what_they_show() {
        let look = Look::of(None);
        let page = MessagePage {
            title: "t",
            look: &look,
            nonce: "n",
            heading: "<script>alert(1)</script>",
            message: "\"quoted\" & <b>",
            alert: true,
            confirm: None,
        };
        let html = page.render().expect("render");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"), "{html}");
        assert!(html.contains("role=\"alert\""));
    }
}
