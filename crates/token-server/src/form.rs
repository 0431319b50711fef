//! Reading `application/x-www-form-urlencoded` bodies strictly: content type checked, size
//! bounded, every parameter at most once (RFC 6749 §3.2) unless listed as repeatable.

use axum::body::{Body, to_bytes};
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};

use crate::OAuthError;

/// Parameters of one form, in order, each name at most once except the repeatable ones.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// The single value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable parameter.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

/// Parses url-encoded `text`, refusing repeated names other than those in `repeatable`.
pub(crate) fn parse_pairs(text: &[u8], repeatable: &[&str]) -> Result<Form, OAuthError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(text) {
        if name.is_empty() {
            continue;
        }
        if !repeatable.contains(&name.as_ref()) && pairs.iter().any(|(k, _)| k == &name) {
            let shown: String = name.chars().take(40).collect();
            return Err(OAuthError::invalid_request(format!("parameter '{}' is repeated", shown.escape_default())));
        }
        pairs.push((name.into_owned(), value.into_owned()));
    }
    Ok(Form { pairs })
}

/// Reads and parses a form body.
pub(crate) async fn read_form(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    repeatable: &[&str],
) -> Result<Form, OAuthError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(OAuthError::too_large(limit));
    }
    let bytes = to_bytes(body, limit).await.map_err(|_| OAuthError::too_large(limit))?;
    parse_pairs(&bytes, repeatable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_except_repeatable() {
        assert!(parse_pairs(b"a=1&a=2", &[]).is_err());
        let form = parse_pairs(b"resource=x&resource=y&a=1", &["resource"]).expect("ok");
        assert_eq!(form.all("resource"), vec!["x", "y"]);
        assert_eq!(form.get("a"), Some("1"));
    }

    #[test]
    fn decoding_is_lenient_but_total() {
        let form = parse_pairs(b"scope=read+write&x=%zz&y=%E2%82%AC&=skip", &[]).expect("ok");
        assert_eq!(form.get("scope"), Some("read write"));
        assert_eq!(form.get("x"), Some("%zz"));
        assert_eq!(form.get("y"), Some("€"));
        let bad_utf8 = parse_pairs(b"a=%FF", &[]).expect("ok");
        assert_eq!(bad_utf8.get("a"), Some("\u{fffd}"));
    }
}
