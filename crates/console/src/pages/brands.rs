//! Brands: the list and the create form (platform administrators), and a brand's overview
//! with its settings.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Choice, Connection, PAGE_SIZE, Pager, done_notice, grant_choices, problem_page, query};
use crate::ConsoleState;
use crate::api::{self, Problem};
use crate::form::Form;
use crate::page::{self, Layout, Notice, brand_href, utc};
use crate::session::{Posted, Session};

const LIST: &str = "query($first: Int, $after: String) {
  brands(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { key name issuer createdAt } } }";

const SHOW: &str = "query($key: String!) { brand(key: $key) {
  key name issuer createdAt
  settings { signingAlgorithm requireAudience accessTtl refreshTtl allowedGrants scopeCatalog
             displayName logoUrl primaryColor } } }";

const CREATE: &str = "mutation($key: String!, $name: String!) {
  createBrand(input: {key: $key, name: $name}) { brand { key } } }";

const UPDATE: &str = "mutation($input: UpdateBrandInput!) { updateBrand(input: $input) { brand { key } } }";

/// A brand in the list.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BrandRow {
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) issuer: String,
    pub(crate) created_at: i64,
}

impl BrandRow {
    pub(crate) fn created(&self) -> String {
        utc(self.created_at)
    }

    pub(crate) fn href(&self) -> String {
        brand_href(&self.key)
    }
}

/// A brand with its settings.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Brand {
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) issuer: String,
    pub(crate) created_at: i64,
    pub(crate) settings: Settings,
}

/// A brand's settings.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Settings {
    pub(crate) signing_algorithm: String,
    pub(crate) require_audience: bool,
    pub(crate) access_ttl: Option<i64>,
    pub(crate) refresh_ttl: Option<i64>,
    pub(crate) allowed_grants: Option<Vec<String>>,
    pub(crate) scope_catalog: Vec<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) logo_url: Option<String>,
    pub(crate) primary_color: Option<String>,
}

impl Brand {
    pub(crate) fn created(&self) -> String {
        utc(self.created_at)
    }
}

impl Settings {
    /// The scope catalog, one per line.
    pub(crate) fn catalog_lines(&self) -> String {
        self.scope_catalog.join("\n")
    }
}

#[derive(Template)]
#[template(path = "brands.html")]
struct ListPage {
    l: Layout,
    brands: Vec<BrandRow>,
    pager: Pager,
    key: String,
    name: String,
}

#[derive(Template)]
#[template(path = "brand.html")]
struct BrandPage {
    l: Layout,
    brand: Brand,
    grants: Vec<Choice>,
    algorithms: Vec<(&'static str, bool)>,
}

/// `GET /console/brands`.
pub(crate) async fn list(State(state): State<ConsoleState>, session: Session, raw: RawQuery) -> Response {
    if let Some(own) = session.own_brand() {
        return page::see_other(&brand_href(own));
    }
    let query = query(raw);
    render_list(&state, &session, query.text("after"), done_notice(&query), ("", ""), StatusCode::OK).await
}

async fn render_list(
    state: &ConsoleState,
    session: &Session,
    after: Option<&str>,
    notice: Option<Notice>,
    typed: (&str, &str),
    status: StatusCode,
) -> Response {
    let variables = json!({"first": PAGE_SIZE, "after": after});
    let connection: Connection<BrandRow> = match api::fetch(state, session, LIST, variables, "brands").await {
        Ok(c) => c,
        Err(problem) => return problem.page(session, None),
    };
    let pager = Pager::cursor("/console/brands", &[], after, &connection);
    let page = ListPage {
        l: Layout::signed_in(session, "Brands", None, "").with_notice(notice),
        brands: connection.nodes,
        pager,
        key: typed.0.to_owned(),
        name: typed.1.to_owned(),
    };
    page::render(status, &page)
}

/// `POST /console/brands`: `key`, `name`.
pub(crate) async fn create(State(state): State<ConsoleState>, Posted { session, form }: Posted) -> Response {
    let key = form.text("key").unwrap_or_default();
    let name = form.text("name").unwrap_or_default();
    match api::run(&state, &session, CREATE, json!({"key": key, "name": name})).await {
        Ok(_) => page::see_other(&format!("{}?done=brand-created", brand_href(key))),
        Err(problem) if problem.is_input() => {
            let notice = Some(Notice::failed(problem.message.clone()));
            render_list(&state, &session, None, notice, (key, name), problem.status()).await
        }
        Err(problem) => problem.page(&session, None),
    }
}

/// `GET /console/brands/{brand}`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    session: Session,
    Path(key): Path<String>,
    raw: RawQuery,
) -> Response {
    render_brand(&state, &session, &key, done_notice(&query(raw)), StatusCode::OK).await
}

async fn render_brand(
    state: &ConsoleState,
    session: &Session,
    key: &str,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let brand: Brand = match api::fetch(state, session, SHOW, json!({"key": key}), "brand").await {
        Ok(brand) => brand,
        Err(problem) => return problem_page(&problem, session, key),
    };
    let selected = brand
        .settings
        .allowed_grants
        .clone()
        .unwrap_or_else(|| portcullis_core::GrantType::ALL.iter().map(|g| g.as_str().to_owned()).collect());
    let algorithms =
        ["EdDSA", "ES256", "RS256"].into_iter().map(|a| (a, a == brand.settings.signing_algorithm)).collect();
    let page = BrandPage {
        l: Layout::signed_in(session, brand.name.clone(), Some(key), "").with_notice(notice),
        grants: grant_choices(&selected),
        algorithms,
        brand,
    };
    page::render(status, &page)
}

/// `POST /console/brands/{brand}`: the settings form.
pub(crate) async fn update(
    State(state): State<ConsoleState>,
    Path(key): Path<String>,
    Posted { session, form }: Posted,
) -> Response {
    let outcome = match update_input(&key, &form) {
        Ok(input) => api::run(&state, &session, UPDATE, json!({"input": input})).await.map(|_| ()),
        Err(message) => Err(Problem::bad_input(message)),
    };
    match outcome {
        Ok(()) => page::see_other(&format!("{}?done=brand-updated", brand_href(&key))),
        Err(problem) if problem.is_input() => {
            let notice = Some(Notice::failed(problem.message.clone()));
            render_brand(&state, &session, &key, notice, problem.status()).await
        }
        Err(problem) => problem_page(&problem, &session, &key),
    }
}

/// The `UpdateBrandInput` of the settings form. Blank branding fields clear the value; blank
/// lifetimes keep the current one.
fn update_input(key: &str, form: &Form) -> Result<Value, String> {
    let mut input = Map::new();
    input.insert("key".into(), json!(key));
    input.insert("name".into(), json!(form.text("name").unwrap_or_default()));
    for (field, name) in [("display_name", "displayName"), ("logo_url", "logoUrl"), ("primary_color", "primaryColor")] {
        input.insert(name.into(), json!(form.text(field)));
    }
    super::lifetimes(form, &mut input)?;
    if let Some(algorithm) = form.text("signing_algorithm") {
        input.insert("signingAlgorithm".into(), json!(algorithm));
    }
    input.insert("requireAudience".into(), json!(form.checked("require_audience")));
    // Every grant ticked means "whatever the server supports" (null), as for a new brand.
    let grants = form.all("allowed_grants");
    let every = portcullis_core::GrantType::ALL.iter().all(|g| grants.iter().any(|s| s == g.as_str()));
    input.insert("allowedGrants".into(), if every { Value::Null } else { json!(grants) });
    input.insert("scopeCatalog".into(), json!(form.words("scope_catalog")));
    Ok(Value::Object(input))
}
