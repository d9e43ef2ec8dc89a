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

use super::{get_u16, put_u16, Error};

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

/// A client subnet as a query gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientSubnet {
    pub family: u16,
    pub source_prefix: u8,
    /// The address, zero past the source prefix; IPv4 in the first four bytes.
    pub address: [u8; 16],
}

impl ClientSubnet {
    /// Reads the option's data from a query: FORMERR material (an `Err`) when the family is
    /// neither IPv4 nor IPv6, the source prefix is longer than the family, the scope is not
    /// 0, the address has too few or too many bytes, or bits set past the source prefix.
    pub fn parse(data: &[u8]) -> Result<ClientSubnet, Error> {
        if data.len() < field::ADDRESS.start {
            return Err(Error);
        }
        let family = get_u16(data, field::FAMILY.start);
        let bits = match family {
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
        let mut address = [0u8; 16];
        address[..len].copy_from_slice(given);
        Ok(ClientSubnet {
            family,
            source_prefix,
            address,
        })
    }

    /// Length of the option data in wire form.
    #[inline]
    pub fn data_len(&self) -> usize {
        field::ADDRESS.start + usize::from(self.source_prefix).div_ceil(8)
    }

    /// Writes the reply's option data with `scope` into `out`; returns its length.
    #[inline]
    pub fn emit(&self, scope: u8, out: &mut [u8; MAX_DATA_LEN]) -> usize {
        let len = self.data_len();
        put_u16(out, field::FAMILY.start, self.family);
        out[field::SOURCE] = self.source_prefix;
        out[field::SCOPE] = scope;
        out[field::ADDRESS.start..len].copy_from_slice(&self.address[..len - 4]);
        len
    }

    /// The address as a number (IPv4 in the low 32 bits), for route lookups.
    #[inline]
    pub fn address_key(&self) -> u128 {
        match self.family {
            family::IPV4 => u128::from(u32::from_be_bytes([
                self.address[0],
                self.address[1],
                self.address[2],
                self.address[3],
            ])),
            _ => u128::from_be_bytes(self.address),
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
        let mut out = [0u8; MAX_DATA_LEN];
        let len = ecs.emit(16, &mut out);
        assert_eq!(&out[..len], &[0, 1, 24, 16, 192, 0, 2]);
    }

    #[test]
    fn reads_ipv6_and_zero_prefixes() {
        let data = [0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0];
        let ecs = ClientSubnet::parse(&data).unwrap();
        assert_eq!(ecs.address_key() >> 72, 0x20_010d_b800_0100);
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
