//! A brand's clients (API credentials): list with search, create, edit, rotate the secret,
//! delete. New secrets are shown once, on the response to the POST that made them.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Choice, PAGE_SIZE, Pager, RevealPage, done_notice, grant_choices, page_number, problem_page, query};
use crate::ConsoleState;
use crate::api::{self, Problem};
use crate::form::Form;
use crate::page::{self, Layout, Notice, brand_href, encode, list_or_dash, utc, utc_or_dash};
use crate::session::{Posted, Session};

const FIELDS: &str = "clientId name grantTypes scopes defaultScopes audiences accessTtl refreshTtl redirectUris \
                      postLogoutRedirectUris public enabled previousSecretExpiresAt createdAt";

/// A client as the API shows it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Client {
    pub(crate) client_id: String,
    pub(crate) name: String,
    pub(crate) grant_types: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) default_scopes: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) access_ttl: Option<i64>,
    pub(crate) refresh_ttl: Option<i64>,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) post_logout_redirect_uris: Vec<String>,
    pub(crate) public: bool,
    pub(crate) enabled: bool,
    pub(crate) previous_secret_expires_at: Option<i64>,
    pub(crate) created_at: i64,
}

impl Client {
    pub(crate) fn created(&self) -> String {
        utc(self.created_at)
    }

    pub(crate) fn previous_secret_until(&self) -> String {
        utc_or_dash(self.previous_secret_expires_at)
    }

    pub(crate) fn grants_line(&self) -> String {
        list_or_dash(&self.grant_types)
    }

    pub(crate) fn scopes_line(&self) -> String {
        list_or_dash(&self.scopes)
    }

    /// The list fields as form text: space-separated, or one per line for URIs.
    pub(crate) fn scopes_text(&self) -> String {
        self.scopes.join(" ")
    }

    pub(crate) fn default_scopes_text(&self) -> String {
        self.default_scopes.join(" ")
    }

    pub(crate) fn audiences_text(&self) -> String {
        self.audiences.join(" ")
    }

    pub(crate) fn redirect_uris_text(&self) -> String {
        self.redirect_uris.join("\n")
    }

    pub(crate) fn logout_uris_text(&self) -> String {
        self.post_logout_redirect_uris.join("\n")
    }
}

/// The list page.
#[derive(Template)]
#[template(path = "clients.html")]
struct ListPage {
    l: Layout,
    brand: String,
    clients: Vec<Client>,
    q: String,
    pager: Pager,
}

/// The create form, or a client's page with the edit form.
#[derive(Template)]
#[template(path = "client.html")]
struct ClientPage {
    l: Layout,
    brand: String,
    /// Whether the client exists (its page) or not yet (the create form).
    existing: bool,
    client: Client,
    grants: Vec<Choice>,
    action: String,
}

fn clients_href(brand: &str) -> String {
    format!("{}/clients", brand_href(brand))
}

fn client_href(brand: &str, id: &str) -> String {
    format!("{}/clients/{}", brand_href(brand), encode(id))
}

/// `GET /console/brands/{brand}/clients?q=&page=`: the API returns a brand's clients in one
/// list; the console searches (id or name, any case) and pages it.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    session: Session,
    Path(brand): Path<String>,
    raw: RawQuery,
) -> Response {
    let query = query(raw);
    let document = format!("query($b: String!) {{ clients(brandKey: $b) {{ {FIELDS} }} }}");
    let clients: Vec<Client> = match api::fetch(&state, &session, &document, json!({"b": brand}), "clients").await {
        Ok(clients) => clients,
        Err(problem) => return problem_page(&problem, &session, &brand),
    };
    let q = query.text("q").unwrap_or_default().to_owned();
    let needle = q.to_lowercase();
    let matching: Vec<Client> = clients
        .into_iter()
        .filter(|c| {
            needle.is_empty() || c.client_id.to_lowercase().contains(&needle) || c.name.to_lowercase().contains(&needle)
        })
        .collect();
    // A page past the end is the last page.
    let page = page_number(&query).min(matching.len().div_ceil(PAGE_SIZE).max(1));
    let pager = Pager::numbered(&clients_href(&brand), &[("q", &q)], page, matching.len());
    let shown = matching.into_iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).collect();
    let layout = Layout::signed_in(&session, "Clients", Some(&brand), "clients").with_notice(done_notice(&query));
    page::render(StatusCode::OK, &ListPage { l: layout, brand, clients: shown, q, pager })
}

/// `GET /console/brands/{brand}/clients/new`.
pub(crate) async fn new_form(
    State(state): State<ConsoleState>,
    session: Session,
    Path(brand): Path<String>,
) -> Response {
    // Reading the brand first makes a forbidden or unknown brand fail here, not on submit.
    let document = "query($b: String!) { brand(key: $b) { key } }";
    if let Err(problem) = api::run(&state, &session, document, json!({"b": brand})).await {
        return problem_page(&problem, &session, &brand);
    }
    let client = Client { grant_types: vec!["client_credentials".into()], ..Client::default() };
    form_page(&session, &brand, false, client, None, StatusCode::OK)
}

fn form_page(
    session: &Session,
    brand: &str,
    existing: bool,
    client: Client,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let (title, action) = if existing {
        (format!("Client {}", client.name), client_href(brand, &client.client_id))
    } else {
        ("New client".to_owned(), clients_href(brand))
    };
    let page = ClientPage {
        l: Layout::signed_in(session, title, Some(brand), "clients").with_notice(notice),
        brand: brand.to_owned(),
        existing,
        grants: grant_choices(&client.grant_types),
        client,
        action,
    };
    page::render(status, &page)
}

/// The client the form describes (to show it again after a refusal).
fn typed_client(form: &Form, client_id: &str) -> Client {
    Client {
        client_id: client_id.to_owned(),
        name: form.get("name").unwrap_or_default().to_owned(),
        grant_types: form.all("grant_types"),
        scopes: form.words("scopes"),
        default_scopes: form.words("default_scopes"),
        audiences: form.words("audiences"),
        access_ttl: form.number("access_ttl", "").ok().flatten(),
        refresh_ttl: form.number("refresh_ttl", "").ok().flatten(),
        redirect_uris: form.lines("redirect_uris"),
        post_logout_redirect_uris: form.lines("post_logout_redirect_uris"),
        public: form.checked("public"),
        enabled: true,
        ..Client::default()
    }
}

/// The input fields common to `createClient` and `updateClient`.
fn client_input(form: &Form) -> Result<Map<String, Value>, String> {
    let mut input = Map::new();
    input.insert("name".into(), json!(form.text("name").unwrap_or_default()));
    input.insert("grantTypes".into(), json!(form.all("grant_types")));
    for (field, name) in [("scopes", "scopes"), ("default_scopes", "defaultScopes"), ("audiences", "audiences")] {
        input.insert(name.into(), json!(form.words(field)));
    }
    input.insert("redirectUris".into(), json!(form.lines("redirect_uris")));
    input.insert("postLogoutRedirectUris".into(), json!(form.lines("post_logout_redirect_uris")));
    super::lifetimes(form, &mut input)?;
    Ok(input)
}

/// Runs a client mutation built from the form: `build` completes the input.
async fn mutate(
    state: &ConsoleState,
    session: &Session,
    form: &Form,
    document: &str,
    build: impl FnOnce(&mut Map<String, Value>),
) -> Result<Value, Problem> {
    let mut input = client_input(form).map_err(Problem::bad_input)?;
    build(&mut input);
    api::run(state, session, document, json!({"input": input})).await
}

/// `POST /console/brands/{brand}/clients`: creates the client and reveals its secret once.
pub(crate) async fn create(
    State(state): State<ConsoleState>,
    Path(brand): Path<String>,
    Posted { session, form }: Posted,
) -> Response {
    let document = "mutation($input: CreateClientInput!) {
        createClient(input: $input) { client { clientId name } clientSecret } }";
    let public = form.checked("public");
    let outcome = mutate(&state, &session, &form, document, |input| {
        input.insert("brandKey".into(), json!(brand));
        input.insert("public".into(), json!(public));
    })
    .await;
    let mut data = match outcome {
        Ok(data) => data,
        Err(problem) if problem.is_input() => {
            let notice = Some(Notice::failed(problem.message.clone()));
            return form_page(&session, &brand, false, typed_client(&form, ""), notice, problem.status());
        }
        Err(problem) => return problem_page(&problem, &session, &brand),
    };
    let created = data["createClient"].take();
    let client_id = created["client"]["clientId"].as_str().unwrap_or_default();
    match created["clientSecret"].as_str() {
        Some(secret) => reveal_secret(&session, &brand, client_id, secret, "Client created"),
        None => page::see_other(&format!("{}?done=client-created", client_href(&brand, client_id))),
    }
}

/// The one-time page of a client secret.
fn reveal_secret(session: &Session, brand: &str, client_id: &str, secret: &str, title: &str) -> Response {
    let page = RevealPage {
        l: Layout::signed_in(session, title, Some(brand), "clients"),
        what: "client secret",
        whose: client_id,
        usage: "The client authenticates at the token endpoint with its client ID and this secret \
                (HTTP Basic or client_secret_post).",
        value: secret,
        next: client_href(brand, client_id),
    };
    page::render(StatusCode::OK, &page)
}

/// `GET /console/brands/{brand}/clients/{id}`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    session: Session,
    Path((brand, id)): Path<(String, String)>,
    raw: RawQuery,
) -> Response {
    render_client(&state, &session, &brand, &id, done_notice(&query(raw)), StatusCode::OK).await
}

async fn render_client(
    state: &ConsoleState,
    session: &Session,
    brand: &str,
    id: &str,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let document = format!("query($b: String!, $id: String!) {{ client(brandKey: $b, clientId: $id) {{ {FIELDS} }} }}");
    match api::fetch::<Client>(state, session, &document, json!({"b": brand, "id": id}), "client").await {
        Ok(client) => form_page(session, brand, true, client, notice, status),
        Err(problem) => problem_page(&problem, session, brand),
    }
}

/// `POST /console/brands/{brand}/clients/{id}`: the edit form.
pub(crate) async fn update(
    State(state): State<ConsoleState>,
    Path((brand, id)): Path<(String, String)>,
    Posted { session, form }: Posted,
) -> Response {
    let document = "mutation($input: UpdateClientInput!) { updateClient(input: $input) { client { clientId } } }";
    let outcome = mutate(&state, &session, &form, document, |input| {
        input.insert("brandKey".into(), json!(brand));
        input.insert("clientId".into(), json!(id));
    })
    .await;
    match outcome {
        Ok(_) => page::see_other(&format!("{}?done=client-updated", client_href(&brand, &id))),
        Err(problem) if problem.is_input() => {
            let notice = Some(Notice::failed(problem.message.clone()));
            render_client(&state, &session, &brand, &id, notice, problem.status()).await
        }
        Err(problem) => problem_page(&problem, &session, &brand),
    }
}

/// `POST /console/brands/{brand}/clients/{id}/{rotate|delete}`.
pub(crate) async fn act(
    State(state): State<ConsoleState>,
    Path((brand, id, action)): Path<(String, String, String)>,
    Posted { session, form }: Posted,
) -> Response {
    let variables = |extra: Value| {
        let mut v = json!({"b": brand, "id": id});
        if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), extra) {
            v.extend(extra);
        }
        v
    };
    match action.as_str() {
        "rotate" => {
            let grace = match form.number("grace_seconds", "The grace period") {
                Ok(grace) => grace,
                Err(message) => {
                    return render_client(
                        &state,
                        &session,
                        &brand,
                        &id,
                        Some(Notice::failed(message)),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await;
                }
            };
            let document = "mutation($b: String!, $id: String!, $grace: Int) {
                rotateClientSecret(brandKey: $b, clientId: $id, graceSeconds: $grace) { clientSecret } }";
            match api::run(&state, &session, document, variables(json!({"grace": grace}))).await {
                Ok(data) => {
                    let secret = data["rotateClientSecret"]["clientSecret"].as_str().unwrap_or_default();
                    reveal_secret(&session, &brand, &id, secret, "Secret rotated")
                }
                Err(problem) if problem.is_input() => {
                    let notice = Some(Notice::failed(problem.message.clone()));
                    render_client(&state, &session, &brand, &id, notice, problem.status()).await
                }
                Err(problem) => problem_page(&problem, &session, &brand),
            }
        }
        "delete" => {
            let document =
                "mutation($b: String!, $id: String!) { deleteClient(brandKey: $b, clientId: $id) { deleted } }";
            match api::run(&state, &session, document, variables(json!({}))).await {
                Ok(_) => page::see_other(&format!("{}?done=client-deleted", clients_href(&brand))),
                Err(problem) => problem_page(&problem, &session, &brand),
            }
        }
        _ => super::not_found().await,
    }
}
