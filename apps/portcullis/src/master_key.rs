//! Loading the master key: from configuration, else from the key file, else generated into it.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use portcullis_config::SecretsSettings;
use portcullis_credentials::master::MasterKey;

use crate::output;

/// The configured key, or the one in `secrets.master_key_file`, or a new one written there.
pub fn load(settings: &SecretsSettings) -> anyhow::Result<MasterKey> {
    if let Some(encoded) = &settings.master_key {
        return MasterKey::from_base64(encoded).context("configuration key `secrets.master_key`");
    }
    let path = &settings.master_key_file;
    if path.exists() {
        warn_if_readable_by_others(path);
        let text =
            fs::read_to_string(path).with_context(|| format!("reading the master key file {}", path.display()))?;
        return MasterKey::from_base64(&text).with_context(|| {
            format!("the master key file {} (configuration key `secrets.master_key_file`)", path.display())
        });
    }
    let (key, encoded) = MasterKey::generate()?;
    write_private(path, &encoded)?;
    output::warning(&format!(
        "no secrets.master_key is configured: generated one into {}. Signing keys are encrypted with it; \
         back it up, keep it secret, and configure it explicitly (PORTCULLIS_SECRETS__MASTER_KEY) in production, \
         where every server must share the same key.",
        path.display()
    ));
    tracing::warn!(path = %path.display(), "generated a master key file because none is configured");
    Ok(key)
}

/// Warns when the key file can be read by its group or by others (SECURITY.md F24). Only a
/// warning: a deployment may protect the file by its directory instead (the compose layout's
/// 0700 volume).
fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(mode) = fs::metadata(path).map(|m| m.permissions().mode()) else {
            return;
        };
        if mode & 0o077 != 0 {
            output::warning(&format!(
                "the master key file {} has mode {:o}: group or others may read it; `chmod 600` it",
                path.display(),
                mode & 0o777
            ));
            tracing::warn!(path = %path.display(), mode = format!("{:o}", mode & 0o777), "the master key file is readable by others");
        }
    }
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("the master key file {} appeared while starting; start again", path.display())
        }
        Err(e) => return Err(e).with_context(|| format!("creating the master key file {}", path.display())),
    };
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(())
}
