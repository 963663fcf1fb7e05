//! What squashing an image would save, as the image list shows it before anyone opens the image:
//! the figure an audit measured, remembered per image ID in `savings.json` (so it outlives the
//! window and is shared with the CLI), or, until an audit runs, a hint read from the image's
//! history, marked as such.
//!
//! ```
//! use squashbox_core::savings::{hint_from_history, Step};
//! let history = [
//!     Step { created_by: "COPY big.zip /tmp/big.zip".into(), size: 20_000_000 },
//!     Step { created_by: "RUN rm /tmp/big.zip".into(), size: 0 },
//! ];
//! let hint = hint_from_history(&history).unwrap();
//! assert_eq!((hint.step, hint.steps), (2, 2));
//! ```
//!
//! The hint is only a hint: deleting in a later step wastes space only when an earlier step
//! wrote what is deleted, which the history cannot show. An audit reads the layers and knows.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use ts_rs::TS;

use crate::atomic_file;
use crate::audit::AuditReport;
use crate::error::{Error, Result};
use crate::platform::data_dir;

/// What the list says a squash of one image would save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(export)]
pub enum Saving {
    /// An audit read the layers: a squash saves exactly this.
    #[serde(rename_all = "camelCase")]
    Measured {
        #[ts(type = "number")]
        bytes: u64,
        /// What the layers hold, for "of 22.0 MB".
        #[ts(type = "number")]
        layer_bytes: u64,
    },
    /// Not measured; the history has a step that deletes files after others wrote some.
    Likely(Hint),
    /// Not measured, and the history says nothing either way.
    Unknown,
}

/// A step of the image's history that deletes files, by its 1-based place among all steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Hint {
    pub step: u32,
    pub steps: u32,
    /// The step's command as the history has it (`RUN /bin/sh -c rm …`), cut to a line.
    pub command: String,
    /// What the earlier steps that name a path it removes wrote (`COPY big.zip /tmp/big.zip`
    /// before `rm /tmp/big.zip`): at most what a squash saves by that deletion, if their
    /// layers hold nothing else. `None` when no earlier step names one.
    #[serde(default)]
    #[ts(type = "number | null")]
    pub up_to: Option<u64>,
}

/// One history entry, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub created_by: String,
    /// Bytes of the layer the step made; 0 for a step that made none (ENV, CMD, …).
    pub size: u64,
}

/// How long a hint's command may be on screen.
const COMMAND_CHARS: usize = 120;

/// The first step that deletes files and whose own layer is small beside what came before it.
/// A large one (`apt-get install … && rm -rf /var/lib/apt/lists/*`) deletes in the step that
/// wrote the files, which costs nothing; a small one mostly holds the deletion itself.
pub fn hint_from_history(history: &[Step]) -> Option<Hint> {
    let mut written: u64 = 0;
    for (index, step) in history.iter().enumerate() {
        if written > 0 && step.size <= written / 10 && deletes_files(&step.created_by) {
            return Some(Hint {
                step: index as u32 + 1,
                steps: history.len() as u32,
                command: one_line(&step.created_by),
                up_to: written_before(&history[..index], &removed_paths(&step.created_by)),
            });
        }
        written += step.size;
    }
    None
}

/// Whether a build step's command removes files, by the words shells and package managers use.
fn deletes_files(command: &str) -> bool {
    let words: Vec<&str> = shell_words(command).collect();
    // The verb within a few words of the tool, options between them (`apt-get -y purge`).
    let after = |tools: &[&str], verbs: &[&str]| {
        words.iter().enumerate().any(|(at, word)| {
            tools.contains(word)
                && words[at + 1..]
                    .iter()
                    .take(3)
                    .any(|next| verbs.contains(next))
        })
    };
    words
        .iter()
        .any(|w| ["rm", "rmdir", "unlink", "-delete"].contains(w))
        || after(
            &["apt-get", "apt", "yum", "dnf", "microdnf", "zypper"],
            &["purge", "remove", "autoremove", "erase", "clean"],
        )
        || after(&["apk"], &["del"])
}

/// The words of a shell command, with its quotes, brackets and separators dropped.
fn shell_words(command: &str) -> impl Iterator<Item = &str> {
    command
        .split(|c: char| c.is_whitespace() || "\"'[],;&|()".contains(c))
        .filter(|w| !w.is_empty())
}

/// The absolute paths an `rm`, `rmdir` or `unlink` in `command` names, globs cut off
/// (`/var/lib/apt/lists/*` → `/var/lib/apt/lists`).
fn removed_paths(command: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for part in command.split(['&', ';', '|', '\n']) {
        let mut words = shell_words(part);
        if !words.any(|w| ["rm", "rmdir", "unlink"].contains(&w)) {
            continue;
        }
        for word in words.filter(|w| w.starts_with('/')) {
            let path = word.trim_end_matches(['*', '/']);
            if path.len() > 1 {
                paths.push(path.to_owned());
            }
        }
    }
    paths
}

/// Bytes of the layers of the `earlier` steps whose commands name one of `paths` or a path
/// under one; `None` when none does.
fn written_before(earlier: &[Step], paths: &[String]) -> Option<u64> {
    let names = |command: &str| {
        // `--prefix=/opt/tool` names `/opt/tool`.
        shell_words(command)
            .flat_map(|word| word.split('='))
            .any(|word| {
                paths.iter().any(|path| {
                    word == path
                        || word
                            .strip_prefix(path.as_str())
                            .is_some_and(|rest| rest.starts_with('/'))
                })
            })
    };
    let bytes: u64 = earlier
        .iter()
        .filter(|step| step.size > 0 && names(&step.created_by))
        .map(|step| step.size)
        .sum();
    (bytes > 0).then_some(bytes)
}

fn one_line(command: &str) -> String {
    let flat = command.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(COMMAND_CHARS) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// Old entries go first: the file stays small, and the images audited long ago are mostly gone.
const MAX_ENTRIES: usize = 2000;

/// The audits' figures, by image ID, in a JSON file.
pub struct Savings {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    id: String,
    bytes: u64,
    layer_bytes: u64,
}

impl Savings {
    pub fn at(path: PathBuf) -> Savings {
        Savings { path }
    }

    /// `savings.json` in the app's [data folder](crate::platform::data_dir).
    pub fn default_location() -> Option<Savings> {
        Some(Savings::at(data_dir()?.join("savings.json")))
    }

    /// Remembers what the audit of `image_id` found: a squash saves `bytes` of the
    /// `layer_bytes` its layers hold. An ID names the content, so the figure never goes stale.
    pub fn record(&self, image_id: &str, bytes: u64, layer_bytes: u64) -> Result<()> {
        atomic_file::update(&self.path, |old| {
            let mut entries = parse(old);
            entries.retain(|e| e.id != image_id);
            entries.push(Entry {
                id: image_id.to_owned(),
                bytes,
                layer_bytes,
            });
            let excess = entries.len().saturating_sub(MAX_ENTRIES);
            entries.drain(..excess);
            serde_json::to_vec(&entries).map_err(|e| Error::InvalidInput(e.to_string()))
        })
    }

    /// Image ID → the measured saving. Empty when the file is missing or unreadable: the list
    /// then shows hints, nothing worse.
    pub fn measured(&self) -> HashMap<String, Saving> {
        parse(std::fs::read(&self.path).ok().as_deref())
            .into_iter()
            .map(|e| {
                let saving = Saving::Measured {
                    bytes: e.bytes,
                    layer_bytes: e.layer_bytes,
                };
                (e.id, saving)
            })
            .collect()
    }
}

/// Records an audit's figure where the list will find it; a file that cannot be written costs
/// the figure on the list, never the audit.
pub(crate) fn remember(image_id: &str, report: &AuditReport) {
    if let Some(savings) = Savings::default_location() {
        let _ = savings.record(image_id, report.reclaimable_bytes, report.layer_bytes);
    }
}

fn parse(bytes: Option<&[u8]>) -> Vec<Entry> {
    bytes
        .and_then(|bytes| serde_json::from_slice(bytes).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(created_by: &str, size: u64) -> Step {
        Step {
            created_by: created_by.into(),
            size,
        }
    }

    #[test]
    fn a_small_later_step_that_deletes_is_the_hint() {
        let history = [
            step("COPY rootfs/ / # buildkit", 1_000_000),
            step("ENV APP_HOME=/app", 0),
            step("COPY big.zip /tmp/big.zip", 20_000_000),
            step(
                r#"RUN ["/bin/busybox", "sh", "-c", "unzip /tmp/big.zip && rm /tmp/big.zip"]"#,
                900_000,
            ),
            step("CMD [\"/bin/sh\"]", 0),
        ];
        let hint = hint_from_history(&history).unwrap();
        assert_eq!((hint.step, hint.steps), (4, 5));
        assert!(hint.command.contains("rm /tmp/big.zip"), "{}", hint.command);
        // The step that wrote /tmp/big.zip, and not the one that wrote the rest.
        assert_eq!(hint.up_to, Some(20_000_000));
    }

    #[test]
    fn the_estimate_counts_the_steps_that_name_what_is_removed() {
        let history = [
            step("ADD file:4f7bd01a2b in / ", 80_000_000),
            step("/bin/sh -c #(nop) COPY dir:9a1c in /tmp/build ", 30_000_000),
            step(
                "RUN /bin/sh -c make -C /tmp/build/src && cp /tmp/build/app /app",
                5_000_000,
            ),
            step("RUN /bin/sh -c apt-get install -y zip", 9_000_000),
            step("RUN /bin/sh -c rm -rf /tmp/build/* /var/cache/apt/*", 1_000),
        ];
        let hint = hint_from_history(&history).unwrap();
        assert_eq!(hint.step, 5);
        assert_eq!(hint.up_to, Some(35_000_000));
        // Removed paths no earlier step names, or no path at all: no figure.
        let unnamed = [
            step("ADD file:4f7bd01a2b in / ", 80_000_000),
            step("RUN /bin/sh -c rm -rf /opt/old", 1_000),
        ];
        assert_eq!(hint_from_history(&unnamed).unwrap().up_to, None);
        let purge = [
            step("ADD file:4f7bd01a2b in / ", 80_000_000),
            step("RUN /bin/sh -c apt-get purge -y curl", 1_000),
        ];
        assert_eq!(hint_from_history(&purge).unwrap().up_to, None);
        // A path given as an option's value counts as named.
        let prefixed = [
            step("ADD file:4f7bd01a2b in / ", 80_000_000),
            step("RUN /bin/sh -c ./configure --prefix=/opt/tool", 7_000_000),
            step("RUN /bin/sh -c rm -rf /opt/tool", 1_000),
        ];
        assert_eq!(hint_from_history(&prefixed).unwrap().up_to, Some(7_000_000));
    }

    #[test]
    fn deleting_in_the_step_that_wrote_the_files_is_no_hint() {
        let history = [
            step("ADD rootfs.tar.xz /", 80_000_000),
            step(
                "RUN /bin/sh -c apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*",
                40_000_000,
            ),
        ];
        assert_eq!(hint_from_history(&history), None);
        // Nothing written before it: nothing it could waste.
        assert_eq!(hint_from_history(&[step("RUN rm -rf /tmp", 0)]), None);
    }

    #[test]
    fn the_words_of_deletion_are_found_and_lookalikes_are_not() {
        for deleting in [
            "/bin/sh -c rm -rf /tmp/x",
            "RUN cd /x&&rm -f y",
            r#"RUN ["/bin/busybox", "rm", "/tmp/wasted.bin"]"#,
            "RUN apt-get purge -y gcc",
            "RUN apt-get -y autoremove",
            "RUN apk del .build-deps",
            "RUN dnf clean all",
            "RUN find /usr -name '*.pyc' -delete",
        ] {
            assert!(deletes_files(deleting), "{deleting}");
        }
        for keeping in [
            "RUN apt-get install -y rmlint",
            "COPY form.txt /srv/",
            "RUN npm run build",
            "WORKDIR /var/rm",
            "RUN apk add curl",
        ] {
            assert!(!deletes_files(keeping), "{keeping}");
        }
    }

    #[test]
    fn a_long_command_is_cut_to_one_line() {
        let long = format!("RUN echo {}\n  && rm x", "a".repeat(300));
        let line = one_line(&long);
        assert!(!line.contains('\n'));
        assert_eq!(line.chars().count(), COMMAND_CHARS + 1);
        assert!(line.ends_with('…'));
    }

    #[test]
    fn recorded_figures_are_read_back_by_id_and_the_latest_wins() {
        let dir = tempfile::tempdir().unwrap();
        let savings = Savings::at(dir.path().join("sub/savings.json"));
        assert!(savings.measured().is_empty());
        savings.record("sha256:a", 5, 10).unwrap();
        savings.record("sha256:b", 0, 7).unwrap();
        savings.record("sha256:a", 6, 10).unwrap();
        let measured = savings.measured();
        assert_eq!(measured.len(), 2);
        assert_eq!(
            measured["sha256:a"],
            Saving::Measured {
                bytes: 6,
                layer_bytes: 10
            }
        );
    }

    #[test]
    fn an_unreadable_file_means_no_figures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("savings.json");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(Savings::at(path).measured().is_empty());
    }
}
