//! Brands and clients: create, settings, the one-time secret, search and paging, rotate,
//! delete.

use http::StatusCode;

use crate::harness::{active, brand_with_client, consoles, create_client, platform_admin, token};

#[tokio::test]
async fn brands_are_listed_created_and_configured() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        let refused = browser.post("/console/brands", &[("key", "bad key!"), ("name", "Typed name")]).await;
        refused.assert_page(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("role=\"alert\""));
        assert_eq!(refused.input("name").as_deref(), Some("Typed name"), "what was typed is kept");
        let created = browser.post("/console/brands", &[("key", "acme"), ("name", "Acme")]).await;
        assert_eq!(created.location(), "/console/brands/acme?done=brand-created");
        let overview = browser.follow(&created).await;
        overview.assert_page(StatusCode::OK);
        assert!(overview.body.contains("https://id.example.com/brands/acme"), "the issuer is shown");
        assert!(overview.body.contains("The brand was created."));
        let duplicate = browser.post("/console/brands", &[("key", "acme"), ("name", "Again")]).await;
        duplicate.assert_page(StatusCode::CONFLICT);

        let settings = [
            ("name", "Acme Corp"),
            ("display_name", "Acme Sign-in"),
            ("logo_url", "https://cdn.acme.example/logo.png"),
            ("primary_color", "#0b6e4f"),
            ("access_ttl", "600"),
            ("refresh_ttl", ""),
            ("signing_algorithm", "EdDSA"),
            ("require_audience", "1"),
            ("allowed_grants", "client_credentials"),
            ("allowed_grants", "refresh_token"),
            ("scope_catalog", "orders:read\norders:write"),
        ];
        let saved = browser.post("/console/brands/acme", &settings).await;
        assert_eq!(saved.location(), "/console/brands/acme?done=brand-updated", "{}", saved.body);
        let page = browser.follow(&saved).await;
        assert_eq!(page.input("display_name").as_deref(), Some("Acme Sign-in"));
        assert_eq!(page.input("primary_color").as_deref(), Some("#0b6e4f"));
        assert_eq!(page.input("access_ttl").as_deref(), Some("600"));
        assert!(page.body.contains("orders:read\norders:write"));
        assert!(page.body.contains("name=\"require_audience\" value=\"1\" checked"));

        // A blank lifetime resets it to the server's default.
        let cleared = browser.post("/console/brands/acme", &[("name", "Acme Corp"), ("access_ttl", "")]).await;
        assert_eq!(cleared.status, StatusCode::SEE_OTHER, "{}", cleared.body);
        assert_eq!(browser.follow(&cleared).await.input("access_ttl").as_deref(), Some(""));
        let huge = browser.post("/console/brands/acme", &[("name", "Acme"), ("access_ttl", "3000000000")]).await;
        huge.assert_page(StatusCode::UNPROCESSABLE_ENTITY);

        let bad = browser.post("/console/brands/acme", &[("name", "Acme"), ("primary_color", "red")]).await;
        bad.assert_page(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("#rrggbb") || bad.body.contains("colour"), "{}", bad.body);
        let not_a_number = browser.post("/console/brands/acme", &[("name", "Acme"), ("access_ttl", "soon")]).await;
        not_a_number.assert_page(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(not_a_number.body.contains("whole number"));

        let list = browser.get("/console/brands").await;
        list.assert_page(StatusCode::OK);
        assert!(list.body.contains("href=\"/console/brands/acme\""));
        assert!(list.body.contains("href=\"/console/brands/system\""));
    }
}

#[tokio::test]
async fn a_new_clients_secret_is_shown_once_and_works() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        browser.post("/console/brands", &[("key", "acme"), ("name", "Acme")]).await;
        browser.get("/console/brands/acme/clients/new").await.assert_page(StatusCode::OK);
        let reveal = browser
            .post(
                "/console/brands/acme/clients",
                &[
                    ("name", "Billing"),
                    ("grant_types", "client_credentials"),
                    ("scopes", "orders:read"),
                    ("audiences", "https://api.acme"),
                ],
            )
            .await;
        reveal.assert_page(StatusCode::OK);
        assert!(reveal.body.contains("won't be shown again"));
        assert!(reveal.body.contains("data-copy=\"secret\""), "a copy button");
        let secret = reveal.input("secret").expect("the secret");
        let id = reveal.text_of("revealed-for").expect("the client id");
        assert!(reveal.location().is_empty(), "the reveal is the POST's own response, not a redirect");

        let issued = token(&console, "acme", &id, &secret).await.expect("the revealed secret works");
        assert!(active(&console, "acme", &issued.access_token).await);

        let page = browser.get(&format!("/console/brands/acme/clients/{id}")).await;
        page.assert_page(StatusCode::OK);
        assert!(!page.body.contains(&secret), "the client's page never shows the secret");
        assert_eq!(page.text_of("client-id").as_deref(), Some(id.as_str()));
        let list = browser.get("/console/brands/acme/clients").await;
        assert!(list.body.contains("Billing") && !list.body.contains(&secret));

        // Edit: the grants and scopes change; a bad redirect URI is refused with the API's message.
        let saved = browser
            .post(
                &format!("/console/brands/acme/clients/{id}"),
                &[
                    ("name", "Billing v2"),
                    ("grant_types", "client_credentials"),
                    ("scopes", "orders:read orders:write"),
                ],
            )
            .await;
        assert_eq!(saved.location(), format!("/console/brands/acme/clients/{id}?done=client-updated"));
        let page = browser.follow(&saved).await;
        assert_eq!(page.input("scopes").as_deref(), Some("orders:read orders:write"));
        let refused = browser
            .post(
                &format!("/console/brands/acme/clients/{id}"),
                &[
                    ("name", "Billing"),
                    ("grant_types", "authorization_code"),
                    ("redirect_uris", "http://evil.example/cb"),
                ],
            )
            .await;
        refused.assert_page(StatusCode::UNPROCESSABLE_ENTITY);

        // Rotate: a new secret, once; the old one stops working (no grace).
        let rotated =
            browser.post(&format!("/console/brands/acme/clients/{id}/rotate"), &[("grace_seconds", "0")]).await;
        rotated.assert_page(StatusCode::OK);
        let new_secret = rotated.input("secret").expect("the new secret");
        assert_ne!(new_secret, secret);
        assert!(token(&console, "acme", &id, &secret).await.is_err(), "the old secret is gone");
        token(&console, "acme", &id, &new_secret).await.expect("the new secret works");
        let bad_grace =
            browser.post(&format!("/console/brands/acme/clients/{id}/rotate"), &[("grace_seconds", "later")]).await;
        bad_grace.assert_page(StatusCode::UNPROCESSABLE_ENTITY);

        // Delete: the client goes and its tokens are revoked.
        let deleted = browser.post(&format!("/console/brands/acme/clients/{id}/delete"), &[]).await;
        assert_eq!(deleted.location(), "/console/brands/acme/clients?done=client-deleted");
        assert!(!active(&console, "acme", &issued.access_token).await, "the deleted client's tokens are revoked");
        browser.get(&format!("/console/brands/acme/clients/{id}")).await.assert_page(StatusCode::NOT_FOUND);
        browser
            .post(&format!("/console/brands/acme/clients/{id}/explode"), &[])
            .await
            .assert_page(StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn public_clients_have_no_secret_to_reveal() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        browser.post("/console/brands", &[("key", "acme"), ("name", "Acme")]).await;
        let created = browser
            .post(
                "/console/brands/acme/clients",
                &[
                    ("name", "SPA"),
                    ("grant_types", "authorization_code"),
                    ("public", "1"),
                    ("scopes", "openid"),
                    ("redirect_uris", "https://app.acme.example/cb?tabs=a,b\r\n\r\nhttps://app.acme.example/other"),
                ],
            )
            .await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        let page = browser.follow(&created).await;
        page.assert_page(StatusCode::OK);
        assert!(page.body.contains("Public (no secret"));
        assert!(
            page.body.contains("https://app.acme.example/cb?tabs=a,b\nhttps://app.acme.example/other"),
            "redirect URIs are one per line and may hold commas: {}",
            page.body
        );
        assert!(!page.body.contains("/rotate"), "nothing to rotate");
        let refused = browser
            .post(
                "/console/brands/acme/clients",
                &[("name", "Bad"), ("grant_types", "client_credentials"), ("public", "1")],
            )
            .await;
        refused.assert_page(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.input("name").as_deref(), Some("Bad"), "the form is shown again as typed");
    }
}

#[tokio::test]
async fn the_client_list_pages_and_searches_in_the_url() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        brand_with_client(&mut browser, "acme", "a").await;
        for n in 0..30 {
            create_client(&mut browser, "acme", &format!("worker-{n:02}"), "a").await;
        }
        let first = browser.get("/console/brands/acme/clients").await;
        first.assert_page(StatusCode::OK);
        assert!(first.body.contains("1–25 of 31"), "{}", first.body);
        assert!(first.body.contains("href=\"/console/brands/acme/clients?page=2\""));
        let second = browser.get("/console/brands/acme/clients?page=2").await;
        assert!(second.body.contains("26–31 of 31"));
        assert!(!second.body.contains("rel=\"next\""));
        let search = browser.get("/console/brands/acme/clients?q=WORKER-1").await;
        assert!(search.body.contains("1–10 of 10"), "case-insensitive search: {}", search.body);
        assert_eq!(search.input("q").as_deref(), Some("WORKER-1"), "the query stays in the search box");
        let none = browser.get("/console/brands/acme/clients?q=%3Cscript%3E").await;
        assert!(!none.body.contains("<script>"), "the query is escaped");
        let silly = browser.get("/console/brands/acme/clients?page=-3").await;
        assert!(silly.body.contains("1–25 of 31"), "a bad page number is the first page");
    }
}
