//! A signed zone's NSEC chain as the engine searches it: the owners' canonical sort keys in
//! one buffer, and for each owner its NSEC record and RRSIGs as finished bytes (owner names
//! uncompressed, so a piece can follow any answer). The proof that a name does not exist
//! depends on the name, so it is the one part of a signed answer chosen per query: by a
//! binary search, without allocation, and never by signing.

use crate::dnssec::nsec::{canonical_key, MAX_KEY_LEN};
use crate::name::Name;
use crate::wire::{class, rtype};

/// The chain of one zone; empty for an unsigned zone.
#[derive(Default)]
pub struct Chain {
    keys: Vec<u8>,
    /// End of each owner's key in `keys`, in canonical order.
    key_ends: Vec<u32>,
    pieces: Vec<u8>,
    /// End of each owner's piece in `pieces`.
    piece_ends: Vec<u32>,
    /// Records in each piece (the NSEC and its RRSIGs).
    piece_records: Vec<u16>,
}

/// The NSEC record of one owner and its RRSIGs, ready to copy into an authority section.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Piece<'c> {
    pub bytes: &'c [u8],
    pub records: u16,
}

impl Chain {
    /// Appends the next owner in canonical order: its sort key, NSEC RDATA and RRSIGs.
    pub fn push(&mut self, key: &[u8], owner: &Name, ttl: u32, nsec: &[u8], rrsigs: &[Vec<u8>]) {
        self.keys.extend_from_slice(key);
        self.key_ends.push(self.keys.len() as u32);
        let mut put = |t: u16, rdata: &[u8]| {
            self.pieces.extend_from_slice(owner.as_wire());
            self.pieces.extend_from_slice(&t.to_be_bytes());
            self.pieces.extend_from_slice(&class::IN.to_be_bytes());
            self.pieces.extend_from_slice(&ttl.to_be_bytes());
            self.pieces
                .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            self.pieces.extend_from_slice(rdata);
        };
        put(rtype::NSEC, nsec);
        for rrsig in rrsigs {
            put(rtype::RRSIG, rrsig);
        }
        self.piece_ends.push(self.pieces.len() as u32);
        self.piece_records.push(1 + rrsigs.len() as u16);
    }

    pub fn is_empty(&self) -> bool {
        self.key_ends.is_empty()
    }

    fn key(&self, link: usize) -> &[u8] {
        let start = link.checked_sub(1).map_or(0, |p| self.key_ends[p] as usize);
        &self.keys[start..self.key_ends[link] as usize]
    }

    /// The link whose NSEC covers or matches the lowercase wire name `name`: the last owner
    /// at or before it in canonical order. `None` for an empty chain.
    #[inline]
    pub fn covering(&self, name: &[u8]) -> Option<u32> {
        if self.is_empty() {
            return None;
        }
        let mut buf = [0u8; MAX_KEY_LEN];
        let len = canonical_key(name, &mut buf);
        let key = &buf[..len];
        let (mut low, mut high) = (0usize, self.key_ends.len());
        while low < high {
            let mid = (low + high) / 2;
            if self.key(mid) <= key {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        Some(low.saturating_sub(1) as u32)
    }

    /// The finished NSEC piece of `link`.
    #[inline]
    pub fn piece(&self, link: u32) -> Piece<'_> {
        let link = link as usize;
        let start = link
            .checked_sub(1)
            .map_or(0, |p| self.piece_ends[p] as usize);
        Piece {
            bytes: &self.pieces[start..self.piece_ends[link] as usize],
            records: self.piece_records[link],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::nsec::canonical_key_of;

    fn name(text: &str) -> Name {
        Name::from_text(text).unwrap()
    }

    fn chain(owners: &[&str]) -> Chain {
        let mut chain = Chain::default();
        for owner in owners {
            let owner = name(owner);
            chain.push(&canonical_key_of(&owner), &owner, 60, b"nsec", &[]);
        }
        chain
    }

    #[test]
    fn the_covering_link_is_the_last_owner_at_or_before_the_name() {
        let c = chain(&["example.", "a.example.", "m.example.", "z.example."]);
        let cover = |n: &str| c.covering(name(n).as_wire());
        assert_eq!(cover("example."), Some(0), "an owner matches itself");
        assert_eq!(cover("b.example."), Some(1));
        assert_eq!(cover("x.a.example."), Some(1), "below a sorts before m");
        assert_eq!(cover("m.example."), Some(2));
        assert_eq!(
            cover("zz.example."),
            Some(3),
            "the last owner covers the rest"
        );
        assert_eq!(Chain::default().covering(b"\0"), None);
    }

    #[test]
    fn a_piece_is_a_whole_uncompressed_record() {
        let c = chain(&["example.", "a.example."]);
        let piece = c.piece(1);
        assert_eq!(piece.records, 1);
        assert_eq!(
            piece.bytes,
            b"\x01a\x07example\x00\x00\x2f\x00\x01\x00\x00\x00\x3c\x00\x04nsec"
        );
    }
}
