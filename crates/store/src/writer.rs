//! Group commit for token records.
//!
//! Issuing a token must not answer before its record is committed, and on SQLite every commit
//! is an fsync under the single write lock. Instead of one transaction per token, requests hand
//! their record to a writer task and wait; the writer takes everything that has queued up
//! (up to [`MAX_BATCH`]), inserts it with one multi-row statement (one commit, one fsync), and
//! then acknowledges every waiter with the same outcome. Under load batches grow by themselves;
//! an idle server commits each record at once, so a lone request waits no longer than before.

use std::sync::Arc;

use portcullis_tenancy::{StoreError, StoreResult};
use sea_orm::{DatabaseConnection, EntityTrait};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::entity::issued_tokens;
use crate::error::map_err;

/// Most records in one commit: 14 columns each stays far below both databases' bind-parameter
/// limits.
pub(crate) const MAX_BATCH: usize = 256;

/// Records waiting beyond this make new requests wait for room (back-pressure, not memory growth).
const QUEUE: usize = 4 * MAX_BATCH;

struct Pending {
    row: issued_tokens::ActiveModel,
    done: oneshot::Sender<StoreResult<()>>,
}

/// The handle requests use; cheap to clone. The writers stop when every handle is dropped.
#[derive(Clone)]
pub(crate) struct TokenWriter {
    queue: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for TokenWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenWriter").field("capacity", &self.queue.capacity()).finish()
    }
}

impl TokenWriter {
    /// Starts `writers` writer tasks on the current runtime. One is right for SQLite (one
    /// writer at a time anyway); a few let Postgres commit batches in parallel.
    pub(crate) fn start(db: DatabaseConnection, writers: usize) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            tokio::spawn(run(db.clone(), Arc::clone(&receiver)));
        }
        Self { queue }
    }

    /// Queues a record and waits until the batch holding it is committed.
    pub(crate) async fn write(&self, row: issued_tokens::ActiveModel) -> StoreResult<()> {
        let (done, committed) = oneshot::channel();
        self.queue.send(Pending { row, done }).await.map_err(|_| stopped())?;
        committed.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the token-record writer has stopped".into())
}

async fn run(db: DatabaseConnection, receiver: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            // One writer collects while the others commit.
            let mut receiver = receiver.lock().await;
            if receiver.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return;
            }
        }
        let rows: Vec<_> = batch.iter().map(|p| p.row.clone()).collect();
        match insert(&db, rows).await {
            Err(StoreError::Conflict(_)) if batch.len() > 1 => {
                // One bad record must not fail the others: commit them one by one.
                for pending in batch.drain(..) {
                    let outcome = insert(&db, vec![pending.row]).await;
                    // A waiter that went away (client disconnected) needs no answer.
                    let _ = pending.done.send(outcome);
                }
            }
            outcome => {
                if let Err(e) = &outcome {
                    tracing::error!(error = %e, records = batch.len(), "committing token records failed");
                }
                for pending in batch.drain(..) {
                    let _ = pending.done.send(outcome.clone());
                }
            }
        }
    }
}

/// One multi-row `INSERT`: a single statement, so a single commit.
async fn insert(db: &DatabaseConnection, rows: Vec<issued_tokens::ActiveModel>) -> StoreResult<()> {
    issued_tokens::Entity::insert_many(rows).exec_without_returning(db).await.map(drop).map_err(map_err)
}
