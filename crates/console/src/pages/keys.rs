//! A brand's signing keys: the published keys with their lifecycle, and rotating now.
//!
//! Only public parts are shown; the API never returns a private key.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::{badge_class, input_failure};
use super::{done_notice, problem_page, query};
use crate::ConsoleState;
use crate::api;
use crate::page::{self, Layout, Notice, brand_href, utc, utc_or_dash};
use crate::session::{Posted, Session};

/// The brand's signing keys, newest first.
const LIST: &str = "query($b: String!) { signingKeys(brandKey: $b) {
  kid algorithm status createdAt activatedAt retiredAt publishUntil } }";

/// Rotates the brand's signing key now.
const ROTATE: &str = "mutation($b: String!) { rotateSigningKey(brandKey: $b) { kid } }";

/// A signing key as the API shows it (public parts only).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SigningKey {
    /// Key id, the RFC 7638 thumbprint.
    pub(crate) kid: String,
    pub(crate) algorithm: String,
    /// `next`, `active` or `retired`.
    pub(crate) status: String,
    pub(crate) created_at: i64,
    pub(crate) activated_at: Option<i64>,
    pub(crate) retired_at: Option<i64>,
    pub(crate) publish_until: Option<i64>,
}

impl SigningKey {
    /// When it was made.
    pub(crate) fn created(&self) -> String {
        utc(self.created_at)
    }

    /// When it started signing, or a dash.
    pub(crate) fn activated(&self) -> String {
        utc_or_dash(self.activated_at)
    }

    /// When it stopped signing, or a dash.
    pub(crate) fn retired(&self) -> String {
        utc_or_dash(self.retired_at)
    }

    /// Until when a retired key stays in the JWKS, or a dash.
    pub(crate) fn published_until(&self) -> String {
        utc_or_dash(self.publish_until)
    }

    /// The CSS class of its status badge: a retired key is off.
    pub(crate) fn status_class(&self) -> &'static str {
        badge_class(self.status != "retired")
    }
}

/// The keys page.
#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage {
    l: Layout,
    keys: Vec<SigningKey>,
}

/// `/console/brands/{brand}/keys`.
fn keys_href(brand: &str) -> String {
    format!("{}/keys", brand_href(brand))
}

/// `GET /console/brands/{brand}/keys`.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    session: Session,
    Path(brand): Path<String>,
    raw: RawQuery,
) -> Response {
    render_list(&state, &session, &brand, (done_notice(&query(raw)), StatusCode::OK)).await
}

/// The keys page with `outcome` (notice and status).
async fn render_list(
    state: &ConsoleState,
    session: &Session,
    brand: &str,
    (notice, status): (Option<Notice>, StatusCode),
) -> Response {
    let keys = match api::fetch(state, session, LIST, json!({"b": brand}), "signingKeys").await {
        Ok(keys) => keys,
        Err(problem) => return problem_page(&problem, session, brand),
    };
    let page =
        KeysPage { l: Layout::signed_in(session, "Signing keys", Some(brand), "keys").with_notice(notice), keys };
    page::render(status, &page)
}

/// `POST /console/brands/{brand}/keys`: rotates the signing key now.
pub(crate) async fn rotate(
    State(state): State<ConsoleState>,
    Path(brand): Path<String>,
    Posted { session, .. }: Posted,
) -> Response {
    match api::run(&state, &session, ROTATE, json!({"b": brand})).await {
        Ok(_) => page::see_other(&format!("{}?done=key-rotated", keys_href(&brand))),
        Err(problem) if problem.is_input() => render_list(&state, &session, &brand, input_failure(&problem)).await,
        Err(problem) => problem_page(&problem, &session, &brand),
    }
}
