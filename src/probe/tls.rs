//! TLS for HTTPS checks: client configurations built once per process (verifying against
//! the system roots, or accepting any certificate when the operator opts out), the
//! handshake with the configured server name, and readable handshake errors.

use super::{CheckFailure, FailureKind};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{self, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Runs the TLS handshake over `stream`, sending `host` as the server name (none when the
/// check has no host and goes by address).
pub(super) async fn handshake(
    stream: TcpStream,
    host: Option<&str>,
    address: IpAddr,
    verify: bool,
) -> Result<TlsStream<TcpStream>, CheckFailure> {
    let server_name = match host {
        Some(host) => {
            ServerName::try_from(host.trim_end_matches('.').to_owned()).map_err(|_| {
                CheckFailure::new(
                    FailureKind::Tls,
                    format!("invalid TLS server name {host:?}"),
                )
            })?
        }
        None => ServerName::IpAddress(address.into()),
    };
    TlsConnector::from(client_config(verify))
        .connect(server_name, stream)
        .await
        .map_err(|error| describe_handshake_error(&error))
}

fn client_config(verify: bool) -> Arc<ClientConfig> {
    static VERIFYING: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    static ACCEPTING_ANY: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if verify {
        VERIFYING.get_or_init(verifying_config).clone()
    } else {
        ACCEPTING_ANY.get_or_init(accepting_config).clone()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(crypto::ring::default_provider())
}

fn verifying_config() -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions");
    let config = builder
        .with_root_certificates(trusted_roots())
        .with_no_client_auth();
    finish(config)
}

fn accepting_config() -> Arc<ClientConfig> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions");
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
        .with_no_client_auth();
    finish(config)
}

fn finish(mut config: ClientConfig) -> Arc<ClientConfig> {
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The system's trusted roots; the bundled Mozilla roots when the system has none.
fn trusted_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::warn!("HTTPS checks: reading system certificates: {error}");
    }
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        tracing::info!("HTTPS checks: no system root certificates; using the bundled roots");
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    roots
}

fn describe_handshake_error(error: &io::Error) -> CheckFailure {
    let Some(tls_error) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        let io_failure = CheckFailure::from_io(error);
        return CheckFailure::new(
            FailureKind::Tls,
            format!("TLS handshake failed: {}", io_failure.message),
        );
    };
    let message = match tls_error {
        rustls::Error::InvalidCertificate(problem) => {
            format!(
                "certificate verification failed: {}",
                describe_certificate_error(problem)
            )
        }
        other => format!("TLS handshake failed: {other}"),
    };
    CheckFailure::new(FailureKind::Tls, message)
}

fn describe_certificate_error(problem: &CertificateError) -> String {
    match problem {
        CertificateError::UnknownIssuer => "unknown issuer (not signed by a trusted root)".into(),
        CertificateError::BadSignature => "bad signature".into(),
        CertificateError::Expired => "certificate expired".into(),
        CertificateError::NotValidYet => "certificate not valid yet".into(),
        CertificateError::Revoked => "certificate revoked".into(),
        CertificateError::NotValidForName => "certificate not valid for the server name".into(),
        CertificateError::BadEncoding => "malformed certificate".into(),
        other => other.to_string(),
    }
}

/// The `verify = false` opt-out: any certificate is accepted, but the handshake signatures
/// are still checked, so the server at least holds the key of the certificate it sent.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
