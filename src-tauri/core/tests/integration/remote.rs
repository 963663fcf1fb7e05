//! Remote daemons over ssh and TLS, on loopback: what `scripts/test-remote.sh` starts (an sshd
//! and a TLS dockerd of its own) and names in `SQUASHBOX_TEST_*` variables. Ignored in a plain
//! `cargo test`, which has neither; the script runs them with `--ignored remote::`. The list,
//! audit, squash, prune and events tests run over both routes in the same script.

use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::{Environment, Outcome, Route};
use squashbox_core::transport::ConnectProblem;
use squashbox_core::Error;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test-remote.sh"))
}

/// An environment of its own (not the process's): only `host` is tried.
fn chosen(host: &str) -> Environment {
    Environment {
        setting: Some(host.into()),
        ..Environment::default()
    }
}

fn with_tls(host: &str, cert_dir: Option<String>) -> Environment {
    Environment {
        tls_verify: true,
        cert_path: cert_dir.map(PathBuf::from),
        ..chosen(host)
    }
}

/// The failure of the one endpoint tried, and the whole error's words.
async fn refusal(env: &Environment) -> (String, Option<ConnectProblem>, String) {
    match Daemon::connect(env).await {
        Err(err @ Error::DaemonUnavailable { .. }) => {
            let message = err.to_string();
            let Error::DaemonUnavailable { attempts } = err else {
                unreachable!()
            };
            match &attempts[0].outcome {
                Outcome::Failed { reason, problem } => (reason.clone(), problem.clone(), message),
                other => panic!("expected a failure, got {other:?}"),
            }
        }
        Err(other) => panic!("expected DaemonUnavailable, got {other:?}"),
        Ok(daemon) => panic!("connected to {:?}", daemon.info().endpoint),
    }
}

#[tokio::test]
#[ignore = "needs the sshd of scripts/test-remote.sh"]
async fn over_ssh_the_window_sees_the_remote_machine_and_its_docker_disk() {
    let host = var("SQUASHBOX_TEST_SSH");
    let daemon = Daemon::connect(&chosen(&host)).await.expect("ssh connects");
    let info = daemon.info();
    let destination = host.trim_start_matches("ssh://").to_owned();
    assert_eq!(info.route, Route::Ssh { destination });
    assert!(info.route.is_remote());
    // The sshd's docker talks to this machine's default daemon: it names this machine.
    let name = crate::support::docker(&["info", "--format", "{{.Name}}"]);
    assert_eq!(info.host_name, name);
    // The figures come from the daemon's df (a raw request, over ssh too), never this disk.
    let usage = squashbox_core::disk::usage(&daemon)
        .await
        .expect("df over ssh");
    assert_eq!(usage.host_disk, None);
}

/// A cold connection pool opens a connection, so an ssh login, for each request at once (the
/// image list inspects 16 images at a time). OpenSSH's server, as configured by default, drops
/// logins beyond 10 in progress at random: 40 at once lost some before Squashbox took turns.
#[tokio::test]
#[ignore = "needs the sshd of scripts/test-remote.sh"]
async fn many_requests_at_once_over_ssh_all_get_answers() {
    let daemon = Daemon::connect(&chosen(&var("SQUASHBOX_TEST_SSH")))
        .await
        .expect("ssh connects");
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let docker = daemon.docker().clone();
        requests.spawn(async move { docker.ping().await });
    }
    let mut failed = Vec::new();
    while let Some(answer) = requests.join_next().await {
        if let Err(err) = answer.expect("the request's task ran") {
            failed.push(err.to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of 40 failed: {failed:?}",
        failed.len()
    );
}

#[tokio::test]
#[ignore = "needs the sshd of scripts/test-remote.sh"]
async fn an_unknown_ssh_host_key_says_how_to_accept_it() {
    let host = var("SQUASHBOX_TEST_SSH_UNKNOWN_HOST");
    let started = Instant::now();
    let (reason, problem, message) = refusal(&chosen(&host)).await;
    let alias = host.trim_start_matches("ssh://");
    assert_eq!(
        problem,
        Some(ConnectProblem::SshHostKeyUnknown {
            command: format!("ssh {alias}")
        }),
        "{reason}"
    );
    assert!(reason.contains("Host key verification failed"), "{reason}");
    assert!(
        message.contains(&format!("run `ssh {alias}` once")),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "it waited");
}

#[tokio::test]
#[ignore = "needs the sshd of scripts/test-remote.sh"]
async fn a_password_only_login_says_keys_are_needed() {
    let host = var("SQUASHBOX_TEST_SSH_PASSWORD_ONLY");
    let (reason, problem, message) = refusal(&chosen(&host)).await;
    assert!(
        matches!(problem, Some(ConnectProblem::SshLoginRefused { .. })),
        "{problem:?}: {reason}"
    );
    assert!(reason.contains("Permission denied"), "{reason}");
    assert!(message.contains("ssh-copy-id"), "{message}");
}

#[tokio::test]
#[ignore = "needs the sshd of scripts/test-remote.sh"]
async fn an_ssh_server_that_never_answers_times_out_with_a_reason() {
    // Takes the connection and says nothing, as a wedged server or a black-holing firewall.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let (reason, _, _) = refusal(&chosen(&format!("ssh://root@127.0.0.1:{port}"))).await;
    let waited = started.elapsed();
    silent.abort();
    assert!(waited < Duration::from_secs(25), "waited {waited:?}");
    assert!(
        reason.contains("timed out") || reason.contains("no answer within"),
        "{reason}"
    );
}

#[tokio::test]
#[ignore = "needs the TLS dockerd of scripts/test-remote.sh"]
async fn a_tls_daemon_reached_without_tls_says_so() {
    let host = var("SQUASHBOX_TEST_TLS_HOST");
    let (reason, problem, message) = refusal(&chosen(&host)).await;
    assert_eq!(problem, Some(ConnectProblem::TlsRequired), "{reason}");
    assert!(message.contains("DOCKER_TLS_VERIFY=1"), "{message}");
}

#[tokio::test]
#[ignore = "needs the TLS dockerd of scripts/test-remote.sh"]
async fn a_tls_daemon_that_checks_clients_says_a_certificate_is_needed() {
    let host = var("SQUASHBOX_TEST_TLS_HOST");
    let env = with_tls(&host, Some(var("SQUASHBOX_TEST_TLS_CA_ONLY")));
    let (reason, problem, _) = refusal(&env).await;
    assert_eq!(
        problem,
        Some(ConnectProblem::TlsClientCertificateNeeded),
        "{reason}"
    );
}

#[tokio::test]
#[ignore = "needs the TLS dockerd of scripts/test-remote.sh"]
async fn a_certificate_signed_by_an_unknown_ca_is_not_trusted() {
    let host = var("SQUASHBOX_TEST_TLS_HOST");
    // No ca.pem: the system's roots, which never signed the test's CA.
    let empty = tempfile::tempdir().unwrap();
    let env = with_tls(&host, Some(empty.path().display().to_string()));
    let (reason, problem, _) = refusal(&env).await;
    assert_eq!(problem, Some(ConnectProblem::TlsUntrusted), "{reason}");
}

#[tokio::test]
#[ignore = "needs the TLS dockerd of scripts/test-remote.sh"]
async fn with_its_certificates_a_tls_daemon_answers_verified() {
    let host = var("SQUASHBOX_TEST_TLS_HOST");
    let daemon = Daemon::connect(&with_tls(&host, Some(var("SQUASHBOX_TEST_TLS_CERTS"))))
        .await
        .expect("TLS connects");
    let info = daemon.info();
    assert_eq!(
        info.route,
        Route::Tls {
            address: host.trim_start_matches("tcp://").into(),
            verified: true,
            client_certificate: true
        }
    );
    let usage = squashbox_core::disk::usage(&daemon)
        .await
        .expect("df over TLS");
    assert_eq!(usage.host_disk, None);
}
