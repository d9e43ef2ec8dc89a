//! Writes the record sections of one precompiled answer: RRsets in wire form with name
//! compression against the question and against the answer itself.
//!
//! The bytes written here follow the echoed question in a reply. When the question name is
//! known at compile time its length fixes every offset. When it is not (wildcard synthesis,
//! NXDOMAIN, referrals below a cut) the name is only known to end with a given suffix, and
//! every compression pointer whose target moves with the question length is recorded as a
//! relocation: the engine adds the question name's length to it when it copies the answer.

use crate::name::{label_starts, Name};
use crate::wire::header;

/// A compression pointer whose target offset is `base + question name length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reloc {
    /// Position of the pointer within the answer's bytes.
    pub at: u16,
    /// Target offset when the question name had length zero (may be "negative").
    pub base: i16,
}

/// A place where the answer may be cut short: after a whole RRset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cut {
    pub len: u16,
    pub an: u16,
    pub ns: u16,
    pub ar: u16,
}

/// The output of one writer: bytes, relocations, cut points (the last is the whole answer).
#[derive(Clone, Debug, Default)]
pub struct Sections {
    pub bytes: Vec<u8>,
    pub relocs: Vec<Reloc>,
    pub cuts: Vec<Cut>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Section {
    Answer,
    Authority,
    Additional,
}

/// Where the question name is, as far as compile time knows.
pub enum QuestionName<'a> {
    /// The question name is exactly this (up to case).
    Exact(&'a Name),
    /// The question name ends with `suffix`; if `alias` is given, records owned by `alias`
    /// are written with the question name itself as owner (wildcard synthesis).
    EndsWith {
        suffix: &'a Name,
        alias: Option<&'a Name>,
    },
}

#[derive(Clone, Copy)]
struct Target {
    offset: i32,
    relocated: bool,
}

/// Highest offset a compression pointer can reach.
const MAX_POINTER: i32 = 0x3fff;
/// Longest possible question name, assumed for relocated targets.
const MAX_QNAME: i32 = 255;

pub struct Writer {
    out: Sections,
    /// Known names: lowercase wire suffix → where it can be pointed at.
    known: Vec<(Vec<u8>, Target)>,
    /// Offset of the answer's first byte relative to a zero-length question name.
    start: i32,
    start_relocated: bool,
    current: Cut,
    /// The wildcard owner written as the question name, if any.
    alias: Option<Vec<u8>>,
    /// While set, the alias is written as itself (NSEC records of a wildcard owner).
    literal: bool,
}

impl Writer {
    pub fn new(question: QuestionName<'_>) -> Writer {
        let mut known = Vec::new();
        let mut alias_wire = None;
        let (start, start_relocated) = match question {
            QuestionName::Exact(qname) => {
                for at in label_starts(qname.as_wire()) {
                    let target = Target {
                        offset: (header::LEN + at) as i32,
                        relocated: false,
                    };
                    known.push((qname.as_wire()[at..].to_vec(), target));
                }
                ((header::LEN + qname.len() + 4) as i32, false)
            }
            QuestionName::EndsWith { suffix, alias } => {
                if let Some(alias) = alias {
                    alias_wire = Some(alias.as_wire().to_vec());
                    known.push((
                        alias.as_wire().to_vec(),
                        Target {
                            offset: header::LEN as i32,
                            relocated: false,
                        },
                    ));
                }
                for at in label_starts(suffix.as_wire()) {
                    let tail = &suffix.as_wire()[at..];
                    let target = Target {
                        offset: header::LEN as i32 - tail.len() as i32,
                        relocated: true,
                    };
                    known.push((tail.to_vec(), target));
                }
                ((header::LEN + 4) as i32, true)
            }
        };
        Writer {
            out: Sections::default(),
            known,
            start,
            start_relocated,
            current: Cut::default(),
            alias: alias_wire,
            literal: false,
        }
    }

    /// Appends one RRset to `section`; sections must come in order.
    pub fn rrset<'r>(
        &mut self,
        section: Section,
        owner: &Name,
        rtype: u16,
        ttl: u32,
        rdatas: impl IntoIterator<Item = &'r [u8]>,
    ) {
        let before = self.out.bytes.len();
        self.records(section, owner, rtype, ttl, rdatas);
        self.cut_after(before);
    }

    /// Appends one RRset and its RRSIGs, which are cut away together or not at all.
    pub fn signed_rrset<'r>(
        &mut self,
        section: Section,
        owner: &Name,
        rtype: u16,
        ttl: u32,
        rdatas: impl IntoIterator<Item = &'r [u8]>,
        rrsigs: &[Vec<u8>],
    ) {
        let before = self.out.bytes.len();
        self.records(section, owner, rtype, ttl, rdatas);
        if self.out.bytes.len() > before {
            let rrsigs = rrsigs.iter().map(Vec::as_slice);
            self.records(section, owner, crate::wire::rtype::RRSIG, ttl, rrsigs);
        }
        self.cut_after(before);
    }

    /// [`Writer::signed_rrset`] with the owner written as itself even where it is the
    /// wildcard that the question name stands for: NSEC records name the wildcard.
    pub fn signed_rrset_literal<'r>(
        &mut self,
        section: Section,
        owner: &Name,
        rtype: u16,
        ttl: u32,
        rdatas: impl IntoIterator<Item = &'r [u8]>,
        rrsigs: &[Vec<u8>],
    ) {
        self.literal = true;
        self.signed_rrset(section, owner, rtype, ttl, rdatas, rrsigs);
        self.literal = false;
    }

    fn records<'r>(
        &mut self,
        section: Section,
        owner: &Name,
        rtype: u16,
        ttl: u32,
        rdatas: impl IntoIterator<Item = &'r [u8]>,
    ) {
        for rdata in rdatas {
            self.name(owner.as_wire());
            self.put(&rtype.to_be_bytes());
            self.put(&crate::wire::class::IN.to_be_bytes());
            self.put(&ttl.to_be_bytes());
            let len_at = self.out.bytes.len();
            self.put(&[0, 0]);
            self.rdata(rtype, rdata);
            let rdlen = (self.out.bytes.len() - len_at - 2) as u16;
            self.out.bytes[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
            match section {
                Section::Answer => self.current.an += 1,
                Section::Authority => self.current.ns += 1,
                Section::Additional => self.current.ar += 1,
            }
        }
    }

    /// Records a cut point after what was written since `before`, if anything was.
    fn cut_after(&mut self, before: usize) {
        if self.out.bytes.len() > before {
            // An answer beyond 64 KiB cannot be sent at all; such cuts are never chosen.
            self.current.len = self.out.bytes.len().min(u16::MAX as usize) as u16;
            self.out.cuts.push(self.current);
        }
    }

    pub fn finish(self) -> Sections {
        self.out
    }

    fn put(&mut self, bytes: &[u8]) {
        self.out.bytes.extend_from_slice(bytes);
    }

    /// RDATA with the embedded names of the types that RFC 3597 allows to compress.
    fn rdata(&mut self, rtype: u16, rdata: &[u8]) {
        use crate::wire::rtype::*;
        let name_end = |from: usize| crate::name::wire_name_len(&rdata[from..]).map(|l| from + l);
        match rtype {
            NS | CNAME | PTR => match name_end(0) {
                Some(end) if end == rdata.len() => self.name(rdata),
                _ => self.put(rdata),
            },
            MX if rdata.len() > 2 => match name_end(2) {
                Some(end) if end == rdata.len() => {
                    self.put(&rdata[..2]);
                    self.name(&rdata[2..]);
                }
                _ => self.put(rdata),
            },
            SOA => match name_end(0).and_then(|m| Some((m, name_end(m)?))) {
                Some((m, r)) if r + 20 == rdata.len() => {
                    self.name(&rdata[..m]);
                    self.name(&rdata[m..r]);
                    self.put(&rdata[r..]);
                }
                _ => self.put(rdata),
            },
            _ => self.put(rdata),
        }
    }

    /// Writes a name, compressed against every name known so far.
    fn name(&mut self, wire: &[u8]) {
        let lower = wire.to_ascii_lowercase();
        let starts: Vec<usize> = label_starts(&lower).collect();
        let written_at = self.out.bytes.len();
        for (i, &at) in starts.iter().enumerate() {
            if let Some(target) = self.lookup(&lower[at..]) {
                self.put(&wire[..at]);
                self.pointer(target);
                self.remember(&lower, &starts[..i], written_at);
                return;
            }
        }
        self.put(wire);
        self.remember(&lower, &starts, written_at);
    }

    fn lookup(&self, suffix: &[u8]) -> Option<Target> {
        let skip_alias = |name: &Vec<u8>| self.literal && self.alias.as_ref() == Some(name);
        self.known
            .iter()
            .find(|(name, _)| name == suffix && !skip_alias(name))
            .map(|&(_, t)| t)
    }

    /// Records the suffixes of `lower` starting at `starts`, written literally from
    /// `written_at`, as compression targets while they are within a pointer's reach.
    fn remember(&mut self, lower: &[u8], starts: &[usize], written_at: usize) {
        let slack = if self.start_relocated { MAX_QNAME } else { 0 };
        for &at in starts {
            let offset = self.start + (written_at + at) as i32;
            if offset + slack <= MAX_POINTER {
                self.known.push((
                    lower[at..].to_vec(),
                    Target {
                        offset,
                        relocated: self.start_relocated,
                    },
                ));
            }
        }
    }

    fn pointer(&mut self, target: Target) {
        if target.relocated {
            let at = self.out.bytes.len() as u16;
            self.out.relocs.push(Reloc {
                at,
                base: target.offset as i16,
            });
            self.put(&[0xc0, 0]);
        } else {
            self.put(&(0xc000 | target.offset as u16).to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_text(text).unwrap()
    }

    #[test]
    fn exact_question_compresses_owner_and_rdata_into_the_question() {
        let qname = name("www.example.test.");
        let mut w = Writer::new(QuestionName::Exact(&qname));
        w.rrset(
            Section::Answer,
            &qname,
            5,
            300,
            [name("web.example.test.").as_wire()],
        );
        let s = w.finish();
        // owner → 0xc00c; target "web" + pointer to "example.test." at 12 + 4.
        assert_eq!(
            s.bytes,
            b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x01\x2c\x00\x06\x03web\xc0\x10"
        );
        assert!(s.relocs.is_empty());
        assert_eq!(
            s.cuts,
            vec![Cut {
                len: 18,
                an: 1,
                ns: 0,
                ar: 0
            }]
        );
    }

    #[test]
    fn unknown_question_records_relocations() {
        let apex = name("example.test.");
        let mut w = Writer::new(QuestionName::EndsWith {
            suffix: &apex,
            alias: None,
        });
        let soa = [
            name("ns1.example.test.").as_wire(),
            name("host.example.test.").as_wire(),
            &[0; 20],
        ]
        .concat();
        w.rrset(Section::Authority, &apex, 6, 60, [&soa[..]]);
        let s = w.finish();
        // The owner points at the question's tail: 12 + qlen - 14.
        assert_eq!(&s.bytes[..2], b"\xc0\x00");
        assert_eq!(
            s.relocs[0],
            Reloc {
                at: 0,
                base: 12 - 14
            }
        );
        // "ns1" then a pointer to the same tail, relocated too.
        assert_eq!(&s.bytes[12..16], b"\x03ns1");
        assert_eq!(s.relocs[1], Reloc { at: 16, base: -2 });
        // "host" + pointer to the same tail again.
        assert_eq!(s.relocs.len(), 3);
    }

    #[test]
    fn names_within_the_answer_are_relocated_when_the_question_is_unknown() {
        let apex = name("example.test.");
        let alias = name("*.example.test.");
        let mut w = Writer::new(QuestionName::EndsWith {
            suffix: &apex,
            alias: Some(&alias),
        });
        w.rrset(
            Section::Answer,
            &alias,
            15,
            60,
            [&[b"\x00\x0a" as &[u8], name("mail.other.").as_wire()].concat()[..]],
        );
        w.rrset(
            Section::Additional,
            &name("mail.other."),
            1,
            60,
            [&[192, 0, 2, 1][..]],
        );
        let s = w.finish();
        assert_eq!(
            &s.bytes[..2],
            b"\xc0\x0c",
            "wildcard owner is the question name"
        );
        // The additional owner points at "mail.other." inside the answer: 16 + qlen + 12.
        let at = s.bytes.len() - 16;
        assert_eq!(
            s.relocs.last().unwrap(),
            &Reloc {
                at: at as u16,
                base: 16 + 14
            }
        );
        assert_eq!(s.cuts.len(), 2);
    }
}
