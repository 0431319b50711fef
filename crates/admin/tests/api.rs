//! The management API through its axum router, on SQLite and (when configured) Postgres: who may
//! call it, the operations of `schema.graphql` as documented there, and brand isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use portcullis_grants::{ClientAuthMethod, ClientCredentials, TokenRequest};
use portcullis_tenancy::{ClientStore, resolve_brand};
use serde_json::{Value, json};
use tower::ServiceExt;

use common::*;

#[test]
fn the_committed_schema_is_current() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema.graphql"))
        .expect("schema.graphql at the repository root");
    assert!(committed == portcullis_admin::schema::sdl(), "schema.graphql is stale: run `cargo xtask schema`");
}

#[test]
fn only_the_capability_resolves_brands() {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    for entry in std::fs::read_dir(src).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        if name != "auth.rs" {
            assert!(
                !text.contains("resolve_brand") && !text.contains("BrandScope::new"),
                "{name} bypasses Caller::brand"
            );
        }
    }
}

#[tokio::test]
async fn without_an_admin_token_there_is_no_data() {
    for api in apis().await {
        let query = "{ brands { totalCount } }";
        let (status, body) = call(&api, None, query, json!({})).await;
        assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED")), "{body}");
        assert!(body.get("data").is_none());
        let (status, body) = call(&api, Some("not-a-token"), query, json!({})).await;
        assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED")));

        // A valid token without an admin scope.
        create_brand(&api, "acme").await;
        let (id, secret) = create_client(&api, &api.admin, "acme", &["read"]).await;
        let plain = token(&api.grants, "acme", &id, &secret, None).await;
        let (status, body) = call(&api, Some(&plain), query, json!({})).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("FORBIDDEN")), "{body}");
        assert!(body.get("data").is_none());
    }
}

#[tokio::test]
async fn admin_tokens_are_addressed_to_the_management_api_alone() {
    use portcullis_core::{ADMIN_AUDIENCE, ActType, GrantType, ScopeSet};
    use portcullis_grants::GrantError;
    use portcullis_grants::issue::{AccessGrant, issue_access_token};

    let own_brand = "{ brand(key: \"acme\") { key } }";
    for api in apis().await {
        create_brand(&api, "acme").await;
        let (id, secret) = create_client(&api, &api.admin, "acme", &["brand:admin", "read"]).await;
        let acme = resolve_brand(&api.grants.store, &portcullis_core::BrandKey::parse("acme").unwrap())
            .await
            .unwrap()
            .unwrap();
        let exchange = |scope: &str, audience: &str| {
            let request = TokenRequest {
                grant_type: Some("client_credentials".into()),
                scope: Some(scope.into()),
                audience: Some(audience.into()).filter(|a: &String| !a.is_empty()),
                ..TokenRequest::default()
            };
            let credentials =
                ClientCredentials { client_id: id.clone(), secret: secret.clone(), method: ClientAuthMethod::Post };
            let (grants, acme) = (api.grants.clone(), acme.clone());
            async move { portcullis_grants::exchange(&grants, &acme, Some(&credentials), &request).await }
        };

        // Asked with no audience or with the API's own, an admin token names the API alone.
        for audience in ["", ADMIN_AUDIENCE] {
            let issued = exchange("brand:admin read", audience).await.expect("an admin token");
            let claims = portcullis_grants::verify::live_access_token(&api.grants, &acme, &issued.access_token)
                .await
                .unwrap()
                .expect("live");
            assert_eq!(claims.aud.to_list(), [ADMIN_AUDIENCE], "asked for {audience:?}");
            let (status, body) = call(&api, Some(&issued.access_token), own_brand, json!({})).await;
            assert_eq!((status, body["data"]["brand"]["key"].as_str()), (StatusCode::OK, Some("acme")), "{body}");
        }
        // Admin scopes are never granted for a resource server, nor the API's audience without them.
        let elsewhere = exchange("brand:admin", "https://rs.example").await;
        assert!(matches!(elsewhere, Err(GrantError::InvalidTarget(_))), "{elsewhere:?}");
        let without_scope = exchange("read", ADMIN_AUDIENCE).await;
        assert!(matches!(without_scope, Err(GrantError::InvalidTarget(_))), "{without_scope:?}");

        // An admin-scoped token addressed elsewhere (as issued before this rule) is refused.
        let client = api
            .grants
            .store
            .find_client(&acme, &portcullis_core::ClientId::parse(id.as_str()).unwrap())
            .await
            .unwrap()
            .unwrap();
        let replayed = issue_access_token(
            &api.grants,
            &acme,
            AccessGrant {
                client: &client,
                subject: id.clone(),
                act_type: ActType::Client,
                grant_type: GrantType::ClientCredentials,
                scopes: ScopeSet::parse_delimited("brand:admin").unwrap(),
                audience: vec!["https://rs.example".into()],
                family_id: None,
            },
        )
        .await
        .unwrap();
        let (status, body) = call(&api, Some(&replayed.token), own_brand, json!({})).await;
        assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED")), "{body}");
        assert!(body.get("data").is_none());
    }
}

#[tokio::test]
async fn a_platform_admin_manages_brands_and_pages_through_them() {
    for api in apis().await {
        for i in 0..25 {
            create_brand(&api, &format!("brand-{i:02}")).await;
        }
        let (_, again) = call(&api, Some(&api.admin), CREATE_BRAND, json!({"key": "brand-00"})).await;
        assert_eq!(code(&again), Some("CONFLICT"), "{again}");
        let (_, bad) = call(&api, Some(&api.admin), CREATE_BRAND, json!({"key": "no spaces"})).await;
        assert_eq!(code(&bad), Some("BAD_USER_INPUT"), "{bad}");

        let page = "query($after: String) { brands(first: 10, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { key } } }";
        let (mut after, mut keys) = (Value::Null, Vec::new());
        loop {
            let (_, body) = call(&api, Some(&api.admin), page, json!({"after": after})).await;
            let brands = &body["data"]["brands"];
            assert_eq!(brands["totalCount"], 26, "the system brand too: {body}");
            keys.extend(brands["nodes"].as_array().unwrap().iter().map(|n| n["key"].as_str().unwrap().to_owned()));
            if brands["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = brands["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(keys.len(), 26);
        assert_eq!(keys[1], "brand-00", "oldest first");
        let (_, body) = call(&api, Some(&api.admin), "{ brands(first: 1000) { totalCount } }", json!({})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"));
        let (_, body) = call(&api, Some(&api.admin), "{ brands(after: \"junk\") { totalCount } }", json!({})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"));

        let (_, body) = call(
            &api,
            Some(&api.admin),
            "{ brand(key: \"brand-07\") { key issuer settings { signingAlgorithm } } }",
            json!({}),
        )
        .await;
        assert_eq!(body["data"]["brand"]["issuer"], "https://id.example.com/brands/brand-07");
        assert_eq!(body["data"]["brand"]["settings"]["signingAlgorithm"], "EdDSA");
        let (_, body) = call(&api, Some(&api.admin), "{ brand(key: \"nobody\") { key } }", json!({})).await;
        assert_eq!(code(&body), Some("NOT_FOUND"));
    }
}

#[tokio::test]
async fn clients_are_created_rotated_and_deleted_with_secrets_shown_once() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        let (id, first) = create_client(&api, &api.admin, "acme", &["read"]).await;
        assert!(first.starts_with("pcs_"));
        let issued = token(&api.grants, "acme", &id, &first, None).await;

        let (_, listed) = call(
            &api,
            Some(&api.admin),
            "query($b: String!) { clients(brandKey: $b) { clientId } }",
            json!({"b": "acme"}),
        )
        .await;
        assert!(!listed.to_string().contains(&first), "the secret is never shown again");

        let rotate = "mutation($b: String!, $c: String!, $g: Int) { rotateClientSecret(brandKey: $b, clientId: $c, graceSeconds: $g) { clientSecret client { previousSecretExpiresAt } } }";
        let (_, body) = call(&api, Some(&api.admin), rotate, json!({"b": "acme", "c": id, "g": 600})).await;
        let second =
            body["data"]["rotateClientSecret"]["clientSecret"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
        assert!(body["data"]["rotateClientSecret"]["client"]["previousSecretExpiresAt"].is_i64());
        token(&api.grants, "acme", &id, &first, None).await;
        token(&api.grants, "acme", &id, &second, None).await;
        let (_, body) = call(&api, Some(&api.admin), rotate, json!({"b": "acme", "c": id, "g": null})).await;
        let third = body["data"]["rotateClientSecret"]["clientSecret"].as_str().unwrap().to_owned();
        token(&api.grants, "acme", &id, &third, None).await;
        let key = portcullis_core::BrandKey::parse("acme").unwrap();
        let acme = resolve_brand(&api.grants.store, &key).await.unwrap().unwrap();
        let old = ClientCredentials { client_id: id.clone(), secret: second, method: ClientAuthMethod::Post };
        let request = TokenRequest { grant_type: Some("client_credentials".into()), ..TokenRequest::default() };
        assert!(
            portcullis_grants::exchange(&api.grants, &acme, Some(&old), &request).await.is_err(),
            "no grace: old secret dead"
        );

        let delete =
            "mutation($b: String!, $c: String!) { deleteClient(brandKey: $b, clientId: $c) { clientId deleted } }";
        let (_, body) = call(&api, Some(&api.admin), delete, json!({"b": "acme", "c": id})).await;
        assert_eq!(body["data"]["deleteClient"]["deleted"], true, "{body}");
        let live = portcullis_grants::introspect::introspect(&api.grants, &acme, &issued, None).await.unwrap();
        assert!(!live.active, "deleting a client revokes its tokens");
        let (_, body) = call(&api, Some(&api.admin), delete, json!({"b": "acme", "c": id})).await;
        assert_eq!(code(&body), Some("NOT_FOUND"));
    }
}

#[tokio::test]
async fn a_brand_admin_cannot_touch_another_brand() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        create_brand(&api, "globex").await;
        let (admin_id, admin_secret) = create_client(&api, &api.admin, "acme", &["brand:admin"]).await;
        let (victim, _) = create_client(&api, &api.admin, "globex", &["read"]).await;
        let acme_admin = token(&api.grants, "acme", &admin_id, &admin_secret, Some("brand:admin")).await;

        // Its own brand works.
        let (_, own) = call(&api, Some(&acme_admin), "{ brand(key: \"acme\") { key } }", json!({})).await;
        assert_eq!(own["data"]["brand"]["key"], "acme", "{own}");
        create_client(&api, &acme_admin, "acme", &["read"]).await;

        let attempts: Vec<(&str, Value)> = vec![
            ("{ brand(key: \"globex\") { key } }", json!({})),
            ("{ brand(key: \"does-not-exist\") { key } }", json!({})),
            ("{ brands { totalCount } }", json!({})),
            ("query($b: String!) { clients(brandKey: $b) { clientId } }", json!({"b": "globex"})),
            (
                "query($b: String!, $c: String!) { client(brandKey: $b, clientId: $c) { clientId } }",
                json!({"b": "globex", "c": victim}),
            ),
            (CREATE_BRAND, json!({"key": "mine"})),
            (CREATE_CLIENT, json!({"b": "globex", "scopes": ["read"]})),
            (CREATE_CLIENT, json!({"b": "acme", "scopes": ["platform:admin"]})),
            (
                "mutation($b: String!, $c: String!) { rotateClientSecret(brandKey: $b, clientId: $c) { clientSecret } }",
                json!({"b": "globex", "c": victim}),
            ),
            (
                "mutation($b: String!, $c: String!) { deleteClient(brandKey: $b, clientId: $c) { deleted } }",
                json!({"b": "globex", "c": victim}),
            ),
        ];
        for (query, variables) in attempts {
            let (status, body) = call(&api, Some(&acme_admin), query, variables).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(code(&body), Some("FORBIDDEN"), "{query}: {body}");
            assert!(body["data"].is_null(), "{query}: no data at all: {body}");
        }
        let (_, still) = call(
            &api,
            Some(&api.admin),
            "query($b: String!) { clients(brandKey: $b) { clientId } }",
            json!({"b": "globex"}),
        )
        .await;
        assert_eq!(still["data"]["clients"][0]["clientId"], victim.as_str(), "nothing changed in globex");
    }
}

#[tokio::test]
async fn malformed_and_oversized_requests_are_refused() {
    let api = apis().await.remove(0);
    let request = |content_type: &str, body: String| {
        Request::post("/graphql")
            .header(header::CONTENT_TYPE, content_type)
            .header(header::AUTHORIZATION, format!("Bearer {}", api.admin))
            .body(Body::from(body))
            .unwrap()
    };
    for (req, status) in [
        (request("text/plain", "{}".into()), StatusCode::BAD_REQUEST),
        (request("application/json", "{not json".into()), StatusCode::BAD_REQUEST),
        (request("application/json", "x".repeat(100_000)), StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let response = api.router.clone().oneshot(req).await.unwrap();
        assert_eq!(response.status(), status);
        let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert!(code(&body).is_some(), "{body}");
    }
    // Fifteen levels of `ofType` exceed the depth limit.
    let nested = format!("{{ __schema {{ types {{ {}name{} }} }} }}", "ofType { ".repeat(15), " }".repeat(15));
    let (_, too_deep) = call(&api, Some(&api.admin), &nested, json!({})).await;
    assert!(too_deep["errors"][0]["message"].as_str().is_some_and(|m| m.contains("deep")), "{too_deep}");
    assert!(too_deep["data"].is_null());
    let (_, unknown) = call(&api, Some(&api.admin), "{ nonsense }", json!({})).await;
    assert_eq!(code(&unknown), Some("GRAPHQL_VALIDATION_FAILED"), "{unknown}");
}

#[tokio::test]
async fn brand_settings_and_client_profiles_are_updated() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        create_brand(&api, "globex").await;
        // A brand administrator's token, obtained before the brand demands audiences.
        let (admin_id, admin_secret) = create_client(&api, &api.admin, "acme", &["brand:admin"]).await;
        let acme_admin = token(&api.grants, "acme", &admin_id, &admin_secret, Some("brand:admin")).await;
        let update = r#"mutation($k: String!, $ttl: Int) { updateBrand(input: {key: $k, requireAudience: true, accessTtl: $ttl,
            allowedGrants: ["client_credentials"], scopeCatalog: ["read", "write"]}) {
            brand { settings { requireAudience accessTtl allowedGrants scopeCatalog signingAlgorithm } } } }"#;
        let (_, body) = call(&api, Some(&api.admin), update, json!({"k": "acme", "ttl": 120})).await;
        let settings = &body["data"]["updateBrand"]["brand"]["settings"];
        assert_eq!(settings["requireAudience"], true, "{body}");
        assert_eq!(settings["accessTtl"], 120);
        assert_eq!(settings["allowedGrants"], json!(["client_credentials"]));
        assert_eq!(settings["scopeCatalog"], json!(["read", "write"]));
        let (_, body) = call(&api, Some(&api.admin), update, json!({"k": "acme", "ttl": null})).await;
        assert!(body["data"]["updateBrand"]["brand"]["settings"]["accessTtl"].is_null(), "null clears: {body}");
        let bad = r#"mutation { updateBrand(input: {key: "acme", signingAlgorithm: "HS256"}) { brand { key } } }"#;
        let (_, body) = call(&api, Some(&api.admin), bad, json!({})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");

        let (id, _) = create_client(&api, &api.admin, "acme", &["read"]).await;
        let change = r#"mutation($c: String!, $d: [String!]) { updateClient(input: {brandKey: "acme", clientId: $c, scopes: ["read", "write"], defaultScopes: $d, accessTtl: 60}) { client { scopes defaultScopes accessTtl name } } }"#;
        let (_, body) = call(&api, Some(&api.admin), change, json!({"c": id, "d": ["write"]})).await;
        let client = &body["data"]["updateClient"]["client"];
        assert_eq!(
            (client["scopes"].clone(), client["defaultScopes"].clone()),
            (json!(["read", "write"]), json!(["write"])),
            "{body}"
        );
        assert_eq!(
            (client["accessTtl"].as_u64(), client["name"].as_str()),
            (Some(60), Some("svc")),
            "untouched fields stay"
        );
        let (_, body) = call(&api, Some(&api.admin), change, json!({"c": id, "d": ["admin"]})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "default scopes outside the scopes: {body}");

        // A brand admin changes its own brand only, and cannot give out platform:admin.
        let (_, own) = call(&api, Some(&acme_admin), update, json!({"k": "acme", "ttl": 300})).await;
        assert_eq!(own["data"]["updateBrand"]["brand"]["settings"]["accessTtl"], 300, "{own}");
        let (_, other) = call(&api, Some(&acme_admin), update, json!({"k": "globex", "ttl": 300})).await;
        assert_eq!(code(&other), Some("FORBIDDEN"));
        let escalate = r#"mutation($c: String!) { updateClient(input: {brandKey: "acme", clientId: $c, scopes: ["platform:admin"]}) { client { scopes } } }"#;
        let (_, body) = call(&api, Some(&acme_admin), escalate, json!({"c": id})).await;
        assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    }
}

#[tokio::test]
async fn brands_carry_branding_that_updates_keep_clear_and_check() {
    for api in apis().await {
        let create = r##"mutation($k: String!, $logo: String, $colour: String) {
            createBrand(input: {key: $k, name: $k, displayName: "Acme Corp", logoUrl: $logo, primaryColor: $colour}) {
            brand { key settings { displayName logoUrl primaryColor } } } }"##;
        let vars = json!({"k": "acme", "logo": "https://cdn.acme.example/logo.svg", "colour": "#1a73e8"});
        let (_, body) = call(&api, Some(&api.admin), create, vars).await;
        assert_eq!(body["data"]["createBrand"]["brand"]["key"], "acme", "{body}");
        let read = r#"{ brand(key: "acme") { settings { displayName logoUrl primaryColor } } }"#;
        let (_, body) = call(&api, Some(&api.admin), read, json!({})).await;
        assert_eq!(
            body["data"]["brand"]["settings"],
            json!({"displayName": "Acme Corp", "logoUrl": "https://cdn.acme.example/logo.svg", "primaryColor": "#1a73e8"}),
            "{body}"
        );

        // Absent keeps, a value sets, null clears.
        let update = r##"mutation { updateBrand(input: {key: "acme", primaryColor: "#000000", logoUrl: null}) {
            brand { settings { displayName logoUrl primaryColor } } } }"##;
        let (_, body) = call(&api, Some(&api.admin), update, json!({})).await;
        assert_eq!(
            body["data"]["updateBrand"]["brand"]["settings"],
            json!({"displayName": "Acme Corp", "logoUrl": null, "primaryColor": "#000000"}),
            "{body}"
        );
        let (_, body) = call(
            &api,
            Some(&api.admin),
            r#"mutation { updateBrand(input: {key: "acme", name: "Renamed"}) { brand { name } } }"#,
            json!({}),
        )
        .await;
        assert_eq!(body["data"]["updateBrand"]["brand"]["name"], "Renamed", "{body}");
        let (_, body) = call(&api, Some(&api.admin), read, json!({})).await;
        assert_eq!(body["data"]["brand"]["settings"]["primaryColor"], "#000000", "other changes keep branding: {body}");

        // Values that could inject into a login page are refused, at creation and on update.
        for (logo, colour) in [
            ("https://cdn.example/logo.png", "red"),
            ("https://cdn.example/logo.png", "#12345"),
            ("https://cdn.example/logo.png", "#1a73e8; background: url(x)"),
            ("http://cdn.example/logo.png", "#1a73e8"),
            ("javascript:alert(1)", "#1a73e8"),
            ("not a url", "#1a73e8"),
        ] {
            let (_, body) =
                call(&api, Some(&api.admin), create, json!({"k": "bad", "logo": logo, "colour": colour})).await;
            assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{logo} {colour}: {body}");
            let update = r#"mutation($logo: String, $colour: String) {
                updateBrand(input: {key: "acme", logoUrl: $logo, primaryColor: $colour}) { brand { key } } }"#;
            let (_, body) = call(&api, Some(&api.admin), update, json!({"logo": logo, "colour": colour})).await;
            assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{logo} {colour}: {body}");
        }
        let (_, body) = call(&api, Some(&api.admin), "{ brand(key: \"bad\") { key } }", json!({})).await;
        assert_eq!(code(&body), Some("NOT_FOUND"), "no brand was created: {body}");
        let (_, body) = call(&api, Some(&api.admin), read, json!({})).await;
        assert_eq!(
            body["data"]["brand"]["settings"],
            json!({"displayName": "Acme Corp", "logoUrl": null, "primaryColor": "#000000"}),
            "refused updates change nothing: {body}"
        );
    }
}

const CREATE_BROWSER_CLIENT: &str = r#"mutation($b: String!, $grants: [String!]!, $uris: [String!]!, $public: Boolean!) {
  createClient(input: {brandKey: $b, name: "spa", grantTypes: $grants, scopes: ["openid"], redirectUris: $uris,
                       postLogoutRedirectUris: ["https://app.example.com/"], public: $public}) {
    client { clientId public redirectUris postLogoutRedirectUris grantTypes } clientSecret } }"#;

#[tokio::test]
async fn public_clients_get_no_secret_and_only_browser_grants() {
    for api in apis().await {
        create_brand(&api, "acme").await;
        let vars = |grants: &[&str], uris: &[&str], public: bool| json!({"b": "acme", "grants": grants, "uris": uris, "public": public});
        let code_grants = ["authorization_code", "refresh_token"];
        let (_, body) = call(
            &api,
            Some(&api.admin),
            CREATE_BROWSER_CLIENT,
            vars(&code_grants, &["https://app.example.com/callback"], true),
        )
        .await;
        let created = &body["data"]["createClient"];
        assert!(created["clientSecret"].is_null(), "a public client has no secret: {body}");
        assert_eq!(created["client"]["public"], true, "{body}");
        assert_eq!(created["client"]["redirectUris"], json!(["https://app.example.com/callback"]));
        let id = created["client"]["clientId"].as_str().unwrap().to_owned();

        let read = "query($c: String!) { client(brandKey: \"acme\", clientId: $c) { public redirectUris postLogoutRedirectUris } }";
        let (_, body) = call(&api, Some(&api.admin), read, json!({"c": id})).await;
        assert_eq!(
            body["data"]["client"],
            json!({"public": true, "redirectUris": ["https://app.example.com/callback"], "postLogoutRedirectUris": ["https://app.example.com/"]}),
            "{body}"
        );

        // Redirect URIs are replaced by an update; what is absent stays, and `public` stays.
        let change = r#"mutation($c: String!, $uris: [String!]) {
            updateClient(input: {brandKey: "acme", clientId: $c, redirectUris: $uris}) {
            client { public redirectUris postLogoutRedirectUris } } }"#;
        let uris = ["http://127.0.0.1:8400/cb", "com.example.app:/oauth2redirect"];
        let (_, body) = call(&api, Some(&api.admin), change, json!({"c": id, "uris": uris})).await;
        assert_eq!(
            body["data"]["updateClient"]["client"],
            json!({"public": true, "redirectUris": uris, "postLogoutRedirectUris": ["https://app.example.com/"]}),
            "{body}"
        );
        let (_, body) = call(&api, Some(&api.admin), change, json!({"c": id, "uris": []})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "authorization_code needs a redirect URI: {body}");
        let (_, body) =
            call(&api, Some(&api.admin), change, json!({"c": id, "uris": ["http://app.example.com/cb"]})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "plain http off loopback: {body}");

        // There is no secret to rotate.
        let rotate = "mutation($c: String!) { rotateClientSecret(brandKey: \"acme\", clientId: $c) { clientSecret } }";
        let (_, body) = call(&api, Some(&api.admin), rotate, json!({"c": id})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert!(body["data"].is_null(), "{body}");

        // A public client cannot use a grant that needs a secret.
        let (_, body) = call(
            &api,
            Some(&api.admin),
            CREATE_BROWSER_CLIENT,
            vars(&["authorization_code", "client_credentials"], &["https://app.example.com/cb"], true),
        )
        .await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
        let widen = r#"mutation($c: String!) { updateClient(input: {brandKey: "acme", clientId: $c,
            grantTypes: ["client_credentials"]}) { client { grantTypes } } }"#;
        let (_, body) = call(&api, Some(&api.admin), widen, json!({"c": id})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");

        // authorization_code without a redirect URI, public or not.
        for public in [true, false] {
            let (_, body) = call(&api, Some(&api.admin), CREATE_BROWSER_CLIENT, vars(&code_grants, &[], public)).await;
            assert_eq!(code(&body), Some("BAD_USER_INPUT"), "public: {public}: {body}");
        }

        // A confidential web client still gets its secret; `public` defaults to false.
        let (_, body) = call(
            &api,
            Some(&api.admin),
            CREATE_BROWSER_CLIENT,
            vars(&code_grants, &["https://app.example.com/callback"], false),
        )
        .await;
        let created = &body["data"]["createClient"];
        assert!(created["clientSecret"].as_str().is_some_and(|s| s.starts_with("pcs_")), "{body}");
        assert_eq!(created["client"]["public"], false);
        let (id, _) = create_client(&api, &api.admin, "acme", &["read"]).await;
        let (_, body) = call(&api, Some(&api.admin), read, json!({"c": id})).await;
        assert_eq!(
            body["data"]["client"],
            json!({"public": false, "redirectUris": [], "postLogoutRedirectUris": []}),
            "{body}"
        );
    }
}
