//! The server started in this process (as `swivel serve` starts it), for the tests of the
//! serving layer: a table compiled from a zone text, and a runtime for the TCP side.

use std::io;
use std::path::Path;
use swivel::name::Name;
use swivel::server::{self, Server, Settings};
use swivel::table::{SharedTable, Table};

/// A started server and the runtime its TCP side runs on. Dropping it stops the server
/// (its UDP worker threads are joined) and then the runtime.
pub struct Running {
    pub server: Server,
    pub runtime: tokio::runtime::Runtime,
}

/// `zone` (for `example.test.`) compiled into a shared answer table.
pub fn table(zone: &str) -> SharedTable {
    let origin = Name::from_text("example.test.").unwrap();
    let zone = swivel::zone::parse_zone(&origin, Path::new("test.zone"), zone.as_bytes())
        .expect("test zone parses");
    Table::compile(&[zone], &[]).shared()
}

/// A runtime with one worker thread for the TCP side.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Starts a server for `settings` serving `zone`.
pub fn start(settings: &Settings, zone: &str) -> io::Result<Running> {
    let runtime = runtime();
    let server = server::start(settings, table(zone), runtime.handle())?;
    Ok(Running { server, runtime })
}
