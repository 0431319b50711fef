//! The single place where the brand filter is applied.

use portcullis_tenancy::BrandScope;
use sea_orm::{ColumnTrait, DeleteMany, EntityTrait, QueryFilter, Select, UpdateMany};

use crate::entity::{
    audit_events, authorization_codes, clients, issued_tokens, login_failures, login_sessions, principals,
    refresh_tokens, revocations, signing_keys,
};

/// An entity whose rows belong to one brand.
pub(crate) trait BrandOwned: EntityTrait {
    /// Its `brand_id` column.
    fn brand_column() -> Self::Column;
}

macro_rules! brand_owned {
    ($($module:ident),*) => {$(
        impl BrandOwned for $module::Entity {
            fn brand_column() -> Self::Column {
                $module::Column::BrandId
            }
        }
    )*};
}

brand_owned!(
    clients,
    principals,
    signing_keys,
    issued_tokens,
    refresh_tokens,
    revocations,
    audit_events,
    login_failures,
    authorization_codes,
    login_sessions
);

/// `SELECT … FROM {E} WHERE brand_id = {scope}`: the only way this crate reads tenant rows.
pub(crate) fn scoped<E: BrandOwned>(scope: &BrandScope) -> Select<E> {
    E::find().filter(E::brand_column().eq(scope.brand_id().0))
}

/// `DELETE FROM {E} WHERE brand_id = {scope}`: the only way this crate deletes tenant rows.
pub(crate) fn scoped_delete<E: BrandOwned>(scope: &BrandScope) -> DeleteMany<E> {
    E::delete_many().filter(E::brand_column().eq(scope.brand_id().0))
}

/// `UPDATE {E} … WHERE brand_id = {scope}`: the only way this crate updates tenant rows in bulk.
pub(crate) fn scoped_update<E: BrandOwned>(scope: &BrandScope) -> UpdateMany<E> {
    E::update_many().filter(E::brand_column().eq(scope.brand_id().0))
}
