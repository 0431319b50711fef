//! Which redirect URIs a client may register (RFC 9700 §2.1, RFC 8252 §7 for native apps).
//! They are compared to requests by exact string match, so what is registered is what counts.

use url::{Host, Url};

/// The longest redirect URI accepted.
const MAX_LEN: usize = 2000;

/// Checks one redirect URI: absolute, no fragment, no credentials, and either `https`, `http`
/// on a loopback host (native apps, RFC 8252 §7.3), or a private-use scheme in reverse-domain
/// form such as `com.example.app:/callback` (RFC 8252 §7.1). The error names the rule.
pub(crate) fn check(uri: &str) -> Result<(), String> {
    let shown: String = uri.chars().take(64).collect();
    let refuse = |why: &str| Err(format!("redirect URI '{}' {why}", shown.escape_default()));
    if uri.len() > MAX_LEN {
        return refuse(&format!("is longer than {MAX_LEN} characters"));
    }
    let Ok(url) = Url::parse(uri) else {
        return refuse("is not an absolute URL");
    };
    if url.fragment().is_some() {
        return refuse("must not have a fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("must not carry credentials");
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if url.host().is_some_and(|h| is_loopback(&h)) => Ok(()),
        "http" => refuse("must use https (plain http only on a loopback address)"),
        scheme if scheme.contains('.') => Ok(()),
        _ => refuse("must use https, loopback http, or a reverse-domain private-use scheme"),
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_https_loopback_http_and_private_use_schemes() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com/cb?tenant=a",
            "http://127.0.0.1:8400/callback",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_what_could_leak_codes() {
        for bad in [
            "http://app.example.com/callback",
            "https://app.example.com/cb#frag",
            "https://user:pw@app.example.com/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "/relative/path",
            "",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
        assert!(check(&format!("https://a.example/{}", "x".repeat(2000))).is_err());
    }
}
