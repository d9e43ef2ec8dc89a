//! The real backends that health checks run against: [`Backend`], an HTTP server on a
//! loopback address that answers every request with `200 ok` until stopped and can start
//! again on the same address (it also passes TCP checks); ports shared by several loopback
//! addresses, bound without a check-then-use race; and, in [`scripted`], HTTP(S) backends
//! with a chosen behaviour that record what they were asked (the probe tests).

pub mod scripted;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Backend {
    addr: SocketAddr,
    running: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Backend {
    /// A backend serving on `addr` (port 0 picks one).
    pub fn start(addr: SocketAddr) -> Backend {
        let mut backend = Backend {
            addr,
            running: None,
        };
        backend.restart();
        backend
    }

    /// Backends on one port, chosen by the kernel, of every host in `hosts`.
    pub fn start_on(hosts: &[&str]) -> (u16, Vec<Backend>) {
        let (port, sockets) = bind_on_one_port(hosts, true);
        let backends = sockets
            .into_iter()
            .map(|socket| {
                let listener: TcpListener = socket.into();
                let mut backend = Backend {
                    addr: listener.local_addr().unwrap(),
                    running: None,
                };
                backend.serve(listener);
                backend
            })
            .collect();
        (port, backends)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts serving again (after [`Backend::stop`]).
    pub fn restart(&mut self) {
        assert!(
            self.running.is_none(),
            "backend {} already running",
            self.addr
        );
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_reuse_address(true).unwrap();
        socket
            .bind(&self.addr.into())
            .unwrap_or_else(|e| panic!("bind backend {}: {e}", self.addr));
        socket.listen(128).unwrap();
        let listener: TcpListener = socket.into();
        self.addr = listener.local_addr().unwrap();
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        stream.set_nonblocking(false).ok();
                        stream
                            .set_read_timeout(Some(Duration::from_millis(500)))
                            .ok();
                        let mut request = [0u8; 2048];
                        let _ = stream.read(&mut request);
                        let _ = stream.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        self.running = Some((stop, thread));
    }

    /// Stops accepting and closes the listening socket: checks get "connection refused".
    pub fn stop(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            stop.store(true, Ordering::Relaxed);
            thread.join().unwrap();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port of every host in `hosts` where TCP connections are refused, held for as long as
/// the returned sockets live: they are bound but do not listen, so no other test can take
/// the port meanwhile.
pub fn refusing_port(hosts: &[&str]) -> (u16, Vec<socket2::Socket>) {
    bind_on_one_port(hosts, false)
}

/// A port free on every one of `hosts` at the time of asking. Only for addresses that one
/// test alone uses (e.g. 127.0.11.3 for the loopback fleet); elsewhere take ports with
/// [`Backend::start_on`] or [`refusing_port`], which hold them.
pub fn port_free_on(hosts: &[&str]) -> u16 {
    let (port, _sockets) = bind_on_one_port(hosts, false);
    port
}

/// Binds a TCP socket on the same port of every host: the kernel picks the port on the
/// first, the others take it, and all start again on a new port if one cannot. With
/// `listen`, the sockets listen.
fn bind_on_one_port(hosts: &[&str], listen: bool) -> (u16, Vec<socket2::Socket>) {
    'attempt: for _ in 0..100 {
        let mut sockets = Vec::with_capacity(hosts.len());
        let mut port = 0;
        for host in hosts {
            let addr: SocketAddr = format!("{host}:{port}").parse().expect("an IPv4 host");
            let socket =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            socket.set_reuse_address(true).unwrap();
            if socket.bind(&addr.into()).is_err() {
                continue 'attempt;
            }
            if listen {
                socket.listen(128).unwrap();
            }
            port = socket.local_addr().unwrap().as_socket().unwrap().port();
            sockets.push(socket);
        }
        return (port, sockets);
    }
    panic!("no port free on every one of {hosts:?}");
}
