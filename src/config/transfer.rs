//! A zone's transfers out: `allow_transfer` (client networks), `allow_transfer_tsig` (keys of
//! `[[tsig]]` that admit a client) and `notify` (secondaries told of every change). Any zone
//! may have them, file zones and secondary zones alike.

use super::{Checker, Spanned, TsigKeyConfig};
use crate::name::Name;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// A network: an address and how many leading bits of it count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub address: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Reads `192.0.2.0/24`, `2001:db8::/32`, or a single address (all its bits).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().ok()?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
        };
        if prefix > bits {
            return None;
        }
        Some(Cidr { address, prefix })
    }

    /// Whether `ip` lies in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (ours, theirs, bits) = match (self.address, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                (u128::from(u32::from(a)), u128::from(u32::from(b)), 32)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        match shift {
            128 => true,
            _ => ours >> shift == theirs >> shift,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// Who may transfer a zone from Swivel, and whom Swivel tells of its changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransferOutConfig {
    /// `allow_transfer`: client networks.
    pub allow: Vec<Cidr>,
    /// `allow_transfer_tsig`: keys that admit a client. With both lists given, a client
    /// needs both: an address in `allow` and a request signed with one of these keys.
    pub keys: Vec<TsigKeyConfig>,
    /// `notify`: the secondaries sent a NOTIFY at start and whenever the serial changes.
    pub notify: Vec<SocketAddr>,
}

impl TransferOutConfig {
    /// Whether anyone may transfer the zone.
    pub fn offered(&self) -> bool {
        !self.allow.is_empty() || !self.keys.is_empty()
    }

    /// Whether the zone has anything to do with transfers out.
    pub fn is_empty(&self) -> bool {
        !self.offered() && self.notify.is_empty()
    }
}

impl Checker<'_> {
    /// A zone's transfer-out keys, each error at its own line.
    pub(super) fn transfer_out(
        &mut self,
        origin: &Name,
        allow: Option<Spanned<Vec<Spanned<String>>>>,
        allow_tsig: Option<Spanned<Vec<Spanned<String>>>>,
        notify: Option<Spanned<Vec<Spanned<String>>>>,
        keys: &HashMap<String, TsigKeyConfig>,
    ) -> TransferOutConfig {
        let mut out = TransferOutConfig::default();
        for entry in allow.iter().flat_map(|list| list.get_ref()) {
            match Cidr::parse(entry.get_ref()) {
                Some(cidr) if out.allow.contains(&cidr) => self.error(
                    entry,
                    format!("zone {origin} allow_transfer: {cidr} is listed twice"),
                ),
                Some(cidr) => out.allow.push(cidr),
                None => self.error(
                    entry,
                    format!(
                        "zone {origin} allow_transfer: {:?} is not a network: write an address \
                         or address/prefix, e.g. \"192.0.2.0/24\" or \"2001:db8::/32\"",
                        entry.get_ref()
                    ),
                ),
            }
        }
        for entry in allow_tsig.iter().flat_map(|list| list.get_ref()) {
            match keys.get(entry.get_ref()) {
                Some(key) if out.keys.contains(key) => self.error(
                    entry,
                    format!(
                        "zone {origin} allow_transfer_tsig: {:?} is listed twice",
                        entry.get_ref()
                    ),
                ),
                Some(key) => out.keys.push(key.clone()),
                None => self.error(
                    entry,
                    format!(
                        "zone {origin} allow_transfer_tsig: no [[tsig]] key is named {:?}",
                        entry.get_ref()
                    ),
                ),
            }
        }
        for entry in notify.iter().flat_map(|list| list.get_ref()) {
            if let Some(addr) = self.address(&format!("zone {origin} notify"), entry) {
                if out.notify.contains(&addr) {
                    self.error(
                        entry,
                        format!("zone {origin} notify: {addr} is listed twice"),
                    );
                }
                out.notify.push(addr);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_contain_what_they_should() {
        let net = Cidr::parse("198.51.100.0/24").unwrap();
        assert!(net.contains("198.51.100.7".parse().unwrap()));
        assert!(!net.contains("198.51.101.7".parse().unwrap()));
        assert!(net.contains("::ffff:198.51.100.9".parse().unwrap()));
        assert!(!net.contains("2001:db8::1".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert_eq!(one.prefix, 32);
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let any = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(any.contains("203.0.113.1".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(Cidr::parse("::/0")
            .unwrap()
            .contains("::1".parse().unwrap()));
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0/8",
            "::/129",
            "x",
            "10.0.0.0/+8",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }
}
