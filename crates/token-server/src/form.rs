//! Reading `application/x-www-form-urlencoded` bodies strictly: content type checked, size
//! bounded, every parameter at most once (RFC 6749 §3.2) unless listed as repeatable.

use std::time::Duration;

use axum::body::{Body, BodyDataStream, Bytes};
use futures_util::StreamExt;
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

    /// Every parameter, in order (for the fuzzing invariants).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
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
    let stream = body.into_data_stream();
    if let Some(declared) = declared.filter(|&n| n > limit as u64) {
        // A body larger than we would read anyway is not worth waiting for.
        if declared <= DISCARD_BYTES as u64 {
            discard(stream).await;
        }
        return Err(OAuthError::too_large(limit));
    }
    let bytes = read_at_most(stream, limit).await?;
    parse_pairs(&bytes, repeatable)
}

/// Collects the body, refusing it once it passes `limit` bytes.
async fn read_at_most(mut stream: BodyDataStream, limit: usize) -> Result<Bytes, OAuthError> {
    let mut collected = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| OAuthError::invalid_request("the request body could not be read"))?;
        if collected.len() + chunk.len() > limit {
            discard(stream).await;
            return Err(OAuthError::too_large(limit));
        }
        collected.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(collected))
}

/// Most bytes of a refused body read and thrown away before answering.
const DISCARD_BYTES: usize = 8 * 1024 * 1024;
/// Longest time spent doing so.
const DISCARD_TIME: Duration = Duration::from_secs(1);

/// Reads and drops what is left of a refused body, within [`DISCARD_BYTES`] and
/// [`DISCARD_TIME`], before the 413 is sent. Answering while the client is still uploading and
/// then closing would make the kernel reset the connection, and most clients would report the
/// reset instead of the 413; past either bound the connection is closed anyway.
async fn discard(mut stream: BodyDataStream) {
    let drain = async {
        let mut seen = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len();
            if seen > DISCARD_BYTES {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(DISCARD_TIME, drain).await;
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
