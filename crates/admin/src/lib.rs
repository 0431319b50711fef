//! The GraphQL management API (SPEC §5), served on the admin listener at `POST /graphql`.
//!
//! * [`auth`]: who is calling (a Bearer token of this platform) and the [`auth::BrandAccess`]
//!   capability, the only way a resolver reaches a brand's data.
//! * [`schema`]: one query and one mutation object per area (`brands`, `clients`, …), merged,
//!   with depth and complexity limits; [`schema::sdl`] is committed as `schema.graphql`.
//! * [`http`]: the axum routes.
//!
//! Errors carry `extensions.code`: `UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`,
//! `BAD_USER_INPUT`, `CONFLICT`, `UNAVAILABLE`, `INTERNAL_SERVER_ERROR`.

mod audit;
pub mod auth;
mod brands;
mod clients;
pub mod error;
pub mod http;
mod keys;
mod paging;
mod principals;
pub mod schema;
mod tokens;

pub use auth::Caller;
pub use error::AdminError;
pub use http::{AdminState, router};

use async_graphql::Context;
use portcullis_core::BrandKey;
use portcullis_grants::GrantContext;
use portcullis_store::SeaStore;

/// The grant engine from the schema's data.
pub(crate) fn grants<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a GrantContext<SeaStore>> {
    ctx.data::<GrantContext<SeaStore>>()
}

/// The issuer URL of a brand.
pub(crate) fn issuer_of(grants: &GrantContext<SeaStore>, key: &BrandKey) -> String {
    format!("{}/brands/{key}", grants.public_url)
}
