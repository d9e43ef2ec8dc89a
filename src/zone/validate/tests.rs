//! Tests of the zone rules, through `parse_zone` with literal zone texts.

use crate::diag::Diagnostics;
use crate::name::Name;
use crate::wire::rtype;
use crate::zone::load::parse_zone_with_warnings;
use crate::zone::{parse_zone, Zone};
use std::path::Path;

const FILE: &str = "zones/example.test.zone";
/// SOA and NS at the apex (lines 1 and 2).
const HEAD: &str = "@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\n";

fn parse(text: &str) -> Result<Zone, Diagnostics> {
    parse_zone(
        &Name::from_text("example.test.").unwrap(),
        Path::new(FILE),
        text.as_bytes(),
    )
}

fn zone(text: &str) -> Zone {
    parse(text).unwrap_or_else(|e| panic!("zone refused:\n{e}"))
}

/// The diagnostics of a zone that must be refused, as `(line, message)`.
fn problems(text: &str) -> Vec<(usize, String)> {
    let diagnostics = parse(text).expect_err("zone accepted");
    diagnostics
        .0
        .into_iter()
        .map(|d| (d.line, d.message))
        .collect()
}

fn expect(pairs: &[(usize, &str)]) -> Vec<(usize, String)> {
    pairs
        .iter()
        .map(|&(line, message)| (line, message.to_string()))
        .collect()
}

/// Parses, returning the warnings too, each as `file:line: message`.
fn parse_warned(text: &str) -> (Result<Zone, Diagnostics>, Vec<String>) {
    let origin = Name::from_text("example.test.").unwrap();
    let (result, warnings) = parse_zone_with_warnings(&origin, Path::new(FILE), text.as_bytes());
    (result, warnings.iter().map(ToString::to_string).collect())
}

/// `(owner, type, ttl, line)` of every record, in order.
fn summary(zone: &Zone) -> Vec<(String, u16, u32, usize)> {
    zone.records
        .iter()
        .map(|r| (r.owner.to_string(), r.rtype, r.ttl, r.line))
        .collect()
}

#[test]
fn a_complete_zone_is_accepted_in_file_order() {
    let zone = zone(&format!(
        "{HEAD}www A 192.0.2.1\nmail A 192.0.2.2\nwww AAAA 2001:db8::1\nsub NS ns.sub\nns.sub A 192.0.2.3\n"
    ));
    let owners_and_lines: Vec<(String, usize)> = zone
        .records
        .iter()
        .map(|r| (r.owner.to_string(), r.line))
        .collect();
    assert_eq!(
        owners_and_lines,
        [
            ("example.test.", 1),
            ("example.test.", 2),
            ("www.example.test.", 3),
            ("mail.example.test.", 4),
            ("www.example.test.", 5),
            ("sub.example.test.", 6),
            ("ns.sub.example.test.", 7),
        ]
        .map(|(o, l)| (o.to_string(), l))
    );
}

#[test]
fn missing_soa() {
    assert_eq!(
        problems("@ NS ns1\nwww A 192.0.2.1\n"),
        expect(&[(0, "no SOA record at the zone origin example.test.")])
    );
}

#[test]
fn second_soa_names_both_lines() {
    let text = format!("{HEAD}www A 192.0.2.1\n@ SOA ns1 hostmaster 2 7200 900 1209600 300\n");
    assert_eq!(
        problems(&text),
        expect(&[(
            4,
            "second SOA record (the first is at line 1); a zone has exactly one"
        )])
    );
}

#[test]
fn soa_not_at_the_origin() {
    let text = "www SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\n";
    assert_eq!(
        problems(text),
        expect(&[(
            1,
            "SOA at www.example.test. is not at the zone origin example.test."
        )])
    );
}

#[test]
fn no_ns_at_the_apex() {
    let text = "@ SOA ns1 hostmaster 1 7200 900 1209600 300\nsub NS ns1\n";
    assert_eq!(
        problems(text),
        expect(&[(0, "no NS records at the zone apex example.test.")])
    );
}

#[test]
fn cname_beside_other_data_names_both_lines() {
    let text = format!(
        "{HEAD}www A 192.0.2.1\nx TXT y\nwww CNAME other.test.\nwww MX 10 mail\nwww A 192.0.2.2\n"
    );
    assert_eq!(
        problems(&text),
        expect(&[
            (5, "CNAME at www.example.test. beside A at line 3"),
            (5, "CNAME at www.example.test. beside MX at line 6"),
        ])
    );
    let shown = parse(&text).unwrap_err().to_string();
    assert!(
        shown.starts_with(
            "zones/example.test.zone:5: CNAME at www.example.test. beside A at line 3\n"
        ),
        "{shown}"
    );
}

#[test]
fn cname_at_the_apex() {
    assert_eq!(
        problems(&format!("{HEAD}@ CNAME other.test.\n")),
        expect(&[
            (3, "CNAME at example.test. beside SOA at line 1"),
            (3, "CNAME at example.test. beside NS at line 2"),
        ])
    );
}

#[test]
fn two_cnames_at_one_name() {
    assert_eq!(
        problems(&format!("{HEAD}www CNAME a\nwww CNAME b\n")),
        expect(&[(
            4,
            "second CNAME at www.example.test. (the first is at line 3); a name has at most one"
        )])
    );
}

#[test]
fn dnssec_records_may_be_beside_a_cname() {
    zone(&format!(
        "{HEAD}www CNAME a\n\
         www RRSIG CNAME 8 3 300 20300101000000 20200101000000 12345 example.test. AAAA\n\
         www NSEC z.example.test. CNAME RRSIG NSEC\n"
    ));
}

#[test]
fn dname_keeps_the_data_beside_it() {
    let zone = zone(&format!(
        "{HEAD}sub DNAME other.test.\nsub A 192.0.2.1\nx.other A 192.0.2.2\n"
    ));
    let types: Vec<u16> = zone.records.iter().map(|r| r.rtype).collect();
    assert_eq!(
        types,
        [rtype::SOA, rtype::NS, rtype::DNAME, rtype::A, rtype::A]
    );
}

#[test]
fn records_out_of_zone() {
    let text = format!(
        "{HEAD}www.other.test. A 192.0.2.1\n$ORIGIN test.\nbad A 192.0.2.2\nexample A 192.0.2.3\n\
         $ORIGIN badexample.test.\n@ A 192.0.2.4\n. NS ns1.example.test.\n"
    );
    assert_eq!(
        problems(&text),
        expect(&[
            (
                3,
                "www.other.test. is out of zone: not at or below the zone origin example.test."
            ),
            (
                5,
                "bad.test. is out of zone: not at or below the zone origin example.test."
            ),
            (
                8,
                "badexample.test. is out of zone: not at or below the zone origin example.test."
            ),
            (
                9,
                ". is out of zone: not at or below the zone origin example.test."
            ),
        ])
    );
}

#[test]
fn meta_and_query_types_are_refused() {
    let text = format!(
        "{HEAD}a TYPE0 \\# 0\nb ANY \\# 0\nc OPT \\# 0\nd TYPE128 \\# 0\ne AXFR \\# 0\nf TYPE65280 \\# 0\n"
    );
    assert_eq!(
        problems(&text),
        expect(&[
            (3, "record type TYPE0 cannot appear in a zone"),
            (4, "record type ANY cannot appear in a zone"),
            (5, "record type OPT cannot appear in a zone"),
            (6, "record type NXNAME cannot appear in a zone"),
            (7, "record type AXFR cannot appear in a zone"),
        ])
    );
}

#[test]
fn identical_records_are_kept_once_with_a_warning() {
    let text = format!(
        "{HEAD}www A 192.0.2.1\nWWW A 192.0.2.1\nwww A 192.0.2.2\nwww CNAME x\nwww CNAME x\n"
    );
    // Two identical CNAMEs are one CNAME; the A records still conflict with it.
    let (result, warnings) = parse_warned(&text);
    assert_eq!(
        result
            .unwrap_err()
            .0
            .iter()
            .map(|d| (d.line, d.message.clone()))
            .collect::<Vec<_>>(),
        expect(&[(6, "CNAME at www.example.test. beside A at line 3")])
    );
    assert_eq!(
        warnings,
        [
            "zones/example.test.zone:4: www.example.test. A repeats the record at line 3; keeping it once",
            "zones/example.test.zone:7: www.example.test. CNAME repeats the record at line 6; keeping it once",
        ]
    );

    let (result, warnings) = parse_warned(&format!("{HEAD}www A 192.0.2.1\nwww 60 A 192.0.2.1\n"));
    let zone = result.unwrap();
    assert_eq!(
        summary(&zone)[2..],
        [("www.example.test.".to_string(), rtype::A, 3600, 3)]
    );
    assert_eq!(
        warnings,
        ["zones/example.test.zone:4: www.example.test. A repeats the record at line 3; keeping it once"]
    );
}

#[test]
fn an_rrset_takes_the_ttl_of_its_first_record() {
    let text = format!(
        "{HEAD}www 300 A 192.0.2.1\nwww 60 A 192.0.2.2\nwww 60 AAAA 2001:db8::1\nwww 900 A 192.0.2.3\n\
         www 300 RRSIG A 8 3 300 20300101000000 20200101000000 1 example.test. AAAA\n\
         www 60 RRSIG AAAA 8 3 60 20300101000000 20200101000000 1 example.test. AAAA\n"
    );
    let (result, warnings) = parse_warned(&text);
    let zone = result.unwrap();
    let rrsig = rtype::RRSIG;
    let www = "www.example.test.".to_string();
    assert_eq!(
        summary(&zone)[2..],
        [
            (www.clone(), rtype::A, 300, 3),
            (www.clone(), rtype::A, 300, 4),
            (www.clone(), rtype::AAAA, 60, 5),
            (www.clone(), rtype::A, 300, 6),
            (www.clone(), rrsig, 300, 7),
            (www.clone(), rrsig, 60, 8),
        ]
    );
    assert_eq!(
        warnings,
        [
            "zones/example.test.zone:4: TTL 60 of www.example.test. A differs from TTL 300 of the same RRset at line 3; using 300",
            "zones/example.test.zone:6: TTL 900 of www.example.test. A differs from TTL 300 of the same RRset at line 3; using 300",
        ]
    );
}

#[test]
fn every_problem_is_reported_in_line_order() {
    let text = "\
$TTL 300
www SOA ns1 hostmaster 1 7200 900 1209600 300
@ CH A 192.0.2.1
www CNAME x
outside.test. A 192.0.2.1
ftp CNAME x
ftp CNAME y
@ SOA ns1 hostmaster 2 7200 900 1209600 300
$INCLUDE more.zone
";
    let diagnostics = parse(text).unwrap_err();
    let shown: Vec<String> = diagnostics.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "zones/example.test.zone:2: SOA at www.example.test. is not at the zone origin example.test.",
            "zones/example.test.zone:3: class CH is not supported: Swivel serves class IN only",
            "zones/example.test.zone:4: CNAME at www.example.test. beside SOA at line 2",
            "zones/example.test.zone:5: outside.test. is out of zone: not at or below the zone origin example.test.",
            "zones/example.test.zone:7: second CNAME at ftp.example.test. (the first is at line 6); a name has at most one",
            "zones/example.test.zone:8: second SOA record (the first is at line 2); a zone has exactly one",
            "zones/example.test.zone:9: $INCLUDE is not supported: put the included records into this file",
            "zones/example.test.zone: no NS records at the zone apex example.test.",
        ]
    );
}

#[test]
fn a_syntax_error_stops_the_scan_but_earlier_problems_are_reported() {
    // Missing SOA and NS are not claimed: the rest of the file was never read.
    let text = "www CNAME x\nwww A 192.0.2.1\nbad A 1.2.3\n@ SOA ns1 hm 1 2 3 4 5\n";
    assert_eq!(
        problems(text),
        expect(&[
            (1, "CNAME at www.example.test. beside A at line 2"),
            (3, "expected IPv4 address at \"1.2.3\""),
        ])
    );
}

#[test]
fn dname_beside_ordinary_data_and_at_the_apex_is_accepted() {
    let z = zone(&format!(
        "{HEAD}dn DNAME target.example.test.\ndn A 192.0.2.1\ndn TXT owner\n"
    ));
    assert_eq!(
        z.records.iter().filter(|r| r.rtype == rtype::DNAME).count(),
        1
    );
    let apex = "@ 3600 IN SOA ns1.other.test. hostmaster.other.test. 1 7200 900 1209600 300\n\
                @ NS ns1.other.test.\n@ DNAME example.net.\n@ A 192.0.2.1\n";
    zone(apex);
}

#[test]
fn data_below_a_dname_is_refused_with_its_line() {
    assert_eq!(
        problems(&format!(
            "{HEAD}dn DNAME target.example.test.\nwww.dn A 192.0.2.1\na.b.dn TXT x\nother A 192.0.2.2\n"
        )),
        expect(&[
            (
                4,
                "www.dn.example.test. A is below the DNAME at dn.example.test. (line 3), which \
                 hides it (RFC 6672 section 2.4)"
            ),
            (
                5,
                "a.b.dn.example.test. TXT is below the DNAME at dn.example.test. (line 3), which \
                 hides it (RFC 6672 section 2.4)"
            ),
        ])
    );
}

#[test]
fn a_dname_at_the_apex_hides_every_other_name() {
    assert_eq!(
        problems(&format!("{HEAD}@ DNAME example.net.\nns1 A 192.0.2.1\n")),
        expect(&[(
            4,
            "ns1.example.test. A is below the DNAME at example.test. (line 3), which hides it \
             (RFC 6672 section 2.4)"
        )])
    );
}

#[test]
fn two_dnames_cname_beside_dname_and_ns_beside_dname_are_refused() {
    assert_eq!(
        problems(&format!(
            "{HEAD}dn DNAME a.example.net.\ndn DNAME b.example.net.\n"
        )),
        expect(&[(
            4,
            "second DNAME at dn.example.test. (the first is at line 3); a name has at most one"
        )])
    );
    assert_eq!(
        problems(&format!(
            "{HEAD}dn DNAME a.example.net.\ndn CNAME b.example.net.\n"
        )),
        expect(&[(4, "CNAME at dn.example.test. beside DNAME at line 3")])
    );
    assert_eq!(
        problems(&format!(
            "{HEAD}dn DNAME a.example.net.\ndn NS ns.example.net.\n"
        )),
        expect(&[(
            4,
            "NS at dn.example.test. beside the DNAME at line 3; only the zone apex may have both"
        )])
    );
}
