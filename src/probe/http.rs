//! HTTP and HTTPS checks: one `GET` over a fresh connection to the check address, with the
//! configured Host header (and TLS server name), no redirects followed, the status compared
//! with the expected ones and the first [`MAX_BODY_READ`] bytes searched for the expected text.

use super::{tcp, tls, CheckFailure, FailureKind, HttpCheck, Progress, Stage};
use super::{MAX_BODY_READ, USER_AGENT};
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderValue, CONNECTION, HOST, USER_AGENT as USER_AGENT_HEADER};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::error::Error as _;
use std::future::poll_fn;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncWrite};

/// Statuses that count as healthy when the check lists none.
const DEFAULT_EXPECT_STATUS: &[u16] = &[200];

/// Runs one HTTP(S) check; the caller bounds the time.
pub(super) async fn check(
    http: &HttpCheck,
    address: IpAddr,
    port: u16,
    progress: &Progress,
) -> Result<(), CheckFailure> {
    let request = build_request(http, address, port)?;
    let expected = if http.expect_status.is_empty() {
        DEFAULT_EXPECT_STATUS
    } else {
        &http.expect_status
    };
    // The body matters only when its text is checked and the status already passed.
    let read_body =
        |status: StatusCode| http.expect_body.is_some() && expected.contains(&status.as_u16());

    progress.set(Stage::Connecting);
    let stream = tcp::connect(address, port).await?;
    let (status, body) = match &http.tls {
        Some(mode) => {
            progress.set(Stage::TlsHandshake);
            let tls_stream = tls::handshake(stream, http.host.as_deref(), address, mode).await?;
            exchange(tls_stream, request, read_body, progress).await?
        }
        None => exchange(stream, request, read_body, progress).await?,
    };

    if !expected.contains(&status.as_u16()) {
        return Err(CheckFailure::new(
            FailureKind::Status,
            format!("status {} not in {expected:?}", status.as_u16()),
        ));
    }
    if let (Some(wanted), Some(body)) = (&http.expect_body, body) {
        if !contains(&body, wanted.as_bytes()) {
            return Err(CheckFailure::new(
                FailureKind::Body,
                format!("body does not contain {wanted:?}"),
            ));
        }
    }
    Ok(())
}

fn build_request(
    http: &HttpCheck,
    address: IpAddr,
    port: u16,
) -> Result<Request<String>, CheckFailure> {
    let host = match &http.host {
        Some(host) => host.clone(),
        None => default_host(address, port, http.tls.is_some()),
    };
    let host = HeaderValue::from_str(&host).map_err(|_| {
        CheckFailure::new(FailureKind::Other, format!("invalid Host header {host:?}"))
    })?;
    let invalid_path = || {
        CheckFailure::new(
            FailureKind::Other,
            format!(
                "invalid path {:?}: write an absolute path such as \"/health\"",
                http.path
            ),
        )
    };
    if !http.path.starts_with('/') {
        return Err(invalid_path());
    }
    Request::get(http.path.as_str())
        .header(HOST, host)
        .header(CONNECTION, "close")
        .header(USER_AGENT_HEADER, USER_AGENT)
        .body(String::new())
        .map_err(|_| invalid_path())
}

/// The check address as a Host header: bracketed when IPv6, with the port when it is not
/// the scheme's default.
fn default_host(address: IpAddr, port: u16, https: bool) -> String {
    let default_port = if https { 443 } else { 80 };
    let host = match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    if port == default_port {
        host
    } else {
        format!("{host}:{port}")
    }
}

/// Sends the request over `io` and reads the status, and the body when `read_body` says
/// that this status needs it.
async fn exchange<S>(
    io: S,
    request: Request<String>,
    read_body: impl FnOnce(StatusCode) -> bool,
    progress: &Progress,
) -> Result<(StatusCode, Option<Vec<u8>>), CheckFailure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .handshake::<_, String>(TokioIo::new(io))
        .await
        .map_err(|error| describe_http_error(&error))?;
    progress.set(Stage::AwaitingResponse);
    let response = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| describe_http_error(&error))?;
        let status = response.status();
        if !read_body(status) {
            return Ok((status, None));
        }
        progress.set(Stage::ReadingBody);
        let body = read_bounded(response.into_body()).await?;
        Ok((status, Some(body)))
    };
    tokio::pin!(response);
    // The connection future moves the bytes; it ends on its own only when the server closes
    // or the exchange is over, and then the response (or its error) is already complete.
    tokio::select! {
        biased;
        result = &mut response => result,
        ended = connection => match ended {
            Ok(()) => response.await,
            Err(error) => Err(describe_http_error(&error)),
        },
    }
}

/// Reads the body until its end or [`MAX_BODY_READ`] bytes, whichever comes first.
async fn read_bounded(mut body: Incoming) -> Result<Vec<u8>, CheckFailure> {
    let mut collected = Vec::new();
    while collected.len() < MAX_BODY_READ {
        let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await else {
            break;
        };
        let frame = frame.map_err(|error| describe_http_error(&error))?;
        if let Ok(data) = frame.into_data() {
            let room = MAX_BODY_READ - collected.len();
            collected.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok(collected)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

fn describe_http_error(error: &hyper::Error) -> CheckFailure {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io_error) = cause.downcast_ref::<io::Error>() {
            return CheckFailure::from_io(io_error);
        }
        source = cause.source();
    }
    let message = if error.is_incomplete_message() {
        "connection closed before a complete response".to_owned()
    } else if error.is_parse() {
        format!("invalid HTTP response: {error}")
    } else {
        error.to_string()
    };
    CheckFailure::new(FailureKind::Other, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_host_brackets_ipv6_and_omits_default_ports() {
        assert_eq!(
            default_host("192.0.2.1".parse().unwrap(), 80, false),
            "192.0.2.1"
        );
        assert_eq!(
            default_host("192.0.2.1".parse().unwrap(), 8080, false),
            "192.0.2.1:8080"
        );
        assert_eq!(
            default_host("2001:db8::1".parse().unwrap(), 443, true),
            "[2001:db8::1]"
        );
        assert_eq!(
            default_host("2001:db8::1".parse().unwrap(), 80, true),
            "[2001:db8::1]:80"
        );
    }

    #[test]
    fn substring_search_over_bytes() {
        assert!(contains(b"status: ok\n", b"ok"));
        assert!(!contains(b"status: degraded", b"ok"));
        assert!(contains(b"anything", b""));
        assert!(!contains(b"o", b"ok"));
    }

    #[test]
    fn a_relative_path_is_a_readable_error() {
        let http = HttpCheck {
            path: "health".into(),
            host: None,
            expect_status: vec![],
            expect_body: None,
            tls: None,
        };
        let address = "127.0.0.1".parse().unwrap();
        for path in ["health", "/health check"] {
            let http = HttpCheck {
                path: path.into(),
                ..http.clone()
            };
            let failure = build_request(&http, address, 80).unwrap_err();
            assert!(
                failure.message.starts_with("invalid path"),
                "{}",
                failure.message
            );
        }
    }
}
