//! Which system Squashbox runs on, and how a person there starts a Docker engine: the one
//! answer that the window's no-daemon screen, the CLI's "Docker is not running" line and the
//! daemon search ([`crate::endpoint`]) all use.
//!
//! ```
//! use squashbox_core::platform::{start_help, Os};
//! let help = start_help(Os::Macos);
//! assert_eq!(help.engines[0].engine, "Docker Desktop");
//! assert_eq!(help.engines[0].command.as_deref(), Some("open -a Docker"));
//! ```

use serde::Serialize;
use std::path::{Path, PathBuf};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum Os {
    #[default]
    Linux,
    Macos,
    Windows,
}

impl Os {
    /// The system this build runs on. Every Unix but macOS is treated as Linux: its engines put
    /// their sockets in the same places.
    pub fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::Macos
        } else {
            Os::Linux
        }
    }
}

/// The app's identifier (tauri.conf.json): the data folder Tauri gives the app has this name, and
/// the CLI must find the same files.
const APP_IDENTIFIER: &str = "app.squashbox.desktop";

/// Where the app and the CLI keep what they remember between runs: `$SQUASHBOX_DATA_DIR` when
/// set (tests), else `~/.local/share/app.squashbox.desktop` (or under `$XDG_DATA_HOME`),
/// `~/Library/Application Support/…` on macOS, `%APPDATA%\…` on Windows. None when no home
/// folder is known.
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SQUASHBOX_DATA_DIR") {
        return Some(PathBuf::from(dir));
    }
    let from = |var: &str| std::env::var_os(var).map(PathBuf::from);
    let base = if cfg!(windows) {
        from("APPDATA")
    } else if cfg!(target_os = "macos") {
        from("HOME").map(|home| home.join("Library/Application Support"))
    } else {
        from("XDG_DATA_HOME")
            .filter(|dir| Path::new(dir).is_absolute())
            .or_else(|| from("HOME").map(|home| home.join(".local/share")))
    };
    Some(base?.join(APP_IDENTIFIER))
}

/// One way to get a Docker-compatible engine running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct EngineStart {
    /// What the user has installed: "Docker Desktop", "Colima", "Podman".
    pub engine: String,
    /// What to do, in words, for someone who does not open a terminal.
    pub action: String,
    /// The same in a terminal, when there is a command for it.
    pub command: Option<String>,
}

/// How to start a Docker engine on one system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct StartHelp {
    pub os: Os,
    /// The engines people run there, the most common first.
    pub engines: Vec<EngineStart>,
}

/// How to start the engines people run on `os`.
pub fn start_help(os: Os) -> StartHelp {
    StartHelp {
        os,
        engines: engines(os),
    }
}

fn engines(os: Os) -> Vec<EngineStart> {
    let start = |engine: &str, action: &str, command: Option<&str>| EngineStart {
        engine: engine.into(),
        action: action.into(),
        command: command.map(str::to_owned),
    };
    match os {
        Os::Macos => vec![
            start(
                "Docker Desktop",
                "Open Docker Desktop from your Applications folder and wait until it says it is running.",
                Some("open -a Docker"),
            ),
            start(
                "Colima",
                "Start Colima's virtual machine.",
                Some("colima start"),
            ),
            start(
                "Podman",
                "Start the Podman machine (Podman Desktop's Start button does the same).",
                Some("podman machine start"),
            ),
        ],
        Os::Windows => vec![
            start(
                "Docker Desktop",
                "Open Docker Desktop from the Start menu and wait until it says it is running.",
                None,
            ),
            start(
                "Podman",
                "Start the Podman machine (Podman Desktop's Start button does the same).",
                Some("podman machine start"),
            ),
        ],
        Os::Linux => vec![
            start(
                "Docker Engine",
                "Start the Docker service.",
                Some("sudo systemctl start docker"),
            ),
            start(
                "Docker Desktop",
                "Open Docker Desktop from your applications menu.",
                Some("systemctl --user start docker-desktop"),
            ),
            start(
                "Podman",
                "Start Podman's Docker-compatible socket for your user.",
                Some("systemctl --user start podman.socket"),
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_system_names_its_own_engines() {
        let engines = |os| -> Vec<String> {
            start_help(os)
                .engines
                .into_iter()
                .map(|e| e.engine)
                .collect()
        };
        assert_eq!(engines(Os::Macos), ["Docker Desktop", "Colima", "Podman"]);
        assert_eq!(engines(Os::Windows), ["Docker Desktop", "Podman"]);
        assert_eq!(
            engines(Os::Linux),
            ["Docker Engine", "Docker Desktop", "Podman"]
        );
    }

    #[test]
    fn no_command_of_another_system_is_suggested() {
        let commands = |os| -> Vec<String> {
            start_help(os)
                .engines
                .into_iter()
                .filter_map(|e| e.command)
                .collect()
        };
        assert!(commands(Os::Windows)
            .iter()
            .all(|c| !c.contains("systemctl") && !c.starts_with("open ")));
        assert!(commands(Os::Macos).iter().all(|c| !c.contains("systemctl")));
        assert!(commands(Os::Linux)
            .iter()
            .all(|c| !c.starts_with("open ") && !c.contains("machine")));
    }

    #[test]
    fn the_current_system_is_the_one_rust_names() {
        // Names from std's own table, not from the cfg! checks in `Os::current`.
        let named = match std::env::consts::OS {
            "windows" => Os::Windows,
            "macos" => Os::Macos,
            _ => Os::Linux,
        };
        assert_eq!(Os::current(), named);
    }
}
