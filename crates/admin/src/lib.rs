//! The GraphQL management API (README, "The management API"), served on the admin listener at `POST /graphql`.
//!
//! * [`auth`]: who is calling (a Bearer token of this platform) and the [`auth::BrandAccess`]
//!   capability, the only way a resolver reaches a brand's data.
//! * [`schema`]: one query and one mutation object per area (`brands`, `clients`, …), merged,
//!   with depth and complexity limits; [`schema::sdl`] is committed as `schema.graphql`.
//! * [`http`]: the axum routes.
//! * [`nesting`]: the bound on a document's nesting, checked before the GraphQL parser runs.
//!
//! Errors carry `extensions.code`: `UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`,
//! `BAD_USER_INPUT`, `CONFLICT`, `UNAVAILABLE`, `INTERNAL_SERVER_ERROR`.

mod audit;
pub mod auth;
mod brands;
mod clients;
pub mod error;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
mod keys;
pub mod nesting;
mod paging;
mod principals;
pub mod schema;
mod tokens;

pub use auth::Caller;
pub use error::AdminError;
pub use http::{AdminState, router};

use async_graphql::Context;
use error::AdminResult;
use portcullis_core::BrandKey;
use portcullis_grants::GrantContext;
use portcullis_store::SeaStore;

/// The caller and the grant engine, which every resolver needs. Missing context data is a bug
/// in the schema's set-up: an internal error, logged.
pub(crate) fn context<'a>(ctx: &Context<'a>) -> AdminResult<(&'a Caller, &'a GrantContext<SeaStore>)> {
    match (ctx.data::<Caller>(), ctx.data::<GrantContext<SeaStore>>()) {
        (Ok(caller), Ok(grants)) => Ok((caller, grants)),
        _ => {
            tracing::error!("the management API schema is missing its context data");
            Err(AdminError::Internal)
        }
    }
}

/// The issuer URL of a brand.
pub(crate) fn issuer_of(grants: &GrantContext<SeaStore>, key: &BrandKey) -> String {
    format!("{}/brands/{key}", grants.public_url)
}

/// Applies a nullable input field to a current value: absent keeps it, `null` clears it, a value
/// replaces it.
pub(crate) fn patched<T>(current: Option<T>, patch: async_graphql::MaybeUndefined<T>) -> Option<T> {
    match patch {
        async_graphql::MaybeUndefined::Undefined => current,
        async_graphql::MaybeUndefined::Null => None,
        async_graphql::MaybeUndefined::Value(v) => Some(v),
    }
}
