//! The I/O half: SOA queries and transfers over TCP to one primary (tokio), and
//! [`refresh`], which brings a zone up to date from it: the SOA first, then IXFR when we
//! have a copy, AXFR when the primary refuses IXFR, has no differences to give, or its
//! differences do not fit our copy.

use super::apply::apply;
use super::message::soa_serial;
use super::serial::is_newer;
use super::session::{Done, Session};
use super::transfer::Outcome;
use super::XfrError;
use crate::config::TsigKeyConfig;
use crate::name::Name;
use crate::wire::rtype;
use crate::zone::Record;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long connecting, and then each message of an answer, may take.
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);
/// rcodes after which an IXFR is retried as AXFR: FORMERR, NOTIMP, REFUSED.
const IXFR_REFUSED: [u16; 3] = [1, 4, 5];

/// What to transfer, and with what.
pub struct Request<'a> {
    pub origin: &'a Name,
    pub key: Option<&'a TsigKeyConfig>,
    /// Our copy: its records, the SOA among them.
    pub current: Option<&'a [Record]>,
    /// The most records a transfer may bring.
    pub max_records: usize,
}

/// How a zone came, for logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Differences applied to our copy.
    Ixfr,
    /// The whole zone, asked for by AXFR.
    Axfr,
    /// The whole zone, sent in answer to an IXFR.
    IxfrFull,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ixfr => "IXFR",
            Kind::Axfr => "AXFR",
            Kind::IxfrFull => "IXFR (whole zone)",
        }
    }
}

/// What a refresh found.
#[derive(Debug)]
pub enum Refreshed {
    /// Our copy has the primary's serial (or a newer one).
    UpToDate { serial: u32 },
    /// The zone at the primary's serial.
    Zone {
        serial: u32,
        records: Vec<Record>,
        kind: Kind,
        /// Why IXFR was not used, when AXFR was.
        fallback: Option<String>,
    },
}

/// Brings the zone of `request` up to date from `primary`.
pub async fn refresh(primary: SocketAddr, request: &Request<'_>) -> Result<Refreshed, XfrError> {
    let serial = query_soa(primary, request).await?;
    let ours = request.current.and_then(|records| {
        records
            .iter()
            .find(|r| r.rtype == rtype::SOA && r.owner == *request.origin)
    });
    let Some(soa) = ours else {
        return axfr(primary, request, None).await;
    };
    let our_serial = soa_serial(&soa.rdata).unwrap_or(0);
    if !is_newer(serial, our_serial) {
        return Ok(Refreshed::UpToDate { serial: our_serial });
    }
    let records = request.current.unwrap_or_default();
    let (session, query) = Session::ixfr(
        request.origin,
        soa,
        request.key,
        random_id(),
        unix_now(),
        request.max_records,
    );
    let fallback = match exchange(primary, session, query).await {
        Ok(Done::Transfer(Outcome::Incremental { serial, changes })) => {
            match apply(records, &changes) {
                Ok(records) => {
                    let kind = Kind::Ixfr;
                    return Ok(Refreshed::Zone {
                        serial,
                        records,
                        kind,
                        fallback: None,
                    });
                }
                Err(reason) => reason,
            }
        }
        Ok(Done::Transfer(Outcome::Full { serial, records })) => {
            let kind = Kind::IxfrFull;
            return Ok(Refreshed::Zone {
                serial,
                records,
                kind,
                fallback: None,
            });
        }
        Ok(Done::Transfer(Outcome::UpToDate { serial })) => {
            return Ok(Refreshed::UpToDate { serial })
        }
        Ok(Done::Transfer(Outcome::NeedsFull { .. })) => {
            "the primary has no differences from our serial".to_string()
        }
        Ok(Done::Serial(_)) => unreachable!("an IXFR session ends in a transfer"),
        Err(XfrError::Rcode(code)) if IXFR_REFUSED.contains(&code) => {
            format!("the primary answered IXFR with {}", super::rcode_name(code))
        }
        Err(error) => return Err(error),
    };
    axfr(primary, request, Some(fallback)).await
}

/// The primary's SOA serial.
async fn query_soa(primary: SocketAddr, request: &Request<'_>) -> Result<u32, XfrError> {
    let (session, query) = Session::soa(request.origin, request.key, random_id(), unix_now());
    match exchange(primary, session, query).await? {
        Done::Serial(serial) => Ok(serial),
        Done::Transfer(_) => unreachable!("an SOA session ends in a serial"),
    }
}

async fn axfr(
    primary: SocketAddr,
    request: &Request<'_>,
    fallback: Option<String>,
) -> Result<Refreshed, XfrError> {
    let (session, query) = Session::axfr(
        request.origin,
        request.key,
        random_id(),
        unix_now(),
        request.max_records,
    );
    match exchange(primary, session, query).await? {
        Done::Transfer(Outcome::Full { serial, records }) => Ok(Refreshed::Zone {
            serial,
            records,
            kind: Kind::Axfr,
            fallback,
        }),
        other => Err(XfrError::Malformed(format!(
            "an AXFR ended without the zone: {other:?}"
        ))),
    }
}

/// Sends `query` over a new TCP connection and feeds every message of the answer to
/// `session` until it is complete.
async fn exchange(
    primary: SocketAddr,
    mut session: Session,
    query: Vec<u8>,
) -> Result<Done, XfrError> {
    let timed = |what: &'static str| move |_| XfrError::Timeout(what);
    let mut stream = tokio::time::timeout(MESSAGE_TIMEOUT, TcpStream::connect(primary))
        .await
        .map_err(timed("connecting"))?
        .map_err(|e| XfrError::Io(format!("cannot connect: {e}")))?;
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    stream
        .write_all(&framed)
        .await
        .map_err(|e| XfrError::Io(format!("cannot send the query: {e}")))?;
    let mut buffer = vec![0u8; 65535];
    loop {
        let mut length = [0u8; 2];
        let read = async {
            stream.read_exact(&mut length).await?;
            let len = usize::from(u16::from_be_bytes(length));
            stream.read_exact(&mut buffer[..len]).await?;
            Ok::<usize, std::io::Error>(len)
        };
        let len = tokio::time::timeout(MESSAGE_TIMEOUT, read)
            .await
            .map_err(timed("waiting for the next message"))?
            .map_err(|e| XfrError::Io(format!("the answer broke off: {e}")))?;
        if let Some(done) = session.on_message(&buffer[..len], unix_now())? {
            return Ok(done);
        }
    }
}

/// A message ID nobody off the path can guess.
pub(crate) fn random_id() -> u16 {
    let mut bytes = [0u8; 2];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    u16::from_be_bytes(bytes)
}

/// Seconds since 1970, for TSIG.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
