//! Cursor paging of token records, as a property.
//!
//! `TokenStore::list_tokens` documents "newest first, after `after`": the order is `issued_at`
//! descending with ties broken by `jti` descending, and a page after cursor `(t, j)` holds the
//! records that sort after it, i.e. `issued_at < t`, or `issued_at = t` and `jti < j`. That is
//! keyset paging, so the walk is exactly determined even while records change in between:
//!
//! * each page equals the first `limit` records of the model that match the filter and sort
//!   after the cursor, at the moment the page is read;
//!
//! and hence, checked separately as the guarantees a client may rely on:
//!
//! * no record appears twice, and the walk is strictly in the documented order;
//! * every record that existed when the walk began and matched the filter throughout appears
//!   (exactly once);
//! * a record inserted during the walk appears exactly when it sorts after the position the
//!   walk had reached when it was inserted (and still matches): records inserted "behind" the
//!   walk are not seen, as with any keyset paging;
//! * a record revoked or approved during the walk appears at most once, and only if it
//!   matched the filter when its page was read;
//! * other brands' records, even ones interleaved in the order, never appear.
//!
//! Generated: 0–40 records with `issued_at` from a range of four instants (so ties are common),
//! mixed clients, subjects and statuses, a filter, a page size of 1–7, and inserts (into this
//! brand or a neighbour), revocations and approvals between pages.

use std::collections::BTreeSet;

use portcullis_core::{ActType, ClientId, GrantType, Jti, ScopeSet};
use portcullis_store::SeaStore;
use portcullis_store::testing::TestDatabase;
use portcullis_tenancy::{BrandScope, IssuedToken, RevocationStore, TokenCursor, TokenFilter, TokenStatus, TokenStore};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::common::brand;
use crate::runner::{cases, check, unique};

const CLIENTS: [&str; 3] = ["app", "svc", "cli"];
const SUBJECTS: [&str; 3] = ["u1", "u2", "u3"];

#[derive(Debug, Clone)]
struct Spec {
    issued_at: i64,
    client: usize,
    subject: usize,
    revoked: bool,
    /// Orders records within an instant (the middle of the jti).
    order: u32,
}

#[derive(Debug, Clone)]
enum Change {
    /// A new record, in this brand or (when `neighbour`) in the other one.
    Insert { spec: Spec, neighbour: bool },
    /// Revoke one of this brand's records (any, walked or not).
    Revoke(Index),
    /// Approve one of this brand's records (a no-op unless it is revoked).
    Approve(Index),
}

#[derive(Debug, Clone)]
struct Case {
    tokens: Vec<Spec>,
    neighbour: Vec<Spec>,
    client: Option<usize>,
    subject: Option<usize>,
    status: Option<TokenStatus>,
    page: u64,
    /// `changes[i]` happens after the `i`-th page has been read.
    changes: Vec<Vec<Change>>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (0..4i64, 0..CLIENTS.len(), 0..SUBJECTS.len(), proptest::bool::weighted(0.3), 0..100_000u32)
        .prop_map(|(issued_at, client, subject, revoked, order)| Spec { issued_at, client, subject, revoked, order })
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => (spec(), proptest::bool::weighted(0.25)).prop_map(|(spec, neighbour)| Change::Insert { spec, neighbour }),
        2 => any::<Index>().prop_map(Change::Revoke),
        1 => any::<Index>().prop_map(Change::Approve),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let status = prop_oneof![Just(TokenStatus::Active), Just(TokenStatus::Revoked)];
    (
        vec(spec(), 0..=40),
        vec(spec(), 0..=8),
        proptest::option::weighted(0.25, 0..CLIENTS.len()),
        proptest::option::weighted(0.2, 0..SUBJECTS.len()),
        proptest::option::weighted(0.25, status),
        1..=7u64,
        vec(vec(change(), 0..=4), 0..=8),
    )
        .prop_map(|(tokens, neighbour, client, subject, status, page, changes)| Case {
            tokens,
            neighbour,
            client,
            subject,
            status,
            page,
            changes,
        })
}

/// Makes records with jtis unique in the database: `run`, then the spec's order, then a
/// sequence number, all digits of fixed width (so every collation orders them as bytes do).
struct Maker {
    run: u32,
    next: u32,
}

impl Maker {
    fn token(&mut self, spec: &Spec) -> IssuedToken {
        self.next += 1;
        IssuedToken {
            jti: Jti::parse(format!("{:06}{:05}{:04}", self.run, spec.order, self.next)).unwrap(),
            client_id: ClientId::parse(CLIENTS[spec.client]).unwrap(),
            subject: SUBJECTS[spec.subject].into(),
            act_type: ActType::User,
            grant_type: GrantType::Password,
            scopes: ScopeSet::parse_delimited("read").unwrap(),
            audience: vec!["https://api".into()],
            issued_at: spec.issued_at,
            expires_at: 10_000,
            status: if spec.revoked { TokenStatus::Revoked } else { TokenStatus::Active },
            family_id: None,
            attributes: Vec::new(),
        }
    }
}

/// The sort key of the documented order (greatest first).
fn key(t: &IssuedToken) -> (i64, &str) {
    (t.issued_at, t.jti.as_str())
}

/// Whether `t` sorts after (is listed after) the cursor.
fn after(t: &IssuedToken, cursor: Option<&TokenCursor>) -> bool {
    cursor.is_none_or(|c| key(t) < (c.issued_at, c.jti.as_str()))
}

fn matches(filter: &TokenFilter, t: &IssuedToken) -> bool {
    filter.client_id.as_ref().is_none_or(|c| *c == t.client_id)
        && filter.subject.as_ref().is_none_or(|s| *s == t.subject)
        && filter.status.is_none_or(|s| s == t.status)
}

/// The page the model says `list_tokens` returns.
fn expected_page(
    model: &[IssuedToken],
    filter: &TokenFilter,
    cursor: Option<&TokenCursor>,
    limit: u64,
) -> Vec<IssuedToken> {
    let mut page: Vec<IssuedToken> = model.iter().filter(|t| matches(filter, t) && after(t, cursor)).cloned().collect();
    page.sort_by(|a, b| key(b).cmp(&key(a)));
    page.truncate(usize::try_from(limit).unwrap());
    page
}

async fn record(store: &SeaStore, scope: &BrandScope, token: &IssuedToken) {
    store.record_token(scope, token.clone()).await.unwrap();
}

#[test]
fn cursor_paging_yields_every_token_exactly_once_in_order() {
    check("token paging", cases(32), case(), async |db: &TestDatabase, store: &SeaStore, case: Case| {
        let run = unique();
        let scope = brand(store, &format!("pg{run}a")).await;
        let neighbour = brand(store, &format!("pg{run}b")).await;
        let mut maker = Maker { run, next: 0 };
        let mut model = Vec::new();
        for spec in &case.tokens {
            let token = maker.token(spec);
            record(store, &scope, &token).await;
            model.push(token);
        }
        let mut neighbours = BTreeSet::new();
        for spec in &case.neighbour {
            let token = maker.token(spec);
            record(store, &neighbour, &token).await;
            neighbours.insert(token.jti.to_string());
        }
        let filter = TokenFilter {
            client_id: case.client.map(|c| ClientId::parse(CLIENTS[c]).unwrap()),
            subject: case.subject.map(|s| SUBJECTS[s].to_owned()),
            status: case.status,
        };
        let matching = model.iter().filter(|t| matches(&filter, t)).count() as u64;
        prop_assert_eq!(store.count_tokens(&scope, &filter).await.unwrap(), matching, "{}: count before", db.name);

        let at_start: Vec<IssuedToken> = model.clone();
        // Records whose status changed during the walk, and records inserted (with the cursor
        // at the time).
        let mut disturbed = BTreeSet::new();
        let mut inserted: Vec<(IssuedToken, TokenCursor)> = Vec::new();
        let mut walked: Vec<IssuedToken> = Vec::new();
        let mut cursor: Option<TokenCursor> = None;
        let mut pages = 0usize;
        loop {
            let page = store.list_tokens(&scope, &filter, cursor.as_ref(), case.page).await.unwrap();
            let wanted = expected_page(&model, &filter, cursor.as_ref(), case.page);
            prop_assert_eq!(&page, &wanted, "{}: page {} after {:?}", db.name, pages, cursor);
            walked.extend(page.iter().cloned());
            let Some(last) = page.last().filter(|_| page.len() as u64 == case.page) else { break };
            let reached = TokenCursor { issued_at: last.issued_at, jti: last.jti.to_string() };
            for change in case.changes.get(pages).into_iter().flatten() {
                match change {
                    Change::Insert { spec, neighbour: false } => {
                        let token = maker.token(spec);
                        record(store, &scope, &token).await;
                        inserted.push((token.clone(), reached.clone()));
                        model.push(token);
                    }
                    Change::Insert { spec, neighbour: true } => {
                        let token = maker.token(spec);
                        record(store, &neighbour, &token).await;
                        neighbours.insert(token.jti.to_string());
                    }
                    Change::Revoke(index) | Change::Approve(index) if !model.is_empty() => {
                        let revoke = matches!(change, Change::Revoke(_));
                        let picked = index.index(model.len());
                        let t = &mut model[picked];
                        let jti = t.jti.to_string();
                        let (from, to) = if revoke {
                            (TokenStatus::Active, TokenStatus::Revoked)
                        } else {
                            (TokenStatus::Revoked, TokenStatus::Active)
                        };
                        let changed = if revoke {
                            store.revoke_token(&scope, &jti, 5_000).await.unwrap()
                        } else {
                            store.approve_token(&scope, &jti, 5_000).await.unwrap()
                        };
                        prop_assert_eq!(changed, t.status == from, "{}: {:?} of {}", db.name, change, jti);
                        if changed {
                            t.status = to;
                            disturbed.insert(jti);
                        }
                    }
                    Change::Revoke(_) | Change::Approve(_) => {}
                }
            }
            cursor = Some(reached);
            pages += 1;
        }

        // The guarantees, stated on their own.
        let jtis: Vec<&str> = walked.iter().map(|t| t.jti.as_str()).collect();
        let distinct: BTreeSet<&str> = jtis.iter().copied().collect();
        prop_assert_eq!(distinct.len(), jtis.len(), "{}: a record appeared twice", db.name);
        prop_assert!(walked.windows(2).all(|w| key(&w[0]) > key(&w[1])), "{}: out of order", db.name);
        prop_assert!(distinct.iter().all(|j| !neighbours.contains(*j)), "{}: another brand's record", db.name);
        for t in &at_start {
            let stable = !disturbed.contains(t.jti.as_str()) || filter.status.is_none();
            if stable && matches(&filter, t) {
                prop_assert!(
                    distinct.contains(t.jti.as_str()),
                    "{}: {} existed throughout but was skipped",
                    db.name,
                    t.jti
                );
            }
        }
        for (t, reached) in &inserted {
            let stable = !disturbed.contains(t.jti.as_str()) || filter.status.is_none();
            if stable {
                let ahead = after(t, Some(reached)) && matches(&filter, t);
                prop_assert_eq!(distinct.contains(t.jti.as_str()), ahead, "{}: inserted {}", db.name, t.jti);
            }
        }
        let matching = model.iter().filter(|t| matches(&filter, t)).count() as u64;
        prop_assert_eq!(store.count_tokens(&scope, &filter).await.unwrap(), matching, "{}: count after", db.name);
        Ok(())
    });
}
