//! NOTIFY (RFC 1996) from the UDP workers to the runtime. A worker that receives a NOTIFY
//! answers it at once: NOERROR when the sender's address is one of the secondary zones'
//! primaries, REFUSED otherwise. A primary's notice (the zone and the sender) goes to the
//! runtime over a bounded channel that never blocks and never allocates (a preallocated
//! array; when it is full the notice is dropped and counted: the next refresh catches up).
//! The runtime checks that the sender is a primary of that very zone and refreshes it.

use crate::name::MAX_NAME_LEN;
use arc_swap::ArcSwap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::Arc;

/// The NOTIFY opcode.
const OPCODE_NOTIFY: u16 = 4;
/// Notices that may wait for the runtime.
pub const NOTIFY_QUEUE: usize = 64;

/// One NOTIFY from a primary's address: the zone it names and who sent it.
#[derive(Clone, Copy)]
pub struct Notice {
    pub from: IpAddr,
    name: [u8; MAX_NAME_LEN],
    len: u8,
}

impl Notice {
    /// The zone named, in lowercase wire form.
    pub fn zone(&self) -> &[u8] {
        &self.name[..usize::from(self.len)]
    }
}

/// The workers' side: hands notices over and knows the primaries' addresses.
#[derive(Clone)]
pub struct NotifyInbox {
    sender: SyncSender<Notice>,
    /// Every secondary zone's primaries' addresses (the runtime replaces them on reload).
    pub primaries: Arc<ArcSwap<Vec<IpAddr>>>,
    /// NOTIFY refused (not from a primary) and notices dropped on a full queue.
    pub refused: Arc<AtomicU64>,
    pub dropped: Arc<AtomicU64>,
}

/// A new inbox and the runtime's end of it.
pub fn inbox() -> (NotifyInbox, Receiver<Notice>) {
    let (sender, receiver) = std::sync::mpsc::sync_channel(NOTIFY_QUEUE);
    let inbox = NotifyInbox {
        sender,
        primaries: Arc::new(ArcSwap::from_pointee(Vec::new())),
        refused: Arc::new(AtomicU64::new(0)),
        dropped: Arc::new(AtomicU64::new(0)),
    };
    (inbox, receiver)
}

impl NotifyInbox {
    /// When `query` is a NOTIFY (opcode 4, QR clear, one question), writes the answer into
    /// `reply` (the header and question echoed, QR and AA set, no records) and returns its
    /// length; a primary's notice goes to the runtime. `None` for any other message, which
    /// the engine answers as usual.
    pub fn take(&self, query: &[u8], from: Option<IpAddr>, reply: &mut [u8]) -> Option<usize> {
        let flags = u16::from_be_bytes([*query.get(2)?, *query.get(3)?]);
        if flags & 0x8000 != 0 || (flags >> 11) & 0xf != OPCODE_NOTIFY {
            return None;
        }
        let (name, name_len, question_end) = question(query)?;
        if reply.len() < question_end {
            return None;
        }
        let listed = from.is_some_and(|from| self.primaries.load().contains(&from));
        let rcode = if listed { 0 } else { 5 };
        if let (true, Some(from)) = (listed, from) {
            let notice = Notice {
                from,
                name,
                len: name_len as u8,
            };
            if let Err(TrySendError::Full(_)) = self.sender.try_send(notice) {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        reply[..question_end].copy_from_slice(&query[..question_end]);
        // QR, the opcode and RD kept, AA; rcode.
        let flags = 0x8000 | (flags & 0x7900) | 0x0400 | rcode;
        reply[2..4].copy_from_slice(&flags.to_be_bytes());
        reply[6..12].fill(0);
        Some(question_end)
    }
}

/// The one question of `query`: its name lowercased, the name's length, and where the
/// question ends.
fn question(query: &[u8]) -> Option<([u8; MAX_NAME_LEN], usize, usize)> {
    if query.len() < 12 || query[4..6] != [0, 1] {
        return None;
    }
    let mut name = [0u8; MAX_NAME_LEN];
    let mut at = 12;
    loop {
        let len = usize::from(*query.get(at)?);
        if len > 63 || at - 12 + 1 + len > MAX_NAME_LEN {
            return None;
        }
        let label = query.get(at..at + 1 + len)?;
        name[at - 12..at - 12 + 1 + len].copy_from_slice(label);
        at += 1 + len;
        if len == 0 {
            break;
        }
    }
    let name_len = at - 12;
    name[..name_len].make_ascii_lowercase();
    let end = at + 4;
    (query.len() >= end).then_some((name, name_len, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NOTIFY for `Example.Test.` SOA with ID 0xabcd.
    fn notify() -> Vec<u8> {
        let mut m = vec![0xab, 0xcd, 0x20, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(b"\x07Example\x04Test\x00\x00\x06\x00\x01");
        m
    }

    #[test]
    fn a_primarys_notify_is_answered_and_handed_over_a_strangers_refused() {
        let (inbox, receiver) = inbox();
        let primary: IpAddr = "192.0.2.53".parse().unwrap();
        inbox.primaries.store(Arc::new(vec![primary]));
        let mut reply = [0u8; 512];
        let len = inbox.take(&notify(), Some(primary), &mut reply).unwrap();
        let mut expected = notify();
        expected[2..4].copy_from_slice(&[0xa4, 0x00]);
        assert_eq!(&reply[..len], &expected[..]);
        let notice = receiver.try_recv().unwrap();
        assert_eq!(notice.from, primary);
        assert_eq!(notice.zone(), b"\x07example\x04test\x00");

        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        let len = inbox.take(&notify(), Some(stranger), &mut reply).unwrap();
        assert_eq!(&reply[2..4], &[0xa4, 0x05]);
        assert_eq!(len, notify().len());
        assert!(receiver.try_recv().is_err());
        assert_eq!(inbox.refused.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn other_messages_are_left_to_the_engine_and_a_full_queue_drops() {
        let (inbox, _receiver) = inbox();
        let primary: IpAddr = "192.0.2.53".parse().unwrap();
        inbox.primaries.store(Arc::new(vec![primary]));
        let mut reply = [0u8; 512];
        let mut query = notify();
        query[2] = 0x00; // opcode 0
        assert_eq!(inbox.take(&query, Some(primary), &mut reply), None);
        let mut response = notify();
        response[2] |= 0x80;
        assert_eq!(inbox.take(&response, Some(primary), &mut reply), None);
        for cut in 0..notify().len() {
            assert_eq!(
                inbox.take(&notify()[..cut], Some(primary), &mut reply),
                None
            );
        }
        for _ in 0..NOTIFY_QUEUE + 3 {
            assert!(inbox.take(&notify(), Some(primary), &mut reply).is_some());
        }
        assert_eq!(inbox.dropped.load(Ordering::Relaxed), 3);
    }
}
