//! The state file in `state_dir`: [`SavedState`] kept as one JSON file, written atomically.
//!
//! Every change is written to a temporary file, flushed to disk, and renamed over the old
//! file (then the folder is synced), so a crash leaves the old file or the new one, never a
//! mix. A file that cannot be read as state is set aside under a new name (never deleted)
//! and the server starts without it.

use super::super::saved::SavedState;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file name inside `state_dir`.
pub const STATE_FILE: &str = "swivel-state.json";

/// The state file of one `state_dir`.
#[derive(Clone, Debug)]
pub struct StateStore {
    dir: PathBuf,
}

/// What loading found besides the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadNote {
    /// No state file yet: a first start.
    Fresh,
    Loaded,
    /// The file was unreadable as state and was renamed to `set_aside`.
    SetAside {
        set_aside: PathBuf,
        error: String,
    },
}

impl StateStore {
    /// The store in `dir`, which is created if missing.
    pub fn open(dir: &Path) -> std::io::Result<StateStore> {
        std::fs::create_dir_all(dir)?;
        Ok(StateStore {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// Reads the saved state; a corrupt file is set aside and an empty state returned.
    pub fn load(&self) -> std::io::Result<(SavedState, LoadNote)> {
        let path = self.path();
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((SavedState::default(), LoadNote::Fresh))
            }
            Err(e) => return Err(e),
        };
        match serde_json::from_slice(&text) {
            Ok(state) => Ok((state, LoadNote::Loaded)),
            Err(error) => {
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let set_aside = self.unused_name(&format!("{STATE_FILE}.corrupt-{stamp}"));
                std::fs::rename(&path, &set_aside)?;
                Ok((
                    SavedState::default(),
                    LoadNote::SetAside {
                        set_aside,
                        error: error.to_string(),
                    },
                ))
            }
        }
    }

    /// `base` in the state folder, or `base-2`, `base-3`… when taken: a file set aside never
    /// replaces one set aside before.
    fn unused_name(&self, base: &str) -> PathBuf {
        let mut candidate = self.dir.join(base);
        let mut n = 2;
        while candidate.symlink_metadata().is_ok() {
            candidate = self.dir.join(format!("{base}-{n}"));
            n += 1;
        }
        candidate
    }

    /// Replaces the saved state atomically: temporary file, fsync, rename, fsync folder.
    pub fn save(&self, state: &SavedState) -> std::io::Result<()> {
        let path = self.path();
        let temporary = self.dir.join(format!(".{STATE_FILE}.tmp"));
        let mut text = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
        text.push(b'\n');
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&text)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, &path)?;
        std::fs::File::open(&self.dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failover::saved::SavedOverride;

    #[test]
    fn state_round_trips_and_a_corrupt_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(&dir.path().join("state")).unwrap();
        assert_eq!(
            store.load().unwrap(),
            (SavedState::default(), LoadNote::Fresh)
        );
        let mut state = SavedState::default();
        state.latches.insert("www.example.test.".into(), 2);
        let overrides = state
            .overrides
            .entry("www.example.test.".into())
            .or_default();
        overrides.insert("192.0.2.1".parse().unwrap(), SavedOverride::Down);
        store.save(&state).unwrap();
        assert_eq!(store.load().unwrap(), (state, LoadNote::Loaded));

        std::fs::write(store.path(), b"{ not json").unwrap();
        let (loaded, note) = store.load().unwrap();
        assert_eq!(loaded, SavedState::default());
        let LoadNote::SetAside { set_aside, .. } = note else {
            panic!("expected the file set aside, got {note:?}")
        };
        assert_eq!(
            std::fs::read(&set_aside).unwrap(),
            b"{ not json",
            "the corrupt file is kept"
        );
        assert!(!store.path().exists());

        // A second corruption within the same second keeps both files.
        std::fs::write(store.path(), b"{ again not json").unwrap();
        let (_, note) = store.load().unwrap();
        let LoadNote::SetAside {
            set_aside: second, ..
        } = note
        else {
            panic!("expected the file set aside, got {note:?}")
        };
        assert_ne!(second, set_aside);
        assert_eq!(std::fs::read(&set_aside).unwrap(), b"{ not json");
        assert_eq!(std::fs::read(&second).unwrap(), b"{ again not json");
    }
}
