//! Client authentication at a brand (RFC 6749 §2.3.1).

use portcullis_core::ClientId;
use portcullis_credentials::secret::{SecretHash, hash_secret, verify_secret};
use portcullis_tenancy::{AuditEvent, AuditStore, BrandScope, Client, ClientStore};

use crate::throttle::{Attempt, Throttle};
use crate::{ClientAuthMethod, ClientCredentials, GrantError, GrantResult};

/// Authenticates `credentials` against the scoped brand's clients.
///
/// Attempts that the [`Throttle`] holds back are refused before any secret is checked; failures
/// are counted there and a success clears the caller's counter.
///
/// Unknown ids, wrong secrets and disabled clients fail identically (and take the same work:
/// an unknown id still hashes the presented secret). A client of another brand is simply
/// unknown here. Every failure is written to the brand's audit log, without the secret.
pub async fn authenticate<S: ClientStore + AuditStore>(
    store: &S,
    throttle: &Throttle,
    scope: &BrandScope,
    credentials: Option<&ClientCredentials>,
    now: i64,
    source: Option<&str>,
) -> GrantResult<Client> {
    let Some(credentials) = credentials else {
        return Err(GrantError::InvalidClient { challenge: true });
    };
    let basic = credentials.method == ClientAuthMethod::Basic;
    let client_id = ClientId::parse(credentials.client_id.as_str()).ok();
    // Ids that cannot exist share one counter, so junk input cannot grow the throttle's memory.
    let throttle_id = client_id.as_ref().map_or("", ClientId::as_str);
    let attempt = Attempt { brand: scope.brand_id(), client_id: throttle_id, source };
    if let Some(retry_after) = throttle.check(attempt, now) {
        return Err(GrantError::Throttled { retry_after });
    }
    let client = match &client_id {
        Some(id) => store.find_client(scope, id).await?,
        None => None,
    };
    let verified = match &client {
        // A public client's stored secret was never revealed: it cannot authenticate by secret.
        Some(client) => client.enabled && !client.profile.public && secret_matches(client, &credentials.secret, now),
        None => {
            // Equalise timing with the known-client path.
            let _ = verify_secret(&credentials.secret, &hash_secret("unknown-client"));
            false
        }
    };
    match client {
        Some(client) if verified => {
            throttle.success(attempt);
            Ok(client)
        }
        _ => {
            throttle.failure(attempt, now);
            let how = if basic { "basic" } else { "post" };
            audit_failure(store, scope, &credentials.client_id, source, now, how).await;
            Err(GrantError::InvalidClient { challenge: basic })
        }
    }
}

/// Identifies a public client by its `client_id` alone (RFC 6749 §2.1: it has no secret; PKCE
/// binds its codes instead). A confidential client cannot be used this way: it must
/// authenticate. Failures are throttled and audited like failed authentications.
pub async fn identify_public<S: ClientStore + AuditStore>(
    store: &S,
    throttle: &Throttle,
    scope: &BrandScope,
    client_id: &str,
    now: i64,
    source: Option<&str>,
) -> GrantResult<Client> {
    let id = ClientId::parse(client_id).ok();
    let throttle_id = id.as_ref().map_or("", ClientId::as_str);
    let attempt = Attempt { brand: scope.brand_id(), client_id: throttle_id, source };
    if let Some(retry_after) = throttle.check(attempt, now) {
        return Err(GrantError::Throttled { retry_after });
    }
    let client = match &id {
        Some(id) => store.find_client(scope, id).await?,
        None => None,
    };
    match client {
        Some(client) if client.enabled && client.profile.public => {
            throttle.success(attempt);
            Ok(client)
        }
        _ => {
            throttle.failure(attempt, now);
            audit_failure(store, scope, client_id, source, now, "public client without credentials").await;
            Err(GrantError::InvalidClient { challenge: true })
        }
    }
}

async fn audit_failure<S: AuditStore>(
    store: &S,
    scope: &BrandScope,
    client_id: &str,
    source: Option<&str>,
    now: i64,
    how: &str,
) {
    let event = AuditEvent {
        at: now,
        actor: format!("client:{}", printable(client_id)),
        action: "auth.failed".into(),
        target: None,
        source: source.map(str::to_owned),
        detail: Some(format!("client authentication failed ({how})")),
    };
    if let Err(e) = store.record_event(scope, event).await {
        tracing::warn!(error = %e, "could not write the audit event for a failed client authentication");
    }
}

/// The current secret, or the previous one while its grace period runs.
fn secret_matches(client: &Client, presented: &str, now: i64) -> bool {
    let current = verify_secret(presented, &SecretHash::from_stored(client.secret_hash.as_str()));
    let previous = match (&client.previous_secret_hash, client.previous_secret_expires_at) {
        (Some(hash), Some(until)) if now < until => verify_secret(presented, &SecretHash::from_stored(hash.as_str())),
        _ => false,
    };
    current | previous
}

/// A client id as safe to log: at most 64 visible ASCII characters.
fn printable(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_graphic()).take(64).collect()
}
