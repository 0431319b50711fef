//! Users and operators: create, edit, enable and disable, API tokens shown once.

use http::StatusCode;

use crate::harness::{Browser, Page, active, consoles, platform_admin};

/// The principal id at the end of a redirect to its page.
fn id_from(redirect: &Page) -> String {
    let location = redirect.location();
    location.split('?').next().and_then(|p| p.rsplit('/').next()).expect("an id").to_owned()
}

#[tokio::test]
async fn users_are_created_edited_disabled_and_deleted() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        browser.post("/console/brands", &[("key", "acme"), ("name", "Acme")]).await;
        browser.get("/console/brands/acme/users").await.assert_page(StatusCode::OK);
        let short = browser
            .post(
                "/console/brands/acme/users",
                &[("username", "alice"), ("password", "short"), ("email", "alice@acme.example")],
            )
            .await;
        short.assert_page(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(short.input("username").as_deref(), Some("alice"), "the username is kept");
        assert!(!short.body.contains("value=\"short\""), "the password is never echoed");
        let created = browser
            .post(
                "/console/brands/acme/users",
                &[
                    ("username", "alice"),
                    ("password", "correct horse battery"),
                    ("permissions", "orders:read orders:write"),
                    ("email", "alice@acme.example"),
                    ("name", "Alice Liddell"),
                ],
            )
            .await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        let id = id_from(&created);
        let page = browser.follow(&created).await;
        page.assert_page(StatusCode::OK);
        assert_eq!(page.text_of("principal-id").as_deref(), Some(id.as_str()));
        assert!(page.body.contains("Alice Liddell") && page.body.contains("orders:write"));
        assert!(!page.body.contains("correct horse battery"));
        let taken = browser
            .post("/console/brands/acme/users", &[("username", "alice"), ("password", "another password")])
            .await;
        taken.assert_page(StatusCode::CONFLICT);

        let path = format!("/console/brands/acme/users/{id}");
        let saved = browser
            .post(&path, &[("permissions", "orders:read"), ("email", ""), ("name", "Alice L."), ("password", "")])
            .await;
        assert_eq!(saved.location(), format!("{path}?done=updated"), "{}", saved.body);
        let page = browser.follow(&saved).await;
        assert!(page.body.contains("Alice L.") && !page.body.contains("alice@acme.example"), "blank email clears it");
        let bad = browser.post(&path, &[("email", "not an email")]).await;
        bad.assert_page(StatusCode::UNPROCESSABLE_ENTITY);

        let disabled = browser.post(&format!("{path}/disable"), &[]).await;
        assert_eq!(disabled.location(), format!("{path}?done=disabled"));
        assert!(browser.follow(&disabled).await.body.contains("/enable"), "now it can be enabled again");
        let enabled = browser.post(&format!("{path}/enable"), &[]).await;
        assert_eq!(enabled.location(), format!("{path}?done=enabled"));

        let list = browser.get("/console/brands/acme/users").await;
        assert!(list.body.contains(&format!("href=\"{path}\"")));
        let deleted = browser.post(&format!("{path}/delete"), &[]).await;
        assert_eq!(deleted.location(), "/console/brands/acme/users?done=deleted");
        browser.get(&path).await.assert_page(StatusCode::NOT_FOUND);
        browser.post(&format!("{path}/levitate"), &[]).await.assert_page(StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn api_tokens_are_shown_once_and_regenerating_replaces_them() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        browser.post("/console/brands", &[("key", "acme"), ("name", "Acme")]).await;
        let created = browser
            .post("/console/brands/acme/users", &[("username", "bob"), ("password", "correct horse battery")])
            .await;
        let id = id_from(&created);
        let path = format!("/console/brands/acme/users/{id}");
        browser.get(&path).await.assert_page(StatusCode::OK);
        let first = api_token(&mut browser, &path).await;
        assert!(active(&console, "acme", &first).await, "the API token works");
        let page = browser.get(&path).await;
        assert!(!page.body.contains(&first), "the user's page never shows the token");
        assert!(page.body.contains("Regenerate API token"));
        let second = api_token(&mut browser, &path).await;
        assert_ne!(first, second);
        assert!(!active(&console, "acme", &first).await, "the previous token stopped working");
        assert!(active(&console, "acme", &second).await);
        let off = browser.post(&format!("{path}/api-token-disable"), &[]).await;
        assert_eq!(off.location(), format!("{path}?done=api-disabled"));
        assert!(!active(&console, "acme", &second).await, "disabled at once");
    }
}

async fn api_token(browser: &mut Browser<'_>, path: &str) -> String {
    let reveal = browser.post(&format!("{path}/api-token"), &[]).await;
    reveal.assert_page(StatusCode::OK);
    assert!(reveal.body.contains("won't be shown again"));
    reveal.input("secret").expect("the API token")
}

#[tokio::test]
async fn operators_have_their_own_pages_and_no_api_tokens() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        browser.post("/console/brands", &[("key", "acme"), ("name", "Acme")]).await;
        let created = browser
            .post(
                "/console/brands/acme/operators",
                &[("username", "ops"), ("password", "correct horse battery"), ("permissions", "support")],
            )
            .await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        let id = id_from(&created);
        let path = format!("/console/brands/acme/operators/{id}");
        let page = browser.follow(&created).await;
        page.assert_page(StatusCode::OK);
        assert!(!page.body.contains("api-token"), "operators have no API token");
        browser.post(&format!("{path}/api-token"), &[]).await.assert_page(StatusCode::NOT_FOUND);
        let list = browser.get("/console/brands/acme/operators").await;
        assert!(list.body.contains("ops"));
        let users = browser.get("/console/brands/acme/users").await;
        assert!(!users.body.contains(&id), "users and operators are separate");
    }
}

#[tokio::test]
async fn users_are_searched_by_username_and_paged_with_the_search_in_the_url() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        browser.post("/console/brands", &[("key", "acme"), ("name", "Acme")]).await;
        for n in 0..30 {
            let username = format!("user-{n:02}");
            let created = browser
                .post("/console/brands/acme/users", &[("username", &username), ("password", "correct horse battery")])
                .await;
            assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        }
        browser.post("/console/brands/acme/users", &[("username", "zed"), ("password", "correct horse battery")]).await;
        let all = browser.get("/console/brands/acme/users").await;
        assert!(all.body.contains("25 shown of 31"), "{}", all.body);
        let found = browser.get("/console/brands/acme/users?q=USER-1").await;
        found.assert_page(StatusCode::OK);
        assert!(found.body.contains("10 shown of 10"), "{}", found.body);
        assert_eq!(found.input("q").as_deref(), Some("USER-1"), "the search stays in the box");
        assert!(!found.body.contains(">zed<"));
        let wide = browser.get("/console/brands/acme/users?q=user").await;
        assert!(wide.body.contains("25 shown of 30"));
        let next =
            wide.body.split("rel=\"next\"").next().and_then(|b| b.rsplit("href=\"").next()).expect("a next link");
        let next = next.split('"').next().expect("href").replace("&#38;", "&").replace("&amp;", "&");
        assert!(next.contains("q=user"), "the next page keeps the search: {next}");
        let second = browser.get(&next).await;
        assert!(second.body.contains("5 shown of 30") && !second.body.contains(">zed<"), "{}", second.body);
    }
}
