//! `ssh://[user@]host[:port][/socket]`: the Docker CLI's route to a remote daemon, taken the same
//! way. Each connection runs `ssh … -- host docker system dial-stdio` and speaks HTTP over its
//! stdin and stdout, so the user's own ssh setup (config, agent, keys, known hosts, jump hosts)
//! applies, and nothing listens on a port of this machine.
//!
//! ```
//! use squashbox_core::transport::ssh::SshTarget;
//! let target = SshTarget::parse("ssh://me@build-box:2222").unwrap();
//! assert_eq!(target.destination(), "me@build-box:2222");
//! ```
//!
//! A cold connection pool asks for many connections at once (the image list inspects 16 images
//! at a time), and each is an ssh login. OpenSSH's server drops connections at random once 10
//! are still logging in (`MaxStartups 10:30:100`, its default: seen here as "drop connection #10
//! … past MaxStartups", and a request failing with "client error (SendRequest)"), so an
//! [`SshRoute`] lets only [`LOGINS_AT_ONCE`] logins run at a time; a connection counts as logged
//! in once the daemon's first byte comes back through it.
//!
//! `BatchMode=yes` turns every question ssh would ask a person (a password, an unknown host key)
//! into a failure with a message on stderr, which [`SshFailure`] sorts into a
//! [`ConnectProblem`] that says what to run. OpenSSH's client is on Linux and macOS, and on
//! Windows 10 (1809) and later as `ssh.exe` in `System32\OpenSSH`, which is on `PATH`.

use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{oneshot, Semaphore};

use super::problem::ConnectProblem;

/// How long ssh may take to reach the host; after that it gives up with "Connection timed out".
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// What ssh writes to stderr is kept up to this size: enough for every message that matters.
const STDERR_KEPT: usize = 8 * 1024;
/// ssh logins we run at once to one server: well under sshd's default `MaxStartups` of 10,
/// which the user's own `docker` commands to the same server share.
pub const LOGINS_AT_ONCE: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// The daemon's socket on the remote machine, when not the remote docker CLI's default.
    pub socket: Option<String>,
}

impl SshTarget {
    /// Reads an `ssh://` address the way the Docker CLI does: no password in it, no query.
    pub fn parse(address: &str) -> Result<SshTarget, String> {
        let rest = address
            .strip_prefix("ssh://")
            .ok_or_else(|| format!("\"{address}\" is not an ssh:// address"))?;
        if rest.contains(['?', '#']) {
            return Err(format!(
                "\"{address}\": an ssh address has no query or fragment"
            ));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, host_port)) => (Some(user), host_port),
            None => (None, authority),
        };
        if let Some(user) = user {
            if user.contains(':') {
                return Err(format!(
                    "\"{address}\" holds a password: Squashbox logs in with your ssh keys only"
                ));
            }
            if user.is_empty() {
                return Err(format!("\"{address}\" has an empty user name"));
            }
        }
        let (host, port) = split_host_port(host_port)
            .ok_or_else(|| format!("\"{address}\": the port must be a number from 1 to 65535"))?;
        // ssh would read a host starting with '-' as an option; we pass `--` too, but a name
        // like that is a mistake or an attack either way.
        if host.is_empty() || host.starts_with('-') || host.contains(char::is_whitespace) {
            return Err(format!("\"{address}\" names no usable host"));
        }
        let socket = (!path.is_empty() && path != "/").then(|| path.to_owned());
        Ok(SshTarget {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
            socket,
        })
    }

    /// `user@host:port` as people write it, for messages.
    pub fn destination(&self) -> String {
        let mut text = String::new();
        if let Some(user) = &self.user {
            text.push_str(user);
            text.push('@');
        }
        text.push_str(&self.host);
        if let Some(port) = self.port {
            text.push_str(&format!(":{port}"));
        }
        text
    }

    /// The same destination as an ssh command line a person can run to check it.
    pub fn ssh_command_line(&self) -> String {
        let mut line = String::from("ssh");
        if let Some(port) = self.port {
            line.push_str(&format!(" -p {port}"));
        }
        if let Some(user) = &self.user {
            line.push_str(&format!(" {user}@{}", self.host));
        } else {
            line.push_str(&format!(" {}", self.host));
        }
        line
    }

    /// The arguments of `ssh` (after the program name).
    pub fn arguments(&self) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            format!("ConnectTimeout={}", CONNECT_TIMEOUT.as_secs()),
            // No terminal: its line discipline would mangle the HTTP bytes.
            "-T".into(),
        ];
        if let Some(user) = &self.user {
            args.extend(["-l".into(), user.clone()]);
        }
        if let Some(port) = self.port {
            args.extend(["-p".into(), port.to_string()]);
        }
        args.extend(["--".into(), self.host.clone()]);
        // The remote command is read by the remote user's shell: the socket path is quoted.
        args.push(match &self.socket {
            Some(socket) => format!(
                "docker --host {} system dial-stdio",
                shell_quote(&format!("unix://{socket}"))
            ),
            None => "docker system dial-stdio".into(),
        });
        args
    }

    /// Starts one `ssh … docker system dial-stdio`: one HTTP connection to the remote daemon.
    /// Dropping `login` hands the login's turn back (see [`SshRoute`]); the stream drops it
    /// once the daemon answers through it.
    fn dial(&self, login: oneshot::Sender<()>) -> io::Result<SshStream> {
        let mut command = Command::new("ssh");
        command
            .args(self.arguments())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // No console window flashing up for each connection of the desktop app.
        #[cfg(windows)]
        command.creation_flags(0x0800_0000); // CREATE_NO_WINDOW
        let mut child = command.spawn().map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                io::Error::other(SshFailure {
                    problem: ConnectProblem::SshMissing,
                    message: "no ssh program on PATH".into(),
                })
            } else {
                e
            }
        })?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io::Error::other("ssh started without its pipes"));
        };
        let said = Arc::new(Mutex::new(String::new()));
        let collector = {
            let said = Arc::clone(&said);
            tokio::spawn(async move {
                let mut bytes = Vec::new();
                let mut chunk = [0u8; 1024];
                while let Ok(n) = stderr.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    if bytes.len() < STDERR_KEPT {
                        bytes.extend_from_slice(&chunk[..n]);
                    }
                }
                *said.lock().unwrap_or_else(|p| p.into_inner()) =
                    String::from_utf8_lossy(&bytes).into_owned();
            })
        };
        Ok(SshStream {
            child: Some(child),
            stdin,
            stdout,
            login: Some(login),
            answered: false,
            diagnosis: None,
            collector: Some(collector),
            said,
            destination: self.clone(),
        })
    }
}

/// The route to one ssh server: its address and the turns its logins take.
pub struct SshRoute {
    pub target: SshTarget,
    logins: Arc<Semaphore>,
}

impl SshRoute {
    pub fn new(target: SshTarget) -> SshRoute {
        SshRoute {
            target,
            logins: Arc::new(Semaphore::new(LOGINS_AT_ONCE)),
        }
    }

    /// Waits for a login's turn, then starts ssh. The turn is handed back when the daemon's
    /// first byte arrives, when the connection goes, or after [`CONNECT_TIMEOUT`], the most a
    /// login is given: a request whose answer comes only after a long upload (an image load)
    /// logged in long before.
    pub(crate) async fn dial(&self) -> io::Result<SshStream> {
        let turn = Arc::clone(&self.logins)
            .acquire_owned()
            .await
            .map_err(|_| io::Error::other("the ssh route was closed"))?;
        let (logged_in, wait) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _turn = turn;
            let _ = tokio::time::timeout(CONNECT_TIMEOUT, wait).await;
        });
        self.target.dial(logged_in)
    }
}

fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    let port_of = |p: &str| p.parse::<u16>().ok().filter(|p| *p != 0);
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port_of(port)?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match text.split_once(':') {
        Some((host, port)) => Some((host, Some(port_of(port)?))),
        None => Some((text, None)),
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Why an ssh connection ended before the remote daemon said anything, from what ssh and the
/// remote `docker` wrote to stderr.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SshFailure {
    pub problem: ConnectProblem,
    pub message: String,
}

impl SshFailure {
    pub fn classify(target: &SshTarget, stderr: &str) -> SshFailure {
        let destination = target.destination();
        let command = target.ssh_command_line();
        let has = |needle: &str| stderr.contains(needle);
        let problem = if has("REMOTE HOST IDENTIFICATION HAS CHANGED") {
            ConnectProblem::SshHostKeyChanged {
                destination,
                host: target.host.clone(),
            }
        } else if has("Host key verification failed")
            || has("No ED25519 host key is known")
            || has("No RSA host key is known")
        {
            ConnectProblem::SshHostKeyUnknown { command }
        } else if has("Permission denied") && !has("docker") {
            ConnectProblem::SshLoginRefused {
                destination,
                command,
            }
        } else if has("docker: command not found") || has("docker: not found") {
            ConnectProblem::SshRemoteDockerMissing { destination }
        } else {
            ConnectProblem::SshFailed
        };
        let message = last_lines(stderr);
        SshFailure {
            problem,
            message: if message.is_empty() {
                format!("ssh to {} ended without a word", target.destination())
            } else {
                message
            },
        }
    }
}

/// ssh's last words are its reason; banners and warnings come before them.
fn last_lines(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '@'))
        .collect();
    lines[lines.len().saturating_sub(2)..].join(" ")
}

/// One `docker system dial-stdio` over ssh, read and written like a socket. When ssh ends before
/// a byte of answer, the read fails with the [`SshFailure`] that says why, rather than a bare
/// "connection closed".
pub(crate) struct SshStream {
    /// Held so that dropping the stream ends ssh (`kill_on_drop`); the diagnosis takes it to
    /// wait for ssh's exit.
    child: Option<Child>,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// Held until the daemon answers: the ssh login is over by then.
    login: Option<oneshot::Sender<()>>,
    answered: bool,
    diagnosis: Option<Pin<Box<dyn std::future::Future<Output = io::Error> + Send>>>,
    collector: Option<tokio::task::JoinHandle<()>>,
    said: Arc<Mutex<String>>,
    destination: SshTarget,
}

impl SshStream {
    fn start_diagnosis(&mut self) -> Pin<Box<dyn std::future::Future<Output = io::Error> + Send>> {
        let collector = self.collector.take();
        let said = Arc::clone(&self.said);
        let target = self.destination.clone();
        let child = self.child.take();
        Box::pin(async move {
            // ssh closes its stdout and stderr as it exits, so both waits end at once; the
            // bound is for a remote command that closed its stdout and lives on.
            let exited = async move {
                if let Some(collector) = collector {
                    let _ = collector.await;
                }
                if let Some(mut child) = child {
                    let _ = child.wait().await;
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(5), exited).await;
            let stderr = said.lock().unwrap_or_else(|p| p.into_inner()).clone();
            io::Error::other(SshFailure::classify(&target, &stderr))
        })
    }
}

impl AsyncRead for SshStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(diagnosis) = this.diagnosis.as_mut() {
            return diagnosis.as_mut().poll(cx).map(Err);
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stdout).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before && !this.answered => {
                let mut diagnosis = this.start_diagnosis();
                let polled = diagnosis.as_mut().poll(cx).map(Err);
                this.diagnosis = Some(diagnosis);
                polled
            }
            Poll::Ready(Ok(())) => {
                this.answered = true;
                this.login = None;
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stdin).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_like_the_docker_cli() {
        let full = SshTarget::parse("ssh://me@build-box:2222").unwrap();
        assert_eq!(full.user.as_deref(), Some("me"));
        assert_eq!(full.host, "build-box");
        assert_eq!(full.port, Some(2222));
        assert_eq!(full.socket, None);
        let bare = SshTarget::parse("ssh://build-box").unwrap();
        assert_eq!((bare.user, bare.port), (None, None));
        let v6 = SshTarget::parse("ssh://root@[::1]:22/run/user/1000/docker.sock").unwrap();
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.port, Some(22));
        assert_eq!(v6.socket.as_deref(), Some("/run/user/1000/docker.sock"));
        assert_eq!(SshTarget::parse("ssh://box/").unwrap().socket, None);
    }

    #[test]
    fn bad_addresses_are_refused_with_a_reason() {
        for bad in [
            "ssh://",
            "ssh://me:secret@box",
            "ssh://box:0",
            "ssh://box:port",
            "ssh://box:70000",
            "ssh://-oProxyCommand=touch%20x",
            "ssh://@box",
            "ssh://box?x=1",
            "tcp://box",
            "ssh://[::1",
        ] {
            assert!(SshTarget::parse(bad).is_err(), "{bad} was accepted");
        }
        let password = SshTarget::parse("ssh://me:secret@box").unwrap_err();
        assert!(password.contains("password"), "{password}");
    }

    #[test]
    fn the_command_keeps_the_host_from_being_read_as_an_option() {
        let target = SshTarget::parse("ssh://me@box:2200/var/run/it's.sock").unwrap();
        let args = target.arguments();
        let dashdash = args.iter().position(|a| a == "--").unwrap();
        assert_eq!(args[dashdash + 1], "box");
        assert!(args.contains(&"BatchMode=yes".to_string()));
        assert_eq!(
            args.last().unwrap(),
            r"docker --host 'unix:///var/run/it'\''s.sock' system dial-stdio"
        );
        let l = args.iter().position(|a| a == "-l").unwrap();
        assert_eq!(args[l + 1], "me");
        assert_eq!(target.ssh_command_line(), "ssh -p 2200 me@box");
    }

    #[test]
    fn ssh_messages_become_problems_with_a_fix() {
        let target = SshTarget::parse("ssh://me@box").unwrap();
        let problem = |stderr: &str| SshFailure::classify(&target, stderr).problem;
        assert_eq!(
            problem("No ED25519 host key is known for box and you have requested strict checking.\r\nHost key verification failed.\r\n"),
            ConnectProblem::SshHostKeyUnknown { command: "ssh me@box".into() }
        );
        assert!(matches!(
            problem("@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@\nHost key verification failed.\n"),
            ConnectProblem::SshHostKeyChanged { .. }
        ));
        assert!(matches!(
            problem("me@box: Permission denied (publickey,password).\r\n"),
            ConnectProblem::SshLoginRefused { .. }
        ));
        assert!(matches!(
            problem("bash: line 1: docker: command not found\n"),
            ConnectProblem::SshRemoteDockerMissing { .. }
        ));
        // The remote docker's own refusal is not a login problem.
        assert_eq!(
            problem("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock"),
            ConnectProblem::SshFailed
        );
        let failure = SshFailure::classify(
            &target,
            "Warning: banner\nssh: connect to host box port 22: Connection refused\n",
        );
        assert_eq!(
            failure.message,
            "Warning: banner ssh: connect to host box port 22: Connection refused"
        );
    }
}
