//! Clients: `createClient`, `rotateClientSecret`, `deleteClient`, `client`, `clients`.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};
use portcullis_core::{ClientId, GrantType, PLATFORM_ADMIN_SCOPE, ScopeSet};
use portcullis_grants::{lifecycle, provision};
use portcullis_tenancy::{Client, ClientProfile, ClientStore};

use crate::error::AdminError;
use crate::{Caller, context, patched};

/// A client (API credential) of a brand. Its secret is never shown again after creation or
/// rotation.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Client")]
pub struct ClientNode {
    /// The public id.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Enabled grant types.
    pub grant_types: Vec<String>,
    /// Scopes it may receive.
    pub scopes: Vec<String>,
    /// Scopes it receives when it asks for none.
    pub default_scopes: Vec<String>,
    /// Audiences it may address.
    pub audiences: Vec<String>,
    /// Access-token lifetime override, seconds.
    pub access_ttl: Option<u32>,
    /// Refresh-token lifetime override, seconds.
    pub refresh_ttl: Option<u32>,
    /// Where the authorization endpoint may send the browser back to (exact match).
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back to (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (a browser or native app) has no secret and may use only the
    /// `authorization_code` (with PKCE) and `refresh_token` grants. Fixed at creation.
    pub public: bool,
    /// Disabled clients cannot authenticate.
    pub enabled: bool,
    /// Until when the previous secret still works after a rotation with a grace period.
    pub previous_secret_expires_at: Option<i64>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

impl From<&Client> for ClientNode {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.client_id.to_string(),
            name: c.profile.name.clone(),
            grant_types: c.profile.grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
            scopes: c.profile.scopes.to_strings(),
            default_scopes: c.profile.default_scopes.to_strings(),
            audiences: c.profile.audiences.clone(),
            access_ttl: c.profile.access_ttl,
            refresh_ttl: c.profile.refresh_ttl,
            redirect_uris: c.profile.redirect_uris.clone(),
            post_logout_redirect_uris: c.profile.post_logout_redirect_uris.clone(),
            public: c.profile.public,
            enabled: c.enabled,
            previous_secret_expires_at: c.previous_secret_expires_at,
            created_at: c.created_at,
        }
    }
}

/// What `createClient` takes.
#[derive(Debug, InputObject)]
pub struct CreateClientInput {
    /// The brand.
    pub brand_key: String,
    /// Display name.
    pub name: String,
    /// Grant types to enable.
    pub grant_types: Vec<String>,
    /// Scopes it may receive.
    #[graphql(default)]
    pub scopes: Vec<String>,
    /// Scopes it receives when it asks for none (among `scopes`).
    #[graphql(default)]
    pub default_scopes: Vec<String>,
    /// Audiences it may address.
    #[graphql(default)]
    pub audiences: Vec<String>,
    /// Access-token lifetime override, seconds.
    pub access_ttl: Option<u32>,
    /// Refresh-token lifetime override, seconds.
    pub refresh_ttl: Option<u32>,
    /// Where the authorization endpoint may send the browser back to (exact match); the
    /// `authorization_code` grant needs at least one.
    #[graphql(default)]
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back to (exact match).
    #[graphql(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Whether this is a public client (a browser or native app): it gets no secret and may use
    /// only the `authorization_code` (with PKCE) and `refresh_token` grants. It cannot be changed
    /// after creation.
    #[graphql(default)]
    pub public: bool,
}

/// What `updateClient` takes: the client and what to change (absent fields stay; `null` clears a
/// lifetime back to the brand's default). Whether a client is public is fixed at creation.
#[derive(Debug, InputObject)]
pub struct UpdateClientInput {
    /// The brand.
    pub brand_key: String,
    /// The client.
    pub client_id: String,
    /// Display name.
    pub name: Option<String>,
    /// Grant types to enable.
    pub grant_types: Option<Vec<String>>,
    /// Scopes it may receive.
    pub scopes: Option<Vec<String>>,
    /// Scopes it receives when it asks for none.
    pub default_scopes: Option<Vec<String>>,
    /// Audiences it may address.
    pub audiences: Option<Vec<String>>,
    /// Access-token lifetime override, seconds.
    pub access_ttl: MaybeUndefined<u32>,
    /// Refresh-token lifetime override, seconds.
    pub refresh_ttl: MaybeUndefined<u32>,
    /// Where the authorization endpoint may send the browser back to (replacing the old list).
    pub redirect_uris: Option<Vec<String>>,
    /// Where RP-initiated logout may send the browser back to (replacing the old list).
    pub post_logout_redirect_uris: Option<Vec<String>>,
}

/// What `updateClient` returns.
#[derive(Debug, SimpleObject)]
pub struct UpdateClientPayload {
    /// The client after the change.
    pub client: ClientNode,
}

/// What `createClient` returns: the secret, this once.
#[derive(SimpleObject)]
pub struct CreateClientPayload {
    /// The new client.
    pub client: ClientNode,
    /// Its secret. Store it now: it is never shown again. Null for a public client, which has
    /// no secret.
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for CreateClientPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateClientPayload").field("client", &self.client).finish_non_exhaustive()
    }
}

/// What `rotateClientSecret` returns: the new secret, this once.
#[derive(SimpleObject)]
pub struct RotateClientSecretPayload {
    /// The client after rotation.
    pub client: ClientNode,
    /// The new secret. Store it now: it is never shown again.
    pub client_secret: String,
}

impl std::fmt::Debug for RotateClientSecretPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotateClientSecretPayload").field("client", &self.client).finish_non_exhaustive()
    }
}

/// What `deleteClient` returns.
#[derive(Debug, SimpleObject)]
pub struct DeleteClientPayload {
    /// The deleted client's id.
    pub client_id: String,
    /// Always true: a missing client is a `NOT_FOUND` error.
    pub deleted: bool,
}

fn scope_set(field: &str, values: &[String]) -> Result<ScopeSet, AdminError> {
    ScopeSet::parse_delimited(&values.join(" ")).map_err(|e| AdminError::BadUserInput(format!("{field}: {e}")))
}

fn grant_types(values: &[String]) -> Result<Vec<GrantType>, AdminError> {
    values
        .iter()
        .map(|g| g.parse::<GrantType>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AdminError::BadUserInput(format!("grantTypes: {e}")))
}

/// Only a platform administrator may give a client `platform:admin`.
fn only_platform_mints_platform_admins(caller: &Caller, scopes: &ScopeSet) -> Result<(), AdminError> {
    if scopes.iter().any(|s| s.as_str() == PLATFORM_ADMIN_SCOPE) {
        caller.require_platform()?;
    }
    Ok(())
}

fn client_id(value: &str) -> Result<ClientId, AdminError> {
    ClientId::parse(value).map_err(|e| AdminError::BadUserInput(format!("clientId: {e}")))
}

async fn load(
    grants: &portcullis_grants::GrantContext<portcullis_store::SeaStore>,
    scope: &portcullis_tenancy::BrandScope,
    id: &ClientId,
) -> Result<Client, AdminError> {
    grants
        .store
        .find_client(scope, id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no client '{id}' in this brand")))
}

/// Client queries.
#[derive(Debug, Default)]
pub struct ClientQuery;

#[Object]
impl ClientQuery {
    /// One client of a brand.
    async fn client(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        client_id: String,
    ) -> async_graphql::Result<ClientNode> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        let id = self::client_id(&client_id)?;
        Ok(ClientNode::from(&load(grants, access.scope(), &id).await?))
    }

    /// The clients of a brand, oldest first.
    #[graphql(complexity = "crate::paging::list_complexity(child_complexity)")]
    async fn clients(&self, ctx: &Context<'_>, brand_key: String) -> async_graphql::Result<Vec<ClientNode>> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        let clients = grants.store.list_clients(access.scope()).await.map_err(AdminError::from)?;
        Ok(clients.iter().map(ClientNode::from).collect())
    }
}

/// Client mutations.
#[derive(Debug, Default)]
pub struct ClientMutation;

#[Object]
impl ClientMutation {
    /// Creates a client; its secret (if it is confidential) is returned this once.
    async fn create_client(
        &self,
        ctx: &Context<'_>,
        input: CreateClientInput,
    ) -> async_graphql::Result<CreateClientPayload> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &input.brand_key).await?;
        let grant_types = grant_types(&input.grant_types)?;
        let scopes = scope_set("scopes", &input.scopes)?;
        only_platform_mints_platform_admins(caller, &scopes)?;
        let profile = ClientProfile {
            name: input.name,
            grant_types,
            scopes,
            default_scopes: scope_set("defaultScopes", &input.default_scopes)?,
            audiences: input.audiences,
            access_ttl: input.access_ttl,
            refresh_ttl: input.refresh_ttl,
            redirect_uris: input.redirect_uris,
            post_logout_redirect_uris: input.post_logout_redirect_uris,
            public: input.public,
        };
        let created =
            provision::create_client(&grants.store, access.scope(), profile, &caller.actor(), grants.clock.now())
                .await
                .map_err(AdminError::from)?;
        Ok(CreateClientPayload {
            client: ClientNode::from(&created.client),
            client_secret: created.secret.as_ref().map(|s| s.expose().to_owned()),
        })
    }

    /// Changes a client's name, grants, scopes, audiences, lifetimes or redirect URIs (not
    /// whether it is public). Tokens already issued keep what they were granted.
    async fn update_client(
        &self,
        ctx: &Context<'_>,
        input: UpdateClientInput,
    ) -> async_graphql::Result<UpdateClientPayload> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &input.brand_key).await?;
        let id = self::client_id(&input.client_id)?;
        let old = load(grants, access.scope(), &id).await?.profile;
        let scopes = input.scopes.as_deref().map(|s| scope_set("scopes", s)).transpose()?.unwrap_or(old.scopes);
        only_platform_mints_platform_admins(caller, &scopes)?;
        let profile = ClientProfile {
            name: input.name.unwrap_or(old.name),
            grant_types: input.grant_types.as_deref().map(grant_types).transpose()?.unwrap_or(old.grant_types),
            scopes,
            default_scopes: input
                .default_scopes
                .as_deref()
                .map(|s| scope_set("defaultScopes", s))
                .transpose()?
                .unwrap_or(old.default_scopes),
            audiences: input.audiences.unwrap_or(old.audiences),
            access_ttl: patched(old.access_ttl, input.access_ttl),
            refresh_ttl: patched(old.refresh_ttl, input.refresh_ttl),
            redirect_uris: input.redirect_uris.unwrap_or(old.redirect_uris),
            post_logout_redirect_uris: input.post_logout_redirect_uris.unwrap_or(old.post_logout_redirect_uris),
            // Fixed at creation: a public client was never given a usable secret.
            public: old.public,
        };
        let now = grants.clock.now();
        let client = provision::update_client(&grants.store, access.scope(), &id, profile, &caller.actor(), now)
            .await
            .map_err(AdminError::from)?;
        Ok(UpdateClientPayload { client: ClientNode::from(&client) })
    }

    /// Gives a confidential client a new secret, returned this once. With `graceSeconds`, the
    /// previous secret keeps working that long. A public client has no secret to rotate.
    async fn rotate_client_secret(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        client_id: String,
        grace_seconds: Option<u32>,
    ) -> async_graphql::Result<RotateClientSecretPayload> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        let id = self::client_id(&client_id)?;
        let now = grants.clock.now();
        let secret =
            provision::rotate_client_secret(&grants.store, access.scope(), &id, grace_seconds, &caller.actor(), now)
                .await
                .map_err(AdminError::from)?;
        let client = load(grants, access.scope(), &id).await?;
        Ok(RotateClientSecretPayload { client: ClientNode::from(&client), client_secret: secret.expose().to_owned() })
    }

    /// Deletes a client and revokes its tokens.
    async fn delete_client(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        client_id: String,
    ) -> async_graphql::Result<DeleteClientPayload> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        let id = self::client_id(&client_id)?;
        lifecycle::delete_client(grants, access.scope(), &id, &caller.actor()).await.map_err(AdminError::from)?;
        Ok(DeleteClientPayload { client_id: id.to_string(), deleted: true })
    }
}
