//! The admin console (`/console` on the admin listener) in a real browser: the platform
//! administrator signs in with the first-start admin client, creates a brand and a client whose
//! secret is revealed once (never in a URL, not again on reloading or going back), gets a token
//! with it at the public token endpoint, finds that token in the console and revokes it; creates
//! a user, enables its API access and regenerates the API token (the old one stops working); a
//! brand administrator made in the console sees only its brand (403 pages elsewhere); signing
//! out ends the session. Screenshots of every main page land in
//! `target/screenshots/console-*.png`, two of them at phone width.
//!
//! The browser set-up, and what happens without chromedriver, are those of [`crate::browser`].

use fantoccini::Locator;
use serde_json::Value;

use crate::browser::{Browser, PHONE_HEIGHT, PHONE_WIDTH, WINDOW_HEIGHT, WINDOW_WIDTH};
use crate::fixture::{ClientCredentials, Fixture, Server};
use crate::http::{Auth, client_credentials};
use crate::multi_instance::introspect;

/// The brand the console creates.
const BRAND: &str = "acme";

/// A brand made before the server starts, which acme's administrator must not see.
const OTHER_BRAND: &str = "globex";
const OTHER_NAME: &str = "Globex Corporation";

/// The password of the user the console creates.
const PASSWORD: &str = "acme: correct horse battery";

#[tokio::test]
async fn the_admin_console_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let fixture = Fixture::sqlite();
    fixture.create_brand(OTHER_BRAND, &["--name", OTHER_NAME]);
    let other_client = fixture.create_client(OTHER_BRAND, &["--grant", "client_credentials", "--scope", "read"]);
    let server = fixture.serve().await;
    let admin = server.revealed_admin().expect("first start reveals the admin client");
    let console = Console { browser: &browser, base: server.admin_url.clone() };

    // Without a session, the console sends the browser to the sign-in form.
    console.open("/console").await;
    console.expect_page("sign-in", "/console/sign-in", "Sign in to the Portcullis console").await;
    let brand_field = browser.find(Locator::Id("brand")).await.expect("#brand");
    assert_eq!(brand_field.prop("value").await.expect("value").as_deref(), Some("system"), "the default brand");
    console.shot("sign-in").await;

    // The platform administrator's home is the brand list; a new brand.
    console.sign_in("system", &admin).await;
    console.expect_page("brands", "/console/brands", "Brands").await;
    assert!(console.text(".who").await.contains("Platform administrator"), "the header's role");
    console.shot("brands").await;
    browser.fill("#key", BRAND).await;
    browser.fill("#name", "Acme").await;
    console.press("Create brand").await;
    console.expect_page("brand", "/console/brands/acme", "Acme").await;
    assert_eq!(console.text("#notice").await, "The brand was created.");
    console.shot("brand").await;

    // A client with client_credentials and a scope; its secret is shown once.
    let service = console.new_client("Acme reporting", "read write", "read", Some("reveal")).await;
    console
        .expect_page("client", &format!("/console/brands/acme/clients/{}", service.id), "Client Acme reporting")
        .await;
    assert_eq!(console.text("#client-id").await, service.id);
    console.assert_not_shown(&service.secret, "the client's page").await;

    // The clients list, searched by the client id, at desktop and at phone width.
    console.open("/console/brands/acme/clients").await;
    browser.fill("#q", &service.id).await;
    console.press("Search").await;
    console.expect_page("clients", "/console/brands/acme/clients", "Clients").await;
    let url = browser.current_url().await.expect("current URL");
    assert_eq!(url.query(), Some(format!("q={}", service.id).as_str()), "the search's URL");
    let rows = browser.find_all(Locator::Css("tbody tr")).await.expect("rows");
    assert_eq!(rows.len(), 1, "the search found one client");
    assert!(rows[0].text().await.expect("row text").contains(&service.id), "the row shows the client id");
    console.shot("clients").await;
    console.at_phone_width("clients-phone", "the clients list", ".table-wrap").await;

    // The client's secret works at the public token endpoint; the token is found in the console
    // by the client id and revoked there.
    let reply = client_credentials(&server.token_url(BRAND), Auth::Basic(&service), &[]).await;
    let access_token = reply.access_token();
    let seen = introspect(&server, &service, &access_token).await;
    assert_eq!(seen.body()["active"], true, "{}", seen.text);
    assert_eq!(seen.body()["scope"], "read", "the default scope: {}", seen.text);
    let jti = seen.body()["jti"].as_str().expect("a jti").to_owned();
    console.revoke_token(&service.id, &jti).await;
    let seen = introspect(&server, &service, &access_token).await;
    assert_eq!(seen.body()["active"], false, "the revoked token introspects active: {}", seen.text);

    // A user with API access; regenerating the API token invalidates the old one.
    console.api_tokens(&server, &service).await;

    // The signing keys and the audit log.
    console.open("/console/brands/acme/keys").await;
    console.expect_status("keys", "/console/brands/acme/keys", 200).await;
    console.shot("keys").await;
    console.open("/console/brands/acme/audit").await;
    console.expect_status("audit", "/console/brands/acme/audit", 200).await;
    console.assert_not_shown(&service.secret, "the audit log").await;
    console.shot("audit").await;

    // A brand administrator of acme, made in the console.
    let acme_admin = console.new_client("Acme administration", "brand:admin", "", None).await;

    // Signing out ends the session.
    console.sign_out().await;

    // The brand administrator sees its brand and nothing of the others.
    console.sign_in(BRAND, &acme_admin).await;
    console.expect_page("brand-admin-home", "/console/brands/acme", "Acme").await;
    assert!(console.text(".who").await.contains("Administrator of acme"), "the header's role");
    console.open("/console/brands").await;
    console.expect_page("brand-admin-brands", "/console/brands/acme", "Acme").await;
    for path in [
        "/console/brands/system/clients",
        "/console/brands/globex",
        "/console/brands/globex/clients",
        "/console/brands/globex/users",
        "/console/brands/globex/tokens",
        "/console/brands/globex/keys",
        "/console/brands/globex/audit",
        &format!("/console/brands/globex/clients/{}", other_client.id),
        "/console/brands/initech/clients",
    ] {
        console.open(path).await;
        console.expect_status("forbidden", path, 403).await;
        let source = browser.source().await.expect("page source");
        for other in [other_client.id.as_str(), OTHER_NAME, admin.id.as_str()] {
            assert!(!source.contains(other), "{path} shows {other:?}:\n{source}");
        }
        let tabs = browser.find_all(Locator::Css("nav.tabs")).await.expect("tabs");
        assert!(tabs.is_empty(), "{path}: a refusal shows a brand's tabs");
    }
    console.shot("forbidden").await;
    console.open("/console/brands/acme/clients").await;
    console.expect_status("brand-admin-clients", "/console/brands/acme/clients", 200).await;
    for id in [&service.id, &acme_admin.id] {
        assert!(browser.source().await.expect("source").contains(id.as_str()), "acme's client {id} is listed");
    }
    console.sign_out().await;
    drop(server);
}

/// The console at a server's admin listener, in the browser.
struct Console<'a> {
    browser: &'a Browser,
    /// The admin listener's base URL.
    base: String,
}

impl Console<'_> {
    /// Opens a console path.
    async fn open(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.browser.goto(&url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The current URL's path.
    async fn path(&self) -> String {
        self.browser.current_url().await.expect("current URL").path().to_owned()
    }

    /// Checks that the browser is at `path` (whatever the query) with HTTP status `status`.
    async fn expect_status(&self, name: &str, path: &str, status: u64) {
        let at = self.path().await;
        if at != path || self.browser.status().await != status {
            let shot = self.browser.screenshot(&format!("failure-console-{name}")).await;
            let source = self.browser.source().await.unwrap_or_default();
            panic!(
                "expected {path} with status {status}; the browser is at {at} with status {} (screenshot {}):\n{source}",
                self.browser.status().await,
                shot.display()
            );
        }
    }

    /// Checks that the browser is at `path` with status 200 and an `<h1>` reading `heading`.
    async fn expect_page(&self, name: &str, path: &str, heading: &str) {
        self.expect_status(name, path, 200).await;
        self.browser.wait_for_heading(&format!("console-{name}"), heading).await;
    }

    /// The text of the first element matching `selector`.
    async fn text(&self, selector: &str) -> String {
        let element = self.browser.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("{selector}: {e}"));
        element.text().await.unwrap_or_else(|e| panic!("{selector}'s text: {e}"))
    }

    /// Checks that neither the page nor its URL shows `secret`.
    async fn assert_not_shown(&self, secret: &str, what: &str) {
        let url = self.browser.current_url().await.expect("current URL");
        assert!(!url.as_str().contains(secret), "{what}: the URL {url} shows {secret:?}");
        let source = self.browser.source().await.expect("page source");
        assert!(!source.contains(secret), "{what} ({url}) shows {secret:?}:\n{source}");
    }

    /// Saves a screenshot of the whole page as `target/screenshots/console-{name}.png`.
    async fn shot(&self, name: &str) {
        self.browser.screenshot_page(&format!("console-{name}")).await;
    }

    /// Takes the screenshot `console-{name}` in a phone-sized window and checks that the page
    /// does not scroll sideways and that `selector` fits; then restores the window.
    async fn at_phone_width(&self, name: &str, what: &str, selector: &str) {
        self.browser.set_window_size(PHONE_WIDTH, PHONE_HEIGHT).await.expect("a phone-sized window");
        self.shot(name).await;
        self.browser.assert_fits_phone(what, selector).await;
        self.browser.set_window_size(WINDOW_WIDTH, WINDOW_HEIGHT).await.expect("restore the window size");
    }

    /// Clicks the button reading `label` and waits for the next page; when its form asks for a
    /// confirmation, accepts it and returns the question.
    async fn press(&self, label: &str) -> Option<String> {
        let button = format!("//button[normalize-space()='{label}']");
        let guarded = format!("//form[@data-confirm][.{button}]");
        let name = format!("console-{}", label.to_lowercase().replace(' ', "-"));
        if self.browser.find_all(Locator::XPath(&guarded)).await.expect("forms").is_empty() {
            self.browser.click_and_wait(Locator::XPath(&button), &name, "").await;
            None
        } else {
            Some(self.browser.confirm_and_wait(Locator::XPath(&button), &name).await)
        }
    }

    /// Follows the link reading `label`.
    async fn follow(&self, label: &str) {
        let link = format!("//a[normalize-space()='{label}']");
        let name = format!("console-{}", label.to_lowercase().replace(' ', "-"));
        self.browser.click_and_wait(Locator::XPath(&link), &name, "").await;
    }

    /// Fills and submits the sign-in form.
    async fn sign_in(&self, brand: &str, admin: &ClientCredentials) {
        if self.path().await != "/console/sign-in" {
            self.open("/console/sign-in").await;
        }
        self.browser.fill("#brand", brand).await;
        self.browser.fill("#client_id", &admin.id).await;
        self.browser.fill("#client_secret", &admin.secret).await;
        self.press("Sign in").await;
        let url = self.browser.current_url().await.expect("current URL");
        assert!(
            url.path() != "/console/sign-in",
            "signing in as {} @ {brand} failed (is the Secure session cookie refused over {}?): {url}\n{}",
            admin.id,
            self.base,
            self.browser.source().await.unwrap_or_default()
        );
        self.assert_not_shown(&admin.secret, "the page after signing in").await;
    }

    /// Signs out with the header's button; afterwards the console wants a new sign-in.
    async fn sign_out(&self) {
        self.press("Sign out").await;
        self.expect_page("signed-out", "/console/sign-in", "Sign in to the Portcullis console").await;
        assert_eq!(self.text("#notice").await, "You are signed out.");
        self.open("/console/brands").await;
        self.expect_page("after-sign-out", "/console/sign-in", "Sign in to the Portcullis console").await;
    }

    /// Reads the one-time reveal page: checks its warning, its copy button and that the URL does
    /// not carry the value; returns who it belongs to (the heading's monospace part) and the
    /// value, then checks that reloading it, or going back, shows it no more.
    /// With `shot`, takes screenshots `console-{shot}` and, at phone width, `console-{shot}-phone`.
    /// Ends on the page its continue link leads to.
    async fn reveal(&self, shot: Option<&str>, what: &str) -> (String, String) {
        let name = shot.unwrap_or("reveal");
        let url = self.browser.current_url().await.expect("current URL");
        assert_eq!(self.browser.status().await, 200, "the reveal page {url}");
        let input = self.browser.find(Locator::Css("input#secret")).await.expect("input#secret");
        assert!(input.attr("readonly").await.expect("readonly").is_some(), "input#secret is not read-only");
        let value = input.prop("value").await.expect("value").unwrap_or_default();
        assert!(value.len() >= 32, "the revealed {what} is {value:?}");
        assert!(!url.as_str().contains(&value), "the URL {url} carries the {what}");
        let warning = self.text("p.warning").await;
        assert!(warning.contains("won't be shown again"), "the warning says {warning:?}");
        assert!(warning.contains(what), "the warning names the {what}: {warning:?}");
        let copy = self.browser.find(Locator::Css("button[data-copy=secret]")).await.expect("the copy button");
        assert!(copy.is_displayed().await.expect("displayed"), "console.js did not show the copy button");
        copy.click().await.expect("click the copy button");
        let status = self
            .browser
            .eventually(&format!("console-{name}-copied"), "", async |client| {
                let text = client.find(Locator::Id("secret-status")).await.ok()?.text().await.ok()?;
                (!text.is_empty()).then_some(text)
            })
            .await;
        assert!(status == "Copied to the clipboard." || status == "Select the text and copy it.", "{status:?}");
        let whose = self.text("#reveal-heading .mono").await;
        if let Some(shot) = shot {
            self.shot(shot).await;
            self.at_phone_width(&format!("{shot}-phone"), "the reveal page", "#secret").await;
        }

        // console.js replaced the reveal's history entry with the continue link's address: a
        // reload loads that page (nothing is sent again), and going back never shows the value.
        let next = self.browser.current_url().await.expect("current URL");
        let link = self.browser.find(Locator::LinkText("I have stored it — continue")).await.expect("continue link");
        let href = link.attr("href").await.expect("href").expect("an href");
        assert_eq!(next.path(), href, "the reveal's history entry is the next page");
        self.browser.refresh().await.expect("reload");
        self.assert_not_shown(&value, "the reveal page reloaded").await;
        let fields = self.browser.find_all(Locator::Css("input#secret")).await.expect("fields");
        assert!(fields.is_empty(), "reloading shows the reveal page again");
        self.browser.back().await.expect("go back");
        self.assert_not_shown(&value, "going back from the reveal page").await;
        self.browser.goto(next.as_str()).await.expect("onwards again");
        (whose, value)
    }

    /// Creates a confidential client with client_credentials in acme; returns its credentials.
    /// Ends on the client's page. With `shot`, screenshots of the filled form (`console-new-client`)
    /// and of the reveal page as in [`Self::reveal`].
    async fn new_client(
        &self,
        name: &str,
        scopes: &str,
        default_scopes: &str,
        shot: Option<&str>,
    ) -> ClientCredentials {
        self.open("/console/brands/acme/clients").await;
        self.follow("New client").await;
        self.expect_page("new-client", "/console/brands/acme/clients/new", "New client").await;
        let ticked = self.browser.find_all(Locator::Css("input[name=grant_types]:checked")).await.expect("grants");
        assert_eq!(ticked.len(), 1, "one grant type is ticked");
        assert_eq!(ticked[0].attr("value").await.expect("value").as_deref(), Some("client_credentials"));
        self.browser.fill("#name", name).await;
        self.browser.fill("#scopes", scopes).await;
        self.browser.fill("#default_scopes", default_scopes).await;
        if shot.is_some() {
            self.shot("new-client").await;
        }
        self.press("Create client").await;
        self.browser.wait_for_heading("console-reveal", "Client created").await;
        let (id, secret) = self.reveal(shot, "client secret").await;
        assert_eq!(self.path().await, format!("/console/brands/acme/clients/{id}"), "the continue link");
        ClientCredentials { brand: BRAND.to_owned(), id, secret }
    }

    /// Searches acme's tokens by `client`, opens the token `jti` and revokes it.
    async fn revoke_token(&self, client: &str, jti: &str) {
        self.open("/console/brands/acme/tokens").await;
        self.expect_status("tokens", "/console/brands/acme/tokens", 200).await;
        self.browser.fill("form[role=search] [name=client]", client).await;
        let search = "//form[@role='search']//button[normalize-space()='Search']";
        self.browser.click_and_wait(Locator::XPath(search), "console-token-search", "").await;
        self.expect_status("token-search", "/console/brands/acme/tokens", 200).await;
        let url = self.browser.current_url().await.expect("current URL");
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(query.contains(&("client".to_owned(), client.to_owned())), "the search's URL: {url}");
        let link = format!("a[href$='/tokens/{jti}']");
        let links = self.browser.find_all(Locator::Css(&link)).await.expect("links");
        assert_eq!(links.len(), 1, "the search lists the token {jti} once");
        self.shot("tokens").await;
        self.browser.click_and_wait(Locator::Css(&link), "console-token", "").await;
        self.expect_status("token", &format!("/console/brands/acme/tokens/{jti}"), 200).await;
        assert_eq!(self.text("#token-jti").await, jti);
        self.shot("token").await;
        let question = self.press("Revoke token").await.expect("revoking asks for a confirmation");
        assert!(question.starts_with("Revoke this token?"), "the confirmation asks {question:?}");
        self.expect_status("revoked", &format!("/console/brands/acme/tokens/{jti}"), 200).await;
        assert_eq!(self.text("#notice").await, "The token was revoked.");
        let status = self.browser.find(Locator::XPath("//dt[normalize-space()='Status']/following-sibling::dd[1]"));
        assert_eq!(status.await.expect("the token's status").text().await.expect("status text"), "revoked");
        let approve = self.browser.find_all(Locator::XPath("//button[normalize-space()='Approve token']")).await;
        assert_eq!(approve.expect("buttons").len(), 1, "a revoked token can be approved again");
    }

    /// Creates the user alice, enables its API access and regenerates the API token: the first
    /// token stops working, the second works (checked by introspection with `checker`).
    async fn api_tokens(&self, server: &Server, checker: &ClientCredentials) {
        self.open("/console/brands/acme/users").await;
        self.expect_status("users", "/console/brands/acme/users", 200).await;
        for (field, value) in [
            ("username", "alice"),
            ("password", PASSWORD),
            ("permissions", "read write"),
            ("email", "alice@example.com"),
            ("name", "Alice Example"),
        ] {
            self.browser.fill(&format!("form [name={field}]"), value).await;
        }
        self.press("Create user").await;
        let user_id = self.text("#principal-id").await;
        let user_path = format!("/console/brands/acme/users/{user_id}");
        self.expect_status("user", &user_path, 200).await;
        self.assert_not_shown(PASSWORD, "the user's page").await;
        self.shot("user").await;
        self.open("/console/brands/acme/users").await;
        let link = self.browser.find(Locator::XPath("//tbody//a[normalize-space()='alice']")).await;
        assert_eq!(link.expect("alice in the users list").attr("href").await.expect("href"), Some(user_path.clone()));
        self.shot("users").await;

        self.open(&user_path).await;
        self.press("Enable API access").await;
        let (whose, first) = self.reveal(Some("reveal-api-token"), "API token").await;
        assert_eq!(whose, "alice", "the reveal page names the user");
        assert_eq!(self.path().await, user_path, "the continue link");
        let question = self.press("Regenerate API token").await.expect("regenerating asks for a confirmation");
        assert!(question.contains("stops working"), "the confirmation asks {question:?}");
        let (_, second) = self.reveal(None, "API token").await;
        assert_ne!(first, second, "a regenerated API token");
        let old = introspect(server, checker, &first).await;
        assert_eq!(old.body()["active"], false, "the old API token still works: {}", old.text);
        let new = introspect(server, checker, &second).await;
        let new = new.body();
        assert_eq!(new["active"], true, "the new API token does not work: {new}");
        assert_eq!(new["token_type"], "api_token", "{new}");
        assert_eq!(new["username"], "alice", "{new}");
        assert_eq!(new["sub"], Value::String(user_id), "{new}");
    }
}
