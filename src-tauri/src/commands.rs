//! The commands the UI calls. Each one deserialises, calls the core, maps the error.

use squashbox_core::audit::export::{self, Format};
use squashbox_core::audit::{self, AuditReport};
use squashbox_core::daemon::{Daemon, DaemonInfo};
use squashbox_core::disk::{self, DiskUsage};
use squashbox_core::endpoint::Attempt;
use squashbox_core::images::{self, ImageSummary};
use squashbox_core::job::{CancelToken, Progress};
use squashbox_core::platform::{self, Os, StartHelp};
use squashbox_core::prune::{self, CachePreview, CachePruneResult, PrunePreview, PruneResult};
use squashbox_core::settings::Settings;
use squashbox_core::squash::{
    self, MethodChoice, Preflight, SquashOptions, SquashOutcome, SquashPlan,
};
use squashbox_core::Error;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

use crate::ipc_error::IpcError;
use crate::state::{lock, AppState};

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
pub async fn images_disk_bytes(state: State<'_, AppState>) -> CommandResult<u64> {
    let daemon = state.daemon().await?;
    Ok(state
        .forget_if_gone(images::disk_bytes(&daemon).await)
        .await?)
}

#[tauri::command]
pub async fn diagnose(state: State<'_, AppState>) -> CommandResult<Vec<Attempt>> {
    Ok(Daemon::diagnose(&state.environment()?).await)
}

/// How to start a Docker engine on this system, for the no-daemon screen.
#[tauri::command]
pub fn start_help() -> StartHelp {
    platform::start_help(Os::current())
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

/// Audits an image, streaming progress; a second look at the same image ID is answered from
/// memory at once.
#[tauri::command]
pub async fn audit_image(
    state: State<'_, AppState>,
    image_id: String,
    on_progress: Channel<Progress>,
) -> CommandResult<AuditReport> {
    if let Some(report) = lock(&state.audits).get(&image_id) {
        return Ok(report.clone());
    }
    // Registered before anything is awaited, so a Cancel pressed at once is not lost.
    let cancel = CancelToken::new();
    let running = state.start_audit(&image_id, &cancel);
    let sink = move |p: Progress| {
        let _ = on_progress.send(p);
    };
    let result = match state.daemon().await {
        Ok(daemon) => audit::audit_image_with_files(&daemon, &image_id, &sink, &cancel).await,
        Err(err) => Err(err),
    };
    drop(running);
    let (audited, files) = state.forget_if_gone(result).await?;
    *lock(&state.audited_files) = Some((audited.id, files));
    lock(&state.audits).insert(image_id, audited.report.clone());
    Ok(audited.report)
}

/// Stops a running audit of the image, if there is one; it then fails with `cancelled`.
#[tauri::command]
pub fn cancel_audit(state: State<'_, AppState>, image_id: String) {
    if let Some(cancel) = lock(&state.running_audits).get(&image_id) {
        cancel.cancel();
    }
}

/// Asks where to save an audited image's report (the system's save dialog, starting in the
/// Downloads folder under a name nothing holds yet) and saves it there. None when the person
/// cancels the dialog.
#[tauri::command]
pub async fn export_audit(
    app: AppHandle,
    state: State<'_, AppState>,
    image_id: String,
    image_name: String,
    format: Format,
) -> CommandResult<Option<String>> {
    let report = lock(&state.audits)
        .get(&image_id)
        .cloned()
        .ok_or_else(|| Error::InvalidInput("audit the image before exporting its report".into()))?;
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| Error::InvalidInput(format!("no folder to save the report in: {e}")))?;
    let suggested = export::suggested_path(&dir, &image_name, format);
    let file_name = suggested
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (kind, extension) = match format {
        Format::Json => ("JSON report", "json"),
        Format::Html => ("Web page", "html"),
    };
    let dialog = app
        .dialog()
        .file()
        .set_title("Save the audit report")
        .set_directory(&dir)
        .set_file_name(file_name)
        .add_filter(kind, &[extension]);
    // The dialog waits for the person: off the async workers, which other commands need.
    let chosen = tauri::async_runtime::spawn_blocking(move || dialog.blocking_save_file())
        .await
        .map_err(|e| Error::InvalidInput(format!("the save dialog failed: {e}")))?;
    let Some(chosen) = chosen else {
        return Ok(None);
    };
    let path = chosen
        .into_path()
        .map_err(|e| Error::InvalidInput(format!("not a file on this computer: {e}")))?;
    export::save_as(&path, &image_name, &image_id, &report, format)?;
    lock(&state.exported).insert(path.clone());
    Ok(Some(path.display().to_string()))
}

/// Opens a report this window saved with the system's default program, or shows it in its
/// folder. Only those paths: a page that asks for any other gets an error.
#[tauri::command]
pub fn open_export(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    reveal: bool,
) -> CommandResult<()> {
    let path = std::path::PathBuf::from(path);
    if !lock(&state.exported).contains(&path) {
        return Err(Error::InvalidInput(
            "only a report saved from this window can be opened".into(),
        )
        .into());
    }
    let opener = app.opener();
    let opened = match reveal {
        true => opener.reveal_item_in_dir(&path),
        false => opener.open_path(path.display().to_string(), None::<&str>),
    };
    opened.map_err(|e| Error::InvalidInput(format!("could not open {}: {e}", path.display())))?;
    Ok(())
}

/// Docker's disk usage by kind, and the host disk when the daemon is local.
#[tauri::command]
pub async fn disk_usage(state: State<'_, AppState>) -> CommandResult<DiskUsage> {
    let daemon = state.daemon().await?;
    Ok(state.forget_if_gone(disk::usage(&daemon).await).await?)
}

/// The dangling images a prune would remove now.
#[tauri::command]
pub async fn preview_prune(state: State<'_, AppState>) -> CommandResult<PrunePreview> {
    let daemon = state.daemon().await?;
    let preview = state
        .forget_if_gone(prune::preview_images(&daemon).await)
        .await?;
    lock(&state.previewed).show(&preview);
    Ok(preview)
}

/// Removes exactly the previewed images the user confirmed (each re-checked first), and no
/// image the window was not shown. Held back while a squash runs.
#[tauri::command]
pub async fn prune_images(
    state: State<'_, AppState>,
    ids: Vec<String>,
    on_progress: Channel<Progress>,
) -> CommandResult<PruneResult> {
    refuse_during_squash(&state)?;
    lock(&state.previewed).check(&ids)?;
    let daemon = state.daemon().await?;
    let sink = move |p: Progress| {
        let _ = on_progress.send(p);
    };
    let result = prune::prune_images(&daemon, &ids, &sink, &CancelToken::new()).await;
    Ok(state.forget_if_gone(result).await?)
}

#[tauri::command]
pub async fn preview_build_cache(state: State<'_, AppState>) -> CommandResult<CachePreview> {
    let daemon = state.daemon().await?;
    Ok(state
        .forget_if_gone(prune::preview_build_cache(&daemon).await)
        .await?)
}

#[tauri::command]
pub async fn prune_build_cache(state: State<'_, AppState>) -> CommandResult<CachePruneResult> {
    refuse_during_squash(&state)?;
    let daemon = state.daemon().await?;
    Ok(state
        .forget_if_gone(prune::prune_build_cache(&daemon).await)
        .await?)
}

fn refuse_during_squash(state: &AppState) -> Result<(), Error> {
    if lock(&state.running_squash).is_some() {
        return Err(Error::InvalidInput(
            "a squash is running: clean-up waits until it ends, so it cannot remove the squash's work".into(),
        ));
    }
    Ok(())
}

/// The squash plan prefilled from the image's configuration.
#[tauri::command]
pub async fn plan_squash(
    state: State<'_, AppState>,
    image_id: String,
    name: String,
) -> CommandResult<SquashPlan> {
    let daemon = state.daemon().await?;
    let inspect = state
        .forget_if_gone(squashbox_core::images::inspect(&daemon, &image_id).await)
        .await?;
    Ok(SquashPlan::from_image(&inspect, &name)?)
}

/// The Dockerfile the plan builds; as a stage for one's own Dockerfile when `stage` is given.
#[tauri::command]
pub fn render_squash(plan: SquashPlan, stage: Option<String>) -> CommandResult<String> {
    Ok(match stage {
        Some(stage) => squash::render_stage(&plan, &stage)?,
        None => squash::render(&plan)?,
    })
}

/// The method the squash will use and why, whether the tag is taken and the disk has room,
/// before the user starts.
#[tauri::command]
pub async fn preflight_squash(
    state: State<'_, AppState>,
    plan: SquashPlan,
    method: MethodChoice,
) -> CommandResult<Preflight> {
    let daemon = state.daemon().await?;
    let source_audit = state.source_audit(&plan.source_id);
    Ok(state
        .forget_if_gone(squash::preflight(&daemon, &plan, method, source_audit).await)
        .await?)
}

/// Runs the squash, one at a time; the audit of the source, when made, is its first reading.
#[tauri::command]
pub async fn run_squash(
    state: State<'_, AppState>,
    plan: SquashPlan,
    options: SquashOptions,
    on_progress: Channel<Progress>,
) -> CommandResult<SquashOutcome> {
    let cancel = CancelToken::new();
    let running = state.start_squash(&cancel)?;
    let sink = move |p: Progress| {
        let _ = on_progress.send(p);
    };
    let source_audit = state.source_audit(&plan.source_id);
    let result = match state.daemon().await {
        Ok(daemon) => squash::squash(&daemon, &plan, &options, source_audit, &sink, &cancel).await,
        Err(err) => Err(err),
    };
    drop(running);
    if let Ok(outcome) = &result {
        lock(&state.previewed).also_show(&outcome.left_behind);
    }
    Ok(state.forget_if_gone(result).await?)
}

#[tauri::command]
pub fn cancel_squash(state: State<'_, AppState>) {
    if let Some(cancel) = lock(&state.running_squash).as_ref() {
        cancel.cancel();
    }
}
