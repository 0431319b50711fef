//! Plain records that storage reads and writes.

use portcullis_core::{ActType, BrandKey, ClientId, GrantType, Jti, KeyId, Scope, ScopeSet, SigningAlgorithm};

/// A brand's internal id (the database primary key). Never leaves the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BrandId(pub i64);

/// A brand (tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// Internal id.
    pub id: BrandId,
    /// The public key in URLs and the `brand` claim.
    pub key: BrandKey,
    /// Display name.
    pub name: String,
    /// Per-brand settings.
    pub settings: BrandSettings,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

/// Settings an administrator chooses per brand.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrandSettings {
    /// Algorithm of new signing keys.
    pub signing_algorithm: SigningAlgorithm,
    /// Whether the token endpoint requires an explicit `audience`/`resource`.
    pub require_audience: bool,
    /// Brand default access-token lifetime in seconds (else the configuration's).
    pub access_ttl: Option<u32>,
    /// Brand default refresh-token lifetime in seconds (else the configuration's).
    pub refresh_ttl: Option<u32>,
    /// Grant types clients of this brand may use; `None` means all that the server supports.
    pub allowed_grants: Option<Vec<GrantType>>,
    /// The brand's scope catalog, in display order; empty means "no catalog".
    pub scope_catalog: Vec<Scope>,
    /// How the brand's login pages look.
    pub branding: Branding,
}

impl BrandSettings {
    /// Whether the brand lets its clients use `grant` (every grant when it names none).
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.allowed_grants.as_ref().is_none_or(|allowed| allowed.contains(&grant))
    }
}

/// How a brand's login pages look. Validated when set (see `portcullis_grants::provision`):
/// the logo is an `https` URL and the colour a `#rrggbb` hex value, so both are safe to put in
/// a page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Branding {
    /// The name shown to people signing in (else the brand's name).
    pub display_name: Option<String>,
    /// An `https` URL of the brand's logo.
    pub logo_url: Option<String>,
    /// The brand's primary colour, `#rrggbb`.
    pub primary_color: Option<String>,
}

/// What is needed to create a brand.
#[derive(Debug, Clone)]
pub struct NewBrand {
    /// Key.
    pub key: BrandKey,
    /// Display name.
    pub name: String,
    /// Settings.
    pub settings: BrandSettings,
}

/// What an administrator chooses for a client: everything but its id and secret.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientProfile {
    /// Display name.
    pub name: String,
    /// Enabled grant types.
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may receive.
    pub scopes: ScopeSet,
    /// Scopes it receives when it requests none (a subset of `scopes`).
    pub default_scopes: ScopeSet,
    /// Audiences it may address.
    pub audiences: Vec<String>,
    /// Access-token lifetime override, seconds.
    pub access_ttl: Option<u32>,
    /// Refresh-token lifetime override, seconds.
    pub refresh_ttl: Option<u32>,
    /// Where the authorization endpoint may send the browser back to (exact match).
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back to (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (a browser or native app) holds no secret: it identifies itself by
    /// `client_id` alone and may use only the authorization-code (with PKCE) and refresh grants.
    pub public: bool,
}

/// A client (API credential) of a brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Public id.
    pub client_id: ClientId,
    /// Name, grants, scopes, audiences, lifetimes.
    pub profile: ClientProfile,
    /// Hash of the current secret (see `portcullis_credentials::secret`).
    pub secret_hash: String,
    /// Hash of the previous secret while a rotation grace period runs.
    pub previous_secret_hash: Option<String>,
    /// End of that grace period, seconds since the epoch.
    pub previous_secret_expires_at: Option<i64>,
    /// Disabled clients cannot authenticate.
    pub enabled: bool,
    /// Creation time.
    pub created_at: i64,
}

/// What is needed to create a client.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// Public id (server-generated).
    pub client_id: ClientId,
    /// Name, grants, scopes, audiences, lifetimes.
    pub profile: ClientProfile,
    /// Hash of the generated secret.
    pub secret_hash: String,
}

/// Which kind of person a principal is: a brand's end user or one of its operators (staff).
/// Each kind has its own usernames, and each password grant accepts only its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// An end user (resource owner), for the `password` grant.
    User,
    /// A staff member, for the `operator_password` grant.
    Operator,
}

impl PrincipalKind {
    /// Storage name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Operator => "operator",
        }
    }

    /// Parses the storage name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::User, Self::Operator].into_iter().find(|k| k.as_str() == value)
    }
}

/// A user or operator of a brand.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    /// Public, server-generated id (the `sub` of its tokens).
    pub id: String,
    /// User or operator.
    pub kind: PrincipalKind,
    /// Login name, unique per brand and kind.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// The scopes this principal may be granted.
    pub permissions: ScopeSet,
    /// Disabled principals cannot sign in.
    pub enabled: bool,
    /// Creation time.
    pub created_at: i64,
    /// When the current API token was issued; `None` while API access is off.
    pub api_token_issued_at: Option<i64>,
    /// Email address (the `email` claim), if known.
    pub email: Option<String>,
    /// Full name (the `name` claim), if known.
    pub name: Option<String>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("username", &self.username)
            .field("permissions", &self.permissions)
            .field("enabled", &self.enabled)
            .field("created_at", &self.created_at)
            .field("api_token_issued_at", &self.api_token_issued_at)
            .finish_non_exhaustive()
    }
}

/// What is needed to create a principal.
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    /// Public id (server-generated).
    pub id: String,
    /// User or operator.
    pub kind: PrincipalKind,
    /// Login name.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Permissions.
    pub permissions: ScopeSet,
    /// Email address.
    pub email: Option<String>,
    /// Full name.
    pub name: Option<String>,
}

/// A change to a principal: each field that is `Some` is replaced (for `email` and `name`,
/// `Some(None)` clears it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalUpdate {
    /// A new Argon2id PHC string.
    pub password_hash: Option<String>,
    /// New permissions.
    pub permissions: Option<ScopeSet>,
    /// A new email address, or none.
    pub email: Option<Option<String>>,
    /// A new full name, or none.
    pub name: Option<Option<String>>,
}

/// How failed logins turn into lock-outs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Seconds over which failures are counted.
    pub window: i64,
    /// Failures tolerated within the window.
    pub limit: u32,
    /// Longest lock-out, seconds.
    pub max_lockout: i64,
}

/// The failed-login counter of one username.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureCounter {
    /// Start of the counting window.
    pub window_start: i64,
    /// Failures in the window.
    pub failures: u32,
    /// Logins are refused before this second.
    pub locked_until: i64,
}

impl FailureCounter {
    /// The counter after one more failure at `now`: a new window when the old one is over; at
    /// the limit a lock-out of 1 s, doubling with each further failure, capped. A lock-out
    /// already running is never shortened. The clock counts whole seconds, so a lock-out of `n`
    /// s set during second `now` runs to the start of second `now + n + 1`: at least `n` s
    /// whenever in that second it began (ending at `now + n` could leave a 1 s lock-out a few
    /// milliseconds).
    pub fn after_failure(previous: Option<Self>, now: i64, policy: LockoutPolicy) -> Self {
        let mut counter = match previous {
            Some(c) if now - c.window_start < policy.window => c,
            Some(c) => Self { window_start: now, failures: 0, locked_until: c.locked_until },
            None => Self { window_start: now, failures: 0, locked_until: 0 },
        };
        counter.failures = counter.failures.saturating_add(1);
        if counter.failures >= policy.limit {
            let excess = counter.failures - policy.limit;
            let lockout = 1i64.checked_shl(excess).unwrap_or(policy.max_lockout).min(policy.max_lockout);
            counter.locked_until = counter.locked_until.max(now + lockout + 1);
        }
        counter
    }

    /// Reserves one attempt at `now`: refused while a lock-out runs, otherwise counted as a
    /// failure before the password is checked ([`Self::after_failure`]), so that no number of
    /// concurrent attempts gets more than the policy's budget of checks. A successful check
    /// releases it by clearing the counter.
    pub fn reserve(previous: Option<Self>, now: i64, policy: LockoutPolicy) -> LoginReservation {
        match previous {
            Some(c) if c.locked_until > now => LoginReservation::Locked { until: c.locked_until },
            _ => LoginReservation::Admitted(Self::after_failure(previous, now, policy)),
        }
    }
}

/// What reserving a login attempt found ([`FailureCounter::reserve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginReservation {
    /// The password may be checked. The attempt is already counted as a failure, with this
    /// counter stored; a successful check clears it.
    Admitted(FailureCounter),
    /// Refused without a check: logins as this username are locked until `until`.
    Locked {
        /// The second from which logins are accepted again.
        until: i64,
    },
}

/// Lifecycle of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Published in JWKS, not yet signing.
    Next,
    /// Signs new tokens; exactly one per brand.
    Active,
    /// No longer signs; published until `publish_until`.
    Retired,
}

impl KeyStatus {
    /// Storage name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    /// Parses the storage name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Next, Self::Active, Self::Retired].into_iter().find(|s| s.as_str() == value)
    }
}

/// A stored signing key: the sealed private key and the public JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// Key id.
    pub kid: KeyId,
    /// Algorithm.
    pub algorithm: SigningAlgorithm,
    /// Status.
    pub status: KeyStatus,
    /// PKCS#8 private key sealed with the master key.
    pub sealed_private_key: Vec<u8>,
    /// Public JWK, JSON text.
    pub public_jwk: String,
    /// Creation time.
    pub created_at: i64,
    /// When it started signing.
    pub activated_at: Option<i64>,
    /// When it stopped signing.
    pub retired_at: Option<i64>,
    /// Retired keys stay published until this time.
    pub publish_until: Option<i64>,
}

/// How the next active key comes about in a rotation.
#[derive(Debug, Clone)]
pub enum Activation {
    /// The published `next` key with this id starts signing.
    Promote(KeyId),
    /// No usable next key: this new key starts signing at once (verifiers refetch the JWKS on an
    /// unknown `kid`).
    Insert(NewSigningKey),
}

/// One signing-key rotation, applied atomically: the active key retires (published until
/// `publish_until`), another becomes active, and a fresh key is published as the next one.
#[derive(Debug, Clone)]
pub struct KeyRotation {
    /// The key that signs now; the rotation fails (changing nothing) if it no longer does.
    pub retire: KeyId,
    /// Until when the retired key stays in the JWKS: past the expiry of every token it signed.
    pub publish_until: i64,
    /// The key that signs from now on.
    pub activate: Activation,
    /// The key published from now on, to sign at the following rotation.
    pub next: NewSigningKey,
}

/// What is needed to store a new signing key.
#[derive(Debug, Clone)]
pub struct NewSigningKey {
    /// Key id.
    pub kid: KeyId,
    /// Algorithm.
    pub algorithm: SigningAlgorithm,
    /// Status to store it with.
    pub status: KeyStatus,
    /// Sealed private key.
    pub sealed_private_key: Vec<u8>,
    /// Public JWK, JSON text.
    pub public_jwk: String,
}

/// Status of an issued token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// Usable until expiry.
    Active,
    /// Revoked by an administrator (or with its user or client): an administrator may approve
    /// it again.
    Revoked,
    /// Ended by its own holder (a console sign-out, an RFC 7009 revocation by its client): revoked
    /// for good, never approved again.
    Ended,
}

impl TokenStatus {
    /// Storage name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Ended => "ended",
        }
    }

    /// Parses the storage name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Active, Self::Revoked, Self::Ended].into_iter().find(|s| s.as_str() == value)
    }
}

/// The record kept for every issued access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// Token id.
    pub jti: Jti,
    /// Client it was issued to.
    pub client_id: ClientId,
    /// Subject (`sub`).
    pub subject: String,
    /// Who it acts for.
    pub act_type: ActType,
    /// Grant that produced it.
    pub grant_type: GrantType,
    /// Granted scopes.
    pub scopes: ScopeSet,
    /// Audiences.
    pub audience: Vec<String>,
    /// Issue time.
    pub issued_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// Status.
    pub status: TokenStatus,
    /// The refresh-token family it descends from (one login), for grants that issue refresh
    /// tokens; `None` for client_credentials.
    pub family_id: Option<String>,
    /// Name/value pairs an administrator attached (empty at issuance).
    pub attributes: Vec<TokenAttribute>,
}

/// A name/value pair attached to an issued token by an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAttribute {
    /// Name, unique per token.
    pub name: String,
    /// Value.
    pub value: String,
}

/// A position in a list of token records, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCursor {
    /// Issue time of the last record seen.
    pub issued_at: i64,
    /// Its jti (breaks ties).
    pub jti: String,
}

/// Where a refresh token is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshStatus {
    /// Usable once.
    Active,
    /// Used: exchanged for its successor. Presenting it again is reuse, except once within the
    /// reuse grace (`tokens.refresh_reuse_grace`).
    Rotated,
    /// Rotated, then presented once more within the reuse grace and given a second successor:
    /// the one retry is spent, so presenting it again is reuse.
    Retried,
    /// Revoked, alone or with its family.
    Revoked,
}

impl RefreshStatus {
    /// Storage name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Rotated => "rotated",
            Self::Retried => "retried",
            Self::Revoked => "revoked",
        }
    }

    /// Parses the storage name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Active, Self::Rotated, Self::Retried, Self::Revoked].into_iter().find(|s| s.as_str() == value)
    }
}

/// A refresh token as stored: its hash (never the token), its family and what it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// Hash of the opaque token (see `portcullis_credentials::secret`).
    pub token_hash: String,
    /// The family: every refresh token rotated from the same login shares it.
    pub family_id: String,
    /// The client it is bound to.
    pub client_id: ClientId,
    /// The user or operator id.
    pub subject: String,
    /// Who the tokens act for.
    pub act_type: ActType,
    /// The scopes it may yield (never widened on refresh).
    pub scopes: ScopeSet,
    /// Audiences of the access tokens it yields.
    pub audience: Vec<String>,
    /// Issue time.
    pub issued_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// Status.
    pub status: RefreshStatus,
    /// When it was rotated, if it was.
    pub rotated_at: Option<i64>,
}

/// What a revocation-feed entry refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationKind {
    /// One access token, by `jti`.
    Token,
    /// Every token whose `sub` is the value and that was issued at or before `revoked_at`.
    Subject,
    /// Every token whose `client_id` is the value and that was issued at or before `revoked_at`.
    Client,
    /// The access token with this `jti` was approved again after a revocation: accept it again.
    Approved,
    /// The API token of the user whose id is the value was regenerated or disabled: forget any
    /// cached answer for that user's API token.
    ApiToken,
}

impl RevocationKind {
    /// Storage and wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Subject => "subject",
            Self::Client => "client",
            Self::Approved => "approved",
            Self::ApiToken => "api_token",
        }
    }

    /// Parses the storage name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Token, Self::Subject, Self::Client, Self::Approved, Self::ApiToken]
            .into_iter()
            .find(|k| k.as_str() == value)
    }
}

/// One entry of a brand's revocation feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Position in the feed; strictly increasing in commit order.
    pub cursor: i64,
    /// What is revoked.
    pub kind: RevocationKind,
    /// The jti, subject or client id.
    pub value: String,
    /// When; tokens issued at or before this instant are refused (for subjects and clients).
    pub revoked_at: i64,
    /// After this instant every token the entry refuses has expired, so it may be pruned.
    pub expires_at: i64,
}

/// When a revocation happens, and how long its feed entry must be kept at least: past the
/// expiry of any token it may refuse (the store extends it to the latest affected record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokeAt {
    /// The instant of revocation.
    pub at: i64,
    /// Keep the feed entry until at least this instant.
    pub keep_until: i64,
}

/// Which token records to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFilter {
    /// Only tokens of this client.
    pub client_id: Option<ClientId>,
    /// Only tokens of this subject (user or operator id, or client id for client_credentials).
    pub subject: Option<String>,
    /// Only tokens with this status.
    pub status: Option<TokenStatus>,
}

/// One audit-log entry. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When, seconds since the epoch.
    pub at: i64,
    /// Who acted: `client:{id}`, `cli`, `system`…
    pub actor: String,
    /// What happened, e.g. `client.created`, `auth.failed`.
    pub action: String,
    /// What it happened to, e.g. a client id.
    pub target: Option<String>,
    /// Where the request came from, when known.
    pub source: Option<String>,
    /// A short, secret-free detail.
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: LockoutPolicy = LockoutPolicy { window: 60, limit: 3, max_lockout: 8 };

    #[test]
    fn failures_lock_out_with_doubling_capped_and_windows_reset() {
        let mut c = None;
        for _ in 0..2 {
            c = Some(FailureCounter::after_failure(c, 100, POLICY));
        }
        assert_eq!(c.map(|c| c.locked_until), Some(0), "below the limit");
        let mut waits = Vec::new();
        for _ in 0..6 {
            let next = FailureCounter::after_failure(c, 100, POLICY);
            waits.push(next.locked_until - 100);
            c = Some(next);
        }
        assert_eq!(waits, vec![2, 3, 5, 9, 9, 9], "1, 2, 4, 8 s from anywhere in second 100");
        let later = FailureCounter::after_failure(c, 100 + 60, POLICY);
        assert_eq!(later.failures, 1, "a new window starts");
        assert_eq!(later.locked_until, 109, "a running lock-out is never shortened");
    }

    #[test]
    fn reservations_count_before_the_check_and_stop_at_the_budget() {
        let mut c = None;
        let mut admitted = 0;
        // A burst in one second: the budget is admitted, the rest refused without counting.
        for _ in 0..100 {
            match FailureCounter::reserve(c, 100, POLICY) {
                LoginReservation::Admitted(next) => {
                    admitted += 1;
                    c = Some(next);
                }
                LoginReservation::Locked { until } => assert_eq!(until, 102),
            }
        }
        assert_eq!(admitted, POLICY.limit);
        assert_eq!(c.map(|c| c.failures), Some(POLICY.limit));
        // Once the lock-out ends, one more attempt is admitted, and it doubles the lock-out.
        assert_eq!(FailureCounter::reserve(c, 101, POLICY), LoginReservation::Locked { until: 102 });
        let LoginReservation::Admitted(next) = FailureCounter::reserve(c, 102, POLICY) else {
            panic!("admitted after the lock-out");
        };
        assert_eq!(next.locked_until, 105);
    }
}
