//! The SQLite writer: one thread with a connection of its own, which collects the queued records
//! and commits them (SQLite commits one writer at a time anyway). Its page cache stays warm
//! because no other connection writes between its commits, and each batch is one
//! `BEGIN IMMEDIATE`, one prepared insert per record, one `COMMIT`, all on this thread.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use portcullis_tenancy::StoreResult;
use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::mpsc;

use super::{Record, Settled, TokenWriter, settle};
use crate::batch::{MAX_BATCH, Queue, forget_abandoned};
use crate::direct::{self, Role};
use crate::entity::issued_tokens;

const INSERT: &str = concat!(
    "INSERT INTO issued_tokens (",
    columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
);

/// Opens the writer's connection to `file` and starts its thread; a request waits at most
/// `deadline` for its commit, and the writer as long for the write lock.
pub(crate) fn start(file: PathBuf, deadline: Duration) -> StoreResult<TokenWriter> {
    let connection = direct::open(&file, Role::Writer(deadline))?;
    let (queue, receiver) = Queue::new(deadline, "token-record writer");
    std::thread::Builder::new()
        .name("token-writer".into())
        .spawn(move || run(connection, receiver))
        .map_err(|e| portcullis_tenancy::StoreError::Backend(format!("starting the token writer: {e}")))?;
    Ok(TokenWriter { queue })
}

fn run(mut connection: Connection, mut receiver: mpsc::Receiver<Record>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Ends when every handle is dropped (the store is gone) and the queue is drained.
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        forget_abandoned(&mut batch);
        if batch.is_empty() {
            continue;
        }
        let started = Instant::now();
        let outcome = insert(&mut connection, batch.iter().map(|p| &p.item));
        if let Settled::OneByOne = settle(&mut batch, outcome, started) {
            for pending in batch.drain(..) {
                let outcome = insert(&mut connection, std::iter::once(&pending.item));
                pending.answer(outcome);
            }
        }
    }
}

/// Inserts `rows` in one transaction: one commit, one fsync. A failure rolls back all of them.
fn insert<'a>(connection: &mut Connection, rows: impl Iterator<Item = &'a issued_tokens::Model>) -> StoreResult<()> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(direct::map_err)?;
    {
        let mut statement = transaction.prepare_cached(INSERT).map_err(direct::map_err)?;
        for row in rows {
            statement
                .execute(params![
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
                .map_err(direct::map_err)?;
        }
    }
    transaction.commit().map_err(direct::map_err)
}
