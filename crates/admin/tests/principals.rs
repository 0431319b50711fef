//! Users, operators and API access through the management API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use portcullis_core::BrandKey;
use portcullis_grants::introspect::introspect;
use portcullis_tenancy::resolve_brand;
use serde_json::{Value, json};

use common::*;

const CREATE_USER: &str = r#"mutation($b: String!, $u: String!) {
  createUser(input: {brandKey: $b, username: $u, password: "correct horse", permissions: ["read"]}) { user { id username permissions enabled apiAccess } } }"#;

async fn create_user(api: &Api, bearer: &str, brand: &str, username: &str) -> String {
    let (_, body) = call(api, Some(bearer), CREATE_USER, json!({"b": brand, "u": username})).await;
    body["data"]["createUser"]["user"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

async fn introspect_at(api: &Api, brand: &str, token: &str) -> Value {
    let scope = resolve_brand(&api.grants.store, &BrandKey::parse(brand).unwrap()).await.unwrap().unwrap();
    serde_json::to_value(introspect(&api.grants, &scope, token, None).await.unwrap()).unwrap()
}

#[tokio::test]
async fn users_and_operators_are_managed_and_paged() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        let mut ids = Vec::new();
        for i in 0..12 {
            ids.push(create_user(&api, &api.admin, "acme", &format!("user{i:02}")).await);
        }
        let (_, dup) = call(&api, Some(&api.admin), CREATE_USER, json!({"b": "acme", "u": "user00"})).await;
        assert_eq!(code(&dup), Some("CONFLICT"), "{dup}");
        let weak =
            r#"mutation { createUser(input: {brandKey: "acme", username: "x", password: "short"}) { user { id } } }"#;
        let (_, weak) = call(&api, Some(&api.admin), weak, json!({})).await;
        assert_eq!(code(&weak), Some("BAD_USER_INPUT"), "{weak}");
        assert!(!weak.to_string().contains("short"), "the password is not echoed");

        let page = "query($after: String) { users(brandKey: \"acme\", first: 5, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { username } } }";
        let (mut after, mut names) = (Value::Null, Vec::new());
        loop {
            let (_, body) = call(&api, Some(&api.admin), page, json!({"after": after})).await;
            let users = &body["data"]["users"];
            assert_eq!(users["totalCount"], 12, "{body}");
            names.extend(users["nodes"].as_array().unwrap().iter().map(|n| n["username"].as_str().unwrap().to_owned()));
            if users["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = users["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(names, (0..12).map(|i| format!("user{i:02}")).collect::<Vec<_>>());

        let op = r#"mutation { createOperator(input: {brandKey: "acme", username: "olga", password: "correct horse", permissions: ["admin"]}) { operator { id kind } } }"#;
        let (_, body) = call(&api, Some(&api.admin), op, json!({})).await;
        assert_eq!(body["data"]["createOperator"]["operator"]["kind"], "operator", "{body}");
        let (_, ops) = call(
            &api,
            Some(&api.admin),
            "{ operators(brandKey: \"acme\") { totalCount } users(brandKey: \"acme\") { totalCount } }",
            json!({}),
        )
        .await;
        assert_eq!(
            (ops["data"]["operators"]["totalCount"].as_u64(), ops["data"]["users"]["totalCount"].as_u64()),
            (Some(1), Some(12))
        );

        let update = r#"mutation($b: String!, $id: String!) { updateUser(input: {brandKey: $b, id: $id, password: "another horse", permissions: ["read", "write"]}) { principal { permissions } } }"#;
        let (_, body) = call(&api, Some(&api.admin), update, json!({"b": "acme", "id": ids[0]})).await;
        assert_eq!(body["data"]["updateUser"]["principal"]["permissions"], json!(["read", "write"]), "{body}");

        let (_, body) = call(
            &api,
            Some(&api.admin),
            "mutation($id: String!) { disableUser(brandKey: \"acme\", userId: $id) { principal { enabled } } }",
            json!({"id": ids[1]}),
        )
        .await;
        assert_eq!(body["data"]["disableUser"]["principal"]["enabled"], false, "{body}");
        let (_, body) = call(
            &api,
            Some(&api.admin),
            "mutation($id: String!) { deleteUser(brandKey: \"acme\", userId: $id) { deleted } }",
            json!({"id": ids[2]}),
        )
        .await;
        assert_eq!(body["data"]["deleteUser"]["deleted"], true);
        let (_, body) = call(
            &api,
            Some(&api.admin),
            "query($id: String!) { user(brandKey: \"acme\", userId: $id) { id } }",
            json!({"id": ids[2]}),
        )
        .await;
        assert_eq!(code(&body), Some("NOT_FOUND"));
    }
}

#[tokio::test]
async fn api_tokens_are_revealed_once_and_replaced_or_disabled() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        let user = create_user(&api, &api.admin, "acme", "alice").await;
        let enable = "mutation($id: String!) { enableApiAccess(brandKey: \"acme\", userId: $id) { apiToken user { apiAccess } } }";
        let (_, body) = call(&api, Some(&api.admin), enable, json!({"id": user})).await;
        let first = body["data"]["enableApiAccess"]["apiToken"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
        assert_eq!(body["data"]["enableApiAccess"]["user"]["apiAccess"], true);
        assert_eq!(introspect_at(&api, "acme", &first).await["username"], "alice");

        let (_, shown) = call(
            &api,
            Some(&api.admin),
            "query($id: String!) { user(brandKey: \"acme\", userId: $id) { apiAccess apiTokenIssuedAt } }",
            json!({"id": user}),
        )
        .await;
        assert!(!shown.to_string().contains(&first), "never shown again");
        let (_, body) = call(&api, Some(&api.admin), enable, json!({"id": user})).await;
        let second = body["data"]["enableApiAccess"]["apiToken"].as_str().unwrap().to_owned();
        assert_eq!(introspect_at(&api, "acme", &first).await, json!({"active": false}), "regenerated");
        assert_eq!(introspect_at(&api, "acme", &second).await["active"], true);

        let disable =
            "mutation($id: String!) { disableApiAccess(brandKey: \"acme\", userId: $id) { principal { apiAccess } } }";
        let (_, body) = call(&api, Some(&api.admin), disable, json!({"id": user})).await;
        assert_eq!(body["data"]["disableApiAccess"]["principal"]["apiAccess"], false, "{body}");
        assert_eq!(introspect_at(&api, "acme", &second).await, json!({"active": false}));
    }
}

#[tokio::test]
async fn a_brand_admin_cannot_manage_another_brands_people() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        create_brand(&api, "globex").await;
        let (admin_id, admin_secret) = create_client(&api, &api.admin, "acme", &["brand:admin"]).await;
        let acme_admin = token(&api.grants, "acme", &admin_id, &admin_secret, Some("brand:admin")).await;
        let victim = create_user(&api, &api.admin, "globex", "bob").await;
        create_user(&api, &acme_admin, "acme", "own-user").await;

        let v = json!({"b": "globex", "id": victim, "u": "mallory"});
        for query in [
            CREATE_USER,
            "query($b: String!) { users(brandKey: $b) { totalCount } }",
            "query($b: String!) { operators(brandKey: $b) { totalCount } }",
            "query($b: String!, $id: String!) { user(brandKey: $b, userId: $id) { id } }",
            "mutation($b: String!, $id: String!) { updateUser(input: {brandKey: $b, id: $id, password: \"hijacked horse\"}) { principal { id } } }",
            "mutation($b: String!, $id: String!) { disableUser(brandKey: $b, userId: $id) { principal { id } } }",
            "mutation($b: String!, $id: String!) { deleteUser(brandKey: $b, userId: $id) { deleted } }",
            "mutation($b: String!, $id: String!) { enableApiAccess(brandKey: $b, userId: $id) { apiToken } }",
            "mutation($b: String!, $id: String!) { disableApiAccess(brandKey: $b, userId: $id) { principal { id } } }",
        ] {
            let (_, body) = call(&api, Some(&acme_admin), query, v.clone()).await;
            assert_eq!(code(&body), Some("FORBIDDEN"), "{query}: {body}");
            assert!(body["data"].is_null(), "{query}: {body}");
        }
        // The same id at the admin's own brand is simply unknown there.
        let (_, body) = call(
            &api,
            Some(&acme_admin),
            "query($id: String!) { user(brandKey: \"acme\", userId: $id) { id } }",
            json!({"id": victim}),
        )
        .await;
        assert_eq!(code(&body), Some("NOT_FOUND"));
    }
}

#[tokio::test]
async fn users_and_operators_carry_an_email_and_a_name() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        let create = r#"mutation($u: String!, $email: String, $name: String) {
            createUser(input: {brandKey: "acme", username: $u, password: "correct horse", email: $email, name: $name}) {
            user { id email name } } }"#;
        let vars = json!({"u": "alice", "email": "alice@example.com", "name": "Alice Liddell"});
        let (_, body) = call(&api, Some(&api.admin), create, vars).await;
        let id = body["data"]["createUser"]["user"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
        assert_eq!(body["data"]["createUser"]["user"]["email"], "alice@example.com", "{body}");

        let (_, body) = call(
            &api,
            Some(&api.admin),
            "query($id: String!) { user(brandKey: \"acme\", userId: $id) { email name } users(brandKey: \"acme\") { nodes { username email name } } }",
            json!({"id": id}),
        )
        .await;
        assert_eq!(body["data"]["user"], json!({"email": "alice@example.com", "name": "Alice Liddell"}), "{body}");
        assert_eq!(
            body["data"]["users"]["nodes"],
            json!([{"username": "alice", "email": "alice@example.com", "name": "Alice Liddell"}])
        );

        // Both are optional.
        let (_, body) = call(&api, Some(&api.admin), create, json!({"u": "bob"})).await;
        assert_eq!(body["data"]["createUser"]["user"]["email"], Value::Null, "{body}");
        assert_eq!(body["data"]["createUser"]["user"]["name"], Value::Null);

        let op = r#"mutation { createOperator(input: {brandKey: "acme", username: "olga", password: "correct horse",
            email: "olga@example.com", name: "Olga"}) { operator { id } } }"#;
        let (_, body) = call(&api, Some(&api.admin), op, json!({})).await;
        let op_id = body["data"]["createOperator"]["operator"]["id"].as_str().unwrap_or_else(|| panic!("{body}"));
        let (_, body) = call(
            &api,
            Some(&api.admin),
            "query($id: String!) { operator(brandKey: \"acme\", operatorId: $id) { email name } }",
            json!({"id": op_id}),
        )
        .await;
        assert_eq!(body["data"]["operator"], json!({"email": "olga@example.com", "name": "Olga"}), "{body}");

        for (email, name) in [("not-an-address", "Carol"), ("carol@example.com", " "), ("carol@example.com", "a\u{7}b")]
        {
            let (_, body) =
                call(&api, Some(&api.admin), create, json!({"u": "carol", "email": email, "name": name})).await;
            assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{email:?} {name:?}: {body}");
        }
        let (_, body) = call(&api, Some(&api.admin), "{ users(brandKey: \"acme\") { totalCount } }", json!({})).await;
        assert_eq!(body["data"]["users"]["totalCount"], 2, "refused users are not created: {body}");

        // Updates change them: a value sets, null clears, absent keeps; bad values change nothing.
        let update = r#"mutation($id: String!, $email: String, $name: String) {
            updateUser(input: {brandKey: "acme", id: $id, email: $email, name: $name}) { principal { email name } } }"#;
        let (_, body) =
            call(&api, Some(&api.admin), update, json!({"id": id, "email": "a.l@example.com", "name": null})).await;
        assert_eq!(
            body["data"]["updateUser"]["principal"],
            json!({"email": "a.l@example.com", "name": null}),
            "{body}"
        );
        let keep = r#"mutation($id: String!) { updateUser(input: {brandKey: "acme", id: $id, name: "Alice"}) { principal { email name } } }"#;
        let (_, body) = call(&api, Some(&api.admin), keep, json!({"id": id})).await;
        assert_eq!(
            body["data"]["updateUser"]["principal"],
            json!({"email": "a.l@example.com", "name": "Alice"}),
            "{body}"
        );
        let (_, body) = call(&api, Some(&api.admin), update, json!({"id": id, "email": "nope"})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
        let (_, body) = call(
            &api,
            Some(&api.admin),
            "query($id: String!) { user(brandKey: \"acme\", userId: $id) { email } }",
            json!({"id": id}),
        )
        .await;
        assert_eq!(body["data"]["user"]["email"], "a.l@example.com", "{body}");
    }
}
