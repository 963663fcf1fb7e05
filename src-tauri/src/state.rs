//! What the commands share: the settings file's path, the current daemon connection, and the
//! task that relays the daemon's news to the window.

use squashbox_core::audit::{AuditFiles, AuditReport};
use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::job::CancelToken;
use squashbox_core::prune::Previewed;
use squashbox_core::settings::Settings;
use squashbox_core::squash::SourceAudit;
use squashbox_core::{events, Error, Result};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Emitter};
use tokio::sync::Mutex;

use crate::ipc_error::IpcError;
use crate::ipc_names::{DAEMON_LOST, IMAGES_CHANGED};

pub struct AppState {
    app: AppHandle,
    settings_path: PathBuf,
    daemon: Mutex<Option<Daemon>>,
    watcher: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// The latest audit reports, by image ID.
    pub audits: std::sync::Mutex<Recent<AuditReport>>,
    /// The files the audit of the image audited last kept (its final filesystem, and its base
    /// image's), by its ID: a squash of it then reads only its result to verify. One image's
    /// worth, as it can hold hundreds of thousands of entries.
    pub audited_files: std::sync::Mutex<Option<(String, AuditFiles)>>,
    /// Cancel tokens of the audits running now, by image ID (see [`AppState::start_audit`]).
    pub running_audits: std::sync::Mutex<HashMap<String, CancelToken>>,
    /// The squash running now, if any: one at a time, and prune waits for it so it cannot
    /// remove what the squash is making (see [`AppState::start_squash`]).
    pub running_squash: std::sync::Mutex<Option<CancelToken>>,
    /// The images the window last showed as removable; the clean-up removes no others.
    pub previewed: std::sync::Mutex<Previewed>,
    /// The reports saved from this window: the only paths it may ask to open.
    pub exported: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
}

/// How many audit reports the app keeps: each can hold a large file tree, and the window asks
/// again for an image audited long ago only rarely.
const KEPT_AUDITS: usize = 16;

/// What was found per image ID, the [`KEPT_AUDITS`] latest: an ID names the content, so a kept
/// report never goes stale; an older one is dropped and the image read again if asked for.
pub struct Recent<T> {
    by_id: HashMap<String, T>,
    /// Oldest first.
    order: VecDeque<String>,
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Recent {
            by_id: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<T> Recent<T> {
    pub fn get(&self, image_id: &str) -> Option<&T> {
        self.by_id.get(image_id)
    }

    pub fn insert(&mut self, image_id: String, found: T) {
        self.order.retain(|id| *id != image_id);
        self.order.push_back(image_id.clone());
        self.by_id.insert(image_id, found);
        while self.order.len() > KEPT_AUDITS {
            if let Some(oldest) = self.order.pop_front() {
                self.by_id.remove(&oldest);
            }
        }
    }
}

/// Marks an audit or squash as running for as long as it lives, however the command ends
/// (an error, a panic, the window dropping the call).
pub struct Running<'a> {
    stop: Box<dyn FnMut() + Send + 'a>,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        (self.stop)();
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
            exported: Default::default(),
        }
    }

    /// What the app's audit of the image found, to guide and speed a squash of it.
    pub fn source_audit(&self, id: &str) -> SourceAudit {
        let audits = lock(&self.audits);
        let Some(report) = audits.get(id) else {
            return SourceAudit::default();
        };
        let files = lock(&self.audited_files)
            .as_ref()
            .filter(|(audited, _)| audited == id)
            .map(|(_, files)| files.clone());
        SourceAudit::of(report, files)
    }

    /// Registers the audit of `image_id` as running, with its cancel token, until the guard
    /// goes.
    pub fn start_audit<'a>(&'a self, image_id: &'a str, cancel: &CancelToken) -> Running<'a> {
        lock(&self.running_audits).insert(image_id.to_owned(), cancel.clone());
        Running {
            stop: Box::new(move || {
                lock(&self.running_audits).remove(image_id);
            }),
        }
    }

    /// Registers the squash as running until the guard goes; refused while another runs.
    pub fn start_squash(&self, cancel: &CancelToken) -> Result<Running<'_>> {
        let mut running = lock(&self.running_squash);
        if running.is_some() {
            return Err(Error::InvalidInput(
                "another squash is running: wait for it to end".into(),
            ));
        }
        *running = Some(cancel.clone());
        Ok(Running {
            stop: Box::new(move || *lock(&self.running_squash) = None),
        })
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

/// A poisoned lock only means a command panicked mid-update; what it guards is still whole.
pub fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_latest_audits_are_kept() {
        let mut recent = Recent::default();
        for n in 0..KEPT_AUDITS + 2 {
            recent.insert(format!("sha256:{n}"), n);
        }
        // Asked for again, the third is the newest now and outlives the fourth.
        recent.insert("sha256:2".into(), 2);
        recent.insert("sha256:extra".into(), 99);
        assert_eq!(recent.get("sha256:0"), None);
        assert_eq!(recent.get("sha256:1"), None);
        assert_eq!(recent.get("sha256:2"), Some(&2));
        assert_eq!(recent.get("sha256:3"), None);
        assert_eq!(recent.get("sha256:4"), Some(&4));
        assert_eq!(recent.get("sha256:extra"), Some(&99));
        assert_eq!(recent.by_id.len(), KEPT_AUDITS);
    }
}
