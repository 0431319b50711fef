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
    if let Some(Host::Domain(name)) = url.host()
        && (name.ends_with('.') || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
    {
        return refuse("must name its host by letters, digits, '-' and '.', without a trailing dot");
    }
    if url.query() == Some("") {
        return refuse("must not end in an empty query ('?')");
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
    // The parser keeps percent escapes as written: their one spelling is checked here.
    escapes_are_canonical(uri).or_else(refuse)
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

/// Whether every percent escape of `uri` is in the one form RFC 3986 §6.2.2 normalises to: `%`
/// and two upper-case hex digits, never for an unreserved character (which is written as
/// itself), and together spelling UTF-8 without invisible characters (zero-width, bidi
/// controls, variation selectors). Two spellings of one address would otherwise be two
/// registrations, and an encoded bidi control shows another address than the one it is.
fn escapes_are_canonical(uri: &str) -> Result<(), &'static str> {
    let bytes = uri.as_bytes();
    let mut decoded = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'%' {
            decoded.push(b);
            i += 1;
            continue;
        }
        let digit = |at: usize| bytes.get(at).copied().filter(|d| d.is_ascii_digit() || (b'A'..=b'F').contains(d));
        let (Some(high), Some(low)) = (digit(i + 1), digit(i + 2)) else {
            return Err("must write each percent escape as '%' and two upper-case hex digits");
        };
        let value = |d: u8| char::from(d).to_digit(16).and_then(|v| u8::try_from(v).ok()).unwrap_or(0);
        let byte = value(high) * 16 + value(low);
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            return Err("must not percent-encode letters, digits or '-', '.', '_', '~'");
        }
        decoded.push(byte);
        i += 3;
    }
    let Ok(text) = String::from_utf8(decoded) else {
        return Err("must percent-encode only UTF-8");
    };
    if text.chars().any(invisible) {
        return Err("must not encode invisible characters (zero-width, bidi controls, variation selectors)");
    }
    Ok(())
}

/// Characters that change how a URI looks without showing: zero-width and joiners, bidi
/// controls and isolates, the soft hyphen, the byte-order mark, variation selectors.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{E0000}'..='\u{E0FFF}')
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
    fn percent_escapes_hosts_and_queries_have_one_spelling() {
        for bad in [
            "https://app.example/%7euser",
            "https://app.example/%7Euser",
            "https://app.example/%63b",
            "https://app.example/cb%2f",
            "https://app.example/cb%",
            "https://app.example/cb%zz",
            "https://app.example/cb%FF",
            "https://app.example/%E2%80%AEcb",
            "https://app.example/cb%E2%80%8B",
            "https://app.example./cb",
            "https://*.example/cb",
            "https://app.example/cb?",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
        for ok in [
            "https://app.example/~user",
            "https://app.example/cb%2F",
            "https://app.example/caf%C3%A9",
            "https://app.example/cb?a=1",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

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
