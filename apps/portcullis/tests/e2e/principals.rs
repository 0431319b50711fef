//! `user create` and `operator create`: the password comes from standard input only, is stored
//! as an Argon2id hash, and usernames are unique per brand and kind.

use std::io::Write;
use std::process::{Output, Stdio};

use serde_json::Value;

use crate::fixture::Fixture;

/// Runs `portcullis {kind} create …` with `password` on standard input.
pub(crate) fn create(
    fixture: &Fixture,
    kind: &str,
    brand: &str,
    username: &str,
    password: &str,
    extra: &[&str],
) -> Output {
    let mut args = vec![kind, "create", "--brand", brand, "--username", username, "--password-stdin", "--json"];
    args.extend_from_slice(extra);
    let mut child = fixture
        .command(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    child.stdin.take().expect("piped stdin").write_all(format!("{password}\n").as_bytes()).expect("write the password");
    child.wait_with_output().expect("the command finishes")
}

fn json(output: &Output) -> Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

#[tokio::test]
async fn users_and_operators_are_created_from_stdin() {
    for fixture in Fixture::all().await {
        fixture.create_brand("acme", &[]);
        fixture.create_brand("globex", &[]);
        let user =
            json(&create(&fixture, "user", "acme", "alice", "correct horse", &["--permission", "read", "write"]));
        assert_eq!(user["brand_key"], "acme");
        assert_eq!(user["username"], "alice");
        assert_eq!(user["permissions"], serde_json::json!(["read", "write"]));
        assert!(user["user_id"].as_str().is_some_and(|id| id.len() >= 22), "{user}");
        assert!(!user.to_string().contains("correct horse"), "the password is never printed");

        let operator = json(&create(&fixture, "operator", "acme", "alice", "correct horse", &[]));
        assert!(operator["operator_id"].is_string(), "operators have their own namespace: {operator}");
        json(&create(&fixture, "user", "globex", "alice", "correct horse", &[]));

        let taken = create(&fixture, "user", "acme", "alice", "another password", &[]);
        assert!(!taken.status.success());
        assert!(String::from_utf8_lossy(&taken.stderr).contains("already exists"));
        let short = create(&fixture, "user", "acme", "bob", "short", &[]);
        assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8 characters"));
        let unknown = create(&fixture, "user", "nobody", "bob", "long enough", &[]);
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown brand"));

        let without_flag = fixture.cli(&["user", "create", "--brand", "acme", "--username", "carol"]);
        assert!(!without_flag.status.success(), "--password-stdin is required");

        for file in fixture.sqlite_files() {
            let bytes = std::fs::read(&file).expect("read the database");
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("correct horse"), "{} holds a password in clear", file.display());
        }
    }
}
