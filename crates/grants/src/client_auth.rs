//! Client authentication at a brand (RFC 6749 §2.3.1).

use portcullis_core::ClientId;
use portcullis_credentials::secret::{SecretHash, hash_secret, verify_secret};
use portcullis_tenancy::{AuditEvent, AuditStore, BrandScope, Client, ClientStore};

use crate::throttle::Attempt;
use crate::{ClientAuthMethod, ClientCredentials, GrantContext, GrantError, GrantResult};

/// Authenticates `credentials` against the scoped brand's clients.
///
/// Attempts that the context's [`crate::throttle::Throttle`] holds back are refused before any
/// secret is checked; the check and the counting of its outcome are one atomic step
/// ([`crate::throttle::Throttle::guarded`]), so concurrent attempts get no more checks than the
/// budget. A success clears the caller's counter.
///
/// Unknown ids, wrong secrets and disabled clients fail identically (and take the same work:
/// an unknown id still hashes the presented secret). A client of another brand is simply
/// unknown here. Every failure is audited in the brand's log, without the secret, folded with the
/// other failures from its address ([`crate::failure_audit`]).
pub async fn authenticate<S: ClientStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    credentials: Option<&ClientCredentials>,
    now: i64,
    source: Option<&str>,
) -> GrantResult<Client> {
    let Some(credentials) = credentials else {
        return Err(GrantError::InvalidClient { challenge: true });
    };
    let basic = credentials.method == ClientAuthMethod::Basic;
    let check = Check {
        client_id: &credentials.client_id,
        source,
        how: if basic { "basic" } else { "post" },
        challenge: basic,
    };
    let accepts = |client: Option<&Client>| match client {
        // A public client's stored secret was never revealed: it cannot authenticate by secret.
        Some(client) => client.enabled && !client.profile.public && secret_matches(client, &credentials.secret, now),
        None => {
            // Equalise timing with the known-client path.
            let _ = verify_secret(&credentials.secret, &hash_secret("unknown-client"));
            false
        }
    };
    check_client(ctx, scope, check, now, accepts).await
}

/// Identifies a public client by its `client_id` alone (RFC 6749 §2.1: it has no secret; PKCE
/// binds its codes instead). A confidential client cannot be used this way: it must
/// authenticate. Failures are throttled and audited like failed authentications.
pub async fn identify_public<S: ClientStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    client_id: &str,
    now: i64,
    source: Option<&str>,
) -> GrantResult<Client> {
    let check = Check { client_id, source, how: "public client without credentials", challenge: true };
    let accepts = |client: Option<&Client>| client.is_some_and(|c| c.enabled && c.profile.public);
    check_client(ctx, scope, check, now, accepts).await
}

/// The client of a request: authenticated by `credentials` or, when it presents none but names
/// itself with `public_client_id` (where the endpoint allows that), identified as a public client.
pub async fn authenticate_or_identify<S: ClientStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    credentials: Option<&ClientCredentials>,
    public_client_id: Option<&str>,
    now: i64,
    source: Option<&str>,
) -> GrantResult<Client> {
    match (credentials, public_client_id) {
        (None, Some(client_id)) => identify_public(ctx, scope, client_id, now, source).await,
        _ => authenticate(ctx, scope, credentials, now, source).await,
    }
}

/// What [`check_client`] checks: the presented client id and where it came from, and how a
/// failure is reported (the audit detail, and whether to challenge for HTTP Basic).
struct Check<'a> {
    client_id: &'a str,
    source: Option<&'a str>,
    how: &'static str,
    challenge: bool,
}

/// The throttle, the lookup and the bookkeeping around `accepts`, which decides whether the
/// client named by `check` (or `None`, when the brand has no such client) may go on.
async fn check_client<S: ClientStore + AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    check: Check<'_>,
    now: i64,
    accepts: impl FnOnce(Option<&Client>) -> bool,
) -> GrantResult<Client> {
    let Check { client_id: presented, source, how, challenge } = check;
    let (store, throttle) = (&ctx.store, &ctx.throttle);
    let client_id = ClientId::parse(presented).ok();
    // Ids that cannot exist share one counter, so junk input cannot grow the throttle's memory.
    let throttle_id = client_id.as_ref().map_or("", ClientId::as_str);
    let keys = Attempt { brand: scope.brand_id(), client_id: throttle_id, source }.keys();
    // A cheap look first, so that a locked-out attempt costs no lookup.
    if let Some(retry_after) = throttle.locked(&keys, now) {
        return Err(GrantError::Throttled { retry_after });
    }
    let client = match &client_id {
        Some(id) => store.find_client(scope, id).await?,
        None => None,
    };
    // The check and the counting of its outcome are one step: concurrent attempts cannot all
    // pass the look above and then each be checked.
    let accepted = throttle
        .guarded(&keys, now, || accepts(client.as_ref()))
        .map_err(|retry_after| GrantError::Throttled { retry_after })?;
    match client {
        Some(client) if accepted => Ok(client),
        _ => {
            let event = AuditEvent {
                at: now,
                actor: format!("client:{}", printable(presented)),
                action: "auth.failed".into(),
                target: None,
                source: source.map(str::to_owned),
                detail: Some(format!("client authentication failed ({how})")),
            };
            ctx.failure_audit.record(store, scope, event).await;
            Err(GrantError::InvalidClient { challenge })
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
