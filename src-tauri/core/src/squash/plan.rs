//! What a squash will declare: the source image's configuration, which `COPY` drops, taken from
//! its inspection and open to edits, and the tag the result gets.
//!
//! ```
//! # fn demo(inspect: &bollard::models::ImageInspect) -> squashbox_core::Result<()> {
//! use squashbox_core::squash::SquashPlan;
//! let mut plan = SquashPlan::from_image(inspect, "web:1.2")?;
//! assert_eq!(plan.tag, "web:1.2-squashed");
//! plan.user = "1000:1000".into();
//! plan.validate()?;
//! # Ok(()) }
//! ```
//!
//! The rules here are of two kinds: what Docker itself would refuse (a port above 65535, a
//! relative working directory), and what a Dockerfile cannot say (a newline in an `ENV` value:
//! the parser reads one instruction per line and no escape turns into a newline there). Both
//! are refused with [`Error::InvalidInput`] naming the field, before anything is built.

use bollard::models::{HealthConfig, ImageInspect};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use ts_rs::TS;

use crate::error::{Error, Result};
use crate::images::short_id;
use crate::reference::{is_image_id, validate_tag, Reference, DEFAULT_TAG};

/// Everything the squashed image declares besides its filesystem. Strings left empty mean
/// "not set": Docker makes no difference between the two for these fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SquashPlan {
    /// Full content ID, `sha256:…`: the COPY names the image by it, so a tag moved meanwhile
    /// cannot change what is copied.
    pub source_id: String,
    /// What the user chose the source by (`repo:tag`, or an ID for a dangling image).
    pub source_name: String,
    /// The name the result gets, `repo:tag`.
    pub tag: String,
    /// In the image's order: later variables see earlier ones at run time, and people read
    /// them in this order.
    pub env: Vec<KeyValue>,
    pub user: String,
    pub working_dir: String,
    /// None: not set. `Some([])`: set to nothing, which for `Cmd` overrides a base image's.
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `port/protocol`, e.g. `80/tcp`; sorted.
    pub exposed_ports: Vec<String>,
    /// Sorted by key.
    pub labels: Vec<KeyValue>,
    /// Sorted.
    pub volumes: Vec<String>,
    pub stop_signal: String,
    pub healthcheck: Option<Healthcheck>,
    pub shell: Option<Vec<String>>,
    /// Trigger instructions, each as its Dockerfile line without the `ONBUILD`, e.g.
    /// `RUN make`. They run in images built `FROM` the result, never in the squash itself.
    pub on_build: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// Docker's health check. Durations are nanoseconds, as in the API; 0 means "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Healthcheck {
    /// `["NONE"]`, `["CMD", program, args…]` or `["CMD-SHELL", command]`.
    pub test: Vec<String>,
    #[ts(type = "number")]
    pub interval: u64,
    #[ts(type = "number")]
    pub timeout: u64,
    #[ts(type = "number")]
    pub start_period: u64,
    /// Needs Engine 25 or newer to be declared: older builders refuse the flag.
    #[ts(type = "number")]
    pub start_interval: u64,
    #[ts(type = "number")]
    pub retries: u64,
}

/// Docker refuses health-check durations between 0 and this (1 ms).
const MIN_HEALTHCHECK_NS: u64 = 1_000_000;

/// Instructions an `ONBUILD` may carry (Docker refuses `ONBUILD ONBUILD`, `FROM` and
/// `MAINTAINER` there).
const TRIGGER_INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

impl SquashPlan {
    /// The plan that reproduces `inspect`'s configuration; `name` is what the user chose the
    /// image by, and gives the default tag (`repo:tag-squashed`).
    pub fn from_image(inspect: &ImageInspect, name: &str) -> Result<SquashPlan> {
        let source_id = inspect
            .id
            .clone()
            .ok_or_else(|| Error::Stream("the daemon's image inspection had no ID".into()))?;
        let config = inspect.config.clone().unwrap_or_default();
        let env = config
            .env
            .unwrap_or_default()
            .into_iter()
            .map(|entry| match entry.split_once('=') {
                Some((key, value)) => Ok(KeyValue {
                    key: key.to_owned(),
                    value: value.to_owned(),
                }),
                // The API's way of unsetting a variable; no Dockerfile instruction says it.
                None => Err(Error::InvalidInput(format!(
                    "the image's environment holds {entry:?} without a value, which a Dockerfile cannot declare"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let mut labels: Vec<KeyValue> = config
            .labels
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| KeyValue { key, value })
            .collect();
        labels.sort_by(|a, b| a.key.cmp(&b.key));
        let sorted = |list: Option<Vec<String>>| {
            let mut list = list.unwrap_or_default();
            list.sort();
            list
        };
        Ok(SquashPlan {
            tag: default_tag(name, &source_id),
            source_name: name.to_owned(),
            env,
            user: config.user.unwrap_or_default(),
            working_dir: config.working_dir.unwrap_or_default(),
            cmd: config.cmd,
            entrypoint: config.entrypoint,
            exposed_ports: sorted(config.exposed_ports),
            labels,
            volumes: sorted(config.volumes),
            stop_signal: config.stop_signal.unwrap_or_default(),
            healthcheck: config
                .healthcheck
                .map(Healthcheck::from_api)
                .transpose()?
                .flatten(),
            shell: config.shell,
            on_build: config.on_build.unwrap_or_default(),
            source_id,
        })
    }

    /// Refuses, naming the field, what Docker would refuse or a Dockerfile cannot express.
    /// [`crate::squash::render`] checks this too. The error is [`Error::InvalidSetting`], which
    /// says which setting (and which row of a list) is wrong, so the window can say it there.
    pub fn validate(&self) -> Result<()> {
        if !is_image_id(&self.source_id) {
            return invalid(format!(
                "source: {:?} is not a full image ID (sha256: and 64 hex digits)",
                self.source_id
            ));
        }
        validate_tag(&self.tag).map_err(at(PlanField::Tag, None))?;
        validate_pairs("env", &self.env).map_err(in_row(PlanField::Env))?;
        validate_pairs("label", &self.labels).map_err(in_row(PlanField::Labels))?;
        if !self.user.is_empty() {
            validate_user(&self.user).map_err(at(PlanField::User, None))?;
        }
        if !self.working_dir.is_empty() {
            validate_working_dir(&self.working_dir).map_err(at(PlanField::WorkingDir, None))?;
        }
        for (setting, field, list) in [
            (PlanField::Cmd, "cmd", &self.cmd),
            (PlanField::Entrypoint, "entrypoint", &self.entrypoint),
            (PlanField::Shell, "shell", &self.shell),
        ] {
            for (row, arg) in list.iter().flatten().enumerate() {
                no_nul(field, arg).map_err(at(setting, Some(row)))?;
            }
        }
        if self.shell.as_ref().is_some_and(Vec::is_empty) {
            return invalid("shell: a Dockerfile cannot declare an empty shell; leave it unset")
                .map_err(at(PlanField::Shell, None));
        }
        for (row, port) in self.exposed_ports.iter().enumerate() {
            validate_port(port).map_err(at(PlanField::ExposedPorts, Some(row)))?;
        }
        for (row, volume) in self.volumes.iter().enumerate() {
            validate_volume(volume).map_err(at(PlanField::Volumes, Some(row)))?;
        }
        if !self.stop_signal.is_empty() && !is_signal(&self.stop_signal) {
            return invalid(format!(
                "stop signal {:?} is neither a signal name like SIGTERM nor a number",
                self.stop_signal
            ))
            .map_err(at(PlanField::StopSignal, None));
        }
        if let Some(check) = &self.healthcheck {
            check.validate().map_err(at(PlanField::Healthcheck, None))?;
        }
        for (row, trigger) in self.on_build.iter().enumerate() {
            validate_trigger(trigger).map_err(at(PlanField::OnBuild, Some(row)))?;
        }
        Ok(())
    }
}

/// A setting of the plan, named as the plan's own field is (`workingDir`), for an error that
/// says where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum PlanField {
    Tag,
    Env,
    Labels,
    User,
    WorkingDir,
    Cmd,
    Entrypoint,
    Shell,
    ExposedPorts,
    Volumes,
    StopSignal,
    Healthcheck,
    OnBuild,
}

/// Turns a check's refusal into one that names where it is: `setting`, and `row` of a list.
fn at(setting: PlanField, row: Option<usize>) -> impl FnOnce(Error) -> Error {
    move |err| match err {
        Error::InvalidInput(message) => Error::InvalidSetting {
            setting,
            row: row.map(|r| r as u32),
            message,
        },
        other => other,
    }
}

/// The same for a list checked as a whole, whose refusal already says which row.
fn in_row(setting: PlanField) -> impl FnOnce((usize, Error)) -> Error {
    move |(row, err)| at(setting, Some(row))(err)
}

fn validate_working_dir(dir: &str) -> Result<()> {
    one_line("working directory", dir)?;
    if !dir.starts_with('/') {
        return invalid(format!(
            "working directory {dir:?} must be absolute (start with /)"
        ));
    }
    Ok(())
}

fn validate_volume(volume: &str) -> Result<()> {
    one_line("volume", volume)?;
    if !volume.starts_with('/') {
        return invalid(format!("volume {volume:?} must be absolute (start with /)"));
    }
    Ok(())
}

impl Healthcheck {
    /// None for a health check that only inherits (an empty test): a scratch image has
    /// nothing to inherit.
    fn from_api(api: HealthConfig) -> Result<Option<Healthcheck>> {
        let test = api.test.unwrap_or_default();
        if test.is_empty() {
            return Ok(None);
        }
        let non_negative = |field: &str, value: Option<i64>| {
            u64::try_from(value.unwrap_or(0)).map_err(|_| {
                Error::InvalidInput(format!("the image's healthcheck {field} is negative"))
            })
        };
        Ok(Some(Healthcheck {
            test,
            interval: non_negative("interval", api.interval)?,
            timeout: non_negative("timeout", api.timeout)?,
            start_period: non_negative("start period", api.start_period)?,
            start_interval: non_negative("start interval", api.start_interval)?,
            retries: non_negative("retries", api.retries)?,
        }))
    }

    /// The `CMD-SHELL` command, if that is the form.
    pub fn shell_command(&self) -> Option<&str> {
        match self.test.as_slice() {
            [kind, command] if kind == "CMD-SHELL" => Some(command),
            _ => None,
        }
    }

    pub(crate) fn durations(&self) -> [(&'static str, u64); 4] {
        [
            ("interval", self.interval),
            ("timeout", self.timeout),
            ("start-period", self.start_period),
            ("start-interval", self.start_interval),
        ]
    }

    fn validate(&self) -> Result<()> {
        for (name, ns) in self.durations() {
            if ns != 0 && ns < MIN_HEALTHCHECK_NS {
                return invalid(format!(
                    "healthcheck {name} must be 0 (not set) or at least 1 ms"
                ));
            }
            if i64::try_from(ns).is_err() {
                return invalid(format!("healthcheck {name} is too long"));
            }
        }
        match self.test.first().map(String::as_str) {
            Some("NONE") => {
                let options = self.durations().iter().any(|(_, ns)| *ns != 0) || self.retries != 0;
                if self.test.len() > 1 || options {
                    return invalid(
                        "healthcheck: a disabled check (NONE) cannot carry a command or options",
                    );
                }
            }
            Some("CMD") if self.test.len() > 1 => {
                for arg in &self.test[1..] {
                    no_nul("healthcheck", arg)?;
                }
            }
            Some("CMD-SHELL") if self.test.len() == 2 => {
                validate_shell_form("healthcheck", &self.test[1])?;
            }
            _ => {
                return invalid(format!(
                    "healthcheck test {:?} is not NONE, CMD with a program, or CMD-SHELL with one command",
                    self.test
                ))
            }
        }
        Ok(())
    }
}

fn default_tag(name: &str, id: &str) -> String {
    let fallback = format!("squashed-{}:{DEFAULT_TAG}", short_id(id));
    if names_the_id(name, id) {
        return fallback;
    }
    let Ok(reference) = Reference::parse(name) else {
        return fallback;
    };
    // Room for the suffix within Docker's 128-character tag limit.
    let tag: String = reference
        .tag()
        .unwrap_or(DEFAULT_TAG)
        .chars()
        .take(119)
        .collect();
    let candidate = format!("{}:{tag}-squashed", reference.repository());
    if validate_tag(&candidate).is_ok() {
        candidate
    } else {
        fallback
    }
}

/// The user chose the image by its ID or a prefix of it (which may also read as a name).
pub(crate) fn names_the_id(name: &str, id: &str) -> bool {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    let bare = name.strip_prefix("sha256:").unwrap_or(name);
    bare.is_empty() || hex.starts_with(bare)
}

/// The row a refusal is about comes with it: the first one that is wrong.
fn validate_pairs(field: &str, pairs: &[KeyValue]) -> Result<(), (usize, Error)> {
    let mut seen = HashSet::new();
    for (row, KeyValue { key, value }) in pairs.iter().enumerate() {
        let checked = (|| {
            if key.is_empty() {
                return invalid(format!("{field}: a name is empty"));
            }
            one_line(field, key)?;
            // The parser splits `name=value` at the first '=', before any quote is read.
            if key.contains('=') {
                return invalid(format!("{field} {key:?}: a name cannot contain '='"));
            }
            if field == "env" && key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return invalid(format!(
                    "env {key:?}: a variable name cannot contain spaces or control characters"
                ));
            }
            if !seen.insert(key) {
                return invalid(format!(
                    "{field} {key:?} appears twice; a Dockerfile keeps only the last"
                ));
            }
            one_line(&format!("{field} {key:?}"), value)
        })();
        checked.map_err(|err| (row, err))?;
    }
    Ok(())
}

/// `name` or `uid`, optionally `:group` or `:gid`, as `docker run --user` takes it.
fn validate_user(user: &str) -> Result<()> {
    let part_ok = |part: &str| {
        let numeric = !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
        if numeric {
            return part.parse::<u32>().is_ok();
        }
        let name = part.strip_suffix('$').unwrap_or(part);
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && part.len() <= 256
    };
    let (name, group) = match user.split_once(':') {
        Some((name, group)) => (name, Some(group)),
        None => (user, None),
    };
    if part_ok(name) && group.is_none_or(part_ok) {
        Ok(())
    } else {
        invalid(format!(
            "user {user:?} must be a name or a numeric uid, optionally followed by :group or :gid"
        ))
    }
}

fn validate_port(port: &str) -> Result<()> {
    let (number, protocol) = match port.split_once('/') {
        Some((number, protocol)) => (number, Some(protocol)),
        None => (port, None),
    };
    let number_ok =
        number.chars().all(|c| c.is_ascii_digit()) && number.parse::<u16>().is_ok_and(|n| n != 0);
    let protocol_ok = protocol.is_none_or(|p| matches!(p, "tcp" | "udp" | "sctp"));
    if number_ok && protocol_ok {
        Ok(())
    } else {
        invalid(format!(
            "port {port:?} must be a number from 1 to 65535, optionally followed by /tcp, /udp or /sctp"
        ))
    }
}

/// A number, or a name such as `SIGTERM`, `TERM` or `SIGRTMIN+3` (Docker looks the name up
/// when the container stops; the table depends on the platform, so only the shape is checked).
fn is_signal(signal: &str) -> bool {
    if signal.chars().all(|c| c.is_ascii_digit()) {
        return signal.parse::<u8>().is_ok_and(|n| n != 0);
    }
    let (name, offset) = match signal.find(['+', '-']) {
        Some(at) => (&signal[..at], Some(&signal[at + 1..])),
        None => (signal, None),
    };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric())
        && offset.is_none_or(|o| !o.is_empty() && o.chars().all(|c| c.is_ascii_digit()))
}

/// A trigger is written back as its own line after `ONBUILD `, so it must be one line that the
/// parser reads back unchanged.
fn validate_trigger(trigger: &str) -> Result<()> {
    one_line("onbuild trigger", trigger)?;
    if trigger.starts_with(char::is_whitespace) {
        return invalid(format!(
            "onbuild trigger {trigger:?} starts with a space, which the parser drops"
        ));
    }
    if ends_with_continuation(trigger) {
        return invalid(format!(
            "onbuild trigger {trigger:?} ends with \\, which would join it to the next line"
        ));
    }
    let instruction = trigger
        .split(char::is_whitespace)
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    if !TRIGGER_INSTRUCTIONS.contains(&instruction.as_str()) {
        return invalid(format!(
            "onbuild trigger {trigger:?} does not start with an instruction ONBUILD allows (RUN, COPY, ENV, …)"
        ));
    }
    Ok(())
}

/// A command in shell form is the rest of the line as the parser leaves it: trimmed, joined to
/// the next line if it ends with the escape character, and read as exec form if it starts with
/// a JSON array (the Engine 20.10 parser even ignores text after the array).
pub(crate) fn validate_shell_form(field: &str, command: &str) -> Result<()> {
    one_line(field, command)?;
    if command.is_empty() {
        return invalid(format!("{field}: the shell command is empty"));
    }
    if command.starts_with(char::is_whitespace) || command.ends_with(char::is_whitespace) {
        return invalid(format!(
            "{field}: the shell command {command:?} starts or ends with a space, which the parser trims"
        ));
    }
    if ends_with_continuation(command) {
        return invalid(format!(
            "{field}: the shell command {command:?} ends with \\, which would join it to the next line"
        ));
    }
    let leading_json = serde_json::Deserializer::from_str(command)
        .into_iter::<serde_json::Value>()
        .next();
    if let Some(Ok(serde_json::Value::Array(_))) = leading_json {
        return invalid(format!(
            "{field}: the shell command {command:?} starts with a JSON array, which Docker reads as exec form"
        ));
    }
    Ok(())
}

/// The parser's line-continuation rule: the escape character, then only spaces or tabs.
pub(crate) fn ends_with_continuation(line: &str) -> bool {
    line.trim_end_matches([' ', '\t']).ends_with('\\')
}

/// Values written inside a Dockerfile line: the parser reads one instruction per line (a
/// carriage return is dropped at a line's end) and no escape yields a newline.
pub(crate) fn one_line(field: &str, value: &str) -> Result<()> {
    no_nul(field, value)?;
    if value.contains(['\n', '\r']) {
        return invalid(format!(
            "{field} {value:?}: a line break cannot be written on a Dockerfile line"
        ));
    }
    Ok(())
}

/// No process can receive a NUL: arguments and environment are C strings.
fn no_nul(field: &str, value: &str) -> Result<()> {
    if value.contains('\0') {
        return invalid(format!("{field} {value:?} contains a NUL character"));
    }
    Ok(())
}

fn invalid<T>(message: impl Into<String>) -> Result<T> {
    Err(Error::InvalidInput(message.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::ImageConfig;
    use std::collections::HashMap;

    const ID: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn valid() -> SquashPlan {
        SquashPlan {
            source_id: ID.into(),
            source_name: "web:1".into(),
            tag: "web:1-squashed".into(),
            ..Default::default()
        }
    }

    fn refused(plan: &SquashPlan, needle: &str) {
        match plan.validate() {
            Err(Error::InvalidSetting { message, .. } | Error::InvalidInput(message)) => {
                assert!(message.contains(needle), "{message:?} lacks {needle:?}")
            }
            other => panic!("expected a refusal mentioning {needle:?}, got {other:?}"),
        }
    }

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }

    fn inspect(config: ImageConfig) -> ImageInspect {
        ImageInspect {
            id: Some(ID.into()),
            config: Some(config),
            ..Default::default()
        }
    }

    #[test]
    fn a_refusal_names_the_setting_and_the_row_it_is_about() {
        let mut plan = valid();
        plan.env = vec![
            KeyValue {
                key: "A".into(),
                value: "1".into(),
            },
            KeyValue {
                key: "APP HOME".into(),
                value: "/srv".into(),
            },
        ];
        assert!(matches!(
            plan.validate(),
            Err(Error::InvalidSetting {
                setting: PlanField::Env,
                row: Some(1),
                ..
            })
        ));
        plan.env.clear();
        plan.working_dir = "srv".into();
        assert!(matches!(
            plan.validate(),
            Err(Error::InvalidSetting {
                setting: PlanField::WorkingDir,
                row: None,
                ..
            })
        ));
        plan.working_dir.clear();
        plan.tag = "Not A Tag".into();
        assert!(matches!(
            plan.validate(),
            Err(Error::InvalidSetting {
                setting: PlanField::Tag,
                row: None,
                ..
            })
        ));
        plan.tag = "web:1-squashed".into();
        plan.exposed_ports = vec!["80/tcp".into(), "99999".into()];
        assert!(matches!(
            plan.validate(),
            Err(Error::InvalidSetting {
                setting: PlanField::ExposedPorts,
                row: Some(1),
                ..
            })
        ));
    }

    #[test]
    fn a_plan_takes_every_field_from_the_image_config() {
        let config = ImageConfig {
            user: Some("app".into()),
            env: Some(vec!["Z=1".into(), "A=x=y".into(), "E=".into()]),
            cmd: Some(vec![]),
            entrypoint: None,
            working_dir: Some("/srv".into()),
            exposed_ports: Some(vec!["443/tcp".into(), "53/udp".into()]),
            volumes: Some(vec!["/b".into(), "/a".into()]),
            labels: Some(HashMap::from([
                ("b".to_string(), "2".to_string()),
                ("a".to_string(), "1".to_string()),
            ])),
            stop_signal: Some("SIGINT".into()),
            shell: Some(vec!["/bin/sh".into(), "-c".into()]),
            on_build: Some(vec!["RUN make".into()]),
            healthcheck: Some(HealthConfig {
                test: Some(vec!["CMD".into(), "true".into()]),
                interval: Some(30_000_000_000),
                retries: Some(3),
                ..Default::default()
            }),
            ..Default::default()
        };
        let plan = SquashPlan::from_image(&inspect(config), "web:1").unwrap();
        assert_eq!(plan.source_id, ID);
        assert_eq!(
            plan.env,
            vec![kv("Z", "1"), kv("A", "x=y"), kv("E", "")],
            "order kept, value split at the first ="
        );
        assert_eq!(plan.cmd, Some(vec![]), "set-to-empty is not unset");
        assert_eq!(plan.entrypoint, None);
        assert_eq!(plan.user, "app");
        assert_eq!(plan.working_dir, "/srv");
        assert_eq!(plan.exposed_ports, vec!["443/tcp", "53/udp"]);
        assert_eq!(plan.volumes, vec!["/a", "/b"]);
        assert_eq!(plan.labels, vec![kv("a", "1"), kv("b", "2")]);
        assert_eq!(plan.stop_signal, "SIGINT");
        assert_eq!(plan.on_build, vec!["RUN make"]);
        let check = plan.healthcheck.as_ref().unwrap();
        assert_eq!(
            (check.interval, check.retries, check.timeout),
            (30_000_000_000, 3, 0)
        );
        plan.validate().unwrap();
    }

    #[test]
    fn an_image_without_config_gives_an_empty_plan() {
        let plan = SquashPlan::from_image(
            &ImageInspect {
                id: Some(ID.into()),
                ..Default::default()
            },
            ID,
        )
        .unwrap();
        assert_eq!(plan.tag, "squashed-0123456789ab:latest");
        assert!(plan.env.is_empty() && plan.cmd.is_none() && plan.healthcheck.is_none());
    }

    #[test]
    fn an_inherit_only_healthcheck_is_no_healthcheck() {
        let config = ImageConfig {
            healthcheck: Some(HealthConfig {
                test: Some(vec![]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let plan = SquashPlan::from_image(&inspect(config), "a").unwrap();
        assert_eq!(plan.healthcheck, None);
    }

    #[test]
    fn a_variable_without_value_cannot_be_planned() {
        let config = ImageConfig {
            env: Some(vec!["UNSET".into()]),
            ..Default::default()
        };
        let err = SquashPlan::from_image(&inspect(config), "a").unwrap_err();
        assert!(matches!(err, Error::InvalidInput(m) if m.contains("UNSET")));
    }

    #[test]
    fn negative_durations_are_refused() {
        let config = ImageConfig {
            healthcheck: Some(HealthConfig {
                test: Some(vec!["NONE".into()]),
                timeout: Some(-1),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(SquashPlan::from_image(&inspect(config), "a").is_err());
    }

    #[test]
    fn default_tags_add_squashed_to_the_tag() {
        let tag = |name: &str| default_tag(name, ID);
        assert_eq!(tag("web:1.2"), "web:1.2-squashed");
        assert_eq!(tag("web"), "web:latest-squashed");
        assert_eq!(
            tag("localhost:5000/team/web"),
            "localhost:5000/team/web:latest-squashed"
        );
        let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
        assert_eq!(tag(&format!("web@{digest}")), "web:latest-squashed");
        assert_eq!(tag(&format!("web:2@{digest}")), "web:2-squashed");
        assert_eq!(
            tag("docker.io/library/web:1"),
            "docker.io/library/web:1-squashed"
        );
        assert_eq!(tag(ID), "squashed-0123456789ab:latest");
        assert_eq!(tag("0123456789ab"), "squashed-0123456789ab:latest");
        assert_eq!(tag("Not A Name"), "squashed-0123456789ab:latest");
        let long = format!("web:{}", "t".repeat(128));
        assert_eq!(tag(&long).len(), "web:".len() + 119 + "-squashed".len());
        validate_tag(&tag(&long)).unwrap();
    }

    #[test]
    fn the_source_must_be_a_full_image_id() {
        let mut plan = valid();
        plan.source_id = "sha256:0123".into();
        refused(&plan, "full image ID");
        plan.source_id = ID.to_uppercase().replace("SHA256", "sha256");
        refused(&plan, "full image ID");
    }

    #[test]
    fn env_names_and_values_are_checked() {
        let with_env = |key: &str, value: &str| SquashPlan {
            env: vec![kv(key, value)],
            ..valid()
        };
        with_env("JAVA_HOME", "$HOME \"'\\ ${X} ü")
            .validate()
            .unwrap();
        with_env("dotted.name-ok", "").validate().unwrap();
        refused(&with_env("", "x"), "name is empty");
        refused(&with_env("A=B", "x"), "cannot contain '='");
        refused(&with_env("A B", "x"), "spaces");
        refused(&with_env("A", "line\nbreak"), "line break");
        refused(&with_env("A", "cr\r"), "line break");
        refused(&with_env("A", "nul\0"), "NUL");
        let twice = SquashPlan {
            env: vec![kv("A", "1"), kv("A", "2")],
            ..valid()
        };
        refused(&twice, "appears twice");
    }

    #[test]
    fn labels_are_checked() {
        let with_label = |key: &str, value: &str| SquashPlan {
            labels: vec![kv(key, value)],
            ..valid()
        };
        with_label("org.opencontainers.image.title", "a \"b\" $c")
            .validate()
            .unwrap();
        with_label("with space", "").validate().unwrap();
        refused(&with_label("a=b", "x"), "'='");
        refused(&with_label("", "x"), "empty");
        refused(&with_label("a", "two\nlines"), "line break");
    }

    #[test]
    fn users_are_names_or_ids_with_an_optional_group() {
        for good in [
            "root",
            "1000",
            "1000:1000",
            "app:staff",
            "_svc$",
            "www-data:0",
            "a.b",
        ] {
            SquashPlan {
                user: good.into(),
                ..valid()
            }
            .validate()
            .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "-x",
            "1000:",
            ":1",
            "a b",
            "99999999999",
            "1x",
            "a:b:c",
            "$x",
        ] {
            refused(
                &SquashPlan {
                    user: bad.into(),
                    ..valid()
                },
                "user",
            );
        }
    }

    #[test]
    fn working_directories_and_volumes_are_absolute() {
        let plan = SquashPlan {
            working_dir: "/srv/my app".into(),
            volumes: vec!["/data".into()],
            ..valid()
        };
        plan.validate().unwrap();
        refused(
            &SquashPlan {
                working_dir: "srv".into(),
                ..valid()
            },
            "absolute",
        );
        refused(
            &SquashPlan {
                volumes: vec!["data".into()],
                ..valid()
            },
            "absolute",
        );
        refused(
            &SquashPlan {
                volumes: vec!["/a\nb".into()],
                ..valid()
            },
            "line break",
        );
    }

    #[test]
    fn ports_are_numbers_with_a_known_protocol() {
        for good in ["80", "80/tcp", "53/udp", "9/sctp", "65535/tcp"] {
            validate_port(good).unwrap();
        }
        for bad in [
            "0",
            "65536",
            "80/TCP",
            "80/icmp",
            "http",
            "+80",
            "80-90/tcp",
            "",
            "80/",
        ] {
            assert!(validate_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stop_signals_are_names_or_numbers() {
        for good in ["SIGTERM", "TERM", "sigint", "9", "SIGRTMIN+3", "RTMAX-1"] {
            assert!(is_signal(good), "{good}");
        }
        for bad in ["0", "256", "SIG TERM", "+3", "SIGRTMIN+", "$SIG", "-9"] {
            assert!(!is_signal(bad), "{bad}");
        }
        refused(
            &SquashPlan {
                stop_signal: "KILL ME".into(),
                ..valid()
            },
            "stop signal",
        );
    }

    #[test]
    fn healthchecks_are_checked() {
        let with = |test: &[&str], interval: u64| SquashPlan {
            healthcheck: Some(Healthcheck {
                test: test.iter().map(|s| s.to_string()).collect(),
                interval,
                ..Default::default()
            }),
            ..valid()
        };
        with(&["NONE"], 0).validate().unwrap();
        with(&["CMD", "/bin/true"], MIN_HEALTHCHECK_NS)
            .validate()
            .unwrap();
        with(&["CMD-SHELL", "[ -f /ok ] || exit 1"], 0)
            .validate()
            .unwrap();
        refused(&with(&["NONE"], 5_000_000_000), "NONE");
        refused(&with(&["CMD"], 0), "healthcheck test");
        refused(&with(&["CMD-SHELL", "a", "b"], 0), "healthcheck test");
        refused(&with(&["SOMETHING", "a"], 0), "healthcheck test");
        refused(&with(&["CMD", "true"], 999_999), "at least 1 ms");
        refused(&with(&["CMD", "true"], u64::MAX), "too long");
        refused(&with(&["CMD-SHELL", " x"], 0), "space");
        refused(&with(&["CMD-SHELL", "x\t"], 0), "space");
        refused(&with(&["CMD-SHELL", "x \\"], 0), "join");
        refused(&with(&["CMD-SHELL", "[\"a\"] && b"], 0), "JSON array");
        refused(&with(&["CMD-SHELL", "[1]"], 0), "JSON array");
        refused(&with(&["CMD-SHELL", ""], 0), "empty");
        refused(&with(&["CMD-SHELL", "a\nb"], 0), "line break");
    }

    #[test]
    fn exec_form_arguments_may_hold_anything_but_nul() {
        let plan = SquashPlan {
            cmd: Some(vec!["a\nb".into(), "$X".into(), "\"".into(), String::new()]),
            entrypoint: Some(vec![]),
            shell: Some(vec!["/bin/sh".into(), "-c".into()]),
            ..valid()
        };
        plan.validate().unwrap();
        refused(
            &SquashPlan {
                cmd: Some(vec!["a\0".into()]),
                ..valid()
            },
            "NUL",
        );
        refused(
            &SquashPlan {
                shell: Some(vec![]),
                ..valid()
            },
            "empty shell",
        );
    }

    #[test]
    fn triggers_are_single_allowed_instructions() {
        let with = |trigger: &str| SquashPlan {
            on_build: vec![trigger.into()],
            ..valid()
        };
        with("RUN [\"/bin/busybox\",\"touch\",\"/x\"]")
            .validate()
            .unwrap();
        with("copy . /src   ").validate().unwrap();
        refused(&with("ONBUILD RUN x"), "instruction");
        refused(&with("FROM scratch"), "instruction");
        refused(&with("MAINTAINER me"), "instruction");
        refused(&with("echo hi"), "instruction");
        refused(&with(" RUN x"), "starts with a space");
        refused(&with("RUN x \\ "), "join");
        refused(&with("RUN a\nRUN b"), "line break");
    }
}
