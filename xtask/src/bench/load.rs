//! The load generator: a small HTTP/1.1 client on hyper's connection API. Each of N tasks opens
//! one keep-alive connection and sends requests back to back for a fixed time; answers that
//! arrive during the first part (the warm-up) or after the end are not counted. Requests are
//! built once ([`Template`]) and cloned per send; latencies go into an HDR histogram per
//! connection, merged at the end. Every non-2xx answer and every transport error is counted as
//! an error, and the first one is kept for the report.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use base64::Engine as _;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

use super::server::Credentials;

/// The slowest latency the histograms tell apart (60 s), in microseconds; slower ones are clamped.
const MAX_MICROS: u64 = 60_000_000;

/// How much of an error's response body the report quotes.
const MAX_QUOTED_BODY: usize = 500;

/// The generator's runtime: `threads` worker threads (the connection tasks run on them).
pub(crate) fn runtime(threads: usize) -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("bench-load")
        .enable_all()
        .build()
        .context("building the load generator's runtime")
}

/// One request, built once; [`Template::request`] makes a copy to send. It may carry several
/// bodies, sent in turn ([`Template::with_bodies`]), and a text every successful answer must
/// contain ([`Template::expecting`]).
#[derive(Debug, Clone)]
pub(crate) struct Template {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    bodies: Arc<[Bytes]>,
    expect: Option<&'static str>,
}

impl Template {
    fn new(method: Method, addr: SocketAddr, path: &str, body: Bytes) -> anyhow::Result<Self> {
        let uri: Uri = path.parse().with_context(|| format!("{path} is not a request path"))?;
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::try_from(addr.to_string())?);
        Ok(Self { method, uri, headers, bodies: Arc::from([body]), expect: None })
    }

    /// `GET path`.
    pub(crate) fn get(addr: SocketAddr, path: &str) -> anyhow::Result<Self> {
        Self::new(Method::GET, addr, path, Bytes::new())
    }

    /// `POST path` with a form body and the client's credentials in HTTP Basic
    /// (`client_secret_basic`: id and secret form-url-encoded, then base64).
    pub(crate) fn post_form(
        addr: SocketAddr,
        path: &str,
        client: &Credentials,
        form: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut template = Self::new(Method::POST, addr, path, Bytes::from(body))?;
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            encode(&client.id),
            encode(&client.secret)
        ));
        let headers = &mut template.headers;
        headers.insert(header::AUTHORIZATION, HeaderValue::try_from(format!("Basic {basic}"))?);
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        Ok(template)
    }

    /// The same request with each of `bodies` in turn: during a run each connection cycles
    /// through a slice of its own, so a body comes round again only after all the others.
    pub(crate) fn with_bodies(self, bodies: Vec<Bytes>) -> anyhow::Result<Self> {
        anyhow::ensure!(!bodies.is_empty(), "a request needs at least one body");
        Ok(Self { bodies: bodies.into(), ..self })
    }

    /// The same request, whose successful answers must also contain `text` (e.g. an
    /// introspection's `"active":true`); one that does not counts as an error.
    pub(crate) fn expecting(self, text: &'static str) -> Self {
        Self { expect: Some(text), ..self }
    }

    /// How many bodies it has.
    pub(crate) fn bodies(&self) -> usize {
        self.bodies.len()
    }

    /// Whether `answer` is what a successful answer must be.
    fn satisfied_by(&self, answer: &[u8]) -> bool {
        self.expect.is_none_or(|text| answer.windows(text.len()).any(|w| w == text.as_bytes()))
    }

    /// A copy to send with body `n` (modulo the number of bodies; the body shares its bytes).
    pub(crate) fn request(&self, n: usize) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.bodies[n % self.bodies.len()].clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// What one measured point produced.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Successful requests answered after the warm-up and before the end.
    pub(crate) requests: u64,
    /// Non-2xx answers and transport errors, warm-up included.
    pub(crate) errors: u64,
    /// The first error: status and body, or the transport error.
    pub(crate) first_error: Option<String>,
    /// The measured time (after the warm-up).
    pub(crate) measured: Duration,
    /// Latencies of the counted requests, in microseconds.
    pub(crate) latencies: Histogram<u64>,
    /// The CPU time this process spent while the point ran, over its wall time (1.0 = one core
    /// busy): how close the generator came to being the bottleneck.
    pub(crate) generator_cores: Option<f64>,
}

/// The CPU time of every thread of this process so far (`/proc/self/task/*/schedstat`).
fn process_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        // A thread that ended meanwhile is skipped (the bench's own threads outlive a point).
        if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
            total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(Duration::from_nanos(total))
}

/// An empty latency histogram: 1 µs to [`MAX_MICROS`], three significant digits.
pub(crate) fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).map_err(|e| anyhow!("creating a histogram: {e}"))
}

/// The latency at quantile `q` (0..=1) in milliseconds; 0 for an empty histogram.
pub(crate) fn quantile_ms(latencies: &Histogram<u64>, q: f64) -> f64 {
    if latencies.is_empty() {
        return 0.0;
    }
    // Microseconds, far below 2^52: exact as f64.
    latencies.value_at_quantile(q) as f64 / 1000.0
}

impl Outcome {
    /// Counted requests per second of measured time.
    pub(crate) fn per_second(&self) -> f64 {
        self.requests as f64 / self.measured.as_secs_f64().max(f64::EPSILON)
    }

    /// The latency at quantile `q` in milliseconds.
    pub(crate) fn quantile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies, q)
    }
}

/// What one connection saw.
struct Tally {
    requests: u64,
    errors: u64,
    first_error: Option<(Instant, String)>,
    latencies: Histogram<u64>,
}

impl Tally {
    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some((Instant::now(), message));
        }
    }
}

/// When counting starts and when sending stops.
#[derive(Debug, Clone, Copy)]
struct Window {
    counted_from: Instant,
    end: Instant,
}

/// Opens a keep-alive connection; its driver runs on a task of its own.
pub(crate) async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true).context("setting TCP_NODELAY")?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.context("HTTP/1.1 handshake")?;
    // A broken connection shows up as the error of the request in flight.
    tokio::spawn(async move { drop(connection.await) });
    Ok(sender)
}

/// Sends one request and reads the whole answer.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    template: &Template,
    n: usize,
) -> anyhow::Result<(StatusCode, Bytes)> {
    sender.ready().await.context("the connection closed")?;
    let response = sender.send_request(template.request(n)).await.context("sending the request")?;
    let status = response.status();
    let body = response.into_body().collect().await.context("reading the answer")?.to_bytes();
    Ok((status, body))
}

/// Describes a non-2xx answer for the report.
pub(crate) fn describe(method: &Method, uri: &Uri, status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let quoted: String = text.chars().take(MAX_QUOTED_BODY).collect();
    let more = if quoted.len() < text.len() { "…" } else { "" };
    format!("{method} {uri} answered {status}: {quoted}{more}")
}

/// One request on a fresh connection (set-up calls, e.g. the token to introspect).
pub(crate) fn once(runtime: &Runtime, addr: SocketAddr, template: &Template) -> anyhow::Result<Bytes> {
    collect(runtime, addr, template, 1, 1)?.pop().context("no answer")
}

/// `count` answers to `template` (set-up calls, e.g. tokens to introspect), on `connections`
/// connections at once.
pub(crate) fn collect(
    runtime: &Runtime,
    addr: SocketAddr,
    template: &Template,
    count: usize,
    connections: usize,
) -> anyhow::Result<Vec<Bytes>> {
    runtime.block_on(async {
        let tasks: Vec<_> = (0..connections)
            .map(|i| {
                let template = template.clone();
                let share = count / connections + usize::from(i < count % connections);
                tokio::spawn(async move {
                    let mut sender = connect(addr).await?;
                    let mut answers = Vec::with_capacity(share);
                    for _ in 0..share {
                        let (status, body) = exchange(&mut sender, &template, 0).await?;
                        if !status.is_success() {
                            anyhow::bail!(describe(&template.method, &template.uri, status, &body));
                        }
                        answers.push(body);
                    }
                    anyhow::Ok(answers)
                })
            })
            .collect();
        let mut answers = Vec::with_capacity(count);
        for task in tasks {
            answers.extend(task.await.context("a set-up task failed")??);
        }
        Ok(answers)
    })
}

/// The bodies connection `i` of `connections` cycles through: a slice of its own when there
/// are enough, else all of them.
fn slice_of(i: usize, connections: usize, bodies: usize) -> std::ops::Range<usize> {
    if bodies < connections {
        return 0..bodies;
    }
    let per = bodies / connections;
    i * per..(i + 1) * per
}

/// One connection's loop: requests back to back until the window ends.
async fn connection(
    addr: SocketAddr,
    template: Arc<Template>,
    bodies: std::ops::Range<usize>,
    window: Window,
) -> anyhow::Result<Tally> {
    let mut tally = Tally { requests: 0, errors: 0, first_error: None, latencies: histogram()? };
    let mut sender = match connect(addr).await {
        Ok(sender) => sender,
        Err(error) => {
            tally.error(format!("{error:#}"));
            return Ok(tally);
        }
    };
    let mut next = bodies.clone().cycle();
    while Instant::now() < window.end {
        let started = Instant::now();
        match exchange(&mut sender, &template, next.next().unwrap_or(0)).await {
            Ok((status, body)) if status.is_success() && !template.satisfied_by(&body) => {
                tally.error(describe(&template.method, &template.uri, status, &body));
            }
            Ok((status, _)) if status.is_success() => {
                let done = Instant::now();
                // Counted by completion, so slow endpoints are not under-counted at the edges.
                if done >= window.counted_from && done <= window.end {
                    let micros = u64::try_from(done.duration_since(started).as_micros()).unwrap_or(u64::MAX);
                    tally.latencies.saturating_record(micros.max(1));
                    tally.requests += 1;
                }
            }
            Ok((status, body)) => tally.error(describe(&template.method, &template.uri, status, &body)),
            Err(error) => {
                // The connection is gone; this task's part of the load ends with it.
                tally.error(format!("{} {}: {error:#}", template.method, template.uri));
                break;
            }
        }
    }
    Ok(tally)
}

/// Sends `template` on `connections` keep-alive connections for `warmup` + `measured`, counting
/// the answers that arrive within `measured` (after the warm-up).
pub(crate) fn run(
    runtime: &Runtime,
    addr: SocketAddr,
    template: &Template,
    connections: usize,
    warmup: Duration,
    measured: Duration,
) -> anyhow::Result<Outcome> {
    let template = Arc::new(template.clone());
    let (cpu_before, wall_before) = (process_cpu(), Instant::now());
    let mut outcome = runtime.block_on(async {
        let start = Instant::now();
        let window = Window { counted_from: start + warmup, end: start + warmup + measured };
        let tasks: Vec<_> = (0..connections)
            .map(|i| {
                let bodies = slice_of(i, connections, template.bodies());
                tokio::spawn(connection(addr, Arc::clone(&template), bodies, window))
            })
            .collect();
        let mut outcome = Outcome {
            requests: 0,
            errors: 0,
            first_error: None,
            measured,
            latencies: histogram()?,
            generator_cores: None,
        };
        let mut first: Option<(Instant, String)> = None;
        for task in tasks {
            let tally = task.await.context("a connection task failed")??;
            outcome.requests += tally.requests;
            outcome.errors += tally.errors;
            outcome.latencies.add(&tally.latencies).map_err(|e| anyhow!("merging histograms: {e}"))?;
            if let Some((at, message)) = tally.first_error
                && first.as_ref().is_none_or(|(earliest, _)| at < *earliest)
            {
                first = Some((at, message));
            }
        }
        outcome.first_error = first.map(|(_, message)| message);
        anyhow::Ok(outcome)
    })?;
    outcome.generator_cores = cpu_before
        .zip(process_cpu())
        .map(|(before, after)| after.saturating_sub(before).as_secs_f64() / wall_before.elapsed().as_secs_f64());
    Ok(outcome)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::time::Duration;

    use super::{Outcome, Template, describe, histogram, quantile_ms};
    use crate::bench::server::Credentials;

    #[test]
    fn percentiles_are_in_milliseconds() {
        let mut latencies = histogram().unwrap();
        assert!(quantile_ms(&latencies, 0.99).abs() < f64::EPSILON, "empty: 0");
        for micros in 1..=1000 {
            latencies.record(micros).unwrap();
        }
        assert!((quantile_ms(&latencies, 0.5) - 0.5).abs() < 1e-9);
        assert!((quantile_ms(&latencies, 0.99) - 0.99).abs() < 1e-9);
        assert!((quantile_ms(&latencies, 1.0) - 1.0).abs() < 1e-9);
        // Three significant digits: 123,456 µs comes back within 0.1 %.
        let mut slow = histogram().unwrap();
        slow.record(123_456).unwrap();
        assert!((quantile_ms(&slow, 0.5) - 123.456).abs() < 0.13);
    }

    #[test]
    fn rate_is_per_measured_second() {
        let mut outcome = Outcome {
            requests: 8000,
            errors: 0,
            first_error: None,
            measured: Duration::from_secs(4),
            latencies: histogram().unwrap(),
            generator_cores: None,
        };
        assert!((outcome.per_second() - 2000.0).abs() < 1e-9);
        outcome.latencies.record(2500).unwrap();
        assert!((outcome.quantile_ms(0.5) - 2.5).abs() < 0.0025, "within 0.1 %");
    }

    #[test]
    fn connections_cycle_through_slices_of_their_own() {
        assert_eq!(super::slice_of(0, 16, 32_768), 0..2_048);
        assert_eq!(super::slice_of(15, 16, 32_768), 30_720..32_768);
        assert_eq!(super::slice_of(3, 16, 1), 0..1, "one body: every connection sends it");
        let addr = "127.0.0.1:8080".parse().unwrap();
        let template = Template::get(addr, "/x").unwrap();
        assert!(template.clone().with_bodies(Vec::new()).is_err());
        let two = template.with_bodies(vec!["a".into(), "b".into()]).unwrap();
        assert_eq!(two.bodies(), 2);
    }

    #[test]
    fn an_expected_text_must_be_in_the_answer() {
        let addr = "127.0.0.1:8080".parse().unwrap();
        let anything = Template::get(addr, "/x").unwrap();
        assert!(anything.satisfied_by(b"{}"));
        let active = anything.expecting(r#""active":true"#);
        assert!(active.satisfied_by(br#"{"active":true,"scope":"read"}"#));
        assert!(!active.satisfied_by(br#"{"active":false}"#));
    }

    #[test]
    fn forms_carry_basic_credentials() {
        let addr = "127.0.0.1:8080".parse().unwrap();
        let client = Credentials { id: "a:b".into(), secret: "s p".into() };
        let template =
            Template::post_form(addr, "/brands/x/oauth/token", &client, &[("grant_type", "client_credentials")])
                .unwrap();
        let request = template.request(0);
        assert_eq!(request.method(), "POST");
        assert_eq!(request.uri(), "/brands/x/oauth/token");
        assert_eq!(request.headers()["host"], "127.0.0.1:8080");
        // base64("a%3Ab:s+p")
        assert_eq!(request.headers()["authorization"], "Basic YSUzQWI6cytw");
        assert_eq!(request.headers()["content-type"], "application/x-www-form-urlencoded");
        assert_eq!(template.bodies[0], "grant_type=client_credentials");
    }

    #[test]
    fn long_error_bodies_are_cut() {
        let body = "x".repeat(2000);
        let text =
            describe(&http::Method::POST, &"/t".parse().unwrap(), http::StatusCode::TOO_MANY_REQUESTS, body.as_bytes());
        assert!(text.starts_with("POST /t answered 429 Too Many Requests: xxx"), "{text}");
        assert!(text.ends_with("x…"), "{text}");
        assert!(text.len() < 600);
    }
}
