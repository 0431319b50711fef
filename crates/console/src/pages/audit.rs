//! A brand's audit log: who did what, to what, when and from where, newest first, paged by
//! cursor. It never holds a secret.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::{Connection, PAGE_SIZE, Pager, problem_page, query};
use crate::ConsoleState;
use crate::api;
use crate::page::{self, Layout, brand_href, utc};
use crate::session::Session;

/// A page of the brand's audit log, newest first.
const LIST: &str = "query($b: String!, $first: Int, $after: String) {
  auditEvents(brandKey: $b, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { at actor action target source detail } } }";

/// An audit-log entry as the API shows it.
#[derive(Debug, Deserialize)]
pub(crate) struct AuditEvent {
    /// When, seconds since the epoch.
    pub(crate) at: i64,
    /// Who: `client:{id}@{brand}`, `cli`, `system`…
    pub(crate) actor: String,
    /// What, e.g. `token.revoked`.
    pub(crate) action: String,
    pub(crate) target: Option<String>,
    /// The source address, when known.
    pub(crate) source: Option<String>,
    pub(crate) detail: Option<String>,
}

impl AuditEvent {
    /// When it happened.
    pub(crate) fn when(&self) -> String {
        utc(self.at)
    }
}

/// The audit-log page.
#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    events: Vec<AuditEvent>,
    pager: Pager,
}

/// `GET /console/brands/{brand}/audit?after=`.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    session: Session,
    Path(brand): Path<String>,
    raw: RawQuery,
) -> Response {
    let query = query(raw);
    let after = query.text("after");
    let variables = json!({"b": brand, "first": PAGE_SIZE, "after": after});
    let connection: Connection<AuditEvent> = match api::fetch(&state, &session, LIST, variables, "auditEvents").await {
        Ok(connection) => connection,
        Err(problem) => return problem_page(&problem, &session, &brand),
    };
    let pager = Pager::cursor(&format!("{}/audit", brand_href(&brand)), &[], after, &connection);
    let page = AuditPage {
        l: Layout::signed_in(&session, "Audit log", Some(&brand), "audit"),
        events: connection.nodes,
        pager,
    };
    page::render(StatusCode::OK, &page)
}
