//! What Squashbox's squashes left dangling, remembered in a small JSON file so that a prune
//! preview, later and from the app or the CLI alike, can say "left by squashing app:1.2".
//!
//! ```no_run
//! use squashbox_core::ledger::Ledger;
//! if let Some(ledger) = Ledger::default_location() {
//!     ledger.record(&["sha256:5e1f…".to_string()], "app:1.2")?;
//!     assert_eq!(ledger.left_by().get("sha256:5e1f…").map(String::as_str), Some("app:1.2"));
//! }
//! # Ok::<(), squashbox_core::Error>(())
//! ```
//!
//! The ledger only labels what the daemon already lists: it never decides what a prune removes,
//! so a lost or unreadable file costs the labels and nothing else.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The app's identifier (tauri.conf.json): the data folder Tauri gives the app has this name, and
/// the CLI must find the same file.
const APP_IDENTIFIER: &str = "app.squashbox.desktop";

/// Old entries go first; a user squashing daily needs years to reach this.
const MAX_ENTRIES: usize = 1000;

pub struct Ledger {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    id: String,
    /// The name of the image whose squash left it (`app:1.2`).
    left_by: String,
}

impl Ledger {
    pub fn at(path: PathBuf) -> Ledger {
        Ledger { path }
    }

    /// `left-behind.json` in `$SQUASHBOX_DATA_DIR` when set (tests), else in the app's data
    /// folder: `~/.local/share/app.squashbox.desktop` (or `$XDG_DATA_HOME`), `~/Library/Application
    /// Support/…` on macOS, `%APPDATA%\…` on Windows. None when no home folder is known.
    pub fn default_location() -> Option<Ledger> {
        let dir = match std::env::var_os("SQUASHBOX_DATA_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => platform_data_dir()?.join(APP_IDENTIFIER),
        };
        Some(Ledger::at(dir.join("left-behind.json")))
    }

    /// Notes that a squash of `left_by` left the images `ids` dangling.
    pub fn record(&self, ids: &[String], left_by: &str) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut entries = self.entries();
        entries.retain(|e| !ids.contains(&e.id));
        entries.extend(ids.iter().map(|id| Entry {
            id: id.clone(),
            left_by: left_by.to_owned(),
        }));
        let excess = entries.len().saturating_sub(MAX_ENTRIES);
        entries.drain(..excess);
        self.write(&entries)
    }

    /// Image ID → the name whose squash left it. Empty when the file is missing or unreadable.
    pub fn left_by(&self) -> HashMap<String, String> {
        self.entries()
            .into_iter()
            .map(|e| (e.id, e.left_by))
            .collect()
    }

    fn entries(&self) -> Vec<Entry> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Through a temp file and a rename, so a crash never leaves half a file.
    fn write(&self, entries: &[Entry]) -> Result<()> {
        let io = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let temp = self.path.with_extension("json.tmp");
        let text =
            serde_json::to_vec_pretty(entries).map_err(|e| Error::InvalidInput(e.to_string()))?;
        std::fs::write(&temp, text).map_err(io)?;
        std::fs::rename(&temp, &self.path).map_err(io)
    }
}

fn platform_data_dir() -> Option<PathBuf> {
    let from = |var: &str| std::env::var_os(var).map(PathBuf::from);
    if cfg!(windows) {
        from("APPDATA")
    } else if cfg!(target_os = "macos") {
        from("HOME").map(|home| home.join("Library/Application Support"))
    } else {
        from("XDG_DATA_HOME")
            .filter(|dir| Path::new(dir).is_absolute())
            .or_else(|| from("HOME").map(|home| home.join(".local/share")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_back_and_a_later_squash_relabels_an_image() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path().join("sub/left-behind.json"));
        assert!(ledger.left_by().is_empty());
        ledger
            .record(&["sha256:a".into(), "sha256:b".into()], "app:1")
            .unwrap();
        ledger.record(&["sha256:b".into()], "app:2").unwrap();
        let left_by = ledger.left_by();
        assert_eq!(left_by.len(), 2);
        assert_eq!(left_by["sha256:a"], "app:1");
        assert_eq!(left_by["sha256:b"], "app:2");
    }

    #[test]
    fn an_unreadable_file_costs_only_the_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("left-behind.json");
        std::fs::write(&path, "{ not json").unwrap();
        let ledger = Ledger::at(path);
        assert!(ledger.left_by().is_empty());
        ledger.record(&["sha256:a".into()], "app:1").unwrap();
        assert_eq!(ledger.left_by()["sha256:a"], "app:1");
    }

    #[test]
    fn the_oldest_entries_go_past_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path().join("left-behind.json"));
        let ids: Vec<String> = (0..MAX_ENTRIES + 5)
            .map(|i| format!("sha256:{i}"))
            .collect();
        ledger.record(&ids, "app:1").unwrap();
        let left_by = ledger.left_by();
        assert_eq!(left_by.len(), MAX_ENTRIES);
        assert!(!left_by.contains_key("sha256:0"));
        assert!(left_by.contains_key(&format!("sha256:{}", MAX_ENTRIES + 4)));
    }
}
