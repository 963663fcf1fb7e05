/**
 * The Disk & Prune view: Docker's disk usage, the dangling images a prune would remove and
 * the build cache, each previewed before anything goes, and each removal asked about first.
 *
 *     const prune = new Prune({ onConnectionLost: (err) => connection.lost(err) });
 *     prune.open();          // shows the view and loads the three previews
 *     prune.askRemove();     // the confirm, naming exactly the previewed images
 *     await prune.remove();  // removes those and no others, then previews again
 */
import * as ipc from "../ipc";
import type { CachePreview, CachePruneResult, DiskUsage, IpcError, Progress, PruneCandidate, PrunePreview, PruneResult } from "../ipc";
import { removedCount } from "../prune";

/** One thing fetched from the daemon: the last answer, kept on screen while a newer one loads. */
export class Loaded<T> {
  // `.raw`: answers are replaced whole, never edited.
  value = $state.raw<T | null>(null);
  loading = $state(false);
  /** The last load failed for a reason other than a lost daemon. */
  error = $state.raw<IpcError | null>(null);

  #fetch: () => Promise<T>;
  #onConnectionLost: (err: IpcError) => void;
  // Only the newest load's answer counts, so a slow one cannot undo a fresher one.
  #generation = 0;

  constructor(fetch: () => Promise<T>, onConnectionLost: (err: IpcError) => void) {
    this.#fetch = fetch;
    this.#onConnectionLost = onConnectionLost;
  }

  async load(): Promise<void> {
    const generation = ++this.#generation;
    this.loading = true;
    try {
      const value = await this.#fetch();
      if (generation !== this.#generation) return;
      this.value = value;
      this.error = null;
    } catch (e) {
      if (generation !== this.#generation) return;
      const err = ipc.toIpcError(e);
      if (ipc.isConnectionLoss(err)) this.#onConnectionLost(err);
      else this.error = err;
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
  }

  /** Ignores the answer of a load in flight. */
  drop(): void {
    this.#generation++;
    this.loading = false;
  }
}

/** idle → confirm → removing → done | failed; "no" at the confirm goes back to idle. */
export type PruneStep = "idle" | "confirm" | "removing" | "done" | "failed";
export type CacheStep = "idle" | "confirm" | "freeing" | "done" | "failed";

export interface PruneHooks {
  /** A load or a prune found the daemon gone; the owner goes back to looking for it. */
  onConnectionLost?: (err: IpcError) => void;
}

export class Prune {
  /** The view is on screen in place of the image list. */
  isOpen = $state(false);

  readonly usage: Loaded<DiskUsage>;
  readonly preview: Loaded<PrunePreview>;
  readonly cache: Loaded<CachePreview>;

  step = $state<PruneStep>("idle");
  /**
   * The images the confirm names, taken from the preview on screen when "Remove…" was
   * pressed: a yes removes these and no others, even if a newer preview differs.
   */
  confirming = $state.raw<PruneCandidate[]>([]);
  progress = $state.raw<Progress | null>(null);
  result = $state.raw<PruneResult | null>(null);
  /** Of `confirming`, how many went. */
  removed = $state(0);
  pruneError = $state.raw<IpcError | null>(null);

  cacheStep = $state<CacheStep>("idle");
  cacheResult = $state.raw<CachePruneResult | null>(null);
  cacheError = $state.raw<IpcError | null>(null);

  /** The confirmed bytes, as the preview estimated them. */
  confirmingBytes = $derived(this.confirming.reduce((sum, c) => sum + c.uniqueSize, 0));

  #hooks: PruneHooks;
  // A preview asked for while the confirm or the removal was showing; loaded once it ends.
  #previewWanted = false;

  constructor(hooks: PruneHooks = {}) {
    this.#hooks = hooks;
    const lost = (err: IpcError) => this.#lost(err);
    this.usage = new Loaded(() => ipc.diskUsage(), lost);
    this.preview = new Loaded(() => ipc.previewPrune(), lost);
    this.cache = new Loaded(() => ipc.previewBuildCache(), lost);
  }

  /** Shows the view, with what is there now; a removal still running shows its progress. */
  open(): void {
    this.isOpen = true;
    if (this.step === "done" || this.step === "failed") this.step = "idle";
    if (this.cacheStep === "done" || this.cacheStep === "failed") this.cacheStep = "idle";
    this.refresh();
  }

  /** Back to the list. An open confirm is answered "no"; a running removal goes on. */
  close(): void {
    this.isOpen = false;
    if (this.step === "confirm") this.cancelRemove();
    if (this.cacheStep === "confirm") this.cacheStep = "idle";
  }

  refresh(): void {
    void this.usage.load();
    this.loadPreview();
    void this.cache.load();
  }

  /**
   * A new image list arrived (a refresh, or news of a build or a removal beside us). With
   * the view open everything is measured again; with it closed only the preview, and only
   * when there is something to prune, for the toolbar's "3 dangling · 12 MB".
   */
  imagesLoaded(prunable: number): void {
    if (this.isOpen) this.refresh();
    else if (prunable > 0) this.loadPreview();
  }

  loadPreview(): void {
    // The list the user is answering about, or that is being removed, stays as it is.
    if (this.step === "confirm" || this.step === "removing") {
      this.#previewWanted = true;
      return;
    }
    this.#previewWanted = false;
    void this.preview.load();
  }

  /** Opens the confirm for every image of the preview on screen. */
  askRemove(): void {
    if (this.step === "confirm" || this.step === "removing") return;
    const images = this.preview.value?.images ?? [];
    if (images.length === 0) return;
    // An answer in flight would change the list under the question; it is asked for again after.
    if (this.preview.loading) {
      this.preview.drop();
      this.#previewWanted = true;
    }
    this.confirming = images;
    this.result = null;
    this.pruneError = null;
    this.step = "confirm";
  }

  /** "No": nothing is removed. */
  cancelRemove(): void {
    if (this.step !== "confirm") return;
    this.step = "idle";
    this.confirming = [];
    if (this.#previewWanted) this.loadPreview();
  }

  /** "Yes": removes the confirmed images, then previews and measures again. */
  async remove(): Promise<void> {
    if (this.step !== "confirm") return;
    const ids = this.confirming.map((c) => c.id);
    this.step = "removing";
    this.progress = null;
    try {
      const result = await ipc.pruneImages(ids, (progress) => {
        if (this.step === "removing") this.progress = progress;
      });
      this.result = result;
      this.removed = removedCount(ids, result);
      this.step = "done";
    } catch (e) {
      const err = ipc.toIpcError(e);
      if (ipc.isConnectionLoss(err)) {
        this.#lost(err);
        return;
      }
      // Some may have gone before it failed: the new preview shows what is left.
      this.pruneError = err;
      this.step = "failed";
    }
    this.loadPreview();
    void this.usage.load();
  }

  /** Puts the outcome away. */
  dismiss(): void {
    if (this.step === "done" || this.step === "failed") this.step = "idle";
  }

  askFreeCache(): void {
    if (this.cacheStep === "freeing") return;
    this.cacheResult = null;
    this.cacheError = null;
    this.cacheStep = "confirm";
  }

  cancelFreeCache(): void {
    if (this.cacheStep === "confirm") this.cacheStep = "idle";
  }

  async freeCache(): Promise<void> {
    if (this.cacheStep !== "confirm") return;
    this.cacheStep = "freeing";
    try {
      this.cacheResult = await ipc.pruneBuildCache();
      this.cacheStep = "done";
    } catch (e) {
      const err = ipc.toIpcError(e);
      if (ipc.isConnectionLoss(err)) {
        this.#lost(err);
        return;
      }
      this.cacheError = err;
      this.cacheStep = "failed";
    }
    void this.cache.load();
    void this.usage.load();
  }

  dismissCache(): void {
    if (this.cacheStep === "done" || this.cacheStep === "failed") this.cacheStep = "idle";
  }

  // The app goes to the no-daemon screen; once back, the list shows and the view starts afresh.
  #lost(err: IpcError): void {
    this.isOpen = false;
    this.step = "idle";
    this.cacheStep = "idle";
    this.confirming = [];
    this.#previewWanted = false;
    // Dropped, so the other loads failing the same way do not report the loss again.
    for (const loaded of [this.usage, this.preview, this.cache]) loaded.drop();
    this.#hooks.onConnectionLost?.(err);
  }
}
