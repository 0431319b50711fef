//! The authorization endpoint's logic (RFC 6749 §4.1, OpenID Connect Core §3.1.2, PKCE per
//! RFC 7636 and RFC 9700 §2.1.1), without HTTP.
//!
//! Validation runs in the order that keeps the redirect safe: until the client and its exact
//! redirect URI are established, every error is an [`AuthorizeError::Page`] shown to the user;
//! only afterwards are errors sent back to the client as an [`AuthorizeError::Redirect`].

use portcullis_core::{GrantType, Scope, ScopeSet};
use portcullis_credentials::oidc::is_s256_challenge;
use portcullis_credentials::secret::generate_secret;
use portcullis_tenancy::{AuthorizationCode, BrandScope, Client, ClientStore, LoginSession, LoginStore, Principal};

use crate::client_credentials::requested_scopes;
use crate::{GrantContext, GrantError, GrantResult, random_id};

/// How long an authorization code lives (RFC 9700 recommends under a minute).
pub const CODE_TTL: i64 = 60;

/// The prefix of authorization codes.
pub const CODE_PREFIX: &str = "pcc";

/// The scopes of OpenID Connect itself: granted to any user who signs in, whatever their
/// permissions (they only select claims about the user).
pub const OIDC_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// Shown when the redirect URI a request names is registered but breaks the current rules.
const UNUSABLE_REDIRECT: &str = "The redirect_uri registered for this application is not a valid address, so the \
     sign-in service will not send you there. The application's administrator must correct its registration.";

/// The longest `state`, `nonce` or `login_hint` accepted, in bytes.
const MAX_PARAMETER: usize = 1024;

/// Declares [`AuthorizationParams`] from one list of parameter names, so that the struct, the
/// lookup that fills it and the pairs that carry it through the login form cannot disagree.
macro_rules! authorization_params {
    ($($field:ident: $doc:literal),* $(,)?) => {
        /// The parameters of an authorization request, as received (each at most once).
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct AuthorizationParams {
            $(#[doc = $doc] pub $field: Option<String>,)*
        }

        impl AuthorizationParams {
            /// Builds the parameters from a lookup by name.
            pub fn from_lookup<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
                Self { $($field: get(stringify!($field)).map(str::to_owned),)* }
            }

            /// The parameters that are present, by name, in declaration order.
            pub fn pairs(&self) -> Vec<(&'static str, &str)> {
                let mut pairs = Vec::new();
                $(if let Some(value) = self.$field.as_deref() {
                    pairs.push((stringify!($field), value));
                })*
                pairs
            }
        }
    };
}

authorization_params!(
    response_type: "`response_type`.",
    client_id: "`client_id`.",
    redirect_uri: "`redirect_uri`.",
    scope: "`scope`.",
    state: "`state`.",
    nonce: "`nonce`.",
    code_challenge: "`code_challenge` (PKCE).",
    code_challenge_method: "`code_challenge_method` (PKCE).",
    prompt: "`prompt`.",
    max_age: "`max_age`.",
    login_hint: "`login_hint`.",
    response_mode: "`response_mode`.",
    request: "`request` (a request object; not supported).",
    request_uri: "`request_uri` (not supported).",
);

/// What the `prompt` parameter asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prompt {
    /// `none`: never show a page; fail with `login_required` when not signed in.
    pub none: bool,
    /// `login` (or `select_account`): ask for credentials even when signed in.
    pub login: bool,
}

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The client.
    pub client: Client,
    /// The registered redirect URI it named.
    pub redirect_uri: String,
    /// The scopes it may receive (the user's permissions narrow them at issuance).
    pub scopes: ScopeSet,
    /// `state`, echoed back.
    pub state: Option<String>,
    /// `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// The PKCE `S256` challenge.
    pub code_challenge: String,
    /// `prompt`.
    pub prompt: Prompt,
    /// `max_age`, seconds.
    pub max_age: Option<i64>,
    /// `login_hint`: a username to pre-fill.
    pub login_hint: Option<String>,
}

/// An error sent back to the client at its redirect URI (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectError {
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// The `error` code.
    pub error: &'static str,
    /// The `error_description`.
    pub description: String,
    /// The client's `state`.
    pub state: Option<String>,
}

/// Why an authorization request failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: shown to the user, never redirected.
    #[error("{0}")]
    Page(String),
    /// Sent back to the client.
    #[error("{}: {}", .0.error, .0.description)]
    Redirect(RedirectError),
    /// The server failed.
    #[error(transparent)]
    Grant(#[from] GrantError),
}

impl RedirectError {
    /// The `Location` to send the browser to: the redirect URI with `error`,
    /// `error_description`, `state` and the RFC 9207 `iss` added to its query.
    pub fn location(&self, issuer: &str) -> String {
        let mut pairs = vec![("error", self.error), ("error_description", self.description.as_str())];
        if let Some(state) = &self.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", issuer));
        with_query(&self.redirect_uri, &pairs)
    }
}

/// `uri` with `pairs` appended to its query, form-url-encoded.
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    let query = serializer.finish();
    let (base, fragment) = match uri.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (uri, None),
    };
    let separator = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    // Registered redirect URIs have no fragment; keep one anyway rather than corrupt the URI.
    match fragment {
        Some(fragment) => format!("{base}{separator}{query}#{fragment}"),
        None => format!("{base}{separator}{query}"),
    }
}

/// Validates an authorization request at the scoped brand (see the module documentation for
/// the order).
pub async fn validate<S: ClientStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    params: &AuthorizationParams,
) -> Result<Authorization, AuthorizeError> {
    let page = |m: &str| Err(AuthorizeError::Page(m.to_owned()));
    let Some(client_id) = params.client_id.as_deref().filter(|c| !c.is_empty()) else {
        return page("The request names no client (client_id is missing).");
    };
    let client = match portcullis_core::ClientId::parse(client_id) {
        Ok(id) => ctx.store.find_client(scope, &id).await.map_err(GrantError::from)?,
        Err(_) => None,
    };
    let Some(client) = client.filter(|c| c.enabled) else {
        return page("The application that sent you here is not known to this sign-in service.");
    };
    let Some(redirect_uri) = params.redirect_uri.as_deref().filter(|r| !r.is_empty()) else {
        return page("The request has no redirect_uri.");
    };
    // Exact string comparison (RFC 9700 §2.1): no prefix, no normalisation.
    if !client.profile.redirect_uris.iter().any(|r| r == redirect_uri) {
        return page("The redirect_uri is not registered for this application.");
    }
    // Registered before the current rules applied, and no longer valid: never redirected to.
    if !crate::redirect_uri::usable(redirect_uri) {
        return page(UNUSABLE_REDIRECT);
    }
    let redirect_uri = redirect_uri.to_owned();
    let state = params.state.clone();
    let fail = |error: &'static str, description: &str| {
        Err(AuthorizeError::Redirect(RedirectError {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: state.clone(),
        }))
    };
    if state.as_ref().is_some_and(|s| s.len() > MAX_PARAMETER) {
        return fail("invalid_request", "state is too long");
    }
    if params.request.is_some() {
        return fail("request_not_supported", "request objects are not supported");
    }
    if params.request_uri.is_some() {
        return fail("request_uri_not_supported", "request_uri is not supported");
    }
    match params.response_type.as_deref() {
        None | Some("") => return fail("invalid_request", "response_type is required"),
        Some("code") => {}
        Some(_) => return fail("unsupported_response_type", "only response_type=code is supported"),
    }
    if params.response_mode.as_deref().is_some_and(|m| m != "query") {
        return fail("invalid_request", "only response_mode=query is supported");
    }
    let grant = GrantType::AuthorizationCode;
    if !client.profile.grant_types.contains(&grant) || !scope.brand().settings.allows_grant(grant) {
        return fail("unauthorized_client", "this client may not use the authorization code flow");
    }
    let Some(code_challenge) = params.code_challenge.as_deref().filter(|c| !c.is_empty()) else {
        return fail("invalid_request", "PKCE is required: code_challenge is missing");
    };
    if params.code_challenge_method.as_deref() != Some("S256") {
        return fail("invalid_request", "PKCE code_challenge_method must be S256");
    }
    if !is_s256_challenge(code_challenge) {
        return fail("invalid_request", "code_challenge is not a base64url SHA-256 digest");
    }
    let scopes = match requested_scopes(scope, &client, params.scope.as_deref().filter(|s| !s.trim().is_empty()), None)
    {
        Ok(scopes) => scopes,
        Err(e) => return fail("invalid_scope", &e.description()),
    };
    let nonce = params.nonce.clone().filter(|n| !n.is_empty());
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_PARAMETER) {
        return fail("invalid_request", "nonce is too long");
    }
    let prompt = match parse_prompt(params.prompt.as_deref()) {
        Ok(prompt) => prompt,
        Err(description) => return fail("invalid_request", description),
    };
    let max_age = match params.max_age.as_deref().map(str::parse::<u32>) {
        None => None,
        Some(Ok(age)) => Some(i64::from(age)),
        Some(Err(_)) => return fail("invalid_request", "max_age must be a non-negative number of seconds"),
    };
    let login_hint = params.login_hint.clone().filter(|h| !h.is_empty() && h.len() <= MAX_PARAMETER);
    Ok(Authorization {
        client,
        redirect_uri: redirect_uri.clone(),
        scopes,
        state: state.clone(),
        nonce,
        code_challenge: code_challenge.to_owned(),
        prompt,
        max_age,
        login_hint,
    })
}

fn parse_prompt(prompt: Option<&str>) -> Result<Prompt, &'static str> {
    let mut parsed = Prompt::default();
    let mut count = 0;
    for value in prompt.unwrap_or_default().split(' ').filter(|v| !v.is_empty()) {
        count += 1;
        match value {
            "none" => parsed.none = true,
            "login" | "select_account" => parsed.login = true,
            // Clients are registered by the brand's administrators: there is no consent page.
            "consent" => {}
            _ => return Err("prompt must be none, login, consent or select_account"),
        }
    }
    if parsed.none && count > 1 {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(parsed)
}

impl Authorization {
    /// An error for this request, to send back to the client.
    pub fn error(&self, error: &'static str, description: &str) -> RedirectError {
        RedirectError {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: self.state.clone(),
        }
    }

    /// Whether a login at `auth_time` is recent enough for `max_age` at `now`.
    pub fn accepts_auth_time(&self, auth_time: i64, now: i64) -> bool {
        self.max_age.is_none_or(|age| now - auth_time <= age)
    }
}

/// Issues an authorization code for `user`, signed in by `session`, and returns the
/// `Location` to send the browser to: the redirect URI with `code`, `state` and `iss`.
///
/// The scopes are the request's, narrowed to the user's permissions (OpenID Connect's own
/// scopes need none). The code is stored (by hash) before the location is returned.
pub async fn issue_code<S: LoginStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    request: &Authorization,
    user: &Principal,
    session: &LoginSession,
) -> GrantResult<String> {
    let now = ctx.clock.now();
    let scopes: ScopeSet = request
        .scopes
        .iter()
        .filter(|s| OIDC_SCOPES.contains(&s.as_str()) || user.permissions.contains(s))
        .cloned()
        .collect();
    let (value, hash) = generate_secret(CODE_PREFIX)?;
    let code = AuthorizationCode {
        code_hash: hash.as_str().to_owned(),
        client_id: request.client.client_id.clone(),
        subject: user.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        scopes,
        auth_time: session.auth_time,
        sid: session.sid.clone(),
        family_id: random_id()?,
        issued_at: now,
        expires_at: now + CODE_TTL,
    };
    ctx.store.create_code(scope, code).await?;
    let issuer = ctx.issuer(scope);
    let mut pairs = vec![("code", value.expose())];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &issuer));
    Ok(with_query(&request.redirect_uri, &pairs))
}

/// Whether `scopes` ask for OpenID Connect (an ID token).
pub fn is_openid(scopes: &ScopeSet) -> bool {
    Scope::parse("openid").is_ok_and(|s| scopes.contains(&s))
}
