/**
 * The one door to the Rust side: a typed wrapper per Tauri command, and the error every
 * wrapper rejects with. Nothing outside `lib/ipc/` imports `@tauri-apps/api`, so components
 * are tested with these wrappers (or `mockIPC` underneath them) standing in for the backend.
 *
 *     const info = await ipc.connect();          // DaemonInfo, or throws IpcError
 *     const stop = await ipc.onImagesChanged(() => refresh());
 *     const report = await ipc.auditImage(id, (p) => show(p));
 *     const result = await ipc.pruneImages(preview.images.map((i) => i.id), (p) => show(p));
 *     const plan = await ipc.planSquash(image.id, "web:1.2");
 *     const outcome = await ipc.runSquash(plan, { method: "auto", overwriteTag: false, moveSourceTag: false, keepLayers: 0 }, show);
 */
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { Attempt } from "./bindings/Attempt";
import { EVENTS, type Command } from "./bindings/ipc_names";
import type { AuditReport } from "./bindings/AuditReport";
import type { CachePreview } from "./bindings/CachePreview";
import type { CachePruneResult } from "./bindings/CachePruneResult";
import type { DaemonInfo } from "./bindings/DaemonInfo";
import type { DiskUsage } from "./bindings/DiskUsage";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { Format } from "./bindings/Format";
import type { ImageSummary } from "./bindings/ImageSummary";
import type { IpcError } from "./bindings/IpcError";
import type { Method } from "./bindings/Method";
import type { MethodChoice } from "./bindings/MethodChoice";
import type { MethodPick } from "./bindings/MethodPick";
import type { Preflight } from "./bindings/Preflight";
import type { Progress } from "./bindings/Progress";
import type { PrunePreview } from "./bindings/PrunePreview";
import type { PruneResult } from "./bindings/PruneResult";
import type { Settings } from "./bindings/Settings";
import type { StartHelp } from "./bindings/StartHelp";
import type { SquashOptions } from "./bindings/SquashOptions";
import type { SquashOutcome } from "./bindings/SquashOutcome";
import type { SquashPlan } from "./bindings/SquashPlan";

export type {
  Attempt,
  AuditReport,
  CachePreview,
  CachePruneResult,
  DaemonInfo,
  DiskUsage,
  ErrorCode,
  Format,
  ImageSummary,
  IpcError,
  Method,
  MethodChoice,
  MethodPick,
  Preflight,
  Progress,
  PrunePreview,
  PruneResult,
  Settings,
  StartHelp,
  SquashOptions,
  SquashOutcome,
  SquashPlan,
};
export type { AllowedDifference } from "./bindings/AllowedDifference";
export type { ConnectProblem } from "./bindings/ConnectProblem";
export type { Route } from "./bindings/Route";
export type { Allowance } from "./bindings/Allowance";
export type { ConfigDifference } from "./bindings/ConfigDifference";
export type { Difference } from "./bindings/Difference";
export type { DifferenceKind } from "./bindings/DifferenceKind";
export type { Healthcheck } from "./bindings/Healthcheck";
export type { KeyValue } from "./bindings/KeyValue";
export type { KnownDifference } from "./bindings/KnownDifference";
export type { Verification } from "./bindings/Verification";
export type { Saving } from "./bindings/Saving";
export type { PlanField } from "./bindings/PlanField";
export type { SettingAt } from "./bindings/SettingAt";
export type { Hint } from "./bindings/Hint";
export type { Endpoint } from "./bindings/Endpoint";
export type { EngineStart } from "./bindings/EngineStart";
export type { Os } from "./bindings/Os";
export type { HostDisk } from "./bindings/HostDisk";
export type { KindUsage } from "./bindings/KindUsage";
export type { LayerAudit } from "./bindings/LayerAudit";
export type { OtherEntries } from "./bindings/OtherEntries";
export type { Outcome } from "./bindings/Outcome";
export type { PruneCandidate } from "./bindings/PruneCandidate";
export type { Skipped } from "./bindings/Skipped";
export type { Source } from "./bindings/Source";
export type { SpecialFiles } from "./bindings/SpecialFiles";
export type { TreeNode } from "./bindings/TreeNode";
export type { TreeNodeKind } from "./bindings/TreeNodeKind";
export type { WastedFile } from "./bindings/WastedFile";

// A record, not a list, so a code added on the Rust side fails the type check here until it
// is listed; a code missing from this set would turn into a generic "daemon" error.
const KNOWN_CODES: Record<ErrorCode, true> = {
  daemonUnavailable: true,
  imageNotFound: true,
  daemon: true,
  stream: true,
  invalidInput: true,
  malformedArchive: true,
  buildFailed: true,
  cancelled: true,
  io: true,
};
const ERROR_CODES: ReadonlySet<string> = new Set(Object.keys(KNOWN_CODES));

export function isIpcError(value: unknown): value is IpcError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === "string" && ERROR_CODES.has(v.code) && typeof v.message === "string";
}

/**
 * Turns whatever a rejected `invoke` carried into an IpcError.
 *
 * Our commands always reject with `{code, message, attempts}`. Anything else comes from
 * Tauri itself or from the webview: a plain string for an unknown command or a refused
 * permission, an `Error` when there is no Tauri at all (a plain browser). Those become
 * code `"daemon"` — a generic failure the UI shows as a message — and never
 * `"daemonUnavailable"`, because that code sends the app to the no-daemon screen and an
 * app-side bug should not pose as a stopped Docker.
 */
export function toIpcError(value: unknown): IpcError {
  if (isIpcError(value)) {
    const error: IpcError = { code: value.code, message: value.message, attempts: value.attempts ?? null };
    if (value.setting !== undefined) error.setting = value.setting;
    return error;
  }
  let message: string;
  if (typeof value === "string") message = value;
  else if (value instanceof Error) message = value.message;
  else {
    try {
      message = JSON.stringify(value) ?? String(value);
    } catch {
      message = String(value);
    }
  }
  return { code: "daemon", message: message || "Unknown error", attempts: null };
}

/** Errors after which the daemon must be looked for again. */
export function isConnectionLoss(err: IpcError): boolean {
  return err.code === "daemonUnavailable" || err.code === "stream";
}

async function call<T>(command: Command, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (err) {
    throw toIpcError(err);
  }
}

/** (Re)connects: the saved setting, then DOCKER_HOST, the Docker context, well-known sockets. */
export function connect(): Promise<DaemonInfo> {
  return call("connect");
}

/** Newest first. */
export function listImages(): Promise<ImageSummary[]> {
  return call("list_images");
}

/** Bytes the images take on disk, shared layers counted once. Slower than the list. */
export function imagesDiskBytes(): Promise<number> {
  return call("images_disk_bytes");
}

/** Tries every endpoint and says what each answered. */
export function diagnose(): Promise<Attempt[]> {
  return call("diagnose");
}

/** How to start Docker Desktop, Colima, Podman… on the system the app runs on. */
export function startHelp(): Promise<StartHelp> {
  return call("start_help");
}

export function getSettings(): Promise<Settings> {
  return call("get_settings");
}

/** Saves the address (null clears it), then connects through it. */
export function setDockerHost(host: string | null): Promise<DaemonInfo> {
  return call("set_docker_host", { host });
}

/**
 * Audits an image: layers, wasted files, the final filesystem. `onProgress` hears how far
 * the read of the image has got; a report the Rust side already has comes back at once,
 * with no progress at all. Rejects with code `cancelled` after `cancelAudit`.
 */
export async function auditImage(imageId: string, onProgress: (progress: Progress) => void): Promise<AuditReport> {
  return call("audit_image", { imageId, onProgress: progressChannel(onProgress) });
}

function progressChannel(onProgress: (progress: Progress) => void): Channel<Progress> {
  try {
    return new Channel<Progress>(onProgress);
  } catch (err) {
    // Outside Tauri there is nothing to make a channel with; fail like any other call.
    throw toIpcError(err);
  }
}

/** Stops a running audit of the image; nothing happens when none is running. */
export function cancelAudit(imageId: string): Promise<void> {
  return call<null>("cancel_audit", { imageId }).then(() => undefined);
}

/**
 * Saves an audited image's report in the Downloads folder, never over an existing file, and
 * resolves with the file's path. `imageName` names the file.
 */
/** Asks where to save the report (the system's save dialog) and saves it; null when cancelled. */
export function exportAudit(imageId: string, imageName: string, format: Format): Promise<string | null> {
  return call("export_audit", { imageId, imageName, format });
}

/** Opens a report this window saved, or with `reveal` shows it in its folder. */
export function openExport(path: string, reveal: boolean): Promise<void> {
  return call("open_export", { path, reveal });
}

/**
 * Docker's disk usage per kind, and the host disk when the daemon is on this machine (null
 * when it is remote). Slow on a busy host: the daemon sizes every container and volume.
 */
export function diskUsage(): Promise<DiskUsage> {
  return call("disk_usage");
}

/** The dangling images a prune would remove now: untagged, and no container uses them. */
export function previewPrune(): Promise<PrunePreview> {
  return call("preview_prune");
}

/**
 * Removes exactly the images `ids` names, each checked again first (still dangling, still
 * unused) and skipped with a reason if not. Pass the previewed list the user confirmed.
 * `onProgress` hears stage "removing" with `done`/`total` counted in images.
 */
export async function pruneImages(ids: string[], onProgress: (progress: Progress) => void): Promise<PruneResult> {
  return call("prune_images", { ids, onProgress: progressChannel(onProgress) });
}

/** What freeing the build cache would free now, by the daemon's reckoning. */
export function previewBuildCache(): Promise<CachePreview> {
  return call("preview_build_cache");
}

/** Frees the build cache no build is using. */
export function pruneBuildCache(): Promise<CachePruneResult> {
  return call("prune_build_cache");
}

/**
 * The squash plan prefilled from the image's configuration. `name` is what the user picked the
 * image by: a `repo:tag`, or its ID when it has none; it gives the default target tag.
 */
export function planSquash(imageId: string, name: string): Promise<SquashPlan> {
  return call("plan_squash", { imageId, name });
}

/**
 * The Dockerfile the plan builds; with a `stage` name, the form to paste into one's own
 * Dockerfile. Rejects with code `invalidInput`, the message naming the field, when a value is
 * invalid or cannot be written safely: the one check of a plan, so the UI repeats none.
 */
export function renderSquash(plan: SquashPlan, stage: string | null = null): Promise<string> {
  return call("render_squash", { plan, stage });
}

/** Before starting: the method the squash will use and why, whether the tag is taken, disk room. */
export function preflightSquash(plan: SquashPlan, method: MethodChoice): Promise<Preflight> {
  return call("preflight_squash", { plan, method });
}

/**
 * Makes the squashed image, verifies it, and tags it only when verified. `onProgress` hears,
 * for the direct method, `reading source` (when no audit read the image first) and `squashing`
 * (bytes of the source read); for a multi-stage one, `building` (`done`/`total` in Dockerfile
 * steps, or a message count with no total), then `verifying source` and `verifying result` (in
 * bytes); then `tagging`. Rejects with code `cancelled` after `cancelSquash`; one squash runs
 * at a time.
 */
export async function runSquash(
  plan: SquashPlan,
  options: SquashOptions,
  onProgress: (progress: Progress) => void,
): Promise<SquashOutcome> {
  return call("run_squash", { plan, options, onProgress: progressChannel(onProgress) });
}

/** Stops the running squash, if there is one; it removes what it made and rejects `cancelled`. */
export function cancelSquash(): Promise<void> {
  return call<null>("cancel_squash").then(() => undefined);
}

/** App-wide news the Rust side emits (named in src-tauri/src/ipc_names.rs). */
export { EVENTS };
export type { Command };

/**
 * Subscribes to an event; resolves to the unsubscribe. Never rejects: without the event
 * permission (or outside Tauri) the app still works, only without live updates.
 */
async function subscribe<T>(event: string, handler: (payload: T) => void): Promise<() => void> {
  try {
    const unlisten = await listen<T>(event, (e) => handler(e.payload));
    // Unlistening talks to the backend too; a window closing mid-way is no error to report.
    return () =>
      void Promise.resolve()
        .then(unlisten)
        .catch(() => {});
  } catch {
    return () => {};
  }
}

/** An image or container appeared, went or was retagged (e.g. `docker build` beside us). */
export function onImagesChanged(handler: () => void): Promise<() => void> {
  return subscribe<unknown>(EVENTS.imagesChanged, () => handler());
}

/** The daemon's event stream ended: it stopped, or the connection broke. */
export function onDaemonLost(handler: (err: IpcError) => void): Promise<() => void> {
  return subscribe<unknown>(EVENTS.daemonLost, (payload) => handler(toIpcError(payload)));
}
