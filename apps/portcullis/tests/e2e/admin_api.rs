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

/// `depth` copies of `open`, then `inner`, then `depth` copies of `close`.
fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

/// A brand administrator's document that nests 100,000 deep (in an argument's list or object
/// value, a variable's default, a selection set, an argument list, or the variables' JSON) is
/// refused with a GraphQL error; the same process then answers an ordinary query. Before the
/// nesting bound, 2,000 levels overflowed a runtime worker's stack and aborted the server.
#[tokio::test]
async fn deeply_nested_documents_are_refused_and_the_server_stays_up() {
    let fixture = Fixture::sqlite();
    // Large enough that the nesting bound, not the body limit, refuses the deepest documents.
    let mut server = fixture.serve_with(&[("PORTCULLIS_HTTP__MAX_BODY_BYTES", "4194304")]).await;
    let admin = server.revealed_admin().expect("first start reveals the admin client");
    let token = client_credentials(&server.token_url("system"), Auth::Basic(&admin), &[]).await.access_token();
    let url = format!("{}/graphql", server.admin_url);
    for depth in [2_000, 100_000] {
        let list = nested("[", "\"a\"", "]", depth);
        let object = nested("{a:", "1", "}", depth);
        let documents = [
            ("list argument", format!("{{users(brandKey:\"acme\",search:{list}){{totalCount}}}}")),
            ("object argument", format!("{{users(brandKey:\"acme\",search:{object}){{totalCount}}}}")),
            ("variable default", format!("query($v:String={list}){{__typename}}")),
            ("selection set", format!("query{}", nested("{a", "", "}", depth))),
            ("argument list", format!("{{users{}}}", nested("(a:", "1", ")", depth))),
            ("unbalanced", "[".repeat(depth)),
        ];
        for (position, document) in documents {
            let response =
                client().post(&url).bearer_auth(&token).json(&json!({"query": document})).send().await.expect("sent");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("a JSON answer");
            assert_eq!(status, 400, "{position}, {depth} deep: {body}");
            assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{position}: {body}");
        }
        // The variables are JSON: its parser has a depth limit of its own.
        let variables = format!(r#"{{"query":"query($v:String){{__typename}}","variables":{{"v":{list}}}}}"#);
        let response = client()
            .post(&url)
            .bearer_auth(&token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(variables)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 400, "variables {depth} deep");
    }
    let (status, body) = graphql(&server.admin_url, Some(&token), "{ brands { totalCount } }").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["brands"]["totalCount"], 1, "{body}");
    assert!(server.is_running(), "the server is still up");
}
