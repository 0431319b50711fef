//! A shutdown notice for long-lived responses (event streams, long-polls), so that a graceful
//! shutdown does not wait for followers that would otherwise stay connected for good.

use std::sync::Arc;

use tokio::sync::watch;

/// Cheap to clone; [`Shutdown::wait`] resolves once shutdown has begun.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
    /// For [`Shutdown::never`]: the sender, kept so the channel never closes.
    _never: Option<Arc<watch::Sender<bool>>>,
}

/// The sending half, held by whoever decides to shut down.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl Shutdown {
    /// A pair: trigger it to end every stream handed the [`Shutdown`].
    pub fn new() -> (ShutdownTrigger, Self) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Self { rx, _never: None })
    }

    /// A notice that never fires (tests, tools).
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        Self { rx, _never: Some(Arc::new(tx)) }
    }

    /// Resolves once shutdown has begun (or the trigger is gone).
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        // An error means the trigger was dropped: treat as shutdown.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }
}

impl ShutdownTrigger {
    /// Begins shutdown.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}
