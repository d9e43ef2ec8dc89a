//! One exchange with a primary, without the I/O: the query to send (signed when there is a
//! key), then every message of the answer checked (ID, QR, opcode, question, rcode, TSIG
//! on every message) and its records fed to the transfer. This is what a malicious primary
//! can reach, and what `fuzzing::xfr_client` drives.

use super::message::{self, soa_serial, Answer};
use super::transfer::{Outcome, Stream};
use super::tsig::{self, TsigError, Verifier};
use super::XfrError;
use crate::config::TsigKeyConfig;
use crate::name::Name;
use crate::wire::rtype;
use crate::zone::Record;

/// What the exchange asks for.
#[derive(Debug)]
enum Purpose {
    Soa,
    Transfer(Stream),
}

/// What a finished exchange gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Done {
    /// The primary's SOA serial (an SOA query).
    Serial(u32),
    /// A transfer's result.
    Transfer(Outcome),
}

/// One query and its answer.
pub struct Session {
    id: u16,
    origin: Name,
    qtype: u16,
    verifier: Option<Verifier>,
    purpose: Purpose,
    messages: usize,
}

impl Session {
    /// An SOA query for `origin`; returns the session and the query to send.
    pub fn soa(
        origin: &Name,
        key: Option<&TsigKeyConfig>,
        id: u16,
        now: u64,
    ) -> (Session, Vec<u8>) {
        Session::start(origin, rtype::SOA, None, key, id, now, Purpose::Soa)
    }

    /// An AXFR of `origin`, of at most `max_records` records.
    pub fn axfr(
        origin: &Name,
        key: Option<&TsigKeyConfig>,
        id: u16,
        now: u64,
        max_records: usize,
    ) -> (Session, Vec<u8>) {
        let stream = Stream::axfr(origin, max_records);
        Session::start(
            origin,
            rtype::AXFR,
            None,
            key,
            id,
            now,
            Purpose::Transfer(stream),
        )
    }

    /// An IXFR of `origin` from our SOA `soa`.
    pub fn ixfr(
        origin: &Name,
        soa: &Record,
        key: Option<&TsigKeyConfig>,
        id: u16,
        now: u64,
        max_records: usize,
    ) -> (Session, Vec<u8>) {
        let ours = soa_serial(&soa.rdata).unwrap_or(0);
        let stream = Stream::ixfr(origin, ours, max_records);
        let purpose = Purpose::Transfer(stream);
        Session::start(origin, rtype::IXFR, Some(soa), key, id, now, purpose)
    }

    fn start(
        origin: &Name,
        qtype: u16,
        soa: Option<&Record>,
        key: Option<&TsigKeyConfig>,
        id: u16,
        now: u64,
        purpose: Purpose,
    ) -> (Session, Vec<u8>) {
        let mut query = message::query(id, origin, qtype, soa);
        let verifier = key.map(|key| {
            let mac = tsig::sign_request(&mut query, key, now);
            Verifier::new(key, mac)
        });
        let session = Session {
            id,
            origin: origin.clone(),
            qtype,
            verifier,
            purpose,
            messages: 0,
        };
        (session, query)
    }

    /// Takes the next message of the answer, received at `now`: `Some` when the answer is
    /// complete, `None` while more messages must come.
    pub fn on_message(&mut self, bytes: &[u8], now: u64) -> Result<Option<Done>, XfrError> {
        let answer = message::read_answer(bytes).map_err(XfrError::Malformed)?;
        if !answer.is_response() || answer.id != self.id || answer.opcode() != 0 {
            return Err(XfrError::Malformed(
                "not an answer to our query (QR, ID or opcode differ)".into(),
            ));
        }
        let first = self.messages == 0;
        self.messages += 1;
        // The first message repeats the question; later ones may leave it out.
        if first || answer.question.is_some() {
            let expected = (self.origin.clone(), self.qtype);
            if answer.question.as_ref() != Some(&expected) {
                return Err(XfrError::Malformed(
                    "the answer's question is not ours".into(),
                ));
            }
        }
        let signed = self.check_signature(bytes, &answer, now);
        if answer.rcode() != 0 {
            return Err(match signed {
                Err(TsigError::Refused(code)) => XfrError::Tsig(TsigError::Refused(code)),
                _ => XfrError::Rcode(answer.rcode()),
            });
        }
        signed.map_err(XfrError::Tsig)?;
        match &mut self.purpose {
            Purpose::Soa => {
                let serial = answer
                    .records
                    .iter()
                    .find(|r| r.rtype == rtype::SOA && r.owner == self.origin)
                    .and_then(|r| soa_serial(&r.rdata))
                    .ok_or_else(|| {
                        XfrError::Malformed("the answer to our SOA query has no SOA".into())
                    })?;
                Ok(Some(Done::Serial(serial)))
            }
            Purpose::Transfer(stream) => {
                let outcome = stream.feed(answer.records).map_err(XfrError::Malformed)?;
                Ok(outcome.map(Done::Transfer))
            }
        }
    }

    fn check_signature(
        &mut self,
        bytes: &[u8],
        answer: &Answer,
        now: u64,
    ) -> Result<(), TsigError> {
        match &mut self.verifier {
            Some(verifier) => verifier.verify(bytes, answer.last_additional_at, now),
            None => Ok(()),
        }
    }
}
