//! Signing people in: checking a user's or operator's password under the brute-force
//! throttle (shared by the password grants and the login page), and the browser login
//! sessions behind single sign-on.

use portcullis_credentials::password::{verify_password, verify_password_of_unknown_user};
use portcullis_credentials::secret::{RevealedSecret, generate_secret, hash_secret};
use portcullis_tenancy::{
    AuditEvent, AuditStore, BrandScope, LockoutPolicy, LoginReservation, LoginSession, LoginStore, LoginThrottleStore,
    Principal, PrincipalKind, PrincipalStore,
};

use crate::provision::{MAX_USERNAME, normalise_username, username_key};
use crate::{GrantContext, GrantError, GrantResult};

/// Failed logins per (brand, username): 5 a minute, then a lock-out of 1 s doubling to 60 s.
/// The counters live in the database, so every server process enforces the same lock-out.
pub const LOGIN_LOCKOUT: LockoutPolicy = LockoutPolicy { window: 60, limit: 5, max_lockout: 60 };

/// The one answer to a failed login, whatever failed: no user enumeration.
pub const BAD_LOGIN: &str = "invalid username or password";

/// The prefix of session cookie values.
pub const SESSION_PREFIX: &str = "pss";

/// One sign-in attempt. `Debug` hides the password.
pub struct Attempt<'a> {
    /// User or operator.
    pub kind: PrincipalKind,
    /// The presented username.
    pub username: &'a str,
    /// The presented password.
    pub password: &'a str,
    /// The peer address, for the throttle and the audit log.
    pub source: Option<&'a str>,
    /// Where the attempt was made (`password`, `login_page`…), for the audit log.
    pub channel: &'a str,
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("kind", &self.kind)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("source", &self.source)
            .field("channel", &self.channel)
            .finish()
    }
}

/// Checks a username and password of the scoped brand. Refuses while the source address or
/// the username is throttled ([`GrantError::Throttled`]); every other failure is the same
/// [`GrantError::InvalidGrant`] with [`BAD_LOGIN`], after the same Argon2 work. Each attempt
/// is counted towards both lock-outs before its password is checked, and given back when the
/// password is right. Successes and failures are audited, never with the password.
pub async fn authenticate_principal<S>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    attempt: &Attempt<'_>,
) -> GrantResult<Principal>
where
    S: PrincipalStore + LoginThrottleStore + AuditStore,
{
    let now = ctx.clock.now();
    // Every attempt is reserved before its check (Argon2 takes tens of milliseconds): first
    // for its address, then for its username in the database, shared by every process. A
    // reservation counts as a failure until a correct password gives it back, so no burst,
    // however concurrent, gets more checks than the budgets allow.
    if let Some(source) = attempt.source {
        ctx.throttle.reserve_source(source, now).map_err(|retry_after| GrantError::Throttled { retry_after })?;
    }
    let outcome = check_reserved(ctx, scope, attempt, now).await;
    if let (Ok(_) | Err(GrantError::Throttled { .. }), Some(source)) = (&outcome, attempt.source) {
        // A success, or a refusal that checked nothing, gives the address's reservation back.
        ctx.throttle.release_source(source);
    }
    outcome
}

/// [`authenticate_principal`] once the address's attempt is reserved.
async fn check_reserved<S>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    attempt: &Attempt<'_>,
    now: i64,
) -> GrantResult<Principal>
where
    S: PrincipalStore + LoginThrottleStore + AuditStore,
{
    // The stored form of the name, and the key its spellings share (`Alice`, `alice` and
    // fullwidth `ａｌｉｃｅ` are one account, and so one lock-out).
    let username = normalise_username(attempt.username);
    if username.chars().count() > MAX_USERNAME {
        // No principal has such a name: refused without a counter row or an audit event, so
        // that made-up long names cannot fill the database; the address still counts it.
        return Err(GrantError::InvalidGrant(BAD_LOGIN.into()));
    }
    // An operator's lock-out is its own: locking out operator `opa` must not lock out user `opa`.
    // The separator is a control character, which no username may contain, so keys cannot meet.
    let key = match attempt.kind {
        PrincipalKind::User => username_key(&username),
        PrincipalKind::Operator => format!("{}\u{1f}operator", username_key(&username)),
    };
    if let LoginReservation::Locked { until } = ctx.store.reserve_login_attempt(scope, &key, now, LOGIN_LOCKOUT).await?
    {
        audit(ctx, scope, attempt, "login.throttled", now).await;
        return Err(GrantError::Throttled { retry_after: u64::try_from(until - now).unwrap_or(1) });
    }
    let principal = ctx.store.find_principal(scope, attempt.kind, &username).await?;
    let stored_hash = principal.as_ref().map(|p| p.password_hash.clone());
    let presented = attempt.password.to_owned();
    // Argon2id takes tens of milliseconds: keep it off the runtime's worker threads. Unknown
    // users cost the same work as wrong passwords. When the password threads are saturated the
    // attempt is refused (429) and the username's reservation stays counted: a flood cannot be used to
    // test more passwords later.
    let verified = crate::password_work::run(scope.brand_id(), move || match stored_hash {
        Some(hash) => verify_password(&presented, &hash),
        None => verify_password_of_unknown_user(&presented),
    })
    .await?;
    match principal {
        Some(p) if verified && p.enabled => {
            ctx.store.clear_login_failures(scope, &key).await?;
            audit(ctx, scope, attempt, "login.succeeded", now).await;
            Ok(p)
        }
        _ => {
            audit(ctx, scope, attempt, "login.failed", now).await;
            Err(GrantError::InvalidGrant(BAD_LOGIN.into()))
        }
    }
}

/// Audits a sign-in attempt: a success on its own row, a failure or a refusal folded with the
/// others from its address ([`crate::failure_audit`]), so that a flood writes few rows.
async fn audit<S: AuditStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    attempt: &Attempt<'_>,
    action: &str,
    now: i64,
) {
    let shown: String = attempt.username.chars().filter(|c| !c.is_control()).take(64).collect();
    let event = AuditEvent {
        at: now,
        actor: format!("username:{shown}"),
        action: action.into(),
        target: None,
        source: attempt.source.map(str::to_owned),
        detail: Some(attempt.channel.to_owned()),
    };
    if action != "login.succeeded" {
        ctx.failure_audit.record(&ctx.store, scope, event).await;
    } else if let Err(e) = ctx.store.record_event(scope, event).await {
        tracing::warn!(error = %e, action, "could not write an audit event");
    }
}

/// Starts a login session for `subject`, authenticated at `auth_time`. Returns the cookie value
/// (shown only to the browser; the store keeps its hash) and the session.
pub async fn start_session<S: LoginStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    subject: &str,
    auth_time: i64,
) -> GrantResult<(RevealedSecret, LoginSession)> {
    let (value, hash) = generate_secret(SESSION_PREFIX)?;
    let session = LoginSession {
        session_hash: hash.as_str().to_owned(),
        subject: subject.to_owned(),
        auth_time,
        sid: crate::random_id()?,
        expires_at: auth_time + i64::from(ctx.defaults.session_ttl),
    };
    ctx.store.create_session(scope, session.clone()).await?;
    Ok((value, session))
}

/// The live session behind a cookie value and its user: `None` when the cookie names no
/// session of this brand, the session has expired, or the user is gone or disabled.
pub async fn current_session<S: LoginStore + PrincipalStore>(
    ctx: &GrantContext<S>,
    scope: &BrandScope,
    cookie: &str,
) -> GrantResult<Option<(LoginSession, Principal)>> {
    let Some(session) = ctx.store.find_session(scope, hash_secret(cookie).as_str()).await? else {
        return Ok(None);
    };
    if session.expires_at <= ctx.clock.now() {
        return Ok(None);
    }
    let principal = ctx.store.find_principal_by_id(scope, &session.subject).await?;
    Ok(principal.filter(|p| p.enabled && p.kind == PrincipalKind::User).map(|p| (session, p)))
}

/// Ends the session behind a cookie value. Returns whether there was one.
pub async fn end_session<S: LoginStore>(ctx: &GrantContext<S>, scope: &BrandScope, cookie: &str) -> GrantResult<bool> {
    Ok(ctx.store.end_session(scope, hash_secret(cookie).as_str()).await?)
}
