//! A brand administrator probing another brand's pages and actions sees and changes nothing.

use http::StatusCode;

use crate::harness::{Browser, active, brand_with_client, consoles, create_client, platform_admin, token};

#[tokio::test]
async fn a_brand_admin_cannot_see_or_touch_another_brand() {
    for console in consoles().await {
        let mut platform = platform_admin(&console).await;
        let (acme_admin, acme_admin_secret) = brand_with_client(&mut platform, "acme", "brand:admin").await;
        let (globex_id, globex_secret) = brand_with_client(&mut platform, "globex", "orders:read").await;
        let globex_token = token(&console, "globex", &globex_id, &globex_secret).await.expect("token").access_token;
        let jti = jti_of(&globex_token);
        let user = platform
            .post("/console/brands/globex/users", &[("username", "carol"), ("password", "correct horse battery")])
            .await;
        assert_eq!(user.status, StatusCode::SEE_OTHER, "{}", user.body);
        let user_id = user.location().rsplit('/').next().and_then(|s| s.split('?').next()).expect("user id").to_owned();

        let mut browser = Browser::new(&console);
        let home = browser.sign_in("acme", &acme_admin, &acme_admin_secret).await;
        home.assert_page(StatusCode::OK);
        assert!(home.body.contains("Administrator of acme"));
        assert!(!home.body.contains("All brands"), "no way to the brand list");
        let list = browser.get("/console/brands").await;
        assert_eq!(list.location(), "/console/brands/acme", "the brand list is the own brand");

        for path in [
            "/console/brands/globex".to_owned(),
            "/console/brands/globex/clients".to_owned(),
            "/console/brands/globex/clients/new".to_owned(),
            format!("/console/brands/globex/clients/{globex_id}"),
            "/console/brands/globex/users".to_owned(),
            format!("/console/brands/globex/users/{user_id}"),
            "/console/brands/globex/operators".to_owned(),
            "/console/brands/globex/tokens".to_owned(),
            format!("/console/brands/globex/tokens?client={globex_id}"),
            format!("/console/brands/globex/tokens/{jti}"),
            "/console/brands/globex/keys".to_owned(),
            "/console/brands/globex/audit".to_owned(),
            "/console/brands/system/clients".to_owned(),
            "/console/brands/no-such-brand/clients".to_owned(),
        ] {
            let page = browser.get(&path).await;
            page.assert_page(StatusCode::FORBIDDEN);
            assert!(!page.body.contains(&globex_id), "{path} shows nothing of globex");
            assert!(!page.body.contains("carol"), "{path}");
            assert!(!page.body.contains("href=\"/console/brands/globex/"), "{path} has no tabs of globex");
        }
        for (path, fields) in [
            ("/console/brands".to_owned(), vec![("key", "mine"), ("name", "Mine")]),
            ("/console/brands/globex".to_owned(), vec![("name", "Owned")]),
            ("/console/brands/globex/clients".to_owned(), vec![("name", "x"), ("grant_types", "client_credentials")]),
            (format!("/console/brands/globex/clients/{globex_id}"), vec![("name", "Owned")]),
            (format!("/console/brands/globex/clients/{globex_id}/rotate"), vec![]),
            (format!("/console/brands/globex/clients/{globex_id}/delete"), vec![]),
            ("/console/brands/globex/users".to_owned(), vec![("username", "mallory"), ("password", "long enough pw")]),
            (format!("/console/brands/globex/users/{user_id}"), vec![("password", "taken over now")]),
            (format!("/console/brands/globex/users/{user_id}/disable"), vec![]),
            (format!("/console/brands/globex/users/{user_id}/api-token"), vec![]),
            (format!("/console/brands/globex/users/{user_id}/delete"), vec![]),
            (format!("/console/brands/globex/tokens/{jti}/revoke"), vec![]),
            ("/console/brands/globex/tokens/revoke-all".to_owned(), vec![("client", globex_id.as_str())]),
            ("/console/brands/globex/keys".to_owned(), vec![]),
        ] {
            let page = browser.post(&path, &fields).await;
            page.assert_page(StatusCode::FORBIDDEN);
            assert!(!page.body.contains("id=\"secret\""), "{path} reveals nothing");
        }
        // Nothing changed in globex.
        assert!(active(&console, "globex", &globex_token).await, "globex's token is still live");
        token(&console, "globex", &globex_id, &globex_secret).await.expect("globex's secret still works");
        let brand = platform.get("/console/brands/globex").await;
        assert!(brand.body.contains("globex Inc"), "globex keeps its name");
        let users = platform.get("/console/brands/globex/users").await;
        assert!(users.body.contains("carol") && !users.body.contains("mallory"));
        assert!(!platform.get("/console/brands").await.body.contains("/console/brands/mine"));

        // The own brand works.
        let (own_id, _) = create_client(&mut browser, "acme", "own", "orders:read").await;
        browser.get(&format!("/console/brands/acme/clients/{own_id}")).await.assert_page(StatusCode::OK);
        browser.get("/console/brands/acme/audit").await.assert_page(StatusCode::OK);
    }
}

#[tokio::test]
async fn a_brand_admin_cannot_mint_platform_admins() {
    for console in consoles().await {
        let mut platform = platform_admin(&console).await;
        let (id, secret) = brand_with_client(&mut platform, "acme", "brand:admin").await;
        let mut browser = Browser::new(&console);
        browser.sign_in("acme", &id, &secret).await;
        let page = browser
            .post(
                "/console/brands/acme/clients",
                &[("name", "root"), ("grant_types", "client_credentials"), ("scopes", "platform:admin")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        assert!(!page.body.contains("id=\"secret\""));
    }
}

/// The `jti` claim of a JWT.
fn jti_of(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    let claims: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
    claims["jti"].as_str().expect("jti").to_owned()
}
