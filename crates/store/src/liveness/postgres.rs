//! Liveness lookups on Postgres, batched: the lookups queued while the previous batch ran go
//! to the database together as one JSON array, and one statement answers which of them are live.

use std::collections::HashSet;
use std::sync::LazyLock;
use std::time::Duration;

use portcullis_tenancy::{RevocationKind, StoreError, StoreResult, TokenStatus};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde_json::{Value, json};

use super::Lookup;
use crate::batch::{Pending, Queue, spawn_workers};
use crate::error::map_err;

/// One lookup as the statement reads it: `[brand_id, jti, subject, client_id, issued_at]`.
type Item = Value;

/// The positions (from 1) of the live lookups among `$1`, a JSON array of [`Item`]s. A lookup
/// is live when its brand's record is active and no `subject` or `client` entry of its brand's
/// feed is at or after the token's `iat`; `value IN (…)` lets the `(brand_id, value)` index
/// find the two values.
static LIVE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT q.i FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS q(r, i) \
         WHERE EXISTS (SELECT 1 FROM issued_tokens t WHERE t.brand_id = (q.r->>0)::bigint AND t.jti = q.r->>1 \
         AND t.status = '{active}') \
         AND NOT EXISTS (SELECT 1 FROM revocations v WHERE v.brand_id = (q.r->>0)::bigint \
         AND v.value IN (q.r->>2, q.r->>3) \
         AND ((v.kind = '{subject}' AND v.value = q.r->>2) OR (v.kind = '{client}' AND v.value = q.r->>3)) \
         AND v.revoked_at >= (q.r->>4)::bigint)",
        active = TokenStatus::Active.as_str(),
        subject = RevocationKind::Subject.as_str(),
        client = RevocationKind::Client.as_str(),
    )
});

/// The requests' side of the batched lookups.
#[derive(Debug)]
pub(crate) struct Batcher {
    queue: Queue<Item, bool>,
}

impl Batcher {
    pub(crate) fn start(db: DatabaseConnection, workers: usize, deadline: Duration) -> Self {
        let (queue, receiver) = Queue::new(deadline, "liveness lookup");
        spawn_workers(receiver, workers, move |batch| answer(db.clone(), batch));
        Self { queue }
    }

    pub(crate) async fn access_token_live(&self, lookup: &Lookup<'_>) -> StoreResult<bool> {
        let item = json!([lookup.scope.brand_id().0, lookup.jti, lookup.subject, lookup.client_id, lookup.issued_at]);
        self.queue.submit(item).await
    }
}

async fn answer(db: DatabaseConnection, batch: Vec<Pending<Item, bool>>) {
    match live_positions(&db, &batch).await {
        Ok(live) => {
            for (position, pending) in (1_i64..).zip(batch) {
                pending.answer(Ok(live.contains(&position)));
            }
        }
        Err(e) => {
            for pending in batch {
                pending.answer(Err(e.clone()));
            }
        }
    }
}

async fn live_positions(db: &DatabaseConnection, batch: &[Pending<Item, bool>]) -> StoreResult<HashSet<i64>> {
    let items = serde_json::to_string(&batch.iter().map(|p| &p.item).collect::<Vec<_>>())
        .map_err(|e| StoreError::Backend(format!("encoding liveness lookups: {e}")))?;
    let statement = Statement::from_sql_and_values(DatabaseBackend::Postgres, LIVE.as_str(), [items.into()]);
    db.query_all_raw(statement)
        .await
        .map_err(map_err)?
        .iter()
        .map(|row| row.try_get_by_index::<i64>(0).map_err(|e| StoreError::Corrupt(format!("liveness answer: {e}"))))
        .collect()
}
