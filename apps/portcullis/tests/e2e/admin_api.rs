//! The management API on the real binary's admin listener: the first-start admin client gets a
//! token and drives GraphQL with a plain HTTP client; anonymous callers get nothing.

use serde_json::{Value, json};

use crate::fixture::Fixture;
use crate::http::{Auth, client, client_credentials};

pub(crate) async fn graphql(admin_url: &str, bearer: Option<&str>, query: &str) -> (u16, Value) {
    let mut request = client().post(format!("{admin_url}/graphql")).json(&json!({"query": query}));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("POST /graphql");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

#[tokio::test]
async fn the_first_admin_creates_a_brand_and_a_client_over_graphql() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        let server = fixture.serve().await;
        let admin = server.revealed_admin().expect("first start reveals the admin client");
        let token = client_credentials(&server.token_url("system"), Auth::Basic(&admin), &[]).await.access_token();

        let (status, body) = graphql(&server.admin_url, None, "{ brands { totalCount } }").await;
        assert_eq!(status, 401, "[{backend}] {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        assert!(body.get("data").is_none());

        let create = r#"mutation { createBrand(input: {key: "acme", name: "Acme"}) { brand { key issuer } } }"#;
        let (status, body) = graphql(&server.admin_url, Some(&token), create).await;
        assert_eq!(status, 200, "[{backend}] {body}");
        assert_eq!(body["data"]["createBrand"]["brand"]["issuer"], fixture.issuer("acme"));
        let client_mutation = r#"mutation { createClient(input: {brandKey: "acme", name: "svc", grantTypes: ["client_credentials"],
            scopes: ["read"], defaultScopes: ["read"], audiences: []}) { client { clientId } clientSecret } }"#;
        let (_, body) = graphql(&server.admin_url, Some(&token), client_mutation).await;
        let created = &body["data"]["createClient"];
        let svc = crate::fixture::ClientCredentials {
            brand: "acme".into(),
            id: created["client"]["clientId"].as_str().expect("clientId").into(),
            secret: created["clientSecret"].as_str().expect("clientSecret").into(),
        };
        let issued = client_credentials(&server.token_url("acme"), Auth::Basic(&svc), &[]).await;
        issued.assert_token();
        let (_, body) = graphql(
            &server.admin_url,
            Some(&token),
            r#"{ tokens(brandKey: "acme") { totalCount nodes { clientId } } }"#,
        )
        .await;
        assert_eq!(body["data"]["tokens"]["totalCount"], 1, "[{backend}] {body}");

        let page = client().get(format!("{}/graphql", server.admin_url)).send().await.expect("GraphiQL");
        assert_eq!(page.status().as_u16(), 200);
        assert!(page.text().await.expect("HTML").contains("graphiql"), "GraphiQL is served");
    }
}
