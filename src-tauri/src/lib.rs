//! The Tauri shell: thin commands over `squashbox_core`, the app state they share, and the
//! error shape that crosses the IPC boundary. No Docker logic lives here.

#[macro_use]
pub mod ipc_names;
mod commands;
mod ipc_error;
mod state;

pub use ipc_error::IpcError;

use tauri::Manager;

/// The handler of every command in `ipc_names.rs`: `commands::<name>`.
macro_rules! handlers {
    ($($command:ident,)*) => {
        tauri::generate_handler![$(commands::$command),*]
    };
}

pub fn run() {
    tauri::Builder::default()
        // The window's size, position and maximised state, saved on close beside settings.json and
        // put back before the window shows: the plugin also moves a window whose monitor is gone
        // back onto one that is there, which our own setting would have to do again.
        .plugin(tauri_plugin_window_state::Builder::default().build())
        // Used from Rust only (the save dialog, opening a saved report): the window gets none of
        // their commands, so it cannot open or pick paths of its own.
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .setup(|app| {
            let settings_path = app.path().app_config_dir()?.join("settings.json");
            app.manage(state::AppState::new(app.handle().clone(), settings_path));
            Ok(())
        })
        .invoke_handler(with_commands!(handlers))
        .run(tauri::generate_context!())
        .unwrap_or_else(|err| {
            eprintln!("Squashbox could not start: {err}");
            std::process::exit(1);
        });
}
