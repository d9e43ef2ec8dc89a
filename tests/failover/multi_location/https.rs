//! Reports over HTTPS, as across a network: a TLS-terminating proxy (a private CA's
//! certificate for `localhost`) in front of a responder's control API. The agent that
//! trusts the CA through `[probe] ca_file` gets its reports through; the one that does not
//! refuses the unverified connection, says why, and its results never arrive.

use super::fleet::{pool_text, Process, Responder};
use crate::support::backend::Backend;
use crate::support::process::{CONTROL_LISTEN, DNS_LISTEN, STARTUP};
use crate::support::wait_until;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// A private CA (PEM) and a TLS acceptor whose certificate for `localhost` it signed.
fn private_ca() -> (String, tokio_rustls::TlsAcceptor) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
        .unwrap();
    (ca.pem(), tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Terminates TLS on a loopback port and passes each connection on to `upstream`.
async fn proxy(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    upstream: SocketAddr,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(mut tls) = acceptor.accept(stream).await else {
                return;
            };
            let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
        });
    }
}

#[test]
fn reports_over_https_need_a_verified_certificate() {
    let endpoint: IpAddr = [127, 0, 31, 2].into();
    let backend = Backend::start(SocketAddr::new(endpoint, 0));
    let port = backend.addr().port();
    let dir = tempfile::tempdir().unwrap();
    let pool = pool_text(endpoint, port, None).replace("quorum = 2", "quorum = 1");
    let dns = DNS_LISTEN;
    let control = CONTROL_LISTEN;
    crate::support::zone::write(dir.path(), crate::support::zone::APEX);
    let responder_config = format!(
        "[server]\nlisten = [\"{dns}\"]\nworkers = 1\n[control]\nlisten = \"{control}\"\n\
         [checks]\nlocal = false\n[[checker]]\nname = \"trusting\"\ntoken = \"trusting-token-0123\"\n\
         [[checker]]\nname = \"doubting\"\ntoken = \"doubting-token-0123\"\n\
         [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n{pool}"
    );
    let path = dir.path().join("responder.toml");
    std::fs::write(&path, responder_config).unwrap();
    let process = Process::swivel_in(
        &[],
        &["serve", "--config", path.to_str().unwrap()],
        &dir.path().join("responder.log"),
    );
    let listening = process.wait_listening(STARTUP);
    let (dns, control) = (listening.dns(), listening.control);
    let responder = Responder {
        process,
        dns,
        control,
    };

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (ca_pem, acceptor) = private_ca();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    runtime.spawn(proxy(listener, acceptor, control));
    std::fs::write(dir.path().join("ca.pem"), ca_pem).unwrap();

    let agent = |name: &str, token: &str, ca: &str| {
        let text = format!(
            "[probe]\nname = \"{name}\"\nreport_to = [\"https://localhost:{proxy_port}\"]\ntoken = \"{token}\"\n{ca}{pool}"
        );
        let config = dir.path().join(format!("{name}.toml"));
        std::fs::write(&config, text).unwrap();
        let log = dir.path().join(format!("{name}.log"));
        Process::swivel_in(&[], &["probe", "--config", config.to_str().unwrap()], &log)
    };
    let trusting = agent("trusting", "trusting-token-0123", "ca_file = \"ca.pem\"\n");
    let doubting = agent("doubting", "doubting-token-0123", "");

    // Generous deadlines: the agents are processes of their own, on a loaded machine.
    let arrived = wait_until(Duration::from_secs(20), || {
        responder.view("trusting")["fresh"] == true
    });
    assert!(
        arrived,
        "reports over HTTPS should arrive: {}; agent log:\n{}",
        responder.endpoint(),
        trusting.log()
    );
    assert_eq!(
        responder.answers().as_deref(),
        Some(&[[127, 0, 31, 2].into()][..])
    );
    trusting.wait_for_log("reporting to the responder", Duration::from_secs(10));

    doubting.wait_for_log("cannot report to the responder", Duration::from_secs(20));
    let log = doubting.log();
    assert!(
        log.contains("TLS: invalid peer certificate: UnknownIssuer"),
        "{log}"
    );
    assert_eq!(
        log.matches("cannot report to the responder").count(),
        1,
        "the failure is logged once, not per retry:\n{log}"
    );
    let view = responder.view("doubting");
    assert_eq!(
        (view["state"].as_str(), view["fresh"].as_bool()),
        (Some("unknown"), Some(false))
    );
}
