//! `GET /brands/{k}/revocations?after={cursor}`: the revocation feed for verifiers.
//!
//! Client-authenticated (HTTP Basic). Three ways to follow it:
//!
//! * plain: `?after=N` answers at once with up to [`PAGE`] entries after cursor `N`;
//! * long-poll: `&wait=S` (1 to [`MAX_WAIT`] seconds) holds the request until an entry arrives
//!   or the time is up (then an empty page);
//! * server-sent events: `Accept: text/event-stream` streams every entry after `after` (or the
//!   `Last-Event-ID` header) as an `event: revocation` whose `id` is its cursor, with keep-alive
//!   comments, until the server shuts down.
//!
//! Cursors are opaque strings; a follower stores the last one it processed and resumes there.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use http::HeaderMap;
use http::header::ACCEPT;
use portcullis_tenancy::{BrandScope, Revocation, RevocationStore, Storage};
use serde::Serialize;
use tokio::sync::watch;

use crate::brand::{BrandParam, scope_or_400};
use crate::client_auth::{authenticate_basic, source_of};
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

impl From<Revocation> for Entry {
    fn from(r: Revocation) -> Self {
        Self {
            cursor: r.cursor.to_string(),
            kind: r.kind.as_str(),
            value: r.value,
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
    pub(crate) after: i64,
    /// How long to wait for one when there is none yet.
    pub(crate) wait: Duration,
}

/// A cursor from `after` or `Last-Event-ID`: a non-negative integer.
pub(crate) fn parse_cursor(text: &str) -> Result<i64, OAuthError> {
    text.parse::<i64>()
        .ok()
        .filter(|c| *c >= 0)
        .ok_or_else(|| OAuthError::invalid_request("after must be a cursor returned by this feed"))
}

/// The feed's query string: `after` (a cursor, default 0) and `wait` (0 to [`MAX_WAIT`] seconds,
/// default 0), each at most once.
pub(crate) fn parse_query(raw: Option<&str>) -> Result<Query, OAuthError> {
    let pairs = parse_pairs(raw.unwrap_or_default().as_bytes(), &[])?;
    let after = pairs.get("after").map(parse_cursor).transpose()?.unwrap_or(0);
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
    authenticate_basic(&state, &scope, request.headers(), source.as_deref()).await?;
    let mut query = parse_query(request.uri().query())?;
    if wants_events(request.headers()) {
        if let Some(last) = request.headers().get("last-event-id").and_then(|v| v.to_str().ok()) {
            query.after = parse_cursor(last.trim())?;
        }
        let events =
            follow(state.grants.store.clone(), scope, query.after, state.grants.feed.subscribe(), state.shutdown);
        return Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response());
    }
    // Subscribe before reading, so that a revocation committed in between still wakes us.
    let mut changes = state.grants.feed.subscribe();
    let deadline = tokio::time::Instant::now() + query.wait;
    let entries = loop {
        let entries = state.grants.store.revocations_after(&scope, query.after, PAGE).await?;
        if !entries.is_empty() || tokio::time::Instant::now() >= deadline {
            break entries;
        }
        tokio::select! {
            changed = tokio::time::timeout_at(deadline, changes.changed()) => {
                if !matches!(changed, Ok(Ok(()))) {
                    break Vec::new();
                }
            }
            () = state.shutdown.wait() => break Vec::new(),
        }
    };
    let more = u64::try_from(entries.len()).unwrap_or(u64::MAX) >= PAGE;
    let cursor = entries.last().map_or(query.after, |e| e.cursor).to_string();
    let page = Page { revocations: entries.into_iter().map(Entry::from).collect(), cursor, more };
    Ok(no_store(Json(page).into_response()))
}

/// The state of one event stream.
struct Follower<S> {
    store: S,
    scope: BrandScope,
    cursor: i64,
    pending: VecDeque<Revocation>,
    changes: watch::Receiver<i64>,
    shutdown: Shutdown,
}

/// Every entry after `after`, then each new one as it is committed, until shutdown or a
/// storage failure (the follower reconnects with `Last-Event-ID`).
fn follow<S: RevocationStore + Clone + 'static>(
    store: S,
    scope: BrandScope,
    after: i64,
    changes: watch::Receiver<i64>,
    shutdown: Shutdown,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let start = Follower { store, scope, cursor: after, pending: VecDeque::new(), changes, shutdown };
    stream::unfold(start, |mut f| async move {
        loop {
            if let Some(entry) = f.pending.pop_front() {
                let id = entry.cursor.to_string();
                let event = Event::default().event("revocation").id(id).json_data(Entry::from(entry)).ok()?;
                return Some((Ok(event), f));
            }
            match f.store.revocations_after(&f.scope, f.cursor, PAGE).await {
                Ok(entries) if !entries.is_empty() => {
                    f.cursor = entries.last().map_or(f.cursor, |e| e.cursor);
                    f.pending.extend(entries);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "revocation stream ended: storage failed");
                    return None;
                }
            }
            tokio::select! {
                changed = f.changes.changed() => changed.ok()?,
                () = f.shutdown.wait() => return None,
            }
        }
    })
}
