//! The client's address when a trusted proxy forwards the request (`http.trusted_proxies`), so
//! that throttling and the audit log see the client, not the proxy.
//!
//! `X-Forwarded-For` is read right to left: each proxy appends the address it received the
//! request from, so the rightmost entry not in a trusted block is the client. Entries left of it
//! were written by the client itself and are never believed. From a peer outside the trusted
//! blocks the header is ignored altogether.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use portcullis_config::IpNetwork;

const FORWARDED_FOR: &str = "x-forwarded-for";

/// The address handlers see as the client's.
pub fn resolve(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNetwork]) -> SocketAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|block| block.contains(ip));
    if !is_trusted(peer.ip()) {
        return peer;
    }
    // Every header line, in order, as one comma-separated list.
    let entries: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer.ip();
    for entry in entries.iter().rev() {
        let Some(ip) = parse(entry) else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    if client == peer.ip() { peer } else { SocketAddr::new(client, 0) }
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    entry.parse::<SocketAddr>().ok().map(|socket| socket.ip())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::http::HeaderValue;

    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    fn trusted() -> Vec<IpNetwork> {
        vec!["10.0.0.0/8".parse().unwrap(), "2001:db8::/32".parse().unwrap()]
    }

    fn ip_of(peer: &str, lines: &[&str]) -> String {
        resolve(peer.parse().unwrap(), &headers(lines), &trusted()).ip().to_string()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        assert_eq!(ip_of("203.0.113.5:4000", &["198.51.100.1"]), "203.0.113.5");
        assert_eq!(resolve("203.0.113.5:4000".parse().unwrap(), &headers(&[]), &trusted()).port(), 4000);
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        assert_eq!(ip_of("10.0.0.2:80", &["198.51.100.1"]), "198.51.100.1");
        // The client's own claim (left) is not believed past the first untrusted hop.
        assert_eq!(ip_of("10.0.0.2:80", &["1.1.1.1, 198.51.100.1, 10.0.0.9"]), "198.51.100.1");
        assert_eq!(ip_of("10.0.0.2:80", &["1.1.1.1", "198.51.100.1", "10.0.0.9"]), "198.51.100.1");
        assert_eq!(ip_of("[2001:db8::5]:80", &["[2001:db9::7]:1234"]), "2001:db9::7");
        assert_eq!(ip_of("10.0.0.2:80", &["198.51.100.1:5555"]), "198.51.100.1");
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_trusted_hop() {
        assert_eq!(ip_of("10.0.0.2:80", &["198.51.100.1, unknown, 10.0.0.9"]), "10.0.0.9");
        assert_eq!(ip_of("10.0.0.2:80", &["not-an-address"]), "10.0.0.2");
        assert_eq!(ip_of("10.0.0.2:80", &[]), "10.0.0.2");
    }

    #[test]
    fn a_chain_of_trusted_proxies_only_names_its_first_hop() {
        assert_eq!(ip_of("10.0.0.2:80", &["10.0.0.7, 10.0.0.9"]), "10.0.0.7");
    }
}
