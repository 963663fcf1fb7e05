/**
 * How an audit report reads on screen: the headline, shares, build commands, the order of
 * the wasted files and which rows of the filesystem tree are open. Pure functions, tested
 * directly, so the audit components only lay things out.
 *
 *     headline(report);                        // "A squash would save 1.03 GB (49%): …"
 *     visibleTreeRows(report.tree, expanded);  // the tree as the rows to draw
 */
import { formatBytes, formatShare, plural } from "./format";
import type { AuditReport, ImageSummary, OtherEntries, Progress, SpecialFiles, TreeNode, WastedFile } from "./ipc";
import type { SortDir } from "./sort";

/** dive's efficiency score (0–1) with one decimal: `"51.6%"`. */
export function formatEfficiency(score: number): string {
  return `${(Math.min(1, Math.max(0, score)) * 100).toFixed(1)}%`;
}

/** The report in one sentence, the answer first: what squashing saves, then why. */
export function headline(report: AuditReport): string {
  const sizes = `the layers hold ${formatBytes(report.layerBytes)}, the files a container sees take ${formatBytes(report.filesystemBytes)}`;
  if (report.reclaimableBytes === 0) return `A squash would save nothing: ${sizes}`;
  const share = formatShare(report.reclaimableBytes, report.layerBytes);
  return `A squash would save ${formatBytes(report.reclaimableBytes)} (${share}): ${sizes}`;
}

/** `"2 device nodes, 1 FIFO and 3 files with capabilities"`, or null when there are none. */
export function specialFilesText(special: SpecialFiles): string | null {
  const parts: string[] = [];
  if (special.devices > 0) parts.push(plural(special.devices, "device node", "device nodes"));
  if (special.fifos > 0) parts.push(plural(special.fifos, "FIFO", "FIFOs"));
  if (special.capabilities > 0) parts.push(plural(special.capabilities, "file with capabilities", "files with capabilities"));
  if (parts.length === 0) return null;
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}

/**
 * A build step as a person wrote it. The legacy builder records metadata steps as
 * `/bin/sh -c #(nop)  CMD […]` and RUN steps as `/bin/sh -c apt-get …`; BuildKit writes
 * `RUN /bin/sh -c apt-get … # buildkit`. The shell wrapper and the marker are noise.
 */
export function cleanCommand(createdBy: string | null): string {
  let command = (createdBy ?? "").trim();
  command = command.replace(/\s*# buildkit$/, "");
  const nop = /^\/bin\/sh -c #\(nop\)\s*/;
  if (nop.test(command)) return command.replace(nop, "").trim();
  if (command.startsWith("/bin/sh -c ")) return `RUN ${command.slice("/bin/sh -c ".length).trim()}`;
  return command.replace(/^RUN \/bin\/sh -c /, "RUN ").trim();
}

/** The steps (layers counted from 1) that touched a wasted file, in order: `"2 → 4"`. */
export function layerPath(layers: number[]): string {
  return layers.map((layer) => layer + 1).join(" → ");
}

/** How far the read has got, 0–1; null while the total is unknown. */
export function progressFraction(progress: Progress | null): number | null {
  if (progress === null || progress.total === null || progress.total <= 0) return null;
  return Math.min(1, Math.max(0, progress.done / progress.total));
}

/**
 * `"Reading image… 45% (12.0 MB of about 27.0 MB)"`. The total is the daemon's size of the
 * image, which the exported archive only roughly matches, hence "about".
 */
export function progressText(progress: Progress | null): string {
  const fraction = progressFraction(progress);
  if (progress === null || progress.done === 0) return "Reading image…";
  if (fraction === null || progress.total === null) return `Reading image… ${formatBytes(progress.done)}`;
  return `Reading image… ${Math.floor(fraction * 100)}% (${formatBytes(progress.done)} of about ${formatBytes(progress.total)})`;
}

/** The name a person knows the image by: its first tag, or its short ID when it has none. */
export function imageName(image: ImageSummary): string {
  return image.tags[0] ?? image.shortId;
}

export type WastedSortKey = "bytes" | "path";

/** Largest first is the useful default for bytes; paths read best A to Z. */
export const WASTED_DEFAULT_DIR: Record<WastedSortKey, SortDir> = { bytes: "desc", path: "asc" };

const collator = new Intl.Collator(undefined, { numeric: true });

/** A sorted copy; ties go by path so the order never jumps between renders. */
export function sortWasted(files: readonly WastedFile[], key: WastedSortKey, dir: SortDir): WastedFile[] {
  const sign = dir === "asc" ? 1 : -1;
  return [...files].sort((a, b) => {
    const byKey = key === "bytes" ? a.wastedBytes - b.wastedBytes : collator.compare(a.path, b.path);
    return byKey !== 0 ? sign * byKey : collator.compare(a.path, b.path);
  });
}

/** One drawn row of the filesystem tree: a node, or the "N more entries" of a directory. */
export type TreeRow =
  | { kind: "node"; key: string; node: TreeNode; depth: number; parentBytes: number; expandable: boolean; expanded: boolean }
  | { kind: "other"; key: string; other: OtherEntries; depth: number; parentBytes: number };

export const TREE_ROOT = "/";

function childPath(parent: string, name: string): string {
  return parent === TREE_ROOT ? `/${name}` : `${parent}/${name}`;
}

export function isExpandable(node: TreeNode): boolean {
  return node.kind === "directory" && (node.children.length > 0 || node.other !== null);
}

/**
 * The rows to draw: the root, and under every expanded directory its children then its
 * "other" entries. Keys are paths, so an open directory stays open across renders.
 */
export function visibleTreeRows(root: TreeNode, expanded: ReadonlySet<string>): TreeRow[] {
  const rows: TreeRow[] = [];
  const visit = (node: TreeNode, path: string, depth: number, parentBytes: number) => {
    const expandable = isExpandable(node);
    const open = expandable && expanded.has(path);
    rows.push({ kind: "node", key: path, node, depth, parentBytes, expandable, expanded: open });
    if (!open) return;
    for (const child of node.children) visit(child, childPath(path, child.name), depth + 1, node.bytes);
    if (node.other !== null) {
      rows.push({ kind: "other", key: `${path}\u0000other`, other: node.other, depth: depth + 1, parentBytes: node.bytes });
    }
  };
  visit(root, TREE_ROOT, 0, root.bytes);
  return rows;
}

/** Wasted files that one pair of steps made: written by the first, deleted or overwritten by the last. */
export interface WasteAdvice {
  /** Layer indexes, 0-based, as the report counts them. */
  writtenIn: number;
  removedIn: number;
  bytes: number;
  files: number;
  /** The largest of them, at most three. */
  paths: string[];
}

/**
 * The wasted files grouped by the step that wrote them and the step that made them go, largest
 * first, at most `max` groups: what a person can fix in their Dockerfile, one pair of steps at
 * a time.
 */
export function wasteAdvice(report: AuditReport, max = 3): WasteAdvice[] {
  const groups = new Map<string, WasteAdvice>();
  for (const file of report.wastedFiles) {
    if (file.layers.length < 2) continue;
    const writtenIn = file.layers[0];
    const removedIn = file.layers[file.layers.length - 1];
    const key = `${writtenIn}→${removedIn}`;
    const group = groups.get(key) ?? { writtenIn, removedIn, bytes: 0, files: 0, paths: [] };
    group.bytes += file.wastedBytes;
    group.files += 1;
    // The report lists its files largest first, so the first three seen are the largest.
    if (group.paths.length < 3) group.paths.push(file.path);
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => b.bytes - a.bytes || a.writtenIn - b.writtenIn).slice(0, max);
}

/**
 * One group in words: `"20.0 MB in /tmp/big.zip was written in step 3 and deleted or
 * overwritten in step 4."` Steps are counted from 1 over the image's layers.
 */
export function adviceText(advice: WasteAdvice): string {
  const what =
    advice.files === 1
      ? advice.paths[0]
      : `${plural(advice.files, "file", "files")} (${advice.paths.join(", ")}${advice.files > advice.paths.length ? ", …" : ""})`;
  const where =
    advice.writtenIn === advice.removedIn
      ? `was written more than once in step ${advice.writtenIn + 1}`
      : `${advice.files === 1 ? "was" : "were"} written in step ${advice.writtenIn + 1} and deleted or overwritten in step ${advice.removedIn + 1}`;
  return `${formatBytes(advice.bytes)} in ${what} ${where}.`;
}

/** One top-level entry of the image, before a squash (what its layers hold) and after. */
export interface FolderSize {
  /** `/usr`, `/big.zip` (a file at the top), or `other` for the rest of the top level. */
  folder: string;
  before: number;
  after: number;
}

/**
 * The image by top-level folder: what the layers hold there and what a container sees, which a
 * squash leaves. The layers' figure adds the wasted files under the folder to what survives; a
 * top-level entry gone by the end (`/big.zip` added, then deleted) is a row of its own that a
 * squash takes to nothing. The report lists the largest 100 wasted files, and the bytes beyond
 * them land in `other`, so the totals always match the report's. Largest first, at most `max`
 * rows besides `other`.
 */
export function folderSizes(report: AuditReport, max = 6): FolderSize[] {
  const top = (path: string) => "/" + (path.split("/").find((part) => part !== "") ?? "");
  const rows = new Map<string, FolderSize>();
  for (const child of report.tree.children)
    rows.set(`/${child.name}`, { folder: `/${child.name}`, before: child.bytes, after: child.bytes });
  const other: FolderSize = { folder: "other", before: report.tree.other?.bytes ?? 0, after: report.tree.other?.bytes ?? 0 };
  let listed = 0;
  for (const file of report.wastedFiles) {
    const folder = top(file.path);
    let row = rows.get(folder);
    if (row === undefined) rows.set(folder, (row = { folder, before: 0, after: 0 }));
    row.before += file.wastedBytes;
    listed += file.wastedBytes;
  }
  other.before += Math.max(0, report.wastedBytes - listed);
  const sorted = [...rows.values()].sort((a, b) => b.before - a.before || a.folder.localeCompare(b.folder));
  for (const rest of sorted.slice(max)) {
    other.before += rest.before;
    other.after += rest.after;
  }
  const shown = sorted.slice(0, max);
  return other.before > 0 ? [...shown, other] : shown;
}
