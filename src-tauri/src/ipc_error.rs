//! The error every command returns: a code the UI branches on, a sentence for people, and,
//! when no daemon answered, what was tried.

use serde::Serialize;
use squashbox_core::endpoint::Attempt;
use squashbox_core::error::ErrorCode;
use squashbox_core::squash::PlanField;
use squashbox_core::Error;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
    pub attempts: Option<Vec<Attempt>>,
    /// Which setting of a squash plan is wrong, for an error the window shows at the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub setting: Option<SettingAt>,
}

/// A setting of the plan, and which row of it when it is a list.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SettingAt {
    pub setting: PlanField,
    pub row: Option<u32>,
}

impl From<Error> for IpcError {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        let code = err.code();
        let (attempts, setting) = match err {
            Error::DaemonUnavailable { attempts } => (Some(attempts), None),
            Error::InvalidSetting { setting, row, .. } => (None, Some(SettingAt { setting, row })),
            _ => (None, None),
        };
        IpcError {
            code,
            message,
            attempts,
            setting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use squashbox_core::endpoint::{Endpoint, Outcome, Source};
    use squashbox_core::transport::ConnectProblem;

    #[test]
    fn daemon_unavailable_carries_its_attempts() {
        let err = Error::DaemonUnavailable {
            attempts: vec![Attempt {
                endpoint: Endpoint {
                    host: "unix:///nonexistent.sock".into(),
                    source: Source::DockerHost,
                    tls: None,
                },
                outcome: Outcome::Failed {
                    reason: "no socket at /nonexistent.sock".into(),
                    problem: None,
                },
            }],
        };
        let json = serde_json::to_value(IpcError::from(err)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "code": "daemonUnavailable",
                "message": "Docker is not running or not reachable (unix:///nonexistent.sock: no socket at /nonexistent.sock)",
                "attempts": [{
                    "endpoint": { "host": "unix:///nonexistent.sock", "source": { "kind": "dockerHost" }, "tls": null },
                    "outcome": { "kind": "failed", "reason": "no socket at /nonexistent.sock", "problem": null }
                }]
            })
        );
    }

    /// The UI branches on the problem's kind and shows its fields (the command to run).
    #[test]
    fn a_known_connect_problem_crosses_as_a_tagged_value() {
        let err = Error::DaemonUnavailable {
            attempts: vec![Attempt {
                endpoint: Endpoint {
                    host: "ssh://box".into(),
                    source: Source::Setting,
                    tls: None,
                },
                outcome: Outcome::Failed {
                    reason: "Host key verification failed.".into(),
                    problem: Some(ConnectProblem::SshHostKeyUnknown {
                        command: "ssh box".into(),
                    }),
                },
            }],
        };
        let json = serde_json::to_value(IpcError::from(err)).unwrap();
        assert_eq!(
            json["attempts"][0]["outcome"]["problem"],
            serde_json::json!({ "kind": "sshHostKeyUnknown", "command": "ssh box" })
        );
        let message = json["message"].as_str().unwrap();
        assert!(message.contains("run `ssh box` once"), "{message}");
    }

    #[test]
    fn a_wrong_setting_says_which_and_where() {
        let err = Error::InvalidSetting {
            setting: PlanField::Env,
            row: Some(2),
            message: "env \"A B\": a variable name cannot contain spaces".into(),
        };
        let json = serde_json::to_value(IpcError::from(err)).unwrap();
        assert_eq!(json["code"], "invalidInput");
        assert_eq!(
            json["setting"],
            serde_json::json!({ "setting": "env", "row": 2 })
        );
    }

    #[test]
    fn other_errors_have_no_attempts() {
        let json =
            serde_json::to_value(IpcError::from(Error::ImageNotFound("nope:1".into()))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "code": "imageNotFound", "message": "no image named \"nope:1\"", "attempts": null })
        );
    }
}
