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
        Some(client) => client.enabled && secret_matches(client, &credentials.secret, now),
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
            let event = AuditEvent {
                at: now,
                actor: format!("client:{}", printable(&credentials.client_id)),
                action: "auth.failed".into(),
                target: None,
                source: source.map(str::to_owned),
                detail: Some(format!("client authentication failed ({})", if basic { "basic" } else { "post" })),
            };
            if let Err(e) = store.record_event(scope, event).await {
                tracing::warn!(error = %e, "could not write the audit event for a failed client authentication");
            }
            Err(GrantError::InvalidClient { challenge: basic })
        }
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
