//! NOTIFY out (RFC 1996): telling a secondary that a zone changed. The message (opcode
//! NOTIFY, the zone's SOA as question and answer, TSIG-signed with the zone's first
//! `allow_transfer_tsig` key when it has one) and the check of the answer are plain
//! functions; [`send`] does the UDP exchange with retries: a try waits for the answer one
//! second, the next two, and so on, up to [`TRIES`] tries, until the secondary answers
//! NOERROR.

use super::message::read_answer;
use super::stats::{count_notify, NotifyResult};
use super::tsig::{self, Verifier};
use crate::config::TsigKeyConfig;
use crate::name::Name;
use crate::wire::rtype;
use crate::zone::Record;
use std::net::SocketAddr;
use std::time::Duration;

/// How many times a NOTIFY is sent before giving up.
pub const TRIES: u32 = 5;
/// How long the first try waits for an answer; each later try waits twice as long.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The NOTIFY opcode.
const OPCODE_NOTIFY: u16 = 4;

/// A NOTIFY for `origin` with its current `soa`; signed with `key` when given (the MAC is
/// returned for checking the answer).
pub fn message(
    id: u16,
    origin: &Name,
    soa: &Record,
    key: Option<&TsigKeyConfig>,
    now: u64,
) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut message = Vec::with_capacity(128);
    message.extend_from_slice(&id.to_be_bytes());
    // Opcode NOTIFY, AA set (RFC 1996 section 3.7).
    message.extend_from_slice(&(OPCODE_NOTIFY << 11 | 0x0400).to_be_bytes());
    message.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0]);
    message.extend_from_slice(origin.as_wire());
    message.extend_from_slice(&rtype::SOA.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
    message.extend_from_slice(&[0xc0, 12]);
    message.extend_from_slice(&rtype::SOA.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
    message.extend_from_slice(&soa.ttl.to_be_bytes());
    message.extend_from_slice(&(soa.rdata.len() as u16).to_be_bytes());
    message.extend_from_slice(&soa.rdata);
    let mac = key.map(|key| tsig::sign_request(&mut message, key, now));
    (message, mac)
}

/// What the answer to a NOTIFY says: `Ok` for a NOERROR answer to it (signed by `key` over
/// `mac` when the NOTIFY was signed), `None` for a datagram that is not its answer (ignored,
/// the wait goes on), another result otherwise.
pub fn check_answer(
    answer: &[u8],
    id: u16,
    key: Option<(&TsigKeyConfig, &[u8])>,
    now: u64,
) -> Option<Result<(), String>> {
    let read = read_answer(answer).ok()?;
    if read.id != id || !read.is_response() || read.opcode() != OPCODE_NOTIFY {
        return None;
    }
    if read.rcode() != 0 {
        return Some(Err(crate::xfr::rcode_name(read.rcode())));
    }
    if let Some((key, mac)) = key {
        let mut verifier = Verifier::new(key, mac.to_vec());
        if let Err(error) = verifier.verify(answer, read.last_additional_at, now) {
            return Some(Err(error.to_string()));
        }
    }
    Some(Ok(()))
}

/// Sends the NOTIFY for `origin` (`soa`) to `target` until it answers NOERROR, [`TRIES`]
/// times at most; every try is counted. Returns whether it was acknowledged.
pub async fn send(
    target: SocketAddr,
    origin: &Name,
    soa: &Record,
    key: Option<&TsigKeyConfig>,
) -> bool {
    let local: SocketAddr = match target {
        SocketAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let mut wait = FIRST_WAIT;
    for attempt in 1..=TRIES {
        let result = try_once(local, target, origin, soa, key, wait).await;
        count_notify(match &result {
            Ok(()) => NotifyResult::Ok,
            Err((kind, _)) => *kind,
        });
        match result {
            Ok(()) => {
                tracing::info!(zone = %origin, %target, attempt, "NOTIFY acknowledged");
                return true;
            }
            Err((_, reason)) => {
                tracing::debug!(zone = %origin, %target, attempt, %reason, "NOTIFY not acknowledged");
                if attempt == TRIES {
                    tracing::warn!(zone = %origin, %target, tries = TRIES, %reason,
                        "NOTIFY not acknowledged: giving up (the secondary's refresh timer will catch up)");
                }
            }
        }
        wait *= 2;
    }
    false
}

async fn try_once(
    local: SocketAddr,
    target: SocketAddr,
    origin: &Name,
    soa: &Record,
    key: Option<&TsigKeyConfig>,
    wait: Duration,
) -> Result<(), (NotifyResult, String)> {
    let error = |e: std::io::Error| (NotifyResult::Error, e.to_string());
    let socket = tokio::net::UdpSocket::bind(local).await.map_err(error)?;
    let id = super::client::random_id();
    let (message, mac) = message(id, origin, soa, key, super::client::unix_now());
    socket.send_to(&message, target).await.map_err(error)?;
    let started = tokio::time::Instant::now();
    let mut buf = vec![0u8; 65535];
    loop {
        let left = wait.saturating_sub(started.elapsed());
        let received = tokio::time::timeout(left, socket.recv_from(&mut buf)).await;
        let (len, from) = match received {
            Err(_) => return Err((NotifyResult::Timeout, format!("no answer within {wait:?}"))),
            Ok(Err(e)) => {
                // An ICMP port unreachable shows up here: wait out the try before the next.
                tokio::time::sleep(left).await;
                return Err(error(e));
            }
            Ok(Ok(got)) => got,
        };
        if from != target {
            continue;
        }
        let keyed = key.zip(mac.as_deref());
        match check_answer(&buf[..len], id, keyed, super::client::unix_now()) {
            None => continue,
            Some(Ok(())) => return Ok(()),
            Some(Err(reason)) => {
                // Wait out the try: a secondary that refuses now may accept later.
                tokio::time::sleep(wait.saturating_sub(started.elapsed())).await;
                return Err((NotifyResult::Rejected, reason));
            }
        }
    }
}
