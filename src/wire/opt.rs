//! The OPT pseudo-record of EDNS(0) (RFC 6891 section 6.1): a view over its bytes, its
//! high-level form [`Repr`] that is both what parsing gives and what emitting takes, and its
//! options as code/length/data.
//!
//! ```text
//! +0  NAME     0 (the root)
//! +1  TYPE     41
//! +3  CLASS    requester's UDP payload size
//! +5  TTL      extended rcode (8 bits), version (8 bits), DO bit and 15 zero bits
//! +9  RDLEN    length of the options
//! +11 RDATA    options: code (16 bits), length (16 bits), data
//! ```
//!
//! Options are borrowed, never copied until emitted: a reply adds one by listing it
//! (`Options::list(&[EdnsOption { code, data }])`), with its data in a stack buffer.

use super::{get_u16, put_u16, rtype, Error};

/// Length of an OPT record without options.
pub const FIXED_LEN: usize = 11;
/// The DO ("DNSSEC answer OK") bit of the flags (RFC 3225).
pub const DO: u16 = 0x8000;
/// Length of an option's code and length fields.
pub const OPTION_HEADER_LEN: usize = 4;

/// EDNS option codes (the IANA "DNS EDNS0 Option Codes" registry).
pub mod code {
    /// Name server identifier (RFC 5001).
    pub const NSID: u16 = 3;
    /// Client subnet (RFC 7871).
    pub const CLIENT_SUBNET: u16 = 8;
    /// Zone expiry for secondaries (RFC 7314).
    pub const EXPIRE: u16 = 9;
    /// Cookies (RFC 7873).
    pub const COOKIE: u16 = 10;
    /// TCP keepalive (RFC 7828).
    pub const TCP_KEEPALIVE: u16 = 11;
    /// Padding (RFC 7830).
    pub const PADDING: u16 = 12;
    /// Extended DNS error (RFC 8914).
    pub const EXTENDED_ERROR: u16 = 15;
}

mod field {
    use crate::wire::field::{Field, Rest};

    pub const NAME: usize = 0;
    pub const TYPE: Field = 1..3;
    pub const UDP_SIZE: Field = 3..5;
    pub const EXT_RCODE: usize = 5;
    pub const VERSION: usize = 6;
    pub const FLAGS: Field = 7..9;
    pub const RDLEN: Field = 9..11;
    pub const RDATA: Rest = 11..;

    /// Within one option.
    pub const OPTION_CODE: Field = 0..2;
    pub const OPTION_LEN: Field = 2..4;
    pub const OPTION_DATA: Rest = 4..;
}

/// A read/write view of an OPT record over `buffer`, which starts at the record's owner
/// name (one zero byte: OPT is owned by the root) and may go on past its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptRecord<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> OptRecord<T> {
    /// Views `buffer` without checks: accessors panic when it is too short.
    pub const fn new_unchecked(buffer: T) -> OptRecord<T> {
        OptRecord { buffer }
    }

    /// Views `buffer` after checking that it holds an OPT record: owner the root, type 41,
    /// and the whole RDATA.
    pub fn new_checked(buffer: T) -> Result<OptRecord<T>, Error> {
        let record = OptRecord { buffer };
        record.check()?;
        Ok(record)
    }

    /// Whether accessors are safe to call and the bytes are an OPT record's.
    pub fn check(&self) -> Result<(), Error> {
        let bytes = self.buffer.as_ref();
        if bytes.len() < FIXED_LEN
            || bytes[field::NAME] != 0
            || self.rtype() != rtype::OPT
            || bytes.len() < self.total_len()
        {
            return Err(Error);
        }
        Ok(())
    }

    /// The viewed buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn rtype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::TYPE.start)
    }

    /// The largest UDP payload the sender can receive (the CLASS field).
    #[inline]
    pub fn udp_size(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::UDP_SIZE.start)
    }

    /// The upper eight bits of the 12-bit rcode.
    #[inline]
    pub fn ext_rcode(&self) -> u8 {
        self.buffer.as_ref()[field::EXT_RCODE]
    }

    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION]
    }

    /// The DO bit and the 15 Z bits.
    #[inline]
    pub fn flags(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::FLAGS.start)
    }

    #[inline]
    pub fn dnssec_ok(&self) -> bool {
        self.flags() & DO != 0
    }

    #[inline]
    pub fn rdata_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::RDLEN.start)
    }

    /// Length of the whole record.
    #[inline]
    pub fn total_len(&self) -> usize {
        FIXED_LEN + usize::from(self.rdata_len())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> OptRecord<&'a T> {
    /// The options, as bytes.
    #[inline]
    pub fn rdata(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::RDATA][..usize::from(self.rdata_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> OptRecord<T> {
    /// Writes the owner (the root) and the type (OPT).
    #[inline]
    pub fn set_owner_and_type(&mut self) {
        let bytes = self.buffer.as_mut();
        bytes[field::NAME] = 0;
        put_u16(bytes, field::TYPE.start, rtype::OPT);
    }

    #[inline]
    pub fn set_udp_size(&mut self, size: u16) {
        put_u16(self.buffer.as_mut(), field::UDP_SIZE.start, size);
    }

    #[inline]
    pub fn set_ext_rcode(&mut self, ext_rcode: u8) {
        self.buffer.as_mut()[field::EXT_RCODE] = ext_rcode;
    }

    #[inline]
    pub fn set_version(&mut self, version: u8) {
        self.buffer.as_mut()[field::VERSION] = version;
    }

    /// Sets the DO bit and the 15 Z bits.
    #[inline]
    pub fn set_flags(&mut self, flags: u16) {
        put_u16(self.buffer.as_mut(), field::FLAGS.start, flags);
    }

    #[inline]
    pub fn set_rdata_len(&mut self, len: u16) {
        put_u16(self.buffer.as_mut(), field::RDLEN.start, len);
    }

    /// The bytes after the fixed part, to write options into.
    #[inline]
    pub fn rdata_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::RDATA]
    }
}

/// One option: its code and data (at most 65535 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdnsOption<'a> {
    pub code: u16,
    pub data: &'a [u8],
}

impl<'a> EdnsOption<'a> {
    /// Reads the option at the start of `bytes`; returns it and the bytes after it.
    pub fn parse(bytes: &'a [u8]) -> Result<(EdnsOption<'a>, &'a [u8]), Error> {
        if bytes.len() < OPTION_HEADER_LEN {
            return Err(Error);
        }
        let len = usize::from(get_u16(bytes, field::OPTION_LEN.start));
        let rest = &bytes[field::OPTION_DATA];
        if rest.len() < len {
            return Err(Error);
        }
        let option = EdnsOption {
            code: get_u16(bytes, field::OPTION_CODE.start),
            data: &rest[..len],
        };
        Ok((option, &rest[len..]))
    }

    /// Length of the option in wire form.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        OPTION_HEADER_LEN + self.data.len()
    }

    /// Writes the option at the start of `bytes`, which must hold [`Self::buffer_len`]
    /// bytes and data of at most 65535 bytes (checked by [`Repr::emit`]).
    #[inline]
    pub fn emit(&self, bytes: &mut [u8]) {
        put_u16(bytes, field::OPTION_CODE.start, self.code);
        put_u16(bytes, field::OPTION_LEN.start, self.data.len() as u16);
        bytes[field::OPTION_DATA][..self.data.len()].copy_from_slice(self.data);
    }
}

/// The options of an OPT record: either its RDATA as read (checked well-formed once, when
/// made), or a list to emit. Either way they iterate as [`EdnsOption`]s, in order.
#[derive(Clone, Copy)]
pub struct Options<'a>(Source<'a>);

#[derive(Clone, Copy)]
enum Source<'a> {
    Wire(&'a [u8]),
    List(&'a [EdnsOption<'a>]),
}

impl<'a> Options<'a> {
    /// No options.
    pub const EMPTY: Options<'static> = Options(Source::Wire(&[]));

    /// The options in `rdata`, which must be a well-formed sequence of them.
    pub fn parse(rdata: &'a [u8]) -> Result<Options<'a>, Error> {
        let mut rest = rdata;
        while !rest.is_empty() {
            rest = EdnsOption::parse(rest)?.1;
        }
        Ok(Options(Source::Wire(rdata)))
    }

    /// The options of `list`, to emit.
    pub const fn list(list: &'a [EdnsOption<'a>]) -> Options<'a> {
        Options(Source::List(list))
    }

    /// Length of the options in wire form.
    #[inline(always)]
    pub fn wire_len(&self) -> usize {
        match self.0 {
            Source::Wire(bytes) => bytes.len(),
            Source::List(list) => list.iter().map(EdnsOption::buffer_len).sum(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        match self.0 {
            Source::Wire(bytes) => bytes.is_empty(),
            Source::List(list) => list.is_empty(),
        }
    }

    #[inline]
    pub fn iter(&self) -> OptionsIter<'a> {
        OptionsIter(self.0)
    }

    /// Writes the options at the start of `rdata`, which holds [`Self::wire_len`] bytes.
    #[inline(always)]
    fn emit(&self, rdata: &mut [u8]) {
        match self.0 {
            Source::Wire(bytes) => rdata[..bytes.len()].copy_from_slice(bytes),
            Source::List(list) => {
                let mut at = 0;
                for option in list {
                    option.emit(&mut rdata[at..]);
                    at += option.buffer_len();
                }
            }
        }
    }

    /// The data of the first option with `code`, if there is one.
    pub fn get(&self, code: u16) -> Option<&'a [u8]> {
        self.iter().find(|o| o.code == code).map(|o| o.data)
    }

    /// The first option with `code` as options of its own (borrowing its bytes as read,
    /// so that a reply can echo it with one copy), and its data; `None` when there is
    /// none, or when these options are a list to emit.
    #[inline]
    pub fn only(&self, code: u16) -> Option<(Options<'a>, &'a [u8])> {
        let Source::Wire(mut rest) = self.0 else {
            return None;
        };
        while let Ok((option, after)) = EdnsOption::parse(rest) {
            if option.code == code {
                let whole = &rest[..option.buffer_len()];
                return Some((Options(Source::Wire(whole)), option.data));
            }
            rest = after;
        }
        None
    }
}

impl<'a> IntoIterator for Options<'a> {
    type Item = EdnsOption<'a>;
    type IntoIter = OptionsIter<'a>;

    fn into_iter(self) -> OptionsIter<'a> {
        self.iter()
    }
}

/// Options are equal when they list the same options in the same order, however held.
impl PartialEq for Options<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Options<'_> {}

impl core::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over [`Options`].
#[derive(Clone)]
pub struct OptionsIter<'a>(Source<'a>);

impl<'a> Iterator for OptionsIter<'a> {
    type Item = EdnsOption<'a>;

    fn next(&mut self) -> Option<EdnsOption<'a>> {
        match &mut self.0 {
            Source::Wire(bytes) => {
                // Checked well-formed when made: an error here only means the end.
                let (option, rest) = EdnsOption::parse(bytes).ok()?;
                *bytes = rest;
                Some(option)
            }
            Source::List(list) => {
                let all: &'a [EdnsOption<'a>] = list;
                let (first, rest) = all.split_first()?;
                *list = rest;
                Some(*first)
            }
        }
    }
}

/// An OPT record in high-level form: what [`Repr::parse`] reads from a query and what
/// [`Repr::emit`] writes into a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr<'a> {
    /// The largest UDP payload the sender can receive.
    pub udp_size: u16,
    /// The upper eight bits of the 12-bit rcode ([`super::rcode::split`]).
    pub ext_rcode: u8,
    pub version: u8,
    /// The DO bit (RFC 3225); the other flag bits are zero when sent, ignored when read.
    pub dnssec_ok: bool,
    pub options: Options<'a>,
}

impl<'a> Repr<'a> {
    /// Reads an OPT record whose bytes [`OptRecord::check`] accepts (or that the caller
    /// knows to be whole: accessors panic otherwise); fails when its options are not a
    /// well-formed sequence.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(record: &OptRecord<&'a T>) -> Result<Repr<'a>, Error> {
        Ok(Repr {
            udp_size: record.udp_size(),
            ext_rcode: record.ext_rcode(),
            version: record.version(),
            dnssec_ok: record.dnssec_ok(),
            options: Options::parse(record.rdata())?,
        })
    }

    /// Length of the record in wire form.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        FIXED_LEN + self.options.wire_len()
    }

    /// Writes the record at the start of `buffer`, whose length is the size limit, and
    /// returns its length; writes nothing and fails when the record does not fit or its
    /// options exceed 65535 bytes.
    #[inline(always)]
    pub fn emit(&self, buffer: &mut [u8]) -> Result<usize, Error> {
        let rdata_len = self.options.wire_len();
        let len = FIXED_LEN + rdata_len;
        if len > buffer.len() || rdata_len > usize::from(u16::MAX) {
            return Err(Error);
        }
        let (fixed, rdata) = buffer[..len].split_at_mut(FIXED_LEN);
        // A fixed-size view: its setters need no bounds checks.
        let fixed: &mut [u8; FIXED_LEN] = fixed.try_into().expect("split at FIXED_LEN");
        let mut record = OptRecord::new_unchecked(fixed);
        record.set_owner_and_type();
        record.set_udp_size(self.udp_size);
        record.set_ext_rcode(self.ext_rcode);
        record.set_version(self.version);
        record.set_flags(if self.dnssec_ok { DO } else { 0 });
        record.set_rdata_len(rdata_len as u16);
        if rdata_len > 0 {
            self.options.emit(rdata);
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Size 1232, extended rcode 1, version 0, DO, no options.
    const PLAIN: [u8; 11] = [0, 0, 41, 0x04, 0xd0, 1, 0, 0x80, 0, 0, 0];
    /// Size 4096, version 0, no DO; a cookie (code 10) of 8 bytes and an empty NSID (3).
    const WITH_OPTIONS: [u8; 27] = [
        0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 16, //
        0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, //
        0, 3, 0, 0,
    ];
    const COOKIE: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    fn parse(bytes: &[u8]) -> Result<Repr<'_>, Error> {
        Repr::parse(&OptRecord::new_checked(bytes)?)
    }

    #[test]
    fn parses_the_fixed_fields() {
        let repr = parse(&PLAIN).unwrap();
        assert_eq!(
            repr,
            Repr {
                udp_size: 1232,
                ext_rcode: 1,
                version: 0,
                dnssec_ok: true,
                options: Options::EMPTY,
            }
        );
        assert!(repr.options.is_empty());
        let record = OptRecord::new_checked(&PLAIN[..]).unwrap();
        assert_eq!((record.flags(), record.total_len()), (0x8000, 11));
    }

    #[test]
    fn parses_options_in_order() {
        let repr = parse(&WITH_OPTIONS).unwrap();
        assert_eq!((repr.udp_size, repr.dnssec_ok), (4096, false));
        let options: Vec<_> = repr.options.iter().collect();
        assert_eq!(
            options,
            [
                EdnsOption {
                    code: code::COOKIE,
                    data: &COOKIE
                },
                EdnsOption {
                    code: code::NSID,
                    data: &[]
                },
            ]
        );
        assert_eq!(repr.options.get(code::COOKIE), Some(&COOKIE[..]));
        let (nsid, data) = repr.options.only(code::NSID).unwrap();
        assert_eq!((nsid.wire_len(), data), (4, &[][..]));
        let (cookie, data) = repr.options.only(code::COOKIE).unwrap();
        assert_eq!((cookie.wire_len(), data), (12, &COOKIE[..]));
        assert!(repr.options.only(code::CLIENT_SUBNET).is_none());
        assert_eq!(repr.options.get(code::CLIENT_SUBNET), None);
        assert_eq!(repr.options.wire_len(), 16);
    }

    #[test]
    fn the_record_may_be_followed_by_other_bytes() {
        let mut bytes = PLAIN.to_vec();
        bytes.extend_from_slice(&[0xff; 5]);
        assert_eq!(parse(&bytes), parse(&PLAIN));
        assert!(OptRecord::new_checked(&bytes[..])
            .unwrap()
            .rdata()
            .is_empty());
    }

    #[test]
    fn refuses_what_is_not_a_whole_opt_record() {
        assert_eq!(parse(&PLAIN[..10]), Err(Error), "cut in the fixed part");
        assert_eq!(parse(&WITH_OPTIONS[..26]), Err(Error), "cut in the RDATA");
        let mut owner = PLAIN;
        owner[0] = 1;
        assert_eq!(parse(&owner), Err(Error), "owner not the root");
        let mut kind = PLAIN;
        kind[2] = 1;
        assert_eq!(parse(&kind), Err(Error), "type A");
        // RDLEN 5 over an option whose length says 2 bytes but has 1.
        let broken = [0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 5, 0, 1, 0, 2, 9];
        assert_eq!(parse(&broken), Err(Error), "option cut");
        let short = [0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 3, 0, 1, 0];
        assert_eq!(parse(&short), Err(Error), "option header cut");
    }

    #[test]
    fn emits_the_fixed_fields() {
        let repr = Repr {
            udp_size: 1232,
            ext_rcode: 1,
            version: 0,
            dnssec_ok: true,
            options: Options::EMPTY,
        };
        assert_eq!(repr.buffer_len(), 11);
        let mut out = [0xaa; 12];
        assert_eq!(repr.emit(&mut out), Ok(11));
        assert_eq!(out[..11], PLAIN);
        assert_eq!(out[11], 0xaa, "nothing written past the record");
    }

    #[test]
    fn emits_listed_options() {
        let list = [
            EdnsOption {
                code: code::COOKIE,
                data: &COOKIE,
            },
            EdnsOption {
                code: code::NSID,
                data: &[],
            },
        ];
        let repr = Repr {
            udp_size: 4096,
            ext_rcode: 0,
            version: 0,
            dnssec_ok: false,
            options: Options::list(&list),
        };
        assert_eq!(repr.buffer_len(), 27);
        let mut out = [0; 27];
        assert_eq!(repr.emit(&mut out), Ok(27));
        assert_eq!(out, WITH_OPTIONS);
        assert_eq!(
            parse(&out).unwrap(),
            repr,
            "parse gives back what was emitted"
        );
    }

    #[test]
    fn emits_a_client_subnet_option() {
        // RFC 7871 section 6: family 1 (IPv4), source prefix 24, scope prefix 24, 192.0.2.
        let ecs = [0, 1, 24, 24, 192, 0, 2];
        let list = [EdnsOption {
            code: code::CLIENT_SUBNET,
            data: &ecs,
        }];
        let repr = Repr {
            udp_size: 1232,
            ext_rcode: 0,
            version: 0,
            dnssec_ok: false,
            options: Options::list(&list),
        };
        let mut out = [0; 64];
        let len = repr.emit(&mut out).unwrap();
        assert_eq!(
            out[..len],
            [0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 24, 192, 0, 2]
        );
    }

    #[test]
    fn emitting_past_the_limit_writes_nothing() {
        let list = [EdnsOption {
            code: code::COOKIE,
            data: &COOKIE,
        }];
        let repr = Repr {
            udp_size: 1232,
            ext_rcode: 0,
            version: 0,
            dnssec_ok: false,
            options: Options::list(&list),
        };
        let mut out = [0xaa; 22];
        assert_eq!(repr.emit(&mut out), Err(Error));
        assert_eq!(out, [0xaa; 22]);
        let big = vec![0; 65536];
        let list = [EdnsOption {
            code: code::PADDING,
            data: &big,
        }];
        let repr = Repr {
            options: Options::list(&list),
            ..repr
        };
        let mut out = vec![0; 70000];
        assert_eq!(repr.emit(&mut out), Err(Error), "options over 65535 bytes");
    }
}
