//! TCP checks: healthy when a connect to the check address and port completes.

use super::CheckFailure;
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpStream;

/// Connects and closes again at once; the caller bounds the time.
pub(super) async fn check(address: IpAddr, port: u16) -> Result<(), CheckFailure> {
    let stream = connect(address, port).await?;
    drop(stream);
    Ok(())
}

/// Opens a TCP connection with Nagle off (checks send one small request each).
pub(super) async fn connect(address: IpAddr, port: u16) -> Result<TcpStream, CheckFailure> {
    let stream = TcpStream::connect(SocketAddr::new(address, port))
        .await
        .map_err(|error| CheckFailure::from_io(&error))?;
    // A socket that refuses the option still works, only a little slower.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}
