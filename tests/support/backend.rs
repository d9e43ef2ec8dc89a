//! A real HTTP backend on a loopback address for failover tests: answers every request
//! with `200 ok` until stopped, and can be started again on the same address.

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
        listener.set_nonblocking(true).unwrap();
        self.addr = listener.local_addr().unwrap();
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

/// A port free on every one of `hosts` at the time of asking.
pub fn port_free_on(hosts: &[&str]) -> u16 {
    'search: loop {
        let probe = TcpListener::bind((hosts[0], 0)).unwrap();
        let port = probe.local_addr().unwrap().port();
        for host in &hosts[1..] {
            if TcpListener::bind((*host, port)).is_err() {
                continue 'search;
            }
        }
        return port;
    }
}
