//! TSIG on literal bytes: the MACs below were computed independently (Python's `hmac` over
//! the digest input laid out by hand from RFC 8945 section 4.3).

use super::*;

const NOW: u64 = 1_700_000_000;

fn key() -> TsigKeyConfig {
    TsigKeyConfig {
        name: Name::from_text("xfr-key.").unwrap(),
        algorithm: TsigAlgorithm::HmacSha256,
        secret: b"0123456789abcdef0123456789abcdef".to_vec(),
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// `example.test. SOA IN` with ID 0x1234; `flags` 0 for the query, 0x8400 for an answer.
fn soa_message(flags: u16, with_question: bool) -> Vec<u8> {
    let mut message = vec![0x12, 0x34];
    message.extend_from_slice(&flags.to_be_bytes());
    message.extend_from_slice(&[0, u8::from(with_question), 0, 0, 0, 0, 0, 0]);
    if with_question {
        message.extend_from_slice(b"\x07example\x04test\x00\x00\x06\x00\x01");
    }
    message
}

const REQUEST_MAC: &str = "23e0bf4b712eb89f89650284251ec11f3c7318be12ca985b4a11795a377e048a";
const FIRST_MAC: &str = "6cb3eb96cadf0193a6aaa8051e74f17a4568b40f9a18fc0c6e7ce29542383783";
const SECOND_MAC: &str = "110afab4bfee5aa33d71d6079854439a80dae00ce59b27a025a0e3637f3528c2";

/// The three messages of one signed exchange: the request, the first answer and a second.
fn exchange() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut request = soa_message(0, true);
    let mac = sign_request(&mut request, &key(), NOW);
    let mut first = soa_message(0x8400, true);
    let mac = sign_answer(&mut first, &key(), &mac, true, NOW);
    let mut second = soa_message(0x8400, false);
    sign_answer(&mut second, &key(), &mac, false, NOW);
    (request, first, second)
}

/// Where the TSIG record of a signed `soa_message` starts.
fn tsig_at(with_question: bool) -> Option<usize> {
    Some(if with_question { 12 + 18 } else { 12 })
}

#[test]
fn a_signed_request_is_the_query_then_the_tsig_record_byte_for_byte() {
    let (request, _, _) = exchange();
    let mut expected = soa_message(0, true);
    expected[11] = 1; // ARCOUNT
    expected.extend_from_slice(b"\x07xfr-key\x00\x00\xfa\x00\xff\x00\x00\x00\x00");
    let mut rdata = b"\x0bhmac-sha256\x00".to_vec();
    rdata.extend_from_slice(&[0x00, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x01, 0x2c, 0x00, 0x20]);
    rdata.extend_from_slice(&hex(REQUEST_MAC));
    rdata.extend_from_slice(&[0x12, 0x34, 0, 0, 0, 0]);
    expected.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    expected.extend_from_slice(&rdata);
    assert_eq!(request, expected);
}

#[test]
fn every_message_of_an_answer_is_signed_over_the_one_before() {
    let (_, first, second) = exchange();
    let mac_of = |message: &[u8]| message[message.len() - 6 - 32..message.len() - 6].to_vec();
    assert_eq!(mac_of(&first), hex(FIRST_MAC));
    assert_eq!(mac_of(&second), hex(SECOND_MAC));
    let mut verifier = Verifier::new(&key(), hex(REQUEST_MAC));
    assert_eq!(verifier.verify(&first, tsig_at(true), NOW), Ok(()));
    assert_eq!(verifier.verify(&second, tsig_at(false), NOW + 10), Ok(()));
}

#[test]
fn a_changed_skipped_or_foreign_message_is_refused() {
    let (_, first, second) = exchange();
    // One bit changed in the header.
    let mut changed = first.clone();
    changed[3] ^= 0x01;
    let mut verifier = Verifier::new(&key(), hex(REQUEST_MAC));
    assert_eq!(
        verifier.verify(&changed, tsig_at(true), NOW),
        Err(TsigError::BadSignature)
    );
    // The second message verified as if it were the first (the first was skipped).
    let mut verifier = Verifier::new(&key(), hex(REQUEST_MAC));
    assert_eq!(
        verifier.verify(&second, tsig_at(false), NOW),
        Err(TsigError::BadSignature)
    );
    // Another secret under the same name.
    let mut other = key();
    other.secret = b"fedcba9876543210fedcba9876543210".to_vec();
    let mut verifier = Verifier::new(&other, hex(REQUEST_MAC));
    assert_eq!(
        verifier.verify(&first, tsig_at(true), NOW),
        Err(TsigError::BadSignature)
    );
    // Another key name, another algorithm.
    let mut renamed = key();
    renamed.name = Name::from_text("other-key.").unwrap();
    let mut verifier = Verifier::new(&renamed, hex(REQUEST_MAC));
    assert_eq!(
        verifier.verify(&first, tsig_at(true), NOW),
        Err(TsigError::WrongKey)
    );
    let mut sha512 = key();
    sha512.algorithm = TsigAlgorithm::HmacSha512;
    let mut verifier = Verifier::new(&sha512, hex(REQUEST_MAC));
    assert_eq!(
        verifier.verify(&first, tsig_at(true), NOW),
        Err(TsigError::WrongKey)
    );
    // No TSIG record at all.
    let mut verifier = Verifier::new(&key(), hex(REQUEST_MAC));
    assert_eq!(
        verifier.verify(&soa_message(0x8400, true), None, NOW),
        Err(TsigError::Unsigned)
    );
}

#[test]
fn a_signature_outside_the_fudge_is_refused_and_inside_it_accepted() {
    let (_, first, _) = exchange();
    let fudge = u64::from(FUDGE);
    for (now, ok) in [
        (NOW + fudge, true),
        (NOW - fudge, true),
        (NOW + fudge + 1, false),
        (NOW - fudge - 1, false),
    ] {
        let mut verifier = Verifier::new(&key(), hex(REQUEST_MAC));
        let result = verifier.verify(&first, tsig_at(true), now);
        if ok {
            assert_eq!(result, Ok(()), "at {now}");
        } else {
            assert_eq!(result, Err(TsigError::BadTime { signed: NOW, now }));
        }
    }
}

#[test]
fn a_primary_refusing_our_key_is_reported_with_its_tsig_error() {
    // What a primary sends for an unknown key: NOTAUTH, an empty MAC, error BADKEY.
    let mut answer = soa_message(0x8409, true);
    answer[11] = 1;
    answer.extend_from_slice(b"\x07xfr-key\x00\x00\xfa\x00\xff\x00\x00\x00\x00\x00\x1d");
    answer.extend_from_slice(b"\x0bhmac-sha256\x00");
    answer.extend_from_slice(&[0, 0, 0x65, 0x53, 0xf1, 0, 0x01, 0x2c, 0, 0]);
    answer.extend_from_slice(&[0x12, 0x34, 0, 17, 0, 0]);
    let mut verifier = Verifier::new(&key(), hex(REQUEST_MAC));
    let result = verifier.verify(&answer, tsig_at(true), NOW);
    assert_eq!(result, Err(TsigError::Refused(BADKEY)));
    assert!(result.unwrap_err().to_string().contains("BADKEY"));
}

#[test]
fn a_cut_tsig_record_is_malformed_not_a_panic() {
    let (_, first, _) = exchange();
    for len in tsig_at(true).unwrap()..first.len() {
        let mut verifier = Verifier::new(&key(), hex(REQUEST_MAC));
        assert!(verifier.verify(&first[..len], tsig_at(true), NOW).is_err());
    }
}

#[test]
fn a_primary_verifies_a_request_against_the_literal_mac_and_names_each_refusal() {
    let (request, _, _) = exchange();
    let at = tsig_at(true).unwrap();
    let signed = verify_request(&request, at, &[key()], NOW).unwrap();
    assert_eq!(signed.mac, hex(REQUEST_MAC));
    assert_eq!(signed.key, key());
    let error = |message: &[u8], keys: &[TsigKeyConfig], now| {
        verify_request(message, at, keys, now).unwrap_err().error
    };
    let mut other = key();
    other.secret = b"another secret, 32 bytes long!!!".to_vec();
    assert_eq!(error(&request, &[other.clone()], NOW), BADSIG);
    let mut renamed = key();
    renamed.name = Name::from_text("other-key.").unwrap();
    assert_eq!(error(&request, &[renamed], NOW), BADKEY);
    assert_eq!(error(&request, &[], NOW), BADKEY);
    assert_eq!(error(&request, &[key()], NOW + 301), BADTIME);
    assert!(verify_request(&request, at, &[key()], NOW - 300).is_ok());
    let mut changed = request.clone();
    changed[at - 1] ^= 0x01; // the question's class
    assert_eq!(error(&changed, &[key()], NOW), BADSIG);
    // The key is found by its name in a list of several ([[tsig]] names are unique).
    let mut first = other;
    first.name = Name::from_text("first-key.").unwrap();
    assert!(verify_request(&request, at, &[first, key()], NOW).is_ok());
    // A BADSIG answer names the request's key, with an empty MAC and the error.
    let refused = verify_request(&changed, at, &[key()], NOW).unwrap_err();
    let mut answer = soa_message(0x8009, true);
    append_error(&mut answer, &refused, NOW);
    assert_eq!(answer[11], 1);
    assert!(answer.ends_with(&[0x00, 0x00, 0x12, 0x34, 0x00, 0x10, 0x00, 0x00]));
    assert_eq!(
        record_names(&answer, at),
        Some((key().name, Name::from_text("hmac-sha256.").unwrap()))
    );
}
