//! Group commit for token records.
//!
//! Issuing a token must not answer before its record is committed, and on SQLite every commit
//! is an fsync under the single write lock. Instead of one transaction per token, requests hand
//! their record to a writer task and wait; the writer takes everything that has queued up
//! (up to [`MAX_BATCH`]), inserts it with one statement (one commit, one fsync), and then
//! acknowledges every waiter with the same outcome. Under load batches grow by themselves; an
//! idle server commits each record at once, so a lone request waits no longer than before.
//!
//! The statement has the same text whatever the batch size: the rows travel as one JSON array
//! parameter, unpacked by the database (`json_each` on SQLite, `jsonb_array_elements` on
//! Postgres). So it is parsed and planned once per connection and then served from the prepared
//! statement cache, where a multi-row `VALUES` list would be a new statement for every batch
//! size. On SQLite the writer has a connection of its own, whose page cache stays warm because
//! no other connection writes between its commits.

use std::sync::Arc;
use std::time::Duration;

use portcullis_tenancy::{StoreError, StoreResult};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::entity::issued_tokens;
use crate::error::map_err;

/// Most records in one commit.
pub(crate) const MAX_BATCH: usize = 256;

/// The columns, in the order each row's JSON array lists them (see [`row_json`]).
macro_rules! columns {
    () => {
        "jti, brand_id, client_id, subject, act_type, grant_type, scopes, audience, issued_at, expires_at, status, \
         revoked_at, attributes, family_id"
    };
}

const SQLITE_INSERT: &str = concat!(
    "INSERT INTO issued_tokens (",
    columns!(),
    ") SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, \
     value->>9, value->>10, value->>11, value->>12, value->>13 FROM json_each(?)"
);

const POSTGRES_INSERT: &str = concat!(
    "INSERT INTO issued_tokens (",
    columns!(),
    ") SELECT r->>0, (r->>1)::bigint, r->>2, r->>3, r->>4, r->>5, r->>6, r->>7, (r->>8)::bigint, \
     (r->>9)::bigint, r->>10, (r->>11)::bigint, r->>12, r->>13 FROM jsonb_array_elements($1::jsonb) AS r"
);

/// Records waiting beyond this make new requests wait for room (back-pressure, not memory growth).
const QUEUE: usize = 4 * MAX_BATCH;

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
    /// Starts `writers` writer tasks on `db` on the current runtime. One is right for SQLite
    /// (one writer at a time anyway, on a connection of its own); a few let Postgres commit
    /// batches in parallel. A request waits at most `deadline` for its commit.
    pub(crate) fn start(db: DatabaseConnection, writers: usize, deadline: Duration) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            tokio::spawn(run(db.clone(), Arc::clone(&receiver)));
        }
        Self { queue, deadline }
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
        // Requests that gave up waiting (deadline, disconnect) will hand out no token.
        batch.retain(|pending| !pending.done.is_closed());
        if batch.is_empty() {
            continue;
        }
        let started = std::time::Instant::now();
        let outcome = insert(&db, batch.iter().map(|p| &p.row)).await;
        tracing::debug!(
            records = batch.len(),
            micros = started.elapsed().as_micros(),
            "committed a batch of token records"
        );
        match outcome {
            Err(StoreError::Conflict(_)) if batch.len() > 1 => {
                // One bad record must not fail the others: commit them one by one.
                for pending in batch.drain(..) {
                    let outcome = insert(&db, std::iter::once(&pending.row)).await;
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

/// A row as the JSON array the insert statements unpack, in `columns!()` order.
fn row_json(row: &issued_tokens::Model) -> Value {
    json!([
        row.jti,
        row.brand_id,
        row.client_id,
        row.subject,
        row.act_type,
        row.grant_type,
        row.scopes,
        row.audience,
        row.issued_at,
        row.expires_at,
        row.status,
        row.revoked_at,
        row.attributes,
        row.family_id,
    ])
}

/// One `INSERT … SELECT` over a JSON array of rows: a single statement, so a single commit.
async fn insert<'a>(db: &DatabaseConnection, rows: impl Iterator<Item = &'a issued_tokens::Model>) -> StoreResult<()> {
    let rows = Value::Array(rows.map(row_json).collect()).to_string();
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => POSTGRES_INSERT,
        _ => SQLITE_INSERT,
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, [rows.into()])).await.map(drop).map_err(map_err)
}
