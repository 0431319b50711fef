//! Redirect and post-logout redirect URIs through the API: only canonical URIs without control
//! characters, whitespace or backslashes are registered, at creation and at every update.
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

use common::{apis, call, code, create_brand};
use serde_json::json;

const CREATE: &str = r#"mutation($uris: [String!]!, $logout: [String!]!) {
  createClient(input: {brandKey: "acme", name: "spa", grantTypes: ["authorization_code"], scopes: ["openid"],
                       redirectUris: $uris, postLogoutRedirectUris: $logout, public: true}) {
    client { clientId redirectUris postLogoutRedirectUris } } }"#;

const UPDATE: &str = r#"mutation($c: String!, $uris: [String!], $logout: [String!]) {
  updateClient(input: {brandKey: "acme", clientId: $c, redirectUris: $uris, postLogoutRedirectUris: $logout}) {
    client { redirectUris postLogoutRedirectUris } } }"#;

const READ: &str =
    r#"query($c: String!) { client(brandKey: "acme", clientId: $c) { redirectUris postLogoutRedirectUris } }"#;

/// Each with a word its error message must contain.
const BAD: [(&str, &str); 9] = [
    ("https://app.example/cb\r\nSet-Cookie: x=1", "control characters"),
    ("https://evil.example\\@app.example/cb", "backslash"),
    ("https:/evil.example", "register 'https://evil.example/' instead"),
    ("https://evil.example/../cb", "register 'https://evil.example/cb' instead"),
    ("https://app.example/cb%0d%0aSet-Cookie:%20x=1", "percent-encoded control characters"),
    ("HTTPS://App.Example/cb", "register 'https://app.example/cb' instead"),
    ("https://a.example:443/cb", "register 'https://a.example/cb' instead"),
    ("https://app.example/c b", "whitespace"),
    ("https://app.example/c\tb", "whitespace"),
];

const GOOD: &str = "https://app.example/cb";

#[tokio::test]
async fn non_canonical_or_unsafe_redirect_uris_are_refused_at_creation_and_update() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        let (_, body) = call(&api, Some(&api.admin), CREATE, json!({"uris": [GOOD], "logout": [GOOD]})).await;
        let id = body["data"]["createClient"]["client"]["clientId"].as_str().unwrap_or_else(|| panic!("{body}"));
        let id = id.to_owned();
        for (bad, why) in BAD {
            for (uris, logout) in [(json!([bad]), json!([GOOD])), (json!([GOOD]), json!([GOOD, bad]))] {
                let (_, body) = call(&api, Some(&api.admin), CREATE, json!({"uris": uris, "logout": logout})).await;
                assert_eq!(code(&body), Some("BAD_USER_INPUT"), "create {bad:?}: {body}");
                let message = body["errors"][0]["message"].as_str().unwrap_or_default();
                assert!(message.contains(why), "create {bad:?}: {message}");
                assert!(body["data"].is_null(), "{body}");

                let (_, body) =
                    call(&api, Some(&api.admin), UPDATE, json!({"c": id, "uris": uris, "logout": logout})).await;
                assert_eq!(code(&body), Some("BAD_USER_INPUT"), "update {bad:?}: {body}");
                let message = body["errors"][0]["message"].as_str().unwrap_or_default();
                assert!(message.contains(why), "update {bad:?}: {message}");
            }
        }
        let (_, body) = call(&api, Some(&api.admin), READ, json!({"c": id})).await;
        assert_eq!(
            body["data"]["client"],
            json!({"redirectUris": [GOOD], "postLogoutRedirectUris": [GOOD]}),
            "refused updates change nothing: {body}"
        );
    }
}
