//! The Postgres writers: a few tasks on the runtime sharing the queue, so that one collects
//! while the others commit.
//!
//! The statement has the same text whatever the batch size: the rows travel as one JSON array
//! parameter, unpacked by `jsonb_array_elements`. So it is parsed and planned once per
//! connection and then served from the prepared-statement cache, where a multi-row `VALUES`
//! list would be a new statement for every batch size.

use std::time::Duration;

use portcullis_tenancy::StoreResult;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde_json::{Value, json};

use super::{Record, Settled, TokenWriter, settle};
use crate::batch::{Queue, spawn_workers};
use crate::entity::issued_tokens;
use crate::error::map_err;

const INSERT: &str = concat!(
    "INSERT INTO issued_tokens (",
    columns!(),
    ") SELECT r->>0, (r->>1)::bigint, r->>2, r->>3, r->>4, r->>5, r->>6, r->>7, (r->>8)::bigint, \
     (r->>9)::bigint, r->>10, (r->>11)::bigint, r->>12, r->>13 FROM jsonb_array_elements($1::jsonb) AS r"
);

/// Starts `writers` writer tasks on `db` on the current runtime; a request waits at most
/// `deadline` for its commit.
pub(crate) fn start(db: DatabaseConnection, writers: usize, deadline: Duration) -> TokenWriter {
    let (queue, receiver) = Queue::new(deadline, "token-record writer");
    spawn_workers(receiver, writers, move |batch| commit(db.clone(), batch));
    TokenWriter { queue }
}

async fn commit(db: DatabaseConnection, mut batch: Vec<Record>) {
    let started = std::time::Instant::now();
    let outcome = insert(&db, batch.iter().map(|p| &p.item)).await;
    if let Settled::OneByOne = settle(&mut batch, outcome, started) {
        for pending in batch {
            let outcome = insert(&db, std::iter::once(&pending.item)).await;
            pending.answer(outcome);
        }
    }
}

/// A row as the JSON array the statement unpacks, in `columns!()` order.
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
    let statement = Statement::from_sql_and_values(DatabaseBackend::Postgres, INSERT, [rows.into()]);
    db.execute_raw(statement).await.map(drop).map_err(map_err)
}
