//! An IP network (address and prefix length), as written in pool routes and nets files
//! (`"10.1.0.0/16"`, `"2001:db8::/32"`, a bare address meaning its host network), and as
//! the closed range of addresses it covers.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 network whose host bits are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Net {
    addr: IpAddr,
    len: u8,
}

impl Net {
    /// The network of `addr` with `len` leading bits; `None` when `len` is longer than the
    /// family allows or `addr` has bits set past `len`.
    pub fn new(addr: IpAddr, len: u8) -> Option<Net> {
        let addr = addr.to_canonical();
        if len > family_bits(addr) || key(addr) & !mask(len, family_bits(addr)) != 0 {
            return None;
        }
        Some(Net { addr, len })
    }

    /// The network of `len` bits that holds `addr` (host bits cleared).
    pub fn containing(addr: IpAddr, len: u8) -> Net {
        let addr = addr.to_canonical();
        let bits = family_bits(addr);
        let len = len.min(bits);
        let masked = key(addr) & mask(len, bits);
        Net {
            addr: from_key(masked, addr.is_ipv6()),
            len,
        }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// The first and last address as numbers (IPv4 in the low 32 bits).
    pub fn range(&self) -> (u128, u128) {
        let bits = family_bits(self.addr);
        let first = key(self.addr);
        (first, first | !mask(self.len, bits) & full(bits))
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        addr.is_ipv6() == self.is_ipv6() && {
            let (first, last) = self.range();
            (first..=last).contains(&key(addr))
        }
    }
}

/// An address as a number: IPv4 in the low 32 bits, IPv6 in all 128.
pub fn key(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The address whose number is `key`.
pub fn from_key(key: u128, v6: bool) -> IpAddr {
    match v6 {
        false => IpAddr::V4((key as u32).into()),
        true => IpAddr::V6(key.into()),
    }
}

/// 32 for IPv4, 128 for IPv6.
pub fn family_bits(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Every address bit of a family of `bits` bits set.
fn full(bits: u8) -> u128 {
    match bits {
        128 => u128::MAX,
        bits => (1u128 << bits) - 1,
    }
}

/// The network mask of `len` leading bits, in a family of `bits` bits.
fn mask(len: u8, bits: u8) -> u128 {
    match len {
        0 => 0,
        len => full(bits) & !(full(bits) >> len),
    }
}

impl FromStr for Net {
    type Err = String;

    fn from_str(text: &str) -> Result<Net, String> {
        let (addr, len) = match text.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP network (write \"10.1.0.0/16\")"))?;
        let bits = family_bits(addr.to_canonical());
        let len = match len {
            None => bits,
            Some(len) => len
                .parse::<u8>()
                .ok()
                .filter(|&l| l <= bits)
                .ok_or_else(|| format!("{text:?}: the prefix length is 0 to {bits}"))?,
        };
        Net::new(addr, len).ok_or_else(|| {
            format!(
                "{text:?} has host bits set: the network is {}",
                Net::containing(addr, len)
            )
        })
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_networks_and_refuses_host_bits() {
        let net: Net = "10.1.0.0/16".parse().unwrap();
        assert_eq!(net.range(), (0x0a01_0000, 0x0a01_ffff));
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.0".parse().unwrap()));
        assert!(!net.contains("::a01:1".parse().unwrap()));
        let err = "10.1.0.1/16".parse::<Net>().unwrap_err();
        assert!(err.contains("10.1.0.0/16"), "{err}");
        assert!("10.0.0.0/33".parse::<Net>().is_err());
        assert!("nonsense".parse::<Net>().is_err());
        let host: Net = "192.0.2.7".parse().unwrap();
        assert_eq!(host.prefix_len(), 32);
        let v6: Net = "2001:db8::/32".parse().unwrap();
        assert_eq!(v6.range().1, 0x2001_0db8_ffff_ffff_ffff_ffff_ffff_ffff);
        let all: Net = "::/0".parse().unwrap();
        assert_eq!(all.range(), (0, u128::MAX));
        let all4: Net = "0.0.0.0/0".parse().unwrap();
        assert_eq!(all4.range(), (0, 0xffff_ffff));
    }

    #[test]
    fn containing_clears_host_bits() {
        let net = Net::containing("192.0.2.77".parse().unwrap(), 24);
        assert_eq!(net.to_string(), "192.0.2.0/24");
        let mapped = Net::containing("::ffff:192.0.2.77".parse().unwrap(), 24);
        assert_eq!(mapped, net);
    }
}
