//! Shared state of the routers.

use portcullis_grants::GrantContext;

use crate::feed_cursor::CursorCodec;
use crate::feed_holds::{FeedHolds, FeedLimits};
use crate::feed_reads::SharedReads;
use crate::{Metrics, Shutdown};

/// What handlers need. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState<S> {
    /// The grant engine and its storage.
    pub grants: GrantContext<S>,
    /// Largest request body accepted (bigger ones get 413 with a JSON error).
    pub max_body_bytes: usize,
    /// Ends long-polls and event streams when the server shuts down.
    pub shutdown: Shutdown,
    /// The process's metrics (served on the admin listener).
    pub metrics: Metrics,
    /// The revocation feed's caps on held requests, and its reads shared between followers.
    pub feed: FeedState,
}

/// What every follower of the revocation feed shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FeedState {
    pub(crate) holds: FeedHolds,
    pub(crate) reads: SharedReads,
    pub(crate) cursors: CursorCodec,
}

impl FeedState {
    /// Followers held within `limits`, their cursors sealed by `cursors`.
    pub fn new(limits: FeedLimits, cursors: CursorCodec) -> Self {
        Self { holds: FeedHolds::new(limits), reads: SharedReads::default(), cursors }
    }
}
