//! The schema: one query and one mutation object per area, merged, with limits.

use async_graphql::{EmptySubscription, MergedObject, Schema};
use portcullis_grants::GrantContext;
use portcullis_store::SeaStore;

use crate::audit::AuditQuery;
use crate::brands::{BrandMutation, BrandQuery};
use crate::clients::{ClientMutation, ClientQuery};
use crate::keys::{KeyMutation, KeyQuery};
use crate::principals::{PrincipalMutation, PrincipalQuery};
use crate::tokens::{TokenMutation, TokenQuery};

/// Deepest query accepted.
pub const MAX_DEPTH: usize = 12;

/// Most complex query accepted: every field selected counts one, and the selection of a
/// paginated field counts once per item of the page it asks for (`first`, or the default page
/// size), see [`crate::paging::page_complexity`].
pub const MAX_COMPLEXITY: usize = 2_000;

/// Every query.
#[derive(Debug, Default, MergedObject)]
pub struct Query(BrandQuery, ClientQuery, PrincipalQuery, TokenQuery, KeyQuery, AuditQuery);

/// Every mutation.
#[derive(Debug, Default, MergedObject)]
pub struct Mutation(BrandMutation, ClientMutation, PrincipalMutation, TokenMutation, KeyMutation);

/// The management API's schema.
pub type AdminSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema; resolvers find `grants` in the context data.
pub fn build(grants: Option<GrantContext<SeaStore>>) -> AdminSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(32)
        .limit_directives(16);
    if let Some(grants) = grants {
        builder = builder.data(grants);
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schema.graphql` (`cargo xtask schema`).
pub fn sdl() -> String {
    build(None).sdl()
}
