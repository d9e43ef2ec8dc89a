//! The TCP framing target: the server's own length-prefix reader
//! ([`crate::server::read_message`]) over a byte stream delivered in arbitrary pieces, checked
//! against a plain reading of the same bytes; then the replies framed with
//! [`crate::server::frame_reply`] and read back.

use super::engine::fuzz_table;
use crate::engine::{self, Outcome, Transport, TCP_REPLY_BUF};
use crate::server::{frame_reply, read_message};
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, BufReader, ReadBuf};

/// Polls after which a future over an in-memory reader is taken to be stuck.
const MAX_POLLS: usize = 1 << 20;

/// The first byte seeds how the stream is cut into reads (sizes, pending reads, whether a
/// `BufReader` sits in between as in the server); the rest is the stream a client sent.
/// Invariants: no panic; the reader returns exactly the messages a plain reading finds, in
/// order, then `None` at a clean end or `UnexpectedEof` when the stream stops inside a
/// prefix or message; each message is answered over TCP (until one is dropped, which ends a
/// connection) and the framed replies read back as the same replies.
pub fn tcp_framing(data: &[u8]) {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let expected = plain_reading(stream);
    let chunked = ChunkedReader::new(stream, seed);
    let mut reader: Box<dyn AsyncRead + Unpin + '_> = if seed & 1 == 0 {
        Box::new(chunked)
    } else {
        Box::new(BufReader::new(chunked))
    };
    let mut message = Vec::new();
    let mut reply = vec![0u8; 2 + TCP_REPLY_BUF];
    let mut replies = Vec::new();
    let mut framed_replies = Vec::new();
    let mut answering = true;
    for step in &expected.messages {
        let len = block_on(read_message(&mut reader, &mut message))
            .expect("a whole message reads")
            .expect("not the end");
        assert_eq!(
            message.len(),
            len,
            "the buffer holds the message and no more"
        );
        assert_eq!(&message[..len], *step, "message bytes");
        if answering {
            let outcome = engine::answer(
                &message[..len],
                fuzz_table(),
                Transport::Tcp,
                0,
                crate::table::Client::Unknown,
                &mut reply[2..],
            );
            match outcome {
                Outcome::Reply { len, .. } => {
                    replies.push(reply[2..2 + len].to_vec());
                    framed_replies.extend_from_slice(frame_reply(&mut reply, len));
                }
                Outcome::Drop(_) => answering = false,
            }
        }
    }
    let last = block_on(read_message(&mut reader, &mut message));
    match (last, expected.clean_end) {
        (Ok(None), true) => {}
        (Err(error), false) => assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof),
        (other, clean) => panic!("stream end: got {other:?}, clean end expected: {clean}"),
    }
    read_back(&framed_replies, &replies, seed);
}

/// The framed replies, read with the same reader, are the replies.
fn read_back(framed: &[u8], replies: &[Vec<u8>], seed: u8) {
    let mut reader = ChunkedReader::new(framed, seed.wrapping_add(1));
    let mut message = Vec::new();
    for reply in replies {
        let len = block_on(read_message(&mut reader, &mut message))
            .expect("a framed reply reads")
            .expect("not the end");
        assert_eq!(&message[..len], &reply[..]);
    }
    let end = block_on(read_message(&mut reader, &mut message)).expect("clean end");
    assert_eq!(end, None);
}

/// What a stream holds: its whole messages, and whether it ends between messages.
struct PlainReading<'a> {
    messages: Vec<&'a [u8]>,
    clean_end: bool,
}

fn plain_reading(mut stream: &[u8]) -> PlainReading<'_> {
    let mut messages = Vec::new();
    loop {
        match stream {
            [] => {
                return PlainReading {
                    messages,
                    clean_end: true,
                }
            }
            [high, low, rest @ ..]
                if rest.len() >= usize::from(u16::from_be_bytes([*high, *low])) =>
            {
                let len = usize::from(u16::from_be_bytes([*high, *low]));
                messages.push(&rest[..len]);
                stream = &rest[len..];
            }
            _ => {
                return PlainReading {
                    messages,
                    clean_end: false,
                }
            }
        }
    }
}

/// An in-memory stream that hands out its bytes in pseudo-random pieces (1 to 700 bytes),
/// now and then answering "not yet" first, as a socket would.
struct ChunkedReader<'a> {
    data: &'a [u8],
    at: usize,
    state: u32,
    pended: bool,
}

impl<'a> ChunkedReader<'a> {
    fn new(data: &'a [u8], seed: u8) -> Self {
        ChunkedReader {
            data,
            at: 0,
            state: 0x9e37_79b9 ^ u32::from(seed).wrapping_mul(0x0101_0101),
            pended: false,
        }
    }

    /// xorshift32: cheap, deterministic, good enough to vary piece sizes.
    fn next(&mut self) -> u32 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        self.state
    }
}

impl AsyncRead for ChunkedReader<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let roll = this.next();
        if roll % 5 == 0 && !this.pended {
            this.pended = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.pended = false;
        let piece = 1 + (roll >> 8) as usize % 700;
        let n = piece.min(this.data.len() - this.at).min(buf.remaining());
        buf.put_slice(&this.data[this.at..this.at + n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

/// Runs a future over in-memory readers to completion by polling it.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..MAX_POLLS {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("a read over an in-memory stream never finished");
}
