//! What the commands share: the settings file's path and the current daemon connection.

use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::settings::Settings;
use squashbox_core::{Error, Result};
use std::path::PathBuf;
use tokio::sync::Mutex;

pub struct AppState {
    settings_path: PathBuf,
    daemon: Mutex<Option<Daemon>>,
}

impl AppState {
    pub fn new(settings_path: PathBuf) -> Self {
        AppState {
            settings_path,
            daemon: Mutex::new(None),
        }
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
        Ok(daemon)
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
