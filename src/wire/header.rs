//! The 12-byte message header (RFC 1035 section 4.1.1): a view over borrowed bytes with a
//! getter and a setter for every field, and the bits of its flags word.
//!
//! The rcode here is its low four bits; with EDNS the upper eight travel in the OPT record
//! ([`super::rcode::split`], [`super::OptRepr::ext_rcode`]).

use super::{get_u16, put_u16, Error};

/// Length of the header.
pub const LEN: usize = 12;

/// Bits of the flags word (the second 16 bits of the header).
pub const QR: u16 = 0x8000;
pub const OPCODE_MASK: u16 = 0x7800;
pub const AA: u16 = 0x0400;
pub const TC: u16 = 0x0200;
pub const RD: u16 = 0x0100;
pub const RA: u16 = 0x0080;
pub const AD: u16 = 0x0020;
pub const CD: u16 = 0x0010;
pub const RCODE_MASK: u16 = 0x000f;
const OPCODE_SHIFT: u32 = 11;

mod field {
    use crate::wire::field::Field;

    pub const ID: Field = 0..2;
    pub const FLAGS: Field = 2..4;
    pub const QDCOUNT: Field = 4..6;
    pub const ANCOUNT: Field = 6..8;
    pub const NSCOUNT: Field = 8..10;
    pub const ARCOUNT: Field = 10..12;
}

/// A read/write view of a message's header over `buffer`, which may hold the whole
/// message (only its first [`LEN`] bytes are touched).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Views `buffer` without checking its length: accessors panic when it is shorter than
    /// [`LEN`].
    pub const fn new_unchecked(buffer: T) -> Header<T> {
        Header { buffer }
    }

    /// Views `buffer`, which must hold at least [`LEN`] bytes.
    pub fn new_checked(buffer: T) -> Result<Header<T>, Error> {
        if buffer.as_ref().len() < LEN {
            return Err(Error);
        }
        Ok(Header { buffer })
    }

    /// The viewed buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    fn word(&self, field: core::ops::Range<usize>) -> u16 {
        get_u16(self.buffer.as_ref(), field.start)
    }

    #[inline]
    fn bit(&self, bit: u16) -> bool {
        self.flags() & bit != 0
    }

    #[inline]
    pub fn id(&self) -> u16 {
        self.word(field::ID)
    }

    /// The whole flags word: QR, opcode, AA, TC, RD, RA, Z, AD, CD and rcode.
    #[inline]
    pub fn flags(&self) -> u16 {
        self.word(field::FLAGS)
    }

    #[inline]
    pub fn qr(&self) -> bool {
        self.bit(QR)
    }

    #[inline]
    pub fn opcode(&self) -> u8 {
        ((self.flags() & OPCODE_MASK) >> OPCODE_SHIFT) as u8
    }

    #[inline]
    pub fn aa(&self) -> bool {
        self.bit(AA)
    }

    #[inline]
    pub fn tc(&self) -> bool {
        self.bit(TC)
    }

    #[inline]
    pub fn rd(&self) -> bool {
        self.bit(RD)
    }

    #[inline]
    pub fn ra(&self) -> bool {
        self.bit(RA)
    }

    #[inline]
    pub fn ad(&self) -> bool {
        self.bit(AD)
    }

    #[inline]
    pub fn cd(&self) -> bool {
        self.bit(CD)
    }

    /// The header's four bits of the rcode (all of it without EDNS).
    #[inline]
    pub fn rcode(&self) -> u16 {
        self.flags() & RCODE_MASK
    }

    #[inline]
    pub fn qdcount(&self) -> u16 {
        self.word(field::QDCOUNT)
    }

    #[inline]
    pub fn ancount(&self) -> u16 {
        self.word(field::ANCOUNT)
    }

    #[inline]
    pub fn nscount(&self) -> u16 {
        self.word(field::NSCOUNT)
    }

    #[inline]
    pub fn arcount(&self) -> u16 {
        self.word(field::ARCOUNT)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    #[inline]
    fn set_word(&mut self, field: core::ops::Range<usize>, value: u16) {
        put_u16(self.buffer.as_mut(), field.start, value);
    }

    #[inline]
    fn set_bits(&mut self, mask: u16, value: u16) {
        let flags = (self.flags() & !mask) | (value & mask);
        self.set_flags(flags);
    }

    #[inline]
    fn set_bit(&mut self, bit: u16, on: bool) {
        self.set_bits(bit, if on { bit } else { 0 });
    }

    #[inline]
    pub fn set_id(&mut self, id: u16) {
        self.set_word(field::ID, id);
    }

    /// Sets the whole flags word.
    #[inline]
    pub fn set_flags(&mut self, flags: u16) {
        self.set_word(field::FLAGS, flags);
    }

    #[inline]
    pub fn set_qr(&mut self, on: bool) {
        self.set_bit(QR, on);
    }

    /// Sets the four opcode bits (higher bits of `opcode` are ignored).
    #[inline]
    pub fn set_opcode(&mut self, opcode: u8) {
        self.set_bits(OPCODE_MASK, u16::from(opcode) << OPCODE_SHIFT);
    }

    #[inline]
    pub fn set_aa(&mut self, on: bool) {
        self.set_bit(AA, on);
    }

    #[inline]
    pub fn set_tc(&mut self, on: bool) {
        self.set_bit(TC, on);
    }

    #[inline]
    pub fn set_rd(&mut self, on: bool) {
        self.set_bit(RD, on);
    }

    #[inline]
    pub fn set_ra(&mut self, on: bool) {
        self.set_bit(RA, on);
    }

    #[inline]
    pub fn set_ad(&mut self, on: bool) {
        self.set_bit(AD, on);
    }

    #[inline]
    pub fn set_cd(&mut self, on: bool) {
        self.set_bit(CD, on);
    }

    /// Sets the header's four bits of `rcode`; an extended rcode's upper bits go in the OPT
    /// record ([`super::rcode::split`]).
    #[inline]
    pub fn set_rcode(&mut self, rcode: u16) {
        self.set_bits(RCODE_MASK, rcode);
    }

    #[inline]
    pub fn set_qdcount(&mut self, count: u16) {
        self.set_word(field::QDCOUNT, count);
    }

    #[inline]
    pub fn set_ancount(&mut self, count: u16) {
        self.set_word(field::ANCOUNT, count);
    }

    #[inline]
    pub fn set_nscount(&mut self, count: u16) {
        self.set_word(field::NSCOUNT, count);
    }

    #[inline]
    pub fn set_arcount(&mut self, count: u16) {
        self.set_word(field::ARCOUNT, count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::rcode;

    /// ID 0x1234; QR, opcode 2 (STATUS), AA, RD, CD, rcode 3 (NXDOMAIN); counts 1, 2, 3, 4.
    const HEADER: [u8; 12] = [
        0x12, 0x34, 0x95, 0x13, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04,
    ];

    #[test]
    fn reads_every_field() {
        let header = Header::new_checked(&HEADER[..]).unwrap();
        assert_eq!(header.id(), 0x1234);
        assert_eq!(header.flags(), 0x9513);
        assert!(header.qr() && header.aa() && header.rd() && header.cd());
        assert!(!header.tc() && !header.ra() && !header.ad());
        assert_eq!((header.opcode(), header.rcode()), (2, rcode::NXDOMAIN));
        assert_eq!(
            (
                header.qdcount(),
                header.ancount(),
                header.nscount(),
                header.arcount()
            ),
            (1, 2, 3, 4)
        );
    }

    #[test]
    fn writes_every_field() {
        let mut bytes = [0u8; 12];
        let mut header = Header::new_checked(&mut bytes[..]).unwrap();
        header.set_id(0x1234);
        header.set_qr(true);
        header.set_opcode(2);
        header.set_aa(true);
        header.set_rd(true);
        header.set_cd(true);
        header.set_rcode(rcode::NXDOMAIN);
        header.set_qdcount(1);
        header.set_ancount(2);
        header.set_nscount(3);
        header.set_arcount(4);
        assert_eq!(bytes, HEADER);
    }

    #[test]
    fn setters_change_only_their_bits() {
        let mut bytes = HEADER;
        let mut header = Header::new_unchecked(&mut bytes);
        header.set_qr(false);
        header.set_aa(false);
        header.set_tc(true);
        header.set_rd(false);
        header.set_ra(true);
        header.set_ad(true);
        header.set_cd(false);
        assert_eq!(&bytes[2..4], [0x12, 0xa3]);
        let mut header = Header::new_unchecked(&mut bytes);
        header.set_opcode(0xff);
        assert_eq!(header.opcode(), 0xf, "only four opcode bits");
        header.set_opcode(0);
        header.set_rcode(rcode::BADVERS);
        assert_eq!(
            header.rcode(),
            0,
            "the header keeps BADVERS's low bits only"
        );
        assert_eq!(&bytes[2..4], [0x02, 0xa0]);
    }

    #[test]
    fn a_short_buffer_is_refused() {
        assert_eq!(Header::new_checked(&HEADER[..11]), Err(Error));
        assert!(Header::new_checked(&HEADER[..]).is_ok());
    }
}
