//! Transfers out on literal messages: requests read, admission by network and key, IXFR
//! answers from a journal, and answers split over messages and signed one after another.

use super::*;
use crate::config::{Cidr, TsigAlgorithm, TsigKeyConfig};
use crate::xfr::journal::DEFAULT_MAX_BYTES;
use crate::xfr::message::read_answer;
use crate::xfr::tsig::{sign_request, Verifier};

const NOW: u64 = 1_700_000_000;

fn name(text: &str) -> Name {
    Name::from_text(text).unwrap()
}

fn key(name_text: &str) -> TsigKeyConfig {
    TsigKeyConfig {
        name: name(name_text),
        algorithm: TsigAlgorithm::HmacSha256,
        secret: b"0123456789abcdef0123456789abcdef".to_vec(),
    }
}

fn soa(serial: u32) -> Record {
    let mut rdata = b"\x02ns\x07example\x04test\x00\x0ahostmaster\x07example\x04test\x00".to_vec();
    for field in [serial, 3600, 600, 86400, 60] {
        rdata.extend_from_slice(&field.to_be_bytes());
    }
    Record {
        owner: name("example.test."),
        rtype: rtype::SOA,
        ttl: 300,
        rdata,
        line: 0,
    }
}

fn a(owner: &str, last: u8) -> Record {
    Record {
        owner: name(owner),
        rtype: rtype::A,
        ttl: 300,
        rdata: vec![192, 0, 2, last],
        line: 0,
    }
}

/// `example.test. <qtype> IN` with ID 0xbeef; for IXFR the client's SOA at `serial`.
fn request(qtype: u16, serial: Option<u32>) -> Vec<u8> {
    let mut message = vec![
        0xbe,
        0xef,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        u8::from(serial.is_some()),
        0,
        0,
    ];
    message.extend_from_slice(b"\x07example\x04test\x00");
    message.extend_from_slice(&qtype.to_be_bytes());
    message.extend_from_slice(&[0, 1]);
    if let Some(serial) = serial {
        let soa = soa(serial);
        message.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1, 0, 0, 1, 44]);
        message.extend_from_slice(&(soa.rdata.len() as u16).to_be_bytes());
        message.extend_from_slice(&soa.rdata);
    }
    message
}

#[test]
fn requests_are_read_and_malformed_ones_say_why() {
    let axfr = request(rtype::AXFR, None);
    assert!(wanted(&axfr));
    let read = parse_request(&axfr).unwrap();
    assert_eq!(
        (read.id, read.qtype, read.qname.clone()),
        (0xbeef, rtype::AXFR, name("example.test."))
    );
    assert_eq!(
        (read.question_end, read.client_serial, read.tsig_at),
        (30, None, None)
    );
    let ixfr = request(rtype::IXFR, Some(41));
    assert_eq!(parse_request(&ixfr).unwrap().client_serial, Some(41));
    let mut signed = ixfr.clone();
    sign_request(&mut signed, &key("xfr-key."), NOW);
    assert_eq!(parse_request(&signed).unwrap().tsig_at, Some(ixfr.len()));

    // Not for the transfer side: an A query, an unsigned SOA query, a response, NOTIFY.
    assert!(!wanted(&request(rtype::A, None)));
    assert!(!wanted(&request(rtype::SOA, None)));
    assert!(wanted(&signed_soa()));
    let mut response = axfr.clone();
    response[2] = 0x80;
    assert!(!wanted(&response));
    let mut notify = axfr.clone();
    notify[2] = 0x20;
    assert!(!wanted(&notify));

    assert!(parse_request(&request(rtype::IXFR, None))
        .unwrap_err()
        .contains("RFC 1995"));
    let mut two = axfr.clone();
    two[5] = 2;
    assert!(parse_request(&two).is_err());
    let mut trailing = axfr.clone();
    trailing.push(0);
    assert!(parse_request(&trailing)
        .unwrap_err()
        .contains("after the last record"));
    assert!(parse_request(&axfr[..20]).is_err());
    let mut chaos = axfr.clone();
    chaos[29] = 3;
    assert!(parse_request(&chaos).unwrap_err().contains("not IN"));
}

fn signed_soa() -> Vec<u8> {
    let mut soa_query = request(rtype::SOA, None);
    sign_request(&mut soa_query, &key("xfr-key."), NOW);
    soa_query
}

fn config(allow: &[&str], keys: &[&str]) -> TransferOutConfig {
    TransferOutConfig {
        allow: allow.iter().map(|c| Cidr::parse(c).unwrap()).collect(),
        keys: keys.iter().map(|k| key(k)).collect(),
        notify: Vec::new(),
    }
}

/// The verdict's name, for comparing: admitted/refused with or without a signature, or the
/// TSIG error.
fn verdict(config: &TransferOutConfig, peer: &str, query: &[u8]) -> String {
    let request = parse_request(query).unwrap();
    match admit(config, peer.parse().unwrap(), query, &request, NOW) {
        Verdict::Admitted(signed) => format!("admitted signed={}", signed.is_some()),
        Verdict::Refused(signed) => format!("refused signed={}", signed.is_some()),
        Verdict::BadSignature(refused) => format!("tsig error {}", refused.error),
    }
}

#[test]
fn admission_takes_a_network_a_key_or_both_when_both_are_given() {
    let unsigned = request(rtype::AXFR, None);
    let mut signed = unsigned.clone();
    sign_request(&mut signed, &key("xfr-key."), NOW);
    let mut other_key = unsigned.clone();
    sign_request(&mut other_key, &key("other-key."), NOW);
    let mut late = unsigned.clone();
    sign_request(&mut late, &key("xfr-key."), NOW - 1000);

    let networks = config(&["192.0.2.0/24"], &[]);
    assert_eq!(
        verdict(&networks, "192.0.2.9", &unsigned),
        "admitted signed=false"
    );
    assert_eq!(
        verdict(&networks, "198.51.100.9", &unsigned),
        "refused signed=false"
    );
    // A signature is checked even when the network alone admits.
    assert_eq!(verdict(&networks, "192.0.2.9", &signed), "tsig error 17");

    let keys = config(&[], &["xfr-key."]);
    assert_eq!(
        verdict(&keys, "198.51.100.9", &signed),
        "admitted signed=true"
    );
    assert_eq!(
        verdict(&keys, "198.51.100.9", &unsigned),
        "refused signed=false"
    );
    assert_eq!(verdict(&keys, "198.51.100.9", &other_key), "tsig error 17");
    assert_eq!(verdict(&keys, "198.51.100.9", &late), "tsig error 18");

    let both = config(&["192.0.2.0/24", "2001:db8::/32"], &["xfr-key."]);
    assert_eq!(verdict(&both, "192.0.2.9", &signed), "admitted signed=true");
    assert_eq!(
        verdict(&both, "2001:db8::1", &signed),
        "admitted signed=true"
    );
    assert_eq!(
        verdict(&both, "192.0.2.9", &unsigned),
        "refused signed=false"
    );
    assert_eq!(
        verdict(&both, "198.51.100.9", &signed),
        "refused signed=true"
    );

    let nobody = config(&[], &[]);
    assert_eq!(
        verdict(&nobody, "127.0.0.1", &unsigned),
        "refused signed=false"
    );
}

fn change(from: u32, to: u32, deleted: Vec<Record>, added: Vec<Record>) -> Change {
    Change {
        from: soa(from),
        to: soa(to),
        deleted,
        added,
    }
}

#[test]
fn an_ixfr_gets_the_changes_since_its_serial_the_whole_zone_or_the_soa_alone() {
    let mut journal = Journal::new(DEFAULT_MAX_BYTES);
    journal.push(
        change(
            1,
            2,
            vec![a("www.example.test.", 1)],
            vec![a("www.example.test.", 2)],
        ),
        [0; 32],
    );
    journal.push(
        change(2, 3, Vec::new(), vec![a("new.example.test.", 3)]),
        [0; 32],
    );
    assert_eq!(plan_ixfr(3, 3, Some(&journal)), IxfrPlan::UpToDate);
    assert_eq!(
        plan_ixfr(3, 4, Some(&journal)),
        IxfrPlan::UpToDate,
        "a client ahead"
    );
    assert_eq!(plan_ixfr(3, 0, Some(&journal)), IxfrPlan::Full);
    assert_eq!(plan_ixfr(3, 1, None), IxfrPlan::Full);
    // A journal that ends before the zone's serial cannot be used.
    assert_eq!(plan_ixfr(4, 1, Some(&journal)), IxfrPlan::Full);
    let IxfrPlan::Changes(changes) = plan_ixfr(3, 1, Some(&journal)) else {
        panic!("the journal reaches back to 1");
    };
    let current = soa(3);
    let list: Vec<(u16, Vec<u8>)> = ixfr_records(&current, &changes)
        .iter()
        .map(|r| (r.rtype, r.rdata.clone()))
        .collect();
    let serial = |s: u32| (rtype::SOA, soa(s).rdata);
    let addr = |last: u8| (rtype::A, vec![192, 0, 2, last]);
    // RFC 1995 section 4: new SOA; old SOA, deleted, new SOA, added (per change); new SOA.
    assert_eq!(
        list,
        vec![
            serial(3),
            serial(1),
            addr(1),
            serial(2),
            addr(2),
            serial(2),
            serial(3),
            addr(3),
            serial(3)
        ]
    );
    let IxfrPlan::Changes(changes) = plan_ixfr(3, 2, Some(&journal)) else {
        panic!("the journal reaches back to 2");
    };
    assert_eq!(ixfr_records(&current, &changes).len(), 5);
}

#[test]
fn an_answer_is_the_records_behind_the_question_with_owners_compressed_byte_for_byte() {
    let query = request(rtype::AXFR, None);
    let read = parse_request(&query).unwrap();
    let (soa, www) = (soa(5), a("www.example.test.", 10));
    let messages = messages(&query, &read, &[&soa, &www, &soa], None, NOW);
    assert_eq!(messages.len(), 1);
    let mut expected = vec![0xbe, 0xef, 0x84, 0x00, 0, 1, 0, 3, 0, 0, 0, 0];
    expected.extend_from_slice(b"\x07example\x04test\x00\x00\xfc\x00\x01");
    let soa_wire = |out: &mut Vec<u8>| {
        out.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1, 0, 0, 1, 44]);
        out.extend_from_slice(&(soa.rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&soa.rdata);
    };
    soa_wire(&mut expected);
    expected.extend_from_slice(
        b"\x03www\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xc0\x00\x02\x0a",
    );
    soa_wire(&mut expected);
    assert_eq!(messages[0], expected);
    // Read back as any client would.
    let answer = read_answer(&messages[0]).unwrap();
    assert_eq!(answer.records, vec![soa.clone(), www, soa]);
}

#[test]
fn a_large_answer_spans_messages_under_64_kib_each_signed_over_the_one_before() {
    let mut query = request(rtype::AXFR, None);
    let key = key("xfr-key.");
    let request_mac = sign_request(&mut query, &key, NOW);
    let read = parse_request(&query).unwrap();
    let signed = tsig::verify_request(
        &query,
        read.tsig_at.unwrap(),
        std::slice::from_ref(&key),
        NOW,
    )
    .unwrap();
    let soa = soa(9);
    let body: Vec<Record> = (0..20_000u32)
        .map(|i| a(&format!("host{i}.example.test."), (i % 250) as u8))
        .collect();
    let mut list = vec![&soa];
    list.extend(&body);
    list.push(&soa);
    let messages = messages(&query, &read, &list, Some(&signed), NOW);
    assert!(messages.len() >= 6, "{} messages", messages.len());
    let mut verifier = Verifier::new(&key, request_mac);
    let mut records = Vec::new();
    for message in &messages {
        assert!(message.len() <= 65535);
        let answer = read_answer(message).unwrap();
        verifier
            .verify(message, answer.last_additional_at, NOW)
            .expect("each message verifies over the one before");
        records.extend(answer.records);
    }
    assert_eq!(records.len(), body.len() + 2);
    assert_eq!(
        (records[0].rtype, records.last().unwrap().rtype),
        (rtype::SOA, rtype::SOA)
    );
    assert_eq!(records[1..records.len() - 1], body[..]);
    // The same messages out of order fail: the chain is checked.
    let mut verifier = Verifier::new(&key, signed.mac.clone());
    let second = &messages[1];
    let at = read_answer(second).unwrap().last_additional_at;
    assert!(verifier.verify(second, at, NOW).is_err());
}

#[test]
fn error_answers_echo_the_question_and_carry_the_tsig_error_or_signature() {
    let query = request(rtype::AXFR, None);
    let read = parse_request(&query).unwrap();
    let refused = error_answer(&query, Some(&read), 5, ErrorTsig::None, NOW);
    assert_eq!(
        refused[..12],
        [0xbe, 0xef, 0x80, 0x05, 0, 1, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(refused[12..], query[12..]);
    let formerr = error_answer(&query[..5], None, 1, ErrorTsig::None, NOW);
    assert_eq!(formerr, [0xbe, 0xef, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut signed_query = query.clone();
    let key = key("xfr-key.");
    let mac = sign_request(&mut signed_query, &key, NOW);
    let read = parse_request(&signed_query).unwrap();
    let signed = tsig::verify_request(
        &signed_query,
        read.tsig_at.unwrap(),
        std::slice::from_ref(&key),
        NOW,
    )
    .unwrap();
    let answer = error_answer(
        &signed_query,
        Some(&read),
        5,
        ErrorTsig::Signed(&signed),
        NOW,
    );
    let at = read_answer(&answer).unwrap().last_additional_at;
    Verifier::new(&key, mac).verify(&answer, at, NOW).unwrap();
}
