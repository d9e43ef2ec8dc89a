//! The control listener's accept loop and connections: each accepted within the cap of
//! [`super::connections`], through the TLS handshake when `[control]` has a certificate,
//! then served as HTTP/1.1 by hyper with the axum router, until it closes, is idle too long,
//! is too slow to send a request header, or makes room for a newcomer.

use super::connections::{Activity, Expiry, Slot, Slots};
use super::tls::ReloadableTls;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// hyper's read buffer, which bounds a request header: 16 KiB.
const MAX_HEADER_BUFFER: usize = 16 * 1024;

/// The timeouts of a connection between requests.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

/// Accepts connections until the runtime stops.
pub(super) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    slots: Arc<Slots>,
    tls: Option<Arc<ReloadableTls>>,
    timeouts: Timeouts,
) {
    loop {
        slots.ready().await;
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors in spite of the budget (something else holds them):
                // pause instead of spinning.
                tracing::warn!(%error, "control: accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = slots.admit();
        let acceptor = tls.as_ref().map(|tls| tls.acceptor());
        tokio::spawn(connection(
            stream,
            peer,
            slot,
            router.clone(),
            acceptor,
            timeouts,
        ));
    }
}

/// One connection, from the handshake to its close.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    router: Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    timeouts: Timeouts,
) {
    let activity = slot.activity.clone();
    let served = async {
        let _ = stream.set_nodelay(true);
        match acceptor {
            None => serve_http(stream, peer, &activity, router).await,
            Some(acceptor) => match acceptor.accept(stream).await {
                Ok(tls) => serve_http(tls, peer, &activity, router).await,
                Err(error) => tracing::debug!(%peer, %error, "control: TLS handshake failed"),
            },
        }
    };
    tokio::select! {
        () = served => {}
        expiry = activity.expired(timeouts.header_read, timeouts.idle) => match expiry {
            Expiry::Header => tracing::debug!(%peer, "control: no request header in time; closed"),
            Expiry::Idle => tracing::debug!(%peer, "control: idle keep-alive connection closed"),
        },
        () = slot.evict.notified() => {
            tracing::debug!(%peer, "control: idle connection closed to make room for a new one");
        }
    }
    drop(slot);
}

async fn serve_http<S>(stream: S, peer: SocketAddr, activity: &Arc<Activity>, router: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let activity = activity.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let router = router.clone();
        activity.request_started();
        let finished = Finished(activity.clone());
        async move {
            let _finished = finished;
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            tower::ServiceExt::oneshot(router, request).await
        }
    });
    let result = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .max_buf_size(MAX_HEADER_BUFFER)
        .serve_connection(io, service)
        .await;
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "control: connection ended with an error");
    }
}

/// Marks a request finished when its handling ends, however it ends.
struct Finished(Arc<Activity>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A stream that tells the connection's [`Activity`] when bytes arrive.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_read();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
