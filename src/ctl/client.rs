//! A small HTTP/1.1 client for the control API (one connection per request, HTTPS when
//! the control listener has TLS), used by `swivel ctl`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// How long a request may take; a reload of large zones is the slowest call.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the control API is and how to authenticate.
#[derive(Clone, Debug)]
pub struct Client {
    /// `host:port`, e.g. `127.0.0.1:8053` or `[::1]:8053`.
    pub address: String,
    pub token: Option<String>,
    /// For an `https://` control URL: the name the certificate must be for, and the TLS
    /// settings (roots, client certificate).
    pub tls: Option<(String, Arc<rustls::ClientConfig>)>,
}

/// A reply with its status and body.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

/// Why a request got no reply.
#[derive(Debug)]
pub enum ClientError {
    Connect(std::io::Error),
    Http(String),
    Timeout,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect(error) => write!(f, "cannot connect: {error}"),
            ClientError::Http(error) => write!(f, "HTTP exchange failed: {error}"),
            ClientError::Timeout => {
                write!(f, "no reply within {} seconds", REQUEST_TIMEOUT.as_secs())
            }
        }
    }
}

impl Client {
    pub async fn get(&self, path: &str) -> Result<Reply, ClientError> {
        self.request(Method::GET, path, None).await
    }

    /// A POST with a JSON body (or none).
    pub async fn post(&self, path: &str, json: Option<String>) -> Result<Reply, ClientError> {
        self.request(Method::POST, path, json).await
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        json: Option<String>,
    ) -> Result<Reply, ClientError> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(method, path, json))
            .await
            .map_err(|_| ClientError::Timeout)?
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        json: Option<String>,
    ) -> Result<Reply, ClientError> {
        let stream = tokio::net::TcpStream::connect(&self.address)
            .await
            .map_err(ClientError::Connect)?;
        let Some((host, config)) = &self.tls else {
            return self.send(stream, method, path, json).await;
        };
        let name = ServerName::try_from(host.clone())
            .map_err(|_| ClientError::Http(format!("invalid TLS server name {host:?}")))?;
        let stream = tokio_rustls::TlsConnector::from(config.clone())
            .connect(name, stream)
            .await
            .map_err(|e| ClientError::Http(format!("TLS: {e}")))?;
        self.send(stream, method, path, json).await
    }

    async fn send<S>(
        &self,
        stream: S,
        method: Method,
        path: &str,
        json: Option<String>,
    ) -> Result<Reply, ClientError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.address);
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if json.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(json.unwrap_or_default())))
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?
            .to_bytes();
        Ok(Reply { status, body })
    }
}

/// A path segment with the characters that URLs reserve percent-encoded (pool names and
/// addresses need none of them, but a typo should not turn into another path).
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_names_and_addresses_readable() {
        assert_eq!(path_segment("www.example.test."), "www.example.test.");
        assert_eq!(path_segment("2001:db8::1"), "2001:db8::1");
        assert_eq!(path_segment("[2001:db8::1]"), "%5B2001:db8::1%5D");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }
}
