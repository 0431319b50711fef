//! Shared state of the routers.

use portcullis_grants::GrantContext;

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
}
