//! A connection to one Docker daemon, found through [`crate::endpoint`], with its API version
//! negotiated and pinned.
//!
//! ```no_run
//! # async fn demo() -> squashbox_core::Result<()> {
//! use squashbox_core::{daemon::Daemon, endpoint::Environment};
//! let daemon = Daemon::connect(&Environment::from_process(None)).await?;
//! println!("Docker {} at {}", daemon.info().engine_version, daemon.info().endpoint.host);
//! # Ok(()) }
//! ```
//!
//! Why we pin the version ourselves: bollard 0.21 builds each URL by joining an absolute path onto
//! `/v1.xx/`, which drops the version prefix, so every request reaches the daemon unversioned and
//! `negotiate_version()` changes nothing on the wire (seen in `dockerd --debug`: `GET /images/json`).
//! The daemon then answers in its newest API dialect. We ask `/version` (valid unversioned on every
//! engine), take the lower of its API version and the one bollard's models describe, and put
//! `/v1.xx` back on every request, so Engine 20.10 (API 1.41) and current engines (1.52+) both
//! answer in a dialect we read.

use bollard::{BollardRequest, Docker};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use ts_rs::TS;

use crate::endpoint::{
    candidates, Attempt, Candidate, Endpoint, Environment, Outcome, Route, Source,
};
use crate::error::{Error, Result};
use crate::platform::Os;
use crate::transport::{problem_in, ConnectProblem, Dialer, Refusal};

/// Long enough for a slow `/system/df` or a big image list; long jobs stream instead.
const REQUEST_TIMEOUT_SECS: u64 = 300;
/// The oldest API we speak: Engine 20.10.
const OLDEST_API: ApiVersion = ApiVersion(1, 41);

/// What the connection bar shows.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DaemonInfo {
    pub endpoint: Endpoint,
    /// How we reach it: a local socket, TCP, TLS or ssh.
    pub route: Route,
    /// The daemon's machine as it names itself (`/info` `Name`): which machine we look at.
    pub host_name: String,
    /// e.g. "Docker Engine" or "Podman Engine".
    pub product: String,
    pub engine_version: String,
    /// The API version every request is pinned to.
    pub api_version: String,
    pub storage_driver: String,
    /// True when images live in containerd's store rather than the graph driver's.
    pub containerd_store: bool,
    pub operating_system: String,
    pub os_type: String,
    pub architecture: String,
    pub root_dir: String,
    /// Every endpoint considered, in order, with what each answered.
    pub attempts: Vec<Attempt>,
}

impl DaemonInfo {
    /// Podman's Docker-compatible service rather than Docker's engine.
    pub fn is_podman(&self) -> bool {
        self.product.contains("Podman")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32);

impl ApiVersion {
    pub fn parse(text: &str) -> Option<Self> {
        let (major, minor) = text.trim().split_once('.')?;
        Some(ApiVersion(major.parse().ok()?, minor.parse().ok()?))
    }

    /// The newest version bollard's models describe.
    pub fn bollard() -> Self {
        let v = bollard::API_DEFAULT_VERSION;
        ApiVersion(v.major_version as u32, v.minor_version as u32)
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// The version to pin, given what the daemon says it speaks; `Err` with the reason when we
/// share no version.
pub fn negotiate(
    server_max: ApiVersion,
    server_min: Option<ApiVersion>,
) -> Result<ApiVersion, String> {
    let ours = ApiVersion::bollard();
    let chosen = server_max.min(ours);
    if chosen < OLDEST_API {
        return Err(format!(
            "this daemon speaks API {server_max}; Squashbox needs {OLDEST_API} or newer (Docker Engine 20.10+)"
        ));
    }
    if let Some(min) = server_min.filter(|min| *min > chosen) {
        return Err(format!(
            "this daemon needs API {min} or newer; Squashbox speaks up to {ours}"
        ));
    }
    Ok(chosen)
}

/// A connected daemon. Cheap to clone: bollard's client is a handle.
#[derive(Debug, Clone)]
pub struct Daemon {
    docker: Docker,
    /// The route every connection takes, bollard's and [`crate::raw`]'s alike.
    dialer: Arc<Dialer>,
    info: DaemonInfo,
    image_facts: ImageFactsCache,
    /// The daemon answers 500 to a second `/system/df` while one runs: ours take turns.
    disk_usage_turn: Arc<tokio::sync::Mutex<()>>,
}

/// What the list reads of each image once, by image ID, kept for as long as the connection
/// (see `images::list`): an ID names the content, so none of it goes stale.
pub(crate) type ImageFactsCache = Arc<Mutex<HashMap<String, crate::images::ImageFacts>>>;

impl Daemon {
    /// Connects to the first endpoint that answers. An endpoint the user chose is the only one
    /// tried; otherwise the well-known sockets are tried in order.
    pub async fn connect(env: &Environment) -> Result<Daemon> {
        let mut attempts = Vec::new();
        let mut connected = None;
        let mut stop = false;
        for candidate in candidates(env) {
            let endpoint = match candidate {
                Candidate::BrokenContext { name, reason } => {
                    attempts.push(broken_context(name, reason));
                    stop = true;
                    continue;
                }
                Candidate::Endpoint(endpoint) => endpoint,
            };
            if stop || connected.is_some() {
                attempts.push(Attempt {
                    endpoint,
                    outcome: Outcome::Skipped,
                });
                continue;
            }
            stop = endpoint.source.is_chosen();
            let (outcome, daemon) = probe(&endpoint).await;
            attempts.push(Attempt {
                endpoint: endpoint.clone(),
                outcome,
            });
            connected = daemon;
        }
        match connected {
            Some(mut daemon) => {
                daemon.info.attempts = attempts;
                Ok(daemon)
            }
            None => Err(Error::DaemonUnavailable { attempts }),
        }
    }

    /// Tries every endpoint, not stopping at the first that answers: what `doctor` shows.
    pub async fn diagnose(env: &Environment) -> Vec<Attempt> {
        let mut attempts = Vec::new();
        for candidate in candidates(env) {
            attempts.push(match candidate {
                Candidate::BrokenContext { name, reason } => broken_context(name, reason),
                Candidate::Endpoint(endpoint) => {
                    let (outcome, _) = probe(&endpoint).await;
                    Attempt { endpoint, outcome }
                }
            });
        }
        attempts
    }

    pub fn info(&self) -> &DaemonInfo {
        &self.info
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub(crate) fn dialer(&self) -> &Dialer {
        &self.dialer
    }

    pub(crate) fn image_facts_cache(&self) -> &ImageFactsCache {
        &self.image_facts
    }

    pub(crate) fn disk_usage_turn(&self) -> &tokio::sync::Mutex<()> {
        &self.disk_usage_turn
    }

    /// The daemon's data folder, when it is a folder of this machine's own disks; None for a
    /// remote daemon and for the Linux VM behind Docker Desktop, Colima, OrbStack or a Podman
    /// machine, whose `/var/lib/docker` lives on the VM's disk, not on the Mac's or the PC's.
    pub fn data_dir_here(&self) -> Option<&Path> {
        let info = &self.info;
        let dir = Path::new(&info.root_dir);
        (shares_our_kernel(&info.endpoint.host, &info.os_type, Os::current()) && dir.is_dir())
            .then_some(dir)
    }
}

/// Whether a daemon at `host` reporting `os_type` ("linux", "windows") runs on our own kernel:
/// reached through a socket or pipe of this machine, and of this system's kind. (A Linux
/// daemon on Linux may still be in a VM, Docker Desktop's: the caller also checks its folder.)
fn shares_our_kernel(host: &str, os_type: &str, os: Os) -> bool {
    let local = host.starts_with("unix://") || host.starts_with("npipe://");
    let same_kind = match os {
        Os::Linux => os_type == "linux",
        Os::Windows => os_type == "windows",
        Os::Macos => false,
    };
    local && same_kind
}

fn broken_context(name: String, reason: String) -> Attempt {
    Attempt {
        endpoint: Endpoint {
            host: String::new(),
            source: Source::Context { name },
            tls: None,
        },
        outcome: Outcome::Failed {
            reason,
            problem: None,
        },
    }
}

async fn probe(endpoint: &Endpoint) -> (Outcome, Option<Daemon>) {
    if let Some(path) = endpoint.socket_path() {
        if !path.exists() {
            // A socket the user named deserves a failure, not the quiet "not here" of a guess.
            let outcome = if endpoint.source.is_chosen() {
                Outcome::Failed {
                    reason: format!("no socket at {}", path.display()),
                    problem: None,
                }
            } else {
                Outcome::NoSocket
            };
            return (outcome, None);
        }
    }
    let dialer = match Dialer::for_endpoint(endpoint) {
        Ok(dialer) => Arc::new(dialer),
        Err(refusal) => return (failed(refusal), None),
    };
    let timeout = dialer.connect_timeout();
    match tokio::time::timeout(timeout, open(endpoint, dialer)).await {
        Ok(Ok(daemon)) => {
            let outcome = Outcome::Answered {
                product: daemon.info.product.clone(),
                engine: daemon.info.engine_version.clone(),
                api: daemon.info.api_version.clone(),
            };
            (outcome, Some(daemon))
        }
        Ok(Err(refusal)) => (failed(refusal), None),
        Err(_) => (
            failed(Refusal::plain(format!(
                "no answer within {} s ({})",
                timeout.as_secs(),
                endpoint.route()
            ))),
            None,
        ),
    }
}

fn failed(refusal: Refusal) -> Outcome {
    Outcome::Failed {
        reason: refusal.reason,
        problem: refusal.problem,
    }
}

async fn open(endpoint: &Endpoint, dialer: Arc<Dialer>) -> Result<Daemon, Refusal> {
    let unpinned = dialer
        .client(REQUEST_TIMEOUT_SECS)
        .map_err(|e| Refusal::plain(e.to_string()))?;
    let version = unpinned.version().await.map_err(describe_connect_error)?;
    let server_max = version
        .api_version
        .as_deref()
        .and_then(ApiVersion::parse)
        .ok_or_else(|| Refusal::plain("the daemon did not say which API version it speaks"))?;
    let server_min = version
        .min_api_version
        .as_deref()
        .and_then(ApiVersion::parse);
    let api = negotiate(server_max, server_min).map_err(Refusal::plain)?;
    let docker = pin_api_version(unpinned, api);
    let info = docker.info().await.map_err(describe_connect_error)?;

    let product = product_name(&version);
    let driver_status = info.driver_status.unwrap_or_default();
    let containerd_store = driver_status.iter().any(|pair| {
        pair.first().is_some_and(|k| k == "driver-type")
            && pair.get(1).is_some_and(|v| v.contains("containerd"))
    });
    let info = DaemonInfo {
        endpoint: endpoint.clone(),
        route: endpoint.route(),
        host_name: info.name.unwrap_or_default(),
        product,
        engine_version: version.version.unwrap_or_else(|| "unknown".into()),
        api_version: api.to_string(),
        storage_driver: info.driver.unwrap_or_default(),
        containerd_store,
        operating_system: info.operating_system.unwrap_or_default(),
        os_type: info.os_type.or(version.os).unwrap_or_default(),
        architecture: info.architecture.or(version.arch).unwrap_or_default(),
        root_dir: info.docker_root_dir.unwrap_or_default(),
        attempts: Vec::new(),
    };
    Ok(Daemon {
        docker,
        dialer,
        info,
        image_facts: ImageFactsCache::default(),
        disk_usage_turn: Arc::default(),
    })
}

/// Podman names itself among the components; Docker's platform name is empty in Debian's build
/// and "Docker Engine - Community" in Docker's own.
fn product_name(version: &bollard::models::SystemVersion) -> String {
    let components = version.components.as_deref().unwrap_or_default();
    if let Some(podman) = components.iter().find(|c| c.name.contains("Podman")) {
        return podman.name.clone();
    }
    version
        .platform
        .as_ref()
        .map(|p| p.name.clone())
        .filter(|name| !name.is_empty() && !name.contains('/'))
        .unwrap_or_else(|| "Docker Engine".into())
}

/// Puts `/v1.xx` in front of every request path (see the module docs for why).
fn pin_api_version(docker: Docker, api: ApiVersion) -> Docker {
    let prefix = format!("/v{api}");
    docker.with_request_modifier(move |mut request: BollardRequest| {
        let uri = request.uri();
        let path_and_query = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
        if !path_and_query.starts_with("/v1.") {
            let mut parts = uri.clone().into_parts();
            if let Ok(pinned) = format!("{prefix}{path_and_query}").parse() {
                parts.path_and_query = Some(pinned);
                if let Ok(pinned_uri) = http::Uri::from_parts(parts) {
                    *request.uri_mut() = pinned_uri;
                }
            }
        }
        request
    })
}

fn describe_connect_error(err: bollard::errors::Error) -> Refusal {
    use bollard::errors::Error as B;
    let problem = problem_in(&err);
    let reason = match &err {
        B::DockerResponseServerError {
            status_code,
            message,
        } => {
            // Go's HTTPS server answers plain HTTP with this fixed sentence: the one sign that
            // the daemon wants TLS we did not speak.
            if *status_code == 400 && message.contains("HTTP request to an HTTPS server") {
                return Refusal {
                    problem: Some(ConnectProblem::TlsRequired),
                    reason: format!("answered {status_code}: {}", message.trim()),
                };
            }
            format!("answered {status_code}: {message}")
        }
        B::HyperResponseError { err } => format!("connection failed: {err}"),
        other => deepest_message(other),
    };
    Refusal { problem, reason }
}

/// The innermost cause's words: hyper's "client error (Connect)" says less than what it wraps.
fn deepest_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    let mut text = err.to_string();
    while let Some(source) = current.source() {
        current = source;
        text = source.to_string();
    }
    // An io::Error's source() skips what it wraps, but its Display shows it.
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_takes_the_lower_version() {
        assert_eq!(
            negotiate(ApiVersion(1, 41), Some(ApiVersion(1, 12))),
            Ok(ApiVersion(1, 41))
        );
        assert_eq!(
            negotiate(ApiVersion(1, 99), Some(ApiVersion(1, 44))),
            Ok(ApiVersion::bollard())
        );
    }

    #[test]
    fn negotiation_refuses_engines_we_do_not_share_a_version_with() {
        assert!(negotiate(ApiVersion(1, 40), None).is_err());
        assert!(negotiate(ApiVersion(1, 99), Some(ApiVersion(1, 98))).is_err());
    }

    #[test]
    fn only_a_daemon_on_our_own_kernel_has_its_data_on_our_disks() {
        let sock = "unix:///var/run/docker.sock";
        assert!(shares_our_kernel(sock, "linux", Os::Linux));
        // Docker Desktop, Colima, OrbStack, the Podman machine: a Linux VM behind a local socket.
        assert!(!shares_our_kernel(sock, "linux", Os::Macos));
        assert!(!shares_our_kernel(
            "npipe:////./pipe/dockerDesktopLinuxEngine",
            "linux",
            Os::Windows
        ));
        // Docker Desktop's Windows containers run on the PC itself.
        assert!(shares_our_kernel(
            "npipe:////./pipe/docker_engine",
            "windows",
            Os::Windows
        ));
        assert!(!shares_our_kernel(
            "tcp://10.0.0.5:2375",
            "linux",
            Os::Linux
        ));
    }

    #[test]
    fn api_versions_parse_and_order_numerically() {
        assert_eq!(ApiVersion::parse("1.41"), Some(ApiVersion(1, 41)));
        assert!(ApiVersion::parse("1.9").unwrap() < ApiVersion::parse("1.10").unwrap());
        assert_eq!(ApiVersion::parse("one"), None);
    }
}
