//! `cargo xtask peer`: the bench's load generator against Portcullis and a peer authorization
//! server on the same machine, in one run, so that a reader can compare them like for like.
//!
//! The peer is node-oidc-provider (the most used OpenID provider on npm, and the one whose figure
//! issue 8 quotes), installed from the pinned lock file in `xtask/peer/` ([`node`]); Node.js and
//! npm must be on the `PATH`. It is measured as one process (how it is usually deployed) and as
//! a `node:cluster` of as many processes as the machine has cores. Portcullis is the release
//! `portcullis serve` on a fresh SQLite file with its default configuration, as in
//! `cargo xtask bench`.
//!
//! Every contender gets the same requests: `client_credentials` tokens with HTTP Basic client
//! credentials at 1, 16 and 64 connections, then JWKS and discovery at 16. The contenders take
//! turns point by point, so that a slow spell of the machine falls on all of them alike. Every
//! successful token answer must carry an `access_token`; any error fails the run. The figures go
//! into the `peer` section of `BENCHMARKS.md` unless `--no-write`.

mod node;
mod report;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::bail;
use tokio::runtime::Runtime;

use crate::bench::load::{self, Template};
use crate::bench::server::{Binary, Credentials, Database, Server};
use crate::bench::{DEFAULT_THREADS, report as bench_report};
use crate::cargo;

/// The flags.
pub(crate) const USAGE: &str = "peer [--seconds N] [--no-write]";

/// Default measured seconds per point and contender.
const DEFAULT_SECONDS: u64 = 8;

/// Tokens at 16 connections sent to each contender before the first point, not counted: the
/// peer's JavaScript is compiled while it runs (V8's JIT), and a fresh SQLite file grows.
const PRIMING: Duration = Duration::from_secs(5);

/// Portcullis's brand, and the scope both servers grant.
const BRAND: &str = "bench";
const SCOPE: &str = "read";

/// The peer's one client (a throwaway process on loopback).
const PEER_CLIENT_ID: &str = "bench-machine";
const PEER_CLIENT_SECRET: &str = "peer-bench-secret-for-a-throwaway-loopback-server";

/// What `cargo xtask peer` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    seconds: u64,
    write: bool,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Self { seconds: DEFAULT_SECONDS, write: true };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => options.seconds = crate::args::positive("--seconds", &mut args)?,
                "--no-write" => options.write = false,
                other => bail!("unknown peer flag {other}; usage: cargo xtask {USAGE}"),
            }
        }
        Ok(options)
    }

    fn command(&self) -> String {
        let mut command = String::from("cargo xtask peer");
        if self.seconds != DEFAULT_SECONDS {
            command.push_str(&format!(" --seconds {}", self.seconds));
        }
        command
    }
}

/// A measured request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    /// `client_credentials` token at this many connections.
    Token(usize),
    /// The signing keys, at 16 connections.
    Jwks,
    /// The discovery document, at 16 connections.
    Discovery,
}

impl Request {
    /// Every request, in the order they run.
    const ALL: [Self; 5] = [Self::Token(1), Self::Token(16), Self::Token(64), Self::Jwks, Self::Discovery];

    /// Concurrent keep-alive connections.
    pub(crate) fn connections(self) -> usize {
        match self {
            Self::Token(connections) => connections,
            Self::Jwks | Self::Discovery => 16,
        }
    }

    /// Its name in the report.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Token(_) => "`client_credentials` token",
            Self::Jwks => "JWKS",
            Self::Discovery => "discovery",
        }
    }
}

/// One server under load, its prepared requests and the tail of its log.
struct Contender<'a> {
    name: String,
    addr: SocketAddr,
    token: Template,
    jwks: Template,
    discovery: Template,
    log_tail: Box<dyn Fn() -> String + 'a>,
}

impl<'a> Contender<'a> {
    fn new(
        name: String,
        addr: SocketAddr,
        client: &Credentials,
        paths: [&str; 3],
        log_tail: Box<dyn Fn() -> String + 'a>,
    ) -> anyhow::Result<Self> {
        let [token, jwks, discovery] = paths;
        Ok(Self {
            token: Template::post_form(addr, token, client, &[("grant_type", "client_credentials")])?
                .expecting(r#""access_token""#),
            jwks: Template::get(addr, jwks)?,
            discovery: Template::get(addr, discovery)?,
            name,
            addr,
            log_tail,
        })
    }

    fn template(&self, request: Request) -> &Template {
        match request {
            Request::Token(_) => &self.token,
            Request::Jwks => &self.jwks,
            Request::Discovery => &self.discovery,
        }
    }

    /// Sends `request` for `warmup` + `measured` (see [`load::run`]); any error fails it, with
    /// the contender's log.
    fn load(
        &self,
        runtime: &Runtime,
        request: Request,
        warmup: Duration,
        measured: Duration,
    ) -> anyhow::Result<load::Outcome> {
        let connections = request.connections();
        let outcome = load::run(runtime, self.addr, self.template(request), connections, warmup, measured)?;
        if let Some(first) = &outcome.first_error {
            bail!(
                "{} at {connections} connections against {}: {} error(s); the first: {first}\nits log ends with:\n{}",
                request.label(),
                self.name,
                outcome.errors,
                (self.log_tail)(),
            );
        }
        Ok(outcome)
    }
}

/// A contender's figures for one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figure {
    pub(crate) per_second: f64,
    pub(crate) p99_ms: f64,
}

/// Runs the comparison and writes its section of `BENCHMARKS.md`.
pub(crate) fn peer(args: &[String]) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    let install = node::Install::prepare()?;
    cargo(&["build", "--release", "--locked", "-p", "portcullis"])?;
    let binary = Binary::copy_release()?;
    let runtime = load::runtime(DEFAULT_THREADS)?;
    let cores = std::thread::available_parallelism().map_or(2, usize::from).max(2);

    let portcullis = Server::start(&binary, &Database::Sqlite, BRAND)?;
    let machine = portcullis.client(BRAND, "bench-machine", &["client_credentials"], SCOPE)?;
    let peer_client = Credentials { id: PEER_CLIENT_ID.into(), secret: PEER_CLIENT_SECRET.into() };
    let single = node::Peer::start(&install, 1, &peer_client)?;
    let cluster = node::Peer::start(&install, cores, &peer_client)?;
    let peer_paths = ["/token", "/jwks", "/.well-known/openid-configuration"];
    let contenders = [
        Contender::new(
            "Portcullis (SQLite)".into(),
            portcullis.public_addr(),
            &machine,
            [
                &format!("/brands/{BRAND}/oauth/token"),
                &format!("/brands/{BRAND}/jwks.json"),
                &format!("/brands/{BRAND}/.well-known/openid-configuration"),
            ],
            Box::new(|| portcullis.log_tail()),
        )?,
        Contender::new(
            "node-oidc-provider, 1 process".into(),
            single.addr(),
            &peer_client,
            peer_paths,
            Box::new(|| single.log_tail()),
        )?,
        Contender::new(
            format!("node-oidc-provider, {cores} processes"),
            cluster.addr(),
            &peer_client,
            peer_paths,
            Box::new(|| cluster.log_tail()),
        )?,
    ];

    let rows = measure(&runtime, &contenders, Duration::from_secs(options.seconds))?;
    let names: Vec<&str> = contenders.iter().map(|c| c.name.as_str()).collect();
    let section = report::section(
        &bench_report::Context {
            machine: bench_report::machine(),
            commit: bench_report::commit(),
            command: options.command(),
            seconds: options.seconds,
            threads: DEFAULT_THREADS,
        },
        &format!("node-oidc-provider {} on Node.js {}", install.version, install.node),
        &names,
        &rows,
    );
    eprint!("{section}");
    if options.write {
        bench_report::write_section("peer", &section)?;
        eprintln!("wrote BENCHMARKS.md");
    }
    Ok(())
}

/// Primes every contender, then measures each request against each contender in turn.
fn measure(
    runtime: &Runtime,
    contenders: &[Contender<'_>],
    measured: Duration,
) -> anyhow::Result<Vec<(Request, Vec<Figure>)>> {
    for contender in contenders {
        eprintln!("priming {} for {} s", contender.name, PRIMING.as_secs());
        contender.load(runtime, Request::Token(16), PRIMING, Duration::ZERO)?;
    }
    eprintln!(
        "== {} s per point and contender after a {} s warm-up",
        measured.as_secs(),
        crate::bench::WARMUP.as_secs()
    );
    let mut rows = Vec::new();
    for request in Request::ALL {
        let mut figures = Vec::new();
        for contender in contenders {
            let outcome = contender.load(runtime, request, crate::bench::WARMUP, measured)?;
            eprintln!(
                "{:<36} {:<26} c={:<3} {:>8.0}/s  p99 {:>7.2} ms",
                contender.name,
                request.label().replace('`', ""),
                request.connections(),
                outcome.per_second(),
                outcome.quantile_ms(0.99),
            );
            figures.push(Figure { per_second: outcome.per_second(), p99_ms: outcome.quantile_ms(0.99) });
        }
        rows.push((request, figures));
    }
    Ok(rows)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::{Options, Request};

    fn parse(args: &[&str]) -> anyhow::Result<Options> {
        Options::parse(&crate::args::owned(args))
    }

    #[test]
    fn flags() {
        let defaults = parse(&[]).unwrap();
        assert_eq!(defaults, Options { seconds: 8, write: true });
        assert_eq!(defaults.command(), "cargo xtask peer");
        let options = parse(&["--seconds", "3", "--no-write"]).unwrap();
        assert_eq!(options, Options { seconds: 3, write: false });
        assert_eq!(options.command(), "cargo xtask peer --seconds 3");
        assert!(parse(&["--seconds", "0"]).is_err());
        assert!(parse(&["--fast"]).is_err());
    }

    #[test]
    fn requests_and_their_connections() {
        let connections: Vec<_> = Request::ALL.iter().map(|r| r.connections()).collect();
        assert_eq!(connections, [1, 16, 64, 16, 16]);
        assert_eq!(Request::Token(16).label(), "`client_credentials` token");
    }
}
