//! Small files that the app and the CLI, or two of either, may change at the same moment (the
//! left-behind record, the settings). [`update`] is each change: it reads the file, lets the caller
//! make the new contents from the old, and puts them in place whole, while holding a lock that
//! keeps every other [`update`] of that file waiting.
//!
//! - The lock is advisory, on `<name>.lock` beside the file, through std's `File::lock`: `flock`
//!   on Unix, `LockFileEx` on Windows. It is released when its handle closes, so a writer that
//!   dies mid-way blocks nobody. The lock file is never removed: a writer could otherwise lock a
//!   file that another had just unlinked, and the two would no longer exclude each other.
//! - The new contents go to a temp file of a unique name in the same folder (a rename only
//!   replaces atomically within one file system), are synced, and are renamed over the file.
//!   Readers therefore need no lock: they see the old file or the new one, never half of one.
//! - On Unix the folder is synced after the rename, so that the rename itself survives a power
//!   cut; Windows has no such call for a folder.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Replaces the file at `path` with what `change` makes of its current contents (None when
/// there is no file yet), creating its folder if needed. A `change` that fails leaves the file
/// as it was.
pub fn update(path: &Path, change: impl FnOnce(Option<&[u8]>) -> Result<Vec<u8>>) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let _lock = lock(&lock_path(path))?;
    let old = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(io(path)(source)),
    };
    let new = change(old.as_deref())?;
    replace(path, dir, &new)
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Blocks until no other process or handle holds the lock; it is released when the returned
/// file is dropped.
fn lock(lock_path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock_path)
        .map_err(io(lock_path))?;
    file.lock().map_err(io(lock_path))?;
    Ok(file)
}

fn replace(path: &Path, dir: &Path, contents: &[u8]) -> Result<()> {
    let mut prefix = path.file_name().unwrap_or_default().to_owned();
    prefix.push(".");
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io(dir))?;
    temp.write_all(contents).map_err(io(temp.path()))?;
    temp.as_file().sync_all().map_err(io(temp.path()))?;
    // On failure the temp file is dropped with the error, which deletes it.
    temp.persist(path).map_err(|e| io(path)(e.error))?;
    sync_folder(dir)
}

#[cfg(unix)]
fn sync_folder(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|folder| folder.sync_all())
        .map_err(io(dir))
}

#[cfg(not(unix))]
fn sync_folder(_dir: &Path) -> Result<()> {
    Ok(())
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(bytes: Option<&[u8]>) -> u64 {
        bytes
            .map(|b| String::from_utf8_lossy(b).parse().unwrap())
            .unwrap_or(0)
    }

    #[test]
    fn a_change_sees_the_contents_the_last_one_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/counter");
        for _ in 0..3 {
            update(&path, |old| Ok((count(old) + 1).to_string().into_bytes())).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "3");
    }

    #[test]
    fn only_the_file_and_its_lock_are_left_in_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        update(&path, |_| Ok(b"one".to_vec())).unwrap();
        update(&path, |_| Ok(b"two".to_vec())).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["settings.json", "settings.json.lock"]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
    }

    #[test]
    fn a_failed_change_keeps_the_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        update(&path, |_| Ok(b"kept".to_vec())).unwrap();
        let failed = update(&path, |_| Err(Error::InvalidInput("no".into())));
        assert!(matches!(failed, Err(Error::InvalidInput(_))));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept");
    }

    /// Each thread opens the lock file itself, so the threads exclude each other through the
    /// operating system's lock exactly as two processes would.
    #[test]
    fn concurrent_increments_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("counter");
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        update(&path, |old| Ok((count(old) + 1).to_string().into_bytes())).unwrap();
                    }
                });
            }
        });
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "200");
    }
}
