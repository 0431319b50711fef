//! Which redirect URIs a client may register (RFC 9700 §2.1, RFC 8252 §7 for native apps).
//! They are compared to requests by exact string match, so what is registered is what counts:
//! only the canonical form (what the URL parser serialises back) is accepted, so that the string
//! a client registers, the string it sends, and the address a browser goes to are one and the
//! same. The same rules apply to post-logout redirect URIs, and they are checked again before
//! any redirect, so a URI stored before they applied is never sent to a browser.

use url::{Host, Url};

/// The longest redirect URI accepted.
const MAX_LEN: usize = 2000;

/// Checks one redirect URI: absolute, canonical, no fragment, no credentials, no whitespace,
/// control characters or backslashes (literal or percent-encoded control characters), and either
/// `https`, `http` on a loopback host (native apps, RFC 8252 §7.3), or a private-use scheme in
/// reverse-domain form such as `com.example.app:/callback` (RFC 8252 §7.1). The error names the
/// rule, and for a non-canonical URI the form to register instead.
pub(crate) fn check(uri: &str) -> Result<(), String> {
    let shown = |text: &str| -> String { text.chars().take(64).collect::<String>().escape_default().to_string() };
    let refuse = |why: &str| Err(format!("redirect URI '{}' {why}", shown(uri)));
    if uri.len() > MAX_LEN {
        return refuse(&format!("is longer than {MAX_LEN} characters"));
    }
    if uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return refuse("must not contain whitespace or control characters");
    }
    if uri.contains('\\') {
        return refuse("must not contain a backslash");
    }
    if has_encoded_control(uri) {
        return refuse("must not contain percent-encoded control characters (such as %0d or %0a)");
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
        "https" if url.host().is_some() => {}
        "http" if url.host().is_some_and(|h| is_loopback(&h)) => {}
        "http" => return refuse("must use https (plain http only on a loopback address)"),
        scheme if scheme.contains('.') => {}
        _ => return refuse("must use https, loopback http, or a reverse-domain private-use scheme"),
    }
    if url.as_str() != uri {
        // Lower-case scheme and host, punycode, no default port, no `.` or `..` segments, a `/`
        // path at least: a browser would go to the canonical form, so only that is registered.
        return refuse(&format!("is not in canonical form; register '{}' instead", shown(url.as_str())));
    }
    Ok(())
}

/// Whether `uri` percent-encodes a control character (`%0d%0a`, `%00`, `%7f`, `%c2%85`…), which
/// would come back as a header break or worse wherever the URI is decoded.
fn has_encoded_control(uri: &str) -> bool {
    let bytes = uri.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|c| char::from(*c).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                // Two hex digits make one byte: high * 16 + low ≤ 255.
                decoded.push(u8::try_from(high * 16 + low).unwrap_or(u8::MAX));
                i += 3;
            }
            _ => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).chars().any(char::is_control)
}

/// Whether a stored redirect or post-logout redirect URI may be used now. Rows written before
/// the rules of [`check`] applied may break them; such a URI is never redirected to.
pub(crate) fn usable(uri: &str) -> bool {
    check(uri).is_ok()
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
    use super::{check, usable};

    #[test]
    fn accepts_https_loopback_http_and_private_use_schemes() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com/cb?tenant=a",
            "https://app.example.com/",
            "https://app.example.com:8443/cb",
            "https://app.example.com/a%20b",
            "https://xn--bcher-kva.example/cb",
            "http://127.0.0.1:8400/callback",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
            assert!(usable(ok), "{ok}");
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

    /// `bad` is refused, and the message contains `why`.
    fn refused(bad: &str, why: &str) {
        match check(bad) {
            Ok(()) => panic!("{bad:?} was accepted"),
            Err(message) => assert!(message.contains(why), "{bad:?}: {message}"),
        }
        assert!(!usable(bad), "{bad:?}");
    }

    #[test]
    fn refuses_header_injection() {
        refused("https://app.example/cb\r\nSet-Cookie: x=1", "control characters");
        refused("https://app.example/cb\n", "control characters");
        refused("https://app.example/c\u{0}b", "control characters");
        refused("https://app.example/c\u{85}b", "control characters");
        for encoded in [
            "https://app.example/cb%0d%0aSet-Cookie:%20x=1",
            "https://app.example/cb%0D%0A",
            "https://app.example/cb?x=%0a",
            "https://app.example/cb%00",
            "https://app.example/cb%7F",
            "https://app.example/cb%C2%85",
            "com.example.app:/cb%0a",
        ] {
            refused(encoded, "percent-encoded control characters");
        }
    }

    #[test]
    fn refuses_whitespace_and_backslashes() {
        refused("https://app.example/c b", "whitespace");
        refused("https://app.example/c\tb", "whitespace");
        refused(" https://app.example/cb", "whitespace");
        refused("https://app.example/cb ", "whitespace");
        refused("https://app.example/c\u{a0}b", "whitespace");
        refused("https://evil.example\\@app.example/cb", "backslash");
        refused("https://app.example\\cb", "backslash");
        refused("com.example.app:/a\\b", "backslash");
    }

    #[test]
    fn refuses_non_canonical_forms_naming_the_canonical_one() {
        for (bad, canonical) in [
            ("https:/evil.example", "https://evil.example/"),
            ("https:evil.example/cb", "https://evil.example/cb"),
            ("https:///evil.example/cb", "https://evil.example/cb"),
            ("https://evil.example/../cb", "https://evil.example/cb"),
            ("https://app.example/a/./cb", "https://app.example/a/cb"),
            ("https://app.example/a/%2e%2e/cb", "https://app.example/cb"),
            ("HTTPS://App.Example/cb", "https://app.example/cb"),
            ("https://APP.example/cb", "https://app.example/cb"),
            ("https://a.example:443/cb", "https://a.example/cb"),
            ("http://127.0.0.1:80/cb", "http://127.0.0.1/cb"),
            ("https://app.example", "https://app.example/"),
            ("https://bücher.example/cb", "https://xn--bcher-kva.example/cb"),
            ("https://app.example/ü", "https://app.example/%C3%BC"),
            ("https://app.example/cb?a=<b>", "https://app.example/cb?a=%3Cb%3E"),
            ("http://0x7f.1/cb", "http://127.0.0.1/cb"),
        ] {
            refused(bad, &format!("register '{canonical}' instead"));
            assert_eq!(check(canonical), Ok(()), "{canonical}");
        }
    }
}
