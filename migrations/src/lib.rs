//! Database migrations, applied in file order by [`Migrator`]. One dated file per change; a
//! released migration is never edited, only followed by a new one.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261123_000002_principals;
mod m20261123_000003_refresh_tokens;
mod m20261123_000004_login_failures;
mod m20261123_000005_revocations;
mod m20261201_000006_change_epoch;
mod m20261202_000007_oidc_login;
mod m20261215_000008_username_key;
mod m20261220_000009_audit_events_at;

/// Applies Portcullis's migrations.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261123_000002_principals::Migration),
            Box::new(m20261123_000003_refresh_tokens::Migration),
            Box::new(m20261123_000004_login_failures::Migration),
            Box::new(m20261123_000005_revocations::Migration),
            Box::new(m20261201_000006_change_epoch::Migration),
            Box::new(m20261202_000007_oidc_login::Migration),
            Box::new(m20261215_000008_username_key::Migration),
            Box::new(m20261220_000009_audit_events_at::Migration),
        ]
    }
}
