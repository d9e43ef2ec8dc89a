//! The saved copy of a secondary zone: an ordinary master file in `state_dir`, loaded and
//! validated at start like any zone file, so the zone is served before any primary is
//! reached. Its first line records the serial, when it was fetched and from where; every
//! record is written in the generic form of RFC 3597 (`TYPEnn \# len hex`), which reads
//! back byte for byte whatever the type. Written atomically: a new file beside it, synced,
//! then renamed over it.

use crate::name::Name;
use crate::zone::Record;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// How the first line of a saved copy starts.
const HEADER: &str = "; swivel secondary zone copy:";

/// What the first line of a saved copy says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub serial: u32,
    /// When it was fetched (seconds since 1970).
    pub fetched: u64,
    /// The primary it came from.
    pub primary: String,
}

/// The text of the saved copy of `origin`.
pub fn render(origin: &Name, records: &[Record], header: &Header) -> String {
    let mut text = String::with_capacity(64 + records.len() * 64);
    let _ = writeln!(
        text,
        "{HEADER} origin={origin} serial={} fetched={} primary={}",
        header.serial, header.fetched, header.primary
    );
    for record in records {
        let _ = write!(
            text,
            "{} {} IN TYPE{} \\# {}",
            record.owner,
            record.ttl,
            record.rtype,
            record.rdata.len()
        );
        for chunk in record.rdata.chunks(32) {
            text.push(' ');
            for byte in chunk {
                let _ = write!(text, "{byte:02x}");
            }
        }
        text.push('\n');
    }
    text
}

/// The header of a saved copy's text, if it has one.
pub fn read_header(text: &[u8]) -> Option<Header> {
    let line = text.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.strip_prefix(HEADER)?;
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
    };
    Some(Header {
        serial: field("serial")?.parse().ok()?,
        fetched: field("fetched")?.parse().ok()?,
        primary: field("primary")?.to_string(),
    })
}

/// The file beside the copy at `path` that records when a refresh last found the copy up
/// to date (seconds since 1970), so that the copy need not be rewritten for that.
pub fn refreshed_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".refreshed");
    path.with_file_name(name)
}

/// Records that a refresh found the copy at `path` up to date at `now`.
pub fn mark_refreshed(path: &Path, now: u64) -> std::io::Result<()> {
    write_atomically(&refreshed_path(path), &format!("{now}\n"))
}

/// When the copy at `path` (whose text is `text`) was last known to be in step with a
/// primary: fetched, or found up to date since.
pub fn last_success(path: &Path, text: &[u8]) -> Option<u64> {
    let fetched = read_header(text).map(|h| h.fetched);
    let refreshed = std::fs::read_to_string(refreshed_path(path))
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    fetched.max(refreshed)
}

/// The line a record of a saved copy is on: the header is line 1.
pub fn record_line(index: usize) -> usize {
    index + 2
}

/// Writes `text` to `path` atomically, readable by its owner only; the folder is created
/// (owner only) when missing.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    write_bytes_atomically(path, text.as_bytes())
}

/// [`write_atomically`] for bytes of any kind.
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)?;
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_os_string());
    let mut temporary = name;
    temporary.push(".new");
    let temporary = folder.join(temporary);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(owner: &str, rtype: u16, rdata: &[u8]) -> Record {
        Record {
            owner: Name::from_text(owner).unwrap(),
            rtype,
            ttl: 3600,
            rdata: rdata.to_vec(),
            line: 0,
        }
    }

    #[test]
    fn a_saved_copy_reads_back_record_for_record_through_the_zone_loader() {
        let origin = Name::from_text("example.test.").unwrap();
        let soa = [
            &b"\x02ns\x07example\x04test\x00\x05admin\x07example\x04test\x00"[..],
            &[
                0, 0, 0, 7, 0, 0, 0, 60, 0, 0, 0, 10, 0, 0, 4, 0, 0, 0, 0, 30,
            ],
        ]
        .concat();
        let long_txt = [&[255u8][..], &[b'x'; 255]].concat();
        let records = vec![
            record("example.test.", 6, &soa),
            record("example.test.", 2, b"\x02ns\x07example\x04test\x00"),
            record("ns.example.test.", 1, &[192, 0, 2, 1]),
            record("odd\\.label\\@.example.test.", 16, &long_txt),
            record("empty.example.test.", 65280, &[]),
        ];
        let header = Header {
            serial: 7,
            fetched: 1_700_000_000,
            primary: "127.0.0.1:53".into(),
        };
        let text = render(&origin, &records, &header);
        assert_eq!(read_header(text.as_bytes()), Some(header));
        assert!(text.starts_with("; swivel secondary zone copy: origin=example.test. serial=7 "));
        assert!(
            text.contains("\nns.example.test. 3600 IN TYPE1 \\# 4 c0000201\n"),
            "{text}"
        );
        let zone = crate::zone::parse_zone(&origin, Path::new("copy.zone"), text.as_bytes())
            .expect("the saved copy loads");
        let back: Vec<(Name, u16, Vec<u8>)> = zone
            .records
            .iter()
            .map(|r| (r.owner.clone(), r.rtype, r.rdata.clone()))
            .collect();
        let sent: Vec<(Name, u16, Vec<u8>)> = records
            .iter()
            .map(|r| (r.owner.clone(), r.rtype, r.rdata.clone()))
            .collect();
        assert_eq!(back, sent);
        assert_eq!(zone.records[2].line, record_line(2));
    }

    #[test]
    fn an_atomic_write_leaves_one_private_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secondary/example.test.zone");
        write_atomically(&path, "one\n").unwrap();
        write_atomically(&path, "two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["example.test.zone"]);
        let text = render(
            &Name::from_text("example.test.").unwrap(),
            &[],
            &Header {
                serial: 1,
                fetched: 100,
                primary: "p".into(),
            },
        );
        assert_eq!(last_success(&path, text.as_bytes()), Some(100));
        mark_refreshed(&path, 250).unwrap();
        assert_eq!(last_success(&path, text.as_bytes()), Some(250));
        assert_eq!(last_success(&path, b"no header"), Some(250));
    }
}
