//! One connection's part of the soak: a [`Worker`] walks the mix's cycle until the end, on one
//! keep-alive connection to the public listener and one to the admin listener (reopened after a
//! transport error). It keeps its own state: the newest refresh token of its chain, the access
//! tokens it was issued (introspected newest first, revoked oldest first) and an admin token,
//! renewed at half its lifetime. Each request is timed and reported to the [`Recorder`]; a
//! request whose state is missing (say, no refresh token after an error) is preceded by the one
//! that provides it, reported as what it is.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use serde_json::{Value, json};

use super::mix::{self, Operation};
use super::record::Recorder;
use super::setup::{Accounts, BRAND, PASSWORD, USERNAME};
use crate::bench::load::{Template, connect, describe};
use crate::bench::server::Credentials;

/// How many issued access tokens a connection remembers (older ones are forgotten).
const KEPT_TOKENS: usize = 32;

/// How long a connection waits after a transport error before it goes on.
const PAUSE_AFTER_TRANSPORT_ERROR: Duration = Duration::from_millis(100);

/// One step: an operation with the state it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    ClientCredentials,
    Password,
    Refresh,
    Introspect,
    RevokeAccess,
    RevokeRefresh,
    AdminToken,
    AdminRead,
}

impl Step {
    /// The operation it is reported as.
    fn operation(self) -> Operation {
        match self {
            Self::ClientCredentials | Self::AdminToken => Operation::ClientCredentials,
            Self::Password => Operation::Password,
            Self::Refresh => Operation::Refresh,
            Self::Introspect => Operation::Introspection,
            Self::RevokeAccess | Self::RevokeRefresh => Operation::Revocation,
            Self::AdminRead => Operation::AdminRead,
        }
    }
}

/// Which listener a request goes to.
#[derive(Debug, Clone, Copy)]
enum Listener {
    Public,
    Admin,
}

/// An admin access token and when to renew it.
#[derive(Debug)]
struct AdminToken {
    token: String,
    renew_at: Instant,
}

/// One connection's state.
struct Worker {
    accounts: Arc<Accounts>,
    recorder: Arc<Recorder>,
    public: Option<SendRequest<Full<Bytes>>>,
    admin: Option<SendRequest<Full<Bytes>>>,
    refresh: Option<String>,
    issued: VecDeque<String>,
    admin_token: Option<AdminToken>,
}

/// Runs one connection's part until `end`, starting the cycle at `offset` so that connections
/// do not move in step.
pub(crate) async fn run(accounts: Arc<Accounts>, recorder: Arc<Recorder>, end: Instant, offset: usize) {
    let mut worker = Worker {
        accounts,
        recorder,
        public: None,
        admin: None,
        refresh: None,
        issued: VecDeque::new(),
        admin_token: None,
    };
    let cycle = mix::cycle();
    for op in cycle.iter().cycle().skip(offset) {
        if Instant::now() >= end {
            break;
        }
        worker.perform(*op).await;
    }
}

/// A JSON body's string field.
fn field<'a>(body: &'a Value, name: &str) -> anyhow::Result<&'a str> {
    body[name].as_str().with_context(|| format!("the answer has no {name}: {body}"))
}

impl Worker {
    /// Runs `op`, preceded by the step that provides its state when that is missing.
    async fn perform(&mut self, op: Operation) {
        match op {
            Operation::ClientCredentials => self.step(Step::ClientCredentials).await,
            Operation::Password => {
                if self.refresh.is_some() {
                    self.step(Step::RevokeRefresh).await;
                }
                self.step(Step::Password).await;
            }
            Operation::Refresh => {
                let step = if self.refresh.is_some() { Step::Refresh } else { Step::Password };
                self.step(step).await;
            }
            Operation::Introspection | Operation::Revocation => {
                if self.issued.is_empty() {
                    self.step(Step::ClientCredentials).await;
                }
                if !self.issued.is_empty() {
                    let step = if op == Operation::Introspection { Step::Introspect } else { Step::RevokeAccess };
                    self.step(step).await;
                }
            }
            Operation::AdminRead => {
                if self.admin_token.as_ref().is_none_or(|t| Instant::now() >= t.renew_at) {
                    self.step(Step::AdminToken).await;
                }
                if self.admin_token.is_some() {
                    self.step(Step::AdminRead).await;
                }
            }
        }
    }

    /// Times one step and reports it.
    async fn step(&mut self, step: Step) {
        let started = Instant::now();
        let result = match step {
            Step::ClientCredentials => self.client_credentials().await,
            Step::Password => self.password().await,
            Step::Refresh => self.refresh().await,
            Step::Introspect => self.introspect().await,
            Step::RevokeAccess => self.revoke_access().await,
            Step::RevokeRefresh => self.revoke_refresh().await,
            Step::AdminToken => self.renew_admin_token().await,
            Step::AdminRead => self.admin_read().await,
        };
        match result {
            Ok(()) => self.recorder.success(step.operation(), started.elapsed()),
            Err(error) => self.recorder.error(step.operation(), format!("{error:#}")),
        }
    }

    /// Sends `request` and reads the whole answer, which must be `200 OK`. A transport error
    /// closes the connection (the next request opens a new one).
    async fn send(&mut self, listener: Listener, request: Request<Full<Bytes>>) -> anyhow::Result<Bytes> {
        let (method, uri) = (request.method().clone(), request.uri().clone());
        let (slot, addr) = match listener {
            Listener::Public => (&mut self.public, self.accounts.public),
            Listener::Admin => (&mut self.admin, self.accounts.admin),
        };
        let answer = exchange(slot, addr, request).await;
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(error) => {
                *slot = None;
                tokio::time::sleep(PAUSE_AFTER_TRANSPORT_ERROR).await;
                return Err(error.context(format!("{method} {uri}")));
            }
        };
        if status != StatusCode::OK {
            bail!(describe(&method, &uri, status, &body));
        }
        Ok(body)
    }

    /// A form `POST` to the brand's `endpoint` as `client`; the answer's JSON.
    async fn form(&mut self, endpoint: &str, client: &Credentials, form: &[(&str, &str)]) -> anyhow::Result<Value> {
        let request = Template::post_form(self.accounts.public, &Accounts::path(endpoint), client, form)?.request(0);
        let body = self.send(Listener::Public, request).await?;
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).with_context(|| format!("{endpoint} answered no JSON"))
    }

    async fn client_credentials(&mut self) -> anyhow::Result<()> {
        let machine = self.accounts.machine.clone();
        let body = self.form("oauth/token", &machine, &[("grant_type", "client_credentials")]).await?;
        if self.issued.len() >= KEPT_TOKENS {
            self.issued.pop_front();
        }
        self.issued.push_back(field(&body, "access_token")?.to_owned());
        Ok(())
    }

    /// Keeps the chain's new refresh token from a token answer.
    fn keep_refresh(&mut self, body: &Value) -> anyhow::Result<()> {
        field(body, "access_token")?;
        self.refresh = Some(field(body, "refresh_token")?.to_owned());
        Ok(())
    }

    async fn password(&mut self) -> anyhow::Result<()> {
        let web = self.accounts.web.clone();
        let form = [("grant_type", "password"), ("username", USERNAME), ("password", PASSWORD)];
        let body = self.form("oauth/token", &web, &form).await?;
        self.keep_refresh(&body)
    }

    async fn refresh(&mut self) -> anyhow::Result<()> {
        // Taken: a failed refresh leaves no token to replay; the next one starts a new chain.
        let refresh = self.refresh.take().context("no refresh token")?;
        let web = self.accounts.web.clone();
        let body =
            self.form("oauth/token", &web, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await?;
        self.keep_refresh(&body)
    }

    async fn introspect(&mut self) -> anyhow::Result<()> {
        let token = self.issued.back().cloned().context("no access token")?;
        let machine = self.accounts.machine.clone();
        let body = self.form("oauth/introspect", &machine, &[("token", &token)]).await?;
        if body["active"] != Value::Bool(true) {
            bail!("a live token was introspected as {body}");
        }
        Ok(())
    }

    async fn revoke_access(&mut self) -> anyhow::Result<()> {
        let token = self.issued.pop_front().context("no access token")?;
        let machine = self.accounts.machine.clone();
        self.form("oauth/revoke", &machine, &[("token", &token), ("token_type_hint", "access_token")]).await?;
        Ok(())
    }

    async fn revoke_refresh(&mut self) -> anyhow::Result<()> {
        let token = self.refresh.take().context("no refresh token")?;
        let web = self.accounts.web.clone();
        self.form("oauth/revoke", &web, &[("token", &token), ("token_type_hint", "refresh_token")]).await?;
        Ok(())
    }

    async fn renew_admin_token(&mut self) -> anyhow::Result<()> {
        self.admin_token = None;
        let admin = self.accounts.admin_client.clone();
        let body = self.form("oauth/token", &admin, &[("grant_type", "client_credentials")]).await?;
        let lifetime = body["expires_in"].as_u64().with_context(|| format!("the answer has no expires_in: {body}"))?;
        let token = field(&body, "access_token")?.to_owned();
        self.admin_token = Some(AdminToken { token, renew_at: Instant::now() + Duration::from_secs(lifetime / 2) });
        Ok(())
    }

    async fn admin_read(&mut self) -> anyhow::Result<()> {
        let token = self.admin_token.as_ref().map(|t| t.token.clone()).context("no admin token")?;
        let query = format!(r#"{{ clients(brandKey: "{BRAND}") {{ clientId name }} }}"#);
        let mut request = Template::get(self.accounts.admin, "/graphql")?.request(0);
        *request.method_mut() = Method::POST;
        *request.body_mut() = Full::new(Bytes::from(json!({ "query": query }).to_string()));
        let headers = request.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(header::AUTHORIZATION, HeaderValue::try_from(format!("Bearer {token}"))?);
        let body = self.send(Listener::Admin, request).await?;
        let body: Value = serde_json::from_slice(&body).context("/graphql answered no JSON")?;
        let clients = body["data"]["clients"].as_array();
        if body.get("errors").is_some() || clients.is_none_or(Vec::is_empty) {
            bail!("/graphql answered {body}");
        }
        Ok(())
    }
}

/// Sends `request` on the connection in `slot` (opened first when there is none).
async fn exchange(
    slot: &mut Option<SendRequest<Full<Bytes>>>,
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
) -> anyhow::Result<(StatusCode, Bytes)> {
    let sender = match slot {
        Some(sender) => sender,
        None => slot.insert(connect(addr).await?),
    };
    sender.ready().await.context("the connection closed")?;
    let response = sender.send_request(request).await.context("sending the request")?;
    let status = response.status();
    let body = response.into_body().collect().await.context("reading the answer")?.to_bytes();
    Ok((status, body))
}
