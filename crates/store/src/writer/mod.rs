//! Group commit for token records.
//!
//! Issuing a token must not answer before its record is committed, and every commit is a
//! flush to disk (an fsync of SQLite's log under its single write lock, a WAL flush on
//! Postgres). Instead of one transaction per token, requests hand their record to a writer and
//! wait ([`crate::batch`]); the writer takes everything that has queued up, inserts it in
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

/// The columns of `issued_tokens`, in the order in which both writers pass a record's values
/// (Postgres as a JSON array, SQLite as numbered parameters).
macro_rules! columns {
    () => {
        "jti, brand_id, client_id, subject, act_type, grant_type, scopes, audience, issued_at, expires_at, status, \
         revoked_at, attributes, family_id"
    };
}

mod postgres;
mod sqlite;

use portcullis_tenancy::{StoreError, StoreResult};

use crate::batch::{Pending, Queue};
use crate::entity::issued_tokens;

pub(crate) use postgres::start as start_postgres;
pub(crate) use sqlite::start as start_sqlite;

/// A record and the request waiting for its commit.
type Record = Pending<issued_tokens::Model, ()>;

/// The handle requests use; cheap to clone. The writers stop when every handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct TokenWriter {
    queue: Queue<issued_tokens::Model, ()>,
}

impl TokenWriter {
    /// Queues a record and waits until the batch holding it is committed, or fails with
    /// [`StoreError::Unavailable`] after the deadline (see [`Queue::submit`]). A record given up
    /// on may still be committed later; its token was never handed out.
    pub(crate) async fn write(&self, row: issued_tokens::Model) -> StoreResult<()> {
        self.queue.submit(row).await
    }
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
fn settle(batch: &mut Vec<Record>, outcome: StoreResult<()>, started: std::time::Instant) -> Settled {
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
        pending.answer(outcome.clone());
    }
    Settled::Done
}
