//! TLS for HTTPS checks: client configurations built once per check mode (verifying against
//! the system roots and a pool's `ca_file`, or accepting any certificate when the operator
//! opts out), the handshake with the configured server name, and handshake errors in words.

use super::{CheckFailure, FailureKind, TlsMode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{self, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Runs the TLS handshake over `stream`, sending `host` as the server name (none when the
/// check has no host and goes by address).
pub(super) async fn handshake(
    stream: TcpStream,
    host: Option<&str>,
    address: IpAddr,
    mode: &TlsMode,
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
    TlsConnector::from(client_config(mode)?)
        .connect(server_name, stream)
        .await
        .map_err(|error| describe_handshake_error(&error))
}

/// The client configuration for `mode`, built once per mode and kept: a CA file is read
/// when a check first needs it (`swivel check` and start-up read it before, see
/// [`load_ca_file`]).
fn client_config(mode: &TlsMode) -> Result<Arc<ClientConfig>, CheckFailure> {
    static CONFIGS: OnceLock<Mutex<HashMap<TlsMode, Arc<ClientConfig>>>> = OnceLock::new();
    let configs = CONFIGS.get_or_init(Default::default);
    if let Some(config) = configs.lock().expect("no panic holds it").get(mode) {
        return Ok(config.clone());
    }
    let config = if mode.verify {
        let roots = trusted_roots(mode.ca_file.as_deref())
            .map_err(|message| CheckFailure::new(FailureKind::Tls, message))?;
        verifying_config(roots)
    } else {
        accepting_config()
    };
    let mut configs = configs.lock().expect("no panic holds it");
    Ok(configs.entry(mode.clone()).or_insert(config).clone())
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(crypto::ring::default_provider())
}

fn verifying_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions");
    let config = builder.with_root_certificates(roots).with_no_client_auth();
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

/// The system's trusted roots (the bundled Mozilla roots when the system has none), and the
/// certificates of `ca_file` besides them. HTTPS checks and the probe agent's reports both
/// trust these.
pub fn trusted_roots(ca_file: Option<&Path>) -> Result<RootCertStore, String> {
    static SYSTEM: OnceLock<RootCertStore> = OnceLock::new();
    let mut roots = SYSTEM.get_or_init(system_roots).clone();
    if let Some(path) = ca_file {
        for certificate in load_ca_file(path)? {
            roots
                .add(certificate)
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        }
    }
    Ok(roots)
}

/// The certificates of a PEM file; an error naming the file when it cannot be read or
/// holds none.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = std::fs::read(path).map_err(|e| format!("ca_file {}: {e}", path.display()))?;
    let certificates = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "ca_file {}: not a PEM certificate file: {e}",
                path.display()
            )
        })?;
    if certificates.is_empty() {
        return Err(format!(
            "ca_file {}: no PEM certificate in the file",
            path.display()
        ));
    }
    Ok(certificates)
}

fn system_roots() -> RootCertStore {
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

/// Why a certificate was refused, in words an operator reads.
fn describe_certificate_error(problem: &CertificateError) -> String {
    use CertificateError::*;
    match problem {
        UnknownIssuer => "unknown issuer (not signed by a trusted root; see ca_file)".into(),
        BadSignature => "bad signature".into(),
        Expired | ExpiredContext { .. } => "certificate expired".into(),
        NotValidYet | NotValidYetContext { .. } => "certificate not valid yet".into(),
        Revoked => "certificate revoked".into(),
        NotValidForName | NotValidForNameContext { .. } => {
            "certificate not valid for the server name".into()
        }
        BadEncoding => "malformed certificate".into(),
        InvalidPurpose | InvalidPurposeContext { .. } => {
            "certificate not meant for a TLS server (extended key usage)".into()
        }
        UnhandledCriticalExtension => "certificate has an unknown critical extension".into(),
        ApplicationVerificationFailure => "certificate refused by the verifier".into(),
        Other(other) => describe_webpki_error(&format!("{other:?}")),
        other => words(&format!("{other:?}")),
    }
}

/// A certificate problem that rustls passes on from webpki, by its name.
fn describe_webpki_error(name: &str) -> String {
    let name = name.trim_start_matches("OtherError(").trim_end_matches(')');
    match name {
        "CaUsedAsEndEntity" => {
            "the server sent a CA certificate as its own certificate (CA used as end entity)".into()
        }
        "EndEntityUsedAsCa" => "a server certificate was used to sign another one".into(),
        "UnsupportedSignatureAlgorithm" | "UnsupportedSignatureAlgorithmForPublicKey" => {
            "certificate signed with an unsupported algorithm".into()
        }
        "UnsupportedCertVersion" => "unsupported certificate version".into(),
        "MissingOrMalformedExtensions" => "certificate extensions missing or malformed".into(),
        "PathLenConstraintViolated" => "certificate chain too long for its CA".into(),
        "NameConstraintViolation" => "certificate outside its CA's name constraints".into(),
        other => words(other),
    }
}

/// `CaUsedAsEndEntity` as "ca used as end entity": a name split into lower-case words.
fn words(name: &str) -> String {
    let name: String = name.chars().take_while(|c| c.is_alphanumeric()).collect();
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    format!("certificate refused: {out}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_problems_read_as_english() {
        let ca = CertificateError::Other(rustls::OtherError(Arc::new(
            webpki_error_stand_in::CaUsedAsEndEntity,
        )));
        let text = describe_certificate_error(&ca);
        assert_eq!(
            text,
            "the server sent a CA certificate as its own certificate (CA used as end entity)"
        );
        assert_eq!(
            describe_certificate_error(&CertificateError::UnknownIssuer),
            "unknown issuer (not signed by a trusted root; see ca_file)"
        );
        assert_eq!(
            words("SomeNewProblem"),
            "certificate refused: some new problem"
        );
        assert_eq!(
            describe_webpki_error("OtherError(UnknownThing)"),
            "certificate refused: unknown thing"
        );
    }

    /// A stand-in with the Debug name webpki gives the error (its type is not public here).
    mod webpki_error_stand_in {
        #[derive(Debug)]
        pub struct CaUsedAsEndEntity;
        impl std::fmt::Display for CaUsedAsEndEntity {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("CaUsedAsEndEntity")
            }
        }
        impl std::error::Error for CaUsedAsEndEntity {}
    }
}
