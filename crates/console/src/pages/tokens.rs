//! A brand's issued tokens: search by user, client and status (the search lives in the URL, so
//! it can be bookmarked), a token's page with its attributes, revoke and approve one token, and
//! revoke every live token of a user or client.
//!
//! The console only ever shows token records: the API never returns a token itself.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Connection, PAGE_SIZE, PageInfo, Pager, badge_class, done_notice, input_failure, problem_page, query};
use crate::ConsoleState;
use crate::api::{self, Problem};
use crate::form::Form;
use crate::page::{self, Layout, Notice, brand_href, encode, list_or_dash, utc};
use crate::session::{Posted, Session};

/// A page of the brand's token records matching the search.
const LIST: &str = "query($b: String!, $user: String, $client: String, $status: String, $first: Int, $after: String) {
  tokens(brandKey: $b, userId: $user, clientId: $client, status: $status, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { jti clientId subject actType grantType scopes audience status issuedAt expiresAt } } }";

/// One token record with its attributes.
const SHOW: &str = "query($b: String!, $jti: String!) { token(brandKey: $b, jti: $jti) {
  jti clientId subject actType grantType scopes audience status issuedAt expiresAt attributes { name value } } }";

/// Revokes one token.
const REVOKE: &str = "mutation($b: String!, $jti: String!) { revokeToken(brandKey: $b, jti: $jti) { jti } }";

/// Accepts a revoked token again.
const APPROVE: &str = "mutation($b: String!, $jti: String!) { approveToken(brandKey: $b, jti: $jti) { jti } }";

/// Replaces a token's attributes.
const SET_ATTRIBUTES: &str = "mutation($b: String!, $jti: String!, $attributes: [TokenAttributeInput!]!) {
  setTokenAttributes(brandKey: $b, jti: $jti, attributes: $attributes) { jti } }";

/// Revokes every live token of a user, a client, or a user at a client.
const REVOKE_ALL: &str = "mutation($b: String!, $user: String, $client: String) {
  revokeTokens(brandKey: $b, userId: $user, clientId: $client) { revoked } }";

/// The status filter's options: value (empty for any), label.
const STATUSES: [(&str, &str); 4] =
    [("", "Any status"), ("active", "Active"), ("revoked", "Revoked"), ("ended", "Ended by its holder")];

/// A token record as the API shows it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Token {
    pub(crate) jti: String,
    pub(crate) client_id: String,
    pub(crate) subject: String,
    pub(crate) act_type: String,
    pub(crate) grant_type: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) audience: Vec<String>,
    /// `active` or `revoked`.
    pub(crate) status: String,
    pub(crate) issued_at: i64,
    pub(crate) expires_at: i64,
    /// Only the token page asks for them.
    #[serde(default)]
    pub(crate) attributes: Vec<Attribute>,
}

/// A name/value pair an administrator attached to a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Attribute {
    pub(crate) name: String,
    pub(crate) value: String,
}

impl Token {
    /// When it was issued.
    pub(crate) fn issued(&self) -> String {
        utc(self.issued_at)
    }

    /// When it expires.
    pub(crate) fn expires(&self) -> String {
        utc(self.expires_at)
    }

    /// The granted scopes on one line.
    pub(crate) fn scopes_line(&self) -> String {
        list_or_dash(&self.scopes)
    }

    /// The audiences on one line.
    pub(crate) fn audience_line(&self) -> String {
        list_or_dash(&self.audience)
    }

    /// Whether verifiers accept it (revoking applies).
    pub(crate) fn is_active(&self) -> bool {
        self.status == "active"
    }

    /// Whether it was revoked (approving applies).
    pub(crate) fn is_revoked(&self) -> bool {
        self.status == "revoked"
    }

    /// The CSS class of its status badge.
    pub(crate) fn status_class(&self) -> &'static str {
        badge_class(self.is_active())
    }

    /// The jti as a path segment.
    pub(crate) fn jti_segment(&self) -> String {
        encode(&self.jti)
    }

    /// The client id as a path segment.
    pub(crate) fn client_segment(&self) -> String {
        encode(&self.client_id)
    }

    /// The subject as a query value.
    pub(crate) fn subject_query(&self) -> String {
        encode(&self.subject)
    }

    /// The attributes as the form shows them: `name=value`, one per line.
    pub(crate) fn attributes_text(&self) -> String {
        self.attributes.iter().map(|a| format!("{}={}", a.name, a.value)).collect::<Vec<_>>().join("\n")
    }
}

/// Parses the attributes form: each non-blank line is `name=value`, split at the first `=`,
/// the name trimmed. The API checks names and values further.
pub(crate) fn parse_attributes(text: &str) -> Result<Vec<Attribute>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| match line.split_once('=') {
            Some((name, value)) => Ok(Attribute { name: name.trim().to_owned(), value: value.to_owned() }),
            None => Err(format!("Line {} has no '=': write each attribute as name=value.", index + 1)),
        })
        .collect()
}

/// The list's search, as its URL (or the revoke-all form) carries it; blank fields do not
/// filter.
#[derive(Debug, Default)]
struct Search {
    /// A user's (or any subject's) id.
    user: String,
    /// A client id.
    client: String,
    /// `active`, `revoked`, or empty for any.
    status: String,
}

impl Search {
    /// The search in `form`, as typed: the API refuses an unknown status with a message.
    fn of(form: &Form) -> Self {
        let text = |name| form.text(name).unwrap_or_default().to_owned();
        Self { user: text("user"), client: text("client"), status: text("status") }
    }

    /// The query parameters that keep this search in links.
    fn keep(&self) -> [(&str, &str); 3] {
        [("user", &self.user), ("client", &self.client), ("status", &self.status)]
    }

    /// Whether it names a user or a client (so revoking every match is possible).
    fn narrowed(&self) -> bool {
        !self.user.is_empty() || !self.client.is_empty()
    }

    /// The status options: value, label, whether selected.
    fn statuses(&self) -> Vec<(&'static str, &'static str, bool)> {
        STATUSES.iter().map(|&(value, label)| (value, label, value == self.status)).collect()
    }

    /// The user and client variables (`null` when blank), with the brand's.
    fn holder(&self, brand: &str) -> Value {
        json!({"b": brand, "user": non_blank(&self.user), "client": non_blank(&self.client)})
    }

    /// The variables of [`LIST`] for the page after `after`.
    fn variables(&self, brand: &str, after: Option<&str>) -> Value {
        let mut variables = self.holder(brand);
        if let Some(v) = variables.as_object_mut() {
            v.insert("status".into(), json!(non_blank(&self.status)));
            v.insert("first".into(), json!(PAGE_SIZE));
            v.insert("after".into(), json!(after));
        }
        variables
    }
}

/// `value`, or `None` when blank (a GraphQL `null`: no filter).
fn non_blank(value: &str) -> Option<&str> {
    Some(value).filter(|v| !v.is_empty())
}

/// The list page.
#[derive(Template)]
#[template(path = "tokens.html")]
struct ListPage {
    l: Layout,
    search: Search,
    tokens: Vec<Token>,
    /// How many match, across all pages.
    total: u64,
    pager: Pager,
}

/// A token's page.
#[derive(Template)]
#[template(path = "token.html")]
struct TokenPage {
    l: Layout,
    token: Token,
    /// The attributes form's text: the stored attributes, or what was typed.
    attributes: String,
}

/// `/console/brands/{brand}/tokens`.
fn tokens_href(brand: &str) -> String {
    format!("{}/tokens", brand_href(brand))
}

/// A token's page, with the jti percent-encoded.
fn token_href(brand: &str, jti: &str) -> String {
    format!("{}/{}", tokens_href(brand), encode(jti))
}

/// `GET /console/brands/{brand}/tokens?user=&client=&status=&after=`.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    session: Session,
    Path(brand): Path<String>,
    raw: RawQuery,
) -> Response {
    let query = query(raw);
    let search = Search::of(&query);
    let after = query.text("after");
    render_list(&state, &session, &brand, search, after, (done_notice(&query), StatusCode::OK)).await
}

/// The list page of `search` from `after`, with `outcome` (notice and status). A search the
/// API refuses (a malformed client id, a foreign cursor) shows its message over no results.
async fn render_list(
    state: &ConsoleState,
    session: &Session,
    brand: &str,
    search: Search,
    after: Option<&str>,
    outcome: (Option<Notice>, StatusCode),
) -> Response {
    let variables = search.variables(brand, after);
    let (connection, (notice, status)) = match api::fetch(state, session, LIST, variables, "tokens").await {
        Ok(connection) => (connection, outcome),
        Err(problem) if problem.is_input() => (no_tokens(), input_failure(&problem)),
        Err(problem) => return problem_page(&problem, session, brand),
    };
    let pager = Pager::cursor(&tokens_href(brand), &search.keep(), after, &connection);
    let page = ListPage {
        l: Layout::signed_in(session, "Tokens", Some(brand), "tokens").with_notice(notice),
        search,
        total: connection.total_count,
        tokens: connection.nodes,
        pager,
    };
    page::render(status, &page)
}

/// An empty result.
fn no_tokens() -> Connection<Token> {
    Connection { total_count: 0, page_info: PageInfo { has_next_page: false, end_cursor: None }, nodes: Vec::new() }
}

/// `POST /console/brands/{brand}/tokens/revoke-all`: `user`, `client` (at least one) and the
/// list's `status`. Shows the list of the same search with how many records were revoked.
pub(crate) async fn revoke_all(
    State(state): State<ConsoleState>,
    Path(brand): Path<String>,
    Posted { session, form }: Posted,
) -> Response {
    let search = Search::of(&form);
    let outcome = if search.narrowed() {
        api::run(&state, &session, REVOKE_ALL, search.holder(&brand)).await.map(|_| ())
    } else {
        Err(Problem::bad_input("Give a user or client ID to revoke their tokens."))
    };
    match outcome {
        // Post/redirect/get: reloading the list must not revoke again.
        Ok(()) => page::see_other(&super::link(&tokens_href(&brand), &search.keep(), Some(("done", "revoked-all")))),
        Err(problem) if problem.is_input() => {
            render_list(&state, &session, &brand, search, None, input_failure(&problem)).await
        }
        Err(problem) => problem_page(&problem, &session, &brand),
    }
}

/// `GET /console/brands/{brand}/tokens/{jti}`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    session: Session,
    Path((brand, jti)): Path<(String, String)>,
    raw: RawQuery,
) -> Response {
    render_token(&state, &session, &brand, &jti, (done_notice(&query(raw)), StatusCode::OK), None).await
}

/// A token's page with `outcome` (notice and status); `typed` is attributes text to show again.
async fn render_token(
    state: &ConsoleState,
    session: &Session,
    brand: &str,
    jti: &str,
    (notice, status): (Option<Notice>, StatusCode),
    typed: Option<&str>,
) -> Response {
    let token: Token = match api::fetch(state, session, SHOW, json!({"b": brand, "jti": jti}), "token").await {
        Ok(token) => token,
        Err(problem) => return problem_page(&problem, session, brand),
    };
    let attributes = typed.map_or_else(|| token.attributes_text(), str::to_owned);
    let page = TokenPage {
        l: Layout::signed_in(session, "Token", Some(brand), "tokens").with_notice(notice),
        token,
        attributes,
    };
    page::render(status, &page)
}

/// `POST /console/brands/{brand}/tokens/{jti}/{revoke|approve|attributes}`.
pub(crate) async fn act(
    State(state): State<ConsoleState>,
    Path((brand, jti, action)): Path<(String, String, String)>,
    Posted { session, form }: Posted,
) -> Response {
    let variables = json!({"b": brand, "jti": jti});
    let (done, outcome, typed) = match action.as_str() {
        "revoke" => ("revoked", api::run(&state, &session, REVOKE, variables).await, None),
        "approve" => ("approved", api::run(&state, &session, APPROVE, variables).await, None),
        "attributes" => {
            let text = form.get("attributes").unwrap_or_default();
            ("attributes", set_attributes(&state, &session, variables, text).await, Some(text))
        }
        _ => return super::not_found().await,
    };
    match outcome {
        Ok(_) => page::see_other(&format!("{}?done={done}", token_href(&brand, &jti))),
        Err(problem) if problem.is_input() => {
            render_token(&state, &session, &brand, &jti, input_failure(&problem), typed).await
        }
        Err(problem) => problem_page(&problem, &session, &brand),
    }
}

/// Replaces the token's attributes with those of `text` (`variables` name the token).
async fn set_attributes(
    state: &ConsoleState,
    session: &Session,
    mut variables: Value,
    text: &str,
) -> Result<Value, Problem> {
    let attributes = parse_attributes(text).map_err(Problem::bad_input)?;
    if let Some(v) = variables.as_object_mut() {
        v.insert("attributes".into(), json!(attributes));
    }
    api::run(state, session, SET_ATTRIBUTES, variables).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(name: &str, value: &str) -> Attribute {
        Attribute { name: name.into(), value: value.into() }
    }

    #[test]
    fn parses_attribute_lines() {
        let parsed = parse_attributes("  team = a=b\n\n\r\nnote=\r\n").expect("valid");
        assert_eq!(parsed, [attribute("team", " a=b"), attribute("note", "")]);
        assert_eq!(parse_attributes("   \n"), Ok(Vec::new()));
        let error = parse_attributes("a=1\n\nno equals sign").expect_err("invalid");
        assert!(error.starts_with("Line 3 "), "{error}");
    }

    #[test]
    fn searches_become_variables_and_links() {
        let search = Search::of(&Form::parse(b"user=+u1+&client=&status=revoked"));
        assert_eq!(search.keep(), [("user", "u1"), ("client", ""), ("status", "revoked")]);
        assert!(search.narrowed());
        assert!(!Search::of(&Form::parse(b"status=revoked")).narrowed());
        let variables = search.variables("acme", Some("c"));
        assert_eq!(variables["client"], Value::Null);
        assert_eq!(variables["status"], "revoked");
        assert_eq!(variables["after"], "c");
        assert_eq!(Search::default().variables("acme", None)["status"], Value::Null);
        let selected: Vec<bool> = search.statuses().into_iter().map(|(_, _, s)| s).collect();
        assert_eq!(selected, [false, false, true, false]);
    }
}
