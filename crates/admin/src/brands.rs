//! Brands: `createBrand`, `brand`, `brands`.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};
use portcullis_core::{BrandKey, GrantType, Scope, SigningAlgorithm};
use portcullis_grants::provision;
use portcullis_tenancy::{Brand, BrandId, BrandSettings, BrandStore, Branding};

use crate::error::{AdminError, AdminResult};
use crate::paging::{TotalCount, decode_cursor, encode_cursor, page_size};
use crate::{context, issuer_of, patched};

/// A brand (tenant).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Brand")]
pub struct BrandNode {
    /// The key in URLs and the `brand` claim.
    pub key: String,
    /// Display name.
    pub name: String,
    /// The issuer URL of its tokens.
    pub issuer: String,
    /// Its settings.
    pub settings: BrandSettingsNode,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

/// A brand's settings.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "BrandSettings")]
pub struct BrandSettingsNode {
    /// `EdDSA`, `ES256` or `RS256`.
    pub signing_algorithm: String,
    /// Whether token requests must name an audience.
    pub require_audience: bool,
    /// Default access-token lifetime, seconds (else the server's).
    pub access_ttl: Option<u32>,
    /// Default refresh-token lifetime, seconds (else the server's).
    pub refresh_ttl: Option<u32>,
    /// Grant types its clients may use; null means all the server supports.
    pub allowed_grants: Option<Vec<String>>,
    /// The scope catalog, in display order.
    pub scope_catalog: Vec<String>,
    /// The name shown to people signing in; null means the brand's `name`.
    pub display_name: Option<String>,
    /// The `https` URL of the logo on the brand's login pages.
    pub logo_url: Option<String>,
    /// The primary colour of the brand's login pages, `#rrggbb`.
    pub primary_color: Option<String>,
}

impl BrandNode {
    pub(crate) fn new(brand: &Brand, issuer: String) -> Self {
        let s = &brand.settings;
        Self {
            key: brand.key.to_string(),
            name: brand.name.clone(),
            issuer,
            settings: BrandSettingsNode {
                signing_algorithm: s.signing_algorithm.to_string(),
                require_audience: s.require_audience,
                access_ttl: s.access_ttl,
                refresh_ttl: s.refresh_ttl,
                allowed_grants: s.allowed_grants.as_ref().map(|g| g.iter().map(|g| g.as_str().to_owned()).collect()),
                scope_catalog: s.scope_catalog.iter().map(|s| s.as_str().to_owned()).collect(),
                display_name: s.branding.display_name.clone(),
                logo_url: s.branding.logo_url.clone(),
                primary_color: s.branding.primary_color.clone(),
            },
            created_at: brand.created_at,
        }
    }
}

/// What `createBrand` takes.
#[derive(Debug, InputObject)]
pub struct CreateBrandInput {
    /// The key (letters, digits, `.`, `_`, `-`).
    pub key: String,
    /// Display name.
    pub name: String,
    /// `EdDSA` (default), `ES256` or `RS256`.
    pub signing_algorithm: Option<String>,
    /// Require an audience at the token endpoint.
    pub require_audience: Option<bool>,
    /// Default access-token lifetime, seconds.
    pub access_ttl: Option<u32>,
    /// Default refresh-token lifetime, seconds.
    pub refresh_ttl: Option<u32>,
    /// Grant types its clients may use (default: all).
    pub allowed_grants: Option<Vec<String>>,
    /// The scope catalog.
    pub scope_catalog: Option<Vec<String>>,
    /// The name shown to people signing in (1 to 200 printable characters; default: `name`).
    pub display_name: Option<String>,
    /// An `https://` URL of the logo for the login pages (at most 2048 characters).
    pub logo_url: Option<String>,
    /// The primary colour of the login pages, `#rrggbb` (for example `#1a73e8`).
    pub primary_color: Option<String>,
}

/// What `updateBrand` takes: the brand and what to change (absent fields stay; `null` clears a
/// lifetime or the grant list back to the server's default, or removes a branding field).
#[derive(Debug, InputObject)]
pub struct UpdateBrandInput {
    /// The brand.
    pub key: String,
    /// Display name.
    pub name: Option<String>,
    /// Algorithm of future keys (rotate to switch now).
    pub signing_algorithm: Option<String>,
    /// Require an audience at the token endpoint.
    pub require_audience: Option<bool>,
    /// Default access-token lifetime, seconds.
    pub access_ttl: MaybeUndefined<u32>,
    /// Default refresh-token lifetime, seconds.
    pub refresh_ttl: MaybeUndefined<u32>,
    /// Grant types its clients may use.
    pub allowed_grants: MaybeUndefined<Vec<String>>,
    /// The scope catalog.
    pub scope_catalog: Option<Vec<String>>,
    /// The name shown to people signing in (1 to 200 printable characters); `null` falls back to
    /// `name`.
    pub display_name: MaybeUndefined<String>,
    /// An `https://` URL of the logo for the login pages (at most 2048 characters); `null`
    /// removes the logo.
    pub logo_url: MaybeUndefined<String>,
    /// The primary colour of the login pages, `#rrggbb`; `null` removes it.
    pub primary_color: MaybeUndefined<String>,
}

/// What `updateBrand` returns.
#[derive(Debug, SimpleObject)]
pub struct UpdateBrandPayload {
    /// The brand after the change.
    pub brand: BrandNode,
}

/// What `createBrand` returns.
#[derive(Debug, SimpleObject)]
pub struct CreateBrandPayload {
    /// The new brand.
    pub brand: BrandNode,
}

fn bad(field: &str) -> impl Fn(portcullis_core::InvalidValue) -> AdminError + '_ {
    move |e| AdminError::BadUserInput(format!("{field}: {e}"))
}

fn algorithm(value: &str) -> AdminResult<SigningAlgorithm> {
    value.parse::<SigningAlgorithm>().map_err(bad("signingAlgorithm"))
}

fn grant_list(values: &[String]) -> AdminResult<Vec<GrantType>> {
    values.iter().map(|g| g.parse::<GrantType>()).collect::<Result<Vec<_>, _>>().map_err(bad("allowedGrants"))
}

fn catalog(values: &[String]) -> AdminResult<Vec<Scope>> {
    values.iter().map(|s| Scope::parse(s.as_str())).collect::<Result<Vec<_>, _>>().map_err(bad("scopeCatalog"))
}

fn settings(input: &CreateBrandInput) -> AdminResult<BrandSettings> {
    let signing_algorithm = input.signing_algorithm.as_deref().map(algorithm).transpose()?.unwrap_or_default();
    let allowed_grants = input.allowed_grants.as_deref().map(grant_list).transpose()?;
    let scope_catalog = input.scope_catalog.as_deref().map(catalog).transpose()?.unwrap_or_default();
    Ok(BrandSettings {
        signing_algorithm,
        require_audience: input.require_audience.unwrap_or(false),
        access_ttl: input.access_ttl,
        refresh_ttl: input.refresh_ttl,
        allowed_grants,
        scope_catalog,
        branding: Branding {
            display_name: input.display_name.clone(),
            logo_url: input.logo_url.clone(),
            primary_color: input.primary_color.clone(),
        },
    })
}

/// Brand queries.
#[derive(Debug, Default)]
pub struct BrandQuery;

#[Object]
impl BrandQuery {
    /// One brand. A brand administrator sees only its own.
    async fn brand(&self, ctx: &Context<'_>, key: String) -> async_graphql::Result<BrandNode> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &key).await?;
        Ok(BrandNode::new(access.scope().brand(), grants.issuer(access.scope())))
    }

    /// Every brand, oldest first (platform administrators only).
    #[graphql(complexity = "crate::paging::page_complexity(child_complexity, first)")]
    async fn brands(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, BrandNode, TotalCount, EmptyFields>> {
        let (caller, grants) = context(ctx)?;
        caller.require_platform()?;
        let limit = page_size(first)?;
        let after = after
            .map(|c| decode_cursor("brand", &c)?.parse::<i64>().map(BrandId).map_err(|_| bad_cursor()))
            .transpose()?;
        let mut page = grants.store.list_brands(after, limit + 1).await.map_err(AdminError::from)?;
        let has_next = u64::try_from(page.len()).unwrap_or(u64::MAX) > limit;
        page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let total_count = grants.store.count_brands().await.map_err(AdminError::from)?;
        let mut connection = Connection::with_additional_fields(after.is_some(), has_next, TotalCount { total_count });
        connection.edges.extend(page.into_iter().map(|brand| {
            let cursor = encode_cursor("brand", &brand.id.0.to_string());
            Edge::new(cursor, BrandNode::new(&brand, issuer_of(grants, &brand.key)))
        }));
        Ok(connection)
    }
}

fn bad_cursor() -> AdminError {
    AdminError::BadUserInput("after is not a cursor of this list".into())
}

/// Brand mutations.
#[derive(Debug, Default)]
pub struct BrandMutation;

#[Object]
impl BrandMutation {
    /// Creates a brand with its first signing key (platform administrators only).
    async fn create_brand(
        &self,
        ctx: &Context<'_>,
        input: CreateBrandInput,
    ) -> async_graphql::Result<CreateBrandPayload> {
        let (caller, grants) = context(ctx)?;
        caller.require_platform()?;
        let key = BrandKey::parse(input.key.as_str()).map_err(bad("key"))?;
        let settings = settings(&input)?;
        let brand = provision::create_brand(
            &grants.store,
            &grants.keys,
            key,
            input.name,
            settings,
            &caller.actor(),
            grants.clock.now(),
        )
        .await
        .map_err(AdminError::from)?;
        Ok(CreateBrandPayload { brand: BrandNode::new(&brand, issuer_of(grants, &brand.key)) })
    }

    /// Changes a brand's name or settings. A brand administrator may change its own brand.
    async fn update_brand(
        &self,
        ctx: &Context<'_>,
        input: UpdateBrandInput,
    ) -> async_graphql::Result<UpdateBrandPayload> {
        let (caller, grants) = context(ctx)?;
        let access = caller.brand(grants, &input.key).await?;
        let current = access.scope().brand();
        let old = &current.settings;
        let allowed_grants = match input.allowed_grants {
            MaybeUndefined::Value(list) => MaybeUndefined::Value(grant_list(&list)?),
            MaybeUndefined::Null => MaybeUndefined::Null,
            MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        };
        let settings = BrandSettings {
            signing_algorithm: input
                .signing_algorithm
                .as_deref()
                .map(algorithm)
                .transpose()?
                .unwrap_or(old.signing_algorithm),
            require_audience: input.require_audience.unwrap_or(old.require_audience),
            access_ttl: patched(old.access_ttl, input.access_ttl),
            refresh_ttl: patched(old.refresh_ttl, input.refresh_ttl),
            allowed_grants: patched(old.allowed_grants.clone(), allowed_grants),
            scope_catalog: input
                .scope_catalog
                .as_deref()
                .map(catalog)
                .transpose()?
                .unwrap_or_else(|| old.scope_catalog.clone()),
            branding: Branding {
                display_name: patched(old.branding.display_name.clone(), input.display_name),
                logo_url: patched(old.branding.logo_url.clone(), input.logo_url),
                primary_color: patched(old.branding.primary_color.clone(), input.primary_color),
            },
        };
        let name = input.name.unwrap_or_else(|| current.name.clone());
        let brand =
            provision::update_brand(&grants.store, access.scope(), name, settings, &caller.actor(), grants.clock.now())
                .await
                .map_err(AdminError::from)?;
        Ok(UpdateBrandPayload { brand: BrandNode::new(&brand, issuer_of(grants, &brand.key)) })
    }
}
