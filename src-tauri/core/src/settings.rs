//! The user's Squashbox settings, kept as a small JSON file whose path the caller chooses (the
//! app's config folder, or a temp folder in tests).

use serde::{Deserialize, Serialize};
use std::path::Path;
use ts_rs::TS;

use crate::atomic_file;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct Settings {
    /// A daemon address that overrides every other way of finding one.
    pub docker_host: Option<String>,
}

impl Settings {
    /// Reads the settings; a missing file means defaults.
    pub fn load(path: &Path) -> Result<Settings> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::InvalidInput(format!("{} is not valid settings: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(source) => Err(Error::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Replaces the file whole (see the `atomic_file` module): a crash never leaves half a file,
    /// and two windows saving at once never interleave.
    pub fn save(&self, path: &Path) -> Result<()> {
        atomic_file::update(path, |_| {
            serde_json::to_vec_pretty(self).map_err(|e| Error::InvalidInput(e.to_string()))
        })
    }

    /// Checks a host typed by the user before it is saved.
    pub fn validate_host(host: &str) -> Result<()> {
        const SCHEMES: [&str; 6] = [
            "unix://", "tcp://", "http://", "https://", "npipe://", "ssh://",
        ];
        let valid = SCHEMES
            .iter()
            .any(|s| host.strip_prefix(s).is_some_and(|rest| !rest.is_empty()));
        if !valid {
            return Err(Error::InvalidInput(format!(
                "\"{host}\" is not a Docker address: use unix:///path/to/docker.sock, tcp://host:port, https://host:port, ssh://user@host or npipe:////./pipe/name"
            )));
        }
        if host.starts_with("ssh://") {
            crate::transport::ssh::SshTarget::parse(host).map_err(Error::InvalidInput)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_defaults_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/settings.json");
        assert_eq!(Settings::load(&path).unwrap(), Settings::default());
        let settings = Settings {
            docker_host: Some("unix:///tmp/d.sock".into()),
        };
        settings.save(&path).unwrap();
        assert_eq!(Settings::load(&path).unwrap(), settings);
    }

    #[test]
    fn saves_racing_each_other_all_succeed_and_one_of_them_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let hosts = ["unix:///tmp/a.sock", "tcp://127.0.0.1:2375"];
        std::thread::scope(|scope| {
            for host in hosts {
                let path = &path;
                scope.spawn(move || {
                    let settings = Settings {
                        docker_host: Some(host.into()),
                    };
                    for _ in 0..100 {
                        settings.save(path).unwrap();
                    }
                });
            }
        });
        let kept = Settings::load(&path).unwrap().docker_host.unwrap();
        assert!(hosts.contains(&kept.as_str()), "{kept}");
        let names = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(names, 2, "settings.json and its lock, no temp file");
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{{").unwrap();
        assert!(matches!(Settings::load(&path), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn hosts_need_a_known_scheme() {
        assert!(Settings::validate_host("unix:///var/run/docker.sock").is_ok());
        assert!(Settings::validate_host("tcp://1.2.3.4:2375").is_ok());
        assert!(Settings::validate_host("/var/run/docker.sock").is_err());
        assert!(Settings::validate_host("unix://").is_err());
        assert!(Settings::validate_host("ssh://me@build-box:2222").is_ok());
        assert!(Settings::validate_host("https://build-box:2376").is_ok());
        assert!(matches!(
            Settings::validate_host("ssh://me:secret@build-box"),
            Err(Error::InvalidInput(m)) if m.contains("password")
        ));
    }
}
