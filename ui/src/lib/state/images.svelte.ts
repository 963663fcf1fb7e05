/**
 * The image list and how it is being looked at: filter, order, selection, disk total.
 *
 *     const images = new Images({ onConnectionLost: (err) => connection.lost(err) });
 *     await images.refresh();
 *     images.visible;   // filtered + sorted, recomputed only when an input changes
 */
import * as ipc from "../ipc";
import type { ImageSummary, IpcError } from "../ipc";
import { DEFAULT_DIR, filterImages, sortImages, stepIndex, type SortKey } from "../imageQuery";
import type { SortDir } from "../sort";

export interface ImagesHooks {
  /** A refresh found the daemon gone; the owner goes back to looking for it. */
  onConnectionLost?: (err: IpcError) => void;
  /** A new list arrived. */
  onLoaded?: () => void;
}

export class Images {
  // `.raw`: the list is replaced whole on refresh, never edited in place, so deep
  // proxies on 300 objects would only cost time.
  all = $state.raw<ImageSummary[]>([]);
  /** True once a list has arrived; distinguishes "loading" from "no images". */
  loaded = $state(false);
  loading = $state(false);
  /** The last refresh failed for a reason other than a lost daemon. */
  error = $state.raw<IpcError | null>(null);

  /** Bytes on disk, shared layers once; null while unknown. */
  diskBytes = $state<number | null>(null);
  diskBytesLoading = $state(false);
  diskBytesError = $state<string | null>(null);

  filter = $state("");
  sortKey = $state<SortKey>("created");
  sortDir = $state<SortDir>("desc");
  /** Full ID of the selected image; survives refreshes and filtering. */
  selected = $state<string | null>(null);

  visible = $derived(sortImages(filterImages(this.all, this.filter), this.sortKey, this.sortDir));
  /** Dangling images no container uses: what a prune would remove. */
  prunable = $derived(this.all.reduce((n, i) => (i.dangling && !i.inUse ? n + 1 : n), 0));
  selectedIndex = $derived(this.selected === null ? -1 : this.visible.findIndex((i) => i.id === this.selected));

  #hooks: ImagesHooks;
  #generation = 0;

  constructor(hooks: ImagesHooks = {}) {
    this.#hooks = hooks;
    const sort = loadSort();
    if (sort !== null) {
      this.sortKey = sort.key;
      this.sortDir = sort.dir;
    }
  }

  /**
   * Fetches the list, then the disk total in the background: the list is fast and the
   * total is not, so the table never waits for it.
   */
  async refresh(): Promise<void> {
    const generation = ++this.#generation;
    this.loading = true;
    try {
      const list = await ipc.listImages();
      if (generation !== this.#generation) return;
      this.all = list;
      this.loaded = true;
      this.error = null;
      if (this.selected !== null && !list.some((i) => i.id === this.selected)) this.selected = null;
      this.#hooks.onLoaded?.();
    } catch (e) {
      if (generation !== this.#generation) return;
      const err = ipc.toIpcError(e);
      if (ipc.isConnectionLoss(err)) this.#hooks.onConnectionLost?.(err);
      else this.error = err;
      return;
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
    void this.#loadDiskBytes(generation);
  }

  async #loadDiskBytes(generation: number): Promise<void> {
    this.diskBytesLoading = true;
    this.diskBytesError = null;
    try {
      const bytes = await ipc.imagesDiskBytes();
      if (generation !== this.#generation) return;
      this.diskBytes = bytes;
    } catch (e) {
      if (generation !== this.#generation) return;
      this.diskBytes = null;
      this.diskBytesError = ipc.toIpcError(e).message;
    } finally {
      if (generation === this.#generation) this.diskBytesLoading = false;
    }
  }

  /** Sorts by `key`; choosing the current key again flips the direction. Remembered for the next run. */
  sortBy(key: SortKey): void {
    if (this.sortKey === key) {
      this.sortDir = this.sortDir === "asc" ? "desc" : "asc";
    } else {
      this.sortKey = key;
      this.sortDir = DEFAULT_DIR[key];
    }
    saveSort({ key: this.sortKey, dir: this.sortDir });
  }

  /** Moves the selection `delta` rows through what is shown; returns the new ID. */
  move(delta: number): string | null {
    const index = stepIndex(this.selectedIndex, delta, this.visible.length);
    this.selected = index < 0 ? null : this.visible[index].id;
    return this.selected;
  }

  selectFirst(): string | null {
    this.selected = this.visible[0]?.id ?? null;
    return this.selected;
  }

  selectLast(): string | null {
    this.selected = this.visible.at(-1)?.id ?? null;
    return this.selected;
  }
}

/** Where the window keeps the list's order between runs: a view preference, not a setting. */
const SORT_KEY = "squashbox.sort";

function saveSort(sort: { key: SortKey; dir: SortDir }): void {
  try {
    localStorage.setItem(SORT_KEY, JSON.stringify(sort));
  } catch {
    // Storage full or refused: the order is simply not remembered.
  }
}

/** The order saved last, or null when none was or what is there is not one. */
export function loadSort(): { key: SortKey; dir: SortDir } | null {
  try {
    const saved: unknown = JSON.parse(localStorage.getItem(SORT_KEY) ?? "null");
    if (typeof saved !== "object" || saved === null) return null;
    const { key, dir } = saved as Record<string, unknown>;
    if (typeof key !== "string" || !(key in DEFAULT_DIR) || (dir !== "asc" && dir !== "desc")) return null;
    return { key: key as SortKey, dir };
  } catch {
    return null;
  }
}
