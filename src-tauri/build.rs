//! Tauri's build step. Cargo runs it in the package root, so it finds tauri.conf.json there;
//! our capabilities live in src-tauri/capabilities, which we name ourselves.

/// Every command the shell exposes: each gets an `allow-…` permission the capabilities grant.
const COMMANDS: &[&str] = &[
    "connect",
    "list_images",
    "disk_usage",
    "diagnose",
    "start_help",
    "get_settings",
    "set_docker_host",
    "audit_image",
    "cancel_audit",
    "export_audit",
    "open_export",
    "disk_overview",
    "preview_prune",
    "prune_images",
    "preview_build_cache",
    "prune_build_cache",
    "plan_squash",
    "render_squash",
    "preflight_squash",
    "run_squash",
    "cancel_squash",
];

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("tauri build step failed");
}
