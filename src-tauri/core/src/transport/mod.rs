//! How bytes reach a daemon: a unix socket, a named pipe, TCP, TLS over TCP, or `ssh` running
//! `docker system dial-stdio`. One [`Dialer`] per connection serves both bollard (through its
//! custom transport, for TLS and ssh) and our own requests in [`crate::raw`], so every request
//! takes the same route.
//!
//! ```no_run
//! # async fn demo(endpoint: &squashbox_core::endpoint::Endpoint) {
//! use squashbox_core::transport::Dialer;
//! let dialer = Dialer::for_endpoint(endpoint).expect("a usable address");
//! let connection = dialer.dial().await.expect("the daemon answers");
//! # }
//! ```

mod problem;
pub mod ssh;
pub(crate) mod tls;

pub use problem::ConnectProblem;

use bollard::{BollardRequest, Docker};
use hyper_util::client::legacy::connect::{Connected, Connection as HyperConnection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::endpoint::Endpoint;
use ssh::{SshFailure, SshRoute, SshTarget};

/// A byte stream to the daemon.
pub trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// An ssh connection left idle in the pool is a process on both machines: it goes after this.
const IDLE_CONNECTION: Duration = Duration::from_secs(30);

/// Where to open connections to one endpoint, with its TLS settings read once.
pub enum Dialer {
    Unix(String),
    Pipe(String),
    Tcp(String),
    Tls {
        address: String,
        name: ServerName<'static>,
        config: Arc<rustls::ClientConfig>,
    },
    Ssh(SshRoute),
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dialer::Unix(path) => write!(f, "Unix({path})"),
            Dialer::Pipe(name) => write!(f, "Pipe({name})"),
            Dialer::Tcp(address) => write!(f, "Tcp({address})"),
            Dialer::Tls { address, .. } => write!(f, "Tls({address})"),
            Dialer::Ssh(route) => write!(f, "Ssh({})", route.target.destination()),
        }
    }
}

/// Why an endpoint cannot be used or did not answer: a known kind of problem when there is one,
/// and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub problem: Option<ConnectProblem>,
    pub reason: String,
}

impl Refusal {
    pub fn plain(reason: impl Into<String>) -> Refusal {
        Refusal {
            problem: None,
            reason: reason.into(),
        }
    }
}

impl Dialer {
    pub fn for_endpoint(endpoint: &Endpoint) -> Result<Dialer, Refusal> {
        let host = endpoint.host.as_str();
        if let Some(path) = host.strip_prefix("unix://") {
            return Ok(Dialer::Unix(path.to_owned()));
        }
        if let Some(path) = host.strip_prefix("npipe://") {
            // The Docker CLI writes the slashes forward: `npipe:////./pipe/docker_engine` is
            // `\\.\pipe\docker_engine`.
            return Ok(Dialer::Pipe(path.replace('/', "\\")));
        }
        if host.starts_with("ssh://") {
            return SshTarget::parse(host)
                .map(|target| Dialer::Ssh(SshRoute::new(target)))
                .map_err(Refusal::plain);
        }
        let Some(address) = endpoint.tcp_address() else {
            return Err(Refusal::plain(format!(
                "\"{host}\" is not a Docker address: use unix://, npipe://, tcp://, https:// or ssh://"
            )));
        };
        let Some(tls) = endpoint.tls_to_use() else {
            return Ok(Dialer::Tcp(address));
        };
        let host_part = address
            .rsplit_once(':')
            .map_or(address.as_str(), |(h, _)| h);
        let name = tls::server_name(host_part).map_err(Refusal::plain)?;
        let config = tls::client_config(&tls).map_err(|(problem, reason)| Refusal {
            problem: Some(problem),
            reason,
        })?;
        Ok(Dialer::Tls {
            address,
            name,
            config,
        })
    }

    /// Opens one connection.
    pub async fn dial(&self) -> io::Result<Box<dyn Connection>> {
        Ok(match self {
            Dialer::Unix(path) => Box::new(connect_unix(path).await?),
            Dialer::Pipe(name) => Box::new(connect_pipe(name).await?),
            Dialer::Tcp(address) => Box::new(tokio::net::TcpStream::connect(address).await?),
            Dialer::Tls {
                address,
                name,
                config,
            } => {
                let tcp = tokio::net::TcpStream::connect(address).await?;
                let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
                Box::new(connector.connect(name.clone(), tcp).await?)
            }
            Dialer::Ssh(route) => Box::new(route.dial().await?),
        })
    }

    /// How long connecting may take before we call the daemon unreachable: an ssh login is
    /// slower than a socket.
    pub fn connect_timeout(&self) -> Duration {
        match self {
            Dialer::Ssh(_) => ssh::CONNECT_TIMEOUT + Duration::from_secs(10),
            _ => Duration::from_secs(3),
        }
    }

    /// A bollard client whose every request takes this route.
    pub fn client(self: &Arc<Self>, timeout_secs: u64) -> Result<Docker, bollard::errors::Error> {
        let version = bollard::API_DEFAULT_VERSION;
        match &**self {
            Dialer::Unix(path) => connect_unix_client(path, timeout_secs, version),
            Dialer::Pipe(_) => connect_named_pipe_client(self, timeout_secs, version),
            Dialer::Tcp(address) => {
                Docker::connect_with_http(&format!("http://{address}"), timeout_secs, version)
            }
            Dialer::Tls { address, .. } => self.custom_client(address.clone(), timeout_secs),
            Dialer::Ssh(route) => self.custom_client(route.target.host.clone(), timeout_secs),
        }
    }

    fn custom_client(
        self: &Arc<Self>,
        authority: String,
        timeout_secs: u64,
    ) -> Result<Docker, bollard::errors::Error> {
        let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(IDLE_CONNECTION)
            .build(DialService(Arc::clone(self)));
        let authority = authority.trim_start_matches('[').trim_end_matches(']');
        Docker::connect_with_custom_transport(
            move |request: BollardRequest| {
                let client = client.clone();
                async move {
                    client
                        .request(request)
                        .await
                        .map_err(bollard::errors::Error::from)
                }
            },
            // The scheme hyper wants; TLS, if any, is the dialer's business.
            Some(format!("http://{authority}")),
            timeout_secs,
            bollard::API_DEFAULT_VERSION,
        )
    }
}

/// The problem behind an error from any layer (bollard, hyper, io), if a known one.
pub fn problem_in(err: &(dyn std::error::Error + 'static)) -> Option<ConnectProblem> {
    let mut current = Some(err);
    while let Some(err) = current {
        // An io::Error's source() skips the error it wraps: look inside it too.
        let inner = err
            .downcast_ref::<io::Error>()
            .and_then(|e| e.get_ref())
            .map(|e| e as &(dyn std::error::Error + 'static));
        for candidate in [Some(err), inner].into_iter().flatten() {
            if let Some(failure) = candidate.downcast_ref::<SshFailure>() {
                return Some(failure.problem.clone());
            }
            if let Some(tls) = candidate.downcast_ref::<rustls::Error>() {
                return Some(tls::problem_of(tls));
            }
        }
        current = err.source();
    }
    None
}

/// hyper's way to open connections, over a [`Dialer`].
#[derive(Clone)]
struct DialService(Arc<Dialer>);

impl tower_service::Service<http::Uri> for DialService {
    type Response = HyperStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<HyperStream>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let dialer = Arc::clone(&self.0);
        Box::pin(async move { Ok(HyperStream(TokioIo::new(dialer.dial().await?))) })
    }
}

struct HyperStream(TokioIo<Box<dyn Connection>>);

impl HyperConnection for HyperStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for HyperStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for HyperStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

// bollard has each local transport only where the system has it: unix sockets on Unix, named
// pipes on Windows. The other system's address fails like an unknown scheme.
#[cfg(unix)]
fn connect_unix_client(
    path: &str,
    timeout: u64,
    version: &bollard::ClientVersion,
) -> Result<Docker, bollard::errors::Error> {
    Docker::connect_with_unix(path, timeout, version)
}

#[cfg(not(unix))]
fn connect_unix_client(
    path: &str,
    _timeout: u64,
    _version: &bollard::ClientVersion,
) -> Result<Docker, bollard::errors::Error> {
    Err(bollard::errors::Error::UnsupportedURISchemeError {
        uri: format!("unix://{path}"),
    })
}

#[cfg(windows)]
fn connect_named_pipe_client(
    dialer: &Dialer,
    timeout: u64,
    version: &bollard::ClientVersion,
) -> Result<Docker, bollard::errors::Error> {
    let Dialer::Pipe(name) = dialer else {
        unreachable!("only called for pipes")
    };
    Docker::connect_with_named_pipe(name, timeout, version)
}

#[cfg(not(windows))]
fn connect_named_pipe_client(
    dialer: &Dialer,
    _timeout: u64,
    _version: &bollard::ClientVersion,
) -> Result<Docker, bollard::errors::Error> {
    Err(bollard::errors::Error::UnsupportedURISchemeError {
        uri: format!("{dialer:?}"),
    })
}

#[cfg(unix)]
async fn connect_unix(socket: &str) -> io::Result<tokio::net::UnixStream> {
    tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("{socket}: {e}")))
}

#[cfg(not(unix))]
async fn connect_unix(socket: &str) -> io::Result<tokio::net::TcpStream> {
    Err(io::Error::other(format!(
        "unix sockets are not available here: {socket}"
    )))
}

/// A pipe whose every instance is taken answers "busy" (ERROR_PIPE_BUSY) rather than queueing
/// us; the daemon opens another instance at once, so we try again shortly.
#[cfg(windows)]
async fn connect_pipe(name: &str) -> io::Result<tokio::net::windows::named_pipe::NamedPipeClient> {
    use tokio::net::windows::named_pipe::ClientOptions;
    const ERROR_PIPE_BUSY: i32 = 231;
    const TRIES: u32 = 20;
    let mut tries = 0;
    loop {
        match ClientOptions::new().open(name) {
            Ok(client) => return Ok(client),
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) && tries < TRIES => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(io::Error::new(e.kind(), format!("{name}: {e}"))),
        }
    }
}

#[cfg(not(windows))]
async fn connect_pipe(name: &str) -> io::Result<tokio::net::TcpStream> {
    Err(io::Error::other(format!(
        "named pipes are only on Windows: {name}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Source;

    fn dialer(host: &str) -> Result<Dialer, Refusal> {
        Dialer::for_endpoint(&Endpoint {
            host: host.into(),
            source: Source::Setting,
            tls: None,
        })
    }

    #[test]
    fn each_scheme_gets_its_route() {
        assert!(matches!(dialer("unix:///d.sock"), Ok(Dialer::Unix(p)) if p == "/d.sock"));
        assert!(
            matches!(dialer("npipe:////./pipe/docker_engine"), Ok(Dialer::Pipe(p)) if p == r"\\.\pipe\docker_engine")
        );
        assert!(matches!(dialer("tcp://h:2375"), Ok(Dialer::Tcp(a)) if a == "h:2375"));
        assert!(
            matches!(dialer("https://h"), Ok(Dialer::Tls { address, .. }) if address == "h:443")
        );
        assert!(matches!(dialer("ssh://me@h"), Ok(Dialer::Ssh(_))));
        assert!(dialer("ftp://h").is_err());
        assert!(dialer("ssh://me:pw@h").is_err());
    }

    #[test]
    fn problems_are_found_inside_io_errors() {
        let failure = SshFailure {
            problem: ConnectProblem::SshFailed,
            message: "gone".into(),
        };
        let wrapped = io::Error::other(failure);
        assert_eq!(problem_in(&wrapped), Some(ConnectProblem::SshFailed));
        let tls = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired),
        );
        assert_eq!(
            problem_in(&tls),
            Some(ConnectProblem::TlsClientCertificateNeeded)
        );
        assert_eq!(problem_in(&io::Error::other("plain")), None);
    }
}
