//! Brand isolation of storage, as a property.
//!
//! For any generated data set (two or three fresh brands, each with generated clients, users,
//! operators, API tokens, access-token records, refresh tokens, audit events, signing keys,
//! login lock-outs, login sessions and authorization codes):
//!
//! 1. every read through brand A's scope (find, list, count, search and paging of every kind,
//!    and lookups by every identifier of every brand: client ids, principal ids, usernames,
//!    jtis, refresh and API-token hashes, key ids, session and code hashes) returns exactly A's
//!    rows as the model holds them, so never another brand's;
//! 2. writes through A's scope naming another brand B's identifiers (revoke, approve, rotate,
//!    revoke family/subject/client, disable, update, re-secret, delete, API tokens, lock-outs,
//!    sessions, codes, key rotation, brand update) leave every row of B exactly as it was, and
//!    report "nothing there" whenever A never had a row by that identifier.
//!
//! The identifier pools are shared between brands on purpose: the same client id, username,
//! principal id, family, key id, session or code hash regularly exists in several brands, which
//! is where a missing brand filter would show. Identifiers the schema keeps unique across the
//! whole database (jtis, refresh-token and API-token hashes) are made unique per case.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_core::{ActType, BrandKey, ClientId, GrantType, Jti, KeyId, ScopeSet, SigningAlgorithm};
use portcullis_store::SeaStore;
use portcullis_store::testing::TestDatabase;
use portcullis_tenancy::{
    Activation, AuditEvent, AuditStore, AuthorizationCode, Brand, BrandScope, BrandSettings, BrandStore, Client,
    ClientProfile, ClientStore, CodeRedemption, IssuedToken, KeyRotation, KeyStatus, KeyStore, LockoutPolicy,
    LoginReservation, LoginSession, LoginStore, LoginThrottleStore, NewBrand, NewClient, NewPrincipal, NewSigningKey,
    Principal, PrincipalKind, PrincipalStore, PrincipalUpdate, RefreshStatus, RefreshStore, RefreshToken, Revocation,
    RevocationKind, RevocationStore, RevokeAt, StoredKey, TokenAttribute, TokenCursor, TokenFilter, TokenStatus,
    TokenStore,
};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;

use crate::runner::{cases, check, unique};

const CLIENTS: [&str; 4] = ["app", "svc", "cli", "shared"];
/// Lower-case letters only, so that every collation orders them as bytes do.
const USERNAMES: [&str; 5] = ["alice", "alina", "bob", "bobby", "carol"];
/// Principal ids are `p{n}` in creation order, so brands share them; client ids are subjects too.
const SUBJECTS: [&str; 6] = ["p0", "p1", "p2", "p3", "app", "svc"];
const FAMILIES: [&str; 3] = ["f1", "f2", "f3"];
/// Every brand's first (active) key has this id.
const FIRST_KID: &str = "k0";
const KIDS: [&str; 3] = ["k1", "k2", "k3"];
const SESSIONS: [&str; 3] = ["s1", "s2", "s3"];
const CODES: [&str; 3] = ["h1", "h2", "h3"];
/// Username searches: case-insensitive prefixes; `%` and `_` must match only themselves.
const SEARCHES: [&str; 14] = ["", "a", "AL", "ali", "ALIN", "b", "BOB", "bobb", "c", "z", "a_", "%", "_", "al%"];
const KINDS: [PrincipalKind; 2] = [PrincipalKind::User, PrincipalKind::Operator];
/// One failure locks a username out for a second, so `locked_until` tells brands apart.
const POLICY: LockoutPolicy = LockoutPolicy { window: 60, limit: 1, max_lockout: 60 };
const API_AT: i64 = 300;
const KEY_AT: i64 = 200;
const WRITE_AT: i64 = 5_000;

#[derive(Debug, Clone)]
struct TokenSpec {
    client: usize,
    subject: usize,
    issued_at: i64,
    revoked: bool,
    family: Option<usize>,
}

#[derive(Debug, Clone)]
struct RefreshSpec {
    family: usize,
    client: usize,
    subject: usize,
    status: RefreshStatus,
}

#[derive(Debug, Clone)]
struct BrandSpec {
    clients: BTreeSet<usize>,
    users: BTreeSet<usize>,
    operators: BTreeSet<usize>,
    /// Ordinals (modulo the number of principals) of those given an API token.
    api_tokens: BTreeSet<usize>,
    tokens: Vec<TokenSpec>,
    refresh: Vec<RefreshSpec>,
    /// The `at` of each audit event.
    events: Vec<i64>,
    /// Extra signing keys: key id → retired (else next).
    keys: BTreeMap<usize, bool>,
    /// Usernames with a failed login.
    failures: BTreeSet<usize>,
    sessions: BTreeSet<usize>,
    /// Authorization codes: code hash → replayed (redeemed twice) or never redeemed.
    codes: BTreeMap<usize, bool>,
}

fn token_spec() -> impl Strategy<Value = TokenSpec> {
    (0..CLIENTS.len(), 0..SUBJECTS.len(), 0..4i64, any::<bool>(), proptest::option::of(0..FAMILIES.len())).prop_map(
        |(client, subject, issued_at, revoked, family)| TokenSpec { client, subject, issued_at, revoked, family },
    )
}

fn refresh_spec() -> impl Strategy<Value = RefreshSpec> {
    let status = prop_oneof![
        Just(RefreshStatus::Active),
        Just(RefreshStatus::Rotated),
        Just(RefreshStatus::Retried),
        Just(RefreshStatus::Revoked)
    ];
    (0..FAMILIES.len(), 0..CLIENTS.len(), 0..SUBJECTS.len(), status)
        .prop_map(|(family, client, subject, status)| RefreshSpec { family, client, subject, status })
}

fn brand_spec() -> impl Strategy<Value = BrandSpec> {
    (
        btree_set(0..CLIENTS.len(), 0..=4),
        btree_set(0..USERNAMES.len(), 0..=3),
        btree_set(0..USERNAMES.len(), 0..=2),
        btree_set(0..5usize, 0..=2),
        vec(token_spec(), 0..=6),
        vec(refresh_spec(), 0..=4),
        vec(0..5i64, 0..=3),
        btree_map(0..KIDS.len(), any::<bool>(), 0..=2),
        btree_set(0..USERNAMES.len(), 0..=2),
        btree_set(0..SESSIONS.len(), 0..=2),
        btree_map(0..CODES.len(), any::<bool>(), 0..=2),
    )
        .prop_map(
            |(clients, users, operators, api_tokens, tokens, refresh, events, keys, failures, sessions, codes)| {
                BrandSpec {
                    clients,
                    users,
                    operators,
                    api_tokens,
                    tokens,
                    refresh,
                    events,
                    keys,
                    failures,
                    sessions,
                    codes,
                }
            },
        )
}

/// What one brand holds, as written: the model its scoped reads are checked against.
#[derive(Debug)]
struct Model {
    key: String,
    scope: BrandScope,
    clients: Vec<Client>,
    principals: Vec<Principal>,
    /// (hash, principal id) of each API token.
    api_tokens: Vec<(String, String)>,
    tokens: Vec<IssuedToken>,
    refresh: Vec<RefreshToken>,
    events: Vec<AuditEvent>,
    /// (kid, status, public JWK) in creation order, the first key first.
    keys: Vec<(String, KeyStatus, String)>,
    /// (kind, value) of the feed entries, oldest first.
    feed: Vec<(RevocationKind, String)>,
    /// username → locked until.
    lockouts: BTreeMap<String, i64>,
    sessions: Vec<LoginSession>,
    /// code hash → replayed.
    codes: BTreeMap<String, bool>,
}

impl Model {
    fn client_ids(&self) -> BTreeSet<&str> {
        self.clients.iter().map(|c| c.client_id.as_str()).collect()
    }

    fn principal_ids(&self) -> BTreeSet<&str> {
        self.principals.iter().map(|p| p.id.as_str()).collect()
    }

    fn usernames(&self) -> BTreeSet<&str> {
        self.principals.iter().map(|p| p.username.as_str()).chain(self.lockouts.keys().map(String::as_str)).collect()
    }

    fn families(&self) -> BTreeSet<&str> {
        let of_tokens = self.tokens.iter().filter_map(|t| t.family_id.as_deref());
        self.refresh.iter().map(|r| r.family_id.as_str()).chain(of_tokens).collect()
    }

    /// Subjects of any token record (access or refresh).
    fn token_subjects(&self) -> BTreeSet<&str> {
        self.tokens.iter().map(|t| t.subject.as_str()).chain(self.refresh.iter().map(|r| r.subject.as_str())).collect()
    }

    /// Clients of any token record (access or refresh).
    fn token_clients(&self) -> BTreeSet<&str> {
        let of_refresh = self.refresh.iter().map(|r| r.client_id.as_str());
        self.tokens.iter().map(|t| t.client_id.as_str()).chain(of_refresh).collect()
    }

    fn kids(&self) -> BTreeSet<&str> {
        self.keys.iter().map(|(kid, _, _)| kid.as_str()).collect()
    }

    fn session_hashes(&self) -> BTreeSet<&str> {
        self.sessions.iter().map(|s| s.session_hash.as_str()).collect()
    }
}

fn scopes() -> ScopeSet {
    ScopeSet::parse_delimited("read").unwrap()
}

fn signing_key(brand: &str, kid: &str, status: KeyStatus) -> NewSigningKey {
    NewSigningKey {
        kid: KeyId::parse(kid).unwrap(),
        algorithm: SigningAlgorithm::EdDSA,
        status,
        sealed_private_key: format!("{brand}/{kid}").into_bytes(),
        public_jwk: format!("{{\"kid\":\"{kid}\",\"brand\":\"{brand}\"}}"),
    }
}

fn profile(name: String) -> ClientProfile {
    ClientProfile {
        name,
        grant_types: vec![GrantType::ClientCredentials],
        scopes: scopes(),
        default_scopes: scopes(),
        audiences: vec!["https://api".into()],
        ..ClientProfile::default()
    }
}

fn code(brand: &str, hash: &str) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: hash.into(),
        client_id: ClientId::parse("app").unwrap(),
        subject: format!("{brand}-user"),
        redirect_uri: "https://app.example/cb".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        nonce: None,
        scopes: scopes(),
        auth_time: 100,
        sid: format!("{brand}-sid"),
        family_id: format!("{brand}-family"),
        issued_at: 100,
        expires_at: 10_000,
    }
}

/// Writes one brand's generated rows through its own scope; returns the model of them.
async fn build(store: &SeaStore, run: u32, index: usize, spec: &BrandSpec) -> Model {
    let key = format!("iso{run}b{index}");
    let new =
        NewBrand { key: BrandKey::parse(&key).unwrap(), name: key.to_uppercase(), settings: BrandSettings::default() };
    let scope =
        BrandScope::new(store.create_brand(new, signing_key(&key, FIRST_KID, KeyStatus::Active)).await.unwrap());

    let mut clients = Vec::new();
    for &c in &spec.clients {
        let new = NewClient {
            client_id: ClientId::parse(CLIENTS[c]).unwrap(),
            profile: profile(format!("{key}/{}", CLIENTS[c])),
            secret_hash: format!("sha256:{key}-{c}"),
        };
        clients.push(store.create_client(&scope, new).await.unwrap());
    }

    let mut principals = Vec::new();
    let named = spec.users.iter().map(|&u| (PrincipalKind::User, u));
    for (n, (kind, u)) in named.chain(spec.operators.iter().map(|&u| (PrincipalKind::Operator, u))).enumerate() {
        let new = NewPrincipal {
            id: format!("p{n}"),
            kind,
            username: USERNAMES[u].into(),
            password_hash: format!("$argon2id${key}"),
            permissions: scopes(),
            email: Some(format!("{}@{key}.example", USERNAMES[u])),
            name: Some(format!("{key}/{}", USERNAMES[u])),
        };
        principals.push(store.create_principal(&scope, new).await.unwrap());
    }

    let mut api_tokens = Vec::new();
    let mut feed = Vec::new();
    if !principals.is_empty() {
        let chosen: BTreeSet<usize> = spec.api_tokens.iter().map(|o| o % principals.len()).collect();
        for n in chosen {
            let hash = format!("api{run}x{index}x{n}");
            let id = principals[n].id.clone();
            assert!(store.set_api_token(&scope, &id, Some(hash.clone()), API_AT).await.unwrap());
            principals[n].api_token_issued_at = Some(API_AT);
            feed.push((RevocationKind::ApiToken, id.clone()));
            api_tokens.push((hash, id));
        }
    }

    let mut tokens = Vec::new();
    for (n, t) in spec.tokens.iter().enumerate() {
        let subject = SUBJECTS[t.subject];
        let token = IssuedToken {
            // Upper-case letters and digits of one length: every collation orders them as bytes.
            jti: Jti::parse(format!("J{run:06}{index}{n:02}")).unwrap(),
            client_id: ClientId::parse(CLIENTS[t.client]).unwrap(),
            subject: subject.into(),
            act_type: if subject.starts_with('p') { ActType::User } else { ActType::Client },
            grant_type: GrantType::ClientCredentials,
            scopes: scopes(),
            audience: vec![key.clone()],
            issued_at: t.issued_at,
            expires_at: 10_000,
            status: if t.revoked { TokenStatus::Revoked } else { TokenStatus::Active },
            family_id: t.family.map(|f| FAMILIES[f].to_owned()),
            attributes: vec![TokenAttribute { name: "brand".into(), value: key.clone() }],
        };
        store.record_token(&scope, token.clone()).await.unwrap();
        tokens.push(token);
    }

    let mut refresh = Vec::new();
    for (n, r) in spec.refresh.iter().enumerate() {
        let token = RefreshToken {
            token_hash: format!("R{run}x{index}x{n}"),
            family_id: FAMILIES[r.family].into(),
            client_id: ClientId::parse(CLIENTS[r.client]).unwrap(),
            subject: SUBJECTS[r.subject].into(),
            act_type: ActType::User,
            scopes: scopes(),
            audience: vec![key.clone()],
            issued_at: 100,
            expires_at: 10_000,
            status: r.status,
            rotated_at: matches!(r.status, RefreshStatus::Rotated | RefreshStatus::Retried).then_some(150),
        };
        store.record_refresh(&scope, token.clone()).await.unwrap();
        refresh.push(token);
    }

    let mut events = Vec::new();
    for (n, &at) in spec.events.iter().enumerate() {
        let event = AuditEvent {
            at,
            actor: key.clone(),
            action: format!("event{n}"),
            target: Some(key.clone()),
            source: None,
            detail: None,
        };
        store.record_event(&scope, event.clone()).await.unwrap();
        events.push(event);
    }

    let mut keys =
        vec![(FIRST_KID.to_owned(), KeyStatus::Active, signing_key(&key, FIRST_KID, KeyStatus::Active).public_jwk)];
    for (&k, &retired) in &spec.keys {
        let status = if retired { KeyStatus::Retired } else { KeyStatus::Next };
        let new = signing_key(&key, KIDS[k], status);
        keys.push((KIDS[k].to_owned(), status, new.public_jwk.clone()));
        store.add_key(&scope, new, KEY_AT).await.unwrap();
    }

    let mut lockouts = BTreeMap::new();
    for &u in &spec.failures {
        let now = 20_000 + 100 * i64::try_from(index).unwrap() + i64::try_from(u).unwrap();
        let reserved = store.reserve_login_attempt(&scope, USERNAMES[u], now, POLICY).await.unwrap();
        let LoginReservation::Admitted(counter) = reserved else { panic!("a first attempt is admitted") };
        // A 1 s lock-out set during second `now` ends at the start of `now + 2`.
        assert_eq!(counter.locked_until, now + 2);
        lockouts.insert(USERNAMES[u].to_owned(), now + 2);
    }

    let mut sessions = Vec::new();
    for &s in &spec.sessions {
        let session = LoginSession {
            session_hash: SESSIONS[s].into(),
            subject: format!("{key}-user"),
            auth_time: 100,
            sid: format!("{key}-sid{s}"),
            expires_at: 10_000,
        };
        store.create_session(&scope, session.clone()).await.unwrap();
        sessions.push(session);
    }

    let mut codes = BTreeMap::new();
    for (&c, &replayed) in &spec.codes {
        store.create_code(&scope, code(&key, CODES[c])).await.unwrap();
        if replayed {
            let first = store.redeem_code(&scope, CODES[c], 110).await.unwrap();
            assert!(matches!(first, Some(CodeRedemption::First(_))));
            let again = store.redeem_code(&scope, CODES[c], 111).await.unwrap();
            assert!(matches!(again, Some(CodeRedemption::Replayed(_))));
        }
        codes.insert(CODES[c].to_owned(), replayed);
    }

    Model {
        key,
        scope,
        clients,
        principals,
        api_tokens,
        tokens,
        refresh,
        events,
        keys,
        feed,
        lockouts,
        sessions,
        codes,
    }
}

/// Newest first, ties by jti descending: the documented order of token lists.
fn newest_first(tokens: impl IntoIterator<Item = IssuedToken>) -> Vec<IssuedToken> {
    let mut tokens: Vec<_> = tokens.into_iter().collect();
    tokens.sort_by(|a, b| (b.issued_at, b.jti.as_str()).cmp(&(a.issued_at, a.jti.as_str())));
    tokens
}

fn matches(filter: &TokenFilter, t: &IssuedToken) -> bool {
    filter.client_id.as_ref().is_none_or(|c| *c == t.client_id)
        && filter.subject.as_ref().is_none_or(|s| *s == t.subject)
        && filter.status.is_none_or(|s| s == t.status)
}

fn filters() -> Vec<TokenFilter> {
    let mut filters = vec![TokenFilter::default()];
    for c in CLIENTS {
        filters.push(TokenFilter { client_id: Some(ClientId::parse(c).unwrap()), ..TokenFilter::default() });
        filters.push(TokenFilter {
            client_id: Some(ClientId::parse(c).unwrap()),
            status: Some(TokenStatus::Active),
            ..TokenFilter::default()
        });
    }
    for s in SUBJECTS {
        filters.push(TokenFilter { subject: Some(s.into()), ..TokenFilter::default() });
    }
    for status in [TokenStatus::Active, TokenStatus::Revoked] {
        filters.push(TokenFilter { status: Some(status), ..TokenFilter::default() });
    }
    filters
}

/// Checks every read through `a`'s scope against `a`'s model; `all` holds every brand of the
/// case, whose identifiers are all looked up through `a`.
async fn check_reads(db: &str, store: &SeaStore, a: &Model, all: &[Model]) -> TestCaseResult {
    let scope = &a.scope;
    let at = format!("{db}, brand {}", a.key);

    // Clients.
    prop_assert_eq!(&store.list_clients(scope).await.unwrap(), &a.clients, "{}: list_clients", at);
    for c in CLIENTS {
        let found = store.find_client(scope, &ClientId::parse(c).unwrap()).await.unwrap();
        let expected = a.clients.iter().find(|x| x.client_id.as_str() == c);
        prop_assert_eq!(found.as_ref(), expected, "{}: find_client {}", at, c);
    }

    // Users and operators: lists, paging, searches, counts, lookups by username, id, API token.
    for kind in KINDS {
        let mut expected: Vec<&Principal> = a.principals.iter().filter(|p| p.kind == kind).collect();
        expected.sort_by(|x, y| x.username.cmp(&y.username));
        let listed = store.list_principals(scope, kind, None, None, 1_000).await.unwrap();
        prop_assert_eq!(listed.iter().collect::<Vec<_>>(), expected.clone(), "{}: list_principals {:?}", at, kind);
        let mut walked = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.list_principals(scope, kind, None, after.as_deref(), 2).await.unwrap();
            prop_assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = Some(last.username.clone());
            walked.extend(page);
        }
        prop_assert_eq!(walked.iter().collect::<Vec<_>>(), expected.clone(), "{}: principals paged by 2", at);
        for search in SEARCHES {
            let wanted: Vec<&Principal> = expected
                .iter()
                .copied()
                .filter(|p| p.username.to_ascii_lowercase().starts_with(&search.to_ascii_lowercase()))
                .collect();
            let found = store.list_principals(scope, kind, Some(search), None, 1_000).await.unwrap();
            prop_assert_eq!(found.iter().collect::<Vec<_>>(), wanted.clone(), "{}: search {:?} {:?}", at, kind, search);
            let count = store.count_principals(scope, kind, Some(search)).await.unwrap();
            prop_assert_eq!(count, wanted.len() as u64, "{}: count search {:?}", at, search);
        }
        prop_assert_eq!(store.count_principals(scope, kind, None).await.unwrap(), expected.len() as u64);
        for u in USERNAMES {
            let found = store.find_principal(scope, kind, u).await.unwrap();
            let wanted = expected.iter().copied().find(|p| p.username == u);
            prop_assert_eq!(found.as_ref(), wanted, "{}: find_principal {:?} {}", at, kind, u);
        }
    }
    for id in SUBJECTS {
        let found = store.find_principal_by_id(scope, id).await.unwrap();
        prop_assert_eq!(found.as_ref(), a.principals.iter().find(|p| p.id == id), "{}: principal {}", at, id);
    }
    for other in all {
        for (hash, id) in &other.api_tokens {
            let found = store.find_principal_by_api_token(scope, hash).await.unwrap();
            let wanted = if other.key == a.key { a.principals.iter().find(|p| &p.id == id) } else { None };
            prop_assert_eq!(found.as_ref(), wanted, "{}: API token of {}", at, other.key);
        }
    }

    // Signing keys.
    let as_model = |k: &StoredKey| (k.kid.to_string(), k.status, k.public_jwk.clone());
    let listed: Vec<_> = store.list_keys(scope).await.unwrap().iter().map(as_model).collect();
    let newest_keys: Vec<_> = a.keys.iter().rev().cloned().collect();
    prop_assert_eq!(&listed, &newest_keys, "{}: list_keys", at);
    let active = store.active_key(scope).await.unwrap().map(|k| as_model(&k));
    prop_assert_eq!(active.as_ref(), a.keys.first(), "{}: active_key", at);
    let published: Vec<_> = store.published_keys(scope, 0).await.unwrap().iter().map(as_model).collect();
    let unretired: Vec<_> = newest_keys.iter().filter(|(_, s, _)| *s != KeyStatus::Retired).cloned().collect();
    prop_assert_eq!(published, unretired, "{}: published_keys", at);

    // Access-token records: filtered lists, counts, paging, lookups by every brand's jtis.
    for filter in filters() {
        let expected = newest_first(a.tokens.iter().filter(|t| matches(&filter, t)).cloned());
        let listed = store.list_tokens(scope, &filter, None, 1_000).await.unwrap();
        prop_assert_eq!(&listed, &expected, "{}: list_tokens {:?}", at, filter);
        prop_assert_eq!(store.count_tokens(scope, &filter).await.unwrap(), expected.len() as u64);
    }
    let mut walked = Vec::new();
    let mut after: Option<TokenCursor> = None;
    loop {
        let page = store.list_tokens(scope, &TokenFilter::default(), after.as_ref(), 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(TokenCursor { issued_at: last.issued_at, jti: last.jti.to_string() });
        walked.extend(page);
    }
    prop_assert_eq!(walked, newest_first(a.tokens.iter().cloned()), "{}: tokens paged by 2", at);
    for other in all {
        for t in &other.tokens {
            let found = store.find_token(scope, t.jti.as_str()).await.unwrap();
            let mine = other.key == a.key;
            prop_assert_eq!(found.as_ref(), mine.then_some(t), "{}: find_token of {}", at, other.key);
            let live = store
                .access_token_live(scope, t.jti.as_str(), &t.subject, t.client_id.as_str(), t.issued_at)
                .await
                .unwrap();
            prop_assert_eq!(live, mine && t.status == TokenStatus::Active, "{}: live {} of {}", at, t.jti, other.key);
        }
        for r in &other.refresh {
            let found = store.find_refresh(scope, &r.token_hash).await.unwrap();
            prop_assert_eq!(found.as_ref(), (other.key == a.key).then_some(r), "{}: find_refresh of {}", at, other.key);
        }
    }

    // Audit log: recent, paged by position, counted.
    let newest_events: Vec<AuditEvent> = a.events.iter().rev().cloned().collect();
    prop_assert_eq!(&store.recent_events(scope, 1_000).await.unwrap(), &newest_events, "{}: recent_events", at);
    prop_assert_eq!(store.count_events(scope).await.unwrap(), a.events.len() as u64, "{}: count_events", at);
    let mut walked = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let page = store.list_events(scope, before, 2).await.unwrap();
        let Some(&(last, _)) = page.last() else { break };
        prop_assert!(before.is_none_or(|b| page.iter().all(|(p, _)| *p < b)), "{}: positions go down", at);
        before = Some(last);
        walked.extend(page.into_iter().map(|(_, e)| e));
    }
    prop_assert_eq!(walked, newest_events, "{}: events paged by 2", at);

    // Revocation feed (API-token entries so far).
    let feed = store.revocations_after(scope, 0, 1_000).await.unwrap();
    let entries: Vec<_> = feed.iter().map(|r| (r.kind, r.value.clone())).collect();
    prop_assert_eq!(&entries, &a.feed, "{}: revocations_after", at);
    if let Some(last) = feed.last() {
        prop_assert!(store.revocations_after(scope, last.cursor, 1_000).await.unwrap().is_empty());
    }
    for s in SUBJECTS {
        prop_assert!(!store.blanket_revoked(scope, s, s, 0).await.unwrap(), "{}: no blanket entries yet", at);
    }

    // Login lock-outs, sessions, codes.
    for u in USERNAMES {
        let locked = store.login_locked_until(scope, u).await.unwrap();
        prop_assert_eq!(locked, a.lockouts.get(u).copied().unwrap_or(0), "{}: locked_until {}", at, u);
    }
    for s in SESSIONS {
        let found = store.find_session(scope, s).await.unwrap();
        prop_assert_eq!(found.as_ref(), a.sessions.iter().find(|x| x.session_hash == s), "{}: session {}", at, s);
    }
    for c in CODES {
        let replayed = store.code_replayed(scope, c).await.unwrap();
        prop_assert_eq!(replayed, a.codes.get(c).copied().unwrap_or(false), "{}: code_replayed {}", at, c);
    }
    Ok(())
}

/// Everything a brand holds, read through its own scope.
#[derive(Debug, PartialEq)]
struct Snapshot {
    brand: Option<Brand>,
    clients: Vec<Client>,
    principals: Vec<Vec<Principal>>,
    api_tokens: Vec<Option<Principal>>,
    keys: Vec<StoredKey>,
    tokens: Vec<IssuedToken>,
    refresh: Vec<Option<RefreshToken>>,
    events: Vec<(i64, AuditEvent)>,
    feed: Vec<Revocation>,
    lockouts: Vec<i64>,
    sessions: Vec<Option<LoginSession>>,
    codes: Vec<bool>,
}

async fn snapshot(store: &SeaStore, m: &Model) -> Snapshot {
    let scope = &m.scope;
    let mut principals = Vec::new();
    for kind in KINDS {
        principals.push(store.list_principals(scope, kind, None, None, 1_000).await.unwrap());
    }
    let mut api_tokens = Vec::new();
    for (hash, _) in &m.api_tokens {
        api_tokens.push(store.find_principal_by_api_token(scope, hash).await.unwrap());
    }
    let mut refresh = Vec::new();
    for r in &m.refresh {
        refresh.push(store.find_refresh(scope, &r.token_hash).await.unwrap());
    }
    let mut lockouts = Vec::new();
    for u in USERNAMES {
        lockouts.push(store.login_locked_until(scope, u).await.unwrap());
    }
    let mut sessions = Vec::new();
    let mut codes = Vec::new();
    for (s, c) in SESSIONS.iter().zip(CODES) {
        sessions.push(store.find_session(scope, s).await.unwrap());
        codes.push(store.code_replayed(scope, c).await.unwrap());
    }
    Snapshot {
        brand: store.find_brand(scope.key()).await.unwrap(),
        clients: store.list_clients(scope).await.unwrap(),
        principals,
        api_tokens,
        keys: store.list_keys(scope).await.unwrap(),
        tokens: store.list_tokens(scope, &TokenFilter::default(), None, 1_000).await.unwrap(),
        refresh,
        events: store.list_events(scope, None, 1_000).await.unwrap(),
        feed: store.revocations_after(scope, 0, 1_000).await.unwrap(),
        lockouts,
        sessions,
        codes,
    }
}

/// Writes through `a`'s scope with every identifier of `b`. Each write that names something `a`
/// never had must report that nothing was there.
async fn write_with_foreign_ids(db: &str, store: &SeaStore, run: u32, a: &Model, b: &Model) -> TestCaseResult {
    let scope = &a.scope;
    let at = format!("{db}: through {} with ids of {}", a.key, b.key);
    let revoke_at = RevokeAt { at: WRITE_AT, keep_until: WRITE_AT + 100 };

    for t in &b.tokens {
        let jti = t.jti.as_str();
        prop_assert!(!store.revoke_token(scope, jti, WRITE_AT).await.unwrap(), "{}: revoke_token {}", at, jti);
        prop_assert!(!store.approve_token(scope, jti, WRITE_AT).await.unwrap(), "{}: approve_token {}", at, jti);
        let attributes = vec![TokenAttribute { name: "hijacked".into(), value: a.key.clone() }];
        prop_assert!(!store.set_token_attributes(scope, jti, attributes).await.unwrap(), "{}: attributes {}", at, jti);
    }
    for (n, r) in b.refresh.iter().enumerate() {
        let replacement = RefreshToken {
            token_hash: format!("X{run}x{}x{n}", a.key),
            family_id: r.family_id.clone(),
            status: RefreshStatus::Active,
            rotated_at: None,
            ..r.clone()
        };
        let rotated = store.rotate_refresh(scope, &r.token_hash, replacement.clone(), WRITE_AT).await.unwrap();
        prop_assert!(!rotated, "{}: rotate_refresh {}", at, r.token_hash);
        let retried = store.retry_refresh(scope, &r.token_hash, replacement).await.unwrap();
        prop_assert!(!retried, "{}: retry_refresh {}", at, r.token_hash);
    }
    for family in b.families() {
        let revoked = store.revoke_family(scope, family, WRITE_AT).await.unwrap();
        prop_assert!(a.families().contains(family) || revoked == 0, "{}: revoke_family {}", at, family);
    }
    for subject in b.token_subjects() {
        let revoked = store.revoke_subject(scope, subject, revoke_at).await.unwrap();
        prop_assert!(a.token_subjects().contains(subject) || revoked == 0, "{}: revoke_subject {}", at, subject);
    }
    for client in b.token_clients() {
        let revoked = store.revoke_client_tokens(scope, &ClientId::parse(client).unwrap(), revoke_at).await.unwrap();
        prop_assert!(a.token_clients().contains(client) || revoked == 0, "{}: revoke_client_tokens {}", at, client);
    }
    for c in &b.clients {
        let id = &c.client_id;
        let known = a.client_ids().contains(id.as_str());
        let changed = store.set_client_enabled(scope, id, false, revoke_at).await.unwrap();
        prop_assert!(known || !changed, "{}: set_client_enabled {}", at, id);
        let changed = store.update_client(scope, id, profile("hijacked".into()), WRITE_AT).await.unwrap();
        prop_assert!(known || !changed, "{}: update_client {}", at, id);
        let changed = store
            .replace_client_secret(scope, id, "sha256:hijacked".into(), Some(WRITE_AT + 60), WRITE_AT)
            .await
            .unwrap();
        prop_assert!(known || !changed, "{}: replace_client_secret {}", at, id);
        let changed = store.delete_client(scope, id, revoke_at).await.unwrap();
        prop_assert!(known || !changed, "{}: delete_client {}", at, id);
    }
    for (n, p) in b.principals.iter().enumerate() {
        let id = p.id.as_str();
        let known = a.principal_ids().contains(id);
        let update = PrincipalUpdate {
            password_hash: Some("$argon2id$hijacked".into()),
            permissions: Some(ScopeSet::parse_delimited("admin").unwrap()),
            email: Some(None),
            name: Some(Some("hijacked".into())),
        };
        let changed = store.update_principal(scope, id, update, WRITE_AT).await.unwrap();
        prop_assert!(known || !changed, "{}: update_principal {}", at, id);
        let hash = format!("Y{run}x{}x{n}", a.key);
        let changed = store.set_api_token(scope, id, Some(hash), WRITE_AT).await.unwrap();
        prop_assert!(known || !changed, "{}: set_api_token {}", at, id);
        let changed = store.set_principal_enabled(scope, id, false, revoke_at).await.unwrap();
        prop_assert!(known || !changed, "{}: set_principal_enabled {}", at, id);
        let changed = store.delete_principal(scope, id, revoke_at).await.unwrap();
        prop_assert!(known || !changed, "{}: delete_principal {}", at, id);
    }
    for username in b.usernames() {
        store.clear_login_failures(scope, username).await.unwrap();
        store.reserve_login_attempt(scope, username, WRITE_AT, POLICY).await.unwrap();
    }
    for session in b.session_hashes() {
        let ended = store.end_session(scope, session).await.unwrap();
        prop_assert!(a.session_hashes().contains(session) || !ended, "{}: end_session {}", at, session);
    }
    for code in b.codes.keys() {
        let redeemed = store.redeem_code(scope, code, WRITE_AT).await.unwrap();
        prop_assert!(a.codes.contains_key(code) || redeemed.is_none(), "{}: redeem_code {}", at, code);
    }
    // Key rotation: retiring b's key ids, and promoting b's next keys while retiring a's active
    // one (which must then change nothing, a's keys included).
    for (n, (kid, status, _)) in b.keys.iter().enumerate() {
        let fresh = |role: &str| signing_key(&a.key, &format!("{role}{run}x{}x{n}", b.key), KeyStatus::Active);
        let rotation = KeyRotation {
            retire: KeyId::parse(kid.as_str()).unwrap(),
            publish_until: WRITE_AT + 1_000,
            activate: Activation::Insert(fresh("act")),
            next: fresh("next"),
        };
        let rotated = store.rotate_keys(scope, rotation, WRITE_AT).await.unwrap();
        prop_assert!(a.kids().contains(kid.as_str()) || !rotated, "{}: rotate_keys retiring {}", at, kid);
        if *status == KeyStatus::Next && !a.kids().contains(kid.as_str()) {
            let before = store.list_keys(scope).await.unwrap();
            let active = store.active_key(scope).await.unwrap().unwrap();
            let rotation = KeyRotation {
                retire: active.kid,
                publish_until: WRITE_AT + 1_000,
                activate: Activation::Promote(KeyId::parse(kid.as_str()).unwrap()),
                next: fresh("next2"),
            };
            prop_assert!(!store.rotate_keys(scope, rotation, WRITE_AT).await.unwrap(), "{}: promote {}", at, kid);
            prop_assert_eq!(store.list_keys(scope).await.unwrap(), before, "{}: a failed rotation changes nothing", at);
        }
    }
    let settings = BrandSettings { access_ttl: Some(1), ..BrandSettings::default() };
    store.update_brand(scope, "hijacked".into(), settings, WRITE_AT).await.unwrap();
    Ok(())
}

#[test]
fn brand_scopes_isolate_every_read_and_write() {
    let strategy = vec(brand_spec(), 2..=3);
    check(
        "brand isolation",
        cases(24),
        strategy,
        async |db: &TestDatabase, store: &SeaStore, specs: Vec<BrandSpec>| {
            let run = unique();
            let mut models = Vec::new();
            for (index, spec) in specs.iter().enumerate() {
                models.push(build(store, run, index, spec).await);
            }
            for a in &models {
                check_reads(db.name, store, a, &models).await?;
            }
            for a in &models {
                let others: Vec<&Model> = models.iter().filter(|m| m.key != a.key).collect();
                let mut before = Vec::new();
                for b in &others {
                    before.push(snapshot(store, b).await);
                }
                for b in &others {
                    write_with_foreign_ids(db.name, store, run, a, b).await?;
                }
                for (b, before) in others.iter().zip(before) {
                    let after = snapshot(store, b).await;
                    prop_assert_eq!(after, before, "{}: writes through {} changed {}", db.name, a.key, b.key);
                }
            }
            // No rotation through a foreign hash stored its replacement anywhere.
            for m in &models {
                for other in &models {
                    for n in 0..other.refresh.len() {
                        let hash = format!("X{run}x{}x{n}", m.key);
                        prop_assert!(store.find_refresh(&other.scope, &hash).await.unwrap().is_none());
                    }
                }
            }
            Ok(())
        },
    );
}
