//! Creating brands, clients and the platform administrator. Shared by the CLI and (later) the
//! admin API, so both enforce the same rules and write the same audit events.

use std::borrow::Cow;

use portcullis_core::{BrandKey, ClientId, GrantType, PLATFORM_ADMIN_SCOPE, SYSTEM_BRAND, Scope, ScopeSet, username};
use portcullis_credentials::CredentialError;
use portcullis_credentials::secret::{RevealedSecret, generate_secret};
use portcullis_tenancy::{
    AuditEvent, AuditStore, Brand, BrandId, BrandScope, BrandSettings, BrandStore, Branding, Client, ClientProfile,
    ClientStore, KeyStatus, KeyStore, LoginStore, NewBrand, NewClient, NewPrincipal, Principal, PrincipalKind,
    PrincipalStore, PrincipalUpdate, RevocationStore, StoreError, resolve_brand,
};

use crate::keyring::KeyRing;
use crate::{GrantContext, GrantError, random_id};

/// The prefix of client secrets, so that leaked ones are recognisable.
pub const CLIENT_SECRET_PREFIX: &str = "pcs";

/// The longest lifetime an administrator may set, in seconds (one year).
pub const MAX_TTL: u32 = 366 * 24 * 3600;

/// Why a provisioning step failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Invalid input; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The thing exists already.
    #[error("{0}")]
    Conflict(String),
    /// No brand with this key.
    #[error("unknown brand '{0}'")]
    UnknownBrand(String),
    /// The brand has no such client, user, operator or token; the message names it.
    #[error("{0}")]
    NotFound(String),
    /// A platform administrator exists and a new one was not forced.
    #[error("a platform administrator already exists; pass --force-new-admin to create another")]
    AdminExists,
    /// Storage failed.
    #[error("storage: {0}")]
    Store(StoreError),
    /// Cryptography failed.
    #[error("credentials: {0}")]
    Credential(#[from] CredentialError),
}

impl From<StoreError> for ProvisionError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => Self::Conflict(message),
            other => Self::Store(other),
        }
    }
}

impl From<GrantError> for ProvisionError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::Store(s) => s.into(),
            GrantError::Credential(c) => Self::Credential(c),
            other => Self::Invalid(other.to_string()),
        }
    }
}

/// Result alias for provisioning.
pub type ProvisionResult<T> = Result<T, ProvisionError>;

/// Who made a change, for the audit log (e.g. `cli`, `client:abc@system`), and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    name: String,
    source: Option<String>,
}

impl Actor {
    /// An actor with no known source address (the CLI, a background task).
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), source: None }
    }

    /// The same actor, acting from `source` (a peer address).
    #[must_use]
    pub fn from_source(self, source: Option<String>) -> Self {
        Self { source, ..self }
    }

    /// Who.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// From where, when known.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }
}

/// A created client and its secret, to be revealed exactly once.
#[derive(Debug)]
pub struct CreatedClient {
    /// The stored client.
    pub client: Client,
    /// Its secret in clear; `None` for a public client, which has none.
    pub secret: Option<RevealedSecret>,
}

fn check_name(name: &str) -> ProvisionResult<()> {
    let len = name.chars().count();
    if name.trim().is_empty() || len > 200 || name.chars().any(char::is_control) {
        return Err(ProvisionError::Invalid("name must be 1 to 200 printable characters".into()));
    }
    Ok(())
}

fn check_ttl(field: &str, ttl: Option<u32>) -> ProvisionResult<()> {
    match ttl {
        Some(t) if t == 0 || t > MAX_TTL => {
            Err(ProvisionError::Invalid(format!("{field} must be between 1 and {MAX_TTL} seconds")))
        }
        _ => Ok(()),
    }
}

/// Creates a brand with a fresh active signing key of its algorithm, and a `next` key published
/// for the first rotation.
pub async fn create_brand<S: BrandStore + KeyStore + AuditStore>(
    store: &S,
    keys: &KeyRing,
    key: BrandKey,
    name: String,
    settings: BrandSettings,
    actor: &Actor,
    now: i64,
) -> ProvisionResult<Brand> {
    check_name(&name)?;
    check_ttl("access_ttl", settings.access_ttl)?;
    check_ttl("refresh_ttl", settings.refresh_ttl)?;
    check_branding(&settings.branding)?;
    let first_key = keys.generate(&key, settings.signing_algorithm, KeyStatus::Active)?;
    let next_key = keys.generate(&key, settings.signing_algorithm, KeyStatus::Next)?;
    let brand = store.create_brand(NewBrand { key, name, settings }, first_key).await?;
    let scope = BrandScope::new(brand.clone());
    // Published from the start, so that the first rotation promotes a key verifiers already have.
    store.add_key(&scope, next_key, now).await?;
    audit(store, &scope, actor, "brand.created", Some(brand.key.to_string()), now).await;
    Ok(brand)
}

/// `items` without repeats, in first-seen order.
fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Checks and normalises a client profile: name 1–200 characters, at least one grant type,
/// default scopes within the scopes, sane audiences, lifetimes from 1 s to [`MAX_TTL`].
fn checked_profile(mut profile: ClientProfile) -> ProvisionResult<ClientProfile> {
    check_name(&profile.name)?;
    if profile.grant_types.is_empty() {
        return Err(ProvisionError::Invalid("a client needs at least one grant type".into()));
    }
    if !profile.default_scopes.is_subset(&profile.scopes) {
        let extra = profile.default_scopes.difference(&profile.scopes);
        return Err(ProvisionError::Invalid(format!(
            "default scopes must be among the client's scopes; not allowed: {extra}"
        )));
    }
    if let Some(bad) =
        profile.audiences.iter().find(|a| a.is_empty() || a.len() > 512 || a.chars().any(char::is_control))
    {
        let shown: String = bad.chars().take(64).collect();
        return Err(ProvisionError::Invalid(format!("invalid audience '{}'", shown.escape_default())));
    }
    check_ttl("access_ttl", profile.access_ttl)?;
    check_ttl("refresh_ttl", profile.refresh_ttl)?;
    for uri in profile.redirect_uris.iter().chain(&profile.post_logout_redirect_uris) {
        crate::redirect_uri::check(uri).map_err(ProvisionError::Invalid)?;
    }
    if profile.grant_types.contains(&GrantType::AuthorizationCode) && profile.redirect_uris.is_empty() {
        return Err(ProvisionError::Invalid("the authorization_code grant needs at least one redirect URI".into()));
    }
    if profile.public
        && let Some(g) = profile.grant_types.iter().find(|g| !crate::PUBLIC_CLIENT_GRANTS.contains(g))
    {
        return Err(ProvisionError::Invalid(format!(
            "a public client has no secret, so it may use only the authorization_code and refresh_token grants, \
             not {g}"
        )));
    }
    profile.audiences = dedup(profile.audiences);
    profile.redirect_uris = dedup(profile.redirect_uris);
    profile.post_logout_redirect_uris = dedup(profile.post_logout_redirect_uris);
    profile.grant_types = dedup(profile.grant_types);
    Ok(profile)
}

/// Creates a client with a server-generated id and secret (see `checked_profile` for the rules).
pub async fn create_client<S: ClientStore + AuditStore>(
    store: &S,
    scope: &BrandScope,
    profile: ClientProfile,
    actor: &Actor,
    now: i64,
) -> ProvisionResult<CreatedClient> {
    let profile = checked_profile(profile)?;
    let client_id = ClientId::parse(random_id()?).map_err(|e| ProvisionError::Invalid(e.to_string()))?;
    // A public client gets a secret too, so that every row has one, but it is never revealed:
    // nobody can authenticate with it.
    let (secret, hash) = generate_secret(CLIENT_SECRET_PREFIX)?;
    let secret = (!profile.public).then_some(secret);
    let client =
        store.create_client(scope, NewClient { client_id, profile, secret_hash: hash.as_str().to_owned() }).await?;
    audit(store, scope, actor, "client.created", Some(client.client_id.to_string()), now).await;
    Ok(CreatedClient { client, secret })
}

/// Replaces a client's profile (name, grants, scopes, audiences, lifetimes) under the same
/// rules as creation. Tokens already issued keep what they were granted.
pub async fn update_client<S: ClientStore + AuditStore>(
    store: &S,
    scope: &BrandScope,
    client_id: &ClientId,
    profile: ClientProfile,
    actor: &Actor,
    now: i64,
) -> ProvisionResult<Client> {
    let profile = checked_profile(profile)?;
    if !store.update_client(scope, client_id, profile, now).await? {
        return Err(ProvisionError::NotFound(format!("no client '{client_id}' in this brand")));
    }
    audit(store, scope, actor, "client.updated", Some(client_id.to_string()), now).await;
    store
        .find_client(scope, client_id)
        .await?
        .ok_or_else(|| ProvisionError::NotFound(format!("no client '{client_id}' in this brand")))
}

/// Replaces a brand's name and settings. A new signing algorithm applies from the next key
/// rotation (rotate now to switch at once).
pub async fn update_brand<S: BrandStore + AuditStore>(
    store: &S,
    scope: &BrandScope,
    name: String,
    settings: BrandSettings,
    actor: &Actor,
    now: i64,
) -> ProvisionResult<Brand> {
    check_name(&name)?;
    check_ttl("access_ttl", settings.access_ttl)?;
    check_ttl("refresh_ttl", settings.refresh_ttl)?;
    check_branding(&settings.branding)?;
    let brand = store.update_brand(scope, name, settings, now).await?;
    audit(store, scope, actor, "brand.updated", Some(brand.key.to_string()), now).await;
    Ok(brand)
}

/// A principal's email address and name, when given: see [`check_email`] and `check_name`.
fn check_contact(email: Option<&str>, name: Option<&str>) -> ProvisionResult<()> {
    email.map(check_email).transpose()?;
    name.map(check_name).transpose()?;
    Ok(())
}

/// Email addresses: one `@` with something on each side, at most 254 characters, no spaces or
/// control characters. (Deliverability is the administrator's business.)
fn check_email(email: &str) -> ProvisionResult<()> {
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !domain.starts_with('.')
        });
    if !valid {
        return Err(ProvisionError::Invalid("email must be an address like name@example.com".into()));
    }
    Ok(())
}

/// Branding goes into the login page: the logo must be an `https` URL (no `javascript:`, no
/// mixed content) and the colour a `#rrggbb` value, so neither can inject anything.
fn check_branding(branding: &Branding) -> ProvisionResult<()> {
    if let Some(name) = &branding.display_name {
        check_name(name)?;
    }
    if let Some(logo) = &branding.logo_url {
        let parsed = url::Url::parse(logo).ok().filter(|u| u.scheme() == "https" && u.host().is_some());
        if parsed.is_none() || logo.len() > 2048 {
            return Err(ProvisionError::Invalid("logo_url must be an https:// URL of at most 2048 characters".into()));
        }
    }
    if let Some(colour) = &branding.primary_color {
        let hex = colour.strip_prefix('#').unwrap_or_default();
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ProvisionError::Invalid("primary_color must be a hex colour like #1a73e8".into()));
        }
    }
    Ok(())
}

/// The longest username, in characters (after NFC normalisation).
pub const MAX_USERNAME: usize = username::MAX_CHARS;

/// A presented or new username in the form it is stored and looked up in: Unicode
/// Normalization Form C (borrowed when it already is). Sign-in normalises the presented name
/// with it before the lookup and the lock-out counters; two spellings that differ in case or
/// width are told apart only by [`username_key`].
pub fn normalise_username(username: &str) -> Cow<'_, str> {
    username::normalise(username)
}

/// The form under which usernames clash: equal for `Alice`, `alice`, fullwidth `ａｌｉｃｅ`,
/// and `José` in either normalisation form. The store keeps one principal per brand, kind and
/// key, and finds a principal by any spelling with its key; sign-in counts failed attempts per
/// key, so that spellings of one name share one lock-out.
pub fn username_key(username: &str) -> String {
    username::key(username)
}

/// Usernames: normalised to NFC, then 1–[`MAX_USERNAME`] characters, no surrounding spaces,
/// no control, format (zero-width, bidirectional), separator, private-use or unassigned
/// characters, one script. Returns the form to store.
fn check_username(presented: String) -> ProvisionResult<String> {
    let normalised = normalise_username(&presented).into_owned();
    username::check(&normalised).map_err(|e| ProvisionError::Invalid(e.to_string()))?;
    Ok(normalised)
}

/// The shortest password accepted (NIST SP 800-63B's minimum for user-chosen secrets).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted; bounds the hashing work one request can cause.
pub const MAX_PASSWORD_BYTES: usize = 1024;

fn check_password(password: &str) -> ProvisionResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(ProvisionError::Invalid(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters and at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Hashes a password with Argon2id on a password thread, off the async runtime's workers,
/// counted in `brand`'s share of the password threads (the brand of the principal whose
/// password it is).
pub async fn hash_password_off_runtime(brand: BrandId, password: String) -> ProvisionResult<String> {
    crate::password_work::run(brand, move || portcullis_credentials::password::hash_password(&password))
        .await
        .map_err(|e| ProvisionError::Invalid(format!("cannot hash the password now: {}", e.description())))?
        .map_err(ProvisionError::Credential)
}

/// What an administrator specifies for a new user or operator. `Debug` hides the password.
pub struct PrincipalSpec {
    /// User or operator.
    pub kind: PrincipalKind,
    /// Login name (1–128 characters).
    pub username: String,
    /// The initial password, in clear (at least [`MIN_PASSWORD_CHARS`] characters).
    pub password: String,
    /// The scopes this principal may be granted.
    pub permissions: ScopeSet,
    /// Email address (the `email` claim).
    pub email: Option<String>,
    /// Full name (the `name` claim).
    pub name: Option<String>,
}

impl std::fmt::Debug for PrincipalSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrincipalSpec")
            .field("kind", &self.kind)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("permissions", &self.permissions)
            .field("email", &self.email)
            .field("name", &self.name)
            .finish()
    }
}

/// Creates a user or operator with a server-generated id and an Argon2id password hash.
pub async fn create_principal<S: PrincipalStore + AuditStore>(
    store: &S,
    scope: &BrandScope,
    spec: PrincipalSpec,
    actor: &Actor,
    now: i64,
) -> ProvisionResult<Principal> {
    let PrincipalSpec { kind, username, password, permissions, email, name } = spec;
    let username = check_username(username)?;
    check_password(&password)?;
    check_contact(email.as_deref(), name.as_deref())?;
    let password_hash = hash_password_off_runtime(scope.brand_id(), password).await?;
    let new = NewPrincipal { id: random_id()?, kind, username, password_hash, permissions, email, name };
    let principal = store.create_principal(scope, new).await?;
    let action = format!("{}.created", kind.as_str());
    audit(store, scope, actor, &action, Some(principal.id.clone()), now).await;
    Ok(principal)
}

/// The `system` brand, created when missing.
pub async fn ensure_system_brand<S: BrandStore + KeyStore + AuditStore>(
    store: &S,
    keys: &KeyRing,
    actor: &Actor,
    now: i64,
) -> ProvisionResult<BrandScope> {
    let key = system_brand_key();
    if let Some(scope) = resolve_brand(store, &key).await? {
        return Ok(scope);
    }
    match create_brand(store, keys, key.clone(), "Platform".into(), BrandSettings::default(), actor, now).await {
        Ok(brand) => Ok(BrandScope::new(brand)),
        // Another process created it between our read and write.
        Err(ProvisionError::Conflict(_)) => {
            resolve_brand(store, &key).await?.ok_or_else(|| ProvisionError::UnknownBrand(SYSTEM_BRAND.into()))
        }
        Err(e) => Err(e),
    }
}

/// The reserved `system` brand key.
pub fn system_brand_key() -> BrandKey {
    // The constant is a valid brand key; a failure here is a programming error caught by tests.
    BrandKey::parse(SYSTEM_BRAND).unwrap_or_else(|_| unreachable!("SYSTEM_BRAND is a valid brand key"))
}

/// Whether the `system` brand has a client with `platform:admin`.
pub async fn platform_admin_exists<S: BrandStore + ClientStore>(store: &S) -> ProvisionResult<bool> {
    let Some(scope) = resolve_brand(store, &system_brand_key()).await? else {
        return Ok(false);
    };
    let admin = admin_scope();
    Ok(store.list_clients(&scope).await?.iter().any(|c| c.enabled && c.profile.scopes.contains(&admin)))
}

fn admin_scope() -> Scope {
    Scope::parse(PLATFORM_ADMIN_SCOPE).unwrap_or_else(|_| unreachable!("PLATFORM_ADMIN_SCOPE is a valid scope"))
}

/// Creates the `system` brand if needed and a platform-admin client. Refuses when an admin
/// exists, unless `force_new_admin`.
pub async fn bootstrap<S: BrandStore + KeyStore + ClientStore + AuditStore>(
    store: &S,
    keys: &KeyRing,
    force_new_admin: bool,
    actor: &Actor,
    now: i64,
) -> ProvisionResult<CreatedClient> {
    if !force_new_admin && platform_admin_exists(store).await? {
        return Err(ProvisionError::AdminExists);
    }
    let scope = ensure_system_brand(store, keys, actor, now).await?;
    let admin: ScopeSet = [admin_scope()].into_iter().collect();
    let profile = ClientProfile {
        name: "platform-admin".into(),
        grant_types: vec![GrantType::ClientCredentials],
        scopes: admin.clone(),
        default_scopes: admin,
        ..ClientProfile::default()
    };
    create_client(store, &scope, profile, actor, now).await
}

pub(crate) async fn audit<S: AuditStore>(
    store: &S,
    scope: &BrandScope,
    actor: &Actor,
    action: &str,
    target: Option<String>,
    now: i64,
) {
    let event = AuditEvent {
        at: now,
        actor: actor.name.clone(),
        action: action.into(),
        target,
        source: actor.source.clone(),
        detail: None,
    };
    if let Err(e) = store.record_event(scope, event).await {
        tracing::warn!(error = %e, action, "could not write an audit event");
    }
}

/// The longest grace period during which a rotated-out client secret still works (30 days).
pub const MAX_SECRET_GRACE: u32 = 30 * 24 * 3600;

/// Gives a client a new secret, returned once. With `grace` seconds, the previous secret keeps
/// working that long (so deployments can switch over); with none, it stops at once.
pub async fn rotate_client_secret<S: ClientStore + AuditStore>(
    store: &S,
    scope: &BrandScope,
    client_id: &ClientId,
    grace: Option<u32>,
    actor: &Actor,
    now: i64,
) -> ProvisionResult<RevealedSecret> {
    if grace.is_some_and(|g| g > MAX_SECRET_GRACE) {
        return Err(ProvisionError::Invalid(format!("graceSeconds must be at most {MAX_SECRET_GRACE}")));
    }
    let client = store
        .find_client(scope, client_id)
        .await?
        .ok_or_else(|| ProvisionError::NotFound(format!("no client '{client_id}' in this brand")))?;
    if client.profile.public {
        return Err(ProvisionError::Invalid("a public client has no secret to rotate".into()));
    }
    let (secret, hash) = generate_secret(CLIENT_SECRET_PREFIX)?;
    let previous_until = grace.filter(|g| *g > 0).map(|g| now + i64::from(g));
    if !store.replace_client_secret(scope, client_id, hash.as_str().to_owned(), previous_until, now).await? {
        return Err(ProvisionError::NotFound(format!("no client '{client_id}' in this brand")));
    }
    audit(store, scope, actor, "client.secret_rotated", Some(client_id.to_string()), now).await;
    Ok(secret)
}

/// What an administrator changes about a user or operator: each field that is `Some`. `Debug`
/// hides the password.
#[derive(Default)]
pub struct PrincipalChange {
    /// A new password, in clear (checked and hashed like at creation).
    pub password: Option<String>,
    /// New permissions (replacing the old ones).
    pub permissions: Option<ScopeSet>,
    /// A new email address; `Some(None)` removes it.
    pub email: Option<Option<String>>,
    /// A new full name; `Some(None)` removes it.
    pub name: Option<Option<String>>,
}

impl std::fmt::Debug for PrincipalChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrincipalChange")
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("permissions", &self.permissions)
            .field("email", &self.email)
            .field("name", &self.name)
            .finish()
    }
}

/// Changes a principal's password, permissions, email or name. Narrower permissions apply to
/// tokens issued from now on, refreshes included (revoke the existing ones with
/// [`crate::lifecycle::revoke_all`] if they must end now). A new password ends every login made
/// with the old one: the principal's tokens and refresh tokens are revoked (a blanket feed entry
/// tells verifiers) and its browser sessions end, since a password is usually reset because it
/// leaked.
pub async fn update_principal<S: ClientStore + PrincipalStore + AuditStore + RevocationStore + LoginStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    id: &str,
    change: PrincipalChange,
    actor: &Actor,
) -> ProvisionResult<()> {
    let (store, now) = (&ctx.store, ctx.clock.now());
    let PrincipalChange { password, permissions, email, name } = change;
    check_contact(email.as_ref().and_then(Option::as_deref), name.as_ref().and_then(Option::as_deref))?;
    let principal = store
        .find_principal_by_id(scope, id)
        .await?
        .ok_or_else(|| ProvisionError::NotFound(format!("no user or operator '{id}' in this brand")))?;
    let password_hash = match password {
        Some(password) => {
            check_password(&password)?;
            Some(hash_password_off_runtime(scope.brand_id(), password).await?)
        }
        None => None,
    };
    let changed = (password_hash.is_some(), permissions.is_some(), email.is_some() || name.is_some());
    let update = PrincipalUpdate { password_hash, permissions, email, name };
    if !store.update_principal(scope, id, update, now).await? {
        return Err(ProvisionError::NotFound(format!("no user or operator '{id}' in this brand")));
    }
    let kind = principal.kind.as_str();
    if changed.0 {
        audit(store, scope, actor, &format!("{kind}.password_set"), Some(id.to_owned()), now).await;
        crate::lifecycle::end_logins(ctx, scope, id, actor).await?;
    }
    if changed.1 {
        audit(store, scope, actor, &format!("{kind}.permissions_set"), Some(id.to_owned()), now).await;
    }
    if changed.2 {
        audit(store, scope, actor, &format!("{kind}.profile_set"), Some(id.to_owned()), now).await;
    }
    Ok(())
}
