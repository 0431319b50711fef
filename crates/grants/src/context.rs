//! What every grant needs: storage, keys, defaults, a clock.

use std::fmt;
use std::sync::Arc;

use portcullis_tenancy::BrandScope;

use crate::failure_audit::FailureAudit;
use crate::feed::RevocationSignal;
use crate::keyring::KeyRing;
use crate::throttle::Throttle;

/// Configured default lifetimes (seconds), used when neither client nor brand sets one.
#[derive(Debug, Clone, Copy)]
pub struct TokenDefaults {
    /// Access-token lifetime.
    pub access_ttl: u32,
    /// Refresh-token lifetime.
    pub refresh_ttl: u32,
    /// Seconds after a rotation during which the rotated refresh token is still honoured once
    /// more (a client's concurrent retry) instead of being treated as reuse; 0 disables it.
    pub refresh_reuse_grace: u32,
    /// How long a browser login session lasts.
    pub session_ttl: u32,
}

/// The source of "now", in seconds since the epoch. Replaceable in tests.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0)
        }))
    }

    /// A clock that calls `f`.
    pub fn from_fn(f: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// The current time.
    pub fn now(&self) -> i64 {
        (self.0)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// Shared state of the grant engine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GrantContext<S> {
    /// Storage.
    pub store: S,
    /// Signing keys.
    pub keys: KeyRing,
    /// Default lifetimes.
    pub defaults: TokenDefaults,
    /// `http.public_url` without a trailing slash; issuers are `{public_url}/brands/{key}`.
    pub public_url: Arc<str>,
    /// Time source.
    pub clock: Clock,
    /// Failed-authentication counters.
    pub throttle: Throttle,
    /// Wakes revocation-feed followers when this process revokes something.
    pub feed: RevocationSignal,
    /// Folds repeated failed authentications into few audit rows.
    pub failure_audit: FailureAudit,
}

impl<S> GrantContext<S> {
    /// The issuer URL of a brand.
    pub fn issuer(&self, scope: &BrandScope) -> String {
        format!("{}/brands/{}", self.public_url, scope.key())
    }
}
