//! Finding and talking to the daemon.

use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::{Environment, Outcome, Source};
use squashbox_core::Error;

#[tokio::test]
async fn connects_to_the_running_daemon_and_reports_it() {
    let daemon = Daemon::connect(&Environment::from_process(None))
        .await
        .expect("a daemon answers");
    let info = daemon.info();
    let expected_version = crate::support::docker(&["version", "--format", "{{.Server.Version}}"]);
    assert_eq!(info.engine_version, expected_version);
    let expected_driver = crate::support::docker(&["info", "--format", "{{.Driver}}"]);
    assert_eq!(info.storage_driver, expected_driver);
    assert!(!info.architecture.is_empty());
    assert!(info
        .attempts
        .iter()
        .any(|a| matches!(a.outcome, Outcome::Answered { .. })));
}

/// Bollard 0.21 leaves the version out of its URLs; we put it back. If the daemon did not accept
/// `/v<negotiated>/…`, every call after connecting would fail.
#[tokio::test]
async fn requests_carry_the_negotiated_api_version() {
    let daemon = Daemon::connect(&Environment::from_process(None))
        .await
        .unwrap();
    let server_api = crate::support::docker(&["version", "--format", "{{.Server.APIVersion}}"]);
    let ours = squashbox_core::daemon::ApiVersion::bollard().to_string();
    let expected = if squashbox_core::daemon::ApiVersion::parse(&server_api)
        < squashbox_core::daemon::ApiVersion::parse(&ours)
    {
        server_api
    } else {
        ours
    };
    assert_eq!(daemon.info().api_version, expected);
    squashbox_core::images::list(&daemon)
        .await
        .expect("a pinned request succeeds");
}

#[tokio::test]
async fn a_dead_docker_host_is_a_clear_error_and_nothing_else_is_tried() {
    let env = Environment {
        docker_host: Some("unix:///nonexistent.sock".into()),
        ..Environment::from_process(None)
    };
    match Daemon::connect(&env).await {
        Err(Error::DaemonUnavailable { attempts }) => {
            assert_eq!(attempts[0].endpoint.source, Source::DockerHost);
            assert!(
                matches!(&attempts[0].outcome, Outcome::Failed { reason, .. } if reason.contains("/nonexistent.sock"))
            );
            // The running daemon at the default socket is not used behind the user's back.
            assert!(attempts[1..].iter().all(|a| a.outcome == Outcome::Skipped));
        }
        other => panic!("expected DaemonUnavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_socket_that_is_not_docker_fails_fast() {
    // A listening socket that never answers: the probe must time out, not hang.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silent.sock");
    let _listener = tokio::net::UnixListener::bind(&path).unwrap();
    let env = Environment {
        setting: Some(format!("unix://{}", path.display())),
        ..Environment::default()
    };
    let started = std::time::Instant::now();
    let err = Daemon::connect(&env).await.unwrap_err();
    assert!(matches!(err, Error::DaemonUnavailable { .. }), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn diagnosis_tries_every_endpoint() {
    let env = Environment {
        docker_host: Some("unix:///nonexistent.sock".into()),
        ..Environment::from_process(None)
    };
    let attempts = Daemon::diagnose(&env).await;
    assert!(matches!(attempts[0].outcome, Outcome::Failed { .. }));
    let default_socket = attempts
        .iter()
        .find(|a| a.endpoint.host == "unix:///var/run/docker.sock")
        .expect("the default socket is listed");
    assert!(matches!(default_socket.outcome, Outcome::Answered { .. }));
}
