//! Secondary zones' side of zone transfers: TSIG (RFC 8945, `tsig`), RFC 1982 serials
//! (`serial`), the transfer messages (`message`), the AXFR (RFC 5936) and IXFR (RFC 1995)
//! answers read message by message (`transfer`, `session`), IXFR steps applied to a copy
//! (`apply`) and the saved copy in `state_dir` (`saved`): all without I/O. `client` is the
//! small tokio part that talks to a primary over TCP.
//!
//! Transfers out, Swivel as a primary: the requests and answers of AXFR and IXFR with
//! admission (`out`), the journal of recent changes IXFR is answered from (`journal`),
//! NOTIFY to secondaries (`notify_out`, with its UDP sender) and their counters (`stats`).

pub mod apply;
pub mod client;
pub mod journal;
pub mod message;
pub mod notify_out;
pub mod out;
pub mod saved;
pub mod serial;
pub mod session;
pub mod stats;
pub mod transfer;
pub mod tsig;

/// Why an exchange with a primary failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XfrError {
    /// The connection could not be made or broke.
    Io(String),
    /// Nothing came in time; says what was awaited.
    Timeout(&'static str),
    /// The answer is not a valid answer to our query, or not a valid transfer.
    Malformed(String),
    /// The primary answered with this rcode.
    Rcode(u16),
    /// A signature was missing or wrong, or the primary refused ours.
    Tsig(tsig::TsigError),
}

impl std::fmt::Display for XfrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            XfrError::Io(message) => f.write_str(message),
            XfrError::Timeout(what) => write!(f, "timed out {what}"),
            XfrError::Malformed(message) => write!(f, "bad answer: {message}"),
            XfrError::Rcode(code) => write!(f, "the primary answered {}", rcode_name(*code)),
            XfrError::Tsig(error) => write!(f, "TSIG: {error}"),
        }
    }
}

/// The mnemonic of an rcode.
pub fn rcode_name(code: u16) -> String {
    match code {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        9 => "NOTAUTH".into(),
        other => format!("rcode {other}"),
    }
}
