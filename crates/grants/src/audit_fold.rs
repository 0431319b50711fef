//! Folding repeated failures into few audit rows: the bookkeeping, without any I/O.
//!
//! Failures are grouped per (brand, action, source address) in windows of [`WINDOW`] seconds
//! that open with a group's first failure. That first failure is written at once, so that an
//! operator sees an attack start; the rest of the window only counts, and when the window ends
//! one summary row stands for all of them. Every row carries the number of failures it stands
//! for in its detail (`failures=N`), so the counts of a log's rows add up to the failures seen.
//!
//! At most [`MAX_GROUPS`] groups are held, and at most [`MAX_ADDRESSES_PER_ACTION`] addresses
//! per brand and action. Beyond either, a failure from an address not yet held counts into its
//! brand's overflow group for the action (recorded without an address), so that a flood from
//! many addresses (an IPv6 attacker has as many as it likes) costs neither memory nor rows
//! beyond a bound: per brand and action, at most that many addresses' rows and one overflow's,
//! and their summaries, a window.

use std::collections::HashMap;

use portcullis_tenancy::{AuditEvent, BrandId, BrandScope};

/// Seconds one group's failures are folded into one summary.
pub const WINDOW: i64 = 60;

/// Groups held at most, overflow groups aside.
pub const MAX_GROUPS: usize = 10_000;

/// Addresses held at most per brand and action; the failures of further addresses are folded
/// into the brand's overflow group for the action.
pub const MAX_ADDRESSES_PER_ACTION: usize = 64;

/// Overflow groups held at most (one per brand and action); a failure that would need another
/// one is left to the tracing log.
const MAX_OVERFLOW_GROUPS: usize = 1_000;

/// The actor of a summary whose failures named several actors (usernames, client ids).
pub const SEVERAL_ACTORS: &str = "(several)";

/// Where a group's failures came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Origin {
    /// One peer address.
    Address(String),
    /// No address was known.
    Unknown,
    /// Any address beyond [`MAX_GROUPS`].
    Overflow,
}

/// What failures are grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Group {
    brand: BrandId,
    action: String,
    origin: Origin,
}

/// The failures of one group in its current window, beyond the first (already written).
#[derive(Debug)]
struct Window {
    scope: BrandScope,
    opened: i64,
    /// The first failure, as written (its detail without the count).
    first: AuditEvent,
    /// Failures counted since, and the time of the first and the last of them.
    folded: u64,
    folded_from: i64,
    folded_to: i64,
    /// Whether the folded failures named an actor other than the first's.
    several_actors: bool,
}

impl Window {
    /// The summary row standing for the folded failures, if there were any.
    fn summary(&self) -> Option<(BrandScope, AuditEvent)> {
        if self.folded == 0 {
            return None;
        }
        let actor = if self.several_actors { SEVERAL_ACTORS.to_owned() } else { self.first.actor.clone() };
        let counted = format!("failures={}; from={}; to={}", self.folded, self.folded_from, self.folded_to);
        let event = AuditEvent {
            at: self.folded_to,
            actor,
            action: self.first.action.clone(),
            target: self.first.target.clone(),
            source: self.first.source.clone(),
            detail: Some(with_count(self.first.detail.as_deref(), &counted)),
        };
        Some((self.scope.clone(), event))
    }
}

/// What to write after [`Folds::note`]: a summary of a window that just ended, and the noted
/// failure itself when it opened a window.
#[derive(Debug, Default)]
pub struct Noted {
    /// The summary of the group's previous window, which this failure found ended.
    pub ended: Option<(BrandScope, AuditEvent)>,
    /// The failure to write at once (the first of its window), with its count.
    pub write: Option<AuditEvent>,
}

/// The groups being folded. Not synchronised: [`crate::failure_audit::FailureAudit`] holds it
/// behind a lock.
#[derive(Debug)]
pub struct Folds {
    windows: HashMap<Group, Window>,
    /// How many of `windows` are overflow groups.
    overflow: usize,
    /// How many address groups of `windows` each (brand, action) has.
    addresses: HashMap<(BrandId, String), usize>,
    window: i64,
    max_groups: usize,
}

impl Default for Folds {
    fn default() -> Self {
        Self::new(WINDOW, MAX_GROUPS)
    }
}

impl Folds {
    /// Folds of `window` seconds holding at most `max_groups` groups (overflow aside).
    pub fn new(window: i64, max_groups: usize) -> Self {
        Self { windows: HashMap::new(), overflow: 0, addresses: HashMap::new(), window: window.max(1), max_groups }
    }

    /// How many groups are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Whether no group is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// Counts one failure of `scope`'s brand, which happened at `event.at`.
    pub fn note(&mut self, scope: &BrandScope, event: AuditEvent) -> Noted {
        let origin = match &event.source {
            Some(address) => Origin::Address(address.clone()),
            None => Origin::Unknown,
        };
        let mut group = Group { brand: scope.brand_id(), action: event.action.clone(), origin };
        if !self.windows.contains_key(&group) {
            let of_action = self.addresses.get(&(group.brand, group.action.clone())).copied().unwrap_or(0);
            if self.windows.len() - self.overflow >= self.max_groups || of_action >= MAX_ADDRESSES_PER_ACTION {
                group.origin = Origin::Overflow;
            }
        }
        let mut noted = Noted::default();
        if let Some(window) = self.windows.get(&group)
            && event.at >= window.opened + self.window
        {
            noted.ended = self.remove(&group).and_then(|w| w.summary());
        }
        match self.windows.get_mut(&group) {
            Some(window) => {
                window.folded += 1;
                if window.folded == 1 {
                    window.folded_from = event.at;
                }
                window.folded_to = window.folded_to.max(event.at);
                window.several_actors |= window.first.actor != event.actor;
            }
            None => {
                if group.origin == Origin::Overflow && self.overflow >= MAX_OVERFLOW_GROUPS {
                    tracing::debug!(action = %event.action, "audit overflow groups full; failure only traced");
                    return noted;
                }
                let mut first = event;
                if group.origin == Origin::Overflow {
                    first.source = None;
                    first.detail = Some(with_count(first.detail.as_deref(), "sources=beyond the tracked addresses"));
                    self.overflow += 1;
                } else {
                    *self.addresses.entry((group.brand, group.action.clone())).or_insert(0) += 1;
                }
                noted.write = Some(AuditEvent {
                    detail: Some(with_count(first.detail.as_deref(), "failures=1")),
                    ..first.clone()
                });
                let window = Window {
                    scope: scope.clone(),
                    opened: first.at,
                    first,
                    folded: 0,
                    folded_from: 0,
                    folded_to: 0,
                    several_actors: false,
                };
                self.windows.insert(group, window);
            }
        }
        noted
    }

    /// Removes the windows that ended by `now`; returns the summaries to write.
    pub fn take_ended(&mut self, now: i64) -> Vec<(BrandScope, AuditEvent)> {
        let window = self.window;
        let ended: Vec<Group> =
            self.windows.iter().filter(|(_, w)| now >= w.opened + window).map(|(g, _)| g.clone()).collect();
        ended.iter().filter_map(|group| self.remove(group)).filter_map(|w| w.summary()).collect()
    }

    /// Removes every window, ended or not (at shutdown); returns the summaries to write.
    pub fn take_all(&mut self) -> Vec<(BrandScope, AuditEvent)> {
        self.overflow = 0;
        self.addresses.clear();
        self.windows.drain().filter_map(|(_, w)| w.summary()).collect()
    }

    fn remove(&mut self, group: &Group) -> Option<Window> {
        let window = self.windows.remove(group)?;
        if group.origin == Origin::Overflow {
            self.overflow = self.overflow.saturating_sub(1);
        } else {
            let key = (group.brand, group.action.clone());
            if let Some(count) = self.addresses.get_mut(&key) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.addresses.remove(&key);
                }
            }
        }
        Some(window)
    }
}

/// `detail` followed by `count` (`"password; failures=3"`), or `count` alone.
fn with_count(detail: Option<&str>, count: &str) -> String {
    match detail {
        Some(detail) if !detail.is_empty() => format!("{detail}; {count}"),
        _ => count.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use portcullis_core::BrandKey;
    use portcullis_tenancy::{Brand, BrandId, BrandSettings};

    use super::*;

    fn scope(id: i64) -> BrandScope {
        BrandScope::new(Brand {
            id: BrandId(id),
            key: BrandKey::parse(format!("brand{id}")).unwrap(),
            name: "b".into(),
            settings: BrandSettings::default(),
            created_at: 0,
        })
    }

    fn failure(at: i64, source: Option<&str>, actor: &str) -> AuditEvent {
        AuditEvent {
            at,
            actor: actor.into(),
            action: "login.failed".into(),
            target: None,
            source: source.map(str::to_owned),
            detail: Some("password".into()),
        }
    }

    #[test]
    fn the_first_failure_is_written_and_the_rest_summarised_when_the_window_ends() {
        let mut folds = Folds::new(60, 10);
        let first = folds.note(&scope(1), failure(100, Some("10.0.0.1"), "username:a"));
        assert_eq!(first.write.unwrap().detail.as_deref(), Some("password; failures=1"));
        for (i, at) in (101..150).enumerate() {
            let noted = folds.note(&scope(1), failure(at, Some("10.0.0.1"), &format!("username:{i}")));
            assert!(noted.write.is_none() && noted.ended.is_none());
        }
        assert!(folds.take_ended(159).is_empty(), "the window is still open");
        let ended = folds.take_ended(160);
        assert_eq!(ended.len(), 1);
        let summary = &ended[0].1;
        assert_eq!(summary.detail.as_deref(), Some("password; failures=49; from=101; to=149"));
        assert_eq!((summary.actor.as_str(), summary.at), (SEVERAL_ACTORS, 149));
        assert!(folds.is_empty());
    }

    #[test]
    fn a_failure_after_the_window_returns_its_summary_and_opens_a_new_window() {
        let mut folds = Folds::new(60, 10);
        folds.note(&scope(1), failure(100, Some("10.0.0.1"), "u"));
        folds.note(&scope(1), failure(110, Some("10.0.0.1"), "u"));
        let noted = folds.note(&scope(1), failure(170, Some("10.0.0.1"), "u"));
        let (_, summary) = noted.ended.unwrap();
        assert_eq!(
            (summary.actor.as_str(), summary.detail.as_deref()),
            ("u", Some("password; failures=1; from=110; to=110"))
        );
        assert!(noted.write.is_some(), "the new window's first failure is written at once");
        let lone = folds.take_all();
        assert!(lone.is_empty(), "a window with only its first failure has nothing to summarise");
    }

    #[test]
    fn groups_are_per_brand_action_and_address_and_capped_into_an_overflow_group() {
        let mut folds = Folds::new(60, 3);
        let mut written = 0;
        for i in 0..100 {
            let noted = folds.note(&scope(1), failure(100, Some(&format!("10.0.0.{i}")), "u"));
            written += usize::from(noted.write.is_some());
        }
        assert_eq!(written, 4, "three addresses, then one overflow group");
        assert_eq!(folds.len(), 4);
        assert!(folds.note(&scope(2), failure(100, Some("10.0.0.1"), "u")).write.is_some(), "another brand's overflow");
        let summaries = folds.take_all();
        let overflow = summaries.iter().find(|(_, e)| e.source.is_none()).unwrap();
        assert_eq!(
            overflow.1.detail.as_deref(),
            Some("password; sources=beyond the tracked addresses; failures=96; from=100; to=100")
        );
    }

    #[test]
    fn a_flood_from_many_addresses_writes_a_bounded_number_of_rows() {
        let mut folds = Folds::default();
        let acme = scope(1);
        let mut written = 0;
        for i in 0..20_000u32 {
            let event = AuditEvent {
                at: 100,
                actor: "client:x".into(),
                action: "auth.failed".into(),
                target: None,
                source: Some(format!("2001:db8::{i:x}")),
                detail: Some("basic".into()),
            };
            written += usize::from(folds.note(&acme, event).write.is_some());
        }
        assert_eq!(written, MAX_ADDRESSES_PER_ACTION + 1, "the addresses held, then one overflow row");
        let summaries = folds.take_all();
        assert!(summaries.len() <= MAX_ADDRESSES_PER_ACTION + 1);
        let counted: u64 = summaries
            .iter()
            .filter_map(|(_, e)| e.detail.as_deref()?.split("failures=").nth(1)?.split(';').next()?.parse::<u64>().ok())
            .sum();
        assert_eq!(counted + u64::try_from(written).unwrap(), 20_000, "every failure is counted");
    }
}
