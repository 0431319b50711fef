//! `portcullis master-key rotate --new-key-file F`: every signing key re-encrypted under a new
//! master key, and the database's check value moved to it, in one transaction.
//!
//! The procedure: stop every server (a running one could still seal a newly generated key under
//! the old master key), run this command with the current key configured, then start every
//! server with the new key. A server started with the old key afterwards refuses to start, as
//! with any wrong key. Issued tokens stay valid: the signing keys themselves do not change.

use anyhow::{Context, bail};
use portcullis_credentials::master::MasterKey;
use portcullis_grants::keyring::reseal;
use serde::Serialize;

use crate::cli::MasterKeyRotateArgs;
use crate::platform::{MASTER_KEY_CHECK, Platform};
use crate::{master_key, output};

#[derive(Serialize)]
struct Rotated {
    resealed_keys: u64,
}

/// Runs the command on an opened platform (which has checked the current key).
pub async fn run(platform: &Platform, args: &MasterKeyRotateArgs) -> anyhow::Result<()> {
    let old = master_key::load(&platform.settings.secrets)?;
    let path = &args.new_key_file;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the new key file {}", path.display()))?;
    let new = MasterKey::from_base64(&text).with_context(|| format!("the new key file {}", path.display()))?;
    if new.verify_check_value(&old.check_value()?) {
        bail!("the new key file holds the current master key; generate a new one (openssl rand -base64 32)");
    }
    let check = new.check_value()?;
    let resealed = platform
        .grants
        .store
        .reseal_signing_keys(
            |k| reseal(&old, &new, k.brand, k.kid, k.sealed).map_err(|e| e.to_string()),
            MASTER_KEY_CHECK,
            check,
        )
        .await
        .context("re-encrypting the signing keys (nothing was changed)")?;
    tracing::info!(resealed, "master key rotated");
    if args.json {
        output::json(&Rotated { resealed_keys: resealed })
    } else {
        output::lines(&[
            format!("Re-encrypted {resealed} signing keys under the new master key."),
            format!(
                "Now configure every server with the key in {} (secrets.master_key_file or secrets.master_key) \
                 and start them; the old key no longer opens this database.",
                path.display()
            ),
        ]);
        Ok(())
    }
}
