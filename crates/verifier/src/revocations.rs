//! Revocation awareness: the brand's revocation feed, followed by long-polling, folded into a
//! small in-memory state that every verification consults.
//!
//! The feed (`GET {issuer}/revocations?after={cursor}&wait={s}`, HTTP Basic client
//! authentication) lists, in commit order, revoked tokens (`token`: a jti), blanket revocations
//! of a subject or a client (`subject`, `client`: tokens issued at or before `revoked_at`),
//! tokens approved again (`approved`: a jti) and changed API tokens (`api_token`: a user id).
//! A long-poll returns as soon as an entry is committed, so a revocation reaches the verifier
//! within the server's propagation time (well under a second).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use portcullis_core::AccessTokenClaims;
use serde::Deserialize;

use crate::config::{ClientCredentials, FeedOutage, RevocationFeed};
use crate::error::SetupError;

/// The server's longest long-poll.
const MAX_WAIT: Duration = Duration::from_secs(25);
/// The shortest long-poll: a wait of zero would make the follower spin.
const MIN_WAIT: Duration = Duration::from_secs(1);
/// First and longest pause between attempts while the feed is unreachable.
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// One entry on the wire.
#[derive(Debug, Deserialize)]
pub(crate) struct Entry {
    pub(crate) kind: String,
    pub(crate) value: String,
    pub(crate) revoked_at: i64,
    pub(crate) expires_at: i64,
}

/// One page on the wire.
#[derive(Debug, Deserialize)]
pub(crate) struct Page {
    pub(crate) revocations: Vec<Entry>,
    pub(crate) cursor: String,
    pub(crate) more: bool,
}

/// What the feed has said so far, pruned as entries expire.
#[derive(Debug, Default)]
pub(crate) struct Revoked {
    /// Revoked access tokens: jti → when its entry may be forgotten.
    tokens: HashMap<String, i64>,
    /// Blanket revocations: subject → (revoked at, forget after).
    subjects: HashMap<String, (i64, i64)>,
    /// Blanket revocations: client id → (revoked at, forget after).
    clients: HashMap<String, (i64, i64)>,
}

impl Revoked {
    /// Whether the feed refuses a token with these claims.
    pub(crate) fn refuses(&self, claims: &AccessTokenClaims) -> bool {
        let blanket =
            |map: &HashMap<String, (i64, i64)>, key: &str| map.get(key).is_some_and(|(at, _)| claims.iat <= *at);
        self.tokens.contains_key(&claims.jti)
            || blanket(&self.subjects, &claims.sub)
            || blanket(&self.clients, &claims.client_id)
    }

    /// Applies one entry. Returns the user id whose cached API-token answers must be
    /// forgotten, if the entry concerns one.
    pub(crate) fn apply(&mut self, entry: Entry) -> Option<String> {
        let blanket = |map: &mut HashMap<String, (i64, i64)>, e: Entry| {
            let slot = map.entry(e.value).or_insert((e.revoked_at, e.expires_at));
            *slot = (slot.0.max(e.revoked_at), slot.1.max(e.expires_at));
        };
        match entry.kind.as_str() {
            "token" => {
                self.tokens.insert(entry.value, entry.expires_at);
            }
            "approved" => {
                self.tokens.remove(&entry.value);
            }
            "subject" => {
                let subject = entry.value.clone();
                blanket(&mut self.subjects, entry);
                return Some(subject);
            }
            "client" => blanket(&mut self.clients, entry),
            "api_token" => return Some(entry.value),
            other => tracing::debug!(kind = other, "ignoring a revocation-feed entry of an unknown kind"),
        }
        None
    }

    /// Forgets entries after which every token they refuse has expired.
    pub(crate) fn prune(&mut self, now: i64) {
        self.tokens.retain(|_, until| *until >= now);
        self.subjects.retain(|_, (_, until)| *until >= now);
        self.clients.retain(|_, (_, until)| *until >= now);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.tokens.len() + self.subjects.len() + self.clients.len()
    }
}

/// The shared state of one verifier's feed follower.
#[derive(Debug)]
pub(crate) struct FeedState {
    revoked: RwLock<Revoked>,
    /// Since when the feed has been unreachable; `None` while it answers.
    outage_since: Mutex<Option<Instant>>,
    on_outage: FeedOutage,
}

impl FeedState {
    fn new(on_outage: FeedOutage) -> Self {
        Self { revoked: RwLock::new(Revoked::default()), outage_since: Mutex::new(None), on_outage }
    }

    /// Whether the feed refuses a token with these claims.
    pub(crate) fn refuses(&self, claims: &AccessTokenClaims) -> bool {
        self.revoked.read().unwrap_or_else(PoisonError::into_inner).refuses(claims)
    }

    /// Whether tokens must be refused because the feed has been down too long.
    pub(crate) fn failed_closed(&self) -> bool {
        let FeedOutage::FailClosed { grace } = self.on_outage else {
            return false;
        };
        self.outage_since.lock().unwrap_or_else(PoisonError::into_inner).is_some_and(|since| since.elapsed() > grace)
    }

    /// Records the end of an outage (`None`), or a failed request that started at `started`:
    /// the outage is counted from there, so a server that went silent during a long-poll has
    /// been down since the poll began.
    fn set_outage(&self, failed_request_started: Option<Instant>) {
        let mut since = self.outage_since.lock().unwrap_or_else(PoisonError::into_inner);
        match (failed_request_started, *since) {
            (None, _) => *since = None,
            (Some(started), None) => *since = Some(started),
            (Some(_), Some(_)) => {}
        }
    }

    fn in_outage(&self) -> bool {
        self.outage_since.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }
}

/// Who wants to hear about API tokens that changed (the API-token cache).
pub(crate) type Forget = Arc<dyn Fn(&str) + Send + Sync>;

/// The timing a follower inherits from the verifier.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Timeout of each request, on top of the long-poll's wait.
    pub(crate) http_timeout: Duration,
    /// The verifier's leeway on `exp`: an entry is kept that much past its expiry, since the
    /// token it refuses is accepted that long.
    pub(crate) leeway: Duration,
}

/// Reads the feed.
struct Reader {
    http: reqwest::Client,
    url: String,
    client: ClientCredentials,
    wait: Duration,
    timing: Timing,
}

/// Why a page could not be read.
#[derive(Debug)]
enum PageError {
    /// The issuer refused the cursor (400): it no longer knows it, e.g. after an upgrade changed
    /// the cursors' form. The follower reads the feed again from the start.
    CursorRefused,
    /// Anything else: an outage.
    Failed(String),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CursorRefused => f.write_str("the issuer refused the cursor"),
            Self::Failed(reason) => f.write_str(reason),
        }
    }
}

impl Reader {
    async fn page(&self, cursor: &str, wait: Duration) -> Result<Page, PageError> {
        let response = self
            .client
            .authorize(self.http.get(&self.url))
            .query(&[("after", cursor), ("wait", &wait.as_secs().to_string())])
            .timeout(self.timing.http_timeout + wait)
            .send()
            .await
            .map_err(|e| PageError::Failed(crate::error::describe(e)))?;
        let status = response.status();
        if status == reqwest::StatusCode::BAD_REQUEST && cursor != START {
            return Err(PageError::CursorRefused);
        }
        if !status.is_success() {
            return Err(PageError::Failed(format!("HTTP {status}")));
        }
        crate::body::json::<Page>(response, crate::limits::MAX_FEED_PAGE_BODY)
            .await
            .map_err(|e| PageError::Failed(e.to_string()))
    }
}

/// Folds a page into the state.
fn apply(state: &FeedState, forget: Option<&Forget>, page: Page, leeway: Duration) {
    let mut changed_users = Vec::new();
    {
        let mut revoked = state.revoked.write().unwrap_or_else(PoisonError::into_inner);
        for entry in page.revocations {
            changed_users.extend(revoked.apply(entry));
        }
        revoked.prune(unix_now() - i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX / 2));
    }
    if let Some(forget) = forget {
        for user in &changed_users {
            forget(user);
        }
    }
}

/// The follower task, aborted when the verifier that owns it is dropped.
#[derive(Debug)]
pub(crate) struct Follower {
    pub(crate) state: Arc<FeedState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the whole feed once, then follows it on a background task.
pub(crate) async fn follow(
    http: reqwest::Client,
    issuer: &str,
    client: ClientCredentials,
    feed: RevocationFeed,
    timing: Timing,
    forget: Option<Forget>,
) -> Result<Follower, SetupError> {
    let wait = Duration::from_secs(feed.wait.as_secs()).clamp(MIN_WAIT, MAX_WAIT);
    let reader = Reader { http, url: format!("{issuer}/revocations"), client, wait, timing };
    let state = Arc::new(FeedState::new(feed.on_outage));
    let mut cursor = START.to_owned();
    // The backlog first, so that nothing revoked before this start is accepted.
    loop {
        match reader.page(&cursor, Duration::ZERO).await {
            Ok(page) => {
                let more = page.more;
                cursor.clone_from(&page.cursor);
                apply(&state, forget.as_ref(), page, timing.leeway);
                if !more {
                    break;
                }
            }
            Err(error) => {
                let reason = error.to_string();
                if let FeedOutage::FailClosed { .. } = feed.on_outage {
                    return Err(SetupError::Feed { url: reader.url.clone(), reason });
                }
                tracing::warn!(url = %reader.url, %reason, "revocation feed unreachable at start; following it in the background");
                state.set_outage(Some(Instant::now()));
                break;
            }
        }
    }
    let task = tokio::spawn(run(reader, Arc::clone(&state), cursor, forget));
    Ok(Follower { state, task })
}

/// The cursor of the feed's start.
const START: &str = "0";

async fn run(reader: Reader, state: Arc<FeedState>, mut cursor: String, forget: Option<Forget>) {
    let mut pause = RETRY_FIRST;
    loop {
        // While catching up after an outage, ask for pages at once rather than long-polling.
        let wait = if state.in_outage() { Duration::ZERO } else { reader.wait };
        let started = Instant::now();
        match reader.page(&cursor, wait).await {
            Ok(page) => {
                let caught_up = !page.more;
                pause = RETRY_FIRST;
                cursor.clone_from(&page.cursor);
                apply(&state, forget.as_ref(), page, reader.timing.leeway);
                // The outage ends only once every entry it hid has been applied.
                if caught_up {
                    state.set_outage(None);
                }
                if caught_up && wait.is_zero() {
                    // An immediate answer: pause briefly before the next (long) poll.
                    tokio::time::sleep(RETRY_FIRST).await;
                }
            }
            Err(PageError::CursorRefused) => {
                // Applying an entry twice changes nothing: reading from the start is safe.
                tracing::warn!(url = %reader.url, "the issuer refused the feed cursor; reading the feed again from the start");
                cursor = START.to_owned();
            }
            Err(PageError::Failed(reason)) => {
                if !state.in_outage() {
                    tracing::warn!(url = %reader.url, %reason, "revocation feed unreachable; retrying");
                }
                state.set_outage(Some(started));
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RETRY_MAX);
            }
        }
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use portcullis_core::{ActType, Audience};

    use super::*;

    fn claims(jti: &str, sub: &str, client: &str, iat: i64) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "http://id/brands/acme".into(),
            sub: sub.into(),
            aud: Audience::One("api".into()),
            exp: iat + 900,
            iat,
            jti: jti.into(),
            client_id: client.into(),
            scope: "read".into(),
            brand: "acme".into(),
            act_type: ActType::User,
        }
    }

    fn entry(kind: &str, value: &str, revoked_at: i64, expires_at: i64) -> Entry {
        Entry { kind: kind.into(), value: value.into(), revoked_at, expires_at }
    }

    #[test]
    fn entries_refuse_what_they_name_and_nothing_else() {
        let mut revoked = Revoked::default();
        assert_eq!(revoked.apply(entry("token", "j1", 100, 1000)), None);
        assert!(revoked.refuses(&claims("j1", "u1", "c1", 50)));
        assert!(!revoked.refuses(&claims("j2", "u1", "c1", 50)));

        assert_eq!(revoked.apply(entry("subject", "u2", 100, 1000)), Some("u2".into()));
        assert!(revoked.refuses(&claims("j3", "u2", "c1", 100)), "issued at the revocation instant");
        assert!(!revoked.refuses(&claims("j4", "u2", "c1", 101)), "issued after it (re-enabled user)");

        revoked.apply(entry("client", "c2", 200, 1000));
        assert!(revoked.refuses(&claims("j5", "u9", "c2", 150)));
        assert!(!revoked.refuses(&claims("j6", "u9", "c2", 201)));
        // A later blanket revocation of the same client moves the instant forward.
        revoked.apply(entry("client", "c2", 300, 900));
        assert!(revoked.refuses(&claims("j6", "u9", "c2", 201)));

        revoked.apply(entry("approved", "j1", 400, 1000));
        assert!(!revoked.refuses(&claims("j1", "u1", "c1", 50)), "approved again");

        assert_eq!(revoked.apply(entry("api_token", "u7", 500, 500)), Some("u7".into()));
        assert_eq!(revoked.apply(entry("something-new", "x", 1, 1)), None, "unknown kinds are ignored");
    }

    #[test]
    fn expired_entries_are_pruned() {
        let mut revoked = Revoked::default();
        revoked.apply(entry("token", "j1", 100, 200));
        revoked.apply(entry("subject", "u1", 100, 300));
        revoked.apply(entry("client", "c1", 100, 400));
        revoked.prune(250);
        assert_eq!(revoked.len(), 2);
        revoked.prune(401);
        assert_eq!(revoked.len(), 0);
    }

    #[test]
    fn fail_closed_waits_out_the_grace_period() {
        let state = FeedState::new(FeedOutage::FailClosed { grace: Duration::from_secs(10) });
        assert!(!state.failed_closed());
        // A request that started long ago and failed only now: the outage began with it.
        let long_ago = Instant::now().checked_sub(Duration::from_secs(11)).expect("an instant 11 s ago");
        state.set_outage(Some(long_ago));
        assert!(state.failed_closed());
        state.set_outage(None);
        assert!(!state.failed_closed());
        state.set_outage(Some(Instant::now()));
        assert!(!state.failed_closed(), "within the grace period");
        let lenient = FeedState::new(FeedOutage::KeepServing);
        lenient.set_outage(Some(long_ago));
        assert!(!lenient.failed_closed());
    }
}
