//! What the commands share: the settings file's path, the current daemon connection, and the
//! task that relays the daemon's news to the window.

use squashbox_core::audit::{AuditReport, FsSnapshot};
use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::job::CancelToken;
use squashbox_core::prune::Previewed;
use squashbox_core::settings::Settings;
use squashbox_core::squash::SourceScan;
use squashbox_core::{events, Error, Result};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Emitter};
use tokio::sync::Mutex;

use crate::ipc_error::IpcError;

/// App-wide news the window listens for.
pub const IMAGES_CHANGED: &str = "images-changed";
pub const DAEMON_LOST: &str = "daemon-lost";

pub struct AppState {
    app: AppHandle,
    settings_path: PathBuf,
    daemon: Mutex<Option<Daemon>>,
    watcher: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// Audit reports by image ID: an ID names the content, so a report never goes stale.
    pub audits: std::sync::Mutex<HashMap<String, AuditReport>>,
    /// The final filesystem of the image audited last, by its ID: a squash of it then reads only
    /// its result to verify. One image's worth, as it can hold hundreds of thousands of entries.
    pub audited_files: std::sync::Mutex<Option<(String, Arc<FsSnapshot>)>>,
    /// Cancel tokens of the audits running now, by image ID.
    pub running_audits: std::sync::Mutex<HashMap<String, CancelToken>>,
    /// The squash running now, if any: one at a time, and prune waits for it so it cannot
    /// remove what the squash is making.
    pub running_squash: std::sync::Mutex<Option<CancelToken>>,
    /// The images the window last showed as removable; the clean-up removes no others.
    pub previewed: std::sync::Mutex<Previewed>,
}

/// An audit's findings about an image, held while a squash of it is prepared and run.
pub struct KnownSource {
    report: Option<AuditReport>,
    files: Option<Arc<FsSnapshot>>,
}

impl KnownSource {
    pub fn scan(&self) -> SourceScan<'_> {
        SourceScan {
            special_files: self.report.as_ref().map(|r| &r.special_files),
            files: self.files.clone(),
            filesystem_bytes: self.report.as_ref().map(|r| r.filesystem_bytes),
        }
    }
}

impl AppState {
    pub fn new(app: AppHandle, settings_path: PathBuf) -> Self {
        AppState {
            app,
            settings_path,
            daemon: Mutex::new(None),
            watcher: std::sync::Mutex::new(None),
            audits: Default::default(),
            audited_files: Default::default(),
            running_audits: Default::default(),
            running_squash: Default::default(),
            previewed: Default::default(),
        }
    }

    /// What the app's audit of the image found, to guide and speed a squash of it.
    pub fn known_source(&self, id: &str) -> KnownSource {
        let report = self
            .audits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        let files = self
            .audited_files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|(audited, _)| audited == id)
            .map(|(_, files)| Arc::clone(files));
        KnownSource { report, files }
    }

    pub fn settings(&self) -> Result<Settings> {
        Settings::load(&self.settings_path)
    }

    pub fn save_settings(&self, settings: &Settings) -> Result<()> {
        settings.save(&self.settings_path)
    }

    pub fn environment(&self) -> Result<Environment> {
        Ok(Environment::from_process(self.settings()?.docker_host))
    }

    /// Finds the daemon afresh and keeps the connection for later commands.
    pub async fn reconnect(&self) -> Result<Daemon> {
        let mut slot = self.daemon.lock().await;
        *slot = None;
        let daemon = Daemon::connect(&self.environment()?).await?;
        *slot = Some(daemon.clone());
        self.relay_news(daemon.clone());
        Ok(daemon)
    }

    /// Replaces the relay of the previous connection, if any, with one for `daemon`.
    fn relay_news(&self, daemon: Daemon) {
        let app = self.app.clone();
        let task = tauri::async_runtime::spawn(async move {
            let ended_by = events::watch_images(&daemon, || {
                let _ = app.emit(IMAGES_CHANGED, ());
            })
            .await;
            let _ = app.emit(DAEMON_LOST, IpcError::from(ended_by));
        });
        let mut watcher = self.watcher.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(previous) = watcher.replace(task) {
            previous.abort();
        }
    }

    /// The kept connection, or a new one.
    pub async fn daemon(&self) -> Result<Daemon> {
        let kept = self.daemon.lock().await.clone();
        match kept {
            Some(daemon) => Ok(daemon),
            None => self.reconnect().await,
        }
    }

    /// Drops the kept connection when a command finds the daemon gone, so the next command
    /// looks for it again instead of failing the same way forever.
    pub async fn forget_if_gone<T>(&self, result: Result<T>) -> Result<T> {
        if matches!(
            result,
            Err(Error::Stream(_) | Error::DaemonUnavailable { .. })
        ) {
            *self.daemon.lock().await = None;
        }
        result
    }
}
