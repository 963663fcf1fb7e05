//! The image config a direct squash loads: the source's own config, byte for byte where
//! nothing changes (platform, author, fields this code has never heard of), with the plan's
//! settings, one layer and a history that says what happened.
//!
//! ```text
//! let config = image_config::squashed(&source_config_bytes, &plan, &diff_id, now)?;
//! ```

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::squash::plan::{Healthcheck, SquashPlan};

/// The config of the squashed image, as JSON bytes. `diff_ids` are its layers' (`sha256:…` of
/// their tars): the source's first ones when a partial squash keeps them, then the squashed
/// one. `created` is an RFC 3339 time for the image and its history entry.
pub(super) fn squashed(
    source: &[u8],
    plan: &SquashPlan,
    diff_ids: &[String],
    created: &str,
) -> Result<Vec<u8>> {
    let mut config: Map<String, Value> = serde_json::from_slice(source).map_err(|e| {
        Error::MalformedArchive(format!("the image config is not a JSON object: {e}"))
    })?;
    let layers_before = config
        .get("rootfs")
        .and_then(|r| r.get("diff_ids"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let mut settings = config
        .remove("config")
        .and_then(|c| match c {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    apply(&mut settings, plan);
    config.insert("config".into(), Value::Object(settings));
    // The container and builder that made the last layer say nothing about this image.
    for stale in ["container", "container_config", "docker_version"] {
        config.remove(stale);
    }
    config.insert("created".into(), json!(created));
    let kept = diff_ids.len().saturating_sub(1);
    config.insert(
        "rootfs".into(),
        json!({ "type": "layers", "diff_ids": diff_ids }),
    );
    // The kept layers' steps stay, with the steps that made no layer among them.
    let mut history = kept_history(config.remove("history"), kept);
    history.push(json!({
        "created": created,
        "created_by": format!(
            "squashbox: {} layers of {} squashed into one",
            layers_before.saturating_sub(kept),
            plan.source_name
        ),
        "comment": "squashbox direct squash",
    }));
    config.insert("history".into(), Value::Array(history));
    serde_json::to_vec(&Value::Object(config))
        .map_err(|e| Error::Stream(format!("writing the image config: {e}")))
}

/// The history entries up to and with the one that made the `kept`-th layer.
fn kept_history(history: Option<Value>, kept: usize) -> Vec<Value> {
    let Some(Value::Array(entries)) = history else {
        return Vec::new();
    };
    let mut layers = 0;
    entries
        .into_iter()
        .take_while(|entry| {
            let before = layers;
            let empty = entry.get("empty_layer").and_then(Value::as_bool) == Some(true);
            if !empty {
                layers += 1;
            }
            before < kept
        })
        .collect()
}

/// Puts the plan's settings into the config's `config` object; a setting left empty is
/// taken out, as Docker leaves it out.
fn apply(settings: &mut Map<String, Value>, plan: &SquashPlan) {
    let mut set = |key: &str, value: Option<Value>| match value {
        Some(value) => {
            settings.insert(key.into(), value);
        }
        None => {
            settings.remove(key);
        }
    };
    let text = |s: &str| (!s.is_empty()).then(|| json!(s));
    let set_of = |keys: &[String]| {
        (!keys.is_empty())
            .then(|| Value::Object(keys.iter().map(|k| (k.clone(), json!({}))).collect()))
    };
    set(
        "Env",
        (!plan.env.is_empty()).then(|| {
            json!(plan
                .env
                .iter()
                .map(|v| format!("{}={}", v.key, v.value))
                .collect::<Vec<_>>())
        }),
    );
    set("User", text(&plan.user));
    set("WorkingDir", text(&plan.working_dir));
    set("Cmd", plan.cmd.as_ref().map(|c| json!(c)));
    set("Entrypoint", plan.entrypoint.as_ref().map(|e| json!(e)));
    set("ExposedPorts", set_of(&plan.exposed_ports));
    set("Volumes", set_of(&plan.volumes));
    set(
        "Labels",
        (!plan.labels.is_empty()).then(|| {
            Value::Object(
                plan.labels
                    .iter()
                    .map(|l| (l.key.clone(), json!(l.value)))
                    .collect(),
            )
        }),
    );
    set("StopSignal", text(&plan.stop_signal));
    set("Healthcheck", plan.healthcheck.as_ref().map(healthcheck));
    set("Shell", plan.shell.as_ref().map(|s| json!(s)));
    set(
        "OnBuild",
        (!plan.on_build.is_empty()).then(|| json!(plan.on_build)),
    );
}

/// Docker's `HealthConfig`: durations in nanoseconds, 0 (unset) left out.
fn healthcheck(check: &Healthcheck) -> Value {
    let mut map = Map::new();
    map.insert("Test".into(), json!(check.test));
    for (key, value) in [
        ("Interval", check.interval),
        ("Timeout", check.timeout),
        ("StartPeriod", check.start_period),
        ("StartInterval", check.start_interval),
        ("Retries", check.retries),
    ] {
        if value > 0 {
            map.insert(key.into(), json!(value));
        }
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::squash::plan::KeyValue;

    const SOURCE: &str = r##"{
        "architecture": "amd64", "os": "linux", "variant": "v8", "author": "me",
        "x-future-field": {"kept": true},
        "config": {"Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"], "Hostname": "", "ArgsEscaped": true},
        "container": "abc", "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop)"]},
        "docker_version": "20.10.24",
        "created": "2020-01-01T00:00:00Z",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:aa", "sha256:bb", "sha256:cc"]},
        "history": [{"created_by": "one"}, {"created_by": "two"}, {"created_by": "three"}]
    }"##;

    fn plan() -> SquashPlan {
        SquashPlan {
            source_id: format!("sha256:{}", "0".repeat(64)),
            source_name: "app:1".into(),
            tag: "app:1-squashed".into(),
            env: vec![
                KeyValue {
                    key: "PATH".into(),
                    value: "/bin".into(),
                },
                KeyValue {
                    key: "QUOTE".into(),
                    value: "a \"b\" $c\\".into(),
                },
            ],
            user: "1000:1000".into(),
            cmd: Some(vec![]),
            exposed_ports: vec!["80/tcp".into()],
            healthcheck: Some(Healthcheck {
                test: vec!["CMD".into(), "true".into()],
                interval: 30_000_000_000,
                retries: 3,
                ..Healthcheck::default()
            }),
            ..SquashPlan::default()
        }
    }

    fn squashed_value() -> Value {
        let ids = ["sha256:dd".to_string()];
        let bytes = squashed(SOURCE.as_bytes(), &plan(), &ids, "2026-12-02T00:00:00Z").unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn the_platform_and_unknown_fields_stay_and_the_settings_are_the_plans() {
        let config = squashed_value();
        assert_eq!(config["architecture"], "amd64");
        assert_eq!(config["variant"], "v8");
        assert_eq!(config["author"], "me");
        assert_eq!(config["x-future-field"], json!({"kept": true}));
        let settings = &config["config"];
        assert_eq!(settings["Env"], json!(["PATH=/bin", "QUOTE=a \"b\" $c\\"]));
        assert_eq!(settings["User"], "1000:1000");
        assert_eq!(settings["Cmd"], json!([]), "set to nothing stays set");
        assert_eq!(settings["ExposedPorts"], json!({"80/tcp": {}}));
        assert_eq!(
            settings["Healthcheck"],
            json!({"Test": ["CMD", "true"], "Interval": 30_000_000_000u64, "Retries": 3})
        );
        assert_eq!(
            settings["ArgsEscaped"], true,
            "fields the plan has not are kept"
        );
        assert!(settings.get("WorkingDir").is_none());
        assert!(settings.get("Entrypoint").is_none());
    }

    #[test]
    fn one_layer_and_one_history_entry_and_no_build_container() {
        let config = squashed_value();
        assert_eq!(
            config["rootfs"],
            json!({"type": "layers", "diff_ids": ["sha256:dd"]})
        );
        let history = config["history"].as_array().unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(
            history[0]["created_by"],
            "squashbox: 3 layers of app:1 squashed into one"
        );
        assert_eq!(config["created"], "2026-12-02T00:00:00Z");
        for stale in ["container", "container_config", "docker_version"] {
            assert!(config.get(stale).is_none(), "{stale}");
        }
    }

    #[test]
    fn a_partial_squash_keeps_the_kept_layers_history() {
        let source = r#"{
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:aa", "sha256:bb", "sha256:cc"]},
            "history": [
                {"created_by": "base"}, {"created_by": "ENV A=1", "empty_layer": true},
                {"created_by": "second"}, {"created_by": "ENV B=2", "empty_layer": true},
                {"created_by": "third"}
            ]
        }"#;
        let ids = [
            "sha256:aa".to_string(),
            "sha256:bb".into(),
            "sha256:new".into(),
        ];
        let bytes = squashed(source.as_bytes(), &plan(), &ids, "now").unwrap();
        let config: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"], json!(ids));
        let steps: Vec<&str> = config["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["created_by"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            [
                "base",
                "ENV A=1",
                "second",
                "squashbox: 1 layers of app:1 squashed into one"
            ]
        );
    }

    #[test]
    fn a_config_that_is_not_an_object_is_malformed() {
        let err = squashed(b"[1]", &plan(), &["sha256:dd".into()], "now").unwrap_err();
        assert!(matches!(err, Error::MalformedArchive(_)), "{err}");
    }
}
