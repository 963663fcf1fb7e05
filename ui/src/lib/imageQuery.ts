/**
 * Filtering and ordering the image list. Pure, so the `$derived` view in the image state
 * stays a one-liner and these rules are tested without a DOM.
 */
import type { ImageSummary } from "./ipc";
import type { SortDir } from "./sort";

export type SortKey = "created" | "size" | "name" | "saving";

/** The direction a column starts in when first chosen: newest, largest, A→Z, most saved. */
export const DEFAULT_DIR: Record<SortKey, SortDir> = {
  created: "desc",
  size: "desc",
  name: "asc",
  saving: "desc",
};

/** What a dangling image is called on screen, so the filter can find those too. */
export const NONE_TAG = "<none>";

function hex(id: string): string {
  return id.startsWith("sha256:") ? id.slice(7) : id;
}

/**
 * Keeps images with a tag containing `query`, or an ID starting with it (with or without
 * `sha256:`). Case-insensitive; surrounding spaces ignored; an empty query keeps all.
 */
export function filterImages(images: readonly ImageSummary[], query: string): readonly ImageSummary[] {
  const q = query.trim().toLowerCase();
  if (q === "") return images;
  return images.filter((image) => {
    const id = image.id.toLowerCase();
    if (hex(id).startsWith(q) || id.startsWith(q)) return true;
    if (image.tags.length === 0) return NONE_TAG.includes(q);
    return image.tags.some((tag) => tag.toLowerCase().includes(q));
  });
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

function compareBy(key: SortKey, a: ImageSummary, b: ImageSummary): number {
  switch (key) {
    case "created":
      return a.created - b.created;
    case "size":
      return a.size - b.size;
    case "name":
      return collator.compare(a.tags[0] ?? "", b.tags[0] ?? "");
    case "saving":
      return savingRank(a) - savingRank(b);
  }
}

/** Measured savings by their bytes, above any hint, above nothing known. */
function savingRank(image: ImageSummary): number {
  switch (image.saving.kind) {
    case "measured":
      return image.saving.bytes;
    case "likely":
      return -1;
    case "unknown":
      return -2;
  }
}

/** How many of an image's tags its row names before "N more". */
export const TAGS_SHOWN = 3;

/** The tags a row shows, in natural order (`1, 2, 10`, not `1, 10, 2`), and how many it leaves out. */
export function tagsShown(tags: readonly string[], max = TAGS_SHOWN): { shown: string[]; more: number } {
  const sorted = [...tags].sort(collator.compare);
  return { shown: sorted.slice(0, max), more: Math.max(0, sorted.length - max) };
}

/**
 * A sorted copy. Untagged images stay at the bottom when sorting by name, whichever the
 * direction, because `<none>` is not a name; ties fall back to newest first, then the ID, so
 * the order never jumps between refreshes.
 */
export function sortImages(images: readonly ImageSummary[], key: SortKey, dir: SortDir): ImageSummary[] {
  const sign = dir === "asc" ? 1 : -1;
  return [...images].sort((a, b) => {
    if (key === "name") {
      const aNone = a.tags.length === 0;
      const bNone = b.tags.length === 0;
      if (aNone !== bNone) return aNone ? 1 : -1;
    }
    return sign * compareBy(key, a, b) || b.created - a.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  });
}

/**
 * The index `delta` rows away from the selected one, clamped to the list. With nothing
 * selected (or the selection filtered out), moving down starts at the top and up at the bottom.
 */
export function stepIndex(currentIndex: number, delta: number, length: number): number {
  if (length === 0) return -1;
  if (currentIndex < 0) return delta >= 0 ? 0 : length - 1;
  return Math.max(0, Math.min(length - 1, currentIndex + delta));
}
