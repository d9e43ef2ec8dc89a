//! One responder's HTTP(S) connection: kept open between reports, opened again when it
//! breaks; HTTPS verifies the responder's certificate against the system's roots (the
//! bundled Mozilla roots when the system has none) plus `[probe] ca_file`, and presents
//! `[probe] client_cert` when configured (for responders with `[control] tls_client_ca`).

use crate::config::ResponderUrl;
use crate::report::ReportAck;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Bound on one report: connecting, TLS, sending and the reply together.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest reply body read.
const MAX_REPLY: usize = 64 * 1024;

/// Why a report did not get through.
#[derive(Debug)]
pub enum SendError {
    /// No connection (refused, unreachable, TLS failure, timeout).
    Unreachable(String),
    /// The responder answered with an error status.
    Refused { status: StatusCode, message: String },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Unreachable(error) => f.write_str(error),
            SendError::Refused { status, message } => write!(f, "{status}: {message}"),
        }
    }
}

/// The TLS settings for https responders: system roots plus the certificates of `ca_file`,
/// and the client certificate and key of `identity`, if any.
pub fn tls_config(
    ca_file: Option<&Path>,
    identity: Option<(&Path, &Path)>,
) -> Result<Arc<ClientConfig>, String> {
    let roots = crate::probe::tls::trusted_roots(ca_file).map_err(|e| format!("probe.{e}"))?;
    let builder = ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let identity =
                crate::tls::load_identity(["probe.client_cert", "probe.client_key"], cert, key)?;
            builder
                .with_client_auth_cert(identity.chain, identity.key)
                .map_err(|e| format!("probe.client_cert {}: {e}", cert.display()))?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A connection to one responder, opened when needed.
pub struct Client {
    url: ResponderUrl,
    tls: Arc<ClientConfig>,
    authorization: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    pub fn new(url: ResponderUrl, tls: Arc<ClientConfig>, token: &str) -> Client {
        Client {
            url,
            tls,
            authorization: format!("Bearer {token}"),
            sender: None,
        }
    }

    /// Posts one report body; the connection is dropped on any failure.
    pub async fn post(&mut self, body: Bytes) -> Result<ReportAck, SendError> {
        let result = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(body)).await;
        let result = result.unwrap_or_else(|_| {
            Err(SendError::Unreachable(format!(
                "no reply within {}s",
                REQUEST_TIMEOUT.as_secs()
            )))
        });
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    async fn exchange(&mut self, body: Bytes) -> Result<ReportAck, SendError> {
        let sender = match self.sender.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.connect().await?,
        };
        let sender = self.sender.insert(sender);
        sender
            .ready()
            .await
            .map_err(|e| SendError::Unreachable(e.to_string()))?;
        let request = Request::post(self.url.reports_path())
            .header(HOST, self.url.authority())
            .header(AUTHORIZATION, &self.authorization)
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("swivel-probe/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(body))
            .map_err(|e| SendError::Unreachable(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| SendError::Unreachable(e.to_string()))?;
        let status = response.status();
        let reply = http_body_util::Limited::new(response.into_body(), MAX_REPLY)
            .collect()
            .await
            .map_err(|e| SendError::Unreachable(e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&reply)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&reply).trim().to_string());
            return Err(SendError::Refused { status, message });
        }
        serde_json::from_slice(&reply).map_err(|e| SendError::Refused {
            status,
            message: format!("the reply is not a report acknowledgement: {e}"),
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, SendError> {
        let unreachable = |e: std::io::Error| SendError::Unreachable(e.to_string());
        let mut last_error = None;
        let mut stream = None;
        for address in tokio::net::lookup_host(self.url.authority())
            .await
            .map_err(unreachable)?
        {
            match TcpStream::connect(address).await {
                Ok(connected) => {
                    stream = Some(connected);
                    break;
                }
                Err(error) => last_error = Some(error),
            }
        }
        let Some(stream) = stream else {
            return Err(last_error.map_or_else(
                || SendError::Unreachable("the host name has no address".to_string()),
                unreachable,
            ));
        };
        let _ = stream.set_nodelay(true);
        if !self.url.tls {
            return handshake(stream).await;
        }
        let name = ServerName::try_from(self.url.host.clone()).map_err(|_| {
            SendError::Unreachable(format!("invalid TLS server name {:?}", self.url.host))
        })?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, stream)
            .await
            .map_err(|e| SendError::Unreachable(format!("TLS: {e}")))?;
        handshake(tls).await
    }
}

async fn handshake<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, SendError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| SendError::Unreachable(e.to_string()))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}
