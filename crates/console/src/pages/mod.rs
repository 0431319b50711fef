//! The console's pages, one module per area, and what they share: the home redirect, the 404
//! page, Relay connections and page links.

pub(crate) mod audit;
pub(crate) mod brands;
pub(crate) mod clients;
pub(crate) mod keys;
pub(crate) mod principals;
pub(crate) mod tokens;

use askama::Template;
use axum::extract::{RawQuery, Request, State};
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;

use crate::ConsoleState;
use crate::api::Problem;
use crate::form::Form;
use crate::page::{self, Layout, Notice, brand_href, encode};
use crate::session::Session;

/// How many rows a list page shows.
pub(crate) const PAGE_SIZE: usize = 25;

/// `GET /console`: a platform administrator's home is the brand list, a brand administrator's
/// its brand; without a session, the sign-in page.
pub(crate) async fn home(State(state): State<ConsoleState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    match Session::of(&state, &parts.headers, crate::session::source_of(&parts)).await {
        Ok(Some(session)) => match session.own_brand() {
            Some(brand) => page::see_other(&brand_href(brand)),
            None => page::see_other("/console/brands"),
        },
        // Just signed in, yet no cookie came back: the browser refused it (plain HTTP).
        Ok(None) if parts.uri.query() == Some("signed-in=1") => page::see_other("/console/sign-in?cookie-refused=1"),
        Ok(None) => page::see_other("/console/sign-in"),
        Err(response) => response,
    }
}

/// Any other path under `/console`.
pub(crate) async fn not_found() -> Response {
    page::message(StatusCode::NOT_FOUND, "Not found", "There is no console page at this address.")
}

/// A console address asked with the wrong method: typically the address of an action (a form's
/// target) loaded again in the address bar. The action is not repeated.
pub(crate) async fn wrong_method() -> Response {
    page::message(
        StatusCode::METHOD_NOT_ALLOWED,
        "This page cannot be loaded again",
        "This address belongs to a form that was already sent; one-time values such as new secrets \
         are not shown twice. Go back to the console.",
    )
}

/// A Relay connection as the API returns it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Connection<T> {
    pub(crate) total_count: u64,
    pub(crate) page_info: PageInfo,
    pub(crate) nodes: Vec<T>,
}

/// Where a connection continues.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageInfo {
    pub(crate) has_next_page: bool,
    pub(crate) end_cursor: Option<String>,
}

/// The links under a list: back to the first page, on to the next.
#[derive(Debug, Default)]
pub(crate) struct Pager {
    /// The first page, when this is not it.
    pub(crate) first: Option<String>,
    /// The next page, when there is one.
    pub(crate) next: Option<String>,
    /// `26–50 of 212` (numbered pages) or `25 shown of 212` (cursor pages).
    pub(crate) summary: String,
}

impl Pager {
    /// Links for a cursor-paged list at `path` whose other query parameters are `keep`.
    pub(crate) fn cursor<T>(
        path: &str,
        keep: &[(&str, &str)],
        after: Option<&str>,
        connection: &Connection<T>,
    ) -> Self {
        let next = match (&connection.page_info.end_cursor, connection.page_info.has_next_page) {
            (Some(cursor), true) => Some(link(path, keep, Some(("after", cursor)))),
            _ => None,
        };
        Self {
            first: after.map(|_| link(path, keep, None)),
            next,
            summary: format!("{} shown of {}", connection.nodes.len(), connection.total_count),
        }
    }

    /// Links for page `page` (from 1) of a list of `total` items filtered in the console.
    pub(crate) fn numbered(path: &str, keep: &[(&str, &str)], page: usize, total: usize) -> Self {
        let start = (page - 1) * PAGE_SIZE;
        let end = (start + PAGE_SIZE).min(total);
        let next_page = (end < total).then(|| (page + 1).to_string());
        Self {
            first: (page > 1).then(|| link(path, keep, None)),
            next: next_page.map(|n| link(path, keep, Some(("page", &n)))),
            summary: if total == 0 { "none".to_owned() } else { format!("{}–{} of {}", start + 1, end, total) },
        }
    }
}

/// `path?k=v&…`, keeping the non-empty parameters `keep` and adding `extra`.
pub(crate) fn link(path: &str, keep: &[(&str, &str)], extra: Option<(&str, &str)>) -> String {
    let query: Vec<String> = keep
        .iter()
        .copied()
        .chain(extra)
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if query.is_empty() { path.to_owned() } else { format!("{path}?{}", query.join("&")) }
}

/// The parameters of a page's query string.
pub(crate) fn query(raw: RawQuery) -> Form {
    Form::parse(raw.0.unwrap_or_default().as_bytes())
}

/// The notice a redirect after an action asked for (`?done=…`), from a fixed list: the URL
/// never carries free text, let alone a secret.
pub(crate) fn done_notice(query: &Form) -> Option<Notice> {
    let text = match query.get("done")? {
        "brand-created" => "The brand was created.",
        "brand-updated" => "The brand's settings were saved.",
        "client-created" => "The client was created. A public client has no secret.",
        "client-updated" => "The client was saved.",
        "client-deleted" => "The client was deleted and its tokens revoked.",
        "created" => "Created.",
        "updated" => "Saved.",
        "enabled" => "Enabled: it can sign in again.",
        "disabled" => "Disabled: it cannot sign in, and its tokens were revoked.",
        "deleted" => "Deleted, and its tokens revoked.",
        "api-disabled" => "API access was disabled; the API token stopped working.",
        "revoked" => "The token was revoked.",
        "revoked-all" => "Every matching live token was revoked.",
        "approved" => "The token was approved: it is accepted again.",
        "attributes" => "The attributes were saved.",
        "key-rotated" => "The signing key was rotated.",
        _ => return None,
    };
    Some(Notice::done(text))
}

/// The page's number (`?page=`, from 1); anything else is the first page.
pub(crate) fn page_number(query: &Form) -> usize {
    query.text("page").and_then(|p| p.parse::<usize>().ok()).filter(|p| (1..=100_000).contains(p)).unwrap_or(1)
}

/// Puts the access- and refresh-token lifetime fields into a brand's or client's input: a
/// number sets the lifetime, a blank field is `null`, which resets it to the default.
pub(crate) fn lifetimes(form: &Form, input: &mut serde_json::Map<String, serde_json::Value>) -> Result<(), String> {
    for (field, name, label) in [
        ("access_ttl", "accessTtl", "The access-token lifetime"),
        ("refresh_ttl", "refreshTtl", "The refresh-token lifetime"),
    ] {
        input.insert(name.into(), serde_json::json!(form.number(field, label)?));
    }
    Ok(())
}

/// One checkbox of a group.
#[derive(Debug)]
pub(crate) struct Choice {
    pub(crate) value: &'static str,
    pub(crate) checked: bool,
}

/// The grant-type checkboxes, ticked where `selected` has them.
pub(crate) fn grant_choices(selected: &[String]) -> Vec<Choice> {
    portcullis_core::GrantType::ALL
        .iter()
        .map(|g| Choice { value: g.as_str(), checked: selected.iter().any(|s| s == g.as_str()) })
        .collect()
}

/// A one-time reveal: a secret or API token, shown on this response only.
#[derive(Template)]
#[template(path = "reveal.html")]
pub(crate) struct RevealPage<'a> {
    pub(crate) l: Layout,
    /// `client secret` or `API token`.
    pub(crate) what: &'a str,
    /// Who it belongs to, e.g. the client id.
    pub(crate) whose: &'a str,
    /// How it is used, one sentence.
    pub(crate) usage: &'a str,
    pub(crate) value: &'a str,
    /// Where to go next.
    pub(crate) next: String,
}

/// The class of a status badge: plain when `live`, `off` (red) otherwise.
pub(crate) fn badge_class(live: bool) -> &'static str {
    if live { "status" } else { "status off" }
}

/// The notice and page status of a refusal of what the administrator typed.
pub(crate) fn input_failure(problem: &Problem) -> (Option<Notice>, StatusCode) {
    (Some(Notice::failed(problem.message.clone())), problem.status())
}

/// A refusal of the API, as a page in the session's frame.
pub(crate) fn problem_page(problem: &Problem, session: &Session, brand: &str) -> Response {
    problem.page(session, Some(brand))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_filters_and_drop_blanks() {
        assert_eq!(link("/p", &[("user", "u 1"), ("client", "")], Some(("after", "c/1"))), "/p?user=u+1&after=c%2F1");
        assert_eq!(link("/p", &[], None), "/p");
    }

    #[test]
    fn numbered_pages() {
        let pager = Pager::numbered("/c", &[("q", "x")], 2, 60);
        assert_eq!(pager.summary, "26–50 of 60");
        assert_eq!(pager.first.as_deref(), Some("/c?q=x"));
        assert_eq!(pager.next.as_deref(), Some("/c?q=x&page=3"));
        assert!(Pager::numbered("/c", &[], 3, 60).next.is_none());
        assert_eq!(Pager::numbered("/c", &[], 1, 0).summary, "none");
    }
}
