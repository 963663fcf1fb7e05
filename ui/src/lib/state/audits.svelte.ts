/**
 * Image audits: which one is on screen, and every run behind it, kept by image ID. Going
 * back to the list and opening the same image again shows its report at once, and an audit
 * left running in the background is found still running.
 *
 *     const audits = new Audits({ onConnectionLost: (err) => connection.lost(err) });
 *     audits.open(image);       // shows it; audits unless a run is going or done
 *     audits.current?.report;   // null until the run is done
 */
import { SvelteMap } from "svelte/reactivity";
import * as ipc from "../ipc";
import type { AuditReport, ImageSummary, IpcError, Progress } from "../ipc";

export type AuditPhase = "running" | "done" | "failed" | "cancelled";

/** One audit of one image, from start to report, error or cancel. */
export class AuditRun {
  readonly imageId: string;
  phase = $state<AuditPhase>("running");
  /** The last progress heard; null before the first (and for a report Rust had kept). */
  progress = $state.raw<Progress | null>(null);
  // `.raw`: a report is read, never edited, and can hold thousands of tree nodes.
  report = $state.raw<AuditReport | null>(null);
  error = $state.raw<IpcError | null>(null);
  /** Cancel was asked for and the audit has not stopped yet. */
  cancelling = $state(false);

  #settle: () => void = () => {};
  /** Resolves when the run ends, however it ends. */
  readonly finished = new Promise<void>((resolve) => {
    this.#settle = resolve;
  });

  constructor(imageId: string) {
    this.imageId = imageId;
  }

  /** Called by the owner once the run has ended. */
  ended(): void {
    this.#settle();
  }
}

export interface AuditsHooks {
  /** An audit found the daemon gone; the owner goes back to looking for it. */
  onConnectionLost?: (err: IpcError) => void;
}

/** Finished reports kept; each is small (≤100 wasted files, ≤3000 tree nodes). */
export const KEPT_REPORTS = 20;

export class Audits {
  /** The image whose audit is on screen; null while the list is. */
  image = $state.raw<ImageSummary | null>(null);

  // Reactive, so `current` follows a run being started or dropped.
  #runs = new SvelteMap<string, AuditRun>();
  #hooks: AuditsHooks;

  /** The run of the image on screen. */
  current = $derived(this.image === null ? null : (this.#runs.get(this.image.id) ?? null));

  constructor(hooks: AuditsHooks = {}) {
    this.#hooks = hooks;
  }

  /** Shows the image's audit, starting one unless a run is going or has its report. */
  open(image: ImageSummary): void {
    this.image = image;
    const run = this.#runs.get(image.id);
    if (run?.phase === "done") {
      // Most recently looked at is kept longest.
      this.#runs.delete(image.id);
      this.#runs.set(image.id, run);
    } else if (run?.phase !== "running") {
      this.start(image.id);
    }
  }

  /** Back to the list; a running audit goes on, and is there when the image is opened again. */
  close(): void {
    this.image = null;
  }

  /** Whether the report is at hand, so opening the image shows it without any progress. */
  hasReport(imageId: string): boolean {
    return this.#runs.get(imageId)?.phase === "done";
  }

  /** Audits the image (again after a failure or a cancel); a running audit is left alone. */
  start(imageId: string): AuditRun {
    const existing = this.#runs.get(imageId);
    if (existing?.phase === "running" || existing?.phase === "done") return existing;
    const run = new AuditRun(imageId);
    this.#runs.set(imageId, run);
    void this.#audit(run);
    return run;
  }

  /** Asks the running audit to stop; it then ends in the `cancelled` phase. */
  async cancel(imageId: string): Promise<void> {
    const run = this.#runs.get(imageId);
    if (run?.phase !== "running" || run.cancelling) return;
    run.cancelling = true;
    try {
      await ipc.cancelAudit(imageId);
    } catch {
      // The audit goes on and will end by itself; the Cancel button comes back.
      if (run.phase === "running") run.cancelling = false;
    }
  }

  async #audit(run: AuditRun): Promise<void> {
    try {
      const report = await ipc.auditImage(run.imageId, (progress) => {
        if (run.phase === "running") run.progress = progress;
      });
      run.report = report;
      run.phase = "done";
      this.#forgetOldReports();
    } catch (e) {
      const err = ipc.toIpcError(e);
      if (err.code === "cancelled") {
        run.phase = "cancelled";
      } else if (ipc.isConnectionLoss(err)) {
        // Nothing to show for it: the app goes to the no-daemon screen, and once back the
        // image is opened afresh.
        if (this.#runs.get(run.imageId) === run) this.#runs.delete(run.imageId);
        if (this.image?.id === run.imageId) this.image = null;
        run.error = err;
        run.phase = "failed";
        this.#hooks.onConnectionLost?.(err);
      } else {
        run.error = err;
        run.phase = "failed";
      }
    } finally {
      run.cancelling = false;
      run.ended();
    }
  }

  #forgetOldReports(): void {
    const done = [...this.#runs.values()].filter((r) => r.phase === "done");
    // Map order is least recently opened first.
    for (const run of done.slice(0, Math.max(0, done.length - KEPT_REPORTS))) {
      if (run.imageId !== this.image?.id) this.#runs.delete(run.imageId);
    }
  }
}
