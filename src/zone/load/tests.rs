//! Tests of zone file scanning: record data in wire form, line numbers, scanner errors.

use super::*;
use crate::zone::rtype;

const FILE: &str = "zones/example.test.zone";
/// SOA and NS at the apex, so that the zone rules pass.
const HEAD: &str = "@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\n";

fn origin() -> Name {
    Name::from_text("example.test.").unwrap()
}

fn parse(text: &str) -> Result<Zone, Diagnostics> {
    parse_zone(&origin(), Path::new(FILE), text.as_bytes())
}

fn zone(text: &str) -> Zone {
    parse(text).unwrap_or_else(|e| panic!("zone refused:\n{e}"))
}

/// The diagnostics of a zone that must be refused, as `(line, message)`.
fn problems(text: &str) -> Vec<(usize, String)> {
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
fn record<'z>(zone: &'z Zone, owner: &str, rtype: u16) -> &'z Record {
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

fn wire(name: &str) -> Vec<u8> {
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
fn origin_ttl_and_relative_names() {
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
fn line_numbers_of_records() {
    let text = "\
; example zone
$TTL 300
$ORIGIN example.test.
@   IN  SOA ns1 hostmaster (
            2024010101 ; serial
            3600 900 604800 300 )

; name servers
    NS  ns1
    NS  ns2.example.test.
$TTL 60
www A 192.0.2.1
txt TXT \"semi;colon (paren\" ( \"multi\" ; comment )
  \"line\" ) ; comment )
after TXT x
\tA 192.0.2.2
  ( ) ; a line with nothing but parentheses
$ORIGIN sub.example.test.
host A 192.0.2.3

@ A 192.0.2.4
esc\\ name A 192.0.2.5
last A 192.0.2.6";
    let zone = zone(text);
    let lines: Vec<(String, usize)> = zone
        .records
        .iter()
        .map(|r| (format!("{} {}", r.owner, r.rtype), r.line))
        .collect();
    let expected = [
        ("example.test. 6", 4),
        ("example.test. 2", 9),
        ("example.test. 2", 10),
        ("www.example.test. 1", 12),
        ("txt.example.test. 16", 13),
        ("after.example.test. 16", 15),
        ("after.example.test. 1", 16),
        ("host.sub.example.test. 1", 19),
        ("sub.example.test. 1", 21),
        ("esc\\032name.sub.example.test. 1", 22),
        ("last.sub.example.test. 1", 23),
    ];
    let expected: Vec<(String, usize)> =
        expected.iter().map(|&(r, l)| (r.to_string(), l)).collect();
    assert_eq!(lines, expected);
    assert_eq!(
        record(&zone, "txt.example.test.", rtype::TXT).rdata,
        b"\x11semi;colon (paren\x05multi\x04line"
    );
}

#[test]
fn crlf_line_ends() {
    let zone = zone("@ SOA ns1 hm 1 2 3 4 5\r\n@ NS ns1\r\n\r\nwww A 192.0.2.1\r\n");
    assert_eq!(record(&zone, "www.example.test.", rtype::A).line, 4);
    assert_eq!(
        record(&zone, "www.example.test.", rtype::A).rdata,
        [192, 0, 2, 1]
    );
}

/// Scanner errors, each the only problem of a zone, with the line they are reported at.
#[test]
fn scanner_errors_name_the_right_line() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "x A 1.2.3\ny A 192.0.2.1\n",
            3,
            "expected IPv4 address at \"1.2.3\"",
        ),
        (
            "x A 1.2.3 ; comment\n\n",
            3,
            "expected IPv4 address at \"1.2.3\"",
        ),
        ("x FOO 1\n", 3, "unknown record type, class or TTL \"FOO\""),
        (
            "x 60 IN\n",
            3,
            "record is incomplete: data missing after \"IN\"",
        ),
        (
            "x MX 10\ny A 192.0.2.1\n",
            3,
            "record is incomplete: data missing after \"10\"",
        ),
        (
            "x A 192.0.2.1 5\n",
            3,
            "unexpected \"5\" after the end of the record",
        ),
        (
            "x A 192.0.2.1 )\n",
            3,
            "closing parenthesis without an opening one",
        ),
        ("$FOO bar\n", 3, "unknown directive \"$FOO\""),
        ("\n$TTL soon\n", 4, "expected decimal number at \"soon\""),
        (
            "x\\\x01 A 192.0.2.1\n",
            3,
            "bad symbol: illegal escape sequence at \"x\\\\u{1}\"",
        ),
        ("x TXT \"abc\n\n", 3, "quoted string \"abc... is not closed"),
        ("x CNAME .a\n", 3, "bad name at \".a\""),
        (
            "x CNAME a..b\n",
            3,
            "bad CNAME data: a domain name in it has an empty label (as in \"a..b\")",
        ),
        (
            "x.. A 192.0.2.1\n",
            3,
            "bad owner name: it has an empty label (as in \"a..b\")",
        ),
        (
            "x TYPE65534 \\# 4 0102\n",
            3,
            "generic data has incorrect length at \"0102\"",
        ),
        (
            "x TXT ( \"a\"\n \"b\"\ny A 192.0.2.1\n",
            3,
            "parenthesis opened here is not closed by the end of the file",
        ),
        (
            "x A ( 192.0.2.1\ny A 192.0.2.2 )\n",
            3,
            "parenthesis opened here is not closed: the record runs on into \"y\" at line 4",
        ),
        (
            "x A 192.0.2.1\n(\n",
            4,
            "parenthesis opened here is not closed by the end of the file",
        ),
        (
            "x TXT ( \"a\"\n \"b\"\n",
            3,
            "parenthesis opened here is not closed by the end of the file",
        ),
        (
            "x MX ( 10 ; preference\n ; comment\n  mail. ) 7\n",
            5,
            "unexpected \"7\" after the end of the record",
        ),
        (
            "x SRV ( 1\n 2x ; weight\n\n 3 target. )\n",
            4,
            "expected decimal number at \"2x\"",
        ),
    ];
    for &(tail, line, message) in cases {
        let text = format!("{HEAD}{tail}");
        assert_eq!(
            problems(&text),
            [(line, message.to_string())],
            "zone:\n{text}"
        );
    }
}

#[test]
fn error_in_a_multi_line_soa() {
    let text = "$TTL 300\n@ SOA ns1 hm (\n 1 ; serial\n 2h ; refresh\n 3 4 5 )\n@ NS ns1\n";
    assert_eq!(
        problems(text),
        [(4, "expected decimal number at \"2h\"".to_string())]
    );
}

#[test]
fn error_on_the_first_line() {
    assert_eq!(
        problems("@ SOA ns1\n"),
        [(
            1,
            "record is incomplete: data missing after \"ns1\"".to_string()
        )]
    );
}

#[test]
fn the_last_line_needs_no_line_feed() {
    let zone = zone(&format!("{HEAD}www A 192.0.2.1"));
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

/// A small deterministic random generator (xorshift), for generated zone texts.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Zone texts built from awkward pieces (quotes holding `;`, `(` and `"`, escapes, comments,
/// parentheses over several lines, blank lines, directives, indented records), each record
/// with the line the generator put it on: the loader must find the same lines.
#[test]
fn generated_zones_get_the_right_line_numbers() {
    let mut random = Random(0x5eed_1234_abcd_0001);
    let gaps = [
        "",
        "\n",
        "; comment \"(\n",
        "  ; indented comment\n",
        "$TTL 120\n",
        "\t\n",
        "$ORIGIN example.test.\n",
        "  ( ) \n",
    ];
    let words = [
        "\"a;b\"",
        "\"(x)\"",
        "\"q\\\"uote\"",
        "plain",
        "semi\\;colon",
        "\\(",
        "\"\"",
        "\"two words\"",
        "x\\\"y",
    ];
    let spaces = [" ", "\t", "  ", " ( ", " ) "];
    for _ in 0..300 {
        let mut text = String::from("@ SOA ns1 hm ( 1 2\n ; inside\n 3 4 5 )\n@ NS ns1\n");
        let mut expected = vec![1, 4];
        let mut line = 5;
        for index in 0..random.below(12) {
            for _ in 0..random.below(3) {
                let gap = random.pick(&gaps);
                text.push_str(gap);
                line += gap.matches('\n').count();
            }
            expected.push(line);
            let mut record = if random.below(4) == 0 {
                format!("r{index}\\ x")
            } else {
                format!("r{index}")
            };
            match random.below(3) {
                0 => record.push_str(" A 192.0.2.1"),
                1 => record.push_str(" MX ( 10\n ; preference above\n mail )"),
                _ => {
                    record.push_str(" TXT");
                    let mut open = false;
                    for _ in 0..1 + random.below(4) {
                        let space = random.pick(&spaces);
                        // Parentheses must balance: open one at most, close only an open one.
                        let space = match space {
                            " ( " if open => " ",
                            " ) " if !open => "\t",
                            _ => space,
                        };
                        open = (open || space == " ( ") && space != " ) ";
                        record.push_str(space);
                        record.push_str(random.pick(&words));
                        if open && random.below(2) == 0 {
                            record.push_str(" ; ( \" comment\n");
                        }
                    }
                    if open {
                        record.push_str(" )");
                    }
                }
            }
            record.push_str(if random.below(2) == 0 {
                "\n"
            } else {
                " ; end\n"
            });
            line += record.matches('\n').count();
            text.push_str(&record);
        }
        let zone = zone(&text);
        let lines: Vec<usize> = zone.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, expected, "zone:\n{text}");
    }
}

/// Mangled zone texts are refused or accepted, never a panic, and every line named exists.
#[test]
fn mangled_zones_never_panic() {
    let original = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zones/example.test.zone"),
    )
    .unwrap();
    let specials = b"\"();\\\n\t @$#.0aZ\x01\xc3";
    let mut random = Random(0x0dd_f00d_1234_5678);
    for _ in 0..3000 {
        let mut text = original.clone();
        for _ in 0..1 + random.below(4) {
            let at = random.below(text.len() + 1);
            match random.below(3) {
                0 => text.insert(at, specials[random.below(specials.len())]),
                1 if at < text.len() => {
                    text.remove(at);
                }
                _ => {
                    let end = (at + random.below(40)).min(text.len());
                    let copy = text[at..end].to_vec();
                    let to = random.below(text.len() + 1);
                    text.splice(to..to, copy);
                }
            }
        }
        let line_count = text.iter().filter(|&&b| b == b'\n').count() + 1;
        match parse_zone(&origin(), Path::new(FILE), &text) {
            Ok(zone) => assert!(zone
                .records
                .iter()
                .all(|r| (1..=line_count).contains(&r.line))),
            Err(diagnostics) => {
                assert!(!diagnostics.0.is_empty());
                for d in &diagnostics.0 {
                    assert!(
                        d.line <= line_count,
                        "{d} in\n{}",
                        String::from_utf8_lossy(&text)
                    );
                }
            }
        }
    }
}
