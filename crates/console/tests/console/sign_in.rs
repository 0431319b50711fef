//! Signing in and out, sessions, CSRF and malformed requests.

use axum::body::Body;
use http::{Request, StatusCode};

use crate::harness::{Browser, consoles, platform_admin};

#[tokio::test]
async fn sign_in_sets_a_strict_session_cookie_and_sign_out_revokes_it() {
    for console in consoles().await {
        let mut browser = Browser::new(&console);
        let form = browser.get("/console/sign-in").await;
        form.assert_page(StatusCode::OK);
        assert!(form.body.contains("autocomplete=\"current-password\""));
        assert!(browser.cookie("__Host-portcullis_console_csrf").is_some(), "the sign-in form's CSRF cookie");
        let done = browser
            .post(
                "/console/sign-in",
                &[("brand", "system"), ("client_id", &console.admin_id), ("client_secret", &console.admin_secret)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let cookie = done
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().expect("ascii").to_owned())
            .find(|c| c.starts_with("__Host-portcullis_console="))
            .expect("a session cookie");
        for attribute in ["Path=/;", "HttpOnly", "Secure", "SameSite=Strict"] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        let max_age: i64 = cookie
            .split("Max-Age=")
            .nth(1)
            .and_then(|v| v.split(';').next())
            .expect("Max-Age")
            .parse()
            .expect("number");
        assert!((1..=900).contains(&max_age), "the session lives as long as the admin token: {max_age}");
        assert_eq!(done.location(), "/console?signed-in=1");
        let home = browser.follow(&done).await;
        assert_eq!(home.location(), "/console/brands", "a platform administrator starts at the brand list");
        let brands = browser.follow(&home).await;
        brands.assert_page(StatusCode::OK);
        assert!(brands.body.contains("Platform administrator"));
        assert!(!brands.body.contains(&console.admin_secret), "the secret is never echoed");

        // The session's token is revoked at sign-out: replaying the old cookie gets nowhere.
        let session = browser.cookie("__Host-portcullis_console").expect("session").to_owned();
        let out = browser.post("/console/sign-out", &[]).await;
        assert_eq!(out.location(), "/console/sign-in?signed-out=1");
        assert!(browser.cookie("__Host-portcullis_console").is_none(), "the cookie is deleted");
        let request = Request::get("/console/brands").header("cookie", format!("__Host-portcullis_console={session}"));
        let replay = browser.send(request, Body::empty()).await;
        assert_eq!(replay.status, StatusCode::SEE_OTHER);
        assert_eq!(replay.location(), "/console/sign-in?expired=1", "a revoked session is over");
    }
}

#[tokio::test]
async fn failed_sign_ins_say_nothing_about_which_part_was_wrong() {
    for console in consoles().await {
        let mut browser = Browser::new(&console);
        browser.get("/console/sign-in").await;
        let generic = "The brand, client ID or client secret is not right";
        for (brand, id, secret) in [
            ("system", console.admin_id.as_str(), "wrong-secret"),
            ("system", "no-such-client", "whatever"),
            ("no-such-brand", console.admin_id.as_str(), console.admin_secret.as_str()),
            ("bad brand key!", "x", "y"),
        ] {
            let page = browser
                .post("/console/sign-in", &[("brand", brand), ("client_id", id), ("client_secret", secret)])
                .await;
            page.assert_page(StatusCode::FORBIDDEN);
            assert!(page.body.contains(generic), "{}", page.body);
            assert!(page.body.contains("role=\"alert\""));
            assert!(!page.body.contains(secret) || secret == "y", "the secret is never echoed");
            assert!(browser.cookie("__Host-portcullis_console").is_none());
        }
        let empty =
            browser.post("/console/sign-in", &[("brand", "system"), ("client_id", ""), ("client_secret", "")]).await;
        empty.assert_page(StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn a_client_without_an_admin_scope_cannot_sign_in() {
    for console in consoles().await {
        let mut admin = platform_admin(&console).await;
        let (id, secret) = crate::harness::brand_with_client(&mut admin, "acme", "orders:read").await;
        let mut browser = Browser::new(&console);
        browser.get("/console/sign-in").await;
        let page = browser
            .post("/console/sign-in", &[("brand", "acme"), ("client_id", &id), ("client_secret", &secret)])
            .await;
        page.assert_page(StatusCode::FORBIDDEN);
        assert!(page.body.contains("not an administrator"), "{}", page.body);
        assert!(browser.cookie("__Host-portcullis_console").is_none());
    }
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_or_from_another_site_are_refused() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        // The sign-in form needs its double-submit cookie.
        let mut stranger = Browser::new(&console);
        let page = stranger
            .post_raw(
                "/console/sign-in",
                &[
                    ("csrf", "guess"),
                    ("brand", "system"),
                    ("client_id", &console.admin_id),
                    ("client_secret", &console.admin_secret),
                ],
            )
            .await;
        page.assert_page(StatusCode::FORBIDDEN);
        // Signed-in forms need the session's token.
        let forged =
            browser.post_raw("/console/brands", &[("csrf", "forged"), ("key", "evil"), ("name", "Evil")]).await;
        forged.assert_page(StatusCode::FORBIDDEN);
        let missing = browser.post_raw("/console/brands", &[("key", "evil"), ("name", "Evil")]).await;
        missing.assert_page(StatusCode::FORBIDDEN);
        // A browser that says the form came from another site (another port of this host, say).
        let csrf = browser.csrf.clone();
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("csrf", csrf.as_str()), ("key", "evil"), ("name", "Evil")])
            .finish();
        let request = Request::post("/console/brands")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-site");
        browser.send(request, Body::from(body)).await.assert_page(StatusCode::FORBIDDEN);
        let brands = browser.get("/console/brands").await;
        assert!(!brands.body.contains("evil"), "no refused form changed anything");
    }
}

#[tokio::test]
async fn malformed_requests_get_pages_not_crashes() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        let csrf = browser.csrf.clone();
        let json = Request::post("/console/brands").header("content-type", "application/json");
        browser.send(json, Body::from("{}")).await.assert_page(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let huge = format!("csrf={csrf}&name={}", "x".repeat(100 * 1024));
        let request = Request::post("/console/brands").header("content-type", "application/x-www-form-urlencoded");
        browser.send(request, Body::from(huge)).await.assert_page(StatusCode::PAYLOAD_TOO_LARGE);
        let bad_escapes = Request::post("/console/brands").header("content-type", "application/x-www-form-urlencoded");
        let page = browser.send(bad_escapes, Body::from(format!("csrf={csrf}&key=%zz%&name=%ff"))).await;
        page.assert_page(StatusCode::UNPROCESSABLE_ENTITY);
        browser.get("/console/nowhere").await.assert_page(StatusCode::NOT_FOUND);
        browser.get("/console/brands/system/widgets").await.assert_page(StatusCode::NOT_FOUND);
        browser.get("/console/brands/system/clients/no-such-client").await.assert_page(StatusCode::NOT_FOUND);
        browser.get("/console/brands/no-such-brand").await.assert_page(StatusCode::NOT_FOUND);
        browser
            .get("/console/brands/system/audit?after=not-a-cursor")
            .await
            .assert_page(StatusCode::UNPROCESSABLE_ENTITY);
        browser.get("/console/brands?after=%00%ff").await.assert_page(StatusCode::UNPROCESSABLE_ENTITY);
        let css = browser.get("/console/static/console.css").await;
        assert_eq!(css.status, StatusCode::OK);
        assert!(css.headers["content-type"].to_str().expect("ascii").starts_with("text/css"));
        browser.get("/console/static/secrets.txt").await.assert_page(StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn pages_need_a_session() {
    for console in consoles().await {
        let mut browser = Browser::new(&console);
        for path in [
            "/console",
            "/console/brands",
            "/console/brands/system",
            "/console/brands/system/clients",
            "/console/brands/system/clients/new",
            "/console/brands/system/users",
            "/console/brands/system/operators",
            "/console/brands/system/tokens",
            "/console/brands/system/keys",
            "/console/brands/system/audit",
        ] {
            let page = browser.get(path).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(page.location(), "/console/sign-in", "{path}");
        }
        let post = browser.post_raw("/console/brands", &[("key", "x"), ("name", "x")]).await;
        assert_eq!(post.status, StatusCode::SEE_OTHER);
        assert_eq!(post.location(), "/console/sign-in");
        let stale =
            Request::get("/console/brands").header("cookie", "__Host-portcullis_console=eyJhbGciOiJub25lIn0.e30.");
        let page = browser.send(stale, Body::empty()).await;
        assert_eq!(page.location(), "/console/sign-in?expired=1", "a forged session is no session");
        let expired = browser.follow(&page).await;
        expired.assert_page(StatusCode::OK);
        assert!(expired.body.contains("Your session has ended"));
    }
}

#[tokio::test]
async fn reloading_an_actions_address_repeats_nothing() {
    for console in consoles().await {
        let mut browser = platform_admin(&console).await;
        for path in
            ["/console/sign-out", "/console/brands/system/clients/x/rotate", "/console/brands/system/users/x/api-token"]
        {
            let page = browser.get(path).await;
            page.assert_page(StatusCode::METHOD_NOT_ALLOWED);
            assert!(page.body.contains("cannot be loaded again"), "{path}");
        }
        browser.get("/console/brands").await.assert_page(StatusCode::OK);
    }
}

#[tokio::test]
async fn a_browser_that_refuses_the_session_cookie_is_told_why() {
    for console in consoles().await {
        let mut browser = Browser::new(&console);
        browser.get("/console/sign-in").await;
        let done = browser
            .post(
                "/console/sign-in",
                &[("brand", "system"), ("client_id", &console.admin_id), ("client_secret", &console.admin_secret)],
            )
            .await;
        // A browser on plain HTTP away from localhost drops the Secure cookie.
        browser.clear_cookies();
        let home = browser.follow(&done).await;
        assert_eq!(home.location(), "/console/sign-in?cookie-refused=1");
        let page = browser.follow(&home).await;
        page.assert_page(StatusCode::OK);
        assert!(page.body.contains("did not keep the session cookie"));
    }
}

#[tokio::test]
async fn a_brand_admin_of_the_system_brand_cannot_sign_in() {
    for console in consoles().await {
        let mut admin = platform_admin(&console).await;
        // A system client with brand:admin only: administering the system brand would be
        // administering the platform (rotating the platform administrator's secret, say).
        let (id, secret) = crate::harness::create_client(&mut admin, "system", "insider", "brand:admin").await;
        let mut browser = Browser::new(&console);
        browser.get("/console/sign-in").await;
        let page = browser
            .post("/console/sign-in", &[("brand", "system"), ("client_id", &id), ("client_secret", &secret)])
            .await;
        page.assert_page(StatusCode::FORBIDDEN);
        assert!(page.body.contains("not an administrator"), "{}", page.body);
        assert!(browser.cookie("__Host-portcullis_console").is_none());
    }
}

#[tokio::test]
async fn a_signed_out_session_cannot_be_approved_back() {
    use portcullis_tenancy::{TokenFilter, TokenStatus, TokenStore};

    for console in consoles().await {
        let mut admin = platform_admin(&console).await;
        let mut other = platform_admin(&console).await;
        let session = other.cookie("__Host-portcullis_console").expect("session").to_owned();
        let out = other.post("/console/sign-out", &[]).await;
        assert_eq!(out.location(), "/console/sign-in?signed-out=1");

        // The signed-out session's token is ended; an administrator's approval is refused.
        let key = portcullis_core::BrandKey::parse("system").expect("brand key");
        let system =
            portcullis_tenancy::resolve_brand(&console.grants.store, &key).await.expect("store").expect("brand");
        let filter = TokenFilter { status: Some(TokenStatus::Ended), ..TokenFilter::default() };
        let ended = console.grants.store.list_tokens(&system, &filter, None, 10).await.expect("store");
        assert_eq!(ended.len(), 1, "the signed-out session's token is ended");
        let path = format!("/console/brands/system/tokens/{}", ended[0].jti);
        let refused = admin.post(&format!("{path}/approve"), &[]).await;
        refused.assert_page(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("cannot be approved"), "{}", refused.body);

        let request = Request::get("/console/brands").header("cookie", format!("__Host-portcullis_console={session}"));
        let replay = other.send(request, Body::empty()).await;
        assert_eq!(replay.location(), "/console/sign-in?expired=1", "the session stays ended");
    }
}
