//! What stood between us and a daemon we were pointed at, in kinds a front end can branch on and
//! a person can act on: each says what to do about it ([`ConnectProblem::fix`]).

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(export)]
pub enum ConnectProblem {
    /// No `ssh` program to run.
    SshMissing,
    /// ssh does not know the host's key and, in batch mode, will not ask.
    SshHostKeyUnknown { command: String },
    /// The host's key is not the one known_hosts holds.
    SshHostKeyChanged { destination: String, host: String },
    /// No key was accepted, and ssh may not ask for a password.
    SshLoginRefused {
        destination: String,
        command: String,
    },
    /// The login worked but the remote shell has no `docker` command.
    SshRemoteDockerMissing { destination: String },
    /// ssh failed otherwise (host unknown, refused, timed out, the remote daemon down…): the
    /// message says how.
    SshFailed,
    /// The daemon speaks TLS and we spoke plain HTTP to it.
    TlsRequired,
    /// We spoke TLS to an address that does not.
    TlsNotSpoken,
    /// The daemon's certificate is not one we trust for that address.
    TlsUntrusted,
    /// The daemon wants a client certificate we did not give.
    TlsClientCertificateNeeded,
    /// A certificate or key file that could not be read.
    TlsMaterialUnreadable { path: String },
}

impl ConnectProblem {
    /// What to do about it, in words and commands.
    pub fn fix(&self) -> String {
        match self {
            ConnectProblem::SshMissing => "install the OpenSSH client (Windows: Settings → System → Optional features → OpenSSH Client; Debian/Ubuntu: apt install openssh-client)".into(),
            ConnectProblem::SshHostKeyUnknown { command } => format!(
                "this machine does not know the host's key yet: run `{command}` once in a terminal, check the fingerprint it shows and answer yes; Squashbox never accepts a key for you"
            ),
            ConnectProblem::SshHostKeyChanged { destination, host } => format!(
                "the key {destination} shows is not the one known: if that machine was reinstalled, remove the old key with `ssh-keygen -R {host}` and connect once in a terminal; otherwise do not connect"
            ),
            ConnectProblem::SshLoginRefused { destination, command } => format!(
                "Squashbox logs in with keys only and never asks for a password: copy your key there with `ssh-copy-id {destination}` or load it into your agent with `ssh-add`, then check that `{command}` logs in without asking"
            ),
            ConnectProblem::SshRemoteDockerMissing { destination } => format!(
                "install the docker command on {destination}, or put it on the PATH that non-interactive ssh sessions get there"
            ),
            ConnectProblem::SshFailed => "check that `ssh` to that address works in a terminal and that `docker version` works there".into(),
            ConnectProblem::TlsRequired => "this daemon speaks TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem, use an https:// address, or use a Docker context with its TLS material".into(),
            ConnectProblem::TlsNotSpoken => "this address answers in plain HTTP, not TLS: unset DOCKER_TLS_VERIFY and DOCKER_TLS, or use tcp:// without them".into(),
            ConnectProblem::TlsUntrusted => "the daemon's certificate is not signed by the CA in ca.pem (or is not for this address): check DOCKER_CERT_PATH or the context's TLS material".into(),
            ConnectProblem::TlsClientCertificateNeeded => "the daemon checks clients' certificates: put cert.pem and key.pem beside ca.pem in DOCKER_CERT_PATH (or in the context's TLS material)".into(),
            ConnectProblem::TlsMaterialUnreadable { path } => format!("make {path} readable, or point DOCKER_CERT_PATH at the folder that holds the certificates"),
        }
    }
}
