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

/// The responder's own TLS, no proxy: `[control] tls_cert` with `tls_client_ca`. The agent
/// that trusts the responder's CA and presents a certificate signed by the agents' CA gets
/// its reports through; the one without a client certificate is refused at the handshake.
#[test]
fn agents_present_client_certificates_to_a_responder_with_its_own_tls() {
    use crate::support::pki::Ca;
    let endpoint: IpAddr = [127, 0, 31, 3].into();
    let backend = Backend::start(SocketAddr::new(endpoint, 0));
    let port = backend.addr().port();
    let dir = tempfile::tempdir().unwrap();
    let pool = pool_text(endpoint, port, None).replace("quorum = 2", "quorum = 1");
    crate::support::zone::write(dir.path(), crate::support::zone::APEX);
    let server_ca = Ca::new();
    server_ca
        .server(&["127.0.1.1"])
        .write(dir.path(), "control");
    std::fs::write(dir.path().join("server-ca.pem"), server_ca.pem()).unwrap();
    let agents_ca = Ca::new();
    std::fs::write(dir.path().join("agents-ca.pem"), agents_ca.pem()).unwrap();
    agents_ca.client("certified").write(dir.path(), "certified");
    let responder_config = format!(
        "[server]\nlisten = [\"{DNS_LISTEN}\"]\nworkers = 1\n[control]\nlisten = \"{CONTROL_LISTEN}\"\n\
         tls_cert = \"control.pem\"\ntls_key = \"control.key\"\ntls_client_ca = \"agents-ca.pem\"\n\
         [checks]\nlocal = false\n[[checker]]\nname = \"certified\"\ntoken = \"certified-token-0123\"\n\
         [[checker]]\nname = \"anonymous\"\ntoken = \"anonymous-token-0123\"\n\
         [[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n{pool}"
    );
    let path = dir.path().join("responder.toml");
    std::fs::write(&path, responder_config).unwrap();
    let process = Process::swivel_in(
        &[],
        &["serve", "--config", path.to_str().unwrap()],
        &dir.path().join("responder.log"),
    );
    let control = process.wait_listening(STARTUP).control;
    // The responder's status, read as a client with a certificate of the agents' CA.
    let reader =
        crate::support::pki::client_config(&server_ca.pem(), Some(&agents_ca.client("reader")));
    let view = |checker: &str| -> serde_json::Value {
        let (status, body) =
            crate::support::pki::https_get(control, "127.0.1.1", reader.clone(), "/v1/status")
                .unwrap();
        assert_eq!(status, 200, "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        let views = body["pools"][0]["endpoints"][0]["checkers"].clone();
        let found = views
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["checker"] == checker);
        found
            .cloned()
            .unwrap_or_else(|| panic!("no view of {checker} in {views}"))
    };
    let agent = |name: &str, extra: &str| {
        let text = format!(
            "[probe]\nname = \"{name}\"\nreport_to = [\"https://{control}\"]\n\
             token = \"{name}-token-0123\"\nca_file = \"server-ca.pem\"\n{extra}{pool}"
        );
        let config = dir.path().join(format!("{name}.toml"));
        std::fs::write(&config, text).unwrap();
        let log = dir.path().join(format!("{name}.log"));
        Process::swivel_in(&[], &["probe", "--config", config.to_str().unwrap()], &log)
    };
    let certified = agent(
        "certified",
        "client_cert = \"certified.pem\"\nclient_key = \"certified.key\"\n",
    );
    let anonymous = agent("anonymous", "");
    let arrived = wait_until(Duration::from_secs(20), || {
        view("certified")["fresh"] == true
    });
    assert!(
        arrived,
        "reports with a client certificate should arrive; agent log:\n{}\nresponder log:\n{}",
        certified.log(),
        process.log()
    );
    anonymous.wait_for_log("cannot report to the responder", Duration::from_secs(20));
    let refused = view("anonymous");
    assert_eq!(refused["fresh"].as_bool(), Some(false), "{refused}");
    // Negative control: without a client certificate the status cannot be read either.
    let bare = crate::support::pki::client_config(&server_ca.pem(), None);
    assert!(crate::support::pki::https_get(control, "127.0.1.1", bare, "/healthz").is_err());
}
