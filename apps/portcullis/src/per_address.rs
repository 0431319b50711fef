//! A cap on the connections one address holds open on a listener, TLS handshakes included, so
//! that one host cannot take every connection slot (or every handshake slot) from the others.
//!
//! The address is the TCP peer's. Trusted proxies are exempt: every client behind a load
//! balancer shares its address, and the proxy enforces its own limits.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use portcullis_config::IpNetwork;

/// How many connections each address holds open.
type Open = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// The open connections of each address on one listener. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PerAddress {
    limit: usize,
    exempt: Arc<[IpNetwork]>,
    open: Open,
}

/// One connection's place; dropping it (when the connection closes) gives the place back.
#[derive(Debug)]
pub struct AddressSlot {
    open: Option<(Open, IpAddr)>,
}

impl PerAddress {
    /// At most `limit` connections per address, except from `exempt` networks.
    pub fn new(limit: usize, exempt: Arc<[IpNetwork]>) -> Self {
        Self { limit, exempt, open: Arc::default() }
    }

    /// A place for a new connection from `ip`, or `None` when it already holds `limit`.
    pub fn take(&self, ip: IpAddr) -> Option<AddressSlot> {
        if self.exempt.iter().any(|network| network.contains(ip)) {
            return Some(AddressSlot { open: None });
        }
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(AddressSlot { open: Some((Arc::clone(&self.open), ip)) })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Some((open, ip)) = self.open.take() {
            let mut open = open.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(count) = open.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&ip);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_is_capped_others_and_proxies_are_not() {
        let proxy: IpNetwork = "10.0.0.0/8".parse().expect("a network");
        let limits = PerAddress::new(2, Arc::from([proxy]));
        let a: IpAddr = "192.0.2.1".parse().expect("an address");
        let first = limits.take(a).expect("first");
        let _second = limits.take(a).expect("second");
        assert!(limits.take(a).is_none(), "third from one address");
        assert!(limits.take("192.0.2.2".parse().expect("an address")).is_some(), "another address");
        let proxied: Vec<_> = (0..10).map(|_| limits.take("10.1.2.3".parse().expect("an address"))).collect();
        assert!(proxied.iter().all(Option::is_some), "a trusted proxy is exempt");
        drop(first);
        assert!(limits.take(a).is_some(), "a closed connection gives its place back");
    }
}
