//! AXFR and IXFR answers as record streams, split over messages.

use super::*;

fn name(text: &str) -> Name {
    Name::from_text(text).unwrap()
}

pub(crate) fn soa(serial: u32) -> Record {
    let mut rdata = b"\x02ns\x07example\x04test\x00\x05admin\x07example\x04test\x00".to_vec();
    for field in [serial, 60, 10, 1024, 30] {
        rdata.extend_from_slice(&field.to_be_bytes());
    }
    record("example.test.", rtype::SOA, &rdata)
}

pub(crate) fn record(owner: &str, rtype: u16, rdata: &[u8]) -> Record {
    Record {
        owner: name(owner),
        rtype,
        ttl: 300,
        rdata: rdata.to_vec(),
        line: 0,
    }
}

fn a(owner: &str, last: u8) -> Record {
    record(owner, rtype::A, &[192, 0, 2, last])
}

fn origin() -> Name {
    name("example.test.")
}

#[test]
fn an_axfr_over_three_messages_gives_the_zone_without_the_closing_soa() {
    let mut stream = Stream::axfr(&origin(), 100);
    assert_eq!(
        stream.feed(vec![soa(5), a("www.example.test.", 1)]),
        Ok(None)
    );
    assert_eq!(stream.feed(vec![]), Ok(None));
    let done = stream
        .feed(vec![a("mail.example.test.", 2), soa(5)])
        .unwrap();
    let records = vec![
        soa(5),
        a("www.example.test.", 1),
        a("mail.example.test.", 2),
    ];
    assert_eq!(done, Some(Outcome::Full { serial: 5, records }));
    // Nothing may follow.
    assert!(stream.feed(vec![a("late.example.test.", 3)]).is_err());
}

#[test]
fn an_axfr_with_a_foreign_start_a_second_serial_or_no_end_is_refused() {
    let mut stream = Stream::axfr(&origin(), 100);
    assert!(stream.feed(vec![a("www.example.test.", 1)]).is_err());
    let mut stream = Stream::axfr(&origin(), 100);
    let error = stream.feed(vec![soa(5), a("www.example.test.", 1), soa(6)]);
    assert!(error.unwrap_err().contains("serial 6"));
    let mut stream = Stream::axfr(&origin(), 100);
    let error = stream.feed(vec![soa(5), soa(5), a("www.example.test.", 1)]);
    assert_eq!(error.unwrap_err(), "records after the closing SOA");
    // A primary that never closes runs into the record limit.
    let mut stream = Stream::axfr(&origin(), 3);
    assert_eq!(stream.feed(vec![soa(5), a("a.example.test.", 1)]), Ok(None));
    assert!(stream
        .feed(vec![a("b.example.test.", 2), a("c.example.test.", 3)])
        .is_err());
}

#[test]
fn an_ixfr_of_two_steps_gives_each_steps_deletions_and_additions() {
    let mut stream = Stream::ixfr(&origin(), 5, 100);
    let first = vec![soa(7), soa(5), a("old.example.test.", 1), soa(6)];
    assert_eq!(stream.feed(first), Ok(None));
    let second = vec![
        a("new.example.test.", 2),
        soa(6),
        soa(7),
        a("newer.example.test.", 3),
        soa(7),
    ];
    let done = stream.feed(second).unwrap();
    let changes = vec![
        Change {
            from: 5,
            to: 6,
            deleted: vec![soa(5), a("old.example.test.", 1)],
            added: vec![soa(6), a("new.example.test.", 2)],
        },
        Change {
            from: 6,
            to: 7,
            deleted: vec![soa(6)],
            added: vec![soa(7), a("newer.example.test.", 3)],
        },
    ];
    assert_eq!(done, Some(Outcome::Incremental { serial: 7, changes }));
}

#[test]
fn an_ixfr_answered_with_one_soa_or_the_whole_zone() {
    // Our serial is the primary's: one SOA, up to date.
    let mut stream = Stream::ixfr(&origin(), 5, 100);
    assert_eq!(
        stream.feed(vec![soa(5)]),
        Ok(Some(Outcome::UpToDate { serial: 5 }))
    );
    // A newer SOA alone: no differences to give.
    let mut stream = Stream::ixfr(&origin(), 5, 100);
    assert_eq!(
        stream.feed(vec![soa(9)]),
        Ok(Some(Outcome::NeedsFull { serial: 9 }))
    );
    // The whole zone in AXFR form.
    let mut stream = Stream::ixfr(&origin(), 5, 100);
    let done = stream
        .feed(vec![soa(9), a("www.example.test.", 1), soa(9)])
        .unwrap();
    let records = vec![soa(9), a("www.example.test.", 1)];
    assert_eq!(done, Some(Outcome::Full { serial: 9, records }));
}

#[test]
fn an_ixfr_from_another_serial_or_with_a_gap_is_refused() {
    let mut stream = Stream::ixfr(&origin(), 5, 100);
    let error = stream
        .feed(vec![soa(7), soa(4), soa(7), soa(7)])
        .unwrap_err();
    assert!(error.contains("not from ours (5)"), "{error}");
    let mut stream = Stream::ixfr(&origin(), 5, 100);
    let error = stream.feed(vec![soa(8), soa(5), soa(6), soa(7), soa(8), soa(8)]);
    assert!(error.unwrap_err().contains("starts from serial 7"));
}
