//! Every query and mutation of the schema, called by a `brand:admin` of brand A on brand B's
//! objects: each must fail with `FORBIDDEN` and return no data, and B must be unchanged. The
//! operation list is checked against the schema itself, so a new operation without a line here
//! fails this test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use http::StatusCode;
use serde_json::{Value, json};

use common::*;

/// (operation, document) pairs; variables: `$b` (brand B), `$c` (B's client), `$u` (B's user),
/// `$o` (B's operator), `$j` (a jti of B).
const OPERATIONS: &[(&str, &str)] = &[
    ("brand", "query($b: String!) { brand(key: $b) { key } }"),
    ("brands", "{ brands { totalCount } }"),
    (
        "client",
        "query($b: String!, $c: String!) { client(brandKey: $b, clientId: $c) { clientId redirectUris postLogoutRedirectUris } }",
    ),
    ("clients", "query($b: String!) { clients(brandKey: $b) { clientId redirectUris } }"),
    ("user", "query($b: String!, $u: String!) { user(brandKey: $b, userId: $u) { id } }"),
    ("users", "query($b: String!) { users(brandKey: $b) { totalCount } }"),
    ("operator", "query($b: String!, $o: String!) { operator(brandKey: $b, operatorId: $o) { id } }"),
    ("operators", "query($b: String!) { operators(brandKey: $b) { totalCount } }"),
    ("tokens", "query($b: String!) { tokens(brandKey: $b) { totalCount } }"),
    ("token", "query($b: String!, $j: String!) { token(brandKey: $b, jti: $j) { jti } }"),
    ("signingKeys", "query($b: String!) { signingKeys(brandKey: $b) { kid } }"),
    ("auditEvents", "query($b: String!) { auditEvents(brandKey: $b) { totalCount } }"),
    ("createBrand", "mutation { createBrand(input: {key: \"intruder\", name: \"x\"}) { brand { key } } }"),
    ("updateBrand", "mutation($b: String!) { updateBrand(input: {key: $b, name: \"pwned\"}) { brand { key } } }"),
    (
        "createClient",
        "mutation($b: String!) { createClient(input: {brandKey: $b, name: \"x\", grantTypes: [\"client_credentials\"]}) { clientSecret } }",
    ),
    (
        "updateClient",
        "mutation($b: String!, $c: String!) { updateClient(input: {brandKey: $b, clientId: $c, name: \"x\", redirectUris: [\"https://evil.example/cb\"]}) { client { name } } }",
    ),
    (
        "rotateClientSecret",
        "mutation($b: String!, $c: String!) { rotateClientSecret(brandKey: $b, clientId: $c) { clientSecret } }",
    ),
    ("deleteClient", "mutation($b: String!, $c: String!) { deleteClient(brandKey: $b, clientId: $c) { deleted } }"),
    (
        "createUser",
        "mutation($b: String!) { createUser(input: {brandKey: $b, username: \"x\", password: \"long enough\"}) { user { id } } }",
    ),
    (
        "createOperator",
        "mutation($b: String!) { createOperator(input: {brandKey: $b, username: \"x\", password: \"long enough\"}) { operator { id } } }",
    ),
    (
        "updateUser",
        "mutation($b: String!, $u: String!) { updateUser(input: {brandKey: $b, id: $u, password: \"hijacked!!\"}) { principal { id } } }",
    ),
    (
        "updateOperator",
        "mutation($b: String!, $o: String!) { updateOperator(input: {brandKey: $b, id: $o, permissions: []}) { principal { id } } }",
    ),
    ("enableUser", "mutation($b: String!, $u: String!) { enableUser(brandKey: $b, userId: $u) { principal { id } } }"),
    (
        "disableUser",
        "mutation($b: String!, $u: String!) { disableUser(brandKey: $b, userId: $u) { principal { id } } }",
    ),
    ("deleteUser", "mutation($b: String!, $u: String!) { deleteUser(brandKey: $b, userId: $u) { deleted } }"),
    (
        "enableOperator",
        "mutation($b: String!, $o: String!) { enableOperator(brandKey: $b, operatorId: $o) { principal { id } } }",
    ),
    (
        "disableOperator",
        "mutation($b: String!, $o: String!) { disableOperator(brandKey: $b, operatorId: $o) { principal { id } } }",
    ),
    (
        "deleteOperator",
        "mutation($b: String!, $o: String!) { deleteOperator(brandKey: $b, operatorId: $o) { deleted } }",
    ),
    (
        "enableApiAccess",
        "mutation($b: String!, $u: String!) { enableApiAccess(brandKey: $b, userId: $u) { apiToken } }",
    ),
    (
        "disableApiAccess",
        "mutation($b: String!, $u: String!) { disableApiAccess(brandKey: $b, userId: $u) { principal { id } } }",
    ),
    (
        "setTokenAttributes",
        "mutation($b: String!, $j: String!) { setTokenAttributes(brandKey: $b, jti: $j, attributes: []) { jti } }",
    ),
    ("revokeToken", "mutation($b: String!, $j: String!) { revokeToken(brandKey: $b, jti: $j) { status } }"),
    ("approveToken", "mutation($b: String!, $j: String!) { approveToken(brandKey: $b, jti: $j) { status } }"),
    ("revokeTokens", "mutation($b: String!, $c: String!) { revokeTokens(brandKey: $b, clientId: $c) { revoked } }"),
    ("rotateSigningKey", "mutation($b: String!) { rotateSigningKey(brandKey: $b) { kid } }"),
    ("withdrawSigningKey", "mutation($b: String!, $k: String!) { withdrawSigningKey(brandKey: $b, kid: $k) { kid } }"),
];

/// A snapshot of brand B as its platform administrator sees it.
async fn snapshot(api: &Api) -> Value {
    let query = r#"{ brand(key: "globex") { name settings { accessTtl displayName logoUrl primaryColor } }
        clients(brandKey: "globex") { clientId name enabled public redirectUris postLogoutRedirectUris }
        users(brandKey: "globex") { nodes { id enabled apiAccess permissions } }
        operators(brandKey: "globex") { nodes { id enabled permissions } }
        tokens(brandKey: "globex") { nodes { jti status attributes { name } } }
        signingKeys(brandKey: "globex") { kid status } }"#;
    let (_, body) = call(api, Some(&api.admin), query, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

#[tokio::test]
async fn a_brand_admin_gets_nothing_of_another_brand_from_any_operation() {
    for api in apis().await {
        let (_, schema) = call(
            &api,
            Some(&api.admin),
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }",
            json!({}),
        )
        .await;
        let mut in_schema = BTreeSet::new();
        for root in ["queryType", "mutationType"] {
            for field in schema["data"]["__schema"][root]["fields"].as_array().unwrap() {
                in_schema.insert(field["name"].as_str().unwrap().to_owned());
            }
        }
        let covered: BTreeSet<String> = OPERATIONS.iter().map(|(name, _)| (*name).to_owned()).collect();
        assert_eq!(in_schema, covered, "every operation of the schema is tried here");

        create_brand(&api, "acme").await;
        create_brand(&api, "globex").await;
        let (admin_id, admin_secret) = create_client(&api, &api.admin, "acme", &["brand:admin"]).await;
        let intruder = token(&api.grants, "acme", &admin_id, &admin_secret, Some("brand:admin")).await;
        let (victim, victim_secret) = create_client(&api, &api.admin, "globex", &["read"]).await;
        token(&api.grants, "globex", &victim, &victim_secret, None).await;
        let uris = r#"mutation($c: String!) { updateClient(input: {brandKey: "globex", clientId: $c,
            redirectUris: ["https://globex.example/cb"], postLogoutRedirectUris: ["https://globex.example/"]}) {
            client { redirectUris } } }"#;
        let (_, body) = call(&api, Some(&api.admin), uris, json!({"c": victim})).await;
        assert_eq!(
            body["data"]["updateClient"]["client"]["redirectUris"],
            json!(["https://globex.example/cb"]),
            "{body}"
        );
        let user = r#"mutation { createUser(input: {brandKey: "globex", username: "bob", password: "correct horse"}) { user { id } } }"#;
        let (_, u) = call(&api, Some(&api.admin), user, json!({})).await;
        let op = r#"mutation { createOperator(input: {brandKey: "globex", username: "olga", password: "correct horse"}) { operator { id } } }"#;
        let (_, o) = call(&api, Some(&api.admin), op, json!({})).await;
        let (_, t) =
            call(&api, Some(&api.admin), r#"{ tokens(brandKey: "globex") { nodes { jti } } }"#, json!({})).await;
        let (_, k) = call(&api, Some(&api.admin), r#"{ signingKeys(brandKey: "globex") { kid } }"#, json!({})).await;
        let vars = json!({
            "b": "globex",
            "c": victim,
            "u": u["data"]["createUser"]["user"]["id"],
            "o": o["data"]["createOperator"]["operator"]["id"],
            "j": t["data"]["tokens"]["nodes"][0]["jti"],
            "k": k["data"]["signingKeys"][0]["kid"],
        });
        let before = snapshot(&api).await;

        for (name, document) in OPERATIONS {
            let (status, body) = call(&api, Some(&intruder), document, vars.clone()).await;
            assert_eq!(status.as_u16(), 200, "{name}");
            assert_eq!(code(&body), Some("FORBIDDEN"), "{name}: {body}");
            assert!(body["data"].is_null(), "{name} returned data: {body}");
        }
        assert_eq!(snapshot(&api).await, before, "brand B is unchanged");
    }
}

#[tokio::test]
async fn brand_admin_of_the_system_brand_is_not_an_administrator() {
    for api in apis().await {
        // A system-brand client with brand:admin could otherwise rotate the platform
        // administrator's secret and read the new one: the system brand is platform-only.
        let (id, secret) = create_client(&api, &api.admin, "system", &["brand:admin"]).await;
        let bearer = token(&api.grants, "system", &id, &secret, Some("brand:admin")).await;
        let (status, body) =
            call(&api, Some(&bearer), "{ clients(brandKey: \"system\") { clientId } }", json!({})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(code(&body), Some("FORBIDDEN"));
        assert!(body.get("data").is_none_or(Value::is_null), "no data: {body}");
    }
}
