//! Reads of a brand's revocation feed shared by every follower woken by the same change.
//!
//! When a revocation is committed, every long-poll and event stream of the brand wakes up and
//! asks for the entries after its cursor. Followers that are caught up all hold the same cursor,
//! so without sharing, one revocation costs one identical query per follower (thousands of them).
//! Here the first follower to ask for (brand, cursor) at a change's generation runs the query;
//! the others wait for its answer and share it. A follower behind the others asks for its own
//! cursor and so runs its own query, as it must.
//!
//! A failed read is handed to the followers already waiting for it but not kept, so that the
//! next follower reads again. A shared answer may miss a change committed while it was being read; that change has a newer
//! generation, which wakes the followers again and makes them read anew. So sharing never loses
//! an entry; it only merges reads that would have returned the same thing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use portcullis_tenancy::{BrandId, BrandScope, Revocation, RevocationStore, StoreResult};
use tokio::sync::OnceCell;

/// Reads remembered at most; past it, those of older generations are forgotten first.
const CAPACITY: usize = 4_096;

/// One page of entries, as shared between followers.
pub(crate) type Entries = Arc<[Revocation]>;

type Answer = Arc<OnceCell<StoreResult<Entries>>>;

/// Each read by (brand, cursor): the generation it was made for, and its answer.
type Reads = HashMap<(BrandId, i64), (u64, Answer)>;

/// The reads in progress or just done. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedReads(Arc<Mutex<Reads>>);

impl SharedReads {
    /// The page of up to `page` entries after `after`, read once per change `generation` (the
    /// value of the feed signal the caller last saw) however many followers ask.
    pub(crate) async fn after<S: RevocationStore>(
        &self,
        store: &S,
        scope: &BrandScope,
        after: i64,
        page: u64,
        generation: u64,
    ) -> StoreResult<Entries> {
        let key = (scope.brand_id(), after);
        let answer = self.answer_for(key, generation);
        let read =
            answer.get_or_init(|| async { store.revocations_after(scope, after, page).await.map(Entries::from) }).await;
        if read.is_err() {
            // A failure is shared with those already waiting, never kept: the next to ask, once
            // the database is back, reads again instead of getting this error until a change.
            self.forget(key, &answer);
        }
        read.clone()
    }

    /// Drops `answer` for `key`, unless a newer one has taken its place.
    fn forget(&self, key: (BrandId, i64), answer: &Answer) {
        let mut reads = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if reads.get(&key).is_some_and(|(_, kept)| Arc::ptr_eq(kept, answer)) {
            reads.remove(&key);
        }
    }

    /// The shared answer of this read: the one of this generation or a newer one (newer is as
    /// good: it was read later), or a fresh one.
    fn answer_for(&self, key: (BrandId, i64), generation: u64) -> Answer {
        let mut reads = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((seen, answer)) = reads.get(&key)
            && *seen >= generation
        {
            return Arc::clone(answer);
        }
        if reads.len() >= CAPACITY {
            reads.retain(|_, (seen, _)| *seen >= generation);
            if reads.len() >= CAPACITY {
                reads.clear();
            }
        }
        let answer = Answer::default();
        reads.insert(key, (generation, Arc::clone(&answer)));
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followers_of_one_generation_share_an_answer_and_a_new_generation_reads_again() {
        let reads = SharedReads::default();
        let first = reads.answer_for((BrandId(1), 7), 3);
        assert!(Arc::ptr_eq(&first, &reads.answer_for((BrandId(1), 7), 3)), "same change, same cursor");
        assert!(Arc::ptr_eq(&first, &reads.answer_for((BrandId(1), 7), 2)), "a newer answer serves an older waiter");
        assert!(!Arc::ptr_eq(&first, &reads.answer_for((BrandId(2), 7), 3)), "brands never share");
        assert!(!Arc::ptr_eq(&first, &reads.answer_for((BrandId(1), 8), 3)), "nor do cursors");
        assert!(!Arc::ptr_eq(&first, &reads.answer_for((BrandId(1), 7), 4)), "a new change reads anew");
    }

    #[test]
    fn a_forgotten_answer_is_read_again() {
        let reads = SharedReads::default();
        let failed = reads.answer_for((BrandId(1), 7), 3);
        reads.forget((BrandId(1), 7), &failed);
        assert!(!Arc::ptr_eq(&failed, &reads.answer_for((BrandId(1), 7), 3)), "the same change reads anew");
        let newer = reads.answer_for((BrandId(1), 7), 4);
        reads.forget((BrandId(1), 7), &failed);
        assert!(Arc::ptr_eq(&newer, &reads.answer_for((BrandId(1), 7), 4)), "a newer answer is not dropped");
    }

    #[test]
    fn memory_is_bounded() {
        let reads = SharedReads::default();
        for cursor in 0..(3 * CAPACITY) {
            reads.answer_for((BrandId(1), i64::try_from(cursor).unwrap_or(0)), 1);
        }
        assert!(reads.0.lock().map(|r| r.len()).unwrap_or(0) <= CAPACITY);
    }
}
