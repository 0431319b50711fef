//! Query strings and form bodies as ordered name/value pairs. Checkbox groups repeat a name, so
//! fields may occur more than once; [`Form::get`] reads the first.

use axum::body::Body;
use axum::response::Response;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::page;

/// The fields of a query string or a form body.
#[derive(Clone, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

/// Field names only: forms carry passwords and secrets.
impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.pairs.iter().map(|(name, _)| name)).finish()
    }
}

impl Form {
    /// Parses `application/x-www-form-urlencoded` text (a query string, say). Invalid percent
    /// escapes and UTF-8 are replaced, never fatal: a value that is then wrong is refused by the
    /// API with a message.
    pub fn parse(text: &[u8]) -> Self {
        Self { pairs: form_urlencoded::parse(text).map(|(k, v)| (k.into_owned(), v.into_owned())).collect() }
    }

    /// Reads a form body of at most `limit` bytes; anything else is a 4xx page.
    pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Self, Response> {
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(page::message(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "This request is not valid",
                "Console forms are sent as application/x-www-form-urlencoded.",
            ));
        }
        match Limited::new(body, limit).collect().await {
            Ok(collected) => Ok(Self::parse(&collected.to_bytes())),
            Err(e) if e.is::<LengthLimitError>() => Err(page::message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "This form is too large",
                &format!("A console form may carry at most {limit} bytes."),
            )),
            // The connection failed, or the body did not arrive in time.
            Err(_) => Err(page::message(
                StatusCode::BAD_REQUEST,
                "This form did not arrive",
                "The form could not be read in full; send it again.",
            )),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value of `name` (a checkbox group), in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// Whether the checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The words of a text field, split on whitespace and commas (scopes, audiences, URIs one
    /// per line).
    pub fn words(&self, name: &str) -> Vec<String> {
        self.get(name)
            .unwrap_or_default()
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A whole number field (at most 2³¹ − 1, as a GraphQL `Int`); `Ok(None)` when blank.
    pub fn number(&self, name: &str, label: &str) -> Result<Option<i64>, String> {
        self.text(name)
            .map(|v| {
                v.parse::<i32>()
                    .map(i64::from)
                    .map_err(|_| format!("{label} must be a whole number below 2147483648, not '{v}'"))
            })
            .transpose()
    }

    /// The non-blank lines of a text area, trimmed (URIs, one per line: they may contain commas).
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.get(name).unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_repeated_and_blank_fields() {
        let form = Form::parse(b"g=a&g=b&name=+x+&blank=&n=12&bad=%zz&list=a,b%0Ac");
        assert_eq!(form.all("g"), ["a", "b"]);
        assert_eq!(form.text("name"), Some("x"));
        assert_eq!(form.text("blank"), None);
        assert!(form.checked("blank"));
        assert_eq!(form.number("n", "N"), Ok(Some(12)));
        assert!(form.number("name", "Name").is_err());
        assert_eq!(form.get("bad"), Some("%zz"));
        assert_eq!(form.words("list"), ["a", "b", "c"]);
        assert_eq!(
            Form::parse(b"u=https://a/cb?x=1,2%0D%0A%0D%0A+https://b/cb+").lines("u"),
            ["https://a/cb?x=1,2", "https://b/cb"]
        );
        assert!(Form::parse(b"n=3000000000").number("n", "N").is_err(), "beyond a GraphQL Int");
        assert_eq!(format!("{:?}", Form::parse(b"password=hunter2")), "[\"password\"]", "no values in Debug");
    }
}
