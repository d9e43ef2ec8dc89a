//! TLS material read from PEM files for Swivel's own HTTPS: the control listener's server
//! configuration (certificate chain, private key, and the CA that client certificates must
//! be signed by, if any), and the certificate a probe agent presents to responders. Every
//! error names the key and the file and says what is wrong, for `swivel check` and for logs.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::path::Path;
use std::sync::Arc;

/// The ring provider every Swivel TLS configuration uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of the PEM file at `path`; `key` names the setting in errors.
pub fn load_certificates(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = std::fs::read(path).map_err(|e| format!("{key} {}: {e}", path.display()))?;
    let certificates = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{key} {}: not a PEM certificate file: {e}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!(
            "{key} {}: no PEM certificate in the file",
            path.display()
        ));
    }
    Ok(certificates)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) of the PEM file at `path`.
pub fn load_private_key(key: &str, path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let text = std::fs::read(path).map_err(|e| format!("{key} {}: {e}", path.display()))?;
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| {
        format!(
            "{key} {}: no PEM private key in the file ({e})",
            path.display()
        )
    })
}

/// A certificate chain and its key, checked to belong together.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// Reads a certificate chain and its private key; `keys` names the two settings.
pub fn load_identity(keys: [&str; 2], cert: &Path, key: &Path) -> Result<Identity, String> {
    let chain = load_certificates(keys[0], cert)?;
    let private_key = load_private_key(keys[1], key)?;
    let signing = provider()
        .key_provider
        .load_private_key(private_key.clone_key())
        .map_err(|e| format!("{} {}: unusable private key: {e}", keys[1], key.display()))?;
    let certified = rustls::sign::CertifiedKey::new(chain.clone(), signing);
    certified.keys_match().map_err(|e| {
        format!(
            "{} {} and {} {}: the key does not belong to the certificate ({e})",
            keys[0],
            cert.display(),
            keys[1],
            key.display()
        )
    })?;
    Ok(Identity {
        chain,
        key: private_key,
    })
}

/// The control listener's TLS: its certificate chain and key, and when `client_ca` is
/// given, a client certificate signed by one of its CAs required of every client.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, String> {
    let identity = load_identity(["control.tls_cert", "control.tls_key"], cert, key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for certificate in load_certificates("control.tls_client_ca", path)? {
                roots
                    .add(certificate)
                    .map_err(|e| format!("control.tls_client_ca {}: {e}", path.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| format!("control.tls_client_ca {}: {e}", path.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| {
            format!(
                "control.tls_cert {} and control.tls_key {}: {e}",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
