//! Test backends: tiny HTTP/1.1 servers on loopback addresses, plain or TLS, that answer
//! with a chosen behaviour and record what they were asked.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// How a backend answers every request.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// A complete response, then the connection is closed.
    Respond {
        status: u16,
        body: Vec<u8>,
        headers: Vec<(String, String)>,
    },
    /// These bytes instead of a response (none: just close), then the connection is closed.
    Raw(Vec<u8>),
    /// Reads the request and never answers; holds the connection until the client leaves.
    Hang,
    /// Sends a status line and headers announcing a body, then stalls.
    HeadersThenHang,
    /// Sends a body that never ends.
    EndlessBody,
    /// The first behaviour for the first connection, the second for the next, and so on
    /// by turns (an endpoint that flaps on every check).
    Alternate(Box<Behaviour>, Box<Behaviour>),
}

impl Behaviour {
    pub fn respond(status: u16, body: &str) -> Self {
        Behaviour::Respond {
            status,
            body: body.as_bytes().to_vec(),
            headers: Vec::new(),
        }
    }
}

/// One request as the backend received it.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
    /// The TLS server name the client sent, on TLS backends.
    pub sni: Option<String>,
}

impl SeenRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

struct State {
    behaviour: Behaviour,
    tls: Option<TlsAcceptor>,
    seen: Mutex<Vec<SeenRequest>>,
    accepted: AtomicUsize,
}

/// A running backend; dropping it stops it and closes its connections.
pub struct Backend {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Backend {
    /// A plain HTTP backend on `ip` and a free port.
    pub async fn http(ip: &str, behaviour: Behaviour) -> Backend {
        Backend::start(ip, behaviour, None).await
    }

    /// An HTTPS backend on `ip` and a free port.
    pub async fn https(ip: &str, behaviour: Behaviour, tls: TlsAcceptor) -> Backend {
        Backend::start(ip, behaviour, Some(tls)).await
    }

    async fn start(ip: &str, behaviour: Behaviour, tls: Option<TlsAcceptor>) -> Backend {
        let listener = TcpListener::bind((ip, 0))
            .await
            .expect("bind a loopback backend");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            behaviour,
            tls,
            seen: Mutex::default(),
            accepted: AtomicUsize::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, state.clone()));
        Backend { addr, state, task }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn seen(&self) -> Vec<SeenRequest> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    // Connections live in the set, so aborting the loop closes them too.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let number = state.accepted.fetch_add(1, Ordering::SeqCst);
        let state = state.clone();
        connections.spawn(async move {
            match &state.tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let sni = stream.get_ref().1.server_name().map(str::to_owned);
                        serve(stream, &state, number, sni).await;
                    }
                }
                None => serve(stream, &state, number, None).await,
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    state: &State,
    number: usize,
    sni: Option<String>,
) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    state.seen.lock().unwrap().push(parse_head(&head, sni));
    let mut behaviour = &state.behaviour;
    while let Behaviour::Alternate(even, odd) = behaviour {
        behaviour = if number % 2 == 0 { even } else { odd };
    }
    match behaviour {
        Behaviour::Respond {
            status,
            body,
            headers,
        } => {
            let mut response = format!(
                "HTTP/1.1 {status} Test\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                response.push_str(&format!("{name}: {value}\r\n"));
            }
            response.push_str("\r\n");
            let mut bytes = response.into_bytes();
            bytes.extend_from_slice(body);
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Behaviour::Raw(bytes) => {
            let _ = stream.write_all(bytes).await;
            let _ = stream.shutdown().await;
        }
        Behaviour::Hang => wait_for_close(&mut stream).await,
        Behaviour::HeadersThenHang => {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nok";
            let _ = stream.write_all(head.as_bytes()).await;
            wait_for_close(&mut stream).await;
        }
        Behaviour::EndlessBody => {
            let head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b'x'; 16 * 1024];
            while stream.write_all(&chunk).await.is_ok() {}
        }
        Behaviour::Alternate(..) => unreachable!("resolved above"),
    }
}

async fn wait_for_close<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut buf = [0u8; 1024];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// Reads up to the end of the request head.
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).ok()
}

fn parse_head(head: &str, sni: Option<String>) -> SeenRequest {
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    SeenRequest {
        request_line,
        headers,
        sni,
    }
}

/// A TLS acceptor with a fresh self-signed certificate for `name`.
pub fn self_signed_acceptor(name: &str) -> TlsAcceptor {
    self_signed_acceptor_with_alpn(name, Vec::new())
}

/// Like [`self_signed_acceptor`], accepting only the application protocols in `alpn`.
pub fn self_signed_acceptor_with_alpn(name: &str, alpn: Vec<Vec<u8>>) -> TlsAcceptor {
    let certified = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    acceptor_for(certified.cert.der().clone(), &certified.signing_key, alpn)
}

/// A TLS acceptor whose certificate for `name` is signed by a fresh private CA, and that
/// CA's certificate in PEM (for a check's `ca_file`).
pub fn private_ca_acceptor(name: &str) -> (TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let acceptor = acceptor_for(leaf.der().clone(), &leaf_key, Vec::new());
    (acceptor, ca.pem())
}

/// A TLS acceptor whose own certificate is a self-signed CA certificate for `name`.
pub fn ca_as_server_acceptor(name: &str) -> (TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let certificate = params.self_signed(&key).unwrap();
    let pem = certificate.pem();
    (
        acceptor_for(certificate.der().clone(), &key, Vec::new()),
        pem,
    )
}

fn acceptor_for(
    certificate: rustls::pki_types::CertificateDer<'static>,
    key: &rcgen::KeyPair,
    alpn: Vec<Vec<u8>>,
) -> TlsAcceptor {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .unwrap();
    config.alpn_protocols = alpn;
    TlsAcceptor::from(Arc::new(config))
}

/// A loopback port with nothing listening on it (bound, then released).
pub async fn closed_port(ip: &str) -> u16 {
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    listener.local_addr().unwrap().port()
}
