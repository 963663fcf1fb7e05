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
use crate::transport::ConnectProblem;

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

/// A daemon address (`unix://…`, `tcp://…`, `https://…`, `ssh://…`, `npipe://…`), why we try
/// it, and the TLS settings that go with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Endpoint {
    pub host: String,
    pub source: Source,
    /// TLS for a `tcp://` address (from DOCKER_TLS_VERIFY/DOCKER_TLS, or the context's); an
    /// `https://` address without it verifies against the system's roots.
    pub tls: Option<Tls>,
}

/// How to speak TLS to a daemon, the Docker CLI's way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Tls {
    /// Check the daemon's certificate: against `ca.pem` when the folder has one, else the
    /// system's roots.
    pub verify: bool,
    /// The folder holding `ca.pem`, `cert.pem` and `key.pem` (each used when present).
    #[ts(type = "string | null")]
    pub cert_dir: Option<PathBuf>,
}

/// How a connection reaches its daemon, for people: the connection bar and `doctor` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(export)]
pub enum Route {
    /// A unix socket of this machine.
    Socket { path: String },
    /// A Windows named pipe of this machine.
    NamedPipe { name: String },
    /// Plain, unencrypted HTTP over TCP.
    Tcp { address: String },
    /// HTTPS; `verified` when the daemon's certificate is checked, `client_certificate` when we
    /// show ours.
    Tls {
        address: String,
        verified: bool,
        #[serde(rename = "clientCertificate")]
        client_certificate: bool,
    },
    /// `ssh` to `destination`, running `docker system dial-stdio` there.
    Ssh { destination: String },
    /// An address of no scheme we know; connecting to it fails and says so.
    Unknown,
}

impl Route {
    /// True when the daemon is on another machine (as far as the address tells).
    pub fn is_remote(&self) -> bool {
        match self {
            Route::Socket { .. } | Route::NamedPipe { .. } | Route::Unknown => false,
            Route::Tcp { address } | Route::Tls { address, .. } => !is_loopback(address),
            Route::Ssh { .. } => true,
        }
    }
}

fn is_loopback(address: &str) -> bool {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Socket { path } => write!(f, "socket {path}"),
            Route::NamedPipe { name } => write!(f, "named pipe {name}"),
            Route::Tcp { address } => write!(f, "TCP to {address}, unencrypted"),
            Route::Tls {
                address,
                verified,
                client_certificate,
            } => write!(
                f,
                "TLS to {address}, {}{}",
                if *verified {
                    "certificate verified"
                } else {
                    "certificate NOT verified"
                },
                if *client_certificate {
                    ", with our client certificate"
                } else {
                    ""
                }
            ),
            Route::Ssh { destination } => {
                write!(f, "ssh to {destination} (docker system dial-stdio)")
            }
            Route::Unknown => f.write_str("unknown address"),
        }
    }
}

impl Endpoint {
    /// The unix socket file this endpoint names, if it is a unix socket.
    pub fn socket_path(&self) -> Option<&Path> {
        self.host.strip_prefix("unix://").map(Path::new)
    }

    /// `host:port` of a `tcp://`, `http://` or `https://` address, with Docker's default port
    /// (2375 plain, 2376 with TLS; 443 for https) when it has none.
    pub fn tcp_address(&self) -> Option<String> {
        let (rest, default_port) = if let Some(rest) = self.host.strip_prefix("tcp://") {
            (rest, if self.tls.is_some() { 2376 } else { 2375 })
        } else if let Some(rest) = self.host.strip_prefix("https://") {
            (rest, 443)
        } else if let Some(rest) = self.host.strip_prefix("http://") {
            (rest, 80)
        } else {
            return None;
        };
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return None;
        }
        let has_port = match authority.rfind(']') {
            Some(end) => authority[end..].contains(':'),
            None => authority.contains(':'),
        };
        Some(if has_port {
            authority.to_owned()
        } else {
            format!("{authority}:{default_port}")
        })
    }

    /// The TLS to speak, if any: an `https://` address always speaks it, a `tcp://` one when
    /// its settings say so.
    pub fn tls_to_use(&self) -> Option<Tls> {
        if self.host.starts_with("https://") {
            return Some(self.tls.clone().unwrap_or(Tls {
                verify: true,
                cert_dir: None,
            }));
        }
        self.tls.clone().filter(|_| self.host.starts_with("tcp://"))
    }

    pub fn route(&self) -> Route {
        if let Some(path) = self.host.strip_prefix("unix://") {
            return Route::Socket { path: path.into() };
        }
        if let Some(name) = self.host.strip_prefix("npipe://") {
            return Route::NamedPipe { name: name.into() };
        }
        if self.host.starts_with("ssh://") {
            return match crate::transport::ssh::SshTarget::parse(&self.host) {
                Ok(target) => Route::Ssh {
                    destination: target.destination(),
                },
                Err(_) => Route::Unknown,
            };
        }
        let Some(address) = self.tcp_address() else {
            return Route::Unknown;
        };
        match self.tls_to_use() {
            Some(tls) => Route::Tls {
                address,
                verified: tls.verify,
                client_certificate: tls
                    .cert_dir
                    .as_deref()
                    .is_some_and(|d| d.join("cert.pem").is_file() && d.join("key.pem").is_file()),
            },
            None => Route::Tcp { address },
        }
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
    /// Connecting or asking failed; the reason in words, and its kind when it is one we know
    /// how to fix (an unknown ssh host key, TLS the daemon wants…).
    Failed {
        reason: String,
        problem: Option<ConnectProblem>,
    },
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
            Outcome::Failed {
                reason,
                problem: None,
            } => f.write_str(reason),
            Outcome::Failed {
                reason,
                problem: Some(problem),
            } => write!(f, "{reason}. To fix it: {}", problem.fix()),
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
    /// `DOCKER_TLS_VERIFY` (any value but empty, as the Docker CLI reads it): TLS, checked.
    pub tls_verify: bool,
    /// `DOCKER_TLS`: TLS without checking the daemon's certificate.
    pub tls: bool,
    /// `DOCKER_CERT_PATH`: where `ca.pem`, `cert.pem`, `key.pem` are (default `~/.docker`).
    pub cert_path: Option<PathBuf>,
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
            tls_verify: var("DOCKER_TLS_VERIFY").is_some(),
            tls: var("DOCKER_TLS").is_some(),
            cert_path: var("DOCKER_CERT_PATH").map(PathBuf::from),
            os: Os::current(),
        }
    }

    fn docker_config_dir(&self) -> Option<PathBuf> {
        self.docker_config
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".docker")))
    }

    /// The TLS the environment asks for, applied to the setting and DOCKER_HOST as the CLI
    /// applies it to `-H` and DOCKER_HOST (a context has its own).
    fn tls_settings(&self) -> Option<Tls> {
        (self.tls_verify || self.tls).then(|| Tls {
            verify: self.tls_verify,
            cert_dir: self
                .cert_path
                .clone()
                .or_else(|| self.home.as_ref().map(|h| h.join(".docker"))),
        })
    }
}

/// The endpoints to try, best first. When the first one is chosen by the user it is the only
/// one a connection should use; the rest are listed for diagnosis.
pub fn candidates(env: &Environment) -> Vec<Candidate> {
    let endpoint = |host: String, source: Source, tls: Option<Tls>| {
        Candidate::Endpoint(Endpoint { host, source, tls })
    };
    let mut list = Vec::new();
    if let Some(host) = &env.setting {
        list.push(endpoint(host.clone(), Source::Setting, env.tls_settings()));
    }
    if let Some(host) = &env.docker_host {
        list.push(endpoint(
            host.clone(),
            Source::DockerHost,
            env.tls_settings(),
        ));
    }
    match current_context(env) {
        Ok(None) => {}
        Ok(Some(found)) => list.push(endpoint(
            found.host,
            Source::Context { name: found.name },
            found.tls,
        )),
        Err((name, reason)) => list.push(Candidate::BrokenContext { name, reason }),
    }
    for (name, host) in well_known_sockets(env) {
        list.push(endpoint(
            host,
            Source::WellKnown { name: name.into() },
            None,
        ));
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

/// A Docker CLI context's name, address and TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ContextEndpoint {
    name: String,
    host: String,
    tls: Option<Tls>,
}

/// The Docker CLI's current context and its endpoint, if one other than `default` is selected.
/// `Err((name, reason))` when a context is selected but cannot be read.
fn current_context(env: &Environment) -> Result<Option<ContextEndpoint>, (String, String)> {
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
    let Some(contexts) = config_dir.map(|d| d.join("contexts")) else {
        return Err((name, "no home folder to look for contexts in".into()));
    };
    let meta_dir = contexts.join("meta");
    match find_context(&contexts, &name) {
        Some(found) => Ok(Some(found)),
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

/// Contexts live in `meta/<digest of name>/meta.json`, their TLS material in
/// `tls/<same digest>/docker/{ca,cert,key}.pem`; scanning the meta folders and taking the match's
/// folder name for the TLS one avoids depending on the digest scheme.
fn find_context(contexts: &Path, name: &str) -> Option<ContextEndpoint> {
    std::fs::read_dir(contexts.join("meta"))
        .ok()?
        .flatten()
        .find_map(|entry| {
            let text = std::fs::read_to_string(entry.path().join("meta.json")).ok()?;
            let meta: serde_json::Value = serde_json::from_str(&text).ok()?;
            if meta.get("Name")?.as_str()? != name {
                return None;
            }
            let docker = meta.pointer("/Endpoints/docker")?;
            let host = docker.get("Host")?.as_str()?.to_owned();
            let skip_verify = docker
                .get("SkipTLSVerify")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            let tls_dir = contexts.join("tls").join(entry.file_name()).join("docker");
            // As the CLI: TLS when the context has material or skips verification.
            let tls = (tls_dir.is_dir() || skip_verify).then(|| Tls {
                verify: !skip_verify,
                cert_dir: tls_dir.is_dir().then_some(tls_dir),
            });
            Some(ContextEndpoint {
                name: name.to_owned(),
                host,
                tls,
            })
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
                },
                tls: None,
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

    fn endpoint_at(host: &str, tls: Option<Tls>) -> Endpoint {
        Endpoint {
            host: host.into(),
            source: Source::DockerHost,
            tls,
        }
    }

    #[test]
    fn a_context_with_tls_material_speaks_tls_from_its_own_folder() {
        let home = tempfile::tempdir().unwrap();
        write_context(home.path(), "d1g3st", "secure", "tcp://10.1.1.1:2376");
        let tls_dir = home.path().join(".docker/contexts/tls/d1g3st/docker");
        fs::create_dir_all(&tls_dir).unwrap();
        select_context(home.path(), "secure");
        let Candidate::Endpoint(found) = &candidates(&home_env(home.path()))[0] else {
            panic!("the context was not read");
        };
        assert_eq!(
            found.tls,
            Some(Tls {
                verify: true,
                cert_dir: Some(tls_dir)
            })
        );
        assert!(matches!(found.route(), Route::Tls { verified: true, .. }));
    }

    #[test]
    fn a_context_that_skips_verification_speaks_tls_unchecked() {
        let home = tempfile::tempdir().unwrap();
        let meta = home.path().join(".docker/contexts/meta/abc");
        fs::create_dir_all(&meta).unwrap();
        fs::write(
            meta.join("meta.json"),
            r#"{"Name":"lax","Endpoints":{"docker":{"Host":"tcp://h:2376","SkipTLSVerify":true}}}"#,
        )
        .unwrap();
        select_context(home.path(), "lax");
        let Candidate::Endpoint(found) = &candidates(&home_env(home.path()))[0] else {
            panic!("the context was not read");
        };
        assert_eq!(
            found.tls,
            Some(Tls {
                verify: false,
                cert_dir: None
            })
        );
        // A context with neither speaks plain HTTP, as the CLI does.
        write_context(home.path(), "def", "plain", "tcp://h:2375");
        select_context(home.path(), "plain");
        let Candidate::Endpoint(plain) = &candidates(&home_env(home.path()))[0] else {
            panic!("the context was not read");
        };
        assert_eq!(plain.tls, None);
    }

    #[test]
    fn tls_variables_apply_to_docker_host_with_the_cli_defaults() {
        let env = Environment {
            docker_host: Some("tcp://10.0.0.5:2376".into()),
            tls_verify: true,
            home: Some("/home/me".into()),
            ..Environment::default()
        };
        let Candidate::Endpoint(found) = &candidates(&env)[0] else {
            panic!("no endpoint");
        };
        assert_eq!(
            found.tls,
            Some(Tls {
                verify: true,
                cert_dir: Some("/home/me/.docker".into())
            })
        );
        let unchecked = Environment {
            tls_verify: false,
            tls: true,
            cert_path: Some("/certs".into()),
            ..env
        };
        let Candidate::Endpoint(found) = &candidates(&unchecked)[0] else {
            panic!("no endpoint");
        };
        assert_eq!(
            found.tls,
            Some(Tls {
                verify: false,
                cert_dir: Some("/certs".into())
            })
        );
    }

    #[test]
    fn addresses_get_docker_default_ports_and_routes() {
        let checked = Some(Tls {
            verify: true,
            cert_dir: None,
        });
        assert_eq!(
            endpoint_at("tcp://10.0.0.5", None).tcp_address().as_deref(),
            Some("10.0.0.5:2375")
        );
        assert_eq!(
            endpoint_at("tcp://10.0.0.5", checked.clone())
                .tcp_address()
                .as_deref(),
            Some("10.0.0.5:2376")
        );
        assert_eq!(
            endpoint_at("https://box.example/", None)
                .tcp_address()
                .as_deref(),
            Some("box.example:443")
        );
        assert_eq!(
            endpoint_at("tcp://[::1]:2376", None)
                .tcp_address()
                .as_deref(),
            Some("[::1]:2376")
        );
        assert_eq!(endpoint_at("tcp://", None).tcp_address(), None);
        // TLS settings do not turn a socket into TLS; https is TLS without them.
        assert!(matches!(
            endpoint_at("unix:///d.sock", checked.clone()).route(),
            Route::Socket { .. }
        ));
        assert!(matches!(
            endpoint_at("https://box:2376", None).route(),
            Route::Tls { verified: true, .. }
        ));
        assert_eq!(
            endpoint_at("ssh://me@box:2222", None).route(),
            Route::Ssh {
                destination: "me@box:2222".into()
            }
        );
        assert_eq!(endpoint_at("ssh://a:b@box", None).route(), Route::Unknown);
        assert!(endpoint_at("ssh://box", None).route().is_remote());
        assert!(!endpoint_at("tcp://127.0.0.1:2376", checked)
            .route()
            .is_remote());
        assert!(endpoint_at("tcp://10.0.0.5:2375", None).route().is_remote());
    }
}
