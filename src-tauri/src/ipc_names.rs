//! The names the window and the shell share, each written once: the commands the window may
//! call and the events the shell emits. Everything else is made from this file or checked
//! against it:
//! - `lib.rs` registers the handlers and `build.rs` the `allow-…` permissions through
//!   [`with_commands!`], so a command listed here and not written fails to compile;
//! - the app's tests write `ui/src/lib/ipc/bindings/ipc_names.ts` from it, so the UI's `call`
//!   and its mock backend accept only these names (the type check fails on any other), and
//!   check that the capability file grants exactly these commands.
//!
//! `build.rs` compiles this file as a module of its own, so it holds only the macro and names.

/// Calls the macro `$then` with every command's name, in the order the window meets them.
/// A macro rather than a list of strings because `generate_handler!` needs the functions.
macro_rules! with_commands {
    ($then:ident) => {
        $then! {
            connect,
            list_images,
            images_disk_bytes,
            diagnose,
            start_help,
            get_settings,
            set_docker_host,
            audit_image,
            cancel_audit,
            export_audit,
            open_export,
            disk_usage,
            preview_prune,
            prune_images,
            preview_build_cache,
            prune_build_cache,
            plan_squash,
            render_squash,
            preflight_squash,
            run_squash,
            cancel_squash,
        }
    };
}

/// Every command's name, as the window calls it.
macro_rules! command_names {
    ($($command:ident,)*) => {
        &[$(stringify!($command)),*]
    };
}
pub const COMMANDS: &[&str] = with_commands!(command_names);

/// An image or container appeared, went or was retagged.
pub const IMAGES_CHANGED: &str = "images-changed";
/// The daemon's event stream ended; the payload is the error it ended with.
pub const DAEMON_LOST: &str = "daemon-lost";

/// Every event, under the name the UI's `EVENTS` record gives it.
pub const EVENTS: &[(&str, &str)] = &[
    ("imagesChanged", IMAGES_CHANGED),
    ("daemonLost", DAEMON_LOST),
];

#[cfg(test)]
mod tests {
    use super::{COMMANDS, EVENTS};
    use std::collections::BTreeSet;
    use std::path::Path;

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");

    /// The UI's copy, written as ts-rs writes the types beside it; the test command fails when
    /// the committed file differs from what this writes.
    #[test]
    fn writes_the_names_for_the_ui() {
        let quoted = |name: &str| format!("\"{name}\"");
        let commands: Vec<String> = COMMANDS
            .iter()
            .map(|c| format!("  {},\n", quoted(c)))
            .collect();
        let events: Vec<String> = EVENTS
            .iter()
            .map(|(key, name)| format!("  {key}: {},\n", quoted(name)))
            .collect();
        let text = format!(
            "// Made by the app's tests from src-tauri/src/ipc_names.rs: edit that file, not this one.\n\n\
             /** Every command the window may call. */\n\
             export const COMMANDS = [\n{}] as const;\n\
             export type Command = (typeof COMMANDS)[number];\n\n\
             /** Every event the shell emits. */\n\
             export const EVENTS = {{\n{}}} as const;\n",
            commands.concat(),
            events.concat()
        );
        let path = Path::new(ROOT).join("ui/src/lib/ipc/bindings/ipc_names.ts");
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).expect("the UI's bindings folder is writable");
        }
    }

    /// The capability names its permissions by hand (Tauri reads the file as it is), so it is
    /// checked: every command granted, nothing granted that is not a command.
    #[test]
    fn the_capability_grants_exactly_the_commands() {
        let path = Path::new(ROOT).join("src-tauri/capabilities/default.json");
        let text = std::fs::read_to_string(&path).expect("the capability file is there");
        let capability: serde_json::Value = serde_json::from_str(&text).expect("it is JSON");
        let granted: BTreeSet<String> = capability["permissions"]
            .as_array()
            .expect("it lists permissions")
            .iter()
            .filter_map(|p| p.as_str()?.strip_prefix("allow-").map(str::to_owned))
            .collect();
        let commands: BTreeSet<String> = COMMANDS.iter().map(|c| c.replace('_', "-")).collect();
        assert_eq!(
            granted, commands,
            "src-tauri/capabilities/default.json against ipc_names.rs"
        );
    }
}
