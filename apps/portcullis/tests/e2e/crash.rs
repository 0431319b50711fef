//! Crash safety: a token the server answered with 200 is a committed record, whatever happens
//! to the process next. A storm of concurrent client_credentials requests runs until the server
//! is killed with SIGKILL mid-storm (requests in flight, no graceful shutdown), or stopped with
//! SIGTERM (a graceful shutdown, which must end by itself within its deadline); a restart on the
//! same database and master key, with no manual step, must then introspect every acknowledged
//! token as active.

#[cfg(unix)]
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::fixture::{ClientCredentials, Fixture, Server};
use crate::http::{self, Auth, client_credentials, request_token};

/// Concurrent requesters in the storm.
const STORM_TASKS: usize = 16;

/// The storm runs at least this long before the kill…
const STORM_MIN: Duration = Duration::from_millis(1500);

/// …or until this many tokens were acknowledged, whichever comes first…
const STORM_ENOUGH: usize = 3000;

/// …but once [`STORM_MIN`] has passed, only when at least one token was acknowledged, and
/// never longer than this.
const STORM_MAX: Duration = Duration::from_secs(8);

/// Fewest acknowledged tokens for the test to mean anything.
const MEANINGFUL: usize = 50;

/// Concurrent introspection requests after the restart.
const CHECKERS: usize = 16;

/// What the storm's requesters share.
#[derive(Default)]
struct Storm {
    /// Set just before the kill: no requester starts a new request after it.
    killed: AtomicBool,
    /// Requests sent.
    started: AtomicUsize,
    /// Requests that ended, one way or another.
    finished: AtomicUsize,
    /// Access tokens answered with 200 and read to the end.
    acknowledged: Mutex<Vec<String>>,
    /// 200s read after the kill (sent by the server just before it died).
    acknowledged_after_kill: AtomicUsize,
    /// Requests that failed (no complete answer) after the kill: in flight when it came.
    failed_after_kill: AtomicUsize,
    /// What went wrong before the kill, which nothing should.
    trouble_before_kill: Mutex<Vec<String>>,
}

impl Storm {
    fn acknowledged(&self) -> usize {
        self.acknowledged.lock().map(|a| a.len()).unwrap_or_default()
    }
}

#[tokio::test]
async fn acknowledged_tokens_survive_a_kill_9() {
    for fixture in Fixture::all().await {
        survives_a_kill_9(&fixture).await;
    }
}

async fn survives_a_kill_9(fixture: &Fixture) {
    let backend = fixture.name();
    let started = Instant::now();
    fixture.create_brand("acme", &[]);
    let app = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
    let server = fixture.serve().await;
    assert!(server.revealed_admin().is_some(), "[{backend}] the first start bootstraps");

    // The storm, then SIGKILL while it is at full speed.
    let storm = Arc::new(Storm::default());
    let requesters = start_storm(&server, &app, &storm);
    let storm_began = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (elapsed, acknowledged) = (storm_began.elapsed(), storm.acknowledged());
        if acknowledged >= STORM_ENOUGH || (elapsed >= STORM_MIN && acknowledged > 0) || elapsed >= STORM_MAX {
            break;
        }
    }
    storm.killed.store(true, Ordering::SeqCst);
    let in_flight = storm.started.load(Ordering::SeqCst) - storm.finished.load(Ordering::SeqCst);
    let storm_time = storm_began.elapsed();
    let status = server.kill9();
    #[cfg(unix)]
    assert_eq!(status.signal(), Some(9), "[{backend}] the server must die of SIGKILL, not {status}");
    for requester in requesters {
        tokio::time::timeout(Duration::from_secs(30), requester)
            .await
            .expect("a requester ends once the server is gone")
            .expect("requester task");
    }

    let trouble = storm.trouble_before_kill.lock().expect("trouble").clone();
    assert!(trouble.is_empty(), "[{backend}] requests failed before the kill: {trouble:?}");
    let tokens = storm.acknowledged.lock().expect("tokens").clone();
    let (sent, failed_after_kill, acknowledged_after_kill) = (
        storm.started.load(Ordering::SeqCst),
        storm.failed_after_kill.load(Ordering::SeqCst),
        storm.acknowledged_after_kill.load(Ordering::SeqCst),
    );
    eprintln!(
        "[{backend}] storm: {sent} requests in {storm_time:?}, {} acknowledged ({acknowledged_after_kill} read after \
         the kill), {in_flight} in flight at the kill, {failed_after_kill} cut off by it",
        tokens.len()
    );
    assert!(tokens.len() > MEANINGFUL, "[{backend}] only {} tokens were acknowledged", tokens.len());
    // Requests sent and not yet answered when the kill came; each then ended either with a 200
    // the server had already written to the socket or cut off. How many were already answered
    // depends on how far the client had fallen behind reading, so only the sum is asserted.
    assert!(in_flight > 0, "[{backend}] no request was in flight at the kill");
    assert_eq!(
        failed_after_kill + acknowledged_after_kill,
        in_flight,
        "[{backend}] the requests in flight at the kill are accounted for"
    );
    let jtis: Vec<String> = tokens.iter().map(|t| jti_of(t)).collect();
    let mut unique = jtis.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), jtis.len(), "[{backend}] two acknowledged tokens share a jti");

    // A restart on the same database, key file and ports, with no manual step.
    let server = fixture.serve().await;
    assert!(server.revealed_admin().is_none(), "[{backend}] the restart revealed an admin: {:?}", server.banner());
    let lost = introspect_all(&server, &app, &tokens, &jtis).await;
    assert!(
        lost.is_empty(),
        "[{backend}] {} of {} acknowledged tokens are not active after the restart; first few: {:?}\nstderr:\n{}",
        lost.len(),
        tokens.len(),
        &lost[..lost.len().min(5)],
        server.stderr()
    );
    eprintln!("[{backend}] all {} acknowledged tokens introspect active after the restart", tokens.len());

    if backend != "sqlite" {
        eprintln!("[{backend}] crash test done in {:?}", started.elapsed());
        return;
    }
    // SQLite recovered its WAL: the database takes new writes of every kind.
    let token_url = server.token_url("acme");
    let introspect_url = format!("{}/brands/acme/oauth/introspect", server.public_url);
    let revoke_url = format!("{}/brands/acme/oauth/revoke", server.public_url);
    let fresh = client_credentials(&token_url, Auth::Basic(&app), &[]).await.access_token();
    let seen = request_token(&introspect_url, Auth::Basic(&app), &[("token", &fresh)]).await;
    assert_eq!(seen.body()["active"], true, "[{backend}] a fresh token: {}", seen.text);
    assert_eq!(seen.body()["jti"], jti_of(&fresh).as_str(), "[{backend}]");
    for token in [&fresh, &tokens[0]] {
        let revoked = request_token(&revoke_url, Auth::Basic(&app), &[("token", token)]).await;
        assert_eq!(revoked.status.as_u16(), 200, "[{backend}] revocation: {}", revoked.text);
        let seen = request_token(&introspect_url, Auth::Basic(&app), &[("token", token)]).await;
        assert_eq!(seen.body(), &json!({"active": false}), "[{backend}] revoked");
    }
    // An offline CLI writer beside the restarted server, on a storm token too.
    let out = fixture.cli_json(&["token", "revoke", "--brand", "acme", &jtis[jtis.len() - 1], "--json"]);
    assert_eq!(out["revoked"], true, "[{backend}] {out}");
    let last = request_token(&introspect_url, Auth::Basic(&app), &[("token", &tokens[tokens.len() - 1])]).await;
    assert_eq!(last.body(), &json!({"active": false}), "[{backend}] revoked from the CLI");
    let feed = http::client()
        .get(format!("{}/brands/acme/revocations?after=0", server.public_url))
        .basic_auth(&app.id, Some(&app.secret))
        .send()
        .await
        .expect("feed")
        .json::<Value>()
        .await
        .expect("JSON page");
    let values: Vec<&str> =
        feed["revocations"].as_array().expect("entries").iter().filter_map(|e| e["value"].as_str()).collect();
    for jti in [jti_of(&fresh).as_str(), jtis[0].as_str(), jtis[jtis.len() - 1].as_str()] {
        assert!(values.contains(&jti), "[{backend}] the feed lacks {jti}: {feed}");
    }
    // Tokens untouched by the revocations are still active.
    let others = &tokens[1..tokens.len() - 1];
    let lost = introspect_all(&server, &app, others, &jtis[1..jtis.len() - 1]).await;
    assert!(lost.is_empty(), "[{backend}] revoking one token touched others: {:?}", &lost[..lost.len().min(5)]);
    eprintln!("[{backend}] crash test done in {:?}", started.elapsed());
}

#[tokio::test]
async fn sigterm_under_load_loses_no_acknowledged_token() {
    for fixture in Fixture::all().await {
        let backend = fixture.name();
        fixture.create_brand("acme", &[]);
        let app = fixture.create_client("acme", &["--grant", "client_credentials", "--scope", "read"]);
        let server = fixture.serve().await;
        let storm = Arc::new(Storm::default());
        let requesters = start_storm(&server, &app, &storm);
        tokio::time::sleep(STORM_MIN).await;
        storm.killed.store(true, Ordering::SeqCst);
        let in_flight = storm.started.load(Ordering::SeqCst) - storm.finished.load(Ordering::SeqCst);
        // The server's own grace period is 20 s; it must exit well within it under this load.
        let status =
            tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(25))).await.expect("wait");
        assert!(status.success(), "[{backend}] a graceful shutdown exits with 0, not {status}");
        for requester in requesters {
            tokio::time::timeout(Duration::from_secs(30), requester).await.expect("requester ends").expect("task");
        }
        let trouble = storm.trouble_before_kill.lock().expect("trouble").clone();
        assert!(trouble.is_empty(), "[{backend}] requests failed before SIGTERM: {trouble:?}");
        let tokens = storm.acknowledged.lock().expect("tokens").clone();
        eprintln!(
            "[{backend}] SIGTERM with {in_flight} requests in flight: {} answered after it, {} cut off; {} acknowledged",
            storm.acknowledged_after_kill.load(Ordering::SeqCst),
            storm.failed_after_kill.load(Ordering::SeqCst),
            tokens.len()
        );
        assert!(tokens.len() > MEANINGFUL, "[{backend}] only {} tokens were acknowledged", tokens.len());
        let jtis: Vec<String> = tokens.iter().map(|t| jti_of(t)).collect();
        let server = fixture.serve().await;
        let lost = introspect_all(&server, &app, &tokens, &jtis).await;
        assert!(
            lost.is_empty(),
            "[{backend}] {} acknowledged tokens lost: {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        );
    }
}

/// Starts [`STORM_TASKS`] requesters that ask for tokens back to back until the kill.
fn start_storm(server: &Server, app: &ClientCredentials, storm: &Arc<Storm>) -> Vec<tokio::task::JoinHandle<()>> {
    let client = http::client();
    (0..STORM_TASKS)
        .map(|_| {
            let (client, storm, url, app) = (client.clone(), Arc::clone(storm), server.token_url("acme"), app.clone());
            tokio::spawn(async move {
                while !storm.killed.load(Ordering::SeqCst) {
                    storm.started.fetch_add(1, Ordering::SeqCst);
                    let outcome = request(&client, &url, &app).await;
                    storm.finished.fetch_add(1, Ordering::SeqCst);
                    let after_kill = storm.killed.load(Ordering::SeqCst);
                    match outcome {
                        Ok(token) => {
                            storm.acknowledged.lock().expect("tokens").push(token);
                            if after_kill {
                                storm.acknowledged_after_kill.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        Err(_) if after_kill => {
                            storm.failed_after_kill.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => storm.trouble_before_kill.lock().expect("trouble").push(e),
                    }
                }
            })
        })
        .collect()
}

/// One client_credentials request: the access token of a complete 200, or what went wrong.
async fn request(client: &reqwest::Client, url: &str, app: &ClientCredentials) -> Result<String, String> {
    let response = client
        .post(url)
        .basic_auth(&app.id, Some(&app.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| format!("read: {e}"))?;
    if status != 200 {
        return Err(format!("{status}: {text}"));
    }
    let body: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON ({e}): {text}"))?;
    body["access_token"].as_str().map(str::to_owned).ok_or_else(|| format!("no access_token: {text}"))
}

/// Introspects every token with [`CHECKERS`] requests at a time; returns a description of each
/// that is not active with its own jti.
async fn introspect_all(server: &Server, app: &ClientCredentials, tokens: &[String], jtis: &[String]) -> Vec<String> {
    let client = http::client();
    let url = format!("{}/brands/{}/oauth/introspect", server.public_url, app.brand);
    let work: Vec<(String, String)> = tokens.iter().cloned().zip(jtis.iter().cloned()).collect();
    let work = Arc::new(Mutex::new(work));
    let checkers: Vec<_> = (0..CHECKERS)
        .map(|_| {
            let (client, url, app, work) = (client.clone(), url.clone(), app.clone(), Arc::clone(&work));
            tokio::spawn(async move {
                let mut lost = Vec::new();
                loop {
                    let Some((token, jti)) = work.lock().expect("work").pop() else {
                        return lost;
                    };
                    let reply = client
                        .post(&url)
                        .basic_auth(&app.id, Some(&app.secret))
                        .form(&[("token", token.as_str())])
                        .send()
                        .await
                        .expect("introspection request");
                    let status = reply.status();
                    let text = reply.text().await.expect("introspection body");
                    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    if status != 200 || body["active"] != true || body["jti"] != jti.as_str() {
                        lost.push(format!("jti {jti}: {status} {text}"));
                    }
                }
            })
        })
        .collect();
    let mut lost = Vec::new();
    for checker in checkers {
        lost.extend(checker.await.expect("checker task"));
    }
    lost
}

/// The `jti` claim of a JWS, read without verification (introspection verifies).
fn jti_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("a compact JWS");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload")).expect("JSON claims");
    claims["jti"].as_str().expect("a jti").to_owned()
}
