//! DNS over TCP (RFC 7766): an accept loop per listen address on the tokio runtime, one task
//! per connection answering length-prefixed queries in order, with an idle timeout (shorter
//! under pressure) and the slots of [`super::tcp_slots`], where an idle connection gives
//! way to a newcomer.

use super::notify::NotifyInbox;
use super::tcp_slots::{self, Permit, Slots};
use super::transfer::{self, SharedOffered};
use crate::engine::{self, Outcome, Transport};
use crate::table::{Client, SharedTable};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Pending connections the kernel queues before the accept loop takes them.
const LISTEN_BACKLOG: i32 = 1024;
/// Every TCP message starts with its length in two bytes (RFC 1035 section 4.2.2).
const LENGTH_PREFIX: usize = 2;
/// Largest DNS message over TCP.
#[cfg(test)]
const MAX_MESSAGE: usize = u16::MAX as usize;

thread_local! {
    /// Every TCP reply is built here, then copied out at its own size: a connection keeps a
    /// buffer as large as its largest reply so far, not the 64 KiB any reply might need.
    static REPLY_SCRATCH: RefCell<Box<[u8]>> =
        RefCell::new(vec![0; LENGTH_PREFIX + engine::TCP_REPLY_BUF].into_boxed_slice());
}

/// Binds a listening TCP socket (not yet registered with a runtime).
pub(super) fn bind_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&SockAddr::from(addr))?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Accepts connections on `listener` until cancelled, serving each in its own task; the
/// connections' tasks belong to the loop, so cancelling it ends them too.
pub(super) async fn accept_loop(
    listener: TcpListener,
    table: SharedTable,
    slots: Arc<Slots>,
    idle_timeout: Duration,
    notify: Option<NotifyInbox>,
    transfers: Option<SharedOffered>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // Finished connections are reaped as they end, so the set holds open ones only.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Typically out of file descriptors; pause instead of spinning.
                tracing::warn!(%error, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (permit, evicted) = slots.admit(peer.ip());
        if let Some(cap) = evicted {
            tracing::debug!(%peer, ?cap, "TCP cap reached: the connection idle the longest gives way");
        }
        let table = table.clone();
        let notify = notify.clone().map(|inbox| (inbox, peer.ip()));
        let transfers = transfers.clone();
        connections.spawn(async move {
            let notify = notify.as_ref().map(|(inbox, ip)| (inbox, *ip));
            if let Err(error) = serve_connection(
                stream,
                &table,
                &permit,
                idle_timeout,
                notify,
                transfers.as_ref(),
                peer.ip(),
            )
            .await
            {
                tracing::debug!(%peer, %error, "TCP connection ended with an error");
            }
            drop(permit);
        });
    }
}

/// Answers queries on one connection in order until the client closes it, a query goes
/// unanswered, no complete query arrives within the idle timeout, or the connection gives
/// its slot to a newcomer.
async fn serve_connection(
    stream: TcpStream,
    table: &SharedTable,
    permit: &Permit,
    idle_timeout: Duration,
    notify: Option<(&NotifyInbox, IpAddr)>,
    transfers: Option<&SharedOffered>,
    peer: IpAddr,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    // Buffers grow with use: an idle or half-sent connection holds only the bytes it sent,
    // an answered one its largest query and reply, so held connections cost little memory.
    let mut query = Vec::new();
    let mut reply = Vec::new();
    // Picks among the variants of pool answers; starts from the first query's ID so that
    // connections do not all begin with the same variant.
    let mut spin: Option<u32> = None;
    loop {
        let len = match read_while_wanted(&mut reader, &mut query, permit, idle_timeout).await {
            None => return Ok(()),
            Some(Ok(Some(len))) => len,
            Some(Ok(None)) => return Ok(()),
            Some(Err(error)) => return Err(error),
        };
        permit.touch();
        let next = match spin {
            Some(previous) => previous.wrapping_add(1),
            None => query
                .first_chunk::<2>()
                .map_or(0, |id| u16::from_be_bytes(*id) as u32),
        };
        spin = Some(next);
        // Transfers out (and signed SOA queries) for offered zones: see `super::transfer`.
        if let Some(offered) = transfers {
            let answered = transfer::answer(
                &query[..len],
                peer,
                table,
                offered,
                &mut writer,
                idle_timeout,
            );
            if let Some(result) = answered.await {
                result?;
                permit.touch();
                continue;
            }
        }
        // A NOTIFY is answered here and handed to the runtime (see `super::notify`).
        let notified = notify.and_then(|(inbox, peer)| {
            REPLY_SCRATCH.with_borrow_mut(|scratch| {
                let len = inbox.take(&query[..len], Some(peer), &mut scratch[LENGTH_PREFIX..])?;
                reply.clear();
                reply.extend_from_slice(frame_reply(scratch, len));
                Some(())
            })
        });
        if notified.is_some() {
            match tokio::time::timeout(idle_timeout, writer.write_all(&reply)).await {
                Err(_elapsed) => return Ok(()),
                Ok(result) => result?,
            }
            permit.touch();
            continue;
        }
        let outcome = REPLY_SCRATCH.with_borrow_mut(|scratch| {
            let outcome = engine::answer(
                &query[..len],
                &table.load(),
                Transport::Tcp,
                next,
                Client::from_ip(peer),
                &mut scratch[LENGTH_PREFIX..],
            );
            if let Outcome::Reply { len, .. } = outcome {
                reply.clear();
                reply.extend_from_slice(frame_reply(scratch, len));
            }
            outcome
        });
        super::stats::count_tcp(&outcome);
        if !matches!(outcome, Outcome::Reply { .. }) {
            return Ok(());
        }
        match tokio::time::timeout(idle_timeout, writer.write_all(&reply)).await {
            Err(_elapsed) => return Ok(()),
            Ok(result) => result?,
        }
        permit.touch();
    }
}

/// Reads the next message unless the connection should close first: `None` when it was
/// idle past its timeout (the shorter one while the server is under pressure, looked at
/// again at least every short timeout) or gave its slot to a newcomer.
async fn read_while_wanted<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    permit: &Permit,
    idle_timeout: Duration,
) -> Option<io::Result<Option<usize>>> {
    let short = tcp_slots::pressure_idle_timeout(idle_timeout);
    let read = read_message(reader, buf);
    tokio::pin!(read);
    loop {
        let idle = permit.idle_for();
        let pressure = permit.under_pressure();
        if idle >= idle_timeout || (pressure && idle >= short) {
            if pressure && idle < idle_timeout {
                tcp_slots::count_closed_under_pressure();
            }
            return None;
        }
        // Wake at the short timeout, then every short timeout, to see whether pressure began.
        let wait = if idle < short {
            short - idle
        } else {
            short.min(idle_timeout - idle)
        };
        tokio::select! {
            biased;
            () = permit.evicted() => return None,
            result = &mut read => return Some(result),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Reads one length-prefixed message into `buf` (which grows as bytes arrive, never to more
/// than was received) and returns its length; `None` when the stream ends cleanly before a
/// new message. A stream ending inside a message is an error.
/// Crate-visible so that the fuzz targets drive this very reader.
pub(crate) async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> io::Result<Option<usize>> {
    let mut prefix = [0; LENGTH_PREFIX];
    let first = reader.read(&mut prefix).await?;
    if first == 0 {
        return Ok(None);
    }
    reader.read_exact(&mut prefix[first..]).await?;
    let len = usize::from(u16::from_be_bytes(prefix));
    buf.clear();
    let read = (&mut *reader).take(len as u64).read_to_end(buf).await?;
    if read < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(len))
}

/// Writes the length prefix in front of the `len`-byte reply that starts at
/// `buf[LENGTH_PREFIX..]`; returns the framed bytes.
pub(crate) fn frame_reply(buf: &mut [u8], len: usize) -> &[u8] {
    let prefix = u16::try_from(len).expect("a DNS message fits in 65535 bytes");
    buf[..LENGTH_PREFIX].copy_from_slice(&prefix.to_be_bytes());
    &buf[..LENGTH_PREFIX + len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_reply_prefixes_big_endian_length() {
        let mut buf = [0, 0, 1, 2, 3, 9];
        assert_eq!(frame_reply(&mut buf, 3), &[0, 3, 1, 2, 3]);
        let mut big = vec![0; LENGTH_PREFIX + 300];
        assert_eq!(&frame_reply(&mut big, 300)[..2], &[1, 44]);
    }

    #[tokio::test]
    async fn read_message_takes_pipelined_messages_in_order() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let mut buf = vec![0; MAX_MESSAGE];
        client
            .write_all(&[0, 3, b'a', b'b', b'c', 0, 1, b'z'])
            .await
            .unwrap();
        assert_eq!(read_message(&mut server, &mut buf).await.unwrap(), Some(3));
        assert_eq!(&buf[..3], b"abc");
        assert_eq!(read_message(&mut server, &mut buf).await.unwrap(), Some(1));
        assert_eq!(&buf[..1], b"z");
        drop(client);
        assert_eq!(read_message(&mut server, &mut buf).await.unwrap(), None);
    }

    #[tokio::test]
    async fn read_message_reassembles_a_message_split_across_writes() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            for piece in [&[0][..], &[4, b'w'], b"xy", b"z"] {
                client.write_all(piece).await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        let mut buf = vec![0; MAX_MESSAGE];
        assert_eq!(read_message(&mut server, &mut buf).await.unwrap(), Some(4));
        assert_eq!(&buf[..4], b"wxyz");
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn read_message_fails_when_the_stream_ends_inside_a_message() {
        for partial in [&[0][..], &[0, 5, 1, 2]] {
            let (mut client, mut server) = tokio::io::duplex(64);
            client.write_all(partial).await.unwrap();
            drop(client);
            let error = read_message(&mut server, &mut vec![0; MAX_MESSAGE])
                .await
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        }
    }
}
