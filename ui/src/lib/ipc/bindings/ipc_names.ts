// Made by the app's tests from src-tauri/src/ipc_names.rs: edit that file, not this one.

/** Every command the window may call. */
export const COMMANDS = [
  "connect",
  "list_images",
  "images_disk_bytes",
  "diagnose",
  "start_help",
  "get_settings",
  "set_docker_host",
  "audit_image",
  "cancel_audit",
  "export_audit",
  "open_export",
  "disk_usage",
  "preview_prune",
  "prune_images",
  "preview_build_cache",
  "prune_build_cache",
  "plan_squash",
  "render_squash",
  "preflight_squash",
  "run_squash",
  "cancel_squash",
] as const;
export type Command = (typeof COMMANDS)[number];

/** Every event the shell emits. */
export const EVENTS = {
  imagesChanged: "images-changed",
  daemonLost: "daemon-lost",
} as const;
