//! Where is the Docker daemon? Bollard alone reads only `DOCKER_HOST`; users of Docker Desktop,
//! Colima, OrbStack, Rancher Desktop, rootless Docker or Podman have their socket elsewhere.
//!
//! [`candidates`] lists the places to try, in order, from an [`Environment`] the caller hands in
//! (so tests can point `HOME` at a temp folder):
//!
//! ```
//! use squashbox_core::endpoint::{candidates, Environment};
//! let env = Environment { docker_host: Some("tcp://10.0.0.5:2375".into()), ..Environment::default() };
//! assert_eq!(candidates(&env)[0].host(), Some("tcp://10.0.0.5:2375"));
//! ```
//!
//! An endpoint the user chose (the app setting, `DOCKER_HOST`, a Docker CLI context) is
//! authoritative: when it does not answer we say so rather than quietly talking to another daemon.

use serde::Serialize;
use std::path::{Path, PathBuf};
use ts_rs::TS;

use crate::platform::Os;

/// Why an endpoint is on the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(export)]
pub enum Source {
    /// Chosen in Squashbox's settings or with `--host`.
    Setting,
    /// The `DOCKER_HOST` environment variable.
    DockerHost,
    /// A Docker CLI context (`DOCKER_CONTEXT` or `currentContext` in the CLI's config.json).
    Context { name: String },
    /// A socket where a known Docker distribution puts it.
    WellKnown { name: String },
}

impl Source {
    /// True when the user picked this endpoint, so no other should be tried in its place.
    pub fn is_chosen(&self) -> bool {
        !matches!(self, Source::WellKnown { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Source::Setting => "Squashbox setting".into(),
            Source::DockerHost => "DOCKER_HOST".into(),
            Source::Context { name } => format!("Docker context \"{name}\""),
            Source::WellKnown { name } => name.clone(),
        }
    }
}

/// A daemon address (`unix://…`, `tcp://…`, `npipe://…`) and why we try it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Endpoint {
    pub host: String,
    pub source: Source,
}

impl Endpoint {
    /// The unix socket file this endpoint names, if it is a unix socket.
    pub fn socket_path(&self) -> Option<&Path> {
        self.host.strip_prefix("unix://").map(Path::new)
    }
}

/// One entry of the list: an address to try, or a context the user selected that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidate {
    Endpoint(Endpoint),
    BrokenContext { name: String, reason: String },
}

impl Candidate {
    pub fn host(&self) -> Option<&str> {
        match self {
            Candidate::Endpoint(e) => Some(&e.host),
            Candidate::BrokenContext { .. } => None,
        }
    }
}

/// What was tried, and what it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Attempt {
    pub endpoint: Endpoint,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(export)]
pub enum Outcome {
    /// A daemon answered: what it is (Docker Engine, Podman Engine…), its version and the API
    /// version we pinned.
    Answered {
        product: String,
        engine: String,
        api: String,
    },
    /// A well-known socket that does not exist on this machine; nothing was sent.
    NoSocket,
    /// Connecting or asking failed; the reason in words.
    Failed { reason: String },
    /// Not tried, because an endpoint before it answered or was chosen by the user.
    Skipped,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Answered {
                product,
                engine,
                api,
            } => write!(f, "{product} {engine} (API {api})"),
            Outcome::NoSocket => f.write_str("no socket there"),
            Outcome::Failed { reason } => f.write_str(reason),
            Outcome::Skipped => f.write_str("not tried"),
        }
    }
}

/// The parts of the process environment that decide where the daemon is.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// The user's own choice in Squashbox (settings file or `--host`); overrides all.
    pub setting: Option<String>,
    pub docker_host: Option<String>,
    pub docker_context: Option<String>,
    /// `DOCKER_CONFIG`: where the Docker CLI keeps config.json and contexts (default `~/.docker`).
    pub docker_config: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
    /// `TMPDIR`: on macOS a per-user folder, where Podman 5's machine puts its API socket.
    pub tmp_dir: Option<PathBuf>,
    pub os: Os,
}

impl Environment {
    pub fn from_process(setting: Option<String>) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Environment {
            setting: setting.filter(|s| !s.is_empty()),
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            docker_config: var("DOCKER_CONFIG").map(PathBuf::from),
            home: var("HOME")
                .or_else(|| var("USERPROFILE"))
                .map(PathBuf::from),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR").map(PathBuf::from),
            tmp_dir: var("TMPDIR").map(PathBuf::from),
            os: Os::current(),
        }
    }

    fn docker_config_dir(&self) -> Option<PathBuf> {
        self.docker_config
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".docker")))
    }
}

/// The endpoints to try, best first. When the first one is chosen by the user it is the only
/// one a connection should use; the rest are listed for diagnosis.
pub fn candidates(env: &Environment) -> Vec<Candidate> {
    let endpoint = |host: String, source: Source| Candidate::Endpoint(Endpoint { host, source });
    let mut list = Vec::new();
    if let Some(host) = &env.setting {
        list.push(endpoint(host.clone(), Source::Setting));
    }
    if let Some(host) = &env.docker_host {
        list.push(endpoint(host.clone(), Source::DockerHost));
    }
    match current_context(env) {
        Ok(None) => {}
        Ok(Some((name, host))) => list.push(endpoint(host, Source::Context { name })),
        Err((name, reason)) => list.push(Candidate::BrokenContext { name, reason }),
    }
    for (name, host) in well_known_sockets(env) {
        list.push(endpoint(host, Source::WellKnown { name: name.into() }));
    }
    list
}

fn well_known_sockets(env: &Environment) -> Vec<(&'static str, String)> {
    if env.os == Os::Windows {
        // docker_engine is Docker Desktop's (and Rancher Desktop's, on its moby engine).
        return vec![
            ("Docker Engine", "npipe:////./pipe/docker_engine".into()),
            (
                "Docker Desktop (WSL 2)",
                "npipe:////./pipe/dockerDesktopLinuxEngine".into(),
            ),
            (
                "Podman machine",
                "npipe:////./pipe/podman-machine-default".into(),
            ),
        ];
    }
    let unix = |p: PathBuf| format!("unix://{}", p.display());
    let mut list = vec![("Docker Engine", "unix:///var/run/docker.sock".to_string())];
    if let Some(home) = &env.home {
        list.push((
            "Docker Desktop (macOS)",
            unix(home.join(".docker/run/docker.sock")),
        ));
        list.push((
            "Docker Desktop (Linux)",
            unix(home.join(".docker/desktop/docker.sock")),
        ));
    }
    if let Some(run) = &env.xdg_runtime_dir {
        list.push(("Rootless Docker", unix(run.join("docker.sock"))));
    }
    if let Some(home) = &env.home {
        list.push(("Colima", unix(home.join(".colima/default/docker.sock"))));
        list.push(("OrbStack", unix(home.join(".orbstack/run/docker.sock"))));
        list.push(("Rancher Desktop", unix(home.join(".rd/docker.sock"))));
    }
    if env.os == Os::Macos {
        // The default machine's API socket: Podman 5 puts it in TMPDIR, Podman 4 under the
        // data folder. (With podman-mac-helper installed, /var/run/docker.sock leads there too.)
        if let Some(tmp) = &env.tmp_dir {
            list.push((
                "Podman machine",
                unix(tmp.join("podman/podman-machine-default-api.sock")),
            ));
        }
        if let Some(home) = &env.home {
            list.push((
                "Podman machine (Podman 4)",
                unix(home.join(".local/share/containers/podman/machine/podman.sock")),
            ));
        }
    }
    if let Some(run) = &env.xdg_runtime_dir {
        list.push(("Podman (rootless)", unix(run.join("podman/podman.sock"))));
    }
    list.push(("Podman", "unix:///run/podman/podman.sock".into()));
    list
}

/// The Docker CLI's current context and its endpoint, if one other than `default` is selected.
/// `Err((name, reason))` when a context is selected but cannot be read.
fn current_context(env: &Environment) -> Result<Option<(String, String)>, (String, String)> {
    let config_dir = env.docker_config_dir();
    let name = match &env.docker_context {
        Some(name) => name.clone(),
        None => match config_dir.as_deref().and_then(read_current_context) {
            Some(name) => name,
            None => return Ok(None),
        },
    };
    if name == "default" {
        return Ok(None);
    }
    let Some(meta_dir) = config_dir.map(|d| d.join("contexts").join("meta")) else {
        return Err((name, "no home folder to look for contexts in".into()));
    };
    match find_context_host(&meta_dir, &name) {
        Some(host) => Ok(Some((name, host))),
        None => Err((
            name.clone(),
            format!(
                "no Docker context named \"{name}\" in {}",
                meta_dir.display()
            ),
        )),
    }
}

fn read_current_context(config_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("currentContext")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Contexts live in `meta/<digest of name>/meta.json`; scanning them avoids depending on the
/// digest scheme.
fn find_context_host(meta_dir: &Path, name: &str) -> Option<String> {
    std::fs::read_dir(meta_dir)
        .ok()?
        .flatten()
        .find_map(|entry| {
            let text = std::fs::read_to_string(entry.path().join("meta.json")).ok()?;
            let meta: serde_json::Value = serde_json::from_str(&text).ok()?;
            if meta.get("Name")?.as_str()? != name {
                return None;
            }
            meta.pointer("/Endpoints/docker/Host")?
                .as_str()
                .map(str::to_owned)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn hosts(env: &Environment) -> Vec<String> {
        candidates(env)
            .iter()
            .map(|c| c.host().unwrap_or("<broken>").to_owned())
            .collect()
    }

    fn home_env(home: &Path) -> Environment {
        Environment {
            home: Some(home.to_owned()),
            ..Environment::default()
        }
    }

    fn write_context(home: &Path, dir: &str, name: &str, host: &str) {
        let meta = home.join(".docker/contexts/meta").join(dir);
        fs::create_dir_all(&meta).unwrap();
        let json = serde_json::json!({
            "Name": name,
            "Metadata": {},
            "Endpoints": { "docker": { "Host": host, "SkipTLSVerify": false } }
        });
        fs::write(meta.join("meta.json"), json.to_string()).unwrap();
    }

    fn select_context(home: &Path, name: &str) {
        fs::create_dir_all(home.join(".docker")).unwrap();
        let config = serde_json::json!({ "auths": {}, "currentContext": name });
        fs::write(home.join(".docker/config.json"), config.to_string()).unwrap();
    }

    // The socket list of Unix systems, whose paths are joined with '/': on Windows the same
    // joins put '\' in them, and Windows has a list of its own (windows_uses_named_pipes).
    #[cfg(unix)]
    #[test]
    fn well_known_sockets_follow_the_documented_order() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path().display();
        let env = Environment {
            xdg_runtime_dir: Some("/run/user/1000".into()),
            ..home_env(home.path())
        };
        assert_eq!(
            hosts(&env),
            vec![
                "unix:///var/run/docker.sock".to_string(),
                format!("unix://{h}/.docker/run/docker.sock"),
                format!("unix://{h}/.docker/desktop/docker.sock"),
                "unix:///run/user/1000/docker.sock".to_string(),
                format!("unix://{h}/.colima/default/docker.sock"),
                format!("unix://{h}/.orbstack/run/docker.sock"),
                format!("unix://{h}/.rd/docker.sock"),
                "unix:///run/user/1000/podman/podman.sock".to_string(),
                "unix:///run/podman/podman.sock".to_string(),
            ]
        );
    }

    #[test]
    fn setting_beats_docker_host_which_beats_context() {
        let home = tempfile::tempdir().unwrap();
        write_context(home.path(), "abc", "remote", "tcp://10.1.1.1:2376");
        select_context(home.path(), "remote");
        let env = Environment {
            setting: Some("unix:///custom.sock".into()),
            docker_host: Some("tcp://127.0.0.1:2375".into()),
            ..home_env(home.path())
        };
        let list = candidates(&env);
        assert_eq!(list[0].host(), Some("unix:///custom.sock"));
        assert_eq!(list[1].host(), Some("tcp://127.0.0.1:2375"));
        assert_eq!(
            list[2],
            Candidate::Endpoint(Endpoint {
                host: "tcp://10.1.1.1:2376".into(),
                source: Source::Context {
                    name: "remote".into()
                }
            })
        );
        assert_eq!(list[3].host(), Some("unix:///var/run/docker.sock"));
    }

    #[test]
    fn docker_context_variable_overrides_config_file() {
        let home = tempfile::tempdir().unwrap();
        write_context(home.path(), "one", "colima", "unix:///colima.sock");
        write_context(home.path(), "two", "orb", "unix:///orb.sock");
        select_context(home.path(), "colima");
        let env = Environment {
            docker_context: Some("orb".into()),
            ..home_env(home.path())
        };
        assert_eq!(candidates(&env)[0].host(), Some("unix:///orb.sock"));
        assert_eq!(
            candidates(&home_env(home.path()))[0].host(),
            Some("unix:///colima.sock")
        );
    }

    #[test]
    fn default_context_adds_nothing() {
        let home = tempfile::tempdir().unwrap();
        select_context(home.path(), "default");
        let list = candidates(&home_env(home.path()));
        assert_eq!(list[0].host(), Some("unix:///var/run/docker.sock"));
    }

    #[test]
    fn docker_config_variable_moves_the_config_folder() {
        let home = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        // The context lives under DOCKER_CONFIG, not under ~/.docker.
        let meta = elsewhere.path().join("contexts/meta/x");
        fs::create_dir_all(&meta).unwrap();
        fs::write(
            meta.join("meta.json"),
            r#"{"Name":"far","Endpoints":{"docker":{"Host":"ssh://far"}}}"#,
        )
        .unwrap();
        fs::write(
            elsewhere.path().join("config.json"),
            r#"{"currentContext":"far"}"#,
        )
        .unwrap();
        let env = Environment {
            docker_config: Some(elsewhere.path().to_owned()),
            ..home_env(home.path())
        };
        assert_eq!(candidates(&env)[0].host(), Some("ssh://far"));
    }

    #[test]
    fn missing_context_is_reported_not_skipped() {
        let home = tempfile::tempdir().unwrap();
        select_context(home.path(), "gone");
        let list = candidates(&home_env(home.path()));
        assert!(matches!(&list[0], Candidate::BrokenContext { name, .. } if name == "gone"));
    }

    #[test]
    fn malformed_config_json_is_ignored() {
        let home = tempfile::tempdir().unwrap();
        fs::create_dir_all(home.path().join(".docker")).unwrap();
        fs::write(home.path().join(".docker/config.json"), "{not json").unwrap();
        assert_eq!(
            candidates(&home_env(home.path()))[0].host(),
            Some("unix:///var/run/docker.sock")
        );
    }

    #[test]
    fn windows_uses_named_pipes() {
        let env = Environment {
            os: Os::Windows,
            home: Some(r"C:\Users\me".into()),
            ..Environment::default()
        };
        assert_eq!(
            hosts(&env),
            vec![
                "npipe:////./pipe/docker_engine",
                "npipe:////./pipe/dockerDesktopLinuxEngine",
                "npipe:////./pipe/podman-machine-default",
            ]
        );
    }

    // The socket list of Unix systems, whose paths are joined with '/': on Windows the same
    // joins put '\' in them, and Windows has a list of its own (windows_uses_named_pipes).
    #[cfg(unix)]
    #[test]
    fn macos_also_looks_for_the_podman_machine() {
        let env = Environment {
            os: Os::Macos,
            home: Some("/Users/me".into()),
            tmp_dir: Some("/var/folders/xy/T".into()),
            ..Environment::default()
        };
        let list = hosts(&env);
        let podman_5 = "unix:///var/folders/xy/T/podman/podman-machine-default-api.sock";
        let podman_4 = "unix:///Users/me/.local/share/containers/podman/machine/podman.sock";
        assert!(list.iter().any(|h| h == podman_5), "{list:?}");
        assert!(list.iter().any(|h| h == podman_4), "{list:?}");
        assert!(list.contains(&"unix:///Users/me/.docker/run/docker.sock".to_string()));
        // Not on Linux, where TMPDIR is shared and no machine runs.
        let linux = hosts(&Environment {
            os: Os::Linux,
            ..env
        });
        assert!(
            !linux.iter().any(|h| h.contains("podman-machine")),
            "{linux:?}"
        );
    }
}
