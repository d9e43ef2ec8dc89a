//! Authenticated denial with NSEC (RFC 4034 section 4): the canonical order of names
//! (section 6.1), the type bitmap, and NSEC RDATA. Pure; the table builds its chains and
//! the engine searches them with these.

use crate::name::{label_starts, Name};

/// The longest canonical key of a name: every label byte escaped to two bytes, plus one
/// terminator per label.
pub const MAX_KEY_LEN: usize = 2 * crate::name::MAX_NAME_LEN;

/// Writes the canonical sort key of the lowercase wire name `wire` into `out` and returns
/// its length. Keys compare bytewise in the canonical order of their names: labels from
/// the root down, each as its bytes (0 and 1 escaped to keep the order) and a terminator,
/// so a label sorts before the longer labels it begins and a name before its descendants.
/// No allocation: the engine calls it per query.
pub fn canonical_key(wire: &[u8], out: &mut [u8; MAX_KEY_LEN]) -> usize {
    let mut starts = [0u8; 128];
    let mut count = 0;
    for at in label_starts(wire) {
        starts[count] = at as u8;
        count += 1;
    }
    let mut len = 0;
    for &at in starts[..count].iter().rev() {
        let at = at as usize;
        let label = &wire[at + 1..at + 1 + wire[at] as usize];
        for &byte in label {
            if byte <= 1 {
                out[len] = 1;
                out[len + 1] = byte + 1;
                len += 2;
            } else {
                out[len] = byte;
                len += 1;
            }
        }
        out[len] = 0;
        len += 1;
    }
    len
}

/// The canonical sort key of `name` as an owned value, for building chains.
pub fn canonical_key_of(name: &Name) -> Vec<u8> {
    let mut buf = [0u8; MAX_KEY_LEN];
    let len = canonical_key(name.as_wire(), &mut buf);
    buf[..len].to_vec()
}

/// The type bitmap of RFC 4034 section 4.1.2 for `types` (any order, repeats allowed).
pub fn type_bitmap(types: impl IntoIterator<Item = u16>) -> Vec<u8> {
    let mut types: Vec<u16> = types.into_iter().collect();
    types.sort_unstable();
    types.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < types.len() {
        let window = types[i] >> 8;
        let mut bits = [0u8; 32];
        let mut used = 0;
        while i < types.len() && types[i] >> 8 == window {
            let low = (types[i] & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            used = low / 8 + 1;
            i += 1;
        }
        out.push(window as u8);
        out.push(used as u8);
        out.extend_from_slice(&bits[..used]);
    }
    out
}

/// NSEC RDATA: the next owner (uncompressed, case as given) and the type bitmap.
pub fn nsec_rdata(next: &Name, types: impl IntoIterator<Item = u16>) -> Vec<u8> {
    let mut rdata = next.as_wire().to_vec();
    rdata.extend(type_bitmap(types));
    rdata
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Vec<u8> {
        canonical_key_of(&Name::from_text(text).unwrap())
    }

    #[test]
    fn keys_sort_in_the_order_of_rfc_4034_section_6_1() {
        // The example list of RFC 4034 section 6.1, in order.
        let names = [
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "Z.a.example.",
            "zABC.a.EXAMPLE.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
        ];
        let keys: Vec<Vec<u8>> = names.iter().map(|n| key(n)).collect();
        for pair in keys.windows(2) {
            assert!(pair[0] < pair[1], "{:?} !< {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn a_label_with_a_zero_byte_sorts_after_its_prefix_and_before_longer_names() {
        assert!(key("a.b.") < key("a\\000.b."));
        assert!(
            key("c.a.b.") < key("a\\000.b."),
            "labels compare before descendants"
        );
        assert!(key("a\\000.b.") < key("a\\001.b."));
        assert!(key("a\\001.b.") < key("a\\002.b."));
        assert!(key("b.") < key("a.b."));
    }

    #[test]
    fn bitmap_of_rfc_4034_section_4_3() {
        // "A MX RRSIG NSEC TYPE1234" from the RFC's example NSEC record.
        let bitmap = type_bitmap([1, 15, 46, 47, 1234]);
        let mut expected = vec![0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b];
        expected.extend([0; 26]);
        expected.push(0x20);
        assert_eq!(bitmap, expected);
        assert_eq!(type_bitmap([47, 1, 1]), [0, 6, 0x40, 0, 0, 0, 0, 1]);
    }
}
