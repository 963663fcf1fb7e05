//! Tauri's build step. Cargo runs it in the package root, so it finds tauri.conf.json there;
//! our capabilities live in src-tauri/capabilities, which we name ourselves.

// The names the shell shares with the window, written once (see that file); the build step
// needs only the commands, each of which gets an `allow-…` permission the capabilities grant.
#[allow(dead_code)]
#[macro_use]
#[path = "src/ipc_names.rs"]
mod ipc_names;

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=src-tauri/src/ipc_names.rs");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*.json")
        .app_manifest(tauri_build::AppManifest::new().commands(ipc_names::COMMANDS));
    tauri_build::try_build(attributes).expect("tauri build step failed");
}
