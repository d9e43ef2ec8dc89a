//! Health probes: one check of one endpoint (HTTP, HTTPS, TCP or ICMP), bounded in total by
//! its timeout, with a short human-readable reason and a metrics category when it fails.
//!
//! [`run_check`] is the whole interface for a single check; [`scheduler`] runs checks
//! repeatedly off the query path, at the pace [`cadence`] sets, and reports their outcomes
//! on a channel.

pub mod cadence;
mod http;
pub mod icmp;
mod latency;
pub mod scheduler;
mod targets;
mod tcp;
pub mod tls;

pub use latency::LatencyHistogram;
pub use targets::{probe_targets, EndpointKey};

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// What to check on an endpoint, and how long the whole check may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckSpec {
    pub kind: CheckKind,
    /// TCP port for HTTP, HTTPS and TCP checks; ignored by ICMP.
    pub port: u16,
    /// Bound on the whole check: connect, TLS handshake, request and body together.
    pub timeout: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckKind {
    /// HTTP, or HTTPS when [`HttpCheck::tls`] is set.
    Http(HttpCheck),
    /// A TCP connect that completes.
    Tcp,
    /// An ICMP echo reply.
    Icmp,
}

/// A `GET` of `path`, healthy when the status is expected and the body holds the expected text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCheck {
    /// Request target in origin form, e.g. `/health`.
    pub path: String,
    /// Host header and TLS server name. Without it the Host header is the check address
    /// (with the port when it is not the scheme's default) and TLS sends no server name.
    pub host: Option<String>,
    /// Statuses that count as healthy; an empty list means `[200]`.
    pub expect_status: Vec<u16>,
    /// Text that must appear in the first [`MAX_BODY_READ`] bytes of the body.
    pub expect_body: Option<String>,
    /// HTTPS when set.
    pub tls: Option<TlsMode>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlsMode {
    /// Verify the certificate chain against the system roots (the bundled webpki roots when
    /// the system has none) and the name against `host`. `false` is the explicit opt-out.
    pub verify: bool,
    /// Certificate authorities (PEM) trusted besides those roots.
    pub ca_file: Option<std::path::PathBuf>,
}

/// Where a check is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// The check address (an endpoint's `check_address`, or its served address).
    pub address: IpAddr,
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOutcome {
    pub ok: bool,
    /// Time from the start of the check to its verdict.
    pub latency: Duration,
    /// Why the check failed, short and readable: `"connection refused"`,
    /// `"timeout after 500ms while connecting"`, `"status 503 not in [200]"`.
    pub error: Option<String>,
    /// The category of the failure, for metrics.
    pub reason: Option<FailureKind>,
}

/// Failure categories, stable enough to label metrics with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    Refused,
    Timeout,
    Status,
    Body,
    Tls,
    Icmp,
    Other,
}

impl FailureKind {
    /// Lower-case label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Refused => "refused",
            FailureKind::Timeout => "timeout",
            FailureKind::Status => "status",
            FailureKind::Body => "body",
            FailureKind::Tls => "tls",
            FailureKind::Icmp => "icmp",
            FailureKind::Other => "other",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much of an HTTP body is read when looking for `expect_body`.
pub const MAX_BODY_READ: usize = 64 * 1024;

/// The User-Agent header of HTTP checks.
pub const USER_AGENT: &str = concat!("swivel-healthcheck/", env!("CARGO_PKG_VERSION"));

/// Runs one check of `target`, never taking longer than `spec.timeout` (plus scheduling).
pub async fn run_check(spec: &CheckSpec, target: &Target) -> CheckOutcome {
    let started = Instant::now();
    let progress = Progress::default();
    let checked = tokio::time::timeout(spec.timeout, check_unbounded(spec, target, &progress));
    let result = match checked.await {
        Ok(result) => result,
        Err(_elapsed) => Err(CheckFailure::new(
            FailureKind::Timeout,
            format!(
                "timeout after {} {}",
                describe_duration(spec.timeout),
                progress.stage().waiting_for()
            ),
        )),
    };
    let latency = started.elapsed();
    match result {
        Ok(()) => CheckOutcome {
            ok: true,
            latency,
            error: None,
            reason: None,
        },
        Err(failure) => CheckOutcome {
            ok: false,
            latency,
            error: Some(failure.message),
            reason: Some(failure.kind),
        },
    }
}

async fn check_unbounded(
    spec: &CheckSpec,
    target: &Target,
    progress: &Progress,
) -> Result<(), CheckFailure> {
    match &spec.kind {
        CheckKind::Http(http) => http::check(http, target.address, spec.port, progress).await,
        CheckKind::Tcp => tcp::check(target.address, spec.port).await,
        CheckKind::Icmp => {
            progress.set(Stage::AwaitingEchoReply);
            icmp::check(target.address, spec.timeout).await
        }
    }
}

/// Why a check failed, before it becomes part of a [`CheckOutcome`].
#[derive(Debug)]
pub(crate) struct CheckFailure {
    kind: FailureKind,
    message: String,
}

impl CheckFailure {
    fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        CheckFailure {
            kind,
            message: message.into(),
        }
    }

    /// A socket error, named the way an operator reads it.
    fn from_io(error: &io::Error) -> Self {
        use io::ErrorKind;
        let (kind, message) = match error.kind() {
            ErrorKind::ConnectionRefused => (FailureKind::Refused, "connection refused"),
            ErrorKind::ConnectionReset => (FailureKind::Other, "connection reset by peer"),
            ErrorKind::ConnectionAborted => (FailureKind::Other, "connection aborted"),
            ErrorKind::HostUnreachable => (FailureKind::Other, "host unreachable"),
            ErrorKind::NetworkUnreachable => (FailureKind::Other, "network unreachable"),
            ErrorKind::TimedOut => (FailureKind::Timeout, "timed out in the kernel"),
            ErrorKind::UnexpectedEof => (FailureKind::Other, "connection closed by peer"),
            _ => return CheckFailure::new(FailureKind::Other, error.to_string()),
        };
        CheckFailure::new(kind, message)
    }
}

/// The step a check is in, so that a timeout can say what it was waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Stage {
    Connecting,
    TlsHandshake,
    AwaitingResponse,
    ReadingBody,
    AwaitingEchoReply,
}

impl Stage {
    const ALL: [Stage; 5] = [
        Stage::Connecting,
        Stage::TlsHandshake,
        Stage::AwaitingResponse,
        Stage::ReadingBody,
        Stage::AwaitingEchoReply,
    ];

    fn waiting_for(self) -> &'static str {
        match self {
            Stage::Connecting => "while connecting",
            Stage::TlsHandshake => "during the TLS handshake",
            Stage::AwaitingResponse => "waiting for the response",
            Stage::ReadingBody => "reading the body",
            Stage::AwaitingEchoReply => "waiting for the echo reply",
        }
    }
}

/// The current [`Stage`] of a check, readable after the check future was dropped.
#[derive(Default)]
pub(crate) struct Progress(AtomicU8);

impl Progress {
    fn set(&self, stage: Stage) {
        self.0.store(stage as u8, Ordering::Relaxed);
    }

    fn stage(&self) -> Stage {
        let index = usize::from(self.0.load(Ordering::Relaxed));
        Stage::ALL.get(index).copied().unwrap_or(Stage::Connecting)
    }
}

/// `500ms`, `2s`, `1500ms`: the way durations are written in the configuration.
fn describe_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 {
        format!("{}µs", duration.as_micros())
    } else if millis % 1000 == 0 {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_configuration() {
        assert_eq!(describe_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(describe_duration(Duration::from_secs(2)), "2s");
        assert_eq!(describe_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(describe_duration(Duration::from_micros(250)), "250µs");
    }

    #[test]
    fn progress_reads_back_every_stage() {
        let progress = Progress::default();
        assert_eq!(progress.stage(), Stage::Connecting);
        for stage in Stage::ALL {
            progress.set(stage);
            assert_eq!(progress.stage(), stage);
        }
    }
}
