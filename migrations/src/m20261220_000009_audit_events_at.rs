//! An index on `audit_events.at`, so that pruning events older than the audit retention finds
//! them in batches without scanning the whole log.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    At,
}

/// The index on event times.
const INDEX: &str = "ix_audit_events_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(Index::create().name(INDEX).table(AuditEvents::Table).col(AuditEvents::At).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(AuditEvents::Table).to_owned()).await
    }
}
