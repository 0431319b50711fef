//! A brand's users and operators (principals): list with cursor paging, create, edit,
//! enable or disable, delete, and a user's personal API access. One code path serves both
//! kinds; [`Kind`] names the GraphQL fields and arguments of each.
//!
//! Passwords are sent to the API and never shown again, not even after a refused form. A new API
//! token is shown once, on the response to the POST that issued it: it never travels in a URL.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::RevealPage;
use super::{Connection, PAGE_SIZE, Pager, done_notice, problem_page, query};
use crate::ConsoleState;
use crate::api::{self, Problem};
use crate::form::Form;
use crate::page::{self, Layout, Notice, brand_href, encode, list_or_dash, utc, utc_or_dash};
use crate::session::{Posted, Session};

/// The fields of a principal the console reads.
const FIELDS: &str = "id kind username permissions email name enabled apiAccess apiTokenIssuedAt createdAt";

/// Which principals a page is about: the `{kind}` segment of its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// End users (`/users`).
    User,
    /// Back-office operators (`/operators`).
    Operator,
}

/// The GraphQL names of one kind: its fields, arguments and mutations.
#[derive(Debug)]
struct Names {
    /// The query of one (`user`), also the field of the create payload.
    one: &'static str,
    /// The paged query (`users`).
    list: &'static str,
    /// The id argument (`userId`).
    id_arg: &'static str,
    create: &'static str,
    update: &'static str,
    enable: &'static str,
    disable: &'static str,
    delete: &'static str,
}

const USER_NAMES: Names = Names {
    one: "user",
    list: "users",
    id_arg: "userId",
    create: "createUser",
    update: "updateUser",
    enable: "enableUser",
    disable: "disableUser",
    delete: "deleteUser",
};

const OPERATOR_NAMES: Names = Names {
    one: "operator",
    list: "operators",
    id_arg: "operatorId",
    create: "createOperator",
    update: "updateOperator",
    enable: "enableOperator",
    disable: "disableOperator",
    delete: "deleteOperator",
};

impl Kind {
    /// The kind of a `{kind}` path segment; `None` for anything but `users` and `operators`.
    fn parse(segment: &str) -> Option<Self> {
        match segment {
            "users" => Some(Self::User),
            "operators" => Some(Self::Operator),
            _ => None,
        }
    }

    /// Its GraphQL names.
    fn names(self) -> &'static Names {
        match self {
            Self::User => &USER_NAMES,
            Self::Operator => &OPERATOR_NAMES,
        }
    }

    /// Its path segment, which is also its tab.
    pub(crate) fn segment(self) -> &'static str {
        match self {
            Self::User => "users",
            Self::Operator => "operators",
        }
    }

    /// `user` or `operator`, as a sentence says it.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Operator => "operator",
        }
    }

    /// `User` or `Operator`, at the start of a heading or button.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Operator => "Operator",
        }
    }

    /// The list page's title.
    fn title(self) -> &'static str {
        match self {
            Self::User => "Users",
            Self::Operator => "Operators",
        }
    }

    /// Whether it is the kind that may have a personal API token.
    pub(crate) fn is_user(self) -> bool {
        self == Self::User
    }
}

/// A `POST …/{kind}/{id}/{action}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Enable,
    Disable,
    Delete,
    /// Issues (or replaces) a user's API token.
    ApiToken,
    /// Withdraws a user's API token.
    ApiTokenDisable,
}

impl Action {
    /// The action of a path segment; the API-token actions exist for users only.
    fn parse(segment: &str, kind: Kind) -> Option<Self> {
        match (segment, kind) {
            ("enable", _) => Some(Self::Enable),
            ("disable", _) => Some(Self::Disable),
            ("delete", _) => Some(Self::Delete),
            ("api-token", Kind::User) => Some(Self::ApiToken),
            ("api-token-disable", Kind::User) => Some(Self::ApiTokenDisable),
            _ => None,
        }
    }

    /// The mutation of an action that answers with a redirect, and the `?done=` it reports.
    fn mutation(self, kind: Kind) -> Option<(&'static str, &'static str)> {
        let names = kind.names();
        match self {
            Self::Enable => Some((names.enable, "enabled")),
            Self::Disable => Some((names.disable, "disabled")),
            Self::Delete => Some((names.delete, "deleted")),
            Self::ApiTokenDisable => Some(("disableApiAccess", "api-disabled")),
            Self::ApiToken => None,
        }
    }
}

/// A user or operator as the API shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Principal {
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) username: String,
    pub(crate) permissions: Vec<String>,
    pub(crate) email: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) enabled: bool,
    pub(crate) api_access: bool,
    pub(crate) api_token_issued_at: Option<i64>,
    pub(crate) created_at: i64,
}

impl Principal {
    pub(crate) fn created(&self) -> String {
        utc(self.created_at)
    }

    /// When its current API token was issued, or a dash.
    pub(crate) fn api_token_issued(&self) -> String {
        utc_or_dash(self.api_token_issued_at)
    }

    pub(crate) fn permissions_line(&self) -> String {
        list_or_dash(&self.permissions)
    }

    pub(crate) fn name_or_dash(&self) -> &str {
        self.name.as_deref().unwrap_or("—")
    }

    pub(crate) fn email_or_dash(&self) -> &str {
        self.email.as_deref().unwrap_or("—")
    }

    /// Its id as a path segment.
    pub(crate) fn id_path(&self) -> String {
        encode(&self.id)
    }
}

/// What a create or edit form shows in its fields: never a password.
#[derive(Debug, Clone, Default)]
pub(crate) struct Draft {
    pub(crate) username: String,
    /// Space-separated.
    pub(crate) permissions: String,
    pub(crate) email: String,
    pub(crate) name: String,
}

impl Draft {
    /// The values the administrator typed (to show them again after a refusal).
    fn typed(form: &Form) -> Self {
        let text = |name| form.text(name).unwrap_or_default().to_owned();
        Self {
            username: text("username"),
            permissions: form.words("permissions").join(" "),
            email: text("email"),
            name: text("name"),
        }
    }

    /// The current values of `principal`.
    fn of(principal: &Principal) -> Self {
        Self {
            username: principal.username.clone(),
            permissions: principal.permissions.join(" "),
            email: principal.email.clone().unwrap_or_default(),
            name: principal.name.clone().unwrap_or_default(),
        }
    }
}

/// The list page with the create form.
#[derive(Template)]
#[template(path = "principals.html")]
struct ListPage {
    l: Layout,
    kind: Kind,
    /// `/console/brands/{brand}/{kind}`: the create form's action and the rows' links' base.
    base: String,
    principals: Vec<Principal>,
    pager: Pager,
    /// The username prefix searched for.
    q: String,
    /// The create form's fields.
    draft: Draft,
}

/// A principal's page: facts, the edit form and the actions.
#[derive(Template)]
#[template(path = "principal.html")]
struct PrincipalPage {
    l: Layout,
    kind: Kind,
    p: Principal,
    /// The edit form's fields.
    draft: Draft,
    /// The principal's page: the edit form's action and the actions' base.
    href: String,
    /// Its tokens in the tokens list.
    tokens_href: String,
}

/// The principal a request is about.
#[derive(Debug)]
struct Target {
    brand: String,
    kind: Kind,
    id: String,
}

impl Target {
    fn href(&self) -> String {
        principal_href(&self.brand, self.kind, &self.id)
    }

    /// The `$b`/`$id` variables of a document about it.
    fn variables(&self) -> Value {
        json!({"b": self.brand, "id": self.id})
    }
}

/// `/console/brands/{brand}/{kind}`.
fn list_href(brand: &str, kind: Kind) -> String {
    format!("{}/{}", brand_href(brand), kind.segment())
}

/// `/console/brands/{brand}/{kind}/{id}`.
fn principal_href(brand: &str, kind: Kind, id: &str) -> String {
    format!("{}/{}", list_href(brand, kind), encode(id))
}

/// `GET /console/brands/{brand}/{kind}?q=&after=`: `q` searches by username prefix.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    session: Session,
    Path((brand, kind)): Path<(String, String)>,
    raw: RawQuery,
) -> Response {
    let Some(kind) = Kind::parse(&kind) else { return super::not_found().await };
    let query = query(raw);
    let shown = Shown { notice: done_notice(&query), draft: Draft::default(), status: StatusCode::OK };
    let at = Position { q: query.text("q").unwrap_or_default(), after: query.text("after") };
    render_list(&state, &session, &brand, kind, at, shown).await
}

/// Where a list page is: its search and its cursor.
#[derive(Debug, Clone, Copy, Default)]
struct Position<'a> {
    /// The username prefix searched for (empty: everyone).
    q: &'a str,
    /// The cursor to continue after.
    after: Option<&'a str>,
}

/// What a list page shows besides the list.
#[derive(Debug)]
struct Shown {
    /// The outcome of the last action.
    notice: Option<Notice>,
    /// The create form's fields.
    draft: Draft,
    /// The page's status.
    status: StatusCode,
}

/// Renders one page of the list at `at`.
async fn render_list(
    state: &ConsoleState,
    session: &Session,
    brand: &str,
    kind: Kind,
    at: Position<'_>,
    shown: Shown,
) -> Response {
    let list = kind.names().list;
    let document = format!(
        "query($b: String!, $q: String, $first: Int, $after: String) {{
          {list}(brandKey: $b, search: $q, first: $first, after: $after) {{
          totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {FIELDS} }} }} }}"
    );
    let q = (!at.q.is_empty()).then_some(at.q);
    let variables = json!({"b": brand, "q": q, "first": PAGE_SIZE, "after": at.after});
    let connection: Connection<Principal> = match api::fetch(state, session, &document, variables, list).await {
        Ok(connection) => connection,
        Err(problem) => return problem_page(&problem, session, brand),
    };
    let base = list_href(brand, kind);
    let page = ListPage {
        l: Layout::signed_in(session, kind.title(), Some(brand), kind.segment()).with_notice(shown.notice),
        kind,
        pager: Pager::cursor(&base, &[("q", at.q)], at.after, &connection),
        q: at.q.to_owned(),
        base,
        principals: connection.nodes,
        draft: shown.draft,
    };
    page::render(shown.status, &page)
}

/// `POST /console/brands/{brand}/{kind}`: `username`, `password`, `permissions`, `email`,
/// `name`.
pub(crate) async fn create(
    State(state): State<ConsoleState>,
    Path((brand, kind)): Path<(String, String)>,
    Posted { session, form }: Posted,
) -> Response {
    let Some(kind) = Kind::parse(&kind) else { return super::not_found().await };
    let names = kind.names();
    let document = format!(
        "mutation($input: CreatePrincipalInput!) {{ {}(input: $input) {{ {} {{ id }} }} }}",
        names.create, names.one
    );
    let input = json!({
        "brandKey": brand,
        "username": form.text("username").unwrap_or_default(),
        "password": form.get("password").unwrap_or_default(),
        "permissions": form.words("permissions"),
        "email": form.text("email"),
        "name": form.text("name"),
    });
    match api::run(&state, &session, &document, json!({"input": input})).await {
        Ok(data) => match data[names.create][names.one]["id"].as_str() {
            Some(id) => page::see_other(&format!("{}?done=created", principal_href(&brand, kind, id))),
            None => problem_page(&Problem::internal("The API's answer had no id."), &session, &brand),
        },
        Err(problem) if problem.is_input() => {
            let notice = Some(Notice::failed(problem.message.clone()));
            let shown = Shown { notice, draft: Draft::typed(&form), status: problem.status() };
            render_list(&state, &session, &brand, kind, Position::default(), shown).await
        }
        Err(problem) => problem_page(&problem, &session, &brand),
    }
}

/// `GET /console/brands/{brand}/{kind}/{id}`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    session: Session,
    Path((brand, kind, id)): Path<(String, String, String)>,
    raw: RawQuery,
) -> Response {
    let Some(kind) = Kind::parse(&kind) else { return super::not_found().await };
    let target = Target { brand, kind, id };
    render_principal(&state, &session, &target, done_notice(&query(raw)), None, StatusCode::OK).await
}

/// Renders a principal's page; the edit form shows `typed` when given, else the current values.
async fn render_principal(
    state: &ConsoleState,
    session: &Session,
    target: &Target,
    notice: Option<Notice>,
    typed: Option<Draft>,
    status: StatusCode,
) -> Response {
    let names = target.kind.names();
    let document = format!(
        "query($b: String!, $id: String!) {{ {}(brandKey: $b, {}: $id) {{ {FIELDS} }} }}",
        names.one, names.id_arg
    );
    let p: Principal = match api::fetch(state, session, &document, target.variables(), names.one).await {
        Ok(p) => p,
        Err(problem) => return problem_page(&problem, session, &target.brand),
    };
    let kind = target.kind;
    let title = format!("{} {}", kind.label(), p.username);
    let page = PrincipalPage {
        l: Layout::signed_in(session, title, Some(&target.brand), kind.segment()).with_notice(notice),
        kind,
        draft: typed.unwrap_or_else(|| Draft::of(&p)),
        href: target.href(),
        tokens_href: format!("{}/tokens?user={}", brand_href(&target.brand), encode(&p.id)),
        p,
    };
    page::render(status, &page)
}

/// Re-renders a principal's page with a refusal of the API beside the forms, or reports it on
/// its own page when it is not about the input.
async fn refused(
    state: &ConsoleState,
    session: &Session,
    target: &Target,
    problem: &Problem,
    typed: Option<Draft>,
) -> Response {
    if !problem.is_input() {
        return problem_page(problem, session, &target.brand);
    }
    let notice = Some(Notice::failed(problem.message.clone()));
    render_principal(state, session, target, notice, typed, problem.status()).await
}

/// `POST /console/brands/{brand}/{kind}/{id}`: the edit form (`permissions`, `email`, `name`,
/// and `password` when it is to change).
pub(crate) async fn update(
    State(state): State<ConsoleState>,
    Path((brand, kind, id)): Path<(String, String, String)>,
    Posted { session, form }: Posted,
) -> Response {
    let Some(kind) = Kind::parse(&kind) else { return super::not_found().await };
    let target = Target { brand, kind, id };
    let document = format!(
        "mutation($input: UpdatePrincipalInput!) {{ {}(input: $input) {{ principal {{ id }} }} }}",
        kind.names().update
    );
    let input = update_input(&target, &form);
    match api::run(&state, &session, &document, json!({"input": input})).await {
        Ok(_) => page::see_other(&format!("{}?done=updated", target.href())),
        Err(problem) => refused(&state, &session, &target, &problem, Some(Draft::typed(&form))).await,
    }
}

/// The `UpdatePrincipalInput` of the edit form: a blank email or name clears it (`null`), a
/// blank password keeps the current one (absent).
fn update_input(target: &Target, form: &Form) -> Value {
    let mut input = json!({
        "brandKey": target.brand,
        "id": target.id,
        "permissions": form.words("permissions"),
        "email": form.text("email"),
        "name": form.text("name"),
    });
    if let Some(password) = form.get("password").filter(|p| !p.trim().is_empty()) {
        input["password"] = json!(password);
    }
    input
}

/// `POST /console/brands/{brand}/{kind}/{id}/{action}`: `enable`, `disable`, `delete`, and for
/// users `api-token` and `api-token-disable`.
pub(crate) async fn act(
    State(state): State<ConsoleState>,
    Path((brand, kind, id, action)): Path<(String, String, String, String)>,
    Posted { session, .. }: Posted,
) -> Response {
    let Some(kind) = Kind::parse(&kind) else { return super::not_found().await };
    let Some(action) = Action::parse(&action, kind) else { return super::not_found().await };
    let target = Target { brand, kind, id };
    let Some((mutation, done)) = action.mutation(kind) else {
        return issue_api_token(&state, &session, &target).await;
    };
    let document = format!(
        "mutation($b: String!, $id: String!) {{ {mutation}(brandKey: $b, {}: $id) {{ __typename }} }}",
        kind.names().id_arg
    );
    match api::run(&state, &session, &document, target.variables()).await {
        Ok(_) if action == Action::Delete => {
            page::see_other(&format!("{}?done={done}", list_href(&target.brand, kind)))
        }
        Ok(_) => page::see_other(&format!("{}?done={done}", target.href())),
        Err(problem) => refused(&state, &session, &target, &problem, None).await,
    }
}

/// Issues a user's API token (replacing any earlier one) and reveals it once, on this response.
async fn issue_api_token(state: &ConsoleState, session: &Session, target: &Target) -> Response {
    let document = "mutation($b: String!, $id: String!) {
        enableApiAccess(brandKey: $b, userId: $id) { user { id username } apiToken } }";
    let data = match api::run(state, session, document, target.variables()).await {
        Ok(data) => data,
        Err(problem) => return refused(state, session, target, &problem, None).await,
    };
    // Read from the raw answer, never through a deserializer whose errors could quote the token.
    let answer = &data["enableApiAccess"];
    let Some(token) = answer["apiToken"].as_str() else {
        return problem_page(&Problem::internal("The API's answer had no token."), session, &target.brand);
    };
    let whose = answer["user"]["username"].as_str().unwrap_or(&target.id);
    let page = RevealPage {
        l: Layout::signed_in(session, "API token issued", Some(&target.brand), target.kind.segment()),
        what: "API token",
        whose,
        usage: "The user calls the API with HTTP Basic authentication, its username and this token \
                (username:apiToken). Issuing a new token stops this one.",
        value: token,
        next: target.href(),
    };
    page::render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_actions_come_from_the_path() {
        assert_eq!(Kind::parse("users"), Some(Kind::User));
        assert_eq!(Kind::parse("operators"), Some(Kind::Operator));
        assert_eq!(Kind::parse("clients"), None);
        assert_eq!(Action::parse("api-token", Kind::User), Some(Action::ApiToken));
        assert_eq!(Action::parse("api-token", Kind::Operator), None);
        assert_eq!(Action::parse("api-token-disable", Kind::Operator), None);
        assert_eq!(Action::parse("delete", Kind::Operator), Some(Action::Delete));
        assert_eq!(Action::parse("rotate", Kind::User), None);
        assert_eq!(Action::Enable.mutation(Kind::Operator), Some(("enableOperator", "enabled")));
        assert_eq!(Action::ApiTokenDisable.mutation(Kind::User), Some(("disableApiAccess", "api-disabled")));
        assert_eq!(Action::ApiToken.mutation(Kind::User), None);
    }

    #[test]
    fn blank_fields_clear_and_a_blank_password_is_kept() {
        let target = Target { brand: "acme".into(), kind: Kind::User, id: "u1".into() };
        let input = update_input(&target, &Form::parse(b"permissions=a+b,c&email=&name=+&password=+"));
        assert_eq!(input["permissions"], json!(["a", "b", "c"]));
        assert_eq!(input["email"], Value::Null);
        assert_eq!(input["name"], Value::Null);
        assert!(input.get("password").is_none(), "absent, not null");
        let input = update_input(&target, &Form::parse(b"password=new+secret&email=a%40b.c"));
        assert_eq!(input["password"], json!("new secret"));
        assert_eq!(input["email"], json!("a@b.c"));
    }

    #[test]
    fn links_encode_the_path() {
        assert_eq!(principal_href("acme", Kind::Operator, "a/b"), "/console/brands/acme/operators/a%2Fb");
        assert_eq!(list_href("acme", Kind::User), "/console/brands/acme/users");
    }
}
