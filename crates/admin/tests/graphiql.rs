//! GraphiQL at `GET /graphql`: the page and its assets come from the binary, never a third-party
//! origin, under a Content-Security-Policy that allows this origin and the page's one inline script.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use base64::Engine;
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use common::*;

const ASSETS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/static/graphiql");

async fn get(api: &Api, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = api.router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

fn value_of(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers.get(&name).map(|v| v.to_str().unwrap()).unwrap_or_else(|| panic!("no {name}"))
}

/// The GraphiQL page and its Content-Security-Policy.
async fn page(api: &Api) -> (String, String) {
    let (status, headers, body) = get(api, "/graphql").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(value_of(&headers, header::CONTENT_TYPE), "text/html; charset=utf-8");
    (String::from_utf8(body).unwrap(), value_of(&headers, header::CONTENT_SECURITY_POLICY).to_owned())
}

/// The values of every `attribute="…"` in `html`.
fn attribute_values<'h>(html: &'h str, attribute: &str) -> Vec<&'h str> {
    let opening = format!(" {attribute}=\"");
    html.split(opening.as_str()).skip(1).map(|rest| rest.split_once('"').unwrap().0).collect()
}

/// The vendored files and their SHA-256 (hex), from `SHA256SUMS`.
fn recorded_digests() -> Vec<(String, String)> {
    let sums = std::fs::read_to_string(format!("{ASSETS_DIR}/SHA256SUMS")).unwrap();
    sums.lines()
        .map(|line| {
            let (digest, name) = line.split_once("  ").expect("sha256sum's format: DIGEST  NAME");
            (name.to_owned(), digest.to_owned())
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> aws_lc_rs::digest::Digest {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn the_page_loads_its_scripts_and_styles_from_this_origin_only() {
    let api = apis().await.remove(0);
    let (html, _) = page(&api).await;
    assert!(html.contains("<title>Portcullis management API</title>"), "{html}");
    assert!(html.contains("GraphiQL.createFetcher({ url: \"/graphql\" })"), "{html}");
    assert!(!html.contains("unpkg") && !html.contains("http:") && !html.contains("https:"), "{html}");
    let sources: Vec<&str> =
        attribute_values(&html, "src").into_iter().chain(attribute_values(&html, "href")).collect();
    assert_eq!(sources.len(), 4, "React, ReactDOM, GraphiQL and its stylesheet: {sources:?}");
    let recorded: Vec<String> = recorded_digests().into_iter().map(|(name, _)| name).collect();
    for source in sources {
        assert!(!source.starts_with("//") && !source.contains(':'), "{source} is on another origin");
        let name = source.strip_prefix("/graphql/assets/").unwrap_or_else(|| panic!("{source} is not an asset"));
        assert!(recorded.iter().any(|r| r == name), "{name} is not in SHA256SUMS");
        assert_eq!(get(&api, source).await.0, StatusCode::OK, "{source}");
    }
}

#[tokio::test]
async fn the_policy_allows_this_origin_and_the_inline_script_by_its_hash() {
    let api = apis().await.remove(0);
    let (html, policy) = page(&api).await;
    assert!(!policy.contains("https:") && !policy.contains("http:") && !policy.contains("unpkg"), "{policy}");
    for directive in [
        "default-src 'none'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ] {
        assert!(policy.split("; ").any(|d| d == directive), "{policy} lacks {directive}");
    }

    let inline: Vec<&str> =
        html.split("<script>").skip(1).map(|rest| rest.split_once("</script>").unwrap().0).collect();
    assert_eq!(inline.len(), 1, "one inline script");
    let hash = base64::engine::general_purpose::STANDARD.encode(sha256(inline[0].as_bytes()).as_ref());
    let script_src = policy.split("; ").find(|d| d.starts_with("script-src ")).expect("script-src");
    assert_eq!(script_src, format!("script-src 'self' 'sha256-{hash}'"));
}

#[tokio::test]
async fn the_page_cannot_be_framed_and_sends_no_referrer() {
    let api = apis().await.remove(0);
    let (_, headers, _) = get(&api, "/graphql").await;
    assert_eq!(value_of(&headers, header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(value_of(&headers, header::REFERRER_POLICY), "no-referrer");
}

#[tokio::test]
async fn each_asset_is_the_vendored_file_served_as_immutable() {
    let api = apis().await.remove(0);
    let readme = std::fs::read_to_string(format!("{ASSETS_DIR}/README.md")).unwrap();
    let recorded = recorded_digests();
    assert_eq!(recorded.len(), 4);
    for (name, digest) in recorded {
        let (status, headers, body) = get(&api, &format!("/graphql/assets/{name}")).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        let content_type =
            if name.ends_with(".css") { "text/css; charset=utf-8" } else { "text/javascript; charset=utf-8" };
        assert_eq!(value_of(&headers, header::CONTENT_TYPE), content_type, "{name}");
        assert_eq!(value_of(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{name}");
        assert_eq!(value_of(&headers, header::CACHE_CONTROL), "public, max-age=31536000, immutable", "{name}");
        assert!(!body.is_empty(), "{name}");
        assert_eq!(hex(sha256(&body).as_ref()), digest, "{name} differs from SHA256SUMS");
        assert!(body == std::fs::read(format!("{ASSETS_DIR}/{name}")).unwrap(), "{name} differs from the file");
        assert!(readme.contains(&digest) && readme.contains(&format!("`{name}`")), "README.md lacks {name} {digest}");
    }
}

#[tokio::test]
async fn an_unknown_asset_is_not_found() {
    let api = apis().await.remove(0);
    for path in [
        "/graphql/assets/nope.js",
        "/graphql/assets/graphiql-3.9.0.min.js.map",
        "/graphql/assets/README.md",
        "/graphql/assets/..%2FREADME.md",
        "/graphql/assets/",
    ] {
        assert_eq!(get(&api, path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}
