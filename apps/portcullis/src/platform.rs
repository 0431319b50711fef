//! Opening the platform: configuration → database (migrated) → master key (checked) → grant context.

use std::path::Path;

use anyhow::{Context, bail};
use portcullis_config::Settings;
use portcullis_grants::failure_audit::FailureAudit;
use portcullis_grants::feed::RevocationSignal;
use portcullis_grants::keyring::KeyRing;
use portcullis_grants::throttle::Throttle;
use portcullis_grants::{Clock, GrantContext, TokenDefaults};
use portcullis_store::{PoolSettings, SeaStore};
use portcullis_tenancy::MetaStore;

use crate::{logging, master_key};

/// The name of the stored master-key check value.
pub const MASTER_KEY_CHECK: &str = "master_key_check";

/// Everything a command needs.
pub struct Platform {
    pub settings: Settings,
    pub grants: GrantContext<SeaStore>,
}

impl Platform {
    /// Loads configuration, opens and migrates the database, and checks the master key.
    pub async fn open(config: Option<&Path>, dev: bool) -> anyhow::Result<Self> {
        let settings = portcullis_config::load(config, dev)?;
        logging::init(&settings.log);
        let pool = PoolSettings {
            max_connections: settings.database.max_connections,
            acquire_timeout: settings.database.acquire_timeout,
            statement_timeout: settings.database.statement_timeout,
        };
        let store = SeaStore::connect(&settings.database.url, pool)
            .await
            .context("opening the database (configuration key `database.url`)")?;
        store.migrate().await.context("applying database migrations")?;
        let master = master_key::load(&settings.secrets)?;
        let check = store.init_meta(MASTER_KEY_CHECK, master.check_value()?).await?;
        if !master.verify_check_value(&check) {
            bail!(
                "the master key (secrets.master_key or secrets.master_key_file) is not the key this database's \
                 signing keys were encrypted with"
            );
        }
        let grants = GrantContext {
            store,
            keys: KeyRing::new(master),
            defaults: TokenDefaults {
                access_ttl: settings.tokens.access_ttl,
                refresh_ttl: settings.tokens.refresh_ttl,
                refresh_reuse_grace: settings.tokens.refresh_reuse_grace,
                session_ttl: settings.tokens.session_ttl,
            },
            public_url: settings.http.public_url.as_str().into(),
            clock: Clock::system(),
            throttle: Throttle::new(),
            feed: RevocationSignal::new(),
            failure_audit: FailureAudit::default(),
        };
        Ok(Self { settings, grants })
    }
}
