//! Tests of zone file scanning: record data in wire form, line numbers, scanner errors.

use super::*;
use crate::wire::rtype;

pub(super) const FILE: &str = "zones/example.test.zone";
/// SOA and NS at the apex, so that the zone rules pass.
pub(super) const HEAD: &str = "@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\n";

pub(super) fn origin() -> Name {
    Name::from_text("example.test.").unwrap()
}

pub(super) fn parse(text: &str) -> Result<Zone, Diagnostics> {
    parse_zone(&origin(), Path::new(FILE), text.as_bytes())
}

pub(super) fn zone(text: &str) -> Zone {
    parse(text).unwrap_or_else(|e| panic!("zone refused:\n{e}"))
}

/// The diagnostics of a zone that must be refused, as `(line, message)`.
pub(super) fn problems(text: &str) -> Vec<(usize, String)> {
    let diagnostics = parse(text).expect_err("zone accepted");
    for d in &diagnostics.0 {
        assert_eq!(d.file, Path::new(FILE));
    }
    diagnostics
        .0
        .into_iter()
        .map(|d| (d.line, d.message))
        .collect()
}

/// The single record of `rtype` at `owner`.
pub(super) fn record<'z>(zone: &'z Zone, owner: &str, rtype: u16) -> &'z Record {
    let owner = Name::from_text(owner).unwrap();
    let mut found = zone
        .records
        .iter()
        .filter(|r| r.owner == owner && r.rtype == rtype);
    let first = found
        .next()
        .unwrap_or_else(|| panic!("no {rtype} at {owner}"));
    assert!(found.next().is_none(), "several {rtype} at {owner}");
    first
}

pub(super) fn wire(name: &str) -> Vec<u8> {
    Name::from_text(name).unwrap().as_wire().to_vec()
}

#[test]
fn rdata_of_common_types_is_uncompressed_wire() {
    let zone = zone(&format!(
        "{HEAD}\
         a A 192.0.2.1\n\
         aaaa AAAA 2001:db8::1\n\
         mx MX 10 mail\n\
         srv SRV 1 2 53 target.other.test.\n\
         cname CNAME Www.Example.TEST.\n\
         ptr PTR host.\n\
         ns2 NS ns.other.test.\n\
         dname DNAME other.test.\n"
    ));
    assert_eq!(
        record(&zone, "a.example.test.", rtype::A).rdata,
        [192, 0, 2, 1]
    );
    assert_eq!(
        record(&zone, "aaaa.example.test.", rtype::AAAA).rdata,
        [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    );
    let mx = [&[0, 10][..], &wire("mail.example.test.")].concat();
    assert_eq!(record(&zone, "mx.example.test.", rtype::MX).rdata, mx);
    let srv = [&[0, 1, 0, 2, 0, 53][..], &wire("target.other.test.")].concat();
    assert_eq!(record(&zone, "srv.example.test.", rtype::SRV).rdata, srv);
    // Names inside RDATA keep the case they were written in.
    assert_eq!(
        record(&zone, "cname.example.test.", rtype::CNAME).rdata,
        b"\x03Www\x07Example\x04TEST\x00"
    );
    assert_eq!(
        record(&zone, "ptr.example.test.", rtype::PTR).rdata,
        wire("host.")
    );
    assert_eq!(
        record(&zone, "ns2.example.test.", rtype::NS).rdata,
        wire("ns.other.test.")
    );
    assert_eq!(
        record(&zone, "dname.example.test.", rtype::DNAME).rdata,
        wire("other.test.")
    );
}

#[test]
fn soa_rdata_and_defaults() {
    let zone = zone(HEAD);
    let soa = record(&zone, "example.test.", rtype::SOA);
    let mut expected = wire("ns1.example.test.");
    expected.extend(wire("hostmaster.example.test."));
    for value in [1u32, 7200, 900, 1209600, 300] {
        expected.extend(value.to_be_bytes());
    }
    assert_eq!(soa.rdata, expected);
    assert_eq!(soa.ttl, 3600);
    assert_eq!(zone.origin, origin());
    assert_eq!(zone.file, Path::new(FILE));
}

#[test]
fn txt_with_escapes_and_several_strings() {
    let zone = zone(&format!(
        "{HEAD}txt TXT \"a;b(\" \"c\\\"d\" plain \\065\\ x \"\\255\" \"\"\n"
    ));
    assert_eq!(
        record(&zone, "txt.example.test.", rtype::TXT).rdata,
        b"\x04a;b(\x03c\"d\x05plain\x03A x\x01\xff\x00"
    );
}

#[test]
fn caa_rdata() {
    let zone = zone(&format!(
        "{HEAD}caa CAA 0 issue \"ca.example.net\"\ncaa2 CAA 128 iodef \"mailto:x@example.net\"\n"
    ));
    assert_eq!(
        record(&zone, "caa.example.test.", rtype::CAA).rdata,
        b"\x00\x05issueca.example.net"
    );
    assert_eq!(
        record(&zone, "caa2.example.test.", rtype::CAA).rdata,
        b"\x80\x05iodefmailto:x@example.net"
    );
}

#[test]
fn rfc3597_generic_data() {
    let zone = zone(&format!(
        "{HEAD}\
         unknown TYPE65534 \\# 3 0102 03\n\
         empty TYPE65280 \\# 0\n\
         a A \\# 4 C0000201\n\
         mx MX \\# 10 000a 046d61696c 017800\n"
    ));
    let unknown = record(&zone, "unknown.example.test.", 65534);
    assert_eq!(unknown.rdata, [1, 2, 3]);
    assert_eq!(record(&zone, "empty.example.test.", 65280).rdata, b"");
    assert_eq!(
        record(&zone, "a.example.test.", rtype::A).rdata,
        [192, 0, 2, 1]
    );
    assert_eq!(
        record(&zone, "mx.example.test.", rtype::MX).rdata,
        b"\x00\x0a\x04mail\x01x\x00"
    );
}

#[test]
fn generic_data_that_does_not_parse_as_its_type_is_refused() {
    let text = format!("{HEAD}a A \\# 3 010203\nns NS \\# 3 c00c00\nb TYPE65534 \\# 1 01\n");
    assert_eq!(
        problems(&text),
        [
            (3, "the \\# data is not valid A RDATA".to_string()),
            (4, "the \\# data is not valid NS RDATA".to_string())
        ]
    );
}

#[test]
pub(super) fn origin_ttl_and_relative_names() {
    let zone = zone(&format!(
        "{HEAD}\
         $TTL 120\n\
         www A 192.0.2.1\n\
         $ORIGIN sub.example.test.\n\
         @ 60 A 192.0.2.2\n\
         \x20 MX 5 @\n\
         host A 192.0.2.3\n\
         $ORIGIN example.test.\n\
         WWW2 CNAME www\n"
    ));
    assert_eq!(record(&zone, "www.example.test.", rtype::A).ttl, 120);
    assert_eq!(record(&zone, "sub.example.test.", rtype::A).ttl, 60);
    let mx = record(&zone, "sub.example.test.", rtype::MX);
    assert_eq!(mx.rdata, [&[0, 5][..], &wire("sub.example.test.")].concat());
    assert_eq!(mx.ttl, 120, "$TTL applies to records without a TTL");
    assert_eq!(
        record(&zone, "host.sub.example.test.", rtype::A).rdata,
        [192, 0, 2, 3]
    );
    // Owners are folded to lower case.
    let cname = record(&zone, "www2.example.test.", rtype::CNAME);
    assert_eq!(cname.owner.as_wire(), wire("www2.example.test."));
    assert_eq!(cname.rdata, wire("www.example.test."));
}

#[test]
fn at_in_record_data_stands_for_the_origin() {
    let zone = zone(
        "$ORIGIN example.test.\n@ SOA @ hm.@ 1 2 3 4 5\n@ NS @\n@ MX 10 @\nwww CNAME @\n\
         _s._tcp SRV 0 0 1 @\n$ORIGIN sub.example.test.\nx PTR @\ny TXT @ \"@\"\nz CNAME \\@\n",
    );
    let apex = wire("example.test.");
    let soa = &record(&zone, "example.test.", rtype::SOA).rdata;
    assert_eq!(soa[..apex.len()], apex);
    assert_eq!(
        soa[apex.len()..soa.len() - 20],
        wire("hm.\\@.example.test."),
        "only a bare @"
    );
    assert_eq!(record(&zone, "example.test.", rtype::NS).rdata, apex);
    assert_eq!(
        record(&zone, "example.test.", rtype::MX).rdata,
        [&[0, 10][..], &apex].concat()
    );
    assert_eq!(record(&zone, "www.example.test.", rtype::CNAME).rdata, apex);
    let srv = &record(&zone, "_s._tcp.example.test.", rtype::SRV).rdata;
    assert_eq!(srv[6..], apex);
    assert_eq!(
        record(&zone, "x.sub.example.test.", rtype::PTR).rdata,
        wire("sub.example.test.")
    );
    assert_eq!(
        record(&zone, "y.sub.example.test.", rtype::TXT).rdata,
        b"\x01@\x01@"
    );
    assert_eq!(
        record(&zone, "z.sub.example.test.", rtype::CNAME).rdata,
        wire("\\@.sub.example.test.")
    );
}

#[test]
fn the_last_line_needs_no_line_feed() {
    let zone = zone(&format!("{HEAD}www A 192.0.2.1"));
    assert_eq!(record(&zone, "www.example.test.", rtype::A).line, 3);
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let zone = zone(&format!("\u{feff}{HEAD}www A 192.0.2.1\n"));
    assert_eq!(record(&zone, "example.test.", rtype::SOA).line, 1);
    assert_eq!(record(&zone, "www.example.test.", rtype::A).line, 3);
}

#[test]
fn include_is_refused_and_scanning_goes_on() {
    let text = format!("{HEAD}$INCLUDE other.zone sub\nwww A 192.0.2.1\nx CH A 192.0.2.1\n");
    assert_eq!(
        problems(&text),
        [
            (
                3,
                "$INCLUDE is not supported: put the included records into this file".to_string()
            ),
            (
                5,
                "class CH is not supported: Swivel serves class IN only".to_string()
            ),
        ]
    );
}

#[test]
fn classes_other_than_in_are_refused_each() {
    let text = "@ CH SOA ns1 hm 1 2 3 4 5\n@ CH NS ns1\nx HS A 192.0.2.1\ny A 192.0.2.1\n";
    let found = problems(text);
    assert_eq!(
        found[0],
        (
            1,
            "class CH is not supported: Swivel serves class IN only".to_string()
        )
    );
    assert_eq!(
        found[1],
        (
            2,
            "class CH is not supported: Swivel serves class IN only".to_string()
        )
    );
    assert_eq!(
        found[2],
        (
            3,
            "class HS is not supported: Swivel serves class IN only".to_string()
        )
    );
}

#[test]
fn empty_files_are_refused() {
    for text in [
        "",
        "\n\n",
        "; only a comment\n$TTL 300\n$ORIGIN example.test.\n",
    ] {
        assert_eq!(
            problems(text),
            [(0, "zone file is empty: it holds no records".to_string())]
        );
    }
}

#[test]
fn load_zone_reads_a_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zones/example.test.zone");
    let zone = load_zone(&origin(), &path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(zone.file, path);
    assert_eq!(zone.records.len(), 18);
    let www = Name::from_text("www.example.test.").unwrap();
    let www_a: Vec<(&[u8], usize, u32)> = zone
        .records
        .iter()
        .filter(|r| r.owner == www && r.rtype == rtype::A)
        .map(|r| (r.rdata.as_slice(), r.line, r.ttl))
        .collect();
    // The second record of the RRset inherits the first one's TTL.
    assert_eq!(
        www_a,
        [
            (&[192, 0, 2, 10][..], 22, 300),
            (&[192, 0, 2, 11][..], 23, 300)
        ]
    );
    assert_eq!(record(&zone, "example.test.", rtype::SOA).line, 5);
    assert_eq!(
        record(&zone, "legacy.example.test.", 65534).rdata,
        [0xde, 0xad, 0xbe, 0xef]
    );
}

#[test]
fn load_zone_reports_an_unreadable_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zones/no-such.zone");
    let diagnostics = load_zone(&origin(), &path).unwrap_err();
    assert_eq!(diagnostics.0.len(), 1);
    assert_eq!(diagnostics.0[0].line, 0);
    assert_eq!(diagnostics.0[0].file, path);
    assert!(
        diagnostics.0[0]
            .message
            .starts_with("cannot read zone file: No such file"),
        "{diagnostics}"
    );
}

/// Every type the scanner knows survives the check that re-reads its RDATA.
#[test]
fn many_other_types_are_accepted() {
    let zone = zone(&format!(
        "{HEAD}\
         hinfo HINFO \"PC\" \"Linux\"\n\
         rp RP admin.example.test. info.example.test.\n\
         minfo MINFO admin.example.test. errors.example.test.\n\
         naptr NAPTR 100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:info@example.test!\" .\n\
         ds DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE\n\
         cds CDS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE\n\
         dnskey DNSKEY 257 3 8 AwEAAag=\n\
         cdnskey CDNSKEY 257 3 8 AwEAAag=\n\
         rrsig RRSIG A 8 3 300 20300101000000 20200101000000 12345 example.test. AAAA\n\
         nsec NSEC z.example.test. A RRSIG NSEC\n\
         nsec3 NSEC3 1 0 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG\n\
         @ NSEC3PARAM 1 0 10 AABBCCDD\n\
         _443._tcp TLSA 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6\n\
         sshfp SSHFP 4 2 123456789ABCDEF67890123456789ABCDEF67890123456789ABCDEF123456789\n\
         svc SVCB 1 svc.example.test. alpn=h2,h3 port=8443\n\
         https HTTPS 1 . alpn=h2\n\
         openpgp OPENPGPKEY AQID\n\
         @ ZONEMD 2018031500 1 1 FEBE3D4CE2EC2FFA4BA99D46CD69D6D29711E55217057BEE7EB1A7B641A47BA7FED2DD5B97AE499FAFA4F22C6BD647DE\n"
    ));
    assert_eq!(zone.records.len(), 20);
    let rp = [wire("admin.example.test."), wire("info.example.test.")].concat();
    assert_eq!(record(&zone, "rp.example.test.", 17).rdata, rp);
    assert_eq!(
        record(&zone, "hinfo.example.test.", 13).rdata,
        b"\x02PC\x05Linux"
    );
}
