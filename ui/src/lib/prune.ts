/**
 * How the disk usage and a prune read on screen: the rows of Docker's usage, the host
 * disk, the progress and the outcome of a prune. Pure functions, tested directly, so the
 * prune view's components only lay things out.
 *
 *     usageRows(disk);                      // Images, Containers, Volumes, Build cache
 *     removingText(progress, ids.length);   // "Removing 2 of 5…"
 */
import { formatBytes, plural } from "./format";
import type { CachePreview, DiskUsage, HostDisk, KindUsage, Progress, PrunePreview, PruneResult } from "./ipc";

type Kind = "images" | "containers" | "volumes" | "buildCache";

/** What "active" means for each kind, in the daemon's sense of it. */
const KINDS: { key: Kind; label: string; active: string }[] = [
  { key: "images", label: "Images", active: "in use" },
  { key: "containers", label: "Containers", active: "running" },
  { key: "volumes", label: "Volumes", active: "in use" },
  { key: "buildCache", label: "Build cache", active: "in use" },
];

export interface UsageRow {
  key: Kind;
  label: string;
  usage: KindUsage;
  /** `"12 (4 in use)"` */
  countText: string;
  /** The row's size against the largest kind's, 0–1, for bars that compare the kinds. */
  share: number;
  /** The part of the row's size the daemon could free, 0–1. */
  reclaimableShare: number;
}

export function usageRows(disk: DiskUsage): UsageRow[] {
  const largest = Math.max(0, ...KINDS.map((k) => disk[k.key].size));
  return KINDS.map(({ key, label, active }) => {
    const usage = disk[key];
    return {
      key,
      label,
      usage,
      countText: `${usage.count} (${usage.active} ${active})`,
      share: largest > 0 ? usage.size / largest : 0,
      reclaimableShare: usage.size > 0 ? Math.min(1, usage.reclaimable / usage.size) : 0,
    };
  });
}

/** Docker's own total: every kind added up. */
export function dockerBytes(disk: DiskUsage): number {
  return KINDS.reduce((sum, k) => sum + disk[k.key].size, 0);
}

/** `"Disk at / — 58.0 GB free of 252 GB"` */
export function hostDiskText(disk: HostDisk): string {
  return `Disk at ${disk.mountPoint} — ${formatBytes(disk.available)} free of ${formatBytes(disk.total)}`;
}

/** How full the host disk is, 0–1. */
export function hostDiskUsed(disk: HostDisk): number {
  if (!(disk.total > 0)) return 0;
  return Math.min(1, Math.max(0, (disk.total - disk.available) / disk.total));
}

/**
 * `"Removing 2 of 5…"`: Rust reports how many are done before it starts on the next, so the
 * one being removed is `done + 1`. Once all are done it measures what came back.
 */
export function removingText(progress: Progress | null, total: number): string {
  const done = progress?.done ?? 0;
  if (total > 0 && done >= total) return `Removed ${total} of ${total}, measuring the space freed…`;
  return `Removing ${Math.min(done + 1, Math.max(total, 1))} of ${total}…`;
}

/** How far the removal has got, 0–1. */
export function removingFraction(progress: Progress | null, total: number): number {
  if (progress === null || !(total > 0)) return 0;
  return Math.min(1, Math.max(0, progress.done / total));
}

/**
 * Of the IDs asked for, how many went. Not `imagesDeleted.length`: Docker lists the
 * image's deleted layers there too, and every ID asked for either went or was skipped.
 */
export function removedCount(ids: readonly string[], result: PruneResult): number {
  const skipped = new Set(result.skipped.map((s) => s.id));
  return ids.filter((id) => !skipped.has(id)).length;
}

/** `"Removed 5 images · 12.3 MB reclaimed"`, or that nothing went. */
export function pruneResultText(removed: number, spaceReclaimed: number): string {
  if (removed === 0) return "Removed nothing";
  return `Removed ${plural(removed, "image", "images")} · ${formatBytes(spaceReclaimed)} reclaimed`;
}

/** `"Freed 12 entries · 1.20 GB reclaimed"` */
export function cacheResultText(entries: number, spaceReclaimed: number): string {
  if (entries === 0 && spaceReclaimed === 0) return "Freed nothing: no build cache was unused";
  return `Freed ${plural(entries, "entry", "entries")} · ${formatBytes(spaceReclaimed)} reclaimed`;
}

/** The prune view's headline: what Squashbox's own actions free, beside Docker's figure. */
export interface FreeSummary {
  /** The previews' figures added up: the dangling images' estimate and the unused build cache. */
  bytes: number;
  /** Where those bytes come from, in words: `["38.0 MB from 3 dangling images", …]`. */
  parts: string[];
  /** Docker's "reclaimable" for images, which counts far more than Squashbox removes. */
  dockerImages: number | null;
}

/**
 * What the prune view's sections will free, from the previews it acts on (null until both answered),
 * and Docker's own reclaimable figure for images, which is shown beside it and explained.
 */
export function freeSummary(preview: PrunePreview | null, cache: CachePreview | null, usage: DiskUsage | null): FreeSummary | null {
  if (preview === null || cache === null) return null;
  const parts: string[] = [];
  if (preview.images.length > 0)
    parts.push(`${formatBytes(preview.estimatedBytes)} from ${plural(preview.images.length, "dangling image", "dangling images")}`);
  if (cache.reclaimable > 0) parts.push(`${formatBytes(cache.reclaimable)} of build cache no image uses`);
  return { bytes: preview.estimatedBytes + cache.reclaimable, parts, dockerImages: usage?.images.reclaimable ?? null };
}
