//! [`MetaStore`] for [`SeaStore`].

use portcullis_tenancy::{MetaStore, PoolStatus, StoreError, StoreResult};
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseBackend, DbErr, EntityTrait, Set};

use crate::SeaStore;
use crate::entity::platform_meta;
use crate::error::map_err;

impl MetaStore for SeaStore {
    async fn meta(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(platform_meta::Entity::find_by_id(name.to_owned()).one(&self.db).await.map_err(map_err)?.map(|r| r.value))
    }

    async fn init_meta(&self, name: &str, value: Vec<u8>) -> StoreResult<Vec<u8>> {
        let row = platform_meta::ActiveModel { name: Set(name.to_owned()), value: Set(value) };
        let insert = platform_meta::Entity::insert(row)
            .on_conflict(OnConflict::column(platform_meta::Column::Name).do_nothing().to_owned())
            .exec_without_returning(&self.db)
            .await;
        match insert {
            Ok(_) | Err(DbErr::RecordNotInserted) => {}
            Err(e) => return Err(map_err(e)),
        }
        self.meta(name).await?.ok_or_else(|| StoreError::Backend(format!("metadata '{name}' vanished")))
    }

    async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await.map_err(map_err)
    }

    fn pool_status(&self) -> Option<PoolStatus> {
        let idle = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        // The accessors panic on the other backend, hence the check first.
        match self.db.get_database_backend() {
            DatabaseBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                Some(PoolStatus { open: pool.size(), idle: idle(pool.num_idle()) })
            }
            DatabaseBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                Some(PoolStatus { open: pool.size(), idle: idle(pool.num_idle()) })
            }
            _ => None,
        }
    }
}
