//! End-to-end tests of the real `portcullis` binary.
//!
//! Every test starts the compiled binary as a subprocess in its own temporary directory, with
//! its own database and its own loopback ports, and talks to it the way operators and clients
//! do: offline CLI commands whose JSON output is parsed, and HTTP requests to `serve`. Each
//! scenario runs against SQLite, and against a fresh Postgres database as well when
//! `PORTCULLIS_TEST_POSTGRES_URL` names a server.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a panic is a failed test")]

mod admin_api;
mod bad_input;
mod bootstrap;
mod browser;
mod check;
mod config_errors;
mod console;
mod crash;
mod faults;
mod fixture;
mod held_connections;
mod http;
mod listeners;
mod lockouts;
mod multi_instance;
mod oauth_client;
mod oidc_login;
mod operations;
mod password_flow;
mod principals;
mod secrets_at_rest;
mod side_channels;
mod token_errors;
mod token_lifecycle;
mod verifier;
mod verifier_live;
