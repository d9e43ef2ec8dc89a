//! The control listener's TLS, read again from its files on SIGHUP and `POST /v1/reload`: a
//! reload that cannot load them keeps the certificate in use and says why. Connections
//! already open keep the configuration they were accepted with.

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// Where the certificate chain, its key and the client CA (if any) are read from.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

impl TlsFiles {
    /// Reads the files into a server configuration; the error names the file and reason.
    pub fn load(&self) -> Result<Arc<ServerConfig>, String> {
        crate::tls::server_config(&self.cert, &self.key, self.client_ca.as_deref())
    }
}

/// The configuration in force and the files it came from.
pub(super) struct ReloadableTls {
    files: TlsFiles,
    current: ArcSwap<ServerConfig>,
}

impl ReloadableTls {
    pub fn new(files: TlsFiles, config: Arc<ServerConfig>) -> ReloadableTls {
        ReloadableTls {
            files,
            current: ArcSwap::new(config),
        }
    }

    /// An acceptor with the configuration in force now.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.current.load_full())
    }

    /// Reads the files again; keeps the old configuration when they do not load.
    pub fn reload(&self, trigger: &str) {
        match self.files.load() {
            Ok(config) => {
                self.current.store(config);
                tracing::info!(
                    trigger,
                    cert = %self.files.cert.display(),
                    "control TLS: certificate and key read again"
                );
            }
            Err(reason) => tracing::error!(
                trigger,
                "control TLS: {reason}; still using the previous certificate"
            ),
        }
    }
}
