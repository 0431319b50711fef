//! `GET /brands/{k}/revocations?after={cursor}`: the revocation feed for verifiers.
//!
//! Client-authenticated (HTTP Basic). Three ways to follow it:
//!
//! * plain: `?after=N` answers at once with up to [`PAGE`] entries after cursor `N`;
//! * long-poll: `&wait=S` (1 to [`MAX_WAIT`] seconds) holds the request until an entry arrives
//!   or the time is up (then an empty page);
//! * server-sent events: `Accept: text/event-stream` streams every entry after `after` (or the
//!   `Last-Event-ID` header) as an `event: revocation` whose `id` is its cursor, with keep-alive
//!   comments. A stream lives at most [`FeedLimits::max_stream`](crate::FeedLimits), and ends
//!   within [`RECHECK`] of its client being disabled, deleted or given a new secret; the
//!   follower reconnects with `Last-Event-ID` (and authenticates again).
//!
//! Long-polls and streams are held requests: each client, each address and the process may
//! hold only so many at once ([`crate::FeedLimits`]); past that the answer is 429 with
//! `Retry-After`. Followers woken by the same change share one read of the feed
//! ([`crate::feed_reads`]).
//!
//! Cursors are opaque strings, sealed for the brand ([`crate::feed_cursor`]): a follower stores the
//! last one it processed and resumes there, and starts at `0`.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use http::HeaderMap;
use http::header::ACCEPT;
use portcullis_core::ClientId;
use portcullis_tenancy::{BrandId, BrandScope, Revocation, Storage};
use serde::Serialize;
use tokio::sync::watch;

use crate::brand::{BrandParam, scope_or_400};
use crate::client_auth::{authenticate_basic, source_of};
use crate::feed_cursor::{CursorCodec, WireCursor};
use crate::feed_holds::Hold;
use crate::feed_reads::{Entries, SharedReads};
use crate::form::parse_pairs;
use crate::shutdown::Shutdown;
use crate::{AppState, OAuthError, no_store};

/// Most entries in one page or one read of the stream.
pub const PAGE: u64 = 500;

/// Longest long-poll, seconds; below the request timeout so a wait always ends in a 200.
pub const MAX_WAIT: u64 = 25;

/// Interval of keep-alive comments on event streams.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One feed entry on the wire.
#[derive(Debug, Serialize)]
struct Entry {
    cursor: String,
    kind: &'static str,
    value: String,
    revoked_at: i64,
    expires_at: i64,
}

impl Entry {
    /// The wire form of `r`, its cursor sealed for `brand`.
    fn new(cursors: &CursorCodec, brand: BrandId, r: &Revocation) -> Self {
        Self {
            cursor: cursors.seal(brand, r.cursor),
            kind: r.kind.as_str(),
            value: r.value.clone(),
            revoked_at: r.revoked_at,
            expires_at: r.expires_at,
        }
    }
}

/// A page: the entries and the cursor to resume after.
#[derive(Debug, Serialize)]
struct Page {
    revocations: Vec<Entry>,
    cursor: String,
    more: bool,
}

/// What the query string asks for.
#[derive(Debug)]
pub(crate) struct Query {
    /// Entries after this cursor.
    pub(crate) after: WireCursor,
    /// How long to wait for one when there is none yet.
    pub(crate) wait: Duration,
}

/// The refusal of a cursor this feed did not hand out.
fn foreign_cursor() -> OAuthError {
    OAuthError::invalid_request("after must be 0 or a cursor returned by this brand's feed")
}

/// A cursor from `after` or `Last-Event-ID`, checked for form: `0` or a sealed cursor
/// ([`crate::feed_cursor`]).
pub(crate) fn parse_cursor(text: &str) -> Result<WireCursor, OAuthError> {
    WireCursor::parse(text).ok_or_else(foreign_cursor)
}

/// The feed's query string: `after` (a cursor, default 0) and `wait` (0 to [`MAX_WAIT`] seconds,
/// default 0), each at most once.
pub(crate) fn parse_query(raw: Option<&str>) -> Result<Query, OAuthError> {
    let pairs = parse_pairs(raw.unwrap_or_default().as_bytes(), &[])?;
    let after = pairs.get("after").map(parse_cursor).transpose()?.unwrap_or(WireCursor::Start);
    let wait = match pairs.get("wait") {
        None => 0,
        Some(text) => text.parse::<u64>().ok().filter(|w| *w <= MAX_WAIT).ok_or_else(|| {
            OAuthError::invalid_request(format!("wait must be a number of seconds from 0 to {MAX_WAIT}"))
        })?,
    };
    Ok(Query { after, wait: Duration::from_secs(wait) })
}

fn wants_events(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with("text/event-stream")))
}

/// The feed handler.
pub(crate) async fn handle<S: Storage>(
    State(state): State<AppState<S>>,
    BrandParam(brand): BrandParam,
    request: Request,
) -> Response {
    answer(state, &brand, request).await.unwrap_or_else(IntoResponse::into_response)
}

async fn answer<S: Storage>(state: AppState<S>, brand: &str, request: Request) -> Result<Response, OAuthError> {
    let scope = scope_or_400(&state.grants.store, brand).await?;
    let source = source_of(&request);
    let client = authenticate_basic(&state, &scope, request.headers(), source.as_deref()).await?;
    let mut query = parse_query(request.uri().query())?;
    let events = wants_events(request.headers());
    if events && let Some(last) = request.headers().get("last-event-id").and_then(|v| v.to_str().ok()) {
        query.after = parse_cursor(last.trim())?;
    }
    let after = state.feed.cursors.open(scope.brand_id(), query.after).ok_or_else(foreign_cursor)?;
    // Event streams and long-polls hold their connection; a plain read does not.
    let hold = if events || !query.wait.is_zero() {
        Some(state.feed.holds.take(scope.brand_id(), client.client_id.as_str(), source.as_deref())?)
    } else {
        None
    };
    if events {
        let lifetime = state.feed.holds.limits().max_stream;
        let follower = Follower {
            store: state.grants.store.clone(),
            reads: state.feed.reads.clone(),
            cursors: state.feed.cursors.clone(),
            scope,
            holder: Holder { client_id: client.client_id, secret_hash: client.secret_hash, _hold: hold },
            cursor: after,
            pending: Entries::from([]),
            next: 0,
            changes: state.grants.feed.subscribe(),
            shutdown: state.shutdown,
            ends_at: Instant::now() + lifetime,
            next_check: Instant::now() + RECHECK,
        };
        return Ok(Sse::new(follow(follower)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response());
    }
    // Subscribe before reading, so that a revocation committed in between still wakes us.
    let mut changes = state.grants.feed.subscribe();
    let deadline = tokio::time::Instant::now() + query.wait;
    let entries = loop {
        let generation = *changes.borrow_and_update();
        let entries = state.feed.reads.after(&state.grants.store, &scope, after, PAGE, generation).await?;
        if !entries.is_empty() || tokio::time::Instant::now() >= deadline {
            break entries;
        }
        tokio::select! {
            changed = tokio::time::timeout_at(deadline, changes.changed()) => {
                if !matches!(changed, Ok(Ok(()))) {
                    break Entries::from([]);
                }
            }
            () = state.shutdown.wait() => break Entries::from([]),
        }
    };
    let more = u64::try_from(entries.len()).unwrap_or(u64::MAX) >= PAGE;
    let (cursors, brand) = (&state.feed.cursors, scope.brand_id());
    let cursor = cursors.seal(brand, entries.last().map_or(after, |e| e.cursor));
    let page = Page { revocations: entries.iter().map(|e| Entry::new(cursors, brand, e)).collect(), cursor, more };
    Ok(no_store(Json(page).into_response()))
}

/// How often an event stream checks that its client may still follow the feed.
const RECHECK: Duration = Duration::from_secs(5);

/// The client an event stream was opened by, as it was then, and its place among the held
/// feed requests.
struct Holder {
    client_id: ClientId,
    secret_hash: String,
    /// Always taken for a stream; given back when the stream ends.
    _hold: Option<Hold>,
}

/// The state of one event stream.
struct Follower<S> {
    store: S,
    reads: SharedReads,
    cursors: CursorCodec,
    scope: BrandScope,
    holder: Holder,
    cursor: i64,
    /// Entries read and not yet sent: `pending[next..]`.
    pending: Entries,
    next: usize,
    changes: watch::Receiver<u64>,
    shutdown: Shutdown,
    /// When the stream ends, so that the follower reconnects (and authenticates again).
    ends_at: Instant,
    /// When the client is next looked at.
    next_check: Instant,
}

impl<S: Storage> Follower<S> {
    /// Whether the client that opened the stream may still follow it: it exists, is enabled,
    /// and its secret has not been rotated since (a rotation is how a leaked secret is cut off).
    async fn still_allowed(&mut self) -> bool {
        self.next_check = Instant::now() + RECHECK;
        match self.store.find_client(&self.scope, &self.holder.client_id).await {
            Ok(Some(client)) => client.enabled && client.secret_hash == self.holder.secret_hash,
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, "revocation stream ended: could not re-check its client");
                false
            }
        }
    }
}

/// Every entry after the follower's cursor, then each new one as it is committed, until the
/// stream's lifetime is over, its client is disabled, deleted or re-keyed, the server shuts
/// down, or storage fails. The follower then reconnects with `Last-Event-ID`.
fn follow<S: Storage + 'static>(start: Follower<S>) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    stream::unfold(start, |mut f| async move {
        loop {
            if Instant::now() >= f.ends_at {
                return None;
            }
            if Instant::now() >= f.next_check && !f.still_allowed().await {
                return None;
            }
            if let Some(entry) = f.pending.get(f.next) {
                f.next += 1;
                let entry = Entry::new(&f.cursors, f.scope.brand_id(), entry);
                let event = Event::default().event("revocation").id(entry.cursor.clone()).json_data(entry).ok()?;
                return Some((Ok(event), f));
            }
            let generation = *f.changes.borrow_and_update();
            match f.reads.after(&f.store, &f.scope, f.cursor, PAGE, generation).await {
                Ok(entries) if !entries.is_empty() => {
                    f.cursor = entries.last().map_or(f.cursor, |e| e.cursor);
                    (f.pending, f.next) = (entries, 0);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "revocation stream ended: storage failed");
                    return None;
                }
            }
            let wake = f.ends_at.min(f.next_check);
            tokio::select! {
                changed = f.changes.changed() => changed.ok()?,
                () = tokio::time::sleep_until(wake.into()) => {}
                () = f.shutdown.wait() => return None,
            }
        }
    })
}
