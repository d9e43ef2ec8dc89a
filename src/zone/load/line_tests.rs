//! Tests of line numbers: of records, of scanner errors, in generated and mangled zone texts.

use super::tests::{origin, problems, record, zone, FILE, HEAD};
use super::*;
use crate::wire::rtype;
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
        (
            "x TXT \"abc\n\n",
            3,
            "quoted string \"abc... is not closed on its line",
        ),
        ("x CNAME .a\n", 3, "bad name at \".a\""),
        (
            "x TXT \"a\nb\"\n",
            3,
            "quoted string \"a... is not closed on its line",
        ),
        (
            "x TXT \"a\\\"\n",
            3,
            "quoted string \"a\\\"... is not closed on its line",
        ),
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
