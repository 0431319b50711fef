//! Issued tokens (search, details, attributes, revoke, approve, revoke all), signing keys and
//! the audit log.

use http::StatusCode;

use crate::harness::{active, brand_with_client, consoles, platform_admin, token};

#[tokio::test]
async fn tokens_are_found_by_client_inspected_revoked_and_approved() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        let (id, secret) = brand_with_client(&mut browser, "acme", "orders:read").await;
        let issued = token(&console, "acme", &id, &secret).await.expect("token").access_token;
        let other = token(&console, "acme", &id, &secret).await.expect("token").access_token;

        let list = browser.get(&format!("/console/brands/acme/tokens?client={id}&status=active")).await;
        list.assert_page(StatusCode::OK);
        assert_eq!(list.input("client").as_deref(), Some(id.as_str()), "the search stays in the form and URL");
        let link = list.body.split("href=\"/console/brands/acme/tokens/").nth(1).and_then(|s| s.split('"').next());
        let jti = link.expect("a token row").to_owned();
        let path = format!("/console/brands/acme/tokens/{jti}");
        let page = browser.get(&path).await;
        page.assert_page(StatusCode::OK);
        assert_eq!(page.text_of("token-jti").as_deref(), Some(jti.as_str()));

        let attributes =
            browser.post(&format!("{path}/attributes"), &[("attributes", "ticket=OPS-42\nreason = audit")]).await;
        assert_eq!(attributes.location(), format!("{path}?done=attributes"), "{}", attributes.body);
        let page = browser.follow(&attributes).await;
        assert!(page.body.contains("OPS-42"));
        let malformed = browser.post(&format!("{path}/attributes"), &[("attributes", "no equals sign")]).await;
        malformed.assert_page(StatusCode::UNPROCESSABLE_ENTITY);

        let revoked = browser.post(&format!("{path}/revoke"), &[]).await;
        assert_eq!(revoked.location(), format!("{path}?done=revoked"));
        let live = [active(&console, "acme", &issued).await, active(&console, "acme", &other).await];
        assert_eq!(live.iter().filter(|l| !**l).count(), 1, "exactly the chosen token is revoked");
        let page = browser.follow(&revoked).await;
        assert!(page.body.contains("/approve"));
        let approved = browser.post(&format!("{path}/approve"), &[]).await;
        assert_eq!(approved.location(), format!("{path}?done=approved"));
        assert!(active(&console, "acme", &issued).await && active(&console, "acme", &other).await);

        let all = browser.post("/console/brands/acme/tokens/revoke-all", &[("client", &id)]).await;
        assert_eq!(all.location(), format!("/console/brands/acme/tokens?client={id}&done=revoked-all"), "{}", all.body);
        assert!(!active(&console, "acme", &issued).await && !active(&console, "acme", &other).await);
        let neither = browser.post("/console/brands/acme/tokens/revoke-all", &[]).await;
        neither.assert_page(StatusCode::UNPROCESSABLE_ENTITY);
        browser.get("/console/brands/acme/tokens?status=sideways").await.assert_page(StatusCode::UNPROCESSABLE_ENTITY);
        browser.get("/console/brands/acme/tokens/no-such-jti").await.assert_page(StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn token_lists_page_through_hundreds() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        let (id, secret) = brand_with_client(&mut browser, "acme", "a").await;
        for _ in 0..60 {
            token(&console, "acme", &id, &secret).await.expect("token");
        }
        let mut url = format!("/console/brands/acme/tokens?client={id}");
        let mut seen = std::collections::HashSet::new();
        for _ in 0..5 {
            let page = browser.get(&url).await;
            page.assert_page(StatusCode::OK);
            for jti in
                page.body.split("href=\"/console/brands/acme/tokens/").skip(1).filter_map(|s| s.split('"').next())
            {
                assert!(seen.insert(jti.to_owned()), "{jti} shown twice");
            }
            match page.body.split("rel=\"next\"").next().and_then(|before| before.rsplit("href=\"").next()) {
                Some(next) if page.body.contains("rel=\"next\"") => {
                    url = next.split('"').next().expect("href").replace("&#38;", "&").replace("&amp;", "&");
                    assert!(url.contains(&format!("client={id}")), "the filter stays in the next link: {url}");
                }
                _ => break,
            }
        }
        assert_eq!(seen.len(), 60, "every token exactly once");
    }
}

#[tokio::test]
async fn signing_keys_rotate_and_the_audit_log_shows_changes() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        browser.post("/console/brands", &[("key", "acme"), ("name", "Acme")]).await;
        let keys = browser.get("/console/brands/acme/keys").await;
        keys.assert_page(StatusCode::OK);
        let rotated = browser.post("/console/brands/acme/keys", &[]).await;
        assert_eq!(rotated.location(), "/console/brands/acme/keys?done=key-rotated");
        let after = browser.follow(&rotated).await;
        assert!(
            after.body.contains("retired") || after.body.contains("Retired"),
            "the old key retires: {}",
            after.body
        );
        let audit = browser.get("/console/brands/acme/audit").await;
        audit.assert_page(StatusCode::OK);
        assert!(audit.body.contains("key.rotated") || audit.body.contains("rotate"), "{}", audit.body);
        assert!(audit.body.contains(&format!("client:{}@system", console.admin_id)), "who did it");
    }
}
