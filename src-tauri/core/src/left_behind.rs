//! What Squashbox's squashes left dangling, remembered in a small JSON file so that a prune
//! preview, later and from the app or the CLI alike, can say "left by squashing app:1.2".
//!
//! ```no_run
//! use squashbox_core::left_behind::LeftBehind;
//! if let Some(record) = LeftBehind::default_location() {
//!     record.record(&["sha256:5e1f…".to_string()], "app:1.2")?;
//!     assert_eq!(record.left_by().get("sha256:5e1f…").map(String::as_str), Some("app:1.2"));
//! }
//! # Ok::<(), squashbox_core::Error>(())
//! ```
//!
//! The record only labels what the daemon already lists: it never decides what a prune removes,
//! so a lost or unreadable file costs the labels and nothing else.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;

use crate::atomic_file;
use crate::error::{Error, Result};
use crate::platform::data_dir;

/// Old entries go first; a user squashing daily needs years to reach this.
const MAX_ENTRIES: usize = 1000;

pub struct LeftBehind {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    id: String,
    /// The name of the image whose squash left it (`app:1.2`).
    left_by: String,
}

impl LeftBehind {
    pub fn at(path: PathBuf) -> LeftBehind {
        LeftBehind { path }
    }

    /// `left-behind.json` in the app's [data folder](crate::platform::data_dir).
    pub fn default_location() -> Option<LeftBehind> {
        Some(LeftBehind::at(data_dir()?.join("left-behind.json")))
    }

    /// Notes that a squash of `left_by` left the images `ids` dangling. Two squashes finishing
    /// at once, in the app and the CLI, both keep their notes (see the `atomic_file` module).
    pub fn record(&self, ids: &[String], left_by: &str) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        atomic_file::update(&self.path, |old| {
            let mut entries = parse(old);
            entries.retain(|e| !ids.contains(&e.id));
            entries.extend(ids.iter().map(|id| Entry {
                id: id.clone(),
                left_by: left_by.to_owned(),
            }));
            let excess = entries.len().saturating_sub(MAX_ENTRIES);
            entries.drain(..excess);
            serde_json::to_vec_pretty(&entries).map_err(|e| Error::InvalidInput(e.to_string()))
        })
    }

    /// Image ID → the name whose squash left it. Empty when the file is missing or unreadable.
    pub fn left_by(&self) -> HashMap<String, String> {
        parse(std::fs::read(&self.path).ok().as_deref())
            .into_iter()
            .map(|e| (e.id, e.left_by))
            .collect()
    }
}

/// The entries in the file's bytes; none when there is no file or it cannot be read.
fn parse(bytes: Option<&[u8]>) -> Vec<Entry> {
    bytes
        .and_then(|bytes| serde_json::from_slice(bytes).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_back_and_a_later_squash_relabels_an_image() {
        let dir = tempfile::tempdir().unwrap();
        let record = LeftBehind::at(dir.path().join("sub/left-behind.json"));
        assert!(record.left_by().is_empty());
        record
            .record(&["sha256:a".into(), "sha256:b".into()], "app:1")
            .unwrap();
        record.record(&["sha256:b".into()], "app:2").unwrap();
        let left_by = record.left_by();
        assert_eq!(left_by.len(), 2);
        assert_eq!(left_by["sha256:a"], "app:1");
        assert_eq!(left_by["sha256:b"], "app:2");
    }

    #[test]
    fn an_unreadable_file_costs_only_the_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("left-behind.json");
        std::fs::write(&path, "{ not json").unwrap();
        let record = LeftBehind::at(path);
        assert!(record.left_by().is_empty());
        record.record(&["sha256:a".into()], "app:1").unwrap();
        assert_eq!(record.left_by()["sha256:a"], "app:1");
    }

    /// Set in the processes that [`two_processes_recording_at_once_lose_nothing`] starts: the
    /// record file each writes to, and the prefix that keeps its IDs apart from the other's.
    const WRITER_FILE: &str = "SQUASHBOX_TEST_LEFT_BEHIND_WRITER_FILE";
    const WRITER_PREFIX: &str = "SQUASHBOX_TEST_LEFT_BEHIND_WRITER_PREFIX";
    const RECORDS_PER_WRITER: usize = 300;

    #[test]
    fn two_processes_recording_at_once_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("left-behind.json");
        let exe = std::env::current_exe().unwrap();
        let writers: Vec<_> = ["a", "b"]
            .iter()
            .map(|prefix| {
                std::process::Command::new(&exe)
                    .args(["left_behind::tests::one_of_two_writers", "--exact"])
                    .args(["--ignored", "--nocapture", "--test-threads=1"])
                    .env(WRITER_FILE, &path)
                    .env(WRITER_PREFIX, prefix)
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut writer in writers {
            assert!(writer.wait().unwrap().success(), "a writer failed");
        }
        let left_by = LeftBehind::at(path).left_by();
        let kept = ["a", "b"].map(|prefix| {
            (0..RECORDS_PER_WRITER)
                .filter(|i| left_by.contains_key(&format!("sha256:{prefix}{i}")))
                .count()
        });
        assert_eq!(kept, [RECORDS_PER_WRITER; 2], "records kept of each writer");
    }

    /// The writer loop of [`two_processes_recording_at_once_lose_nothing`], run in a process of
    /// its own; it does nothing when run any other way.
    #[test]
    #[ignore = "run by two_processes_recording_at_once_lose_nothing"]
    fn one_of_two_writers() {
        let (Some(path), Some(prefix)) = (
            std::env::var_os(WRITER_FILE),
            std::env::var(WRITER_PREFIX).ok(),
        ) else {
            return;
        };
        let record = LeftBehind::at(PathBuf::from(path));
        for i in 0..RECORDS_PER_WRITER {
            record
                .record(&[format!("sha256:{prefix}{i}")], &format!("app:{prefix}"))
                .unwrap();
        }
    }

    #[test]
    fn the_oldest_entries_go_past_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let record = LeftBehind::at(dir.path().join("left-behind.json"));
        let ids: Vec<String> = (0..MAX_ENTRIES + 5)
            .map(|i| format!("sha256:{i}"))
            .collect();
        record.record(&ids, "app:1").unwrap();
        let left_by = record.left_by();
        assert_eq!(left_by.len(), MAX_ENTRIES);
        assert!(!left_by.contains_key("sha256:0"));
        assert!(left_by.contains_key(&format!("sha256:{}", MAX_ENTRIES + 4)));
    }
}
