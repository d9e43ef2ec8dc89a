//! RRSIG records (RFC 4034 section 3): the canonical form of an RRset (section 6) and the
//! signature over it. Pure: keys and times are passed in.

use super::key::SigningKey;
use crate::name::{wire_name_len, Name};
use crate::wire::{class, rtype};
use std::borrow::Cow;

/// The validity window of the signatures a table carries, in seconds since the epoch
/// (RRSIG fields are serial-number arithmetic on 32 bits, RFC 4034 section 3.1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    pub inception: u32,
    pub expiration: u32,
}

/// Length of the RRSIG RDATA fields before the signer's name.
const FIXED_LEN: usize = 18;

/// The RRSIG RDATA for the RRset `rtype` at `owner` with `original_ttl` and `rdatas`,
/// signed by `key`. A wildcard owner (`*.example.`) is signed as itself with a label count
/// that leaves out the `*` (RFC 4034 section 3.1.3), so the signature validates for every
/// name the wildcard answers.
pub fn sign_rrset(
    key: &SigningKey,
    validity: Validity,
    owner: &Name,
    rtype_: u16,
    original_ttl: u32,
    rdatas: &[&[u8]],
) -> Vec<u8> {
    let mut rdata = rrsig_fields(key, validity, owner, rtype_, original_ttl);
    let data = signed_data(&rdata, owner, rtype_, original_ttl, rdatas);
    rdata.extend_from_slice(&key.sign(&data));
    rdata
}

/// Checks an RRSIG RDATA made by `key` over the RRset (for tests and self-checks).
pub fn verify_rrset(
    key: &SigningKey,
    rrsig: &[u8],
    owner: &Name,
    rtype_: u16,
    rdatas: &[&[u8]],
) -> bool {
    let Some(signer_len) = rrsig.get(FIXED_LEN..).and_then(wire_name_len) else {
        return false;
    };
    let fields = &rrsig[..FIXED_LEN + signer_len];
    let original_ttl = u32::from_be_bytes([fields[4], fields[5], fields[6], fields[7]]);
    let covered = u16::from_be_bytes([fields[0], fields[1]]);
    let data = signed_data(fields, owner, rtype_, original_ttl, rdatas);
    covered == rtype_ && key.verify(&data, &rrsig[fields.len()..])
}

/// The RRSIG RDATA up to and including the signer's name.
fn rrsig_fields(
    key: &SigningKey,
    validity: Validity,
    owner: &Name,
    rtype_: u16,
    original_ttl: u32,
) -> Vec<u8> {
    let labels = owner.label_count() - usize::from(owner.is_wildcard());
    let mut rdata = Vec::with_capacity(FIXED_LEN + key.owner.len() + 64);
    rdata.extend_from_slice(&rtype_.to_be_bytes());
    rdata.push(key.algorithm.number());
    rdata.push(labels as u8);
    rdata.extend_from_slice(&original_ttl.to_be_bytes());
    rdata.extend_from_slice(&validity.expiration.to_be_bytes());
    rdata.extend_from_slice(&validity.inception.to_be_bytes());
    rdata.extend_from_slice(&key.tag.to_be_bytes());
    rdata.extend_from_slice(key.owner.as_wire());
    rdata
}

/// What a signature covers (RFC 4034 section 3.1.8.1): the RRSIG fields, then every record
/// of the RRset in canonical form, ordered by canonical RDATA, duplicates once.
fn signed_data(
    fields: &[u8],
    owner: &Name,
    rtype_: u16,
    original_ttl: u32,
    rdatas: &[&[u8]],
) -> Vec<u8> {
    let mut canonical: Vec<Cow<'_, [u8]>> =
        rdatas.iter().map(|r| canonical_rdata(rtype_, r)).collect();
    canonical.sort();
    canonical.dedup();
    let mut data = fields.to_vec();
    for rdata in &canonical {
        data.extend_from_slice(owner.as_wire());
        data.extend_from_slice(&rtype_.to_be_bytes());
        data.extend_from_slice(&class::IN.to_be_bytes());
        data.extend_from_slice(&original_ttl.to_be_bytes());
        data.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        data.extend_from_slice(rdata);
    }
    data
}

/// RDATA in canonical form: the embedded names of the types RFC 4034 section 6.2 lists
/// (as amended by RFC 6840 section 5.1) folded to lower case. Other RDATA is unchanged.
pub fn canonical_rdata(rtype_: u16, rdata: &[u8]) -> Cow<'_, [u8]> {
    // Where the embedded names start, for each type that has them.
    const MD: u16 = 3;
    const MF: u16 = 4;
    const MB: u16 = 7;
    const MG: u16 = 8;
    const MR: u16 = 9;
    const MINFO: u16 = 14;
    const RP: u16 = 17;
    const AFSDB: u16 = 18;
    const RT: u16 = 21;
    const PX: u16 = 26;
    const KX: u16 = 36;
    let names: &[usize] = match rtype_ {
        rtype::NS | MD | MF | rtype::CNAME | MB | MG | MR | rtype::PTR | rtype::DNAME => &[0],
        rtype::SOA | MINFO | RP => &[0, 0],
        rtype::MX | AFSDB | RT | KX => &[2],
        PX => &[2, 0],
        rtype::SRV => &[6],
        _ => return Cow::Borrowed(rdata),
    };
    if !rdata.iter().any(u8::is_ascii_uppercase) {
        return Cow::Borrowed(rdata);
    }
    let mut out = rdata.to_vec();
    let mut at = 0;
    for &skip in names {
        at += skip;
        let Some(len) = rdata.get(at..).and_then(wire_name_len) else {
            return Cow::Borrowed(rdata);
        };
        out[at..at + len].make_ascii_lowercase();
        at += len;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key() -> SigningKey {
        crate::dnssec::key::ed25519_test_key("example.test.", 257, 7)
    }

    fn name(text: &str) -> Name {
        Name::from_text(text).unwrap()
    }

    const WINDOW: Validity = Validity {
        inception: 1_700_000_000,
        expiration: 1_701_000_000,
    };

    #[test]
    fn rrsig_fields_are_laid_out_as_rfc_4034_section_3_1() {
        let key = test_key();
        let rdata = sign_rrset(&key, WINDOW, &name("www.example.test."), 1, 300, &[&[1; 4]]);
        assert_eq!(
            &rdata[..4],
            &[0, 1, 15, 3],
            "type A, algorithm 15, 3 labels"
        );
        assert_eq!(&rdata[4..8], &300u32.to_be_bytes());
        assert_eq!(&rdata[8..12], &1_701_000_000u32.to_be_bytes());
        assert_eq!(&rdata[12..16], &1_700_000_000u32.to_be_bytes());
        assert_eq!(&rdata[16..18], &key.tag.to_be_bytes());
        assert_eq!(&rdata[18..32], b"\x07example\x04test\x00");
        assert_eq!(rdata.len(), 32 + 64, "an Ed25519 signature is 64 bytes");
    }

    #[test]
    fn signatures_ignore_record_order_and_name_case_but_not_content() {
        let key = test_key();
        let owner = name("www.example.test.");
        let a: &[u8] = &[192, 0, 2, 1];
        let b: &[u8] = &[192, 0, 2, 2];
        let sig = sign_rrset(&key, WINDOW, &owner, 1, 300, &[a, b]);
        assert!(verify_rrset(&key, &sig, &owner, 1, &[b, a]));
        assert!(verify_rrset(&key, &sig, &owner, 1, &[a, b, a]));
        assert!(
            !verify_rrset(&key, &sig, &owner, 1, &[a]),
            "negative control"
        );
        assert!(!verify_rrset(&key, &sig, &owner, 28, &[a, b]));
        let upper = [b"\x03WWW".as_slice(), b"\x07example\x04test\x00"].concat();
        let lower = name("www.example.test.");
        let ns = sign_rrset(&key, WINDOW, &owner, rtype::NS, 60, &[&upper]);
        assert!(verify_rrset(
            &key,
            &ns,
            &owner,
            rtype::NS,
            &[lower.as_wire()]
        ));
    }

    #[test]
    fn a_wildcard_is_signed_with_the_label_count_of_its_parent() {
        let key = test_key();
        let sig = sign_rrset(&key, WINDOW, &name("*.example.test."), 1, 300, &[&[1; 4]]);
        assert_eq!(sig[3], 2);
    }

    #[test]
    fn canonical_rdata_lowers_embedded_names_only() {
        let mx = [b"\x00\x0a\x04MAIL".as_slice(), b"\x04Test\x00"].concat();
        assert_eq!(
            &*canonical_rdata(rtype::MX, &mx),
            b"\x00\x0a\x04mail\x04test\x00"
        );
        let txt = b"\x02AB";
        assert_eq!(&*canonical_rdata(rtype::TXT, txt), txt);
        let soa = [b"\x02NS\x00\x01H\x00".as_slice(), &[0xAB; 20]].concat();
        let lowered = canonical_rdata(rtype::SOA, &soa);
        assert_eq!(&lowered[..7], b"\x02ns\x00\x01h\x00");
        assert_eq!(&lowered[7..], &[0xAB; 20], "the counters keep their bytes");
    }
}
