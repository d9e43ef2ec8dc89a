//! Transfer messages on literal bytes.

use super::*;

fn name(text: &str) -> Name {
    Name::from_text(text).unwrap()
}

/// SOA RDATA `ns.example.test. admin.example.test. serial 60 10 1024 30`, uncompressed.
fn soa_rdata(serial: u32) -> Vec<u8> {
    let mut rdata = b"\x02ns\x07example\x04test\x00\x05admin\x07example\x04test\x00".to_vec();
    for field in [serial, 60, 10, 1024, 30] {
        rdata.extend_from_slice(&field.to_be_bytes());
    }
    rdata
}

#[test]
fn an_ixfr_query_carries_our_soa_in_its_authority_section() {
    let soa = Record {
        owner: name("example.test."),
        rtype: rtype::SOA,
        ttl: 3600,
        rdata: soa_rdata(7),
        line: 1,
    };
    let query = query(0xbeef, &name("example.test."), rtype::IXFR, Some(&soa));
    let mut expected = vec![0xbe, 0xef, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0];
    expected.extend_from_slice(b"\x07example\x04test\x00\x00\xfb\x00\x01");
    expected.extend_from_slice(b"\x07example\x04test\x00\x00\x06\x00\x01\x00\x00\x0e\x10");
    expected.extend_from_slice(&(soa_rdata(7).len() as u16).to_be_bytes());
    expected.extend_from_slice(&soa_rdata(7));
    assert_eq!(query, expected);
}

/// An answer with the question `example.test. AXFR`, an SOA whose names are compressed
/// against the question, and `www` A and MX records (the MX name compressed too).
fn compressed_answer() -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x84, 0x00, 0, 1, 0, 3, 0, 0, 0, 0];
    m.extend_from_slice(b"\x07example\x04test\x00\x00\xfc\x00\x01"); // name at 12
    m.extend_from_slice(b"\xc0\x0c\x00\x06\x00\x01\x00\x00\x0e\x10");
    let mut rdata = b"\x02ns\xc0\x0c\x05admin\xc0\x0c".to_vec();
    for field in [7u32, 60, 10, 1024, 30] {
        rdata.extend_from_slice(&field.to_be_bytes());
    }
    m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    m.extend_from_slice(&rdata);
    let www = m.len();
    m.extend_from_slice(b"\x03WWW\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xc0\x00\x02\x01");
    m.extend_from_slice(&[0xc0, www as u8]);
    m.extend_from_slice(b"\x00\x0f\x00\x01\x00\x00\x01\x2c\x00\x09\x00\x0a\x04mail\xc0\x0c");
    m
}

#[test]
fn names_in_owners_and_rdata_are_decompressed() {
    let answer = read_answer(&compressed_answer()).unwrap();
    assert!(answer.is_response());
    assert_eq!((answer.id, answer.rcode()), (0x1234, 0));
    assert_eq!(answer.question, Some((name("example.test."), rtype::AXFR)));
    assert_eq!(answer.records.len(), 3);
    assert_eq!(answer.records[0].rdata, soa_rdata(7));
    assert_eq!(soa_serial(&answer.records[0].rdata), Some(7));
    assert_eq!(soa_field(&answer.records[0].rdata, 3), Some(1024));
    // Owners are folded to lower case; RDATA is written out in full.
    assert_eq!(answer.records[1].owner, name("www.example.test."));
    assert_eq!(answer.records[1].rdata, [192, 0, 2, 1]);
    assert_eq!(answer.records[2].owner, name("www.example.test."));
    assert_eq!(
        answer.records[2].rdata,
        b"\x00\x0a\x04mail\x07example\x04test\x00"
    );
    assert_eq!(answer.last_additional_at, None);
}

#[test]
fn broken_answers_are_refused_with_a_reason() {
    let good = compressed_answer();
    // Every cut is an error, never a panic.
    for len in 0..good.len() {
        assert!(read_answer(&good[..len]).is_err(), "cut at {len}");
    }
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        read_answer(&trailing).unwrap_err(),
        "bytes after the last record"
    );
    // A pointer to itself (a loop) or forwards.
    let mut looping = vec![0x12, 0x34, 0x84, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c];
    looping.extend_from_slice(&[0, 6, 0, 1]);
    assert!(read_answer(&looping).unwrap_err().contains("forward"));
    // Class CH in the answer section.
    let mut chaos = good.clone();
    let class_at = 12 + 18 + 4;
    chaos[class_at + 1] = 3;
    assert!(read_answer(&chaos).unwrap_err().contains("class 3"));
    // An A record of 3 bytes.
    let mut short_a = good[..good.len() - 21].to_vec();
    short_a[7] = 2;
    let at = short_a.len() - 6;
    short_a.truncate(at);
    short_a.extend_from_slice(&[0, 3, 1, 2, 3]);
    assert_eq!(read_answer(&short_a).unwrap_err(), "A data is not valid");
}
