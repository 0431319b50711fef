//! Issued tokens through the management API: paging over hundreds, filters, attributes,
//! revoke, approve, revoke all, and isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use portcullis_core::BrandKey;
use portcullis_grants::introspect::introspect;
use portcullis_tenancy::resolve_brand;
use serde_json::{Value, json};

use common::*;

const PAGE: &str = r#"query($b: String!, $c: String, $s: String, $after: String) {
  tokens(brandKey: $b, clientId: $c, status: $s, first: 100, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { jti clientId subject status scopes attributes { name value } } } }"#;

async fn all_pages(api: &Api, bearer: &str, vars: Value) -> (u64, Vec<Value>) {
    let (mut after, mut nodes) = (Value::Null, Vec::new());
    loop {
        let mut v = vars.clone();
        v["after"] = after;
        let (_, body) = call(api, Some(bearer), PAGE, v).await;
        let tokens = &body["data"]["tokens"];
        let total = tokens["totalCount"].as_u64().unwrap_or_else(|| panic!("{body}"));
        nodes.extend(tokens["nodes"].as_array().unwrap().iter().cloned());
        if tokens["pageInfo"]["hasNextPage"] != true {
            return (total, nodes);
        }
        after = tokens["pageInfo"]["endCursor"].clone();
    }
}

async fn live(api: &Api, token: &str) -> bool {
    let scope = resolve_brand(&api.grants.store, &BrandKey::parse("acme").unwrap()).await.unwrap().unwrap();
    introspect(&api.grants, &scope, token, None).await.unwrap().active
}

#[tokio::test]
async fn hundreds_of_tokens_are_searched_paged_and_managed() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        let (a, a_secret) = create_client(&api, &api.admin, "acme", &["read"]).await;
        let (b, b_secret) = create_client(&api, &api.admin, "acme", &["read"]).await;
        let mut issued = Vec::new();
        for _ in 0..230 {
            issued.push(token(&api.grants, "acme", &a, &a_secret, None).await);
        }
        let b_token = token(&api.grants, "acme", &b, &b_secret, None).await;

        let (total, nodes) = all_pages(&api, &api.admin, json!({"b": "acme"})).await;
        assert_eq!(total, 231);
        let jtis: BTreeSet<_> = nodes.iter().map(|n| n["jti"].as_str().unwrap().to_owned()).collect();
        assert_eq!(jtis.len(), 231, "every record exactly once across pages");
        let (total_a, _) = all_pages(&api, &api.admin, json!({"b": "acme", "c": a})).await;
        assert_eq!(total_a, 230);

        // One token: attributes, revoke, approve.
        let jti = nodes.iter().find(|n| n["clientId"] == b.as_str()).unwrap()["jti"].as_str().unwrap().to_owned();
        let set = r#"mutation($j: String!) { setTokenAttributes(brandKey: "acme", jti: $j, attributes: [{name: "device", value: "kiosk-7"}]) { attributes { name value } } }"#;
        let (_, body) = call(&api, Some(&api.admin), set, json!({"j": jti})).await;
        assert_eq!(
            body["data"]["setTokenAttributes"]["attributes"],
            json!([{"name": "device", "value": "kiosk-7"}]),
            "{body}"
        );
        let dup = r#"mutation($j: String!) { setTokenAttributes(brandKey: "acme", jti: $j, attributes: [{name: "x", value: "1"}, {name: "x", value: "2"}]) { jti } }"#;
        let (_, body) = call(&api, Some(&api.admin), dup, json!({"j": jti})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"));

        let revoke = "mutation($j: String!) { revokeToken(brandKey: \"acme\", jti: $j) { status } }";
        let (_, body) = call(&api, Some(&api.admin), revoke, json!({"j": jti})).await;
        assert_eq!(body["data"]["revokeToken"]["status"], "revoked", "{body}");
        assert!(!live(&api, &b_token).await);
        let approve = "mutation($j: String!) { approveToken(brandKey: \"acme\", jti: $j) { status } }";
        let (_, body) = call(&api, Some(&api.admin), approve, json!({"j": jti})).await;
        assert_eq!(body["data"]["approveToken"]["status"], "active", "{body}");
        assert!(live(&api, &b_token).await, "approved again");
        let (_, body) =
            call(&api, Some(&api.admin), "{ token(brandKey: \"acme\", jti: \"nope\") { jti } }", json!({})).await;
        assert_eq!(code(&body), Some("NOT_FOUND"));

        // All of a client's.
        let all = "mutation($c: String) { revokeTokens(brandKey: \"acme\", clientId: $c) { revoked } }";
        let (_, body) = call(&api, Some(&api.admin), all, json!({"c": a})).await;
        assert_eq!(body["data"]["revokeTokens"]["revoked"], 230, "{body}");
        assert!(!live(&api, &issued[0]).await && !live(&api, &issued[229]).await);
        let (revoked, _) = all_pages(&api, &api.admin, json!({"b": "acme", "s": "revoked"})).await;
        assert_eq!(revoked, 230);
        let (_, body) = call(&api, Some(&api.admin), all, json!({"c": null})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "a target is required");
        let one = nodes.iter().find(|n| n["clientId"] == a.as_str()).unwrap()["jti"].as_str().unwrap().to_owned();
        let (_, body) = call(&api, Some(&api.admin), approve, json!({"j": one})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "revoked with all of its client's: {body}");
        let (_, body) = call(&api, Some(&api.admin), PAGE, json!({"b": "acme", "s": "expired"})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"));
    }
}

#[tokio::test]
async fn a_brand_admin_sees_and_touches_only_its_own_tokens() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        create_brand(&api, "globex").await;
        let (admin_id, admin_secret) = create_client(&api, &api.admin, "acme", &["brand:admin"]).await;
        let acme_admin = token(&api.grants, "acme", &admin_id, &admin_secret, Some("brand:admin")).await;
        let (g, g_secret) = create_client(&api, &api.admin, "globex", &["read"]).await;
        token(&api.grants, "globex", &g, &g_secret, None).await;
        let (_, nodes) = all_pages(&api, &api.admin, json!({"b": "globex"})).await;
        let jti = nodes[0]["jti"].as_str().unwrap().to_owned();

        let (own, _) = all_pages(&api, &acme_admin, json!({"b": "acme"})).await;
        assert_eq!(own, 1, "its own token only");
        let v = json!({"b": "globex", "j": jti, "c": g});
        for query in [
            "query($b: String!) { tokens(brandKey: $b) { totalCount } }",
            "query($b: String!, $j: String!) { token(brandKey: $b, jti: $j) { jti } }",
            "mutation($b: String!, $j: String!) { revokeToken(brandKey: $b, jti: $j) { status } }",
            "mutation($b: String!, $j: String!) { approveToken(brandKey: $b, jti: $j) { status } }",
            "mutation($b: String!, $j: String!) { setTokenAttributes(brandKey: $b, jti: $j, attributes: []) { jti } }",
            "mutation($b: String!, $c: String!) { revokeTokens(brandKey: $b, clientId: $c) { revoked } }",
        ] {
            let (_, body) = call(&api, Some(&acme_admin), query, v.clone()).await;
            assert_eq!(code(&body), Some("FORBIDDEN"), "{query}: {body}");
            assert!(body["data"].is_null());
        }
        let (_, body) = call(
            &api,
            Some(&acme_admin),
            "query($j: String!) { token(brandKey: \"acme\", jti: $j) { jti } }",
            json!({"j": jti}),
        )
        .await;
        assert_eq!(code(&body), Some("NOT_FOUND"), "another brand's jti is unknown here");
    }
}

/// The `jti` claim of a JWT (read without verification: the test issued it).
fn jti_of(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    let claims: Value = serde_json::from_slice(&bytes).expect("claims");
    claims["jti"].as_str().expect("jti").to_owned()
}

#[tokio::test]
async fn a_token_its_holder_ended_is_never_approved_again() {
    const WHO: &str = "{ brands(first: 1) { totalCount } }";
    const REVOKE: &str = "mutation($b: String!, $j: String!) { revokeToken(brandKey: $b, jti: $j) { status } }";
    const APPROVE: &str = "mutation($b: String!, $j: String!) { approveToken(brandKey: $b, jti: $j) { status } }";
    const STATUS: &str = "query($b: String!, $j: String!) { token(brandKey: $b, jti: $j) { status } }";
    for api in apis().await {
        // A second platform administrator's session, as the console holds it.
        let (id, secret) = create_client(&api, &api.admin, "system", &["platform:admin"]).await;
        let session = token(&api.grants, "system", &id, &secret, Some("platform:admin")).await;
        let jti = jti_of(&session);
        let (_, body) = call(&api, Some(&session), WHO, json!({})).await;
        assert!(body["data"]["brands"]["totalCount"].is_u64(), "{body}");

        // Sign-out: the session revokes its own token, which ends it.
        let (_, body) = call(&api, Some(&session), REVOKE, json!({"b": "system", "j": jti})).await;
        assert_eq!(body["data"]["revokeToken"]["status"], "ended", "{body}");
        let (_, body) = call(&api, Some(&session), WHO, json!({})).await;
        assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");

        // Another administrator cannot bring it back, through the API or storage.
        let (_, body) = call(&api, Some(&api.admin), APPROVE, json!({"b": "system", "j": jti})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("cannot be approved"), "{message}");
        let system = resolve_brand(&api.grants.store, &BrandKey::parse("system").unwrap()).await.unwrap().unwrap();
        use portcullis_tenancy::RevocationStore;
        assert!(!api.grants.store.approve_token(&system, &jti, 1).await.unwrap(), "storage never approves it");
        let (_, body) = call(&api, Some(&api.admin), STATUS, json!({"b": "system", "j": jti})).await;
        assert_eq!(body["data"]["token"]["status"], "ended", "{body}");
        let (_, body) = call(&api, Some(&session), WHO, json!({})).await;
        assert_eq!(code(&body), Some("UNAUTHENTICATED"), "the session stays ended: {body}");

        // The same for a token its client revoked itself (RFC 7009), even after an administrator
        // had revoked it first.
        create_brand(&api, "acme").await;
        let (id, secret) = create_client(&api, &api.admin, "acme", &["read"]).await;
        let issued = token(&api.grants, "acme", &id, &secret, None).await;
        let jti = jti_of(&issued);
        let (_, body) = call(&api, Some(&api.admin), REVOKE, json!({"b": "acme", "j": jti})).await;
        assert_eq!(body["data"]["revokeToken"]["status"], "revoked", "an administrator's revocation: {body}");
        let acme = resolve_brand(&api.grants.store, &BrandKey::parse("acme").unwrap()).await.unwrap().unwrap();
        let client_id = portcullis_core::ClientId::parse(id).unwrap();
        use portcullis_tenancy::ClientStore;
        let client = api.grants.store.find_client(&acme, &client_id).await.unwrap().unwrap();
        portcullis_grants::revoke::revoke(&api.grants, &acme, &client, &issued, None).await.unwrap();
        let (_, body) = call(&api, Some(&api.admin), APPROVE, json!({"b": "acme", "j": jti})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert!(!live(&api, &issued).await);
    }
}

/// `count` aliases of `field`, each asking for `first` items of `selection`.
fn aliased(count: usize, field: &str, first: u32, selection: &str) -> String {
    let one = |i: usize| format!("a{i}: {field}(brandKey: \"acme\", first: {first}) {{ {selection} }}");
    format!("{{ {} }}", (0..count).map(one).collect::<Vec<_>>().join(" "))
}

#[tokio::test]
async fn query_complexity_counts_the_page_sizes_asked_for() {
    let api = apis().await.remove(0);
    create_brand(&api, "acme").await;
    // A hundred pages of a hundred tokens (or users, operators, events) are refused, although a
    // hundred fields alone would not be.
    for field in ["tokens", "users", "operators", "auditEvents"] {
        let (_, body) =
            call(&api, Some(&api.admin), &aliased(100, field, 100, "totalCount nodes { __typename }"), json!({})).await;
        assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("complex")), "{field}: {body}");
        assert_eq!(code(&body), Some("GRAPHQL_VALIDATION_FAILED"), "{field}: {body}");
        assert!(body["data"].is_null(), "{body}");
    }
    let brands = format!(
        "{{ {} }}",
        (0..100).map(|i| format!("a{i}: brands(first: 100) {{ nodes {{ key }} }}")).collect::<Vec<_>>().join(" ")
    );
    let (_, body) = call(&api, Some(&api.admin), &brands, json!({})).await;
    assert_eq!(code(&body), Some("GRAPHQL_VALIDATION_FAILED"), "brands: {body}");
    // Lists without paging count as a default page.
    let lists = format!(
        "{{ {} }}",
        (0..50)
            .map(|i| format!(
                "c{i}: clients(brandKey: \"acme\") {{ clientId }} k{i}: signingKeys(brandKey: \"acme\") {{ kid }}"
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (_, body) = call(&api, Some(&api.admin), &lists, json!({})).await;
    assert_eq!(code(&body), Some("GRAPHQL_VALIDATION_FAILED"), "clients and keys: {body}");

    // One full page, and a few small ones, pass.
    let (_, body) =
        call(&api, Some(&api.admin), &aliased(1, "tokens", 100, "totalCount nodes { jti status }"), json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    let (_, body) = call(&api, Some(&api.admin), &aliased(10, "tokens", 5, "nodes { jti }"), json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
}
