//! The `peer` section of `BENCHMARKS.md`: one row per request, one column per contender, and how
//! many times the faster peer Portcullis answers.

use super::{Figure, Request};
use crate::bench::report::{Context, thousands};

/// `17,688/s (p99 1.92 ms)`.
fn cell(figure: &Figure) -> String {
    format!("{}/s (p99 {:.2} ms)", thousands(figure.per_second), figure.p99_ms)
}

/// The first figure (Portcullis's) over the best of the others: `2.6×`.
fn ratio(figures: &[Figure]) -> String {
    let Some((ours, peers)) = figures.split_first() else { return String::new() };
    let best = peers.iter().map(|f| f.per_second).fold(0.0, f64::max);
    if best <= 0.0 { String::new() } else { format!("{:.1}×", ours.per_second / best) }
}

/// The section; `peer` says what the peer is and runs on, `names` are the contenders, Portcullis
/// first, in the order of each row's figures.
pub(crate) fn section(context: &Context, peer: &str, names: &[&str], rows: &[(Request, Vec<Figure>)]) -> String {
    let mut out = String::from("## Side by side: Portcullis and node-oidc-provider\n\n");
    out.push_str(&format!(
        "Machine: {machine}. Commit: `{commit}`. Command: `{command}`. Peer: {peer}. The same load generator as \
         the token server's bench ({threads}, keep-alive connections sending back to back, {seconds} s per \
         point after a 1 s warm-up) takes the contenders in turn, point by point, after priming each with {priming} s of tokens (V8 compiles the \
         peer's JavaScript while it runs). Both issue EdDSA-signed JWT \
         access tokens to a client authenticated with HTTP Basic. Portcullis commits a record of every token \
         to its SQLite file (`synchronous=FULL`) before it answers, so that the token can be introspected and \
         revoked; node-oidc-provider stores nothing for a JWT access token, which therefore cannot be \
         revoked.\n\n",
        machine = context.machine,
        commit = context.commit,
        command = context.command,
        seconds = context.seconds,
        threads = context.threads_in_words(),
        priming = super::PRIMING.as_secs(),
    ));
    out.push_str("| request | connections |");
    for name in names {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str(" Portcullis ÷ faster peer |\n|---|---:|");
    out.push_str(&"---:|".repeat(names.len() + 1));
    out.push('\n');
    for (request, figures) in rows {
        out.push_str(&format!("| {} | {} |", request.label(), request.connections()));
        for figure in figures {
            out.push_str(&format!(" {} |", cell(figure)));
        }
        out.push_str(&format!(" {} |\n", ratio(figures)));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::{Context, Figure, Request, section};

    #[test]
    fn one_row_per_request_with_the_ratio() {
        let context = Context {
            machine: "2 cores, test CPU".into(),
            commit: "abc1234".into(),
            command: "cargo xtask peer".into(),
            seconds: 8,
            threads: 1,
        };
        let figure = |per_second, p99_ms| Figure { per_second, p99_ms };
        let rows = vec![
            (Request::Token(16), vec![figure(18_000.0, 1.9), figure(6_000.0, 4.0), figure(7_200.0, 3.5)]),
            (Request::Jwks, vec![figure(30_000.0, 0.9), figure(0.0, 0.0), figure(0.0, 0.0)]),
        ];
        let names = ["Portcullis (SQLite)", "node-oidc-provider, 1 process", "node-oidc-provider, 2 processes"];
        let text = section(&context, "node-oidc-provider 9.13.3 on Node.js v20.20.2", &names, &rows);
        assert!(text.contains("Commit: `abc1234`. Command: `cargo xtask peer`. Peer: node-oidc-provider 9.13.3"));
        assert!(text.contains(
            "| request | connections | Portcullis (SQLite) | node-oidc-provider, 1 process | node-oidc-provider, 2 \
             processes | Portcullis ÷ faster peer |\n|---|---:|---:|---:|---:|---:|\n"
        ));
        assert!(
            text.contains(
                "| `client_credentials` token | 16 | 18,000/s (p99 1.90 ms) | 6,000/s (p99 4.00 ms) | 7,200/s (p99 \
                 3.50 ms) | 2.5× |\n"
            ),
            "{text}"
        );
        assert!(text.contains("| JWKS | 16 | 30,000/s (p99 0.90 ms) | 0/s (p99 0.00 ms) | 0/s (p99 0.00 ms) |  |\n"));
    }
}
