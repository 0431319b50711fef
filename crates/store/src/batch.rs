//! Batching concurrent requests' database work: requests queue an item and wait for its
//! answer; a worker takes everything that has queued up and does it in one round trip.
//!
//! Used for the token records' group commit ([`crate::writer`]) and for introspection's
//! liveness lookups on Postgres ([`crate::liveness`]). Each item is answered only by work
//! started after it was queued, so batching changes how many round trips there are, never what
//! a request sees: a commit it waited for is on disk, a lookup sees everything committed
//! before the request asked.

use std::sync::Arc;
use std::time::Duration;

use portcullis_tenancy::{StoreError, StoreResult};
use tokio::sync::{Mutex, mpsc, oneshot};

/// Most items in one batch.
pub(crate) const MAX_BATCH: usize = 256;

/// Items waiting beyond this make new requests wait for room (back-pressure, not memory growth).
const QUEUE: usize = 4 * MAX_BATCH;

/// An item and the request waiting for its answer.
pub(crate) struct Pending<T, O> {
    pub(crate) item: T,
    pub(crate) done: oneshot::Sender<StoreResult<O>>,
}

impl<T, O> Pending<T, O> {
    /// Answers the request; one that went away (deadline, disconnect) needs no answer.
    pub(crate) fn answer(self, outcome: StoreResult<O>) {
        let _ = self.done.send(outcome);
    }
}

/// The requests' side of a queue; cheap to clone. Workers stop when every handle is dropped.
pub(crate) struct Queue<T, O> {
    sender: mpsc::Sender<Pending<T, O>>,
    /// The longest a request waits for its answer, queueing included.
    deadline: Duration,
    /// What the workers do, for error messages ("token-record writer").
    worker: &'static str,
}

impl<T, O> Clone for Queue<T, O> {
    fn clone(&self) -> Self {
        Self { sender: self.sender.clone(), deadline: self.deadline, worker: self.worker }
    }
}

impl<T, O> std::fmt::Debug for Queue<T, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("worker", &self.worker).field("capacity", &self.sender.capacity()).finish()
    }
}

impl<T, O> Queue<T, O> {
    /// A queue whose requests wait at most `deadline`, and its workers' end.
    pub(crate) fn new(deadline: Duration, worker: &'static str) -> (Self, mpsc::Receiver<Pending<T, O>>) {
        let (sender, receiver) = mpsc::channel(QUEUE);
        (Self { sender, deadline, worker }, receiver)
    }

    /// Queues `item` and waits for its answer, or fails with [`StoreError::Unavailable`] after
    /// the deadline: a stalled database (a lock held by another session, a slow disk) must not
    /// hold requests, nor pile them up behind it. Work given up on may still be done later.
    pub(crate) async fn submit(&self, item: T) -> StoreResult<O> {
        let (done, answered) = oneshot::channel();
        let stopped = || StoreError::Unavailable(format!("the {} has stopped", self.worker));
        let wait = async {
            self.sender.send(Pending { item, done }).await.map_err(|_| stopped())?;
            answered.await.map_err(|_| stopped())?
        };
        tokio::time::timeout(self.deadline, wait).await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!("the {} did not answer within {:?}", self.worker, self.deadline)))
        })
    }
}

/// Drops the items whose requests gave up waiting (deadline, disconnect): nobody needs them done.
pub(crate) fn forget_abandoned<T, O>(batch: &mut Vec<Pending<T, O>>) {
    batch.retain(|pending| !pending.done.is_closed());
}

/// Starts `workers` tasks on the current runtime sharing `receiver`: one collects while the
/// others work. Each hands every non-empty batch to `work`, which must answer all of it.
pub(crate) fn spawn_workers<T, O, F, Fut>(receiver: mpsc::Receiver<Pending<T, O>>, workers: usize, work: F)
where
    T: Send + 'static,
    O: Send + 'static,
    F: Fn(Vec<Pending<T, O>>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..workers.max(1) {
        let receiver = Arc::clone(&receiver);
        let work = work.clone();
        tokio::spawn(async move {
            loop {
                let mut batch = Vec::with_capacity(MAX_BATCH);
                {
                    let mut receiver = receiver.lock().await;
                    if receiver.recv_many(&mut batch, MAX_BATCH).await == 0 {
                        return;
                    }
                }
                forget_abandoned(&mut batch);
                if !batch.is_empty() {
                    work(batch).await;
                }
            }
        });
    }
}
