//! The control listener's own TLS against a real `swivel serve`: HTTPS with a private CA's
//! certificate (and plain HTTP refused on that port), `swivel ctl` over https with
//! `--ca-file`, the certificate read again on SIGHUP (and kept when the new files do not
//! load), client certificates required with `tls_client_ca`, and `swivel check` refusing
//! TLS files that do not load, naming the file and the reason.

use crate::support::pki::{client_config, Ca, Leaf};
use crate::support::process::{run_swivel, stderr, stdout, Config, Process, STARTUP};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The name in the control listener's certificate: the test control address.
const CONTROL_IP: &str = "127.0.1.1";

fn write_config(dir: &Path, control: &str) -> std::path::PathBuf {
    crate::support::zone::write(dir, crate::support::zone::APEX);
    Config::new()
        .server("workers = 1")
        .control(control)
        .example_zone()
        .write(&dir.join("swivel.toml"))
}

fn start(dir: &Path, control: &str) -> (Process, SocketAddr) {
    let config = write_config(dir, control);
    let process = Process::swivel(
        &["serve", "--config", config.to_str().unwrap()],
        &dir.join("swivel.log"),
    );
    let control = process.wait_listening(STARTUP).control;
    (process, control)
}

/// `GET /healthz` over TLS with `config`; the status line, or the error.
fn https_healthz(control: SocketAddr, config: Arc<rustls::ClientConfig>) -> Result<String, String> {
    let name = rustls::pki_types::ServerName::try_from(CONTROL_IP).unwrap();
    let mut tls =
        rustls::ClientConnection::new(config, name.to_owned()).map_err(|e| e.to_string())?;
    let mut tcp = std::net::TcpStream::connect(control).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    match stream.read_to_end(&mut reply) {
        Ok(_) => {}
        // Some servers close without close_notify; what was read still counts.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !reply.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    let text = String::from_utf8_lossy(&reply).into_owned();
    if text.is_empty() {
        return Err("connection closed without a reply".to_string());
    }
    Ok(text.lines().next().unwrap_or("").to_string())
}

#[test]
fn the_control_api_serves_https_ctl_reaches_it_and_sighup_reads_the_certificate_again() {
    let dir = tempfile::tempdir().unwrap();
    let first_ca = Ca::new();
    first_ca.server(&[CONTROL_IP]).write(dir.path(), "control");
    std::fs::write(dir.path().join("ca.pem"), first_ca.pem()).unwrap();
    let (mut server, control) = start(
        dir.path(),
        "tls_cert = \"control.pem\"\ntls_key = \"control.key\"",
    );
    assert_eq!(
        https_healthz(control, client_config(&first_ca.pem(), None)).as_deref(),
        Ok("HTTP/1.1 200 OK")
    );
    // Negative controls: another CA's client refuses the certificate; plain HTTP gets no
    // HTTP reply.
    let other_ca = Ca::new();
    let refused = https_healthz(control, client_config(&other_ca.pem(), None)).unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    let mut plain = std::net::TcpStream::connect(control).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    let _ = plain.read_to_end(&mut reply);
    assert!(
        !reply.starts_with(b"HTTP/1.1 200"),
        "plain HTTP is not served"
    );

    // swivel ctl over https: with the CA it works, without it says why it cannot.
    let url = format!("https://{control}");
    let ca = dir.path().join("ca.pem");
    let status = run_swivel(&[
        "ctl",
        "--control",
        &url,
        "--ca-file",
        ca.to_str().unwrap(),
        "status",
    ]);
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(stdout(&status).contains("swivel"), "{}", stdout(&status));
    let untrusting = run_swivel(&["ctl", "--control", &url, "status"]);
    assert!(!untrusting.status.success());
    assert!(
        stderr(&untrusting).contains("TLS"),
        "{}",
        stderr(&untrusting)
    );

    // A new certificate from another CA, read on SIGHUP.
    let second_ca = Ca::new();
    second_ca.server(&[CONTROL_IP]).write(dir.path(), "control");
    server.signal("HUP");
    server.wait_for_log("control TLS: certificate and key read again", STARTUP);
    assert_eq!(
        https_healthz(control, client_config(&second_ca.pem(), None)).as_deref(),
        Ok("HTTP/1.1 200 OK")
    );
    assert!(https_healthz(control, client_config(&first_ca.pem(), None)).is_err());

    // Files that do not load: the reload says why and the certificate in use stays.
    std::fs::write(dir.path().join("control.pem"), "not a certificate").unwrap();
    server.signal("HUP");
    server.wait_for_log("still using the previous certificate", STARTUP);
    let log = server.log();
    let control_pem = dir.path().join("control.pem");
    assert!(
        log.contains(&format!("control.tls_cert {}", control_pem.display())),
        "{log}"
    );
    assert_eq!(
        https_healthz(control, client_config(&second_ca.pem(), None)).as_deref(),
        Ok("HTTP/1.1 200 OK")
    );
    assert!(server.is_running());
}

#[test]
fn with_tls_client_ca_only_clients_with_a_certificate_it_signed_get_in() {
    let dir = tempfile::tempdir().unwrap();
    let server_ca = Ca::new();
    server_ca.server(&[CONTROL_IP]).write(dir.path(), "control");
    let agents_ca = Ca::new();
    std::fs::write(dir.path().join("agents-ca.pem"), agents_ca.pem()).unwrap();
    let (_server, control) = start(
        dir.path(),
        "tls_cert = \"control.pem\"\ntls_key = \"control.key\"\ntls_client_ca = \"agents-ca.pem\"",
    );
    let trusted: Leaf = agents_ca.client("fra1");
    assert_eq!(
        https_healthz(control, client_config(&server_ca.pem(), Some(&trusted))).as_deref(),
        Ok("HTTP/1.1 200 OK")
    );
    // Negative controls: no certificate, or one from another CA.
    let none = https_healthz(control, client_config(&server_ca.pem(), None));
    assert!(none.is_err(), "{none:?}");
    let stranger = Ca::new().client("fra1");
    let foreign = https_healthz(control, client_config(&server_ca.pem(), Some(&stranger)));
    assert!(foreign.is_err(), "{foreign:?}");

    // swivel ctl presents one with --client-cert and --client-key.
    trusted.write(dir.path(), "ctl-client");
    std::fs::write(dir.path().join("server-ca.pem"), server_ca.pem()).unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let url = format!("https://{control}");
    let (ca, cert, key) = (
        path("server-ca.pem"),
        path("ctl-client.pem"),
        path("ctl-client.key"),
    );
    let with = run_swivel(&[
        "ctl",
        "--control",
        &url,
        "--ca-file",
        &ca,
        "--client-cert",
        &cert,
        "--client-key",
        &key,
        "status",
    ]);
    assert!(with.status.success(), "{}", stderr(&with));
    let without = run_swivel(&["ctl", "--control", &url, "--ca-file", &ca, "status"]);
    assert!(!without.status.success(), "{}", stdout(&without));
}

#[test]
fn check_refuses_control_tls_files_that_do_not_load_naming_file_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    ca.server(&[CONTROL_IP]).write(dir.path(), "good");
    ca.server(&[CONTROL_IP]).write(dir.path(), "other");
    std::fs::write(dir.path().join("garbage.pem"), "hello").unwrap();
    let cases = [
        (
            "tls_cert = \"missing.pem\"\ntls_key = \"good.key\"",
            "control.tls_cert",
            "missing.pem",
            "No such file",
        ),
        (
            "tls_cert = \"garbage.pem\"\ntls_key = \"good.key\"",
            "control.tls_cert",
            "garbage.pem",
            "no PEM certificate",
        ),
        (
            "tls_cert = \"good.pem\"\ntls_key = \"garbage.pem\"",
            "control.tls_key",
            "garbage.pem",
            "no PEM private key",
        ),
        (
            "tls_cert = \"good.pem\"\ntls_key = \"other.key\"",
            "control.tls_cert",
            "good.pem",
            "does not belong to the certificate",
        ),
        (
            "tls_cert = \"good.pem\"\ntls_key = \"good.key\"\ntls_client_ca = \"garbage.pem\"",
            "control.tls_client_ca",
            "garbage.pem",
            "no PEM certificate",
        ),
    ];
    for (keys, key, file, reason) in cases {
        let config = write_config(dir.path(), keys);
        for command in ["check", "serve"] {
            let output = run_swivel(&[command, "--config", config.to_str().unwrap()]);
            assert!(!output.status.success(), "{command} with {keys}");
            let text = format!("{}{}", stdout(&output), stderr(&output));
            let named = format!("{key} {}", dir.path().join(file).display());
            assert!(
                text.contains(&named) && text.contains(reason),
                "{command} with {keys}: wanted {named:?} and {reason:?} in:\n{text}"
            );
        }
    }
    // Negative control: the good pair passes the check.
    let config = write_config(
        dir.path(),
        "tls_cert = \"good.pem\"\ntls_key = \"good.key\"",
    );
    let output = run_swivel(&["check", "--config", config.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
}
