//! A counter that every change to brands, clients or signing keys increments, in the same
//! transaction as the change, by database triggers.
//!
//! Servers cache those rows (they are read on every token request and change rarely) and poll
//! this one row to learn that another process changed something. Triggers, not application
//! code, make the increment impossible to forget: the CLI, a second server and a hand-written
//! `UPDATE` all bump it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose rows servers cache.
const WATCHED: [&str; 3] = ["brands", "clients", "signing_keys"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE TABLE change_epoch (id INTEGER PRIMARY KEY, epoch BIGINT NOT NULL)").await?;
        db.execute_unprepared("INSERT INTO change_epoch (id, epoch) VALUES (1, 0)").await?;
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION portcullis_bump_change_epoch() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1; RETURN NULL; END $$",
                )
                .await?;
                for table in WATCHED {
                    // One increment per statement, however many rows it touches.
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_change_epoch AFTER INSERT OR UPDATE OR DELETE ON {table} \
                         FOR EACH STATEMENT EXECUTE FUNCTION portcullis_bump_change_epoch()"
                    ))
                    .await?;
                }
            }
            _ => {
                // SQLite has row triggers only, one per event.
                for table in WATCHED {
                    for event in ["INSERT", "UPDATE", "DELETE"] {
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER {table}_change_epoch_{e} AFTER {event} ON {table} \
                             BEGIN UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1; END",
                            e = event.to_lowercase()
                        ))
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                for table in WATCHED {
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_change_epoch ON {table}")).await?;
                }
                db.execute_unprepared("DROP FUNCTION IF EXISTS portcullis_bump_change_epoch()").await?;
            }
            _ => {
                for table in WATCHED {
                    for event in ["insert", "update", "delete"] {
                        db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_change_epoch_{event}")).await?;
                    }
                }
            }
        }
        db.execute_unprepared("DROP TABLE change_epoch").await?;
        Ok(())
    }
}
