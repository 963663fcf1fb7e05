//! The commands the UI calls. Each one deserialises, calls the core, maps the error.

use squashbox_core::daemon::{Daemon, DaemonInfo};
use squashbox_core::endpoint::Attempt;
use squashbox_core::images::{self, ImageSummary};
use squashbox_core::settings::Settings;
use tauri::State;

use crate::ipc_error::IpcError;
use crate::state::AppState;

type CommandResult<T> = Result<T, IpcError>;

#[tauri::command]
pub async fn connect(state: State<'_, AppState>) -> CommandResult<DaemonInfo> {
    Ok(state.reconnect().await?.info().clone())
}

#[tauri::command]
pub async fn list_images(state: State<'_, AppState>) -> CommandResult<Vec<ImageSummary>> {
    let daemon = state.daemon().await?;
    Ok(state.forget_if_gone(images::list(&daemon).await).await?)
}

#[tauri::command]
pub async fn disk_usage(state: State<'_, AppState>) -> CommandResult<u64> {
    let daemon = state.daemon().await?;
    Ok(state
        .forget_if_gone(images::disk_usage(&daemon).await)
        .await?)
}

#[tauri::command]
pub async fn diagnose(state: State<'_, AppState>) -> CommandResult<Vec<Attempt>> {
    Ok(Daemon::diagnose(&state.environment()?).await)
}

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> CommandResult<Settings> {
    Ok(state.settings()?)
}

/// Saves the address the user chose (or clears it) and connects through it.
#[tauri::command]
pub async fn set_docker_host(
    state: State<'_, AppState>,
    host: Option<String>,
) -> CommandResult<DaemonInfo> {
    let host = host.map(|h| h.trim().to_owned()).filter(|h| !h.is_empty());
    if let Some(host) = &host {
        Settings::validate_host(host)?;
    }
    let mut settings = state.settings()?;
    settings.docker_host = host;
    state.save_settings(&settings)?;
    Ok(state.reconnect().await?.info().clone())
}
