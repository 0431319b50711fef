//! Users and operators: create, list, update (password, permissions), enable, disable, delete;
//! users' API access (`enableApiAccess` returns the token once, `disableApiAccess`).

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};
use portcullis_core::ScopeSet;
use portcullis_grants::provision::{self, PrincipalChange, PrincipalSpec};
use portcullis_grants::{GrantContext, api_access, lifecycle};
use portcullis_store::SeaStore;
use portcullis_tenancy::{Principal, PrincipalKind, PrincipalStore};

use crate::auth::BrandAccess;
use crate::context;
use crate::error::{AdminError, AdminResult};
use crate::paging::{TotalCount, decode_cursor, encode_cursor, page_size};

/// A user or operator of a brand. Its password is never shown.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Principal")]
pub struct PrincipalNode {
    /// The id (the `sub` of its tokens).
    pub id: String,
    /// `user` or `operator`.
    pub kind: String,
    /// Login name.
    pub username: String,
    /// Scopes it may be granted.
    pub permissions: Vec<String>,
    /// Email address (the `email` claim of its ID tokens), if known.
    pub email: Option<String>,
    /// Full name (the `name` claim of its ID tokens), if known.
    pub name: Option<String>,
    /// Disabled principals cannot sign in.
    pub enabled: bool,
    /// Whether a personal API token is enabled (users).
    pub api_access: bool,
    /// When the current API token was issued.
    pub api_token_issued_at: Option<i64>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

impl From<&Principal> for PrincipalNode {
    fn from(p: &Principal) -> Self {
        Self {
            id: p.id.clone(),
            kind: p.kind.as_str().to_owned(),
            username: p.username.clone(),
            permissions: p.permissions.to_strings(),
            email: p.email.clone(),
            name: p.name.clone(),
            enabled: p.enabled,
            api_access: p.api_token_issued_at.is_some(),
            api_token_issued_at: p.api_token_issued_at,
            created_at: p.created_at,
        }
    }
}

/// What `createUser` and `createOperator` take.
#[derive(InputObject)]
pub struct CreatePrincipalInput {
    /// The brand.
    pub brand_key: String,
    /// Login name, unique per brand and kind.
    pub username: String,
    /// Initial password (at least 8 characters); stored as an Argon2id hash.
    pub password: String,
    /// Scopes it may be granted.
    #[graphql(default)]
    pub permissions: Vec<String>,
    /// Email address (the `email` claim), like `name@example.com`.
    pub email: Option<String>,
    /// Full name (the `name` claim), 1 to 200 printable characters.
    pub name: Option<String>,
}

impl std::fmt::Debug for CreatePrincipalInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatePrincipalInput")
            .field("brand_key", &self.brand_key)
            .field("username", &self.username)
            .field("permissions", &self.permissions)
            .finish_non_exhaustive()
    }
}

/// What `updateUser` and `updateOperator` take: what to change.
#[derive(InputObject)]
pub struct UpdatePrincipalInput {
    /// The brand.
    pub brand_key: String,
    /// The user's or operator's id.
    pub id: String,
    /// A new password.
    pub password: Option<String>,
    /// New permissions (replacing the old ones).
    pub permissions: Option<Vec<String>>,
    /// A new email address; `null` removes it, absent keeps it.
    pub email: MaybeUndefined<String>,
    /// A new full name; `null` removes it, absent keeps it.
    pub name: MaybeUndefined<String>,
}

impl std::fmt::Debug for UpdatePrincipalInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdatePrincipalInput")
            .field("brand_key", &self.brand_key)
            .field("id", &self.id)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("permissions", &self.permissions)
            .finish_non_exhaustive()
    }
}

/// `MaybeUndefined` as a change: absent → `None` (keep), `null` → `Some(None)` (clear).
fn patch<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// What `createUser` returns.
#[derive(Debug, SimpleObject)]
pub struct CreateUserPayload {
    /// The new user.
    pub user: PrincipalNode,
}

/// What `createOperator` returns.
#[derive(Debug, SimpleObject)]
pub struct CreateOperatorPayload {
    /// The new operator.
    pub operator: PrincipalNode,
}

/// What `enableApiAccess` returns: the token, this once.
#[derive(SimpleObject)]
pub struct EnableApiAccessPayload {
    /// The user.
    pub user: PrincipalNode,
    /// The API token for HTTP Basic `username:apiToken`. Store it now: it is never shown again.
    pub api_token: String,
}

impl std::fmt::Debug for EnableApiAccessPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnableApiAccessPayload").field("user", &self.user).finish_non_exhaustive()
    }
}

/// What changes to a principal return.
#[derive(Debug, SimpleObject)]
pub struct PrincipalPayload {
    /// The principal after the change.
    pub principal: PrincipalNode,
}

/// What deletions return.
#[derive(Debug, SimpleObject)]
pub struct DeletePrincipalPayload {
    /// The deleted id.
    pub id: String,
    /// Always true: a missing one is a `NOT_FOUND` error.
    pub deleted: bool,
}

fn permissions(values: &[String]) -> AdminResult<ScopeSet> {
    ScopeSet::parse_delimited(&values.join(" ")).map_err(|e| AdminError::BadUserInput(format!("permissions: {e}")))
}

/// The principal `id` of `kind` in the brand.
async fn load(
    grants: &GrantContext<SeaStore>,
    access: &BrandAccess,
    kind: PrincipalKind,
    id: &str,
) -> AdminResult<Principal> {
    match grants.store.find_principal_by_id(access.scope(), id).await? {
        Some(p) if p.kind == kind => Ok(p),
        _ => Err(AdminError::NotFound(format!("no {} '{id}' in this brand", kind.as_str()))),
    }
}

async fn list(
    ctx: &Context<'_>,
    kind: PrincipalKind,
    brand_key: &str,
    search: Option<&str>,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Connection<String, PrincipalNode, TotalCount, EmptyFields>> {
    let (caller, grants) = context(ctx)?;
    let access = caller.brand(grants, brand_key).await?;
    let limit = page_size(first)?;
    let cursor_kind = kind.as_str();
    let after = after.map(|c| decode_cursor(cursor_kind, &c)).transpose()?;
    let store = &grants.store;
    let mut page = store
        .list_principals(access.scope(), kind, search, after.as_deref(), limit + 1)
        .await
        .map_err(AdminError::from)?;
    let has_next = u64::try_from(page.len()).unwrap_or(u64::MAX) > limit;
    page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let total_count = store.count_principals(access.scope(), kind, search).await.map_err(AdminError::from)?;
    let mut connection = Connection::with_additional_fields(after.is_some(), has_next, TotalCount { total_count });
    connection
        .edges
        .extend(page.iter().map(|p| Edge::new(encode_cursor(cursor_kind, &p.username), PrincipalNode::from(p))));
    Ok(connection)
}

async fn create(ctx: &Context<'_>, kind: PrincipalKind, input: CreatePrincipalInput) -> AdminResult<PrincipalNode> {
    let (caller, grants) = context(ctx)?;
    let access = caller.brand(grants, &input.brand_key).await?;
    let spec = PrincipalSpec {
        kind,
        username: input.username,
        password: input.password,
        permissions: permissions(&input.permissions)?,
        email: input.email,
        name: input.name,
    };
    let now = grants.clock.now();
    let created = provision::create_principal(&grants.store, access.scope(), spec, &caller.actor(), now).await?;
    Ok(PrincipalNode::from(&created))
}

async fn update(ctx: &Context<'_>, kind: PrincipalKind, input: UpdatePrincipalInput) -> AdminResult<PrincipalNode> {
    let (caller, grants) = context(ctx)?;
    let access = caller.brand(grants, &input.brand_key).await?;
    load(grants, &access, kind, &input.id).await?;
    let permissions = input.permissions.as_deref().map(permissions).transpose()?;
    let change =
        PrincipalChange { password: input.password, permissions, email: patch(input.email), name: patch(input.name) };
    provision::update_principal(grants, access.scope(), &input.id, change, &caller.actor()).await?;
    Ok(PrincipalNode::from(&load(grants, &access, kind, &input.id).await?))
}

/// What to do to a principal.
#[derive(Debug, Clone, Copy)]
enum Change {
    Enable,
    Disable,
    Delete,
}

async fn change(
    ctx: &Context<'_>,
    kind: PrincipalKind,
    brand_key: &str,
    id: &str,
    change: Change,
) -> AdminResult<Option<PrincipalNode>> {
    let (caller, grants) = context(ctx)?;
    let access = caller.brand(grants, brand_key).await?;
    load(grants, &access, kind, id).await?;
    let actor = caller.actor();
    match change {
        Change::Enable => lifecycle::set_principal_enabled(grants, access.scope(), id, true, &actor).await?,
        Change::Disable => lifecycle::set_principal_enabled(grants, access.scope(), id, false, &actor).await?,
        Change::Delete => {
            lifecycle::delete_principal(grants, access.scope(), id, &actor).await?;
            return Ok(None);
        }
    }
    Ok(Some(PrincipalNode::from(&load(grants, &access, kind, id).await?)))
}

fn changed(node: Option<PrincipalNode>) -> AdminResult<PrincipalPayload> {
    node.map(|principal| PrincipalPayload { principal }).ok_or(AdminError::Internal)
}

/// User and operator queries.
#[derive(Debug, Default)]
pub struct PrincipalQuery;

#[Object]
impl PrincipalQuery {
    /// One user of a brand.
    async fn user(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        user_id: String,
    ) -> async_graphql::Result<PrincipalNode> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        Ok(PrincipalNode::from(&load(grants, &access, PrincipalKind::User, &user_id).await?))
    }

    /// A brand's users, by username.
    #[graphql(complexity = "crate::paging::page_complexity(child_complexity, first)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        #[graphql(desc = "Only those whose username starts with this (ASCII case ignored).")] search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, PrincipalNode, TotalCount, EmptyFields>> {
        list(ctx, PrincipalKind::User, &brand_key, search.as_deref(), first, after).await
    }

    /// One operator of a brand.
    async fn operator(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        operator_id: String,
    ) -> async_graphql::Result<PrincipalNode> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        Ok(PrincipalNode::from(&load(grants, &access, PrincipalKind::Operator, &operator_id).await?))
    }

    /// A brand's operators, by username.
    #[graphql(complexity = "crate::paging::page_complexity(child_complexity, first)")]
    async fn operators(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        #[graphql(desc = "Only those whose username starts with this (ASCII case ignored).")] search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, PrincipalNode, TotalCount, EmptyFields>> {
        list(ctx, PrincipalKind::Operator, &brand_key, search.as_deref(), first, after).await
    }
}

/// User and operator mutations.
#[derive(Debug, Default)]
pub struct PrincipalMutation;

#[Object]
impl PrincipalMutation {
    /// Creates a user.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreatePrincipalInput,
    ) -> async_graphql::Result<CreateUserPayload> {
        Ok(CreateUserPayload { user: create(ctx, PrincipalKind::User, input).await? })
    }

    /// Creates an operator.
    async fn create_operator(
        &self,
        ctx: &Context<'_>,
        input: CreatePrincipalInput,
    ) -> async_graphql::Result<CreateOperatorPayload> {
        Ok(CreateOperatorPayload { operator: create(ctx, PrincipalKind::Operator, input).await? })
    }

    /// Changes a user's password, permissions, email or name.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        input: UpdatePrincipalInput,
    ) -> async_graphql::Result<PrincipalPayload> {
        Ok(PrincipalPayload { principal: update(ctx, PrincipalKind::User, input).await? })
    }

    /// Changes an operator's password, permissions, email or name.
    async fn update_operator(
        &self,
        ctx: &Context<'_>,
        input: UpdatePrincipalInput,
    ) -> async_graphql::Result<PrincipalPayload> {
        Ok(PrincipalPayload { principal: update(ctx, PrincipalKind::Operator, input).await? })
    }

    /// Lets a user sign in again.
    async fn enable_user(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        user_id: String,
    ) -> async_graphql::Result<PrincipalPayload> {
        Ok(changed(change(ctx, PrincipalKind::User, &brand_key, &user_id, Change::Enable).await?)?)
    }

    /// Stops a user signing in and revokes the tokens issued to them.
    async fn disable_user(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        user_id: String,
    ) -> async_graphql::Result<PrincipalPayload> {
        Ok(changed(change(ctx, PrincipalKind::User, &brand_key, &user_id, Change::Disable).await?)?)
    }

    /// Deletes a user and revokes the tokens issued to them.
    async fn delete_user(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        user_id: String,
    ) -> async_graphql::Result<DeletePrincipalPayload> {
        change(ctx, PrincipalKind::User, &brand_key, &user_id, Change::Delete).await?;
        Ok(DeletePrincipalPayload { id: user_id, deleted: true })
    }

    /// Lets an operator sign in again.
    async fn enable_operator(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        operator_id: String,
    ) -> async_graphql::Result<PrincipalPayload> {
        Ok(changed(change(ctx, PrincipalKind::Operator, &brand_key, &operator_id, Change::Enable).await?)?)
    }

    /// Stops an operator signing in and revokes the tokens issued to them.
    async fn disable_operator(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        operator_id: String,
    ) -> async_graphql::Result<PrincipalPayload> {
        Ok(changed(change(ctx, PrincipalKind::Operator, &brand_key, &operator_id, Change::Disable).await?)?)
    }

    /// Deletes an operator and revokes the tokens issued to them.
    async fn delete_operator(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        operator_id: String,
    ) -> async_graphql::Result<DeletePrincipalPayload> {
        change(ctx, PrincipalKind::Operator, &brand_key, &operator_id, Change::Delete).await?;
        Ok(DeletePrincipalPayload { id: operator_id, deleted: true })
    }

    /// Enables a user's API access, or regenerates the token: returned this once; the previous
    /// token stops working.
    async fn enable_api_access(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        user_id: String,
    ) -> async_graphql::Result<EnableApiAccessPayload> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        let token = api_access::enable_api_access(grants, access.scope(), &user_id, &caller.actor())
            .await
            .map_err(AdminError::from)?;
        let user = load(grants, &access, PrincipalKind::User, &user_id).await?;
        Ok(EnableApiAccessPayload { user: PrincipalNode::from(&user), api_token: token.expose().to_owned() })
    }

    /// Disables a user's API access; the token stops working at once.
    async fn disable_api_access(
        &self,
        ctx: &Context<'_>,
        brand_key: String,
        user_id: String,
    ) -> async_graphql::Result<PrincipalPayload> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &brand_key).await?;
        api_access::disable_api_access(grants, access.scope(), &user_id, &caller.actor())
            .await
            .map_err(AdminError::from)?;
        Ok(PrincipalPayload {
            principal: PrincipalNode::from(&load(grants, &access, PrincipalKind::User, &user_id).await?),
        })
    }
}
