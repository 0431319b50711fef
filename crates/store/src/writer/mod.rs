//! Group commit for token records.
//!
//! Issuing a token must not answer before its record is committed, and every commit is a
//! flush to disk (an fsync of SQLite's log under its single write lock, a WAL flush on
//! Postgres). Instead of one transaction per token, requests hand their record to a writer and
//! wait; the writer takes everything that has queued up (up to [`MAX_BATCH`]), inserts it in
//! one transaction (one commit, one flush), and then acknowledges every waiter with the same
//! outcome. Under load batches grow by themselves; an idle server commits each record at once,
//! so a lone request waits no longer than before.
//!
//! The queue and the waiting are the same for both databases; the writers differ:
//!
//! * SQLite ([`sqlite`]): one thread of its own with a connection of its own, which collects
//!   and commits in one place. Going through sqlx, a batch crossed from the request's thread to
//!   a writer task, to sqlx's thread for the connection and back, and each crossing is a
//!   wake-up on another core; the profile showed those hand-offs costing more than the inserts.
//! * Postgres ([`postgres`]): a few tasks on the runtime, so that batches commit in parallel.

mod postgres;
mod sqlite;

use std::time::Duration;

use portcullis_tenancy::{StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};

use crate::entity::issued_tokens;

pub(crate) use postgres::start as start_postgres;
pub(crate) use sqlite::start as start_sqlite;

/// Most records in one commit.
pub(crate) const MAX_BATCH: usize = 256;

/// Records waiting beyond this make new requests wait for room (back-pressure, not memory growth).
const QUEUE: usize = 4 * MAX_BATCH;

/// A record and the request waiting for it.
struct Pending {
    row: issued_tokens::Model,
    done: oneshot::Sender<StoreResult<()>>,
}

/// The handle requests use; cheap to clone. The writers stop when every handle is dropped.
#[derive(Clone)]
pub(crate) struct TokenWriter {
    queue: mpsc::Sender<Pending>,
    /// The longest a request waits for its record to be committed, queueing included.
    deadline: Duration,
}

impl std::fmt::Debug for TokenWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenWriter").field("capacity", &self.queue.capacity()).finish()
    }
}

impl TokenWriter {
    /// A queue for writers to drain, and the handle that feeds it.
    fn channel(deadline: Duration) -> (Self, mpsc::Receiver<Pending>) {
        let (queue, receiver) = mpsc::channel(QUEUE);
        (Self { queue, deadline }, receiver)
    }

    /// Queues a record and waits until the batch holding it is committed, or fails with
    /// [`StoreError::Unavailable`] after the deadline: a stalled database (a lock held by
    /// another session, a slow disk) must not hold requests, nor pile them up behind it. A
    /// record given up on may still be committed later; its token was never handed out.
    pub(crate) async fn write(&self, row: issued_tokens::Model) -> StoreResult<()> {
        let (done, committed) = oneshot::channel();
        let wait = async {
            self.queue.send(Pending { row, done }).await.map_err(|_| stopped())?;
            committed.await.map_err(|_| stopped())?
        };
        tokio::time::timeout(self.deadline, wait).await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!("token record not committed within {:?}", self.deadline)))
        })
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the token-record writer has stopped".into())
}

/// Drops the records whose requests gave up waiting (deadline, disconnect): they will hand out
/// no token, so they need not be committed.
fn forget_abandoned(batch: &mut Vec<Pending>) {
    batch.retain(|pending| !pending.done.is_closed());
}

/// What a writer does with a batch once its insert is over.
enum Settled {
    /// Every waiter has its answer.
    Done,
    /// One record conflicted (a duplicate `jti`) and took the whole batch with it: commit the
    /// records one by one, so that one bad record does not fail the others.
    OneByOne,
}

/// Answers every waiter of `batch` with `outcome`, unless one record's conflict failed the batch.
fn settle(batch: &mut Vec<Pending>, outcome: StoreResult<()>, started: std::time::Instant) -> Settled {
    tracing::debug!(
        records = batch.len(),
        micros = started.elapsed().as_micros(),
        "committed a batch of token records"
    );
    if matches!(outcome, Err(StoreError::Conflict(_))) && batch.len() > 1 {
        return Settled::OneByOne;
    }
    if let Err(e) = &outcome {
        tracing::error!(error = %e, records = batch.len(), "committing token records failed");
    }
    for pending in batch.drain(..) {
        // A waiter that went away (client disconnected) needs no answer.
        let _ = pending.done.send(outcome.clone());
    }
    Settled::Done
}
