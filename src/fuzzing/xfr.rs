//! The transfer client target: what a malicious primary can send to a secondary zone's
//! refresh (`xfr::session::Session`), message by message, signed or not; and an IXFR's
//! steps applied to a fixed copy.

use crate::config::{TsigAlgorithm, TsigKeyConfig};
use crate::name::Name;
use crate::wire::rtype;
use crate::xfr::apply::apply;
use crate::xfr::message::soa_serial;
use crate::xfr::session::{Done, Session};
use crate::xfr::transfer::Outcome;
use crate::xfr::tsig::sign_answer;
use crate::zone::Record;

/// The query ID the target's sessions use, so inputs can answer it.
pub const XFR_FUZZ_ID: u16 = 0x1234;
/// The time the target's sessions run at (seconds since 1970).
pub const XFR_FUZZ_NOW: u64 = 1_700_000_000;
/// The serial of the fixed copy an IXFR starts from.
pub const XFR_FUZZ_SERIAL: u32 = 5;
/// The most records a transfer may bring here.
const MAX_RECORDS: usize = 10_000;

/// The first byte chooses the exchange (bits 0-1: SOA query, AXFR, IXFR from serial 5),
/// whether it is TSIG-signed (bit 2, key `xfr-key.` of hmac-sha256) and whether the target
/// signs each message as the primary would (bit 3, with bit 2); the rest is the primary's
/// answer as on TCP, each message behind its two-byte length. Invariants: no panic; the
/// same input gives the same result; a finished exchange is complete (a full zone starts
/// with the zone's SOA of the outcome's serial, IXFR steps chain from serial 5 to the
/// outcome's serial, "needs full" and "up to date" are newer and not newer than 5); an
/// input signed by the target as the primary never fails its signature check, and an
/// unsigned one under a key never passes a message.
pub fn xfr_client(data: &[u8]) {
    let first = run(data);
    assert_eq!(first, run(data), "deterministic");
}

/// What one run gave: the exchange's end, or the error as text, and the messages read.
fn run(data: &[u8]) -> (Result<Option<Done>, String>, usize) {
    let Some((&mode, mut rest)) = data.split_first() else {
        return (Ok(None), 0);
    };
    let origin = Name::from_text("example.test.").expect("valid origin");
    let key = TsigKeyConfig {
        name: Name::from_text("xfr-key.").expect("valid key name"),
        algorithm: TsigAlgorithm::HmacSha256,
        secret: b"0123456789abcdef0123456789abcdef".to_vec(),
    };
    let keyed = mode & 4 != 0;
    let we_sign = keyed && mode & 8 != 0;
    let copy = fixed_copy(&origin);
    let (mut session, query) = match mode & 3 {
        0 => Session::soa(&origin, keyed.then_some(&key), XFR_FUZZ_ID, XFR_FUZZ_NOW),
        1 => Session::axfr(
            &origin,
            keyed.then_some(&key),
            XFR_FUZZ_ID,
            XFR_FUZZ_NOW,
            MAX_RECORDS,
        ),
        _ => Session::ixfr(
            &origin,
            &copy[0],
            keyed.then_some(&key),
            XFR_FUZZ_ID,
            XFR_FUZZ_NOW,
            MAX_RECORDS,
        ),
    };
    let mut prior_mac = query_mac(&query);
    let mut messages = 0;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let mut message = rest[2..2 + len].to_vec();
        rest = &rest[2 + len..];
        if we_sign && message.len() >= 12 {
            prior_mac = sign_answer(&mut message, &key, &prior_mac, messages == 0, XFR_FUZZ_NOW);
        }
        messages += 1;
        match session.on_message(&message, XFR_FUZZ_NOW) {
            Ok(None) => {}
            Ok(Some(done)) => {
                check_done(&origin, &copy, &done);
                return (Ok(Some(done)), messages);
            }
            Err(error) => {
                let text = error.to_string();
                if we_sign {
                    assert!(!text.contains("BADSIG"), "a message we signed: {text}");
                }
                return (Err(text), messages);
            }
        }
        if keyed && !we_sign {
            unreachable_unsigned(&message);
        }
    }
    (Ok(None), messages)
}

/// A message that passed under a key without being signed by the target must carry a TSIG
/// record that verified: nothing unsigned gets through.
fn unreachable_unsigned(message: &[u8]) {
    let answer = crate::xfr::message::read_answer(message).expect("it was read before");
    assert!(
        answer.last_additional_at.is_some(),
        "an unsigned message passed"
    );
}

/// The MAC at the end of a signed query (the TSIG record's MAC before ID, error and other
/// length); empty when the query is not signed.
fn query_mac(query: &[u8]) -> Vec<u8> {
    let answer = crate::xfr::message::read_answer(query).expect("our query reads");
    let Some(at) = answer.last_additional_at else {
        return Vec::new();
    };
    // Owner (xfr-key.), type, class, TTL, length, algorithm (hmac-sha256.), time, fudge.
    let mac_len_at = at + 9 + 10 + 13 + 8;
    let len = usize::from(u16::from_be_bytes([
        query[mac_len_at],
        query[mac_len_at + 1],
    ]));
    query[mac_len_at + 2..mac_len_at + 2 + len].to_vec()
}

fn check_done(origin: &Name, copy: &[Record], done: &Done) {
    let Done::Transfer(outcome) = done else {
        return;
    };
    match outcome {
        Outcome::Full { serial, records } => {
            let soa = &records[0];
            assert!(soa.rtype == rtype::SOA && soa.owner == *origin);
            assert_eq!(soa_serial(&soa.rdata), Some(*serial));
            assert!(records.iter().all(|r| r.rdata.len() <= 65535));
        }
        Outcome::Incremental { serial, changes } => {
            assert_eq!(changes[0].from, XFR_FUZZ_SERIAL);
            assert_eq!(changes.last().map(|c| c.to), Some(*serial));
            for pair in changes.windows(2) {
                assert_eq!(pair[0].to, pair[1].from);
            }
            if let Ok(records) = apply(copy, changes) {
                assert!(
                    records.len()
                        <= copy.len() + changes.iter().map(|c| c.added.len()).sum::<usize>()
                );
            }
        }
        Outcome::NeedsFull { serial } => {
            assert!(crate::xfr::serial::is_newer(*serial, XFR_FUZZ_SERIAL))
        }
        Outcome::UpToDate { serial } => {
            assert!(!crate::xfr::serial::is_newer(*serial, XFR_FUZZ_SERIAL))
        }
    }
}

/// The copy an IXFR starts from: SOA (serial 5), NS, an address.
fn fixed_copy(origin: &Name) -> Vec<Record> {
    let mut soa = b"\x02ns\x07example\x04test\x00\x05admin\x07example\x04test\x00".to_vec();
    for field in [XFR_FUZZ_SERIAL, 60, 10, 1024, 30] {
        soa.extend_from_slice(&field.to_be_bytes());
    }
    let record = |owner: &Name, rtype: u16, rdata: &[u8]| Record {
        owner: owner.clone(),
        rtype,
        ttl: 300,
        rdata: rdata.to_vec(),
        line: 0,
    };
    let ns = Name::from_text("ns.example.test.").expect("valid name");
    vec![
        record(origin, rtype::SOA, &soa),
        record(origin, rtype::NS, b"\x02ns\x07example\x04test\x00"),
        record(&ns, rtype::A, &[192, 0, 2, 1]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(label: &str) -> (Result<Option<Done>, String>, usize) {
        let path = format!(
            "{}/fuzz/corpus/xfr_client/seed-{label}",
            env!("CARGO_MANIFEST_DIR")
        );
        run(&std::fs::read(&path).expect("the seed exists"))
    }

    #[test]
    fn the_seeds_reach_every_end_of_an_exchange() {
        let serial = |r: (Result<Option<Done>, String>, usize)| match r.0 {
            Ok(Some(Done::Serial(serial))) => Some(serial),
            _ => None,
        };
        assert_eq!(serial(seed("soa")), Some(9));
        assert_eq!(serial(seed("soa-signed")), Some(9));
        let outcome = |r: (Result<Option<Done>, String>, usize)| match r.0 {
            Ok(Some(Done::Transfer(outcome))) => Some((outcome, r.1)),
            _ => None,
        };
        assert!(matches!(
            outcome(seed("axfr-three-messages")),
            Some((Outcome::Full { serial: 9, .. }, 3))
        ));
        assert!(matches!(
            outcome(seed("axfr-signed")),
            Some((Outcome::Full { serial: 9, .. }, 2))
        ));
        assert!(matches!(
            outcome(seed("ixfr-signed")),
            Some((Outcome::Incremental { serial: 7, .. }, 2))
        ));
        assert!(matches!(
            outcome(seed("ixfr-needs-full")),
            Some((Outcome::NeedsFull { serial: 9 }, 1))
        ));
        let error = |r: (Result<Option<Done>, String>, usize)| r.0.err().unwrap_or_default();
        assert!(error(seed("axfr-unsigned-under-key")).contains("not TSIG-signed"));
        assert!(error(seed("ixfr-notimp")).contains("NOTIMP"));
        assert!(error(seed("axfr-wrong-id")).contains("not an answer to our query"));
        assert_eq!(seed("axfr-no-end").0, Ok(None));
    }
}
