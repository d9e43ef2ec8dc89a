//! The EDNS Client Subnet option (RFC 7871 section 6): read from a query's OPT record,
//! checked as section 7.2.1 asks (a malformed one is FORMERR), and written back into the
//! reply with the same family, source prefix and address and the answer's scope.
//!
//! ```text
//! +0  FAMILY         1 (IPv4) or 2 (IPv6)
//! +2  SOURCE PREFIX  bits of ADDRESS the client gave
//! +3  SCOPE PREFIX   bits the answer depends on: 0 in queries
//! +4  ADDRESS        ceil(SOURCE / 8) bytes, bits past SOURCE zero
//! ```

use super::{get_u16, Error};

/// The longest option data: family, two prefix lengths, an IPv6 address.
pub const MAX_DATA_LEN: usize = 4 + 16;

mod field {
    use crate::wire::field::{Field, Rest};

    pub const FAMILY: Field = 0..2;
    pub const SOURCE: usize = 2;
    pub const SCOPE: usize = 3;
    pub const ADDRESS: Rest = 4..;
}

/// Address family numbers (IANA "Address Family Numbers").
pub mod family {
    pub const IPV4: u16 = 1;
    pub const IPV6: u16 = 2;
}

/// Where the scope lies in an OPT record whose only option is a client subnet: a reply
/// echoes the query's option bytes and sets this one.
pub const SCOPE_IN_OPT: usize =
    super::opt::FIXED_LEN + super::opt::OPTION_HEADER_LEN + field::SCOPE;

/// A client subnet as a query gave it: a view of the option's data, checked once when made
/// (so that its address is echoed as given, byte for byte, with no copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientSubnet<'a> {
    data: &'a [u8],
}

impl<'a> ClientSubnet<'a> {
    /// Reads the option's data from a query: FORMERR material (an `Err`) when the family is
    /// neither IPv4 nor IPv6, the source prefix is longer than the family, the scope is not
    /// 0, the address has too few or too many bytes, or bits set past the source prefix.
    #[inline]
    pub fn parse(data: &'a [u8]) -> Result<ClientSubnet<'a>, Error> {
        if data.len() < field::ADDRESS.start {
            return Err(Error);
        }
        let bits = match get_u16(data, field::FAMILY.start) {
            family::IPV4 => 32,
            family::IPV6 => 128,
            _ => return Err(Error),
        };
        let source_prefix = data[field::SOURCE];
        if source_prefix > bits || data[field::SCOPE] != 0 {
            return Err(Error);
        }
        let given = &data[field::ADDRESS];
        let len = usize::from(source_prefix).div_ceil(8);
        if given.len() != len {
            return Err(Error);
        }
        let spare = (len * 8) as u8 - source_prefix;
        if let Some(&last) = given.last() {
            if spare > 0 && last & ((1u8 << spare) - 1) != 0 {
                return Err(Error);
            }
        }
        Ok(ClientSubnet { data })
    }

    /// 1 for IPv4, 2 for IPv6 ([`family`]).
    #[inline]
    pub fn family(&self) -> u16 {
        get_u16(self.data, field::FAMILY.start)
    }

    /// How many leading bits of the address the client gave.
    #[inline]
    pub fn source_prefix(&self) -> u8 {
        self.data[field::SOURCE]
    }

    /// Length of the option data in wire form.
    #[inline]
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// Writes the reply's option data, the query's with `scope`, into `out`, which must
    /// hold [`Self::data_len`] bytes; returns its length.
    #[inline]
    pub fn emit(&self, scope: u8, out: &mut [u8]) -> usize {
        let out = &mut out[..self.data.len()];
        out.copy_from_slice(self.data);
        out[field::SCOPE] = scope;
        self.data.len()
    }

    /// The address as a number, zero past the source prefix (IPv4 in the low 32 bits), for
    /// route lookups.
    #[inline]
    pub fn address_key(&self) -> u128 {
        let given = &self.data[field::ADDRESS];
        match self.family() {
            // At most four bytes: a 32-bit sum is cheaper than the 128-bit one.
            family::IPV4 => {
                let mut key = 0u32;
                for (i, &byte) in given.iter().take(4).enumerate() {
                    key |= u32::from(byte) << (24 - 8 * i);
                }
                u128::from(key)
            }
            _ => {
                let mut key = 0u128;
                for (i, &byte) in given.iter().take(16).enumerate() {
                    key |= u128::from(byte) << (120 - 8 * i);
                }
                key
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_echoes_an_ipv4_subnet() {
        // 192.0.2.0/24, scope 0.
        let data = [0, 1, 24, 0, 192, 0, 2];
        let ecs = ClientSubnet::parse(&data).unwrap();
        assert_eq!(ecs.address_key(), 0xc000_0200);
        assert_eq!((ecs.family(), ecs.source_prefix()), (family::IPV4, 24));
        let mut out = [0u8; MAX_DATA_LEN];
        let len = ecs.emit(16, &mut out);
        assert_eq!(&out[..len], &[0, 1, 24, 16, 192, 0, 2]);
        let whole = ClientSubnet::parse(&[0, 1, 32, 0, 192, 0, 2, 1]).unwrap();
        assert_eq!(whole.address_key(), 0xc000_0201);
    }

    #[test]
    fn reads_ipv6_and_zero_prefixes() {
        let data = [0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0];
        let ecs = ClientSubnet::parse(&data).unwrap();
        assert_eq!(ecs.address_key() >> 72, 0x20_010d_b800_0100);
        assert_eq!(ecs.address_key() & ((1 << 72) - 1), 0);
        let none = ClientSubnet::parse(&[0, 1, 0, 0]).unwrap();
        assert_eq!(none.data_len(), 4);
        let mut out = [0u8; MAX_DATA_LEN];
        assert_eq!(none.emit(0, &mut out), 4);
    }

    #[test]
    fn refuses_what_section_7_2_1_calls_malformed() {
        let bad: [&[u8]; 8] = [
            &[0, 1, 24],                   // shorter than the fixed part
            &[0, 3, 0, 0],                 // unknown family
            &[0, 1, 33, 0, 1, 2, 3, 4, 5], // source longer than IPv4
            &[0, 2, 129, 0],               // source longer than IPv6
            &[0, 1, 24, 8, 192, 0, 2],     // scope set in a query
            &[0, 1, 24, 0, 192, 0],        // too few address bytes
            &[0, 1, 24, 0, 192, 0, 2, 0],  // too many
            &[0, 1, 23, 0, 192, 0, 3],     // a bit set past the prefix
        ];
        for data in bad {
            assert_eq!(ClientSubnet::parse(data), Err(Error), "{data:?}");
        }
        assert!(ClientSubnet::parse(&[0, 1, 23, 0, 192, 0, 2]).is_ok());
    }
}
