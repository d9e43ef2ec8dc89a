//! Domain names in uncompressed wire form, lowercased: the key type of zones and tables.
//!
//! A `Name` is the RFC 1035 wire encoding of an absolute name (length-prefixed labels ending
//! with the root label), with ASCII letters folded to lower case so that byte equality is DNS
//! name equality.

use std::fmt;

/// The longest name in wire form (RFC 1035 section 2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// The longest label.
pub const MAX_LABEL_LEN: usize = 63;

/// An absolute domain name in lowercase wire form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Box<[u8]>);

impl Name {
    /// The root name.
    pub fn root() -> Name {
        Name(Box::new([0]))
    }

    /// Builds a name from wire bytes, folding case; `None` unless `wire` is exactly one
    /// valid uncompressed name.
    pub fn from_wire(wire: &[u8]) -> Option<Name> {
        if wire_name_len(wire)? != wire.len() {
            return None;
        }
        Some(Name(wire.to_ascii_lowercase().into_boxed_slice()))
    }

    /// Parses presentation form (`www.example.test.`; a missing final dot is accepted).
    /// Supports `\.` and `\DDD` escapes.
    pub fn from_text(text: &str) -> Option<Name> {
        if text == "." {
            return Some(Name::root());
        }
        let text = text.strip_suffix('.').unwrap_or(text);
        let mut wire = Vec::with_capacity(text.len() + 2);
        let mut label = Vec::new();
        let mut chars = text.bytes().peekable();
        let finish = |label: &mut Vec<u8>, wire: &mut Vec<u8>| -> Option<()> {
            if label.is_empty() || label.len() > MAX_LABEL_LEN {
                return None;
            }
            wire.push(label.len() as u8);
            wire.extend_from_slice(label);
            label.clear();
            Some(())
        };
        while let Some(c) = chars.next() {
            match c {
                b'.' => finish(&mut label, &mut wire)?,
                b'\\' => {
                    let first = chars.next()?;
                    if first.is_ascii_digit() {
                        let d2 = chars.next().filter(u8::is_ascii_digit)?;
                        let d3 = chars.next().filter(u8::is_ascii_digit)?;
                        let v = (first - b'0') as u32 * 100
                            + (d2 - b'0') as u32 * 10
                            + (d3 - b'0') as u32;
                        label.push(u8::try_from(v).ok()?);
                    } else {
                        label.push(first);
                    }
                }
                c => label.push(c),
            }
        }
        finish(&mut label, &mut wire)?;
        wire.push(0);
        if wire.len() > MAX_NAME_LEN {
            return None;
        }
        Some(Name(wire.to_ascii_lowercase().into_boxed_slice()))
    }

    /// The wire bytes.
    pub fn as_wire(&self) -> &[u8] {
        &self.0
    }

    /// Length in wire form.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: a name holds at least the root label.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Number of labels, not counting the root.
    pub fn label_count(&self) -> usize {
        label_starts(&self.0).count()
    }

    /// The first label's bytes (empty for the root).
    pub fn first_label(&self) -> &[u8] {
        let len = self.0[0] as usize;
        &self.0[1..1 + len]
    }

    /// The name without its first label; `None` for the root.
    pub fn parent(&self) -> Option<Name> {
        if self.0[0] == 0 {
            return None;
        }
        Some(Name(self.0[1 + self.0[0] as usize..].into()))
    }

    /// Whether `self` equals `other` or lies below it.
    pub fn is_below_or_at(&self, other: &Name) -> bool {
        is_suffix_at_label(&self.0, &other.0)
    }

    /// `*.` prepended to this name.
    pub fn wildcard_child(&self) -> Option<Name> {
        if self.0.len() + 2 > MAX_NAME_LEN {
            return None;
        }
        let mut wire = Vec::with_capacity(self.0.len() + 2);
        wire.extend_from_slice(&[1, b'*']);
        wire.extend_from_slice(&self.0);
        Some(Name(wire.into_boxed_slice()))
    }

    /// Whether the first label is `*`.
    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with(&[1, b'*'])
    }

    /// Iterates over this name and its ancestors, ending with the root.
    pub fn ancestors(&self) -> impl Iterator<Item = &[u8]> {
        let wire = &self.0[..];
        label_starts(wire)
            .map(move |i| &wire[i..])
            .chain(std::iter::once(&wire[wire.len() - 1..]))
    }
}

/// Offsets of each non-root label's length byte in a valid uncompressed wire name.
pub fn label_starts(wire: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let len = *wire.get(pos)? as usize;
        if len == 0 {
            return None;
        }
        let start = pos;
        pos += 1 + len;
        Some(start)
    })
}

/// Length of the uncompressed name at the start of `wire`, if it is valid (no compression,
/// labels of at most 63 bytes, at most 255 bytes in all).
pub fn wire_name_len(wire: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let len = *wire.get(pos)? as usize;
        if len > MAX_LABEL_LEN {
            return None;
        }
        pos += 1 + len;
        if pos > MAX_NAME_LEN {
            return None;
        }
        if len == 0 {
            return Some(pos);
        }
    }
}

/// Whether `suffix` is `name` or a label-aligned tail of it (both lowercase wire names).
pub fn is_suffix_at_label(name: &[u8], suffix: &[u8]) -> bool {
    if suffix.len() > name.len() {
        return false;
    }
    let start = name.len() - suffix.len();
    if name[start..] != *suffix {
        return false;
    }
    start == 0 || label_starts(name).any(|i| i == start)
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0[0] == 0 {
            return f.write_str(".");
        }
        for start in label_starts(&self.0) {
            let len = self.0[start] as usize;
            for &b in &self.0[start + 1..start + 1 + len] {
                match b {
                    b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                        write!(f, "\\{}", b as char)?
                    }
                    0x21..=0x7e => write!(f, "{}", b as char)?,
                    _ => write!(f, "\\{:03}", b)?,
                }
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_case_folding() {
        let n = Name::from_text("WWW.Example.TEST.").unwrap();
        assert_eq!(n.as_wire(), b"\x03www\x07example\x04test\x00");
        assert_eq!(n.to_string(), "www.example.test.");
        assert_eq!(n.label_count(), 3);
        assert_eq!(
            Name::from_text("a\\.b.test").unwrap().as_wire(),
            b"\x03a.b\x04test\x00"
        );
        assert_eq!(
            Name::from_text("\\065.test").unwrap().as_wire(),
            b"\x01a\x04test\x00"
        );
        assert!(Name::from_text("a..b").is_none());
        assert!(Name::from_text(&"a".repeat(64)).is_none());
    }

    #[test]
    fn ancestry() {
        let n = Name::from_text("a.b.test.").unwrap();
        let zone = Name::from_text("b.test.").unwrap();
        assert!(n.is_below_or_at(&zone));
        assert!(!zone.is_below_or_at(&n));
        assert!(!Name::from_text("ab.test.").unwrap().is_below_or_at(&zone));
        let all: Vec<_> = n.ancestors().collect();
        assert_eq!(all.len(), 4);
        assert_eq!(all[3], b"\x00");
        assert_eq!(n.parent().unwrap(), zone);
        assert_eq!(zone.wildcard_child().unwrap().to_string(), "*.b.test.");
    }

    #[test]
    fn wire_validation() {
        assert_eq!(wire_name_len(b"\x01a\x00rest"), Some(3));
        assert_eq!(wire_name_len(b"\x01a"), None);
        assert_eq!(wire_name_len(b"\xc0\x0c"), None);
    }
}
